// Byte-level CRAM 3.x container rewriting (stitch_internal.h).
#include <libdeflate.h>

#include <cstring>

#include "encode/stitch_internal.h"

namespace cramjet {
namespace cram_bytes {
namespace {

constexpr size_t kFileDefinitionSize = 26;  // "CRAM", major, minor, 20-byte file ID
constexpr uint8_t kBlockRaw = 0;
constexpr uint8_t kContentMappedSlice = 2;

uint32_t Crc32(std::string_view bytes) {
  return libdeflate_crc32(0, bytes.data(), bytes.size());
}

void PutUint32Le(uint32_t v, std::string* out) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

bool GetUint32Le(std::string_view b, size_t* pos, uint32_t* v) {
  if (b.size() - *pos < 4 || *pos > b.size()) return false;
  *v = 0;
  for (int i = 0; i < 4; ++i)
    *v |= static_cast<uint32_t>(static_cast<uint8_t>(b[*pos + i])) << (8 * i);
  *pos += 4;
  return true;
}

uint8_t Byte(std::string_view b, size_t i) { return static_cast<uint8_t>(b[i]); }

void AppendRawBlock(uint8_t content_type, uint32_t content_id, std::string_view data,
                    std::string* out) {
  const size_t start = out->size();
  out->push_back(static_cast<char>(kBlockRaw));
  out->push_back(static_cast<char>(content_type));
  PutItf8(content_id, out);
  PutItf8(static_cast<uint32_t>(data.size()), out);
  PutItf8(static_cast<uint32_t>(data.size()), out);
  out->append(data);
  PutUint32Le(Crc32(std::string_view(*out).substr(start)), out);
}

// Rewrites the slice starting at `slice` (its header block first, then its data blocks, which are
// copied as they are) with the record counter moved by `delta`.
Status RebaseSlice(std::string_view slice, int64_t delta, std::string* out) {
  Block header;
  if (!ParseBlock(slice, 0, &header) || header.method != kBlockRaw ||
      header.content_type != kContentMappedSlice)
    return BadInput("CRAM slice does not start with a raw slice header block");
  std::string_view d = header.data;
  size_t pos = 0;
  uint32_t ref_id = 0, start = 0, span = 0, records = 0;
  uint64_t counter = 0;
  if (!GetItf8(d, &pos, &ref_id) || !GetItf8(d, &pos, &start) || !GetItf8(d, &pos, &span) ||
      !GetItf8(d, &pos, &records))
    return BadInput("CRAM slice header is cut short");
  const size_t counter_at = pos;
  if (!GetLtf8(d, &pos, &counter)) return BadInput("CRAM slice header is cut short");
  if (delta < 0 && counter < static_cast<uint64_t>(-delta))
    return Internal("CRAM slice record counter would become negative");
  std::string rewritten(d.substr(0, counter_at));
  PutLtf8(counter + static_cast<uint64_t>(delta), &rewritten);
  rewritten.append(d.substr(pos));
  AppendRawBlock(header.content_type, header.content_id, rewritten, out);
  out->append(slice.substr(header.size));
  return Status::Ok();
}

}  // namespace

bool ParseBlock(std::string_view b, size_t pos, Block* block) {
  const size_t start = pos;
  if (b.size() - pos < 2 || pos > b.size()) return false;
  block->method = Byte(b, pos);
  block->content_type = Byte(b, pos + 1);
  pos += 2;
  uint32_t compressed = 0;
  if (!GetItf8(b, &pos, &block->content_id) || !GetItf8(b, &pos, &compressed) ||
      !GetItf8(b, &pos, &block->raw_size))
    return false;
  if (b.size() - pos < compressed) return false;
  block->data = b.substr(pos, compressed);
  pos += compressed;
  uint32_t crc = 0;
  const size_t crc_at = pos;
  if (!GetUint32Le(b, &pos, &crc)) return false;
  if (crc != Crc32(b.substr(start, crc_at - start))) return false;
  block->size = pos - start;
  return true;
}

void PutItf8(uint32_t v, std::string* out) {
  if (v < 0x80) {
    out->push_back(static_cast<char>(v));
  } else if (v < 0x4000) {
    out->push_back(static_cast<char>(0x80 | (v >> 8)));
    out->push_back(static_cast<char>(v & 0xff));
  } else if (v < 0x200000) {
    out->push_back(static_cast<char>(0xc0 | (v >> 16)));
    out->push_back(static_cast<char>((v >> 8) & 0xff));
    out->push_back(static_cast<char>(v & 0xff));
  } else if (v < 0x10000000) {
    out->push_back(static_cast<char>(0xe0 | (v >> 24)));
    out->push_back(static_cast<char>((v >> 16) & 0xff));
    out->push_back(static_cast<char>((v >> 8) & 0xff));
    out->push_back(static_cast<char>(v & 0xff));
  } else {
    out->push_back(static_cast<char>(0xf0 | ((v >> 28) & 0x0f)));
    out->push_back(static_cast<char>((v >> 20) & 0xff));
    out->push_back(static_cast<char>((v >> 12) & 0xff));
    out->push_back(static_cast<char>((v >> 4) & 0xff));
    out->push_back(static_cast<char>(v & 0x0f));
  }
}

void PutLtf8(uint64_t v, std::string* out) {
  // n extra bytes after a first byte with n leading one bits; 9 bytes for the full 64 bits.
  int extra = 0;
  while (extra < 8 && v >= (uint64_t{1} << (7 * (extra + 1)))) ++extra;
  if (extra == 8) {
    out->push_back(static_cast<char>(0xff));
    for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return;
  }
  const uint8_t prefix = static_cast<uint8_t>(0xff00 >> extra);  // `extra` leading ones
  out->push_back(static_cast<char>(prefix | static_cast<uint8_t>(v >> (8 * extra))));
  for (int i = extra - 1; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

bool GetItf8(std::string_view b, size_t* pos, uint32_t* v) {
  if (*pos >= b.size()) return false;
  const uint8_t b0 = Byte(b, *pos);
  int extra = b0 < 0x80 ? 0 : b0 < 0xc0 ? 1 : b0 < 0xe0 ? 2 : b0 < 0xf0 ? 3 : 4;
  if (b.size() - *pos < static_cast<size_t>(extra) + 1) return false;
  const size_t p = *pos;
  switch (extra) {
    case 0: *v = b0; break;
    case 1: *v = (uint32_t{b0 & 0x3fu} << 8) | Byte(b, p + 1); break;
    case 2: *v = (uint32_t{b0 & 0x1fu} << 16) | (uint32_t{Byte(b, p + 1)} << 8) | Byte(b, p + 2); break;
    case 3:
      *v = (uint32_t{b0 & 0x0fu} << 24) | (uint32_t{Byte(b, p + 1)} << 16) |
           (uint32_t{Byte(b, p + 2)} << 8) | Byte(b, p + 3);
      break;
    default:
      *v = (uint32_t{b0 & 0x0fu} << 28) | (uint32_t{Byte(b, p + 1)} << 20) |
           (uint32_t{Byte(b, p + 2)} << 12) | (uint32_t{Byte(b, p + 3)} << 4) |
           (Byte(b, p + 4) & 0x0fu);
  }
  *pos += static_cast<size_t>(extra) + 1;
  return true;
}

bool GetLtf8(std::string_view b, size_t* pos, uint64_t* v) {
  if (*pos >= b.size()) return false;
  const uint8_t b0 = Byte(b, *pos);
  int extra = 0;
  while (extra < 8 && (b0 & (0x80 >> extra))) ++extra;
  if (b.size() - *pos < static_cast<size_t>(extra) + 1) return false;
  uint64_t value = extra >= 7 ? 0 : (b0 & (0x7fu >> extra));
  for (int i = 1; i <= extra; ++i) value = (value << 8) | Byte(b, *pos + i);
  *v = value;
  *pos += static_cast<size_t>(extra) + 1;
  return true;
}

StatusOr<ContainerHeader> ParseContainerHeader(std::string_view b, size_t offset) {
  CRAMJET_ASSIGN_OR_RETURN(ContainerHeader h, ParseContainerHeaderOnly(b, offset));
  if (h.length < 0 || b.size() - (offset + h.header_size) < static_cast<size_t>(h.length))
    return BadInput("CRAM container at byte " + std::to_string(offset) + " is cut short");
  return h;
}

StatusOr<ContainerHeader> ParseContainerHeaderOnly(std::string_view b, size_t offset) {
  ContainerHeader h;
  size_t pos = offset;
  uint32_t length = 0, ref = 0, n_landmarks = 0;
  auto cut = [offset] {
    return BadInput("CRAM container at byte " + std::to_string(offset) + " is cut short");
  };
  if (!GetUint32Le(b, &pos, &length)) return cut();
  h.length = static_cast<int32_t>(length);
  if (!GetItf8(b, &pos, &ref) || !GetItf8(b, &pos, &h.ref_seq_start) ||
      !GetItf8(b, &pos, &h.ref_seq_span) || !GetItf8(b, &pos, &h.num_records) ||
      !GetLtf8(b, &pos, &h.record_counter) || !GetLtf8(b, &pos, &h.num_bases) ||
      !GetItf8(b, &pos, &h.num_blocks) || !GetItf8(b, &pos, &n_landmarks))
    return cut();
  h.ref_seq_id = static_cast<int32_t>(ref);
  if (n_landmarks > b.size()) return cut();
  h.landmarks.resize(n_landmarks);
  for (auto& l : h.landmarks) {
    uint32_t v = 0;
    if (!GetItf8(b, &pos, &v)) return cut();
    l = static_cast<int32_t>(v);
  }
  const size_t crc_at = pos;
  uint32_t crc = 0;
  if (!GetUint32Le(b, &pos, &crc)) return cut();
  if (crc != Crc32(b.substr(offset, crc_at - offset)))
    return BadInput("CRAM container at byte " + std::to_string(offset) + ": header CRC32 mismatch");
  h.header_size = pos - offset;
  if (h.length < 0) return cut();
  return h;
}

void AppendContainerHeader(const ContainerHeader& h, std::string* out) {
  const size_t start = out->size();
  PutUint32Le(static_cast<uint32_t>(h.length), out);
  PutItf8(static_cast<uint32_t>(h.ref_seq_id), out);
  PutItf8(h.ref_seq_start, out);
  PutItf8(h.ref_seq_span, out);
  PutItf8(h.num_records, out);
  PutLtf8(h.record_counter, out);
  PutLtf8(h.num_bases, out);
  PutItf8(h.num_blocks, out);
  PutItf8(static_cast<uint32_t>(h.landmarks.size()), out);
  for (int32_t l : h.landmarks) PutItf8(static_cast<uint32_t>(l), out);
  PutUint32Le(Crc32(std::string_view(*out).substr(start)), out);
}

bool IsEofContainer(const ContainerHeader& h) {
  return h.num_records == 0 && h.ref_seq_id == -1 && h.ref_seq_start == 0x454f46;
}

StatusOr<size_t> DataBeforeEof(std::string_view tail) {
  for (size_t pos = 0;;) {
    CRAMJET_ASSIGN_OR_RETURN(ContainerHeader h, ParseContainerHeader(tail, pos));
    const size_t end = pos + h.header_size + static_cast<size_t>(h.length);
    if (IsEofContainer(h)) {
      if (end != tail.size()) return BadInput("data after the EOF container");
      return pos;
    }
    pos = end;
  }
}

StatusOr<size_t> PreambleLength(std::string_view b) {
  if (b.size() < kFileDefinitionSize || b.substr(0, 4) != "CRAM" || Byte(b, 4) != 3)
    return BadInput("not a CRAM 3.x file definition");
  CRAMJET_ASSIGN_OR_RETURN(ContainerHeader h, ParseContainerHeader(b, kFileDefinitionSize));
  return kFileDefinitionSize + h.header_size + static_cast<size_t>(h.length);
}

StatusOr<uint64_t> RebaseContainers(std::string_view b, int64_t delta, std::string* out) {
  uint64_t records = 0;
  size_t pos = 0;
  std::string rebased;
  while (pos < b.size()) {
    CRAMJET_ASSIGN_OR_RETURN(ContainerHeader h, ParseContainerHeader(b, pos));
    if (IsEofContainer(h)) return Internal("EOF container among the data containers");
    if (delta < 0 && h.record_counter < static_cast<uint64_t>(-delta))
      return Internal("CRAM container record counter would become negative");
    std::string_view data = b.substr(pos + h.header_size, static_cast<size_t>(h.length));
    // Data: compression header block, then the slices at their landmarks.
    rebased.clear();
    const size_t first_slice = h.landmarks.empty() ? data.size() : static_cast<size_t>(h.landmarks[0]);
    if (first_slice > data.size()) return BadInput("CRAM landmark past the container's end");
    rebased.append(data.substr(0, first_slice));
    std::vector<int32_t> landmarks;
    for (size_t i = 0; i < h.landmarks.size(); ++i) {
      const size_t begin = static_cast<size_t>(h.landmarks[i]);
      const size_t end = i + 1 < h.landmarks.size() ? static_cast<size_t>(h.landmarks[i + 1]) : data.size();
      if (begin > end || end > data.size()) return BadInput("CRAM landmarks out of order");
      landmarks.push_back(static_cast<int32_t>(rebased.size()));
      CRAMJET_RETURN_IF_ERROR(RebaseSlice(data.substr(begin, end - begin), delta, &rebased));
    }
    ContainerHeader moved = h;
    moved.record_counter = h.record_counter + static_cast<uint64_t>(delta);
    moved.landmarks = std::move(landmarks);
    moved.length = static_cast<int32_t>(rebased.size());
    AppendContainerHeader(moved, out);
    out->append(rebased);
    records += h.num_records;
    pos += h.header_size + static_cast<size_t>(h.length);
  }
  return records;
}

}  // namespace cram_bytes
}  // namespace cramjet
