// QcCollector on hand-made records whose metrics can be worked out by hand.
#include <htslib/sam.h>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "common/test_util.h"
#include "qc/qc.h"

namespace cramjet {
namespace {

using nlohmann::json;
using testing::TempDir;

struct Rec {
  std::string name;
  uint16_t flag = BAM_FUNMAP;
  std::string seq;
  std::vector<uint8_t> qual;  // Phred values, empty = all 30
  std::string rg = "rg1";
  int32_t tid = -1;
  int64_t pos = -1;
  std::string cigar;  // e.g. "4M"; empty when unmapped
  int32_t mtid = -1;
  int64_t mpos = -1;
  int64_t isize = 0;
  Rec(std::string n, uint16_t f, std::string s, std::vector<uint8_t> q = {}, std::string r = "rg1",
      int32_t t = -1, int64_t p = -1, std::string c = "")
      : name(std::move(n)), flag(f), seq(std::move(s)), qual(std::move(q)), rg(std::move(r)), tid(t), pos(p),
        cigar(std::move(c)) {}
};

BamPtr Make(const Rec& r) {
  BamPtr b = NewBam();
  std::vector<uint32_t> cigar;
  if (!r.cigar.empty()) {
    char* end = nullptr;
    uint32_t* buf = nullptr;
    size_t m = 0;
    const ssize_t n = sam_parse_cigar(r.cigar.c_str(), &end, &buf, &m);
    cigar.assign(buf, buf + n);
    free(buf);
  }
  std::vector<char> qual(r.seq.size(), 30);
  for (size_t i = 0; i < r.qual.size(); ++i) qual[i] = char(r.qual[i]);
  EXPECT_GE(bam_set1(b.get(), r.name.size(), r.name.c_str(), r.flag, r.tid, r.pos, 60, cigar.size(),
                     cigar.data(), r.mtid, r.mpos, r.isize, r.seq.size(), r.seq.c_str(), qual.data(), 64),
            0);
  if (!r.rg.empty()) bam_aux_append(b.get(), "RG", 'Z', int(r.rg.size() + 1), reinterpret_cast<const uint8_t*>(r.rg.c_str()));
  return b;
}

HeaderPtr TestHeader() {
  const char* text = "@HD\tVN:1.6\tSO:coordinate\n@SQ\tSN:chrT\tLN:20\n@RG\tID:rg1\tSM:S1\n@RG\tID:rg2\tSM:S1\n";
  return HeaderPtr(sam_hdr_parse(std::strlen(text), text));
}

json Collect(const std::vector<Rec>& recs, const QcOptions& options = {}) {
  HeaderPtr header = TestHeader();
  auto collector = QcCollector::Create(options, header.get());
  EXPECT_TRUE(collector.ok()) << collector.status().ToString();
  for (const auto& r : recs) (*collector)->Add(Make(r).get());
  EXPECT_TRUE((*collector)->Finish().ok());
  return (*collector)->Document();
}

TEST(QcCollector, ReverseStrandReadsAreTurnedBackForPerCycleMetrics) {
  TempDir dir;
  testing::WriteFile(dir / "ref.fa", ">chrT\nACGTACGTACGTACGTACGT\n");
  QcOptions options;
  options.reference = dir / "ref.fa";
  // The same fragment read twice: once as sequenced, once placed on the reverse strand (stored
  // reverse-complemented with reversed qualities, as BAM does).
  const json qc = Collect({{"u", BAM_FUNMAP, "AAAC", {30, 30, 30, 10}},
                       {"m", BAM_FREVERSE, "GTTT", {10, 30, 30, 30}, "rg1", 0, 0, "4M"}},
                      options);
  const json& m = qc["mates"]["single"];
  EXPECT_EQ(m["per_cycle"]["quality_mean"], json({30.0, 30.0, 30.0, 10.0}));
  EXPECT_EQ(m["per_cycle"]["base_percent"]["A"], json({100.0, 100.0, 100.0, 0.0}));
  EXPECT_EQ(m["per_cycle"]["base_percent"]["C"], json({0.0, 0.0, 0.0, 100.0}));
  EXPECT_EQ(m["q30_bases"], 6);
  EXPECT_DOUBLE_EQ(qc["summary"]["q30_percent"].get<double>(), 75.0);
  EXPECT_DOUBLE_EQ(qc["summary"]["gc_percent"].get<double>(), 25.0);
  // Stored GTTT against ACGT: mismatches at stored 0,1,2 = cycles 4,3,2; cycle 1 matches.
  EXPECT_EQ(m["per_cycle"]["mismatch_percent"], json({0.0, 100.0, 100.0, 100.0}));
  EXPECT_EQ(m["placed"]["mismatches"], 3);
  EXPECT_EQ(qc["samtools_stats"]["reads_mapped"], 1);
  // FTC counts bases as stored (samtools): AAAC + GTTT.
  EXPECT_EQ(m["base_counts_as_stored"], json({{"A", 3}, {"C", 1}, {"G", 1}, {"T", 3}, {"N", 0}}));
  EXPECT_EQ(m["base_counts"], json({{"A", 6}, {"C", 2}, {"G", 0}, {"T", 0}, {"N", 0}}));
}

TEST(QcCollector, SecondaryAndSupplementaryAreCountedApartAndMatesAndGroupsSplit) {
  const json qc = Collect({
      {"p1", BAM_FPAIRED | BAM_FREAD1 | BAM_FUNMAP | BAM_FMUNMAP, "ACGTAC", {}, "rg2"},
      {"p1", BAM_FPAIRED | BAM_FREAD2 | BAM_FUNMAP | BAM_FMUNMAP, "GGGG", {}, "rg2"},
      {"s1", BAM_FUNMAP, "ACG", {}, "rg1"},
      {"s1", BAM_FSECONDARY, "ACG", {}, "rg1", 0, 2, "3M"},
      {"s1", BAM_FSUPPLEMENTARY, "ACG", {}, "rg1", 0, 5, "3M"},
  });
  EXPECT_EQ(qc["summary"]["reads"], 3);
  EXPECT_EQ(qc["summary"]["bases"], 13);
  EXPECT_EQ(qc["samtools_stats"]["non_primary_alignments"], 1);
  EXPECT_EQ(qc["samtools_stats"]["supplementary_alignments"], 1);
  EXPECT_EQ(qc["samtools_stats"]["reads_paired"], 2);
  EXPECT_EQ(qc["mates"]["read1"]["bases"], 6);
  EXPECT_EQ(qc["mates"]["read2"]["bases"], 4);
  EXPECT_EQ(qc["mates"]["single"]["bases"], 3);
  ASSERT_EQ(qc["read_groups"].size(), 2u);
  EXPECT_EQ(qc["read_groups"][0]["id"], "rg2");
  EXPECT_EQ(qc["read_groups"][0]["mates"]["read2"]["reads"], 1);
  EXPECT_FALSE(qc["read_groups"][0]["mates"].contains("single"));
  EXPECT_EQ(qc["read_groups"][1]["id"], "rg1");
  EXPECT_EQ(qc["read_groups"][1]["mates"]["single"]["reads"], 1);
  EXPECT_EQ(qc["sample"], "S1");  // from @RG SM
}

TEST(QcCollector, DuplicationCountsFragmentsAndAdaptersCountReads) {
  const json single = Collect({{"a", BAM_FUNMAP, "TTTTTAGATCGGAAGAGTTT"},
                           {"b", BAM_FUNMAP, "TTTTTAGATCGGAAGAGTTT"},
                           {"c", BAM_FUNMAP, "CCCCCCCCCCCCCCCCCCCC"}});
  EXPECT_NEAR(single["summary"]["duplication_percent"].get<double>(), 100.0 / 3, 1e-9);
  const json& ad = single["mates"]["single"]["adapter"]["truseq"];
  EXPECT_EQ(ad["reads"], 2);
  EXPECT_DOUBLE_EQ(ad["cumulative_percent"][4].get<double>(), 0.0);
  EXPECT_NEAR(ad["cumulative_percent"][5].get<double>(), 200.0 / 3, 1e-9);
  EXPECT_EQ(single["mates"]["single"]["adapter"]["nextera"]["reads"], 0);

  // Pairs are one fragment: (A,B) twice and (A,C) once -> one duplicate of three. Mates of a pair
  // need not be adjacent (position order).
  const uint16_t r1 = BAM_FPAIRED | BAM_FREAD1 | BAM_FUNMAP | BAM_FMUNMAP, r2 = BAM_FPAIRED | BAM_FREAD2 | BAM_FUNMAP | BAM_FMUNMAP;
  // FASTQ names may keep "/1" and "/2": the mates still join.
  const json pairs = Collect({{"x/1", r1, "AAAAAAAA"}, {"y", r1, "AAAAAAAA"}, {"x/2", r2, "CCCCCCCC"},
                          {"z", r1, "AAAAAAAA"}, {"y", r2, "CCCCCCCC"}, {"z", r2, "GGGGGGGG"}});
  EXPECT_NEAR(pairs["summary"]["duplication_percent"].get<double>(), 100.0 / 3, 1e-9);
  EXPECT_EQ(pairs["duplication"]["sampled_fragments"], 3);
}

TEST(QcCollector, ThresholdsFromTheConfigDecideTheVerdict) {
  TempDir dir;
  testing::WriteFile(dir / "qc.toml", "[thresholds.q30_percent]\nwarn = 99\nfail = 90\n");
  QcOptions options;
  options.config_path = dir / "qc.toml";
  const Rec read{"a", BAM_FUNMAP, "ACGTACGTAC", {30, 30, 30, 30, 30, 30, 30, 30, 30, 10}};
  auto verdict_of = [](const json& qc, const std::string& key) {
    for (const auto& m : qc["metrics"])
      if (m["key"] == key) return m["verdict"].get<std::string>();
    return std::string("missing");
  };
  const json strict = Collect({read}, options);  // Q30 = 90%: below warn=99, not below fail=90
  EXPECT_DOUBLE_EQ(strict["summary"]["q30_percent"].get<double>(), 90.0);
  EXPECT_EQ(verdict_of(strict, "q30_percent"), "warn");
  // The last cycle's median quality is 10, below FastQC's fail limit 20: the whole sample fails.
  EXPECT_EQ(verdict_of(strict, "per_cycle_quality_median"), "fail");
  EXPECT_EQ(strict["verdict"], "fail");
  testing::WriteFile(dir / "qc.toml", "[thresholds.q30_percent]\nwarn = 90\nfail = 80\n");
  EXPECT_EQ(verdict_of(Collect({read}, options), "q30_percent"), "pass");
  options.config_path.clear();
  EXPECT_EQ(verdict_of(Collect({read}, options), "q30_percent"), "pass");  // default warn 85
  // A bad config stops Create with the config's message.
  testing::WriteFile(dir / "bad.toml", "[thresholds.q30_percent]\nwarn = 150\n");
  options.config_path = dir / "bad.toml";
  HeaderPtr header = TestHeader();
  auto bad = QcCollector::Create(options, header.get());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("thresholds.q30_percent.warn"), std::string::npos);
}

TEST(QcCollector, EmptyInputAndReadsWithoutSequenceRenderEveryOutput) {
  TempDir dir;
  testing::WriteFile(dir / "ref.fa", ">chrT\nACGTACGTACGTACGTACGT\n");
  QcOptions options;
  options.reference = dir / "ref.fa";
  HeaderPtr header = TestHeader();
  {
    auto empty = QcCollector::Create(options, header.get());
    ASSERT_TRUE(empty.ok());
    ASSERT_TRUE((*empty)->Finish().ok());
    ASSERT_TRUE((*empty)->WriteOutputs(dir / "empty").ok());
    EXPECT_EQ((*empty)->Document()["verdict"], "fail");
    EXPECT_EQ((*empty)->Document()["verdict_reason"], "no reads");
    EXPECT_NE(testing::ReadFile(dir / "empty.qc.html").find("no data for this plot"), std::string::npos);
  }
  // A placed primary record with SEQ '*' (and one with a sequence) must not read past the sequence.
  const json qc = Collect({{"noseq", 0, "", {}, "rg1", 0, 0, "8M"}, {"seq", 0, "ACGA", {}, "rg1", 0, 0, "4M"}}, options);
  EXPECT_EQ(qc["summary"]["reads"], 2);
  EXPECT_EQ(qc["summary"]["bases"], 4);
  EXPECT_EQ(qc["samtools_stats"]["reads_mapped"], 2);
  EXPECT_EQ(qc["mates"]["single"]["placed"]["mismatches"], 1);  // ACGA against ACGT
  EXPECT_EQ(qc["mates"]["single"]["placed"]["aligned_bases_compared"], 4);
}

TEST(QcCollector, WritesTheFiveOutputsAndNothingElse) {
  TempDir dir;
  HeaderPtr header = TestHeader();
  auto collector = QcCollector::Create({}, header.get());
  ASSERT_TRUE(collector.ok());
  EXPECT_FALSE((*collector)->WriteOutputs(dir / "S").ok());  // before Finish
  (*collector)->Add(Make({"a", BAM_FUNMAP, "ACGTN"}).get());
  ASSERT_TRUE((*collector)->Finish().ok());
  EXPECT_FALSE((*collector)->Finish().ok());
  ASSERT_TRUE((*collector)->WriteOutputs(dir / "S").ok());
  auto names = testing::ListDir(dir.path());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"S.fastp.json", "S.qc.html", "S.qc.json", "S.stats", "S_mqc.json"}));
  const json qc = json::parse(testing::ReadFile(dir / "S.qc.json"));
  EXPECT_EQ(qc["schema"], "cramjet-qc");
  EXPECT_EQ(qc["schema_version"], kQcSchemaVersion);
  EXPECT_NE(testing::ReadFile(dir / "S.stats").find("This file was produced by samtools stats"), std::string::npos);
  EXPECT_EQ(json::parse(testing::ReadFile(dir / "S.fastp.json"))["summary"]["before_filtering"]["total_bases"], 5);
  EXPECT_EQ(json::parse(testing::ReadFile(dir / "S_mqc.json"))["data"]["S1"]["verdict"], qc["verdict"]);
  // An unwritable folder is an error, not a crash, and leaves no file behind.
  EXPECT_FALSE((*collector)->WriteOutputs(dir / "missing-folder/S").ok());
}

}  // namespace
}  // namespace cramjet
