// cramjetd job journal: SQLite in WAL mode, synchronous=FULL, schema versioned by user_version.
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <chrono>
#include <ctime>
#include <mutex>
#include <optional>
#include <thread>

#include "daemon/journal.h"

namespace cramjet::daemon {

namespace {

// JSON columns hold names from outside (paths, server answers), which need not be UTF-8: written
// with U+FFFD for such bytes rather than throwing in the middle of a journal write. Intake
// refuses names that are not UTF-8 (CheckSafeName), so a job's own paths never reach this.
std::string JsonText(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

// Each entry moves the schema from version i to i+1. Never edit a released entry: add one.
const char* const kMigrations[] = {
    // 0 -> 1
    "CREATE TABLE jobs ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  key TEXT NOT NULL UNIQUE,"
    "  origin TEXT NOT NULL, run_id TEXT, run_path TEXT, instrument TEXT, flowcell TEXT,"
    "  sample TEXT NOT NULL, inputs TEXT NOT NULL, paired INTEGER NOT NULL, format TEXT NOT NULL,"
    "  lanes TEXT NOT NULL, reference TEXT NOT NULL, output TEXT NOT NULL,"
    "  stage TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    "  last_error TEXT NOT NULL DEFAULT '', created_at REAL, updated_at REAL, finished_at REAL,"
    "  not_before REAL NOT NULL DEFAULT 0, input_bytes INTEGER, output_bytes INTEGER, records INTEGER,"
    "  output_md5 TEXT, compress_count INTEGER NOT NULL DEFAULT 0, shipped INTEGER NOT NULL DEFAULT 0,"
    "  extra TEXT NOT NULL DEFAULT '{}');"
    "CREATE INDEX jobs_state ON jobs(state, not_before, id);"
    "CREATE TABLE runs (key TEXT PRIMARY KEY, taken_at REAL NOT NULL);"
    "CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, job_id INTEGER NOT NULL,"
    "  at REAL NOT NULL, stage TEXT NOT NULL, message TEXT NOT NULL);"
    "CREATE INDEX events_job ON events(job_id, id);",
    // 1 -> 2
    "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
    // 2 -> 3: the QC verdict of the job's set, a column so that ops can query it.
    "ALTER TABLE jobs ADD COLUMN qc_verdict TEXT NOT NULL DEFAULT '';",
    // 3 -> 4: where the job's stage runs ("local", "slurm") and its Slurm job id while one runs,
    // columns so that ops (and a restarted daemon) can find them: `SELECT id, executor_job_id
    // FROM jobs WHERE executor_job_id <> ''` lists the Slurm jobs cramjetd follows.
    "ALTER TABLE jobs ADD COLUMN executor TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE jobs ADD COLUMN executor_job_id TEXT NOT NULL DEFAULT '';",
};

double Now() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct Stmt {
  sqlite3_stmt* s = nullptr;
  ~Stmt() { sqlite3_finalize(s); }
};

const char* kJobColumns =
    "id,key,origin,run_id,run_path,instrument,flowcell,sample,inputs,paired,format,lanes,reference,output,"
    "stage,state,attempts,last_error,created_at,updated_at,finished_at,not_before,input_bytes,output_bytes,"
    "records,output_md5,compress_count,shipped,extra,qc_verdict,executor,executor_job_id";

std::string Text(sqlite3_stmt* s, int col) {
  const unsigned char* t = sqlite3_column_text(s, col);
  return t ? reinterpret_cast<const char*>(t) : "";
}

// A JSON column as T; nullopt when the text is not JSON of that shape (never throws).
template <typename T>
std::optional<T> JsonColumn(sqlite3_stmt* s, int col) {
  const nlohmann::json parsed = nlohmann::json::parse(Text(s, col), nullptr, false);
  if (parsed.is_discarded()) return std::nullopt;
  try {
    return parsed.get<T>();
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

// One row of `jobs`; an error naming the job when a column holds what this daemon never writes
// (a row edited by hand, a journal of another version).
StatusOr<Job> ReadJob(sqlite3_stmt* s, const std::string& path) {
  Job j;
  j.id = sqlite3_column_int64(s, 0);
  auto bad = [&](const char* column) {
    return DataLoss("job journal '" + path + "': job " + std::to_string(j.id) + " has an unreadable " + column);
  };
  j.key = Text(s, 1);
  j.origin = Text(s, 2);
  j.run_id = Text(s, 3);
  j.run_path = Text(s, 4);
  j.instrument = Text(s, 5);
  j.flowcell = Text(s, 6);
  j.sample = Text(s, 7);
  auto inputs = JsonColumn<std::vector<std::string>>(s, 8);
  if (!inputs) return bad("inputs list");
  j.inputs = std::move(*inputs);
  j.paired = sqlite3_column_int(s, 9) != 0;
  j.format = Text(s, 10);
  auto lanes = JsonColumn<std::vector<int>>(s, 11);
  if (!lanes) return bad("lanes list");
  j.lanes = std::move(*lanes);
  j.reference = Text(s, 12);
  j.output = Text(s, 13);
  const std::optional<Stage> stage = ParseStage(Text(s, 14));
  if (!stage) return bad("stage");
  j.stage = *stage;
  const std::optional<JobState> state = ParseJobState(Text(s, 15));
  if (!state) return bad("state");
  j.state = *state;
  j.attempts = sqlite3_column_int(s, 16);
  j.last_error = Text(s, 17);
  j.created_at = sqlite3_column_double(s, 18);
  j.updated_at = sqlite3_column_double(s, 19);
  j.finished_at = sqlite3_column_double(s, 20);
  j.not_before = sqlite3_column_double(s, 21);
  j.input_bytes = sqlite3_column_int64(s, 22);
  j.output_bytes = sqlite3_column_int64(s, 23);
  j.records = sqlite3_column_int64(s, 24);
  j.output_md5 = Text(s, 25);
  j.compress_count = sqlite3_column_int(s, 26);
  j.shipped = sqlite3_column_int(s, 27) != 0;
  j.extra = nlohmann::json::parse(Text(s, 28), nullptr, false);
  if (!j.extra.is_object()) return bad("extra object");
  j.qc_verdict = Text(s, 29);
  j.executor = Text(s, 30);
  j.executor_job_id = Text(s, 31);
  return j;
}

}  // namespace

struct Journal::Impl {
  sqlite3* db = nullptr;
  std::string path;
  std::recursive_mutex mu;

  Status Error(const std::string& what) {
    return IoError("job journal '" + path + "': " + what + ": " + sqlite3_errmsg(db));
  }
  Status Exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown error";
      sqlite3_free(err);
      return IoError("job journal '" + path + "': " + msg + " (in: " + sql.substr(0, 60) + ")");
    }
    return Status::Ok();
  }
  Status Prepare(const std::string& sql, Stmt& st) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st.s, nullptr) != SQLITE_OK) return Error("preparing");
    return Status::Ok();
  }
  // A query's first step: a row (true), none (false), or SQLite's error.
  StatusOr<bool> Exists(Stmt& st) {
    const int rc = sqlite3_step(st.s);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return Error("reading");
  }
  Status Done(Stmt& st) {
    int rc = sqlite3_step(st.s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return Error("writing");
    return Status::Ok();
  }
  void BindJob(sqlite3_stmt* s, const Job& j) {
    auto text = [&](int i, const std::string& v) { sqlite3_bind_text(s, i, v.c_str(), -1, SQLITE_TRANSIENT); };
    text(1, j.key);
    text(2, j.origin);
    text(3, j.run_id);
    text(4, j.run_path);
    text(5, j.instrument);
    text(6, j.flowcell);
    text(7, j.sample);
    text(8, JsonText(nlohmann::json(j.inputs)));
    sqlite3_bind_int(s, 9, j.paired);
    text(10, j.format);
    text(11, JsonText(nlohmann::json(j.lanes)));
    text(12, j.reference);
    text(13, j.output);
    text(14, StageName(j.stage));
    text(15, JobStateName(j.state));
    sqlite3_bind_int(s, 16, j.attempts);
    text(17, j.last_error);
    sqlite3_bind_double(s, 18, j.created_at);
    sqlite3_bind_double(s, 19, j.updated_at);
    sqlite3_bind_double(s, 20, j.finished_at);
    sqlite3_bind_double(s, 21, j.not_before);
    sqlite3_bind_int64(s, 22, static_cast<int64_t>(j.input_bytes));
    sqlite3_bind_int64(s, 23, static_cast<int64_t>(j.output_bytes));
    sqlite3_bind_int64(s, 24, static_cast<int64_t>(j.records));
    text(25, j.output_md5);
    sqlite3_bind_int(s, 26, j.compress_count);
    sqlite3_bind_int(s, 27, j.shipped);
    text(28, JsonText(j.extra));
    text(29, j.qc_verdict);
    text(30, j.executor);
    text(31, j.executor_job_id);
  }
};

int Journal::SchemaVersion() { return static_cast<int>(std::size(kMigrations)); }

namespace {

constexpr int kBusyTimeoutMs = 10000;

// SQLite answers SQLITE_BUSY without calling the busy handler where waiting could deadlock: when a
// fresh database is switched to WAL while another connection reads it. Those moments are short
// (another opener creating the file), so they are retried here for as long as the busy timeout.
template <typename Step>
Status RetryWhileBusy(sqlite3* db, Step step) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
  for (;;) {
    Status s = step();
    const int code = sqlite3_errcode(db) & 0xff;
    if (s.ok() || (code != SQLITE_BUSY && code != SQLITE_LOCKED) || std::chrono::steady_clock::now() > give_up)
      return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

StatusOr<std::unique_ptr<Journal>> Journal::Open(const std::string& path) {
  std::unique_ptr<Journal> j(new Journal());
  j->impl_ = std::make_unique<Impl>();
  auto& im = *j->impl_;
  im.path = path;
  if (sqlite3_open_v2(path.c_str(), &im.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK)
    return im.Error("opening");
  sqlite3_busy_timeout(im.db, kBusyTimeoutMs);
  // Sample names and paths are in it: owner and group only (SQLite gives its -wal and -shm files
  // the database's mode). A journal of another owner is left as it is.
  if (::chmod(path.c_str(), 0640) != 0 && errno != EPERM) return IoErrorFromErrno("job journal '" + path + "': chmod 0640", errno);
  CRAMJET_RETURN_IF_ERROR(RetryWhileBusy(im.db, [&] { return im.Exec("PRAGMA journal_mode=WAL"); }));
  CRAMJET_RETURN_IF_ERROR(im.Exec("PRAGMA synchronous=FULL"));
  CRAMJET_RETURN_IF_ERROR(im.Exec("PRAGMA foreign_keys=ON"));
  // The version is read inside the write transaction that migrates, so that openers racing on a
  // fresh or old journal (the daemon starting while a status query opens it) migrate it once; a
  // version read outside would also leave a read snapshot open that BEGIN IMMEDIATE cannot upgrade.
  // Most opens find the schema current: read it first without a write lock, the statement
  // finished before anything else runs (status queries must not queue behind each other).
  {
    Stmt st;
    CRAMJET_RETURN_IF_ERROR(im.Prepare("PRAGMA user_version", st));
    if (sqlite3_step(st.s) == SQLITE_ROW && sqlite3_column_int(st.s, 0) == SchemaVersion()) return j;
  }
  for (;;) {
    CRAMJET_RETURN_IF_ERROR(RetryWhileBusy(im.db, [&] { return im.Exec("BEGIN IMMEDIATE"); }));
    int version = 0;
    {
      Stmt st;
      Status s = im.Prepare("PRAGMA user_version", st);
      if (s.ok() && sqlite3_step(st.s) != SQLITE_ROW) s = im.Error("reading the schema version");
      if (!s.ok()) {
        im.Exec("ROLLBACK").IgnoreError();
        return s;
      }
      version = sqlite3_column_int(st.s, 0);
    }
    if (version >= SchemaVersion()) {
      CRAMJET_RETURN_IF_ERROR(im.Exec("COMMIT"));
      if (version > SchemaVersion())
        return FailedPrecondition("job journal '" + path + "' has schema version " + std::to_string(version) +
                                  ", newer than this cramjetd understands (" + std::to_string(SchemaVersion()) +
                                  "); run the newer cramjetd or restore a backup");
      return j;
    }
    Status s = im.Exec(kMigrations[version]);
    if (s.ok()) s = im.Exec("PRAGMA user_version=" + std::to_string(version + 1));
    if (!s.ok()) {
      im.Exec("ROLLBACK").IgnoreError();
      return s.WithContext("migrating the schema to version " + std::to_string(version + 1));
    }
    CRAMJET_RETURN_IF_ERROR(im.Exec("COMMIT"));
  }
}

StatusOr<std::unique_ptr<Journal>> Journal::OpenReadOnly(const std::string& path) {
  if (::access(path.c_str(), F_OK) != 0) return NotFound("job journal '" + path + "' does not exist");
  std::unique_ptr<Journal> j(new Journal());
  j->impl_ = std::make_unique<Impl>();
  auto& im = *j->impl_;
  im.path = path;
  if (sqlite3_open_v2(path.c_str(), &im.db, SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX, nullptr) != SQLITE_OK)
    return im.Error("opening read-only");
  sqlite3_busy_timeout(im.db, kBusyTimeoutMs);
  Stmt st;
  CRAMJET_RETURN_IF_ERROR(im.Prepare("PRAGMA user_version", st));
  if (sqlite3_step(st.s) != SQLITE_ROW) return im.Error("reading the schema version");
  const int version = sqlite3_column_int(st.s, 0);
  if (version != SchemaVersion())
    return FailedPrecondition("job journal '" + path + "' has schema version " + std::to_string(version) + "; this cramjet reads " +
                              std::to_string(SchemaVersion()) + " (start this version's cramjetd once to migrate it)");
  return j;
}

Journal::~Journal() {
  if (impl_ && impl_->db) sqlite3_close(impl_->db);
}

StatusOr<int> Journal::AddJobs(const std::vector<Job>& jobs, const std::string& run_key) {
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  auto& im = *impl_;
  CRAMJET_RETURN_IF_ERROR(im.Exec("BEGIN IMMEDIATE"));
  int added = 0;
  Status status;
  for (const auto& job : jobs) {
    Stmt st;
    status = im.Prepare(std::string("INSERT OR IGNORE INTO jobs (") + (kJobColumns + 3) +
                            ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        st);
    if (!status.ok()) break;
    Job j = job;
    j.created_at = j.updated_at = Now();
    im.BindJob(st.s, j);
    status = im.Done(st);
    if (!status.ok()) break;
    if (sqlite3_changes(im.db) > 0) {
      ++added;
      int64_t id = sqlite3_last_insert_rowid(im.db);
      Stmt ev;
      status = im.Prepare("INSERT INTO events (job_id, at, stage, message) VALUES (?,?,?,?)", ev);
      if (!status.ok()) break;
      sqlite3_bind_int64(ev.s, 1, id);
      sqlite3_bind_double(ev.s, 2, Now());
      sqlite3_bind_text(ev.s, 3, "intake", -1, SQLITE_STATIC);
      std::string msg = "job created from " + (!j.run_path.empty() ? j.run_path : j.inputs.empty() ? j.key : j.inputs.front());
      sqlite3_bind_text(ev.s, 4, msg.c_str(), -1, SQLITE_TRANSIENT);
      status = im.Done(ev);
      if (!status.ok()) break;
    }
  }
  if (status.ok() && !run_key.empty()) {
    Stmt st;
    status = im.Prepare("INSERT OR IGNORE INTO runs (key, taken_at) VALUES (?,?)", st);
    if (status.ok()) {
      sqlite3_bind_text(st.s, 1, run_key.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_double(st.s, 2, Now());
      status = im.Done(st);
    }
  }
  if (!status.ok()) {
    im.Exec("ROLLBACK").IgnoreError();
    return status;
  }
  CRAMJET_RETURN_IF_ERROR(im.Exec("COMMIT"));
  return added;
}

StatusOr<bool> Journal::RunTaken(const std::string& run_key) {
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  Stmt st;
  CRAMJET_RETURN_IF_ERROR(impl_->Prepare("SELECT 1 FROM runs WHERE key=?", st));
  sqlite3_bind_text(st.s, 1, run_key.c_str(), -1, SQLITE_TRANSIENT);
  return impl_->Exists(st);
}

StatusOr<bool> Journal::HasJobKey(const std::string& key) {
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  Stmt st;
  CRAMJET_RETURN_IF_ERROR(impl_->Prepare("SELECT 1 FROM jobs WHERE key=?", st));
  sqlite3_bind_text(st.s, 1, key.c_str(), -1, SQLITE_TRANSIENT);
  return impl_->Exists(st);
}

StatusOr<Job> Journal::GetJob(int64_t id) {
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  Stmt st;
  CRAMJET_RETURN_IF_ERROR(impl_->Prepare(std::string("SELECT ") + kJobColumns + " FROM jobs WHERE id=?", st));
  sqlite3_bind_int64(st.s, 1, id);
  const int rc = sqlite3_step(st.s);
  if (rc == SQLITE_DONE) return NotFound("no job " + std::to_string(id));
  if (rc != SQLITE_ROW) return impl_->Error("reading job " + std::to_string(id));
  return ReadJob(st.s, impl_->path);
}

StatusOr<std::vector<Job>> Journal::ListJobs(std::optional<JobState> state, int limit) {
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  Stmt st;
  std::string sql = std::string("SELECT ") + kJobColumns + " FROM jobs" + (state ? " WHERE state=?" : "") +
                    " ORDER BY id DESC LIMIT ?";
  CRAMJET_RETURN_IF_ERROR(impl_->Prepare(sql, st));
  int i = 1;
  if (state) sqlite3_bind_text(st.s, i++, JobStateName(*state), -1, SQLITE_STATIC);
  sqlite3_bind_int(st.s, i, limit > 0 ? limit : 1000000);
  std::vector<Job> jobs;
  int rc;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
    CRAMJET_ASSIGN_OR_RETURN(Job job, ReadJob(st.s, impl_->path));
    jobs.push_back(std::move(job));
  }
  if (rc != SQLITE_DONE) return impl_->Error("listing jobs");
  return jobs;
}

StatusOr<std::optional<Job>> Journal::ClaimNext(double now) {
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  Stmt st;
  CRAMJET_RETURN_IF_ERROR(impl_->Prepare(std::string("SELECT ") + kJobColumns +
                                             " FROM jobs WHERE state='queued' AND not_before<=? ORDER BY id LIMIT 1",
                                         st));
  sqlite3_bind_double(st.s, 1, now);
  // Read and claim in one write transaction taken up front (the busy handler waits for it): a
  // read snapshot left open while writing cannot be upgraded once another connection wrote,
  // and SQLite answers that "database is locked" without waiting.
  CRAMJET_RETURN_IF_ERROR(impl_->Exec("BEGIN IMMEDIATE"));
  auto claim = [&]() -> StatusOr<std::optional<Job>> {
    const int rc = sqlite3_step(st.s);
    if (rc == SQLITE_DONE) return std::optional<Job>();
    if (rc != SQLITE_ROW) return impl_->Error("claiming a job");
    CRAMJET_ASSIGN_OR_RETURN(Job j, ReadJob(st.s, impl_->path));
    sqlite3_reset(st.s);
    j.state = JobState::kRunning;
    CRAMJET_RETURN_IF_ERROR(Save(j));
    return std::optional<Job>(j);
  };
  StatusOr<std::optional<Job>> claimed = claim();
  sqlite3_reset(st.s);
  if (!claimed.ok()) {
    impl_->Exec("ROLLBACK").IgnoreError();
    return claimed.status();
  }
  CRAMJET_RETURN_IF_ERROR(impl_->Exec("COMMIT"));
  return claimed;
}

Status Journal::Save(const Job& job) {
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  Stmt st;
  CRAMJET_RETURN_IF_ERROR(impl_->Prepare(
      "UPDATE jobs SET key=?1, origin=?2, run_id=?3, run_path=?4, instrument=?5, flowcell=?6, sample=?7, inputs=?8,"
      " paired=?9, format=?10, lanes=?11, reference=?12, output=?13, stage=?14, state=?15, attempts=?16,"
      " last_error=?17, created_at=?18, updated_at=?19, finished_at=?20, not_before=?21, input_bytes=?22,"
      " output_bytes=?23, records=?24, output_md5=?25, compress_count=?26, shipped=?27, extra=?28,"
      " qc_verdict=?29, executor=?30, executor_job_id=?31 WHERE id=?32",
      st));
  Job j = job;
  j.updated_at = Now();
  impl_->BindJob(st.s, j);
  sqlite3_bind_int64(st.s, 32, j.id);
  return impl_->Done(st);
}

Status Journal::RequeueRunning() {
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  return impl_->Exec("UPDATE jobs SET state='queued' WHERE state='running'");
}

Status Journal::AddEvent(int64_t job_id, const std::string& stage, const std::string& message) {
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  Stmt st;
  CRAMJET_RETURN_IF_ERROR(impl_->Prepare("INSERT INTO events (job_id, at, stage, message) VALUES (?,?,?,?)", st));
  sqlite3_bind_int64(st.s, 1, job_id);
  sqlite3_bind_double(st.s, 2, Now());
  sqlite3_bind_text(st.s, 3, stage.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st.s, 4, message.c_str(), -1, SQLITE_TRANSIENT);
  return impl_->Done(st);
}

StatusOr<nlohmann::json> Journal::Events(int64_t job_id) {
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  Stmt st;
  CRAMJET_RETURN_IF_ERROR(impl_->Prepare("SELECT at, stage, message FROM events WHERE job_id=? ORDER BY id", st));
  sqlite3_bind_int64(st.s, 1, job_id);
  nlohmann::json out = nlohmann::json::array();
  while (sqlite3_step(st.s) == SQLITE_ROW)
    out.push_back({{"at", sqlite3_column_double(st.s, 0)}, {"stage", Text(st.s, 1)}, {"message", Text(st.s, 2)}});
  return out;
}

StatusOr<std::map<std::string, int64_t>> Journal::CountByQcVerdict() {
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  Stmt st;
  CRAMJET_RETURN_IF_ERROR(impl_->Prepare("SELECT qc_verdict, count(*) FROM jobs WHERE qc_verdict<>'' GROUP BY qc_verdict", st));
  std::map<std::string, int64_t> counts = {{"pass", 0}, {"warn", 0}, {"fail", 0}};
  int rc;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) counts[Text(st.s, 0)] = sqlite3_column_int64(st.s, 1);
  if (rc != SQLITE_DONE) return impl_->Error("counting QC verdicts");
  return counts;
}

StatusOr<std::map<JobState, int64_t>> Journal::CountByState() {
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  Stmt st;
  CRAMJET_RETURN_IF_ERROR(impl_->Prepare("SELECT state, count(*) FROM jobs GROUP BY state", st));
  std::map<JobState, int64_t> counts;
  for (JobState state : kJobStates) counts[state] = 0;
  int rc;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
    const std::optional<JobState> state = ParseJobState(Text(st.s, 0));
    if (!state) return DataLoss("job journal '" + impl_->path + "': unknown job state '" + Text(st.s, 0) + "'");
    counts[*state] = sqlite3_column_int64(st.s, 1);
  }
  if (rc != SQLITE_DONE) return impl_->Error("counting jobs");
  return counts;
}

StatusOr<int64_t> Journal::CountDoneSince(double since) {
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  Stmt st;
  CRAMJET_RETURN_IF_ERROR(impl_->Prepare("SELECT count(*) FROM jobs WHERE state='done' AND finished_at>=?", st));
  sqlite3_bind_double(st.s, 1, since);
  if (sqlite3_step(st.s) != SQLITE_ROW) return impl_->Error("counting jobs");
  return sqlite3_column_int64(st.s, 0);
}

Status Journal::SetSetting(const std::string& key, const std::string& value) {
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  Stmt st;
  CRAMJET_RETURN_IF_ERROR(impl_->Prepare("INSERT OR REPLACE INTO settings (key, value) VALUES (?,?)", st));
  sqlite3_bind_text(st.s, 1, key.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st.s, 2, value.c_str(), -1, SQLITE_TRANSIENT);
  return impl_->Done(st);
}

StatusOr<std::string> Journal::GetSetting(const std::string& key) {
  std::lock_guard<std::recursive_mutex> lock(impl_->mu);
  Stmt st;
  CRAMJET_RETURN_IF_ERROR(impl_->Prepare("SELECT value FROM settings WHERE key=?", st));
  sqlite3_bind_text(st.s, 1, key.c_str(), -1, SQLITE_TRANSIENT);
  const int rc = sqlite3_step(st.s);
  if (rc == SQLITE_ROW) return Text(st.s, 0);
  if (rc == SQLITE_DONE) return std::string();
  return impl_->Error("reading a setting");
}

}  // namespace cramjet::daemon
