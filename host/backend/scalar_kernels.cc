// Scalar kernels: the reference twins of simd_kernels.cc, and the sequential pieces both share.
#include <algorithm>
#include <bit>

#include "backend/backend.h"

namespace cramjet::backend_internal {

void ComputeKmers(const uint8_t* codes, size_t length, uint32_t* kmers) {
  const size_t count = SeedKmerCount(length);
  if (count == 0) return;
  constexpr uint32_t kMask = (1u << (2 * CJ_SEED_K)) - 1;
  uint32_t value = 0, reverse = 0;  // the k-mer and its reverse complement
  int since_bad = 0;  // valid bases since the last non-ACGT base
  for (size_t i = 0; i < length; ++i) {
    const uint8_t c = codes[i];
    if (c > 3) {
      since_bad = 0;
      value = reverse = 0;
    } else {
      ++since_bad;
      value = ((value << 2) | c) & kMask;
      reverse = (reverse >> 2) | (uint32_t{3u - c} << (2 * (CJ_SEED_K - 1)));
    }
    if (i + 1 >= static_cast<size_t>(CJ_SEED_K)) {
      kmers[i + 1 - CJ_SEED_K] = since_bad >= CJ_SEED_K ? std::min(value, reverse) : CJ_SEED_INVALID;
    }
  }
}

void EmitMinimizers(const uint32_t* hashes, const uint32_t* window_min, size_t kmer_count,
                    uint32_t* last_emitted, std::vector<Seed>& out) {
  if (kmer_count == 0) return;
  if (kmer_count < static_cast<size_t>(CJ_SEED_W)) {
    // A sequence shorter than one window: its single best k-mer.
    uint32_t best = CJ_SEED_INVALID;
    size_t where = 0;
    for (size_t i = 0; i < kmer_count; ++i) {
      if (hashes[i] < best) best = hashes[i], where = i;
    }
    if (best != CJ_SEED_INVALID) out.push_back({best, static_cast<uint32_t>(where)});
    return;
  }
  const size_t windows = kmer_count - CJ_SEED_W + 1;
  // The last emitted position stays the leftmost minimum while it is inside the window and the
  // window minimum equals its hash (anything equal and further left would have been chosen).
  int64_t last = last_emitted ? static_cast<int64_t>(*last_emitted) : -1;
  for (size_t i = 0; i < windows; ++i) {
    const uint32_t m = window_min[i];
    if (m == CJ_SEED_INVALID) continue;
    if (last >= static_cast<int64_t>(i) && hashes[last] == m) continue;
    size_t j = i;
    while (hashes[j] != m) ++j;
    out.push_back({m, static_cast<uint32_t>(j)});
    last = static_cast<int64_t>(j);
  }
  if (last_emitted) *last_emitted = static_cast<uint32_t>(last);
}

void ExtractSeedsOneScalar(const uint8_t* codes, size_t length, std::vector<Seed>& out) {
  const size_t n = SeedKmerCount(length);
  if (n == 0) return;
  std::vector<uint32_t> hashes(n);
  ComputeKmers(codes, length, hashes.data());
  for (auto& h : hashes) h = h == CJ_SEED_INVALID ? CJ_SEED_INVALID : SeedHash(h);
  if (n < static_cast<size_t>(CJ_SEED_W)) {
    EmitMinimizers(hashes.data(), nullptr, n, nullptr, out);
    return;
  }
  const size_t windows = n - CJ_SEED_W + 1;
  std::vector<uint32_t> window_min(windows);
  for (size_t i = 0; i < windows; ++i) {
    uint32_t m = hashes[i];
    for (int t = 1; t < CJ_SEED_W; ++t) m = std::min(m, hashes[i + t]);
    window_min[i] = m;
  }
  EmitMinimizers(hashes.data(), window_min.data(), n, nullptr, out);
}

void SampledMinimizers(const uint8_t* codes, size_t length, SeedSample sample, std::vector<Seed>& out) {
  const size_t n = SeedKmerCount(length);
  if (n == 0) return;
  uint32_t hashes[CJ_SEED_W];
  if (n < static_cast<size_t>(CJ_SEED_W)) {
    if (sample != SeedSample::kMiddleWindow) return;  // its one window counts as the middle
    ComputeKmers(codes, length, hashes);
    for (size_t i = 0; i < n; ++i) hashes[i] = hashes[i] == CJ_SEED_INVALID ? CJ_SEED_INVALID : SeedHash(hashes[i]);
    EmitMinimizers(hashes, nullptr, n, nullptr, out);
    return;
  }
  const size_t windows = n - CJ_SEED_W + 1;
  size_t chosen[2] = {(windows - 1) / 2, (windows - 1) / 2};
  if (sample == SeedSample::kEndWindows) chosen[0] = 0, chosen[1] = windows - 1;
  int64_t last = -1;
  for (int c = 0; c < 2; ++c) {
    if (c > 0 && chosen[c] == chosen[c - 1]) continue;
    const size_t w = chosen[c];
    ComputeKmers(codes + w, CJ_SEED_W + CJ_SEED_K - 1, hashes);
    uint32_t best = CJ_SEED_INVALID;
    size_t where = 0;
    for (int i = 0; i < CJ_SEED_W; ++i) {
      const uint32_t h = hashes[i] == CJ_SEED_INVALID ? CJ_SEED_INVALID : SeedHash(hashes[i]);
      if (h < best) best = h, where = w + i;
    }
    if (best == CJ_SEED_INVALID || static_cast<int64_t>(where) == last) continue;
    out.push_back({best, static_cast<uint32_t>(where)});
    last = static_cast<int64_t>(where);
  }
}


uint32_t HammingScalar(const PackedReference& reference, const PackedSequences& reads,
                       const VerifyJob& job) {
  const uint32_t length = reads.lengths[job.sequence];
  const uint64_t* read = reads.words + reads.word_offsets[job.sequence];
  const uint64_t* nmask = reads.n_masks + reads.word_offsets[job.sequence];
  const uint32_t words = (length + CJ_BASES_PER_WORD - 1) / CJ_BASES_PER_WORD;
  uint32_t mismatches = 0;
  for (uint32_t t = 0; t < words; ++t) {
    const uint64_t diff = read[t] ^ PackedBasesAt(reference.words, job.ref_start + static_cast<uint64_t>(t) * CJ_BASES_PER_WORD);
    uint64_t m = ((diff | (diff >> 1)) & CJ_BASE_LOW_BITS) | nmask[t];
    const uint32_t rest = length - t * CJ_BASES_PER_WORD;
    if (rest < static_cast<uint32_t>(CJ_BASES_PER_WORD)) m &= (1ull << (2 * rest)) - 1;
    mismatches += static_cast<uint32_t>(std::popcount(m));
    if (mismatches > job.max_mismatches) return job.max_mismatches + 1;
  }
  return mismatches;
}

void AccumulateQcScalar(const QcBatchInput& input, QcBatchOutput& out) {
  out.summaries.assign(size_t{CJ_QC_SUMMARY_WORDS} * input.count, 0);
  out.cycle_quality.assign(size_t{CJ_QC_MAX_CYCLES} * input.slot_count, 0);
  out.cycle_codes.assign(size_t{CJ_QC_NUM_CODES} * CJ_QC_MAX_CYCLES * input.slot_count, 0);
  for (size_t r = 0; r < input.count; ++r) {
    uint32_t* s = out.summaries.data() + size_t{CJ_QC_SUMMARY_WORDS} * r;
    const bool columns = input.slots[r] < input.slot_count;
    uint32_t* quality = out.cycle_quality.data() + size_t{CJ_QC_MAX_CYCLES} * (columns ? input.slots[r] : 0);
    uint32_t* codes = out.cycle_codes.data() + size_t{CJ_QC_NUM_CODES} * CJ_QC_MAX_CYCLES * (columns ? input.slots[r] : 0);
    for (uint32_t at = input.offsets[r], i = 0; at < input.offsets[r + 1]; ++at, ++i) {
      const uint32_t q = input.quals[at];
      const uint32_t c = std::min<uint32_t>(input.codes[at], CJ_QC_NUM_CODES - 1);
      s[0] += q >= 20;
      s[1] += q >= 30;
      s[2] += q;
      s[3 + c] += 1;
      if (columns && i < static_cast<uint32_t>(CJ_QC_MAX_CYCLES)) {
        quality[i] += q;
        codes[c * CJ_QC_MAX_CYCLES + i] += 1;
      }
    }
  }
}

static inline int Substitution(int read, int ref) {
  if (ref == CJ_REF_OUTSIDE) return CJ_SCORE_BARRIER;
  return (read == ref && read < 4) ? CJ_SCORE_MATCH : CJ_SCORE_MISMATCH;
}

void AlignBandedScalar(const AlignJob& job, std::vector<int16_t>& tb, AlignResult& result,
                       std::vector<uint32_t>& cigar) {
  constexpr int W = CJ_BAND_WIDTH;
  constexpr int kOpen = CJ_SCORE_GAP_OPEN + CJ_SCORE_GAP_EXTEND;
  const int n = static_cast<int>(job.read_length);
  tb.assign(static_cast<size_t>(n) * W, 0);
  int hprev[W], iprev[W], hcur[W], icur[W];
  int best = CJ_SCORE_NEG_INF, best_i = -1, best_d = -1;
  for (int i = 0; i < n; ++i) {
    const int rc = job.read[i];
    int d_left = CJ_SCORE_NEG_INF;
    for (int d = 0; d < W; ++d) {
      const int fc = job.window[i + d];
      const int s = Substitution(rc, fc);
      int h, src;
      if (i == 0) {
        h = CJ_SCORE_END_BONUS + s;
        src = CJ_TB_H_START;
      } else {
        h = hprev[d] + s;
        src = CJ_TB_H_DIAG;
        if (s > h) h = s, src = CJ_TB_H_START;
      }
      int ins = CJ_SCORE_NEG_INF;
      int flags = 0;
      if (i > 0 && d + 1 < W) {
        const int open = hprev[d + 1] - kOpen;
        const int extend = iprev[d + 1] - CJ_SCORE_GAP_EXTEND;
        ins = open;
        if (extend > open) ins = extend, flags |= CJ_TB_INS_EXTEND;
      }
      int del = CJ_SCORE_NEG_INF;
      if (d > 0) {
        const int open = hcur[d - 1] - kOpen;
        const int extend = d_left - CJ_SCORE_GAP_EXTEND;
        del = open;
        if (extend > open) del = extend, flags |= CJ_TB_DEL_EXTEND;
      }
      if (fc == CJ_REF_OUTSIDE) del = CJ_SCORE_NEG_INF;
      if (ins > h) h = ins, src = CJ_TB_H_INS;
      if (del > h) h = del, src = CJ_TB_H_DEL;
      hcur[d] = h;
      icur[d] = ins;
      d_left = del;
      tb[static_cast<size_t>(i) * W + d] = static_cast<int16_t>(src | flags);
      const int end_value = h + (i == n - 1 ? CJ_SCORE_END_BONUS : 0);
      if (end_value > best) best = end_value, best_i = i, best_d = d;
    }
    std::copy(hcur, hcur + W, hprev);
    std::copy(icur, icur + W, iprev);
  }
  [[maybe_unused]] const bool traced = TraceBack(tb.data(), 1, 0, n, best_i, best_d, best, result, cigar);
}

int32_t ScoreBandedScalar(const AlignJob& job) {
  constexpr int W = CJ_BAND_WIDTH;
  constexpr int kOpen = CJ_SCORE_GAP_OPEN + CJ_SCORE_GAP_EXTEND;
  const int n = static_cast<int>(job.read_length);
  int hprev[W], iprev[W], hcur[W], icur[W];
  int best = CJ_SCORE_NEG_INF;
  for (int i = 0; i < n; ++i) {
    const int rc = job.read[i];
    int d_left = CJ_SCORE_NEG_INF;
    for (int d = 0; d < W; ++d) {
      const int fc = job.window[i + d];
      const int s = Substitution(rc, fc);
      // AlignBandedScalar's choices with their strict comparisons, as maxima: the winner's source
      // is what a tie changes, never its value.
      int h = i == 0 ? CJ_SCORE_END_BONUS + s : std::max(hprev[d] + s, s);
      const int ins = i > 0 && d + 1 < W ? std::max(hprev[d + 1] - kOpen, iprev[d + 1] - CJ_SCORE_GAP_EXTEND)
                                         : CJ_SCORE_NEG_INF;
      int del = d > 0 ? std::max(hcur[d - 1] - kOpen, d_left - CJ_SCORE_GAP_EXTEND) : CJ_SCORE_NEG_INF;
      if (fc == CJ_REF_OUTSIDE) del = CJ_SCORE_NEG_INF;
      h = std::max({h, ins, del});
      hcur[d] = h;
      icur[d] = ins;
      d_left = del;
      best = std::max(best, h + (i == n - 1 ? CJ_SCORE_END_BONUS : 0));
    }
    std::copy(hcur, hcur + W, hprev);
    std::copy(icur, icur + W, iprev);
  }
  // TraceBack's result: nothing aligned scores 0.
  return std::max(best, 0);
}

template <typename Cell>
bool TraceBack(const Cell* tb, size_t lanes, size_t lane, int rows, int best_i, int best_d, int score,
               AlignResult& result, std::vector<uint32_t>& cigar) {
  result = AlignResult{};
  result.cigar_begin = static_cast<uint32_t>(cigar.size());
  // Every row has a best cell: no cell only for an empty read, and never outside the band.
  if (best_i < 0 || best_i >= rows || best_d < 0 || best_d >= CJ_BAND_WIDTH) return best_i < 0 && rows == 0;
  result.score = score;
  if (score <= 0) {
    result.score = 0;
    return true;
  }
  auto cell = [&](int i, int d) {
    return static_cast<int>(tb[(static_cast<size_t>(i) * CJ_BAND_WIDTH + d) * lanes + lane]);
  };
  // Ops from the end backwards, run-length encoded on the fly.
  std::vector<uint32_t> reversed;
  auto emit = [&](uint32_t op) {
    if (!reversed.empty() && (reversed.back() & 0xf) == op) {
      reversed.back() += 1u << 4;
    } else {
      reversed.push_back((1u << 4) | op);
    }
  };
  enum { kH, kI, kD } state = kH;
  int i = best_i, d = best_d;
  result.read_end = static_cast<uint32_t>(best_i + 1);
  // Every step moves to a cell of a lower row or further left in the same row, so a path has at
  // most rows * band-width steps; one that leaves the matrix is a bad trace.
  while (true) {
    if (i < 0 || d < 0 || d >= CJ_BAND_WIDTH) {
      result = AlignResult{};
      result.cigar_begin = static_cast<uint32_t>(cigar.size());
      return false;
    }
    const int t = cell(i, d);
    if (state == kH) {
      const int src = t & CJ_TB_H_MASK;
      if (src == CJ_TB_H_DIAG) {
        emit(0 /* BAM_CMATCH */);
        --i;
      } else if (src == CJ_TB_H_START) {
        emit(0);
        result.read_begin = static_cast<uint32_t>(i);
        result.window_begin = static_cast<uint32_t>(i + d);
        break;
      } else if (src == CJ_TB_H_INS) {
        state = kI;
      } else {
        state = kD;
      }
    } else if (state == kI) {
      emit(1 /* BAM_CINS */);
      state = (t & CJ_TB_INS_EXTEND) ? kI : kH;
      --i;
      ++d;
    } else {
      emit(2 /* BAM_CDEL */);
      state = (t & CJ_TB_DEL_EXTEND) ? kD : kH;
      --d;
    }
  }
  cigar.insert(cigar.end(), reversed.rbegin(), reversed.rend());
  result.cigar_length = static_cast<uint32_t>(reversed.size());
  return true;
}

template bool TraceBack<int16_t>(const int16_t*, size_t, size_t, int, int, int, int, AlignResult&,
                                 std::vector<uint32_t>&);
template bool TraceBack<uint8_t>(const uint8_t*, size_t, size_t, int, int, int, int, AlignResult&,
                                 std::vector<uint32_t>&);

}  // namespace cramjet::backend_internal
