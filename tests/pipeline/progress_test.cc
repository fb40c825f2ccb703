// Progress of every stage of compress (issue 16 item 9: the line stood still for 8 of 9.5 s at
// --profile archive): each stage reports its start and end, the sized ones (read by input bytes,
// encode and verify by records) with fractions from 0 to 1 that never go back.
#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "common/test_util.h"
#include "cramjet/compress.h"

namespace cramjet {
namespace {

using testing::SharedPath;
using testing::TempDir;

struct Seen {
  std::string stage;
  double fraction, stage_seconds, elapsed;
  uint64_t records, input_bytes;
};

std::vector<Seen> CompressWatchingProgress(CompressOptions o) {
  std::vector<Seen> seen;
  o.progress = [&](const Progress& p) {
    seen.push_back({p.stage, p.stage_fraction, p.stage_seconds, p.elapsed_seconds, p.records, p.input_bytes});
  };
  auto r = Compress(o);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return seen;
}

void ExpectEveryStageReported(const std::vector<Seen>& seen, const std::vector<std::string>& stages,
                              const std::vector<std::string>& sized, uint64_t records) {
  std::vector<std::string> order;
  for (const Seen& s : seen)
    if (order.empty() || order.back() != s.stage) order.push_back(s.stage);
  EXPECT_EQ(order, stages);
  std::map<std::string, std::vector<const Seen*>> by_stage;
  for (const Seen& s : seen) by_stage[s.stage].push_back(&s);
  for (const std::string& stage : sized) {
    const auto& reports = by_stage[stage];
    ASSERT_GE(reports.size(), 2u) << stage;
    EXPECT_EQ(reports.front()->fraction, 0.0) << stage;
    EXPECT_EQ(reports.back()->fraction, 1.0) << stage;
    EXPECT_EQ(reports.back()->records, records) << stage;
    for (size_t i = 1; i < reports.size(); ++i) {
      EXPECT_GE(reports[i]->fraction, reports[i - 1]->fraction) << stage << " report " << i;
      EXPECT_GE(reports[i]->stage_seconds, reports[i - 1]->stage_seconds) << stage;
    }
  }
  for (size_t i = 1; i < seen.size(); ++i) EXPECT_GE(seen[i].elapsed, seen[i - 1].elapsed);
  for (const auto& [stage, reports] : by_stage) {
    if (std::find(sized.begin(), sized.end(), stage) != sized.end()) continue;
    for (const Seen* s : reports) {
      EXPECT_LT(s->fraction, 0) << stage << ": no size, no fraction";
    }
  }
}

// The E. coli pairs (56,320 reads) against a copy of their reference in `dir`.
CompressOptions EcoliPairs(const TempDir& dir) {
  const std::string ref = dir / "ref.fa";
  std::filesystem::copy_file(SharedPath("ecoli-10k-paired/reference_MG1655_first10k.fasta"), ref);
  CompressOptions o;
  o.inputs = {SharedPath("ecoli-10k-paired/reads1.fastq.gz"), SharedPath("ecoli-10k-paired/reads2.fastq.gz")};
  o.paired = true;
  o.reference = ref;
  return o;
}

TEST(CompressProgress, MappedFastqReportsEveryStage) {
  CRAMJET_REQUIRE_SHARED_DATA("ecoli-10k-paired/reads1.fastq.gz");
  TempDir dir;
  CompressOptions o = EcoliPairs(dir);
  o.output = dir / "m.cram";
  o.build_index = true;
  o.threads = 2;
  const auto seen = CompressWatchingProgress(o);
  ExpectEveryStageReported(seen, {"read", "sort", "encode", "verify", "qc", "index", "commit"},
                           {"read", "encode", "verify"}, 56320);
  // The read stage says how much input it has read: all of it at its end.
  const uint64_t input = std::filesystem::file_size(o.inputs[0]) + std::filesystem::file_size(o.inputs[1]);
  for (auto it = seen.rbegin(); it != seen.rend(); ++it)
    if (it->stage == "read") {
      EXPECT_EQ(it->input_bytes, input);
      break;
    }
}

TEST(CompressProgress, UnalignedFastqEncodesWhileReading) {
  CRAMJET_REQUIRE_SHARED_DATA("ecoli-10k-paired/reads1.fastq.gz");
  TempDir dir;
  CompressOptions o = EcoliPairs(dir);
  o.output = dir / "u.cram";
  o.placement = FastqPlacement::kUnaligned;
  o.qc = false;
  o.write_index = false;
  const auto seen = CompressWatchingProgress(o);
  // No sort; the encoder finishes its last containers in its own stage.
  ExpectEveryStageReported(seen, {"read", "encode", "verify", "commit"}, {"read", "encode", "verify"}, 56320);
}

}  // namespace
}  // namespace cramjet
