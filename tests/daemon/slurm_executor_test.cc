// The Slurm executor against stand-in Slurm commands (shell scripts in [executor] slurm_bin_dir
// that log their calls and answer from files the test writes), for the cases a real cluster
// cannot be timed into: a daemon killed between sbatch and the commit of the id, a Slurm job that
// ended while the daemon was down, one that left no result, a stage child that died of a signal.
// The real cluster runs in DaemonSlurm.* (daemon_slurm_test.sh).
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "common/common.h"
#include "common/test_util.h"
#include "daemon/config.h"
#include "daemon/slurm_executor.h"

namespace cramjet::daemon {
namespace {

namespace fs = std::filesystem;
using cramjet::testing::TempDir;
using cramjet::testing::WriteFile;
using nlohmann::json;

std::string Read(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteExecutable(const fs::path& p, const std::string& text) {
  WriteFile(p, text);
  fs::permissions(p, fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read);
}

class SlurmExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(bin_);
    const std::string log = (root_ / "calls.log").string();
    // sbatch: logs its arguments, runs the script (its last argument) in the background with the
    // --output file, answers "<id>;cluster" as --parsable does.
    WriteExecutable(bin_ / "sbatch",
                    "#!/bin/sh\n"
                    "[ \"$1\" = --version ] && { echo 'slurm 22.05.8'; exit 0; }\n"
                    "echo \"sbatch $*\" >>" + log + "\n"
                    "[ -f " + (root_ / "sbatch_refuses").string() + " ] && { echo 'sbatch: error: Batch job submission failed: "
                    "Invalid partition name specified' >&2; exit 1; }\n"
                    "for a; do script=$a; case $a in --output=*) out=${a#--output=};; esac; done\n"
                    "sh \"$script\" >\"$out\" 2>&1 &\n"
                    "echo '4242;cramjettest'\n");
    // squeue: -j answers from squeue_state (default RUNNING), --name from by_name.
    WriteExecutable(bin_ / "squeue",
                    "#!/bin/sh\n"
                    "[ \"$1\" = --version ] && { echo 'slurm 22.05.8'; exit 0; }\n"
                    "echo \"squeue $*\" >>" + log + "\n"
                    "case \"$*\" in *--name=*) cat " + (root_ / "by_name").string() + " 2>/dev/null; exit 0;; esac\n"
                    "if [ -f " + (root_ / "squeue_state").string() + " ]; then cat " + (root_ / "squeue_state").string() +
                    "; else echo 'RUNNING|fake1|None'; fi\n");
    // scancel: logs; the job is then CANCELLED (with --state=PENDING only while it is PENDING).
    const std::string state_file = (root_ / "squeue_state").string();
    WriteExecutable(bin_ / "scancel",
                    "#!/bin/sh\necho \"scancel $*\" >>" + log + "\n"
                    "case \"$1\" in --state=PENDING) grep -q '^PENDING' " + state_file + " 2>/dev/null || exit 0;; esac\n"
                    "echo 'CANCELLED|fake1|None' >" + state_file + "\n");
    // sacct: no accounting on this "cluster".
    WriteExecutable(bin_ / "sacct", "#!/bin/sh\necho 'sacct: error: Slurm accounting storage is disabled' >&2\nexit 1\n");
    // The stage child the "nodes" run: answers a verify request with a result line.
    WriteExecutable(root_ / "fake-cramjetd",
                    "#!/bin/sh\ncat >/dev/null\nsleep 1.5\n"
                    "echo '{\"result\": {\"equal\": true, \"records\": 7, \"verdict\": \"lossless\"}}'\n");
    config_.state_dir = dir_.path();
    config_.executor.kind = "slurm";
    config_.executor.slurm_bin_dir = bin_.string();
    config_.executor.cramjetd = (root_ / "fake-cramjetd").string();
    config_.executor.poll_interval_s = 1;
    config_.executor.partition = "test";
    config_.memory_per_job_mb = 512;
    auto e = SlurmExecutor::Create(config_);
    ASSERT_TRUE(e.ok()) << e.status().message();
    executor_ = *e;
    job_.id = 12;
    job_.sample = "S1";
    job_.output = (root_ / "S1.cram").string();
    run_.job = &job_;
    run_.commit = [this] {
      commits_.push_back(job_.extra.contains("executor") ? job_.extra["executor"] : json());
      return Status::Ok();
    };
    run_.stopping = [this] { return stopping_; };
    run_.where = [this](const std::string& w) { where_ = w; };
    verify_.cram = job_.output;
    verify_.threads = 2;
  }
  std::string Calls() { return Read(root_ / "calls.log"); }
  // The job's record of its verify as a daemon killed while following Slurm job `slurm_id` left
  // it ("": killed before sbatch answered).
  void RecordVerifyRun(const std::string& dir, const std::string& slurm_id) {
    job_.extra["executor"] = {{"kind", "slurm"}, {"stage", "verify"}, {"run", 1}, {"dir", dir},
                              {"name", "cramjet-h-12-verify-1"}, {"slurm_job_id", slurm_id}};
  }
  // A Slurm job folder as a finished run leaves it.
  std::string FinishedRun(const std::string& exit_code, const std::string& reply) {
    const fs::path d = root_ / "slurm" / "job-12" / "verify-1";
    fs::create_directories(d);
    WriteFile(d / "reply.jsonl", reply);
    WriteFile(d / "exit", exit_code + "\n");
    return d.string();
  }

  TempDir dir_;
  fs::path root_ = dir_.path();
  fs::path bin_ = root_ / "bin";
  DaemonConfig config_;
  std::shared_ptr<const SlurmExecutor> executor_;
  Job job_;
  StageRun run_;
  VerifyOptions verify_;
  std::vector<json> commits_;
  bool stopping_ = false;
  std::string where_;
};

TEST(SlurmStateLine, ParsesSqueueAndSacctLines) {
  SlurmJobState s = ParseSlurmStateLine("PENDING||PartitionDown\n");
  EXPECT_TRUE(s.known);
  EXPECT_EQ(s.state, "PENDING");
  EXPECT_EQ(s.node, "");
  EXPECT_EQ(s.reason, "PartitionDown");
  EXPECT_FALSE(s.Ended());
  s = ParseSlurmStateLine("RUNNING|n07|None");
  EXPECT_EQ(s.node, "n07");
  EXPECT_FALSE(s.Ended());
  EXPECT_TRUE(ParseSlurmStateLine("CANCELLED by 0|n07").Ended());  // sacct's form
  EXPECT_TRUE(ParseSlurmStateLine("NODE_FAIL|n07|NodeDown").Ended());
  EXPECT_TRUE(ParseSlurmStateLine("COMPLETED|n07|None").Ended());
  EXPECT_FALSE(ParseSlurmStateLine("COMPLETING|n07|None").Ended());
  EXPECT_FALSE(ParseSlurmStateLine("").known);
  EXPECT_TRUE(ParseSlurmStateLine("").Ended());  // Slurm forgot it: it ended
}

TEST(SlurmExecutorConfig, IsCheckedAndRestartOnly) {
  auto c = ParseConfigText("[executor]\nkind = \"slurm\"\npartition = \"big\"\ncpus_per_job = 8\nmemory_mb = 16000\n"
                           "sbatch_args = [\"--constraint=avx2\"]\npoll_interval_s = 5\n[workers]\nmax_jobs = 40\n",
                           "t.toml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->executor.kind, "slurm");
  EXPECT_EQ(c->executor.partition, "big");
  EXPECT_EQ(c->executor.cpus_per_job, 8);
  EXPECT_EQ(c->executor.sbatch_args, std::vector<std::string>{"--constraint=avx2"});
  // The cluster's scheduler shares the nodes: max_jobs alone limits the jobs in flight.
  EXPECT_EQ(c->Concurrency(), 40);
  EXPECT_EQ(ParseConfigText("[executor]\nkind = \"pbs\"\n", "t.toml").status().message(),
            "t.toml: line 2: executor.kind must be \"local\" or \"slurm\"");
  EXPECT_EQ(ParseConfigText("[executor]\npartition = \"a b\"\n", "t.toml").status().message(),
            "t.toml: line 2: partition may hold letters, digits and - _ . : , + = @ only");
  EXPECT_EQ(ParseConfigText("[executor]\nsbatch_args = [\"x\"]\n", "t.toml").status().message(),
            "t.toml: line 2: sbatch_args: 'x' is not an option (starts with -)");
  EXPECT_EQ(ParseConfigText("[executor]\nwork_dir = \"rel\"\n", "t.toml").status().message(),
            "t.toml: line 2: work_dir must be an absolute path");
  DaemonConfig running, next;
  next.executor.kind = "slurm";
  const ConfigReload r = PrepareReload(running, &next);
  EXPECT_EQ(r.need_restart, std::vector<std::string>{"[executor]"});
  EXPECT_EQ(next.executor.kind, "local");  // the running executor stays
}

TEST_F(SlurmExecutorTest, ASlurmJobIsRecordedBeforeSbatchThenByIdAndItsFolderGoesWhenItSucceeds) {
  auto r = executor_->Verify(verify_, run_, false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->equal);
  EXPECT_EQ(r->records, 7u);
  // Committed first without an id (a kill during sbatch finds it by name), then with sbatch's.
  ASSERT_GE(commits_.size(), 2u);
  EXPECT_EQ(commits_[0]["slurm_job_id"], "");
  EXPECT_EQ(commits_[0]["stage"], "verify");
  EXPECT_EQ(commits_[1]["slurm_job_id"], "4242");
  const std::string name = commits_[0]["name"];
  EXPECT_EQ(name.rfind("cramjet-", 0), 0u) << name;
  EXPECT_NE(name.find("-12-verify-1"), std::string::npos) << name;
  const std::string calls = Calls();
  EXPECT_NE(calls.find("sbatch --parsable --job-name=" + name + " --chdir=" + (root_ / "slurm/job-12/verify-1").string() +
                       " --output=" + (root_ / "slurm/job-12/verify-1/slurm.log").string() +
                       " --no-requeue --cpus-per-task=2 --mem=512 --partition=test " +
                       (root_ / "slurm/job-12/verify-1/run.sh").string()),
            std::string::npos)
      << calls;
  EXPECT_EQ(where_, "slurm job 4242 on fake1 (RUNNING)");
  // Done: the record and id are cleared (the runner's save makes that durable); the folder stays
  // until the journal has the stage done (a kill before that re-reads the result from it).
  EXPECT_FALSE(job_.extra.contains("executor"));
  EXPECT_EQ(job_.executor, "slurm");
  EXPECT_EQ(job_.executor_job_id, "");
  EXPECT_TRUE(fs::exists(root_ / "slurm/job-12/verify-1/exit"));
  executor_->StageCommitted(job_, Stage::kVerify);
  EXPECT_FALSE(fs::exists(root_ / "slurm/job-12"));
  EXPECT_EQ(job_.extra["slurm_runs"], 1);
  // Slurm's commands get no archive credentials from the daemon's environment.
  EXPECT_EQ(Calls().find("AWS_"), std::string::npos);
}

TEST_F(SlurmExecutorTest, SlurmsCommandsAndJobsNeverSeeTheArchivesCredentials) {
  WriteExecutable(bin_ / "sbatch",
                  "#!/bin/sh\n[ \"$1\" = --version ] && exit 0\nenv >" + (root_ / "sbatch.env").string() +
                  "\necho 1\n");
  ::setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t", 1);
  ::setenv("C4GH_PASSPHRASE", "s3cr3t", 1);
  auto e = SlurmExecutor::Create(config_);
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  ::unsetenv("C4GH_PASSPHRASE");
  ASSERT_TRUE(e.ok()) << e.status().message();
  stopping_ = true;  // submit, then leave
  auto r = (*e)->Verify(verify_, run_, false);
  EXPECT_EQ(r.status().code(), StatusCode::kAborted) << r.status().message();
  const std::string env = Read(root_ / "sbatch.env");
  EXPECT_NE(env.find("PATH="), std::string::npos) << env;
  EXPECT_EQ(env.find("s3cr3t"), std::string::npos) << env;
}

TEST_F(SlurmExecutorTest, AnOperatorsRetryCancelsTheSlurmJobItNamedAndNoOther) {
  WriteExecutable(root_ / "fake-cramjetd", "#!/bin/sh\nexec sleep 8\n");
  run_.cancel_requested = [](const std::string& slurm_id) { return slurm_id == "4242"; };
  auto r = executor_->Verify(verify_, run_, false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kAborted);  // requeued, no attempt counted
  EXPECT_EQ(r.status().message(), "Slurm job 4242 cancelled for an operator's retry; the stage is submitted again");
  EXPECT_NE(Calls().find("scancel 4242"), std::string::npos) << Calls();
  // Marked before the scancel, for a daemon killed right after it.
  ASSERT_FALSE(commits_.empty());
  EXPECT_EQ(commits_.back()["cancelled_by"], "retry") << commits_.back().dump();
  EXPECT_FALSE(job_.extra.contains("executor"));
  // A request left over for that Slurm job does not touch the next one.
  ::unlink((root_ / "squeue_state").c_str());
  WriteExecutable(root_ / "fake-cramjetd", "#!/bin/sh\ncat >/dev/null\nsleep 1.5\n"
                                           "echo '{\"result\": {\"equal\": true, \"records\": 7}}'\n");
  run_.cancel_requested = [](const std::string& slurm_id) { return slurm_id == "999"; };
  r = executor_->Verify(verify_, run_, false);
  ASSERT_TRUE(r.ok()) << r.status().message();
}

TEST_F(SlurmExecutorTest, ADrainCancelsASlurmJobThatHasNotStarted) {
  WriteExecutable(root_ / "fake-cramjetd", "#!/bin/sh\nexec sleep 8\n");
  WriteFile(root_ / "squeue_state", "PENDING||Priority\n");
  run_.draining = [] { return true; };
  std::vector<std::string> wheres;
  run_.where = [&](const std::string& w) { wheres.push_back(w); };
  auto r = executor_->Verify(verify_, run_, false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kAborted);
  EXPECT_EQ(r.status().message(), "drain: Slurm job 4242 had not started and was cancelled; the job waits in the queue");
  EXPECT_NE(Calls().find("scancel --state=PENDING 4242"), std::string::npos) << Calls();
  EXPECT_NE(std::find(wheres.begin(), wheres.end(), "slurm job 4242 (PENDING: Priority)"), wheres.end());
}

TEST_F(SlurmExecutorTest, ADaemonKilledBetweenSbatchAndTheCommitFindsItsJobByNameAndSubmitsNothing) {
  const std::string d = FinishedRun("0", "{\"progress\": {\"records\": 3}}\n{\"result\": {\"equal\": true, \"records\": 9}}\n");
  RecordVerifyRun(d, "");
  WriteFile(root_ / "by_name", "5151\n");
  WriteFile(root_ / "squeue_state", "COMPLETED|fake1|None\n");
  auto r = executor_->Verify(verify_, run_, false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->records, 9u);  // the finished job's own result
  const std::string calls = Calls();
  EXPECT_NE(calls.find("squeue -h --name=cramjet-h-12-verify-1 --states=all -o %i"), std::string::npos) << calls;
  EXPECT_EQ(calls.find("sbatch --parsable"), std::string::npos) << "submitted again:\n" << calls;
  ASSERT_FALSE(commits_.empty());
  EXPECT_EQ(commits_[0]["slurm_job_id"], "5151");  // adopted before waiting
}

TEST_F(SlurmExecutorTest, AStageThatSucceedsRemovesTheFoldersOfItsEarlierFailedRuns) {
  const fs::path failed = root_ / "slurm/job-12/verify-1", other = root_ / "slurm/job-12/compress-2";
  fs::create_directories(failed);
  fs::create_directories(other);
  WriteFile(failed / "slurm.log", "killed\n");
  job_.extra["slurm_runs"] = 2;
  auto r = executor_->Verify(verify_, run_, false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(fs::exists(failed));  // until the journal has the stage done
  executor_->StageCommitted(job_, Stage::kVerify);
  EXPECT_FALSE(fs::exists(failed));
  EXPECT_FALSE(fs::exists(root_ / "slurm/job-12/verify-3"));
  EXPECT_TRUE(fs::exists(other)) << "another stage's failed run is that stage's to remove";
}

TEST_F(SlurmExecutorTest, ARecordSlurmNeverGotIsSubmittedAfresh) {
  RecordVerifyRun((root_ / "slurm/job-12/verify-1").string(), "");
  job_.extra["slurm_runs"] = 1;
  auto r = executor_->Verify(verify_, run_, false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_NE(Calls().find("sbatch --parsable --job-name=cramjet-"), std::string::npos) << Calls();
  EXPECT_NE(Calls().find("-12-verify-2 "), std::string::npos) << "a new run number: " << Calls();
}

TEST_F(SlurmExecutorTest, AJobThatEndedWhileTheDaemonWasDownIsReadFromItsFolder) {
  const std::string d = FinishedRun("0", "{\"result\": {\"equal\": false, \"records\": 5, \"verdict\": \"differ\"}}\n");
  RecordVerifyRun(d, "77");
  WriteFile(root_ / "squeue_state", "");  // squeue has forgotten it
  auto r = executor_->Verify(verify_, run_, false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->equal);
  EXPECT_EQ(r->verdict, "differ");
  EXPECT_EQ(Calls().find("sbatch --parsable"), std::string::npos) << Calls();
}

TEST_F(SlurmExecutorTest, ASlurmJobThatEndsWithoutAResultIsUnavailableAndKeepsItsLog) {
  // The stage child never writes: Slurm says the job was cancelled.
  WriteExecutable(root_ / "fake-cramjetd", "#!/bin/sh\nexec sleep 8\n");
  WriteFile(root_ / "squeue_state", "CANCELLED|fake1|None\n");
  auto r = executor_->Verify(verify_, run_, false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  const std::string log = (root_ / "slurm/job-12/verify-1/slurm.log").string();
  EXPECT_EQ(r.status().message(), "'" + verify_.cram + "': Slurm job 4242 on fake1 was cancelled (scancel) before it "
                                  "finished; its log: " + log);
  EXPECT_TRUE(fs::exists(log));
  EXPECT_FALSE(job_.extra.contains("executor"));
  WriteFile(root_ / "squeue_state", "NODE_FAIL|fake1|NodeDown\n");
  r = executor_->Verify(verify_, run_, false);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("Slurm job 4242 was lost with its node on fake1 (NODE_FAIL)"), std::string::npos)
      << r.status().message();
}

TEST_F(SlurmExecutorTest, AStageChildKilledByASignalFailsTheJobAsLocally) {
  const std::string d = FinishedRun("139", "");
  RecordVerifyRun(d, "88");
  auto r = executor_->Verify(verify_, run_, false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kBadInput);
  EXPECT_NE(r.status().message().find("killed Slurm job 88 with signal 11 (SIGSEGV"), std::string::npos)
      << r.status().message();
}

TEST_F(SlurmExecutorTest, AStageChildEndedBySlurmsSigtermIsAFailedAttemptWithSlurmsReason) {
  // A node set down: Slurm sends SIGTERM, run.sh records 143. Not a shutdown (kAborted, no
  // attempt) as a local child's SIGTERM is, but a failed attempt saying why.
  const std::string d = FinishedRun("143", "");
  RecordVerifyRun(d, "89");
  WriteFile(root_ / "squeue_state", "NODE_FAIL|fake1|NodeDown\n");
  auto r = executor_->Verify(verify_, run_, false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message(), "'" + verify_.cram + "': Slurm job 89 was lost with its node on fake1 (NODE_FAIL) "
                                  "(its process got signal 15); its log: " + d + "/slurm.log");
}

TEST_F(SlurmExecutorTest, AStoppingDaemonLeavesTheSlurmJobRunningAndKeepsItsRecord) {
  WriteExecutable(root_ / "fake-cramjetd", "#!/bin/sh\nexec sleep 8\n");
  stopping_ = true;
  auto r = executor_->Verify(verify_, run_, false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kAborted);
  ASSERT_TRUE(job_.extra.contains("executor"));
  EXPECT_EQ(job_.extra["executor"]["slurm_job_id"], "4242");
  EXPECT_EQ(job_.executor_job_id, "4242");
  EXPECT_EQ(Calls().find("scancel"), std::string::npos) << Calls();
}

TEST_F(SlurmExecutorTest, AFailedSubmissionKeepsItsRecordAndTheNextAttemptLooksForItByName) {
  WriteFile(root_ / "sbatch_refuses", "");
  auto r = executor_->Verify(verify_, run_, false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message(),
            "sbatch refused the job: sbatch: error: Batch job submission failed: Invalid partition name specified");
  // sbatch may have queued it before failing (a timeout): the record stays, without an id.
  ASSERT_TRUE(job_.extra.contains("executor"));
  EXPECT_EQ(job_.extra["executor"]["slurm_job_id"], "");
  const std::string name = job_.extra["executor"]["name"];
  // Next attempt: Slurm has no job of that name, so it is submitted afresh (run 2).
  ::unlink((root_ / "sbatch_refuses").c_str());
  r = executor_->Verify(verify_, run_, false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_NE(Calls().find("squeue -h --name=" + name), std::string::npos) << Calls();
  EXPECT_NE(Calls().find("-12-verify-2 "), std::string::npos) << Calls();
}

TEST(SlurmExecutorCreate, NamesAMissingSlurmClient) {
  TempDir dir;
  DaemonConfig c;
  c.state_dir = dir.path();
  c.executor.kind = "slurm";
  c.executor.slurm_bin_dir = dir / "nowhere";
  auto e = SlurmExecutor::Create(c);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(e.status().message().find("[executor] kind = \"slurm\": '" + (dir / "nowhere/sbatch") +
                                      " --version' failed"),
            std::string::npos)
      << e.status().message();
}

}  // namespace
}  // namespace cramjet::daemon
