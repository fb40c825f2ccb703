// `cramjet inspect`: bytes per data series, aux tag and structure of a CRAM 3.x file
// (cramjet/inspect.h). Walks the containers with the encode stage's byte-level parser
// (stitch_internal.h); each data container's compression header says which external blocks
// (content IDs) hold which data series and tags.
#include "cramjet/inspect.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <set>
#include <string_view>
#include <unordered_map>

#include "common/common.h"
#include "common/cram_containers.h"
#include "encode/stitch_internal.h"

namespace cramjet {
namespace {

using cram_format::kContentCompressionHeader;  // common/cram_containers.h
using cram_format::kContentCore;
using cram_format::kContentExternal;
using cram_format::kContentSliceHeader;
using cram_format::kFileDefinitionSize;
using cram_format::kMethodRaw;

struct SeriesInfo {
  const char* key;
  const char* category;
  const char* description;
};
// CRAM 3.1 specification, section 8.4 (data series), in the spec's order.
constexpr SeriesInfo kSeries[] = {
    {"BF", "flags", "BAM bit flags"},
    {"CF", "flags", "CRAM bit flags"},
    {"RI", "positions", "reference ID"},
    {"RL", "lengths", "read lengths"},
    {"AP", "positions", "alignment positions"},
    {"RG", "read groups", "read groups"},
    {"RN", "names", "read names"},
    {"MF", "pairing", "next mate bit flags"},
    {"NS", "pairing", "next fragment reference ID"},
    {"NP", "pairing", "next mate position"},
    {"TS", "pairing", "template size"},
    {"NF", "pairing", "distance to next fragment"},
    {"TL", "tags", "tag line (which tags each record has)"},
    {"FN", "bases", "number of read features"},
    {"FC", "bases", "read feature codes"},
    {"FP", "bases", "in-read positions of features"},
    {"DL", "bases", "deletion lengths"},
    {"BB", "bases", "stretches of bases"},
    {"QQ", "qualities", "stretches of quality scores"},
    {"BS", "bases", "base substitution codes"},
    {"IN", "bases", "inserted bases"},
    {"RS", "bases", "reference skip lengths"},
    {"PD", "bases", "padding lengths"},
    {"HC", "bases", "hard clip lengths"},
    {"SC", "bases", "soft-clipped bases"},
    {"MQ", "mapping quality", "mapping qualities"},
    {"BA", "bases", "bases (unplaced reads, or single bases)"},
    {"QS", "qualities", "quality scores"},
    {"TC", "tags", "tag count (CRAM 1.0)"},
    {"TN", "tags", "tag name and type (CRAM 1.0)"},
};

const SeriesInfo* FindSeries(std::string_view key) {
  for (const SeriesInfo& s : kSeries)
    if (key == s.key) return &s;
  return nullptr;
}

const char* MethodName(uint8_t method) {
  static const char* const kNames[] = {"raw",      "gzip",  "bzip2",   "lzma",          "rans4x8",
                                       "rans4x16", "arith", "fqzcomp", "name-tokeniser"};
  return method < sizeof kNames / sizeof kNames[0] ? kNames[method] : "unknown";
}

// Reads ITF8 from a compression header; false when it runs past `end`.
bool Itf8(std::string_view b, size_t* pos, size_t end, uint32_t* v) {
  return *pos < end && cram_bytes::GetItf8(b.substr(0, end), pos, v);
}

// The external content IDs an encoding reads (section 13: EXTERNAL, BYTE_ARRAY_LEN's two
// sub-encodings, BYTE_ARRAY_STOP); the bit codecs read the core block and add none.
bool ExternalIds(std::string_view b, size_t* pos, size_t end, int depth, std::vector<uint32_t>* ids) {
  uint32_t codec = 0, length = 0;
  if (depth > 4 || !Itf8(b, pos, end, &codec) || !Itf8(b, pos, end, &length)) return false;
  if (length > end - *pos) return false;
  const size_t params_end = *pos + length;
  size_t p = *pos;
  uint32_t id = 0;
  switch (codec) {
    case 1:  // EXTERNAL: content ID
      if (!Itf8(b, &p, params_end, &id)) return false;
      ids->push_back(id);
      break;
    case 4:  // BYTE_ARRAY_LEN: lengths encoding, values encoding
      if (!ExternalIds(b, &p, params_end, depth + 1, ids) ||
          !ExternalIds(b, &p, params_end, depth + 1, ids))
        return false;
      break;
    case 5:  // BYTE_ARRAY_STOP: stop byte, content ID
      ++p;
      if (!Itf8(b, &p, params_end, &id)) return false;
      ids->push_back(id);
      break;
    default:
      break;
  }
  *pos = params_end;
  return true;
}

std::string TagKey(uint32_t id) {
  std::string key = "tag:";
  key.push_back(static_cast<char>((id >> 16) & 0xff));
  key.push_back(static_cast<char>((id >> 8) & 0xff));
  key.push_back(':');
  key.push_back(static_cast<char>(id & 0xff));
  return key;
}

// Content ID -> the series and tags that read it, from one compression header's content.
Status MapContentIds(std::string_view h, std::unordered_map<uint32_t, std::set<std::string>>* map) {
  size_t pos = 0;
  uint32_t size = 0, count = 0;
  // Preservation map: skipped whole.
  if (!Itf8(h, &pos, h.size(), &size) || size > h.size() - pos) return BadInput("preservation map cut short");
  pos += size;
  // Data series encodings: 2-byte key, encoding.
  if (!Itf8(h, &pos, h.size(), &size) || size > h.size() - pos) return BadInput("data series map cut short");
  size_t end = pos + size;
  if (!Itf8(h, &pos, end, &count)) return BadInput("data series map cut short");
  for (uint32_t i = 0; i < count; ++i) {
    if (end - pos < 2) return BadInput("data series map cut short");
    const std::string key(h.substr(pos, 2));
    pos += 2;
    std::vector<uint32_t> ids;
    if (!ExternalIds(h, &pos, end, 0, &ids)) return BadInput("encoding of data series " + key + " cut short");
    for (uint32_t id : ids) (*map)[id].insert(key);
  }
  pos = end;
  // Tag encodings: ITF8 key (name and type), encoding.
  if (!Itf8(h, &pos, h.size(), &size) || size > h.size() - pos) return BadInput("tag encoding map cut short");
  end = pos + size;
  if (!Itf8(h, &pos, end, &count)) return BadInput("tag encoding map cut short");
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t key = 0;
    if (!Itf8(h, &pos, end, &key)) return BadInput("tag encoding map cut short");
    std::vector<uint32_t> ids;
    if (!ExternalIds(h, &pos, end, 0, &ids)) return BadInput("encoding of " + TagKey(key) + " cut short");
    for (uint32_t id : ids) (*map)[id].insert(TagKey(key));
  }
  return Status::Ok();
}

std::string JoinKeys(const std::set<std::string>& keys) {
  std::string joined;
  for (const std::string& k : keys) joined += (joined.empty() ? "" : "+") + k;
  return joined;
}

class Tally {
 public:
  CramByteRow& Row(const std::string& key) {
    auto it = rows_.find(key);
    if (it != rows_.end()) return it->second;
    CramByteRow& row = rows_[key];
    row.key = key;
    Describe(&row);
    return row;
  }
  void AddBlock(const std::string& key, const cram_bytes::Block& block) {
    CramByteRow& row = Row(key);
    row.bytes += block.size;
    row.raw_bytes += block.raw_size;
    ++row.blocks;
    ++row.methods[MethodName(block.method)];
  }
  std::vector<CramByteRow> Sorted() const {
    std::vector<CramByteRow> out;
    for (const auto& [key, row] : rows_) out.push_back(row);
    std::stable_sort(out.begin(), out.end(),
                     [](const CramByteRow& a, const CramByteRow& b) { return a.bytes > b.bytes; });
    return out;
  }

 private:
  static void Describe(CramByteRow* row) {
    const std::string& key = row->key;
    if (key.rfind("tag:", 0) == 0) {
      row->category = "tags";
      row->description = "aux tag " + key.substr(4);
      return;
    }
    if (const SeriesInfo* s = FindSeries(key)) {
      row->category = s->category;
      row->description = s->description;
      return;
    }
    if (key.find('+') != std::string::npos) {
      row->category = "shared";
      row->description = "blocks shared by these series";
      return;
    }
    row->category = "structure";
    if (key == "core") row->description = "bit-coded series (core block)";
    else if (key == "file header") row->description = "file definition and SAM header container";
    else if (key == "container headers") row->description = "container headers";
    else if (key == "compression headers") row->description = "encodings of each container";
    else if (key == "slice headers") row->description = "slice headers (reference MD5s, counts)";
    else if (key == "eof") row->description = "end-of-file container";
    else if (key == "unreferenced") row->description = "external blocks no encoding reads";
  }
  std::map<std::string, CramByteRow> rows_;
};

// The file, read container by container (a genome's CRAM does not fit in memory).
class CramFile {
 public:
  ~CramFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  Status Open(const std::string& path) {
    CRAMJET_RETURN_IF_ERROR(CheckReadableFile(path));
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return IoErrorFromErrno("'" + path + "': cannot open", errno);
    struct stat st;
    if (::fstat(fd_, &st) != 0) return IoErrorFromErrno("'" + path + "': cannot read", errno);
    size_ = static_cast<uint64_t>(st.st_size);
    path_ = path;
    return Status::Ok();
  }
  uint64_t size() const { return size_; }
  // Bytes [offset, offset + n) of the file, fewer at its end.
  Status Read(uint64_t offset, size_t n, std::string* out) const {
    n = static_cast<size_t>(std::min<uint64_t>(n, size_ - std::min(offset, size_)));
    out->resize(n);
    size_t got = 0;
    while (got < n) {
      const ssize_t r = ::pread(fd_, out->data() + got, n - got, static_cast<off_t>(offset + got));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return IoErrorFromErrno("'" + path_ + "': cannot read", r < 0 ? errno : EIO);
      got += static_cast<size_t>(r);
    }
    return Status::Ok();
  }

 private:
  int fd_ = -1;
  uint64_t size_ = 0;
  std::string path_;
};

}  // namespace

StatusOr<CramInspection> InspectCram(const std::string& path) {
  // It reads the file where each container is, not front to back.
  if (path == "-") return InvalidArgument("inspect reads a CRAM file, not standard input (save the stream first)");
  CramFile file;
  CRAMJET_RETURN_IF_ERROR(file.Open(path));
  const std::string where = "'" + path + "': ";
  std::string definition;
  CRAMJET_RETURN_IF_ERROR(file.Read(0, kFileDefinitionSize, &definition));
  if (definition.size() < kFileDefinitionSize || definition.compare(0, 4, "CRAM") != 0)
    return BadInput(where + "not a CRAM file");
  CramInspection out;
  out.path = path;
  out.major = static_cast<uint8_t>(definition[4]);
  out.minor = static_cast<uint8_t>(definition[5]);
  out.file_bytes = file.size();
  if (out.major != 3)
    return BadInput(where + "CRAM " + std::to_string(out.major) + "." + std::to_string(out.minor) +
                    " is not supported (3.0 and 3.1 are)");
  Tally tally;
  tally.Row("file header").bytes += kFileDefinitionSize;
  uint64_t pos = kFileDefinitionSize;
  uint64_t index = 0;  // containers, the header one first
  bool saw_eof = false;
  std::string container;
  while (pos < file.size()) {
    const std::string at = where + "container " + std::to_string(index) + " at byte " + std::to_string(pos) + ": ";
    // A container header is under 100 bytes plus 5 per slice.
    CRAMJET_RETURN_IF_ERROR(file.Read(pos, 1 << 16, &container));
    auto header = cram_bytes::ParseContainerHeaderOnly(container, 0);
    if (!header.ok()) return BadInput(at + "the header is cut short or fails its CRC32");
    const uint64_t total = header->header_size + static_cast<uint64_t>(header->length);
    if (total > file.size() - pos) return BadInput(at + "cut short: the file is truncated");
    if (container.size() < total) CRAMJET_RETURN_IF_ERROR(file.Read(pos, static_cast<size_t>(total), &container));
    const std::string_view c = std::string_view(container).substr(0, static_cast<size_t>(total));
    if (index == 0) {
      // The SAM header container, padding included.
      tally.Row("file header").bytes += total;
    } else if (cram_bytes::IsEofContainer(*header)) {
      tally.Row("eof").bytes += total;
      saw_eof = true;
    } else {
      ++out.containers;
      out.records += header->num_records;
      tally.Row("container headers").bytes += header->header_size;
      std::unordered_map<uint32_t, std::set<std::string>> ids;
      size_t p = header->header_size;
      while (p < c.size()) {
        cram_bytes::Block block;
        if (!cram_bytes::ParseBlock(c, p, &block))
          return BadInput(at + "the block at byte " + std::to_string(pos + p) + " is cut short or fails its CRC32");
        switch (block.content_type) {
          case kContentCompressionHeader:
            if (block.method != kMethodRaw)
              return BadInput(at + "compression header compressed with " + MethodName(block.method) +
                              ": not supported");
            if (Status s = MapContentIds(block.data, &ids); !s.ok())
              return BadInput(at + "compression header: " + s.message());
            tally.AddBlock("compression headers", block);
            break;
          case kContentSliceHeader:
            ++out.slices;
            tally.AddBlock("slice headers", block);
            break;
          case kContentCore:
            tally.AddBlock("core", block);
            break;
          case kContentExternal: {
            auto it = ids.find(block.content_id);
            tally.AddBlock(it == ids.end() ? "unreferenced" : JoinKeys(it->second), block);
            break;
          }
          default:
            return BadInput(at + "a block of content type " + std::to_string(block.content_type) +
                            " in a data container");
        }
        p += block.size;
      }
    }
    pos += total;
    ++index;
  }
  if (!saw_eof) return BadInput(where + "no EOF container: the file is truncated");
  // Structure rows keep no raw size: only series and tags have content to compare.
  for (const char* key : {"compression headers", "slice headers"}) tally.Row(key).raw_bytes = 0;
  out.rows = tally.Sorted();
  return out;
}

std::string FormatCramInspection(const CramInspection& in) {
  auto grouped = [](uint64_t v) {
    std::string digits = std::to_string(v), out;
    for (size_t i = 0; i < digits.size(); ++i) {
      if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
      out.push_back(digits[i]);
    }
    return out;
  };
  char line[512];
  std::string text;
  std::snprintf(line, sizeof line, "%s: CRAM %d.%d, %s bytes, %s containers, %s slices, %s records\n",
                in.path.c_str(), in.major, in.minor, grouped(in.file_bytes).c_str(),
                grouped(in.containers).c_str(), grouped(in.slices).c_str(), grouped(in.records).c_str());
  text += line;
  std::snprintf(line, sizeof line, "%-22s %-15s %14s %7s %15s %7s  %s\n", "series", "category", "bytes",
                "%file", "raw bytes", "ratio", "codecs (blocks)");
  text += line;
  for (const CramByteRow& r : in.rows) {
    std::string codecs;
    for (const auto& [method, n] : r.methods) codecs += (codecs.empty() ? "" : " ") + method + "(" + std::to_string(n) + ")";
    char ratio[32] = "-";
    if (r.raw_bytes > 0 && r.bytes > 0) std::snprintf(ratio, sizeof ratio, "%.2f", double(r.raw_bytes) / double(r.bytes));
    std::snprintf(line, sizeof line, "%-22s %-15s %14s %6.2f%% %15s %7s  %s\n", r.key.c_str(),
                  r.category.c_str(), grouped(r.bytes).c_str(),
                  in.file_bytes ? 100.0 * double(r.bytes) / double(in.file_bytes) : 0.0,
                  r.raw_bytes ? grouped(r.raw_bytes).c_str() : "-", ratio, codecs.c_str());
    text += line;
  }
  return text;
}

}  // namespace cramjet
