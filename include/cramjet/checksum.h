// cramjet/checksum.h — order-independent checksums of reads: the proof that nothing changed.
//
// The definition follows `samtools checksum` (biobambam2 `bamseqchksum` lineage): per primary
// record (secondary and supplementary skipped), CRC32s of the sequence, name, quality and selected
// aux tags, each combined with the record's PAIRED/READ1/READ2 flag bits, reverse-strand records
// reverse-complemented back to sequencer orientation, multiplied together modulo 2^31-1 so that
// record order does not matter; kept per read group and in total. docs/checksums.md states the exact
// definition version and the samtools command line that reproduces a `.seqchksum` file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <htslib/sam.h>

#include "cramjet/status.h"

namespace cramjet {

// The definition version written into every `.seqchksum` and JSON report.
extern const char* const kSeqChecksumDefinition;

// One row of a `.seqchksum` table: a group (read group ID, "all" for every record, "-" for
// records without RG) and QC subset ("all", "pass": QCFAIL clear, "fail": QCFAIL set).
struct ChecksumRow {
  std::string group;
  std::string qc;
  uint64_t count = 0;
  uint32_t seq = 1, name = 1, qual = 1, aux = 1;  // flag+seq, +name, +qual, +aux columns
  uint32_t combined = 1;                          // samtools' "combined" column
};

// Opaque accumulator. Not thread-safe; accumulate per thread and Merge.
class ReadChecksums {
 public:
  // `aux_tags`: comma-separated tag list in samtools syntax ("BC,FI,QT,RT,TC", or "*" for all
  // tags, or "*,MD,NM" for all but the listed ones). Empty means samtools' default list.
  explicit ReadChecksums(std::string_view aux_tags = "");
  ~ReadChecksums();
  ReadChecksums(ReadChecksums&&) noexcept;
  ReadChecksums& operator=(ReadChecksums&&) noexcept;
  ReadChecksums(const ReadChecksums& other);
  ReadChecksums& operator=(const ReadChecksums& other);

  // Adds one record. Returns false when the record is not counted (secondary/supplementary).
  bool Add(const bam1_t* record);
  // Folds in another accumulator built with the same aux_tags.
  void Merge(const ReadChecksums& other);

  uint64_t count() const;  // primary records added
  // The aux tag spec in effect ("BC,FI,QT,RT,TC" when constructed with "").
  const std::string& aux_tags() const;
  // The rows ToText prints, in its order (zero-count rows left out, as samtools does).
  std::vector<ChecksumRow> Rows() const;

  // True when counts and every checksum column agree, in total and per read group.
  bool Equals(const ReadChecksums& other) const;
  // One line per differing group/column ("all: qual 1a2b3c4d != 5e6f7a8b"); empty when equal.
  std::string Describe(const ReadChecksums& other) const;

  // `.seqchksum` text: a comment header (definition, aux tags, `label`) then one row per group.
  std::string ToText(std::string_view label) const;
  // Parses text written by ToText (comment lines ignored). Error names `source` and the line.
  [[nodiscard]] static StatusOr<ReadChecksums> FromText(std::string_view text, std::string_view source);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cramjet
