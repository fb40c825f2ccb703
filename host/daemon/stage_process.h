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

#include <string>

#include <nlohmann/json.hpp>

#include "cramjet/compress.h"
#include "cramjet/status.h"

namespace cramjet::daemon {

// The flag that makes cramjetd a stage child (main.cc).
inline constexpr const char* kStageChildFlag = "--stage-child";

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
int RunStageChild();

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
