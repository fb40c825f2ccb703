// @RG lines downstream tools need (issue 16 item 5): PL and PU from Illumina read names, bwa's
// -R and --rg-field for the rest; each mistake an exact error (exit 2, nothing written).
#include <gtest/gtest.h>

#include <string>

#include "common/test_util.h"

namespace cramjet {
namespace {

using testing::RunCramjet;
using testing::RunShell;
using testing::ShellQuote;
using testing::TempDir;
using testing::WriteFile;

std::string Fastq(const std::string& mate) {
  std::string out;
  for (int i = 0; i < 3; ++i)
    out += "@A00785:42:HXXYYDSX2:2:1101:" + std::to_string(1000 + i) + ":2000 " + mate + ":N:0:ACGTACGT+TTGGCCAA\n"
           "ACGTACGTACGTTGCA\n+\nIIIIIIIIIIIIIIII\n";
  return out;
}

std::string ReadGroups(const std::string& cram) {
  return RunShell("samtools view -H " + ShellQuote(cram) + " | grep '^@RG'").out;
}

TEST(CliReadGroup, PlatformAndUnitFromIlluminaNamesAndTheOperatorsFields) {
  TempDir dir;
  WriteFile(dir / "ref.fa", ">c1\nACGTACGTACGTTGCAACGTACGTACGTTGCA\n");
  WriteFile(dir / "S1_R1.fastq", Fastq("1"));
  WriteFile(dir / "S1_R2.fastq", Fastq("2"));
  const std::string base = "compress -q --unaligned -T " + ShellQuote(dir / "ref.fa") + " ";
  const std::string inputs = " " + ShellQuote(dir / "S1_R1.fastq") + " " + ShellQuote(dir / "S1_R2.fastq");
  auto plain = RunCramjet(base + "-o " + ShellQuote(dir / "a.cram") + inputs);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  const std::string rg = ReadGroups(dir / "a.cram");
  EXPECT_NE(rg.find("\tPL:ILLUMINA"), std::string::npos) << rg;
  EXPECT_NE(rg.find("\tPU:HXXYYDSX2.2.ACGTACGT+TTGGCCAA"), std::string::npos) << rg;
  EXPECT_NE(rg.find("\tSM:S1"), std::string::npos) << rg;

  // bwa's -R (with \t as typed) and --rg-field: given fields win over what the names say.
  auto given = RunCramjet(base + "-R '@RG\\tID:lane2\\tSM:NA12878\\tLB:lib7\\tPU:unit9' --rg-field CN:GEL -o " +
                          ShellQuote(dir / "b.cram") + inputs);
  ASSERT_EQ(given.exit_code, 0) << given.err;
  const std::string rg2 = ReadGroups(dir / "b.cram");
  EXPECT_EQ(rg2.rfind("@RG\tID:lane2\tSM:NA12878\t", 0), 0u) << rg2;
  for (const char* field : {"\tPL:ILLUMINA", "\tPU:unit9", "\tLB:lib7", "\tCN:GEL"})
    EXPECT_NE(rg2.find(field), std::string::npos) << field << " in " << rg2;
  EXPECT_EQ(rg2.find("PU:HXXYYDSX2"), std::string::npos) << rg2;
  // The round trip is untouched by the header's fields.
  auto back = RunCramjet("decompress -1 " + ShellQuote(dir / "o1.fq") + " -2 " + ShellQuote(dir / "o2.fq") + " " +
                         ShellQuote(dir / "b.cram"));
  ASSERT_EQ(back.exit_code, 0) << back.err;
  EXPECT_EQ(testing::ReadFile(dir / "o1.fq"), Fastq("1"));

  // Mistakes: exact errors, exit 2, no output.
  struct Case {
    std::string flags, error;
  };
  const Case cases[] = {
      {"-R 'ID:x'", "cramjet compress: error: -R 'ID:x': the line must start with @RG\\t\n"},
      {"--rg-field DS:mine", "cramjet compress: error: read-group field 'DS:mine': DS is cramjet's own (it records the input layout)\n"},
      {"--rg-field LB", "cramjet compress: error: read-group field 'LB': expected KEY:VALUE with a two-character key (PL:ILLUMINA)\n"},
      {"--rg-field LB:", "cramjet compress: error: read-group field 'LB:': the value must be non-empty, without tabs or newlines\n"},
  };
  for (const Case& c : cases) {
    auto r = RunCramjet(base + c.flags + " -o " + ShellQuote(dir / "x.cram") + inputs);
    EXPECT_EQ(r.exit_code, 2) << c.flags;
    EXPECT_EQ(r.err, c.error) << c.flags;
    EXPECT_FALSE(testing::PathExists(dir / "x.cram")) << c.flags;
  }
  // An ID names one read group: with two units (two lanes) it is refused.
  WriteFile(dir / "S1_L002_R1.fastq", Fastq("1"));
  WriteFile(dir / "S1_L002_R2.fastq", Fastq("2"));
  auto two = RunCramjet(base + "-R '@RG\\tID:one' -o " + ShellQuote(dir / "x.cram") + inputs + " " +
                        ShellQuote(dir / "S1_L002_R1.fastq") + " " + ShellQuote(dir / "S1_L002_R2.fastq"));
  EXPECT_EQ(two.exit_code, 2);
  EXPECT_EQ(two.err, "cramjet compress: error: read-group field 'ID:one' needs a single input unit; with 2 each gets its "
                     "id from its file name\n");
}

}  // namespace
}  // namespace cramjet
