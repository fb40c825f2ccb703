// include/cramjet/index.h — the mapper's reference index (`REF.fa.cjidx` beside the FASTA), built
// ahead of compress by `cramjet index` (compress --build-index builds it when missing or stale).
#pragma once

#include <cstdint>
#include <string>

#include "cramjet/status.h"

namespace cramjet {

struct ReferenceIndexOptions {
  int threads = 1;
  // Refuse to build when the projected peak memory exceeds this; 0: 80% of physical memory.
  uint64_t max_memory = 0;
};

// Builds (or rebuilds) the index of `fasta` (plain, gzip or bgzip) atomically beside it and logs
// its summary. Errors name the FASTA (missing, not FASTA, no room) or give the projected memory
// against the limit.
[[nodiscard]] Status BuildReferenceIndex(const std::string& fasta, const ReferenceIndexOptions& options);

}  // namespace cramjet
