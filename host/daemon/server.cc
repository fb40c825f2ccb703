// cramjetd's server: opening (lock, journal, sockets, watches), the threads, and the main loop
// (signals, inotify, rescans, disk checks, drain, systemd's status and watchdog).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "common/common.h"
#include "common/unique_fd.h"
#include "cramjet/log.h"
#include "cramjet/version.h"
#include "daemon/api_server.h"
#include "daemon/daemon.h"
#include "daemon/intake_scanner.h"
#include "daemon/job_runner.h"
#include "daemon/journal.h"
#include "daemon/metrics.h"
#include "daemon/server_context.h"
#include "daemon/socket_server.h"

namespace cramjet::daemon {

struct Server::Impl {
  explicit Impl(DaemonOptions o) : options(std::move(o)) {}
  ~Impl() {
    for (auto& t : threads)
      if (t.joinable()) t.detach();  // only when Join() was never reached (see DaemonExit)
  }

  void Notify(const std::string& text) const {
    if (options.notify_systemd) sd_notify(0, text.c_str());
  }
  void WakeMainLoop() const {
    const char b = 1;
    (void)!::write(wake_write.get(), &b, 1);
  }
  void ReadSignals(double* event_scan_at);
  void Reload();
  void NotifyJobCounts() const;

  DaemonOptions options;  // as started; the configuration in force is context->config()
  UniqueFd lock, signals, wake_read, wake_write, api_listener, metrics_listener;
  std::unique_ptr<Journal> journal;
  std::unique_ptr<DaemonContext> context;
  std::unique_ptr<IntakeScanner> intake;
  std::unique_ptr<JobRunner> runner;
  std::unique_ptr<ApiServer> api;
  std::unique_ptr<MetricsEndpoint> metrics;
  std::vector<std::thread> threads;  // the API's and the metrics endpoint's accept loops
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() = default;

void ReportCannotStart(bool notify_systemd, const Status& why) {
  CJ_LOG(kError) << "cannot start: " << why.message();
  if (notify_systemd) sd_notify(0, ("STATUS=cannot start: " + why.message()).c_str());
}

namespace {
// A daemon started with another executor than the one that submitted a job's Slurm job would run
// that stage here while the Slurm job may still write the same outputs, and could never cancel
// it: refused, naming the jobs. (Failed jobs count too: `cramjet retry` re-attaches them.)
Status CheckNoSlurmJobsLeft(Journal& journal, const std::string& executor) {
  if (executor == "slurm") return Status::Ok();
  std::string waiting;
  for (JobState state : {JobState::kQueued, JobState::kFailed, JobState::kHeld}) {
    auto listed = journal.ListJobs(state, 0);
    if (!listed.ok()) {
      // A row this build cannot read is reported where it is used; it does not stop the start.
      CJ_LOG(kWarning) << "checking for jobs that wait on Slurm: " << listed.status().message();
      continue;
    }
    for (const Job& j : *listed)
      if (j.extra.contains("executor") && j.extra["executor"].is_object())
        waiting += (waiting.empty() ? "" : ", ") + std::to_string(j.id) +
                   (j.executor_job_id.empty() ? "" : " (Slurm job " + j.executor_job_id + ")");
  }
  if (waiting.empty()) return Status::Ok();
  return FailedPrecondition("[executor] kind = \"" + executor + "\", but job(s) " + waiting +
                            " wait on Slurm jobs submitted under kind = \"slurm\": run cramjetd with kind = \"slurm\" "
                            "until they are done (`cramjet drain` cancels those not started and exits once the others "
                            "have finished), then change it");
}
}  // namespace

StatusOr<std::unique_ptr<Server>> Server::Open(DaemonOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  Impl& m = *impl;
  const DaemonConfig& c = m.options.config;
  // Signals arrive on a signalfd in the main loop; they are blocked before any thread starts so
  // that every thread inherits the mask.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);
  m.signals.reset(signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!m.signals.valid()) return IoErrorFromErrno("signalfd", errno);

  std::error_code ec;
  std::filesystem::create_directories(c.state_dir, ec);
  if (ec) return IoError("creating state folder '" + c.state_dir + "': " + ec.message());
  // The journal, upload state and lock hold sample names and paths: owner and group only.
  // A folder of another owner (made by a package, shared through its group) is left as it is.
  if (::chmod(c.state_dir.c_str(), 0750) != 0) {
    if (errno != EPERM) return IoErrorFromErrno("state folder '" + c.state_dir + "': chmod 0750", errno);
    CJ_LOG(kWarning) << "state folder '" << c.state_dir << "' belongs to another user: its mode is left as it is";
  }
  const std::string lock_path = c.state_dir + "/cramjetd.lock";
  m.lock.reset(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640));
  if (!m.lock.valid()) return IoErrorFromErrno("opening '" + lock_path + "'", errno);
  if (::flock(m.lock.get(), LOCK_EX | LOCK_NB) != 0)
    return FailedPrecondition("another cramjetd holds '" + lock_path + "' (one daemon per state folder)");
  CRAMJET_ASSIGN_OR_RETURN(m.journal, Journal::Open(c.state_dir + "/journal.sqlite"));
  CRAMJET_RETURN_IF_ERROR(m.journal->RequeueRunning());
  CRAMJET_RETURN_IF_ERROR(CheckNoSlurmJobsLeft(*m.journal, m.options.stages.executor));
  CRAMJET_ASSIGN_OR_RETURN(std::string paused, m.journal->GetSetting("paused"));
  std::filesystem::create_directories(c.state_dir + "/ship", ec);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) return IoErrorFromErrno("pipe", errno);
  m.wake_read.reset(pipe_fds[0]);
  m.wake_write.reset(pipe_fds[1]);
  CRAMJET_ASSIGN_OR_RETURN(m.api_listener, ListenOnUnixSocket(c.socket_path, c.socket_group));
  if (!c.metrics_listen.empty()) {
    CRAMJET_ASSIGN_OR_RETURN(m.metrics_listener, ListenOnLoopback(c.metrics_listen, "metrics.listen"));
  }

  m.context = std::make_unique<DaemonContext>(c, m.options.stages, *m.journal);
  m.context->paused = paused == "1";
  m.context->wake_main_loop = [&m] { m.WakeMainLoop(); };
  m.runner = std::make_unique<JobRunner>(*m.context);
  m.intake = std::make_unique<IntakeScanner>(*m.context, [&m] { m.runner->Wake(); });
  m.intake->OpenWatches();
  m.api = std::make_unique<ApiServer>(*m.context, *m.intake, *m.runner);
  m.metrics = std::make_unique<MetricsEndpoint>(*m.context, *m.intake, *m.runner, *m.api);
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

void Server::Start() {
  Impl& m = *impl_;
  DaemonContext& ctx = *m.context;
  const std::shared_ptr<const DaemonConfig> config = ctx.config();
  const DaemonConfig& c = *config;
  ctx.started_at = WallSeconds();
  ctx.started_mono = MonotonicSeconds();
  const int workers = c.Concurrency();
  CJ_LOG(kInfo) << "cramjetd " << Version() << " started: " << c.watch.size() << " watch root(s), "
                << (c.drop.path.empty() ? "no drop folder" : "drop folder " + c.drop.path) << ", " << workers
                << " worker(s), API on " << c.socket_path
                << (c.metrics_listen.empty() ? "" : ", metrics on http://" + c.metrics_listen) << ", backend "
                << (ctx.stages()->backend.empty() ? "unknown" : ctx.stages()->backend)
                << (ctx.paused ? " (paused by operator)" : "");
  ConnectionRules api_rules;
  api_rules.max_request_bytes = 65536;
  api_rules.request_complete = [](std::string_view r) { return r.find('\n') != std::string_view::npos; };
  m.threads.emplace_back([&m, api_rules] {
    ServeConnections(m.api_listener.get(), m.context->stopping, api_rules,
                     [&m](std::string_view request) { return m.api->HandleLine(request); });
  });
  if (m.metrics_listener.valid()) {
    ConnectionRules http_rules;
    http_rules.max_request_bytes = 16384;
    http_rules.request_complete = &MetricsEndpoint::RequestComplete;
    m.threads.emplace_back([&m, http_rules] {
      ServeConnections(m.metrics_listener.get(), m.context->stopping, http_rules,
                       [&m](std::string_view request) { return m.metrics->HandleHttp(request); });
    });
  }
  m.runner->Start(workers);
  m.intake->Scan();
  m.Notify("READY=1\nSTATUS=watching " + std::to_string(c.watch.size()) + " root(s)");
}

void Server::Impl::ReadSignals(double* event_scan_at) {
  signalfd_siginfo si;
  while (::read(signals.get(), &si, sizeof si) == sizeof si) {
    if (si.ssi_signo == SIGHUP) {
      Reload();
      *event_scan_at = MonotonicSeconds();  // new watch roots, references or disk limits: look now
    } else {
      CJ_LOG(kInfo) << "signal " << si.ssi_signo << ": stopping; running stages finish or stay resumable";
      context->stopping = true;
    }
  }
}

// SIGHUP (`systemctl reload cramjetd`: ExecReload checks the files with --check-config first).
// The files are read and checked as at start; a config that fails leaves the running one in
// place. Settings a running daemon cannot change keep their values and are named (PrepareReload);
// the ship stage is wired again from [archive]; the rest applies to work that starts from now.
void Server::Impl::Reload() {
  Notify("RELOADING=1\nSTATUS=reloading the configuration");
  const std::shared_ptr<const DaemonConfig> running = context->config();
  auto refuse = [&](const Status& why) {
    CJ_LOG(kError) << "reload refused: " << why.message() << "; the running configuration stays";
    context->SetLastError("reload refused: " + why.message());
    Notify("READY=1");
  };
  if (options.config_path.empty()) return refuse(FailedPrecondition("started without a configuration file"));
  StatusOr<DaemonConfig> loaded = LoadConfig(options.config_path);
  if (!loaded.ok()) return refuse(loaded.status());
  DaemonConfig next = std::move(loaded).value();
  const ConfigReload what = PrepareReload(*running, &next);
  StatusOr<std::function<Status(const ShipJob&)>> ship = WireShipStage(next);
  if (!ship.ok()) return refuse(ship.status());
  auto stages = std::make_shared<StageFunctions>(*context->stages());
  stages->ship = std::move(ship).value();
  const bool dropin_fits = SystemdDropin(next) == SystemdDropin(*running);
  if (!options.log_level_from_command_line) SetLogLevel(ParseLogLevel(next.log_level).value_or(LogLevel::kInfo));
  const size_t files = next.files.size();
  context->Replace(std::make_shared<const DaemonConfig>(std::move(next)), std::move(stages));
  auto joined = [](const std::vector<std::string>& keys) {
    std::string out;
    for (const auto& k : keys) out += (out.empty() ? "" : ", ") + k;
    return out;
  };
  CJ_LOG(kInfo) << "configuration reloaded from " << files << " file(s): "
                << (what.changed.empty() ? "no setting changed" : "changed " + joined(what.changed));
  if (!what.need_restart.empty()) {
    CJ_LOG(kWarning) << "reload: " << joined(what.need_restart)
                     << " changed in the files but take effect only at a restart (systemctl restart cramjetd); "
                        "the running values stay until then";
  }
  if (!dropin_fits) {
    CJ_LOG(kWarning) << "reload: the folders or ceilings the systemd drop-in grants changed: write it again "
                        "(cramjetd --systemd-dropin) and restart, or the service cannot write the new folders";
  }
  Notify("READY=1");
}

void Server::Impl::NotifyJobCounts() const {
  auto counts = journal->CountByState();
  if (!counts.ok()) return;
  Notify("STATUS=" + context->StateName() + ": " + std::to_string((*counts)[JobState::kRunning]) + " running, " +
         std::to_string((*counts)[JobState::kQueued]) + " queued, " + std::to_string((*counts)[JobState::kFailed]) +
         " failed, " + std::to_string((*counts)[JobState::kHeld]) + " held for QC" + (intake->paused_for_low_disk() ? ", intake paused (low disk)" : ""));
}

DaemonExit Server::Join() {
  Impl& m = *impl_;
  DaemonContext& ctx = *m.context;
  uint64_t watchdog_usec = 0;
  const bool watchdog = m.options.notify_systemd && sd_watchdog_enabled(0, &watchdog_usec) > 0;
  double next_scan = MonotonicSeconds() + ctx.config()->rescan_interval_s, next_ping = 0, next_status = 0, event_scan_at = 0;
  DaemonExit exit;
  while (true) {
    pollfd fds[3] = {{m.signals.get(), POLLIN, 0}, {m.intake->watch_fd(), POLLIN, 0}, {m.wake_read.get(), POLLIN, 0}};
    ::poll(fds, 3, 200);
    if (fds[0].revents & POLLIN) m.ReadSignals(&event_scan_at);
    // Files arrive in bursts; scan shortly after the burst rather than once per event.
    if ((fds[1].revents & POLLIN) && m.intake->DrainWatchEvents() && event_scan_at == 0)
      event_scan_at = MonotonicSeconds() + 0.5;
    if (fds[2].revents & POLLIN) {
      char buf[64];
      while (::read(m.wake_read.get(), buf, sizeof buf) > 0) {
      }
    }
    if (ctx.stopping) break;
    const double now = MonotonicSeconds();
    if (ctx.draining && m.runner->running_jobs() == 0) {
      CJ_LOG(kInfo) << "drain complete: no job running; exiting";
      break;
    }
    if (now >= next_scan || (event_scan_at > 0 && now >= event_scan_at)) {
      m.intake->Scan();
      next_scan = now + ctx.config()->rescan_interval_s;
      event_scan_at = 0;
      m.runner->Wake();
    }
    if (watchdog && now >= next_ping) {
      sd_notify(0, "WATCHDOG=1");
      next_ping = now + watchdog_usec / 2e6;
    }
    if (now >= next_status) {
      m.NotifyJobCounts();
      next_status = now + 5;
    }
  }
  ctx.stopping = true;
  const std::shared_ptr<const DaemonConfig> config = ctx.config();
  const DaemonConfig& c = *config;
  m.Notify("STOPPING=1\nSTATUS=stopping: waiting for running stages");
  m.runner->Wake();
  // Workers finish their current stage; past the grace period the process ends anyway and the
  // unfinished stages run again on the next start (the journal never moved past them).
  const double deadline = MonotonicSeconds() + c.shutdown_grace_s;
  while (m.runner->running_jobs() > 0 && MonotonicSeconds() < deadline) {
    if (watchdog) sd_notify(0, "WATCHDOG=1");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (auto& t : m.threads) t.join();  // the accept loops end within their 200 ms poll
  m.threads.clear();
  ::unlink(c.socket_path.c_str());
  if (m.runner->running_jobs() > 0) {
    CJ_LOG(kWarning) << m.runner->running_jobs() << " job(s) still in a stage after " << c.shutdown_grace_s
                     << " s; exiting, they resume at that stage on the next start";
    exit.stages_still_running = true;
    return exit;
  }
  m.runner->Join();
  CJ_LOG(kInfo) << "cramjetd stopped";
  return exit;
}

}  // namespace cramjet::daemon
