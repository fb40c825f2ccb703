// host/daemon/journal.h — the job journal: SQLite in WAL mode, synchronous=FULL, its schema
// versioned by user_version. Run intake inserts all jobs of a run in one transaction under a
// UNIQUE key, so a run is never taken twice. Every read reports SQLite's errors: a journal that
// cannot answer stops intake instead of answering "no".
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cramjet/status.h"
#include "daemon/job.h"

namespace cramjet::daemon {

class Journal {
 public:
  // Opens/creates the database (WAL, busy timeout) and migrates its schema.
  [[nodiscard]] static StatusOr<std::unique_ptr<Journal>> Open(const std::string& path);
  // Opens an existing journal read-only (no migration, no mode change): for reading it while
  // the daemon is down. kNotFound when there is none; kFailedPrecondition when its schema is not
  // this build's. Only the read methods may be called on it.
  [[nodiscard]] static StatusOr<std::unique_ptr<Journal>> OpenReadOnly(const std::string& path);
  ~Journal();
  static int SchemaVersion();

  // Inserts jobs in one transaction, skipping keys already present; records the run as taken.
  // Returns the number inserted.
  [[nodiscard]] StatusOr<int> AddJobs(const std::vector<Job>& jobs, const std::string& run_key);
  // Whether a run / a job key is in the journal. An error (never "no") when SQLite fails: a
  // journal that cannot answer must stop intake, not let a run be taken twice.
  [[nodiscard]] StatusOr<bool> RunTaken(const std::string& run_key);
  [[nodiscard]] StatusOr<bool> HasJobKey(const std::string& key);
  [[nodiscard]] StatusOr<Job> GetJob(int64_t id);
  // Jobs in `state` (nullopt: all), newest first, at most `limit` (0: no limit). A row the
  // daemon cannot read back (an unknown stage, broken JSON) is an error naming the job.
  [[nodiscard]] StatusOr<std::vector<Job>> ListJobs(std::optional<JobState> state, int limit);
  // The oldest queued job whose not_before has passed, marked running; nullopt when none.
  [[nodiscard]] StatusOr<std::optional<Job>> ClaimNext(double now);
  // Writes the job's columns (synchronous=FULL).
  [[nodiscard]] Status Save(const Job& job);
  // Running -> queued at start (their stage was not finished).
  [[nodiscard]] Status RequeueRunning();
  [[nodiscard]] Status AddEvent(int64_t job_id, const std::string& stage, const std::string& message);
  [[nodiscard]] StatusOr<nlohmann::json> Events(int64_t job_id);
  // Jobs per state (every state present, 0 when none), and done since `since`.
  [[nodiscard]] StatusOr<std::map<JobState, int64_t>> CountByState();
  // Jobs by QC verdict ("pass", "warn", "fail"; jobs before their qc stage are not counted).
  [[nodiscard]] StatusOr<std::map<std::string, int64_t>> CountByQcVerdict();
  [[nodiscard]] StatusOr<int64_t> CountDoneSince(double since);
  [[nodiscard]] Status SetSetting(const std::string& key, const std::string& value);
  // "" for a key never set; an error when SQLite fails.
  [[nodiscard]] StatusOr<std::string> GetSetting(const std::string& key);

 private:
  Journal() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cramjet::daemon
