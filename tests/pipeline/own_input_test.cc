// No command overwrites one of its own inputs (issue 15: `decompress -o X.cram X.cram` replaced
// the CRAM with FASTQ text, `compress -o IN IN` replaced the input, `-1 a.fq -2 a.fq` kept only
// R2, and `decompress -o new.cram` wrote FASTQ under a .cram name, all with exit 0). Each case:
// the exact error, exit 2, the inputs unchanged and nothing written.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "common/test_util.h"

namespace cramjet {
namespace {

using testing::ReadFile;
using testing::RunCramjet;
using testing::ShellQuote;
using testing::SharedPath;
using testing::TempDir;

class OwnInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CRAMJET_REQUIRE_SHARED_DATA("ecoli-10k-paired/reads1.fastq.gz");
    ref_ = dir_ / "ref.fa";
    std::filesystem::copy_file(SharedPath("ecoli-10k-paired/reference_MG1655_first10k.fasta"), ref_);
    fastq_ = dir_ / "in.fq.gz";
    std::filesystem::copy_file(SharedPath("ecoli-10k-paired/reads1.fastq.gz"), fastq_);
    auto made = RunCramjet("compress -q --unaligned --no-qc -T " + ShellQuote(ref_) + " -o " +
                           ShellQuote(dir_ / "x.cram") + " " + ShellQuote(fastq_));
    ASSERT_EQ(made.exit_code, 0) << made.err;
    cram_ = dir_ / "x.cram";
    cram_bytes_ = ReadFile(cram_);
    fastq_bytes_ = ReadFile(fastq_);
  }
  // Runs `args`, expects exit 2 with exactly `error` on stderr and no file but the ones there
  // before; the inputs are unchanged.
  void ExpectRefused(const std::string& args, const std::string& error) {
    const auto before = testing::ListDir(dir_.path());
    auto r = RunCramjet(args);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.err;
    EXPECT_EQ(r.err, error) << args;
    EXPECT_EQ(testing::ListDir(dir_.path()), before) << args;
    EXPECT_EQ(ReadFile(cram_), cram_bytes_) << args;
    EXPECT_EQ(ReadFile(fastq_), fastq_bytes_) << args;
  }

  TempDir dir_;
  std::string ref_, fastq_, cram_, cram_bytes_, fastq_bytes_;
};

TEST_F(OwnInputTest, DecompressNeverOverwritesItsInputOrWritesUnderAnotherFormatsName) {
  const std::string ref = " -T " + ShellQuote(ref_) + " ";
  ExpectRefused("decompress" + ref + "-o " + ShellQuote(cram_) + " " + ShellQuote(cram_),
                "cramjet decompress: error: output '" + cram_ +
                    "': decompress writes FASTQ, not CRAM (compress writes CRAM; name the output for what it holds)\n");
  ExpectRefused("decompress" + ref + "-o " + ShellQuote(dir_ / "new.cram") + " " + ShellQuote(cram_),
                "cramjet decompress: error: output '" + (dir_ / "new.cram") +
                    "': decompress writes FASTQ, not CRAM (compress writes CRAM; name the output for what it holds)\n");
  ExpectRefused("decompress" + ref + "-1 " + ShellQuote(dir_ / "a.fq") + " -2 " + ShellQuote(dir_ / "a.fq") + " " +
                    ShellQuote(cram_),
                "cramjet decompress: error: outputs '" + (dir_ / "a.fq") + "' and '" + (dir_ / "a.fq") +
                    "' are the same file\n");
  ExpectRefused("decompress" + ref + "-O sam -o " + ShellQuote(dir_ / "y.bam") + " " + ShellQuote(cram_),
                "cramjet decompress: error: output '" + (dir_ / "y.bam") +
                    "': the name says BAM but the output is SAM (-O names the format)\n");
  // The input under another name (a hard link) is the same file.
  ASSERT_EQ(::link(cram_.c_str(), (dir_ / "same.sam").c_str()), 0);
  ExpectRefused("decompress" + ref + "-O sam -o " + ShellQuote(dir_ / "same.sam") + " " + ShellQuote(cram_),
                "cramjet decompress: error: output '" + (dir_ / "same.sam") + "' is the input '" + cram_ +
                    "': refusing to overwrite what this command reads\n");
  // A device is no file: refused before anything is written (the rename that commits an output
  // replaced /dev/null itself when run as root). Standard output is "-".
  ExpectRefused("decompress" + ref + "-o /dev/null " + ShellQuote(cram_),
                "cramjet decompress: error: output '/dev/null' is a device or FIFO, not a file (write to - for "
                "standard output)\n");
  struct stat st;
  ASSERT_EQ(::stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode)) << "/dev/null was replaced";
}

TEST_F(OwnInputTest, CompressNeverOverwritesItsInputsOrItsReference) {
  const std::string ref = " -T " + ShellQuote(ref_) + " ";
  ExpectRefused("compress -q" + ref + "-o " + ShellQuote(cram_) + " " + ShellQuote(cram_),
                "cramjet compress: error: output '" + cram_ + "' is the input '" + cram_ +
                    "': refusing to overwrite what this command reads\n");
  ExpectRefused("compress -q" + ref + "-o " + ShellQuote(fastq_) + " " + ShellQuote(fastq_),
                "cramjet compress: error: output '" + fastq_ +
                    "': compress writes CRAM, but the name says fq.gz (name it .cram)\n");
  // The reference named as the output, through a symlink named .cram.
  std::filesystem::create_symlink(ref_, dir_ / "ref.cram");
  ExpectRefused("compress -q --unaligned" + ref + "-o " + ShellQuote(dir_ / "ref.cram") + " " + ShellQuote(fastq_),
                "cramjet compress: error: output '" + (dir_ / "ref.cram") + "' is the input '" + ref_ +
                    "': refusing to overwrite what this command reads\n");
  // A sidecar that is the input: x.cram.md5 made a hard link of the FASTQ.
  ASSERT_EQ(::link(fastq_.c_str(), (dir_ / "z.cram.md5").c_str()), 0);
  ExpectRefused("compress -q --unaligned" + ref + "-o " + ShellQuote(dir_ / "z.cram") + " " + ShellQuote(fastq_),
                "cramjet compress: error: output '" + (dir_ / "z.cram.md5") + "' is the input '" + fastq_ +
                    "': refusing to overwrite what this command reads\n");
}

}  // namespace
}  // namespace cramjet
