// host/daemon/config.h — cramjetd's configuration: the TOML file and its drop-ins, read once at
// start and again on SIGHUP (`systemctl reload cramjetd`; docs/daemon.md, dist/cramjetd.toml.example).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "cramjet/status.h"

namespace cramjet::daemon {

struct WatchRoot {
  std::string path;       // folder whose sub-folders are Illumina run folders
  std::string output;     // CRAMs go to <output>/<run folder name>/<sample>.cram
  std::string reference;  // name in [references] used when the sample sheet names none
  bool operator==(const WatchRoot&) const = default;
};

struct DropFolder {
  std::string path;       // empty: no drop folder
  std::string output;     // CRAMs go to <output>/<sample>.cram
  std::string reference;  // name in [references]
  int settle_seconds = 300;
  bool operator==(const DropFolder&) const = default;
};

// [executor]: where each job's compress (with its QC) and verify run. "local": on this machine
// (in the daemon, or a stage child process for aligned input). "slurm": as a Slurm job each
// (slurm_executor.h), submitted with sbatch and followed with squeue; the qc, ship and cleanup
// stages stay in the daemon (they read the verdict, hold the archive's credentials, delete).
struct ExecutorConfig {
  std::string kind = "local";
  // Slurm: sbatch's --partition, --account, --qos, --time (Slurm's forms: "90", "4:00:00",
  // "1-00:00:00"); each left out when empty.
  std::string partition, account, qos, time_limit;
  int cpus_per_job = 0;          // --cpus-per-task; 0: [workers] threads_per_job
  uint64_t memory_mb = 0;        // --mem; 0: [workers] memory_per_job_mb
  std::vector<std::string> sbatch_args;  // more sbatch options, as given ("--constraint=avx2")
  // Each Slurm job's request, script, reply and log: a folder every node must see at the same
  // path (the outputs and references must be shared too). Empty: <state_dir>/slurm.
  std::string work_dir;
  int poll_interval_s = 10;      // squeue is asked this often per running job
  std::string slurm_bin_dir;     // where sbatch, squeue, scancel and sacct are; empty: PATH
  // The cramjetd binary the nodes run (`cramjetd --stage-child`); empty: this daemon's own.
  std::string cramjetd;
  bool operator==(const ExecutorConfig&) const = default;
};

struct DaemonConfig {
  std::vector<std::string> files;  // config files read, in order
  std::string state_dir = "/var/lib/cramjet";
  std::string log_level = "info";
  std::string socket_path = "/run/cramjet/api.sock";
  std::string socket_group;        // group owning the socket (mode 0660); empty: daemon's group
  std::string metrics_listen;      // "127.0.0.1:9464"; empty: off. Loopback addresses only.
  std::vector<WatchRoot> watch;
  DropFolder drop;
  int rescan_interval_s = 60;
  double rta_only_timeout_hours = 6;
  double min_free_disk_gb = 20;    // intake pauses below this (on any output root)
  double resume_free_disk_gb = 30; // and resumes above this
  std::map<std::string, std::string> references;  // name -> FASTA path
  std::string profile = "normal";
  // [compress] cram_version: 3.0 by default for an archive, because its readers include Java
  // tools that cannot read 3.1 (Debian 12's htsjdk 3.0.4; GATK and Picard releases before
  // htsjdk 4.3); "3.1" is 3-11% smaller (README, "CRAM 3.0 or 3.1").
  std::string cram_version = "3.0";
  std::string accel = "auto";      // [accel] kind: auto | simd | scalar | opencl[:P:D] | xrt
  std::string xclbin;              // [accel] xclbin: the FPGA image (empty: the default path)
  std::string placement = "mapped";  // FASTQ: "mapped" (position-sorted) or "unaligned"
  bool keep_order = true;            // mapped FASTQ: record sequencer order (docs/sort.md); false: --no-keep-order
  bool build_index = true;           // build a missing or stale mapper index beside the reference
  ExecutorConfig executor;
  int max_jobs = 2;
  int threads_per_job = 2;
  int cpu_budget = 0;              // 0: all CPUs
  uint64_t memory_budget_mb = 0;   // 0: no memory limit on concurrency
  uint64_t memory_per_job_mb = 2048;
  // [qc]: what a QC verdict of fail does before the ship stage: "hold" (the job waits, state
  // held, until `cramjet release`), "warn" (ships, logs a warning) or "ship".
  std::string qc_on_fail = "hold";
  std::string qc_thresholds;       // [qc] thresholds: a QC config (docs/qc.md); empty: defaults
  int max_attempts = 3;
  int retry_delay_s = 60;
  bool archive_enabled = false;
  toml::table archive_table;       // the [archive] table without `enabled`, for the ship stage
  std::string archive_source;      // the file it came from
  std::string cleanup_policy = "keep";  // keep | delete-inputs | delete-all
  double retention_hours = 0;
  int shutdown_grace_s = 120;
  int watchdog_sec_hint = 0;
  int stage_delay_ms = 0;          // [testing]: sleep in every stage (tests of kills between stages)
  bool crash_stage_children = false;  // [testing]: stage child processes die of SIGSEGV (stage_process.h)

  // Jobs that may run at once: max_jobs limited by the CPU and memory budgets (of this machine:
  // with the Slurm executor the cluster's scheduler limits them, and max_jobs alone counts).
  int Concurrency() const;
  // Jobs that may be in a stage this machine runs itself at once (with the Slurm executor: qc,
  // ship, cleanup; locally every stage): max_jobs limited by this machine's CPU and memory
  // budgets. Equal to Concurrency() for the local executor.
  int LocalConcurrency() const;
};

// The systemd drop-in that fits the unit (dist/cramjetd.service, ProtectSystem=strict) to this
// config: ReadWritePaths for every folder the daemon writes (output roots, drop output, its state
// folder and socket folder; the watch and drop folders too when cleanup deletes inputs there),
// MemoryMax from [workers] memory_budget_mb (plus a quarter for the daemon and the page cache it
// touches) and CPUQuota from cpu_budget. `cramjetd --systemd-dropin` prints it.
std::string SystemdDropin(const DaemonConfig& config);

// What a reload (SIGHUP) changes, by config key ("qc.on_fail", "[[watch]]", "[references]").
// A running daemon cannot move its state folder (journal, lock), the sockets it listens on, its
// worker count or its accelerator backend (chosen once at start): those keep their running values
// in `next` and are named in `need_restart`; every other setting that differs is in `changed` and
// applies to work that starts after the reload (a scan, a job's next stage).
struct ConfigReload {
  std::vector<std::string> changed;
  std::vector<std::string> need_restart;
};
ConfigReload PrepareReload(const DaemonConfig& running, DaemonConfig* next);

// `path`, then `<path>.d/*.toml` in name order: the files a config is read from, in the order
// they apply (LoadConfig; `cramjet jobs` finding the journal while the daemon is down).
std::vector<std::string> ConfigFiles(const std::string& path);

// Reads `path` then `<path>.d/*.toml` in name order (later files override keys; [[watch]] entries
// add up). Unknown keys and bad values fail with "<file>: line <n>: <reason>".
[[nodiscard]] StatusOr<DaemonConfig> LoadConfig(const std::string& path);
// The same from text, for tests (`source` names it in errors).
[[nodiscard]] StatusOr<DaemonConfig> ParseConfigText(const std::string& text, const std::string& source);

}  // namespace cramjet::daemon
