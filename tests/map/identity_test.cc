// Cross-target identity: every Highway target compiled into this binary (and runnable here) must
// give exactly what the scalar twins give — kernel by kernel on random inputs, and record by
// record when mapping real reads.
#include <hwy/targets.h>

#include <random>

#include <gtest/gtest.h>

#include "backend/backend.h"
#include "common/test_util.h"
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

std::vector<uint8_t> RandomCodes(std::mt19937& rng, size_t n, int n_per_mille) {
  std::vector<uint8_t> c(n);
  for (auto& x : c) x = (rng() % 1000 < static_cast<unsigned>(n_per_mille)) ? 4 : rng() & 3;
  return c;
}

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

// Random reads with mismatches and Ns against a random reference; jobs with small and large budgets.
struct HammingCase {
  size_t ref_length = 100000;
  std::vector<uint64_t> ref_words, words, masks;
  std::vector<uint32_t> offsets, lengths;
  std::vector<VerifyJob> jobs;
  PackedReference ref() const { return {ref_words.data(), ref_length}; }
  PackedSequences reads() const { return {words.data(), masks.data(), offsets.data(), lengths.data()}; }
  HammingCase() {
    std::mt19937 rng(2);
    std::vector<uint8_t> ref_codes = RandomCodes(rng, ref_length, 0);
    ref_words.assign(ref_length / 32 + 32, 0);
    for (size_t i = 0; i < ref_length; ++i) ref_words[i / 32] |= uint64_t{ref_codes[i]} << (2 * (i % 32));
    for (uint32_t s = 0; s < 3000; ++s) {
      const uint32_t n = 1 + rng() % 700;
      const uint64_t start = rng() % (ref_length - n);
      offsets.push_back(static_cast<uint32_t>(words.size()));
      lengths.push_back(n);
      words.resize(words.size() + (n + 31) / 32, 0);
      masks.resize(words.size(), 0);
      const int mutations = rng() % 12;
      std::vector<uint8_t> read(ref_codes.begin() + start, ref_codes.begin() + start + n);
      for (int m = 0; m < mutations; ++m) read[rng() % n] = static_cast<uint8_t>(rng() % 5);
      for (uint32_t j = 0; j < n; ++j) {
        if (read[j] < 4) words[offsets.back() + j / 32] |= uint64_t{read[j]} << (2 * (j % 32));
        else masks[offsets.back() + j / 32] |= uint64_t{1} << (2 * (j % 32));
      }
      jobs.push_back({s, static_cast<uint32_t>(rng() % 10), start});
      jobs.push_back({s, 1000, start});
    }
    words.resize(words.size() + 16, 0);
    masks.resize(masks.size() + 16, 0);
  }
  std::vector<uint32_t> Run(const Backend& backend) const {
    std::vector<uint32_t> out(jobs.size());
    EXPECT_TRUE(backend.VerifyHamming(ref(), reads(), jobs.data(), jobs.size(), out.data()).ok());
    return out;
  }
};

TEST(CrossTargetTest, HammingMatchesScalar) {
  const HammingCase c;
  const auto expected = c.Run(*backend_internal::MakeScalarBackend());
  size_t exact = 0;
  for (size_t j = 1; j < c.jobs.size(); j += 2) exact += expected[j] > 0;
  ASSERT_GT(exact, 1000u);  // the inputs really have mismatches
  ForEachTarget([&](const Backend& simd) { ASSERT_EQ(c.Run(simd), expected); });
}

TEST(CrossTargetTest, BandedAlignmentMatchesScalar) {
  std::mt19937 rng(3);
  std::vector<std::vector<uint8_t>> reads, windows;
  for (int i = 0; i < 700; ++i) {
    const uint32_t n = 1 + rng() % (i % 10 == 0 ? 1200 : 250);
    std::vector<uint8_t> window = RandomCodes(rng, n + 2 * CJ_BAND_RADIUS + 10, 1);
    if (i % 9 == 0) std::fill(window.begin(), window.begin() + rng() % n, CJ_REF_OUTSIDE);
    std::vector<uint8_t> read(window.begin() + CJ_BAND_RADIUS, window.begin() + CJ_BAND_RADIUS + n);
    // Indels and mismatches.
    for (int e = rng() % 4; e > 0; --e) {
      const size_t at = rng() % read.size();
      switch (rng() % 3) {
        case 0: read[at] = rng() % 5; break;
        case 1: read.insert(read.begin() + at, rng() % 4), read.pop_back(); break;
        default: read.erase(read.begin() + at), read.push_back(rng() % 4); break;
      }
    }
    window.resize(n + 2 * CJ_BAND_RADIUS);
    reads.push_back(read);
    windows.push_back(window);
  }
  std::vector<AlignJob> jobs;
  for (size_t i = 0; i < reads.size(); ++i)
    jobs.push_back({reads[i].data(), windows[i].data(), static_cast<uint32_t>(reads[i].size())});
  AlignOutput expected;
  ASSERT_TRUE(backend_internal::MakeScalarBackend()->AlignBanded(jobs.data(), jobs.size(), expected).ok());
  size_t with_gaps = 0;
  for (uint32_t op : expected.cigar) with_gaps += (op & 0xf) != 0;
  ASSERT_GT(with_gaps, 50u);
  ForEachTarget([&](const Backend& simd) {
    AlignOutput got;
    ASSERT_TRUE(simd.AlignBanded(jobs.data(), jobs.size(), got).ok());
    ASSERT_EQ(got.results.size(), expected.results.size());
    for (size_t i = 0; i < jobs.size(); ++i) {
      const AlignResult& a = got.results[i];
      const AlignResult& b = expected.results[i];
      ASSERT_EQ(a.score, b.score) << i;
      ASSERT_EQ(a.read_begin, b.read_begin) << i;
      ASSERT_EQ(a.read_end, b.read_end) << i;
      ASSERT_EQ(a.window_begin, b.window_begin) << i;
      ASSERT_EQ(std::vector<uint32_t>(got.cigar.begin() + a.cigar_begin, got.cigar.begin() + a.cigar_begin + a.cigar_length),
                std::vector<uint32_t>(expected.cigar.begin() + b.cigar_begin, expected.cigar.begin() + b.cigar_begin + b.cigar_length))
          << i;
    }
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
