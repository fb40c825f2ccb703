// Cross-target identity: every Highway target compiled into this binary (and runnable here) must
// give exactly what the scalar twins give — kernel by kernel on random inputs, and record by
// record when mapping real reads.
#include <hwy/targets.h>

#include <random>

#include <gtest/gtest.h>

#include "backend/backend.h"
#include "common/test_util.h"
#include "common/kernel_cases.h"
#include "map_test_util.h"

namespace cramjet {
namespace {

// Runs `body` once per compiled+supported target with dispatch forced to it.
template <typename F>
void ForEachTarget(F body) {
  const auto targets = hwy::SupportedAndGeneratedTargets();
  ASSERT_FALSE(targets.empty());
  for (int64_t t : targets) {
    hwy::SetSupportedTargetsForTest(t);
    hwy::GetChosenTarget().Update(hwy::SupportedTargets());
    SCOPED_TRACE(hwy::TargetName(t));
    ASSERT_EQ(backend_internal::ChosenSimdTarget(), t);
    auto simd = backend_internal::MakeSimdBackend();
    EXPECT_EQ(simd->Name(), std::string("simd:") + hwy::TargetName(t));
    body(*simd);
  }
  hwy::SetSupportedTargetsForTest(0);
  hwy::GetChosenTarget().Update(hwy::SupportedTargets());
}

using testing::AlignCase;
using testing::ExpectSameAlignments;
using testing::HammingCase;
using testing::RandomCodes;

TEST(CrossTargetTest, SeedExtractionMatchesScalar) {
  std::mt19937 rng(1);
  std::vector<uint8_t> codes;
  std::vector<uint32_t> offsets{0};
  for (int i = 0; i < 400; ++i) {
    const size_t n = rng() % 400;
    const auto c = RandomCodes(rng, n, i % 3 == 0 ? 20 : 0);
    codes.insert(codes.end(), c.begin(), c.end());
    offsets.push_back(static_cast<uint32_t>(codes.size()));
  }
  const SeedInput input{codes.data(), offsets.data(), offsets.size() - 1};
  SeedOutput expected;
  ASSERT_TRUE(backend_internal::MakeScalarBackend()->ExtractSeeds(input, expected).ok());
  ASSERT_GT(expected.seeds.size(), 5000u);
  ForEachTarget([&](const Backend& simd) {
    SeedOutput got;
    ASSERT_TRUE(simd.ExtractSeeds(input, got).ok());
    ASSERT_EQ(got.seed_offsets, expected.seed_offsets);
    for (size_t i = 0; i < expected.seeds.size(); ++i) {
      ASSERT_EQ(got.seeds[i].hash, expected.seeds[i].hash) << i;
      ASSERT_EQ(got.seeds[i].position, expected.seeds[i].position) << i;
    }
  });
}

TEST(CrossTargetTest, HammingMatchesScalar) {
  const HammingCase c;
  const auto expected = c.Run(*backend_internal::MakeScalarBackend());
  size_t exact = 0;
  for (size_t j = 1; j < c.jobs.size(); j += 2) exact += expected[j] > 0;
  ASSERT_GT(exact, 1000u);  // the inputs really have mismatches
  ForEachTarget([&](const Backend& simd) { ASSERT_EQ(c.Run(simd), expected); });
}

TEST(CrossTargetTest, BandedAlignmentMatchesScalar) {
  const AlignCase c;
  AlignOutput expected;
  ASSERT_TRUE(backend_internal::MakeScalarBackend()->AlignBanded(c.jobs.data(), c.jobs.size(), expected).ok());
  size_t with_gaps = 0;
  for (uint32_t op : expected.cigar) with_gaps += (op & 0xf) != 0;
  ASSERT_GT(with_gaps, 50u);
  ForEachTarget([&](const Backend& simd) {
    AlignOutput got;
    ASSERT_TRUE(simd.AlignBanded(c.jobs.data(), c.jobs.size(), got).ok());
    ExpectSameAlignments(got, expected);
  });
}

// Real reads, whole mapper: identical records (placement, CIGAR, flags, mate fields, bytes).
void ExpectSameMappingOnEveryTarget(const std::string& folder, const std::string& fasta,
                                    const std::vector<BamPtr>& records, Backend* other = nullptr) {
  testing::TempDir dir;
  const std::string link = dir / "ref.fa";
  ASSERT_EQ(symlink(testing::SharedPath(folder + "/" + fasta).c_str(), link.c_str()), 0);
  ASSERT_TRUE(ReferenceIndex::Build(link, 2).ok());
  auto index = ReferenceIndex::Open(link);
  ASSERT_TRUE(index.ok());
  auto scalar = backend_internal::MakeScalarBackend();
  MapStats stats;
  const auto expected = testing::MapAll(**index, *scalar, records, 512, MapOptions{}, &stats);
  ASSERT_GT(stats.placed, records.size() / 2);
  ASSERT_GT(stats.placed_gapped, 0u);
  auto check = [&](Backend& backend) {
    const auto got = testing::MapAll(**index, backend, records, 512);
    ASSERT_EQ(got.size(), expected.size());
    for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], expected[i]) << "record " << i;
  };
  if (other) check(*other); else ForEachTarget(check);
}

TEST(CrossTargetTest, RealSingleEndReadsMapIdentically) {
  CRAMJET_REQUIRE_SHARED_DATA("ecoli-mg1655-hiseq/E.coli.allreads.fastq.gz");
  const auto records = testing::LoadFastq(testing::SharedPath("ecoli-mg1655-hiseq/E.coli.allreads.fastq.gz"), 4000);
  ASSERT_EQ(records.size(), 4000u);
  ExpectSameMappingOnEveryTarget("ecoli-mg1655-hiseq", "E.coli.fa", records);
}

TEST(CrossTargetTest, RealPairedReadsMapIdentically) {
  CRAMJET_REQUIRE_SHARED_DATA("sarscov2-miseq-amplicon/subsample1_1.fastq.gz");
  const auto records = testing::LoadPairs(testing::SharedPath("sarscov2-miseq-amplicon/subsample1_1.fastq.gz"),
                                          testing::SharedPath("sarscov2-miseq-amplicon/subsample1_2.fastq.gz"), 2000);
  ASSERT_EQ(records.size(), 4000u);
  ExpectSameMappingOnEveryTarget("sarscov2-miseq-amplicon", "MN908947.3.fasta", records);
}

}  // namespace
}  // namespace cramjet
