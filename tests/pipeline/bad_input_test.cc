// Bad input to `cramjet compress` / `decompress`: one clear error line naming the file and the
// record, a non-zero exit, and nothing left under the output's name (nor any temporary).
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <ostream>
#include <utility>

#include "common/test_util.h"

namespace cramjet {
namespace {

using testing::RunCramjet;
using testing::ShellQuote;

const char kRef[] = ">c1\nACGTACGTACGTACGTACGTACGTACGTACGTACGTACGT\n";

// 20000 small records.
std::string ManyRecords() {
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "@r" + std::to_string(i) + "\nACGTACGTAC\n+\nIIIIIIIIII\n";
  return text;
}

// Random bases and qualities, so that the CRAM is far larger than 64 KiB.
std::string RandomRecords() {
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
  return text;
}

// One bad input to `cramjet compress -T reference -o output inputs...`. Paths and messages name
// the test's folder as {dir} and the shared data as {shared}.
struct BadInput {
  const char* name;
  const char* needs = nullptr;  // shared data the case reads (skipped visibly without it)
  std::vector<std::pair<const char*, std::string>> files = {};  // written into {dir} first
  const char* prepare = nullptr;                           // then this shell command runs
  std::vector<const char*> inputs = {};  // none: the files written, in order
  const char* reference = "{dir}/ref.fa";
  const char* output = "{dir}/out/out.cram";
  const char* limits = "";    // shell words before the command
  bool unprivileged = false;  // run as an unprivileged user (root ignores permissions)
  // stderr: exactly "cramjet compress: error: <error>\n"; else it starts with `stderr_starts` and
  // has each of `stderr_has`; or, after htslib's own diagnostics, its last line is cramjet's one
  // error line and has `last_line_names`.
  const char* error = nullptr;
  const char* stderr_starts = nullptr;
  std::vector<const char*> stderr_has = {};
  const char* last_line_names = nullptr;
  int exit_code = 1;
};

const std::vector<BadInput> kBadInputs = {
    {.name = "MissingFile", .inputs = {"{dir}/nope.fq"}, .error = "'{dir}/nope.fq': no such file"},
    {.name = "EmptyFile", .files = {{"empty.fq", ""}}, .error = "'{dir}/empty.fq': file is empty"},
    // FASTQ records.
    {.name = "MissingPlusLine", .files = {{"a.fq", "@r1\nACGT\n+\nIIII\n@r2\nACGT\nIIII\n"}},
     .error = "'{dir}/a.fq': line 7 (record 2): expected the '+' separator line, found 'IIII'"},
    {.name = "SequenceAndQualityLengthsDiffer", .files = {{"a.fq", "@r1\nACGT\n+\nIII\n"}},
     .error = "'{dir}/a.fq': line 4 (record 1): quality length 3 differs from sequence length 4"},
    {.name = "QualityOutOfRange", .files = {{"a.fq", "@r1\nACGT\n+\nII\x7fI\n"}},
     .error = "'{dir}/a.fq': line 4 (record 1): quality character 127 at position 3 is outside the Phred+33 "
              "range '!'..'~'"},
    {.name = "CrlfIsRejected", .files = {{"a.fq", "@r1\r\nACGT\r\n+\r\nIIII\r\n"}},
     .error = "'{dir}/a.fq': line 1 (record 1): Windows (CRLF) line ends are not supported; convert the file "
              "with dos2unix first"},
    {.name = "TruncatedGzip", .files = {{"full.fq", ManyRecords()}},
     .prepare = "gzip -c '{dir}/full.fq' | head -c 30000 > '{dir}/cut.fq.gz'", .inputs = {"{dir}/cut.fq.gz"},
     .stderr_starts = "cramjet compress: error: '{dir}/cut.fq.gz': line ",
     .stderr_has = {": cannot decompress: the file is truncated or corrupt\n"}},
    // R1 and R2.
    {.name = "PairedCountsDiffer",
     .files = {{"x_R1.fq", "@a/1\nA\n+\nI\n@b/1\nC\n+\nI\n"}, {"x_R2.fq", "@a/2\nA\n+\nI\n"}},
     .error = "R1 and R2 have different read counts: '{dir}/x_R2.fq' ends after 1 records but '{dir}/x_R1.fq' "
              "has more (record 2 at line 5)"},
    {.name = "PairedNamesDiffer", .files = {{"x_R1.fq", "@a/1\nA\n+\nI\n"}, {"x_R2.fq", "@z/2\nA\n+\nI\n"}},
     .error = "'{dir}/x_R2.fq': line 1 (record 1): read name 'z/2' does not match its mate 'a/1' in "
              "'{dir}/x_R1.fq' line 1"},
    // The reference.
    {.name = "ReferenceMissingAContig",  // a SAM aligned to contig c2, which ref.fa lacks
     .files = {{"a.sam", "@SQ\tSN:c2\tLN:40\nr1\t0\tc2\t1\t60\t4M\t*\t0\t0\tACGT\tIIII\n"}},
     .error = "'{dir}/ref.fa': reference lacks contig 'c2', and record 1 ('r1') of '{dir}/a.sam' is placed on it"},
    {.name = "ReferenceWithAnotherMd5IsRefused",
     .files = {{"a.sam", "@SQ\tSN:c1\tLN:40\tM5:00000000000000000000000000000000\n"
                         "r1\t0\tc1\t1\t60\t4M\t*\t0\t0\tACGT\tIIII\n"}},
     .stderr_has = {"has MD5 ", "says M5:00000000000000000000000000000000: not the reference the input was "
                                "aligned to\n"}},
    // This BAM is aligned to whole chr20/21; the reference beside it is a 200 kb slice of each.
    {.name = "RealBamWithTheWrongReferenceIsRefused",
     .needs = "human-na12878-chr20-21-paired/NA12878.20.21.unmapped.orig.bam",
     .inputs = {"{shared}/human-na12878-chr20-21-paired/NA12878.20.21.unmapped.orig.bam"},
     .reference = "{shared}/human-na12878-chr20-21-paired/human_g1k_v37.20.21.10M-10M200k.fasta",
     .error = "'{shared}/human-na12878-chr20-21-paired/human_g1k_v37.20.21.10M-10M200k.fasta': contig '20' has "
              "length 200000 but the input's header says 63025520, and record 1 "
              "('20FUKAAXX100202:6:27:4968:125377') of '{shared}/human-na12878-chr20-21-paired/"
              "NA12878.20.21.unmapped.orig.bam' is placed on it"},
    // SAM/BAM/CRAM containers.
    {.name = "TruncatedAndCorruptCram", .needs = "cram-conformance/test/cram/3.0/failed/0000_empty_noeof.cram",
     .inputs = {"{shared}/cram-conformance/test/cram/3.0/failed/0000_empty_noeof.cram"},
     .error = "'{shared}/cram-conformance/test/cram/3.0/failed/0000_empty_noeof.cram': the end-of-file marker is "
              "missing: the file is truncated or was not closed"},
    {.name = "CramFromCramtoolsThatHtslibRefuses", .needs = "sarscov2-miseq-amplicon/subsample1.cram",
     .inputs = {"{shared}/sarscov2-miseq-amplicon/subsample1.cram"},
     .reference = "{shared}/sarscov2-miseq-amplicon/MN908947.3.fasta",
     .last_line_names = "'{shared}/sarscov2-miseq-amplicon/subsample1.cram'"},
    {.name = "TruncatedBam", .needs = "human-chrM-na12878/hts-specs/level-1.bam",
     .prepare = "head -c 500000 '{shared}/human-chrM-na12878/hts-specs/level-1.bam' > '{dir}/cut.bam'",
     .inputs = {"{dir}/cut.bam"}, .reference = "{shared}/human-chrM-na12878/chrM_hg19.fa",
     .stderr_has = {"cramjet compress: error: '{dir}/cut.bam': the end-of-file marker is missing"}},
    // The output.
    {.name = "OutputFolderMissing", .files = {{"a.fq", "@r1\nACGT\n+\nIIII\n"}}, .output = "{dir}/no/such/out.cram",
     .error = "output folder '{dir}/no/such': No such file or directory"},
    {.name = "OutputFolderNotWritable", .files = {{"a.fq", "@r1\nACGT\n+\nIIII\n"}},
     .prepare = "mkdir -p '{dir}/ro' && chmod 555 '{dir}/ro' && chmod 755 '{dir}'", .output = "{dir}/ro/out.cram",
     .unprivileged = true, .error = "output folder '{dir}/ro' is not writable: Permission denied"},
    // RLIMIT_FSIZE stands in for a full disk: writes past 64 KiB fail with EFBIG.
    {.name = "DiskFullLeavesNothing", .files = {{"big.fq", RandomRecords()}}, .limits = "ulimit -f 64; ",
     .stderr_has = {"cramjet compress: error: ", "File too large"}},
};

// gtest shows a case by its name (not its bytes) in listings and failures.
void PrintTo(const BadInput& c, std::ostream* os) { *os << c.name; }

class CompressBadInput : public ::testing::TestWithParam<BadInput> {
 protected:
  // FASTQ goes through the mapper by default, so the reference gets its index first: the errors
  // below are those of the default path.
  void SetUp() override {
    testing::WriteFile(dir_ / "ref.fa", kRef);
    auto index = RunCramjet("index " + ShellQuote(dir_ / "ref.fa"));
    ASSERT_EQ(index.exit_code, 0) << index.err;
  }
  // `text` with {dir} and {shared} filled in.
  std::string Expand(std::string text) const {
    for (const auto& [key, value] : {std::pair<std::string, std::string>{"{dir}", dir_.path()},
                                     std::pair<std::string, std::string>{"{shared}", testing::SharedDataDir()}})
      for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + value.size()))
        text.replace(at, key.size(), value);
    return text;
  }
  testing::TempDir dir_;
};

TEST_P(CompressBadInput, FailsCleanly) {
  const BadInput& c = GetParam();
  ASSERT_TRUE(c.error || c.stderr_starts || !c.stderr_has.empty() || c.last_line_names)
      << c.name << " says nothing about stderr";
  if (c.needs) {
    CRAMJET_REQUIRE_SHARED_DATA(c.needs);
  }
  std::vector<std::string> inputs;
  for (const char* input : c.inputs) inputs.push_back(Expand(input));
  for (const auto& [name, contents] : c.files) {
    testing::WriteFile(dir_ / name, contents);
    if (c.inputs.empty()) inputs.push_back(dir_ / name);
  }
  testing::RunShell("mkdir -p " + ShellQuote(dir_ / "out"));
  if (c.prepare) {
    ASSERT_EQ(testing::RunShell(Expand(c.prepare)).exit_code, 0) << c.prepare;
  }
  std::string quoted, readable;
  for (const auto& input : inputs) {
    quoted += " " + ShellQuote(input);
    readable += " -a -r " + ShellQuote(input);
  }
  std::string as_user;
  if (c.unprivileged && ::geteuid() == 0) {
    // Root ignores permissions: run as an unprivileged user then (setpriv from util-linux).
    as_user = "setpriv --reuid=65534 --regid=65534 --clear-groups ";
    if (testing::RunShell(as_user + "test -x " + ShellQuote(testing::CramjetBinary()) + readable).exit_code != 0)
      GTEST_SKIP() << "setpriv unavailable, or the build is not reachable by an unprivileged user";
  }
  const std::string output = Expand(c.output);
  auto r = testing::RunShell(c.limits + as_user + ShellQuote(testing::CramjetBinary()) + " compress -T " +
                             ShellQuote(Expand(c.reference)) + " -o " + ShellQuote(output) + quoted);
  EXPECT_EQ(r.exit_code, c.exit_code) << r.err;
  if (c.error) {
    EXPECT_EQ(r.err, "cramjet compress: error: " + Expand(c.error) + "\n");
  }
  if (c.stderr_starts) {
    EXPECT_EQ(r.err.rfind(Expand(c.stderr_starts), 0), 0u) << r.err;
  }
  for (const char* part : c.stderr_has) EXPECT_NE(r.err.find(Expand(part)), std::string::npos) << r.err;
  if (c.last_line_names) {
    const size_t last_at = r.err.rfind("cramjet compress: error: ");
    ASSERT_NE(last_at, std::string::npos) << r.err;
    const std::string last = r.err.substr(last_at);
    EXPECT_NE(last.find(Expand(c.last_line_names)), std::string::npos) << r.err;
    EXPECT_EQ(std::count(last.begin(), last.end(), '\n'), 1) << r.err;
  }
  EXPECT_EQ(r.out, "");
  auto left = testing::ListDir(std::filesystem::path(output).parent_path());
  EXPECT_TRUE(left.empty()) << "left behind: " << (left.empty() ? "" : left[0]);
}

// CTest names each case by its name: CompressBadInput.FailsCleanly/MissingFile.
INSTANTIATE_TEST_SUITE_P(, CompressBadInput, ::testing::ValuesIn(kBadInputs));

TEST(DecompressBadInput, MissingInputAndBadOutputCount) {
  testing::TempDir dir;
  auto r = RunCramjet("decompress -o " + ShellQuote(dir / "x.fq") + " " + ShellQuote(dir / "none.cram"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "cramjet decompress: error: '" + dir / "none.cram" + "': no such file\n");
  EXPECT_FALSE(testing::PathExists(dir / "x.fq"));
}

// R1/R2 output of a CRAM whose pairs are not all whole (aligned input with an orphan READ1):
// refused naming the read, nothing left under either output name, not even a temporary.
TEST(DecompressBadInput, AnOrphanMateStopsRoneRtwoOutput) {
  testing::TempDir dir;
  testing::WriteFile(dir / "ref.fa", kRef);
  const std::string seq = "ACGTACGTACGTACGTACGT", qual(20, 'I');
  testing::WriteFile(dir / "in.sam", "@HD\tVN:1.6\tSO:coordinate\n@SQ\tSN:c1\tLN:40\n"
                                     "pair\t99\tc1\t1\t60\t20M\t=\t5\t24\t" + seq + "\t" + qual + "\n"
                                     "orphan\t73\tc1\t3\t60\t20M\t=\t3\t0\t" + seq + "\t" + qual + "\n"
                                     "pair\t147\tc1\t5\t60\t20M\t=\t1\t-24\t" + seq + "\t" + qual + "\n");
  auto c = RunCramjet("compress -q -T " + ShellQuote(dir / "ref.fa") + " -o " + ShellQuote(dir / "x.cram") + " " +
                      ShellQuote(dir / "in.sam"));
  ASSERT_EQ(c.exit_code, 0) << c.err;
  testing::RunShell("mkdir -p " + ShellQuote(dir / "out"));
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

std::string LastLine(const std::string& text) {
  const size_t end = text.size() && text.back() == '\n' ? text.size() - 1 : text.size();
  const size_t start = text.rfind('\n', end == 0 ? 0 : end - 1);
  return text.substr(start == std::string::npos ? 0 : start + 1);
}

// A CRAM whose reference is gone: decompress, verify and qc give one message for that one cause,
// naming the @SQ the CRAM needs and where it was looked for (issue 16: it read as corruption).
TEST(MissingReference, OneMessageInEveryCommandThatDecodes) {
  ::unsetenv("REF_PATH");
  ::unsetenv("REF_CACHE");
  testing::TempDir dir;
  uint64_t x = 2463534242ull;
  auto next = [&x] { x ^= x << 13; x ^= x >> 17; x ^= x << 5; return x; };
  std::string genome;
  for (int i = 0; i < 20000; ++i) genome += "ACGT"[next() % 4];
  const std::string ref = dir / "gone.fa";
  testing::WriteFile(ref, ">c1\n" + genome + "\n");
  std::string reads;
  for (int i = 0; i < 300; ++i)
    reads += "@r" + std::to_string(i) + "\n" + genome.substr(next() % (genome.size() - 100), 100) + "\n+\n" +
             std::string(100, 'I') + "\n";
  testing::WriteFile(dir / "in.fq", reads);
  const std::string cram = dir / "s.cram";
  auto c = RunCramjet("compress -q --build-index -T " + ShellQuote(ref) + " -o " + ShellQuote(cram) + " " + ShellQuote(dir / "in.fq"));
  ASSERT_EQ(c.exit_code, 0) << c.err;
  const std::string md5 = testing::RunShell("samtools view -H " + ShellQuote(cram) + " | grep -o 'M5:[0-9a-f]*' | head -1").out;
  ASSERT_EQ(md5.size(), 36u) << md5;  // "M5:" + 32 + newline
  const std::string ur = testing::RunShell("samtools view -H " + ShellQuote(cram) + " | grep -o 'UR:[^\t]*' | head -1").out;
  ASSERT_FALSE(ur.empty());
  std::filesystem::rename(ref, dir / "elsewhere.fa");
  const std::string ur_value = ur.substr(3, ur.size() - 4);
  const std::string ur_path = ur_value.rfind("file://", 0) == 0 ? ur_value.substr(7) : ur_value.rfind("file:", 0) == 0 ? ur_value.substr(5) : ur_value;
  const std::string expected = "'" + cram + "': record 1: cannot decode: the reference of @SQ SN:c1 " + md5.substr(0, 35) +
                               " UR:" + ur_value + " is not available; looked in: -T (not given), UR " + ur_path +
                               " (no such file), REF_CACHE (not set), REF_PATH (not set: htslib 1.16 would ask the EBI "
                               "server). Give it with -T REF.fa, or put it where REF_PATH points (REF_PATH=/refs/%2s/%2s/%s, "
                               "files named by M5)\n";
  for (const std::string& command : {"decompress -o " + ShellQuote(dir / "back.fq"), std::string("verify"),
                                    "qc -o " + ShellQuote(dir / "qc")}) {
    auto r = RunCramjet(command + " " + ShellQuote(cram));
    const std::string name = command.substr(0, command.find(' '));
    EXPECT_EQ(r.exit_code, 1) << command;
    // htslib prints its own line for the UR file it tried (perror, not its logger); ours is last.
    EXPECT_EQ(LastLine(r.err), "cramjet " + name + ": error: " + expected) << command;
    EXPECT_LE(std::count(r.err.begin(), r.err.end(), '\n'), 2) << r.err;
  }
  EXPECT_FALSE(testing::PathExists(dir / "back.fq"));
  // The wrong reference given with -T: named, and not called corruption either.
  testing::WriteFile(dir / "other.fa", ">c2\n" + genome + "\n");
  ASSERT_EQ(testing::RunShell("samtools faidx " + ShellQuote(dir / "other.fa")).exit_code, 0);
  auto wrong = RunCramjet("verify -T " + ShellQuote(dir / "other.fa") + " " + ShellQuote(cram));
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_EQ(LastLine(wrong.err), "cramjet verify: error: '" + cram + "': record 1: cannot decode: @SQ SN:c1 is not in the reference given with -T ('" +
                           (dir / "other.fa") + "')\n");
}

// A CRAM whose header container lies about its size: refused before htslib is given it (htslib
// 1.16 asked for 6.4 GB for this 102-byte file: found by the alignment fuzzer, kept in its corpus).
TEST(HostileCram, AHeaderContainerThatLiesIsRefusedBeforeHtslibAllocates) {
  testing::TempDir dir;
  const std::string cram = dir / "lies.cram";
  std::filesystem::copy_file(std::string(CRAMJET_SOURCE_DIR) + "/tests/fuzz/corpus/alignment/regress_header_container_6gb_malloc.cram", cram);
  const std::string said = "'" + cram + "': the CRAM header container (byte 26) says it holds 94333 bytes; the file has 102 in all: truncated or corrupt\n";
  auto d = RunCramjet("decompress -o " + ShellQuote(dir / "x.fq") + " " + ShellQuote(cram));
  EXPECT_EQ(d.exit_code, 1);
  EXPECT_EQ(d.err, "cramjet decompress: error: " + said);
  EXPECT_FALSE(testing::PathExists(dir / "x.fq"));
  testing::WriteFile(dir / "ref.fa", kRef);
  auto c = RunCramjet("compress -q -T " + ShellQuote(dir / "ref.fa") + " -o " + ShellQuote(dir / "y.cram") + " " + ShellQuote(cram));
  EXPECT_EQ(c.exit_code, 1);
  EXPECT_EQ(c.err, "cramjet compress: error: " + said);

  // A slice asking for 1.16 billion content ids (and a later container for 797,829 blocks):
  // htslib 1.16 held 4.5 GB resident for this 4.7 kB file before failing at record 78; now
  // refused before the decode starts, at the first of the two.
  const std::string slices = dir / "slices.cram";
  std::filesystem::copy_file(std::string(CRAMJET_SOURCE_DIR) + "/tests/fuzz/corpus/alignment/regress_slice_header_4gb_malloc.cram", slices);
  auto v = RunCramjet("decompress -T " + ShellQuote(dir / "ref.fa") + " -o " + ShellQuote(dir / "s.sam") + " " + ShellQuote(slices));
  EXPECT_EQ(v.exit_code, 1);
  EXPECT_EQ(v.err, "cramjet decompress: error: '" + slices + "': the CRAM container at byte 684 has a slice header asking "
                   "for 0 blocks, 1160909505 content ids and 287297886 records in 606 bytes: corrupt\n");
  EXPECT_FALSE(testing::PathExists(dir / "s.sam"));

  // A landmark count of 2^28 once made cramjet's own check allocate 2 GB for it; read one at a
  // time, the count costs only what the file holds.
  const std::string landmarks = dir / "landmarks.cram";
  std::filesystem::copy_file(std::string(CRAMJET_SOURCE_DIR) + "/tests/fuzz/corpus/alignment/regress_landmark_count_2gb_vector.cram",
                             landmarks);
  auto l = RunCramjet("decompress -o " + ShellQuote(dir / "l.sam") + " " + ShellQuote(landmarks));
  EXPECT_EQ(l.exit_code, 1);
  EXPECT_EQ(l.err, "cramjet decompress: error: '" + landmarks + "': the CRAM container at byte 2619 is cut short: the file is "
                   "truncated or corrupt\n");

  // A compression header whose HUFFMAN code claims 2^27.6 symbols in 8 parameter bytes: htslib
  // 1.16 asked for 4.8 GB for it at the first record of this 10 kB file; now refused before.
  const std::string huffman = dir / "huffman.cram";
  std::filesystem::copy_file(std::string(CRAMJET_SOURCE_DIR) + "/tests/fuzz/corpus/alignment/regress_huffman_alphabet_4gb_malloc.cram",
                             huffman);
  auto hd = RunCramjet("decompress -o " + ShellQuote(dir / "h.sam") + " " + ShellQuote(huffman));
  EXPECT_EQ(hd.exit_code, 1);
  EXPECT_EQ(hd.err, "cramjet decompress: error: '" + huffman + "': the CRAM container at byte 7645 has a compression header "
                    "with a HUFFMAN code of 201326591 symbols in 8 bytes: corrupt\n");
  EXPECT_FALSE(testing::PathExists(dir / "h.sam"));
}

// The slice check reads a slice header's fields in the specification's order (the record
// counter after the record count): more content ids than blocks in a real CRAM is named so.
TEST(HostileCram, ASliceWithMoreContentIdsThanBlocksIsRefused) {
  testing::TempDir dir;
  testing::WriteFile(dir / "ref.fa", kRef);
  testing::WriteFile(dir / "in.fq", "@r1\nACGTACGTAC\n+\nIIIIIIIIII\n@r2\nTTGCAACGTA\n+\nIIIIIIIIII\n");
  const std::string cram = dir / "s.cram";
  auto c = RunCramjet("compress -q --unaligned -T " + ShellQuote(dir / "ref.fa") + " -o " + ShellQuote(cram) + " " +
                      ShellQuote(dir / "in.fq"));
  ASSERT_EQ(c.exit_code, 0) << c.err;
  auto edit = testing::RunShell("python3 " + ShellQuote(std::string(CRAMJET_SOURCE_DIR) + "/tests/pipeline/set_slice_content_ids.py") +
                                " " + ShellQuote(cram) + " 127");
  ASSERT_EQ(edit.exit_code, 0) << edit.err;
  const std::string blocks = edit.out.substr(0, edit.out.find('\n'));
  auto d = RunCramjet("decompress -o " + ShellQuote(dir / "back.fq") + " " + ShellQuote(cram));
  EXPECT_EQ(d.exit_code, 1);
  EXPECT_NE(d.err.find("has a slice header asking for " + blocks + " blocks, 127 content ids and 2 records in "),
            std::string::npos)
      << d.err;
  EXPECT_FALSE(testing::PathExists(dir / "back.fq"));
}

}  // namespace
}  // namespace cramjet
