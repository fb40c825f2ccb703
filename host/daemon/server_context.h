// host/daemon/server_context.h — internal to cramjetd: what its pieces (intake scanner, job
// runner, API, metrics, the main loop in server.cc) share: the configuration, the stages, the
// journal, the run flags and the last error. Each piece keeps the rest of its state to itself.
//
// The configuration and the stages are replaced whole on a reload (SIGHUP, server.cc): a reader
// takes a snapshot (config(), stages()) and keeps it for one unit of work (a scan, a stage of a
// job), so that it never sees half of one file and half of the next.
#pragma once

#include <atomic>
#include <chrono>
#include <ctime>
#include <functional>
#include <memory>
#include <mutex>
#include <map>
#include <string>

#include "daemon/config.h"
#include "daemon/job.h"
#include "daemon/journal.h"

namespace cramjet::daemon {

// Seconds since the epoch (journal times, the API) and on a monotonic clock (durations).
inline double WallSeconds() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec / 1e9;
}
inline double MonotonicSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

class DaemonContext {
 public:
  DaemonContext(DaemonConfig config, StageFunctions stages, Journal& journal)
      : journal(journal),
        config_(std::make_shared<const DaemonConfig>(std::move(config))),
        stages_(std::make_shared<const StageFunctions>(std::move(stages))) {}

  Journal& journal;

  // The configuration and stages in force now; hold the pointer for the unit of work.
  std::shared_ptr<const DaemonConfig> config() const {
    std::lock_guard<std::mutex> lock(mu_);
    return config_;
  }
  std::shared_ptr<const StageFunctions> stages() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stages_;
  }
  // A reload: work that starts from now on sees these; work under way keeps its snapshot.
  void Replace(std::shared_ptr<const DaemonConfig> config, std::shared_ptr<const StageFunctions> stages) {
    std::lock_guard<std::mutex> lock(mu_);
    config_ = std::move(config);
    stages_ = std::move(stages);
  }

  std::atomic<bool> stopping{false};  // SIGTERM/SIGINT: running stages finish or stay resumable
  std::atomic<bool> paused{false};    // operator: no new job starts (kept in the journal)
  std::atomic<bool> draining{false};  // operator: no new job starts; exit when none runs
  double started_at = 0, started_mono = 0;
  // Wakes the main loop (a drain request, so that it sees the flag now). Set by the server.
  std::function<void()> wake_main_loop = [] {};

  // "stopping" | "draining" | "paused" | "running".
  std::string StateName() const {
    if (stopping) return "stopping";
    if (draining) return "draining";
    if (paused) return "paused";
    return "running";
  }

  // `cramjet retry` of a running job whose stage waits on a Slurm job: the worker running it
  // cancels that Slurm job and submits the stage again (job_runner.cc, slurm_executor.h).
  // The request names the Slurm job the operator saw: one that lingers after that Slurm job
  // ended never cancels the job's next one.
  void RequestCancel(int64_t job_id, const std::string& slurm_job_id) {
    std::lock_guard<std::mutex> lock(mu_);
    cancel_requests_[job_id] = slurm_job_id;
  }
  bool CancelRequested(int64_t job_id, const std::string& slurm_job_id) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cancel_requests_.find(job_id);
    return it != cancel_requests_.end() && it->second == slurm_job_id;
  }
  void ClearCancelRequest(int64_t job_id) {
    std::lock_guard<std::mutex> lock(mu_);
    cancel_requests_.erase(job_id);
  }

  // The last problem an operator should see in `cramjet status` (a refused run, a failed job).
  void SetLastError(const std::string& message) {
    std::lock_guard<std::mutex> lock(mu_);
    last_error_ = message;
    last_error_at_ = WallSeconds();
  }
  struct LastError {
    std::string message;  // empty: none since start
    double at = 0;
  };
  LastError last_error() const {
    std::lock_guard<std::mutex> lock(mu_);
    return {last_error_, last_error_at_};
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const DaemonConfig> config_;
  std::shared_ptr<const StageFunctions> stages_;
  std::string last_error_;
  double last_error_at_ = 0;
  std::map<int64_t, std::string> cancel_requests_;  // job id -> the Slurm job id to cancel
};

}  // namespace cramjet::daemon
