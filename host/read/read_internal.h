// Internal pieces of the read stage shared by its source files (not a stage contract: the stage's
// one header is read.h).
#pragma once

#include <htslib/bgzf.h>
#include <htslib/kstring.h>

#include <memory>
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
class FastqFile {
 public:
  FastqFile() = default;
  ~FastqFile();
  FastqFile(const FastqFile&) = delete;
  FastqFile& operator=(const FastqFile&) = delete;

  [[nodiscard]] Status Open(const std::string& path, hts_tpool* pool);
  // Next record; false at a clean end of file. Errors name the file, line and record.
  [[nodiscard]] StatusOr<bool> Next(FastqRecord& rec);
  const std::string& path() const { return path_; }
  uint64_t records() const { return records_; }
  uint64_t line() const { return line_no_; }
  uint64_t bytes_read() const;
  // "'path': line N (record M)" for the record being read.
  std::string Where(uint64_t line) const;
  // "'path': line N (record M)" for a given record number.
  std::string At(uint64_t line, uint64_t record) const;

 private:
  StatusOr<bool> ReadLine(std::string& out, bool at_record_start);
  // Refills buf_ from the file; false at end of file. Negative bgzf_read = corrupt compression.
  StatusOr<bool> Refill();
  std::string path_;
  BGZF* fp_ = nullptr;                 // BGZF (parallel on the pool) and uncompressed files
  std::unique_ptr<GzipInflater> gz_;   // plain gzip: igzip on a thread of its own
  // Our own line splitting (bgzf_getline silently drops '\r', hiding CRLF files).
  std::vector<char> buf_;
  size_t buf_pos_ = 0, buf_len_ = 0;
  uint64_t line_no_ = 0;
  uint64_t records_ = 0;
};

// Fills `b` from a FASTQ record (mapping in read.h). `scratch` is reused between calls.
// NameRule: kVerbatim keeps the name; kStripMateSuffix drops its last two bytes ("/1", "/2");
// kVerbatimMarked keeps it and adds zn:A:v (a pair without suffixes in a unit whose names had them).
enum class NameRule { kVerbatim, kStripMateSuffix, kVerbatimMarked };
// `comment_tail`: the unit's `ct` (empty: none); a comment equal to the read number + it is not
// stored, and a missing comment is stored as an empty zc.
[[nodiscard]] Status FastqToBam(const FastqRecord& rec, uint16_t flag, const std::string& read_group,
                                bam1_t* b, std::string& scratch, NameRule rule = NameRule::kVerbatim,
                                const std::string& comment_tail = std::string());
// The read number an Illumina comment starts with for this flag: '2' for READ2, else '1'.
inline char CommentReadDigit(uint16_t flag) { return (flag & 0x80) ? '2' : '1'; }

}  // namespace cramjet
