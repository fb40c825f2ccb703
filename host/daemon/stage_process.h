// host/daemon/stage_process.h — the stages that decode files from outside, run in a child
// process of their own.
//
// Why: htslib 1.16 (Debian 12) decodes a hostile CRAM with heap writes past its buffers (a
// BYTE_ARRAY_LEN or BYTE_ARRAY_STOP feature longer than its read: found by tests/fuzz's
// alignment target; fixed upstream in htslib 1.22.1, commits 843ca7f5 and 01cd003b). No check
// short of decoding can see it coming, so the decode of aligned input (compress of SAM/BAM/CRAM)
// and of a CRAM on disk (verify) runs in a child: whatever a bad file does to that process's
// memory ends with it, and the job fails with the signal named; the daemon and its other jobs go
// on. FASTQ compress stays in the daemon: its reader is cramjet's own (fuzzed), and it needs the
// accelerator the daemon opened once.
//
// The child is cramjetd itself (/proc/self/exe, so an upgrade of the binary on disk during a job
// changes nothing) started as `cramjetd --stage-child`; one JSON request on its standard input,
// JSON lines on its standard output: {"progress": {...}} while it runs, then one
// {"result": {...}} or {"error": {"code": N, "message": "..."}}. It dies with the worker thread
// that started it (PR_SET_PDEATHSIG), so a SIGKILL of the daemon leaves no stage running.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "cramjet/compress.h"
#include "cramjet/status.h"

namespace cramjet::daemon {

// The flag that makes cramjetd a stage child (main.cc); with kDetachedFlag after it, one that no
// daemon waits on (a Slurm job, slurm_executor.h): it does not ignore SIGTERM.
inline constexpr const char* kStageChildFlag = "--stage-child";
inline constexpr const char* kDetachedFlag = "--detached";

// Runs Compress / Verify in a child process (see above). Errors: the stage's own status; kBadInput
// naming the signal and the inputs when the child died of one (the same file would do it again:
// the job fails at once), kUnavailable when it was killed (SIGKILL: out of memory, an operator)
// or could not be started, kAborted when a stop signal ended it (the job resumes at its stage).
// The child ignores SIGTERM, SIGINT and SIGHUP: a service-wide SIGTERM lets it finish its stage.
// `crash_for_test` ([testing] crash_stage_children) makes the child die of SIGSEGV at once.
[[nodiscard]] StatusOr<CompressResult> CompressInChildProcess(const CompressOptions& options,
                                                              bool crash_for_test = false);
[[nodiscard]] StatusOr<VerifyResult> VerifyInChildProcess(const VerifyOptions& options, bool crash_for_test = false);

// The child's side: reads the request on standard input, runs it, writes the lines on standard
// output. Returns the exit code for main (0 whenever a result or an error line was written).
int RunStageChild(bool detached = false);

// ---- pieces the Slurm executor shares with the local child -------------------------------------
// The request a stage child reads.
nlohmann::json CompressRequest(const CompressOptions& options, bool crash_for_test);
nlohmann::json VerifyRequest(const VerifyOptions& options, bool crash_for_test);
// Hands a compress progress line to options.progress (when set).
void DeliverCompressProgress(const CompressOptions& options, const nlohmann::json& progress);
// Takes the complete lines at the front of `pending` (leaving a partial last line there): each
// progress line to `progress`, the result or error line into `reply`.
void TakeStageLines(std::string& pending, const std::function<void(const nlohmann::json&)>& progress,
                    nlohmann::json& reply);
// How a stage child ended.
struct StageChildEnd {
  bool signaled = false;
  int signal = 0;      // when signaled
  int exit_code = -1;  // when not
};
// The stage's result from the reply line the child wrote (null: none) and how it ended, with
// the error kinds CompressInChildProcess documents. `process` names the child in messages ("the
// compress stage's process (pid 12)", "Slurm job 81"); `subject` is the file they start with.
[[nodiscard]] StatusOr<nlohmann::json> StageChildReply(const nlohmann::json& reply, const StageChildEnd& end,
                                                       const std::string& stage, const std::string& subject,
                                                       const std::string& process);

// The wire forms, exposed for tests (every field round-trips; no callback, no backend pointer).
nlohmann::json CompressOptionsJson(const CompressOptions& o);
[[nodiscard]] StatusOr<CompressOptions> CompressOptionsFromJson(const nlohmann::json& j);
nlohmann::json CompressResultJson(const CompressResult& r);
[[nodiscard]] StatusOr<CompressResult> CompressResultFromJson(const nlohmann::json& j);
nlohmann::json VerifyOptionsJson(const VerifyOptions& o);
[[nodiscard]] StatusOr<VerifyOptions> VerifyOptionsFromJson(const nlohmann::json& j);
nlohmann::json VerifyResultJson(const VerifyResult& r);
[[nodiscard]] StatusOr<VerifyResult> VerifyResultFromJson(const nlohmann::json& j);

}  // namespace cramjet::daemon
