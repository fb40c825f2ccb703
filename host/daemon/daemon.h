// host/daemon/daemon.h — cramjetd, the appliance daemon: configuration, run-folder and drop-folder
// intake, the SQLite job journal, the staged job engine, the JSON API on a Unix socket and the
// Prometheus endpoint. main.cc only parses flags, wires the stage functions and calls RunDaemon().
//
// Crash safety in one paragraph: a job is a row in the journal; its `stage` column names the next
// stage to run and only moves forward after that stage's outputs are complete and renamed
// (synchronous=FULL). Every stage is idempotent, so after SIGKILL or a power cut the daemon starts
// every unfinished job again at the stage it had not finished. Run intake inserts all jobs of a
// run in one transaction under a UNIQUE key, so a run is never taken twice.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "cramjet/compress.h"
#include "cramjet/status.h"

namespace cramjet::daemon {

// ---- Configuration --------------------------------------------------------------------------
struct WatchRoot {
  std::string path;       // folder whose sub-folders are Illumina run folders
  std::string output;     // CRAMs go to <output>/<run folder name>/<sample>.cram
  std::string reference;  // name in [references] used when the sample sheet names none
};

struct DropFolder {
  std::string path;       // empty: no drop folder
  std::string output;     // CRAMs go to <output>/<sample>.cram
  std::string reference;  // name in [references]
  int settle_seconds = 300;
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
  std::string cram_version = "3.1";
  std::string accel = "auto";      // [accel] kind: auto | simd | scalar | opencl[:P:D] | xrt
  std::string xclbin;              // [accel] xclbin: the FPGA image (empty: the default path)
  std::string placement = "mapped";  // FASTQ: "mapped" (position-sorted) or "unaligned"
  bool keep_order = true;            // mapped FASTQ: record sequencer order (docs/sort.md); false: --no-keep-order
  bool build_index = true;           // build a missing or stale mapper index beside the reference
  int max_jobs = 2;
  int threads_per_job = 2;
  int cpu_budget = 0;              // 0: all CPUs
  uint64_t memory_budget_mb = 0;   // 0: no memory limit on concurrency
  uint64_t memory_per_job_mb = 2048;
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

  // Jobs that may run at once: max_jobs limited by the CPU and memory budgets.
  int Concurrency() const;
};

// Reads `path` then `<path>.d/*.toml` in name order (later files override keys; [[watch]] entries
// add up). Unknown keys and bad values fail with "<file>: line <n>: <reason>".
[[nodiscard]] StatusOr<DaemonConfig> LoadConfig(const std::string& path);
// The same from text, for tests (`source` names it in errors).
[[nodiscard]] StatusOr<DaemonConfig> ParseConfigText(const std::string& text, const std::string& source);

// ---- Intake: names, run folders, sample sheets ------------------------------------------------
// Ok when `name` can be used as one path component under an output root: not empty, not "." or
// "..", no '/', no '\\', no control characters, no leading '.', at most 200 bytes.
[[nodiscard]] Status CheckSafeName(std::string_view name, std::string_view what);
// Whether `path` (made absolute, symlinks resolved where it exists) is `root` or inside it.
bool PathIsInside(const std::string& path, const std::string& root);

struct RunInfo {
  std::string run_id;      // <Run Id="...">
  std::string instrument;
  std::string flowcell;
  int run_number = 0;
  int lane_count = 0;
  std::vector<int> read_cycles;  // per read, index reads included
};
[[nodiscard]] StatusOr<RunInfo> ParseRunInfo(std::string_view xml, std::string_view source);

struct SampleSheetRow {
  std::string sample_id;
  std::string sample_name;
  std::string project;
  std::string reference;  // Reference / Genome / ReferenceGenome / GenomeFolder column: a name
  int lane = 0;           // 0: no Lane column
  int line = 0;
};
struct SampleSheet {
  int version = 1;        // 2 when [Header] has FileFormatVersion,2
  std::string data_section;  // e.g. "BCLConvert_Data" or "Data"
  std::vector<SampleSheetRow> rows;
};
// v1 ([Data]), v2 ([BCLConvert_Data]) and mixes, with BOM, CRLF, quotes and Excel's trailing
// commas. Every Sample_ID must pass CheckSafeName; the error names the file and line.
[[nodiscard]] StatusOr<SampleSheet> ParseSampleSheet(std::string_view text, std::string_view source);

// `<Sample>_S<n>[_L00<l>]_R<r>_001.fastq[.gz]`
struct FastqName {
  std::string sample;
  int s_number = 0;
  int lane = 0;  // 0: no lane splitting
  int read = 0;  // 1 or 2 (index reads I1/I2 are not matched)
};
std::optional<FastqName> ParseFastqName(std::string_view file_name);

// One sample of a run ready to become a job.
struct SampleInputs {
  std::string sample;
  std::vector<std::string> inputs;  // FASTQ: R1,R2 per lane in lane order; or one BAM/CRAM
  bool paired = false;
  std::string format;               // "fastq" | "bam" | "cram"
  std::vector<int> lanes;
  std::string reference;            // name from the sample sheet (may be empty)
  uint64_t input_bytes = 0;
};

enum class RunReadiness { kNotARun, kWaiting, kReady };
// kReady when RTAComplete.txt and CopyComplete.txt exist, or RTAComplete.txt is older than
// `rta_only_timeout_s`. `why` says what is missing.
RunReadiness CheckRunReady(const std::string& run_dir, double rta_only_timeout_s, std::string* why);
// Finds each sheet sample's FASTQs (or onboard BAM/CRAM) in the run folder. Error when a sample
// has no inputs (the run is not complete yet) or an R1 has no R2.
[[nodiscard]] StatusOr<std::vector<SampleInputs>> CollectRunSamples(const std::string& run_dir,
                                                                    const SampleSheet& sheet);
// A file or sample folder in the drop folder as one sample.
[[nodiscard]] StatusOr<SampleInputs> CollectDropSample(const std::string& entry_path);

// ---- Job journal ---------------------------------------------------------------------------
inline constexpr const char* kStages[] = {"compress", "verify", "qc", "ship", "cleanup"};
// "compress" -> "verify" ... "cleanup" -> "done".
std::string NextStage(const std::string& stage);

struct Job {
  int64_t id = 0;
  std::string key;        // unique: "<run folder>#<sample>" or "drop:<path>"
  std::string origin;     // "run" | "drop" | "submit"
  std::string run_id, run_path, instrument, flowcell;
  std::string sample;
  std::vector<std::string> inputs;
  bool paired = false;
  std::string format;
  std::vector<int> lanes;
  std::string reference;  // FASTA path
  std::string output;     // final CRAM path
  std::string stage = "compress";  // next stage to run; "done" when finished
  std::string state = "queued";    // queued | running | failed | done
  int attempts = 0;
  std::string last_error;
  double created_at = 0, updated_at = 0, finished_at = 0, not_before = 0;
  uint64_t input_bytes = 0, output_bytes = 0, records = 0;
  std::string output_md5;
  int compress_count = 0;  // times the compress stage produced the CRAM (1 unless redone)
  bool shipped = false;
  nlohmann::json extra = nlohmann::json::object();  // per-stage facts (qc files, ship result)
};

class Journal {
 public:
  // Opens/creates the database (WAL, busy timeout) and migrates its schema.
  [[nodiscard]] static StatusOr<std::unique_ptr<Journal>> Open(const std::string& path);
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
  // state filter empty: all. Newest first.
  [[nodiscard]] StatusOr<std::vector<Job>> ListJobs(const std::string& state, int limit);
  // The oldest queued job whose not_before has passed, marked running; nullopt when none.
  [[nodiscard]] StatusOr<std::optional<Job>> ClaimNext(double now);
  // Writes the job's columns (synchronous=FULL).
  [[nodiscard]] Status Save(const Job& job);
  // Running -> queued at start (their stage was not finished).
  [[nodiscard]] Status RequeueRunning();
  [[nodiscard]] Status AddEvent(int64_t job_id, const std::string& stage, const std::string& message);
  [[nodiscard]] StatusOr<nlohmann::json> Events(int64_t job_id);
  // counts per state, and done since `since`.
  [[nodiscard]] StatusOr<std::map<std::string, int64_t>> CountByState();
  [[nodiscard]] StatusOr<int64_t> CountDoneSince(double since);
  [[nodiscard]] Status SetSetting(const std::string& key, const std::string& value);
  // "" for a key never set; an error when SQLite fails.
  [[nodiscard]] StatusOr<std::string> GetSetting(const std::string& key);

 private:
  Journal() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---- The stages the daemon runs, wired by main.cc ---------------------------------------------
struct ShipJob {
  int64_t job_id = 0;
  std::string sample, run_id, instrument, flowcell;
  std::vector<int> lanes;
  std::vector<std::string> files;  // CRAM, .crai, .seqchksum, .md5, QC files
  std::string state_dir;           // per-job folder for resumable uploads
};

struct StageFunctions {
  std::function<StatusOr<CompressResult>(const CompressOptions&)> compress;
  std::function<StatusOr<VerifyResult>(const VerifyOptions&)> verify;
  // Empty: no archive; the ship stage records "skipped". Must be idempotent and return ok only
  // after the remote copy is verified.
  std::function<Status(const ShipJob&)> ship;
  std::string backend;  // accelerator backend in use, for `cramjet status` ("cpu (AVX2)", ...)
};

// The stages of this build: Compress() and Verify() from the library, ShipSample() with the
// [archive] table when archive.enabled (its keys are checked here, with file and line), and the
// accelerator backend's name. Stages whose library is not in the build are left empty and fail
// with Unimplemented when a job reaches them.
[[nodiscard]] StatusOr<StageFunctions> WireStages(const DaemonConfig& config);

struct DaemonOptions {
  DaemonConfig config;
  StageFunctions stages;
  bool notify_systemd = true;
};

// Runs until SIGTERM/SIGINT (graceful) or a drain completes. Returns the process exit status.
int RunDaemon(DaemonOptions options);

// ---- Metrics text helpers (exposed for tests) ------------------------------------------------
// Escapes a Prometheus label value.
std::string PromEscape(std::string_view value);

}  // namespace cramjet::daemon
