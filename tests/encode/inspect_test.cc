// `cramjet inspect` (cramjet/inspect.h): every byte of a CRAM counted once, and the series a hand
// can count (names, bases, qualities, a tag) on a tiny file htslib writes; refusals; the CLI.
#include <htslib/sam.h>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "common/common.h"
#include "common/test_util.h"
#include "cramjet/inspect.h"

namespace cramjet {
namespace {

using testing::ReadFile;
using testing::RunCramjet;
using testing::ShellQuote;
using testing::TempDir;

struct TinyRead {
  const char* name;
  const char* seq;
  const char* xy;  // XY:Z value
};
// Names of 2, 5 and 2 characters, 4, 5 and 6 bases, XY values of 2, 3 and 1 characters.
constexpr TinyRead kTinyReads[] = {{"r1", "ACGT", "ab"}, {"read2", "GGCCA", "cde"}, {"x3", "TTTTAC", "f"}};

// Three unplaced reads written by htslib as CRAM `version`.
std::string WriteTinyCram(const TempDir& dir, const char* version) {
  const std::string ref = dir / "ref.fa";
  testing::WriteFile(ref, ">c1\nACGTACGTACGTACGTACGT\n");
  const std::string path = dir / (std::string("tiny-") + version + ".cram");
  const char* text = "@HD\tVN:1.6\tSO:unsorted\n@SQ\tSN:c1\tLN:20\n";
  HeaderPtr h(sam_hdr_parse(std::strlen(text), text));
  HtsFilePtr fp(hts_open(path.c_str(), "wc"));
  EXPECT_TRUE(fp);
  EXPECT_EQ(hts_set_opt(fp.get(), CRAM_OPT_VERSION, version), 0);
  EXPECT_EQ(hts_set_fai_filename(fp.get(), ref.c_str()), 0);
  EXPECT_EQ(sam_hdr_write(fp.get(), h.get()), 0);
  for (const TinyRead& r : kTinyReads) {
    BamPtr b = NewBam();
    const size_t n = std::strlen(r.seq);
    std::string qual(n, 0);
    for (size_t i = 0; i < n; ++i) qual[i] = static_cast<char>(10 + i);
    EXPECT_GE(bam_set1(b.get(), std::strlen(r.name), r.name, BAM_FUNMAP, -1, -1, 0, 0, nullptr, -1, -1, 0,
                       n, r.seq, qual.data(), 16),
              0);
    EXPECT_EQ(bam_aux_append(b.get(), "XY", 'Z', static_cast<int>(std::strlen(r.xy) + 1),
                             reinterpret_cast<const uint8_t*>(r.xy)),
              0);
    EXPECT_GE(sam_write1(fp.get(), h.get(), b.get()), 0);
  }
  return path;
}

const CramByteRow* Find(const CramInspection& in, const std::string& key) {
  for (const CramByteRow& r : in.rows)
    if (r.key == key) return &r;
  return nullptr;
}

TEST(CramInspect, EveryByteIsCountedOnceAndTheSeriesMatchAHandCount) {
  TempDir dir;
  for (const char* version : {"3.0", "3.1"}) {
    const std::string path = WriteTinyCram(dir, version);
    auto in = InspectCram(path);
    ASSERT_TRUE(in.ok()) << in.status().ToString();
    EXPECT_EQ(in->major, 3);
    EXPECT_EQ(in->minor, version[2] - '0');
    EXPECT_EQ(in->file_bytes, ReadFile(path).size());
    EXPECT_EQ(in->containers, 1u);
    EXPECT_EQ(in->slices, 1u);
    EXPECT_EQ(in->records, 3u);
    uint64_t total = 0;
    for (const CramByteRow& r : in->rows) total += r.bytes;
    EXPECT_EQ(total, in->file_bytes) << version;
    for (size_t i = 1; i < in->rows.size(); ++i) EXPECT_GE(in->rows[i - 1].bytes, in->rows[i].bytes);
    // Names with their NUL terminators: 3 + 6 + 3; bases and qualities: 4 + 5 + 6; the tag's
    // values as BAM holds them (with the NUL) and htslib's stop byte after each: 4 + 5 + 3.
    const CramByteRow* rn = Find(*in, "RN");
    const CramByteRow* ba = Find(*in, "BA");
    const CramByteRow* qs = Find(*in, "QS");
    const CramByteRow* xy = Find(*in, "tag:XY:Z");
    ASSERT_TRUE(rn && ba && qs && xy) << version << "\n" << FormatCramInspection(*in);
    EXPECT_EQ(rn->raw_bytes, 12u) << version;
    EXPECT_EQ(rn->category, "names");
    EXPECT_EQ(ba->raw_bytes, 15u) << version;
    EXPECT_EQ(qs->raw_bytes, 15u) << version;
    EXPECT_EQ(qs->category, "qualities");
    EXPECT_EQ(xy->raw_bytes, 12u) << version;
    EXPECT_EQ(xy->category, "tags");
    EXPECT_EQ(rn->blocks, 1u);
    ASSERT_TRUE(Find(*in, "file header") && Find(*in, "eof") && Find(*in, "container headers"));
    EXPECT_EQ(Find(*in, "eof")->bytes, 38u);  // the EOF container of CRAM 3.x
  }
}

TEST(CramInspect, RefusesWhatIsNotAWholeCram3File) {
  TempDir dir;
  const std::string good = WriteTinyCram(dir, "3.1");
  const std::string bytes = ReadFile(good);
  testing::WriteFile(dir / "text.cram", "@r1\nACGT\n+\nIIII\n");
  testing::WriteFile(dir / "cut.cram", bytes.substr(0, bytes.size() - 10));
  testing::WriteFile(dir / "no-eof.cram", bytes.substr(0, bytes.size() - 38));
  std::string flipped = bytes;
  flipped[bytes.size() - 60] = static_cast<char>(flipped[bytes.size() - 60] ^ 0x40);
  testing::WriteFile(dir / "flipped.cram", flipped);
  std::string old = bytes;
  old[4] = 2;
  testing::WriteFile(dir / "v2.cram", old);

  auto text = InspectCram(dir / "text.cram");
  EXPECT_EQ(text.status().message(), "'" + dir / "text.cram" + "': not a CRAM file");
  auto v2 = InspectCram(dir / "v2.cram");
  EXPECT_EQ(v2.status().message(), "'" + dir / "v2.cram" + "': CRAM 2.1 is not supported (3.0 and 3.1 are)");
  auto cut = InspectCram(dir / "cut.cram");
  EXPECT_EQ(cut.status().code(), StatusCode::kBadInput);
  EXPECT_NE(cut.status().message().find("'" + dir / "cut.cram" + "': container 2 at byte"), std::string::npos)
      << cut.status().message();
  auto no_eof = InspectCram(dir / "no-eof.cram");
  EXPECT_EQ(no_eof.status().message(), "'" + dir / "no-eof.cram" + "': no EOF container: the file is truncated");
  auto bad_crc = InspectCram(dir / "flipped.cram");
  EXPECT_EQ(bad_crc.status().code(), StatusCode::kBadInput);
  EXPECT_NE(bad_crc.status().message().find("CRC32"), std::string::npos) << bad_crc.status().message();
  EXPECT_FALSE(InspectCram(dir / "missing.cram").ok());
}

TEST(CramInspectCli, TableJsonAndErrors) {
  TempDir dir;
  const std::string path = WriteTinyCram(dir, "3.1");
  auto table = RunCramjet("inspect " + ShellQuote(path));
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_EQ(table.out.rfind(path + ": CRAM 3.1, ", 0), 0u) << table.out;
  EXPECT_NE(table.out.find("\nRN "), std::string::npos) << table.out;
  auto json = RunCramjet("inspect --json " + ShellQuote(path));
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto j = nlohmann::json::parse(json.out);
  EXPECT_EQ(j["schema"], "cramjet.inspect/1");
  EXPECT_EQ(j["records"], 3);
  uint64_t total = 0;
  for (const auto& row : j["rows"]) total += row["bytes"].get<uint64_t>();
  EXPECT_EQ(total, j["bytes"].get<uint64_t>());

  auto missing = RunCramjet("inspect " + ShellQuote(dir / "missing.cram"));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.out, "");
  EXPECT_EQ(missing.err, "cramjet inspect: error: '" + dir / "missing.cram" + "': no such file\n");
  testing::WriteFile(dir / "x.fq", "@r\nA\n+\nI\n");
  auto not_cram = RunCramjet("inspect " + ShellQuote(dir / "x.fq"));
  EXPECT_EQ(not_cram.exit_code, 1);
  EXPECT_EQ(not_cram.err, "cramjet inspect: error: '" + dir / "x.fq" + "': not a CRAM file\n");
}

}  // namespace
}  // namespace cramjet
