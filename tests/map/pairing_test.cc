// The pair step (host/map/pairing.cc, docs/mapper.md "Pairs") on a reference with an exact
// duplicate: where a read may go is decided by its mate.
#include <gtest/gtest.h>

#include "common/test_util.h"
#include "cramjet/backend.h"
#include "map/map.h"
#include "map_test_util.h"

namespace cramjet {
namespace {

using testing::CigarOf;
using testing::MakeRead;
using testing::RandomBases;
using testing::ReverseComplement;

// The pair step (docs/mapper.md, "Pairs"): a read with two equally good places takes the one
// that makes a proper pair with its mate, and a read with no seed at all is found next to its
// placed mate when it fits the mismatch budget.
TEST(PairStepTest, TiesGoToTheMateAndAnUnseededMateIsRescued) {
  testing::TempDir dir;
  // U1 X U2 X U3: X (600 bp) twice, exactly.
  const std::string x = RandomBases(600, 41);
  const std::string ref = RandomBases(3000, 42) + x + RandomBases(3000, 43) + x + RandomBases(3000, 44);
  const std::string fasta = dir / "dup.fa";
  testing::WriteFile(fasta, ">dup\n" + ref + "\n");
  ASSERT_TRUE(ReferenceIndex::Build(fasta, 1).ok());
  auto index = ReferenceIndex::Open(fasta);
  ASSERT_TRUE(index.ok());
  auto backend = CreateBackend(AccelKind::kAuto);
  ASSERT_TRUE(backend.ok());
  constexpr uint16_t kR1 = BAM_FPAIRED | BAM_FREAD1 | BAM_FUNMAP | BAM_FMUNMAP;
  constexpr uint16_t kR2 = BAM_FPAIRED | BAM_FREAD2 | BAM_FUNMAP | BAM_FMUNMAP;
  auto map = [&](std::vector<BamPtr> v) {
    ReadBatch batch;
    batch.records = std::move(v);
    batch.size = batch.records.size();
    auto mapper = Mapper::Create(**index, **backend, MapOptions{});
    EXPECT_TRUE(mapper.ok());
    MapBuffer buffer;
    EXPECT_TRUE((*mapper)->MapBatch(batch, buffer).ok());
    return batch;
  };
  // A read 14 mismatches from the reference (every 11th base), so no 24 exact bases: no seed.
  std::string unseeded = ref.substr(8300, 150);
  for (size_t i = 5; i < unseeded.size(); i += 11) unseeded[i] = unseeded[i] == 'A' ? 'C' : 'A';
  {
    std::vector<BamPtr> alone;
    alone.push_back(MakeRead("alone", ReverseComplement(ref.substr(6800, 150))));  // X, second copy
    alone.push_back(MakeRead("unseeded", ReverseComplement(unseeded)));
    ReadBatch b = map(std::move(alone));
    EXPECT_EQ(b[0]->core.pos, 3200) << "unpaired, the tie goes to the leftmost copy";
    EXPECT_EQ(b[0]->core.qual, 0);
    EXPECT_TRUE(b[1]->core.flag & BAM_FUNMAP) << "unpaired, the unseeded read is not placed";
  }
  std::vector<BamPtr> v;
  v.push_back(MakeRead("tie2", ref.substr(6250, 150), kR1));                       // U2, unique
  v.push_back(MakeRead("tie2", ReverseComplement(ref.substr(6800, 150)), kR2));    // X, second copy
  v.push_back(MakeRead("tie1", ref.substr(6700, 150), kR1));                       // X, second copy
  v.push_back(MakeRead("tie1", ReverseComplement(ref.substr(7300, 150)), kR2));    // U3, unique
  v.push_back(MakeRead("rescue", ref.substr(8000, 150), kR1));                     // U3
  v.push_back(MakeRead("rescue", ReverseComplement(unseeded), kR2));
  ReadBatch batch = map(std::move(v));
  const int64_t expected[6] = {6250, 6800, 6700, 7300, 8000, 8300};
  for (int i = 0; i < 6; ++i) {
    SCOPED_TRACE(i);
    EXPECT_FALSE(batch[i]->core.flag & BAM_FUNMAP);
    EXPECT_EQ(batch[i]->core.pos, expected[i]);
    EXPECT_TRUE(batch[i]->core.flag & BAM_FPROPER_PAIR);
  }
  EXPECT_EQ(CigarOf(batch[5]), "150M");
  EXPECT_EQ(batch[5]->core.flag & BAM_FREVERSE, BAM_FREVERSE);
}

}  // namespace
}  // namespace cramjet
