// cramjet/backend.h — the accelerator backend of the mapper: the three hot loops of read
// placement (seed extraction and hashing, Hamming verification of candidates, banded
// alignment), each taking a whole batch per call so that a device backend (OpenCL, FPGA) can
// ship one batch per call without the orchestration changing.
//
// A backend is chosen once at start-up (`--accel auto|simd|scalar`). Every backend must return
// exactly what the scalar backend returns for the same input: placements, CIGARs and finally the
// CRAM bytes do not depend on the backend (tests/map checks every compiled SIMD target).
// Backends are stateless after creation: their methods may be called concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cramjet/status.h"
#include "kernel_shape.h"

namespace cramjet {

enum class AccelKind {
  kAuto,    // best available: SIMD (Highway, best target of this CPU), else scalar
  kSimd,    // Highway with dynamic dispatch
  kScalar,  // plain C++ (the reference twin of every kernel)
  kOpenCL,  // Hamming check on an OpenCL device (kernels/opencl; PoCL runs it on the CPU),
            // seeds and alignment on the SIMD host kernels; only in builds with OpenCL
  kXrt,     // reserved: a Xilinx card through XRT (kernels/hls; no host code yet)
};

// "auto" | "simd" | "scalar" | "opencl" (also "xrt": parsed, then refused by CreateBackend).
// InvalidArgument naming the accepted values otherwise.
[[nodiscard]] StatusOr<AccelKind> ParseAccelKind(std::string_view text);
const char* AccelKindName(AccelKind kind);

// ---- Batch layouts ---------------------------------------------------------------------------
// Base codes: 0..3 = A,C,G,T; 4 = any other read base; in reference windows 4 = non-ACGT
// reference base and 5 = outside the contig (see kernels/include/kernel_shape.h).

// Sequences for seed extraction: sequence s is codes[offsets[s] .. offsets[s+1]). Without
// `select`, sequences 0..count-1 are seeded; with it, sequences select[0..count).
// `sample`: every minimizer, or only those of the middle window, or of the first and last
// windows (subsets of the minimizers: most reads are placed by the middle one alone).
enum class SeedSample : uint8_t { kAll, kMiddleWindow, kEndWindows };
struct SeedInput {
  const uint8_t* codes = nullptr;
  const uint32_t* offsets = nullptr;
  size_t count = 0;
  const uint32_t* select = nullptr;
  SeedSample sample = SeedSample::kAll;
};
// A (w,k)-minimizer of canonical k-mers: the hash of the smaller (as a 2k-bit value, first
// base highest) of the k-mer and its reverse complement (never kSeedInvalid), and the k-mer's
// start in the sequence. A sequence and its reverse complement have the same minimizer k-mers,
// at mirrored positions except where a window holds its minimum twice (ties go to the leftmost,
// which is the other copy on the other strand: tandem repeats), so one strand's seeds find hits
// on both: SeedIsReverse says which orientation a seed's k-mer has, and a hit whose orientation
// differs is on the other strand.
struct Seed {
  uint32_t hash;
  uint32_t position;
};
// Whether the k-mer of A/C/G/T codes at `codes` (k = CJ_SEED_K bases) is larger than its reverse
// complement, i.e. its hash is that of its reverse complement. k is odd: never equal.
inline bool SeedIsReverse(const uint8_t* codes) {
  uint32_t value = 0, reverse = 0;
  for (int i = 0; i < CJ_SEED_K; ++i) {
    value = (value << 2) | codes[i];
    reverse |= uint32_t{3u - codes[i]} << (2 * i);
  }
  return value > reverse;
}
// Seeds of the i-th seeded sequence are seeds[seed_offsets[i] .. seed_offsets[i+1]), in
// increasing position.
struct SeedOutput {
  std::vector<Seed> seeds;
  std::vector<uint32_t> seed_offsets;
};

// 2-bit packed sequences (32 bases per word, base j at bits 2*(j%32) of word j/32). Sequence i
// starts at words[word_offsets[i]]; n_masks has the same layout with 0b01 at every base that is
// not A/C/G/T (such a base always counts as a mismatch). Words past a sequence's end are zero.
struct PackedSequences {
  const uint64_t* words = nullptr;
  const uint64_t* n_masks = nullptr;
  const uint32_t* word_offsets = nullptr;
  const uint32_t* lengths = nullptr;
};
// The packed reference. At least 2 readable words past the last base.
struct PackedReference {
  const uint64_t* words = nullptr;
  uint64_t length = 0;
};
// Bases [first, first + 32) of 2-bit packed `words` as one word (base i at bits 2i), `first` need
// not be word-aligned; reads words[first / 32 + 1] when it is not.
inline uint64_t PackedBasesAt(const uint64_t* words, uint64_t first) {
  const uint64_t w = first / CJ_BASES_PER_WORD;
  const unsigned shift = 2 * (first % CJ_BASES_PER_WORD);
  if (shift == 0) return words[w];
  return (words[w] >> shift) | (words[w + 1] << (64 - shift));
}
// Compare sequence `sequence` with reference bases [ref_start, ref_start + length): the caller
// guarantees that window lies inside one contig and holds only A/C/G/T.
struct VerifyJob {
  uint32_t sequence;
  uint32_t max_mismatches;  // early exit once more are found
  uint64_t ref_start;
};

// Banded local alignment of read codes against a reference window of read_length + 2*R codes
// (R = CJ_BAND_RADIUS): read base i on the candidate diagonal faces window base i + R.
struct AlignJob {
  const uint8_t* read = nullptr;
  const uint8_t* window = nullptr;
  uint32_t read_length = 0;  // 1 .. CJ_MAX_ALIGN_LENGTH
};
struct AlignResult {
  int32_t score = 0;          // best local score incl. end bonuses; <= 0: nothing aligned
  uint32_t read_begin = 0;    // first aligned read base (bases before it are soft-clipped)
  uint32_t read_end = 0;      // one past the last aligned read base
  uint32_t window_begin = 0;  // window base facing read_begin
  uint32_t cigar_begin = 0;   // ops in AlignOutput::cigar (BAM encoding, M/I/D only)
  uint32_t cigar_length = 0;
};
struct AlignOutput {
  std::vector<AlignResult> results;
  std::vector<uint32_t> cigar;
};

class Backend {
 public:
  virtual ~Backend() = default;
  // "scalar", "simd:AVX2", ...
  virtual std::string Name() const = 0;
  virtual AccelKind kind() const = 0;

  // Minimizers of every sequence (replaces `out`).
  virtual void ExtractSeeds(const SeedInput& input, SeedOutput& out) const = 0;
  // mismatches[j] = number of mismatching bases for jobs[j], or max_mismatches + 1 when greater.
  virtual void VerifyHamming(const PackedReference& reference, const PackedSequences& reads,
                             const VerifyJob* jobs, size_t count, uint32_t* mismatches) const = 0;
  // One result per job (replaces `out`).
  virtual void AlignBanded(const AlignJob* jobs, size_t count, AlignOutput& out) const = 0;
};

// kAuto picks SIMD; kSimd fails only where no SIMD target is compiled in (Unimplemented);
// kOpenCL is Unavailable without an OpenCL device (Unimplemented in builds without OpenCL);
// kXrt is Unimplemented. Logs the choice at kInfo.
[[nodiscard]] StatusOr<std::unique_ptr<Backend>> CreateBackend(AccelKind kind);

// For --version: "scalar, simd (AVX3_DL AVX3 AVX2 SSE4 ...; auto picks AVX3_DL)".
std::string BackendReport();

}  // namespace cramjet
