// Trust: cramjet's QC against the tools labs use today, on the real sets in ../shared/data.
// samtools stats: read and base counts exact (and the other SN counts it shares with us), Q30 and
// GC within 0.1 percentage point. fastp: counts exact, Q30 and GC within 0.1 point, duplication
// within 0.5 point, adapter content within 1 point and never above fastp (docs/qc.md says why).
#include <cmath>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "common/test_util.h"
#include "cramjet/qc.h"

namespace cramjet {
namespace {

using nlohmann::json;
using testing::RunShell;
using testing::SharedPath;
using testing::ShellQuote;
using testing::TempDir;

json RunCramjetQc(const std::vector<std::string>& inputs, const std::string& reference, const TempDir& dir) {
  QcFileOptions options;
  for (const auto& in : inputs) options.inputs.push_back(SharedPath(in));
  if (!reference.empty()) options.reference = SharedPath(reference);
  options.output_prefix = dir / "out";
  auto result = RunQcOnFile(options);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return json::parse(testing::ReadFile(dir / "out.qc.json"));
}

struct SamtoolsStats {
  std::map<std::string, std::string> sn;
  double q30_percent = 0;
  double gc_percent = 0;
  uint64_t inserted_bases = 0;  // from the ID section: insertion length x insertions
};

SamtoolsStats ParseSamtoolsStats(const std::string& text) {
  SamtoolsStats s;
  std::istringstream in(text);
  std::string line;
  double q30 = 0, qall = 0, gc = 0, acgt = 0;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::istringstream fields(line);
    std::string field;
    while (std::getline(fields, field, '\t')) f.push_back(field);
    if (f.empty()) continue;
    if (f[0] == "SN" && f.size() >= 3) {
      s.sn[f[1].substr(0, f[1].size() - 1)] = f[2];
    } else if (f[0] == "FFQ" || f[0] == "LFQ") {
      for (size_t q = 0; q + 2 < f.size(); ++q) {
        const double n = std::stod(f[q + 2]);
        qall += n;
        if (q >= 30) q30 += n;
      }
    } else if (f[0] == "ID" && f.size() >= 3) {
      s.inserted_bases += std::stoull(f[1]) * std::stoull(f[2]);
    } else if (f[0] == "FTC" || f[0] == "LTC") {
      const double a = std::stod(f[1]), c = std::stod(f[2]), g = std::stod(f[3]), t = std::stod(f[4]);
      gc += c + g;
      acgt += a + c + g + t;
    }
  }
  s.q30_percent = 100 * q30 / qall;
  s.gc_percent = 100 * gc / acgt;
  return s;
}

class QcAgainstSamtools : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(QcAgainstSamtools, CountsExactQ30AndGcWithinATenthOfAPoint) {
  const auto& [input, reference] = GetParam();
  CRAMJET_REQUIRE_SHARED_DATA(input);
  if (!testing::ToolAvailable("samtools")) GTEST_SKIP() << "samtools not installed (scripts/setup-debian.sh)";
  TempDir dir;
  const json qc = RunCramjetQc({input}, reference, dir);
  const auto peer = RunShell("samtools stats " + (reference.empty() ? "" : "--reference " + ShellQuote(SharedPath(reference)) + " ") +
                             ShellQuote(SharedPath(input)));
  ASSERT_EQ(peer.exit_code, 0) << peer.err;
  const SamtoolsStats want = ParseSamtoolsStats(peer.out);
  const SamtoolsStats got = ParseSamtoolsStats(testing::ReadFile(dir / "out.stats"));
  ASSERT_FALSE(want.sn.empty());
  for (const char* key : {"raw total sequences", "sequences", "1st fragments", "last fragments", "reads mapped",
                          "reads mapped and paired", "reads unmapped", "reads properly paired", "reads paired",
                          "reads duplicated", "reads MQ0", "reads QC failed", "non-primary alignments",
                          "supplementary alignments", "total length", "total first fragment length",
                          "total last fragment length", "bases mapped", "bases mapped (cigar)", "mismatches",
                          "maximum length", "average quality", "is sorted"}) {
    EXPECT_EQ(got.sn.at(key), want.sn.at(key)) << key;
  }
  EXPECT_EQ(std::to_string(qc["summary"]["reads"].get<uint64_t>()), want.sn.at("raw total sequences"));
  EXPECT_EQ(std::to_string(qc["summary"]["bases"].get<uint64_t>()), want.sn.at("total length"));
  EXPECT_NEAR(qc["summary"]["q30_percent"].get<double>(), want.q30_percent, 0.1);
  EXPECT_NEAR(qc["summary"]["gc_percent"].get<double>(), want.gc_percent, 0.1);
  EXPECT_NEAR(got.q30_percent, want.q30_percent, 0.1);
  std::printf("%s: reads %s, Q30 %.3f%% (samtools %.3f%%), GC %.3f%% (samtools %.3f%%)\n", input.c_str(),
              want.sn.at("raw total sequences").c_str(), qc["summary"]["q30_percent"].get<double>(),
              want.q30_percent, qc["summary"]["gc_percent"].get<double>(), want.gc_percent);
}

INSTANTIATE_TEST_SUITE_P(
    RealSets, QcAgainstSamtools,
    ::testing::Values(
        std::make_pair(std::string("human-exome-novaseq/bam/Sample1.bam"), std::string()),
        std::make_pair(std::string("human-na12878-chr20-21-paired/NA12878.20.21.unmapped.orig.bam"), std::string()),
        std::make_pair(std::string("human-chrM-1000g-lowcov/bam/HG03478.mapped.ILLUMINA.bwa.MSL.low_coverage.20121211.bam"), std::string()),
        std::make_pair(std::string("human-chrM-na12878/hts-specs/cram3.0-level-1.cram"), std::string("human-chrM-na12878/chrM_hg19.fa"))));

// Per read group: each read group's reads through samtools stats (`samtools view -r RG | samtools
// stats`). Reads and reads mapped exact; coverage's aligned bases exact against samtools' "bases
// mapped (cigar)" less the inserted bases of its ID section (what is left is M/=/X: the bases that
// cover the reference); insert size mean and SD within 0.1 (samtools prints one decimal; both use
// READ1 of pairs on one contig, sizes up to 8,000, the 99 % bulk). And the read groups add up to the
// sample.
TEST(QcReadGroupsAgainstSamtools, EachReadGroupMatchesSamtoolsStatsOfItsReads) {
  const std::string input = "human-chrM-1000g-lowcov/bam/HG03478.mapped.ILLUMINA.bwa.MSL.low_coverage.20121211.bam";
  CRAMJET_REQUIRE_SHARED_DATA(input);
  if (!testing::ToolAvailable("samtools")) GTEST_SKIP() << "samtools not installed (scripts/setup-debian.sh)";
  TempDir dir;
  const json qc = RunCramjetQc({input}, "", dir);
  ASSERT_EQ(qc["read_groups"].size(), 4u);
  uint64_t reads = 0, pairs = 0, aligned = 0, sampled = 0;
  for (const auto& g : qc["read_groups"]) {
    const std::string id = g["id"];
    const auto peer = RunShell("samtools view -u -r " + ShellQuote(id) + " " + ShellQuote(SharedPath(input)) +
                               " | samtools stats -");
    ASSERT_EQ(peer.exit_code, 0) << peer.err;
    const SamtoolsStats want = ParseSamtoolsStats(peer.out);
    uint64_t group_reads = 0, placed = 0;
    for (const auto& [mate, m] : g["mates"].items()) {
      group_reads += m["reads"].get<uint64_t>();
      placed += m["placed"]["reads"].get<uint64_t>();
    }
    EXPECT_EQ(std::to_string(group_reads), want.sn.at("raw total sequences")) << id;
    EXPECT_EQ(std::to_string(placed), want.sn.at("reads mapped")) << id;
    EXPECT_EQ(g["coverage"]["aligned_bases"].get<uint64_t>(),
              std::stoull(want.sn.at("bases mapped (cigar)")) - want.inserted_bases) << id;
    EXPECT_NEAR(g["insert_size"]["mean"].get<double>(), std::stod(want.sn.at("insert size average")), 0.1) << id;
    EXPECT_NEAR(g["insert_size"]["sd"].get<double>(), std::stod(want.sn.at("insert size standard deviation")), 0.1) << id;
    EXPECT_GT(g["insert_size"]["pairs"].get<uint64_t>(), 0u) << id;
    std::printf("%s %s: reads %llu, mapped %llu, insert size %.2f +- %.2f (samtools %s +- %s), aligned bases %llu, "
                "duplication %.3f%%\n", input.c_str(), id.c_str(), static_cast<unsigned long long>(group_reads),
                static_cast<unsigned long long>(placed), g["insert_size"]["mean"].get<double>(),
                g["insert_size"]["sd"].get<double>(), want.sn.at("insert size average").c_str(),
                want.sn.at("insert size standard deviation").c_str(),
                static_cast<unsigned long long>(g["coverage"]["aligned_bases"].get<uint64_t>()),
                g["duplication"]["percent"].get<double>());
    reads += group_reads;
    pairs += g["insert_size"]["pairs"].get<uint64_t>();
    aligned += g["coverage"]["aligned_bases"].get<uint64_t>();
    sampled += g["duplication"]["sampled_fragments"].get<uint64_t>();
  }
  EXPECT_EQ(reads, qc["summary"]["reads"].get<uint64_t>());
  EXPECT_EQ(pairs, qc["insert_size"]["pairs"].get<uint64_t>());
  EXPECT_EQ(aligned, qc["coverage"]["aligned_bases"].get<uint64_t>());
  EXPECT_EQ(sampled, qc["duplication"]["sampled_fragments"].get<uint64_t>());  // no sampling on this set
}

struct FastpCase {
  std::vector<std::string> inputs;
};

class QcAgainstFastp : public ::testing::TestWithParam<std::vector<std::string>> {};

TEST_P(QcAgainstFastp, CountsExactRatesWithinToleranceDuplicationWithinHalfAPoint) {
  const auto& inputs = GetParam();
  for (const auto& in : inputs) {
    CRAMJET_REQUIRE_SHARED_DATA(in);
  }
  if (!testing::ToolAvailable("fastp")) GTEST_SKIP() << "fastp not installed (scripts/setup-debian.sh)";
  TempDir dir;
  const json qc = RunCramjetQc(inputs, "", dir);
  const json ours = json::parse(testing::ReadFile(dir / "out.fastp.json"));
  // Trimming and filtering off, so fastp's "before filtering" is the whole input.
  std::string cmd = "fastp -A -G -Q -L -w 1 -i " + ShellQuote(SharedPath(inputs[0]));
  if (inputs.size() == 2) cmd += " -I " + ShellQuote(SharedPath(inputs[1]));
  cmd += " -j " + ShellQuote(dir / "peer.json") + " -h " + ShellQuote(dir / "peer.html");
  const auto peer = RunShell(cmd);
  ASSERT_EQ(peer.exit_code, 0) << peer.err;
  const json want = json::parse(testing::ReadFile(dir / "peer.json"));
  const json& w = want["summary"]["before_filtering"];
  const json& g = ours["summary"]["before_filtering"];
  for (const char* key : {"total_reads", "total_bases", "q20_bases", "q30_bases", "read1_mean_length"})
    EXPECT_EQ(g[key].get<uint64_t>(), w[key].get<uint64_t>()) << key;
  if (inputs.size() == 2) {
    EXPECT_EQ(g["read2_mean_length"].get<uint64_t>(), w["read2_mean_length"].get<uint64_t>());
  }
  EXPECT_NEAR(100 * g["q30_rate"].get<double>(), 100 * w["q30_rate"].get<double>(), 0.1);
  EXPECT_NEAR(100 * g["gc_content"].get<double>(), 100 * w["gc_content"].get<double>(), 0.1);
  EXPECT_NEAR(qc["summary"]["q30_percent"].get<double>(), 100 * w["q30_rate"].get<double>(), 0.1);
  const double dup = qc["summary"]["duplication_percent"].get<double>();
  const double peer_dup = 100 * want["duplication"]["rate"].get<double>();
  EXPECT_NEAR(dup, peer_dup, 0.5);
  std::printf("%s: reads %llu, Q30 %.3f%% (fastp %.3f%%), duplication %.3f%% (fastp %.3f%%)\n", inputs[0].c_str(),
              static_cast<unsigned long long>(w["total_reads"].get<uint64_t>()), qc["summary"]["q30_percent"].get<double>(),
              100 * w["q30_rate"].get<double>(), dup, peer_dup);
}

INSTANTIATE_TEST_SUITE_P(
    RealSets, QcAgainstFastp,
    ::testing::Values(
        std::vector<std::string>{"human-chrM-paired-binned/fastq/micro_R1.fq.gz", "human-chrM-paired-binned/fastq/micro_R2.fq.gz"},
        std::vector<std::string>{"human-na12878-chr20-21-paired/NA12878_20_21_R1.fastq.gz", "human-na12878-chr20-21-paired/NA12878_20_21_R2.fastq.gz"},
        std::vector<std::string>{"ecoli-10k-paired/reads1.fastq.gz", "ecoli-10k-paired/reads2.fastq.gz"},
        std::vector<std::string>{"sarscov2-miseq-amplicon/subsample1_1.fastq.gz", "sarscov2-miseq-amplicon/subsample1_2.fastq.gz"},
        std::vector<std::string>{"human-exome-novaseq/fastq/Sample1.fastq.gz"},
        std::vector<std::string>{"ecoli-mg1655-hiseq/E.coli.allreads.fastq.gz"}));

// Adapter content: fastp trims the TruSeq adapter wherever at least 4 of its bases end a read,
// allowing a mismatch per 8 bases; cramjet reports reads holding its first 12 bases exactly
// (FastQC's definition). So cramjet is at most fastp's figure, and within 1 point of it.
TEST(QcAgainstFastpAdapters, TruSeqWithinOnePointAndNeverAboveFastp) {
  if (!testing::ToolAvailable("fastp")) GTEST_SKIP() << "fastp not installed (scripts/setup-debian.sh)";
  int compared = 0;
  for (const std::string input : {"ecoli-mg1655-hiseq/E.coli.allreads.fastq.gz", "human-exome-novaseq/fastq/Sample1.fastq.gz",
                                  "human-chrM-1000g-lowcov/bam/HG03706.MT.allreads.fastq.gz"}) {
    if (testing::SharedDataDir().empty() || !testing::PathExists(SharedPath(input))) continue;
    TempDir dir;
    const json qc = RunCramjetQc({input}, "", dir);
    const auto peer = RunShell("fastp -G -Q -L -w 1 -a AGATCGGAAGAGCACACGTCTGAACTCCAGTCA -i " + ShellQuote(SharedPath(input)) +
                               " -j " + ShellQuote(dir / "peer.json") + " -h " + ShellQuote(dir / "peer.html"));
    ASSERT_EQ(peer.exit_code, 0) << peer.err;
    const json want = json::parse(testing::ReadFile(dir / "peer.json"));
    const double peer_pct = 100.0 * want["adapter_cutting"]["adapter_trimmed_reads"].get<double>() /
                            want["summary"]["before_filtering"]["total_reads"].get<double>();
    const double ours = qc["summary"]["adapter_percent"]["truseq"].get<double>();
    EXPECT_LE(ours, peer_pct + 1e-9) << input;
    EXPECT_NEAR(ours, peer_pct, 1.0) << input;
    std::printf("%s: TruSeq adapter %.3f%% of reads (fastp trimmed %.3f%%)\n", input.c_str(), ours, peer_pct);
    ++compared;
  }
  if (compared == 0) GTEST_SKIP() << "shared data not found (expected under ../shared/data)";
}

}  // namespace
}  // namespace cramjet
