// The read stage: FASTQ parsing, the FASTQ <-> record mapping, and its error messages.
#include <zlib.h>

#include "common/test_util.h"
#include "read/read.h"

namespace cramjet {
namespace {

using testing::TempDir;
using testing::WriteFile;

// Reads every record of `files` and returns the FASTQ text FormatFastq makes of them.
// `names`, when given, receives the stored QNAMEs.
StatusOr<std::string> RoundTrip(const ReadOptions& o, std::vector<uint16_t>* flags = nullptr,
                                std::vector<std::string>* names = nullptr) {
  CRAMJET_ASSIGN_OR_RETURN(auto src, OpenReads(o));
  FastqFormatter formatter(src->header());
  ReadBatch batch;
  std::string out;
  for (;;) {
    CRAMJET_ASSIGN_OR_RETURN(size_t n, src->NextBatch(batch, 3));
    if (n == 0) break;
    for (size_t i = 0; i < n; ++i) {
      formatter.Format(batch[i], out);
      if (flags) flags->push_back(batch[i]->core.flag);
      if (names) names->push_back(bam_get_qname(batch[i]));
    }
  }
  return out;
}

Status ReadAll(const ReadOptions& o) { return RoundTrip(o).status(); }

ReadOptions Single(const std::string& path) {
  ReadOptions o;
  o.inputs = {path};
  return o;
}

TEST(Fastq, KeepsCommentsPlusLinesAndOddBasesExactly) {
  TempDir dir;
  const std::string text =
      "@r1 1:N:0:ACGTACGT\nACGTN\n+\nIIIII\n"
      "@r2\tcomment after a tab\nacgtn\n+r2\n!!~~#\n"       // tab separator, lower case, '+name'
      "@r3  two spaces\nAC.GT\n+\n#####\n"                  // two spaces, '.' base
      "@r4/1 BX:Z:ACGT-AAAA extra\nRYKMSWBDHVN\n+\nABCDEFGHIJK\n"  // IUPAC codes
      "@r5\n\n+\n\n";                                       // empty read
  WriteFile(dir / "a.fq", text);
  auto out = RoundTrip(Single(dir / "a.fq"));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, text);
}

TEST(Fastq, ReadsGzipAndPairsWithFlags) {
  TempDir dir;
  std::string r1 = "@p1/1 x\nACGT\n+\nIIII\n@p2/1\nGGGG\n+\nIIII\n";
  std::string r2 = "@p1/2 y\nTTTT\n+\nJJJJ\n@p2/2\nCCCC\n+\nJJJJ\n";
  gzFile g = gzopen((dir / "r1.fq.gz").c_str(), "wb");
  gzwrite(g, r1.data(), r1.size());
  gzclose(g);
  WriteFile(dir / "r2.fq", r2);
  ReadOptions o;
  o.inputs = {dir / "r1.fq.gz", dir / "r2.fq"};
  o.paired = true;
  std::vector<uint16_t> flags;
  auto out = RoundTrip(o, &flags);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "@p1/1 x\nACGT\n+\nIIII\n@p1/2 y\nTTTT\n+\nJJJJ\n@p2/1\nGGGG\n+\nIIII\n"
                  "@p2/2\nCCCC\n+\nJJJJ\n");
  ASSERT_EQ(flags.size(), 4u);
  EXPECT_EQ(flags[0], BAM_FPAIRED | BAM_FUNMAP | BAM_FMUNMAP | BAM_FREAD1);
  EXPECT_EQ(flags[1], BAM_FPAIRED | BAM_FUNMAP | BAM_FMUNMAP | BAM_FREAD2);
}

// "X/1" "X/2" pairs are stored as "X" (one name for CRAM to keep, mate fields derived), decided
// per input unit from its first pair; pairs that break the unit's pattern keep their names.
TEST(Fastq, MateSuffixesAreStoredOnceAndComeBack) {
  TempDir dir;
  struct Case {
    std::string r1, r2;
    std::vector<std::string> stored;
    bool marked_group;
  } cases[] = {
      // Suffixes throughout: stripped.
      {"@a/1 x\nA\n+\nI\n@b/1\nC\n+\nI\n", "@a/2 y\nG\n+\nI\n@b/2\nT\n+\nI\n", {"a", "a", "b", "b"}, true},
      // First pair suffixed, a later one not: that pair kept verbatim (and marked zn:A:v).
      {"@a/1\nA\n+\nI\n@b\nC\n+\nI\n@c/1\nA\n+\nI\n", "@a/2\nG\n+\nI\n@b\nT\n+\nI\n@c/2\nA\n+\nI\n",
       {"a", "a", "b", "b", "c", "c"}, true},
      // First pair without suffixes: every name verbatim, suffixes of later pairs included.
      {"@a\nA\n+\nI\n@b/1\nC\n+\nI\n", "@a\nG\n+\nI\n@b/2\nT\n+\nI\n", {"a", "a", "b/1", "b/2"}, false},
      // "*/1" would leave "*", SAM's "no name": verbatim.
      {"@*/1\nA\n+\nI\n", "@*/2\nG\n+\nI\n", {"*/1", "*/2"}, false},
      // Only the last "/1" "/2" goes.
      {"@x/1/1\nA\n+\nI\n", "@x/1/2\nG\n+\nI\n", {"x/1", "x/1"}, true},
  };
  for (const auto& c : cases) {
    WriteFile(dir / "r1.fq", c.r1);
    WriteFile(dir / "r2.fq", c.r2);
    ReadOptions o;
    o.inputs = {dir / "r1.fq", dir / "r2.fq"};
    o.paired = true;
    std::vector<std::string> names;
    auto out = RoundTrip(o, nullptr, &names);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(names, c.stored) << c.r1;
    // Interleave the inputs record by record: the expected FASTQ of the pair stream.
    std::string expected;
    for (size_t i = 0, j = 0; i < c.r1.size();) {
      for (int line = 0; line < 4; ++line) {
        size_t e = c.r1.find('\n', i) + 1;
        expected += c.r1.substr(i, e - i);
        i = e;
      }
      for (int line = 0; line < 4; ++line) {
        size_t e = c.r2.find('\n', j) + 1;
        expected += c.r2.substr(j, e - j);
        j = e;
      }
    }
    EXPECT_EQ(*out, expected) << c.r1;
    auto src = OpenReads(o);
    ASSERT_TRUE(src.ok());
    EXPECT_EQ(FastqRules((*src)->header()).size(), c.marked_group ? 1u : 0u) << c.r1;
  }
}

// Illumina comments that differ only by the read number are implied by the unit's @RG ct:,
// and every other comment (or none) in such a unit still comes back exactly.
TEST(Fastq, IlluminaCommentsAreImpliedAndEveryOtherComesBack) {
  TempDir dir;
  const std::string r1 = "@a 1:N:0:ACGT+TTGA\nA\n+\nI\n@b 1:N:0:ACGA+TTGA\nC\n+\nI\n@c\nA\n+\nI\n"
                         "@d 1:Y:0:ACGT+TTGA\nA\n+\nI\n@e\t1:N:0:ACGT+TTGA\nA\n+\nI\n@f 2:N:0:ACGT+TTGA\nA\n+\nI\n";
  const std::string r2 = "@a 2:N:0:ACGT+TTGA\nG\n+\nI\n@b 2:N:0:ACGA+TTGA\nT\n+\nI\n@c\nA\n+\nI\n"
                         "@d 2:Y:0:ACGT+TTGA\nA\n+\nI\n@e 2:N:0:ACGT+TTGA\nA\n+\nI\n@f 1:N:0:ACGT+TTGA\nA\n+\nI\n";
  WriteFile(dir / "r1.fq", r1);
  WriteFile(dir / "r2.fq", r2);
  ReadOptions o;
  o.inputs = {dir / "r1.fq", dir / "r2.fq"};
  o.paired = true;
  auto src = OpenReads(o);
  ASSERT_TRUE(src.ok());
  FastqRules rules((*src)->header());
  ReadBatch batch;
  auto n = (*src)->NextBatch(batch, 100);
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(*n, 12u);
  const FastqGroupRules* r = rules.For(batch[0]);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->comment_tail, ":N:0:ACGT+TTGA");
  // Only the pair that follows the template is stored without a comment.
  for (size_t i = 0; i < 12; ++i) {
    const bool implied = i < 2 || (i == 9);  // a/1, a/2, and e/2 (e/1 has a tab)
    EXPECT_EQ(bam_aux_get(batch[i], "CO") == nullptr && bam_aux_get(batch[i], "zc") == nullptr, implied) << i;
  }
  std::string out;
  for (size_t i = 0; i < 12; ++i) FormatFastq(batch[i], out, rules.For(batch[i]));
  std::string expected;
  for (size_t i = 0, j = 0; i < r1.size();) {
    for (const std::string* t : {&r1, &r2}) {
      size_t& pos = t == &r1 ? i : j;
      for (int line = 0; line < 4; ++line) {
        size_t e = t->find('\n', pos) + 1;
        expected += t->substr(pos, e - pos);
        pos = e;
      }
    }
  }
  EXPECT_EQ(out, expected);
}

TEST(Fastq, EachInputUnitGetsItsOwnReadGroup) {
  TempDir dir;
  WriteFile(dir / "S_S1_L001_R1_001.fastq", "@a\nA\n+\nI\n");
  WriteFile(dir / "S_S1_L002_R1_001.fastq", "@b\nC\n+\nI\n");
  ReadOptions o;
  o.inputs = {dir / "S_S1_L001_R1_001.fastq", dir / "S_S1_L002_R1_001.fastq"};
  auto src = OpenReads(o);
  ASSERT_TRUE(src.ok());
  EXPECT_EQ(sam_hdr_count_lines((*src)->header(), "RG"), 2);
  ReadBatch batch;
  auto n = (*src)->NextBatch(batch, 10);
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(*n, 2u);
  EXPECT_STREQ(bam_aux2Z(bam_aux_get(batch[0], "RG")), "S.L001");
  EXPECT_STREQ(bam_aux2Z(bam_aux_get(batch[1], "RG")), "S.L002");
}

struct BadCase {
  const char* name;
  std::string text;
  std::string expected;  // message after "'<path>': "
};

class BadFastq : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadFastq, NamesFileLineAndRecord) {
  TempDir dir;
  std::string path = dir / "bad.fq";
  WriteFile(path, GetParam().text);
  // -@2 parses ahead on a thread of its own: the same message either way.
  for (int threads : {1, 2}) {
    ReadOptions o = Single(path);
    o.threads = threads;
    Status s = ReadAll(o);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), StatusCode::kBadInput);
    EXPECT_EQ(s.message(), "'" + path + "': " + GetParam().expected) << threads << " threads";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadFastq,
    ::testing::Values(
        BadCase{"MissingPlus", "@r1\nACGT\n+\nIIII\n@r2\nACGT\nIIII\n@r3\n",
                "line 7 (record 2): expected the '+' separator line, found 'IIII'"},
        BadCase{"LengthMismatch", "@r1\nACGT\n+\nIII\n",
                "line 4 (record 1): quality length 3 differs from sequence length 4"},
        BadCase{"QualityOutOfRange", "@r1\nACGT\n+\nII I\n",
                "line 4 (record 1): quality character 32 at position 3 is outside the Phred+33 "
                "range '!'..'~'"},
        BadCase{"Crlf", "@r1\r\nACGT\r\n+\r\nIIII\r\n",
                "line 1 (record 1): Windows (CRLF) line ends are not supported; convert the file "
                "with dos2unix first"},
        BadCase{"Truncated", "@r1\nACGT\n+\nIIII\n@r2\nAC\n",
                "line 7 (record 2): file ends in the middle of a FASTQ record"},
        BadCase{"NotAHeader", "@r1\nACGT\n+\nIIII\nr2\nACGT\n+\nIIII\n",
                "line 5 (record 2): expected a FASTQ header starting with '@', found 'r2'"},
        BadCase{"BadBase", "@r1\nAC1T\n+\nIIII\n",
                "line 2 (record 1): character 49 at position 3 is not a base"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Fastq, PairedFilesMustAgree) {
  TempDir dir;
  WriteFile(dir / "r1.fq", "@a/1\nA\n+\nI\n@b/1\nC\n+\nI\n");
  WriteFile(dir / "r2.fq", "@a/2\nA\n+\nI\n");
  WriteFile(dir / "r2x.fq", "@a/2\nA\n+\nI\n@c/2\nC\n+\nI\n");
  for (int threads : {1, 2}) {
  ReadOptions o;
  o.paired = true;
  o.threads = threads;
  o.inputs = {dir / "r1.fq", dir / "r2.fq"};
  Status s = ReadAll(o);
  EXPECT_EQ(s.message(), "R1 and R2 have different read counts: '" + dir / "r2.fq" +
                             "' ends after 1 records but '" + dir / "r1.fq" +
                             "' has more (record 2 at line 5)");
  o.inputs = {dir / "r1.fq", dir / "r2x.fq"};
  s = ReadAll(o);
  EXPECT_EQ(s.message(), "'" + dir / "r2x.fq" + "': line 5 (record 2): read name 'c/2' does not "
                         "match its mate 'b/1' in '" + dir / "r1.fq" + "' line 5");
  }
}

TEST(Input, MissingEmptyAndUnknownFilesAreClearErrors) {
  TempDir dir;
  EXPECT_EQ(ReadAll(Single(dir / "none.fq")).message(), "'" + dir / "none.fq" + "': no such file");
  WriteFile(dir / "empty.fq", "");
  EXPECT_EQ(ReadAll(Single(dir / "empty.fq")).message(), "'" + dir / "empty.fq" + "': file is empty");
  WriteFile(dir / "junk.txt", "hello world\n");
  EXPECT_EQ(ReadAll(Single(dir / "junk.txt")).message(),
            "'" + dir / "junk.txt" + "': not a FASTQ, SAM, BAM or CRAM file");
}

TEST(Input, TruncatedGzipIsAnError) {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "@r" + std::to_string(i) + "\nACGTACGTAC\n+\nIIIIIIIIII\n";
  gzFile g = gzopen((dir / "full.fq.gz").c_str(), "wb");
  gzwrite(g, text.data(), text.size());
  gzclose(g);
  std::string full = testing::ReadFile(dir / "full.fq.gz");
  WriteFile(dir / "cut.fq.gz", full.substr(0, full.size() / 2));
  Status s = ReadAll(Single(dir / "cut.fq.gz"));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'" + dir / "cut.fq.gz" + "'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("truncated or corrupt"), std::string::npos) << s.message();
}

TEST(IlluminaNames, ParsesSampleLaneRead) {
  auto n = ParseIlluminaFileName("/x/NA12878-A_S12_L003_R2_001.fastq.gz");
  EXPECT_EQ(n.sample, "NA12878-A");
  EXPECT_EQ(n.sample_number, 12);
  EXPECT_EQ(n.lane, 3);
  EXPECT_EQ(n.read, 2);
  auto nolane = ParseIlluminaFileName("S_S1_R1_001.fastq.gz");
  EXPECT_EQ(nolane.sample, "S");
  EXPECT_EQ(nolane.lane, 0);
  EXPECT_TRUE(ParseIlluminaFileName("reads1.fastq.gz").sample.empty());
}


// SRA deflines (fastq-dump): with the order kept, the original name becomes the QNAME and the SRA
// name, "length=", and the '+' line that repeats the header follow from the unit's @RG; reads
// that do not fit keep what they had. Single-end and split pairs, byte for byte.
TEST(SraDeflines, StoredByTheirPlaceAndGivenBackExactly) {
  TempDir dir;
  auto rec = [](const std::string& header, const std::string& seq, const std::string& plus) {
    return "@" + header + "\n" + seq + "\n+" + plus + "\n" + std::string(seq.size(), 'I') + "\n";
  };
  const std::string h1 = "SRR504956.7 HWI-ST1083:65:D0PJ1ACXX:8:1101:3356:1901 length=6";
  const std::string h2 = "SRR504956.8 HWI-ST1083:65:D0PJ1ACXX:8:1101:3390:1905 length=6";
  const std::string gap = "SRR504956.10 HWI-ST1083:65:D0PJ1ACXX:8:1101:3391:1906 length=6";
  const std::string h4 = "SRR504956.11 HWI-ST1083:65:D0PJ1ACXX:8:1101:3392:1907 length=6";
  const std::string text = rec(h1, "ACGTAC", h1) + rec(h2, "ACGTAA", "") + rec(gap, "ACGTAG", gap) + rec(h4, "ACGTAT", h4);
  WriteFile(dir / "s.fq", text);
  ReadOptions o = Single(dir / "s.fq");
  o.derive_sra_names = true;
  std::vector<std::string> names;
  auto back = RoundTrip(o, nullptr, &names);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, text);
  // The spot after the gap breaks the rule (9 expected): it keeps its SRA name.
  EXPECT_EQ(names, (std::vector<std::string>{"HWI-ST1083:65:D0PJ1ACXX:8:1101:3356:1901",
                                             "HWI-ST1083:65:D0PJ1ACXX:8:1101:3390:1905", "SRR504956.10",
                                             "HWI-ST1083:65:D0PJ1ACXX:8:1101:3392:1907"}));
  auto src = OpenReads(o);
  ASSERT_TRUE(src.ok());
  kstring_t ks = KS_INITIALIZE;
  ASSERT_EQ(sam_hdr_find_line_pos((*src)->header(), "RG", 0, &ks), 0);
  EXPECT_NE(std::string(ks.s).find("\tpl:header\tsd:SRR504956.7\tsl:length"), std::string::npos) << ks.s;
  ks_free(&ks);
  ReadBatch batch;
  ASSERT_EQ(*(*src)->NextBatch(batch, 10), 4u);
  EXPECT_EQ(bam_aux_get(batch[0], "CO"), nullptr);
  EXPECT_EQ(bam_aux_get(batch[0], "zp"), nullptr);
  EXPECT_NE(bam_aux_get(batch[1], "zp"), nullptr);  // the bare '+'
  EXPECT_NE(bam_aux_get(batch[2], "zd"), nullptr);
  EXPECT_NE(bam_aux_get(batch[2], "CO"), nullptr);
  // Without the order kept the names stay as they are (only the '+' rule applies).
  o.derive_sra_names = false;
  names.clear();
  auto plain = RoundTrip(o, nullptr, &names);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(*plain, text);
  EXPECT_EQ(names[0], "SRR504956.7");

  // Split pairs: both mates carry the spot's SRA name and the original name.
  const std::string p1 = "ERR022075.1 HS25_09271:2:1106:6456:17937 length=4";
  const std::string p2 = "ERR022075.2 HS25_09271:2:1106:6460:17940 length=4";
  const std::string r1 = rec(p1, "ACGT", "") + rec(p2, "ACGA", "");
  const std::string r2 = rec(p1, "TTGT", "") + rec(p2, "TTGA", "");
  WriteFile(dir / "p_1.fq", r1);
  WriteFile(dir / "p_2.fq", r2);
  ReadOptions po;
  po.inputs = {dir / "p_1.fq", dir / "p_2.fq"};
  po.paired = true;
  po.derive_sra_names = true;
  names.clear();
  auto pairs = RoundTrip(po, nullptr, &names);
  ASSERT_TRUE(pairs.ok()) << pairs.status().ToString();
  EXPECT_EQ(*pairs, rec(p1, "ACGT", "") + rec(p1, "TTGT", "") + rec(p2, "ACGA", "") + rec(p2, "TTGA", ""));
  EXPECT_EQ(names[0], "HS25_09271:2:1106:6456:17937");
  EXPECT_EQ(names[1], "HS25_09271:2:1106:6456:17937");
}

}  // namespace
}  // namespace cramjet
