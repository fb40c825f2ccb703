// host/backend/backend.h — internals of the accelerator backends (public interface:
// include/cramjet/backend.h). The scalar kernels here are the reference twins of the Highway
// kernels in simd_kernels.cc; the pieces that are inherently sequential (rolling k-mers,
// choosing minimizer positions, traceback) are shared by both, so only the parallel parts differ.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cramjet/backend.h"
#include "kernel_shape.h"

namespace cramjet::backend_internal {

// ---- Shared sequential pieces ------------------------------------------------------------------
// 32-bit invertible mix of a 2k-bit k-mer; never returns CJ_SEED_INVALID.
inline uint32_t SeedHash(uint32_t x) {
  x ^= x >> 16;
  x *= CJ_SEED_HASH_MUL1;
  x ^= x >> 15;
  x *= CJ_SEED_HASH_MUL2;
  x ^= x >> 16;
  return x == CJ_SEED_INVALID ? CJ_SEED_INVALID - 1 : x;
}
// kmers[i] = 2-bit value of codes[i .. i+k), or CJ_SEED_INVALID when that k-mer holds a code > 3.
void ComputeKmers(const uint8_t* codes, size_t length, uint32_t* kmers);
// Appends the minimizers given the hash of every k-mer and the minimum of every full window
// (window_min[i] = min(hashes[i .. i+w))). Sequences with fewer than w k-mers have one window
// covering all k-mers (window_min may be null then). Leftmost position wins ties.
void EmitMinimizers(const uint32_t* hashes, const uint32_t* window_min, size_t kmer_count,
                    uint32_t* last_emitted, std::vector<Seed>& out);
// The i-th sequence to seed of `input` (honours `select`).
inline const uint8_t* SeedSequence(const SeedInput& input, size_t i, size_t& length) {
  const size_t s = input.select ? input.select[i] : i;
  length = input.offsets[s + 1] - input.offsets[s];
  return input.codes + input.offsets[s];
}
// Minimizers of the middle window, or of the first and last windows (SeedInput::sample), shared
// by all backends: a few dozen k-mers per sequence, nothing to vectorise.
void SampledMinimizers(const uint8_t* codes, size_t length, SeedSample sample, std::vector<Seed>& out);
// Minimizers of one sequence with the scalar kernels (used by the index builder too).
void ExtractSeedsOneScalar(const uint8_t* codes, size_t length, std::vector<Seed>& out);
// Traceback of one banded alignment of `rows` read bases from the trace matrix tb (cell (i,d) of
// lane `lane` at tb[(i * CJ_BAND_WIDTH + d) * lanes + lane]; int16 from the host kernels, bytes
// from a device); fills the result fields and appends the CIGAR. False (result empty, nothing
// appended) when the path leaves the band or the read: never from the host kernels, the check
// on a device's trace bytes.
template <typename Cell>
[[nodiscard]] bool TraceBack(const Cell* tb, size_t lanes, size_t lane, int rows, int best_i, int best_d, int score,
                             AlignResult& result, std::vector<uint32_t>& cigar);

// Jobs of a batch compare against random places of a genome-size reference, each a DRAM (and
// TLB) miss: the Hamming loops touch the reference words of the job this many ahead first. No
// effect on results.
inline constexpr size_t kVerifyPrefetchAhead = 8;
inline void PrefetchVerifyJob(const PackedReference& reference, const VerifyJob* jobs, size_t count, size_t j) {
  if (j + kVerifyPrefetchAhead >= count) return;
  const uint64_t* ref = reference.words + jobs[j + kVerifyPrefetchAhead].ref_start / CJ_BASES_PER_WORD;
  __builtin_prefetch(ref);
  __builtin_prefetch(ref + 8);  // a 150-base read spans 5-6 words, often two cache lines
}

// ---- Scalar kernels --------------------------------------------------------------------------
uint32_t HammingScalar(const PackedReference& reference, const PackedSequences& reads,
                       const VerifyJob& job);
void AlignBandedScalar(const AlignJob& job, std::vector<int16_t>& tb_scratch, AlignResult& result,
                       std::vector<uint32_t>& cigar);
// The score AlignBandedScalar gives `job` (read_length 1 .. CJ_MAX_ALIGN_LENGTH), from the same
// recurrence without the trace matrix.
int32_t ScoreBandedScalar(const AlignJob& job);
// The host form of the QC batch kernel (replaces `out`), the twin of AccumulateReadBasesScalar in
// host/qc applied read by read.
void AccumulateQcScalar(const QcBatchInput& input, QcBatchOutput& out);

// ---- SIMD (Highway, dynamic dispatch) --------------------------------------------------------
// The Highway target the dispatcher picks now (follows hwy::SetSupportedTargetsForTest).
int64_t ChosenSimdTarget();
// All targets compiled into this binary that this CPU runs, best first.
std::vector<int64_t> AvailableSimdTargets();
void ExtractSeedsSimd(const SeedInput& input, SeedOutput& out);
void VerifyHammingSimd(const PackedReference& reference, const PackedSequences& reads,
                       const VerifyJob* jobs, size_t count, uint32_t* mismatches);
void AlignBandedSimd(const AlignJob* jobs, size_t count, AlignOutput& out);
void ScoreBandedSimd(const AlignJob* jobs, size_t count, int32_t* scores);

std::unique_ptr<Backend> MakeScalarBackend();
std::unique_ptr<Backend> MakeSimdBackend();
#ifdef CRAMJET_HAVE_OPENCL
// Unavailable when no OpenCL platform/device is installed (opencl_backend.cc).
[[nodiscard]] StatusOr<std::unique_ptr<Backend>> MakeOpenClBackend();
#endif

}  // namespace cramjet::backend_internal
