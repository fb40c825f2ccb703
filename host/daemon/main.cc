// cramjetd — the appliance daemon. Flags only; everything else is in the configuration file
// (docs/daemon.md, dist/cramjetd.toml.example).
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "cramjet/log.h"
#include "cramjet/version.h"
#include "daemon/daemon.h"
#include "daemon/stage_process.h"

namespace {
constexpr const char* kUsage =
    "usage: cramjetd [--config PATH] [--check-config] [--log-level debug|info|warning|error]\n"
    "  --config PATH    configuration file (default /etc/cramjet/cramjetd.toml); drop-ins are read\n"
    "                   from PATH.d/*.toml in name order\n"
    "  --check-config   check the configuration (and the [archive] table) and exit\n"
    "  --systemd-dropin print the systemd drop-in this configuration needs (ReadWritePaths,\n"
    "                   MemoryMax, CPUQuota) and exit\n"
    "  --version        print versions and exit\n";
}

int main(int argc, char** argv) {
  using namespace cramjet;
  const bool detached_child = argc == 3 && std::strcmp(argv[2], daemon::kDetachedFlag) == 0;
  if ((argc == 2 || detached_child) && std::strcmp(argv[1], daemon::kStageChildFlag) == 0) {
    // A stage in a process of its own (stage_process.h): its log lines go where the daemon's go
    // (a Slurm job's: its log file in the job's folder).
    SetLogSink(JournaldSink());
    CaptureStrayStderr();
    ConfigureHtslibLogging();
    return daemon::RunStageChild(detached_child);
  }
  std::string config_path = "/etc/cramjet/cramjetd.toml", log_level;
  bool check_only = false, print_dropin = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* flag) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "cramjetd: usage error: %s needs a value\n%s", flag, kUsage);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--config") config_path = value("--config");
    else if (a.rfind("--config=", 0) == 0) config_path = a.substr(9);
    else if (a == "--check-config") check_only = true;
    else if (a == "--systemd-dropin") print_dropin = true;
    else if (a == "--log-level") {
      log_level = value("--log-level");
      if (!ParseLogLevel(log_level)) {
        std::fprintf(stderr, "cramjetd: usage error: --log-level '%s': expected debug, info, warning or error\n%s",
                     log_level.c_str(), kUsage);
        return 2;
      }
    }
    else if (a == "--version") {
      std::printf("%s", VersionReport().c_str());
      return 0;
    } else if (a == "--help" || a == "-h") {
      std::printf("%s", kUsage);
      return 0;
    } else {
      std::fprintf(stderr, "cramjetd: usage error: unknown argument '%s'\n%s", a.c_str(), kUsage);
      return 2;
    }
  }
  // journald reads the "<N>" priority prefixes from stderr.
  SetLogSink(JournaldSink());
  // htslib writes some errors to stderr itself (perror of a reference file, multi-line dumps):
  // through the logger they get a priority, one journal entry per line.
  if (!CaptureStrayStderr()) {
    CJ_LOG(kWarning) << "cannot route library output on stderr through the log";
  }
  auto config = daemon::LoadConfig(config_path);
  if (!config.ok()) {
    CJ_LOG(kError) << "configuration refused: " << config.status().message();
    return 1;
  }
  if (print_dropin) {
    std::printf("%s", daemon::SystemdDropin(*config).c_str());
    return 0;
  }
  std::string level = log_level.empty() ? config->log_level : log_level;
  SetLogLevel(ParseLogLevel(level).value_or(LogLevel::kInfo));  // both checked: the flag above, the config's key
  ConfigureHtslibLogging();
  auto stages = daemon::WireStages(*config);
  if (!stages.ok()) {
    CJ_LOG(kError) << "configuration refused: " << stages.status().message();
    return 1;
  }
  if (check_only) {
    std::printf("configuration ok: %zu file(s), %zu watch root(s), %d worker(s)\n", config->files.size(),
                config->watch.size(), config->Concurrency());
    return 0;
  }
  daemon::DaemonOptions options;
  options.config = std::move(*config);
  options.stages = std::move(*stages);
  options.config_path = config_path;
  options.log_level_from_command_line = !log_level.empty();
  const bool notify_systemd = options.notify_systemd;
  // config -> open -> start -> join.
  auto server = daemon::Server::Open(std::move(options));
  if (!server.ok()) {
    daemon::ReportCannotStart(notify_systemd, server.status());
    return 1;
  }
  (*server)->Start();
  const daemon::DaemonExit exit = (*server)->Join();
  if (exit.stages_still_running) {
    // Threads still inside a stage cannot be joined or destroyed: end the process here. The
    // journal never moved past those stages, so they run again on the next start.
    std::fflush(nullptr);
    ::_exit(exit.code);
  }
  return exit.code;
}
