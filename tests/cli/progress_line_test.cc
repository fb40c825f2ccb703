// The compress progress line (issue 16 item 9): on a terminal, every stage with a percentage
// where its size is known; never when stderr is not a terminal (logs and pipes stay clean).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "common/test_util.h"

namespace cramjet {
namespace {

using testing::RunCramjet;
using testing::RunShell;
using testing::ShellQuote;
using testing::SharedPath;
using testing::TempDir;

TEST(CliProgress, EveryStageOnATerminalNothingOtherwise) {
  CRAMJET_REQUIRE_SHARED_DATA("ecoli-10k-paired/reads1.fastq.gz");
  TempDir dir;
  const std::string ref = dir / "ref.fa";
  std::filesystem::copy_file(SharedPath("ecoli-10k-paired/reference_MG1655_first10k.fasta"), ref);
  const std::string args = "compress --build-index -T " + ShellQuote(ref) + " " +
                           ShellQuote(SharedPath("ecoli-10k-paired/reads1.fastq.gz")) + " " +
                           ShellQuote(SharedPath("ecoli-10k-paired/reads2.fastq.gz"));
  // script(1) gives the command a pseudo-terminal: the line is drawn and redrawn with \r.
  auto tty = RunShell("script -qec " +
                      ShellQuote(ShellQuote(std::string(CRAMJET_BINARY_DIR) + "/cramjet") + " " + args + " -o " +
                                 ShellQuote(dir / "t.cram")) +
                      " /dev/null");
  ASSERT_EQ(tty.exit_code, 0) << tty.out;
  for (const char* shown : {"[read] 100%, 56320 records, ", "[sort] ", "[encode] 100%, 56320 records, ",
                            "[verify] 100%, 56320 records, ", "[qc] ", "[index] ", "[commit] "})
    EXPECT_NE(tty.out.find(shown), std::string::npos) << shown << "\n" << tty.out;
  auto piped = RunCramjet(args + " -o " + ShellQuote(dir / "p.cram"));
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(piped.err.find('\r'), std::string::npos) << piped.err;
  EXPECT_EQ(piped.err.find("[encode]"), std::string::npos) << piped.err;
}

}  // namespace
}  // namespace cramjet
