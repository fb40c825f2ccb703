// Two jobs on one reference without its mapper index (two daemon workers, two cramjet runs)
// build it once: the other waits and uses it (issue 15).
#include <fcntl.h>
#include <sys/file.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>

#include "common/test_util.h"
#include "common/unique_fd.h"
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
  // Both jobs must reach the index while it is missing: the test holds the FASTA's lock (the
  // one the jobs take) until both have had time to find it missing and wait.
  UniqueFd held(::open(ref.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_EQ(::flock(held.get(), LOCK_EX), 0);
  Status a, b;
  std::thread first(job, "a", &a), second(job, "b", &b);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  held.reset();
  first.join();
  second.join();
  SetLogSink(nullptr);
  SetLogLevel(saved_level);
  ASSERT_TRUE(a.ok()) << a.message();
  ASSERT_TRUE(b.ok()) << b.message();
  EXPECT_EQ(builds, 1);
  EXPECT_EQ(waited, 1);
  EXPECT_TRUE(testing::PathExists(ref + ".cjidx"));
  // The same reads placed with the same index: the same checksums (the first line names the file).
  const std::string sums_a = testing::ReadFile(dir / "a.cram.seqchksum"), sums_b = testing::ReadFile(dir / "b.cram.seqchksum");
  EXPECT_EQ(sums_a.substr(sums_a.find('\n')), sums_b.substr(sums_b.find('\n')));
}

}  // namespace
}  // namespace cramjet
