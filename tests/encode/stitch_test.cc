// Byte-level container surgery (host/encode/stitch_internal.h): the variable-length integers of the
// CRAM specification and the record-counter rewrite, checked against htslib's own reader.
#include <gtest/gtest.h>

#include <string>

#include "encode/stitch_internal.h"

namespace cramjet {
namespace {

using cram_bytes::GetItf8;
using cram_bytes::GetLtf8;
using cram_bytes::PutItf8;
using cram_bytes::PutLtf8;

TEST(Itf8, RoundTripsAtEveryLengthBoundary) {
  const uint32_t values[] = {0, 1, 0x7f, 0x80, 0x3fff, 0x4000, 0x1fffff, 0x200000, 0xfffffff,
                             0x10000000, 0x7fffffff, 0xffffffff};
  const size_t lengths[] = {1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 5};
  for (size_t i = 0; i < sizeof values / sizeof values[0]; ++i) {
    std::string b;
    PutItf8(values[i], &b);
    EXPECT_EQ(b.size(), lengths[i]) << values[i];
    size_t pos = 0;
    uint32_t back = 0;
    ASSERT_TRUE(GetItf8(b, &pos, &back));
    EXPECT_EQ(back, values[i]);
    EXPECT_EQ(pos, b.size());
    size_t short_pos = 0;
    EXPECT_FALSE(GetItf8(std::string_view(b).substr(0, b.size() - 1), &short_pos, &back));
  }
  // The specification's example: -1 is ff ff ff ff 0f.
  std::string minus_one;
  PutItf8(static_cast<uint32_t>(-1), &minus_one);
  EXPECT_EQ(minus_one, std::string("\xff\xff\xff\xff\x0f", 5));
}

TEST(Ltf8, RoundTripsAtEveryLengthBoundary) {
  for (int bits = 0; bits <= 64; ++bits) {
    for (int delta : {-1, 0}) {
      if (bits == 0 && delta < 0) continue;
      const uint64_t v = bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) + static_cast<uint64_t>(delta);
      std::string b;
      PutLtf8(v, &b);
      size_t expected = 1;
      while (expected < 9 && v >= (uint64_t{1} << (7 * expected))) ++expected;
      EXPECT_EQ(b.size(), expected) << v;
      size_t pos = 0;
      uint64_t back = 0;
      ASSERT_TRUE(GetLtf8(b, &pos, &back));
      EXPECT_EQ(back, v);
      EXPECT_EQ(pos, b.size());
    }
  }
}

TEST(ContainerHeader, WrittenHeaderParsesBackWithItsCrc) {
  cram_bytes::ContainerHeader h;
  h.length = 1234;
  h.ref_seq_id = -2;
  h.ref_seq_start = 0;
  h.ref_seq_span = 0;
  h.num_records = 10000;
  h.record_counter = uint64_t{1} << 33;  // past 32 bits: a whole genome's reads
  h.num_bases = 1500000;
  h.num_blocks = 30;
  h.landmarks = {212};
  std::string b;
  cram_bytes::AppendContainerHeader(h, &b);
  b.append(1234, '\0');
  auto back = cram_bytes::ParseContainerHeader(b, 0);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->record_counter, h.record_counter);
  EXPECT_EQ(back->ref_seq_id, -2);
  EXPECT_EQ(back->landmarks, h.landmarks);
  EXPECT_EQ(back->header_size + 1234, b.size());
  // One flipped bit in the header: its CRC32 says so.
  b[6] ^= 1;
  auto bad = cram_bytes::ParseContainerHeader(b, 0);
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("CRC32"), std::string::npos);
  // Data running past the end.
  std::string cut;
  cram_bytes::AppendContainerHeader(h, &cut);
  EXPECT_FALSE(cram_bytes::ParseContainerHeader(cut, 0).ok());
}

TEST(RebaseContainers, RefusesBytesThatAreNotWholeContainers) {
  std::string out;
  EXPECT_FALSE(cram_bytes::RebaseContainers("not a container", 5, &out).ok());
  EXPECT_TRUE(out.empty());
  auto none = cram_bytes::RebaseContainers("", 5, &out);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0u);
}

}  // namespace
}  // namespace cramjet
