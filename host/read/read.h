// host/read/read.h — stage 1, read: sequencer output in, batches of bam1_t records out.
//
// FASTQ (plain, gzip or bgzip; single, R1+R2 pairs, interleaved) is parsed by our own reader so
// that every malformed record is reported with its file, line and record number; SAM/BAM/CRAM
// are read through htslib. FASTQ records become unaligned records that keep everything the
// FASTQ held (docs/formats.md, "FASTQ in CRAM"):
//   name    -> QNAME (text up to the first space or tab)
//   comment -> CO:Z (text after the first space) when it is printable; otherwise the raw bytes
//              after the name, separator included, as zc:B:C
//   '+' line with text after '+' -> zp:Z (or zp:B:C when not printable)
//   bases that BAM's 4-bit code cannot hold (lower case, '.') -> the original string in zs:Z
//   pairing -> FLAG PAIRED|READ1 / PAIRED|READ2 (+ UNMAP, MUNMAP); single-end -> UNMAP
//   each input file or pair -> its own @RG (ID, SM, PU from Illumina names, DS = file names)
//   pairs named "X/1" and "X/2" -> QNAME "X" for both (as `samtools import` does), when the
//              unit's first pair is named so; its @RG then carries `ms:/1/2` and a later pair
//              of that unit without the suffixes keeps its names verbatim with zn:A:v. Equal
//              mate names let CRAM store the name once and derive the mate fields.
//   Illumina comments "<read>:N:<control>:<index>" (the same for the unit but the read number,
//              1 for READ1 / single-end, 2 for READ2) -> nothing per record; the unit's @RG gets
//              `ct:` + the part after the read number, taken from its first record. Other
//              comments of such a unit stay in CO:Z / zc; no comment at all -> empty zc.
//   '+' lines that repeat the header (SRA dumps) -> nothing per record when the unit's first
//              record does so; its @RG gets `pl:header`; a bare '+' in such a unit -> empty zp.
//   SRA deflines "@SRR504956.24 <original name>[ length=<read length>]" (with derive_sra_names,
//              i.e. when the order is kept): QNAME = the original name (which CRAM's name
//              tokeniser compresses), and the SRA name follows from the read's place in its unit:
//              @RG `sd:<accession>.<first spot>` (+ `sl:length`), each spot one past the one
//              before. A read of such a unit that does not fit keeps its SRA name and comment,
//              with zd:A:v (and the count goes on from its number).
// FormatFastq() is the exact inverse.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/common.h"
#include "cramjet/inputs.h"
#include "cramjet/status.h"

namespace cramjet {

enum class InputFormat { kFastq, kSam, kBam, kCram };
const char* InputFormatName(InputFormat format);

// Detects the format from the file's first bytes (gzip/BGZF magic then content), not the name.
[[nodiscard]] StatusOr<InputFormat> DetectInputFormat(const std::string& path);

struct ReadOptions {
  std::vector<std::string> inputs;
  bool paired = false;       // inputs are R1,R2,R1,R2...
  bool interleaved = false;  // one FASTQ with R1,R2 alternating
  std::string reference;     // for CRAM input
  std::string sample;        // @RG SM; default from the first file name
  // FASTQ: store SRA deflines by their place in the unit (above). Only when the CRAM keeps the
  // input order (compress: keep_order or unaligned); verify --against sets it from the CRAM's
  // @RG (`sd`), so that the inputs are read as compress read them.
  bool derive_sra_names = false;
  // FASTQ: the read-group id of each input unit (a file, or an R1/R2 pair), in order, instead of
  // ids made from the file names: verify --against takes them from the CRAM's @RG lines, so that
  // renamed inputs still compare (issue 16 item 7). Empty: from the names. Otherwise one per unit.
  std::vector<std::string> group_ids;
  // FASTQ: "KEY:VALUE" fields for every unit's @RG (bwa's -R, minimap2's -R), over what cramjet
  // fills itself (PL:ILLUMINA and PU:flowcell.lane.barcode from Illumina read names). SM sets
  // the sample; ID only with a single unit; DS is cramjet's own and refused.
  std::vector<std::string> rg_fields;
  int threads = 1;           // htslib decompression threads for BAM/CRAM/BGZF
  hts_tpool* pool = nullptr; // shared pool (optional; overrides threads)
};

// Where a record came from, for error messages in later stages.
struct SourcePosition {
  std::string file;
  uint64_t record = 0;  // 1-based record number within the file
  uint64_t line = 0;    // 1-based first line (FASTQ/SAM), 0 when not line-based
};

class ReadSource {
 public:
  virtual ~ReadSource() = default;
  // Header for the output: @HD, @SQ from aligned input, one @RG per input unit, @PG of inputs.
  virtual sam_hdr_t* header() = 0;
  virtual InputFormat format() const = 0;
  // Fills `batch` with up to `max_records` records; 0 at end of input. An error names the file
  // and the record (and line for FASTQ). R1/R2 disagreements (count or name) are errors.
  [[nodiscard]] virtual StatusOr<size_t> NextBatch(ReadBatch& batch, size_t max_records) = 0;
  // Compressed bytes consumed so far across inputs (for progress).
  virtual uint64_t bytes_read() const = 0;

 protected:
  friend StatusOr<std::unique_ptr<ReadSource>> OpenReads(const ReadOptions& options);
  // The pool made from ReadOptions::threads when no shared pool was given. A base-class member,
  // so it is destroyed after the derived class has closed its files.
  ThreadPoolPtr owned_pool_;
};

[[nodiscard]] StatusOr<std::unique_ptr<ReadSource>> OpenReads(const ReadOptions& options);

// Reads the first `max_records` records of `options.inputs` (all of them with SIZE_MAX) into
// memory, through OpenReads: for tests and benchmarks that need whole record sets. Pairs arrive
// READ1 then READ2, so an even limit keeps them whole. Errors as OpenReads / NextBatch.
[[nodiscard]] StatusOr<std::vector<BamPtr>> ReadRecords(const ReadOptions& options, size_t max_records);

// Appends the FASTQ text of `record` (4 lines, '\n' ends) to `out`, reversing the FASTQ->record
// mapping above exactly. Records of aligned input (reverse strand) are complemented back.
// What a read group's @RG says about its FASTQ records (`ms`, `ct`, `pl`, `sd`, `sl`; see above).
struct FastqGroupRules {
  bool mate_suffix = false;  // add "/1" "/2" back to pair names
  std::string comment_tail;  // non-empty: records without CO/zc had "<read>" + this comment
  bool plus_repeats = false;  // '+' lines without zp repeat the header
  std::string sra_prefix;     // non-empty: SRA names "<prefix><first + spot>" ("SRR504956.")
  uint64_t sra_first = 0;     // the unit's first spot number
  bool sra_length = false;    // the comment ends " length=<read length>"
};

// The rules of every read group in `header`, looked up by a record's RG:Z.
class FastqRules {
 public:
  explicit FastqRules(const sam_hdr_t* header);
  // Rules for `record`'s read group, or nullptr when it has none.
  const FastqGroupRules* For(const bam1_t* record) const;
  size_t size() const { return groups_.size(); }
  bool NeedsInputOrder() const {
    for (const auto& g : groups_)
      if (!g.second.sra_prefix.empty()) return true;
    return false;
  }

 private:
  std::vector<std::pair<std::string, FastqGroupRules>> groups_;
};

// `rules`: those of the record's read group (FastqRules::For), or nullptr. `spot`: for groups with
// SRA names (`sd`), the spot number the record's SRA name has (FastqFormatter keeps count).
void FormatFastq(const bam1_t* record, std::string& out, const FastqGroupRules* rules = nullptr,
                 uint64_t spot = 0);

// FormatFastq for records given in input order: counts each read group's spots itself.
class FastqFormatter {
 public:
  explicit FastqFormatter(const sam_hdr_t* header) : rules_(header) {}
  void Format(const bam1_t* record, std::string& out);
  // Whether a group names its reads by their place (`sd`): the records must come in input order.
  bool NeedsInputOrder() const { return rules_.NeedsInputOrder(); }

 private:
  FastqRules rules_;
  std::vector<std::pair<const FastqGroupRules*, uint64_t>> spots_;  // next SRA spot per group
};

// Splits "sample_S1_L001_R1_001.fastq.gz" style names; empty sample when the name has no pattern.
struct IlluminaFileName {
  std::string sample;
  int sample_number = 0;
  int lane = 0;   // 0 when the name has no _L00n
  int read = 0;   // 1 or 2, 0 when unknown
};
IlluminaFileName ParseIlluminaFileName(const std::string& path);

// InputsLookPaired() is declared in cramjet/inputs.h (the CLI asks it) and defined in read.cc.

}  // namespace cramjet
