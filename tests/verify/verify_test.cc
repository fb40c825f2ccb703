// Tests of the verify stage on real files: the conformance of our decode path (hts-specs CRAM
// suite), malformed input, the compress-time proof, the sidecars and `cramjet verify`.
// Length: ~530 lines: the verify stage's cases on real files, one fixture; the checksum
// definition's own tests are in checksum_test.cc.
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "common/test_util.h"
#include "cramjet/checksum.h"
#include "read/read.h"
#include "sample_sam.h"
#include "verify/verify.h"

namespace cramjet {
namespace {

using testing::Lines;
using testing::PathExists;
using testing::ReadFile;
using testing::RunCramjet;
using testing::RunShell;
using testing::SharedPath;
using testing::ShellQuote;
using testing::TempDir;
using testing::WriteFile;

const char* const kConformance30 = "cram-conformance/test/cram/3.0/passed";
const char* const kConformance31 = "cram-conformance/test/cram/3.1/passed";
const char* const kConformanceRef = "cram-conformance/test/cram/ce.fa";

struct Decoded {
  std::vector<std::string> header;   // @ lines
  std::vector<std::string> records;  // SAM text of each record
};

// Decodes through the verify stage's reader (decode_md=0) into SAM text.
Decoded DecodeToSam(const std::string& path, const std::string& reference) {
  Decoded out;
  auto file = OpenAlignmentFile(path, {reference, 1, nullptr});
  EXPECT_TRUE(file.ok()) << file.status().message();
  if (!file.ok()) return out;
  for (const auto& line : Lines(sam_hdr_str(file->header.get())))
    if (!line.empty()) out.header.push_back(line);
  BamPtr b = NewBam();
  kstring_t ks = {0, 0, nullptr};
  for (uint64_t n = 0;; ++n) {
    auto more = ReadAlignmentRecord(*file, b.get(), n);
    EXPECT_TRUE(more.ok()) << more.status().message();
    if (!more.ok() || !*more) break;
    ks.l = 0;
    EXPECT_GE(sam_format1(file->header.get(), b.get(), &ks), 0);
    out.records.emplace_back(ks.s, ks.l);
  }
  free(ks.s);
  return out;
}

std::vector<std::string> WithoutUr(std::vector<std::string> header) {
  for (auto& line : header) {
    if (line.rfind("@SQ\t", 0) != 0) continue;
    size_t ur = line.find("\tUR:");
    if (ur == std::string::npos) continue;
    size_t end = line.find('\t', ur + 1);
    line.erase(ur, end == std::string::npos ? std::string::npos : end - ur);
  }
  return header;
}

std::vector<std::string> FilesIn(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> names;
  for (const auto& n : testing::ListDir(dir))
    if (n.size() > suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0)
      names.push_back(n);
  std::sort(names.begin(), names.end());
  return names;
}

// ---- Conformance ------------------------------------------------------------------------------------

TEST(Conformance, EveryCram30WithExpectedSamDecodesToIt) {
  CRAMJET_REQUIRE_SHARED_DATA(kConformance30);
  const std::string dir = SharedPath(kConformance30);
  const std::string ref = SharedPath(kConformanceRef);
  int compared = 0, ur_differs = 0;
  uint64_t records = 0;
  for (const auto& name : FilesIn(dir, ".cram")) {
    std::string sam = dir + "/" + name.substr(0, name.size() - 5) + ".sam";
    if (!PathExists(sam)) continue;
    SCOPED_TRACE(name);
    Decoded got = DecodeToSam(dir + "/" + name, ref);
    Decoded want;
    for (const auto& line : Lines(ReadFile(sam))) {
      if (line.empty()) continue;
      (line[0] == '@' ? want.header : want.records).push_back(line);
    }
    // Headers are compared exactly except @SQ UR (only a location hint): 1101_BETA's .sam was
    // written from another folder than its CRAM, so the two differ there (samtools shows the same).
    EXPECT_EQ(WithoutUr(got.header), WithoutUr(want.header));
    if (got.header != want.header) ++ur_differs;
    ASSERT_EQ(got.records.size(), want.records.size());
    for (size_t i = 0; i < want.records.size(); ++i)
      EXPECT_EQ(got.records[i], want.records[i]) << "record " << i + 1;
    ++compared;
    records += want.records.size();
  }
  // The suite has 62 such pairs; fewer means the data folder is incomplete.
  EXPECT_GE(compared, 62);
  EXPECT_LE(ur_differs, 1);
  std::printf("compared %d CRAM 3.0 files, %llu records; %d header(s) differ only in @SQ UR\n",
              compared, static_cast<unsigned long long>(records), ur_differs);
}

TEST(Conformance, EveryCram30ThroughTheReadStageGivesTheExpectedRecords) {
  // `compress` and `verify --against` read aligned input through OpenReads (host/read); its
  // records must be the suite's too (its header is the output's, so only records are compared).
  CRAMJET_REQUIRE_SHARED_DATA(kConformance30);
  const std::string dir = SharedPath(kConformance30);
  int compared = 0;
  for (const auto& name : FilesIn(dir, ".cram")) {
    std::string sam = dir + "/" + name.substr(0, name.size() - 5) + ".sam";
    if (!PathExists(sam)) continue;
    SCOPED_TRACE(name);
    ReadOptions options;
    options.inputs = {dir + "/" + name};
    options.reference = SharedPath(kConformanceRef);
    auto source = OpenReads(options);
    ASSERT_TRUE(source.ok()) << source.status().message();
    std::vector<std::string> got;
    ReadBatch batch;
    kstring_t ks = {0, 0, nullptr};
    for (;;) {
      auto n = (*source)->NextBatch(batch, 1000);
      ASSERT_TRUE(n.ok()) << n.status().message();
      if (*n == 0) break;
      for (size_t i = 0; i < *n; ++i) {
        ks.l = 0;
        ASSERT_GE(sam_format1((*source)->header(), batch[i], &ks), 0);
        got.emplace_back(ks.s, ks.l);
      }
    }
    free(ks.s);
    std::vector<std::string> want;
    for (const auto& line : Lines(ReadFile(sam)))
      if (!line.empty() && line[0] != '@') want.push_back(line);
    EXPECT_EQ(got, want);
    ++compared;
  }
  EXPECT_GE(compared, 62);
}

TEST(Conformance, Cram31FilesDecodeLikeTheirCram30Twins) {
  // 3.1/passed has no .sam files; its level-N files hold the same records as 3.0's level-N.
  CRAMJET_REQUIRE_SHARED_DATA(kConformance31);
  const std::string ref = SharedPath(kConformanceRef);
  int compared = 0;
  for (const auto& name : FilesIn(SharedPath(kConformance31), ".cram")) {
    std::string twin = SharedPath(kConformance30) + "/" + name;
    if (!PathExists(twin)) continue;
    SCOPED_TRACE(name);
    Decoded v31 = DecodeToSam(SharedPath(kConformance31) + "/" + name, ref);
    Decoded v30 = DecodeToSam(twin, ref);
    EXPECT_FALSE(v31.records.empty());
    EXPECT_EQ(v31.records, v30.records);
    auto a = ChecksumAlignmentFile(SharedPath(kConformance31) + "/" + name, ref, 2, "*");
    auto b = ChecksumAlignmentFile(twin, ref, 1, "*");
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_TRUE(a->Equals(*b)) << a->Describe(*b);
    ++compared;
  }
  EXPECT_GE(compared, 3);
}

// ---- Malformed input --------------------------------------------------------------------------------

TEST(BadInput, TruncatedAndCorruptFilesAreErrorsNamingTheFile) {
  CRAMJET_REQUIRE_SHARED_DATA("cram-conformance/test/cram/3.0/failed/0000_empty_noeof.cram");
  const std::string noeof = SharedPath("cram-conformance/test/cram/3.0/failed/0000_empty_noeof.cram");
  auto r = ChecksumAlignmentFile(noeof, "", 1, "*");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "'" + noeof + "': the end-of-file marker is missing: the file is truncated or was not closed");

  TempDir dir;
  auto missing = ChecksumAlignmentFile(dir / "nope.bam", "", 1, "*");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "'" + (dir / "nope.bam") + "': no such file");
  WriteFile(dir / "empty.bam", "");
  EXPECT_EQ(ChecksumAlignmentFile(dir / "empty.bam", "", 1, "*").status().message(),
            "'" + (dir / "empty.bam") + "': empty file, not SAM/BAM/CRAM");
  WriteFile(dir / "reads.fq", "@r1\nACGT\n+\nIIII\n");
  auto fq = ChecksumAlignmentFile(dir / "reads.fq", "", 1, "*");
  ASSERT_FALSE(fq.ok());
  EXPECT_EQ(fq.status().message().rfind("'" + (dir / "reads.fq") + "': not SAM/BAM/CRAM (looks like ", 0), 0u)
      << fq.status().message();
  EXPECT_EQ(ChecksumAlignmentFile(dir / "x.bam", "", 1, "Q").status().code(), StatusCode::kInvalidArgument);

  // A BAM cut short: the BGZF EOF block is gone.
  if (testing::ToolAvailable("samtools")) {
    WriteFile(dir / "s.sam", testing::SampleSam());
    ASSERT_EQ(RunShell("samtools view -b -o " + ShellQuote(dir / "s.bam") + " " + ShellQuote(dir / "s.sam")).exit_code, 0);
    std::string bam = ReadFile(dir / "s.bam");
    WriteFile(dir / "cut.bam", bam.substr(0, bam.size() - 28));
    EXPECT_EQ(ChecksumAlignmentFile(dir / "cut.bam", "", 1, "*").status().message(),
              "'" + (dir / "cut.bam") + "': the end-of-file marker is missing: the file is truncated or was not closed");
  }
}

TEST(BadInput, CramtoolsCramThatHtslibRefusesFailsAtItsFirstRecord) {
  CRAMJET_REQUIRE_SHARED_DATA("sarscov2-miseq-amplicon/subsample1.cram");
  const std::string cram = SharedPath("sarscov2-miseq-amplicon/subsample1.cram");
  const std::string ref = SharedPath("sarscov2-miseq-amplicon/MN908947.3.fasta");
  auto r = ChecksumAlignmentFile(cram, ref, 1, "*");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kBadInput);
  // It has no @SQ lines: no reference is missing, so the data is what is wrong.
  EXPECT_EQ(r.status().message(), "'" + cram + "': record 1: cannot decode: the data is corrupt or truncated");
}

// ---- The compress-time proof -------------------------------------------------------------------------

std::string WriteSampleReference(const TempDir& dir) {
  std::string ref = ">chr1\n";
  for (int i = 0; i < 200; ++i) ref += "ACGTTGCAAC"[i % 10];
  ref += "\n";
  WriteFile(dir / "ref.fa", ref);
  return dir / "ref.fa";
}

TEST(Proof, CramWithTagsStoredVerbatimProvesLosslessAndOneWithoutDoesNot) {
  if (!testing::ToolAvailable("samtools")) GTEST_SKIP() << "samtools not found";
  TempDir dir;
  const std::string sam = dir / "s.sam", ref = WriteSampleReference(dir);
  WriteFile(sam, testing::SampleSam());
  auto expected = ChecksumAlignmentFile(sam, "", 1, kProofAuxTags);
  ASSERT_TRUE(expected.ok());
  // MD/NM stored as given (what cramjet's encoder does): the proof holds.
  auto r = RunShell("samtools view -C -T " + ShellQuote(ref) +
                    " --output-fmt-option store_md=1 --output-fmt-option store_nm=1 -o " +
                    ShellQuote(dir / "kept.cram") + " " + ShellQuote(sam));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Status kept = ProveCramLossless(dir / "kept.cram", ref, 1, *expected);
  EXPECT_TRUE(kept.ok()) << kept.message();
  // A changed input (one base) is a DataLoss naming the CRAM and the columns.
  std::string changed_sam = testing::SampleSam();
  changed_sam.replace(changed_sam.find("GATTACA"), 7, "GATTACC");
  WriteFile(dir / "changed.sam", changed_sam);
  auto changed = ChecksumAlignmentFile(dir / "changed.sam", "", 1, kProofAuxTags);
  ASSERT_TRUE(changed.ok());
  Status differs = ProveCramLossless(dir / "kept.cram", ref, 1, *changed);
  ASSERT_FALSE(differs.ok());
  EXPECT_EQ(differs.code(), StatusCode::kDataLoss);
  EXPECT_EQ(differs.message().rfind("'" + (dir / "kept.cram") +
                                        "': decoded CRAM differs from the input (input != CRAM): all all: flag+seq ",
                                    0),
            0u)
      << differs.message();
}

TEST(Proof, CatchesMdNmThatHtslibLeftOutOfTheCram) {
  // htslib's default drops MD/NM it can regenerate; with decode_md=0 they do not come back, so a
  // CRAM written that way is not lossless for aligned input that had them.
  CRAMJET_REQUIRE_SHARED_DATA("human-na12878-chr22-tiny/NA12878.chr22.tiny.bam");
  if (!testing::ToolAvailable("samtools")) GTEST_SKIP() << "samtools not found";
  TempDir dir;
  const std::string bam = SharedPath("human-na12878-chr22-tiny/NA12878.chr22.tiny.bam");
  const std::string ref = SharedPath("human-na12878-chr22-tiny/q.fa");
  ASSERT_EQ(RunShell("samtools view -C -T " + ShellQuote(ref) + " -o " + ShellQuote(dir / "d.cram") +
                     " " + ShellQuote(bam)).exit_code, 0);
  auto expected = ChecksumAlignmentFile(bam, "", 2, kProofAuxTags);
  ASSERT_TRUE(expected.ok());
  Status s = ProveCramLossless(dir / "d.cram", ref, 2, *expected);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.message();
  EXPECT_NE(s.message().find("all all: +aux "), std::string::npos) << s.message();
  // Without MD/NM in the proof the rest is equal.
  auto without = ChecksumAlignmentFile(bam, "", 1, ProofAuxTagsExcluding({"MD", "NM"}));
  ASSERT_TRUE(without.ok());
  Status rest = ProveCramLossless(dir / "d.cram", ref, 1, *without);
  EXPECT_TRUE(rest.ok()) << rest.message();
}

// ---- Sidecars -----------------------------------------------------------------------------------------

TEST(Sidecars, AreWrittenInMd5sumAndSamtoolsFormats) {
  TempDir dir;
  const std::string cram = dir / "out.cram";
  WriteFile(cram, "pretend CRAM bytes\n");
  WriteFile(dir / ".out.cram.tmp", "pretend CRAM bytes\n");
  auto records = testing::ParseRecords(testing::SampleSam());
  ReadChecksums sums(kProofAuxTags);
  for (const auto& r : records) sums.Add(r.get());
  auto written = WriteChecksumSidecars(cram, dir / ".out.cram.tmp", sums);
  ASSERT_TRUE(written.ok()) << written.status().message();
  EXPECT_EQ(written->seqchksum_path, cram + ".seqchksum");
  EXPECT_EQ(written->md5_path, cram + ".md5");
  EXPECT_EQ(ReadFile(cram + ".seqchksum"), sums.ToText("out.cram"));
  // The MD5 agrees with coreutils' md5sum, which also accepts the file as a check list.
  auto md5sum = RunShell("cd " + ShellQuote(dir.path()) + " && md5sum out.cram");
  ASSERT_EQ(md5sum.exit_code, 0);
  EXPECT_EQ(ReadFile(cram + ".md5"), md5sum.out);
  EXPECT_EQ(written->md5_hex, md5sum.out.substr(0, 32));
  auto check = RunShell("cd " + ShellQuote(dir.path()) + " && md5sum -c out.cram.md5");
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  // No temporary files left beside them.
  for (const auto& n : testing::ListDir(dir.path()))
    EXPECT_TRUE(n == "out.cram" || n == ".out.cram.tmp" || n == "out.cram.md5" || n == "out.cram.seqchksum") << n;
}

TEST(Sidecars, Md5FilesAreParsedLeniently) {
  const std::string hex = "0123456789abcdef0123456789abcdef";
  EXPECT_EQ(*ParseMd5File(hex, "a.md5"), hex);
  EXPECT_EQ(*ParseMd5File(hex + "\n", "a.md5"), hex);
  EXPECT_EQ(*ParseMd5File(hex + "  x.cram\n", "a.md5"), hex);
  EXPECT_EQ(*ParseMd5File(hex + " *x.cram\n", "a.md5"), hex);
  EXPECT_EQ(*ParseMd5File("0123456789ABCDEF0123456789ABCDEF\n", "a.md5"), hex);
  auto bad = ParseMd5File("0123\n", "a.md5");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "'a.md5': not an MD5 file (expected 32 hex digits, optionally followed by the file name)");
  EXPECT_FALSE(ParseMd5File(hex + "0", "a.md5").ok());
  EXPECT_FALSE(ParseMd5File("", "a.md5").ok());
}

// ---- cramjet verify -------------------------------------------------------------------------------------

class VerifyCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing::SharedDataDir().empty() ||
        !PathExists(SharedPath("human-na12878-chr22-tiny/NA12878.chr22.tiny.bam")))
      GTEST_SKIP() << "shared data not found: human-na12878-chr22-tiny";
    if (!testing::ToolAvailable("samtools")) GTEST_SKIP() << "samtools not found";
    bam_ = SharedPath("human-na12878-chr22-tiny/NA12878.chr22.tiny.bam");
    ref_ = SharedPath("human-na12878-chr22-tiny/q.fa");
    cram_ = dir_ / "tiny.cram";
    auto r = RunShell("samtools view -C -T " + ShellQuote(ref_) +
                      " --output-fmt-option store_md=1 --output-fmt-option store_nm=1 -o " +
                      ShellQuote(cram_) + " " + ShellQuote(bam_));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto sums = ChecksumAlignmentFile(cram_, ref_, 1, kProofAuxTags);
    ASSERT_TRUE(sums.ok()) << sums.status().message();
    sums_ = std::make_unique<ReadChecksums>(*sums);
    auto written = WriteChecksumSidecars(cram_, cram_, *sums_);
    ASSERT_TRUE(written.ok()) << written.status().message();
    // The count comes from samtools, not from our code.
    auto count = RunShell("samtools view -c -F 0x900 " + ShellQuote(cram_) + " -T " + ShellQuote(ref_));
    reads_ = std::stoull(count.out);
  }
  std::string Args(const std::string& extra = "") {
    return "verify " + ShellQuote(cram_) + " -T " + ShellQuote(ref_) + extra;
  }

  TempDir dir_;
  std::string bam_, ref_, cram_;
  std::unique_ptr<ReadChecksums> sums_;
  uint64_t reads_ = 0;
};

TEST_F(VerifyCli, EqualFilePrintsOkAndExitsZero) {
  auto r = RunCramjet(Args());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "OK: " + cram_ + ": " + std::to_string(reads_) + " reads, checksums and md5 equal\n");
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(reads_, 3327u);
}

TEST_F(VerifyCli, JsonFormIsVersioned) {
  auto r = RunCramjet(Args(" --json -@ 2"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["schema"], "cramjet.verify/1");
  EXPECT_EQ(j["file"], cram_);
  EXPECT_EQ(j["equal"], true);
  EXPECT_EQ(j["records"], reads_);
  EXPECT_EQ(j["expected_records"], reads_);
  EXPECT_EQ(j["definition"], kSeqChecksumDefinition);
  EXPECT_EQ(j["aux_tags"], "*");
  EXPECT_EQ(j["md5"]["checked"], true);
  EXPECT_EQ(j["md5"]["equal"], true);
  EXPECT_EQ(j["md5"]["actual"], ReadFile(cram_ + ".md5").substr(0, 32));
  EXPECT_TRUE(j["differences"].empty());
  ASSERT_FALSE(j["rows"].empty());
  EXPECT_EQ(j["rows"][0]["group"], "all");
  EXPECT_EQ(j["rows"][0]["count"], reads_);
  EXPECT_EQ(j["rows"][0]["qual"].get<std::string>().size(), 8u);
}

TEST_F(VerifyCli, ChangedSeqchksumIsAMismatch) {
  // A consistent .seqchksum of one read more than the CRAM holds.
  ReadChecksums more = *sums_;
  auto extra = testing::ParseRecords(testing::SampleSam());
  more.Add(extra[0].get());
  WriteFile(cram_ + ".seqchksum", more.ToText("tiny.cram"));
  auto r = RunCramjet(Args());
  EXPECT_EQ(r.exit_code, 3) << r.err;
  std::string n = std::to_string(reads_), n1 = std::to_string(reads_ + 1);
  EXPECT_EQ(r.out.rfind("MISMATCH: " + cram_ + ": " + n + " reads (expected " + n1 + " from " + cram_ +
                            ".seqchksum): all all: count " + n1 + " != " + n + "; ",
                        0),
            0u)
      << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1);
  EXPECT_EQ(r.err, "");
}

TEST_F(VerifyCli, ChangedMd5IsAMismatch) {
  std::string md5 = ReadFile(cram_ + ".md5");
  std::string bad = std::string(32, '0') + md5.substr(32);
  WriteFile(cram_ + ".md5", bad);
  auto r = RunCramjet(Args());
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "MISMATCH: " + cram_ + ": " + std::to_string(reads_) + " reads (expected " +
                       std::to_string(reads_) + " from " + cram_ + ".seqchksum): md5 " + md5.substr(0, 32) +
                       " != " + std::string(32, '0') + " in " + cram_ + ".md5\n");
}

TEST_F(VerifyCli, ChangedCramByteIsADecodeErrorThatAlsoReportsTheMd5) {
  // CRAM 3 blocks carry CRC32s, so a flipped byte stops the decode (exit 1) before any checksum
  // comparison; the error says the MD5 differs too.
  std::string bytes = ReadFile(cram_);
  bytes[bytes.size() / 2] ^= 0x55;
  WriteFile(cram_, bytes);
  auto r = RunCramjet(Args());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("cramjet verify: error: '" + cram_ + "': record ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(": cannot decode: the data is corrupt or truncated; the file's MD5 also differs from " +
                       cram_ + ".md5\n"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
}

TEST_F(VerifyCli, AgainstTheOriginalBamIsOk) {
  auto r = RunCramjet(Args(" --against " + ShellQuote(bam_)));
  EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_EQ(r.out, "OK: " + cram_ + ": " + std::to_string(reads_) +
                       " reads, checksums equal to the inputs, md5 equal\n");
}

TEST_F(VerifyCli, MissingFilesAreOneLineErrors) {
  auto r = RunCramjet("verify " + ShellQuote(dir_ / "none.cram"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "cramjet verify: error: '" + (dir_ / "none.cram") + "': no such file\n");
  EXPECT_EQ(r.out, "");
  std::remove((cram_ + ".seqchksum").c_str());
  r = RunCramjet(Args());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "cramjet verify: error: '" + cram_ +
                       ".seqchksum': no such file (nothing to verify against; give --against INPUT...)\n");
}

// The malformed shared files, each given a valid (empty) .seqchksum so the decode is reached.
TEST(VerifyCliBadInput, TruncatedAndMalformedCramsExitOneWithOneLine) {
  CRAMJET_REQUIRE_SHARED_DATA("sarscov2-miseq-amplicon/subsample1.cram");
  TempDir dir;
  const std::string empty_sums = ReadChecksums("*").ToText("x");
  struct Case {
    std::string shared, error;
  } cases[] = {
      {"cram-conformance/test/cram/3.0/failed/0000_empty_noeof.cram",
       "the end-of-file marker is missing: the file is truncated or was not closed"},
      {"sarscov2-miseq-amplicon/subsample1.cram",
       "record 1: cannot decode: the data is corrupt or truncated"},
  };
  for (const auto& c : cases) {
    std::string link = dir / BaseName(c.shared);
    ASSERT_EQ(::symlink(SharedPath(c.shared).c_str(), link.c_str()), 0);
    WriteFile(link + ".seqchksum", empty_sums);
    auto r = RunCramjet("verify " + ShellQuote(link));
    EXPECT_EQ(r.exit_code, 1) << c.shared;
    EXPECT_EQ(r.err, "cramjet verify: error: '" + link + "': " + c.error + "\n");
    EXPECT_EQ(r.out, "");
  }
}

}  // namespace
}  // namespace cramjet

namespace cramjet {
namespace {

// `cramjet compress` of a real paired FASTQ set, then `verify` with and without the inputs.
TEST(VerifyCliCompressed, RealPairedFastqVerifiesAgainstItsInputs) {
  CRAMJET_REQUIRE_SHARED_DATA("ecoli-10k-paired/reads1.fastq.gz");
  if (testing::RunCramjet("compress --help").exit_code != 0) GTEST_SKIP() << "compress not built";
  TempDir dir;
  const std::string r1 = SharedPath("ecoli-10k-paired/reads1.fastq.gz");
  const std::string r2 = SharedPath("ecoli-10k-paired/reads2.fastq.gz");
  // A copy of the reference: compress maps the reads and builds the index beside it.
  const std::string ref = dir / "ref.fa";
  ASSERT_EQ(RunShell("cp " + ShellQuote(SharedPath("ecoli-10k-paired/reference_MG1655_first10k.fasta")) + " " +
                     ShellQuote(ref)).exit_code, 0);
  const std::string cram = dir / "ec.cram";
  auto c = RunCramjet("compress -q --build-index " + ShellQuote(r1) + " " + ShellQuote(r2) + " -T " + ShellQuote(ref) +
                      " -o " + ShellQuote(cram));
  ASSERT_EQ(c.exit_code, 0) << c.err;
  // Reads counted by an outside tool: 4 lines per record in both files.
  auto lines = RunShell("zcat " + ShellQuote(r1) + " " + ShellQuote(r2) + " | wc -l");
  const std::string reads = std::to_string(std::stoull(lines.out) / 4);

  auto plain = RunCramjet("verify " + ShellQuote(cram) + " -T " + ShellQuote(ref));
  EXPECT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.out, "OK: " + cram + ": " + reads + " reads, checksums and md5 equal\n");

  auto against = RunCramjet("verify " + ShellQuote(cram) + " -T " + ShellQuote(ref) + " --against " +
                            ShellQuote(r1) + " " + ShellQuote(r2));
  EXPECT_EQ(against.exit_code, 0) << against.err;
  EXPECT_EQ(against.out, "OK: " + cram + ": " + reads + " reads, checksums equal to the inputs, md5 equal\n");

  // The same FASTQ with one quality character changed (record 2, line 8) is a +qual mismatch.
  const std::string changed = dir / "reads1.fastq.gz";
  auto edit = RunShell("zcat " + ShellQuote(r1) +
                       " | awk 'NR==8 { c = substr($0,1,1); $0 = (c == \"#\" ? \"$\" : \"#\") substr($0,2) } "
                       "{ print }' | gzip -c > " + ShellQuote(changed));
  ASSERT_EQ(edit.exit_code, 0) << edit.err;
  auto mismatch = RunCramjet("verify " + ShellQuote(cram) + " -T " + ShellQuote(ref) + " --paired --against " +
                             ShellQuote(changed) + " " + ShellQuote(r2));
  EXPECT_EQ(mismatch.exit_code, 3) << mismatch.err;
  EXPECT_EQ(mismatch.out.rfind("MISMATCH: " + cram + ": " + reads + " reads (expected " + reads +
                                   " from 2 inputs): all all: +qual ",
                               0),
            0u)
      << mismatch.out;
  EXPECT_EQ(mismatch.out.find("flag+seq"), std::string::npos) << mismatch.out;

  // The inputs renamed (moved to the archive's staging area, say): the read groups come from the
  // CRAM, not from the names, so they still compare (issue 16 item 7: they did not).
  const std::string a = dir / "run7_lane1_first.fq.gz", b = dir / "run7_lane1_second.fq.gz";
  ASSERT_EQ(RunShell("cp " + ShellQuote(r1) + " " + ShellQuote(a) + " && cp " + ShellQuote(r2) + " " + ShellQuote(b))
                .exit_code, 0);
  auto renamed = RunCramjet("verify " + ShellQuote(cram) + " -T " + ShellQuote(ref) + " --paired --against " +
                            ShellQuote(a) + " " + ShellQuote(b));
  EXPECT_EQ(renamed.exit_code, 0) << renamed.out << renamed.err;
  EXPECT_EQ(renamed.out, "OK: " + cram + ": " + reads + " reads, checksums equal to the inputs, md5 equal\n");
  // Units that do not match the CRAM's (the renamed pair, not detected as one by name, read as
  // two single-end files) are named as such rather than compared.
  auto unpaired = RunCramjet("verify " + ShellQuote(cram) + " -T " + ShellQuote(ref) + " --against " + ShellQuote(a) + " " +
                             ShellQuote(b));
  EXPECT_EQ(unpaired.exit_code, 1);
  EXPECT_EQ(unpaired.err, "cramjet verify: error: '" + cram + "' was made from 1 FASTQ input unit(s) (its @RG lines); "
                          "--against gives 2: give the same files, in the same order (R1 R2 pairs with --paired)\n");
}

}  // namespace
}  // namespace cramjet
