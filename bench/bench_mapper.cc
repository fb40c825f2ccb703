// Mapper speed on the E. coli scale set: reads simulated with art_illumina from the real E. coli
// MG1655 genome (HiSeq 2500 profile, 150 bp, 5x: ~155k reads), or the real E. coli HiSeq reads.
// One thread, so items_per_second is reads per second per core. The target is >= 1M.
//
//   build-*/bench/bench_mapper [--benchmark_filter=...]
// Data (simulated reads, the index) goes to <build>/bench-data/mapper, made on first run.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/common.h"
#include "cramjet/backend.h"
#include "cramjet/log.h"
#include "map/map.h"
#include "read/read.h"

namespace cramjet {
namespace {

std::string SharedData() {
  const char* env = std::getenv("CRAMJET_SHARED_DATA");
  return env && *env ? env : CRAMJET_SHARED_DATA_DEFAULT;
}

// Every record of a single-end FASTQ, through the product's reader (empty on error; the
// benchmark then reports "no reads").
std::vector<BamPtr> LoadFastq(const std::string& path) {
  ReadOptions o;
  o.inputs = {path};
  auto records = ReadRecords(o, SIZE_MAX);
  return records.ok() ? std::move(records).value() : std::vector<BamPtr>();
}

double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

struct Fixture {
  std::string fasta;
  std::unique_ptr<ReferenceIndex> index;
  std::vector<BamPtr> simulated, real;
  std::string error;
};

Fixture& Data() {
  static Fixture* fixture = [] {
    auto* f = new Fixture();
    SetLogLevel(LogLevel::kWarning);
    const std::string dir = std::string(CRAMJET_BENCH_WORK_DIR) + "/mapper";
    const std::string source = SharedData() + "/ecoli-mg1655-hiseq/E.coli.fa";
    f->fasta = dir + "/E.coli.fa";
    std::system(("mkdir -p '" + dir + "' && ln -sf '" + source + "' '" + f->fasta + "'").c_str());
    if (access((dir + "/sim.fq").c_str(), R_OK) != 0) {
      const std::string cmd = "cd '" + dir + "' && art_illumina -ss HS25 -i E.coli.fa -l 150 -f 5 -na -rs 42 -o sim >/dev/null";
      if (std::system(cmd.c_str()) != 0) f->error = "art_illumina failed (package art-nextgen-simulation-tools)";
    }
    if (!ReferenceIndex::Open(f->fasta).ok()) {
      const Status st = ReferenceIndex::Build(f->fasta, 2);
      if (!st.ok()) f->error = st.ToString();
    }
    auto index = ReferenceIndex::Open(f->fasta);
    if (index.ok()) f->index = std::move(index).value(); else f->error = index.status().ToString();
    f->simulated = LoadFastq(dir + "/sim.fq");
    f->real = LoadFastq(SharedData() + "/ecoli-mg1655-hiseq/E.coli.allreads.fastq.gz");
    return f;
  }();
  return *fixture;
}

// A genome-size reference and reads simulated from it, named by the environment (issue 11:
// bench/mapper_genome.sh makes them from bench/synthetic_genome.sh's 3.1 Gb genome):
//   CRAMJET_BENCH_GENOME_FASTA  indexed FASTA      CRAMJET_BENCH_GENOME_READS  single-end FASTQ
Fixture& GenomeData() {
  static Fixture* fixture = [] {
    auto* f = new Fixture();
    SetLogLevel(LogLevel::kWarning);
    const char* fasta = std::getenv("CRAMJET_BENCH_GENOME_FASTA");
    const char* reads = std::getenv("CRAMJET_BENCH_GENOME_READS");
    if (!fasta || !reads) {
      f->error = "set CRAMJET_BENCH_GENOME_FASTA and CRAMJET_BENCH_GENOME_READS (bench/mapper_genome.sh sets both)";
      return f;
    }
    f->fasta = fasta;
    auto index = ReferenceIndex::Open(f->fasta);
    if (index.ok()) f->index = std::move(index).value(); else f->error = index.status().ToString();
    f->simulated = LoadFastq(reads);
    return f;
  }();
  return *fixture;
}

void MapReadsOf(benchmark::State& state, AccelKind kind, Fixture& data, bool simulated) {
  const auto& reads = simulated ? data.simulated : data.real;
  if (!data.error.empty() || reads.empty()) {
    state.SkipWithError(data.error.empty() ? "no reads" : data.error.c_str());
    return;
  }
  auto backend = CreateBackend(kind);
  if (!backend.ok()) {
    state.SkipWithError(backend.status().message().c_str());
    return;
  }
  auto mapper = Mapper::Create(*data.index, **backend, MapOptions{});
  constexpr size_t kBatch = 10000;
  std::vector<ReadBatch> batches;
  for (size_t b = 0; b < reads.size(); b += kBatch) {
    batches.emplace_back();
    batches.back().Resize(std::min(kBatch, reads.size() - b));
  }
  MapBuffer buffer;  // the one worker's
  double cpu_seconds = 0;
  for (auto _ : state) {
    // Each batch is filled just before it is mapped, as the reader thread of `compress` hands
    // over a batch it has just written (its records in the shared cache, not cold in DRAM); the
    // copy is neither timed nor counted.
    for (size_t b = 0; b < batches.size(); ++b) {
      state.PauseTiming();
      for (size_t i = 0; i < batches[b].size; ++i)
        if (!bam_copy1(batches[b][i], reads[b * kBatch + i].get())) state.SkipWithError("out of memory");
      state.ResumeTiming();
      const double cpu_before = ThreadCpuSeconds();
      if (!(*mapper)->MapBatch(batches[b], buffer).ok()) state.SkipWithError("MapBatch failed");
      cpu_seconds += ThreadCpuSeconds() - cpu_before;
    }
  }
  // Reads per second of this thread's CPU time: the per-core figure, less sensitive than wall
  // time to other work on the machine.
  state.counters["reads_per_cpu_s"] = state.iterations() * reads.size() / std::max(cpu_seconds, 1e-9);
  const MapStats stats = (*mapper)->stats();
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * reads.size()));
  state.counters["placed_%"] = 100.0 * stats.placed / std::max<uint64_t>(stats.reads, 1);
  state.counters["gapped_%"] = 100.0 * stats.placed_gapped / std::max<uint64_t>(stats.reads, 1);
  state.counters["round2_%"] = 100.0 * stats.second_round / std::max<uint64_t>(stats.reads, 1);
  state.counters["aligned_%"] = 100.0 * stats.aligned / std::max<uint64_t>(stats.reads, 1);
  state.SetLabel((*backend)->Name());
}

void MapReads(benchmark::State& state, AccelKind kind, bool simulated) { MapReadsOf(state, kind, Data(), simulated); }

void BM_MapSimulatedEcoli(benchmark::State& state, AccelKind kind) { MapReads(state, kind, true); }
void BM_MapRealEcoli(benchmark::State& state, AccelKind kind) { MapReads(state, kind, false); }
BENCHMARK_CAPTURE(BM_MapSimulatedEcoli, simd, AccelKind::kSimd)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_MapSimulatedEcoli, scalar, AccelKind::kScalar)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_MapRealEcoli, simd, AccelKind::kSimd)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_MapRealEcoli, scalar, AccelKind::kScalar)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_MapRealEcoli, opencl, AccelKind::kOpenCL)->Unit(benchmark::kMillisecond)->UseRealTime();
void BM_MapSimulatedGenome(benchmark::State& state, AccelKind kind) { MapReadsOf(state, kind, GenomeData(), true); }
BENCHMARK_CAPTURE(BM_MapSimulatedGenome, simd, AccelKind::kSimd)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_IndexBuildEcoli(benchmark::State& state) {
  Fixture& data = Data();
  if (!data.error.empty()) {
    state.SkipWithError(data.error.c_str());
    return;
  }
  const int threads = static_cast<int>(state.range(0));
  for (auto _ : state) {
    if (!ReferenceIndex::Build(data.fasta, threads).ok()) state.SkipWithError("build failed");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.index->total_length()));
  state.counters["index_bytes"] = static_cast<double>(data.index->file_size());
}
BENCHMARK(BM_IndexBuildEcoli)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace cramjet

BENCHMARK_MAIN();
