// The job runner with stand-in stages: a job walks compress -> verify -> qc -> ship -> cleanup,
// the QC files compress reports are the ones that ship, and a missing one stops the job.
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
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
    stages_.compress = [this](const CompressOptions& o, StageRun&) -> StatusOr<CompressResult> {
      for (const char* suffix : {"", ".crai", ".md5", ".seqchksum"}) WriteFile(o.output + suffix, "x");
      WriteFile(dir_ / "S1.qc.json", "{\"verdict\": \"pass\"}");
      WriteFile(dir_ / "S1_b.qc.json", "{\"verdict\": \"pass\"}");  // another sample's file in the same folder
      CompressResult r;
      r.records = 10;
      r.qc_paths = {dir_ / "S1.qc.json"};
      if (!extra_qc_.empty()) r.qc_paths.push_back(extra_qc_);
      return r;
    };
    stages_.verify = [this](const VerifyOptions& o, StageRun&) -> StatusOr<VerifyResult> {
      if (undecodable_verifies_ > 0) {
        --undecodable_verifies_;
        return BadInput("'" + o.cram + "': record 1: cannot decode (corrupt or truncated data)");
      }
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
    ASSERT_TRUE(journal_->AddJobs({DropJob("S1")}, "").ok());
  }

  // A drop-folder job of one FASTQ, its output beside it in the test folder.
  Job DropJob(const std::string& sample) {
    Job j;
    j.key = "drop:/drop/" + sample;
    j.origin = "drop";
    j.sample = sample;
    j.inputs = {dir_ / (sample + ".fq.gz")};
    j.format = "fastq";
    j.output = dir_ / (sample + ".cram");
    return j;
  }

  // The tests set config_ and stages_ in their bodies: the runner sees them once published, as
  // the daemon publishes a reloaded configuration.
  void Publish() {
    context_->Replace(std::make_shared<const DaemonConfig>(config_), std::make_shared<const StageFunctions>(stages_));
  }

  // Runs one worker until job 1 is done or failed.
  Job RunToEnd() {
    Publish();
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
  int undecodable_verifies_ = 0;  // verify calls that find the CRAM damaged, before it decodes
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

// Cleanup deletes inputs only inside the folders the daemon was given, checked before any
// deletion (issue 15: a symlinked run folder let delete-inputs reach files elsewhere).
TEST_F(JobRunnerTest, CleanupNeverDeletesOutsideTheConfiguredFolders) {
  WriteFile(dir_ / "S1.fq.gz", "reads");
  config_.cleanup_policy = "delete-inputs";
  config_.retention_hours = 0;
  Job job = RunToEnd();
  ASSERT_EQ(job.state, JobState::kFailed);
  EXPECT_EQ(job.stage, Stage::kCleanup);
  EXPECT_EQ(job.last_error, "cleanup: '" + (dir_ / "S1.fq.gz") +
                                "' resolves outside the watch, drop and output folders; nothing removed");
  EXPECT_TRUE(testing::PathExists(dir_ / "S1.fq.gz"));
}

TEST_F(JobRunnerTest, CleanupDeletesInputsInsideTheDropFolder) {
  WriteFile(dir_ / "S1.fq.gz", "reads");
  config_.cleanup_policy = "delete-inputs";
  config_.retention_hours = 0;
  config_.drop.path = dir_.path();
  config_.drop.output = dir_.path();
  Job job = RunToEnd();
  ASSERT_EQ(job.state, JobState::kDone) << job.last_error;
  EXPECT_EQ(job.extra["cleanup"], "removed 1 file(s)");
  EXPECT_FALSE(testing::PathExists(dir_ / "S1.fq.gz"));
  EXPECT_TRUE(testing::PathExists(dir_ / "S1.cram"));
}

// A CRAM damaged after compress (it no longer decodes) is made again from the inputs, as for a
// checksum mismatch, within max_attempts (issue 15: the job failed for good, and a retry ran
// verify again on the same damaged file).
TEST_F(JobRunnerTest, ACramThatNoLongerDecodesIsMadeAgain) {
  config_.max_attempts = 3;
  config_.retry_delay_s = 0;
  undecodable_verifies_ = 1;
  Job job = RunToEnd();
  ASSERT_EQ(job.state, JobState::kDone) << job.last_error;
  EXPECT_EQ(job.compress_count, 2);
  EXPECT_EQ(job.attempts, 1);
  auto events = journal_->Events(1);
  ASSERT_TRUE(events.ok());
  bool said = false;
  for (const auto& e : *events)
    said |= e["message"].get<std::string>().find("cannot be decoded ('" + (dir_ / "S1.cram") +
                                                 "': record 1: cannot decode (corrupt or truncated data)); "
                                                 "outputs removed, compress again") != std::string::npos;
  EXPECT_TRUE(said) << events->dump(2);
}

TEST_F(JobRunnerTest, ACramThatKeepsFailingToDecodeFailsTheJobAfterMaxAttempts) {
  config_.max_attempts = 2;
  config_.retry_delay_s = 0;
  undecodable_verifies_ = 5;
  Job job = RunToEnd();
  ASSERT_EQ(job.state, JobState::kFailed);
  EXPECT_EQ(job.stage, Stage::kCompress);  // a retry by the operator makes it again
  EXPECT_EQ(job.attempts, 2);
  EXPECT_FALSE(testing::PathExists(dir_ / "S1.cram"));
}

// After an operator's retry the job has max_attempts again, and its earlier failures stay
// counted in `attempts` (issue 16: retry reset the count to 0, losing the history).
TEST_F(JobRunnerTest, ARetriedJobKeepsItsAttemptsAndGetsTheLimitAgain) {
  config_.max_attempts = 2;
  config_.retry_delay_s = 0;
  undecodable_verifies_ = 3;  // fails twice (the limit), then once after the retry, then works
  Job job = RunToEnd();
  ASSERT_EQ(job.state, JobState::kFailed);
  EXPECT_EQ(job.attempts, 2);
  // What `retry` does (api_server.cc), then run again.
  job.state = JobState::kQueued;
  job.extra["attempts_at_retry"] = job.attempts;
  ASSERT_TRUE(journal_->Save(job).ok());
  context_->stopping = false;
  job = RunToEnd();
  ASSERT_EQ(job.state, JobState::kDone) << job.last_error;
  EXPECT_EQ(job.attempts, 3);  // 2 before the retry, 1 after: with the old count it had failed
}

// The top-level guard: a stage that throws fails that job with the stage's name; the worker
// lives on and runs the next job.
TEST_F(JobRunnerTest, AStageThatThrowsFailsItsJobNotTheWorker) {
  stages_.compress = [](const CompressOptions& o, StageRun&) -> StatusOr<CompressResult> {
    if (o.sample == "S1") throw std::runtime_error("boom");
    for (const char* suffix : {"", ".crai", ".md5", ".seqchksum"}) WriteFile(o.output + suffix, "x");
    return CompressResult{};
  };
  ASSERT_TRUE(journal_->AddJobs({DropJob("S2")}, "").ok());
  // One worker: after S1's stage threw, the same thread goes on to run S2 to the end.
  Publish();
  JobRunner runner(*context_);
  runner.Start(1);
  auto finished = [&](int64_t id) {
    auto j = journal_->GetJob(id);
    return j.ok() && (j->state == JobState::kDone || j->state == JobState::kFailed);
  };
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < give_up && !(finished(1) && finished(2)))
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  context_->stopping = true;
  runner.Join();
  auto s1 = journal_->GetJob(1), s2 = journal_->GetJob(2);
  ASSERT_TRUE(s1.ok() && s2.ok());
  EXPECT_EQ(s1->state, JobState::kFailed);
  EXPECT_EQ(s1->last_error, "compress: internal error: the stage threw: boom");
  EXPECT_EQ(s2->state, JobState::kDone) << s2->last_error;
}

// With compress and verify on Slurm ([executor] kind = "slurm"), max_jobs jobs are in flight, but
// the stages the appliance runs itself (qc, ship, cleanup) share LocalConcurrency() slots: here
// 4 workers, 1 local slot, and no two ships at once.
TEST_F(JobRunnerTest, WithTheSlurmExecutorTheStagesRunHereShareTheLocalSlots) {
  ASSERT_TRUE(journal_->AddJobs({DropJob("S2"), DropJob("S3"), DropJob("S4")}, "").ok());
  config_.executor.kind = "slurm";
  config_.max_jobs = 4;
  config_.cpu_budget = 1;
  config_.threads_per_job = 1;
  ASSERT_EQ(config_.LocalConcurrency(), 1);
  stages_.executor = "slurm";
  std::atomic<int> in_ship{0}, most_at_once{0}, shipped{0};
  stages_.compress = [](const CompressOptions& o, StageRun&) -> StatusOr<CompressResult> {
    for (const char* suffix : {"", ".crai", ".md5", ".seqchksum"}) WriteFile(o.output + suffix, "x");
    return CompressResult{};
  };
  stages_.ship = [&](const ShipJob&) -> Status {
    const int now = ++in_ship;
    for (int seen = most_at_once; now > seen && !most_at_once.compare_exchange_weak(seen, now);) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    --in_ship;
    ++shipped;
    return Status::Ok();
  };
  Publish();
  JobRunner runner(*context_);
  runner.Start(4);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (shipped < 4 && std::chrono::steady_clock::now() < give_up) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  context_->stopping = true;
  runner.Join();
  EXPECT_EQ(shipped, 4);
  EXPECT_EQ(most_at_once, 1);
}

}  // namespace
}  // namespace cramjet::daemon
