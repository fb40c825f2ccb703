// The Highway kernels against their scalar twin, on every SIMD target compiled in and
// supported by this CPU: results must be identical, not close.
#include <hwy/targets.h>

#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "qc/qc.h"

namespace cramjet {
namespace {

TEST(QcKernels, ScalarTwinCountsAHandMadeRead) {
  const uint8_t codes[5] = {kCodeA, kCodeC, kCodeG, kCodeT, kCodeN};
  const uint8_t quals[5] = {10, 20, 30, 40, 0};
  std::vector<uint32_t> qsum(5, 0), counts(5 * 5, 0);
  ReadBaseSummary s;
  AccumulateReadBasesScalar(codes, quals, 5, qsum.data(), counts.data(), 5, &s);
  EXPECT_EQ(s.q20, 3u);
  EXPECT_EQ(s.q30, 2u);
  EXPECT_EQ(s.quality_sum, 100u);
  for (int c = 0; c < kNumCodes; ++c) EXPECT_EQ(s.code_count[c], 1u) << c;
  EXPECT_EQ(qsum, (std::vector<uint32_t>{10, 20, 30, 40, 0}));
  for (int c = 0; c < kNumCodes; ++c)
    for (int i = 0; i < 5; ++i) EXPECT_EQ(counts[c * 5 + i], c == i ? 1u : 0u) << c << "," << i;
}

TEST(QcKernels, EveryCompiledTargetMatchesScalar) {
  const std::vector<int64_t> targets = hwy::SupportedAndGeneratedTargets();
  ASSERT_FALSE(targets.empty());
  std::mt19937 rng(12345);
  constexpr size_t kStride = 320;
  // Lengths around vector widths, the tail path and longer reads; reads added on top of each
  // other so accumulation (not just one store) is compared.
  const std::vector<size_t> lengths = {0, 1, 3, 4, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 151, 250, 301, 320};
  std::vector<std::vector<uint8_t>> codes, quals;
  for (size_t len : lengths) {
    std::vector<uint8_t> c(len), q(len);
    for (size_t i = 0; i < len; ++i) {
      c[i] = uint8_t(rng() % kNumCodes);
      q[i] = uint8_t(rng() % 94);
    }
    codes.push_back(c);
    quals.push_back(q);
  }
  std::vector<uint32_t> want_qsum(kStride, 0), want_counts(kNumCodes * kStride, 0);
  std::vector<ReadBaseSummary> want(lengths.size());
  for (size_t r = 0; r < lengths.size(); ++r)
    AccumulateReadBasesScalar(codes[r].data(), quals[r].data(), lengths[r], want_qsum.data(),
                              want_counts.data(), kStride, &want[r]);
  for (int64_t target : targets) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(hwy::TargetName(target));
    EXPECT_STREQ(QcKernelTargetName(), hwy::TargetName(target));
    std::vector<uint32_t> qsum(kStride, 0), counts(kNumCodes * kStride, 0);
    for (size_t r = 0; r < lengths.size(); ++r) {
      ReadBaseSummary got;
      AccumulateReadBases(codes[r].data(), quals[r].data(), lengths[r], qsum.data(), counts.data(), kStride, &got);
      EXPECT_EQ(got.q20, want[r].q20) << "length " << lengths[r];
      EXPECT_EQ(got.q30, want[r].q30) << "length " << lengths[r];
      EXPECT_EQ(got.quality_sum, want[r].quality_sum) << "length " << lengths[r];
      EXPECT_EQ(got.code_count, want[r].code_count) << "length " << lengths[r];
      ReadBaseSummary summary_only;  // null per-cycle arrays: summary alone
      AccumulateReadBases(codes[r].data(), quals[r].data(), lengths[r], nullptr, nullptr, 0, &summary_only);
      EXPECT_EQ(summary_only.quality_sum, want[r].quality_sum);
      EXPECT_EQ(summary_only.code_count, want[r].code_count);
    }
    EXPECT_EQ(qsum, want_qsum);
    EXPECT_EQ(counts, want_counts);
  }
  hwy::SetSupportedTargetsForTest(0);
  std::string names;
  for (int64_t t : targets) names += std::string(" ") + hwy::TargetName(t);
  std::printf("QC kernels compared on targets:%s\n", names.c_str());
}

}  // namespace
}  // namespace cramjet
