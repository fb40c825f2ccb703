// The verify stage: full decodes of SAM/BAM/CRAM into checksums, the compress-time proof, the
// sidecar files. `cramjet verify` (Verify() of cramjet/compress.h) is a job in host/pipeline.
#include "verify/verify.h"

#include <htslib/hts.h>
#include <htslib/sam.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include "cramjet/compress.h"
#include "cramjet/log.h"

namespace cramjet {

namespace {

std::string Quoted(const std::string& path) { return "'" + path + "'"; }

}  // namespace

// Differences worth one line each, at most `limit`, with a count of the rest.
std::string JoinDifferences(const std::vector<std::string>& lines, size_t limit) {
  std::string out;
  for (size_t i = 0; i < lines.size() && i < limit; ++i) {
    if (i) out += "; ";
    out += lines[i];
  }
  if (lines.size() > limit) out += "; and " + std::to_string(lines.size() - limit) + " more";
  return out;
}

std::vector<std::string> SplitDifferenceLines(const std::string& text) {
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    if (nl > pos) lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return lines;
}

std::string SeqChecksumPath(const std::string& cram_path) { return cram_path + ".seqchksum"; }
std::string Md5Path(const std::string& cram_path) { return cram_path + ".md5"; }

StatusOr<ReadChecksums> ChecksumAlignmentFile(const std::string& path, const std::string& reference,
                                              int threads, std::string_view aux_tags,
                                              const std::function<void(uint64_t)>& on_records) {
  CRAMJET_RETURN_IF_ERROR(ValidateAuxTagSpec(aux_tags));
  CRAMJET_ASSIGN_OR_RETURN(AlignmentFile f, OpenAlignmentFile(path, {reference, threads, nullptr}));
  ReadChecksums sums(aux_tags);
  BamPtr record = NewBam();
  uint64_t records = 0;
  for (;;) {
    CRAMJET_ASSIGN_OR_RETURN(bool more, ReadAlignmentRecord(f, record.get(), records));
    if (!more) break;
    ++records;
    sums.Add(record.get());
    if (on_records && records % 4096 == 0) on_records(records);
  }
  if (hts_close(f.file.release()) != 0)
    return IoError(Quoted(path) + ": error at the end of the file after " + std::to_string(records) +
                   " records");
  return sums;
}

Status ProveCramLossless(const std::string& written_cram, const std::string& reference, int threads,
                         const ReadChecksums& expected, const std::function<void(uint64_t)>& on_records) {
  CRAMJET_ASSIGN_OR_RETURN(ReadChecksums actual,
                           ChecksumAlignmentFile(written_cram, reference, threads, expected.aux_tags(), on_records));
  std::string differences = expected.Describe(actual);
  if (differences.empty()) return Status::Ok();
  return DataLoss(Quoted(written_cram) + ": decoded CRAM differs from the input (input != CRAM): " +
                  JoinDifferences(SplitDifferenceLines(differences), 4));
}

StatusOr<ChecksumSidecars> WriteChecksumSidecars(const std::string& final_cram_path,
                                                 const std::string& cram_path_to_hash,
                                                 const ReadChecksums& sums) {
  ChecksumSidecars out;
  out.seqchksum_path = SeqChecksumPath(final_cram_path);
  out.md5_path = Md5Path(final_cram_path);
  CRAMJET_ASSIGN_OR_RETURN(out.md5_hex, FileMd5Hex(cram_path_to_hash));
  const std::string name = BaseName(final_cram_path);
  CRAMJET_RETURN_IF_ERROR(WriteFileAtomically(out.seqchksum_path, sums.ToText(name)));
  CRAMJET_RETURN_IF_ERROR(WriteFileAtomically(out.md5_path, out.md5_hex + "  " + name + "\n"));
  return out;
}

StatusOr<std::string> ParseMd5File(std::string_view text, std::string_view source) {
  size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  std::string hex;
  while (i < text.size() && std::isxdigit(static_cast<unsigned char>(text[i])) && hex.size() <= 32)
    hex += static_cast<char>(std::tolower(static_cast<unsigned char>(text[i++])));
  bool ends_well = i == text.size() || std::isspace(static_cast<unsigned char>(text[i]));
  if (hex.size() != 32 || !ends_well)
    return BadInput(Quoted(std::string(source)) +
                    ": not an MD5 file (expected 32 hex digits, optionally followed by the file name)");
  return hex;
}

}  // namespace cramjet
