/* kernels/opencl/hamming.cl — the mapper's candidate check (Hamming distance of 2-bit packed
 * sequences, early exit) as an OpenCL C kernel: one work-item per VerifyJob. Same result as
 * HammingScalar in host/backend/scalar_kernels.cc: the exact count, or max_mismatches + 1.
 * The host prepends kernels/include/kernel_shape.h to this source before building it. */

inline ulong reference_word(__global const ulong* words, ulong base) { return CJ_PACKED_BASES_AT(words, base); }

__kernel void cramjet_hamming(__global const ulong* reference,
                              __global const ulong* reads,
                              __global const ulong* n_masks,
                              __global const uint* word_offsets,
                              __global const uint* lengths,
                              __global const uint* job_sequence,
                              __global const uint* job_max_mismatches,
                              __global const ulong* job_ref_start,
                              __global uint* mismatches,
                              const uint job_count) {
  const uint j = (uint)get_global_id(0);
  if (j >= job_count) return;
  const uint sequence = job_sequence[j];
  const uint max_mismatches = job_max_mismatches[j];
  const uint length = lengths[sequence];
  __global const ulong* read = reads + word_offsets[sequence];
  __global const ulong* nmask = n_masks + word_offsets[sequence];
  const uint words = (length + CJ_BASES_PER_WORD - 1) / CJ_BASES_PER_WORD;
  uint total = 0;
  for (uint t = 0; t < words; ++t) {
    const ulong diff = read[t] ^ reference_word(reference, job_ref_start[j] + (ulong)t * CJ_BASES_PER_WORD);
    ulong m = ((diff | (diff >> 1)) & CJ_BASE_LOW_BITS) | nmask[t];
    const uint rest = length - t * CJ_BASES_PER_WORD;
    if (rest < CJ_BASES_PER_WORD) m &= (1UL << (2 * rest)) - 1;
    total += (uint)popcount(m);
    if (total > max_mismatches) {
      total = max_mismatches + 1;
      break;
    }
  }
  mismatches[j] = total;
}
