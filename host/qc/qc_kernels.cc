// Per-base QC accumulation with Highway: compiled once per SIMD target (foreach_target.h) and
// chosen at run time (HWY_DYNAMIC_DISPATCH), the same scheme as the mapper's kernels. The scalar
// twin at the bottom is the definition; tests demand identical results on every target.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "qc/qc_kernels.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "qc/qc.h"

HWY_BEFORE_NAMESPACE();
namespace cramjet {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

void AccumulateReadBasesImpl(const uint8_t* codes, const uint8_t* quals, size_t length,
                             uint32_t* cycle_quality_sum, uint32_t* cycle_code_count,
                             size_t stride, ReadBaseSummary* summary) {
  // 32-bit lanes so per-cycle sums are added in place; bytes are widened on load.
  const hn::ScalableTag<uint32_t> d32;
  const hn::Rebind<uint8_t, decltype(d32)> d8;
  const size_t lanes = hn::Lanes(d32);
  const auto one = hn::Set(d32, 1u);
  const auto q19 = hn::Set(d32, 19u);
  const auto q29 = hn::Set(d32, 29u);
  auto acc_q20 = hn::Zero(d32);
  auto acc_q30 = hn::Zero(d32);
  auto acc_qsum = hn::Zero(d32);
  decltype(acc_q20) acc_code[kNumCodes] = {hn::Zero(d32), hn::Zero(d32), hn::Zero(d32),
                                           hn::Zero(d32), hn::Zero(d32)};
  size_t i = 0;
  if (length >= lanes) {
    for (; i + lanes <= length; i += lanes) {
      const auto q = hn::PromoteTo(d32, hn::LoadU(d8, quals + i));
      const auto c = hn::PromoteTo(d32, hn::LoadU(d8, codes + i));
      acc_q20 = hn::Add(acc_q20, hn::IfThenElseZero(hn::Gt(q, q19), one));
      acc_q30 = hn::Add(acc_q30, hn::IfThenElseZero(hn::Gt(q, q29), one));
      acc_qsum = hn::Add(acc_qsum, q);
      if (cycle_quality_sum) {
        hn::StoreU(hn::Add(hn::LoadU(d32, cycle_quality_sum + i), q), d32, cycle_quality_sum + i);
      }
      for (uint32_t code = 0; code < kNumCodes; ++code) {
        const auto hit = hn::IfThenElseZero(hn::Eq(c, hn::Set(d32, code)), one);
        acc_code[code] = hn::Add(acc_code[code], hit);
        if (cycle_code_count) {
          uint32_t* row = cycle_code_count + code * stride + i;
          hn::StoreU(hn::Add(hn::LoadU(d32, row), hit), d32, row);
        }
      }
    }
  }
  ReadBaseSummary s;
  s.q20 = hn::GetLane(hn::SumOfLanes(d32, acc_q20));
  s.q30 = hn::GetLane(hn::SumOfLanes(d32, acc_q30));
  s.quality_sum = hn::GetLane(hn::SumOfLanes(d32, acc_qsum));
  for (uint32_t code = 0; code < kNumCodes; ++code) {
    s.code_count[code] = hn::GetLane(hn::SumOfLanes(d32, acc_code[code]));
  }
  // The tail (fewer bases than one vector) is done one base at a time.
  for (; i < length; ++i) {
    const uint32_t q = quals[i];
    const uint8_t code = codes[i] < kNumCodes ? codes[i] : uint8_t(kCodeN);
    s.q20 += q >= 20;
    s.q30 += q >= 30;
    s.quality_sum += q;
    s.code_count[code] += 1;
    if (cycle_quality_sum) cycle_quality_sum[i] += q;
    if (cycle_code_count) cycle_code_count[code * stride + i] += 1;
  }
  *summary = s;
}

const char* TargetNameImpl() { return hwy::TargetName(HWY_TARGET); }

}  // namespace HWY_NAMESPACE
}  // namespace cramjet
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace cramjet {

HWY_EXPORT(AccumulateReadBasesImpl);
HWY_EXPORT(TargetNameImpl);

void AccumulateReadBases(const uint8_t* codes, const uint8_t* quals, size_t length,
                         uint32_t* cycle_quality_sum, uint32_t* cycle_code_count, size_t stride,
                         ReadBaseSummary* summary) {
  HWY_DYNAMIC_DISPATCH(AccumulateReadBasesImpl)(codes, quals, length, cycle_quality_sum,
                                                cycle_code_count, stride, summary);
}

const char* QcKernelTargetName() { return HWY_DYNAMIC_DISPATCH(TargetNameImpl)(); }

void AccumulateReadBasesScalar(const uint8_t* codes, const uint8_t* quals, size_t length,
                               uint32_t* cycle_quality_sum, uint32_t* cycle_code_count,
                               size_t stride, ReadBaseSummary* summary) {
  ReadBaseSummary s;
  for (size_t i = 0; i < length; ++i) {
    const uint32_t q = quals[i];
    // Codes above N are counted as N (the SIMD path never sees them: the collector writes 0..4).
    const uint8_t code = codes[i] < kNumCodes ? codes[i] : uint8_t(kCodeN);
    s.q20 += q >= 20;
    s.q30 += q >= 30;
    s.quality_sum += q;
    s.code_count[code] += 1;
    if (cycle_quality_sum) cycle_quality_sum[i] += q;
    if (cycle_code_count) cycle_code_count[code * stride + i] += 1;
  }
  *summary = s;
}

}  // namespace cramjet
#endif  // HWY_ONCE
