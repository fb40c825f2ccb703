// A RecordSource over records in memory, for the sort stage's tests.
#pragma once

#include <algorithm>
#include <memory>
#include <vector>

#include "common/common.h"
#include "sort/sort.h"

namespace cramjet::testing {

// Hands out copies of `records` in order, as a decoder would; `records` must outlive it.
inline RecordSource CopiesOf(const std::vector<BamPtr>& records) {
  auto next = std::make_shared<size_t>(0);
  return [&records, next](ReadBatch& b, size_t max) -> StatusOr<size_t> {
    size_t n = std::min(max, records.size() - *next);
    b.Resize(n);
    for (size_t k = 0; k < n; ++k) b.records[k].reset(bam_dup1(records[*next + k].get()));
    *next += n;
    return n;
  };
}

}  // namespace cramjet::testing
