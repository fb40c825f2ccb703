// Plain gzip FASTQ inflation through the read stage's GzipInflater: one member (streamed, one
// thread whatever the pool) and many members (speculative segments on the pool), at 1, 2 and 4
// pool threads. items_per_second is inflated bytes per second of wall time; the speed-up over
// "threads:1" on the same file in the same run is the figure to quote.
//
//   build/bench/bench_inflate [--benchmark_filter=...]
// Data: ~120 MB of simulated FASTQ, gzip -6, made on first run under <build>/bench-data/inflate
// (one member, and one member per 10,000 reads as `split | gzip` or BCL Convert-style writers do).
#include <benchmark/benchmark.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <random>
#include <string>

#include "common/common.h"
#include "read/gzip_inflate_internal.h"

namespace cramjet {
namespace {

constexpr size_t kReads = 480000;
constexpr size_t kReadsPerMember = 10000;

std::string WorkDir() {
  std::string dir = std::string(CRAMJET_BENCH_WORK_DIR) + "/inflate";
  std::filesystem::create_directories(dir);
  return dir;
}

// Writes `path` once: kReads reads of 150 bp, one gzip member per `per_member` reads.
bool MakeInput(const std::string& path, size_t per_member) {
  if (std::filesystem::exists(path)) return true;
  std::string tmp = path + ".tmp";
  FILE* out = std::fopen(tmp.c_str(), "wb");
  if (!out) return false;
  std::mt19937 rng(20261202);
  std::string text;
  for (size_t r = 0; r < kReads; ++r) {
    text += "@sim:1:FC:1:1101:" + std::to_string(r) + " 1:N:0:ACGT\n";
    for (int i = 0; i < 150; ++i) text += "ACGT"[rng() & 3];
    text += "\n+\n";
    for (int i = 0; i < 150; ++i) text += static_cast<char>('#' + rng() % 38);
    text += '\n';
    if ((r + 1) % per_member == 0 || r + 1 == kReads) {
      gzFile gz = gzdopen(dup(fileno(out)), "ab6");
      std::fseek(out, 0, SEEK_END);
      gzwrite(gz, text.data(), static_cast<unsigned>(text.size()));
      gzclose(gz);
      std::fseek(out, 0, SEEK_END);
      text.clear();
    }
  }
  std::fclose(out);
  std::filesystem::rename(tmp, path);
  return true;
}

void Inflate(benchmark::State& state, size_t per_member) {
  const std::string path =
      WorkDir() + (per_member >= kReads ? "/one-member.fq.gz" : "/multi-member.fq.gz");
  if (!MakeInput(path, per_member)) {
    state.SkipWithError("cannot write the input");
    return;
  }
  const int threads = static_cast<int>(state.range(0));
  ThreadPoolPtr pool = threads > 1 ? MakeThreadPool(threads) : nullptr;
  uint64_t bytes = 0;
  for (auto _ : state) {
    GzipInflater gz;
    if (!gz.Open(path, pool.get()).ok()) {
      state.SkipWithError("cannot open the input");
      return;
    }
    std::vector<char> block;
    for (;;) {
      auto more = gz.Next(block);
      if (!more.ok()) {
        state.SkipWithError(more.status().message().c_str());
        return;
      }
      if (!*more) break;
      bytes += block.size();
    }
    auto s = gz.stats();
    state.counters["kept"] = static_cast<double>(s.segments_kept);
    state.counters["redone"] = static_cast<double>(s.segments_redone);
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

void BM_InflateOneMember(benchmark::State& state) { Inflate(state, kReads); }
void BM_InflateManyMembers(benchmark::State& state) { Inflate(state, kReadsPerMember); }
BENCHMARK(BM_InflateOneMember)->ArgName("threads")->Arg(1)->Arg(2)->Arg(4)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_InflateManyMembers)->ArgName("threads")->Arg(1)->Arg(2)->Arg(4)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace cramjet

BENCHMARK_MAIN();
