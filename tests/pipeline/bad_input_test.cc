// Bad input to `cramjet compress` / `decompress`: one clear error line naming the file and the
// record, a non-zero exit, and nothing left under the output's name (nor any temporary).
#include <algorithm>

#include "common/test_util.h"

namespace cramjet {
namespace {

using testing::RunCramjet;
using testing::RunShell;
using testing::ShellQuote;
using testing::TempDir;
using testing::WriteFile;

const char kRef[] = ">c1\nACGTACGTACGTACGTACGTACGTACGTACGTACGTACGT\n";

class CompressBadInput : public ::testing::Test {
 protected:
  // FASTQ goes through the mapper by default, so the reference gets its index first: the errors
  // below are those of the default path.
  void SetUp() override {
    WriteFile(dir_ / "ref.fa", kRef);
    auto index = RunCramjet("index " + ShellQuote(dir_ / "ref.fa"));
    ASSERT_EQ(index.exit_code, 0) << index.err;
  }
  // Runs compress on `inputs` (already quoted) into dir/out/out.cram; checks exit and stderr.
  void ExpectFailure(const std::string& inputs, const std::string& expected_stderr,
                     int expected_exit = 1, const std::string& extra = "") {
    RunShell("mkdir -p " + ShellQuote(dir_ / "out"));
    auto r = RunCramjet("compress -T " + ShellQuote(dir_ / "ref.fa") + " -o " +
                        ShellQuote(dir_ / "out/out.cram") + " " + extra + " " + inputs);
    EXPECT_EQ(r.exit_code, expected_exit) << r.err;
    EXPECT_EQ(r.err, expected_stderr);
    EXPECT_EQ(r.out, "");
    auto left = testing::ListDir(dir_ / "out");
    EXPECT_TRUE(left.empty()) << "left behind: " << (left.empty() ? "" : left[0]);
  }
  std::string Q(const std::string& name) { return ShellQuote(dir_ / name); }
  TempDir dir_;
};

TEST_F(CompressBadInput, MissingFile) {
  ExpectFailure(Q("nope.fq"), "cramjet compress: error: '" + dir_ / "nope.fq" +
                                  "': no such file\n");
}

TEST_F(CompressBadInput, EmptyFile) {
  WriteFile(dir_ / "empty.fq", "");
  ExpectFailure(Q("empty.fq"), "cramjet compress: error: '" + dir_ / "empty.fq" +
                                   "': file is empty\n");
}

TEST_F(CompressBadInput, MissingPlusLine) {
  WriteFile(dir_ / "a.fq", "@r1\nACGT\n+\nIIII\n@r2\nACGT\nIIII\n");
  ExpectFailure(Q("a.fq"), "cramjet compress: error: '" + dir_ / "a.fq" +
                               "': line 7 (record 2): expected the '+' separator line, found "
                               "'IIII'\n");
}

TEST_F(CompressBadInput, SequenceAndQualityLengthsDiffer) {
  WriteFile(dir_ / "a.fq", "@r1\nACGT\n+\nIII\n");
  ExpectFailure(Q("a.fq"), "cramjet compress: error: '" + dir_ / "a.fq" +
                               "': line 4 (record 1): quality length 3 differs from sequence "
                               "length 4\n");
}

TEST_F(CompressBadInput, QualityOutOfRange) {
  WriteFile(dir_ / "a.fq", std::string("@r1\nACGT\n+\nII\x7fI\n"));
  ExpectFailure(Q("a.fq"), "cramjet compress: error: '" + dir_ / "a.fq" +
                               "': line 4 (record 1): quality character 127 at position 3 is "
                               "outside the Phred+33 range '!'..'~'\n");
}

TEST_F(CompressBadInput, CrlfIsRejected) {
  WriteFile(dir_ / "a.fq", "@r1\r\nACGT\r\n+\r\nIIII\r\n");
  ExpectFailure(Q("a.fq"), "cramjet compress: error: '" + dir_ / "a.fq" +
                               "': line 1 (record 1): Windows (CRLF) line ends are not "
                               "supported; convert the file with dos2unix first\n");
}

TEST_F(CompressBadInput, TruncatedGzip) {
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "@r" + std::to_string(i) + "\nACGTACGTAC\n+\nIIIIIIIIII\n";
  WriteFile(dir_ / "full.fq", text);
  RunShell("gzip -c " + Q("full.fq") + " | head -c 30000 > " + Q("cut.fq.gz"));
  auto r = RunCramjet("compress -T " + Q("ref.fa") + " -o " + Q("cut.cram") + " " + Q("cut.fq.gz"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("cramjet compress: error: '" + dir_ / "cut.fq.gz" +
                        "': line ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(": cannot decompress: the file is truncated or corrupt\n"),
            std::string::npos) << r.err;
  EXPECT_FALSE(testing::PathExists(dir_ / "cut.cram"));
}

TEST_F(CompressBadInput, PairedCountsDiffer) {
  WriteFile(dir_ / "x_R1.fq", "@a/1\nA\n+\nI\n@b/1\nC\n+\nI\n");
  WriteFile(dir_ / "x_R2.fq", "@a/2\nA\n+\nI\n");
  ExpectFailure(Q("x_R1.fq") + " " + Q("x_R2.fq"),
                "cramjet compress: error: R1 and R2 have different read counts: '" +
                    dir_ / "x_R2.fq" + "' ends after 1 records but '" + dir_ / "x_R1.fq" +
                    "' has more (record 2 at line 5)\n");
}

TEST_F(CompressBadInput, PairedNamesDiffer) {
  WriteFile(dir_ / "x_R1.fq", "@a/1\nA\n+\nI\n");
  WriteFile(dir_ / "x_R2.fq", "@z/2\nA\n+\nI\n");
  ExpectFailure(Q("x_R1.fq") + " " + Q("x_R2.fq"),
                "cramjet compress: error: '" + dir_ / "x_R2.fq" +
                    "': line 1 (record 1): read name 'z/2' does not match its mate 'a/1' in '" +
                    dir_ / "x_R1.fq" + "' line 1\n");
}

TEST_F(CompressBadInput, ReferenceMissingAContig) {
  // A SAM aligned to contig c2, which ref.fa lacks.
  WriteFile(dir_ / "a.sam", "@SQ\tSN:c2\tLN:40\nr1\t0\tc2\t1\t60\t4M\t*\t0\t0\tACGT\tIIII\n");
  ExpectFailure(Q("a.sam"), "cramjet compress: error: '" + dir_ / "ref.fa" +
                                "': reference lacks contig 'c2', and record 1 ('r1') of '" +
                                dir_ / "a.sam" + "' is placed on it\n");
}

TEST_F(CompressBadInput, ReferenceWithAnotherMd5IsRefused) {
  WriteFile(dir_ / "a.sam",
            "@SQ\tSN:c1\tLN:40\tM5:00000000000000000000000000000000\n"
            "r1\t0\tc1\t1\t60\t4M\t*\t0\t0\tACGT\tIIII\n");
  auto r = RunCramjet("compress -T " + Q("ref.fa") + " -o " + Q("o.cram") + " " + Q("a.sam"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("has MD5 "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("says M5:00000000000000000000000000000000: not the reference the input "
                       "was aligned to\n"), std::string::npos) << r.err;
  EXPECT_FALSE(testing::PathExists(dir_ / "o.cram"));
}

TEST_F(CompressBadInput, RealBamWithTheWrongReferenceIsRefused) {
  // This BAM is aligned to whole chr20/21; the reference beside it is a 200 kb slice of each.
  CRAMJET_REQUIRE_SHARED_DATA("human-na12878-chr20-21-paired/NA12878.20.21.unmapped.orig.bam");
  std::string bam = testing::SharedPath("human-na12878-chr20-21-paired/NA12878.20.21.unmapped.orig.bam");
  std::string ref = testing::SharedPath("human-na12878-chr20-21-paired/human_g1k_v37.20.21.10M-10M200k.fasta");
  RunShell("mkdir -p " + Q("out"));
  auto r = RunCramjet("compress -T " + ShellQuote(ref) + " -o " + Q("out/out.cram") + " " + ShellQuote(bam));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "cramjet compress: error: '" + ref + "': contig '20' has length 200000 but the "
                   "input's header says 63025520, and record 1 ('20FUKAAXX100202:6:27:4968:125377') "
                   "of '" + bam + "' is placed on it\n");
  EXPECT_TRUE(testing::ListDir(dir_ / "out").empty());
}

TEST_F(CompressBadInput, TruncatedAndCorruptCram) {
  CRAMJET_REQUIRE_SHARED_DATA("cram-conformance/test/cram/3.0/failed/0000_empty_noeof.cram");
  std::string noeof = testing::SharedPath("cram-conformance/test/cram/3.0/failed/0000_empty_noeof.cram");
  ExpectFailure(ShellQuote(noeof),
                "cramjet compress: error: '" + noeof +
                    "': the end-of-file marker is missing: the file is truncated or was not "
                    "closed\n");
}

TEST_F(CompressBadInput, CramFromCramtoolsThatHtslibRefuses) {
  CRAMJET_REQUIRE_SHARED_DATA("sarscov2-miseq-amplicon/subsample1.cram");
  std::string cram = testing::SharedPath("sarscov2-miseq-amplicon/subsample1.cram");
  RunShell("mkdir -p " + Q("out"));
  auto r = RunCramjet("compress -T " +
                      ShellQuote(testing::SharedPath("sarscov2-miseq-amplicon/MN908947.3.fasta")) +
                      " -o " + Q("out/out.cram") + " " + ShellQuote(cram));
  EXPECT_EQ(r.exit_code, 1);
  // One line (after htslib's own diagnostics), naming the file.
  std::string last = r.err.substr(r.err.rfind("cramjet compress: error: "));
  EXPECT_NE(last.find("'" + cram + "'"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(last.begin(), last.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(testing::ListDir(dir_ / "out").empty());
}

TEST_F(CompressBadInput, TruncatedBam) {
  CRAMJET_REQUIRE_SHARED_DATA("human-chrM-na12878/hts-specs/level-1.bam");
  std::string bam = testing::SharedPath("human-chrM-na12878/hts-specs/level-1.bam");
  RunShell("head -c 500000 " + ShellQuote(bam) + " > " + Q("cut.bam"));
  RunShell("mkdir -p " + Q("out"));
  auto r = RunCramjet("compress -T " + ShellQuote(testing::SharedPath("human-chrM-na12878/chrM_hg19.fa")) +
                      " -o " + Q("out/out.cram") + " " + Q("cut.bam"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cramjet compress: error: '" + dir_ / "cut.bam" +
                       "': the end-of-file marker is missing"), std::string::npos) << r.err;
  EXPECT_TRUE(testing::ListDir(dir_ / "out").empty());
}

TEST_F(CompressBadInput, OutputFolderMissing) {
  WriteFile(dir_ / "a.fq", "@r1\nACGT\n+\nIIII\n");
  auto r = RunCramjet("compress -T " + Q("ref.fa") + " -o " + Q("no/such/out.cram") + " " + Q("a.fq"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "cramjet compress: error: output folder '" + dir_ / "no/such" +
                       "': No such file or directory\n");
}

TEST_F(CompressBadInput, OutputFolderNotWritable) {
  WriteFile(dir_ / "a.fq", "@r1\nACGT\n+\nIIII\n");
  RunShell("mkdir -p " + Q("ro") + " && chmod 555 " + Q("ro") + " && chmod 755 " + Q(""));
  // Root ignores permissions: run as an unprivileged user then (setpriv from util-linux).
  std::string as_user = ::geteuid() == 0 ? "setpriv --reuid=65534 --regid=65534 --clear-groups " : "";
  if (!as_user.empty() &&
      RunShell(as_user + "test -x " + ShellQuote(testing::CramjetBinary()) + " -a -r " + Q("a.fq")).exit_code != 0)
    GTEST_SKIP() << "setpriv unavailable, or the build is not reachable by an unprivileged user";
  auto r = RunShell(as_user + ShellQuote(testing::CramjetBinary()) + " compress -T " + Q("ref.fa") +
                    " -o " + Q("ro/out.cram") + " " + Q("a.fq"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "cramjet compress: error: output folder '" + dir_ / "ro" +
                       "' is not writable: Permission denied\n");
  EXPECT_TRUE(testing::ListDir(dir_ / "ro").empty());
}

TEST_F(CompressBadInput, DiskFullLeavesNothing) {
  // RLIMIT_FSIZE stands in for a full disk: writes past 64 KiB fail with EFBIG.
  // Random bases and qualities so the CRAM is far larger than the limit.
  std::string text;
  uint64_t x = 88172645463325252ull;
  auto next = [&x] { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x; };
  for (int i = 0; i < 20000; ++i) {
    std::string seq, qual;
    for (int j = 0; j < 100; ++j) {
      seq += "ACGT"[next() % 4];
      qual += static_cast<char>('!' + next() % 41);
    }
    text += "@r" + std::to_string(i) + "\n" + seq + "\n+\n" + qual + "\n";
  }
  WriteFile(dir_ / "big.fq", text);
  RunShell("mkdir -p " + Q("out"));
  auto r = RunShell("ulimit -f 64; " + ShellQuote(testing::CramjetBinary()) + " compress -T " +
                    Q("ref.fa") + " -o " + Q("out/out.cram") + " " + Q("big.fq"));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("cramjet compress: error: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("File too large"), std::string::npos) << r.err;
  EXPECT_TRUE(testing::ListDir(dir_ / "out").empty());
}

TEST(DecompressBadInput, MissingInputAndBadOutputCount) {
  TempDir dir;
  auto r = RunCramjet("decompress -o " + ShellQuote(dir / "x.fq") + " " + ShellQuote(dir / "none.cram"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "cramjet decompress: error: '" + dir / "none.cram" + "': no such file\n");
  EXPECT_FALSE(testing::PathExists(dir / "x.fq"));
}

// R1/R2 output of a CRAM whose pairs are not all whole (aligned input with an orphan READ1):
// refused naming the read, nothing left under either output name, not even a temporary.
TEST(DecompressBadInput, AnOrphanMateStopsRoneRtwoOutput) {
  TempDir dir;
  WriteFile(dir / "ref.fa", kRef);
  const std::string seq = "ACGTACGTACGTACGTACGT", qual(20, 'I');
  WriteFile(dir / "in.sam", "@HD\tVN:1.6\tSO:coordinate\n@SQ\tSN:c1\tLN:40\n"
                            "pair\t99\tc1\t1\t60\t20M\t=\t5\t24\t" + seq + "\t" + qual + "\n"
                            "orphan\t73\tc1\t3\t60\t20M\t=\t3\t0\t" + seq + "\t" + qual + "\n"
                            "pair\t147\tc1\t5\t60\t20M\t=\t1\t-24\t" + seq + "\t" + qual + "\n");
  auto c = RunCramjet("compress -q -T " + ShellQuote(dir / "ref.fa") + " -o " + ShellQuote(dir / "x.cram") + " " +
                      ShellQuote(dir / "in.sam"));
  ASSERT_EQ(c.exit_code, 0) << c.err;
  RunShell("mkdir -p " + ShellQuote(dir / "out"));
  auto r = RunCramjet("decompress -1 " + ShellQuote(dir / "out/r1.fq") + " -2 " + ShellQuote(dir / "out/r2.fq") +
                      " " + ShellQuote(dir / "x.cram"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "cramjet decompress: error: '" + dir / "x.cram" +
                       "': read 'orphan' has no READ2 mate, so R1 and R2 outputs cannot stay in sync; "
                       "write one (interleaved) output instead\n");
  EXPECT_TRUE(testing::ListDir(dir / "out").empty());
  // One output takes it.
  auto one = RunCramjet("decompress -o " + ShellQuote(dir / "out/all.fq") + " " + ShellQuote(dir / "x.cram"));
  EXPECT_EQ(one.exit_code, 0) << one.err;
}

TEST(Usage, UnknownOptionIsAUsageError) {
  auto r = RunCramjet("compress --bogus");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("cramjet compress: usage error: ", 0), 0u) << r.err;
}

}  // namespace
}  // namespace cramjet
