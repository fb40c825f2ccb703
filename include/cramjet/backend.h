// cramjet/backend.h — the accelerator backend: the three hot loops of read placement (seed
// extraction and hashing, Hamming verification of candidates, banded alignment) and QC's per-base
// accumulation, each taking a whole batch per call so that a device backend (OpenCL, an FPGA
// through XRT) ships whole batches without the orchestration changing.
//
// A backend is chosen once at start-up (`--accel auto|simd|scalar|opencl[:P:D]|xrt`). Every
// backend must return exactly what the scalar backend returns for the same input: placements,
// CIGARs, QC numbers and finally the CRAM bytes do not depend on the backend (tests/map and
// tests/backend check every compiled SIMD target, OpenCL on PoCL and the HLS kernels in C
// simulation). Backends are stateless after creation: their methods may be called concurrently.
// The batch methods fail only on a device backend whose device failed with the policy that asks
// for an error (docs/accelerators.md); scalar and SIMD always succeed.
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
  kAuto,    // a card through XRT when its xclbin is installed and a card opens, else SIMD (best
            // Highway target of this CPU), else scalar; a card that fails mid-job falls back
  kSimd,    // Highway with dynamic dispatch
  kScalar,  // plain C++ (the reference twin of every kernel)
  kOpenCL,  // every loop on an OpenCL device (kernels/opencl; PoCL runs them on the CPU);
            // only in builds with OpenCL; a device failure fails the job
  kXrt,     // every loop on a Xilinx card through XRT (kernels/hls built by firmware/); only in
            // builds with libxrt; a device failure fails the job
};

// Where the FPGA image is looked for when --xclbin is not given.
inline constexpr const char kDefaultXclbinPath[] = "/usr/share/cramjet/cramjet.xclbin";

struct AccelChoice {
  AccelKind kind = AccelKind::kAuto;
  int opencl_platform = -1;  // --accel opencl:P:D, indices as `clinfo -l` lists them;
  int opencl_device = -1;    // -1: the first device of any platform
  std::string xclbin;        // the FPGA image for xrt / auto; empty: kDefaultXclbinPath
};

// "auto" | "simd" | "scalar" | "opencl" | "opencl:P:D" | "xrt". InvalidArgument naming the
// accepted values otherwise.
[[nodiscard]] StatusOr<AccelChoice> ParseAccelChoice(std::string_view text);
[[nodiscard]] StatusOr<AccelKind> ParseAccelKind(std::string_view text);  // the kind of the above
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
// Number of k-mers (CJ_SEED_K bases) of a sequence of `length` bases.
inline size_t SeedKmerCount(size_t length) {
  return length >= static_cast<size_t>(CJ_SEED_K) ? length - CJ_SEED_K + 1 : 0;
}
// Appends the minimizers of one sequence of codes, exactly as every backend's ExtractSeeds finds
// them (the scalar definition): what the index builder stores.
void AppendMinimizers(const uint8_t* codes, size_t length, std::vector<Seed>& out);
// Seeds of the i-th seeded sequence are seeds[seed_offsets[i] .. seed_offsets[i+1]), in
// increasing position.
struct SeedOutput {
  std::vector<Seed> seeds;
  std::vector<uint32_t> seed_offsets;
};

// 2-bit packed sequences (32 bases per word, base j at bits 2*(j%32) of word j/32). Sequence i
// starts at words[word_offsets[i]]; n_masks has the same layout with 0b01 at every base that is
// not A/C/G/T (such a base always counts as a mismatch). Words past a sequence's end are zero,
// and CJ_PACKED_PAD_WORDS readable words follow the last sequence.
struct PackedSequences {
  const uint64_t* words = nullptr;
  const uint64_t* n_masks = nullptr;
  const uint32_t* word_offsets = nullptr;
  const uint32_t* lengths = nullptr;
};
// The packed reference. At least CJ_PACKED_PAD_WORDS readable words past the last base. `id` tells references
// apart for a device that keeps one uploaded (an address can be reused after an unmap): distinct
// for every reference opened in this process; 0 = unknown, the device uploads it for every call.
struct PackedReference {
  const uint64_t* words = nullptr;
  uint64_t length = 0;
  uint64_t id = 0;
};
// Bases [first, first + 32) of 2-bit packed `words` as one word (base i at bits 2i), `first` need
// not be word-aligned; reads words[first / 32 + 1] when it is not.
inline uint64_t PackedBasesAt(const uint64_t* words, uint64_t first) { return CJ_PACKED_BASES_AT(words, first); }
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

// QC's per-base accumulation over a batch of reads (the device form of AccumulateReadBases in
// host/qc): read r is codes/quals[offsets[r] .. offsets[r+1]) in sequencing direction (codes as
// above; anything above 4 counts as N), added to accumulator slot slots[r] < slot_count.
struct QcBatchInput {
  const uint8_t* codes = nullptr;
  const uint8_t* quals = nullptr;
  const uint32_t* offsets = nullptr;
  const uint32_t* slots = nullptr;
  size_t count = 0;
  uint32_t slot_count = 0;
};
// summaries[CJ_QC_SUMMARY_WORDS * r ..] = q20, q30, quality sum, A, C, G, T, N counts of read r;
// cycle_quality[slot * CJ_QC_MAX_CYCLES + i] = sum of the qualities of base i of the slot's reads,
// cycle_codes[(slot * CJ_QC_NUM_CODES + code) * CJ_QC_MAX_CYCLES + i] = their count of `code`
// (bases at i >= CJ_QC_MAX_CYCLES count in the summaries only).
struct QcBatchOutput {
  std::vector<uint32_t> summaries;
  std::vector<uint32_t> cycle_quality;
  std::vector<uint32_t> cycle_codes;
};

class Backend {
 public:
  virtual ~Backend() = default;
  // "scalar", "simd:AVX2", "opencl:<device>+simd:AVX2", ...
  virtual std::string Name() const = 0;
  virtual AccelKind kind() const = 0;

  // Minimizers of every sequence (replaces `out`).
  [[nodiscard]] virtual Status ExtractSeeds(const SeedInput& input, SeedOutput& out) const = 0;
  // mismatches[j] = number of mismatching bases for jobs[j], or max_mismatches + 1 when greater.
  [[nodiscard]] virtual Status VerifyHamming(const PackedReference& reference, const PackedSequences& reads,
                                             const VerifyJob* jobs, size_t count, uint32_t* mismatches) const = 0;
  // One result per job (replaces `out`).
  [[nodiscard]] virtual Status AlignBanded(const AlignJob* jobs, size_t count, AlignOutput& out) const = 0;
  // scores[j] = the score AlignBanded gives jobs[j] (AlignResult::score), without its traceback
  // (ksw2's score-only mode): for choosing between candidate places, where only scores decide.
  [[nodiscard]] virtual Status ScoreBanded(const AlignJob* jobs, size_t count, int32_t* scores) const = 0;
  // QC accumulation of a batch (replaces `out`).
  [[nodiscard]] virtual Status AccumulateQc(const QcBatchInput& input, QcBatchOutput& out) const = 0;
};

// kAuto: XRT when choice.xclbin (or kDefaultXclbinPath) exists and a card takes it, else SIMD,
// else scalar (the reason logged at kInfo); kSimd fails only where no SIMD target is compiled in
// (Unimplemented); kOpenCL is Unavailable without an OpenCL device and InvalidArgument for a
// platform/device index that does not exist; kXrt is NotFound without the xclbin,
// InvalidArgument for an xclbin that lacks a kernel, Unavailable without a card (Unimplemented
// in builds without OpenCL / XRT). Logs the choice at kInfo.
[[nodiscard]] StatusOr<std::unique_ptr<Backend>> CreateBackend(const AccelChoice& choice);
[[nodiscard]] StatusOr<std::unique_ptr<Backend>> CreateBackend(AccelKind kind);

// For --version: the backends of this build, what auto picks, and every OpenCL device and the
// XRT card (or why there is none).
std::string BackendReport();

}  // namespace cramjet
