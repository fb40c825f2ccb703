/* kernels/opencl/seeds.cl — seed extraction: the (w,k)-minimizers of canonical k-mers of every
 * sequence of a batch, one work-item per sequence. Same result as ExtractSeedsOneScalar in
 * host/backend/scalar_kernels.cc (ComputeKmers, SeedHash, EmitMinimizers): the k-mers are rolled
 * base by base and the last CJ_SEED_W hashes kept in a ring, so a window's minimum and the
 * "still the leftmost minimum" test need nothing from global memory but the codes.
 * The host prepends kernels/include/kernel_shape.h to this source before building it. */

inline uint cj_seed_hash(uint x) {
  x ^= x >> 16;
  x *= CJ_SEED_HASH_MUL1;
  x ^= x >> 15;
  x *= CJ_SEED_HASH_MUL2;
  x ^= x >> 16;
  return x == CJ_SEED_INVALID ? CJ_SEED_INVALID - 1 : x;
}

__kernel void cramjet_seeds(__global const uchar* codes,
                            __global const uint* offsets,
                            __global const uint* slot_offsets,
                            __global uint* seeds,
                            __global uint* seed_counts,
                            const uint count) {
  const uint s = (uint)get_global_id(0);
  if (s >= count) return;
  __global const uchar* seq = codes + offsets[s];
  const uint length = offsets[s + 1] - offsets[s];
  __global uint* out = seeds + (size_t)CJ_SEED_WORDS * slot_offsets[s];
  const uint kmers = length >= CJ_SEED_K ? length - CJ_SEED_K + 1 : 0;
  const uint mask = (1u << (2 * CJ_SEED_K)) - 1;
  uint ring[CJ_SEED_W];
  uint value = 0, reverse = 0, since_bad = 0, emitted = 0;
  long last = -1;
  for (uint i = 0; i < length; ++i) {
    const uint c = seq[i];
    if (c > 3) {
      since_bad = 0;
      value = reverse = 0;
    } else {
      ++since_bad;
      value = ((value << 2) | c) & mask;
      reverse = (reverse >> 2) | ((3u - c) << (2 * (CJ_SEED_K - 1)));
    }
    if (i + 1 < CJ_SEED_K) continue;
    const uint k = i + 1 - CJ_SEED_K;
    ring[k % CJ_SEED_W] = since_bad >= CJ_SEED_K ? cj_seed_hash(min(value, reverse)) : CJ_SEED_INVALID;
    if (kmers < CJ_SEED_W || k + 1 < CJ_SEED_W) continue;
    /* The full window [k - W + 1, k]: its leftmost minimum. */
    const uint first = k + 1 - CJ_SEED_W;
    uint m = CJ_SEED_INVALID, where = first;
    for (uint t = 0; t < CJ_SEED_W; ++t) {
      const uint h = ring[(first + t) % CJ_SEED_W];
      if (h < m) { m = h; where = first + t; }
    }
    if (m == CJ_SEED_INVALID) continue;
    if (last >= (long)first && ring[(uint)last % CJ_SEED_W] == m) continue;
    out[CJ_SEED_WORDS * emitted] = m;
    out[CJ_SEED_WORDS * emitted + 1] = where;
    ++emitted;
    last = where;
  }
  if (kmers > 0 && kmers < CJ_SEED_W) {
    /* Shorter than one window: its single best k-mer (all of them are in the ring). */
    uint m = CJ_SEED_INVALID, where = 0;
    for (uint t = 0; t < kmers; ++t) {
      if (ring[t] < m) { m = ring[t]; where = t; }
    }
    if (m != CJ_SEED_INVALID) {
      out[0] = m;
      out[1] = where;
      emitted = 1;
    }
  }
  seed_counts[s] = emitted;
}
