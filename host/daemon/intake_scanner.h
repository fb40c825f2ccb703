// host/daemon/intake_scanner.h — internal to cramjetd: turns ready run folders and settled
// drop-folder entries into journal jobs (each run in one transaction, so never taken twice),
// watches them with inotify, and pauses intake when an output disk runs low.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/unique_fd.h"
#include "daemon/server_context.h"

namespace cramjet::daemon {

class IntakeScanner {
 public:
  // `jobs_added` is called after jobs were queued (it wakes the job runner).
  IntakeScanner(DaemonContext& context, std::function<void()> jobs_added);

  // Starts inotify; without it (a warning) intake relies on the periodic rescans.
  void OpenWatches();
  // The inotify descriptor for the main loop's poll; -1 when unavailable.
  int watch_fd() const { return inotify_.get(); }
  // Reads away pending inotify events; true when there were any.
  bool DrainWatchEvents();

  // Checks free disk, then (unless paused for disk, draining or stopping) every watch root and
  // the drop folder. Refused runs and entries are kept with their error for `cramjet status`.
  void Scan();
  // The API's `submit`: a run folder directly under a watch root, or an entry of the drop folder,
  // taken now (a run without waiting for its markers). Returns the new jobs' ids.
  [[nodiscard]] StatusOr<std::vector<int64_t>> Submit(const std::string& path);

  bool paused_for_low_disk() const { return paused_low_disk_; }

  struct Snapshot {
    std::vector<nlohmann::json> disks;           // {path, free_bytes, total_bytes} per file system
    std::map<std::string, std::string> waiting;  // run folder -> why it waits
    std::map<std::string, std::string> rejected; // run folder / drop entry -> error
    uint64_t jobs_created_total = 0;
  };
  Snapshot snapshot() const;

 private:
  void ScanUnguarded();
  void CheckDisk();
  // Each takes the configuration snapshot of the scan or submission it is part of (`c`), so that
  // a reload during a scan never mixes two configurations.
  void ScanWatchRoot(const DaemonConfig& c, const WatchRoot& root);
  void ScanDrop(const DaemonConfig& c);
  [[nodiscard]] Status TakeRun(const DaemonConfig& c, const WatchRoot& root, const std::string& run_dir, bool forced,
                               std::vector<int64_t>* ids);
  [[nodiscard]] Status TakeDrop(const DaemonConfig& c, const std::string& entry, std::vector<int64_t>* ids);
  // Intake stops for this scan (nothing is taken that the journal cannot vouch for) and says why.
  void JournalFailed(const Status& status);
  void AddWatch(const std::string& dir);
  void IdsOfKeys(const std::vector<Job>& jobs, std::vector<int64_t>* ids);

  DaemonContext& ctx_;
  std::function<void()> jobs_added_;
  UniqueFd inotify_;
  std::atomic<bool> paused_low_disk_{false};

  mutable std::mutex mu_;  // guards everything below
  std::map<std::string, std::string> waiting_runs_;
  std::map<std::string, std::string> rejected_;
  std::map<std::string, int> watched_;  // folder -> inotify watch descriptor
  std::vector<nlohmann::json> disks_;
  uint64_t jobs_created_total_ = 0;
};

}  // namespace cramjet::daemon
