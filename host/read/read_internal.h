// Internal pieces of the read stage shared by its source files (not a stage contract: the stage's
// one header is read.h).
#pragma once

#include <htslib/bgzf.h>
#include <htslib/kstring.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <string>
#include <vector>

#include "read/gzip_inflate_internal.h"
#include "read/read.h"

namespace cramjet {

struct FastqRecord {
  std::string header;  // whole '@' line
  std::string seq;
  std::string plus;    // whole '+' line
  std::string qual;
  size_t name_length = 0;  // bytes of the name after '@'
  uint64_t first_line = 0;
};

// One FASTQ file (plain, gzip or BGZF) read record by record, checking each record's shape.
//
// Given a pool (-@ 2 and up) the file is parsed ahead on a thread of its own, in blocks of records
// handed over in order, so that splitting lines and checking records is off the reader's critical
// path (it checks pairs, builds records and checksums them). An error found ahead is returned
// after every good record before it, with the same text: the parser's own counters name it.
class FastqFile {
 public:
  FastqFile() = default;
  ~FastqFile();
  FastqFile(const FastqFile&) = delete;
  FastqFile& operator=(const FastqFile&) = delete;

  // "-" is standard input (stdin_input.h), which only one FastqFile can open.
  [[nodiscard]] Status Open(const std::string& path, hts_tpool* pool);
  // The first records of standard input, from what was peeked at and without consuming it (the
  // read-ahead that learns a unit's naming); the last record there may be cut short.
  [[nodiscard]] Status OpenStdinHead();
  // Next record; false at a clean end of file. Errors name the file, line and record.
  [[nodiscard]] StatusOr<bool> Next(FastqRecord& rec);
  const std::string& path() const { return path_; }
  // Records returned by Next() so far.
  uint64_t records() const { return delivered_; }
  uint64_t bytes_read() const;
  // "'path': line N (record M)" for a given record number.
  std::string At(uint64_t line, uint64_t record) const;

 private:
  // A block of parsed records on its way from the parsing thread.
  struct RecordBlock {
    std::vector<FastqRecord> records;
    size_t size = 0;
  };
  // The record checks proper, on whichever thread parses.
  StatusOr<bool> Parse(FastqRecord& rec);
  // "'path': line N (record M)" for the record being parsed.
  std::string Where(uint64_t line) const;
  StatusOr<bool> ReadLine(std::string& out, bool at_record_start);
  // Refills buf_ from the file; false at end of file. Negative bgzf_read = corrupt compression.
  StatusOr<bool> Refill();
  uint64_t SourceBytes() const;
  void ParseAhead();  // the parsing thread

  std::string path_;
  BGZF* fp_ = nullptr;                 // BGZF (parallel on the pool) and uncompressed files
  std::unique_ptr<GzipInflater> gz_;   // plain gzip: igzip ahead of the parser
  // Our own line splitting (bgzf_getline silently drops '\r', hiding CRLF files).
  std::vector<char> buf_;
  size_t buf_pos_ = 0, buf_len_ = 0;
  uint64_t line_no_ = 0;
  uint64_t records_ = 0;    // parsed (the parser's counter, for its messages)
  uint64_t delivered_ = 0;  // returned by Next()
  // Parsing ahead: `ready_` blocks wait for Next(), `spare_` ones go back to the parser.
  std::thread parser_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<RecordBlock> ready_;
  std::vector<RecordBlock> spare_;
  RecordBlock current_;
  size_t current_pos_ = 0;
  bool parse_done_ = false;  // the parser stopped; `parse_end_` says why
  bool stop_ = false;
  Status parse_end_;
  std::atomic<uint64_t> bytes_ahead_{0};  // SourceBytes() as the parser last saw it
};

// Fills `b` from a FASTQ record (mapping in read.h). `scratch` is reused between calls.
// NameRule: kVerbatim keeps the name; kStripMateSuffix drops its last two bytes ("/1", "/2");
// kVerbatimMarked keeps it and adds zn:A:v (a pair without suffixes in a unit whose names had them).
enum class NameRule { kVerbatim, kStripMateSuffix, kVerbatimMarked };
// `rules`: the unit's (read.h): with `ct`, a comment equal to the read number + it is not stored
// and a missing comment is stored as an empty zc; `pl`, `sd` as read.h says. `spot`: the SRA spot
// number the record's name must have to follow the rule (NextSraSpot).
[[nodiscard]] Status FastqToBam(const FastqRecord& rec, uint16_t flag, const std::string& read_group,
                                bam1_t* b, std::string& scratch, NameRule rule,
                                const FastqGroupRules& rules, uint64_t spot);

// The parts of an SRA defline "@SRR504956.24 <original name>[ length=<read length>]".
struct SraDefline {
  std::string_view prefix;    // "SRR504956."
  uint64_t spot = 0;          // 24
  std::string_view original;  // a valid QNAME
  bool length = false;        // " length=N" follows, N the read length
};
bool ParseSraDefline(std::string_view name, std::string_view rest, size_t read_length, SraDefline* out);
// The spot number the next spot's SRA name should have: one past the number in `sra_name` (the
// spot that ended, as the FASTQ named it) when it has the rule's prefix, else `expected` + 1.
uint64_t NextSraSpot(const FastqGroupRules& rules, std::string_view sra_name, uint64_t expected);
// [!-?A-~]{1,254} and not "*" (SAM's QNAME).
bool ValidQname(std::string_view name);
// The read number an Illumina comment starts with for this flag: '2' for READ2, else '1'.
inline char CommentReadDigit(uint16_t flag) { return (flag & 0x80) ? '2' : '1'; }

}  // namespace cramjet
