// MD and NM of aligned input (docs/formats.md, "MD and NM"): left out of the CRAM where the
// reference gives the same back, kept where it would not, never invented where the input had
// none, and given back exactly by cramjet and by samtools alike. Hand-made records with MD/NM
// right, wrong, absent, in unusual places and in lower case.
#include <random>

#include "common/test_util.h"

namespace cramjet {
namespace {

using testing::RunCramjet;
using testing::RunShell;
using testing::ShellQuote;
using testing::TempDir;

// SAM text of `file` (decode_md as given), each line's tags sorted (SAM leaves their order open).
std::string Records(const std::string& file, const std::string& ref, bool decode_md) {
  auto r = RunShell(std::string("samtools view --no-PG --input-fmt-option decode_md=") + (decode_md ? "1" : "0") +
                    " --reference " + ShellQuote(ref) + " " + ShellQuote(file) +
                    " | python3 -c 'import sys\nfor l in sys.stdin:\n f=l.rstrip(\"\\n\").split(\"\\t\")\n"
                    " print(\"\\t\".join(f[:11]+sorted(f[11:])))'");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

// The tags of one record (by name) as samtools prints them without regenerating anything.
std::string StoredTags(const std::string& cram, const std::string& ref, const std::string& name) {
  auto r = RunShell("samtools view --input-fmt-option decode_md=0 --reference " + ShellQuote(ref) + " " +
                    ShellQuote(cram) + " | awk -F'\\t' '$1 == \"" + name +
                    "\" { t = \"\"; for (i = 12; i <= NF; ++i) t = t \" \" $i; print t }'");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

class MdNm : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::ToolAvailable("samtools")) GTEST_SKIP() << "samtools not installed";
    std::mt19937 rng(11);
    for (int i = 0; i < 400; ++i) genome_.push_back("ACGT"[rng() % 4]);
    ref_ = dir_ / "ref.fa";
    testing::WriteFile(ref_, ">c1\n" + genome_ + "\n");
  }

  // A 20-base read at 0-based `pos` with one mismatch at offset 5: MD "5<ref base>14", NM 1.
  std::string Read(const std::string& name, int pos, const std::string& tags, int flag = 0) {
    std::string seq = genome_.substr(pos, 20);
    seq[5] = seq[5] == 'A' ? 'C' : 'A';
    // An unplaced record has no MAPQ or CIGAR in CRAM: give it none.
    const std::string mapq_cigar = (flag & 4) ? "0\t*" : "60\t20M";
    return name + "\t" + std::to_string(flag) + "\tc1\t" + std::to_string(pos + 1) + "\t" + mapq_cigar + "\t*\t0\t0\t" + seq +
           "\t" + std::string(20, 'I') + (tags.empty() ? "" : "\t" + tags) + "\n";
  }
  std::string RightMd(int pos) const { return "MD:Z:5" + std::string(1, genome_[pos + 5]) + "14"; }
  std::string LowerMd(int pos) const {
    return "MD:Z:5" + std::string(1, static_cast<char>(genome_[pos + 5] - 'A' + 'a')) + "14";
  }

  std::string Sam(const std::string& records) const {
    return "@HD\tVN:1.6\tSO:coordinate\n@SQ\tSN:c1\tLN:400\n" + records;
  }

  TempDir dir_;
  std::string genome_, ref_;
};

TEST_F(MdNm, RightOnesAreRegeneratedWrongAndAbsentOnesStayAsTheyWere) {
  std::string records;
  records += Read("right", 10, RightMd(10) + "\tNM:i:1");
  records += Read("right_first", 20, RightMd(20) + "\tAS:i:30\tNM:i:1\tXS:i:5");  // unusual places
  records += Read("md_wrong", 30, "MD:Z:20\tNM:i:1");
  records += Read("nm_wrong", 40, RightMd(40) + "\tNM:i:7");
  records += Read("absent", 50, "AS:i:12");
  records += Read("no_md", 60, "NM:i:1");
  records += Read("no_nm", 70, RightMd(70));
  records += Read("lower", 80, LowerMd(80) + "\tNM:i:1");
  records += Read("unmapped_md", 90, "MD:Z:20", 4);  // MD on an unplaced record: kept as given
  testing::WriteFile(dir_ / "in.sam", Sam(records));
  for (const char* version : {"3.0", "3.1"}) {
    SCOPED_TRACE(version);
    const std::string cram = dir_ / (std::string("out") + version + ".cram");
    auto c = RunCramjet("compress -q --cram-version " + std::string(version) + " -T " + ShellQuote(ref_) + " -o " +
                        ShellQuote(cram) + " " + ShellQuote(dir_ / "in.sam"));
    ASSERT_EQ(c.exit_code, 0) << c.err;
    EXPECT_EQ(RunShell("samtools view -H " + ShellQuote(cram) + " | grep -c '^@HD.*md:regenerated'").out, "1\n");

    // What the CRAM holds: right values left out, the rest as given, cF marking what is absent.
    EXPECT_EQ(StoredTags(cram, ref_, "right"), "\n");
    EXPECT_EQ(StoredTags(cram, ref_, "right_first"), " AS:i:30 XS:i:5\n");
    EXPECT_EQ(StoredTags(cram, ref_, "md_wrong"), " MD:Z:20\n");  // NM right: left out
    EXPECT_EQ(StoredTags(cram, ref_, "nm_wrong"), " NM:i:7\n");
    EXPECT_EQ(StoredTags(cram, ref_, "unmapped_md"), " MD:Z:20\n");

    // Given back exactly: by cramjet (to SAM) and by samtools, which regenerates by default.
    const std::string want = Records(dir_ / "in.sam", ref_, false);
    auto d = RunCramjet("decompress -o " + ShellQuote(dir_ / "back.sam") + " -T " + ShellQuote(ref_) + " " +
                        ShellQuote(cram));
    ASSERT_EQ(d.exit_code, 0) << d.err;
    EXPECT_EQ(Records(dir_ / "back.sam", ref_, false), want);
    // samtools agrees on every record but the lower-case MD, which only cramjet renames back from zm
    // (samtools shows it as zm:Z and regenerates an upper-case MD).
    auto without = [](const std::string& text, const std::string& name) {
      std::string out;
      for (size_t pos = 0; pos < text.size();) {
        size_t nl = text.find('\n', pos);
        std::string line = text.substr(pos, nl - pos);
        if (line.rfind(name + "\t", 0) != 0) out += line + "\n";
        pos = nl + 1;
      }
      return out;
    };
    const std::string theirs = Records(cram, ref_, true);
    EXPECT_EQ(without(theirs, "lower"), without(want, "lower"));
    EXPECT_NE(theirs.find("\tzm:Z:5" + std::string(1, static_cast<char>(genome_[85] - 'A' + 'a')) + "14"),
              std::string::npos) << theirs;
    // And the proof held: verify against the input.
    auto v = RunCramjet("verify " + ShellQuote(cram) + " --against " + ShellQuote(dir_ / "in.sam") + " -T " +
                        ShellQuote(ref_));
    EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  }
}

TEST_F(MdNm, RegeneratedTagsSurviveASecondCompress) {
  testing::WriteFile(dir_ / "in.sam", Sam(Read("right", 10, RightMd(10) + "\tNM:i:1") + Read("absent", 50, "")));
  const std::string one = dir_ / "one.cram", two = dir_ / "two.cram";
  ASSERT_EQ(RunCramjet("compress -q -T " + ShellQuote(ref_) + " -o " + ShellQuote(one) + " " +
                       ShellQuote(dir_ / "in.sam")).exit_code, 0);
  auto c = RunCramjet("compress -q -T " + ShellQuote(ref_) + " -o " + ShellQuote(two) + " " + ShellQuote(one));
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(Records(two, ref_, true), Records(dir_ / "in.sam", ref_, false));
}

TEST_F(MdNm, AnInputCarryingCramsOwnFlagTagIsRefused) {
  testing::WriteFile(dir_ / "in.sam", Sam(Read("ok", 10, "NM:i:1") + Read("flagged", 20, "cF:i:1")));
  auto c = RunCramjet("compress -q -T " + ShellQuote(ref_) + " -o " + ShellQuote(dir_ / "o.cram") + " " +
                      ShellQuote(dir_ / "in.sam"));
  EXPECT_EQ(c.exit_code, 1);
  EXPECT_EQ(c.err, "cramjet compress: error: '" + dir_ / "in.sam" +
                       "': record 2 ('flagged') carries a cF tag, which CRAM decoders take as their own "
                       "flags; remove it (--drop-tags cF) to compress this file\n");
  EXPECT_FALSE(testing::PathExists(dir_ / "o.cram"));
  auto dropped = RunCramjet("compress -q --drop-tags cF -T " + ShellQuote(ref_) + " -o " + ShellQuote(dir_ / "o.cram") +
                            " " + ShellQuote(dir_ / "in.sam"));
  EXPECT_EQ(dropped.exit_code, 0) << dropped.err;
}

}  // namespace
}  // namespace cramjet
