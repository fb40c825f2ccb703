// Streaming (issue 16 item 3): "-" for standard input and output where samtools takes it.
// compress reads FASTQ (plain, gzip), SAM and BAM from a pipe as it arrives and a CRAM spooled;
// -o - sends the CRAM out only once it is proven, its sidecars named by --sidecar-prefix;
// decompress reads a CRAM from a pipe. Each mistake is an exact error with nothing left behind.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "common/test_util.h"

namespace cramjet {
namespace {

using testing::CramjetBinary;
using testing::ListDir;
using testing::ReadFile;
using testing::RunShell;
using testing::ShellQuote;
using testing::TempDir;
using testing::WriteFile;

// Single-end Illumina-named reads of random bases: `n` of them, 100 bp, fixed seed.
std::string RandomFastq(int n) {
  std::mt19937 rng(7);
  std::string out;
  for (int i = 0; i < n; ++i) {
    out += "@A00785:42:HXXYYDSX2:2:1101:" + std::to_string(1000 + i) + ":2000 1:N:0:ACGTACGT\n";
    for (int j = 0; j < 100; ++j) out += "ACGT"[rng() % 4];
    out += "\n+\n";
    for (int j = 0; j < 100; ++j) out += static_cast<char>('#' + rng() % 40);
    out += "\n";
  }
  return out;
}

class CliStreaming : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(dir_ / "ref.fa", ">c1\nACGTACGTACGTTGCAACGTACGTACGTTGCA\n");
    WriteFile(dir_ / "in.fq", RandomFastq(2000));
    // The .fai compress makes beside a reference, made now: what a failed run leaves is compared.
    RunShell("samtools faidx " + ShellQuote(dir_ / "ref.fa"));
  }
  // `cramjet <args>` inside the test folder, so that a stray "-" file would land there.
  testing::CommandResult InDir(const std::string& shell) {
    return RunShell("cd " + ShellQuote(dir_.path()) + " && set -o pipefail && " + shell);
  }
  std::string Cramjet() const { return ShellQuote(CramjetBinary()); }
  std::string Compress() const { return Cramjet() + " compress -q --unaligned -T ref.fa "; }
  std::vector<std::string> Files() const {
    auto names = ListDir(dir_.path());
    std::sort(names.begin(), names.end());
    return names;
  }
  TempDir dir_;
};

TEST_F(CliStreaming, FastqFromAPipeToStandardOutputWithTheProofBesideThePrefix) {
  auto made = InDir("mkdir -p out && cat in.fq | " + Compress() + "--sample S1 - -o - --sidecar-prefix out/s1 > out/s1.cram");
  ASSERT_EQ(made.exit_code, 0) << made.err;
  // Nothing named after "-", no temporary left; the sidecars are those of out/s1.cram.
  EXPECT_EQ(ListDir(dir_ / "out").size(), 9u);
  for (const char* name : {"s1.cram", "s1.cram.crai", "s1.cram.md5", "s1.cram.seqchksum", "s1.qc.json", "s1.qc.html",
                           "s1.stats", "s1.fastp.json", "s1_mqc.json"})
    EXPECT_TRUE(testing::PathExists(dir_ / ("out/" + std::string(name)))) << name;
  for (const std::string& name : Files()) EXPECT_EQ(name.find('-'), std::string::npos) << name;
  // The stream is the proven CRAM: its md5 sidecar matches, verify passes, the reads come back.
  auto md5 = InDir("cd out && md5sum -c s1.cram.md5");
  EXPECT_EQ(md5.exit_code, 0) << md5.out << md5.err;
  auto verified = InDir(Cramjet() + " verify out/s1.cram");
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
  auto back = InDir(Cramjet() + " decompress out/s1.cram -o -");
  ASSERT_EQ(back.exit_code, 0) << back.err;
  EXPECT_EQ(back.out, ReadFile(dir_ / "in.fq"));
  // @RG: the sample given, the read group named after it.
  auto rg = InDir("samtools view -H out/s1.cram | grep '^@RG'");
  EXPECT_EQ(rg.out.rfind("@RG\tID:S1\tSM:S1\t", 0), 0u) << rg.out;
}

// Real reads, mapped (the default placement): a gzip stream placed, sorted and given back in
// sequencer order, byte for byte, as from the file.
TEST_F(CliStreaming, RealReadsFromAGzipStreamAreMappedAndComeBackInOrder) {
  CRAMJET_REQUIRE_SHARED_DATA("ecoli-10k-paired/reads1.fastq.gz");
  const std::string reads = testing::SharedPath("ecoli-10k-paired/reads1.fastq.gz");
  // A copy of the reference: the mapper index is built beside it, never in the shared data.
  ASSERT_EQ(InDir("cp " + ShellQuote(testing::SharedPath("ecoli-10k-paired/reference_MG1655_first10k.fasta")) +
                  " mg.fa").exit_code, 0);
  auto run = InDir("cat " + ShellQuote(reads) + " | " + Cramjet() +
                   " compress -q --build-index -T mg.fa --sample Ecoli - -o - --sidecar-prefix e > e.cram");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(InDir("samtools view -H e.cram").out.find("@HD\tVN:1.6\tSO:coordinate"), std::string::npos);
  EXPECT_EQ(InDir(Cramjet() + " verify e.cram").exit_code, 0);
  auto back = InDir(Cramjet() + " decompress e.cram -o - | cmp - <(zcat " + ShellQuote(reads) + ")");
  EXPECT_EQ(back.exit_code, 0) << back.out << back.err;
}

TEST_F(CliStreaming, GzipAndBamAndCramStreamsGiveTheSameReadsAsTheirFiles) {
  ASSERT_EQ(InDir("gzip -c in.fq > in.fq.gz && samtools import -0 in.fq -O bam -o in.bam 2>/dev/null").exit_code, 0);
  auto gz = InDir("cat in.fq.gz | " + Compress() + "--sample S1 - -o gz.cram");
  ASSERT_EQ(gz.exit_code, 0) << gz.err;
  auto file = InDir(Compress() + "--sample S1 in.fq.gz -o file.cram");
  ASSERT_EQ(file.exit_code, 0) << file.err;
  EXPECT_EQ(InDir(Cramjet() + " decompress gz.cram -o -").out, ReadFile(dir_ / "in.fq"));
  // The same records from a stream as from the file.
  EXPECT_EQ(InDir(Cramjet() + " decompress gz.cram -o -").out, InDir(Cramjet() + " decompress file.cram -o -").out);
  auto bam = InDir("cat in.bam | " + Compress() + "--sample S1 - -o bam.cram");
  ASSERT_EQ(bam.exit_code, 0) << bam.err;
  auto against = InDir(Cramjet() + " verify bam.cram --against in.bam");
  EXPECT_EQ(against.exit_code, 0) << against.out << against.err;
  // A CRAM on standard input is spooled (its structure is checked before htslib decodes it).
  auto cram = InDir("cat bam.cram | " + Compress() + "--sample S1 - -o again.cram");
  ASSERT_EQ(cram.exit_code, 0) << cram.err;
  EXPECT_EQ(InDir(Cramjet() + " verify again.cram --against in.bam").exit_code, 0);
  // decompress from a pipe, to a pipe.
  auto piped = InDir("cat gz.cram | " + Cramjet() + " decompress - -o -");
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(piped.out, ReadFile(dir_ / "in.fq"));
}

// The naming rules of a unit (the comment tail Illumina repeats on every read) are learned from
// its first records: from a stream too, where they come from what was peeked at, also when the
// first record is a long read far bigger than a pipe's 4 KiB buffer.
TEST_F(CliStreaming, AStreamLearnsTheNamingRulesAFileDoesEvenWithALongFirstRead) {
  std::mt19937 rng(3);
  std::string fastq;
  for (int i = 0; i < 50; ++i) {
    const int length = i == 0 ? 60000 : 150;
    fastq += "@A00785:42:HXXYYDSX2:2:1101:" + std::to_string(1000 + i) + ":2000 1:N:0:ACGTACGT\n";
    std::string seq, qual;
    for (int j = 0; j < length; ++j) {
      seq += "ACGT"[rng() % 4];
      qual += static_cast<char>('#' + rng() % 40);
    }
    fastq += seq + "\n+\n" + qual + "\n";
  }
  WriteFile(dir_ / "long.fq", fastq);
  ASSERT_EQ(InDir(Compress() + "--sample L long.fq -o file.cram").exit_code, 0);
  auto streamed = InDir("cat long.fq | " + Compress() + "--sample L - -o stream.cram");
  ASSERT_EQ(streamed.exit_code, 0) << streamed.err;
  const std::string from_file = InDir("samtools view -H file.cram | grep -o 'ct:[^[:space:]]*'").out;
  EXPECT_EQ(from_file, "ct::N:0:ACGTACGT\n");
  EXPECT_EQ(InDir("samtools view -H stream.cram | grep -o 'ct:[^[:space:]]*'").out, from_file);
  EXPECT_EQ(InDir(Cramjet() + " decompress stream.cram -o -").out, fastq);
}

TEST_F(CliStreaming, MistakesAreExactErrorsAndLeaveNothing) {
  ASSERT_EQ(InDir("samtools import -0 in.fq -O bam -o in.bam 2>/dev/null && head -c -28 in.bam > cut.bam && "
                  "touch in.cram").exit_code, 0);
  const auto before = Files();
  struct Case {
    std::string shell;
    int exit_code;
    std::string err;
  };
  const std::vector<Case> cases = {
      {"cat in.fq | " + Compress() + "--sample S1 - -o - > s.cram", 2,
       "cramjet compress: error: -o - writes the CRAM to standard output, but its .crai, .md5, .seqchksum and QC "
       "files need a name: give --sidecar-prefix PREFIX (they are named as for PREFIX.cram)\n"},
      {"cat in.fq | " + Compress() + "--sample S1 - -o - --sidecar-prefix in > s.cram", 2,
       "cramjet compress: error: --sidecar-prefix in: 'in.cram' exists and is not where standard output goes: the "
       "stream's sidecars would sit beside it as if they were its own; remove it or choose another prefix\n"},
      {Compress() + "in.fq -o s.cram --sidecar-prefix s", 2,
       "cramjet compress: error: --sidecar-prefix is for -o - (standard output); with -o FILE.cram the sidecars go "
       "beside the file\n"},
      {"cat in.fq | " + Compress() + "- -o s.cram", 2,
       "cramjet compress: error: '-' (standard input) has no file name to take the sample from: give it (--sample "
       "NAME, or SM in -R/--rg-field)\n"},
      {Compress() + "--sample S1 - -o s.cram < /dev/null", 1,
       "cramjet compress: error: '-' (standard input): empty, no reads\n"},
      {"echo 'not reads' | " + Compress() + "--sample S1 - -o s.cram", 1,
       "cramjet compress: error: '-' (standard input): not a FASTQ, SAM, BAM or CRAM stream\n"},
      {"cat in.fq | " + Compress() + "--sample S1 - - -o s.cram", 2,
       "cramjet compress: error: '-' (standard input) can be read only once: give it as one input only\n"},
      // A BAM stream cut at a block boundary: only its end can tell.
      {"cat cut.bam | " + Compress() + "--sample S1 - -o s.cram", 1,
       "cramjet compress: error: '-' (standard input): after record 2000: the end-of-file marker is missing: the "
       "stream was cut short\n"},
      {"cat in.bam | " + Cramjet() + " verify -", 2,
       "cramjet verify: error: '-' (standard input) has no .seqchksum or .md5 beside it: verify the file, or give "
       "--against INPUT...\n"},
      {"cat in.bam | " + Cramjet() + " inspect -", 2,
       "cramjet inspect: error: inspect reads a CRAM file, not standard input (save the stream first)\n"},
      {Cramjet() + " decompress - -o - < /dev/null", 1,
       "cramjet decompress: error: '-' (standard input): empty, no reads\n"},
  };
  for (const Case& c : cases) {
    auto r = InDir(c.shell);
    EXPECT_EQ(r.exit_code, c.exit_code) << c.shell << "\n" << r.err;
    EXPECT_EQ(r.err, c.err) << c.shell;
    // Nothing new: no CRAM, no sidecar, no temporary, no file named "-" (s.cram was never made).
    std::vector<std::string> now = Files();
    now.erase(std::remove(now.begin(), now.end(), "s.cram"), now.end());
    EXPECT_EQ(now, before) << c.shell;
    ::unlink((dir_ / "s.cram").c_str());  // the shell's redirection makes it, empty, before cramjet runs
  }
}

TEST_F(CliStreaming, AReaderThatGoesAwayFailsTheCommandAndTakesBackTheSidecars) {
  WriteFile(dir_ / "in.fq", RandomFastq(40000));  // a CRAM well beyond a pipe's 64 KiB buffer
  auto r = InDir(Compress() + "--sample S1 in.fq -o - --sidecar-prefix s1 | head -c 10 > /dev/null");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.err, "cramjet compress: error: standard output: writing: Broken pipe\n");
  // The stream never arrived whole: no sidecar claims it, and the spooled CRAM is gone.
  for (const std::string& name : Files()) EXPECT_EQ(name.rfind("s1", 0), std::string::npos) << name;
  for (const std::string& name : Files()) EXPECT_EQ(name.find(".tmp."), std::string::npos) << name;
}

TEST_F(CliStreaming, StandardOutputOnATerminalIsRefused) {
  if (!testing::ToolAvailable("script")) GTEST_SKIP() << "script(1) not installed";
  // script(1) gives the command a terminal as standard output.
  auto r = InDir("script -qec " + ShellQuote(Compress() + "--sample S1 in.fq -o - --sidecar-prefix s1") + " /dev/null");
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.out.find("cramjet compress: error: -o -: standard output is a terminal; redirect it (> FILE.cram, | "
                       "samtools view) or give -o FILE.cram"),
            std::string::npos)
      << r.out;
  for (const std::string& name : Files()) EXPECT_EQ(name.rfind("s1", 0), std::string::npos) << name;
}

}  // namespace
}  // namespace cramjet
