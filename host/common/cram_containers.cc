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

// Bytes from an open file, or from a buffer (a slice header block's data).
struct FileBytes {
  FILE* f;
  bool Next(uint8_t& b) {
    const int c = std::fgetc(f);
    if (c == EOF) return false;
    b = static_cast<uint8_t>(c);
    return true;
  }
};
struct BufferBytes {
  const uint8_t* data;
  size_t size, at = 0;
  bool Next(uint8_t& b) {
    if (at >= size) return false;
    b = data[at++];
    return true;
  }
};

// CRAM's integers (little-endian int32, ITF8, LTF8), written once for both byte sources.
template <typename Bytes>
class CramInts {
 public:
  explicit CramInts(Bytes bytes) : bytes_(bytes) {}
  Bytes& bytes() { return bytes_; }  // where it reads (a buffer's position)
  bool Byte(uint8_t& b) { return bytes_.Next(b); }
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
  Bytes bytes_;
};
using FileInts = CramInts<FileBytes>;
using BufferInts = CramInts<BufferBytes>;

// The fixed fields of a container header, up to its landmark count (landmarks and, in 3.x, a
// CRC32 follow: each caller reads them with its own checks).
struct ContainerFields {
  int32_t length = 0;
  int64_t ref_id = 0, start = 0, span = 0, n_records = 0, n_blocks = 0, n_landmarks = 0;
  uint64_t record_counter = 0, bases = 0;
};
// false: the file ended inside them. `length_read` says whether the length itself was there.
bool ReadContainerFields(FileInts& r, ContainerFields& c, bool* length_read = nullptr) {
  const bool have_length = r.Int32(c.length);
  if (length_read) *length_read = have_length;
  return have_length && r.Itf8(c.ref_id) && r.Itf8(c.start) && r.Itf8(c.span) && r.Itf8(c.n_records) &&
         r.Ltf8(c.record_counter) && r.Ltf8(c.bases) && r.Itf8(c.n_blocks) && r.Itf8(c.n_landmarks);
}

// A block's header: compression method, content type and id, sizes.
struct BlockHeader {
  uint8_t method = 0, content_type = 0;
  int64_t content_id = 0, compressed = 0, raw = 0;
};
bool ReadBlockHeader(FileInts& r, BlockHeader& b) {
  return r.Byte(b.method) && r.Byte(b.content_type) && r.Itf8(b.content_id) && r.Itf8(b.compressed) && r.Itf8(b.raw);
}

using cram_format::kContentCompressionHeader;
using cram_format::kContentSliceHeader;
using cram_format::kFileDefinitionSize;
using cram_format::kMethodRaw;

// CRAM codec ids whose parameters htslib 1.16 sizes an allocation by (CRAM 3.1 section 13).
constexpr int64_t kCodecHuffman = 3, kCodecByteArrayLen = 4;

// One encoding of a compression header (codec id, parameter bytes, parameters), read from `r`
// and left after it: false with `why` set where its counts ask for more than its parameter
// bytes hold. A HUFFMAN alphabet of 2^27 symbols in a 10 kB file made htslib 1.16 ask for
// 4.8 GB before it read one (the alignment fuzzer). What ends early is htslib's to refuse.
bool CheckEncoding(BufferInts& r, int depth, std::string& why) {
  int64_t codec, param_size;
  if (!r.Itf8(codec) || !r.Itf8(param_size)) return true;
  BufferBytes& at = r.bytes();
  if (param_size < 0 || static_cast<uint64_t>(param_size) > at.size - at.at) return true;
  BufferInts params(BufferBytes{at.data + at.at, static_cast<size_t>(param_size)});
  at.at += static_cast<size_t>(param_size);
  if (codec == kCodecHuffman) {
    // The alphabet, then the code lengths: each entry an ITF8 of at least one byte.
    int64_t n_symbols, n_lengths;
    if (!params.Itf8(n_symbols)) return true;
    if (n_symbols < 0 || n_symbols > param_size) {
      why = "a HUFFMAN code of " + std::to_string(n_symbols) + " symbols in " + std::to_string(param_size) + " bytes";
      return false;
    }
    for (int64_t i = 0; i < n_symbols; ++i) {
      int64_t symbol;
      if (!params.Itf8(symbol)) return true;
    }
    if (!params.Itf8(n_lengths)) return true;
    if (n_lengths < 0 || n_lengths > param_size) {
      why = "a HUFFMAN code of " + std::to_string(n_lengths) + " code lengths in " + std::to_string(param_size) + " bytes";
      return false;
    }
  } else if (codec == kCodecByteArrayLen && depth < 4) {
    // Two encodings nested in the parameters: the lengths, then the values.
    for (int k = 0; k < 2; ++k)
      if (!CheckEncoding(params, depth + 1, why)) return false;
  }
  return true;
}

// A raw compression header block's encodings (CRAM 3.1 section 8.4: the preservation map,
// skipped by its size; the data series map, 2-byte keys; the tag map, ITF8 keys), each checked
// by CheckEncoding. false with `why` set for the first that asks too much.
bool CheckCompressionHeader(const std::vector<uint8_t>& block, std::string& why) {
  BufferInts r(BufferBytes{block.data(), block.size()});
  int64_t map_size;
  if (!r.Itf8(map_size) || map_size < 0 || static_cast<uint64_t>(map_size) > block.size() - r.bytes().at) return true;
  r.bytes().at += static_cast<size_t>(map_size);  // preservation map: no counts htslib allocates by
  for (const bool tag_map : {false, true}) {
    int64_t n_entries;
    if (!r.Itf8(map_size) || !r.Itf8(n_entries)) return true;
    for (int64_t i = 0; i < n_entries; ++i) {
      uint8_t key_byte;
      int64_t key;
      if (tag_map ? !r.Itf8(key) : !(r.Byte(key_byte) && r.Byte(key_byte))) return true;
      if (!CheckEncoding(r, 0, why)) return false;
    }
  }
  return true;
}

// An open CRAM for the checks below: its version and size, positioned after the 26-byte file
// definition. `is_cram` false (and ok) for a file that does not start with "CRAM".
struct CramFile {
  FILE* f = nullptr;
  bool is_cram = false;
  int major = 0, minor = 0;
  int64_t size = 0;
  ~CramFile() {
    if (f) std::fclose(f);
  }
};

Status OpenCram(const std::string& path, CramFile& c) {
  c.f = std::fopen(path.c_str(), "rb");
  if (!c.f) return IoErrorFromErrno("opening '" + path + "'", errno);
  char def[kFileDefinitionSize];
  const size_t got = std::fread(def, 1, sizeof def, c.f);
  if (got < 4 || std::memcmp(def, "CRAM", 4) != 0) return Status::Ok();  // not CRAM: not ours to judge
  c.is_cram = true;
  const std::string where = "'" + path + "': ";
  if (got < sizeof def) return BadInput(where + "the CRAM file definition is cut short: the file is truncated");
  c.major = static_cast<uint8_t>(def[4]);
  c.minor = static_cast<uint8_t>(def[5]);
  if (c.major < 2 || c.major > 3)
    return BadInput(where + "CRAM version " + std::to_string(c.major) + "." + std::to_string(c.minor) +
                    ": not 2.x or 3.x (corrupt, or a version this htslib cannot read)");
  if (fseeko(c.f, 0, SEEK_END) != 0) return IoErrorFromErrno("seeking in '" + path + "'", errno);
  c.size = ftello(c.f);
  if (fseeko(c.f, sizeof def, SEEK_SET) != 0) return IoErrorFromErrno("seeking in '" + path + "'", errno);
  return Status::Ok();
}

// CheckCramFileStart on an open CRAM positioned at its first container; leaves it anywhere.
Status CheckFileStart(const std::string& path, CramFile& c) {
  FileInts r(FileBytes{c.f});
  const std::string header = "'" + path + "': the CRAM header container (byte 26) ";
  ContainerFields h;
  if (!ReadContainerFields(r, h)) return BadInput(header + "is cut short: the file is truncated or corrupt");
  if (h.length < 0 || h.length > c.size)
    return BadInput(header + "says it holds " + std::to_string(h.length) + " bytes; the file has " +
                    std::to_string(c.size) + " in all: truncated or corrupt");
  if (h.n_blocks < 0 || h.n_blocks > h.length)
    return BadInput(header + "says it holds " + std::to_string(h.n_blocks) + " blocks in " + std::to_string(h.length) +
                    " bytes: corrupt");
  if (h.n_landmarks < 0 || h.n_landmarks > h.n_blocks)
    return BadInput(header + "lists " + std::to_string(h.n_landmarks) + " landmarks for " +
                    std::to_string(h.n_blocks) + " blocks: corrupt");
  for (int64_t i = 0; i < h.n_landmarks; ++i) {
    int64_t landmark;
    if (!r.Itf8(landmark)) return BadInput(header + "is cut short: the file is truncated or corrupt");
  }
  int32_t crc = 0;
  if (c.major >= 3 && !r.Int32(crc)) return BadInput(header + "is cut short: the file is truncated or corrupt");
  const int64_t body_start = ftello(c.f);
  if (h.length > c.size - body_start)
    return BadInput(header + "says it holds " + std::to_string(h.length) + " bytes; the file has " +
                    std::to_string(c.size - body_start) + " after its header: truncated or corrupt");
  // Its first block is the SAM header text, which htslib allocates in full as it opens the file:
  // a size no header has is refused here.
  constexpr int64_t kMaxSamHeaderBytes = int64_t(256) << 20;
  if (h.n_blocks > 0) {
    BlockHeader b;
    if (!ReadBlockHeader(r, b)) return BadInput(header + "is cut short: the file is truncated or corrupt");
    if (b.compressed < 0 || b.compressed > h.length || b.raw < 0 || (b.method == kMethodRaw && b.raw != b.compressed))
      return BadInput(header + "has a header block of impossible size (" + std::to_string(b.compressed) + " bytes, " +
                      std::to_string(b.raw) + " uncompressed): corrupt");
    if (b.raw > kMaxSamHeaderBytes)
      return BadInput(header + "says the SAM header is " + std::to_string(b.raw) +
                      " bytes uncompressed, past the 256 MiB any header has: corrupt");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<CramCounts> CountCramContainers(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return IoErrorFromErrno("opening '" + path + "'", errno);
  struct Closer { FILE* f; ~Closer() { std::fclose(f); } } closer{f};
  char def[kFileDefinitionSize];
  if (std::fread(def, 1, sizeof def, f) != sizeof def || std::memcmp(def, "CRAM", 4) != 0)
    return BadInput("'" + path + "': not a CRAM file");
  CramCounts counts;
  counts.major = static_cast<uint8_t>(def[4]);
  counts.minor = static_cast<uint8_t>(def[5]);
  if (counts.major < 2 || counts.major > 3)
    return Unimplemented("'" + path + "': container counts need CRAM 2.x or 3.x");
  FileInts r(FileBytes{f});
  for (;;) {
    int64_t offset = ftello(f);
    ContainerFields c;
    bool length_read = false;
    if (!ReadContainerFields(r, c, &length_read)) {
      if (!length_read) break;  // end of file (a CRAM without EOF container is still counted)
      return BadInput("'" + path + "': container header at byte " + std::to_string(offset) + " is truncated");
    }
    if (c.n_landmarks < 0 || c.n_landmarks > (1 << 24) || c.length < 0)
      return BadInput("'" + path + "': container header at byte " + std::to_string(offset) + " is malformed");
    for (int64_t i = 0; i < c.n_landmarks; ++i) {
      int64_t ignored;
      if (!r.Itf8(ignored)) return BadInput("'" + path + "': container header at byte " + std::to_string(offset) + " is truncated");
    }
    if (counts.major >= 3) {
      int32_t crc;
      if (!r.Int32(crc)) return BadInput("'" + path + "': container header at byte " + std::to_string(offset) + " is truncated");
    }
    if (c.n_records > 0) {
      counts.records += static_cast<uint64_t>(c.n_records);
      counts.bases += c.bases;
      ++counts.containers;
    }
    if (fseeko(f, c.length, SEEK_CUR) != 0) return IoErrorFromErrno("seeking in '" + path + "'", errno);
  }
  return counts;
}

Status CheckCramFileStart(const std::string& path) {
  CramFile c;
  CRAMJET_RETURN_IF_ERROR(OpenCram(path, c));
  if (!c.is_cram) return Status::Ok();
  return CheckFileStart(path, c);
}

Status CheckCramSliceCounts(const std::string& path) {
  CramFile c;
  CRAMJET_RETURN_IF_ERROR(OpenCram(path, c));
  if (!c.is_cram) return Status::Ok();
  CRAMJET_RETURN_IF_ERROR(CheckFileStart(path, c));
  if (fseeko(c.f, kFileDefinitionSize, SEEK_SET) != 0) return IoErrorFromErrno("seeking in '" + path + "'", errno);
  FILE* f = c.f;
  FileInts r(FileBytes{f});
  std::vector<int64_t> landmarks;
  std::vector<uint8_t> block;
  for (;;) {
    const int64_t offset = ftello(f);
    const std::string where = "'" + path + "': the CRAM container at byte " + std::to_string(offset) + " ";
    ContainerFields h;
    bool length_read = false;
    if (!ReadContainerFields(r, h, &length_read)) {
      if (!length_read) return Status::Ok();  // the end (htslib judges a missing EOF container)
      return BadInput(where + "is cut short: the file is truncated or corrupt");
    }
    const int64_t length = h.length;
    if (length < 0 || h.n_blocks < 0 || h.n_blocks > length || h.n_landmarks < 0 || h.n_landmarks > h.n_blocks)
      return BadInput(where + "has an impossible header (" + std::to_string(length) + " bytes, " +
                      std::to_string(h.n_blocks) + " blocks, " + std::to_string(h.n_landmarks) + " slices): corrupt");
    // Read one at a time: the count is what the file says, memory only what it holds (a count
    // of 2^28 once made this vector 2 GB: the alignment fuzzer).
    landmarks.clear();
    for (int64_t i = 0; i < h.n_landmarks; ++i) {
      int64_t landmark;
      if (!r.Itf8(landmark)) return BadInput(where + "is cut short: the file is truncated or corrupt");
      landmarks.push_back(landmark);
    }
    int32_t crc;
    if (c.major >= 3 && !r.Int32(crc)) return BadInput(where + "is cut short: the file is truncated or corrupt");
    const int64_t body = ftello(f);
    if (length > c.size - body)
      return BadInput(where + "says it holds " + std::to_string(length) + " bytes; " + std::to_string(c.size - body) +
                      " follow: truncated or corrupt");
    // A data container's first block is its compression header (the first container holds the
    // SAM header instead): its codecs' counts, before htslib allocates by them.
    if (offset != kFileDefinitionSize && h.n_blocks > 0) {
      BlockHeader b;
      if (!ReadBlockHeader(r, b)) return BadInput(where + "has a compression header cut short: corrupt");
      if (b.method == kMethodRaw && b.content_type == kContentCompressionHeader && b.raw == b.compressed && b.raw >= 0 &&
          b.raw <= length) {
        block.resize(static_cast<size_t>(b.raw));
        if (std::fread(block.data(), 1, block.size(), f) != block.size())
          return BadInput(where + "has a compression header cut short: the file is truncated");
        std::string why;
        if (!CheckCompressionHeader(block, why))
          return BadInput(where + "has a compression header with " + why + ": corrupt");
      }
    }
    // Each slice header: as many blocks and content ids as the container can hold, no more
    // (htslib 1.16 allocates for the counts it reads: 4.6 GB, and touched, for a 4.7 kB file).
    for (const int64_t landmark : landmarks) {
      if (landmark < 0 || landmark >= length) return BadInput(where + "has a slice outside it: corrupt");
      if (fseeko(f, body + landmark, SEEK_SET) != 0) return IoErrorFromErrno("seeking in '" + path + "'", errno);
      BlockHeader b;
      if (!ReadBlockHeader(r, b)) return BadInput(where + "has a slice header cut short: corrupt");
      if (b.compressed < 0 || b.raw < 0 || b.compressed > length)
        return BadInput(where + "has a slice header block of impossible size: corrupt");
      if (b.method != kMethodRaw || b.content_type != kContentSliceHeader || b.raw != b.compressed) continue;  // htslib's
      block.resize(static_cast<size_t>(std::min<int64_t>(b.raw, 4096)));
      if (std::fread(block.data(), 1, block.size(), f) != block.size())
        return BadInput(where + "has a slice header cut short: the file is truncated");
      BufferInts s(BufferBytes{block.data(), block.size()});
      // The slice header's fields in the specification's order; the record counter is LTF8 in
      // 3.x, ITF8 in 2.x.
      int64_t s_ref, s_start, s_span, s_records, s_blocks, s_content_ids, s_counter32;
      uint64_t s_counter;
      if (!s.Itf8(s_ref) || !s.Itf8(s_start) || !s.Itf8(s_span) || !s.Itf8(s_records) ||
          !(c.major >= 3 ? s.Ltf8(s_counter) : s.Itf8(s_counter32)) || !s.Itf8(s_blocks) || !s.Itf8(s_content_ids))
        continue;  // a short header is htslib's to refuse
      // Records: htslib allocates a record array of this size. Identical reads compress to far
      // less than a byte each, so the bound is loose (256 per byte of the container, plus 100k).
      if (s_blocks < 0 || s_blocks > length || s_content_ids < 0 || s_content_ids > s_blocks || s_records < 0 ||
          s_records > length * 256 + 100000)
        return BadInput(where + "has a slice header asking for " + std::to_string(s_blocks) + " blocks, " +
                        std::to_string(s_content_ids) + " content ids and " + std::to_string(s_records) +
                        " records in " + std::to_string(length) + " bytes: corrupt");
    }
    if (fseeko(f, body + length, SEEK_SET) != 0) return IoErrorFromErrno("seeking in '" + path + "'", errno);
  }
}

}  // namespace cramjet
