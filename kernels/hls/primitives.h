// kernels/hls/primitives.h — the L1 primitives of cramjet's Vitis HLS kernels (Vitis Libraries
// layout: small inline primitives here, thin extern "C" tops with the AXI interface pragmas in
// one file per kernel). Each primitive is the HLS twin of a host function named beside it; the
// C-simulation tests (tests/backend) compile every kernel for the host and hold it to the scalar
// twin on the same batches.
#ifndef CRAMJET_HLS_PRIMITIVES_H_
#define CRAMJET_HLS_PRIMITIVES_H_

#include <cstdint>

#include "kernel_shape.h"

namespace cramjet_hls {

// SeedHash (host/backend/backend.h).
static inline uint32_t seed_hash(uint32_t x) {
#pragma HLS INLINE
  x ^= x >> 16;
  x *= CJ_SEED_HASH_MUL1;
  x ^= x >> 15;
  x *= CJ_SEED_HASH_MUL2;
  x ^= x >> 16;
  return x == CJ_SEED_INVALID ? CJ_SEED_INVALID - 1 : x;
}

// PackedBasesAt (include/cramjet/backend.h): 32 bases from any base position.
static inline uint64_t reference_word(const uint64_t* reference, uint64_t base) {
#pragma HLS INLINE
  return CJ_PACKED_BASES_AT(reference, base);
}

static inline unsigned popcount64(uint64_t x) {
#pragma HLS INLINE
  unsigned n = 0;
popcount_bits:
  for (int i = 0; i < 64; ++i) {
#pragma HLS UNROLL
    n += static_cast<unsigned>((x >> i) & 1);
  }
  return n;
}

// Substitution score of the banded alignment (AlignBandedScalar).
static inline int substitution(int read, int ref) {
#pragma HLS INLINE
  if (ref == CJ_REF_OUTSIDE) return CJ_SCORE_BARRIER;
  return (read == ref && read < 4) ? CJ_SCORE_MATCH : CJ_SCORE_MISMATCH;
}

static inline uint32_t qc_code(uint8_t code) {
#pragma HLS INLINE
  return code < CJ_QC_NUM_CODES ? code : CJ_QC_NUM_CODES - 1;
}

}  // namespace cramjet_hls

#endif  // CRAMJET_HLS_PRIMITIVES_H_
