// host/daemon/slurm_executor.h — internal to cramjetd: [executor] kind = "slurm". Each job's
// compress (with its QC) and verify run as one Slurm job each, so that a site's cluster, not this
// machine, supplies the cores; qc (reading the verdict), ship (the archive's credentials) and
// cleanup (deletions) stay in the daemon.
//
// Why sbatch and squeue, not libslurm or slurmrestd: Debian 12 ships no libslurm headers for
// outside programs to link against (libslurm's ABI changes with every Slurm release, and the
// site's Slurm need not be Debian's), and slurmrestd needs JWT setup and a listening service that
// most sites do not run. The command-line tools are Slurm's stable interface, present on every
// submit host, and speak to whatever slurmctld the site runs.
//
// One Slurm job per stage run. Its folder (<work_dir>/job-<id>/<stage>-<n>, on a filesystem the
// nodes share) holds request.json (what the local stage child reads on its standard input, the
// same wire form, stage_process.h), run.sh, reply.jsonl (the child's progress and result lines),
// exit (the child's exit status, written by run.sh after it ends, by rename) and slurm.log.
//
// Crash safety: the job's record (job.extra["executor"]: stage, run, folder, job name) is
// committed before sbatch, and the Slurm job id (the journal's executor_job_id column) right after
// it returns. A daemon killed at any point finds the record at its next start and re-attaches:
// to the id, or (killed between sbatch and the commit) to the Slurm job of that unique name, or,
// when Slurm has none, it submits again. A daemon stopping (SIGTERM) leaves its Slurm jobs
// running and re-attaches likewise. A Slurm job that ends without a result (scancel, a node
// failure, its time or memory limit) fails the attempt with kUnavailable, retried as a killed
// local stage child is ([retry]); sbatch is given --no-requeue so that the daemon, not Slurm,
// decides, with the attempts counted.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cramjet/compress.h"
#include "cramjet/status.h"
#include "daemon/config.h"
#include "daemon/job.h"

namespace cramjet::daemon {

// What a command printed and how it ended.
struct ToolOutput {
  int exit_code = -1;  // 128 + N when a signal N ended it
  std::string out, err;
};
// Runs `argv` (argv[0] a path, or a name looked up in PATH) without a shell, its standard input
// empty; kills it after `timeout_s`. Errors only when it could not be started or timed out.
// `environment` (null: this process's) is the tool's whole environment. It runs in a process
// group of its own, all of which a timeout kills.
[[nodiscard]] StatusOr<ToolOutput> RunTool(const std::vector<std::string>& argv, int timeout_s,
                                           const std::vector<std::string>* environment = nullptr);

// A Slurm job as squeue (or sacct, once squeue has forgotten it) sees it.
struct SlurmJobState {
  bool known = false;  // false: Slurm does not know the id (any more)
  std::string state;   // PENDING, RUNNING, COMPLETING, COMPLETED, CANCELLED, NODE_FAIL, ...
  std::string node;    // node list; empty while pending
  std::string reason;  // squeue's %r (PartitionDown, Priority, ...)
  std::string name;    // the job's name (%j), when asked for
  bool Ended() const;  // a state a Slurm job never leaves
};
// Parses one line of `squeue -h -o %T|%N|%r|%j` (the last fields may be missing).
SlurmJobState ParseSlurmStateLine(const std::string& line);

class SlurmExecutor {
 public:
  // Checks that sbatch and squeue are there and that the work folder can be made and written,
  // and finds the cramjetd the nodes run. Errors name the [executor] key at fault.
  [[nodiscard]] static StatusOr<std::shared_ptr<const SlurmExecutor>> Create(const DaemonConfig& config);

  [[nodiscard]] StatusOr<CompressResult> Compress(const CompressOptions& options, StageRun& run,
                                                  bool crash_for_test) const;
  [[nodiscard]] StatusOr<VerifyResult> Verify(const VerifyOptions& options, StageRun& run, bool crash_for_test) const;

  // The state of Slurm job `id` now; an error when Slurm could not be asked (slurmctld down).
  // A job of another name than `name` (when given) is not ours: reported as unknown.
  [[nodiscard]] StatusOr<SlurmJobState> Query(const std::string& id, const std::string& name = "") const;
  // After the journal has committed `stage` done for `job`: removes that stage's run folders.
  void StageCommitted(const Job& job, Stage stage) const;

 private:
  SlurmExecutor() = default;
  // Submits (or re-attaches to) the stage's Slurm job, waits for it and returns the child's
  // result line, as StageChildReply makes it.
  [[nodiscard]] StatusOr<nlohmann::json> Run(Stage stage, const nlohmann::json& request, const std::string& subject,
                                             int cpus, StageRun& run,
                                             const std::function<void(const nlohmann::json&)>& progress) const;
  [[nodiscard]] StatusOr<std::string> Submit(const std::string& dir, const std::string& name, int cpus) const;
  // The id of the Slurm job named `name`, "" when Slurm has none.
  [[nodiscard]] StatusOr<std::string> FindByName(const std::string& name) const;
  // scancel (--state=PENDING when `pending_only`); an error when scancel failed.
  [[nodiscard]] Status Cancel(const std::string& id, bool pending_only) const;
  std::string Tool(const char* name) const;

  ExecutorConfig config_;
  std::string work_dir_, cramjetd_, host_;
  std::vector<std::string> environment_;  // what Slurm's commands run with (Create says what)
  uint64_t memory_per_job_mb_ = 0;
};

}  // namespace cramjet::daemon
