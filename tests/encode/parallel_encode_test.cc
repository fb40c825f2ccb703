// Deterministic parallel CRAM encoding (host/encode/encode.h): the same bytes at every thread count,
// one valid file that samtools and htslib read as a single writer's, chunk boundaries, unsorted
// input, and failures. Synthetic records first (every boundary on purpose), then real sets
// through the CLI.
#include <gtest/gtest.h>
#include <htslib/sam.h>

#include <sys/resource.h>

#include <algorithm>
#include <csignal>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/common.h"
#include "encode/encode.h"
#include "encode/stitch_internal.h"
#include "common/test_util.h"

namespace cramjet {
namespace {

using testing::ReadFile;
using testing::RunShell;
using testing::ShellQuote;
using testing::TempDir;

const char* const kContigs[] = {"c1", "c2", "c3"};
constexpr int kContigLength = 3000;
constexpr int kReadLength = 60;

// A small genome of three random contigs, written to `dir/ref.fa`.
struct Genome {
  std::string path;
  std::vector<std::string> seq;
};

Genome MakeGenome(const TempDir& dir) {
  Genome g;
  g.path = dir / "ref.fa";
  std::mt19937 rng(7);
  std::string fasta;
  for (const char* name : kContigs) {
    std::string s;
    for (int i = 0; i < kContigLength; ++i) s.push_back("ACGT"[rng() % 4]);
    fasta += std::string(">") + name + "\n" + s + "\n";
    g.seq.push_back(s);
  }
  testing::WriteFile(g.path, fasta);
  return g;
}

HeaderPtr MakeHeader(const Genome& g) {
  std::string text = "@HD\tVN:1.6\tSO:coordinate\n";
  for (const char* name : kContigs)
    text += std::string("@SQ\tSN:") + name + "\tLN:" + std::to_string(kContigLength) + "\n";
  text += "@RG\tID:rg1\tSM:s\n";
  HeaderPtr h(sam_hdr_parse(text.size(), text.c_str()));
  std::vector<std::string> unusable;
  EXPECT_TRUE(PrepareReference(g.path, h.get(), "test", &unusable).ok());
  return h;
}

// A read at `pos` on contig `tid` (a copy of the reference with one mismatch), or unplaced (tid -1).
BamPtr MakeRead(const Genome& g, int n, int tid, int64_t pos) {
  BamPtr b = NewBam();
  std::string name = "read" + std::to_string(n);
  std::string seq = tid >= 0 ? g.seq[static_cast<size_t>(tid)].substr(static_cast<size_t>(pos), kReadLength)
                             : g.seq[0].substr(static_cast<size_t>(n % 100), kReadLength);
  seq[static_cast<size_t>(n % kReadLength)] = seq[static_cast<size_t>(n % kReadLength)] == 'A' ? 'C' : 'A';
  std::string qual(kReadLength, 0);
  for (int i = 0; i < kReadLength; ++i) qual[static_cast<size_t>(i)] = static_cast<char>(2 + (n * 7 + i) % 38);
  uint32_t cigar = bam_cigar_gen(kReadLength, BAM_CMATCH);
  const bool placed = tid >= 0;
  EXPECT_GE(bam_set1(b.get(), name.size(), name.c_str(), placed ? 0 : BAM_FUNMAP, tid, placed ? pos : -1,
                     placed ? 60 : 0, placed ? 1 : 0, &cigar, -1, -1, 0, seq.size(), seq.c_str(),
                     qual.c_str(), 16),
            0);
  EXPECT_EQ(bam_aux_append(b.get(), "RG", 'Z', 4, reinterpret_cast<const uint8_t*>("rg1")), 0);
  return b;
}

// `per_contig[i]` sorted reads on contig i, then `unplaced` unplaced reads.
std::vector<BamPtr> MakeReads(const Genome& g, std::vector<int> per_contig, int unplaced) {
  std::vector<BamPtr> reads;
  int n = 0;
  for (size_t tid = 0; tid < per_contig.size(); ++tid)
    for (int i = 0; i < per_contig[tid]; ++i)
      reads.push_back(MakeRead(g, n++, static_cast<int>(tid),
                               static_cast<int64_t>(i) * (kContigLength - kReadLength) / std::max(1, per_contig[tid])));
  for (int i = 0; i < unplaced; ++i) reads.push_back(MakeRead(g, n++, -1, -1));
  return reads;
}

struct Written {
  Status status;
  std::string bytes;
  CramWriter::Stats stats;
};

Written WriteWithCramWriter(const TempDir& dir, const Genome& g, const std::vector<BamPtr>& reads,
                            int threads, CramProfile profile, uint32_t container_records,
                            const std::string& name = "out.cram", bool tell_count = false) {
  Written w;
  HeaderPtr h = MakeHeader(g);
  EncodeOptions o;
  o.reference = g.path;
  o.profile = profile;
  o.threads = threads;
  o.container_records = container_records;
  o.command_line = "test";
  o.file_name = "out.cram";
  const std::string path = dir / name;
  auto writer = CramWriter::Open(path, h.get(), o);
  if (!writer.ok()) {
    w.status = writer.status();
    return w;
  }
  if (tell_count) {
    w.status = (*writer)->SetRecordCount(reads.size());
    if (!w.status.ok()) return w;
  }
  for (const auto& r : reads) {
    w.status = (*writer)->Write(r.get());
    if (!w.status.ok()) return w;
  }
  w.status = (*writer)->Close();
  w.stats = (*writer)->stats();
  w.bytes = ReadFile(path);
  return w;
}

// The same records written by one plain htslib writer, for comparison.
void WriteWithHtslib(const std::string& path, const Genome& g, const std::vector<BamPtr>& reads) {
  HeaderPtr h = MakeHeader(g);
  HtsFilePtr fp(hts_open(path.c_str(), "wc"));
  ASSERT_TRUE(fp);
  ASSERT_EQ(hts_set_fai_filename(fp.get(), g.path.c_str()), 0);
  hts_set_opt(fp.get(), CRAM_OPT_STORE_MD, 1);
  hts_set_opt(fp.get(), CRAM_OPT_STORE_NM, 1);
  ASSERT_EQ(sam_hdr_write(fp.get(), h.get()), 0);
  for (const auto& r : reads) ASSERT_GE(sam_write1(fp.get(), h.get(), r.get()), 0);
}

std::string SamtoolsRecords(const std::string& path, const std::string& extra = "") {
  auto r = RunShell("samtools view " + extra + " " + ShellQuote(path));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

// Walks the containers after the preamble: each record counter must be the number of records
// before it; returns the number of data containers (the EOF one excluded). `sizes`, when given,
// gets each data container's record count.
size_t CheckRecordCounters(const std::string& bytes, uint64_t expect_records,
                           std::vector<uint64_t>* sizes = nullptr) {
  auto pre = cram_bytes::PreambleLength(bytes);
  EXPECT_TRUE(pre.ok());
  if (!pre.ok()) return 0;
  size_t pos = *pre, containers = 0;
  uint64_t records = 0;
  for (;;) {
    auto h = cram_bytes::ParseContainerHeader(bytes, pos);
    EXPECT_TRUE(h.ok()) << "at byte " << pos;
    if (!h.ok()) return containers;
    pos += h->header_size + static_cast<size_t>(h->length);
    if (cram_bytes::IsEofContainer(*h)) break;
    EXPECT_EQ(h->record_counter, records) << "container " << containers;
    records += h->num_records;
    if (sizes) sizes->push_back(h->num_records);
    ++containers;
  }
  EXPECT_EQ(pos, bytes.size()) << "bytes after the EOF container";
  EXPECT_EQ(records, expect_records);
  return containers;
}

class ParallelEncode : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::ToolAvailable("samtools")) GTEST_SKIP() << "samtools not installed";
    genome_ = MakeGenome(dir_);
  }
  TempDir dir_;
  Genome genome_;
};

TEST_F(ParallelEncode, SameBytesAtEveryThreadCountAndProfile) {
  // 7-record containers: contig 1 ends mid-chunk, contig 2 on a chunk boundary (exactly 3 * 7),
  // contig 3 in one short chunk, then an unplaced tail.
  auto reads = MakeReads(genome_, {40, 21, 5}, 17);
  for (CramProfile p : {CramProfile::kFast, CramProfile::kNormal, CramProfile::kSmall, CramProfile::kArchive}) {
    Written one = WriteWithCramWriter(dir_, genome_, reads, 1, p, 7);
    ASSERT_TRUE(one.status.ok()) << one.status.ToString();
    for (int threads : {2, 3, 8}) {
      Written many = WriteWithCramWriter(dir_, genome_, reads, threads, p, 7);
      ASSERT_TRUE(many.status.ok()) << many.status.ToString();
      EXPECT_TRUE(many.bytes == one.bytes) << CramProfileName(p) << " at " << threads << " threads";
    }
    // Chunks: 6 on c1 (5 full + 5 records), 3 on c2, 1 on c3, 3 unplaced (7 + 7 + 3).
    EXPECT_EQ(one.stats.chunks, 13u);
    EXPECT_EQ(CheckRecordCounters(one.bytes, reads.size()), 13u) << "one container per chunk";
  }
}

// Known digests (the mapper index's) are used as given instead of reading and hashing the
// contig; contigs without one are hashed; a known digest still has to agree with the header's M5.
TEST(PrepareReference, KnownDigestsAreUsedAndStillCheckedAgainstTheHeader) {
  TempDir dir;
  const Genome g = MakeGenome(dir);
  auto header_of = [](const std::string& extra) {
    std::string text = "@HD\tVN:1.6\tSO:coordinate\n";
    for (const char* name : kContigs)
      text += std::string("@SQ\tSN:") + name + "\tLN:" + std::to_string(kContigLength) +
              (std::string(name) == "c2" ? extra : "") + "\n";
    return HeaderPtr(sam_hdr_parse(text.size(), text.c_str()));
  };
  auto m5_of = [](sam_hdr_t* h, const char* name) {
    kstring_t ks = {0, 0, nullptr};
    std::string v;
    if (sam_hdr_find_tag_id(h, "SQ", "SN", name, "M5", &ks) == 0) v = ks.s;
    free(ks.s);
    return v;
  };
  std::vector<std::string> unusable;
  HeaderPtr hashed = header_of("");
  ASSERT_TRUE(PrepareReference(g.path, hashed.get(), "test", &unusable).ok());
  const std::string real_c1 = m5_of(hashed.get(), "c1"), real_c2 = m5_of(hashed.get(), "c2");
  ASSERT_EQ(real_c1.size(), 32u);
  // A digest that is not c1's: taken as given, so the contig was not read again; c2 is hashed.
  const std::unordered_map<std::string, std::string> known = {{"c1", std::string(32, 'a')}};
  HeaderPtr trusted = header_of("");
  ASSERT_TRUE(PrepareReference(g.path, trusted.get(), "test", &unusable, &known).ok());
  EXPECT_EQ(m5_of(trusted.get(), "c1"), std::string(32, 'a'));
  EXPECT_EQ(m5_of(trusted.get(), "c2"), real_c2);
  // The header's own M5 still has to match the (known) digest.
  const std::unordered_map<std::string, std::string> known_c2 = {{"c2", std::string(32, 'b')}};
  HeaderPtr mismatch = header_of("\tM5:" + real_c2);
  const Status refused = PrepareReference(g.path, mismatch.get(), "in.sam", &unusable, &known_c2);
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.message().find("contig 'c2' has MD5 bbbb"), std::string::npos) << refused.message();
}

TEST(EncodeLanes, FewerLanesWhereTheirCodecTrialsWouldCostMoreThanTheyGive) {
  // normal: a lane from the first container on; small: 16 containers a lane; archive: 32.
  EXPECT_EQ(LanesFor(CramProfile::kNormal, 0, 0), 1);
  EXPECT_EQ(LanesFor(CramProfile::kNormal, 0, 30000), 3);
  EXPECT_EQ(LanesFor(CramProfile::kNormal, 0, 928000), kEncodeLanes);
  EXPECT_EQ(LanesFor(CramProfile::kFast, 0, 80001), kEncodeLanes);
  EXPECT_EQ(LanesFor(CramProfile::kSmall, 0, 928000), 2);      // 38 containers
  EXPECT_EQ(LanesFor(CramProfile::kSmall, 0, 25000ull * 16 * 9), kEncodeLanes);
  EXPECT_EQ(LanesFor(CramProfile::kArchive, 0, 928000), 1);    // 10 containers
  EXPECT_EQ(LanesFor(CramProfile::kArchive, 0, 800000000), kEncodeLanes);
  EXPECT_EQ(LanesFor(CramProfile::kArchive, 1000, 100000), 3);  // --container-records counts
}

TEST(EncodeLanes, EachLanesFirstChunksAreCutSmallerForTheCodecTrials) {
  // A quarter of the container, no smaller than the normal profile's 10,000 records.
  EXPECT_EQ(ChunkRuleFor(CramProfile::kNormal).trial_records, 10000u);
  EXPECT_EQ(ChunkRuleFor(CramProfile::kNormal).max_records, 10000u);
  EXPECT_EQ(ChunkRuleFor(CramProfile::kSmall).trial_records, 10000u);
  EXPECT_EQ(ChunkRuleFor(CramProfile::kSmall).max_records, 25000u);
  EXPECT_EQ(ChunkRuleFor(CramProfile::kArchive).trial_records, 25000u);
  EXPECT_EQ(ChunkRuleFor(CramProfile::kArchive).trial_bases, 500u * 25000u);
  EXPECT_EQ(ChunkRuleFor(CramProfile::kArchive).max_records, 100000u);
  EXPECT_EQ(ChunkRuleFor(CramProfile::kNormal, 7).trial_records, 7u);
  EXPECT_EQ(ChunkRuleFor(CramProfile::kNormal, 50000).trial_records, 12500u);
}

TEST_F(ParallelEncode, EachLanesFirstContainersAreTrialSizedWithTheSameBytesAtEveryThreadCount) {
  // 40,000-record containers: trial chunks of 10,000, for files of more than 4 containers.
  auto large = MakeReads(genome_, {130000, 40000}, 0);
  auto small = MakeReads(genome_, {50000, 20000}, 0);
  struct Case {
    CramProfile profile;
    const std::vector<BamPtr>* reads;
    int lanes;
    std::vector<uint64_t> containers;
  };
  const Case cases[] = {
      // One lane (5 containers' worth, archive wants 32 a lane): two trial chunks, then full ones;
      // contig c1 ends after 130,000 records.
      {CramProfile::kArchive, &large, 1, {10000, 10000, 40000, 40000, 30000, 40000}},
      // Five lanes: each lane's first two chunks are trial-sized.
      {CramProfile::kNormal, &large, 5, {10000, 10000, 10000, 10000, 10000, 10000, 10000, 10000, 10000, 10000,
                                         30000, 40000}},
      // Under 4 containers' worth: full containers only (c1 ends after 50,000 records).
      {CramProfile::kArchive, &small, 1, {40000, 10000, 20000}},
  };
  for (const Case& c : cases) {
    const auto& reads = *c.reads;
    Written one = WriteWithCramWriter(dir_, genome_, reads, 1, c.profile, 40000, "out.cram", true);
    ASSERT_TRUE(one.status.ok()) << one.status.ToString();
    EXPECT_EQ(one.stats.lanes, c.lanes);
    std::vector<uint64_t> sizes;
    CheckRecordCounters(one.bytes, reads.size(), &sizes);
    EXPECT_EQ(sizes, c.containers) << CramProfileName(c.profile);
    Written two = WriteWithCramWriter(dir_, genome_, reads, 2, c.profile, 40000, "two.cram", true);
    ASSERT_TRUE(two.status.ok()) << two.status.ToString();
    EXPECT_TRUE(two.bytes == one.bytes) << CramProfileName(c.profile);
    WriteWithHtslib(dir_ / "single.cram", genome_, reads);
    EXPECT_EQ(SamtoolsRecords(dir_ / "out.cram"), SamtoolsRecords(dir_ / "single.cram"));
  }
}

TEST_F(ParallelEncode, ARecordCountPlansTheLanesWithTheSameBytesAtEveryThreadCount) {
  auto reads = MakeReads(genome_, {40, 21, 5}, 17);  // 66 records: 10 chunks of 7
  for (CramProfile p : {CramProfile::kNormal, CramProfile::kArchive}) {
    Written one = WriteWithCramWriter(dir_, genome_, reads, 1, p, 7, "out.cram", true);
    ASSERT_TRUE(one.status.ok()) << one.status.ToString();
    EXPECT_EQ(one.stats.lanes, p == CramProfile::kArchive ? 1 : kEncodeLanes);
    for (int threads : {2, 8}) {
      Written many = WriteWithCramWriter(dir_, genome_, reads, threads, p, 7, "out.cram", true);
      ASSERT_TRUE(many.status.ok()) << many.status.ToString();
      EXPECT_TRUE(many.bytes == one.bytes) << CramProfileName(p) << " at " << threads << " threads";
      EXPECT_EQ(many.stats.lanes, one.stats.lanes);
    }
    EXPECT_EQ(CheckRecordCounters(one.bytes, reads.size()), 13u);
  }
  // Told after the first record: refused, not silently ignored.
  HeaderPtr h = MakeHeader(genome_);
  EncodeOptions o;
  o.reference = genome_.path;
  auto writer = CramWriter::Open(dir_ / "late.cram", h.get(), o);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  ASSERT_TRUE((*writer)->Write(reads[0].get()).ok());
  EXPECT_EQ((*writer)->SetRecordCount(10).code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE((*writer)->Close().ok());
}

TEST_F(ParallelEncode, SamtoolsAndHtslibReadItAsOneWritersFile) {
  auto reads = MakeReads(genome_, {300, 250, 120}, 40);
  Written w = WriteWithCramWriter(dir_, genome_, reads, 3, CramProfile::kNormal, 50);
  ASSERT_TRUE(w.status.ok()) << w.status.ToString();
  const std::string ours = dir_ / "out.cram", single = dir_ / "single.cram";
  WriteWithHtslib(single, genome_, reads);
  EXPECT_EQ(RunShell("samtools quickcheck -v " + ShellQuote(ours)).exit_code, 0);
  // Same records as one htslib writer's CRAM, with MD/NM decoding on and off.
  for (const char* md : {"", "--input-fmt-option decode_md=0", "--input-fmt-option decode_md=1"}) {
    std::string a = SamtoolsRecords(ours, md), b = SamtoolsRecords(single, md);
    EXPECT_EQ(a, b) << md;
    EXPECT_EQ(static_cast<size_t>(std::count(a.begin(), a.end(), '\n')), reads.size());
  }
  // `samtools index` gives the .crai htslib builds from our file, and region queries work.
  ASSERT_EQ(RunShell("samtools index " + ShellQuote(ours) + " " + ShellQuote(dir_ / "samtools.crai")).exit_code, 0);
  ASSERT_EQ(sam_index_build3(ours.c_str(), (dir_ / "ours.crai").c_str(), 0, 0), 0);
  EXPECT_EQ(ReadFile(dir_ / "samtools.crai"), ReadFile(dir_ / "ours.crai"));
  ASSERT_EQ(RunShell("samtools index " + ShellQuote(single)).exit_code, 0);
  for (const char* region : {"c1:1000-1200", "c2", "c3:2900-3000", "c2:1-1"}) {
    auto a = RunShell("samtools view -X " + ShellQuote(ours) + " " + ShellQuote(dir_ / "ours.crai") + " " + region);
    auto b = RunShell("samtools view " + ShellQuote(single) + " " + region);
    EXPECT_EQ(a.exit_code, 0) << a.err;
    EXPECT_EQ(a.out, b.out) << region;
  }
  EXPECT_FALSE(RunShell("samtools view -X " + ShellQuote(ours) + " " + ShellQuote(dir_ / "ours.crai") + " c2").out.empty());
}

TEST_F(ParallelEncode, ChunkBoundaries) {
  struct Case {
    const char* what;
    std::vector<int> per_contig;
    int unplaced;
    uint32_t container_records;
  };
  const Case cases[] = {
      {"a chunk that ends on a contig change", {10, 10, 10}, 0, 10},
      {"only an unplaced tail", {}, 25, 10},
      {"single-record chunks", {3, 2, 1}, 2, 1},
      {"empty input", {}, 0, 10},
  };
  for (const Case& c : cases) {
    auto reads = MakeReads(genome_, c.per_contig, c.unplaced);
    Written one = WriteWithCramWriter(dir_, genome_, reads, 1, CramProfile::kNormal, c.container_records);
    Written four = WriteWithCramWriter(dir_, genome_, reads, 4, CramProfile::kNormal, c.container_records, "four.cram");
    ASSERT_TRUE(one.status.ok() && four.status.ok()) << c.what << ": " << one.status.ToString();
    EXPECT_TRUE(one.bytes == four.bytes) << c.what;
    EXPECT_EQ(RunShell("samtools quickcheck -u " + ShellQuote(dir_ / "out.cram")).exit_code, 0) << c.what;
    WriteWithHtslib(dir_ / "single.cram", genome_, reads);
    EXPECT_EQ(SamtoolsRecords(dir_ / "out.cram"), SamtoolsRecords(dir_ / "single.cram")) << c.what;
    CheckRecordCounters(one.bytes, reads.size());
  }
}

TEST_F(ParallelEncode, UnsortedInputStreamsThroughOneWriterWithTheSameBytes) {
  auto reads = MakeReads(genome_, {60, 60, 60}, 10);
  std::reverse(reads.begin() + 30, reads.end());  // sorted for 30 records, then not
  Written one = WriteWithCramWriter(dir_, genome_, reads, 1, CramProfile::kNormal, 10);
  Written three = WriteWithCramWriter(dir_, genome_, reads, 3, CramProfile::kNormal, 10, "three.cram");
  ASSERT_TRUE(one.status.ok() && three.status.ok()) << one.status.ToString() << three.status.ToString();
  EXPECT_TRUE(one.bytes == three.bytes);
  EXPECT_EQ(one.stats.chunks, 4u);  // three sorted chunks, then one stream
  WriteWithHtslib(dir_ / "single.cram", genome_, reads);
  EXPECT_EQ(SamtoolsRecords(dir_ / "out.cram"), SamtoolsRecords(dir_ / "single.cram"));
  CheckRecordCounters(one.bytes, reads.size());
}

// A write that fails part-way (a file size limit stops both the encoders' memory files and the
// output) fails the writer at every thread count, never a silent short file.
TEST_F(ParallelEncode, AFailedChunkFailsTheWriteAtEveryThreadCount) {
  auto reads = MakeReads(genome_, {400, 400}, 100);
  struct rlimit old;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  for (int threads : {1, 3}) {
    struct rlimit small = old;
    small.rlim_cur = 40000;
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
    Written w = WriteWithCramWriter(dir_, genome_, reads, threads, CramProfile::kNormal, 10);
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
    EXPECT_FALSE(w.status.ok()) << threads << " threads";
    EXPECT_NE(w.status.message().find("File too large"), std::string::npos) << w.status.ToString();
  }
  std::signal(SIGXFSZ, old_handler);
}

// ---- real sets through the CLI --------------------------------------------------------------

struct RealSet {
  const char* name;
  const char* reference;  // relative to ../shared/data
  const char* input;
  const char* args;       // beyond -T/-o
  bool contig_named_mt = false;  // the BAM calls rCRS "MT"
};

TEST(ParallelEncodeRealSets, SameBytesAtOneTwoThreeAndEightThreadsForEveryProfile) {
  if (!testing::ToolAvailable("samtools")) GTEST_SKIP() << "samtools not installed";
  const RealSet sets[] = {
      {"fastq-mapped", "human-exome-novaseq/ref.fa.gz", "human-exome-novaseq/fastq/Sample1.fastq.gz", ""},
      {"fastq-unaligned", "ecoli-10k-paired/reference_MG1655_first10k.fasta", "ecoli-10k-paired/reads1.fastq.gz",
       "--unaligned"},
      {"bam", "human-exome-novaseq/ref.fa.gz", "human-exome-novaseq/bam/Sample1.bam", ""},
      {"bam-4-read-groups", "human-chrM-1000g-lowcov/rCRS.fasta",
       "human-chrM-1000g-lowcov/bam/HG03478.mapped.ILLUMINA.bwa.MSL.low_coverage.20121211.bam", "", true},
  };
  for (const RealSet& s : sets) {
    CRAMJET_REQUIRE_SHARED_DATA(s.input);
    TempDir dir;
    // An indexed plain copy of the reference (mapping needs the index; shared data stays as is).
    ASSERT_EQ(RunShell("zcat -f " + ShellQuote(testing::SharedPath(s.reference)) +
                       (s.contig_named_mt ? " | sed '1s/^>.*/>MT/'" : "") + " > " + ShellQuote(dir / "ref.fa"))
                  .exit_code, 0);
    ASSERT_EQ(testing::RunCramjet("index " + ShellQuote(dir / "ref.fa")).exit_code, 0) << s.name;
    for (const char* profile : {"fast", "normal", "small", "archive"}) {
      // 2,000-record containers give every set several chunks; normal also at its default size.
      std::vector<std::string> sizes = {"--container-records 2000"};
      if (std::string(profile) == "normal") sizes.push_back("");
      for (const std::string& size : sizes) {
        std::string first;
        for (int threads : {1, 2, 3, 8}) {
          const std::string sub = dir / (std::string(profile) + (size.empty() ? "-default" : "-2000") + "-t" +
                                         std::to_string(threads));
          auto c = RunShell("mkdir -p " + ShellQuote(sub) + " && cd " + ShellQuote(sub) + " && " +
                            ShellQuote(testing::CramjetBinary()) + " compress -q --no-qc --profile " + profile +
                            " " + size + " " + s.args + " -@ " + std::to_string(threads) + " -T " +
                            ShellQuote(dir / "ref.fa") + " -o m.cram " + ShellQuote(testing::SharedPath(s.input)));
          ASSERT_EQ(c.exit_code, 0) << s.name << " " << profile << " " << threads << ": " << c.err;
          std::string bytes = ReadFile(sub + "/m.cram");
          if (first.empty()) {
            first = bytes;
            EXPECT_EQ(RunShell("samtools quickcheck -u " + ShellQuote(sub + "/m.cram")).exit_code, 0);
          } else {
            EXPECT_TRUE(bytes == first) << s.name << " " << profile << " " << size << " differs at -@ " << threads;
          }
        }
      }
    }
  }
}

// A full disk mid-job (here a file size limit, which also stops the encoders' memory files): a
// clear error, exit 1, and nothing under the final name, no temporaries left.
TEST(ParallelEncodeRealSets, AFullDiskLeavesNoFileUnderTheFinalName) {
  const char* input = "human-exome-novaseq/bam/Sample1.bam";
  CRAMJET_REQUIRE_SHARED_DATA(input);
  TempDir dir;
  ASSERT_EQ(RunShell("zcat -f " + ShellQuote(testing::SharedPath("human-exome-novaseq/ref.fa.gz")) + " > " +
                     ShellQuote(dir / "ref.fa") + " && samtools faidx " + ShellQuote(dir / "ref.fa")).exit_code, 0);
  ASSERT_EQ(RunShell("mkdir " + ShellQuote(dir / "out")).exit_code, 0);
  for (int threads : {1, 4}) {
    auto r = RunShell("trap '' XFSZ; ulimit -f 64; " + ShellQuote(testing::CramjetBinary()) +
                      " compress -q --container-records 2000 -@ " + std::to_string(threads) + " -T " +
                      ShellQuote(dir / "ref.fa") + " -o " + ShellQuote(dir / "out/m.cram") + " " +
                      ShellQuote(testing::SharedPath(input)));
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_EQ(r.err.rfind("cramjet compress: error: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find("File too large"), std::string::npos) << r.err;
    EXPECT_TRUE(testing::ListDir(dir / "out").empty()) << threads << " threads";
  }
}

}  // namespace
}  // namespace cramjet
