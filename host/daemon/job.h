// host/daemon/job.h — a job: one sample from intake to the archive, one row of the journal.
//
// Crash safety in one paragraph: a job's `stage` names the next stage to run and only moves
// forward after that stage's outputs are complete and renamed (the journal commits with
// synchronous=FULL). Every stage is idempotent, so after SIGKILL or a power cut the daemon starts
// every unfinished job again at the stage it had not finished.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cramjet/compress.h"
#include "cramjet/status.h"

namespace cramjet::daemon {

// The stages in the order a job runs them; kDone once the last has finished.
enum class Stage { kCompress, kVerify, kQc, kShip, kCleanup, kDone };
inline constexpr std::array<Stage, 5> kJobStages = {Stage::kCompress, Stage::kVerify, Stage::kQc, Stage::kShip,
                                                    Stage::kCleanup};
// "compress" ... "cleanup", "done": the names the journal, the API and the metrics use.
const char* StageName(Stage stage);
std::optional<Stage> ParseStage(std::string_view name);
// kCompress -> kVerify ... kCleanup -> kDone; kDone stays kDone.
Stage NextStage(Stage stage);

// kHeld: the QC verdict was fail and [qc] on_fail is "hold": the job waits before its ship stage
// until an operator releases it (`cramjet release ID`); nothing runs it meanwhile.
enum class JobState { kQueued, kRunning, kFailed, kDone, kHeld };
inline constexpr std::array<JobState, 5> kJobStates = {JobState::kQueued, JobState::kRunning, JobState::kFailed,
                                                       JobState::kDone, JobState::kHeld};
const char* JobStateName(JobState state);  // "queued" | "running" | "failed" | "done" | "held"
std::optional<JobState> ParseJobState(std::string_view name);

struct Job {
  int64_t id = 0;
  std::string key;        // unique: "<run folder>#<sample>" or "drop:<path>"
  std::string origin;     // "run" | "drop" | "submit"
  std::string run_id, run_path, instrument, flowcell;
  std::string sample;
  std::vector<std::string> inputs;
  bool paired = false;
  std::string format;
  std::vector<int> lanes;
  std::string reference;  // FASTA path
  std::string output;     // final CRAM path
  Stage stage = Stage::kCompress;     // next stage to run; kDone when finished
  JobState state = JobState::kQueued;
  int attempts = 0;
  std::string last_error;
  double created_at = 0, updated_at = 0, finished_at = 0, not_before = 0;
  uint64_t input_bytes = 0, output_bytes = 0, records = 0;
  std::string output_md5;
  int compress_count = 0;  // times the compress stage produced the CRAM (1 unless redone)
  bool shipped = false;
  std::string qc_verdict;  // "pass" | "warn" | "fail" once the qc stage ran; "" before
  // Where its last compress or verify ran or runs ("local", "slurm"; "" before the first), and
  // the Slurm job id while one runs for it ("" otherwise). extra["executor"] holds the rest of
  // that Slurm job's record (stage, folder, node, state): what a restarted daemon re-attaches to.
  std::string executor, executor_job_id;
  // Per-stage facts: compress's figures and the QC files it wrote ("qc_files"), verify's
  // verdict, the ship result, the cleanup due time.
  nlohmann::json extra = nlohmann::json::object();
};

// The job as the API shows it (`cramjet status --jobs`, `jobs`, `job`).
nlohmann::json JobJson(const Job& job);

// ---- The stages' work, wired by wiring.cc ------------------------------------------------------
struct ShipJob {
  int64_t job_id = 0;
  std::string sample, run_id, instrument, flowcell;
  std::vector<int> lanes;
  std::vector<std::string> files;  // CRAM, .crai, .seqchksum, .md5, QC files
  std::string state_dir;           // per-job folder for resumable uploads
  std::string qc_verdict;          // the set's QC verdict, for the manifest
  bool qc_released = false;        // a fail shipped because an operator released it
};

// A compress or verify stage as the executor runs it: the job it belongs to, which the Slurm
// executor records its Slurm job in (and commits, before it waits, so that a daemon killed while
// the Slurm job runs finds it again), and what may end the wait early. The local executor
// uses none of it.
struct StageRun {
  Job* job = nullptr;
  std::function<Status()> commit;             // saves *job in the journal (synchronous=FULL)
  std::function<bool()> stopping;             // the daemon is shutting down: leave it running
  std::function<bool()> draining;             // drain: a Slurm job not started yet is cancelled
  // `cramjet retry` of this running job, asked for the Slurm job it waits on (a request made for
  // an earlier Slurm job of the job is not this one's).
  std::function<bool(const std::string& slurm_job_id)> cancel_requested;
  std::function<void(const std::string&)> where;  // for `cramjet status`: "slurm job 12 on n1 (RUNNING)"
};

struct StageFunctions {
  std::function<StatusOr<CompressResult>(const CompressOptions&, StageRun&)> compress;
  std::function<StatusOr<VerifyResult>(const VerifyOptions&, StageRun&)> verify;
  std::string executor = "local";  // [executor] kind chosen at start
  // Called after the journal has committed a compress or verify done (the Slurm executor removes
  // the stage's run folders then, not before: a kill in between re-reads the result from them).
  std::function<void(const Job&, Stage)> stage_committed;
  // Empty: no archive; the ship stage records "skipped". Must be idempotent and return ok only
  // after the remote copy is verified.
  std::function<Status(const ShipJob&)> ship;
  std::string backend;  // accelerator backend in use, for `cramjet status` ("cpu (AVX2)", ...)
};

}  // namespace cramjet::daemon
