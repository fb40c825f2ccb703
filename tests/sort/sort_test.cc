// Tests of host/sort: coordinate order against a std::stable_sort reference, the spill path
// against the in-memory path, spill file cleanup, spill folder errors, keep-order round trip.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "common/common.h"
#include "common/test_util.h"
#include "sort/record_source.h"
#include "sort/sort.h"

namespace cramjet {
namespace {

using testing::ListDir;
using testing::TempDir;

// One record as plain values, so the reference order and the comparisons need no htslib.
struct TestRead {
  std::string name;
  int32_t tid;
  int64_t pos;
  uint16_t flag;
  std::string seq;
  std::string qual;  // phred values
  int32_t mtid;
  int64_t mpos;
};

BamPtr MakeBam(const TestRead& r) {
  BamPtr b = NewBam();
  uint32_t cigar = bam_cigar_gen(r.seq.size(), BAM_CMATCH);
  bool mapped = !(r.flag & BAM_FUNMAP);
  int rc = bam_set1(b.get(), r.name.size(), r.name.c_str(), r.flag, r.tid, r.pos, mapped ? 60 : 0,
                    mapped ? 1 : 0, &cigar, r.mtid, r.mpos, 0, r.seq.size(), r.seq.c_str(),
                    r.qual.c_str(), 0);
  EXPECT_GE(rc, 0);
  EXPECT_EQ(bam_aux_append(b.get(), "RG", 'Z', 3, reinterpret_cast<const uint8_t*>("rg")), 0);
  return b;
}

// Exact bytes of a record (core fields + data), for identity checks.
std::string RecordBytes(const bam1_t* b) {
  std::string s(reinterpret_cast<const char*>(&b->core.pos), sizeof b->core.pos);
  s.append(reinterpret_cast<const char*>(&b->core.tid), sizeof b->core.tid);
  s.append(reinterpret_cast<const char*>(&b->core.flag), sizeof b->core.flag);
  s.append(reinterpret_cast<const char*>(&b->core.mtid), sizeof b->core.mtid);
  s.append(reinterpret_cast<const char*>(&b->core.mpos), sizeof b->core.mpos);
  s.append(reinterpret_cast<const char*>(b->data), b->l_data);
  return s;
}

// Random reads with many position ties, unmapped reads (tid -1) and unmapped pairs kept adjacent.
std::vector<TestRead> RandomReads(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<TestRead> reads;
  const char* bases = "ACGTN";
  while (reads.size() < n) {
    size_t i = reads.size();
    TestRead r;
    r.name = "read" + std::to_string(i);
    int kind = static_cast<int>(rng() % 10);
    size_t len = 20 + rng() % 131;
    for (size_t k = 0; k < len; ++k) {
      r.seq.push_back(bases[rng() % 5]);
      r.qual.push_back(static_cast<char>(2 + rng() % 39));
    }
    if (kind == 0 && i + 1 < n) {  // an unmapped pair: two adjacent records
      r.tid = -1; r.pos = -1; r.mtid = -1; r.mpos = -1;
      r.flag = BAM_FPAIRED | BAM_FUNMAP | BAM_FMUNMAP | BAM_FREAD1;
      TestRead mate = r;
      mate.flag = BAM_FPAIRED | BAM_FUNMAP | BAM_FMUNMAP | BAM_FREAD2;
      reads.push_back(r);
      reads.push_back(mate);
      continue;
    }
    if (kind == 1) {  // unmapped single read
      r.tid = -1; r.pos = -1; r.mtid = -1; r.mpos = -1; r.flag = BAM_FUNMAP;
    } else {
      r.tid = static_cast<int32_t>(rng() % 4);
      r.pos = static_cast<int64_t>(rng() % 500);  // few positions: many ties
      r.mtid = -1; r.mpos = -1;
      r.flag = (rng() & 1) ? BAM_FREVERSE : 0;
    }
    reads.push_back(r);
  }
  return reads;
}

// The expected order: stable sort by (tid as unsigned, pos + 1), i.e. ties in input order.
std::vector<size_t> ReferenceOrder(const std::vector<TestRead>& reads) {
  std::vector<size_t> order(reads.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    uint32_t ta = static_cast<uint32_t>(reads[a].tid), tb = static_cast<uint32_t>(reads[b].tid);
    if (ta != tb) return ta < tb;
    return reads[a].pos + 1 < reads[b].pos + 1;
  });
  return order;
}

// Feeds `reads` to `sorter` in batches of `batch_size` and returns every output record's bytes.
std::vector<std::string> SortAll(PositionSorter& sorter, const std::vector<TestRead>& reads,
                                 size_t batch_size, size_t out_batch = 1000) {
  ReadBatch batch;
  for (size_t i = 0; i < reads.size(); i += batch_size) {
    size_t n = std::min(batch_size, reads.size() - i);
    batch.Resize(n);
    for (size_t k = 0; k < n; ++k) batch.records[k] = MakeBam(reads[i + k]);
    Status s = sorter.Add(batch);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  Status s = sorter.Finish();
  EXPECT_TRUE(s.ok()) << s.ToString();
  std::vector<std::string> out;
  ReadBatch got;
  while (true) {
    auto n = sorter.NextBatch(got, out_batch);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    if (!n.ok() || *n == 0) break;
    for (size_t k = 0; k < *n; ++k) out.push_back(RecordBytes(got[k]));
  }
  return out;
}

std::unique_ptr<PositionSorter> MakeSorter(const std::string& dir, uint64_t memory, int threads) {
  SortOptions options;
  options.memory_bytes = memory;
  options.temp_dir = dir;
  options.threads = threads;
  auto sorter = PositionSorter::Create(options, nullptr);
  EXPECT_TRUE(sorter.ok()) << sorter.status().ToString();
  return sorter.ok() ? std::move(sorter).value() : nullptr;
}

std::vector<std::string> ExpectedBytes(const std::vector<TestRead>& reads) {
  std::vector<std::string> expected;
  for (size_t i : ReferenceOrder(reads)) expected.push_back(RecordBytes(MakeBam(reads[i]).get()));
  return expected;
}

TEST(PositionSorter, InMemoryOrderEqualsStableSortReference) {
  TempDir dir;
  auto reads = RandomReads(5000, 1);
  auto sorter = MakeSorter(dir.path(), 1ull << 30, 1);
  ASSERT_TRUE(sorter);
  auto got = SortAll(*sorter, reads, 333);
  EXPECT_EQ(sorter->runs_spilled(), 0);
  EXPECT_EQ(sorter->records_added(), reads.size());
  EXPECT_GT(sorter->peak_memory_bytes(), 0u);
  EXPECT_EQ(got, ExpectedBytes(reads));
}

TEST(PositionSorter, UnmappedPairsStayAdjacentAndLast) {
  TempDir dir;
  auto reads = RandomReads(2000, 2);
  auto sorter = MakeSorter(dir.path(), 1ull << 30, 1);
  ASSERT_TRUE(sorter);
  ReadBatch batch;
  batch.Resize(reads.size());
  for (size_t i = 0; i < reads.size(); ++i) batch.records[i] = MakeBam(reads[i]);
  ASSERT_TRUE(sorter->Add(batch).ok());
  ASSERT_TRUE(sorter->Finish().ok());
  ReadBatch out;
  auto n = sorter->NextBatch(out, reads.size() + 10);
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(*n, reads.size());
  bool seen_unmapped = false;
  for (size_t i = 0; i < *n; ++i) {
    if (out[i]->core.tid < 0) seen_unmapped = true;
    else EXPECT_FALSE(seen_unmapped) << "mapped record after an unmapped one at " << i;
    if ((out[i]->core.flag & BAM_FREAD1) && out[i]->core.tid < 0) {
      ASSERT_LT(i + 1, *n);
      EXPECT_STREQ(bam_get_qname(out[i]), bam_get_qname(out[i + 1]));
      EXPECT_TRUE(out[i + 1]->core.flag & BAM_FREAD2);
    }
  }
  EXPECT_TRUE(seen_unmapped);
}

TEST(PositionSorter, SpillWithTinyBudgetGivesTheSameOrderAtAnyThreadCount) {
  TempDir dir;
  auto reads = RandomReads(30000, 3);
  auto expected = ExpectedBytes(reads);
  auto in_memory = MakeSorter(dir.path(), 1ull << 30, 1);
  ASSERT_TRUE(in_memory);
  EXPECT_EQ(SortAll(*in_memory, reads, 1000), expected);
  for (int threads : {1, 3}) {
    auto spilling = MakeSorter(dir.path(), kMinSortMemoryBytes, threads);
    ASSERT_TRUE(spilling);
    auto got = SortAll(*spilling, reads, 777, 100);
    // Enough runs to need a merge pass before the final merge.
    EXPECT_GT(spilling->runs_spilled(), kMaxMergeFanIn) << "threads " << threads;
    EXPECT_GT(spilling->spilled_bytes(), 0u);
    EXPECT_EQ(got, expected) << "threads " << threads;
  }
  EXPECT_TRUE(ListDir(dir.path()).empty());
}

TEST(PositionSorter, PeakMemoryFollowsTheBudget) {
  TempDir dir;
  auto reads = RandomReads(20000, 4);  // ~6 MB of records with overhead
  auto sorter = MakeSorter(dir.path(), 1ull << 20, 1);
  ASSERT_TRUE(sorter);
  SortAll(*sorter, reads, 500);
  EXPECT_GT(sorter->runs_spilled(), 3);
  // Budget + one chunk + index growth + merge buffers of the runs, far below the input size.
  uint64_t merge = static_cast<uint64_t>(sorter->runs_spilled() + 1) * (1u << 20);
  EXPECT_LT(sorter->peak_memory_bytes(), (3u << 20) + merge);
}

TEST(PositionSorter, SpillFilesNeverVisibleAndGoneAfterSuccessAndDestruction) {
  TempDir dir;
  auto reads = RandomReads(10000, 5);
  {
    auto sorter = MakeSorter(dir.path(), kMinSortMemoryBytes, 1);
    ASSERT_TRUE(sorter);
    ReadBatch batch;
    batch.Resize(reads.size());
    for (size_t i = 0; i < reads.size(); ++i) batch.records[i] = MakeBam(reads[i]);
    ASSERT_TRUE(sorter->Add(batch).ok());
    EXPECT_GT(sorter->runs_spilled(), 0);
    EXPECT_TRUE(ListDir(dir.path()).empty());  // spilled, yet no name in the folder
    // Destroyed before Finish(): nothing may remain.
  }
  EXPECT_TRUE(ListDir(dir.path()).empty());
  auto sorter = MakeSorter(dir.path(), kMinSortMemoryBytes, 2);
  ASSERT_TRUE(sorter);
  EXPECT_EQ(SortAll(*sorter, reads, 1000).size(), reads.size());
  EXPECT_TRUE(ListDir(dir.path()).empty());
}

TEST(PositionSorter, WriteFailureWhileSpillingNamesTheFileAndLeavesNothing) {
  TempDir dir;
  auto reads = RandomReads(20000, 6);
  auto sorter = MakeSorter(dir.path(), kMinSortMemoryBytes, 1);
  ASSERT_TRUE(sorter);
  // A file size limit makes the spill write fail like a full disk does (EFBIG instead of ENOSPC).
  struct rlimit old_limit;
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old_limit;
  small.rlim_cur = 16 << 10;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  ReadBatch batch;
  Status status;
  for (size_t i = 0; i < reads.size() && status.ok(); i += 500) {
    batch.Resize(500);
    for (size_t k = 0; k < 500; ++k) batch.records[k] = MakeBam(reads[i + k]);
    status = sorter->Add(batch);
  }
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  ::signal(SIGXFSZ, old_handler);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kIoError);
  EXPECT_NE(status.message().find("writing sort spill file '" + dir.path() + "/.cramjet-sort."),
            std::string::npos) << status.message();
  EXPECT_NE(status.message().find("File too large"), std::string::npos) << status.message();
  // The sorter stays failed.
  EXPECT_FALSE(sorter->Finish().ok());
  sorter.reset();
  EXPECT_TRUE(ListDir(dir.path()).empty());
}

TEST(PositionSorter, UnusableSpillFolderIsNamed) {
  TempDir dir;
  SortOptions options;
  options.temp_dir = dir / "missing";
  auto missing = PositionSorter::Create(options, nullptr);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(),
            "sort spill folder '" + dir / "missing" + "': No such file or directory");
  testing::WriteFile(dir / "plain", "x");
  options.temp_dir = dir / "plain";
  auto file = PositionSorter::Create(options, nullptr);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().message(), "sort spill folder '" + dir / "plain" + "' is not a folder");
  if (::geteuid() != 0) {  // root writes anywhere
    std::string ro = dir / "readonly";
    ASSERT_EQ(::mkdir(ro.c_str(), 0500), 0);
    options.temp_dir = ro;
    auto readonly = PositionSorter::Create(options, nullptr);
    ASSERT_FALSE(readonly.ok());
    EXPECT_NE(readonly.status().message().find("'" + ro + "' is not writable"), std::string::npos);
  }
}

// Every record an exception (what the order rules fall back to, and what older cramjet wrote):
// sort (spilling), tag each record with its input index, restore (spilling) and compare with the
// input, byte for byte.
TEST(KeepOrder, RoundTripRestoresInputOrderExactly) {
  TempDir dir;
  auto reads = RandomReads(12000, 7);
  auto sorter = MakeSorter(dir.path(), kMinSortMemoryBytes, 2);
  ASSERT_TRUE(sorter);
  ReadBatch batch;
  for (size_t i = 0; i < reads.size(); i += 1000) {
    size_t n = std::min<size_t>(1000, reads.size() - i);
    batch.Resize(n);
    for (size_t k = 0; k < n; ++k) batch.records[k] = MakeBam(reads[i + k]);
    ASSERT_TRUE(sorter->Add(batch).ok());
  }
  ASSERT_TRUE(sorter->Finish().ok());
  std::vector<BamPtr> sorted;
  ReadBatch out;
  std::vector<uint64_t> indices;
  while (true) {
    auto n = sorter->NextBatch(out, 500, &indices);
    ASSERT_TRUE(n.ok());
    if (*n == 0) break;
    for (size_t k = 0; k < *n; ++k) {
      ASSERT_TRUE(AddOriginalIndexTag(out[k], indices[k]).ok());
      sorted.emplace_back(bam_dup1(out[k]));
      int64_t index = OriginalIndexOf(out[k]);
      ASSERT_GE(index, 0);
      EXPECT_EQ(bam_get_qname(out[k]), reads[static_cast<size_t>(index)].name);
    }
  }
  ASSERT_EQ(sorted.size(), reads.size());

  RecordSource source = testing::CopiesOf(sorted);
  std::vector<std::string> restored;
  RecordSink sink = [&](const bam1_t* r) {
    restored.push_back(RecordBytes(r));
    return Status::Ok();
  };
  SortOptions options;
  options.memory_bytes = kMinSortMemoryBytes;
  options.temp_dir = dir.path();
  auto result = RestoreOriginalOrder(options, "in.cram", nullptr, source, sink);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->records, reads.size());
  EXPECT_GT(result->runs_spilled, 0);
  std::vector<std::string> expected;
  for (const auto& r : reads) expected.push_back(RecordBytes(MakeBam(r).get()));  // no oi tag
  EXPECT_EQ(restored, expected);
  EXPECT_TRUE(ListDir(dir.path()).empty());
}

TEST(KeepOrder, RestoreRejectsMissingTagAndMissingOrDuplicateIndices) {
  TempDir dir;
  auto reads = RandomReads(10, 8);
  auto run_restore = [&](std::vector<BamPtr>& records) {
    RecordSource source = testing::CopiesOf(records);
    SortOptions options;
    options.temp_dir = dir.path();
    return RestoreOriginalOrder(options, "x.cram", nullptr, source,
                                [](const bam1_t*) { return Status::Ok(); });
  };
  auto tagged = [&](const std::vector<uint32_t>& indices) {
    std::vector<BamPtr> records;
    for (size_t i = 0; i < indices.size(); ++i) {
      records.push_back(MakeBam(reads[i]));
      EXPECT_EQ(bam_aux_update_int(records.back().get(), "oi", indices[i]), 0);
    }
    return records;
  };
  std::vector<BamPtr> untagged;
  untagged.push_back(MakeBam(reads[0]));
  auto r1 = run_restore(untagged);
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.status().code(), StatusCode::kBadInput);
  EXPECT_EQ(r1.status().message(),
            "'x.cram': record 1 ('read0') has no valid oi tag: it was not written with --keep-order");

  auto gap = tagged({0, 1, 3});
  auto r2 = run_restore(gap);
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(r2.status().message(), "'x.cram': the record with original index 2 is missing");

  auto duplicate = tagged({1, 0, 1});
  auto r3 = run_restore(duplicate);
  ASSERT_FALSE(r3.ok());
  EXPECT_EQ(r3.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r3.status().message().find("original index 1 appears more than once"), std::string::npos);

  auto fine = tagged({2, 0, 1});
  EXPECT_TRUE(run_restore(fine).ok());
}

// The oi tag survives a real CRAM (htslib, CRAM 3.1, reference-based) and the restore gives the
// input back: sort with keep_order -> CRAM -> decode -> RestoreOriginalOrder.
TEST(KeepOrder, SurvivesCramRoundTrip) {
  CRAMJET_REQUIRE_SHARED_DATA("ecoli-mg1655-hiseq/E.coli.fa");
  std::string ref = testing::SharedPath("ecoli-mg1655-hiseq/E.coli.fa");
  TempDir dir;
  auto reads = RandomReads(3000, 9);
  for (auto& r : reads) {  // place mapped reads anywhere on the genome, tid 0 only
    if (r.tid >= 0) {
      r.tid = 0;
      r.pos = r.pos * 9000;
    }
  }
  std::string sam_header = "@HD\tVN:1.6\tSO:coordinate\n@SQ\tSN:NC_000913\tLN:4639675\n@RG\tID:rg\n";
  HeaderPtr header(sam_hdr_parse(sam_header.size(), sam_header.c_str()));
  ASSERT_TRUE(header);
  auto sorter = MakeSorter(dir.path(), kMinSortMemoryBytes, 2);
  ASSERT_TRUE(sorter);
  ReadBatch batch;
  batch.Resize(reads.size());
  for (size_t i = 0; i < reads.size(); ++i) batch.records[i] = MakeBam(reads[i]);
  ASSERT_TRUE(sorter->Add(batch).ok());
  ASSERT_TRUE(sorter->Finish().ok());
  std::string cram = dir / "keep.cram";
  {
    HtsFilePtr out(hts_open(cram.c_str(), "wc"));
    ASSERT_TRUE(out);
    ASSERT_EQ(hts_set_opt(out.get(), CRAM_OPT_VERSION, "3.1"), 0);
    ASSERT_EQ(hts_set_fai_filename(out.get(), ref.c_str()), 0);
    ASSERT_EQ(sam_hdr_write(out.get(), header.get()), 0);
    ReadBatch sorted;
    std::vector<uint64_t> indices;
    while (true) {
      auto n = sorter->NextBatch(sorted, 256, &indices);
      ASSERT_TRUE(n.ok());
      if (*n == 0) break;
      for (size_t k = 0; k < *n; ++k) {
        ASSERT_TRUE(AddOriginalIndexTag(sorted[k], indices[k]).ok());
        ASSERT_GE(sam_write1(out.get(), header.get(), sorted[k]), 0);
      }
    }
  }
  HtsFilePtr in(hts_open(cram.c_str(), "r"));
  ASSERT_TRUE(in);
  ASSERT_EQ(hts_set_fai_filename(in.get(), ref.c_str()), 0);
  ASSERT_EQ(hts_set_opt(in.get(), CRAM_OPT_DECODE_MD, 0), 0);
  HeaderPtr in_header(sam_hdr_read(in.get()));
  ASSERT_TRUE(in_header);
  RecordSource source = [&](ReadBatch& b, size_t max) -> StatusOr<size_t> {
    b.Resize(max);
    size_t n = 0;
    while (n < max && sam_read1(in.get(), in_header.get(), b[n]) >= 0) ++n;
    b.size = n;
    return n;
  };
  // Compare what a FASTQ keeps, plus placement and the remaining aux bytes.
  auto summary = [](const bam1_t* b) {
    std::string s = std::string(bam_get_qname(b)) + "|" + std::to_string(b->core.flag) + "|" +
                    std::to_string(b->core.tid) + "|" + std::to_string(b->core.pos) + "|";
    for (int i = 0; i < b->core.l_qseq; ++i) {
      s.push_back(seq_nt16_str[bam_seqi(bam_get_seq(b), i)]);
      s.push_back(static_cast<char>(bam_get_qual(b)[i] + 33));
    }
    s.append(reinterpret_cast<const char*>(bam_get_aux(b)), bam_get_l_aux(b));
    return s;
  };
  std::vector<std::string> restored;
  RecordSink sink = [&](const bam1_t* r) {
    restored.push_back(summary(r));
    return Status::Ok();
  };
  SortOptions options;
  options.memory_bytes = kMinSortMemoryBytes;
  options.temp_dir = dir.path();
  auto result = RestoreOriginalOrder(options, cram, in_header.get(), source, sink);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  std::vector<std::string> expected;
  for (const auto& r : reads) expected.push_back(summary(MakeBam(r).get()));
  ASSERT_EQ(restored.size(), expected.size());
  EXPECT_EQ(restored, expected);
}

TEST(ParseMemorySize, UnitsAndErrors) {
  EXPECT_EQ(*ParseMemorySize("100000"), 100000u);
  EXPECT_EQ(*ParseMemorySize("512M"), 512ull << 20);
  EXPECT_EQ(*ParseMemorySize("8G"), 8ull << 30);
  EXPECT_EQ(*ParseMemorySize("1.5g"), 3ull << 29);
  EXPECT_EQ(*ParseMemorySize("2GiB"), 2ull << 30);
  EXPECT_EQ(*ParseMemorySize("64k"), 64ull << 10);
  EXPECT_FALSE(ParseMemorySize("").ok());
  EXPECT_FALSE(ParseMemorySize("lots").ok());
  EXPECT_FALSE(ParseMemorySize("-1G").ok());
  auto bad_unit = ParseMemorySize("8Q");
  ASSERT_FALSE(bad_unit.ok());
  EXPECT_EQ(bad_unit.status().message(), "memory size '8Q' has an unknown unit (use K, M, G or T)");
}

}  // namespace
}  // namespace cramjet
