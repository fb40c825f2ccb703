// Tests of ReadChecksums: the definition (against an independent Python implementation), order
// independence, which column each kind of change moves, the text form and its parser.
#include <algorithm>
#include <random>

#include "common/test_util.h"
#include "cramjet/checksum.h"
#include "sample_sam.h"
#include "verify/verify.h"

namespace cramjet {
namespace {

using testing::Lines;
using testing::ParseRecords;
using testing::RunShell;
using testing::SampleSam;
using testing::ShellQuote;
using testing::TempDir;

ReadChecksums SumOf(const std::vector<BamPtr>& records, std::string_view tags = "*") {
  ReadChecksums sums(tags);
  for (const auto& r : records) sums.Add(r.get());
  return sums;
}

// The row of `sums` for group/qc, or a row with count 0 when absent.
ChecksumRow RowOf(const ReadChecksums& sums, const std::string& group, const std::string& qc = "all") {
  for (const auto& row : sums.Rows())
    if (row.group == group && row.qc == qc) return row;
  ChecksumRow none;
  none.count = 0;
  return none;
}

// ---- Known answer: an independent implementation (python3 + zlib.crc32) ------------------------

std::string PythonReference(const std::string& sam_path, const std::string& tags,
                            const std::string& label) {
  auto r = RunShell("python3 " + ShellQuote(CRAMJET_SEQCHKSUM_REFERENCE) + " " +
                    ShellQuote(sam_path) + " " + ShellQuote(tags) + " " + ShellQuote(label));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

void ExpectSameRows(const std::string& expected, const std::string& actual, const std::string& what) {
  auto want = Lines(expected);
  auto got = Lines(actual);
  ASSERT_EQ(want.size(), got.size()) << what << "\nexpected:\n" << expected << "actual:\n" << actual;
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(want[i], got[i]) << what << ", line " << i + 1;
}

TEST(ChecksumKnownAnswer, MatchesIndependentPythonReferenceForEveryTagMode) {
  if (!testing::ToolAvailable("python3")) GTEST_SKIP() << "python3 not found";
  TempDir dir;
  const std::string sam = dir / "sample.sam";
  testing::WriteFile(sam, SampleSam());
  for (std::string tags : {"", "*", "*,MD,NM", "XI,BC,XB,CO", "XM,XL,XN,XF,XA,XH,zc,zp"}) {
    std::string expected = PythonReference(sam, tags, "sample.sam");
    // The reference must itself cover the interesting rows, or the comparison proves little.
    EXPECT_NE(expected.find("\nrgA "), std::string::npos);
    EXPECT_NE(expected.find("\nrgB "), std::string::npos);
    EXPECT_NE(expected.find("\n-          fail "), std::string::npos);
    auto sums = ChecksumAlignmentFile(sam, "", 1, tags);
    ASSERT_TRUE(sums.ok()) << sums.status().message();
    EXPECT_EQ(sums->count(), static_cast<uint64_t>(testing::kSamplePrimaryRecords));
    ExpectSameRows(expected, sums->ToText("sample.sam"), "tags '" + tags + "'");
  }
}

TEST(ChecksumKnownAnswer, BamOfTheSameRecordsGivesTheSameRows) {
  if (!testing::ToolAvailable("python3") || !testing::ToolAvailable("samtools"))
    GTEST_SKIP() << "python3 or samtools not found";
  TempDir dir;
  const std::string sam = dir / "sample.sam", bam = dir / "sample.bam";
  testing::WriteFile(sam, SampleSam());
  auto conv = RunShell("samtools view -b -o " + ShellQuote(bam) + " " + ShellQuote(sam));
  ASSERT_EQ(conv.exit_code, 0) << conv.err;
  auto sums = ChecksumAlignmentFile(bam, "", 2, "*");
  ASSERT_TRUE(sums.ok()) << sums.status().message();
  ExpectSameRows(PythonReference(sam, "*", "x"), sums->ToText("x"), "BAM");
}

// ---- Properties -----------------------------------------------------------------------------------

TEST(Checksum, RecordOrderDoesNotMatter) {
  auto records = ParseRecords(SampleSam());
  ReadChecksums in_order = SumOf(records);
  std::mt19937 rng(7);
  for (int round = 0; round < 5; ++round) {
    std::shuffle(records.begin(), records.end(), rng);
    ReadChecksums shuffled = SumOf(records);
    EXPECT_TRUE(in_order.Equals(shuffled)) << in_order.Describe(shuffled);
    EXPECT_EQ(in_order.ToText("x"), shuffled.ToText("x"));
  }
}

TEST(Checksum, SecondaryAndSupplementaryAreNotCounted) {
  auto records = ParseRecords(SampleSam());
  ReadChecksums sums("*");
  int added = 0;
  for (const auto& r : records) added += sums.Add(r.get());
  EXPECT_EQ(added, testing::kSamplePrimaryRecords);
  EXPECT_EQ(sums.count(), static_cast<uint64_t>(testing::kSamplePrimaryRecords));
  EXPECT_EQ(records.size(), static_cast<size_t>(testing::kSamplePrimaryRecords + 2));
}

TEST(Checksum, MergeOfPartsEqualsTheWhole) {
  auto records = ParseRecords(SampleSam());
  ReadChecksums whole = SumOf(records);
  ReadChecksums a("*"), b("*");
  for (size_t i = 0; i < records.size(); ++i) (i % 2 ? a : b).Add(records[i].get());
  EXPECT_FALSE(a.Equals(whole));
  a.Merge(b);
  EXPECT_TRUE(a.Equals(whole)) << a.Describe(whole);
}

// One record changed in one way; which columns of the "all" row move.
struct Moved {
  bool seq, name, qual, aux;
};
Moved Compare(const std::string& original_line, const std::string& changed_line,
              std::string_view tags = "*") {
  std::string header = "@SQ\tSN:chr1\tLN:200\n";
  auto a = SumOf(ParseRecords(header + original_line + "\n"), tags);
  auto b = SumOf(ParseRecords(header + changed_line + "\n"), tags);
  ChecksumRow x = RowOf(a, "all"), y = RowOf(b, "all");
  return {x.seq != y.seq, x.name != y.name, x.qual != y.qual, x.aux != y.aux};
}

const char* const kBase = "r1\t99\tchr1\t10\t60\t4M\t=\t40\t38\tACGT\tIIII\tXI:i:5\tBC:Z:AC";

std::string Changed(const std::string& from, const std::string& to) {
  std::string line = kBase;
  size_t p = line.find(from);
  EXPECT_NE(p, std::string::npos) << from;
  return line.replace(p, from.size(), to);
}

TEST(Checksum, EachKindOfChangeMovesTheRightColumns) {
  // A base is in every column (each CRC starts from flag+seq).
  Moved m = Compare(kBase, Changed("ACGT", "ACGA"));
  EXPECT_TRUE(m.seq && m.name && m.qual && m.aux);
  // A quality moves only +qual.
  m = Compare(kBase, Changed("IIII", "IIIH"));
  EXPECT_TRUE(!m.seq && !m.name && m.qual && !m.aux);
  // The name moves only +name.
  m = Compare(kBase, Changed("r1\t", "r2\t"));
  EXPECT_TRUE(!m.seq && m.name && !m.qual && !m.aux);
  // A pairing bit (READ1 -> READ2) is part of every column.
  m = Compare(kBase, Changed("\t99\t", "\t163\t"));
  EXPECT_TRUE(m.seq && m.name && m.qual && m.aux);
  // Other flag bits (PROPER_PAIR, MREVERSE, DUP) and the alignment are not part of the definition.
  m = Compare(kBase, Changed("\t99\t", "\t1089\t"));
  EXPECT_TRUE(!m.seq && !m.name && !m.qual && !m.aux);
  m = Compare(kBase, Changed("\t10\t60\t", "\t12\t3\t"));
  EXPECT_TRUE(!m.seq && !m.name && !m.qual && !m.aux);
  // An aux value moves only +aux, when the tag is selected.
  m = Compare(kBase, Changed("XI:i:5", "XI:i:6"));
  EXPECT_TRUE(!m.seq && !m.name && !m.qual && m.aux);
  m = Compare(kBase, Changed("XI:i:5", "XI:i:6"), "BC");
  EXPECT_TRUE(!m.seq && !m.name && !m.qual && !m.aux);
  m = Compare(kBase, Changed("XI:i:5", "XI:i:6"), "*,XI");
  EXPECT_FALSE(m.aux);
  // A tag added or lost moves +aux under "*".
  m = Compare(kBase, std::string(kBase) + "\tCO:Z:x");
  EXPECT_TRUE(!m.seq && m.aux);
  // The order of tags does not matter under "*".
  m = Compare(kBase, "r1\t99\tchr1\t10\t60\t4M\t=\t40\t38\tACGT\tIIII\tBC:Z:AC\tXI:i:5");
  EXPECT_TRUE(!m.seq && !m.name && !m.qual && !m.aux);
}

TEST(Checksum, ReverseStrandRecordEqualsItsSequencerOrientation) {
  // Stored reverse-complemented with reversed qualities, flag 0x10: the same read as sequenced.
  Moved m = Compare("r1\t4\t*\t0\t0\t*\t*\t0\t0\tAACGTN\tABCDEF",
                    "r1\t16\tchr1\t10\t60\t6M\t*\t0\t0\tNACGTT\tFEDCBA");
  EXPECT_TRUE(!m.seq && !m.name && !m.qual && !m.aux);
  m = Compare("r1\t4\t*\t0\t0\t*\t*\t0\t0\tAACGTN\tABCDEF",
              "r1\t16\tchr1\t10\t60\t6M\t*\t0\t0\tAACGTN\tABCDEF");
  EXPECT_TRUE(m.seq);
}

TEST(Checksum, IntegerTagsAreComparedByValueNotStoredType) {
  HeaderPtr header = testing::ParseHeader("@SQ\tSN:chr1\tLN:200\n");
  auto make = [&](char type, int64_t value) {
    BamPtr b = testing::ParseRecord(header.get(), "r\t4\t*\t0\t0\t*\t*\t0\t0\tACGT\tIIII");
    uint8_t buf[4];
    int len = 0;
    switch (type) {
      case 'C': case 'c': buf[0] = static_cast<uint8_t>(value); len = 1; break;
      case 'S': case 's': buf[0] = value & 0xff; buf[1] = (value >> 8) & 0xff; len = 2; break;
      default:
        for (int i = 0; i < 4; ++i) buf[i] = (static_cast<uint32_t>(value) >> (8 * i)) & 0xff;
        len = 4;
    }
    EXPECT_EQ(bam_aux_append(b.get(), "XI", type, len, buf), 0);
    ReadChecksums sums("XI");
    sums.Add(b.get());
    return RowOf(sums, "-").aux;
  };
  EXPECT_EQ(make('C', 5), make('i', 5));
  EXPECT_EQ(make('C', 5), make('I', 5));
  EXPECT_EQ(make('C', 5), make('s', 5));
  EXPECT_EQ(make('S', 300), make('i', 300));
  EXPECT_EQ(make('c', -5), make('i', -5));
  EXPECT_EQ(make('s', -300), make('i', -300));
  EXPECT_NE(make('C', 5), make('C', 6));
}

TEST(Checksum, ReadGroupsAreKeptApart) {
  auto sums = SumOf(ParseRecords(SampleSam()));
  EXPECT_EQ(RowOf(sums, "rgA").count, 3u);
  EXPECT_EQ(RowOf(sums, "rgB").count, 3u);
  EXPECT_EQ(RowOf(sums, "-").count, 1u);
  EXPECT_EQ(RowOf(sums, "-", "fail").count, 1u);
  EXPECT_EQ(RowOf(sums, "all", "pass").count, 6u);
}

// ---- Text form --------------------------------------------------------------------------------------

TEST(ChecksumText, LayoutIsSamtoolsChecksumLayout) {
  auto text = SumOf(ParseRecords(SampleSam()), "*").ToText("x.cram");
  auto lines = Lines(text);
  ASSERT_GE(lines.size(), 6u);
  EXPECT_EQ(lines[0], "# Checksum 2.0 for file: x.cram");
  EXPECT_EQ(lines[1], "# Aux tags:          *");
  EXPECT_EQ(lines[2], "# BAM flags:         PAIRED,READ1,READ2");
  EXPECT_EQ(lines[3], "");
  EXPECT_EQ(lines[4], "# Group    QC          count  flag+seq  +name     +qual     +aux      combined");
  EXPECT_EQ(lines[5].substr(0, 29), "all        all             7 ");
  EXPECT_EQ(ReadChecksums("").aux_tags(), "BC,FI,QT,RT,TC");
}

TEST(ChecksumText, RoundTripsThroughFromText) {
  for (std::string tags : {"*", "", "*,MD,NM"}) {
    ReadChecksums sums = SumOf(ParseRecords(SampleSam()), tags);
    auto parsed = ReadChecksums::FromText(sums.ToText("x"), "x.seqchksum");
    ASSERT_TRUE(parsed.ok()) << parsed.status().message();
    EXPECT_TRUE(parsed->Equals(sums)) << parsed->Describe(sums);
    EXPECT_EQ(parsed->ToText("x"), sums.ToText("x"));
    EXPECT_EQ(parsed->count(), sums.count());
  }
  // An empty accumulator too (no rows at all).
  ReadChecksums empty("*");
  auto parsed = ReadChecksums::FromText(empty.ToText("e"), "e.seqchksum");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_TRUE(parsed->Equals(empty));
}

TEST(ChecksumText, AcceptsTabSeparatedZeroRowsAndVersion1) {
  // `samtools checksum -T -v` style: tabs, zero-count rows, no combined column, version 1.0.
  std::string text =
      "# Checksum 1.0 for file:\tx.bam\n# Aux tags:\tBC,FI,QT,RT,TC\n# BAM flags:\tPAIRED,READ1,READ2\n"
      "\n# Group\tQC\tcount\tflag+seq\t+name\t+qual\t+aux\n"
      "all\tall\t0\t1\t1\t1\t1\n-\tall\t0\t1\t1\t1\t1\n";
  auto parsed = ReadChecksums::FromText(text, "x.chk");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->count(), 0u);
  EXPECT_TRUE(parsed->Equals(ReadChecksums("")));
}

TEST(ChecksumText, DifferencesAreDescribedByRowAndColumn) {
  auto records = ParseRecords(SampleSam());
  ReadChecksums whole = SumOf(records);
  ReadChecksums missing_one("*");
  for (size_t i = 1; i < records.size(); ++i) missing_one.Add(records[i].get());
  std::string d = whole.Describe(missing_one);
  EXPECT_NE(d.find("all all: count 7 != 6"), std::string::npos) << d;
  EXPECT_NE(d.find("rgA all: count 3 != 2"), std::string::npos) << d;
  EXPECT_EQ(d.find("rgB"), std::string::npos) << d;
  EXPECT_FALSE(whole.Equals(ReadChecksums("")));  // different tag lists never compare equal
}

std::string ValidText() {
  return SumOf(ParseRecords(SampleSam()), "*").ToText("x");
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  size_t p = text.find(from);
  EXPECT_NE(p, std::string::npos) << from;
  return text.replace(p, from.size(), to);
}

void ExpectError(const std::string& text, const std::string& message) {
  auto parsed = ReadChecksums::FromText(text, "x.cram.seqchksum");
  ASSERT_FALSE(parsed.ok()) << "accepted:\n" << text;
  EXPECT_EQ(parsed.status().code(), StatusCode::kBadInput);
  EXPECT_EQ(parsed.status().message(), message);
}

TEST(ChecksumText, MalformedTextIsAClearError) {
  const std::string good = ValidText();
  ExpectError("", "'x.cram.seqchksum': empty, not a checksum file");
  ExpectError("hello\n", "'x.cram.seqchksum': line 1: data row before the '# Group' header line");
  ExpectError(Replace(good, "# Checksum 2.0", "# Checksum 3.0"),
              "'x.cram.seqchksum': line 1: checksum definition '3.0' is not supported (expected 1.0 or 2.0)");
  ExpectError(Replace(good, "# Checksum 2.0 for file: x\n", ""),
              "'x.cram.seqchksum': not a checksum file (no '# Checksum' line)");
  ExpectError(Replace(good, "PAIRED,READ1,READ2", "PAIRED"),
              "'x.cram.seqchksum': line 3: flag mask 'PAIRED' is not supported (expected PAIRED,READ1,READ2)");
  ExpectError(Replace(good, "+aux      combined", "+aux  +mate  combined"),
              "'x.cram.seqchksum': line 5: columns 'Group QC count flag+seq +name +qual +aux +mate "
              "combined' are not supported (expected Group QC count flag+seq +name +qual +aux [combined])");
  ExpectError(Replace(good, "# Aux tags:          *", "# Aux tags:          *,ABC"),
              "'x.cram.seqchksum': line 2: bad aux tag list '*,ABC'");
  // The first data row is line 6: "all all 7 ...".
  auto lines = Lines(good);
  std::string row = lines[5];
  ExpectError(Replace(good, row, row.substr(0, row.size() - 10)),
              "'x.cram.seqchksum': line 6: expected 8 columns, found 7");
  ExpectError(Replace(good, row, Replace(row, "  7  ", "  x7  ")),
              "'x.cram.seqchksum': line 6: count 'x7' is not a number");
  std::string seq_col = row.substr(30, 8);
  ExpectError(Replace(good, row, Replace(row, seq_col, "zz" + seq_col.substr(2))),
              "'x.cram.seqchksum': line 6: column flag+seq 'zz" + seq_col.substr(2) +
                  "' is not a checksum (hex, 1 to 7ffffffe)");
  // A hand-edited value no longer agrees with the combined column.
  std::string edited_seq = seq_col == "00000001" ? "00000002" : "00000001";
  ExpectError(Replace(good, row, Replace(row, seq_col, edited_seq)),
              "'x.cram.seqchksum': line 6: combined column does not match the row's other columns (edited?)");
  // A group row removed: the rest no longer multiply up to the "all" row.
  std::string rgb_line;
  for (const auto& l : lines)
    if (l.rfind("rgB        all", 0) == 0) rgb_line = l + "\n";
  ASSERT_FALSE(rgb_line.empty());
  ExpectError(Replace(good, rgb_line, ""),
              "'x.cram.seqchksum': the group rows do not add up to the 'all all' row (edited or truncated?)");
  ExpectError(good + row + "\n", "'x.cram.seqchksum': line " + std::to_string(lines.size() + 1) +
                                     ": row 'all all' repeated");
}

TEST(ChecksumText, AuxTagSpecsAreValidated) {
  EXPECT_TRUE(ValidateAuxTagSpec("").ok());
  EXPECT_TRUE(ValidateAuxTagSpec("*").ok());
  EXPECT_TRUE(ValidateAuxTagSpec("*,MD,NM").ok());
  EXPECT_TRUE(ValidateAuxTagSpec("BC,QT").ok());
  Status s = ValidateAuxTagSpec("BC,*");
  EXPECT_EQ(s.message(), "aux tag list 'BC,*': '*' must come first");
  s = ValidateAuxTagSpec("BC,Q");
  EXPECT_EQ(s.message(), "aux tag list 'BC,Q': 'Q' is not a two-character tag name (use XX,YY or *,XX,YY)");
  EXPECT_EQ(ProofAuxTagsExcluding({"AS", "XS"}), "*,AS,XS");
  EXPECT_EQ(kProofAuxTags, "*");
}

}  // namespace
}  // namespace cramjet
