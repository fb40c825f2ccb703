/* kernels/opencl/qc.cl — QC's per-base accumulation over a batch of reads, the device twin of
 * AccumulateReadBasesScalar (host/qc/qc_kernels.cc). Two kernels over the same arguments, so no
 * two work-items ever add to one counter: cramjet_qc_reads (one work-item per read) writes each
 * read's summary, cramjet_qc_cycles (one work-item per cycle) adds every read's base at that
 * cycle to its slot's column. Integer sums: the order of the additions cannot change them.
 * The host prepends kernels/include/kernel_shape.h to this source before building it. */

__kernel void cramjet_qc_reads(__global const uchar* codes,
                               __global const uchar* quals,
                               __global const uint* offsets,
                               __global const uint* slots,
                               __global uint* summaries,
                               __global uint* cycle_quality,
                               __global uint* cycle_codes,
                               const uint count,
                               const uint slot_count) {
  const uint r = (uint)get_global_id(0);
  if (r >= count) return;
  uint q20 = 0, q30 = 0, qsum = 0;
  uint n[CJ_QC_NUM_CODES] = {0, 0, 0, 0, 0};
  for (uint i = offsets[r]; i < offsets[r + 1]; ++i) {
    const uint q = quals[i];
    const uint c = min((uint)codes[i], (uint)(CJ_QC_NUM_CODES - 1));
    q20 += q >= 20;
    q30 += q >= 30;
    qsum += q;
    n[c] += 1;
  }
  __global uint* out = summaries + CJ_QC_SUMMARY_WORDS * r;
  out[0] = q20;
  out[1] = q30;
  out[2] = qsum;
  for (uint c = 0; c < CJ_QC_NUM_CODES; ++c) out[3 + c] = n[c];
}

__kernel void cramjet_qc_cycles(__global const uchar* codes,
                                __global const uchar* quals,
                                __global const uint* offsets,
                                __global const uint* slots,
                                __global uint* summaries,
                                __global uint* cycle_quality,
                                __global uint* cycle_codes,
                                const uint count,
                                const uint slot_count) {
  const uint cycle = (uint)get_global_id(0);
  if (cycle >= CJ_QC_MAX_CYCLES) return;
  for (uint r = 0; r < count; ++r) {
    const uint at = offsets[r] + cycle;
    if (at >= offsets[r + 1]) continue;
    const uint slot = slots[r];
    if (slot >= slot_count) continue;
    const uint c = min((uint)codes[at], (uint)(CJ_QC_NUM_CODES - 1));
    cycle_quality[slot * CJ_QC_MAX_CYCLES + cycle] += quals[at];
    cycle_codes[(slot * CJ_QC_NUM_CODES + c) * CJ_QC_MAX_CYCLES + cycle] += 1;
  }
}
