// host/sort/order_internal.h — the decode side of the order rules, shared by order.cc and sort.cc.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "sort/sort.h"

namespace cramjet {

// The key under which RestoreOriginalOrder sorts a record that carries no oi tag: its group's
// ordinal in the top 16 bits, then for name rules PackNameKey() of its name; ties go by stored order.
class OrderRuleKeyer {
 public:
  // BadInput when an @RG states a malformed rule.
  [[nodiscard]] static StatusOr<OrderRuleKeyer> Create(const sam_hdr_t* header);
  // BadInput when the record's group states no rule (the CRAM did not keep the order); DataLoss
  // when its name lacks what the rule reads (the encoder would have made it an exception).
  [[nodiscard]] StatusOr<OrderKey> KeyOf(const bam1_t* record) const;

 private:
  struct Group {
    uint32_t ordinal = 0;
    bool has_rule = false;
    OrderRule rule = OrderRule::kStored;
    std::unordered_map<std::string, uint32_t> prefixes;  // "<count><prefix>" -> ordinal
  };
  std::unordered_map<std::string, Group> groups_;
};

// "<count><prefix>", the form `op` lists a name prefix in.
inline std::string PrefixEntry(const NameFields& f) {
  return std::to_string(f.count) + std::string(f.prefix);
}

}  // namespace cramjet
