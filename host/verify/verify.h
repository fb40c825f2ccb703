// host/verify/verify.h — stage 5, verify: the lossless proof.
//
// While the pipeline reads its input it adds every record to a ReadChecksums built with
// kProofAuxTags. After the CRAM is written (under its temporary name) ProveCramLossless() decodes
// it again with htslib and compares; only when they are equal does the pipeline write the
// `.seqchksum` and `.md5` sidecars with WriteChecksumSidecars() and rename the CRAM to its final
// name (docs/formats.md gives the order). `cramjet verify` (Verify() in
// cramjet/compress.h) repeats the decode later against the sidecars or the original inputs.
// The checksum definition (samtools checksum 2.0) and file formats: docs/checksums.md.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/alignment_file.h"
#include "common/common.h"
#include "cramjet/checksum.h"
#include "cramjet/status.h"

namespace cramjet {

// Aux tags covered by cramjet's proof, in `samtools checksum -t` syntax: every tag the input gave
// ("*"), compared in canonical form (tags sorted by name, integers in their smallest type), so
// CRAM's reordering of tags and re-typing of integers is not a difference but any changed value
// is. For FASTQ input this covers the CO/zc/zp/zs tags that hold the comment and oddities, and
// RG; for aligned input every tag, MD/NM included (left out of the CRAM where the reference
// gives them back, and regenerated before the checksum: common.h, "MD and NM"). When tags are
// dropped on purpose (`compress --drop-tags`), use ProofAuxTagsExcluding().
inline constexpr std::string_view kProofAuxTags = "*";

// "*" followed by ",XX" for each dropped tag: the spec that proves everything else unchanged.
std::string ProofAuxTagsExcluding(const std::vector<std::string>& dropped_tags);

// Checks a tag spec: "" (samtools' default list), "XX,YY,...", or "*" optionally followed by
// ",XX,..." tags to leave out. Tag names are two characters in '0'..'z'.
[[nodiscard]] Status ValidateAuxTagSpec(std::string_view aux_tags);

// Decodes every record of a SAM/BAM/CRAM and returns its checksums with `aux_tags` (samtools
// syntax, see ReadChecksums). Errors name the file and the record number.
// `on_records`, when given, is called with the count so far every 4096 records.
[[nodiscard]] StatusOr<ReadChecksums> ChecksumAlignmentFile(const std::string& path,
                                                            const std::string& reference,
                                                            int threads, std::string_view aux_tags,
                                                            const std::function<void(uint64_t)>& on_records = {});

// The compress-time proof: decodes `written_cram` (the temporary name) and compares with
// `expected` (taken while reading the input, with the same aux tags). DataLoss naming the file
// and listing the differing groups/columns when they differ; other errors when it cannot decode.
[[nodiscard]] Status ProveCramLossless(const std::string& written_cram,
                                       const std::string& reference, int threads,
                                       const ReadChecksums& expected,
                                       const std::function<void(uint64_t)>& on_records = {});

// The lines of ReadChecksums::Describe() (one per differing group or column), without blanks.
std::vector<std::string> SplitDifferenceLines(const std::string& text);
// The first `limit` lines joined with "; ", and "; and N more" for the rest.
std::string JoinDifferences(const std::vector<std::string>& lines, size_t limit);

struct ChecksumSidecars {
  std::string seqchksum_path;  // `<final>.seqchksum`
  std::string md5_path;        // `<final>.md5`
  std::string md5_hex;         // lower-case MD5 of the CRAM
};

// Writes `<final_cram_path>.seqchksum` (ReadChecksums::ToText labelled with the CRAM's file name)
// and then `<final_cram_path>.md5` ("<md5>  <file name>\n", md5sum's format) atomically, the MD5
// taken from `cram_path_to_hash` (the temporary or the final name: whichever holds the bytes now).
// The `.md5` is written last, so its presence means both sidecars are complete.
[[nodiscard]] StatusOr<ChecksumSidecars> WriteChecksumSidecars(const std::string& final_cram_path,
                                                               const std::string& cram_path_to_hash,
                                                               const ReadChecksums& sums);

// Sidecar names for a CRAM path.
std::string SeqChecksumPath(const std::string& cram_path);
std::string Md5Path(const std::string& cram_path);

// Parses a `.md5` file's text: "<32 hex>" optionally followed by whitespace and a file name
// (md5sum's "<hex>  name", "<hex> *name"). Returns the lower-cased hex; errors name `source`.
[[nodiscard]] StatusOr<std::string> ParseMd5File(std::string_view text, std::string_view source);

}  // namespace cramjet
