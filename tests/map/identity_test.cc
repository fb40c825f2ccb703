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

// The score-only pass (Backend::ScoreBanded, what the mapper chooses between candidates with)
// gives exactly the full alignment's score, for the scalar twins and every Highway target, over
// many random cases (a few to many edits, barriers, all-N reads, empty and over-long jobs) and
// with the jobs falling into the SIMD lanes at every offset.
TEST(CrossTargetTest, ScoreOnlyAlignmentGivesTheFullAlignmentsScore) {
  auto scalar = backend_internal::MakeScalarBackend();
  size_t positive = 0, total = 0;
  struct Cases {
    uint32_t seed;
    int count, max_edits;
  };
  for (const Cases& cases : {Cases{3, 700, 3}, Cases{17, 2000, 3}, Cases{29, 2000, 12}, Cases{41, 1500, 30}}) {
    SCOPED_TRACE(cases.seed);
    const AlignCase c(cases.seed, cases.count, cases.max_edits);
    const size_t n = c.jobs.size();
    AlignOutput full;
    ASSERT_TRUE(scalar->AlignBanded(c.jobs.data(), n, full).ok());
    std::vector<int32_t> want(n);
    for (size_t i = 0; i < n; ++i) want[i] = full.results[i].score;
    auto scores_of = [&](const Backend& backend, size_t first) {
      std::vector<int32_t> got(n - first, -1);
      EXPECT_TRUE(backend.ScoreBanded(c.jobs.data() + first, n - first, got.data()).ok());
      return got;
    };
    ASSERT_EQ(scores_of(*scalar, 0), want);
    ForEachTarget([&](const Backend& simd) {
      for (size_t first : {0, 1, 5}) {
        SCOPED_TRACE(first);
        ASSERT_EQ(scores_of(simd, first), std::vector<int32_t>(want.begin() + first, want.end()));
      }
    });
    for (int32_t s : want) positive += s > 0;
    total += n;
  }
  EXPECT_GT(positive, total * 8 / 10);  // most jobs really align
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
