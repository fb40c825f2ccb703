// ReadChecksums: order-independent read checksums with the definition of `samtools checksum`
// 2.0 (samtools 1.25) for its default columns. docs/checksums.md spells the definition out.
// Length: ~650 lines, one type: the checksum definition, the canonical aux-tag form it hashes
// and its text format all work on ReadChecksums::Impl's row and group tables; split, they would
// need those private tables in a header of their own.
#include "cramjet/checksum.h"

#include <libdeflate.h>

#include <algorithm>
#include <array>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <map>

#include "verify/verify.h"

namespace cramjet {

const char* const kSeqChecksumDefinition = "samtools checksum 2.0";

namespace {

constexpr uint64_t kPrime = (uint64_t{1} << 31) - 1;
constexpr uint8_t kFlagMask = BAM_FPAIRED | BAM_FREAD1 | BAM_FREAD2;
constexpr std::string_view kDefaultAuxTags = "BC,FI,QT,RT,TC";
constexpr std::string_view kFlagMaskText = "PAIRED,READ1,READ2";
constexpr const char* kQcNames[3] = {"all", "pass", "fail"};
enum QcRow { kAllRow = 0, kPassRow = 1, kFailRow = 2 };

// Folds one CRC into a product modulo 2^31-1. Zero (and the prime itself) would annihilate the
// product, so such values count as 1, as samtools does.
inline uint64_t MultiplyIn(uint64_t hash, uint32_t crc) {
  uint64_t c = crc & kPrime;
  if (c == 0 || c == kPrime) c = 1;
  return hash * c % kPrime;
}

inline uint32_t Crc(uint32_t crc, const void* data, size_t len) {
  // libdeflate treats a null buffer as "start again"; never pass one.
  static const uint8_t kEmpty = 0;
  return libdeflate_crc32(crc, data ? data : &kEmpty, len);
}

struct Row {
  uint64_t count = 0;
  uint64_t seq = 1, name = 1, qual = 1, aux = 1;

  bool SameAs(const Row& o) const {
    return count == o.count && seq == o.seq && name == o.name && qual == o.qual && aux == o.aux;
  }
  // samtools' "combined" column. It folds flag+seq in twice and +qual not at all: a quirk kept
  // for compatibility, which is why cramjet compares every column, not just this one.
  uint32_t Combined() const {
    uint64_t h = 1;
    h = MultiplyIn(h, static_cast<uint32_t>(count >> 32));
    h = MultiplyIn(h, static_cast<uint32_t>(count & 0xffffffffu));
    h = MultiplyIn(h, static_cast<uint32_t>(seq));
    h = MultiplyIn(h, static_cast<uint32_t>(name));
    h = MultiplyIn(h, static_cast<uint32_t>(seq));
    h = MultiplyIn(h, static_cast<uint32_t>(aux));
    return static_cast<uint32_t>(h);
  }
  void MergeFrom(const Row& o) {
    count += o.count;
    seq = seq * o.seq % kPrime;
    name = name * o.name % kPrime;
    qual = qual * o.qual % kPrime;
    aux = aux * o.aux % kPrime;
  }
};

struct Group {
  Row rows[3];
};

struct RecordCrcs {
  uint32_t seq, name, qual, aux;
};

inline void AddToRow(Row& row, const RecordCrcs& c) {
  row.count++;
  row.seq = MultiplyIn(row.seq, c.seq);
  row.name = MultiplyIn(row.name, c.name);
  row.qual = MultiplyIn(row.qual, c.qual);
  row.aux = MultiplyIn(row.aux, c.aux);
}

inline void AddToGroup(Group& g, const RecordCrcs& c, bool qc_fail) {
  AddToRow(g.rows[kAllRow], c);
  AddToRow(g.rows[qc_fail ? kFailRow : kPassRow], c);
}

// Two bases per packed byte, forward: index = packed byte, value = two ASCII bases.
struct BaseTables {
  std::array<std::array<char, 2>, 256> forward_pair;
  BaseTables() {
    static const char kBases[] = "=ACMGRSVTWYHKDBN";
    for (int b = 0; b < 256; ++b) forward_pair[b] = {kBases[b >> 4], kBases[b & 15]};
  }
};
const BaseTables& Tables() {
  static const BaseTables tables;
  return tables;
}
constexpr char kComplementBases[] = "=TGKCYSBAWRDMHVN";  // complement of each 4-bit code

inline bool LegalTagChar(uint8_t c) { return c >= '0' && c <= 'z'; }
inline int TagSlot(uint8_t a, uint8_t b) { return (a - '0') * 75 + (b - '0'); }

// Bytes of an aux value of `type` starting at `p` (after the type byte), or 0 when it runs past
// `end` or the type is unknown.
size_t AuxValueSize(uint8_t type, const uint8_t* p, const uint8_t* end) {
  switch (type) {
    case 'A': case 'c': case 'C': return p < end ? 1 : 0;
    case 's': case 'S': return end - p >= 2 ? 2 : 0;
    case 'i': case 'I': case 'f': return end - p >= 4 ? 4 : 0;
    case 'd': return end - p >= 8 ? 8 : 0;
    case 'Z': case 'H': {
      const void* nul = std::memchr(p, 0, static_cast<size_t>(end - p));
      return nul ? static_cast<size_t>(static_cast<const uint8_t*>(nul) - p) + 1 : 0;
    }
    case 'B': {
      if (end - p < 5) return 0;
      size_t elem;
      switch (p[0]) {
        case 'c': case 'C': elem = 1; break;
        case 's': case 'S': elem = 2; break;
        case 'i': case 'I': case 'f': elem = 4; break;
        default: return 0;
      }
      uint32_t n = static_cast<uint32_t>(p[1]) | static_cast<uint32_t>(p[2]) << 8 |
                   static_cast<uint32_t>(p[3]) << 16 | static_cast<uint32_t>(p[4]) << 24;
      uint64_t total = 5 + uint64_t{n} * elem;
      return static_cast<uint64_t>(end - p) >= total ? static_cast<size_t>(total) : 0;
    }
    default: return 0;
  }
}

// Appends the tag starting at `tag` (name, type, value; `size` bytes) in canonical form: integer
// types rewritten to the smallest type that holds the value, unsigned when >= 0.
void AppendCanonicalTag(const uint8_t* tag, size_t size, std::string& out) {
  uint8_t type = tag[2];
  const uint8_t* v = tag + 3;
  int64_t value;
  switch (type) {
    case 'c': value = static_cast<int8_t>(v[0]); break;
    case 'C': value = v[0]; break;
    case 's': value = static_cast<int16_t>(v[0] | v[1] << 8); break;
    case 'S': value = static_cast<uint16_t>(v[0] | v[1] << 8); break;
    case 'i':
    case 'I': {
      uint32_t u = static_cast<uint32_t>(v[0]) | static_cast<uint32_t>(v[1]) << 8 |
                   static_cast<uint32_t>(v[2]) << 16 | static_cast<uint32_t>(v[3]) << 24;
      value = type == 'i' ? static_cast<int64_t>(static_cast<int32_t>(u)) : static_cast<int64_t>(u);
      break;
    }
    default:
      out.append(reinterpret_cast<const char*>(tag), size);
      return;
  }
  uint8_t code;
  int width;
  if (value >= 0) {
    if (value <= 0xff) code = 'C', width = 1;
    else if (value <= 0xffff) code = 'S', width = 2;
    else code = 'I', width = 4;
  } else {
    if (value >= -128) code = 'c', width = 1;
    else if (value >= -32768) code = 's', width = 2;
    else code = 'i', width = 4;
  }
  out.push_back(static_cast<char>(tag[0]));
  out.push_back(static_cast<char>(tag[1]));
  out.push_back(static_cast<char>(code));
  uint32_t u = static_cast<uint32_t>(value);
  for (int i = 0; i < width; ++i) out.push_back(static_cast<char>((u >> (8 * i)) & 0xff));
}

std::string FormatRowLine(const ChecksumRow& r) {
  char line[160];
  std::snprintf(line, sizeof line, "%-10s %-4s %12" PRIu64 "  %08" PRIx32 "  %08" PRIx32
                "  %08" PRIx32 "  %08" PRIx32 "  %08" PRIx32 "\n",
                r.group.c_str(), r.qc.c_str(), r.count, r.seq, r.name, r.qual, r.aux, r.combined);
  return line;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> SplitWhitespace(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t' && s[j] != '\r') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace

// ---- Aux tag specs ------------------------------------------------------------------------------

Status ValidateAuxTagSpec(std::string_view spec) {
  if (spec.empty()) return Status::Ok();
  size_t start = 0;
  int index = 0;
  while (start <= spec.size()) {
    size_t comma = spec.find(',', start);
    std::string_view item = spec.substr(start, comma == std::string_view::npos ? std::string_view::npos
                                                                                : comma - start);
    if (item == "*") {
      if (index != 0)
        return InvalidArgument("aux tag list '" + std::string(spec) + "': '*' must come first");
    } else if (item.size() != 2 || !LegalTagChar(item[0]) || !LegalTagChar(item[1])) {
      return InvalidArgument("aux tag list '" + std::string(spec) + "': '" + std::string(item) +
                             "' is not a two-character tag name (use XX,YY or *,XX,YY)");
    }
    ++index;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return Status::Ok();
}

std::string ProofAuxTagsExcluding(const std::vector<std::string>& dropped_tags) {
  std::string spec(kProofAuxTags);
  for (const auto& t : dropped_tags) spec += "," + t;
  return spec;
}

// ---- ReadChecksums ------------------------------------------------------------------------------

struct ReadChecksums::Impl {
  std::string aux_spec;
  bool all_tags = false;  // "*" mode: every tag except those with a non-zero slot
  // "*" mode: non-zero = left out. Listed mode: 1-based position in the requested order.
  std::array<int16_t, 75 * 75> tag_slot{};
  int listed_count = 0;

  Group total;
  Group no_rg;
  std::map<std::string, Group, std::less<>> groups;
  // False for accumulators parsed from text that had only "all" rows (no `-q`).
  bool qc_rows_known = true;

  // Scratch reused between records (not state).
  std::string seq, qual, aux;
  std::vector<const uint8_t*> listed_ptr;
  std::vector<size_t> listed_len;
  std::vector<std::pair<uint32_t, std::pair<const uint8_t*, size_t>>> sorted_tags;
  std::string last_rg;
  Group* last_group = nullptr;

  explicit Impl(std::string_view spec) : aux_spec(spec.empty() ? kDefaultAuxTags : spec) {
    size_t start = 0;
    int index = 0;
    std::string_view s = aux_spec;
    while (start <= s.size()) {
      size_t comma = s.find(',', start);
      std::string_view item =
          s.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      if (item == "*" && index == 0) {
        all_tags = true;
      } else if (item.size() == 2 && LegalTagChar(item[0]) && LegalTagChar(item[1])) {
        // As samtools: a repeated name keeps its last position.
        tag_slot[TagSlot(item[0], item[1])] = static_cast<int16_t>(index + 1);
      }
      ++index;
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    listed_count = index;
    listed_ptr.assign(listed_count + 1, nullptr);
    listed_len.assign(listed_count + 1, 0);
  }

  Impl(const Impl& o)
      : aux_spec(o.aux_spec), all_tags(o.all_tags), tag_slot(o.tag_slot),
        listed_count(o.listed_count), total(o.total), no_rg(o.no_rg), groups(o.groups),
        qc_rows_known(o.qc_rows_known), listed_ptr(o.listed_ptr), listed_len(o.listed_len) {}

  Group& GroupFor(std::string_view rg) {
    if (last_group && rg == last_rg) return *last_group;
    auto it = groups.find(rg);
    if (it == groups.end()) it = groups.emplace(std::string(rg), Group{}).first;
    last_rg.assign(rg);
    last_group = &it->second;
    return it->second;
  }

  void FillSeqQual(const bam1_t* b) {
    const int len = b->core.l_qseq;
    seq.resize(static_cast<size_t>(len));
    qual.resize(static_cast<size_t>(len));
    const uint8_t* packed = bam_get_seq(b);
    const uint8_t* q = bam_get_qual(b);
    char* s = seq.data();
    char* out_q = qual.data();
    // Quality bytes +33 in 8 bits, as samtools (a missing quality, 0xff, becomes 0x20).
    if (b->core.flag & BAM_FREVERSE) {
      for (int i = 0, j = len - 1; i < len; ++i, --j) {
        s[j] = kComplementBases[bam_seqi(packed, i)];
        out_q[j] = static_cast<char>(static_cast<uint8_t>(q[i] + 33));
      }
    } else {
      const auto& pairs = Tables().forward_pair;
      int i = 0;
      for (; i + 1 < len; i += 2) {
        const auto& p = pairs[packed[i >> 1]];
        s[i] = p[0];
        s[i + 1] = p[1];
      }
      if (i < len) s[i] = seq_nt16_str[bam_seqi(packed, i)];
      for (int k = 0; k < len; ++k) out_q[k] = static_cast<char>(static_cast<uint8_t>(q[k] + 33));
    }
  }

  // Builds the aux bytes to checksum into `aux`; returns the RG:Z value (empty view when none).
  std::string_view CollectAux(const bam1_t* b, bool* has_rg) {
    aux.clear();
    *has_rg = false;
    std::string_view rg;
    const uint8_t* p = bam_get_aux(b);
    const uint8_t* end = b->data + b->l_data;
    if (all_tags) sorted_tags.clear();
    else std::fill(listed_len.begin(), listed_len.end(), 0);
    uint32_t position = 0;
    while (end - p >= 3) {
      const uint8_t* tag = p;
      size_t value_size = AuxValueSize(tag[2], tag + 3, end);
      if (value_size == 0) {
        // Malformed tail (htslib would have refused most): checksum the raw bytes so that any
        // change in them still shows.
        aux.append(reinterpret_cast<const char*>(p), static_cast<size_t>(end - p));
        break;
      }
      size_t size = 3 + value_size;
      p += size;
      if (tag[0] == 'R' && tag[1] == 'G' && tag[2] == 'Z') {
        rg = std::string_view(reinterpret_cast<const char*>(tag + 3), value_size - 1);
        *has_rg = true;
      }
      if (!LegalTagChar(tag[0]) || !LegalTagChar(tag[1])) continue;
      int slot = tag_slot[TagSlot(tag[0], tag[1])];
      if (all_tags) {
        if (slot == 0)
          sorted_tags.push_back({(uint32_t{tag[0]} << 24) | (uint32_t{tag[1]} << 16) | position++,
                                 {tag, size}});
      } else if (slot > 0) {
        listed_ptr[slot] = tag;  // the last occurrence wins, as in samtools
        listed_len[slot] = size;
      }
    }
    if (all_tags) {
      std::sort(sorted_tags.begin(), sorted_tags.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      for (const auto& t : sorted_tags) AppendCanonicalTag(t.second.first, t.second.second, aux);
    } else {
      for (int i = 1; i <= listed_count; ++i)
        if (listed_len[i]) AppendCanonicalTag(listed_ptr[i], listed_len[i], aux);
    }
    return rg;
  }
};

ReadChecksums::ReadChecksums(std::string_view aux_tags) : impl_(std::make_unique<Impl>(aux_tags)) {}
ReadChecksums::~ReadChecksums() = default;
ReadChecksums::ReadChecksums(ReadChecksums&&) noexcept = default;
ReadChecksums& ReadChecksums::operator=(ReadChecksums&&) noexcept = default;
ReadChecksums::ReadChecksums(const ReadChecksums& other)
    : impl_(std::make_unique<Impl>(*other.impl_)) {}
ReadChecksums& ReadChecksums::operator=(const ReadChecksums& other) {
  if (this != &other) impl_ = std::make_unique<Impl>(*other.impl_);
  return *this;
}

bool ReadChecksums::Add(const bam1_t* b) {
  if (b->core.flag & (BAM_FSECONDARY | BAM_FSUPPLEMENTARY)) return false;
  Impl& m = *impl_;
  const uint8_t flags = static_cast<uint8_t>(b->core.flag & kFlagMask);
  m.FillSeqQual(b);
  const size_t len = m.seq.size();

  RecordCrcs c;
  uint32_t flag_crc = Crc(0, &flags, 1);
  c.seq = Crc(flag_crc, m.seq.data(), len);
  // Name, its NUL, the flag byte, then the sequence (bamseqchksum's order).
  uint32_t name_crc = Crc(0, bam_get_qname(b), b->core.l_qname - b->core.l_extranul);
  name_crc = Crc(name_crc, &flags, 1);
  c.name = Crc(name_crc, m.seq.data(), len);
  c.qual = Crc(c.seq, m.qual.data(), len);
  bool has_rg = false;
  std::string_view rg = m.CollectAux(b, &has_rg);
  c.aux = Crc(c.seq, m.aux.data(), m.aux.size());

  const bool qc_fail = (b->core.flag & BAM_FQCFAIL) != 0;
  AddToGroup(has_rg ? m.GroupFor(rg) : m.no_rg, c, qc_fail);
  AddToGroup(m.total, c, qc_fail);
  return true;
}

void ReadChecksums::Merge(const ReadChecksums& other) {
  Impl& m = *impl_;
  const Impl& o = *other.impl_;
  for (int r = 0; r < 3; ++r) {
    m.total.rows[r].MergeFrom(o.total.rows[r]);
    m.no_rg.rows[r].MergeFrom(o.no_rg.rows[r]);
  }
  for (const auto& [name, group] : o.groups) {
    Group& g = m.groups[name];
    for (int r = 0; r < 3; ++r) g.rows[r].MergeFrom(group.rows[r]);
  }
  m.qc_rows_known = m.qc_rows_known && o.qc_rows_known;
}

uint64_t ReadChecksums::count() const { return impl_->total.rows[kAllRow].count; }
const std::string& ReadChecksums::aux_tags() const { return impl_->aux_spec; }

std::vector<ChecksumRow> ReadChecksums::Rows() const {
  const Impl& m = *impl_;
  std::vector<ChecksumRow> rows;
  auto emit = [&](const std::string& name, const Group& g) {
    for (int r = 0; r < 3; ++r) {
      if (r > 0 && !m.qc_rows_known) continue;
      const Row& row = g.rows[r];
      if (row.count == 0) continue;  // samtools leaves zero-count rows out unless -v
      ChecksumRow out;
      out.group = name;
      out.qc = kQcNames[r];
      out.count = row.count;
      out.seq = static_cast<uint32_t>(row.seq);
      out.name = static_cast<uint32_t>(row.name);
      out.qual = static_cast<uint32_t>(row.qual);
      out.aux = static_cast<uint32_t>(row.aux);
      out.combined = row.Combined();
      rows.push_back(std::move(out));
    }
  };
  emit("all", m.total);
  emit("-", m.no_rg);
  for (const auto& [name, group] : m.groups) emit(name, group);  // std::map: strcmp order
  return rows;
}

std::string ReadChecksums::ToText(std::string_view label) const {
  std::string text;
  text += "# Checksum 2.0 for file: ";
  text += label;
  text += "\n# Aux tags:          " + impl_->aux_spec + "\n";
  text += "# BAM flags:         " + std::string(kFlagMaskText) + "\n";
  text += "\n# Group    QC          count  flag+seq  +name     +qual     +aux      combined\n";
  for (const auto& row : Rows()) text += FormatRowLine(row);
  return text;
}

namespace {

// Compares two groups row by row; appends one line per difference.
void DescribeGroup(const std::string& name, const Group& a, const Group& b, bool compare_qc,
                   std::string& out) {
  for (int r = 0; r < (compare_qc ? 3 : 1); ++r) {
    const Row& x = a.rows[r];
    const Row& y = b.rows[r];
    if (x.SameAs(y)) continue;
    std::string where = name + " " + kQcNames[r] + ": ";
    char buf[128];
    if (x.count != y.count) {
      std::snprintf(buf, sizeof buf, "count %" PRIu64 " != %" PRIu64, x.count, y.count);
      out += where + buf + "\n";
    }
    auto column = [&](const char* col, uint64_t u, uint64_t v) {
      if (u == v) return;
      std::snprintf(buf, sizeof buf, "%s %08" PRIx64 " != %08" PRIx64, col, u, v);
      out += where + buf + "\n";
    };
    column("flag+seq", x.seq, y.seq);
    column("+name", x.name, y.name);
    column("+qual", x.qual, y.qual);
    column("+aux", x.aux, y.aux);
  }
}

}  // namespace

std::string ReadChecksums::Describe(const ReadChecksums& other) const {
  const Impl& a = *impl_;
  const Impl& b = *other.impl_;
  std::string out;
  if (a.aux_spec != b.aux_spec)
    out += "aux tags differ: '" + a.aux_spec + "' != '" + b.aux_spec + "'\n";
  const bool compare_qc = a.qc_rows_known && b.qc_rows_known;
  DescribeGroup("all", a.total, b.total, compare_qc, out);
  DescribeGroup("-", a.no_rg, b.no_rg, compare_qc, out);
  const Group empty;
  for (const auto& [name, g] : a.groups) {
    auto it = b.groups.find(name);
    DescribeGroup(name, g, it == b.groups.end() ? empty : it->second, compare_qc, out);
  }
  for (const auto& [name, g] : b.groups)
    if (!a.groups.count(name)) DescribeGroup(name, empty, g, compare_qc, out);
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

bool ReadChecksums::Equals(const ReadChecksums& other) const { return Describe(other).empty(); }

StatusOr<ReadChecksums> ReadChecksums::FromText(std::string_view text, std::string_view source) {
  const std::string where = "'" + std::string(source) + "'";
  auto error = [&](uint64_t line, const std::string& what) {
    return BadInput(where + ": line " + std::to_string(line) + ": " + what);
  };
  if (Trim(text).empty()) return BadInput(where + ": empty, not a checksum file");

  bool seen_version = false, seen_aux = false, seen_group_header = false;
  std::string aux_spec;
  std::vector<std::string> columns;
  struct ParsedRow {
    std::string group;
    int qc;
    Row row;
    uint64_t line;
  };
  std::vector<ParsedRow> parsed;

  uint64_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    std::string_view trimmed = Trim(line);
    if (trimmed.empty()) continue;
    if (trimmed.substr(0, 10) == "# Checksum") {
      std::string_view rest = Trim(trimmed.substr(10));
      std::string_view version = rest.substr(0, rest.find_first_of(" \t"));
      // 1.0 and 2.0 differ only in the +mate column, which cramjet neither writes nor accepts.
      if (version != "1.0" && version != "2.0")
        return error(line_no, "checksum definition '" + std::string(version) +
                                  "' is not supported (expected 1.0 or 2.0)");
      seen_version = true;
      continue;
    }
    if (trimmed.substr(0, 11) == "# Aux tags:") {
      aux_spec = std::string(Trim(trimmed.substr(11)));
      Status valid = ValidateAuxTagSpec(aux_spec);
      if (!valid.ok() || aux_spec.empty())
        return error(line_no, "bad aux tag list '" + aux_spec + "'");
      seen_aux = true;
      continue;
    }
    if (trimmed.substr(0, 12) == "# BAM flags:") {
      std::string_view mask = Trim(trimmed.substr(12));
      if (mask != kFlagMaskText)
        return error(line_no, "flag mask '" + std::string(mask) + "' is not supported (expected " +
                                  std::string(kFlagMaskText) + ")");
      continue;
    }
    if (trimmed.substr(0, 7) == "# Group") {
      if (seen_group_header) return error(line_no, "second '# Group' header line");
      for (auto token : SplitWhitespace(trimmed.substr(1))) columns.emplace_back(token);
      static const std::vector<std::string> kWith = {"Group", "QC", "count", "flag+seq",
                                                     "+name", "+qual", "+aux", "combined"};
      std::vector<std::string> without(kWith.begin(), kWith.end() - 1);
      if (columns != kWith && columns != without) {
        std::string got;
        for (const auto& c : columns) got += (got.empty() ? "" : " ") + c;
        return error(line_no, "columns '" + got +
                                  "' are not supported (expected Group QC count flag+seq +name "
                                  "+qual +aux [combined])");
      }
      seen_group_header = true;
      continue;
    }
    if (trimmed[0] == '#') continue;

    if (!seen_group_header) return error(line_no, "data row before the '# Group' header line");
    auto fields = SplitWhitespace(trimmed);
    if (fields.size() != columns.size())
      return error(line_no, "expected " + std::to_string(columns.size()) + " columns, found " +
                                std::to_string(fields.size()));
    ParsedRow pr;
    pr.line = line_no;
    pr.group = std::string(fields[0]);
    if (fields[1] == "all") pr.qc = kAllRow;
    else if (fields[1] == "pass") pr.qc = kPassRow;
    else if (fields[1] == "fail") pr.qc = kFailRow;
    else return error(line_no, "QC column '" + std::string(fields[1]) + "' is not all, pass or fail");
    auto parse_uint = [&](std::string_view f, int base, uint64_t max, uint64_t* out) -> bool {
      if (f.empty() || f.size() > 20) return false;
      std::string s(f);
      char* endp = nullptr;
      errno = 0;
      unsigned long long v = std::strtoull(s.c_str(), &endp, base);
      if (errno || *endp || s[0] == '-' || s[0] == '+' || v > max) return false;
      *out = v;
      return true;
    };
    if (!parse_uint(fields[2], 10, UINT64_MAX, &pr.row.count))
      return error(line_no, "count '" + std::string(fields[2]) + "' is not a number");
    uint64_t* cols[4] = {&pr.row.seq, &pr.row.name, &pr.row.qual, &pr.row.aux};
    for (int i = 0; i < 4; ++i) {
      uint64_t v;
      if (!parse_uint(fields[3 + i], 16, kPrime - 1, &v) || v == 0)
        return error(line_no, "column " + columns[3 + i] + " '" + std::string(fields[3 + i]) +
                                  "' is not a checksum (hex, 1 to 7ffffffe)");
      *cols[i] = v;
    }
    if (columns.size() == 8) {
      uint64_t combined;
      if (!parse_uint(fields[7], 16, UINT32_MAX, &combined))
        return error(line_no, "combined '" + std::string(fields[7]) + "' is not hex");
      if (combined != pr.row.Combined())
        return error(line_no, "combined column does not match the row's other columns (edited?)");
    }
    for (const auto& prev : parsed)
      if (prev.group == pr.group && prev.qc == pr.qc)
        return error(line_no, "row '" + pr.group + " " + kQcNames[pr.qc] + "' repeated");
    parsed.push_back(std::move(pr));
  }
  if (!seen_version) return BadInput(where + ": not a checksum file (no '# Checksum' line)");
  if (!seen_aux) return BadInput(where + ": no '# Aux tags:' line");
  if (!seen_group_header) return BadInput(where + ": no '# Group' header line");

  ReadChecksums sums(aux_spec);
  Impl& m = *sums.impl_;
  bool any_qc_row = false;
  Group from_groups;  // product of the group rows, to check against the "all" rows
  for (const auto& pr : parsed) {
    if (pr.qc != kAllRow) any_qc_row = true;
    if (pr.group == "all") {
      m.total.rows[pr.qc] = pr.row;
      continue;
    }
    Group& g = pr.group == "-" ? m.no_rg : m.groups[pr.group];
    g.rows[pr.qc] = pr.row;
    from_groups.rows[pr.qc].MergeFrom(pr.row);
  }
  m.qc_rows_known = any_qc_row || m.total.rows[kAllRow].count == 0;
  for (int r = 0; r < (m.qc_rows_known ? 3 : 1); ++r) {
    if (!from_groups.rows[r].SameAs(m.total.rows[r]))
      return BadInput(where + ": the group rows do not add up to the 'all " + kQcNames[r] +
                      "' row (edited or truncated?)");
  }
  return sums;
}

}  // namespace cramjet
