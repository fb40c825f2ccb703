// kernels/hls/qc_hls.cpp — Vitis HLS version of QC's per-base accumulation over a batch of reads,
// the twin of kernels/opencl/qc.cl and AccumulateReadBasesScalar (host/qc/qc_kernels.cc):
// qc_one adds one read to its slot's per-cycle columns and returns its summary; cramjet_qc is the
// thin extern "C" top.
//
// Built for a card by firmware/ (Vitis, not installed here); tests/backend compiles this file with
// the host compiler (HLS pragmas are ignored) and holds it to the scalar twin.
#include <cstdint>

#include "primitives.h"

namespace cramjet_hls {

// `columns`: false for a slot out of range (never from the host): the summary only.
static void qc_one(const uint8_t* codes, const uint8_t* quals, uint32_t length, bool columns, uint32_t* cycle_quality,
                   uint32_t* cycle_codes, uint32_t* summary) {
  uint32_t q20 = 0, q30 = 0, qsum = 0;
  uint32_t n[CJ_QC_NUM_CODES] = {0, 0, 0, 0, 0};
#pragma HLS ARRAY_PARTITION variable = n complete
bases_loop:
  for (uint32_t i = 0; i < length; ++i) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 50 max = 100000
    const uint32_t q = quals[i];
    const uint32_t c = qc_code(codes[i]);
    q20 += q >= 20;
    q30 += q >= 30;
    qsum += q;
    n[c] += 1;
    if (columns && i < static_cast<uint32_t>(CJ_QC_MAX_CYCLES)) {
      cycle_quality[i] += q;
      cycle_codes[c * CJ_QC_MAX_CYCLES + i] += 1;
    }
  }
  summary[0] = q20;
  summary[1] = q30;
  summary[2] = qsum;
summary_codes:
  for (int c = 0; c < CJ_QC_NUM_CODES; ++c) summary[3 + c] = n[c];
}

}  // namespace cramjet_hls

// A batch of reads, same arrays as the OpenCL kernels (kernel_shape.h).
extern "C" void cramjet_qc(const uint8_t* codes, const uint8_t* quals, const uint32_t* offsets, const uint32_t* slots,
                           uint32_t* summaries, uint32_t* cycle_quality, uint32_t* cycle_codes, uint32_t count,
                           uint32_t slot_count) {
#pragma HLS INTERFACE m_axi port = codes offset = slave bundle = gmem0
#pragma HLS INTERFACE m_axi port = quals offset = slave bundle = gmem0
#pragma HLS INTERFACE m_axi port = offsets offset = slave bundle = gmem1
#pragma HLS INTERFACE m_axi port = slots offset = slave bundle = gmem1
#pragma HLS INTERFACE m_axi port = summaries offset = slave bundle = gmem2
#pragma HLS INTERFACE m_axi port = cycle_quality offset = slave bundle = gmem2
#pragma HLS INTERFACE m_axi port = cycle_codes offset = slave bundle = gmem2
#pragma HLS INTERFACE s_axilite port = count
#pragma HLS INTERFACE s_axilite port = slot_count
#pragma HLS INTERFACE s_axilite port = return
reads_loop:
  for (uint32_t r = 0; r < count; ++r) {
    const bool columns = slots[r] < slot_count;
    const uint64_t slot = columns ? slots[r] : 0;
    cramjet_hls::qc_one(codes + offsets[r], quals + offsets[r], offsets[r + 1] - offsets[r], columns,
                        cycle_quality + static_cast<uint64_t>(slot) * CJ_QC_MAX_CYCLES,
                        cycle_codes + static_cast<uint64_t>(slot) * CJ_QC_NUM_CODES * CJ_QC_MAX_CYCLES,
                        summaries + static_cast<uint64_t>(CJ_QC_SUMMARY_WORDS) * r);
  }
}
