// host/pipeline/pipeline.h — orchestration: the compress and decompress jobs as a straight list of
// timed stages (read, map, sort, encode, verify, QC; ship runs in the daemon). Implements the
// public functions of include/cramjet/compress.h (Verify lives in the verify stage).
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "cramjet/compress.h"

namespace cramjet {

// Wall-clock timings of the named stages of one job, in the order they ran.
class StageTimer {
 public:
  // Runs `fn` (returning Status) as stage `name`, recording its wall time even when it fails.
  // Errors pass through unchanged: their messages already name the file and record.
  template <typename Fn>
  Status Run(const char* name, Fn&& fn) {
    auto start = std::chrono::steady_clock::now();
    Status s = fn();
    std::chrono::duration<double> d = std::chrono::steady_clock::now() - start;
    stages_.emplace_back(name, d.count());
    return s;
  }
  const std::vector<std::pair<std::string, double>>& stages() const { return stages_; }

 private:
  std::vector<std::pair<std::string, double>> stages_;
};

// "<cram>.crai": the index written beside a CRAM (the checksum sidecars are named in verify.h).
std::string IndexPathFor(const std::string& cram);

}  // namespace cramjet
