// Kernel throughput of every backend on each hot loop, per batch size (1k to 64k items): scalar,
// each compiled Highway target this CPU runs, and OpenCL on whatever device is installed (PoCL on
// the CPU here; a GPU's driver where there is one, `--accel opencl:P:D` picks it in cramjet).
// items_per_second is sequences (seeds, QC) or jobs (Hamming, alignment) per second, one calling
// thread. 150-base reads, a 4 Mb random reference; inputs are generated, nothing is read.
//
//   build/bench/bench_kernels [--benchmark_filter=hamming] [--benchmark_repetitions=3]
#include <benchmark/benchmark.h>
#include <hwy/targets.h>

#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/device.h"
#include "cramjet/log.h"

namespace cramjet {
namespace {

constexpr size_t kReadLength = 150;
constexpr size_t kReferenceLength = 4000000;
constexpr size_t kMaxBatch = 65536;

struct Inputs {
  std::vector<uint8_t> reference, codes, windows, quals;
  std::vector<uint32_t> offsets, qc_slots;
  std::vector<uint64_t> ref_words, words, masks;
  std::vector<uint32_t> word_offsets, lengths;
  std::vector<VerifyJob> jobs;
  std::vector<AlignJob> align;
  Inputs() {
    std::mt19937 rng(7);
    reference.resize(kReferenceLength);
    for (auto& c : reference) c = rng() & 3;
    ref_words.assign(kReferenceLength / 32 + CJ_PACKED_PAD_WORDS, 0);
    for (size_t i = 0; i < kReferenceLength; ++i) ref_words[i / 32] |= uint64_t{reference[i]} << (2 * (i % 32));
    offsets.push_back(0);
    for (size_t r = 0; r < kMaxBatch; ++r) {
      const size_t start = rng() % (kReferenceLength - kReadLength - 2 * CJ_BAND_RADIUS);
      std::vector<uint8_t> read(reference.begin() + start + CJ_BAND_RADIUS,
                                reference.begin() + start + CJ_BAND_RADIUS + kReadLength);
      for (int e = 0; e < 3; ++e) read[rng() % kReadLength] = rng() & 3;
      if (r % 4 == 0) read.erase(read.begin() + 70), read.push_back(rng() & 3);  // a deletion
      codes.insert(codes.end(), read.begin(), read.end());
      offsets.push_back(static_cast<uint32_t>(codes.size()));
      windows.insert(windows.end(), reference.begin() + start, reference.begin() + start + kReadLength + 2 * CJ_BAND_RADIUS);
      word_offsets.push_back(static_cast<uint32_t>(words.size()));
      lengths.push_back(kReadLength);
      words.resize(words.size() + (kReadLength + 31) / 32, 0);
      masks.resize(words.size(), 0);
      for (size_t j = 0; j < kReadLength; ++j) words[word_offsets.back() + j / 32] |= uint64_t{read[j]} << (2 * (j % 32));
      jobs.push_back({static_cast<uint32_t>(r), 8, start + CJ_BAND_RADIUS});
      for (size_t j = 0; j < kReadLength; ++j) quals.push_back(static_cast<uint8_t>(2 + rng() % 40));
      qc_slots.push_back(static_cast<uint32_t>(r % 2));
    }
    words.resize(words.size() + CJ_PACKED_PAD_WORDS, 0);
    masks.resize(masks.size() + CJ_PACKED_PAD_WORDS, 0);
    for (size_t r = 0; r < kMaxBatch; ++r)
      align.push_back({codes.data() + offsets[r], windows.data() + r * (kReadLength + 2 * CJ_BAND_RADIUS),
                       static_cast<uint32_t>(kReadLength)});
  }
};

const Inputs& Data() {
  static const Inputs inputs;
  return inputs;
}

using Loop = std::function<bool(const Backend&, size_t)>;

void Run(benchmark::State& state, const std::function<std::unique_ptr<Backend>()>& make, const Loop& loop) {
  const Inputs& d = Data();
  (void)d;
  auto backend = make();
  if (!backend) {
    state.SkipWithError("backend not available here");
    return;
  }
  const size_t batch = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    if (!loop(*backend, batch)) {
      state.SkipWithError("the backend failed");
      return;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch));
  state.SetLabel(backend->Name());
}

const std::vector<std::pair<std::string, Loop>>& Loops() {
  static const std::vector<std::pair<std::string, Loop>> loops = {
      {"seeds", [](const Backend& b, size_t n) {
         SeedOutput out;
         return b.ExtractSeeds({Data().codes.data(), Data().offsets.data(), n}, out).ok();
       }},
      {"hamming", [](const Backend& b, size_t n) {
         const Inputs& d = Data();
         std::vector<uint32_t> mm(n);
         return b.VerifyHamming({d.ref_words.data(), kReferenceLength},
                                {d.words.data(), d.masks.data(), d.word_offsets.data(), d.lengths.data()},
                                d.jobs.data(), n, mm.data())
             .ok();
       }},
      {"align", [](const Backend& b, size_t n) {
         AlignOutput out;
         return b.AlignBanded(Data().align.data(), n, out).ok();
       }},
      {"score", [](const Backend& b, size_t n) {  // align's scores alone (no traceback)
         std::vector<int32_t> scores(n);
         return b.ScoreBanded(Data().align.data(), n, scores.data()).ok();
       }},
      {"qc", [](const Backend& b, size_t n) {
         const Inputs& d = Data();
         QcBatchOutput out;
         return b.AccumulateQc({d.codes.data(), d.quals.data(), d.offsets.data(), d.qc_slots.data(), n, 2}, out).ok();
       }},
  };
  return loops;
}

void RegisterAll() {
  std::vector<std::pair<std::string, std::function<std::unique_ptr<Backend>()>>> backends;
  backends.push_back({"scalar", [] { return backend_internal::MakeScalarBackend(); }});
  for (int64_t target : backend_internal::AvailableSimdTargets()) {
    backends.push_back({std::string("simd:") + hwy::TargetName(target), [target] {
                          hwy::SetSupportedTargetsForTest(target);
                          hwy::GetChosenTarget().Update(hwy::SupportedTargets());
                          return backend_internal::MakeSimdBackend();
                        }});
  }
#ifdef CRAMJET_HAVE_OPENCL
  backends.push_back({"opencl", []() -> std::unique_ptr<Backend> {
                        hwy::SetSupportedTargetsForTest(0);
                        hwy::GetChosenTarget().Update(hwy::SupportedTargets());
                        auto runner = backend_internal::MakeOpenClRunner(-1, -1);
                        if (!runner.ok()) return nullptr;
                        return backend_internal::MakeDeviceBackend(std::move(runner).value(),
                                                                   backend_internal::DeviceFailurePolicy::kFail);
                      }});
#endif
  for (const auto& [loop_name, loop] : Loops()) {
    for (const auto& [backend_name, make] : backends) {
      // QC's Highway kernel is QC's own (bench_qc_collector); the backend's host form is scalar.
      if (loop_name == "qc" && backend_name.rfind("simd:", 0) == 0) continue;
      benchmark::RegisterBenchmark((loop_name + "/" + backend_name).c_str(),
                                   [make = make, loop = loop](benchmark::State& s) { Run(s, make, loop); })
          ->RangeMultiplier(4)
          ->Range(1024, kMaxBatch)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  }
}

}  // namespace
}  // namespace cramjet

int main(int argc, char** argv) {
  cramjet::SetLogLevel(cramjet::LogLevel::kWarning);
  cramjet::RegisterAll();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
