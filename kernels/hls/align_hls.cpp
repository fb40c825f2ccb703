// kernels/hls/align_hls.cpp — Vitis HLS version of the banded alignment, the twin of
// kernels/opencl/align.cl and AlignBandedScalar: align_row computes one row of the band (all
// CJ_BAND_WIDTH cells; the deletion chain runs left to right inside it), align_one the rows of one
// job and its best cell, cramjet_align is the thin extern "C" top. The traceback stays on the host.
//
// Built for a card by firmware/ (Vitis, not installed here); tests/backend compiles this file with
// the host compiler (HLS pragmas are ignored) and holds it to the scalar twin.
#include <cstdint>

#include "primitives.h"

namespace cramjet_hls {

struct BandRow {
  int h[CJ_BAND_WIDTH];
  int ins[CJ_BAND_WIDTH];
};

// Row i of the band from row i-1 (`prev`); writes the row's trace bytes and updates the best cell.
static void align_row(int i, int n, int read_code, const uint8_t* window_row, const BandRow& prev, BandRow& cur,
                      uint8_t* trace_row, int& best, int& best_i, int& best_d) {
#pragma HLS INLINE
  const int open_cost = CJ_SCORE_GAP_OPEN + CJ_SCORE_GAP_EXTEND;
  int d_left = CJ_SCORE_NEG_INF;
band_cells:
  for (int d = 0; d < CJ_BAND_WIDTH; ++d) {
    const int fc = window_row[d];
    const int s = substitution(read_code, fc);
    int h, src;
    if (i == 0) {
      h = CJ_SCORE_END_BONUS + s;
      src = CJ_TB_H_START;
    } else {
      h = prev.h[d] + s;
      src = CJ_TB_H_DIAG;
      if (s > h) h = s, src = CJ_TB_H_START;
    }
    int ins = CJ_SCORE_NEG_INF, flags = 0;
    if (i > 0 && d + 1 < CJ_BAND_WIDTH) {
      const int open = prev.h[d + 1] - open_cost;
      const int extend = prev.ins[d + 1] - CJ_SCORE_GAP_EXTEND;
      ins = open;
      if (extend > open) ins = extend, flags |= CJ_TB_INS_EXTEND;
    }
    int del = CJ_SCORE_NEG_INF;
    if (d > 0) {
      const int open = cur.h[d - 1] - open_cost;
      const int extend = d_left - CJ_SCORE_GAP_EXTEND;
      del = open;
      if (extend > open) del = extend, flags |= CJ_TB_DEL_EXTEND;
    }
    if (fc == CJ_REF_OUTSIDE) del = CJ_SCORE_NEG_INF;
    if (ins > h) h = ins, src = CJ_TB_H_INS;
    if (del > h) h = del, src = CJ_TB_H_DEL;
    cur.h[d] = h;
    cur.ins[d] = ins;
    d_left = del;
    trace_row[d] = static_cast<uint8_t>(src | flags);
    const int end_value = h + (i == n - 1 ? CJ_SCORE_END_BONUS : 0);
    if (end_value > best) best = end_value, best_i = i, best_d = d;
  }
}

static void align_one(const uint8_t* read, uint32_t length, const uint8_t* window, uint8_t* traces, int32_t* result) {
  BandRow rows[2];
#pragma HLS ARRAY_PARTITION variable = rows complete dim = 0
  int best = CJ_SCORE_NEG_INF, best_i = -1, best_d = -1;
  const int n = static_cast<int>(length);
rows_loop:
  for (int i = 0; i < n; ++i) {
#pragma HLS LOOP_TRIPCOUNT min = 50 max = 16384
    align_row(i, n, read[i], window + i, rows[i & 1 ? 0 : 1], rows[i & 1], traces + static_cast<uint64_t>(i) * CJ_BAND_WIDTH,
              best, best_i, best_d);
  }
  result[0] = best;
  result[1] = best_i;
  result[2] = best_d;
}

}  // namespace cramjet_hls

// A batch of jobs, same arrays as the OpenCL kernel (kernel_shape.h).
extern "C" void cramjet_align(const uint8_t* reads, const uint32_t* read_offsets, const uint8_t* windows,
                              uint8_t* traces, int32_t* results, uint32_t count) {
#pragma HLS INTERFACE m_axi port = reads offset = slave bundle = gmem0
#pragma HLS INTERFACE m_axi port = read_offsets offset = slave bundle = gmem1
#pragma HLS INTERFACE m_axi port = windows offset = slave bundle = gmem0
#pragma HLS INTERFACE m_axi port = traces offset = slave bundle = gmem2
#pragma HLS INTERFACE m_axi port = results offset = slave bundle = gmem1
#pragma HLS INTERFACE s_axilite port = count
#pragma HLS INTERFACE s_axilite port = return
jobs_loop:
  for (uint32_t j = 0; j < count; ++j) {
    const uint32_t first = read_offsets[j];
    cramjet_hls::align_one(reads + first, read_offsets[j + 1] - first,
                           windows + first + static_cast<uint64_t>(2 * CJ_BAND_RADIUS) * j,
                           traces + static_cast<uint64_t>(first) * CJ_BAND_WIDTH, results + CJ_ALIGN_RESULT_WORDS * j);
  }
}
