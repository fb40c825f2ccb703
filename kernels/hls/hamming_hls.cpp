// kernels/hls/hamming_hls.cpp — Vitis HLS version of the mapper's candidate check (Hamming
// distance of 2-bit packed sequences with early exit), the twin of kernels/opencl/hamming.cl and
// HammingScalar: one job per call of hamming_one (over the primitives.h pieces), a thin extern "C"
// top (cramjet_hamming) with AXI ports.
//
// Built for a card by firmware/ (Vitis, not installed here); tests/backend compiles this file with
// the host compiler (HLS pragmas are ignored) and holds it to the scalar twin.
#include <cstdint>

#include "primitives.h"

namespace cramjet_hls {

static uint32_t hamming_one(const uint64_t* reference, const uint64_t* read, const uint64_t* nmask,
                            uint32_t length, uint64_t ref_start, uint32_t max_mismatches) {
  const uint32_t words = (length + CJ_BASES_PER_WORD - 1) / CJ_BASES_PER_WORD;
  uint32_t total = 0;
words_loop:
  for (uint32_t t = 0; t < words; ++t) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 512
    const uint64_t diff = read[t] ^ reference_word(reference, ref_start + static_cast<uint64_t>(t) * CJ_BASES_PER_WORD);
    uint64_t m = ((diff | (diff >> 1)) & CJ_BASE_LOW_BITS) | nmask[t];
    const uint32_t rest = length - t * CJ_BASES_PER_WORD;
    if (rest < static_cast<uint32_t>(CJ_BASES_PER_WORD)) m &= (1ull << (2 * rest)) - 1;
    total += popcount64(m);
    if (total > max_mismatches) return max_mismatches + 1;
  }
  return total;
}

}  // namespace cramjet_hls

// A batch of jobs, same arrays as the OpenCL kernel (kernel_shape.h).
extern "C" void cramjet_hamming(const uint64_t* reference, const uint64_t* reads, const uint64_t* n_masks,
                                    const uint32_t* word_offsets, const uint32_t* lengths,
                                    const uint32_t* job_sequence, const uint32_t* job_max_mismatches,
                                    const uint64_t* job_ref_start, uint32_t* mismatches, uint32_t job_count) {
#pragma HLS INTERFACE m_axi port = reference offset = slave bundle = gmem0
#pragma HLS INTERFACE m_axi port = reads offset = slave bundle = gmem1
#pragma HLS INTERFACE m_axi port = n_masks offset = slave bundle = gmem1
#pragma HLS INTERFACE m_axi port = word_offsets offset = slave bundle = gmem2
#pragma HLS INTERFACE m_axi port = lengths offset = slave bundle = gmem2
#pragma HLS INTERFACE m_axi port = job_sequence offset = slave bundle = gmem2
#pragma HLS INTERFACE m_axi port = job_max_mismatches offset = slave bundle = gmem2
#pragma HLS INTERFACE m_axi port = job_ref_start offset = slave bundle = gmem2
#pragma HLS INTERFACE m_axi port = mismatches offset = slave bundle = gmem2
#pragma HLS INTERFACE s_axilite port = job_count
#pragma HLS INTERFACE s_axilite port = return
jobs_loop:
  for (uint32_t j = 0; j < job_count; ++j) {
    const uint32_t s = job_sequence[j];
    mismatches[j] = cramjet_hls::hamming_one(reference, reads + word_offsets[s], n_masks + word_offsets[s],
                                             lengths[s], job_ref_start[j], job_max_mismatches[j]);
  }
}
