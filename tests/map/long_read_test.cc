// Long reads (issue 11, item 4): ONT R9.4.1- and R10.4.1-like, PacBio HiFi and CLR reads
// simulated by pbsim from GRCh38 chr2:1-2.33 Mb (real repeats), truth in pbsim's MAF (a side
// file; names carry no position). cramjet's long-read path and the minimap2 command with the same
// preset map the same reads in this run: placed-correctly within 1 point, and the same CIGARs.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <algorithm>
#include <mutex>
#include <unordered_map>

#include <gtest/gtest.h>
#include <htslib/sam.h>

#include "backend/backend.h"
#include "common/test_util.h"
#include "cramjet/log.h"
#include "map/map.h"
#include "map/placement.h"
#include "map_test_util.h"

namespace cramjet {
namespace {

struct Span {
  std::string contig;
  int64_t start = 0, end = 0;
  bool reverse = false;
};

// pbsim's MAF: per read an "a" block, the reference line ("s chr2 START SIZE + ...") then the
// read line ("s S1_7 0 LEN STRAND ..."): the read's true interval and strand.
std::unordered_map<std::string, Span> ReadMaf(const std::string& path) {
  std::unordered_map<std::string, Span> truth;
  std::ifstream in(path);
  std::string line;
  Span ref;
  bool have_ref = false;
  while (std::getline(in, line)) {
    if (line.rfind("s ", 0) != 0) continue;
    std::istringstream f(line.substr(2));
    std::string name, strand;
    int64_t start = 0, size = 0;
    f >> name >> start >> size >> strand;
    if (!have_ref) {
      ref = {name, start, start + size, false};
      have_ref = true;
    } else {
      ref.reverse = strand == "-";
      truth[name] = ref;
      have_ref = false;
    }
  }
  return truth;
}

struct Score {
  uint64_t reads = 0, placed = 0, correct = 0;
  double correct_pct() const { return 100.0 * correct / reads; }
};

// Correct: right contig and strand, overlapping at least half of the true interval.
void Judge(const std::unordered_map<std::string, Span>& truth, const std::string& contig, const bam1_t* b, Score& s) {
  const auto it = truth.find(bam_get_qname(b));
  ASSERT_NE(it, truth.end()) << bam_get_qname(b);
  ++s.reads;
  if (b->core.flag & BAM_FUNMAP) return;
  ++s.placed;
  const Span& t = it->second;
  const int64_t overlap = std::min(t.end, bam_endpos(b)) - std::max(t.start, b->core.pos);
  if (contig == t.contig && ((b->core.flag & BAM_FREVERSE) != 0) == t.reverse && 2 * overlap >= t.end - t.start)
    ++s.correct;
}

std::string Cigar(const bam1_t* b) { return testing::CigarOf(b); }

struct Kind {
  const char* name;
  LongReadPreset preset;
  const char* pbsim_args;
};

class LongReadTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string shared = testing::SharedPath("human-chr2-grch38-2mb/hg38_chr2_1-2333275.fa.gz");
    if (!testing::PathExists(shared) || std::system("command -v pbsim >/dev/null && command -v minimap2 >/dev/null") != 0)
      return;
    dir_ = new testing::TempDir();
    fasta_ = *dir_ / "chr2.fa";
    if (testing::RunShell("zcat " + testing::ShellQuote(shared) + " | grep -v '^$' > " + testing::ShellQuote(fasta_)).exit_code != 0 ||
        !ReferenceIndex::Build(fasta_, 2).ok())
      return;
    auto index = ReferenceIndex::Open(fasta_);
    if (index.ok()) index_ = std::move(index).value().release();
  }
  static void TearDownTestSuite() {
    delete index_;
    delete dir_;
    index_ = nullptr;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (!index_) GTEST_SKIP() << "needs ../shared/data/human-chr2-grch38-2mb, pbsim and minimap2 (scripts/setup-debian.sh)";
  }

  // Simulates one kind, maps it both ways, compares.
  void RunKind(const Kind& kind) {
    const std::string prefix = *dir_ / kind.name;
    const auto sim = testing::RunShell("pbsim --prefix " + testing::ShellQuote(prefix) + " " + kind.pbsim_args +
                                       " --model_qc /usr/share/pbsim/models/model_qc_clr --seed 20261203 " +
                                       testing::ShellQuote(fasta_));
    ASSERT_EQ(sim.exit_code, 0) << sim.err;
    const std::string fastq = prefix + "_0001.fastq";
    const auto truth = ReadMaf(prefix + "_0001.maf");
    ASSERT_GT(truth.size(), 100u);

    auto backend = CreateBackend(AccelKind::kScalar);
    ASSERT_TRUE(backend.ok());
    MapOptions options;
    options.long_reads = kind.preset;
    options.long_read_index_threads = 2;
    auto mapper = Mapper::Create(*index_, **backend, options);
    ASSERT_TRUE(mapper.ok()) << mapper.status().ToString();
    const std::vector<BamPtr> records = testing::LoadFastq(fastq, SIZE_MAX);
    ASSERT_EQ(records.size(), truth.size());
    ReadBatch batch = testing::CopyToBatch(records, 0, records.size());
    MapBuffer buffer;
    ASSERT_TRUE((*mapper)->MapBatch(batch, buffer).ok());
    Score ours;
    std::unordered_map<std::string, std::string> our_cigar;
    for (size_t i = 0; i < batch.size; ++i) {
      const bam1_t* b = batch[i];
      const bool placed = !(b->core.flag & BAM_FUNMAP);
      Judge(truth, placed ? index_->contig_name(b->core.tid) : "", b, ours);
      if (placed) {
        our_cigar[bam_get_qname(b)] = Cigar(b);
        // The record stays whole: CIGAR covers every base, SEQ and QUAL as long as before.
        EXPECT_EQ(bam_cigar2qlen(b->core.n_cigar, bam_get_cigar(b)), b->core.l_qseq) << bam_get_qname(b);
      }
    }
    EXPECT_EQ((*mapper)->stats().placed, ours.placed);

    const auto mm = testing::RunShell("minimap2 -a -x " + std::string(Minimap2PresetName(kind.preset)) + " -t 2 " +
                                      testing::ShellQuote(fasta_) + " " + testing::ShellQuote(fastq) + " > " +
                                      testing::ShellQuote(prefix + ".mm.sam"));
    ASSERT_EQ(mm.exit_code, 0) << mm.err;
    Score theirs;
    uint64_t same_cigar = 0, both_placed = 0;
    testing::ForEachPrimary(prefix + ".mm.sam", [&](sam_hdr_t* h, const bam1_t* b) {
      const bool placed = !(b->core.flag & BAM_FUNMAP);
      Judge(truth, placed ? sam_hdr_tid2name(h, b->core.tid) : "", b, theirs);
      if (!placed) return;
      const auto it = our_cigar.find(bam_get_qname(b));
      if (it == our_cigar.end()) return;
      ++both_placed;
      // minimap2 writes SEQ whole with soft clips for its primary record too.
      same_cigar += it->second == Cigar(b);
    });
    ASSERT_EQ(theirs.reads, ours.reads);
    std::printf("%-8s %4llu reads: cramjet placed %5.1f%% correct %5.1f%% | minimap2 -x %s placed %5.1f%% correct %5.1f%% | same CIGAR %llu of %llu\n",
                kind.name, static_cast<unsigned long long>(ours.reads), 100.0 * ours.placed / ours.reads, ours.correct_pct(),
                Minimap2PresetName(kind.preset), 100.0 * theirs.placed / theirs.reads, theirs.correct_pct(),
                static_cast<unsigned long long>(same_cigar), static_cast<unsigned long long>(both_placed));
    EXPECT_GT(theirs.correct_pct(), 90.0) << "the truth or the judge is off: minimap2 itself scores low";
    EXPECT_GE(ours.correct_pct(), theirs.correct_pct() - 1.0);
    // Same library, same preset: the same alignments, so no more CIGAR bytes than the peer's.
    EXPECT_GE(same_cigar * 100, both_placed * 99);
  }

  static testing::TempDir* dir_;
  static std::string fasta_;
  static ReferenceIndex* index_;
};
testing::TempDir* LongReadTest::dir_;
std::string LongReadTest::fasta_;
ReferenceIndex* LongReadTest::index_;

// Lengths 100 bp to 120 kb; accuracy and substitution:insertion:deletion ratios after the
// published error profiles of each chemistry.
TEST_F(LongReadTest, OntR941PlacedLikeMinimap2) {
  RunKind({"ont_r9", LongReadPreset::kOnt,
           "--data-type CLR --depth 1.5 --length-min 100 --length-mean 8000 --length-sd 7000 --length-max 120000 "
           "--accuracy-mean 0.90 --accuracy-sd 0.05 --accuracy-min 0.75 --difference-ratio 23:31:46"});
}
TEST_F(LongReadTest, OntR1041PlacedLikeMinimap2) {
  RunKind({"ont_r10", LongReadPreset::kOnt,
           "--data-type CLR --depth 1.5 --length-min 100 --length-mean 8000 --length-sd 7000 --length-max 120000 "
           "--accuracy-mean 0.97 --accuracy-sd 0.02 --accuracy-min 0.85 --difference-ratio 40:25:35"});
}
TEST_F(LongReadTest, PacBioHifiPlacedLikeMinimap2) {
  RunKind({"hifi", LongReadPreset::kHifi,
           "--data-type CLR --depth 2 --length-min 1000 --length-mean 12000 --length-sd 3000 --length-max 25000 "
           "--accuracy-mean 0.995 --accuracy-sd 0.003 --accuracy-min 0.99 --difference-ratio 6:21:73"});
}
TEST_F(LongReadTest, PacBioClrPlacedLikeMinimap2) {
  RunKind({"clr", LongReadPreset::kClr,
           "--data-type CLR --depth 1.5 --length-min 100 --length-mean 8000 --length-sd 6000 --length-max 60000 "
           "--accuracy-mean 0.85 --accuracy-sd 0.05 --accuracy-min 0.75 --difference-ratio 10:60:30"});
}

// minimap2's index of a genome takes minutes to build: it is cached beside the FASTA. The first
// mapper builds and writes it (whole, no temporary left), the next loads it and places the same
// reads the same way, and a FASTA newer than the cache makes it be built again.
TEST_F(LongReadTest, Minimap2sIndexIsCachedBesideTheFastaAndBuiltAgainWhenStale) {
  testing::TempDir dir;
  const std::string fasta = dir / "chr2.fa";
  ASSERT_EQ(testing::RunShell("cp " + testing::ShellQuote(fasta_) + " " + testing::ShellQuote(fasta)).exit_code, 0);
  ASSERT_TRUE(ReferenceIndex::Build(fasta, 2).ok());
  auto index = ReferenceIndex::Open(fasta);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  // Reads cut from the reference itself, 4 kb each.
  const std::string genome = testing::RunShell("grep -v '^>' " + testing::ShellQuote(fasta) + " | tr -d '\\n'").out;
  ASSERT_GT(genome.size(), 2000000u);
  std::string fastq;
  for (int i = 0; i < 20; ++i)
    fastq += "@read" + std::to_string(i) + "\n" + genome.substr(50000 + 100000 * static_cast<size_t>(i), 4000) + "\n+\n" +
             std::string(4000, 'I') + "\n";
  testing::WriteFile(dir / "reads.fq", fastq);
  const std::vector<BamPtr> records = testing::LoadFastq(dir / "reads.fq", SIZE_MAX);
  std::vector<std::string> said;
  std::mutex mu;
  SetLogSink([&](LogLevel, std::string_view message) {
    std::lock_guard<std::mutex> lock(mu);
    said.emplace_back(message);
  });
  const LogLevel saved_level = GetLogLevel();
  SetLogLevel(LogLevel::kInfo);
  auto backend = CreateBackend(AccelKind::kScalar);
  ASSERT_TRUE(backend.ok());
  MapOptions options;
  options.long_reads = LongReadPreset::kOnt;
  auto place = [&](std::string* how) {
    said.clear();
    auto mapper = Mapper::Create(**index, **backend, options);
    EXPECT_TRUE(mapper.ok()) << mapper.status().ToString();
    std::string out;
    if (!mapper.ok()) return out;
    ReadBatch batch = testing::CopyToBatch(records, 0, records.size());
    MapBuffer buffer;
    EXPECT_TRUE((*mapper)->MapBatch(batch, buffer).ok());
    for (size_t i = 0; i < batch.size; ++i)
      out += std::to_string(batch[i]->core.tid) + ":" + std::to_string(batch[i]->core.pos) + ":" + Cigar(batch[i]) + " ";
    for (const std::string& line : said)
      if (line.rfind("long reads: minimap2 -x map-ont index of", 0) == 0) *how = line;
    return out;
  };
  const std::string cache = LongReadIndexCachePath(fasta, LongReadPreset::kOnt);
  EXPECT_EQ(cache, fasta + ".map-ont.mmi");
  std::string how;
  const std::string built = place(&how);
  EXPECT_NE(how.find("' built and cached in "), std::string::npos) << how;
  EXPECT_TRUE(testing::PathExists(cache));
  for (const std::string& name : testing::ListDir(dir.path())) EXPECT_EQ(name.find(".tmp."), std::string::npos) << name;
  EXPECT_EQ(std::count(built.begin(), built.end(), ' '), 20);
  EXPECT_EQ(built.find("-1:"), std::string::npos) << "every cut read is placed: " << built;

  const std::string loaded = place(&how);
  EXPECT_NE(how.find("' loaded from the cache in "), std::string::npos) << how;
  EXPECT_EQ(loaded, built);

  // The FASTA edited after the cache was made (here: touched 10 s into the future).
  ASSERT_EQ(testing::RunShell("touch -d '+10 seconds' " + testing::ShellQuote(fasta)).exit_code, 0);
  const std::string rebuilt = place(&how);
  EXPECT_NE(how.find("' built and cached in "), std::string::npos) << how;
  EXPECT_EQ(rebuilt, built);
  SetLogSink(nullptr);
  SetLogLevel(saved_level);
}

TEST(LongReadPresetTest, ParsesTheFourNamesAndRefusesOthers) {
  EXPECT_EQ(*ParseLongReadPreset("ont"), LongReadPreset::kOnt);
  EXPECT_EQ(*ParseLongReadPreset("hifi"), LongReadPreset::kHifi);
  EXPECT_EQ(*ParseLongReadPreset("clr"), LongReadPreset::kClr);
  EXPECT_EQ(*ParseLongReadPreset("none"), LongReadPreset::kNone);
  const auto bad = ParseLongReadPreset("nanopore");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "--long-reads 'nanopore': expected none, ont, hifi or clr");
  EXPECT_STREQ(Minimap2PresetName(LongReadPreset::kHifi), "map-hifi");
}

}  // namespace
}  // namespace cramjet
