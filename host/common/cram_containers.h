// host/common/cram_containers.h — a CRAM's container headers read directly (no decode): record
// and base counts (the ship manifest).
#pragma once

#include <cstdint>
#include <string>

#include "cramjet/status.h"

namespace cramjet {

struct CramCounts {
  int major = 0, minor = 0;
  uint64_t records = 0;
  uint64_t bases = 0;
  uint64_t containers = 0;  // data containers (with records)
};
// Total records and bases over the CRAM's data containers (from container headers; no decode).
// kBadInput naming the file and the byte offset for a truncated or malformed header.
[[nodiscard]] StatusOr<CramCounts> CountCramContainers(const std::string& path);

}  // namespace cramjet
