// The job runner with stand-in stages: a job walks compress -> verify -> qc -> ship -> cleanup,
// the QC files compress reports are the ones that ship, and a missing one stops the job.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "common/test_util.h"
#include "daemon/job_runner.h"

namespace cramjet::daemon {
namespace {

using cramjet::testing::TempDir;
using cramjet::testing::WriteFile;

class JobRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto j = Journal::Open(dir_ / "journal.sqlite");
    ASSERT_TRUE(j.ok()) << j.status().message();
    journal_ = std::move(*j);
    config_.max_attempts = 1;
    // compress writes the set and reports QC files: S1's own, and `extra_qc` (may not exist).
    stages_.compress = [this](const CompressOptions& o) -> StatusOr<CompressResult> {
      for (const char* suffix : {"", ".crai", ".md5", ".seqchksum"}) WriteFile(o.output + suffix, "x");
      WriteFile(dir_ / "S1.qc.json", "{}");
      WriteFile(dir_ / "S1_b.qc.json", "{}");  // another sample's file in the same folder
      CompressResult r;
      r.records = 10;
      r.qc_paths = {dir_ / "S1.qc.json"};
      if (!extra_qc_.empty()) r.qc_paths.push_back(extra_qc_);
      return r;
    };
    stages_.verify = [](const VerifyOptions&) -> StatusOr<VerifyResult> {
      VerifyResult v;
      v.equal = true;
      v.records = 10;
      return v;
    };
    stages_.ship = [this](const ShipJob& s) -> Status {
      shipped_files_ = s.files;
      return Status::Ok();
    };
    context_ = std::make_unique<DaemonContext>(config_, stages_, *journal_);
    Job a;
    a.key = "drop:/drop/S1";
    a.origin = "drop";
    a.sample = "S1";
    a.inputs = {dir_ / "S1.fq.gz"};
    a.format = "fastq";
    a.output = dir_ / "S1.cram";
    ASSERT_TRUE(journal_->AddJobs({a}, "").ok());
  }

  // Runs one worker until job 1 is done or failed.
  Job RunToEnd() {
    JobRunner runner(*context_);
    runner.Start(1);
    Job job;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < give_up) {
      auto got = journal_->GetJob(1);
      if (got.ok() && (got->state == JobState::kDone || got->state == JobState::kFailed)) {
        job = *got;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    context_->stopping = true;
    runner.Join();
    return job;
  }

  TempDir dir_;
  DaemonConfig config_;
  StageFunctions stages_;
  std::string extra_qc_;
  std::vector<std::string> shipped_files_;
  std::unique_ptr<Journal> journal_;
  std::unique_ptr<DaemonContext> context_;
};

TEST_F(JobRunnerTest, ShipsTheQcFilesCompressReported) {
  Job job = RunToEnd();
  ASSERT_EQ(job.state, JobState::kDone) << job.last_error;
  EXPECT_EQ(job.stage, Stage::kDone);
  EXPECT_EQ(job.extra["qc_files"], nlohmann::json::array({dir_ / "S1.qc.json"}));
  const std::vector<std::string> expected = {dir_ / "S1.cram", dir_ / "S1.cram.crai", dir_ / "S1.cram.seqchksum",
                                             dir_ / "S1.cram.md5", dir_ / "S1.qc.json"};
  EXPECT_EQ(shipped_files_, expected);  // never S1_b's file
  EXPECT_EQ(job.compress_count, 1);
  EXPECT_TRUE(job.shipped);
}

TEST_F(JobRunnerTest, AMissingQcFileStopsTheJobAtQc) {
  extra_qc_ = dir_ / "S1.multiqc.txt";  // reported, never written
  Job job = RunToEnd();
  ASSERT_EQ(job.state, JobState::kFailed);
  EXPECT_EQ(job.stage, Stage::kQc);
  EXPECT_EQ(job.last_error, "qc: " + extra_qc_ + ": QC file written by compress is missing");
  EXPECT_TRUE(shipped_files_.empty());
}

}  // namespace
}  // namespace cramjet::daemon
