// cramjetd core: the main loop (signals, inotify, rescans, disk checks, systemd), the worker pool
// running the job stages, the JSON API on the Unix socket and the Prometheus/health endpoint.
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <ctime>
#include <filesystem>
#include <regex>
#include <set>
#include <sstream>
#include <iomanip>
#include <thread>

#include "common/common.h"
#include "cramjet/daemon_api.h"
#include "cramjet/log.h"
#include "cramjet/version.h"
#include "cramjet/qc.h"
#include "daemon/daemon.h"

namespace cramjet::daemon {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

double Now() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}
double Mono() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
double LocalMidnight() {
  time_t t = std::time(nullptr);
  tm local{};
  localtime_r(&t, &local);
  local.tm_hour = local.tm_min = local.tm_sec = 0;
  return static_cast<double>(mktime(&local));
}

json JobJson(const Job& j) {
  return {{"id", j.id},
          {"key", j.key},
          {"origin", j.origin},
          {"run_id", j.run_id},
          {"run_path", j.run_path},
          {"instrument", j.instrument},
          {"flowcell", j.flowcell},
          {"sample", j.sample},
          {"inputs", j.inputs},
          {"paired", j.paired},
          {"format", j.format},
          {"lanes", j.lanes},
          {"reference", j.reference},
          {"output", j.output},
          {"stage", j.stage},
          {"state", j.state},
          {"attempts", j.attempts},
          {"last_error", j.last_error},
          {"created_at", j.created_at},
          {"updated_at", j.updated_at},
          {"finished_at", j.finished_at},
          {"not_before", j.not_before},
          {"input_bytes", j.input_bytes},
          {"output_bytes", j.output_bytes},
          {"records", j.records},
          {"output_md5", j.output_md5},
          {"compress_count", j.compress_count},
          {"shipped", j.shipped},
          {"extra", j.extra}};
}

std::string StatusCodeKey(StatusCode code) {
  std::string s(StatusCodeName(code));
  for (auto& c : s)
    if (c == ' ') c = '_';
  return s;
}

struct LiveProgress {
  std::string sample, run_id, stage;
  double stage_started = 0;  // monotonic
  uint64_t records = 0, input_bytes = 0, total_input_bytes = 0;
  double elapsed = 0;
};

// Removes temporaries that a killed stage left for this sample in `dir`. AtomicOutput names them
// ".<final name>.tmp.<pid>.<random>"; only those of processes that no longer exist are removed, so
// a concurrent job of this daemon (same pid) or a live `cramjet` run is never disturbed.
void RemoveTemporaries(const std::string& dir, const std::string& sample) {
  static const std::regex temp_re(R"(^\.?(.+)\.tmp\.([0-9]+)\.[0-9a-f]+$)");
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string n = e.path().filename().string();
    std::smatch m;
    if (!std::regex_match(n, m, temp_re)) continue;
    std::string final_name = m[1];
    if (final_name.rfind(sample + ".", 0) != 0 && final_name.rfind(sample + "_", 0) != 0) continue;
    pid_t pid = static_cast<pid_t>(std::stol(m[2]));
    if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
    CJ_LOG(kInfo) << "removing temporary '" << e.path().string() << "' left by an interrupted stage";
    fs::remove(e.path(), ec);
  }
}

bool FileExists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

}  // namespace

std::string PromEscape(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

class Daemon {
 public:
  explicit Daemon(DaemonOptions options) : opt_(std::move(options)), c_(opt_.config) {}

  int Run();

 private:
  // ---- setup ----
  Status Setup();
  Status OpenApiSocket();
  Status OpenMetricsSocket();
  void Notify(const std::string& text) {
    if (opt_.notify_systemd) sd_notify(0, text.c_str());
  }
  // Intake stops for this scan (nothing is taken that the journal cannot vouch for) and says why.
  void JournalFailed(const Status& status) {
    CJ_LOG(kError) << "intake stopped: " << status.message();
    SetLastError("intake stopped: " + status.message());
  }
  void SetLastError(const std::string& message) {
    std::lock_guard<std::mutex> lock(mu_);
    last_error_ = message;
    last_error_at_ = Now();
  }

  // ---- intake ----
  void Scan(bool force_runs);
  void ScanWatchRoot(const WatchRoot& root);
  Status TakeRun(const WatchRoot& root, const std::string& run_dir, bool forced, std::vector<int64_t>* ids);
  void ScanDrop();
  Status TakeDrop(const std::string& entry, std::vector<int64_t>* ids);
  void CheckDisk();
  void AddWatch(const std::string& dir);

  // ---- jobs ----
  void WorkerLoop(int index);
  void RunJob(Job job);
  Status RunStage(Job& job);
  Status StageCompress(Job& job);
  Status StageVerify(Job& job);
  Status StageQc(Job& job);
  Status StageShip(Job& job);
  Status StageCleanup(Job& job);
  bool SleepInterruptible(int ms);
  std::vector<std::string> OutputFiles(const Job& job);

  // ---- API ----
  void ApiLoop();
  json HandleRequest(const json& request);
  json StatusJson();
  void MetricsLoop();
  std::string MetricsText();
  std::string StateName() const {
    if (stopping_) return "stopping";
    if (draining_) return "draining";
    if (paused_) return "paused";
    return "running";
  }

  DaemonOptions opt_;
  const DaemonConfig& c_;
  std::unique_ptr<Journal> journal_;
  int lock_fd_ = -1, api_fd_ = -1, metrics_fd_ = -1, inotify_fd_ = -1, signal_fd_ = -1;
  int wake_pipe_[2] = {-1, -1};
  std::atomic<bool> stopping_{false}, paused_{false}, draining_{false}, intake_paused_disk_{false};
  std::atomic<bool> scan_requested_{false};
  std::atomic<int> running_jobs_{0};
  double started_at_ = 0, started_mono_ = 0;

  std::mutex mu_;  // guards everything below
  std::condition_variable work_cv_;
  std::map<int64_t, LiveProgress> live_;
  std::map<std::string, std::string> waiting_runs_;   // run folder -> why
  std::map<std::string, std::string> rejected_;       // run folder / drop entry -> error
  std::map<std::string, int> watched_;                // folder -> inotify wd
  std::vector<json> disks_;
  std::string last_error_;
  double last_error_at_ = 0;
  std::map<std::string, double> stage_seconds_total_;
  std::map<std::string, uint64_t> stage_runs_total_;
  std::map<std::string, uint64_t> stage_failures_total_;
  uint64_t jobs_completed_total_ = 0, jobs_failed_total_ = 0, jobs_created_total_ = 0;
  uint64_t bytes_in_total_ = 0, bytes_out_total_ = 0, api_requests_total_ = 0;
};

// =================================================================================================
// Setup
Status Daemon::Setup() {
  std::error_code ec;
  fs::create_directories(c_.state_dir, ec);
  if (ec) return IoError("creating state folder '" + c_.state_dir + "': " + ec.message());
  std::string lock_path = c_.state_dir + "/cramjetd.lock";
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (lock_fd_ < 0) return IoErrorFromErrno("opening '" + lock_path + "'", errno);
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0)
    return FailedPrecondition("another cramjetd holds '" + lock_path + "' (one daemon per state folder)");
  CRAMJET_ASSIGN_OR_RETURN(journal_, Journal::Open(c_.state_dir + "/journal.sqlite"));
  CRAMJET_RETURN_IF_ERROR(journal_->RequeueRunning());
  CRAMJET_ASSIGN_OR_RETURN(std::string paused, journal_->GetSetting("paused"));
  paused_ = paused == "1";
  fs::create_directories(c_.state_dir + "/ship", ec);
  if (::pipe2(wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) return IoErrorFromErrno("pipe", errno);
  CRAMJET_RETURN_IF_ERROR(OpenApiSocket());
  CRAMJET_RETURN_IF_ERROR(OpenMetricsSocket());
  inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) {
    CJ_LOG(kWarning) << "inotify unavailable (" << std::strerror(errno) << "); relying on rescans";
  }
  return Status::Ok();
}

Status Daemon::OpenApiSocket() {
  const std::string& path = c_.socket_path;
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) return InvalidArgument("api.socket path is too long: '" + path + "'");
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  std::error_code ec;
  fs::create_directories(DirName(path), ec);
  // A socket file left by a killed daemon is removed; a live one means another daemon.
  if (FileExists(path)) {
    int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool live = ::connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(probe);
    if (live) return FailedPrecondition("another daemon answers on '" + path + "'");
    ::unlink(path.c_str());
  }
  api_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (api_fd_ < 0) return IoErrorFromErrno("socket", errno);
  mode_t old = ::umask(0117);  // the socket is born 0660: no window with wider access
  int rc = ::bind(api_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old);
  if (rc != 0) return IoErrorFromErrno("binding the API socket '" + path + "'", errno);
  if (!c_.socket_group.empty()) {
    group* g = ::getgrnam(c_.socket_group.c_str());
    if (!g) return InvalidArgument("api.socket_group: no group '" + c_.socket_group + "'");
    if (::chown(path.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0)
      return IoErrorFromErrno("giving '" + path + "' to group '" + c_.socket_group + "'", errno);
  }
  if (::chmod(path.c_str(), 0660) != 0) return IoErrorFromErrno("chmod 0660 '" + path + "'", errno);
  if (::listen(api_fd_, 16) != 0) return IoErrorFromErrno("listen on '" + path + "'", errno);
  return Status::Ok();
}

Status Daemon::OpenMetricsSocket() {
  if (c_.metrics_listen.empty()) return Status::Ok();
  std::string host, port;
  const std::string& l = c_.metrics_listen;
  if (l[0] == '[') {
    size_t close = l.find(']');
    host = l.substr(1, close - 1);
    port = l.substr(close + 2);
  } else {
    size_t colon = l.rfind(':');
    host = l.substr(0, colon);
    port = l.substr(colon + 1);
  }
  addrinfo hints{}, *res = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || !res)
    return InvalidArgument("metrics.listen: cannot resolve '" + l + "'");
  Status status = IoError("metrics.listen: cannot bind '" + l + "'");
  for (addrinfo* a = res; a; a = a->ai_next) {
    // Only loopback addresses are ever bound, whatever the name resolved to.
    bool loop = (a->ai_family == AF_INET &&
                 (ntohl(reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr.s_addr) >> 24) == 127) ||
                (a->ai_family == AF_INET6 &&
                 IN6_IS_ADDR_LOOPBACK(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr));
    if (!loop) continue;
    int fd = ::socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd >= 0 && ::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 16) == 0) {
      metrics_fd_ = fd;
      status = Status::Ok();
      break;
    }
    status = IoErrorFromErrno("metrics.listen: binding '" + l + "'", errno);
    if (fd >= 0) ::close(fd);
  }
  freeaddrinfo(res);
  return status;
}

// =================================================================================================
// Intake
void Daemon::AddWatch(const std::string& dir) {
  if (inotify_fd_ < 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (watched_.count(dir)) return;
  int wd = inotify_add_watch(inotify_fd_, dir.c_str(),
                             IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF | IN_ONLYDIR);
  if (wd >= 0) watched_[dir] = wd;
}

void Daemon::CheckDisk() {
  std::vector<json> disks;
  std::set<std::string> paths{c_.state_dir};
  for (const auto& w : c_.watch) paths.insert(w.output);
  if (!c_.drop.output.empty()) paths.insert(c_.drop.output);
  double min_free = -1;
  std::set<unsigned long> file_systems;  // one line per file system, not per folder
  for (const auto& p : paths) {
    struct statvfs vfs;
    if (::statvfs(p.c_str(), &vfs) != 0) continue;
    if (!file_systems.insert(vfs.f_fsid).second) continue;
    double free_bytes = static_cast<double>(vfs.f_bavail) * vfs.f_frsize;
    double total = static_cast<double>(vfs.f_blocks) * vfs.f_frsize;
    disks.push_back({{"path", p}, {"free_bytes", static_cast<uint64_t>(free_bytes)},
                     {"total_bytes", static_cast<uint64_t>(total)}});
    if (min_free < 0 || free_bytes < min_free) min_free = free_bytes;
  }
  const double gb = 1e9;
  if (min_free >= 0) {
    if (!intake_paused_disk_ && min_free < c_.min_free_disk_gb * gb) {
      intake_paused_disk_ = true;
      CJ_LOG(kWarning) << "intake paused: free disk " << std::fixed << std::setprecision(1) << min_free / gb
                       << " GB is below intake.min_free_disk_gb = " << c_.min_free_disk_gb;
      SetLastError("intake paused: low free disk");
    } else if (intake_paused_disk_ && min_free >= c_.resume_free_disk_gb * gb) {
      intake_paused_disk_ = false;
      CJ_LOG(kInfo) << "intake resumed: free disk " << min_free / gb << " GB";
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  disks_ = std::move(disks);
}

void Daemon::Scan(bool force_runs) {
  CheckDisk();
  if (intake_paused_disk_ || draining_ || stopping_) return;
  for (const auto& root : c_.watch) ScanWatchRoot(root);
  if (!c_.drop.path.empty()) ScanDrop();
}

void Daemon::ScanWatchRoot(const WatchRoot& root) {
  AddWatch(root.path);
  std::error_code ec;
  std::vector<std::string> runs;
  for (const auto& e : fs::directory_iterator(root.path, ec))
    if (e.is_directory(ec) && e.path().filename().string()[0] != '.') runs.push_back(e.path().string());
  std::sort(runs.begin(), runs.end());
  for (const auto& run_dir : runs) {
    auto taken = journal_->RunTaken(run_dir);
    if (!taken.ok()) {
      // The journal cannot say whether the run was taken: take nothing until it can.
      JournalFailed(taken.status());
      return;
    }
    if (*taken) {
      std::lock_guard<std::mutex> lock(mu_);
      waiting_runs_.erase(run_dir);
      if (watched_.count(run_dir)) {
        inotify_rm_watch(inotify_fd_, watched_[run_dir]);
        watched_.erase(run_dir);
      }
      continue;
    }
    std::string why;
    RunReadiness ready = CheckRunReady(run_dir, c_.rta_only_timeout_hours * 3600, &why);
    if (ready == RunReadiness::kNotARun) continue;
    AddWatch(run_dir);
    if (ready == RunReadiness::kWaiting) {
      std::lock_guard<std::mutex> lock(mu_);
      if (waiting_runs_[run_dir] != why) {
        CJ_LOG(kInfo) << "run '" << run_dir << "': " << why;
      }
      waiting_runs_[run_dir] = why;
      continue;
    }
    Status s = TakeRun(root, run_dir, false, nullptr);
    if (!s.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      bool waiting = s.code() == StatusCode::kNotFound;
      auto& slot = waiting ? waiting_runs_[run_dir] : rejected_[run_dir];
      if (slot != s.message()) {
        if (waiting) {
          CJ_LOG(kInfo) << "run '" << run_dir << "' waits: " << s.message();
        } else {
          CJ_LOG(kError) << "run '" << run_dir << "' refused: " << s.message();
        }
        if (!waiting) {
          last_error_ = s.message();
          last_error_at_ = Now();
        }
      }
      slot = s.message();
      if (!waiting) waiting_runs_.erase(run_dir);
    }
  }
}

Status Daemon::TakeRun(const WatchRoot& root, const std::string& run_dir, bool forced, std::vector<int64_t>* ids) {
  std::string run_name = BaseName(run_dir);
  CRAMJET_RETURN_IF_ERROR(CheckSafeName(run_name, "run folder name"));
  CRAMJET_ASSIGN_OR_RETURN(std::string run_info_text, ReadSmallFile(run_dir + "/RunInfo.xml"));
  CRAMJET_ASSIGN_OR_RETURN(RunInfo info, ParseRunInfo(run_info_text, run_dir + "/RunInfo.xml"));
  CRAMJET_ASSIGN_OR_RETURN(std::string sheet_text, ReadSmallFile(run_dir + "/SampleSheet.csv"));
  CRAMJET_ASSIGN_OR_RETURN(SampleSheet sheet, ParseSampleSheet(sheet_text, run_dir + "/SampleSheet.csv"));
  CRAMJET_ASSIGN_OR_RETURN(std::vector<SampleInputs> samples, CollectRunSamples(run_dir, sheet));
  std::string out_dir = root.output + "/" + run_name;
  std::vector<Job> jobs;
  for (const auto& s : samples) {
    std::string ref_name = s.reference.empty() ? root.reference : s.reference;
    if (ref_name.empty())
      return BadInput(run_dir + ": sample '" + s.sample + "' names no reference and the watch root has no default");
    auto ref = c_.references.find(ref_name);
    if (ref == c_.references.end())
      return BadInput(run_dir + "/SampleSheet.csv: sample '" + s.sample + "': reference '" + ref_name +
                      "' is not in [references]");
    Job j;
    j.key = run_dir + "#" + s.sample;
    j.origin = forced ? "submit" : "run";
    j.run_id = info.run_id;
    j.run_path = run_dir;
    j.instrument = info.instrument;
    j.flowcell = info.flowcell;
    j.sample = s.sample;
    j.inputs = s.inputs;
    j.paired = s.paired;
    j.format = s.format;
    j.lanes = s.lanes;
    j.reference = ref->second;
    j.output = out_dir + "/" + s.sample + ".cram";
    j.input_bytes = s.input_bytes;
    // Belt and braces: the name checks above make this impossible; refuse rather than trust them.
    if (!PathIsInside(j.output, root.output))
      return BadInput(run_dir + ": output for sample '" + s.sample + "' would leave " + root.output);
    jobs.push_back(std::move(j));
  }
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return IoError("creating '" + out_dir + "': " + ec.message());
  CRAMJET_ASSIGN_OR_RETURN(int added, journal_->AddJobs(jobs, run_dir));
  CJ_LOG(kInfo) << "run '" << run_name << "' (" << info.run_id << "): " << added << " job(s) queued from sheet "
                << (sheet.version == 2 ? "v2" : "v1") << " [" << sheet.data_section << "]";
  {
    std::lock_guard<std::mutex> lock(mu_);
    waiting_runs_.erase(run_dir);
    rejected_.erase(run_dir);
    jobs_created_total_ += added;
  }
  if (ids)
    for (const auto& j : jobs)
      if (auto all = journal_->ListJobs("", 0); all.ok())
        for (const auto& row : *all)
          if (row.key == j.key) ids->push_back(row.id);
  work_cv_.notify_all();
  return Status::Ok();
}

void Daemon::ScanDrop() {
  AddWatch(c_.drop.path);
  std::error_code ec;
  std::vector<std::string> entries;
  for (const auto& e : fs::directory_iterator(c_.drop.path, ec)) {
    std::string n = e.path().filename().string();
    if (n.empty() || n[0] == '.' || n.ends_with(".ready") || n.find(".tmp") != std::string::npos ||
        n.ends_with(".part"))
      continue;
    entries.push_back(e.path().string());
  }
  std::sort(entries.begin(), entries.end());
  for (const auto& entry : entries) {
    auto known = journal_->HasJobKey("drop:" + entry);
    if (!known.ok()) {
      JournalFailed(known.status());
      return;
    }
    if (*known) continue;
    bool marker = FileExists(entry + ".ready") || FileExists(entry + "/.ready");
    if (!marker) {
      // Settled: nothing in the entry changed for settle_seconds.
      double newest = 0;
      auto consider = [&](const std::string& p) {
        struct stat st;
        if (::stat(p.c_str(), &st) == 0) newest = std::max(newest, static_cast<double>(st.st_mtime));
      };
      consider(entry);
      if (fs::is_directory(entry, ec))
        for (const auto& f : fs::recursive_directory_iterator(entry, ec)) consider(f.path().string());
      if (Now() - newest < c_.drop.settle_seconds) {
        AddWatch(entry);
        continue;
      }
    }
    Status s = TakeDrop(entry, nullptr);
    if (!s.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      if (rejected_[entry] != s.message()) {
        CJ_LOG(kError) << "drop entry refused: " << s.message();
      }
      rejected_[entry] = s.message();
    }
  }
}

Status Daemon::TakeDrop(const std::string& entry, std::vector<int64_t>* ids) {
  CRAMJET_RETURN_IF_ERROR(CheckSafeName(BaseName(entry), "drop entry name"));
  CRAMJET_ASSIGN_OR_RETURN(SampleInputs s, CollectDropSample(entry));
  if (c_.drop.reference.empty()) return BadInput(entry + ": [drop] has no reference configured");
  Job j;
  j.key = "drop:" + entry;
  j.origin = "drop";
  j.run_path = "";
  j.sample = s.sample;
  j.inputs = s.inputs;
  j.paired = s.paired;
  j.format = s.format;
  j.reference = c_.references.at(c_.drop.reference);
  j.output = c_.drop.output + "/" + s.sample + ".cram";
  j.input_bytes = s.input_bytes;
  if (!PathIsInside(j.output, c_.drop.output)) return BadInput(entry + ": output would leave " + c_.drop.output);
  CRAMJET_ASSIGN_OR_RETURN(int added, journal_->AddJobs({j}, ""));
  if (added == 0) return FailedPrecondition(entry + ": already taken");
  CJ_LOG(kInfo) << "drop entry '" << BaseName(entry) << "' queued as sample '" << s.sample << "'";
  if (ids)
    if (auto all = journal_->ListJobs("", 0); all.ok())
      for (const auto& row : *all)
        if (row.key == j.key) ids->push_back(row.id);
  {
    std::lock_guard<std::mutex> lock(mu_);
    rejected_.erase(entry);
    jobs_created_total_ += added;
  }
  work_cv_.notify_all();
  return Status::Ok();
}

// =================================================================================================
// Jobs
bool Daemon::SleepInterruptible(int ms) {
  double until = Mono() + ms / 1000.0;
  while (Mono() < until) {
    if (stopping_) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(20, ms)));
  }
  return true;
}

void Daemon::WorkerLoop(int index) {
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait_for(lock, std::chrono::milliseconds(500), [&] { return stopping_.load(); });
    }
    while (!stopping_ && !paused_ && !draining_) {
      auto claimed = journal_->ClaimNext(Now());
      if (!claimed.ok()) {
        CJ_LOG(kError) << "worker " << index << ": " << claimed.status().message();
        SetLastError(claimed.status().message());
        break;
      }
      if (!claimed->has_value()) break;
      ++running_jobs_;
      RunJob(std::move(**claimed));
      --running_jobs_;
    }
    if (stopping_) return;
  }
}

void Daemon::RunJob(Job job) {
  while (job.stage != "done") {
    if (stopping_) {
      // Leave it resumable at this stage.
      job.state = "queued";
      journal_->Save(job).IgnoreError();
      return;
    }
    std::string stage = job.stage;
    double t0 = Mono();
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto& p = live_[job.id];
      p.sample = job.sample;
      p.run_id = job.run_id;
      p.stage = stage;
      p.stage_started = t0;
      p.records = p.input_bytes = 0;
      p.elapsed = 0;
      p.total_input_bytes = job.input_bytes;
    }
    Status s = RunStage(job);
    double seconds = Mono() - t0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stage_seconds_total_[stage] += seconds;
      stage_runs_total_[stage] += 1;
      if (!s.ok() && s.code() != StatusCode::kAborted) stage_failures_total_[stage] += 1;
    }
    if (s.code() == StatusCode::kAborted) {  // SIGTERM during the stage: resumable
      job.state = "queued";
      journal_->Save(job).IgnoreError();
      journal_->AddEvent(job.id, stage, "interrupted by shutdown; resumes here").IgnoreError();
      break;
    }
    if (!s.ok() && stage == "cleanup" && job.not_before > Now()) {
      // Retention not over: wait without counting an attempt.
      job.state = "queued";
      journal_->Save(job).IgnoreError();
      break;
    }
    if (!s.ok()) {
      job.attempts += 1;
      job.last_error = stage + ": " + s.message();
      bool permanent = s.code() == StatusCode::kBadInput || s.code() == StatusCode::kNotFound ||
                       s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kFailedPrecondition ||
                       s.code() == StatusCode::kUnimplemented;
      if (permanent || job.attempts >= c_.max_attempts) {
        job.state = "failed";
        job.finished_at = Now();
        std::lock_guard<std::mutex> lock(mu_);
        jobs_failed_total_ += 1;
      } else {
        job.state = "queued";
        job.not_before = Now() + c_.retry_delay_s * std::pow(2.0, job.attempts - 1);
      }
      CJ_LOG(kError) << "job " << job.id << " (" << job.sample << ") " << stage << " failed (attempt "
                     << job.attempts << "): " << s.message() << (job.state == "failed" ? "" : "; will retry");
      SetLastError("job " + std::to_string(job.id) + " " + job.sample + ": " + job.last_error);
      journal_->Save(job).IgnoreError();
      journal_->AddEvent(job.id, stage, "failed: " + s.message()).IgnoreError();
      break;
    }
    job.stage = NextStage(stage);
    if (job.stage == "done") {
      job.state = "done";
      job.finished_at = Now();
      job.last_error.clear();
    }
    // The stage's outputs are complete; this commit (synchronous=FULL) is what makes it count.
    Status saved = journal_->Save(job);
    if (!saved.ok()) {
      CJ_LOG(kError) << "job " << job.id << ": " << saved.message();
      SetLastError(saved.message());
      break;
    }
    journal_->AddEvent(job.id, stage, "done in " + std::to_string(seconds).substr(0, 6) + " s").IgnoreError();
    if (job.stage == "done") {
      CJ_LOG(kInfo) << "job " << job.id << " (" << job.sample << ") done: " << job.records << " records, "
                    << job.input_bytes << " -> " << job.output_bytes << " bytes";
      std::lock_guard<std::mutex> lock(mu_);
      jobs_completed_total_ += 1;
      bytes_in_total_ += job.input_bytes;
      bytes_out_total_ += job.output_bytes;
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  live_.erase(job.id);
}

Status Daemon::RunStage(Job& job) {
  if (c_.stage_delay_ms > 0 && !SleepInterruptible(c_.stage_delay_ms))
    return Aborted("stopping");
  if (job.stage == "compress") return StageCompress(job);
  if (job.stage == "verify") return StageVerify(job);
  if (job.stage == "qc") return StageQc(job);
  if (job.stage == "ship") return StageShip(job);
  if (job.stage == "cleanup") return StageCleanup(job);
  return Internal("unknown stage '" + job.stage + "'");
}

Status Daemon::StageCompress(Job& job) {
  std::string dir = DirName(job.output);
  std::error_code ec;
  fs::create_directories(dir, ec);
  RemoveTemporaries(dir, job.sample);
  // A kill after Compress renamed its outputs but before the journal moved on leaves a complete
  // set: adopt it (the verify stage proves it) instead of compressing a second time.
  if (FileExists(job.output) && FileExists(job.output + ".md5") && FileExists(job.output + ".seqchksum")) {
    journal_->AddEvent(job.id, "compress", "complete outputs found from an interrupted run; verify decides")
        .IgnoreError();
    auto size = FileSize(job.output);
    if (size.ok()) job.output_bytes = *size;
    job.compress_count += 1;
    return Status::Ok();
  }
  if (!opt_.stages.compress) return Unimplemented("the compress stage is not in this build");
  CompressOptions o;
  o.inputs = job.inputs;
  o.paired = job.paired;
  o.output = job.output;
  o.reference = job.reference;
  o.cram_version = c_.cram_version;
  o.profile = *ParseCramProfile(c_.profile);
  o.threads = c_.threads_per_job;
  o.accel = c_.accel;
  o.xclbin = c_.xclbin;
  o.placement = c_.placement == "unaligned" ? FastqPlacement::kUnaligned : FastqPlacement::kMapped;
  o.keep_order = c_.keep_order && o.placement == FastqPlacement::kMapped && job.format == "fastq";
  o.build_index = c_.build_index;
  // Half the job's memory share sorts; the rest holds the index, decoder and QC.
  o.memory_bytes = c_.memory_per_job_mb * (1ull << 20) / 2;
  o.sample = job.sample;
  o.command_line = "cramjetd job " + std::to_string(job.id);
  int64_t id = job.id;
  o.progress = [this, id](const Progress& p) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(id);
    if (it == live_.end()) return;
    it->second.records = p.records;
    it->second.input_bytes = p.input_bytes;
    it->second.elapsed = p.elapsed_seconds;
  };
  CRAMJET_ASSIGN_OR_RETURN(CompressResult r, opt_.stages.compress(o));
  job.records = r.records;
  job.output_bytes = r.output_bytes;
  job.output_md5 = r.output_md5;
  job.compress_count += 1;
  job.extra["compress"] = {{"records", r.records}, {"bases", r.bases}, {"seconds", r.seconds}};
  return Status::Ok();
}

Status Daemon::StageVerify(Job& job) {
  RemoveTemporaries(DirName(job.output), job.sample);
  if (!opt_.stages.verify) return Unimplemented("the verify stage is not in this build");
  VerifyOptions v;
  v.cram = job.output;
  v.reference = job.reference;
  v.threads = c_.threads_per_job;
  CRAMJET_ASSIGN_OR_RETURN(VerifyResult r, opt_.stages.verify(v));
  job.extra["verify"] = {{"equal", r.equal}, {"records", r.records}, {"md5_checked", r.md5_checked},
                         {"md5_equal", r.md5_equal}, {"verdict", r.verdict}};
  if (!r.equal || (r.md5_checked && !r.md5_equal)) {
    // Never keep a CRAM that disagrees with its checksums: remove the set and compress again.
    for (const auto& f : OutputFiles(job)) fs::remove(f);
    job.stage = "compress";
    return DataLoss(job.output + ": verification failed (" + r.verdict + "); outputs removed, compress again");
  }
  job.records = r.records;
  if (job.output_md5.empty()) {
    auto md5 = ReadSmallFile(job.output + ".md5");
    if (md5.ok()) job.output_md5 = md5->substr(0, 32);
  }
  auto size = FileSize(job.output);
  if (size.ok()) job.output_bytes = *size;
  return Status::Ok();
}

std::vector<std::string> Daemon::OutputFiles(const Job& job) {
  std::vector<std::string> files;
  for (const char* suffix : {"", ".crai", ".seqchksum", ".md5"})
    if (FileExists(job.output + suffix)) files.push_back(job.output + suffix);
  if (job.extra.contains("qc_files"))
    for (const auto& f : job.extra["qc_files"]) files.push_back(f.get<std::string>());
  return files;
}

Status Daemon::StageQc(Job& job) {
  // QC is computed by compress; this stage collects exactly the QC files it writes beside the
  // CRAM (by name, not by a prefix glob: sample S1's set must not take sample S1_b's files).
  std::vector<std::string> qc;
  for (const std::string& path : QcOutputPaths(QcPrefixForCram(job.output)))
    if (FileExists(path)) qc.push_back(path);
  std::sort(qc.begin(), qc.end());
  job.extra["qc_files"] = qc;
  return Status::Ok();
}

Status Daemon::StageShip(Job& job) {
  if (!opt_.stages.ship) {
    job.extra["ship"] = "skipped (archive disabled)";
    return Status::Ok();
  }
  ShipJob s;
  s.job_id = job.id;
  s.sample = job.sample;
  s.run_id = job.run_id;
  s.instrument = job.instrument;
  s.flowcell = job.flowcell;
  s.lanes = job.lanes;
  s.files = OutputFiles(job);
  s.state_dir = c_.state_dir + "/ship/" + std::to_string(job.id);
  CRAMJET_RETURN_IF_ERROR(opt_.stages.ship(s));
  job.shipped = true;
  job.extra["ship"] = "verified";
  return Status::Ok();
}

Status Daemon::StageCleanup(Job& job) {
  if (c_.cleanup_policy == "keep") {
    job.extra["cleanup"] = "kept (policy keep)";
    return Status::Ok();
  }
  if (!job.shipped) {
    job.extra["cleanup"] = "kept (not shipped)";
    return Status::Ok();
  }
  double due = job.finished_at;  // set below when first reached
  if (!job.extra.contains("cleanup_due")) {
    job.extra["cleanup_due"] = Now() + c_.retention_hours * 3600;
    journal_->Save(job).IgnoreError();
  }
  due = job.extra["cleanup_due"].get<double>();
  if (Now() < due) {
    // Not yet: come back later without counting an attempt.
    job.not_before = due;
    return Unavailable("retention until " + std::to_string(static_cast<int64_t>(due)));
  }
  std::vector<std::string> remove = job.inputs;
  if (c_.cleanup_policy == "delete-all")
    for (const auto& f : OutputFiles(job)) remove.push_back(f);
  for (const auto& f : remove) {
    std::error_code ec;
    fs::remove(f, ec);
    if (ec) return IoError("cleanup: removing '" + f + "': " + ec.message());
  }
  job.extra["cleanup"] = "removed " + std::to_string(remove.size()) + " file(s)";
  return Status::Ok();
}

// =================================================================================================
// API
json Daemon::StatusJson() {
  json j;
  j["version"] = Version();
  j["pid"] = ::getpid();
  j["started_at"] = started_at_;
  j["uptime_seconds"] = Mono() - started_mono_;
  j["backend"] = opt_.stages.backend;
  j["state"] = StateName();
  j["intake_paused_low_disk"] = intake_paused_disk_.load();
  j["workers"] = c_.Concurrency();
  auto counts = journal_->CountByState();
  json jobs = json::object();
  if (counts.ok())
    for (const auto& [k, v] : *counts) jobs[k] = v;
  if (auto today = journal_->CountDoneSince(LocalMidnight()); today.ok()) jobs["done_today"] = *today;
  else jobs["done_today"] = nullptr;  // last_error says why
  j["jobs"] = jobs;
  std::lock_guard<std::mutex> lock(mu_);
  json running = json::array();
  double mono = Mono();
  for (const auto& [id, p] : live_) {
    json r = {{"id", id}, {"sample", p.sample}, {"run_id", p.run_id}, {"stage", p.stage},
              {"stage_seconds", mono - p.stage_started}, {"records", p.records},
              {"input_bytes_read", p.input_bytes}, {"input_bytes", p.total_input_bytes}};
    r["progress"] = p.stage == "compress" && p.total_input_bytes > 0
                        ? json(std::min(1.0, static_cast<double>(p.input_bytes) / p.total_input_bytes))
                        : json(nullptr);
    r["throughput_bytes_per_second"] = p.elapsed > 0 ? json(p.input_bytes / p.elapsed) : json(nullptr);
    running.push_back(r);
  }
  j["running"] = running;
  j["disk"] = disks_;
  j["min_free_disk_bytes"] = static_cast<uint64_t>(c_.min_free_disk_gb * 1e9);
  json waiting = json::array();
  for (const auto& [path, why] : waiting_runs_) waiting.push_back({{"path", path}, {"reason", why}});
  j["waiting_runs"] = waiting;
  json rejected = json::array();
  for (const auto& [path, why] : rejected_) rejected.push_back({{"path", path}, {"error", why}});
  j["rejected"] = rejected;
  j["last_error"] = last_error_.empty() ? json(nullptr) : json{{"at", last_error_at_}, {"message", last_error_}};
  j["config_files"] = c_.files;
  return j;
}

json Daemon::HandleRequest(const json& req) {
  auto error = [](const Status& s) {
    return json{{"ok", false}, {"error", {{"code", StatusCodeKey(s.code())}, {"message", s.message()}}}};
  };
  if (!req.is_object() || !req.contains("method") || !req["method"].is_string())
    return error(InvalidArgument("request must be a JSON object with a \"method\""));
  int version = req.value("api_version", kDaemonApiVersion);
  if (version != kDaemonApiVersion)
    return error(InvalidArgument("api_version " + std::to_string(version) + " is not served (this daemon: " +
                                 std::to_string(kDaemonApiVersion) + ")"));
  std::string m = req["method"];
  json params = req.value("params", json::object());
  auto ok = [](json result) { return json{{"ok", true}, {"result", std::move(result)}}; };
  auto get_id = [&](int64_t* id) -> Status {
    if (!params.contains("id") || !params["id"].is_number_integer()) return InvalidArgument("params.id (integer) is required");
    *id = params["id"].get<int64_t>();
    return Status::Ok();
  };
  if (m == "status") return ok(StatusJson());
  if (m == "jobs") {
    std::string state = params.value("state", "");
    if (!state.empty() && state != "queued" && state != "running" && state != "failed" && state != "done")
      return error(InvalidArgument("state must be queued, running, failed or done"));
    auto jobs = journal_->ListJobs(state, params.value("limit", 100));
    if (!jobs.ok()) return error(jobs.status());
    json arr = json::array();
    for (const auto& job : *jobs) arr.push_back(JobJson(job));
    return ok({{"jobs", arr}});
  }
  if (m == "job" || m == "retry") {
    int64_t id = 0;
    if (Status s = get_id(&id); !s.ok()) return error(s);
    auto job = journal_->GetJob(id);
    if (!job.ok()) return error(job.status());
    if (m == "retry") {
      if (job->state != "failed" && job->state != "queued")
        return error(FailedPrecondition("job " + std::to_string(id) + " is " + job->state + "; only failed or waiting jobs are retried"));
      job->state = "queued";
      job->attempts = 0;
      job->not_before = 0;
      job->finished_at = 0;
      if (Status s = journal_->Save(*job); !s.ok()) return error(s);
      journal_->AddEvent(id, job->stage, "retry requested by operator").IgnoreError();
      work_cv_.notify_all();
      return ok(JobJson(*job));
    }
    json out = JobJson(*job);
    auto events = journal_->Events(id);
    out["events"] = events.ok() ? *events : json::array();
    return ok(out);
  }
  if (m == "pause" || m == "resume") {
    paused_ = m == "pause";
    journal_->SetSetting("paused", paused_ ? "1" : "0").IgnoreError();
    CJ_LOG(kInfo) << (paused_ ? "paused by operator: no new jobs start" : "resumed by operator");
    work_cv_.notify_all();
    return ok({{"state", StateName()}});
  }
  if (m == "drain") {
    draining_ = true;
    CJ_LOG(kInfo) << "draining: no new jobs start; exits when the running jobs are done";
    char b = 1;
    (void)!::write(wake_pipe_[1], &b, 1);
    return ok({{"state", StateName()}, {"running", running_jobs_.load()}});
  }
  if (m == "submit") {
    if (!params.contains("path") || !params["path"].is_string()) return error(InvalidArgument("params.path is required"));
    std::string path = params["path"];
    std::error_code ec;
    std::string abs = fs::weakly_canonical(path, ec).string();
    if (path.empty() || path[0] != '/') return error(InvalidArgument("path must be absolute: '" + path + "'"));
    std::vector<int64_t> ids;
    for (const auto& root : c_.watch) {
      if (DirName(abs) == root.path && PathIsInside(abs, root.path)) {
        if (!FileExists(abs + "/RunInfo.xml")) return error(BadInput(abs + ": no RunInfo.xml (not a run folder)"));
        auto taken = journal_->RunTaken(abs);
        if (!taken.ok()) return error(taken.status());
        if (*taken) return error(FailedPrecondition(abs + ": run already taken"));
        if (Status s = TakeRun(root, abs, true, &ids); !s.ok()) return error(s);
        return ok({{"job_ids", ids}});
      }
    }
    if (!c_.drop.path.empty() && DirName(abs) == c_.drop.path && PathIsInside(abs, c_.drop.path)) {
      if (Status s = TakeDrop(abs, &ids); !s.ok()) return error(s);
      return ok({{"job_ids", ids}});
    }
    return error(InvalidArgument("'" + path + "' is not a run folder directly under a watch root or an entry "
                                 "of the drop folder; the API takes no other paths"));
  }
  return error(InvalidArgument("unknown method '" + m + "'"));
}

void Daemon::ApiLoop() {
  while (!stopping_) {
    pollfd p{api_fd_, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    int fd = ::accept4(api_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    std::string line;
    char buf[4096];
    while (line.find('\n') == std::string::npos && line.size() < 65536) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, n);
    }
    json reply;
    json req = json::parse(line.substr(0, line.find('\n')), nullptr, false);
    if (req.is_discarded()) {
      reply = {{"ok", false}, {"error", {{"code", "invalid_argument"}, {"message", "request is not valid JSON"}}}};
    } else {
      reply = HandleRequest(req);
    }
    reply["api_version"] = kDaemonApiVersion;
    {
      std::lock_guard<std::mutex> lock(mu_);
      api_requests_total_ += 1;
    }
    std::string out = reply.dump() + "\n";
    size_t off = 0;
    while (off < out.size()) {
      ssize_t n = ::write(fd, out.data() + off, out.size() - off);
      if (n <= 0) break;
      off += n;
    }
    ::close(fd);
  }
}

std::string Daemon::MetricsText() {
  std::ostringstream o;
  auto metric = [&](const std::string& name, const std::string& type, const std::string& help) {
    o << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
  };
  metric("cramjet_build_info", "gauge", "Version of the running cramjetd.");
  o << "cramjet_build_info{version=\"" << PromEscape(Version()) << "\",backend=\"" << PromEscape(opt_.stages.backend)
    << "\"} 1\n";
  metric("cramjet_uptime_seconds", "gauge", "Seconds since cramjetd started.");
  o << "cramjet_uptime_seconds " << Mono() - started_mono_ << "\n";
  metric("cramjet_jobs", "gauge", "Jobs in the journal by state.");
  auto counts = journal_->CountByState();
  if (counts.ok())
    for (const auto& [state, n] : *counts) o << "cramjet_jobs{state=\"" << PromEscape(state) << "\"} " << n << "\n";
  metric("cramjet_paused", "gauge", "1 when an operator paused job starts.");
  o << "cramjet_paused " << (paused_ ? 1 : 0) << "\n";
  metric("cramjet_intake_paused_low_disk", "gauge", "1 while intake is paused for low free disk.");
  o << "cramjet_intake_paused_low_disk " << (intake_paused_disk_ ? 1 : 0) << "\n";
  std::lock_guard<std::mutex> lock(mu_);
  metric("cramjet_running_jobs", "gauge", "Jobs running a stage now.");
  o << "cramjet_running_jobs " << live_.size() << "\n";
  metric("cramjet_jobs_created_total", "counter", "Jobs created by intake since start.");
  o << "cramjet_jobs_created_total " << jobs_created_total_ << "\n";
  metric("cramjet_jobs_completed_total", "counter", "Jobs finished since start.");
  o << "cramjet_jobs_completed_total " << jobs_completed_total_ << "\n";
  metric("cramjet_jobs_failed_total", "counter", "Jobs that failed for good since start.");
  o << "cramjet_jobs_failed_total " << jobs_failed_total_ << "\n";
  metric("cramjet_input_bytes_total", "counter", "Input bytes of jobs finished since start.");
  o << "cramjet_input_bytes_total " << bytes_in_total_ << "\n";
  metric("cramjet_output_bytes_total", "counter", "CRAM bytes of jobs finished since start.");
  o << "cramjet_output_bytes_total " << bytes_out_total_ << "\n";
  metric("cramjet_api_requests_total", "counter", "Requests served on the API socket.");
  o << "cramjet_api_requests_total " << api_requests_total_ << "\n";
  metric("cramjet_stage_runs_total", "counter", "Stage runs since start.");
  for (const char* s : kStages) o << "cramjet_stage_runs_total{stage=\"" << s << "\"} " << stage_runs_total_[s] << "\n";
  metric("cramjet_stage_failures_total", "counter", "Failed stage runs since start.");
  for (const char* s : kStages)
    o << "cramjet_stage_failures_total{stage=\"" << s << "\"} " << stage_failures_total_[s] << "\n";
  metric("cramjet_stage_duration_seconds_total", "counter", "Wall seconds spent in each stage since start.");
  for (const char* s : kStages)
    o << "cramjet_stage_duration_seconds_total{stage=\"" << s << "\"} " << stage_seconds_total_[s] << "\n";
  metric("cramjet_free_disk_bytes", "gauge", "Free bytes on the file systems of the output roots and state folder.");
  for (const auto& d : disks_)
    o << "cramjet_free_disk_bytes{path=\"" << PromEscape(d["path"].get<std::string>()) << "\"} "
      << d["free_bytes"].get<uint64_t>() << "\n";
  return o.str();
}

void Daemon::MetricsLoop() {
  while (!stopping_) {
    pollfd p{metrics_fd_, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    int fd = ::accept4(metrics_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string req;
    char buf[2048];
    while (req.find("\r\n\r\n") == std::string::npos && req.find("\n\n") == std::string::npos && req.size() < 16384) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      req.append(buf, n);
    }
    std::string method = req.substr(0, req.find(' '));
    size_t a = req.find(' '), b = req.find(' ', a + 1);
    std::string target = a == std::string::npos ? "" : req.substr(a + 1, b - a - 1);
    int code = 200;
    std::string body, type = "text/plain; charset=utf-8";
    if (method != "GET" && method != "HEAD") {
      code = 405;
      body = "method not allowed\n";
    } else if (target == "/metrics") {
      body = MetricsText();
      type = "text/plain; version=0.0.4; charset=utf-8";
    } else if (target == "/livez") {
      body = "ok\n";
    } else if (target == "/readyz") {
      if (stopping_) { code = 503; body = "stopping\n"; }
      else if (intake_paused_disk_) { code = 503; body = "intake paused: low free disk\n"; }
      else body = "ok\n";
    } else {
      code = 404;
      body = "not found\n";
    }
    std::string reason = code == 200 ? "OK" : code == 404 ? "Not Found" : code == 405 ? "Method Not Allowed" : "Service Unavailable";
    std::string out = "HTTP/1.1 " + std::to_string(code) + " " + reason + "\r\nContent-Type: " + type +
                      "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
                      (method == "HEAD" ? "" : body);
    size_t off = 0;
    while (off < out.size()) {
      ssize_t n = ::write(fd, out.data() + off, out.size() - off);
      if (n <= 0) break;
      off += n;
    }
    ::close(fd);
  }
}

// =================================================================================================
// Main loop
int Daemon::Run() {
  started_at_ = Now();
  started_mono_ = Mono();
  // Signals arrive on a signalfd in the main loop; block them before any thread starts.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);
  signal_fd_ = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

  Status s = Setup();
  if (!s.ok()) {
    CJ_LOG(kError) << "cannot start: " << s.message();
    Notify("STATUS=cannot start: " + s.message());
    return 1;
  }
  int workers = c_.Concurrency();
  CJ_LOG(kInfo) << "cramjetd " << Version() << " started: " << c_.watch.size() << " watch root(s), "
                << (c_.drop.path.empty() ? "no drop folder" : "drop folder " + c_.drop.path) << ", " << workers
                << " worker(s), API on " << c_.socket_path
                << (c_.metrics_listen.empty() ? "" : ", metrics on http://" + c_.metrics_listen)
                << ", backend " << (opt_.stages.backend.empty() ? "unknown" : opt_.stages.backend)
                << (paused_ ? " (paused by operator)" : "");
  std::vector<std::thread> threads;
  threads.emplace_back([this] { ApiLoop(); });
  if (metrics_fd_ >= 0) threads.emplace_back([this] { MetricsLoop(); });
  for (int i = 0; i < workers; ++i) threads.emplace_back([this, i] { WorkerLoop(i); });

  Scan(false);
  Notify("READY=1\nSTATUS=watching " + std::to_string(c_.watch.size()) + " root(s)");
  uint64_t watchdog_usec = 0;
  bool watchdog = opt_.notify_systemd && sd_watchdog_enabled(0, &watchdog_usec) > 0;
  double next_scan = Mono() + c_.rescan_interval_s, next_ping = 0, next_status = 0, event_scan_at = 0;
  int exit_code = 0;
  while (true) {
    pollfd fds[3] = {{signal_fd_, POLLIN, 0}, {inotify_fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    ::poll(fds, 3, 200);
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo si;
      while (::read(signal_fd_, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGHUP) {
          CJ_LOG(kInfo) << "SIGHUP: rescanning (restart to reload the configuration)";
          event_scan_at = Mono();
        } else {
          CJ_LOG(kInfo) << "signal " << si.ssi_signo << ": stopping; running stages finish or stay resumable";
          stopping_ = true;
        }
      }
    }
    if (fds[1].revents & POLLIN) {
      char buf[16384];
      while (::read(inotify_fd_, buf, sizeof buf) > 0) {
      }
      // Files arrive in bursts; scan shortly after the burst rather than once per event.
      if (event_scan_at == 0) event_scan_at = Mono() + 0.5;
    }
    if (fds[2].revents & POLLIN) {
      char buf[64];
      while (::read(wake_pipe_[0], buf, sizeof buf) > 0) {
      }
    }
    if (stopping_) break;
    double now = Mono();
    if (draining_ && running_jobs_ == 0) {
      CJ_LOG(kInfo) << "drain complete: no job running; exiting";
      break;
    }
    if (now >= next_scan || (event_scan_at > 0 && now >= event_scan_at)) {
      Scan(false);
      next_scan = now + c_.rescan_interval_s;
      event_scan_at = 0;
      work_cv_.notify_all();
    }
    if (watchdog && now >= next_ping) {
      sd_notify(0, "WATCHDOG=1");
      next_ping = now + watchdog_usec / 2e6;
    }
    if (now >= next_status) {
      auto counts = journal_->CountByState();
      if (counts.ok())
        Notify("STATUS=" + StateName() + ": " + std::to_string((*counts)["running"]) + " running, " +
               std::to_string((*counts)["queued"]) + " queued, " + std::to_string((*counts)["failed"]) + " failed" +
               (intake_paused_disk_ ? ", intake paused (low disk)" : ""));
      next_status = now + 5;
    }
  }
  stopping_ = true;
  Notify("STOPPING=1\nSTATUS=stopping: waiting for running stages");
  work_cv_.notify_all();
  // Workers finish their current stage; past the grace period the process exits anyway and the
  // unfinished stages run again on the next start (the journal never moved past them).
  double deadline = Mono() + c_.shutdown_grace_s;
  while (running_jobs_ > 0 && Mono() < deadline) {
    if (watchdog) sd_notify(0, "WATCHDOG=1");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (running_jobs_ > 0) {
    CJ_LOG(kWarning) << running_jobs_.load() << " job(s) still in a stage after " << c_.shutdown_grace_s
                     << " s; exiting, they resume at that stage on the next start";
    ::unlink(c_.socket_path.c_str());
    std::fflush(nullptr);
    ::_exit(exit_code);
  }
  for (auto& t : threads) t.join();
  ::unlink(c_.socket_path.c_str());
  CJ_LOG(kInfo) << "cramjetd stopped";
  return exit_code;
}

int RunDaemon(DaemonOptions options) {
  Daemon d(std::move(options));
  return d.Run();
}

}  // namespace cramjet::daemon
