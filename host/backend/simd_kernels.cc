// Highway kernels of the mapper, compiled once per SIMD target (foreach_target.h) and chosen at
// run time (HWY_DYNAMIC_DISPATCH). Each must return exactly what its scalar twin in
// scalar_kernels.cc returns; tests/map runs every compiled target against the scalar code.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "backend/simd_kernels.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>
#include <hwy/aligned_allocator.h>

#include <algorithm>
#include <vector>

#include "backend/backend.h"

HWY_BEFORE_NAMESPACE();
namespace cramjet::backend_internal {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

int64_t TargetHere() { return HWY_TARGET; }

// Seeds: k-mer values (scalar, a rolling dependency chain) -> hashes and window minima (SIMD)
// -> minimizer positions (scalar, shared with the twin).
void ExtractSeedsKernel(const SeedInput& input, SeedOutput& out) {
  const hn::ScalableTag<uint32_t> d;
  const size_t N = hn::Lanes(d);
  out.seeds.clear();
  out.seed_offsets.assign(1, 0);
  std::vector<uint32_t> hashes, window_min;
  for (size_t s = 0; s < input.count; ++s) {
    size_t length;
    const uint8_t* codes = SeedSequence(input, s, length);
    const size_t n = SeedKmerCount(length);
    if (input.sample != SeedSample::kAll) {
      SampledMinimizers(codes, length, input.sample, out.seeds);
    } else if (n > 0) {
      hashes.assign(n + N + CJ_SEED_W, CJ_SEED_INVALID);
      ComputeKmers(codes, length, hashes.data());
      const auto invalid = hn::Set(d, CJ_SEED_INVALID);
      for (size_t i = 0; i < n; i += N) {
        auto x = hn::LoadU(d, hashes.data() + i);
        const auto bad = hn::Eq(x, invalid);
        x = hn::Xor(x, hn::ShiftRight<16>(x));
        x = hn::Mul(x, hn::Set(d, CJ_SEED_HASH_MUL1));
        x = hn::Xor(x, hn::ShiftRight<15>(x));
        x = hn::Mul(x, hn::Set(d, CJ_SEED_HASH_MUL2));
        x = hn::Xor(x, hn::ShiftRight<16>(x));
        x = hn::Min(x, hn::Set(d, CJ_SEED_INVALID - 1));
        hn::StoreU(hn::IfThenElse(bad, invalid, x), d, hashes.data() + i);
      }
      if (n < static_cast<size_t>(CJ_SEED_W)) {
        EmitMinimizers(hashes.data(), nullptr, n, nullptr, out.seeds);
      } else {
        const size_t windows = n - CJ_SEED_W + 1;
        window_min.resize(windows + N);
        for (size_t i = 0; i < windows; i += N) {
          auto m = hn::LoadU(d, hashes.data() + i);
          for (int t = 1; t < CJ_SEED_W; ++t) m = hn::Min(m, hn::LoadU(d, hashes.data() + i + t));
          hn::StoreU(m, d, window_min.data() + i);
        }
        EmitMinimizers(hashes.data(), window_min.data(), n, nullptr, out.seeds);
      }
    }
    out.seed_offsets.push_back(static_cast<uint32_t>(out.seeds.size()));
  }
}

// Hamming distance of 2-bit packed words, a vector of words at a time, early exit per vector.
void VerifyHammingKernel(const PackedReference& reference, const PackedSequences& reads,
                         const VerifyJob* jobs, size_t count, uint32_t* mismatches) {
  const hn::ScalableTag<uint64_t> d;
  const hn::RebindToSigned<decltype(d)> di;
  const size_t N = hn::Lanes(d);
  const auto low_bits = hn::Set(d, CJ_BASE_LOW_BITS);
  const auto all_ones = hn::Set(d, ~0ull);
  for (size_t j = 0; j < count; ++j) {
    PrefetchVerifyJob(reference, jobs, count, j);
    const VerifyJob& job = jobs[j];
    const uint32_t length = reads.lengths[job.sequence];
    const uint64_t* read = reads.words + reads.word_offsets[job.sequence];
    const uint64_t* nmask = reads.n_masks + reads.word_offsets[job.sequence];
    const uint32_t words = (length + CJ_BASES_PER_WORD - 1) / CJ_BASES_PER_WORD;
    const int64_t full_words = length / CJ_BASES_PER_WORD;
    const uint32_t rest = length % CJ_BASES_PER_WORD;
    const auto tail = hn::Set(d, rest ? (1ull << (2 * rest)) - 1 : 0ull);
    const uint64_t* ref = reference.words + job.ref_start / CJ_BASES_PER_WORD;
    const int shift = static_cast<int>(2 * (job.ref_start % CJ_BASES_PER_WORD));
    uint32_t total = 0;
    uint32_t result = 0;
    bool over = false;
    for (uint32_t t = 0; t < words; t += static_cast<uint32_t>(N)) {
      auto f = hn::LoadU(d, ref + t);
      if (shift != 0) {
        f = hn::Or(hn::ShiftRightSame(f, shift), hn::ShiftLeftSame(hn::LoadU(d, ref + t + 1), 64 - shift));
      }
      const auto diff = hn::Xor(hn::LoadU(d, read + t), f);
      auto m = hn::Or(hn::And(hn::Or(diff, hn::ShiftRight<1>(diff)), low_bits),
                      hn::LoadU(d, nmask + t));
      const auto index = hn::Iota(di, static_cast<int64_t>(t));
      const auto whole = hn::RebindMask(d, hn::Lt(index, hn::Set(di, full_words)));
      const auto last = hn::RebindMask(d, hn::Eq(index, hn::Set(di, full_words)));
      m = hn::And(m, hn::IfThenElse(whole, all_ones, hn::IfThenElseZero(last, tail)));
      total += static_cast<uint32_t>(hn::GetLane(hn::SumOfLanes(d, hn::PopulationCount(m))));
      if (total > job.max_mismatches) {
        over = true;
        break;
      }
    }
    result = over ? job.max_mismatches + 1 : total;
    mismatches[j] = result;
  }
}

// Banded local alignment, one job per 16-bit lane (inter-sequence): every operation is lane-wise,
// so each lane computes exactly the recurrence of AlignBandedScalar.
void AlignBandedKernel(const AlignJob* jobs, size_t count, AlignOutput& out) {
  const hn::ScalableTag<int16_t> d;
  const size_t N = hn::Lanes(d);
  constexpr int W = CJ_BAND_WIDTH;
  out.results.assign(count, AlignResult{});
  out.cigar.clear();
  std::vector<int16_t> read_t, window_t, tb;
  auto h_prev = hwy::AllocateAligned<int16_t>(W * N);
  auto i_prev = hwy::AllocateAligned<int16_t>(W * N);
  auto h_cur = hwy::AllocateAligned<int16_t>(W * N);
  auto i_cur = hwy::AllocateAligned<int16_t>(W * N);
  auto lane_store = hwy::AllocateAligned<int16_t>(3 * N);
  const auto v_match = hn::Set(d, CJ_SCORE_MATCH);
  const auto v_mismatch = hn::Set(d, CJ_SCORE_MISMATCH);
  const auto v_barrier = hn::Set(d, CJ_SCORE_BARRIER);
  const auto v_outside = hn::Set(d, CJ_REF_OUTSIDE);
  const auto v_four = hn::Set(d, 4);
  const auto v_neg = hn::Set(d, CJ_SCORE_NEG_INF);
  const auto v_open = hn::Set(d, CJ_SCORE_GAP_OPEN + CJ_SCORE_GAP_EXTEND);
  const auto v_extend = hn::Set(d, CJ_SCORE_GAP_EXTEND);
  const auto v_bonus = hn::Set(d, CJ_SCORE_END_BONUS);
  const auto v_zero = hn::Zero(d);
  for (size_t g = 0; g < count; g += N) {
    const size_t lanes = std::min(N, count - g);
    int rows = 0;
    for (size_t l = 0; l < lanes; ++l) {
      const AlignJob& job = jobs[g + l];
      if (job.read_length > 0 && job.read_length <= CJ_MAX_ALIGN_LENGTH)
        rows = std::max(rows, static_cast<int>(job.read_length));
    }
    if (rows == 0) continue;  // results stay score 0
    const int cols = rows + 2 * CJ_BAND_RADIUS;
    read_t.assign(static_cast<size_t>(rows) * N, 6);  // 6: a code that matches nothing
    window_t.assign(static_cast<size_t>(cols) * N, CJ_REF_OUTSIDE);
    tb.assign(static_cast<size_t>(rows) * W * N, 0);
    for (size_t l = 0; l < N; ++l) lane_store[l] = 0;
    for (size_t l = 0; l < lanes; ++l) {
      const AlignJob& job = jobs[g + l];
      if (job.read_length == 0 || job.read_length > CJ_MAX_ALIGN_LENGTH) continue;
      for (uint32_t i = 0; i < job.read_length; ++i) read_t[i * N + l] = job.read[i];
      for (uint32_t j = 0; j < job.read_length + 2 * CJ_BAND_RADIUS; ++j)
        window_t[j * N + l] = job.window[j];
      lane_store[l] = static_cast<int16_t>(job.read_length);
    }
    const auto lengths = hn::Load(d, lane_store.get());
    auto best = v_neg;
    auto best_i = hn::Set(d, -1);
    auto best_d = hn::Set(d, -1);
    for (int i = 0; i < rows; ++i) {
      const auto rc = hn::LoadU(d, read_t.data() + static_cast<size_t>(i) * N);
      const auto row = hn::Set(d, static_cast<int16_t>(i));
      const auto is_last = hn::Eq(hn::Add(row, hn::Set(d, 1)), lengths);
      const auto is_valid = hn::Lt(row, lengths);
      auto h_left = v_neg;
      auto d_left = v_neg;
      for (int dd = 0; dd < W; ++dd) {
        const auto fc = hn::LoadU(d, window_t.data() + static_cast<size_t>(i + dd) * N);
        const auto outside = hn::Eq(fc, v_outside);
        const auto same = hn::And(hn::Eq(rc, fc), hn::Lt(rc, v_four));
        const auto s = hn::IfThenElse(same, v_match, hn::IfThenElse(outside, v_barrier, v_mismatch));
        hn::Vec<decltype(d)> h, src;
        if (i == 0) {
          h = hn::Add(v_bonus, s);
          src = hn::Set(d, CJ_TB_H_START);
        } else {
          h = hn::Add(hn::Load(d, h_prev.get() + dd * N), s);
          src = hn::Set(d, CJ_TB_H_DIAG);
          const auto start = hn::Gt(s, h);
          h = hn::IfThenElse(start, s, h);
          src = hn::IfThenElse(start, hn::Set(d, CJ_TB_H_START), src);
        }
        auto ins = v_neg;
        auto flags = v_zero;
        if (i > 0 && dd + 1 < W) {
          const auto open = hn::Sub(hn::Load(d, h_prev.get() + (dd + 1) * N), v_open);
          const auto extend = hn::Sub(hn::Load(d, i_prev.get() + (dd + 1) * N), v_extend);
          const auto ext = hn::Gt(extend, open);
          ins = hn::IfThenElse(ext, extend, open);
          flags = hn::IfThenElseZero(ext, hn::Set(d, CJ_TB_INS_EXTEND));
        }
        auto del = v_neg;
        if (dd > 0) {
          const auto open = hn::Sub(h_left, v_open);
          const auto extend = hn::Sub(d_left, v_extend);
          const auto ext = hn::Gt(extend, open);
          del = hn::IfThenElse(ext, extend, open);
          flags = hn::Or(flags, hn::IfThenElseZero(ext, hn::Set(d, CJ_TB_DEL_EXTEND)));
        }
        del = hn::IfThenElse(outside, v_neg, del);
        const auto take_ins = hn::Gt(ins, h);
        h = hn::IfThenElse(take_ins, ins, h);
        src = hn::IfThenElse(take_ins, hn::Set(d, CJ_TB_H_INS), src);
        const auto take_del = hn::Gt(del, h);
        h = hn::IfThenElse(take_del, del, h);
        src = hn::IfThenElse(take_del, hn::Set(d, CJ_TB_H_DEL), src);
        hn::Store(h, d, h_cur.get() + dd * N);
        hn::Store(ins, d, i_cur.get() + dd * N);
        h_left = h;
        d_left = del;
        hn::StoreU(hn::Or(src, flags), d, tb.data() + (static_cast<size_t>(i) * W + dd) * N);
        const auto end_value = hn::Add(h, hn::IfThenElseZero(is_last, v_bonus));
        const auto better = hn::And(hn::Gt(end_value, best), is_valid);
        best = hn::IfThenElse(better, end_value, best);
        best_i = hn::IfThenElse(better, row, best_i);
        best_d = hn::IfThenElse(better, hn::Set(d, static_cast<int16_t>(dd)), best_d);
      }
      std::swap(h_prev, h_cur);
      std::swap(i_prev, i_cur);
    }
    auto bests = hwy::AllocateAligned<int16_t>(3 * N);
    hn::Store(best, d, bests.get());
    hn::Store(best_i, d, bests.get() + N);
    hn::Store(best_d, d, bests.get() + 2 * N);
    for (size_t l = 0; l < lanes; ++l) {
      const AlignJob& job = jobs[g + l];
      if (job.read_length == 0 || job.read_length > CJ_MAX_ALIGN_LENGTH) continue;
      [[maybe_unused]] const bool traced = TraceBack(tb.data(), N, l, static_cast<int>(job.read_length), bests[N + l],
                                                     bests[2 * N + l], bests[l], out.results[g + l], out.cigar);
    }
  }
}

// AlignBandedKernel's recurrence without the trace matrix or the best cell's position: each
// compare-and-select of the full kernel becomes a Max (equal values, only the traced source
// differs on a tie), so a lane does about half the work and no trace stores.
void ScoreBandedKernel(const AlignJob* jobs, size_t count, int32_t* scores) {
  const hn::ScalableTag<int16_t> d;
  const size_t N = hn::Lanes(d);
  constexpr int W = CJ_BAND_WIDTH;
  std::vector<int16_t> read_t, window_t;
  auto h_prev = hwy::AllocateAligned<int16_t>(W * N);
  auto i_prev = hwy::AllocateAligned<int16_t>(W * N);
  auto h_cur = hwy::AllocateAligned<int16_t>(W * N);
  auto i_cur = hwy::AllocateAligned<int16_t>(W * N);
  auto lane_store = hwy::AllocateAligned<int16_t>(N);
  const auto v_match = hn::Set(d, CJ_SCORE_MATCH);
  const auto v_mismatch = hn::Set(d, CJ_SCORE_MISMATCH);
  const auto v_barrier = hn::Set(d, CJ_SCORE_BARRIER);
  const auto v_outside = hn::Set(d, CJ_REF_OUTSIDE);
  const auto v_four = hn::Set(d, 4);
  const auto v_neg = hn::Set(d, CJ_SCORE_NEG_INF);
  const auto v_open = hn::Set(d, CJ_SCORE_GAP_OPEN + CJ_SCORE_GAP_EXTEND);
  const auto v_extend = hn::Set(d, CJ_SCORE_GAP_EXTEND);
  const auto v_bonus = hn::Set(d, CJ_SCORE_END_BONUS);
  for (size_t j = 0; j < count; ++j) scores[j] = 0;
  for (size_t g = 0; g < count; g += N) {
    const size_t lanes = std::min(N, count - g);
    int rows = 0;
    for (size_t l = 0; l < lanes; ++l) {
      const AlignJob& job = jobs[g + l];
      if (job.read_length > 0 && job.read_length <= CJ_MAX_ALIGN_LENGTH)
        rows = std::max(rows, static_cast<int>(job.read_length));
    }
    if (rows == 0) continue;  // scores stay 0
    const int cols = rows + 2 * CJ_BAND_RADIUS;
    read_t.assign(static_cast<size_t>(rows) * N, 6);  // 6: a code that matches nothing
    window_t.assign(static_cast<size_t>(cols) * N, CJ_REF_OUTSIDE);
    for (size_t l = 0; l < N; ++l) lane_store[l] = 0;
    for (size_t l = 0; l < lanes; ++l) {
      const AlignJob& job = jobs[g + l];
      if (job.read_length == 0 || job.read_length > CJ_MAX_ALIGN_LENGTH) continue;
      for (uint32_t i = 0; i < job.read_length; ++i) read_t[i * N + l] = job.read[i];
      for (uint32_t k = 0; k < job.read_length + 2 * CJ_BAND_RADIUS; ++k) window_t[k * N + l] = job.window[k];
      lane_store[l] = static_cast<int16_t>(job.read_length);
    }
    const auto lengths = hn::Load(d, lane_store.get());
    auto best = v_neg;
    for (int i = 0; i < rows; ++i) {
      const auto rc = hn::LoadU(d, read_t.data() + static_cast<size_t>(i) * N);
      const auto row = hn::Set(d, static_cast<int16_t>(i));
      const auto is_last = hn::Eq(hn::Add(row, hn::Set(d, 1)), lengths);
      const auto is_valid = hn::Lt(row, lengths);
      const auto end_bonus = hn::IfThenElseZero(is_last, v_bonus);
      auto h_left = v_neg;
      auto d_left = v_neg;
      auto row_best = v_neg;
      for (int dd = 0; dd < W; ++dd) {
        const auto fc = hn::LoadU(d, window_t.data() + static_cast<size_t>(i + dd) * N);
        const auto same = hn::And(hn::Eq(rc, fc), hn::Lt(rc, v_four));
        const auto s = hn::IfThenElse(same, v_match, hn::IfThenElse(hn::Eq(fc, v_outside), v_barrier, v_mismatch));
        auto h = i == 0 ? hn::Add(v_bonus, s) : hn::Max(hn::Add(hn::Load(d, h_prev.get() + dd * N), s), s);
        auto ins = v_neg;
        if (i > 0 && dd + 1 < W) {
          ins = hn::Max(hn::Sub(hn::Load(d, h_prev.get() + (dd + 1) * N), v_open),
                        hn::Sub(hn::Load(d, i_prev.get() + (dd + 1) * N), v_extend));
        }
        auto del = v_neg;
        if (dd > 0) del = hn::Max(hn::Sub(h_left, v_open), hn::Sub(d_left, v_extend));
        del = hn::IfThenElse(hn::Eq(fc, v_outside), v_neg, del);
        h = hn::Max(hn::Max(h, ins), del);
        hn::Store(h, d, h_cur.get() + dd * N);
        hn::Store(ins, d, i_cur.get() + dd * N);
        h_left = h;
        d_left = del;
        row_best = hn::Max(row_best, h);
      }
      // The end bonus is the same for every cell of a row: added once to the row's best.
      best = hn::IfThenElse(is_valid, hn::Max(best, hn::Add(row_best, end_bonus)), best);
      std::swap(h_prev, h_cur);
      std::swap(i_prev, i_cur);
    }
    hn::Store(best, d, lane_store.get());
    for (size_t l = 0; l < lanes; ++l) {
      const AlignJob& job = jobs[g + l];
      if (job.read_length == 0 || job.read_length > CJ_MAX_ALIGN_LENGTH) continue;
      scores[g + l] = std::max<int32_t>(lane_store[l], 0);  // TraceBack's result: nothing aligned scores 0
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace cramjet::backend_internal
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace cramjet::backend_internal {

HWY_EXPORT(TargetHere);
HWY_EXPORT(ExtractSeedsKernel);
HWY_EXPORT(VerifyHammingKernel);
HWY_EXPORT(AlignBandedKernel);
HWY_EXPORT(ScoreBandedKernel);

int64_t ChosenSimdTarget() { return HWY_DYNAMIC_DISPATCH(TargetHere)(); }

std::vector<int64_t> AvailableSimdTargets() {
  std::vector<int64_t> targets;
  for (int64_t t : hwy::SupportedAndGeneratedTargets()) {
    if (t != HWY_SCALAR && t != HWY_EMU128) targets.push_back(t);
  }
  // Bits of better x86 targets are lower: ascending bit order is best first.
  std::sort(targets.begin(), targets.end());
  return targets;
}

void ExtractSeedsSimd(const SeedInput& input, SeedOutput& out) {
  HWY_DYNAMIC_DISPATCH(ExtractSeedsKernel)(input, out);
}
void VerifyHammingSimd(const PackedReference& reference, const PackedSequences& reads,
                       const VerifyJob* jobs, size_t count, uint32_t* mismatches) {
  HWY_DYNAMIC_DISPATCH(VerifyHammingKernel)(reference, reads, jobs, count, mismatches);
}
void AlignBandedSimd(const AlignJob* jobs, size_t count, AlignOutput& out) {
  HWY_DYNAMIC_DISPATCH(AlignBandedKernel)(jobs, count, out);
}
void ScoreBandedSimd(const AlignJob* jobs, size_t count, int32_t* scores) {
  HWY_DYNAMIC_DISPATCH(ScoreBandedKernel)(jobs, count, scores);
}

}  // namespace cramjet::backend_internal
#endif  // HWY_ONCE
