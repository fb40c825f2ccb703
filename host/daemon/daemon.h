// host/daemon/daemon.h — cramjetd, the appliance daemon: the folder's entry header. main.cc reads
// the configuration (config.h), wires the stages to the libraries of this build (WireStages),
// then runs the server: Open -> Start -> Join.
//
// The pieces, each in its own files: config (TOML and drop-ins), intake (run folders, sample
// sheets, drop entries) and intake_scanner (turning them into jobs), journal (SQLite), job and
// job_runner (the stages of a job and the worker pool), api_server (the JSON API's method table),
// metrics (Prometheus and health), socket_server (listening sockets, the accept loop) and
// server.cc (the main loop: signals, inotify, rescans, disk checks, systemd).
#pragma once

#include <functional>
#include <memory>

#include "cramjet/status.h"
#include "daemon/config.h"
#include "daemon/job.h"

namespace cramjet::daemon {

// The stages of this build: Compress() and Verify() from the library, ShipSample() with the
// [archive] table when archive.enabled (its keys are checked here, with file and line), and the
// accelerator backend's name. Stages whose library is not in the build are left empty and fail
// with Unimplemented when a job reaches them.
[[nodiscard]] StatusOr<StageFunctions> WireStages(const DaemonConfig& config);
// The ship stage alone, from [archive] (WireStages uses it; a reload replaces only this stage, as
// the backend is made once at start). Empty when archive.enabled is false.
[[nodiscard]] StatusOr<std::function<Status(const ShipJob&)>> WireShipStage(const DaemonConfig& config);

struct DaemonOptions {
  DaemonConfig config;
  StageFunctions stages;
  bool notify_systemd = true;
  // What a reload (SIGHUP) reads again: the file given with --config (and its drop-ins). Empty:
  // reloading is refused (tests that build a config in memory).
  std::string config_path;
  bool log_level_from_command_line = false;  // --log-level wins over daemon.log_level, on reloads too
};

struct DaemonExit {
  int code = 0;
  // Stages still ran when the shutdown grace period ended: their threads cannot be joined, so
  // the process must end now (with _exit, from main); they resume at that stage on the next start.
  bool stages_still_running = false;
};

class Server {
 public:
  // Blocks the signals the main loop reads (call before other threads start), takes the state
  // folder's lock (one daemon per state folder), opens the journal and requeues what a kill left
  // running, binds the API socket and the metrics endpoint, and starts the inotify watches.
  [[nodiscard]] static StatusOr<std::unique_ptr<Server>> Open(DaemonOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Starts the API, metrics and worker threads, scans once and tells systemd READY=1.
  void Start();
  // Runs the main loop until SIGTERM/SIGINT or a completed drain, then waits up to
  // shutdown_grace_s for running stages and joins every thread it can.
  DaemonExit Join();

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Logs "cannot start: <why>" and tells systemd the same (STATUS=).
void ReportCannotStart(bool notify_systemd, const Status& why);

}  // namespace cramjet::daemon
