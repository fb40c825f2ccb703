// `cramjet` with no command, `cramjet help [COMMAND]`, a typo, `cramjet -v`: what a samtools user
// expects (the command list, the nearest command), exact stderr and exit codes (2: usage).
#include <gtest/gtest.h>

#include <string>

#include "common/test_util.h"

namespace cramjet {
namespace {

using testing::RunCramjet;

const char* const kCommands[] = {"compress", "decompress", "verify", "inspect", "index", "qc", "ship", "status"};

TEST(CliTopLevel, NoCommandPrintsTheCommandListAndIsAUsageError) {
  auto r = RunCramjet("");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("Usage: cramjet <command> [options]   (cramjet <command> --help for its options)\n\nCommands:\n", 0), 0u)
      << r.err;
  for (const char* command : kCommands) EXPECT_NE(r.err.find("\n  " + std::string(command) + " "), std::string::npos) << command;
  EXPECT_NE(r.err.find("  compress      FASTQ or SAM/BAM/CRAM in, verified CRAM out\n"), std::string::npos) << r.err;
}

TEST(CliTopLevel, HelpListsTheCommandsOrOneCommandsOptions) {
  auto list = RunCramjet("help");
  EXPECT_EQ(list.exit_code, 0);
  EXPECT_EQ(list.err, "");
  EXPECT_EQ(list.out, RunCramjet("").err);  // the same list, on stdout
  auto one = RunCramjet("help verify");
  EXPECT_EQ(one.exit_code, 0);
  EXPECT_EQ(one.out, RunCramjet("verify --help").out);
  auto bad = RunCramjet("help verfy");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.err, "cramjet help: 'verfy' is not a cramjet command; did you mean 'verify'?\n");
  EXPECT_EQ(RunCramjet("help nonsense").err, "cramjet help: 'nonsense' is not a cramjet command\n");
}

TEST(CliTopLevel, ATypoNamesTheNearestCommand) {
  const std::pair<const char*, const char*> typos[] = {
      {"compresss", "compress"}, {"decompres", "decompress"}, {"verfy", "verify"}, {"stauts", "status"},
      {"comp", "compress"},  // a prefix
  };
  for (const auto& [typo, command] : typos) {
    auto r = RunCramjet(typo);
    EXPECT_EQ(r.exit_code, 2) << typo;
    EXPECT_EQ(r.err, std::string("cramjet: '") + typo + "' is not a cramjet command; did you mean '" + command +
                         "'? (cramjet help lists them)\n");
  }
  auto far = RunCramjet("frobnicate");
  EXPECT_EQ(far.exit_code, 2);
  EXPECT_EQ(far.err, "cramjet: 'frobnicate' is not a cramjet command (cramjet help lists them)\n");
}

TEST(CliTopLevel, VerboseAloneSaysWhereItGoesAndEveryCommandTakesIt) {
  auto r = RunCramjet("-v");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("cramjet: -v goes after a command (cramjet <command> -v)\n\nUsage: cramjet <command>", 0), 0u) << r.err;
  for (const char* command : kCommands) {
    auto help = RunCramjet(std::string(command) + " --help");
    EXPECT_EQ(help.exit_code, 0) << command;
    EXPECT_NE(help.out.find("-v,--verbose"), std::string::npos) << command << ":\n" << help.out;
  }
  // Accepted where it is given, and changes no result.
  testing::TempDir dir;
  testing::WriteFile(dir / "ref.fa", ">chr1\nACGTACGTTAGCTAGCTAGGATCCGATCGATCGTAGCTAGCTAGCTACGATCG\n");
  testing::WriteFile(dir / "x.fq", "@r1\nACGTAGCTAG\n+\nIIIIIIIIII\n");
  const std::string ref = testing::ShellQuote(dir / "ref.fa"), cram = testing::ShellQuote(dir / "x.cram");
  ASSERT_EQ(RunCramjet("compress -q --unaligned -T " + ref + " -o " + cram + " " + testing::ShellQuote(dir / "x.fq")).exit_code, 0);
  auto plain = RunCramjet("verify -T " + ref + " " + cram), verbose = RunCramjet("verify -v -T " + ref + " " + cram);
  EXPECT_EQ(verbose.exit_code, 0) << verbose.err;
  EXPECT_EQ(verbose.out, plain.out);
}

}  // namespace
}  // namespace cramjet
