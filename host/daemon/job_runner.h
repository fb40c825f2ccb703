// host/daemon/job_runner.h — internal to cramjetd: the worker pool. Each worker claims the oldest
// queued job from the journal and runs its stages in order (compress, verify, qc, ship,
// cleanup), committing the job after each stage so that a kill resumes at the unfinished one.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "daemon/server_context.h"

namespace cramjet::daemon {

// A running job as `cramjet status` shows it.
struct LiveProgress {
  std::string sample, run_id;
  Stage stage = Stage::kCompress;
  double stage_started = 0;  // monotonic
  uint64_t records = 0, input_bytes = 0, total_input_bytes = 0;
  double elapsed = 0;
  // Within compress: its step ("read", "sort", "encode", "verify", ...) and how far it is
  // (0..1; negative where unknown), from cramjet's Progress.
  std::string step;
  double step_fraction = -1;
  double read_seconds = 0;  // time in the read step, for the input throughput
  // Where the stage runs: "local", or the Slurm job with its node and state.
  std::string where;
};

struct StageCounters {
  uint64_t runs = 0, failures = 0;
  double seconds = 0;
};

struct RunnerSnapshot {
  std::map<int64_t, LiveProgress> live;  // by job id
  std::map<Stage, StageCounters> stages;  // every job stage present
  uint64_t jobs_completed = 0, jobs_failed = 0, bytes_in = 0, bytes_out = 0;
};

class JobRunner {
 public:
  explicit JobRunner(DaemonContext& context);
  ~JobRunner();

  // Starts `workers` threads; they run until the context says stopping and their stage ends.
  void Start(int workers);
  // Workers look for claimable jobs now (new jobs, a retry, resume).
  void Wake();
  // Jobs in a stage now.
  int running_jobs() const { return running_jobs_; }
  // Joins the workers (after ctx.stopping); only once none is running a stage.
  void Join();
  RunnerSnapshot snapshot() const;

 private:
  void WorkerLoop(int index);
  void RunJob(Job job);
  [[nodiscard]] Status RunStage(Job& job);  // RunStageUnguarded, exceptions made errors
  [[nodiscard]] Status RunStageUnguarded(Job& job);
  [[nodiscard]] Status StageCompress(Job& job);
  [[nodiscard]] Status StageVerify(Job& job);
  [[nodiscard]] Status StageQc(Job& job);
  [[nodiscard]] Status StageShip(Job& job);
  [[nodiscard]] Status StageCleanup(Job& job);
  // After the qc stage: logs and records the verdict and applies [qc] on_fail to a fail. true
  // when the job was held (state kHeld, saved, next stage ship): the worker leaves it.
  bool ApplyQcVerdict(Job& job);
  // Sleeps `ms`; false when the daemon began stopping meanwhile.
  bool SleepInterruptible(int ms);
  // A slot for a stage this machine runs itself while compress and verify run on Slurm
  // (LocalConcurrency of them): hundreds of jobs on the cluster must not mean hundreds of
  // uploads or Crypt4GH encryptions at once on the appliance. false when the daemon began
  // stopping while it waited.
  bool AcquireLocalSlot(int limit);
  void ReleaseLocalSlot();
  // Removes the job's outputs and sends it back to compress; the DataLoss it returns counts as
  // an attempt.
  [[nodiscard]] Status RemoveSetToCompressAgain(Job& job, const std::string& why);
  // The job's output set that exists: CRAM, .crai, .seqchksum, .md5 and its QC files.
  std::vector<std::string> OutputFiles(const Job& job) const;
  void RecordStage(Stage stage, double seconds, const Status& status);
  // The executor's view of the job's compress or verify (job.h): commits through the journal,
  // reports where it runs to `cramjet status`.
  StageRun MakeStageRun(Job& job);

  DaemonContext& ctx_;
  std::vector<std::thread> workers_;
  std::atomic<int> running_jobs_{0};

  mutable std::mutex mu_;  // guards everything below
  std::condition_variable work_cv_;
  std::map<int64_t, LiveProgress> live_;
  std::map<Stage, StageCounters> stage_counters_;
  uint64_t jobs_completed_total_ = 0, jobs_failed_total_ = 0, bytes_in_total_ = 0, bytes_out_total_ = 0;
  int local_slots_in_use_ = 0;
  std::condition_variable local_slot_cv_;
};

}  // namespace cramjet::daemon
