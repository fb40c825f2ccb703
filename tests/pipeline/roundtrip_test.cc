// Round trip of every real FASTQ and BAM set in ../shared/data: compress, check with htslib's own
// tools, verify, decompress, compare. FASTQ comes back byte for byte; BAM records come back with
// the same fields and tags (tag order aside, which SAM does not define).
#include <random>

#include "roundtrip_sets.h"

namespace cramjet::roundtrip {
namespace {

class FastqRoundTrip : public ::testing::TestWithParam<DataSet> {};

// --unaligned: reads stored unplaced in input order, so plain `decompress` gives the files back.
TEST_P(FastqRoundTrip, CompressVerifyDecompressCompare) {
  const DataSet& d = GetParam();
  CRAMJET_REQUIRE_SET(d);
  TempDir dir;
  std::string out = dir / "out.cram";
  std::string ref = ShellQuote(SharedPath(d.reference));
  auto r = RunCramjet("compress -q --unaligned -@ 2 -T " + ref + " -o " + ShellQuote(out) + Files(d));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* side : {".seqchksum", ".md5", ".crai"})
    EXPECT_TRUE(testing::PathExists(out + side)) << side;

  // htslib's view of our output.
  EXPECT_EQ(RunShell("samtools quickcheck -u " + ShellQuote(out)).exit_code, 0);
  uint64_t in_records = 0;
  for (const char* f : d.files)
    in_records += Count("zcat -f " + ShellQuote(SharedPath(f)) + " | wc -l") / 4;
  EXPECT_EQ(Count("samtools view -c --reference " + ref + " " + ShellQuote(out)), in_records);
  // md5 sidecar agrees with md5sum.
  EXPECT_EQ(RunShell("cd " + ShellQuote(dir.path()) + " && md5sum -c out.cram.md5").exit_code, 0);

  auto v = RunCramjet("verify " + ShellQuote(out));
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;

  std::vector<std::string> outs;
  for (size_t i = 0; i < d.files.size(); ++i) outs.push_back(dir / ("back" + std::to_string(i) + ".fq"));
  std::string olist = outs.size() == 2 ? "-1 " + ShellQuote(outs[0]) + " -2 " + ShellQuote(outs[1])
                                        : "-o " + ShellQuote(outs[0]);
  auto back = RunCramjet("decompress " + olist + " " + ShellQuote(out));
  ASSERT_EQ(back.exit_code, 0) << back.err;
  for (size_t i = 0; i < d.files.size(); ++i) {
    auto cmp = RunShell("cmp <(zcat -f " + ShellQuote(SharedPath(d.files[i])) + ") " + ShellQuote(outs[i]));
    EXPECT_EQ(cmp.exit_code, 0) << d.files[i] << ": " << cmp.out << cmp.err;
  }
}

INSTANTIATE_TEST_SUITE_P(RealData, FastqRoundTrip, ::testing::ValuesIn(RealFastqSets()),
    [](const auto& info) { return std::string(info.param.name); });

// SAM text of the records with each line's tags sorted, for a comparison that ignores tag order.
// CRAM stores no MAPQ or CIGAR for unmapped records (the format has no place for them; htslib and
// samtools behave the same), so those two fields of unmapped records are compared as 0 and '*'.
// `decode_md`: let samtools regenerate MD/NM as any CRAM reader does by default (a cramjet CRAM of
// aligned input leaves out those the reference gives back, docs/formats.md "MD and NM").
std::string NormalisedRecords(const std::string& file, const std::string& ref, bool decode_md = false) {
  auto r = RunShell(std::string("samtools view --no-PG --input-fmt-option decode_md=") + (decode_md ? "1" : "0") +
                    " --reference " +
                    ShellQuote(ref) + " " + ShellQuote(file) +
                    " | python3 -c 'import sys\nfor l in sys.stdin:\n f=l.rstrip(\"\\n\").split(\"\\t\")\n"
                    " if int(f[1])&4: f[4:6]=[\"0\",\"*\"]\n"
                    " print(\"\\t\".join(f[:11]+sorted(f[11:])))'");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

class BamRoundTrip : public ::testing::TestWithParam<DataSet> {};

TEST_P(BamRoundTrip, CompressVerifyDecompressCompare) {
  const DataSet& d = GetParam();
  CRAMJET_REQUIRE_SET(d);
  TempDir dir;
  std::string out = dir / "out.cram", in = SharedPath(d.files[0]), ref = SharedPath(d.reference);
  auto r = RunCramjet("compress -q -T " + ShellQuote(ref) + " -o " + ShellQuote(out) + " " + ShellQuote(in));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(RunShell("samtools quickcheck " + ShellQuote(out)).exit_code, 0);
  EXPECT_EQ(Count("samtools view -c --reference " + ShellQuote(ref) + " " + ShellQuote(out)),
            Count("samtools view -c " + ShellQuote(in)));
  auto v = RunCramjet("verify " + ShellQuote(out) + " --against " + ShellQuote(in) + " -T " + ShellQuote(ref));
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  auto back = RunCramjet("decompress -o " + ShellQuote(dir / "back.bam") + " " + ShellQuote(out) +
                         " -T " + ShellQuote(ref));
  ASSERT_EQ(back.exit_code, 0) << back.err;
  std::string want = NormalisedRecords(in, ref), got = NormalisedRecords(dir / "back.bam", ref);
  EXPECT_FALSE(want.empty());
  EXPECT_TRUE(want == got) << "records differ after the round trip";
  // Any reader gives the same records: samtools regenerates the MD/NM left out, and no others.
  EXPECT_TRUE(want == NormalisedRecords(out, ref, /*decode_md=*/true)) << "samtools reads other records";
}

INSTANTIATE_TEST_SUITE_P(
    RealData, BamRoundTrip,
    ::testing::Values(
        DataSet{"chrM_na12878_level9", "human-chrM-na12878/chrM_hg19.fa",
                {"human-chrM-na12878/hts-specs/level-9.bam"}, false},
        DataSet{"chrM_na12878_strelka", "human-chrM-na12878/chrM_hg19.fa",
                {"human-chrM-na12878/strelka/NA12878_chrM_200-200.bam"}, false},
        DataSet{"exome_sample1", "human-exome-novaseq/ref.fa.gz",
                {"human-exome-novaseq/bam/Sample1.bam"}, false},
        DataSet{"exome_sample2", "human-exome-novaseq/ref.fa.gz",
                {"human-exome-novaseq/bam/Sample2.bam"}, false},
        DataSet{"exome_sample3", "human-exome-novaseq/ref.fa.gz",
                {"human-exome-novaseq/bam/Sample3.bam"}, false},
        DataSet{"exome_sample4", "human-exome-novaseq/ref.fa.gz",
                {"human-exome-novaseq/bam/Sample4.bam"}, false},
        DataSet{"exome_sample5", "human-exome-novaseq/ref.fa.gz",
                {"human-exome-novaseq/bam/Sample5.bam"}, false},
        DataSet{"exome_sample6", "human-exome-novaseq/ref.fa.gz",
                {"human-exome-novaseq/bam/Sample6.bam"}, false},
        DataSet{"chrM_na12878_level1", "human-chrM-na12878/chrM_hg19.fa",
                {"human-chrM-na12878/hts-specs/level-1.bam"}, false},

        DataSet{"na12878_chr22_tiny", "human-na12878-chr22-tiny/q.fa",
                {"human-na12878-chr22-tiny/NA12878.chr22.tiny.bam"}, false}),
    [](const auto& info) { return std::string(info.param.name); });

// Interleaved FASTQ in, gzip FASTQ out; several lanes in one call; output independent of threads.
TEST(FastqLayouts, InterleavedLanesAndThreads) {
  const char* r1 = "human-chrM-paired-binned/fastq/micro_R1.fq.gz";
  const char* r2 = "human-chrM-paired-binned/fastq/micro_R2.fq.gz";
  CRAMJET_REQUIRE_SHARED_DATA(r1);
  TempDir dir;
  // Through the mapper (the default) with --keep-order: a copy of the reference gets the index.
  const std::string ref_path = IndexedReferenceCopy(dir, "human-chrM-paired-binned/chrM_NC_012920.1.fa");
  ASSERT_FALSE(ref_path.empty());
  std::string ref = ShellQuote(ref_path);
  // Interleave R1/R2 record by record.
  ASSERT_EQ(RunShell("paste -d '\\n' <(zcat " + ShellQuote(SharedPath(r1)) + " | paste - - - -) <(zcat " +
                     ShellQuote(SharedPath(r2)) + " | paste - - - -) | tr '\\t' '\\n' > " +
                     ShellQuote(dir / "inter.fq")).exit_code, 0);
  auto c = RunCramjet("compress -q --keep-order --interleaved -T " + ref + " -o " + ShellQuote(dir / "i.cram") +
                      " " + ShellQuote(dir / "inter.fq"));
  ASSERT_EQ(c.exit_code, 0) << c.err;
  auto d = RunCramjet("decompress --original-order -o " + ShellQuote(dir / "back.fq.gz") + " " +
                      ShellQuote(dir / "i.cram"));
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(RunShell("gzip -t " + ShellQuote(dir / "back.fq.gz")).exit_code, 0);
  EXPECT_EQ(RunShell("cmp <(zcat " + ShellQuote(dir / "back.fq.gz") + ") " + ShellQuote(dir / "inter.fq")).exit_code, 0);

  // Two lanes of one sample, Illumina names: one read group each, lanes back in order.
  for (const char* lane : {"L001", "L002"}) {
    RunShell("cp " + ShellQuote(SharedPath(r1)) + " " + ShellQuote(dir / (std::string("S_S1_") + lane + "_R1_001.fastq.gz")));
    RunShell("cp " + ShellQuote(SharedPath(r2)) + " " + ShellQuote(dir / (std::string("S_S1_") + lane + "_R2_001.fastq.gz")));
  }
  std::string lanes = ShellQuote(dir / "S_S1_L001_R1_001.fastq.gz") + " " + ShellQuote(dir / "S_S1_L001_R2_001.fastq.gz") +
                      " " + ShellQuote(dir / "S_S1_L002_R1_001.fastq.gz") + " " + ShellQuote(dir / "S_S1_L002_R2_001.fastq.gz");
  auto one = RunCramjet("compress -q --keep-order -@ 1 -T " + ref + " -o " + ShellQuote(dir / "t1.cram") + " " + lanes);
  auto two = RunCramjet("compress -q --keep-order -@ 2 -T " + ref + " -o " + ShellQuote(dir / "t2.cram") + " " + lanes);
  ASSERT_EQ(one.exit_code, 0) << one.err;
  ASSERT_EQ(two.exit_code, 0) << two.err;
  // Same bytes apart from the @PG command line: compare after re-heading both identically.
  EXPECT_EQ(RunShell("cmp <(samtools view --no-PG " + ShellQuote(dir / "t1.cram") + ") <(samtools view --no-PG " +
                     ShellQuote(dir / "t2.cram") + ")").exit_code, 0);
  EXPECT_EQ(RunShell("samtools view -H " + ShellQuote(dir / "t1.cram") + " | grep -c '^@RG'").out, "2\n");
  auto back = RunCramjet("decompress --original-order -1 " + ShellQuote(dir / "b1.fq") + " -2 " +
                         ShellQuote(dir / "b2.fq") + " " + ShellQuote(dir / "t2.cram"));
  ASSERT_EQ(back.exit_code, 0) << back.err;
  EXPECT_EQ(RunShell("cmp <(zcat " + ShellQuote(SharedPath(r1)) + " " + ShellQuote(SharedPath(r1)) + ") " +
                     ShellQuote(dir / "b1.fq")).exit_code, 0);
  EXPECT_EQ(RunShell("cmp <(zcat " + ShellQuote(SharedPath(r2)) + " " + ShellQuote(SharedPath(r2)) + ") " +
                     ShellQuote(dir / "b2.fq")).exit_code, 0);
}

// The 1000 Genomes chrM BAMs name the contig MT (with the full GRCh37 dictionary in the header);
// their rCRS.fasta calls it rCRS. The same sequence under the BAM's name serves as reference.
TEST(BamRoundTripRenamedReference, ThousandGenomesChrM) {
  CRAMJET_REQUIRE_SHARED_DATA("human-chrM-1000g-lowcov/rCRS.fasta");
  if (!testing::ToolAvailable("samtools")) GTEST_SKIP() << "samtools not installed";
  TempDir dir;
  std::string ref = dir / "MT.fa";
  ASSERT_EQ(RunShell("sed '1s/^>.*/>MT/' " + ShellQuote(SharedPath("human-chrM-1000g-lowcov/rCRS.fasta")) +
                     " > " + ShellQuote(ref)).exit_code, 0);
  for (const char* bam : {"human-chrM-1000g-lowcov/bam/HG03478.mapped.ILLUMINA.bwa.MSL.low_coverage.20121211.bam",
                          "human-chrM-1000g-lowcov/bam/HG03706.mapped.ILLUMINA.bwa.PJL.low_coverage.20130415.bam"}) {
    std::string in = SharedPath(bam), out = dir / "out.cram";
    auto c = RunCramjet("compress -q -T " + ShellQuote(ref) + " -o " + ShellQuote(out) + " " + ShellQuote(in));
    ASSERT_EQ(c.exit_code, 0) << c.err;
    auto v = RunCramjet("verify " + ShellQuote(out) + " --against " + ShellQuote(in) + " -T " + ShellQuote(ref));
    EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
    EXPECT_TRUE(NormalisedRecords(in, ref) == NormalisedRecords(out, ref, /*decode_md=*/true)) << bam;
  }
}

// --drop-tags removes exactly the named tags; the proof covers every other tag.
TEST(DropTags, RemovesOnlyTheNamedTags) {
  const char* bam = "human-exome-novaseq/bam/Sample1.bam";
  CRAMJET_REQUIRE_SHARED_DATA(bam);
  if (!testing::ToolAvailable("samtools")) GTEST_SKIP() << "samtools not installed";
  TempDir dir;
  std::string in = SharedPath(bam), ref = SharedPath("human-exome-novaseq/ref.fa.gz"), out = dir / "d.cram";
  auto tags = [&](const std::string& f) {
    return RunShell("samtools view --input-fmt-option decode_md=0 --reference " + ShellQuote(ref) + " " +
                    ShellQuote(f) + " | cut -f 12- | tr '\t' '\n' | cut -c1-2 | sort -u | tr '\n' ' '").out;
  };
  std::string before = tags(in);
  ASSERT_NE(before.find("MD "), std::string::npos) << before;
  auto c = RunCramjet("compress -q --drop-tags MD,NM -T " + ShellQuote(ref) + " -o " + ShellQuote(out) + " " + ShellQuote(in));
  ASSERT_EQ(c.exit_code, 0) << c.err;
  std::string after = tags(out);
  EXPECT_EQ(after.find("MD "), std::string::npos) << after;
  EXPECT_EQ(after.find("NM "), std::string::npos) << after;
  std::string expected = before;
  for (const char* t : {"MD ", "NM "}) expected.erase(expected.find(t), 3);
  EXPECT_EQ(after, expected);
  auto v = RunCramjet("verify " + ShellQuote(out));
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
}

}  // namespace
}  // namespace cramjet::roundtrip
