// QcCollector alone (the QC stage of compress) at 1, 2 and 4 worker threads, on the records of a
// real CRAM held in memory, fed 25 times over (~915,000 records from the shared E. coli HiSeq
// set: placed pairs, both strands, mismatches against the real genome). items_per_second is
// records per second of wall time; the speed-up over "threads:1" in the same run is the figure to
// quote. On a machine with N cores, threads above N - 1 share the caller's core.
//
//   build/bench/bench_qc_collector [--benchmark_filter=...]
// Input: $CRAMJET_BENCH_QC_INPUT (a BAM or CRAM; its reference in $CRAMJET_BENCH_QC_REFERENCE)
// or <shared data>/ecoli-mg1655-hiseq/E.coli.cram with E.coli.fa.
#include <benchmark/benchmark.h>
#include <htslib/sam.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/common.h"
#include "qc/qc.h"

namespace cramjet {
namespace {

constexpr int kPasses = 25;

struct Input {
  std::string reference;
  HeaderPtr header;
  std::vector<BamPtr> records;
  std::string error;
};

const Input& LoadInput() {
  static const Input input = [] {
    Input in;
    const char* path_env = std::getenv("CRAMJET_BENCH_QC_INPUT");
    const char* ref_env = std::getenv("CRAMJET_BENCH_QC_REFERENCE");
    const std::string set = std::string(CRAMJET_SHARED_DATA_DEFAULT) + "/ecoli-mg1655-hiseq";
    const std::string path = path_env ? path_env : set + "/E.coli.cram";
    in.reference = ref_env ? ref_env : (path_env ? "" : set + "/E.coli.fa");
    HtsFilePtr fp(hts_open(path.c_str(), "r"));
    if (!fp) {
      in.error = "'" + path + "': cannot open";
      return in;
    }
    if (!in.reference.empty() && hts_set_fai_filename(fp.get(), in.reference.c_str()) != 0) {
      in.error = "'" + in.reference + "': cannot use as the reference";
      return in;
    }
    in.header.reset(sam_hdr_read(fp.get()));
    if (!in.header) {
      in.error = "'" + path + "': cannot read the header";
      return in;
    }
    for (;;) {
      BamPtr b = NewBam();
      const int r = sam_read1(fp.get(), in.header.get(), b.get());
      if (r < -1) {
        in.error = "'" + path + "': cannot read record " + std::to_string(in.records.size() + 1);
        return in;
      }
      if (r < 0) break;
      in.records.push_back(std::move(b));
    }
    return in;
  }();
  return input;
}

void Collect(benchmark::State& state) {
  const Input& in = LoadInput();
  if (!in.error.empty()) {
    state.SkipWithError(in.error.c_str());
    return;
  }
  QcOptions options;
  options.reference = in.reference;
  options.threads = static_cast<int>(state.range(0));
  for (auto _ : state) {
    auto collector = QcCollector::Create(options, in.header.get());
    if (!collector.ok()) {
      state.SkipWithError(collector.status().ToString().c_str());
      return;
    }
    for (int pass = 0; pass < kPasses; ++pass)
      for (const BamPtr& b : in.records) (*collector)->Add(b.get());
    if (!(*collector)->Finish().ok()) {
      state.SkipWithError("QC Finish() failed");
      return;
    }
    benchmark::DoNotOptimize((*collector)->reads());
  }
  state.SetItemsProcessed(state.iterations() * kPasses * static_cast<int64_t>(in.records.size()));
}
BENCHMARK(Collect)->ArgName("threads")->Arg(1)->Arg(2)->Arg(4)->UseRealTime()->Unit(benchmark::kMillisecond)->Repetitions(5)->ReportAggregatesOnly(true);

}  // namespace
}  // namespace cramjet

BENCHMARK_MAIN();
