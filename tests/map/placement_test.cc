// Placement rate on every real FASTQ set, next to what minimap2 -ax sr placed (each folder's
// VERIFY.txt). Prints the table (docs/mapper.md quotes it) and guards against regressions.
#include <cstdio>
#include <fstream>
#include <regex>

#include <gtest/gtest.h>

#include "common/test_util.h"
#include "map_test_util.h"

namespace cramjet {
namespace {

struct RealSet {
  std::string folder, fasta;
  std::vector<std::string> single;                              // single-end files
  std::vector<std::pair<std::string, std::string>> pairs;       // R1, R2
};

// "NNN + 0 primary mapped (97.93% : N/A)" of the minimap2 section, as a fraction.
double Minimap2Fraction(const std::string& folder) {
  std::ifstream in(testing::SharedPath(folder + "/VERIFY.txt"));
  std::string line;
  bool in_minimap2 = false;
  const std::regex mapped(R"(primary mapped \(([0-9.]+)%)");
  while (std::getline(in, line)) {
    if (line.rfind("## minimap2", 0) == 0) in_minimap2 = true;
    std::smatch m;
    if (in_minimap2 && std::regex_search(line, m, mapped)) return std::stod(m[1]) / 100;
  }
  return -1;
}

TEST(PlacementRateTest, RealSetsAgainstMinimap2) {
  CRAMJET_REQUIRE_SHARED_DATA("README.md");
  const std::vector<RealSet> sets = {
      {"ecoli-mg1655-hiseq", "E.coli.fa", {"E.coli.allreads.fastq.gz"}, {}},
      {"ecoli-10k-paired", "reference_MG1655_first10k.fasta", {}, {{"reads1.fastq.gz", "reads2.fastq.gz"}}},
      {"human-chrM-1000g-lowcov", "rCRS.fasta", {"bam/HG03478.MT.allreads.fastq.gz", "bam/HG03706.MT.allreads.fastq.gz"}, {}},
      {"human-chrM-na12878", "chrM_hg19.fa",
       {"hts-specs/NA12878_chrM_htsspecs.allreads.fastq.gz", "strelka/NA12878_chrM_strelka.allreads.fastq.gz"}, {}},
      {"human-chrM-paired-binned", "chrM_NC_012920.1.fa", {}, {{"fastq/micro_R1.fq.gz", "fastq/micro_R2.fq.gz"}}},
      {"human-ex1-2008", "ex1.fa", {"ex1.allreads.fastq.gz"}, {}},
      {"human-exome-novaseq", "ref.fa.gz",
       {"fastq/Sample1.fastq.gz", "fastq/Sample2.fastq.gz", "fastq/Sample3.fastq.gz", "fastq/Sample4.fastq.gz",
        "fastq/Sample5.fastq.gz", "fastq/Sample6.fastq.gz"}, {}},
      {"human-na12878-chr20-21-paired", "human_g1k_v37.20.21.10M-10M200k.fasta", {},
       {{"NA12878_20_21_R1.fastq.gz", "NA12878_20_21_R2.fastq.gz"}}},
      {"human-na12878-chr22-tiny", "q.fa", {"NA12878.chr22.tiny.allreads.fastq.gz"}, {}},
      {"sarscov2-miseq-amplicon", "MN908947.3.fasta", {}, {{"subsample1_1.fastq.gz", "subsample1_2.fastq.gz"}}},
  };
  auto backend = CreateBackend(AccelKind::kAuto);
  ASSERT_TRUE(backend.ok());
  std::printf("%-32s %9s %9s %9s %8s\n", "set", "reads", "cramjet", "minimap2", "delta");
  for (const RealSet& set : sets) {
    if (!testing::PathExists(testing::SharedPath(set.folder + "/" + set.fasta))) continue;
    testing::TempDir dir;
    const std::string link = dir / set.fasta.substr(set.fasta.rfind('/') + 1);
    ASSERT_EQ(symlink(testing::SharedPath(set.folder + "/" + set.fasta).c_str(), link.c_str()), 0);
    ASSERT_TRUE(ReferenceIndex::Build(link, 2).ok()) << set.folder;
    auto index = ReferenceIndex::Open(link);
    ASSERT_TRUE(index.ok());
    std::vector<BamPtr> records;
    for (const auto& f : set.single) {
      auto r = testing::LoadFastq(testing::SharedPath(set.folder + "/" + f), SIZE_MAX);
      for (auto& b : r) records.push_back(std::move(b));
    }
    for (const auto& [r1, r2] : set.pairs) {
      auto r = testing::LoadPairs(testing::SharedPath(set.folder + "/" + r1), testing::SharedPath(set.folder + "/" + r2), SIZE_MAX);
      for (auto& b : r) records.push_back(std::move(b));
    }
    ASSERT_FALSE(records.empty()) << set.folder;
    MapStats stats;
    testing::MapAll(**index, **backend, records, 10000, MapOptions{}, &stats);
    const double ours = static_cast<double>(stats.placed) / stats.reads;
    const double theirs = Minimap2Fraction(set.folder);
    std::printf("%-32s %9llu %8.2f%% %8.2f%% %+7.2f\n", set.folder.c_str(),
                static_cast<unsigned long long>(stats.reads), 100 * ours, 100 * theirs, 100 * (ours - theirs));
    ::testing::Test::RecordProperty(set.folder, std::to_string(ours));
    // Regression guard; the issue's target (within 1 point) is tracked in docs/mapper.md.
    EXPECT_GE(ours, theirs - 0.03) << set.folder;
  }
}

}  // namespace
}  // namespace cramjet
