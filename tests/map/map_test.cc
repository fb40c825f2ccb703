// Mapper placement cases on a synthetic reference (the pair step: pairing_test.cc; the reference
// index and the `cramjet index` command: index_test.cc).
#include <algorithm>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "common/test_util.h"
#include "cramjet/backend.h"
#include "map/map.h"
#include "map_test_util.h"
#include "map/placement.h"

namespace cramjet {
namespace {

using testing::CigarOf;
using testing::FastaText;
using testing::MakeRead;
using testing::RandomBases;
using testing::ReverseComplement;
using testing::SeqOf;

class MapperTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    chr_a_ = RandomBases(30000, 1);
    chr_b_ = RandomBases(20000, 2);
    chr_b_.replace(5000, 100, std::string(100, 'N'));
    chr_c_ = RandomBases(12000, 3);
    fasta_ = *dir_ / "ref.fa";
    testing::WriteFile(fasta_, FastaText({{"chrA", chr_a_}, {"chrB", chr_b_}, {"chrC", chr_c_}}));
    ASSERT_TRUE(ReferenceIndex::Build(fasta_, 2).ok());
    auto index = ReferenceIndex::Open(fasta_);
    ASSERT_TRUE(index.ok()) << index.status().ToString();
    index_ = std::move(index).value().release();
    backend_ = std::move(CreateBackend(AccelKind::kAuto)).value().release();
  }
  static void TearDownTestSuite() {
    delete backend_;
    delete index_;
    delete dir_;
  }

  // Maps one batch made of `records` and returns it.
  static ReadBatch Map(std::vector<BamPtr> records) {
    ReadBatch batch;
    batch.records = std::move(records);
    batch.size = batch.records.size();
    auto mapper = Mapper::Create(*index_, *backend_, MapOptions{});
    EXPECT_TRUE(mapper.ok());
    MapBuffer buffer;
    EXPECT_TRUE((*mapper)->MapBatch(batch, buffer).ok());
    return batch;
  }
  static bam1_t* MapOne(const std::string& seq, ReadBatch& holder) {
    std::vector<BamPtr> v;
    v.push_back(MakeRead("r1", seq));
    holder = Map(std::move(v));
    return holder[0];
  }
  static int CountOp(const bam1_t* b, int op) {
    int total = 0;
    for (uint32_t i = 0; i < b->core.n_cigar; ++i)
      if (bam_cigar_op(bam_get_cigar(b)[i]) == static_cast<uint32_t>(op)) total += bam_cigar_oplen(bam_get_cigar(b)[i]);
    return total;
  }

  static testing::TempDir* dir_;
  static std::string chr_a_, chr_b_, chr_c_, fasta_;
  static ReferenceIndex* index_;
  static Backend* backend_;
};
testing::TempDir* MapperTest::dir_;
std::string MapperTest::chr_a_, MapperTest::chr_b_, MapperTest::chr_c_, MapperTest::fasta_;
ReferenceIndex* MapperTest::index_;
Backend* MapperTest::backend_;

TEST_F(MapperTest, ExactMatchForwardStrand) {
  ReadBatch h;
  const bam1_t* b = MapOne(chr_a_.substr(1000, 150), h);
  EXPECT_EQ(b->core.flag, 0);
  EXPECT_EQ(b->core.tid, 0);
  EXPECT_EQ(b->core.pos, 1000);
  EXPECT_EQ(CigarOf(b), "150M");
  EXPECT_EQ(b->core.qual, 60);
  EXPECT_EQ(SeqOf(b), chr_a_.substr(1000, 150));
}

TEST_F(MapperTest, SingleMismatchAtEachEndStaysAligned) {
  std::string read = chr_a_.substr(2000, 150);
  read[0] = read[0] == 'A' ? 'C' : 'A';
  read[149] = read[149] == 'A' ? 'C' : 'A';
  ReadBatch h;
  const bam1_t* b = MapOne(read, h);
  EXPECT_EQ(b->core.pos, 2000);
  EXPECT_EQ(CigarOf(b), "150M");
}

TEST_F(MapperTest, MismatchClusterAtReadEndIsSoftClipped) {
  std::string read = chr_a_.substr(2500, 150);
  for (int i : {146, 148, 149}) read[i] = read[i] == 'A' ? 'C' : 'A';
  ReadBatch h;
  const bam1_t* b = MapOne(read, h);
  EXPECT_EQ(b->core.pos, 2500);
  EXPECT_EQ(CigarOf(b), "146M4S");
}

TEST_F(MapperTest, SmallInsertionsAndDeletionsGetBandedAlignment) {
  for (int k = 1; k <= 3; ++k) {
    SCOPED_TRACE("indel length " + std::to_string(k));
    // Insertion: k bases that differ from both neighbours, in the middle of the read.
    const size_t at = 3000 + 1000 * k;
    std::string inserted(k, chr_a_[at + 75] == 'G' ? 'T' : 'G');
    std::string ins_read = chr_a_.substr(at, 75) + inserted + chr_a_.substr(at + 75, 75 - k);
    ReadBatch h1;
    const bam1_t* b = MapOne(ins_read, h1);
    EXPECT_EQ(b->core.pos, static_cast<int64_t>(at)) << CigarOf(b);
    EXPECT_EQ(CountOp(b, BAM_CINS), k) << CigarOf(b);
    EXPECT_EQ(CountOp(b, BAM_CDEL), 0) << CigarOf(b);
    EXPECT_EQ(bam_cigar2qlen(b->core.n_cigar, bam_get_cigar(b)), 150);
    // Deletion: k reference bases skipped.
    const size_t dat = 10000 + 1000 * k;
    std::string del_read = chr_a_.substr(dat, 75) + chr_a_.substr(dat + 75 + k, 75);
    ReadBatch h2;
    b = MapOne(del_read, h2);
    EXPECT_EQ(b->core.pos, static_cast<int64_t>(dat)) << CigarOf(b);
    EXPECT_EQ(CountOp(b, BAM_CDEL), k) << CigarOf(b);
    EXPECT_EQ(CountOp(b, BAM_CINS), 0) << CigarOf(b);
    EXPECT_EQ(bam_endpos(b), static_cast<int64_t>(dat + 150 + k));
  }
}

// Even and odd lengths (BAM packs two bases a byte), IUPAC codes complemented as IUPAC.
TEST_F(MapperTest, ReverseStrandStoresReverseComplementAndReversedQualities) {
  auto complement = [](char c) {
    const std::string from = "ACGTRYKMSWBDHVN", to = "TGCAYRMKSWVHDBN";
    return to[from.find(c)];
  };
  for (const int length : {150, 151}) {
    std::string forward = chr_b_.substr(8000, length);
    forward[20] = 'R';
    forward[75] = 'K';
    forward[length - 3] = 'N';
    std::string read(forward.rbegin(), forward.rend());
    for (char& c : read) c = complement(c);
    BamPtr original = MakeRead("rev", read);
    std::vector<uint8_t> qual(bam_get_qual(original.get()), bam_get_qual(original.get()) + length);
    std::vector<BamPtr> v;
    v.push_back(std::move(original));
    ReadBatch batch = Map(std::move(v));
    const bam1_t* b = batch[0];
    EXPECT_EQ(b->core.flag, BAM_FREVERSE) << length;
    EXPECT_EQ(b->core.tid, 1);
    EXPECT_EQ(b->core.pos, 8000);
    EXPECT_EQ(CigarOf(b), std::to_string(length) + "M");
    EXPECT_EQ(SeqOf(b), forward);
    if (length % 2) {
      EXPECT_EQ(bam_get_seq(b)[length / 2] & 0x0F, 0) << "the pad half of the last byte";
    }
    for (int i = 0; i < length; ++i) ASSERT_EQ(bam_get_qual(b)[i], qual[length - 1 - i]);
  }
}

TEST_F(MapperTest, ReadSpanningTwoContigsIsClippedAtTheBoundary) {
  const std::string read = chr_a_.substr(chr_a_.size() - 60) + chr_b_.substr(0, 90);
  ReadBatch h;
  const bam1_t* b = MapOne(read, h);
  EXPECT_EQ(b->core.tid, 1);
  EXPECT_EQ(b->core.pos, 0);
  EXPECT_EQ(CigarOf(b), "60S90M");
  // And the mirror image: most of the read on the end of chrA.
  const std::string read2 = chr_a_.substr(chr_a_.size() - 100) + chr_b_.substr(0, 50);
  ReadBatch h2;
  const bam1_t* b2 = MapOne(read2, h2);
  EXPECT_EQ(b2->core.tid, 0);
  EXPECT_EQ(b2->core.pos, static_cast<int64_t>(chr_a_.size() - 100));
  EXPECT_EQ(CigarOf(b2), "100M50S");
  EXPECT_LE(bam_endpos(b2), static_cast<int64_t>(chr_a_.size()));
}

// The fast diagonal segment (over mismatch positions, eight bases at a time) against the
// base-by-base recurrence: random reads with mismatch clusters, read Ns, every length 1..300
// at random offsets, windows inside contigs, across the N run and over contig ends.
TEST_F(MapperTest, DiagonalSegmentFastPathEqualsBaseByBase) {
  std::mt19937 rng(11);
  const uint64_t chr_b_start = chr_a_.size();
  uint64_t compared_fast = 0;
  for (int trial = 0; trial < 20000; ++trial) {
    const uint32_t length = 1 + rng() % 300;
    const uint32_t contig = rng() % 3;
    const ContigInfo& c = index_->contigs()[contig];
    // Mostly inside; sometimes overhanging either end or over chrB's N run.
    int64_t diag = static_cast<int64_t>(c.start) + static_cast<int64_t>(rng() % (c.length - 1));
    if (trial % 7 == 0) diag = static_cast<int64_t>(c.start) - static_cast<int64_t>(rng() % 20);
    if (trial % 11 == 0) diag = static_cast<int64_t>(chr_b_start + 5000) - static_cast<int64_t>(rng() % length);
    std::vector<uint8_t> codes(length);
    for (uint32_t i = 0; i < length; ++i) {
      const int64_t g = diag + i;
      const bool inside = g >= 0 && static_cast<uint64_t>(g) < index_->total_length();
      codes[i] = inside && index_->BaseCode(static_cast<uint64_t>(g)) < 4 ? static_cast<uint8_t>(index_->BaseCode(g)) : rng() % 4;
      const uint32_t roll = rng() % 100;
      if (roll < 8) codes[i] = static_cast<uint8_t>(rng() % 4);  // mismatch (or not)
      else if (roll < 9) codes[i] = 4;                            // read N
    }
    if (trial % 3 == 0)  // a cluster at one end
      for (uint32_t i = 0; i < std::min<uint32_t>(length, 12); ++i) codes[trial % 2 ? i : length - 1 - i] = rng() % 5;
    const bool fast = diag >= static_cast<int64_t>(c.start) && diag + length <= static_cast<int64_t>(c.start + c.length) &&
                      index_->AllAcgt(static_cast<uint64_t>(diag), length);
    compared_fast += fast;
    const map_internal::Segment a = map_internal::DiagonalSegment(*index_, codes.data(), length, diag, contig);
    const map_internal::Segment b = map_internal::DiagonalSegmentBaseByBase(*index_, codes.data(), length, diag, contig);
    ASSERT_EQ(a.score, b.score) << "trial " << trial << " length " << length << " diag " << diag;
    ASSERT_EQ(a.begin, b.begin) << "trial " << trial;
    ASSERT_EQ(a.end, b.end) << "trial " << trial;
  }
  EXPECT_GT(compared_fast, 10000u);  // the fast path was exercised, not only the fallback
}

// The flank check against the rule written out: a true hit with one error a side passes, two
// errors on both sides fail, an indel shifts one side only, chance flanks fail, N and read ends
// count as missing, and a read without 4 bases on either side is not judged.
TEST(FlankCheckTest, OneSideWithAtMostOneDifferenceOutOfFourToSevenBases) {
  std::mt19937 rng(5);
  const uint32_t length = 60, seed = 20;
  std::vector<uint8_t> read(length);
  for (auto& c : read) c = rng() % 4;
  // The reference flanks of a perfect hit, in SeedEntry's layout (+ the orientation bit, ignored).
  auto reference_of = [&](const std::vector<uint8_t>& bases) {
    uint32_t f = kSeedEntryReverse;
    for (int i = 0; i < kSeedFlankBases; ++i) {
      f |= uint32_t{bases[seed - kSeedFlankBases + i]} << (2 * i);
      f |= uint32_t{bases[seed + CJ_SEED_K + i]} << (16 + 2 * i);
    }
    return f;
  };
  const uint32_t perfect = reference_of(read);
  const map_internal::ReadFlanks flanks = map_internal::FlanksOfRead(read.data(), length, seed);
  EXPECT_TRUE(flanks.left_judged && flanks.right_judged);
  EXPECT_TRUE(map_internal::FlanksAgree(perfect, flanks));
  auto with = [&](std::vector<int> changed) {  // flank base i (0..6 left, 7..13 right) altered
    uint32_t f = perfect;
    for (int i : changed) f ^= 1u << (i < kSeedFlankBases ? 2 * i : 16 + 2 * (i - kSeedFlankBases));
    return f;
  };
  EXPECT_TRUE(map_internal::FlanksAgree(with({0, 8}), flanks));          // one a side
  EXPECT_TRUE(map_internal::FlanksAgree(with({1, 3}), flanks));          // two left, right clean
  EXPECT_FALSE(map_internal::FlanksAgree(with({1, 3, 7, 12}), flanks));  // two on both sides
  // An insertion right after the k-mer: the right side shifted, the left still agrees.
  std::vector<uint8_t> shifted = read;
  shifted.insert(shifted.begin() + seed + CJ_SEED_K, static_cast<uint8_t>((read[seed + CJ_SEED_K] + 1) % 4));
  EXPECT_TRUE(map_internal::FlanksAgree(reference_of(shifted), flanks));
  // Chance flanks: random references pass about 0.27% of the time (one side <= 1 of 7 differs).
  int passed = 0;
  for (int t = 0; t < 100000; ++t) passed += map_internal::FlanksAgree(rng() & 0x3FFF3FFFu, flanks);
  EXPECT_GT(passed, 150);
  EXPECT_LT(passed, 450);
  // Read N and the read's end: missing, not differing. Seed at 2: 2 bases left (not judged).
  std::vector<uint8_t> with_n = read;
  with_n[seed - 1] = 4;
  const map_internal::ReadFlanks n_flanks = map_internal::FlanksOfRead(with_n.data(), length, seed);
  // Left: base 6 faces the read's N (not counted) and base 2 differs; right: two differ.
  EXPECT_TRUE(map_internal::FlanksAgree(with({6, 2, 8, 10}), n_flanks)) << "an N counted as a difference";
  EXPECT_FALSE(map_internal::FlanksAgree(with({6, 2, 8, 10}), flanks));
  const map_internal::ReadFlanks edge = map_internal::FlanksOfRead(read.data(), length, 2);
  EXPECT_FALSE(edge.left_judged);
  EXPECT_TRUE(edge.right_judged);
  // A read of k + 3 bases: neither side has 4 bases, every hit passes.
  const map_internal::ReadFlanks tiny = map_internal::FlanksOfRead(read.data(), CJ_SEED_K + 3, 0);
  EXPECT_FALSE(tiny.left_judged || tiny.right_judged);
  EXPECT_TRUE(map_internal::FlanksAgree(~0u, tiny));
}

TEST_F(MapperTest, AllNReadAndReadShorterThanASeedStayUnmapped) {
  ReadBatch h1, h2;
  const bam1_t* n = MapOne(std::string(150, 'N'), h1);
  EXPECT_EQ(n->core.flag, BAM_FUNMAP);
  EXPECT_EQ(n->core.tid, -1);
  EXPECT_EQ(n->core.n_cigar, 0u);
  EXPECT_EQ(SeqOf(n), std::string(150, 'N'));
  const bam1_t* s = MapOne(chr_a_.substr(500, 12), h2);
  EXPECT_EQ(s->core.flag, BAM_FUNMAP);
  EXPECT_EQ(s->core.tid, -1);
}

TEST_F(MapperTest, ReadWithNsStillPlaces) {
  std::string read = chr_c_.substr(4000, 150);
  for (int i : {10, 70, 71}) read[i] = 'N';
  ReadBatch h;
  const bam1_t* b = MapOne(read, h);
  EXPECT_EQ(b->core.tid, 2);
  EXPECT_EQ(b->core.pos, 4000);
  EXPECT_EQ(CigarOf(b), "150M");
  EXPECT_EQ(SeqOf(b), read);
}

TEST_F(MapperTest, ReadLongerThanTenKilobases) {
  std::string read = chr_a_.substr(5000, 12000);
  for (size_t i = 500; i < read.size(); i += 997) read[i] = read[i] == 'A' ? 'C' : 'A';
  ReadBatch h;
  const bam1_t* b = MapOne(read, h);
  EXPECT_EQ(b->core.tid, 0);
  EXPECT_EQ(b->core.pos, 5000);
  EXPECT_EQ(CigarOf(b), "12000M");
  ReadBatch h2;
  const bam1_t* r = MapOne(ReverseComplement(read), h2);
  EXPECT_EQ(r->core.flag, BAM_FREVERSE);
  EXPECT_EQ(r->core.pos, 5000);
}

TEST_F(MapperTest, UnrelatedReadsStayUnmappedAndKeepTheirBytes) {
  std::vector<BamPtr> v;
  for (int i = 0; i < 200; ++i) v.push_back(MakeRead("junk" + std::to_string(i), RandomBases(150, 1000 + i)));
  std::vector<std::string> before;
  for (auto& r : v) before.push_back(testing::RecordText(r.get()));
  ReadBatch batch = Map(std::move(v));
  int placed = 0;
  for (size_t i = 0; i < batch.size; ++i) {
    if (!(batch[i]->core.flag & BAM_FUNMAP)) ++placed;
    else EXPECT_EQ(testing::RecordText(batch[i]), before[i]);
  }
  EXPECT_EQ(placed, 0);
}

TEST_F(MapperTest, NameAndAuxTagsAreKeptByteForByte) {
  std::vector<BamPtr> v;
  v.push_back(MakeRead("A00785:8:HGV:1:1101:1000:1000", ReverseComplement(chr_a_.substr(700, 151)), BAM_FUNMAP,
                       "1:N:0:ACGT+TTGA"));
  const std::string aux_before(reinterpret_cast<const char*>(bam_get_aux(v[0].get())), bam_get_l_aux(v[0].get()));
  ReadBatch batch = Map(std::move(v));
  EXPECT_STREQ(bam_get_qname(batch[0]), "A00785:8:HGV:1:1101:1000:1000");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(bam_get_aux(batch[0])), bam_get_l_aux(batch[0])), aux_before);
  EXPECT_EQ(batch[0]->core.pos, 700);
}

TEST_F(MapperTest, PairsGetMateFieldsAndProperPairFlag) {
  constexpr uint16_t kR1 = BAM_FPAIRED | BAM_FREAD1 | BAM_FUNMAP | BAM_FMUNMAP;
  constexpr uint16_t kR2 = BAM_FPAIRED | BAM_FREAD2 | BAM_FUNMAP | BAM_FMUNMAP;
  std::vector<BamPtr> v;
  v.push_back(MakeRead("p1", chr_c_.substr(1000, 150), kR1));
  v.push_back(MakeRead("p1", ReverseComplement(chr_c_.substr(1300, 150)), kR2));
  v.push_back(MakeRead("p2", chr_c_.substr(6000, 150), kR1));
  v.push_back(MakeRead("p2", RandomBases(150, 77), kR2));
  ReadBatch batch = Map(std::move(v));
  const bam1_t* a = batch[0];
  const bam1_t* b = batch[1];
  EXPECT_EQ(a->core.flag, BAM_FPAIRED | BAM_FREAD1 | BAM_FPROPER_PAIR | BAM_FMREVERSE);
  EXPECT_EQ(b->core.flag, BAM_FPAIRED | BAM_FREAD2 | BAM_FPROPER_PAIR | BAM_FREVERSE);
  EXPECT_EQ(a->core.pos, 1000);
  EXPECT_EQ(b->core.pos, 1300);
  EXPECT_EQ(a->core.mtid, 2);
  EXPECT_EQ(a->core.mpos, 1300);
  EXPECT_EQ(b->core.mpos, 1000);
  EXPECT_EQ(a->core.isize, 450);
  EXPECT_EQ(b->core.isize, -450);
  // One mate placed, one not: SAM's convention for the unplaced mate.
  const bam1_t* c = batch[2];
  const bam1_t* d = batch[3];
  EXPECT_EQ(c->core.flag, BAM_FPAIRED | BAM_FREAD1 | BAM_FMUNMAP);
  EXPECT_EQ(d->core.flag, BAM_FPAIRED | BAM_FREAD2 | BAM_FUNMAP);
  EXPECT_EQ(d->core.tid, 2);
  EXPECT_EQ(d->core.pos, 6000);
  EXPECT_EQ(d->core.n_cigar, 0u);
  EXPECT_EQ(c->core.mpos, 6000);
  EXPECT_EQ(c->core.isize, 0);
}

TEST_F(MapperTest, SameResultWhateverTheBatchSizeAndThreads) {
  std::vector<BamPtr> records;
  constexpr uint16_t kR1 = BAM_FPAIRED | BAM_FREAD1 | BAM_FUNMAP | BAM_FMUNMAP;
  constexpr uint16_t kR2 = BAM_FPAIRED | BAM_FREAD2 | BAM_FUNMAP | BAM_FMUNMAP;
  std::mt19937 rng(5);
  for (int i = 0; i < 300; ++i) {
    const size_t pos = rng() % (chr_a_.size() - 600);
    std::string r1 = chr_a_.substr(pos, 100 + rng() % 51);
    std::string r2 = ReverseComplement(chr_a_.substr(pos + 200, 150));
    r1[rng() % r1.size()] = 'T';
    std::string name = "q";  // appended apart: GCC 12's -Wrestrict misfires on "q" + std::string
    name += std::to_string(i);
    records.push_back(MakeRead(name, r1, kR1));
    records.push_back(MakeRead(name, i % 7 ? r2 : RandomBases(150, i), kR2));
  }
  const auto whole = testing::MapAll(*index_, *backend_, records, records.size());
  for (size_t batch_size : {2u, 10u, 64u}) {
    EXPECT_EQ(testing::MapAll(*index_, *backend_, records, batch_size), whole) << batch_size;
  }
  // Four workers on different batches at once.
  auto mapper = Mapper::Create(*index_, *backend_, MapOptions{});
  ASSERT_TRUE(mapper.ok());
  std::vector<ReadBatch> batches;
  for (size_t b = 0; b < records.size(); b += 50)
    batches.push_back(testing::CopyToBatch(records, b, std::min(records.size(), b + 50)));
  std::vector<std::thread> workers;
  for (int t = 0; t < 4; ++t) {
    workers.emplace_back([&, t] {
      MapBuffer buffer;  // each worker its own
      for (size_t b = t; b < batches.size(); b += 4) ASSERT_TRUE((*mapper)->MapBatch(batches[b], buffer).ok());
    });
  }
  for (auto& w : workers) w.join();
  std::vector<std::string> threaded;
  for (auto& batch : batches)
    for (size_t i = 0; i < batch.size; ++i) threaded.push_back(testing::RecordText(batch[i]));
  EXPECT_EQ(threaded, whole);
  const MapStats stats = (*mapper)->stats();
  EXPECT_EQ(stats.reads, records.size());
  EXPECT_GT(stats.placed, records.size() * 8 / 10);
  EXPECT_LT(stats.placed, records.size());
}

// A worker's buffer carries nothing from one batch to the next: one buffer shared by two
// mappers (with and without the banded alignment), batches large and small, gives what a fresh
// buffer gives each batch.
TEST_F(MapperTest, ABufferReusedAcrossMappersAndBatchSizesChangesNothing) {
  std::vector<BamPtr> records;
  std::mt19937 rng(9);
  for (int i = 0; i < 400; ++i) {
    const size_t pos = rng() % (chr_a_.size() - 300);
    std::string seq = chr_a_.substr(pos, 60 + rng() % 150);
    for (int e = static_cast<int>(rng() % 6); e > 0; --e) seq[rng() % seq.size()] = "ACGT"[rng() & 3];
    if (i % 5 == 0) seq.erase(seq.size() / 2, 1 + rng() % 3);  // an indel: the banded alignment
    if (i % 2) seq = ReverseComplement(seq);
    records.push_back(MakeRead("b" + std::to_string(i), seq));
  }
  MapOptions ungapped;
  ungapped.banded_alignment = false;
  auto gapped_mapper = Mapper::Create(*index_, *backend_, MapOptions{});
  auto ungapped_mapper = Mapper::Create(*index_, *backend_, ungapped);
  ASSERT_TRUE(gapped_mapper.ok() && ungapped_mapper.ok());
  MapBuffer shared;
  size_t gapped = 0;
  const size_t sizes[] = {400, 7, 150, 1, 243};
  for (size_t round = 0; round < 10; ++round) {
    const size_t n = sizes[round % 5];
    Mapper& mapper = round % 2 ? **ungapped_mapper : **gapped_mapper;
    ReadBatch reused = testing::CopyToBatch(records, 0, n), fresh = testing::CopyToBatch(records, 0, n);
    MapBuffer own;
    ASSERT_TRUE(mapper.MapBatch(reused, shared).ok());
    ASSERT_TRUE(mapper.MapBatch(fresh, own).ok());
    for (size_t i = 0; i < n; ++i) {
      ASSERT_EQ(testing::RecordText(reused[i]), testing::RecordText(fresh[i])) << round << " " << i;
      gapped += round % 2 == 0 && testing::CigarOf(fresh[i]).find_first_of("ID") != std::string::npos;
    }
  }
  EXPECT_GT(gapped, 50u);  // the banded alignment really ran
}

TEST(BackendTest, ParseAndCreate) {
  EXPECT_EQ(*ParseAccelKind("auto"), AccelKind::kAuto);
  EXPECT_EQ(*ParseAccelKind("simd"), AccelKind::kSimd);
  EXPECT_EQ(*ParseAccelKind("scalar"), AccelKind::kScalar);
  auto bad = ParseAccelKind("gpu");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "unknown accelerator 'gpu' (expected auto, simd, scalar, opencl, opencl:PLATFORM:DEVICE or xrt)");
  auto device = ParseAccelChoice("opencl:1:2");
  ASSERT_TRUE(device.ok());
  EXPECT_EQ(device->kind, AccelKind::kOpenCL);
  EXPECT_EQ(device->opencl_platform, 1);
  EXPECT_EQ(device->opencl_device, 2);
  for (const char* wrong : {"opencl:", "opencl:1", "opencl:1:", "opencl:x:0", "opencl:0:-1", "opencl:1:2:3"})
    EXPECT_FALSE(ParseAccelChoice(wrong).ok()) << wrong;
  auto scalar = CreateBackend(AccelKind::kScalar);
  ASSERT_TRUE(scalar.ok());
  EXPECT_EQ((*scalar)->Name(), "scalar");
  auto simd = CreateBackend(AccelKind::kAuto);
  ASSERT_TRUE(simd.ok());
  EXPECT_EQ((*simd)->Name().rfind("simd:", 0), 0u) << (*simd)->Name();
  // No FPGA image installed here: --accel xrt is refused and names where it looked.
  auto xrt = CreateBackend(AccelKind::kXrt);
  ASSERT_FALSE(xrt.ok());
#ifdef CRAMJET_HAVE_XRT
  EXPECT_EQ(xrt.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(xrt.status().message(), std::string("--accel xrt: no FPGA image at '") + kDefaultXclbinPath +
                                        "' (build it with firmware/, or pass --xclbin)");
#else
  EXPECT_EQ(xrt.status().code(), StatusCode::kUnimplemented);
#endif
  EXPECT_NE(BackendReport().find("auto picks " + (*simd)->Name()), std::string::npos) << BackendReport();
}

}  // namespace
}  // namespace cramjet
