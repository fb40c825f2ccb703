// Container headers of a CRAM, read without decoding (cram_containers.h).
#include "common/cram_containers.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

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

}  // namespace cramjet
