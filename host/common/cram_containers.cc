// Container headers of a CRAM, read without decoding (cram_containers.h).
#include "common/cram_containers.h"

#include <cerrno>
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <vector>

#include "common/common.h"

namespace cramjet {
namespace {

// Reads CRAM's variable-length integers from a FILE.
class CramIntReader {
 public:
  explicit CramIntReader(FILE* f) : f_(f) {}
  bool Byte(uint8_t& b) {
    int c = std::fgetc(f_);
    if (c == EOF) return false;
    b = static_cast<uint8_t>(c);
    return true;
  }
  bool Int32(int32_t& v) {
    uint8_t b[4];
    for (auto& x : b)
      if (!Byte(x)) return false;
    v = static_cast<int32_t>(b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<uint32_t>(b[3]) << 24));
    return true;
  }
  bool Itf8(int64_t& v) {
    uint8_t b0;
    if (!Byte(b0)) return false;
    int extra = b0 < 0x80 ? 0 : b0 < 0xC0 ? 1 : b0 < 0xE0 ? 2 : b0 < 0xF0 ? 3 : 4;
    uint32_t value = extra == 4 ? (b0 & 0x0F) : (b0 & (0xFF >> (extra + 1)));
    for (int i = 0; i < extra; ++i) {
      uint8_t b;
      if (!Byte(b)) return false;
      value = extra == 4 && i == 3 ? (value << 4) | (b & 0x0F) : (value << 8) | b;
    }
    v = static_cast<int32_t>(value);
    return true;
  }
  bool Ltf8(uint64_t& v) {
    uint8_t b0;
    if (!Byte(b0)) return false;
    int extra = 0;
    while (extra < 8 && (b0 & (0x80 >> extra))) ++extra;
    uint64_t value = extra >= 7 ? 0 : (b0 & (0xFF >> (extra + 1)));
    for (int i = 0; i < extra; ++i) {
      uint8_t b;
      if (!Byte(b)) return false;
      value = (value << 8) | b;
    }
    v = value;
    return true;
  }

 private:
  FILE* f_;
};

}  // namespace

StatusOr<CramCounts> CountCramContainers(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return IoErrorFromErrno("opening '" + path + "'", errno);
  struct Closer { FILE* f; ~Closer() { std::fclose(f); } } closer{f};
  char def[26];
  if (std::fread(def, 1, 26, f) != 26 || std::memcmp(def, "CRAM", 4) != 0)
    return BadInput("'" + path + "': not a CRAM file");
  CramCounts counts;
  counts.major = static_cast<uint8_t>(def[4]);
  counts.minor = static_cast<uint8_t>(def[5]);
  if (counts.major < 2 || counts.major > 3)
    return Unimplemented("'" + path + "': container counts need CRAM 2.x or 3.x");
  CramIntReader r(f);
  for (;;) {
    int64_t offset = ftello(f);
    int32_t length;
    if (!r.Int32(length)) break;  // end of file (a CRAM without EOF container is still counted)
    int64_t ref_id, start, span, n_records, n_blocks, n_landmarks;
    uint64_t record_counter, bases;
    if (!r.Itf8(ref_id) || !r.Itf8(start) || !r.Itf8(span) || !r.Itf8(n_records) ||
        !r.Ltf8(record_counter) || !r.Ltf8(bases) || !r.Itf8(n_blocks) || !r.Itf8(n_landmarks))
      return BadInput("'" + path + "': container header at byte " + std::to_string(offset) + " is truncated");
    if (n_landmarks < 0 || n_landmarks > (1 << 24) || length < 0)
      return BadInput("'" + path + "': container header at byte " + std::to_string(offset) + " is malformed");
    for (int64_t i = 0; i < n_landmarks; ++i) {
      int64_t ignored;
      if (!r.Itf8(ignored)) return BadInput("'" + path + "': container header at byte " + std::to_string(offset) + " is truncated");
    }
    if (counts.major >= 3) {
      int32_t crc;
      if (!r.Int32(crc)) return BadInput("'" + path + "': container header at byte " + std::to_string(offset) + " is truncated");
    }
    if (n_records > 0) {
      counts.records += static_cast<uint64_t>(n_records);
      counts.bases += bases;
      ++counts.containers;
    }
    if (fseeko(f, length, SEEK_CUR) != 0) return IoErrorFromErrno("seeking in '" + path + "'", errno);
  }
  return counts;
}

Status CheckCramFileStart(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return IoErrorFromErrno("opening '" + path + "'", errno);
  struct Closer { FILE* f; ~Closer() { std::fclose(f); } } closer{f};
  char def[26];
  const size_t got = std::fread(def, 1, sizeof def, f);
  if (got < 4 || std::memcmp(def, "CRAM", 4) != 0) return Status::Ok();  // not CRAM: not ours to judge
  const std::string where = "'" + path + "': ";
  if (got < sizeof def) return BadInput(where + "the CRAM file definition is cut short: the file is truncated");
  const int major = static_cast<uint8_t>(def[4]), minor = static_cast<uint8_t>(def[5]);
  if (major < 2 || major > 3)
    return BadInput(where + "CRAM version " + std::to_string(major) + "." + std::to_string(minor) +
                    ": not 2.x or 3.x (corrupt, or a version this htslib cannot read)");
  if (fseeko(f, 0, SEEK_END) != 0) return IoErrorFromErrno("seeking in '" + path + "'", errno);
  const int64_t file_size = ftello(f);
  if (fseeko(f, sizeof def, SEEK_SET) != 0) return IoErrorFromErrno("seeking in '" + path + "'", errno);
  CramIntReader r(f);
  const std::string header = where + "the CRAM header container (byte 26) ";
  int32_t length;
  int64_t ref_id, start, span, n_records, n_blocks, n_landmarks;
  uint64_t record_counter, bases;
  if (!r.Int32(length) || !r.Itf8(ref_id) || !r.Itf8(start) || !r.Itf8(span) || !r.Itf8(n_records) ||
      !r.Ltf8(record_counter) || !r.Ltf8(bases) || !r.Itf8(n_blocks) || !r.Itf8(n_landmarks))
    return BadInput(header + "is cut short: the file is truncated or corrupt");
  if (length < 0 || length > file_size)
    return BadInput(header + "says it holds " + std::to_string(length) + " bytes; the file has " +
                    std::to_string(file_size) + " in all: truncated or corrupt");
  if (n_blocks < 0 || n_blocks > length)
    return BadInput(header + "says it holds " + std::to_string(n_blocks) + " blocks in " + std::to_string(length) +
                    " bytes: corrupt");
  if (n_landmarks < 0 || n_landmarks > n_blocks)
    return BadInput(header + "lists " + std::to_string(n_landmarks) + " landmarks for " + std::to_string(n_blocks) +
                    " blocks: corrupt");
  for (int64_t i = 0; i < n_landmarks; ++i) {
    int64_t landmark;
    if (!r.Itf8(landmark)) return BadInput(header + "is cut short: the file is truncated or corrupt");
  }
  int32_t crc = 0;
  if (major >= 3 && !r.Int32(crc)) return BadInput(header + "is cut short: the file is truncated or corrupt");
  const int64_t body_start = ftello(f);
  if (length > file_size - body_start)
    return BadInput(header + "says it holds " + std::to_string(length) + " bytes; the file has " +
                    std::to_string(file_size - body_start) + " after its header: truncated or corrupt");
  // Its first block is the SAM header text, which htslib allocates in full as it opens the file:
  // a size no header has is refused here.
  constexpr int64_t kMaxSamHeaderBytes = int64_t(256) << 20;
  uint8_t method, content_type;
  int64_t content_id, compressed, raw;
  if (n_blocks > 0) {
    if (!r.Byte(method) || !r.Byte(content_type) || !r.Itf8(content_id) || !r.Itf8(compressed) || !r.Itf8(raw))
      return BadInput(header + "is cut short: the file is truncated or corrupt");
    if (compressed < 0 || compressed > length || raw < 0 || (method == 0 && raw != compressed))
      return BadInput(header + "has a header block of impossible size (" + std::to_string(compressed) + " bytes, " +
                      std::to_string(raw) + " uncompressed): corrupt");
    if (raw > kMaxSamHeaderBytes)
      return BadInput(header + "says the SAM header is " + std::to_string(raw) +
                      " bytes uncompressed, past the 256 MiB any header has: corrupt");
  }
  return Status::Ok();
}

namespace {

// The same variable-length integers read from a buffer (a slice header block's data).
class BufferIntReader {
 public:
  BufferIntReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool Byte(uint8_t& b) {
    if (at_ >= size_) return false;
    b = data_[at_++];
    return true;
  }
  bool Itf8(int64_t& v) {
    uint8_t b0;
    if (!Byte(b0)) return false;
    const int extra = b0 < 0x80 ? 0 : b0 < 0xC0 ? 1 : b0 < 0xE0 ? 2 : b0 < 0xF0 ? 3 : 4;
    uint32_t value = extra == 4 ? (b0 & 0x0F) : (b0 & (0xFF >> (extra + 1)));
    for (int i = 0; i < extra; ++i) {
      uint8_t b;
      if (!Byte(b)) return false;
      value = extra == 4 && i == 3 ? (value << 4) | (b & 0x0F) : (value << 8) | b;
    }
    v = static_cast<int32_t>(value);
    return true;
  }
  bool Ltf8(uint64_t& v) {
    uint8_t b0;
    if (!Byte(b0)) return false;
    int extra = 0;
    while (extra < 8 && (b0 & (0x80 >> extra))) ++extra;
    uint64_t value = extra >= 7 ? 0 : (b0 & (0xFF >> (extra + 1)));
    for (int i = 0; i < extra; ++i) {
      uint8_t b;
      if (!Byte(b)) return false;
      value = (value << 8) | b;
    }
    v = value;
    return true;
  }

 private:
  const uint8_t* data_;
  size_t size_, at_ = 0;
};

constexpr uint8_t kMethodRaw = 0, kContentMappedSlice = 2;  // CRAM 3.1 section 8.1: 2 is a slice header (5 is CORE)

}  // namespace

Status CheckCramSliceCounts(const std::string& path) {
  CRAMJET_RETURN_IF_ERROR(CheckCramFileStart(path));
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return IoErrorFromErrno("opening '" + path + "'", errno);
  struct Closer { FILE* f; ~Closer() { std::fclose(f); } } closer{f};
  char def[26];
  if (std::fread(def, 1, sizeof def, f) != sizeof def || std::memcmp(def, "CRAM", 4) != 0) return Status::Ok();
  const int major = static_cast<uint8_t>(def[4]);
  if (fseeko(f, 0, SEEK_END) != 0) return IoErrorFromErrno("seeking in '" + path + "'", errno);
  const int64_t file_size = ftello(f);
  if (fseeko(f, sizeof def, SEEK_SET) != 0) return IoErrorFromErrno("seeking in '" + path + "'", errno);
  CramIntReader r(f);
  std::vector<int64_t> landmarks;
  std::vector<uint8_t> block;
  for (;;) {
    const int64_t offset = ftello(f);
    const std::string where = "'" + path + "': the CRAM container at byte " + std::to_string(offset) + " ";
    int32_t length;
    if (!r.Int32(length)) return Status::Ok();  // the end (htslib judges a missing EOF container)
    int64_t ref_id, start, span, n_records, n_blocks, n_landmarks;
    uint64_t record_counter, bases;
    if (!r.Itf8(ref_id) || !r.Itf8(start) || !r.Itf8(span) || !r.Itf8(n_records) || !r.Ltf8(record_counter) ||
        !r.Ltf8(bases) || !r.Itf8(n_blocks) || !r.Itf8(n_landmarks))
      return BadInput(where + "is cut short: the file is truncated or corrupt");
    if (length < 0 || n_blocks < 0 || n_blocks > length || n_landmarks < 0 || n_landmarks > n_blocks)
      return BadInput(where + "has an impossible header (" + std::to_string(length) + " bytes, " +
                      std::to_string(n_blocks) + " blocks, " + std::to_string(n_landmarks) + " slices): corrupt");
    // Read one at a time: the count is what the file says, memory only what it holds (a count
    // of 2^28 once made this vector 2 GB: the alignment fuzzer).
    landmarks.clear();
    for (int64_t i = 0; i < n_landmarks; ++i) {
      int64_t landmark;
      if (!r.Itf8(landmark)) return BadInput(where + "is cut short: the file is truncated or corrupt");
      landmarks.push_back(landmark);
    }
    int32_t crc;
    if (major >= 3 && !r.Int32(crc)) return BadInput(where + "is cut short: the file is truncated or corrupt");
    const int64_t body = ftello(f);
    if (length > file_size - body)
      return BadInput(where + "says it holds " + std::to_string(length) + " bytes; " + std::to_string(file_size - body) +
                      " follow: truncated or corrupt");
    // Each slice header: as many blocks and content ids as the container can hold, no more
    // (htslib 1.16 allocates for the counts it reads: 4.6 GB, and touched, for a 4.7 kB file).
    for (const int64_t landmark : landmarks) {
      if (landmark < 0 || landmark >= length) return BadInput(where + "has a slice outside it: corrupt");
      if (fseeko(f, body + landmark, SEEK_SET) != 0) return IoErrorFromErrno("seeking in '" + path + "'", errno);
      uint8_t method, content_type;
      int64_t content_id, compressed, raw;
      if (!r.Byte(method) || !r.Byte(content_type) || !r.Itf8(content_id) || !r.Itf8(compressed) || !r.Itf8(raw))
        return BadInput(where + "has a slice header cut short: corrupt");
      if (compressed < 0 || raw < 0 || compressed > length)
        return BadInput(where + "has a slice header block of impossible size: corrupt");
      if (method != kMethodRaw || content_type != kContentMappedSlice || raw != compressed) continue;  // htslib's to judge
      block.resize(static_cast<size_t>(std::min<int64_t>(raw, 4096)));
      if (std::fread(block.data(), 1, block.size(), f) != block.size())
        return BadInput(where + "has a slice header cut short: the file is truncated");
      BufferIntReader h(block.data(), block.size());
      int64_t s_ref, s_start, s_span, s_records, s_blocks, s_content_ids;
      uint64_t s_counter;
      int64_t s_counter32;
      // The specification's order: the record counter (LTF8 in 3.x, ITF8 in 2.x) after the count.
      if (!h.Itf8(s_ref) || !h.Itf8(s_start) || !h.Itf8(s_span) || !h.Itf8(s_records) ||
          !(major >= 3 ? h.Ltf8(s_counter) : h.Itf8(s_counter32)) || !h.Itf8(s_blocks) || !h.Itf8(s_content_ids))
        continue;  // a short header is htslib's to refuse
      // Records: htslib allocates a record array of this size. Identical reads compress to far
      // less than a byte each, so the bound is loose (256 per byte of the container, plus 100k).
      if (s_blocks < 0 || s_blocks > length || s_content_ids < 0 || s_content_ids > s_blocks || s_records < 0 ||
          s_records > int64_t(length) * 256 + 100000)
        return BadInput(where + "has a slice header asking for " + std::to_string(s_blocks) + " blocks, " +
                        std::to_string(s_content_ids) + " content ids and " + std::to_string(s_records) +
                        " records in " + std::to_string(length) + " bytes: corrupt");
    }
    if (fseeko(f, body + length, SEEK_SET) != 0) return IoErrorFromErrno("seeking in '" + path + "'", errno);
  }
}

}  // namespace cramjet
