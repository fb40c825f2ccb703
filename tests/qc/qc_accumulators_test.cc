// QC's accumulators (host/qc/accumulators_internal.h) on their own: what one record adds to each,
// worked out by hand.
#include "qc/accumulators_internal.h"

#include <htslib/sam.h>

#include <cstring>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "common/test_util.h"

namespace cramjet {
namespace {

using namespace qc_internal;  // NOLINT

// A record to build, field by field: R().Flag(BAM_FREVERSE).Seq("ACGT").
struct R {
  std::string name = "r";
  uint16_t flag = BAM_FUNMAP;
  std::string seq;
  std::vector<uint8_t> qual;  // empty: all 30; {0xff}: none
  int32_t tid = -1;
  int64_t pos = -1;
  std::string cigar;
  int32_t mtid = -1;
  int64_t mpos = -1;
  int64_t isize = 0;
  uint8_t mapq = 60;
  R& Name(std::string v) { name = std::move(v); return *this; }
  R& Flag(uint16_t v) { flag = v; return *this; }
  R& Seq(std::string v) { seq = std::move(v); return *this; }
  R& Qual(std::vector<uint8_t> v) { qual = std::move(v); return *this; }
  R& At(int32_t t, int64_t p, std::string c) { tid = t; pos = p; cigar = std::move(c); return *this; }
  R& Mate(int32_t t, int64_t p, int64_t i) { mtid = t; mpos = p; isize = i; return *this; }
  R& Mapq(uint8_t v) { mapq = v; return *this; }
};

BamPtr Make(const R& r) {
  BamPtr b = NewBam();
  const std::vector<uint32_t> cigar = cramjet::testing::CigarOps(r.cigar);
  std::vector<char> qual(r.seq.size(), 30);
  const bool none = r.qual.size() == 1 && r.qual[0] == 0xff;
  for (size_t i = 0; i < r.qual.size() && !none; ++i) qual[i] = char(r.qual[i]);
  EXPECT_GE(bam_set1(b.get(), r.name.size(), r.name.c_str(), r.flag, r.tid, r.pos, r.mapq, cigar.size(),
                     cigar.data(), r.mtid, r.mpos, r.isize, r.seq.size(), r.seq.c_str(), none ? nullptr : qual.data(), 0),
            0);
  return b;
}

std::string Letters(const std::vector<uint8_t>& codes, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += kCodeChar[codes[i]];
  return s;
}

TEST(QcAccumulators, DecodeReadTurnsReverseStrandReadsBack) {
  std::vector<uint8_t> codes, quals;
  BamPtr fwd = Make(R().Seq("ACGTN").Qual(std::vector<uint8_t>{1, 2, 3, 4, 5}));
  EXPECT_TRUE(DecodeRead(fwd.get(), codes, quals));
  EXPECT_EQ(Letters(codes, 5), "ACGTN");
  EXPECT_EQ(std::vector<uint8_t>(quals.begin(), quals.begin() + 5), (std::vector<uint8_t>{1, 2, 3, 4, 5}));
  BamPtr rev = Make(R().Flag(BAM_FUNMAP | BAM_FREVERSE).Seq("AACGT").Qual(std::vector<uint8_t>{1, 2, 3, 4, 5}));
  EXPECT_TRUE(DecodeRead(rev.get(), codes, quals));
  EXPECT_EQ(Letters(codes, 5), "ACGTT");
  EXPECT_EQ(std::vector<uint8_t>(quals.begin(), quals.begin() + 5), (std::vector<uint8_t>{5, 4, 3, 2, 1}));
  BamPtr bare = Make(R().Seq("ACG").Qual(std::vector<uint8_t>{0xff}));
  EXPECT_FALSE(DecodeRead(bare.get(), codes, quals));
  EXPECT_EQ(std::vector<uint8_t>(quals.begin(), quals.begin() + 3), (std::vector<uint8_t>{0, 0, 0}));
  EXPECT_EQ(PrefixText(rev.get(), 3), "ACG");
  EXPECT_EQ(MateOf(BAM_FPAIRED | BAM_FREAD2), kQcRead2);
  EXPECT_EQ(MateOf(BAM_FPAIRED | BAM_FREAD1), kQcRead1);
  EXPECT_EQ(MateOf(BAM_FREAD2), kQcSingle);
}

TEST(QcAccumulators, MateAccAddsLengthsBasesQualitiesAndAdapters) {
  MateAcc m;
  m.AddLength(0);
  // 12 bases of TruSeq's adapter start at cycle 2; qualities 10 and 35.
  const std::string seq = "GG" + std::string(kQcAdapters[0].kmer) + "C";
  std::vector<uint8_t> codes, quals;
  BamPtr b = Make(R().Seq(seq).Qual(std::vector<uint8_t>(seq.size(), 35)));
  bam_get_qual(b.get())[0] = 10;
  const bool has_quality = DecodeRead(b.get(), codes, quals);
  m.AddLength(seq.size());
  m.AddBases(codes.data(), quals.data(), seq.size(), has_quality, /*reverse=*/false, nullptr);
  m.Flush();
  EXPECT_EQ(m.reads, 2u);
  EXPECT_EQ(m.bases, 15u);
  EXPECT_EQ(m.min_length, 0u);
  EXPECT_EQ(m.max_length, 15u);
  EXPECT_EQ(m.length_hist[0], 1u);
  EXPECT_EQ(m.length_hist[15], 1u);
  EXPECT_EQ(m.q30, 14u);
  EXPECT_EQ(m.q20, 14u);
  EXPECT_EQ(m.quality_sum, 10u + 14 * 35);
  EXPECT_EQ(m.cycle_quality_sum[0], 10u);
  EXPECT_EQ(m.quality_hist[0 * kQualityBins + 10], 1u);
  EXPECT_EQ(m.quality_hist[1 * kQualityBins + 35], 1u);
  EXPECT_EQ(m.cycle_code[kCodeG * m.stride + 0], 1u);
  EXPECT_EQ(m.adapter_reads[0], 1u);
  EXPECT_EQ(m.adapter_reads[1], 0u);
  EXPECT_EQ(m.adapter_start[0][2], 1u);
  // G G A G A T C G G A A G A G C: 9 G/C of 15.
  EXPECT_EQ(m.code_total[kCodeG] + m.code_total[kCodeC], 9u);
  // 9 of 15 stands for 56.7-63.3 %, the bins 57 to 63; 57 is reached by 8 of 15 too and 63 by
  // 10 of 15, so they get half (FastQC's model), all scaled by (15 + 1) / 101.
  ASSERT_GE(m.gc_by_length.size(), 16u);
  EXPECT_EQ(m.gc_by_length[15][9], 1u);
  const std::array<double, 101> gc = m.GcHistogram();
  EXPECT_NEAR(gc[57], 8.0 / 101, 1e-12);
  for (size_t bin = 58; bin <= 62; ++bin) EXPECT_NEAR(gc[bin], 16.0 / 101, 1e-12) << bin;
  EXPECT_NEAR(gc[63], 8.0 / 101, 1e-12);
  EXPECT_EQ(gc[56], 0.0);
  EXPECT_EQ(gc[64], 0.0);
  EXPECT_EQ(m.read_mean_quality_hist[(10 + 14 * 35) / 15], 1u);

  // A reverse-strand read counts its complement as stored.
  MateAcc r;
  BamPtr rev = Make(R().Flag(BAM_FUNMAP | BAM_FREVERSE).Seq("AAAC"));
  DecodeRead(rev.get(), codes, quals);  // GTTT in sequencing direction
  r.AddLength(4);
  r.AddBases(codes.data(), quals.data(), 4, true, true, nullptr);
  EXPECT_EQ(r.code_total[kCodeT], 3u);
  EXPECT_EQ(r.code_total_as_stored[kCodeA], 3u);
  EXPECT_EQ(r.code_total_as_stored[kCodeC], 1u);

  // Merging adds everything.
  m.MergeFrom(r);
  EXPECT_EQ(m.reads, 3u);
  EXPECT_EQ(m.code_total[kCodeT], r.code_total[kCodeT] + 1u);
}

TEST(QcAccumulators, MateAccTakesADeviceSummaryAndItsColumns) {
  MateAcc m;
  const std::vector<uint8_t> codes = {kCodeA, kCodeC, kCodeG, kCodeT}, quals = {20, 20, 20, 20};
  // q20, q30, quality sum, A C G T N: the device's word, whatever the bases say.
  const uint32_t summary[CJ_QC_SUMMARY_WORDS] = {4, 0, 80, 1, 1, 1, 1, 0};
  m.AddLength(4);
  m.AddBases(codes.data(), quals.data(), 4, true, false, summary);
  std::vector<uint32_t> quality(CJ_QC_MAX_CYCLES, 0), counts(CJ_QC_NUM_CODES * CJ_QC_MAX_CYCLES, 0);
  for (size_t i = 0; i < 4; ++i) {
    quality[i] = 20;
    counts[codes[i] * CJ_QC_MAX_CYCLES + i] = 1;
  }
  m.Flush();
  EXPECT_EQ(m.cycle_quality_sum[0], 0u);  // left to AddDeviceColumns
  m.AddDeviceColumns(quality.data(), counts.data());
  m.Flush();
  EXPECT_EQ(m.q20, 4u);
  EXPECT_EQ(m.quality_sum, 80u);
  EXPECT_EQ(m.cycle_quality_sum[3], 20u);
  EXPECT_EQ(m.cycle_code[kCodeT * m.stride + 3], 1u);
  EXPECT_EQ(m.quality_hist[2 * kQualityBins + 20], 1u);  // the histogram is the host's
}

TEST(QcAccumulators, MateAccComparesAlignedBasesWithTheReference) {
  // Reference ACGTACGTAC in BAM codes.
  std::vector<uint8_t> ref;
  for (char c : std::string("ACGTACGTAC")) ref.push_back(seq_nt16_table[static_cast<unsigned char>(c)]);
  MateAcc m;
  m.Grow(6);
  // At 2: GTACGA against GTACGT, the last base differs; reverse strand: cycle 0.
  BamPtr b = Make(R().Flag(BAM_FREVERSE).Seq("GTACGA").At(0, 2, "6M"));
  m.AddAlignment(b.get(), &ref, 6, true);
  EXPECT_EQ(m.placed, 1u);
  EXPECT_EQ(m.aligned_bases, 6u);
  EXPECT_EQ(m.mismatches, 1u);
  EXPECT_EQ(m.cycle_mismatch[0], 1u);
  EXPECT_EQ(m.cycle_aligned[5], 1u);
  EXPECT_EQ(m.identity_reads, 1u);
  EXPECT_EQ(m.identity_hist[833], 1u);  // 5 of 6
  // An insertion counts as a column of the identity; no reference: placed only.
  BamPtr ins = Make(R().Flag(0).Seq("ACGGT").At(0, 0, "3M1I1M"));
  m.AddAlignment(ins.get(), &ref, 5, false);
  EXPECT_EQ(m.identity_hist[800], 1u);  // 4 matches / (4 + 1 inserted)
  m.AddAlignment(ins.get(), nullptr, 5, false);
  EXPECT_EQ(m.placed, 3u);
  EXPECT_EQ(m.identity_reads, 2u);
}

TEST(QcAccumulators, MateJoinerJoinsMatesByNameInAnyOrder) {
  MateJoiner j;
  uint64_t f1 = 0, f2 = 0, f3 = 0;
  // Straight from FASTQ: R1 then R2, names with /1 /2.
  EXPECT_FALSE(j.Join("a/1", kQcRead1, 11, 0, &f1));
  EXPECT_TRUE(j.Join("a/2", kQcRead2, 22, 0, &f1));
  // Position order: mates far apart, R2 first this time; the same pair gives the same hash.
  EXPECT_FALSE(j.Join("b", kQcRead2, 22, 1, &f2));
  EXPECT_FALSE(j.Join("c", kQcRead1, 5, 1, &f3));
  EXPECT_TRUE(j.Join("b", kQcRead1, 11, 1, &f2));
  EXPECT_EQ(f1, f2);
  EXPECT_FALSE(j.Join("e", kQcRead2, 9, 2, &f3));  // the last read waits outside the table
  std::multiset<std::pair<uint64_t, size_t>> left;
  j.DrainUnjoined([&](uint64_t h, size_t g) { left.insert({h, g}); });
  EXPECT_EQ(left, (std::multiset<std::pair<uint64_t, size_t>>{{5, 1}, {9, 2}}));
  left.clear();
  j.DrainUnjoined([&](uint64_t h, size_t g) { left.insert({h, g}); });
  EXPECT_TRUE(left.empty());
}

TEST(QcAccumulators, OverrepresentedCounterKeepsTheFirstPrefixesSeen) {
  OverrepresentedCounter o;
  BamPtr b = Make(R().Seq("ACGTACGT"));
  EXPECT_TRUE(o.Count(42, b.get(), 4));
  EXPECT_TRUE(o.Count(42, b.get(), 4));
  uint32_t count = 0;
  o.counts().ForEach([&](uint64_t key, uint32_t n) { if (key == 42) count = n; });
  EXPECT_EQ(count, 2u);
  EXPECT_EQ(o.sequences().at(42), "ACGT");
  for (uint64_t h = 1000; o.counts().size() < kOverrepresentedCap; ++h) EXPECT_TRUE(o.Count(h, b.get(), 1));
  EXPECT_FALSE(o.Count(7, b.get(), 1));  // full: a new prefix is not tracked
  EXPECT_TRUE(o.Count(42, b.get(), 4));  // one already there still counts
}

TEST(QcAccumulators, SamtoolsCountersCountAsSamtoolsStatsDoes) {
  SamtoolsCounters c;
  EXPECT_FALSE(c.AddRecord(Make(R().Flag(BAM_FUNMAP | BAM_FSECONDARY).Seq("ACGT")).get()));
  EXPECT_FALSE(c.AddRecord(Make(R().Flag(BAM_FUNMAP | BAM_FSUPPLEMENTARY).Seq("ACGT")).get()));
  // READ1 forward at 10, mate reverse at 100 on the same contig: inward; 2 inserted bases count.
  const R r1 = R().Name("p").Flag(BAM_FPAIRED | BAM_FREAD1 | BAM_FMREVERSE | BAM_FPROPER_PAIR).Seq("ACGTAC").At(0, 10, "2M2I2M").Mate(0, 100, 96).Mapq(0);
  EXPECT_TRUE(c.AddRecord(Make(r1).get()));
  EXPECT_EQ(InsertSizeBin(Make(r1).get()), 96);
  R r2 = r1;
  r2.flag = BAM_FPAIRED | BAM_FREAD2 | BAM_FREVERSE | BAM_FPROPER_PAIR | BAM_FDUP;
  r2.pos = 5;  // before the last placed record: not sorted
  r2.isize = -96;
  EXPECT_TRUE(c.AddRecord(Make(r2).get()));
  EXPECT_EQ(InsertSizeBin(Make(r2).get()), -1);  // counted from READ1
  R far = r1;
  far.isize = 100000;
  EXPECT_EQ(InsertSizeBin(Make(far).get()), kMaxInsert);
  far.mtid = 1;
  EXPECT_EQ(InsertSizeBin(Make(far).get()), -1);
  EXPECT_TRUE(c.AddRecord(Make(R().Flag(BAM_FUNMAP | BAM_FQCFAIL).Seq("AC")).get()));
  EXPECT_EQ(c.secondary, 1u);
  EXPECT_EQ(c.supplementary, 1u);
  EXPECT_EQ(c.reads, 3u);
  EXPECT_EQ(c.bases, 14u);
  EXPECT_EQ(c.paired, 2u);
  EXPECT_EQ(c.properly_paired, 2u);
  EXPECT_EQ(c.inward, 1u);
  EXPECT_EQ(c.outward + c.other_orientation, 0u);
  EXPECT_EQ(c.mapq0, 2u);
  EXPECT_EQ(c.bases_mapped, 12u);
  EXPECT_EQ(c.bases_mapped_cigar, 12u);
  EXPECT_EQ(c.duplicates_flagged, 1u);
  EXPECT_EQ(c.qc_failed, 1u);
  EXPECT_FALSE(c.sorted);
}

TEST(QcAccumulators, CoverageBinsCountAlignedBlocksAcrossBins) {
  CoverageBins cov;
  // 5M at 997 (3 bases in bin 0, 2 in bin 1), 10 deleted bases not covered, 5M at 1012.
  cov.AddRecord(Make(R().Flag(0).Seq("ACGTACGTAC").At(1, 997, "5M10D5M")).get());
  EXPECT_EQ(cov.contigs(), 2u);
  EXPECT_EQ(cov.bins(0), 0u);
  ASSERT_EQ(cov.bins(1), 2u);
  EXPECT_EQ(cov.at(1, 0), 3u);
  EXPECT_EQ(cov.at(1, 1), 7u);
}

}  // namespace
}  // namespace cramjet
