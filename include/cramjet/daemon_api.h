// cramjet/daemon_api.h — talking to cramjetd over its Unix socket (`cramjet status` and friends).
//
// Protocol (version kDaemonApiVersion): the client connects, writes one JSON object and a newline,
//   {"api_version": 1, "method": "<method>", "params": {...}}
// and reads one JSON object and a newline:
//   {"api_version": 1, "ok": true, "result": {...}}    or
//   {"api_version": 1, "ok": false, "error": {"code": "not_found", "message": "..."}}
// Methods and results (fields are only ever added within a version; docs/daemon.md lists them):
//   status                 -> {version, pid, started_at, uptime_seconds, backend, state, workers,
//                              intake_paused_low_disk, jobs{queued,running,failed,done,held,done_today},
//                              running[{id,sample,run_id,stage,stage_seconds,progress,records,
//                              input_bytes_read,input_bytes,throughput_bytes_per_second}],
//                              disk[{path,free_bytes,total_bytes}], min_free_disk_bytes,
//                              waiting_runs[{path,reason}], rejected[{path,error}],
//                              held[{id,sample,run_id,qc_verdict,reason}],
//                              last_error{at,message}|null, config_files[]}
//   jobs {state?, limit?}  -> {jobs[Job]}      newest first; state: queued|running|failed|done|held
//   job {id}               -> Job + {events[{at,stage,message}]}
//   retry {id}             -> Job              a failed (or backing-off) job queued again
//   release {id}           -> Job              a job held for a QC fail queued to ship
//   pause | resume         -> {state}          pause: no new job starts; running ones finish
//   drain                  -> {state,running}  no new job starts; the daemon exits when idle
//   submit {path}          -> {job_ids[]}      a run folder directly under a watch root, or an
//                                              entry of the drop folder; nothing else is accepted
// Job = {id, key, origin, run_id, run_path, instrument, flowcell, sample, inputs[], paired, format,
//        lanes[], reference, output, stage, state, attempts, last_error, created_at, updated_at,
//        finished_at, not_before, input_bytes, output_bytes, records, output_md5, compress_count,
//        shipped, qc_verdict, extra{}}; times are Unix seconds. qc_verdict: pass|warn|fail once
//        the qc stage ran, "" before (or with QC off); extra.qc{verdict,reason,released_at?}.
#pragma once

#include <string>

#include "cramjet/status.h"

namespace cramjet {

inline constexpr int kDaemonApiVersion = 1;
inline constexpr const char* kDefaultDaemonSocket = "/run/cramjet/api.sock";

// Sends one request and returns the text of its "result" object. Errors: kUnavailable when the
// daemon is not reachable (message names the socket), the daemon's own error code and message
// otherwise.
[[nodiscard]] StatusOr<std::string> CallDaemon(const std::string& socket_path, const std::string& method,
                                               const std::string& params_json = "{}",
                                               double timeout_seconds = 10);

// While cramjetd is down (CallDaemon says kUnavailable): `jobs` and `job` answered from its
// journal file, opened read-only (the daemon may start meanwhile; nothing is written). The
// journal is `<state_dir>/journal.sqlite`, state_dir from `config_path` and its drop-ins
// ([daemon] state_dir, default /var/lib/cramjet). Errors: kNotFound for a missing config or
// journal, kFailedPrecondition for a journal of another schema version, SQLite's otherwise.
struct JournalReply {
  std::string result_json;   // what the daemon's "result" would have been
  std::string journal_path;  // the file read
};
[[nodiscard]] StatusOr<JournalReply> ReadJournalDirectly(const std::string& config_path, const std::string& method,
                                                         const std::string& params_json);
inline constexpr const char* kDefaultDaemonConfig = "/etc/cramjet/cramjetd.toml";

}  // namespace cramjet
