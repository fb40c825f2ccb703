// QcCollector on hand-made records whose metrics can be worked out by hand.
// Length: ~620 lines: the collector's figures on hand-made records, one case per metric family
// (counts, pairs, duplication, coverage, read groups, checks); the sums alone are in
// qc_accumulators_test.cc.
#include <htslib/sam.h>

#include <cmath>
#include <cstring>
#include <map>
#include <random>

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
  const std::vector<uint32_t> cigar = cramjet::testing::CigarOps(r.cigar);
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

QcMetrics CollectMetricsWithHeader(const std::string& header_text, const std::vector<Rec>& recs,
                                   const QcOptions& options = {}) {
  HeaderPtr header(sam_hdr_parse(header_text.size(), header_text.c_str()));
  auto collector = QcCollector::Create(options, header.get());
  EXPECT_TRUE(collector.ok()) << collector.status().ToString();
  for (const auto& r : recs) (*collector)->Add(Make(r).get());
  EXPECT_TRUE((*collector)->Finish().ok());
  return (*collector)->Metrics();
}

json CollectWithHeader(const std::string& header_text, const std::vector<Rec>& recs, const QcOptions& options = {}) {
  return QcMetricsJson(CollectMetricsWithHeader(header_text, recs, options));
}

QcMetrics CollectMetrics(const std::vector<Rec>& recs, const QcOptions& options = {}) {
  HeaderPtr header = TestHeader();
  auto collector = QcCollector::Create(options, header.get());
  EXPECT_TRUE(collector.ok()) << collector.status().ToString();
  for (const auto& r : recs) (*collector)->Add(Make(r).get());
  EXPECT_TRUE((*collector)->Finish().ok());
  return (*collector)->Metrics();
}

json Collect(const std::vector<Rec>& recs, const QcOptions& options = {}) {
  return QcMetricsJson(CollectMetrics(recs, options));
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

// ---- Per read group: duplication, overrepresented sequences, insert size, coverage ----------

// Two contigs: chrA 2,500 bases (bins of 1,000, 1,000, 500), chrB 40 bases (one bin); 2,540 in all.
const char kTwoContigHeader[] =
    "@HD\tVN:1.6\tSO:unsorted\n@SQ\tSN:chrA\tLN:2500\n@SQ\tSN:chrB\tLN:40\n"
    "@RG\tID:rgA\tSM:S1\n@RG\tID:rgB\tSM:S1\n";

// READ1 of a placed pair (both mates forward, on contig `tid`): R1 at pos1, R2 at pos2.
Rec Mate1(const std::string& name, const std::string& rg, int32_t tid, int64_t pos1, const std::string& seq1,
          int64_t pos2, size_t len2) {
  Rec r(name, BAM_FPAIRED | BAM_FPROPER_PAIR | BAM_FREAD1, seq1, {}, rg, tid, pos1,
        std::to_string(seq1.size()) + "M");
  r.mtid = tid;
  r.mpos = pos2;
  r.isize = pos2 + int64_t(len2) - pos1;
  return r;
}
Rec Mate2(const std::string& name, const std::string& rg, int32_t tid, int64_t pos2, const std::string& seq2,
          int64_t pos1) {
  Rec r(name, BAM_FPAIRED | BAM_FPROPER_PAIR | BAM_FREAD2, seq2, {}, rg, tid, pos2,
        std::to_string(seq2.size()) + "M");
  r.mtid = tid;
  r.mpos = pos1;
  r.isize = -(pos2 + int64_t(seq2.size()) - pos1);
  return r;
}

const json* FindGroup(const json& qc, const std::string& id) {
  for (const auto& g : qc["read_groups"])
    if (g["id"] == id) return &g;
  return nullptr;
}

std::map<std::string, uint64_t> OverrepresentedCounts(const json& list) {
  std::map<std::string, uint64_t> counts;
  for (const auto& o : list) counts[o["sequence"].get<std::string>()] += o["count"].get<uint64_t>();
  return counts;
}

// rgA (6 reads): pairs a1 and a2 are the same fragment (X1, Y1), a3 another: 3 fragments, 2 distinct.
// Inserts 100, 100, 400. 60 aligned bases in chrA's first bin.
// rgB (8 reads): no duplicate (b2's R1 is rgA's X1, but its R2 differs), a lone R2 (b5) that waits
// among rgA's mates and a lone R1 (b4) last: 5 fragments. Inserts 20, 20, 40. 60 aligned bases on
// chrB (40 bases: depth 1.5).
// The records come interleaved, rgB appearing only after two rgA pairs, mates not always adjacent.
std::vector<Rec> TwoReadGroupRecords() {
  const std::string X1 = "ACGTACGTAA", Y1 = "TTGCATGCAA", X2 = "GGGACCCTTA", Y2 = "CATCATCATC",
                    X3 = "AAAACCCCGG", Y3 = "TGTGTGTGCA", Y4 = "GCGCATATGC", X4 = "CCAATTGGAC",
                    Y5 = "ATATCGCGTA", Y6 = "GTCAGTCAGT", X5 = "CAGCAGCAGG";
  const uint16_t lone1 = BAM_FPAIRED | BAM_FREAD1 | BAM_FUNMAP | BAM_FMUNMAP;
  const uint16_t lone2 = BAM_FPAIRED | BAM_FREAD2 | BAM_FUNMAP | BAM_FMUNMAP;
  return {
      Mate1("a1", "rgA", 0, 0, X1, 90, 10),    Mate2("a1", "rgA", 0, 90, Y1, 0),
      Mate1("a2", "rgA", 0, 0, X1, 90, 10),    Mate2("a2", "rgA", 0, 90, Y1, 0),
      Mate1("b1", "rgB", 1, 0, X3, 10, 10),    Mate2("b1", "rgB", 1, 10, Y3, 0),
      Mate1("a3", "rgA", 0, 100, X2, 490, 10), Rec("b5", lone2, Y6, {}, "rgB"),
      Mate1("b2", "rgB", 1, 10, X1, 20, 10),   Mate2("a3", "rgA", 0, 490, Y2, 100),
      Mate2("b2", "rgB", 1, 20, Y4, 10),       Mate1("b3", "rgB", 1, 0, X4, 30, 10),
      Mate2("b3", "rgB", 1, 30, Y5, 0),        Rec("b4", lone1, X5, {}, "rgB"),
  };
}

TEST(QcReadGroups, DuplicationInsertSizeCoverageAndOverrepresentedPerReadGroup) {
  const QcMetrics metrics = CollectMetricsWithHeader(kTwoContigHeader, TwoReadGroupRecords());
  const json qc = QcMetricsJson(metrics);
  EXPECT_EQ(qc["schema_version"], 3);
  ASSERT_EQ(qc["read_groups"].size(), 2u);
  const json* a = FindGroup(qc, "rgA");
  const json* b = FindGroup(qc, "rgB");
  ASSERT_TRUE(a && b);

  // Duplication: fragments per read group.
  EXPECT_EQ((*a)["duplication"]["sampled_fragments"], 3);
  EXPECT_EQ((*a)["duplication"]["distinct_sampled"], 2);
  EXPECT_NEAR((*a)["duplication"]["percent"].get<double>(), 100.0 / 3, 1e-9);
  EXPECT_DOUBLE_EQ((*a)["duplication"]["sampling_fraction"].get<double>(), 1.0);
  EXPECT_EQ((*a)["duplication"]["copy_number_histogram"].size(), 100u);
  EXPECT_EQ((*a)["duplication"]["copy_number_histogram"][0], 1);  // a3 once
  EXPECT_EQ((*a)["duplication"]["copy_number_histogram"][1], 1);  // a1 = a2
  EXPECT_EQ((*b)["duplication"]["sampled_fragments"], 5);  // the lone mates count alone
  EXPECT_EQ((*b)["duplication"]["distinct_sampled"], 5);
  EXPECT_DOUBLE_EQ((*b)["duplication"]["percent"].get<double>(), 0.0);
  EXPECT_EQ((*b)["duplication"]["copy_number_histogram"][0], 5);
  EXPECT_EQ(qc["duplication"]["sampled_fragments"], 8);
  EXPECT_EQ(qc["duplication"]["distinct_sampled"], 7);
  EXPECT_DOUBLE_EQ(qc["summary"]["duplication_percent"].get<double>(), 12.5);
  EXPECT_FALSE((*a)["duplication"].contains("method"));
  // Duplicates within read groups add up to the sample's.
  auto duplicates = [](const json& d) {
    return d["sampled_fragments"].get<uint64_t>() - d["distinct_sampled"].get<uint64_t>();
  };
  EXPECT_EQ(duplicates((*a)["duplication"]) + duplicates((*b)["duplication"]), duplicates(qc["duplication"]));

  // Insert size (READ1 of each placed pair).
  const json& ia = (*a)["insert_size"];
  EXPECT_EQ(ia["pairs"], 3);
  EXPECT_EQ(ia["median"], 100);
  EXPECT_EQ(ia["peak"], 100);
  EXPECT_DOUBLE_EQ(ia["mean"].get<double>(), 200.0);
  EXPECT_NEAR(ia["sd"].get<double>(), std::sqrt(20000.0), 1e-9);
  EXPECT_EQ(ia["histogram"], json({{100, 2}, {400, 1}}));
  const json& ib = (*b)["insert_size"];
  EXPECT_EQ(ib["pairs"], 3);
  EXPECT_EQ(ib["median"], 20);
  EXPECT_NEAR(ib["mean"].get<double>(), 80.0 / 3, 1e-9);
  EXPECT_NEAR(ib["sd"].get<double>(), std::sqrt(2400.0 / 3 - 6400.0 / 9), 1e-9);
  EXPECT_EQ(ib["histogram"], json({{20, 2}, {40, 1}}));
  EXPECT_EQ(qc["insert_size"]["pairs"], 6);
  EXPECT_EQ(qc["insert_size"]["median"], 40);
  EXPECT_NEAR(qc["insert_size"]["mean"].get<double>(), 680.0 / 6, 1e-9);

  // Coverage: each read group's own reads, over the same reference.
  const json& ca = (*a)["coverage"];
  EXPECT_EQ(ca["reference_length"], 2540);
  EXPECT_EQ(ca["aligned_bases"], 60);
  EXPECT_DOUBLE_EQ(ca["mean_depth"].get<double>(), 60.0 / 2540);
  EXPECT_DOUBLE_EQ(ca["mean_depth_contigs_with_reads"].get<double>(), 60.0 / 2500);
  EXPECT_DOUBLE_EQ(ca["bins_at_least_percent"]["1x"].get<double>(), 0.0);
  ASSERT_EQ(ca["contigs_with_reads"].size(), 1u);
  EXPECT_EQ(ca["contigs_with_reads"][0]["name"], "chrA");
  EXPECT_EQ(ca["contigs_with_reads"][0]["aligned_bases"], 60);
  EXPECT_FALSE(ca.contains("depth_track"));
  const json& cb = (*b)["coverage"];
  EXPECT_EQ(cb["aligned_bases"], 60);
  EXPECT_DOUBLE_EQ(cb["mean_depth_contigs_with_reads"].get<double>(), 1.5);
  EXPECT_DOUBLE_EQ(cb["bins_at_least_percent"]["1x"].get<double>(), 25.0);  // chrB's bin of 4
  EXPECT_DOUBLE_EQ(cb["bins_at_least_percent"]["10x"].get<double>(), 0.0);
  ASSERT_EQ(cb["contigs_with_reads"].size(), 1u);
  EXPECT_EQ(cb["contigs_with_reads"][0]["name"], "chrB");
  EXPECT_DOUBLE_EQ(cb["contigs_with_reads"][0]["mean_depth"].get<double>(), 1.5);
  EXPECT_EQ(qc["coverage"]["aligned_bases"], 120);
  EXPECT_DOUBLE_EQ(qc["coverage"]["bins_at_least_percent"]["1x"].get<double>(), 25.0);
  EXPECT_EQ(qc["coverage"]["contigs_with_reads"].size(), 2u);
  EXPECT_FALSE(qc["coverage"]["depth_track"].empty());
  EXPECT_DOUBLE_EQ(ca["mean_depth"].get<double>() + cb["mean_depth"].get<double>(),
                   qc["coverage"]["mean_depth"].get<double>());

  // Overrepresented: % of the read group's reads; a sequence's counts add up to the sample's.
  const auto oa = OverrepresentedCounts((*a)["overrepresented"]);
  const auto ob = OverrepresentedCounts((*b)["overrepresented"]);
  const auto os = OverrepresentedCounts(qc["overrepresented"]);
  EXPECT_EQ(oa, (std::map<std::string, uint64_t>{{"ACGTACGTAA", 2}, {"TTGCATGCAA", 2}, {"GGGACCCTTA", 1},
                                                 {"CATCATCATC", 1}}));
  EXPECT_EQ((*a)["overrepresented"][0]["count"], 2);
  EXPECT_NEAR((*a)["overrepresented"][0]["percent"].get<double>(), 200.0 / 6, 1e-9);
  EXPECT_EQ(ob.size(), 8u);
  EXPECT_NEAR((*b)["overrepresented"][0]["percent"].get<double>(), 100.0 / 8, 1e-9);
  EXPECT_EQ(ob.at("ACGTACGTAA"), 1u);
  EXPECT_EQ(os.at("ACGTACGTAA"), 3u);
  for (const auto& [sequence, count] : os) {
    const uint64_t in_a = oa.count(sequence) ? oa.at(sequence) : 0, in_b = ob.count(sequence) ? ob.at(sequence) : 0;
    EXPECT_EQ(in_a + in_b, count) << sequence;
  }

  // The HTML read-groups table shows them.
  const std::string html = RenderQcHtml(metrics);
  for (const char* cell : {"<td rowspan=\"2\" class=\"rg-duplication\">33.33</td>",
                           "<td rowspan=\"2\" class=\"rg-insert-median\">100</td>",
                           "<td rowspan=\"2\" class=\"rg-insert-mean\">200.0</td>",
                           "<td rowspan=\"2\" class=\"rg-depth-contigs\">0.02</td>",
                           "<td rowspan=\"2\" class=\"rg-duplication\">0.00</td>",
                           "<td rowspan=\"2\" class=\"rg-insert-median\">20</td>",
                           "<td rowspan=\"2\" class=\"rg-insert-mean\">26.7</td>",
                           "<td rowspan=\"2\" class=\"rg-depth-contigs\">1.50</td>", "<th>insert size median</th>"})
    EXPECT_NE(html.find(cell), std::string::npos) << cell;
}

// With one read group, its figures are the sample's (the sample's depth track and method aside).
TEST(QcReadGroups, OneReadGroupHasTheSampleFigures) {
  std::vector<Rec> recs = TwoReadGroupRecords();
  for (auto& r : recs) r.rg = "rgA";
  const json qc = CollectWithHeader(kTwoContigHeader, recs);
  ASSERT_EQ(qc["read_groups"].size(), 1u);
  const json& g = qc["read_groups"][0];
  json dup = qc["duplication"], cov = qc["coverage"];
  dup.erase("method");
  cov.erase("depth_track");
  EXPECT_EQ(g["duplication"], dup);
  EXPECT_EQ(g["overrepresented"], qc["overrepresented"]);
  EXPECT_EQ(g["insert_size"], qc["insert_size"]);
  EXPECT_EQ(g["coverage"], cov);
  EXPECT_EQ(g["duplication"]["distinct_sampled"], 7);
  EXPECT_EQ(g["insert_size"]["pairs"], 6);
}

// A fragment repeated in another read group is a duplicate in the sample, in neither group.
TEST(QcReadGroups, DuplicatesAcrossReadGroupsCountOnlyInTheSample) {
  const QcMetrics metrics = CollectMetrics({{"a", BAM_FUNMAP, "ACGTTGCAAC", {}, "rg1"},
                                           {"b", BAM_FUNMAP, "ACGTTGCAAC", {}, "rg2"},
                                           {"c", BAM_FUNMAP, "ACGTTGCAAC", {}, "rg2"},
                                           {"d", BAM_FUNMAP, "GGGGTTTTAA", {}, "rg1"}});
  const json qc = QcMetricsJson(metrics);
  EXPECT_EQ(qc["duplication"]["distinct_sampled"], 2);
  EXPECT_EQ(qc["duplication"]["sampled_fragments"], 4);
  const json* g1 = FindGroup(qc, "rg1");
  const json* g2 = FindGroup(qc, "rg2");
  ASSERT_TRUE(g1 && g2);
  EXPECT_DOUBLE_EQ((*g1)["duplication"]["percent"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ((*g2)["duplication"]["percent"].get<double>(), 50.0);
  // Unplaced reads: no pairs, no coverage in either group.
  EXPECT_EQ((*g1)["insert_size"]["pairs"], 0);
  EXPECT_EQ((*g1)["coverage"]["aligned_bases"], 0);
  EXPECT_TRUE((*g1)["coverage"]["contigs_with_reads"].empty());
  const std::string html = RenderQcHtml(metrics);
  EXPECT_NE(html.find("class=\"rg-insert-median\">n/a</td>"), std::string::npos);
}

// 32-base sequence number `i` (distinct for distinct i), starting with `lead`.
std::string NumberedSequence(char lead, uint64_t i) {
  std::string s(32, 'A');
  s[0] = lead;
  for (size_t k = 1; k < s.size(); ++k, i >>= 2) s[k] = "ACGT"[i & 3];
  return s;
}

// Above the sampling limit of the sample (262,144 distinct fragments) but not of either read
// group: each read group still counts exactly, with its own sampling.
TEST(QcReadGroups, EachReadGroupSamplesOnItsOwn) {
  HeaderPtr header = TestHeader();
  auto collector = QcCollector::Create({}, header.get());
  ASSERT_TRUE(collector.ok());
  constexpr uint64_t kDistinct = 140000;
  for (uint64_t i = 0; i < kDistinct; ++i) {
    (*collector)->Add(Make({"a", BAM_FUNMAP, NumberedSequence('A', i), {}, "rg1"}).get());
    if (i % 10 == 0) (*collector)->Add(Make({"a", BAM_FUNMAP, NumberedSequence('A', i), {}, "rg1"}).get());
    (*collector)->Add(Make({"b", BAM_FUNMAP, NumberedSequence('C', i), {}, "rg2"}).get());
  }
  ASSERT_TRUE((*collector)->Finish().ok());
  const json& qc = (*collector)->Document();
  const json* g1 = FindGroup(qc, "rg1");
  const json* g2 = FindGroup(qc, "rg2");
  ASSERT_TRUE(g1 && g2);
  EXPECT_EQ((*g1)["duplication"]["sampled_fragments"], kDistinct + kDistinct / 10);
  EXPECT_EQ((*g1)["duplication"]["distinct_sampled"], kDistinct);
  EXPECT_DOUBLE_EQ((*g1)["duplication"]["sampling_fraction"].get<double>(), 1.0);
  EXPECT_NEAR((*g1)["duplication"]["percent"].get<double>(), 100.0 / 11, 1e-9);
  EXPECT_EQ((*g2)["duplication"]["distinct_sampled"], kDistinct);
  EXPECT_DOUBLE_EQ((*g2)["duplication"]["percent"].get<double>(), 0.0);
  // The sample is sampled (half the hash space), and its estimate stays near the true rate.
  EXPECT_DOUBLE_EQ(qc["duplication"]["sampling_fraction"].get<double>(), 0.5);
  EXPECT_NEAR(qc["summary"]["duplication_percent"].get<double>(), 100.0 * 14000 / 294000, 0.3);
}

// A read group already past the sampling limit when the second read group appears (e.g. a BAM
// that holds lane after lane) keeps its sampling: its figures equal those of its reads alone.
TEST(QcReadGroups, AReadGroupPastTheSamplingLimitKeepsItsFiguresWhenASecondAppears) {
  HeaderPtr header = TestHeader();
  auto run = [&](bool second_group) {
    auto collector = QcCollector::Create({}, header.get());
    EXPECT_TRUE(collector.ok());
    for (uint64_t i = 0; i < 280000; ++i) {
      (*collector)->Add(Make({"a", BAM_FUNMAP, NumberedSequence('A', i), {}, "rg1"}).get());
      if (i % 10 == 0) (*collector)->Add(Make({"a", BAM_FUNMAP, NumberedSequence('A', i), {}, "rg1"}).get());
    }
    if (second_group) (*collector)->Add(Make({"b", BAM_FUNMAP, NumberedSequence('C', 0), {}, "rg2"}).get());
    EXPECT_TRUE((*collector)->Finish().ok());
    return (*collector)->Document();
  };
  const json alone = run(false), both = run(true);
  ASSERT_EQ(both["read_groups"].size(), 2u);
  const json& g1 = both["read_groups"][0];
  EXPECT_DOUBLE_EQ(g1["duplication"]["sampling_fraction"].get<double>(), 0.5);
  EXPECT_EQ(g1["duplication"], alone["read_groups"][0]["duplication"]);
  EXPECT_EQ(g1["overrepresented"], alone["read_groups"][0]["overrepresented"]);
  EXPECT_NEAR(g1["duplication"]["percent"].get<double>(), 100.0 / 11, 0.3);
  EXPECT_EQ(both["read_groups"][1]["duplication"]["sampled_fragments"], 1);
  EXPECT_DOUBLE_EQ(both["read_groups"][1]["duplication"]["sampling_fraction"].get<double>(), 1.0);
}

// Coverage bins count in 32 bits and move to 64 bits where a bin passes 2^32 - 1: 4,294,968
// reads of 1,000 aligned bases on one bin (SEQ '*', so each read is cheap).
TEST(QcReadGroups, CoverageStaysExactPastThirtyTwoBits) {
  HeaderPtr header(sam_hdr_parse(std::strlen(kTwoContigHeader), kTwoContigHeader));
  auto collector = QcCollector::Create({}, header.get());
  ASSERT_TRUE(collector.ok());
  (*collector)->Add(Make({"b", 0, "ACGTACGTAC", {}, "rgB", 1, 0, "10M"}).get());
  const BamPtr read = Make({"a", 0, "", {}, "rgA", 0, 0, "1000M"});
  constexpr uint64_t kReads = 4294968;  // 4,294,968,000 bases > 2^32 - 1
  for (uint64_t i = 0; i < kReads; ++i) (*collector)->Add(read.get());
  ASSERT_TRUE((*collector)->Finish().ok());
  const json& qc = (*collector)->Document();
  const json* a = FindGroup(qc, "rgA");
  ASSERT_TRUE(a);
  EXPECT_EQ((*a)["coverage"]["aligned_bases"].get<uint64_t>(), kReads * 1000);
  EXPECT_EQ((*a)["coverage"]["contigs_with_reads"][0]["aligned_bases"].get<uint64_t>(), kReads * 1000);
  EXPECT_DOUBLE_EQ((*a)["coverage"]["bins_at_least_percent"]["100x"].get<double>(), 25.0);
  EXPECT_EQ(qc["coverage"]["aligned_bases"].get<uint64_t>(), kReads * 1000 + 10);
  EXPECT_DOUBLE_EQ(qc["coverage"]["contigs_with_reads"][0]["mean_depth"].get<double>(), kReads * 1000 / 2500.0);
  EXPECT_DOUBLE_EQ(qc["coverage"]["depth_track"][0][1].get<double>(), double(kReads));
}

}  // namespace
}  // namespace cramjet

namespace cramjet {
namespace {

// Records of every kind the collector treats apart, in three read groups that take turns: placed
// pairs (the second mate reverse) with mismatches, reads of two lengths, duplicates, adapters,
// unplaced pairs, reads without qualities, secondary and supplementary records.
std::vector<Rec> ManyMixedRecords(const std::string& contig) {
  std::vector<Rec> recs;
  auto bases = [&](size_t pos, size_t len, int mismatch_every) {
    std::string s = contig.substr(pos, len);
    for (size_t j = size_t(mismatch_every); j < s.size(); j += size_t(mismatch_every))
      s[j] = s[j] == 'A' ? 'C' : 'A';
    return s;
  };
  auto quals = [](size_t len, int seed) {
    std::vector<uint8_t> q(len);
    for (size_t j = 0; j < len; ++j) q[j] = uint8_t(2 + (size_t(seed) * 7 + j * 3) % 40);
    return q;
  };
  for (int i = 0; i < 12000; ++i) {
    const std::string rg = std::string("rg") + char('A' + (i / 1000) % 3);
    const int k = i % 10 == 9 ? i - 1 : i;  // every 10th pair a duplicate of the one before
    const size_t len = k % 7 == 0 ? 150 : 100;
    const size_t pos = size_t(k) % (contig.size() - 600);
    const std::string name = "pair" + std::to_string(i);
    if (i % 50 == 0) {
      std::string r1 = bases(pos, len, 1000);
      r1.replace(40, 12, "AGATCGGAAGAG");  // TruSeq adapter
      recs.push_back({name, BAM_FPAIRED | BAM_FREAD1 | BAM_FUNMAP | BAM_FMUNMAP, r1, quals(len, i), rg});
      recs.push_back({name, BAM_FPAIRED | BAM_FREAD2 | BAM_FUNMAP | BAM_FMUNMAP, bases(pos + 300, len, 1000), quals(len, i + 1), rg});
      continue;
    }
    Rec r1(name, BAM_FPAIRED | BAM_FPROPER_PAIR | BAM_FREAD1 | BAM_FMREVERSE, bases(pos, len, 23 + k % 5),
           i % 500 == 1 ? std::vector<uint8_t>(len, 0xff) : quals(len, i), rg, 0, int64_t(pos),
           std::to_string(len) + "M");
    r1.mtid = 0;
    r1.mpos = int64_t(pos + 200);
    r1.isize = int64_t(200 + len);
    Rec r2(name, BAM_FPAIRED | BAM_FPROPER_PAIR | BAM_FREAD2 | BAM_FREVERSE, bases(pos + 200, len, 31),
           quals(len, i + 3), rg, 0, int64_t(pos + 200), "20M1I" + std::to_string(len - 21) + "M");
    r2.mtid = 0;
    r2.mpos = int64_t(pos);
    r2.isize = -r1.isize;
    recs.push_back(r1);
    recs.push_back(r2);
    if (i % 97 == 0) {
      Rec secondary = r1;
      secondary.flag |= BAM_FSECONDARY;
      recs.push_back(secondary);
    }
    if (i % 131 == 0) {
      Rec supplementary = r2;
      supplementary.flag |= BAM_FSUPPLEMENTARY;
      recs.push_back(supplementary);
    }
  }
  return recs;
}

TEST(QcThreads, TheDocumentIsTheSameAtEveryWorkerCount) {
  TempDir dir;
  std::mt19937 rng(11);
  std::string contig;
  for (int i = 0; i < 20000; ++i) contig.push_back("ACGT"[rng() % 4]);
  testing::WriteFile(dir / "ref.fa", ">chrT\n" + contig + "\n");
  const std::string header = "@HD\tVN:1.6\n@SQ\tSN:chrT\tLN:20000\n@RG\tID:rgA\tSM:S1\n"
                             "@RG\tID:rgB\tSM:S1\n@RG\tID:rgC\tSM:S1\n";
  const std::vector<Rec> recs = ManyMixedRecords(contig);
  std::string first;
  for (int threads : {1, 2, 3, 8}) {
    QcOptions options;
    options.reference = dir / "ref.fa";
    options.threads = threads;
    const json qc = CollectWithHeader(header, recs, options);
    if (threads == 1) {
      // What the comparison rests on: every kind of figure is there and not zero.
      ASSERT_EQ(qc["read_groups"].size(), 3u);
      EXPECT_EQ(qc["samtools_stats"]["reads_mapped"].get<uint64_t>() > 0, true);
      EXPECT_GT(qc["mates"]["read1"]["placed"]["mismatches"].get<uint64_t>(), 0u);
      EXPECT_GT(qc["mates"]["read2"]["placed"]["mismatches"].get<uint64_t>(), 0u);
      EXPECT_GT(qc["summary"]["duplication_percent"].get<double>(), 0.0);
      first = qc.dump();
      continue;
    }
    EXPECT_EQ(qc.dump(), first) << threads << " workers";
  }
}

// Issue 16: the per-read GC histogram in 1 % bins aliased for 150-base reads (a zig-zag that
// failed the GC check of every 150 bp run); spread as FastQC does, the same genome gives the same
// shape at 100, 101, 150 and 151 bases, and passes.
TEST(QcCollector, GcDistributionDoesNotDependOnReadLength) {
  std::mt19937 rng(20261207);
  std::string genome(300000, 'A');
  for (char& c : genome) c = "ACGT"[rng() % 4];
  std::map<size_t, std::array<double, 101>> shapes;
  for (size_t length : {100, 101, 150, 151}) {
    std::vector<Rec> reads;
    for (int i = 0; i < 20000; ++i)
      reads.push_back({"r" + std::to_string(i), BAM_FUNMAP, genome.substr(rng() % (genome.size() - length), length)});
    const QcMetrics m = CollectMetrics(reads);
    double deviation = -1;
    for (const auto& check : m.checks)
      if (check.key == "gc_deviation_percent") deviation = check.value;
    EXPECT_GE(deviation, 0) << length;
    EXPECT_LT(deviation, 10) << length << " bp reads: off the normal GC distribution";
    double total = 0;
    for (double reads_in_bin : m.all.gc_histogram) total += reads_in_bin;
    EXPECT_NEAR(total, 20000, 20000 * 0.02) << length;  // about one per read (accumulators.cc)
    for (size_t bin = 0; bin < 101; ++bin) shapes[length][bin] = m.all.gc_histogram[bin] / total;
    // No zig-zag: within 40-60 % every bin holds at least half of its neighbours' mean.
    for (size_t bin = 41; bin < 60; ++bin) {
      const auto& h = shapes[length];
      EXPECT_GE(h[bin], 0.5 * (h[bin - 1] + h[bin + 1]) / 2) << length << " bp, bin " << bin;
    }
  }
  auto distance = [&](size_t a, size_t b) {
    double d = 0;
    for (size_t bin = 0; bin < 101; ++bin) d += std::fabs(shapes[a][bin] - shapes[b][bin]);
    return d;
  };
  // 20,000 reads in ~30 bins: sampling alone gives ~0.05; the aliased 150 bp shape was ~0.5 off.
  EXPECT_LT(distance(100, 101), 0.12);
  EXPECT_LT(distance(150, 151), 0.12);
  std::printf("GC shape L1 distance: 100/101 %.3f, 150/151 %.3f, 100/150 %.3f\n", distance(100, 101),
              distance(150, 151), distance(100, 150));
}

}  // namespace
}  // namespace cramjet
