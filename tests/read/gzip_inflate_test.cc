// Plain gzip inflation: multi-member files inflated in parallel give the bytes and the errors of
// the sequential code, whatever the segment size, the thread count or what the data looks like.
#include <zlib.h>

#include <random>

#include "common/test_util.h"
#include "read/gzip_inflate_internal.h"
#include "read/read.h"

namespace cramjet {
namespace {

using testing::TempDir;
using testing::WriteFile;

// One gzip member holding `text` (level 0: stored blocks, whose bytes are the text itself).
std::string GzipMember(const std::string& text, int level) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, text.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string RandomFastq(size_t records, uint32_t seed, uint64_t first = 0) {
  std::mt19937 rng(seed);
  std::string text;
  for (size_t i = 0; i < records; ++i) {
    text += "@read" + std::to_string(first + i) + "\n";
    std::string seq(100, 'A'), qual(100, 'I');
    for (int j = 0; j < 100; ++j) {
      seq[j] = "ACGT"[rng() & 3];
      qual[j] = static_cast<char>('#' + rng() % 40);
    }
    text += seq + "\n+\n" + qual + "\n";
  }
  return text;
}

struct Inflated {
  std::string bytes;
  Status status;
  GzipInflater::Stats stats;
};

Inflated InflateAll(const std::string& path, hts_tpool* pool, uint64_t segment_bytes) {
  Inflated r;
  GzipInflater gz;
  r.status = gz.Open(path, pool, segment_bytes);
  if (!r.status.ok()) return r;
  std::vector<char> block;
  for (;;) {
    auto more = gz.Next(block);
    if (!more.ok()) {
      r.status = more.status();
      break;
    }
    if (!*more) break;
    r.bytes.append(block.data(), block.size());
  }
  r.stats = gz.stats();
  return r;
}

class ParallelGzip : public ::testing::Test {
 protected:
  static constexpr uint64_t kSegment = 64 << 10;
  ThreadPoolPtr pool_ = MakeThreadPool(4);
  TempDir dir_;
};

TEST_F(ParallelGzip, ManyMembersGiveTheSameBytesAsOneThread) {
  std::string text, file;
  for (int m = 0; m < 120; ++m) {
    std::string part = RandomFastq(50 + m % 7 * 30, m, text.size());
    text += part;
    file += GzipMember(part, m % 3 == 0 ? 1 : 6);
  }
  ASSERT_GT(file.size(), 20 * kSegment);
  WriteFile(dir_ / "multi.fq.gz", file);
  Inflated one = InflateAll(dir_ / "multi.fq.gz", nullptr, kSegment);
  Inflated many = InflateAll(dir_ / "multi.fq.gz", pool_.get(), kSegment);
  ASSERT_TRUE(one.status.ok()) << one.status.ToString();
  ASSERT_TRUE(many.status.ok()) << many.status.ToString();
  EXPECT_EQ(one.bytes, text);
  EXPECT_EQ(many.bytes, text);
  // Most segments' speculative bytes were kept: the work really was shared out.
  EXPECT_GT(many.stats.segments_kept, 10u);
  EXPECT_EQ(one.stats.segments_kept + one.stats.segments_redone, 0u);
}

TEST_F(ParallelGzip, BytesThatLookLikeAHeaderAreNotTakenForOne) {
  // Stored (level 0) members whose data is itself a run of whole gzip members: a segment that
  // starts searching inside one finds headers that inflate cleanly, CRCs and all, for tens of KB
  // (until the chain runs into the real member's trailer). Those bytes must never be delivered.
  std::string text, file;
  for (int m = 0; m < 40; ++m) {
    std::string part;
    if (m % 2 == 0) {
      for (int k = 0; k < 30; ++k) part += GzipMember(RandomFastq(10, 1000 * m + k), 6);
      file += GzipMember(part, 0);
    } else {
      part = RandomFastq(60, 100 + m, text.size());
      file += GzipMember(part, 6);
    }
    text += part;
  }
  WriteFile(dir_ / "fake.gz", file);
  Inflated one = InflateAll(dir_ / "fake.gz", nullptr, kSegment / 4);
  Inflated many = InflateAll(dir_ / "fake.gz", pool_.get(), kSegment / 4);
  ASSERT_TRUE(one.status.ok()) << one.status.ToString();
  ASSERT_TRUE(many.status.ok()) << many.status.ToString();
  EXPECT_EQ(one.bytes, text);
  EXPECT_TRUE(many.bytes == text);
  EXPECT_GT(many.stats.segments_redone, 0u);
  EXPECT_GT(many.stats.segments_kept, 0u);
}

TEST_F(ParallelGzip, OneLongMemberIsStreamed) {
  std::string text = RandomFastq(40000, 7);
  WriteFile(dir_ / "one.gz", GzipMember(text, 6));
  Inflated many = InflateAll(dir_ / "one.gz", pool_.get(), kSegment);
  ASSERT_TRUE(many.status.ok()) << many.status.ToString();
  EXPECT_EQ(many.bytes, text);
  EXPECT_EQ(many.stats.segments_kept, 0u);
}

// A damaged file: the same error, after the same good bytes, at one thread and at four.
void ExpectSameFailure(const std::string& path, hts_tpool* pool, uint64_t segment) {
  Inflated one = InflateAll(path, nullptr, segment);
  Inflated many = InflateAll(path, pool, segment);
  ASSERT_FALSE(one.status.ok());
  EXPECT_EQ(one.status.code(), StatusCode::kBadInput);
  EXPECT_EQ(many.status.ToString(), one.status.ToString());
  EXPECT_EQ(many.bytes.size(), one.bytes.size());
  EXPECT_TRUE(many.bytes == one.bytes);
}

TEST_F(ParallelGzip, CorruptTruncatedAndTrailingJunkFailAlikeAtEveryThreadCount) {
  std::string file;
  std::vector<size_t> member_starts;
  for (int m = 0; m < 60; ++m) {
    member_starts.push_back(file.size());
    file += GzipMember(RandomFastq(80, 300 + m), 6);
  }
  std::string corrupt = file;
  const size_t hit = member_starts[41] + 500;
  corrupt[hit] = static_cast<char>(corrupt[hit] ^ 0x5a);
  WriteFile(dir_ / "corrupt.gz", corrupt);
  ExpectSameFailure(dir_ / "corrupt.gz", pool_.get(), kSegment / 2);
  Inflated many = InflateAll(dir_ / "corrupt.gz", pool_.get(), kSegment / 2);
  EXPECT_GT(many.bytes.size(), 0u);  // the members before the damage come out

  std::string crc = file;  // a CRC32 trailer that does not match
  crc[member_starts[30] - 6] = static_cast<char>(crc[member_starts[30] - 6] ^ 1);
  WriteFile(dir_ / "crc.gz", crc);
  ExpectSameFailure(dir_ / "crc.gz", pool_.get(), kSegment / 2);

  WriteFile(dir_ / "cut.gz", file.substr(0, member_starts[50] + 3000));
  ExpectSameFailure(dir_ / "cut.gz", pool_.get(), kSegment / 2);

  WriteFile(dir_ / "junk.gz", file + std::string(5000, 'x'));
  ExpectSameFailure(dir_ / "junk.gz", pool_.get(), kSegment / 2);
}

TEST_F(ParallelGzip, ConsumerThatStopsEarlyDoesNotHang) {
  std::string file;
  for (int m = 0; m < 60; ++m) file += GzipMember(RandomFastq(80, 900 + m), 6);
  WriteFile(dir_ / "early.gz", file);
  GzipInflater gz;
  ASSERT_TRUE(gz.Open(dir_ / "early.gz", pool_.get(), kSegment / 4).ok());
  std::vector<char> block;
  auto more = gz.Next(block);
  ASSERT_TRUE(more.ok());
  EXPECT_TRUE(*more);
  // The destructor stops the inflating thread and the queued jobs.
}

// The whole read stage on a file above the default segment size: FASTQ records and the FASTQ
// error text (file, line, record) are the same at -@1 and -@4.
TEST(ParallelGzipFastq, RecordsAndErrorsMatchAcrossThreadCounts) {
  TempDir dir;
  std::string file, bad;
  uint64_t records = 0;
  std::vector<size_t> starts;
  while (file.size() < 3 * GzipInflater::kSegmentBytes) {
    starts.push_back(file.size());
    std::string part = RandomFastq(4000, static_cast<uint32_t>(records), records);
    records += 4000;
    file += GzipMember(part, 1);
  }
  WriteFile(dir / "big.fq.gz", file);
  bad = file;
  bad[starts[starts.size() - 3] + 20000] = static_cast<char>(bad[starts[starts.size() - 3] + 20000] ^ 0x33);
  WriteFile(dir / "bad.fq.gz", bad);
  auto count = [](const std::string& path, int threads) -> StatusOr<uint64_t> {
    ReadOptions o;
    o.inputs = {path};
    o.threads = threads;
    CRAMJET_ASSIGN_OR_RETURN(auto src, OpenReads(o));
    ReadBatch batch;
    uint64_t n_all = 0;
    for (;;) {
      CRAMJET_ASSIGN_OR_RETURN(size_t n, src->NextBatch(batch, 1000));
      if (n == 0) break;
      for (size_t i = 0; i < n; ++i) {
        std::string want = "read" + std::to_string(n_all + i);
        if (want != bam_get_qname(batch[i])) return Internal("out of order at " + want);
      }
      n_all += n;
    }
    return n_all;
  };
  auto one = count(dir / "big.fq.gz", 1);
  auto four = count(dir / "big.fq.gz", 4);
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  ASSERT_TRUE(four.ok()) << four.status().ToString();
  EXPECT_EQ(*one, records);
  EXPECT_EQ(*four, records);
  auto bad_one = count(dir / "bad.fq.gz", 1);
  auto bad_four = count(dir / "bad.fq.gz", 4);
  ASSERT_FALSE(bad_one.ok());
  EXPECT_EQ(bad_four.status().ToString(), bad_one.status().ToString());
  EXPECT_NE(bad_one.status().message().find("'" + dir / "bad.fq.gz" + "': line "), std::string::npos)
      << bad_one.status().message();
}

}  // namespace
}  // namespace cramjet
