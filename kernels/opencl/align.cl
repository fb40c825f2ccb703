/* kernels/opencl/align.cl — banded local alignment (affine gaps, end bonuses) of every job of a
 * batch, one work-item per job. Same recurrences, tie order and trace bytes as AlignBandedScalar
 * in host/backend/scalar_kernels.cc; the traceback (sequential, a few hundred steps) stays on the
 * host, which reads the trace bytes and (score, row, diagonal) of the best cell.
 * The host prepends kernels/include/kernel_shape.h to this source before building it. */

inline int cj_substitution(int read, int ref) {
  if (ref == CJ_REF_OUTSIDE) return CJ_SCORE_BARRIER;
  return (read == ref && read < 4) ? CJ_SCORE_MATCH : CJ_SCORE_MISMATCH;
}

__kernel void cramjet_align(__global const uchar* reads,
                            __global const uint* read_offsets,
                            __global const uchar* windows,
                            __global uchar* traces,
                            __global int* results,
                            const uint count) {
  const uint j = (uint)get_global_id(0);
  if (j >= count) return;
  const int n = (int)(read_offsets[j + 1] - read_offsets[j]);
  __global const uchar* read = reads + read_offsets[j];
  __global const uchar* window = windows + read_offsets[j] + (size_t)2 * CJ_BAND_RADIUS * j;
  __global uchar* tb = traces + (size_t)read_offsets[j] * CJ_BAND_WIDTH;
  const int open_cost = CJ_SCORE_GAP_OPEN + CJ_SCORE_GAP_EXTEND;
  int hprev[CJ_BAND_WIDTH], iprev[CJ_BAND_WIDTH], hcur[CJ_BAND_WIDTH], icur[CJ_BAND_WIDTH];
  int best = CJ_SCORE_NEG_INF, best_i = -1, best_d = -1;
  for (int i = 0; i < n; ++i) {
    const int rc = read[i];
    int d_left = CJ_SCORE_NEG_INF;
    for (int d = 0; d < CJ_BAND_WIDTH; ++d) {
      const int fc = window[i + d];
      const int s = cj_substitution(rc, fc);
      int h, src;
      if (i == 0) {
        h = CJ_SCORE_END_BONUS + s;
        src = CJ_TB_H_START;
      } else {
        h = hprev[d] + s;
        src = CJ_TB_H_DIAG;
        if (s > h) { h = s; src = CJ_TB_H_START; }
      }
      int ins = CJ_SCORE_NEG_INF, flags = 0;
      if (i > 0 && d + 1 < CJ_BAND_WIDTH) {
        const int open = hprev[d + 1] - open_cost;
        const int extend = iprev[d + 1] - CJ_SCORE_GAP_EXTEND;
        ins = open;
        if (extend > open) { ins = extend; flags |= CJ_TB_INS_EXTEND; }
      }
      int del = CJ_SCORE_NEG_INF;
      if (d > 0) {
        const int open = hcur[d - 1] - open_cost;
        const int extend = d_left - CJ_SCORE_GAP_EXTEND;
        del = open;
        if (extend > open) { del = extend; flags |= CJ_TB_DEL_EXTEND; }
      }
      if (fc == CJ_REF_OUTSIDE) del = CJ_SCORE_NEG_INF;
      if (ins > h) { h = ins; src = CJ_TB_H_INS; }
      if (del > h) { h = del; src = CJ_TB_H_DEL; }
      hcur[d] = h;
      icur[d] = ins;
      d_left = del;
      tb[i * CJ_BAND_WIDTH + d] = (uchar)(src | flags);
      const int end_value = h + (i == n - 1 ? CJ_SCORE_END_BONUS : 0);
      if (end_value > best) { best = end_value; best_i = i; best_d = d; }
    }
    for (int d = 0; d < CJ_BAND_WIDTH; ++d) {
      hprev[d] = hcur[d];
      iprev[d] = icur[d];
    }
  }
  results[CJ_ALIGN_RESULT_WORDS * j] = best;
  results[CJ_ALIGN_RESULT_WORDS * j + 1] = best_i;
  results[CJ_ALIGN_RESULT_WORDS * j + 2] = best_d;
}
