// The mapper: seeds -> candidates -> Hamming check (both strands) -> banded alignment for the
// rest -> records placed in place. MapShortBatch is the list of steps (map_steps.h, one file
// each), run over the caller's per-worker buffer (map_buffer.h); the hot loops run on the
// Backend, one call per batch and round; everything else is per read and independent of the
// batch it sits in.
#include <chrono>
#include <ctime>

#include "map/map.h"
#include "map/map_buffer.h"
#include "map/map_steps.h"

namespace cramjet {

MapBuffer::MapBuffer() : worker_(std::make_unique<map_internal::WorkerBuffer>()) {}
MapBuffer::~MapBuffer() = default;
MapBuffer::MapBuffer(MapBuffer&&) noexcept = default;
MapBuffer& MapBuffer::operator=(MapBuffer&&) noexcept = default;

StatusOr<std::unique_ptr<Mapper>> Mapper::Create(const ReferenceIndex& index, const Backend& backend,
                                                 const MapOptions& options) {
  if (options.max_mismatch_fraction < 0 || options.max_mismatch_fraction > 0.5)
    return InvalidArgument("mapper: max_mismatch_fraction must be within [0, 0.5]");
  if (options.max_candidates == 0) return InvalidArgument("mapper: max_candidates must be at least 1");
  std::unique_ptr<Mapper> mapper(new Mapper(index, backend, options));
  if (options.long_reads != LongReadPreset::kNone) {
    // The index sits beside its FASTA: "<fasta>.cjidx".
    const std::string& index_path = index.path();
    const std::string fasta = index_path.substr(0, index_path.size() - std::string_view(".cjidx").size());
    CRAMJET_ASSIGN_OR_RETURN(mapper->long_reads_, LongReadAligner::Create(index, fasta, options.long_reads,
                                                                          options.long_read_index_threads));
  }
  return mapper;
}

Mapper::Mapper(const ReferenceIndex& index, const Backend& backend, const MapOptions& options)
    : index_(index), backend_(backend), options_(options) {}
Mapper::~Mapper() = default;

MapStats Mapper::stats() const {
  MapStats s;
  s.reads = reads_.load();
  s.placed = placed_.load();
  s.placed_gapped = placed_gapped_.load();
  s.proper_pairs = proper_pairs_.load();
  s.second_round = second_round_.load();
  s.aligned = aligned_.load();
  s.rescued = rescued_.load();
  s.seconds = static_cast<double>(nanos_.load()) * 1e-9;
  s.cpu_seconds = static_cast<double>(cpu_nanos_.load()) * 1e-9;
  return s;
}

namespace {
uint64_t ThreadCpuNanos() {
  timespec ts;
  if (::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}
}  // namespace

Status Mapper::MapBatch(ReadBatch& batch, MapBuffer& buffer) {
  const auto started = std::chrono::steady_clock::now();
  const uint64_t cpu_started = ThreadCpuNanos();
  if (!buffer.worker_) buffer.worker_ = std::make_unique<map_internal::WorkerBuffer>();  // moved from
  map_internal::WorkerBuffer& worker = *buffer.worker_;
  worker.counts = {};
  Status status = long_reads_ ? MapLongBatch(batch, worker) : MapShortBatch(batch, worker);
  const map_internal::BatchCounts& c = worker.counts;
  reads_ += c.reads;
  placed_ += c.placed;
  placed_gapped_ += c.placed_gapped;
  proper_pairs_ += c.proper_pairs;
  second_round_ += c.second_round;
  aligned_ += c.aligned;
  rescued_ += c.rescued;
  nanos_ += static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - started).count());
  const uint64_t cpu_ended = ThreadCpuNanos();
  if (cpu_started && cpu_ended >= cpu_started) cpu_nanos_ += cpu_ended - cpu_started;  // 0: no clock
  return status;
}

namespace map_internal {
namespace {

// minimap2's mm_map_frag for our short reads: the steps of map_steps.h, in order.
Status MapShortReads(const MapContext& context, ReadBatch& batch, WorkerBuffer& buffer) {
  EncodeReads(batch, context.options, buffer.encoded);
  buffer.counts.reads += buffer.encoded.reads.size();
  buffer.candidates.Clear();
  // Round 1a: the middle window's minimizer (canonical: one lookup finds both strands), then
  // round 1b (for reads not placed by it) the first and last window's. Most reads are placed by one.
  CRAMJET_RETURN_IF_ERROR(SeedRound(context, kRound1a, buffer));
  CRAMJET_RETURN_IF_ERROR(SeedRound(context, kRound1b, buffer));
  // Round 2: every seed votes; the best-voted untried candidates are checked.
  CRAMJET_RETURN_IF_ERROR(VoteRound(context, buffer));
  PlaceOnDiagonal(context, buffer);
  CRAMJET_RETURN_IF_ERROR(AlignRest(context, buffer));
  PlaceMatesTogether(context, batch, buffer);
  CRAMJET_RETURN_IF_ERROR(ApplyPlacements(context.index, batch, buffer));
  buffer.attempted.assign(batch.size, false);
  for (size_t i = 0; i < batch.size; ++i) buffer.attempted[i] = buffer.encoded.read_of[i] >= 0;
  buffer.counts.proper_pairs += SetMateFields(batch, buffer.attempted, context.options.max_insert);
  return Status::Ok();
}

}  // namespace
}  // namespace map_internal

Status Mapper::MapShortBatch(ReadBatch& batch, map_internal::WorkerBuffer& buffer) {
  return map_internal::MapShortReads({index_, backend_, options_}, batch, buffer);
}

}  // namespace cramjet
