// kernels/hls/seeds_hls.cpp — Vitis HLS version of seed extraction (minimizers of canonical
// k-mers), the twin of kernels/opencl/seeds.cl and ExtractSeedsOneScalar: seeds_one rolls the
// k-mers of one sequence through a ring of the last CJ_SEED_W hashes (fully partitioned, so a
// window's minimum is one cycle of comparators), cramjet_seeds is the thin extern "C" top.
//
// Built for a card by firmware/ (Vitis, not installed here); tests/backend compiles this file with
// the host compiler (HLS pragmas are ignored) and holds it to the scalar twin.
#include <cstdint>

#include "primitives.h"

namespace cramjet_hls {

// Minimizers of codes[0 .. length) into out[0 ..] as (hash, position) pairs; returns how many.
static uint32_t seeds_one(const uint8_t* codes, uint32_t length, uint32_t* out) {
  const uint32_t kmers = length >= CJ_SEED_K ? length - CJ_SEED_K + 1 : 0;
  const uint32_t mask = (1u << (2 * CJ_SEED_K)) - 1;
  uint32_t ring[CJ_SEED_W];
#pragma HLS ARRAY_PARTITION variable = ring complete
  uint32_t value = 0, reverse = 0, since_bad = 0, emitted = 0;
  int64_t last = -1;
bases_loop:
  for (uint32_t i = 0; i < length; ++i) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 50 max = 16384
    const uint32_t c = codes[i];
    if (c > 3) {
      since_bad = 0;
      value = reverse = 0;
    } else {
      ++since_bad;
      value = ((value << 2) | c) & mask;
      reverse = (reverse >> 2) | ((3u - c) << (2 * (CJ_SEED_K - 1)));
    }
    if (i + 1 < static_cast<uint32_t>(CJ_SEED_K)) continue;
    const uint32_t k = i + 1 - CJ_SEED_K;
    const uint32_t canonical = value < reverse ? value : reverse;
    ring[k % CJ_SEED_W] = since_bad >= static_cast<uint32_t>(CJ_SEED_K) ? seed_hash(canonical) : CJ_SEED_INVALID;
    if (kmers < static_cast<uint32_t>(CJ_SEED_W) || k + 1 < static_cast<uint32_t>(CJ_SEED_W)) continue;
    const uint32_t first = k + 1 - CJ_SEED_W;
    uint32_t m = CJ_SEED_INVALID, where = first;
  window_min:
    for (uint32_t t = 0; t < static_cast<uint32_t>(CJ_SEED_W); ++t) {
#pragma HLS UNROLL
      const uint32_t h = ring[(first + t) % CJ_SEED_W];
      if (h < m) m = h, where = first + t;
    }
    if (m == CJ_SEED_INVALID) continue;
    if (last >= static_cast<int64_t>(first) && ring[static_cast<uint32_t>(last) % CJ_SEED_W] == m) continue;
    out[CJ_SEED_WORDS * emitted] = m;
    out[CJ_SEED_WORDS * emitted + 1] = where;
    ++emitted;
    last = where;
  }
  if (kmers > 0 && kmers < static_cast<uint32_t>(CJ_SEED_W)) {
    uint32_t m = CJ_SEED_INVALID, where = 0;
  short_min:
    for (uint32_t t = 0; t < kmers; ++t) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 9
      if (ring[t] < m) m = ring[t], where = t;
    }
    if (m != CJ_SEED_INVALID) {
      out[0] = m;
      out[1] = where;
      emitted = 1;
    }
  }
  return emitted;
}

}  // namespace cramjet_hls

// A batch of sequences, same arrays as the OpenCL kernel (kernel_shape.h).
extern "C" void cramjet_seeds(const uint8_t* codes, const uint32_t* offsets, const uint32_t* slot_offsets,
                              uint32_t* seeds, uint32_t* seed_counts, uint32_t count) {
#pragma HLS INTERFACE m_axi port = codes offset = slave bundle = gmem0
#pragma HLS INTERFACE m_axi port = offsets offset = slave bundle = gmem1
#pragma HLS INTERFACE m_axi port = slot_offsets offset = slave bundle = gmem1
#pragma HLS INTERFACE m_axi port = seeds offset = slave bundle = gmem2
#pragma HLS INTERFACE m_axi port = seed_counts offset = slave bundle = gmem2
#pragma HLS INTERFACE s_axilite port = count
#pragma HLS INTERFACE s_axilite port = return
sequences_loop:
  for (uint32_t s = 0; s < count; ++s) {
    seed_counts[s] = cramjet_hls::seeds_one(codes + offsets[s], offsets[s + 1] - offsets[s],
                                            seeds + static_cast<uint64_t>(CJ_SEED_WORDS) * slot_offsets[s]);
  }
}
