// host/sort/order.cc — keeping the input order at almost no cost: the order rules, the recorder
// that chooses them while compressing, and the keys the decoder sorts by (sort.h, docs/sort.md).
// Length: ~520 lines kept together: the order rules, the recorder that picks them and the keys
// the decoder sorts by are one definition (a rule written here must be read back the same way).
#include <algorithm>
#include <cstring>
#include <deque>
#include <optional>

#include "common/common.h"
#include "sort/order_internal.h"
#include "sort/sort.h"

namespace cramjet {
namespace {

// How far the recorder looks ahead before it decides a record: a record that would make more
// of the next kLookahead records exceptions than it keeps in order is the exception itself (a
// read from a far tile amid its neighbours costs one exception, not a tile's worth).
constexpr size_t kLookahead = 16;
constexpr uint32_t kMaxPrefixes = 255;  // per read group; names beyond them are exceptions
constexpr uint32_t kMaxGroups = 0xffff;
constexpr int kFieldBits = 102;

bool IsSeparator(char c) { return c == ':' || c == '_' || c == '.'; }

// Shifts w bits (1..63) of `v` into the 128-bit value (hi, lo).
void ShiftIn(uint64_t& hi, uint64_t& lo, uint64_t v, int w) {
  hi = (hi << w) | (lo >> (64 - w));
  lo = (lo << w) | v;
}

std::string_view GroupOf(const bam1_t* b) {
  const uint8_t* rg = bam_aux_get(b, "RG");
  if (!rg || rg[0] != 'Z') return {};
  return reinterpret_cast<const char*>(rg + 1);
}

// The part of the name the rules read, and the mate: a "/1" "/2" "/3" suffix (mates kept in one
// single-end file) is the mate; else READ2 is 1, READ1 and single-end 0.
std::string_view KeyName(const bam1_t* b, int* mate) {
  std::string_view name = bam_get_qname(b);
  if (name.size() > 2 && name[name.size() - 2] == '/' && name.back() >= '1' && name.back() <= '3') {
    *mate = name.back() - '0';
    name.remove_suffix(2);
  } else {
    *mate = (b->core.flag & BAM_FREAD2) ? 1 : 0;
  }
  return name;
}

// ---- The recorder's per-rule state ----------------------------------------------------------

// One bit per input index, in chunks allocated only where a bit is set.
class ExceptionBits {
 public:
  static constexpr uint64_t kChunkBits = 1u << 16;
  void Set(uint64_t i) {
    size_t c = static_cast<size_t>(i / kChunkBits);
    if (chunks_.size() <= c) chunks_.resize(c + 1);
    if (!chunks_[c]) chunks_[c].reset(new uint64_t[kChunkBits / 64]());
    chunks_[c][(i % kChunkBits) / 64] |= uint64_t{1} << (i % 64);
  }
  bool Test(uint64_t i) const {
    size_t c = static_cast<size_t>(i / kChunkBits);
    if (c >= chunks_.size() || !chunks_[c]) return false;
    return (chunks_[c][(i % kChunkBits) / 64] >> (i % 64)) & 1;
  }
  // Calls f(index) for every set bit, in order.
  template <typename F>
  void ForEach(F&& f) const {
    for (size_t c = 0; c < chunks_.size(); ++c) {
      if (!chunks_[c]) continue;
      for (uint64_t w = 0; w < kChunkBits / 64; ++w) {
        for (uint64_t bits = chunks_[c][w]; bits; bits &= bits - 1)
          f(c * kChunkBits + w * 64 + static_cast<uint64_t>(__builtin_ctzll(bits)));
      }
    }
  }
  uint64_t bytes() const {
    uint64_t n = chunks_.capacity() * sizeof(chunks_[0]);
    for (const auto& c : chunks_)
      if (c) n += kChunkBits / 8;
    return n;
  }

 private:
  std::vector<std::unique_ptr<uint64_t[]>> chunks_;
};

// What the recorder compares: the rule's key, then the coordinate key (equal rule keys are
// resolved by stored order, which follows the coordinate and then the input order).
struct TrackKey {
  uint64_t hi = 0, lo = 0, coord = 0;
  bool valid = false;
};
bool Less(const TrackKey& a, const TrackKey& b) {
  if (a.hi != b.hi) return a.hi < b.hi;
  if (a.lo != b.lo) return a.lo < b.lo;
  return a.coord < b.coord;
}

struct Candidate {
  struct Pending {
    uint64_t index;
    TrackKey key;
    uint32_t group;
  };
  OrderRule rule;
  std::deque<Pending> pending;
  bool has_last = false;
  TrackKey last;
  ExceptionBits bits;
  std::vector<uint64_t> per_group;  // exceptions by group slot
  size_t disorder = 0;  // neighbours in `pending` that are not valid and non-decreasing

  static bool OutOfOrder(const TrackKey& a, const TrackKey& b) { return !a.valid || !b.valid || Less(b, a); }

  explicit Candidate(OrderRule r, size_t slots) : rule(r), per_group(slots, 0) {}

  void Push(uint64_t index, const TrackKey& key, uint32_t group) {
    if (!pending.empty() && OutOfOrder(pending.back().key, key)) ++disorder;
    pending.push_back({index, key, group});
    if (pending.size() > kLookahead) DecideFront();
  }
  void DecideFront() {
    // The front and everything after it in order (the common case): nothing ahead conflicts.
    const bool in_order = disorder == 0;
    Pending p = pending.front();
    pending.pop_front();
    if (!pending.empty() && OutOfOrder(p.key, pending.front().key)) --disorder;
    bool exception = !p.key.valid || (has_last && Less(p.key, last));
    if (!exception && !in_order) {
      size_t conflict = 0, compatible = 0;
      for (const Pending& next : pending) {
        if (!next.key.valid || (has_last && Less(next.key, last))) continue;
        if (Less(next.key, p.key)) ++conflict;
        else ++compatible;
      }
      exception = conflict > compatible;
    }
    if (exception) {
      bits.Set(p.index);
      ++per_group[p.group];
    } else {
      last = p.key;
      has_last = true;
    }
  }
  void Drain() {
    while (!pending.empty()) DecideFront();
  }
};

}  // namespace

// ---- Rules, names and keys ----------------------------------------------------------------------

const char* OrderRuleName(OrderRule rule) {
  switch (rule) {
    case OrderRule::kStored: return "stored";
    case OrderRule::kNames: return "names";
    case OrderRule::kNamesYx: return "names-yx";
  }
  return "?";
}

StatusOr<OrderRule> ParseOrderRule(std::string_view name) {
  for (OrderRule r : {OrderRule::kStored, OrderRule::kNames, OrderRule::kNamesYx})
    if (name == OrderRuleName(r)) return r;
  return BadInput("unknown order rule '" + std::string(name) + "'");
}

bool SplitNameFields(std::string_view name, NameFields* out) {
  NameFields f;
  uint64_t backwards[kMaxNameFields];
  size_t end = name.size();
  size_t first = name.size();  // where the leftmost number starts: the prefix ends there
  while (f.count < kMaxNameFields) {
    size_t begin = end;
    while (begin > 0 && name[begin - 1] >= '0' && name[begin - 1] <= '9') --begin;
    if (begin == end || end - begin > 18) break;
    if (begin > 0 && !IsSeparator(name[begin - 1])) break;  // digits glued to text: "SRR504956"
    uint64_t v = 0;
    for (size_t i = begin; i < end; ++i) v = v * 10 + static_cast<uint64_t>(name[i] - '0');
    backwards[f.count++] = v;
    first = begin;
    if (begin == 0) break;
    end = begin - 1;  // step over the separator, which stays in the prefix
  }
  if (f.count == 0) return false;
  for (int i = 0; i < f.count; ++i) f.value[i] = backwards[f.count - 1 - i];
  f.prefix = name.substr(0, first);
  *out = f;
  return true;
}

bool PackNameKey(uint32_t group, uint32_t prefix, const NameFields& fields, bool swap_last_two,
                 int mate, OrderKey* out) {
  static constexpr int kWidths[kMaxNameFields][kMaxNameFields] = {
      {62, 0, 0, 0}, {40, 40, 0, 0}, {24, 36, 36, 0}, {12, 24, 32, 32}};
  if (fields.count < 1 || fields.count > kMaxNameFields || group > kMaxGroups || prefix > 0xff)
    return false;
  uint64_t v[kMaxNameFields];
  std::copy(fields.value, fields.value + fields.count, v);
  if (swap_last_two && fields.count >= 2) std::swap(v[fields.count - 2], v[fields.count - 1]);
  uint64_t hi = 0, lo = group;
  ShiftIn(hi, lo, prefix, 8);
  int used = 0;
  for (int i = 0; i < fields.count; ++i) {
    int w = kWidths[fields.count - 1][i];
    if (v[i] >> w) return false;
    ShiftIn(hi, lo, v[i], w);
    used += w;
  }
  if (kFieldBits - used > 0) {
    // Pad in steps below 64 bits (ShiftIn takes 1..63).
    for (int left = kFieldBits - used; left > 0; left -= 51) ShiftIn(hi, lo, 0, std::min(left, 51));
  }
  ShiftIn(hi, lo, static_cast<uint64_t>(mate & 3), 2);
  out->hi = hi;
  out->lo = lo;
  return true;
}

// ---- OrderRecorder -------------------------------------------------------------------------------

class OrderRecorder::Impl {
 public:
  explicit Impl(const sam_hdr_t* header) {
    // A group's ordinal is its place among the named @RG lines (OrderRuleKeyer counts the same).
    int n = header ? sam_hdr_count_lines(const_cast<sam_hdr_t*>(header), "RG") : 0;
    for (int i = 0; i < n && groups_.size() < kMaxGroups; ++i) {
      const char* id = sam_hdr_line_name(const_cast<sam_hdr_t*>(header), "RG", i);
      if (!id) continue;
      ordinal_.emplace(id, static_cast<uint32_t>(groups_.size()));
      GroupOrder g;
      g.id = id;
      groups_.push_back(std::move(g));
      prefix_maps_.emplace_back();
      prefix_lists_.emplace_back();
    }
    const size_t slots = groups_.size() + 1;  // the last: records of no known group
    for (OrderRule r : {OrderRule::kStored, OrderRule::kNamesYx, OrderRule::kNames})
      candidates_.push_back(std::make_unique<Candidate>(r, slots));
  }

  void Add(const bam1_t* b) {
    const uint64_t index = records_++;
    uint32_t slot = static_cast<uint32_t>(groups_.size());
    std::string_view id = GroupOf(b);
    if (!id.empty()) {
      if (id == last_id_) {
        slot = last_slot_;
      } else {
        auto it = ordinal_.find(std::string(id));
        if (it != ordinal_.end()) slot = it->second;
        last_id_.assign(id);
        last_slot_ = slot;
      }
    }
    if (runs_.empty() || runs_.back().second != slot) runs_.emplace_back(index, slot);
    const bool known = slot < groups_.size();
    TrackKey stored, names, names_yx;
    const uint64_t coord = CoordinateSortKey(b);
    if (known) {
      stored = {uint64_t{slot} << 48, 0, coord, true};
      NameFields f;
      uint32_t prefix = 0;
      int mate = 0;
      if (SplitNameFields(KeyName(b, &mate), &f) && PrefixOrdinal(slot, f, &prefix)) {
        OrderKey k;
        if (PackNameKey(slot, prefix, f, false, mate, &k)) names = {k.hi, k.lo, coord, true};
        if (PackNameKey(slot, prefix, f, true, mate, &k)) names_yx = {k.hi, k.lo, coord, true};
      }
    }
    for (auto& c : candidates_) {
      const TrackKey& key = c->rule == OrderRule::kStored ? stored : c->rule == OrderRule::kNames ? names : names_yx;
      c->Push(index, key, slot);
    }
  }

  void Finish() {
    for (auto& c : candidates_) c->Drain();
    chosen_.assign(groups_.size() + 1, 0);
    for (size_t g = 0; g < groups_.size(); ++g) {
      size_t best = 0;  // ties keep the earlier candidate: stored, then names-yx, then names
      for (size_t c = 1; c < candidates_.size(); ++c)
        if (candidates_[c]->per_group[g] < candidates_[best]->per_group[g]) best = c;
      if (candidates_[best]->rule != OrderRule::kStored && prefix_maps_[g].empty()) best = 0;
      chosen_[g] = best;
      groups_[g].rule = candidates_[best]->rule;
      groups_[g].exceptions = candidates_[best]->per_group[g];
      if (groups_[g].rule != OrderRule::kStored) groups_[g].prefixes = prefix_lists_[g];
    }
    // One bit set for the final answer; the candidates' bits go.
    bool uniform = true;
    for (size_t g = 1; g < groups_.size(); ++g) uniform &= chosen_[g] == chosen_[0];
    if (uniform) {
      final_ = std::move(candidates_[groups_.empty() ? 0 : chosen_[0]]->bits);
    } else {
      for (size_t c = 0; c < candidates_.size(); ++c) {
        candidates_[c]->bits.ForEach([&](uint64_t i) {
          auto run = std::upper_bound(runs_.begin(), runs_.end(), std::make_pair(i, UINT32_MAX));
          uint32_t slot = std::prev(run)->second;
          if (chosen_[slot] == c) final_.Set(i);
        });
      }
    }
    candidates_.clear();
    finished_ = true;
  }

  Status WriteRules(sam_hdr_t* header) const {
    if (!finished_) return Internal("order: WriteRules() before Finish()");
    for (const GroupOrder& g : groups_) {
      std::string prefixes;
      for (const auto& p : g.prefixes) prefixes += (prefixes.empty() ? "" : "@") + p;
      std::string count = std::to_string(g.exceptions);
      int rc = g.prefixes.empty()
                   ? sam_hdr_update_line(header, "RG", "ID", g.id.c_str(), kOrderRuleTag,
                                         OrderRuleName(g.rule), kOrderExceptionsTag, count.c_str(), nullptr)
                   : sam_hdr_update_line(header, "RG", "ID", g.id.c_str(), kOrderRuleTag,
                                         OrderRuleName(g.rule), kOrderPrefixesTag, prefixes.c_str(),
                                         kOrderExceptionsTag, count.c_str(), nullptr);
      if (rc < 0) return Internal("cannot write the order rule into @RG '" + g.id + "'");
    }
    return Status::Ok();
  }

  bool IsException(uint64_t i) const {
    // Records of no known group are exceptions under every rule.
    return final_.Test(i) || GroupSlotOf(i) == groups_.size();
  }

  uint64_t memory_bytes() const {
    uint64_t n = final_.bytes() + runs_.capacity() * sizeof(runs_[0]);
    for (const auto& c : candidates_) n += c->bits.bytes();
    return n;
  }

  std::vector<GroupOrder> groups_;
  uint64_t records_ = 0;

 private:
  // The ordinal of the name's prefix in its group, assigned in order of first appearance.
  bool PrefixOrdinal(uint32_t slot, const NameFields& f, uint32_t* out) {
    if (slot == last_prefix_slot_ && f.count == last_prefix_count_ && f.prefix == last_prefix_) {
      *out = last_prefix_ordinal_;
      return true;
    }
    for (char c : f.prefix)
      if (c < '!' || c > '~' || c == '@') return false;  // '@' separates the list in `op`
    std::string entry = PrefixEntry(f);
    auto& map = prefix_maps_[slot];
    auto it = map.find(entry);
    uint32_t ordinal;
    if (it != map.end()) {
      ordinal = it->second;
    } else {
      if (map.size() >= kMaxPrefixes) return false;
      ordinal = static_cast<uint32_t>(map.size());
      map.emplace(entry, ordinal);
      prefix_lists_[slot].push_back(entry);
    }
    last_prefix_slot_ = slot;
    last_prefix_count_ = f.count;
    last_prefix_.assign(f.prefix);
    last_prefix_ordinal_ = ordinal;
    *out = ordinal;
    return true;
  }

  size_t GroupSlotOf(uint64_t i) const {
    auto run = std::upper_bound(runs_.begin(), runs_.end(), std::make_pair(i, UINT32_MAX));
    return run == runs_.begin() ? groups_.size() : std::prev(run)->second;
  }

  std::unordered_map<std::string, uint32_t> ordinal_;
  std::vector<std::unordered_map<std::string, uint32_t>> prefix_maps_;
  std::vector<std::vector<std::string>> prefix_lists_;  // by group: the entries in ordinal order
  std::vector<std::unique_ptr<Candidate>> candidates_;  // stored, names-yx, names
  std::vector<std::pair<uint64_t, uint32_t>> runs_;  // (first input index, group slot)
  std::vector<size_t> chosen_;
  ExceptionBits final_;
  std::string last_id_;
  uint32_t last_slot_ = 0;
  uint32_t last_prefix_slot_ = UINT32_MAX;
  int last_prefix_count_ = 0;
  std::string last_prefix_;
  uint32_t last_prefix_ordinal_ = 0;
  bool finished_ = false;
};

OrderRecorder::OrderRecorder(const sam_hdr_t* header) : impl_(std::make_unique<Impl>(header)) {}
OrderRecorder::~OrderRecorder() = default;
void OrderRecorder::Add(const bam1_t* record) { impl_->Add(record); }
void OrderRecorder::Finish() { impl_->Finish(); }
Status OrderRecorder::WriteRules(sam_hdr_t* header) const { return impl_->WriteRules(header); }
bool OrderRecorder::IsException(uint64_t input_index) const { return impl_->IsException(input_index); }
const std::vector<GroupOrder>& OrderRecorder::groups() const { return impl_->groups_; }
uint64_t OrderRecorder::records() const { return impl_->records_; }
uint64_t OrderRecorder::memory_bytes() const { return impl_->memory_bytes(); }

// ---- Tags and header lines -----------------------------------------------------------------------

Status AddOriginalIndexTag(bam1_t* b, uint64_t input_index) {
  for (const char* tag : {kOriginalIndexTag, kOriginalIndexHighTag})
    if (uint8_t* p = bam_aux_get(b, tag)) (void)bam_aux_del(b, p);
  auto append = [b](const char* tag, uint32_t value) {
    uint8_t bytes[4];
    for (int i = 0; i < 4; ++i) bytes[i] = static_cast<uint8_t>(value >> (8 * i));
    return bam_aux_append(b, tag, 'I', 4, bytes) == 0;
  };
  // A fixed type: CRAM keys a tag by name and type, so one type keeps one tag line.
  if (!append(kOriginalIndexTag, static_cast<uint32_t>(input_index)) ||
      ((input_index >> 32) && !append(kOriginalIndexHighTag, static_cast<uint32_t>(input_index >> 32))))
    return Internal("cannot add the oi tag to '" + std::string(bam_get_qname(b)) + "'");
  return Status::Ok();
}

Status WriteStoredOrderRules(sam_hdr_t* header) {
  int n = sam_hdr_count_lines(header, "RG");
  for (int i = 0; i < n; ++i) {
    const char* id = sam_hdr_line_name(header, "RG", i);
    if (!id) continue;
    std::string copy(id);  // the update may move the header's strings
    if (sam_hdr_update_line(header, "RG", "ID", copy.c_str(), kOrderRuleTag, "stored",
                            kOrderExceptionsTag, "0", nullptr) < 0)
      return Internal("cannot write the order rule into @RG '" + copy + "'");
  }
  return Status::Ok();
}

StatusOr<std::vector<GroupOrder>> ReadOrderRules(const sam_hdr_t* header) {
  std::vector<GroupOrder> out;
  auto* h = const_cast<sam_hdr_t*>(header);
  int n = sam_hdr_count_lines(h, "RG");
  kstring_t ks = KS_INITIALIZE;
  auto tag = [&](const char* id, const char* key, std::string* value) {
    int rc = sam_hdr_find_tag_id(h, "RG", "ID", id, key, &ks);
    if (rc == 0) value->assign(ks.s, ks.l);
    return rc == 0;
  };
  Status error;
  for (int i = 0; i < n && error.ok(); ++i) {
    const char* name = sam_hdr_line_name(h, "RG", i);
    if (!name) continue;
    std::string id(name), rule, prefixes, count;
    if (!tag(id.c_str(), kOrderRuleTag, &rule)) continue;
    GroupOrder g;
    g.id = id;
    auto parsed = ParseOrderRule(rule);
    if (!parsed.ok()) {
      error = BadInput("@RG '" + id + "' states " + parsed.status().message());
      break;
    }
    g.rule = *parsed;
    if (tag(id.c_str(), kOrderPrefixesTag, &prefixes)) {
      size_t start = 0;
      while (start <= prefixes.size()) {
        size_t at = prefixes.find('@', start);
        if (at == std::string::npos) at = prefixes.size();
        g.prefixes.push_back(prefixes.substr(start, at - start));
        start = at + 1;
      }
    }
    if (g.rule != OrderRule::kStored && g.prefixes.empty())
      error = BadInput("@RG '" + id + "' states order rule '" + rule + "' without its name prefixes (op)");
    if (tag(id.c_str(), kOrderExceptionsTag, &count)) {
      std::optional<uint64_t> v = ParseDecimal(count);
      if (!v) error = BadInput("@RG '" + id + "' has an invalid oe count '" + count + "'");
      else g.exceptions = *v;
    }
    out.push_back(std::move(g));
  }
  ks_free(&ks);
  if (!error.ok()) return error;
  return out;
}

// ---- The decoder's keys --------------------------------------------------------------------------

StatusOr<OrderRuleKeyer> OrderRuleKeyer::Create(const sam_hdr_t* header) {
  OrderRuleKeyer keyer;
  auto* h = const_cast<sam_hdr_t*>(header);
  int n = header ? sam_hdr_count_lines(h, "RG") : 0;
  uint32_t named = 0;  // the ordinal: place among the named @RG lines, as the recorder counts
  for (int i = 0; i < n && named < kMaxGroups; ++i) {
    const char* id = sam_hdr_line_name(h, "RG", i);
    if (id) keyer.groups_[id].ordinal = named++;
  }
  if (!header) return keyer;
  CRAMJET_ASSIGN_OR_RETURN(auto rules, ReadOrderRules(header));
  for (const GroupOrder& g : rules) {
    Group& group = keyer.groups_[g.id];
    group.has_rule = true;
    group.rule = g.rule;
    for (size_t p = 0; p < g.prefixes.size(); ++p) group.prefixes.emplace(g.prefixes[p], static_cast<uint32_t>(p));
  }
  return keyer;
}

StatusOr<OrderKey> OrderRuleKeyer::KeyOf(const bam1_t* b) const {
  std::string_view id = GroupOf(b);
  auto it = id.empty() ? groups_.end() : groups_.find(std::string(id));
  if (it == groups_.end() || !it->second.has_rule)
    return BadInput("has no valid oi tag: it was not written with --keep-order");
  const Group& g = it->second;
  if (g.rule == OrderRule::kStored) return OrderKey{uint64_t{g.ordinal} << 48, 0};
  NameFields f;
  OrderKey key;
  int mate = 0;
  if (SplitNameFields(KeyName(b, &mate), &f)) {
    auto p = g.prefixes.find(PrefixEntry(f));
    if (p != g.prefixes.end() &&
        PackNameKey(g.ordinal, p->second, f, g.rule == OrderRule::kNamesYx, mate, &key))
      return key;
  }
  return DataLoss("has no oi tag, but its name does not fit its read group's order rule '" +
                  std::string(OrderRuleName(g.rule)) + "'");
}

}  // namespace cramjet
