// Two jobs on one reference without its mapper index (two daemon workers, two cramjet runs)
// build it once: the other waits and uses it (issue 15).
#include <atomic>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>

#include "common/test_util.h"
#include "cramjet/compress.h"
#include "cramjet/log.h"

namespace cramjet {
namespace {

using testing::SharedPath;
using testing::TempDir;

TEST(MapperIndex, TwoJobsAtOnceBuildItOnce) {
  CRAMJET_REQUIRE_SHARED_DATA("ecoli-10k-paired/reads1.fastq.gz");
  TempDir dir;
  const std::string ref = dir / "ref.fa";
  std::filesystem::copy_file(SharedPath("ecoli-10k-paired/reference_MG1655_first10k.fasta"), ref);
  std::mutex mu;
  int builds = 0, waited = 0;
  SetLogSink([&](LogLevel, std::string_view message) {
    std::lock_guard<std::mutex> lock(mu);
    builds += message.find("building the mapper index for") != std::string_view::npos;
    waited += message.find("built by another job meanwhile") != std::string_view::npos;
  });
  const LogLevel saved_level = GetLogLevel();
  SetLogLevel(LogLevel::kInfo);
  auto job = [&](const std::string& name, Status* status) {
    CompressOptions o;
    o.inputs = {SharedPath("ecoli-10k-paired/reads1.fastq.gz"), SharedPath("ecoli-10k-paired/reads2.fastq.gz")};
    o.paired = true;
    o.reference = ref;
    o.output = dir / (name + ".cram");
    o.build_index = true;
    o.qc = false;
    auto r = Compress(o);
    *status = r.ok() ? Status::Ok() : r.status();
  };
  Status a, b;
  std::thread first(job, "a", &a), second(job, "b", &b);
  first.join();
  second.join();
  SetLogSink(nullptr);
  SetLogLevel(saved_level);
  ASSERT_TRUE(a.ok()) << a.message();
  ASSERT_TRUE(b.ok()) << b.message();
  EXPECT_EQ(builds, 1);
  EXPECT_EQ(waited, 1);
  EXPECT_TRUE(testing::PathExists(ref + ".cjidx"));
  EXPECT_EQ(testing::ReadFile(dir / "a.cram.seqchksum").substr(0, 40), testing::ReadFile(dir / "b.cram.seqchksum").substr(0, 40));
}

}  // namespace
}  // namespace cramjet
