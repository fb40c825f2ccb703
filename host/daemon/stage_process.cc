// Stages in a child process (stage_process.h).
#include "daemon/stage_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "common/unique_fd.h"
#include "cramjet/log.h"

extern char** environ;

namespace cramjet::daemon {
namespace {

using nlohmann::json;

// Reads a field of a JSON object into `out` when present; false when present with another type.
template <typename T>
bool Field(const json& j, const char* key, T& out) {
  auto it = j.find(key);
  if (it == j.end()) return true;
  try {
    out = it->get<T>();
    return true;
  } catch (const json::exception&) {
    return false;
  }
}

Status Malformed(const char* what, const char* key) {
  return Internal(std::string("stage process: the ") + what + "'s field '" + key + "' has the wrong type");
}

#define CJ_FIELD(j, key, out, what) \
  if (!Field(j, key, out)) return Malformed(what, key)

std::string SignalText(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  const char* description = strsignal(sig);
  return std::to_string(sig) + " (SIG" + (abbrev ? abbrev : "?") + ": " + (description ? description : "?") + ")";
}

// What the child wrote before it ended, and how it ended.
struct ChildOutcome {
  json reply;  // the result or error line; null when none came
  int wait_status = 0;
  pid_t pid = 0;
};

bool WriteAll(int fd, const std::string& text) {
  const char* p = text.data();
  size_t left = text.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    left -= static_cast<size_t>(n);
  }
  return true;
}

// Starts `cramjetd --stage-child`, gives it `request`, hands each progress line to `progress`
// and waits for it. Errors only when it could not be started.
StatusOr<ChildOutcome> RunChild(const json& request, const std::function<void(const json&)>& progress) {
  int to_child[2], from_child[2];
  if (::pipe2(to_child, O_CLOEXEC) != 0) return Unavailable(std::string("stage process: pipe: ") + std::strerror(errno));
  UniqueFd to_read(to_child[0]), to_write(to_child[1]);
  if (::pipe2(from_child, O_CLOEXEC) != 0) return Unavailable(std::string("stage process: pipe: ") + std::strerror(errno));
  UniqueFd from_read(from_child[0]), from_write(from_child[1]);
  const int log_fd = LogOutputFd();
  const pid_t parent = ::getpid();
  char arg0[] = "cramjetd", arg1[] = "--stage-child";
  char* argv[] = {arg0, arg1, nullptr};
  const pid_t pid = ::fork();
  if (pid < 0) return Unavailable(std::string("stage process: fork: ") + std::strerror(errno));
  if (pid == 0) {
    // The child of a threaded process: only async-signal-safe calls until exec.
    if (::dup2(to_read.get(), 0) < 0 || ::dup2(from_write.get(), 1) < 0) ::_exit(127);
    if (log_fd != 2 && ::dup2(log_fd, 2) < 0) ::_exit(127);
    ::close_range(3, ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    ::pthread_sigmask(SIG_SETMASK, &none, nullptr);  // the daemon's threads block its signals
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the worker thread ended before the prctl
    ::execve("/proc/self/exe", argv, environ);
    ::_exit(127);
  }
  to_read.reset();
  from_write.reset();
  ChildOutcome outcome;
  outcome.pid = pid;
  // A child that dies before reading the request closes the pipe: the write fails (SIGPIPE is
  // ignored by the daemon) and the wait below says why.
  WriteAll(to_write.get(), request.dump() + "\n");
  to_write.reset();
  std::string pending;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(from_read.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buffer, static_cast<size_t>(n));
    TakeStageLines(pending, progress, outcome.reply);
  }
  while (::waitpid(pid, &outcome.wait_status, 0) < 0) {
    if (errno != EINTR) return Internal(std::string("stage process: waitpid: ") + std::strerror(errno));
  }
  return outcome;
}

// The stage's status from how the local child ended.
StatusOr<json> Reply(const ChildOutcome& c, const std::string& stage, const std::string& subject) {
  StageChildEnd end;
  end.signaled = WIFSIGNALED(c.wait_status);
  end.signal = end.signaled ? WTERMSIG(c.wait_status) : 0;
  end.exit_code = WIFEXITED(c.wait_status) ? WEXITSTATUS(c.wait_status) : -1;
  return StageChildReply(c.reply, end, stage, subject, "the " + stage + " stage's process (pid " + std::to_string(c.pid) + ")");
}

json ErrorLine(const Status& s) {
  return {{"error", {{"code", static_cast<int>(s.code())}, {"message", s.message()}}}};
}

}  // namespace

void TakeStageLines(std::string& pending, const std::function<void(const json&)>& progress, json& reply) {
  size_t start = 0;
  for (size_t eol; (eol = pending.find('\n', start)) != std::string::npos; start = eol + 1) {
    const json line = json::parse(pending.substr(start, eol - start), nullptr, false);
    if (!line.is_object()) continue;
    if (line.contains("progress")) {
      if (progress) progress(line["progress"]);
    } else if (line.contains("result") || line.contains("error")) {
      reply = line;
    }
  }
  pending.erase(0, start);
}

StatusOr<json> StageChildReply(const json& reply, const StageChildEnd& end, const std::string& stage,
                               const std::string& subject, const std::string& process) {
  if (end.signaled) {
    const int sig = end.signal;
    if (sig == SIGKILL)
      return Unavailable("'" + subject + "': " + process + " was killed (SIGKILL: out of memory, or an operator)");
    // A stop signal sent to the whole service (systemd's KillMode=control-group) is a shutdown,
    // not the file's doing: the job resumes at this stage (the child ignores these itself; this
    // is for one sent by hand before it could).
    if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)
      return Aborted("'" + subject + "': " + process + " was stopped by signal " + SignalText(sig));
    return BadInput("'" + subject + "': reading it killed " + process + " with signal " + SignalText(sig) +
                    ": the file is corrupt or hostile (htslib 1.16 is not safe on such files, docs/daemon.md); "
                    "cramjetd and its other jobs are unaffected");
  }
  const int code = end.exit_code;
  if (reply.is_null()) {
    if (code == 127) return Unavailable(process + " could not be started (exec of /proc/self/exe failed)");
    return BadInput("'" + subject + "': " + process + " ended (exit status " + std::to_string(code) +
                    ") without a result while reading it: the file is corrupt or hostile");
  }
  if (reply.contains("error")) {
    const json& e = reply["error"];
    int status_code = static_cast<int>(StatusCode::kInternal);
    std::string message = "the " + stage + " stage failed without a message";
    if (e.is_object()) {
      Field(e, "code", status_code);
      Field(e, "message", message);
    }
    if (status_code <= static_cast<int>(StatusCode::kOk) || status_code > static_cast<int>(StatusCode::kInternal))
      status_code = static_cast<int>(StatusCode::kInternal);
    return Status(static_cast<StatusCode>(status_code), message);
  }
  return reply["result"];
}

// ---- wire forms ---------------------------------------------------------------------------------
// Each struct's fields are listed once, in a visitor both directions walk (`v(key, field)`, the
// struct const or not): a field cannot be sent and not read back, or the reverse. Enums travel
// by name, outside the lists.

namespace {

constexpr auto kCompressOptions = [](auto& o, auto&& v) {
  v("inputs", o.inputs);
  v("paired", o.paired);
  v("interleaved", o.interleaved);
  v("output", o.output);
  v("reference", o.reference);
  v("cram_version", o.cram_version);
  v("threads", o.threads);
  v("drop_tags", o.drop_tags);
  v("command_line", o.command_line);
  v("sample", o.sample);
  v("rg_fields", o.rg_fields);
  v("verify", o.verify);
  v("write_index", o.write_index);
  v("build_index", o.build_index);
  v("accel", o.accel);
  v("xclbin", o.xclbin);
  v("long_reads", o.long_reads);
  v("memory_bytes", o.memory_bytes);
  v("keep_order", o.keep_order);
  v("container_records", o.container_records);
  v("qc", o.qc);
  v("qc_config", o.qc_config);
};

constexpr auto kCompressResult = [](auto& r, auto&& v) {
  v("records", r.records);
  v("bases", r.bases);
  v("input_bytes", r.input_bytes);
  v("output_bytes", r.output_bytes);
  v("output_md5", r.output_md5);
  v("seqchksum_path", r.seqchksum_path);
  v("md5_path", r.md5_path);
  v("index_path", r.index_path);
  v("qc_paths", r.qc_paths);
  v("seconds", r.seconds);
  v("stage_seconds", r.stage_seconds);
};

constexpr auto kVerifyOptions = [](auto& o, auto&& v) {
  v("cram", o.cram);
  v("reference", o.reference);
  v("against", o.against);
  v("paired", o.paired);
  v("interleaved", o.interleaved);
  v("threads", o.threads);
};

constexpr auto kVerifyResult = [](auto& r, auto&& v) {
  v("equal", r.equal);
  v("records", r.records);
  v("expected_records", r.expected_records);
  v("md5_checked", r.md5_checked);
  v("md5_equal", r.md5_equal);
  v("verdict", r.verdict);
  v("cram_seqchksum", r.cram_seqchksum);
  v("expected_seqchksum", r.expected_seqchksum);
  v("md5", r.md5);
  v("expected_md5", r.expected_md5);
  v("expected_source", r.expected_source);
  v("differences", r.differences);
};

// The visited fields of `t` as a JSON object.
template <typename T, typename Visit>
json ToJson(const T& t, Visit visit) {
  json out = json::object();
  visit(t, [&](const char* key, const auto& value) { out[key] = value; });
  return out;
}

// Reads the visited fields of `j` into `t` (absent ones keep their defaults); the first of the
// wrong type is an error naming `what` and the field.
template <typename T, typename Visit>
Status FromJson(const json& j, const char* what, T& t, Visit visit) {
  if (!j.is_object()) return Internal(std::string("stage process: not a JSON object: the ") + what);
  const char* bad = nullptr;
  visit(t, [&](const char* key, auto& value) {
    if (!bad && !Field(j, key, value)) bad = key;
  });
  return bad ? Malformed(what, bad) : Status::Ok();
}


}  // namespace

json CompressOptionsJson(const CompressOptions& o) {
  json out = ToJson(o, kCompressOptions);
  out["profile"] = CramProfileName(o.profile);
  out["placement"] = o.placement == FastqPlacement::kMapped ? "mapped" : "unaligned";
  return out;
}

StatusOr<CompressOptions> CompressOptionsFromJson(const json& j) {
  CompressOptions o;
  CRAMJET_RETURN_IF_ERROR(FromJson(j, "compress options", o, kCompressOptions));
  std::string profile = CramProfileName(o.profile), placement = "mapped";
  CJ_FIELD(j, "profile", profile, "compress options");
  CJ_FIELD(j, "placement", placement, "compress options");
  CRAMJET_ASSIGN_OR_RETURN(o.profile, ParseCramProfile(profile));
  if (placement != "mapped" && placement != "unaligned") return Internal("stage process: placement '" + placement + "'");
  o.placement = placement == "mapped" ? FastqPlacement::kMapped : FastqPlacement::kUnaligned;
  return o;
}

json CompressResultJson(const CompressResult& r) { return ToJson(r, kCompressResult); }

StatusOr<CompressResult> CompressResultFromJson(const json& j) {
  CompressResult r;
  CRAMJET_RETURN_IF_ERROR(FromJson(j, "compress result", r, kCompressResult));
  return r;
}

json VerifyOptionsJson(const VerifyOptions& o) { return ToJson(o, kVerifyOptions); }

StatusOr<VerifyOptions> VerifyOptionsFromJson(const json& j) {
  VerifyOptions o;
  CRAMJET_RETURN_IF_ERROR(FromJson(j, "verify options", o, kVerifyOptions));
  return o;
}

json VerifyResultJson(const VerifyResult& r) { return ToJson(r, kVerifyResult); }

StatusOr<VerifyResult> VerifyResultFromJson(const json& j) {
  VerifyResult r;
  CRAMJET_RETURN_IF_ERROR(FromJson(j, "verify result", r, kVerifyResult));
  return r;
}

// ---- the parent's side --------------------------------------------------------------------------

json CompressRequest(const CompressOptions& options, bool crash_for_test) {
  return {{"stage", "compress"}, {"log_level", static_cast<int>(GetLogLevel())},
          {"crash_for_test", crash_for_test}, {"options", CompressOptionsJson(options)}};
}

json VerifyRequest(const VerifyOptions& options, bool crash_for_test) {
  return {{"stage", "verify"}, {"log_level", static_cast<int>(GetLogLevel())},
          {"crash_for_test", crash_for_test}, {"options", VerifyOptionsJson(options)}};
}

void DeliverCompressProgress(const CompressOptions& options, const json& p) {
  if (!options.progress || !p.is_object()) return;
  Progress update;
  std::string stage;
  Field(p, "records", update.records);
  Field(p, "input_bytes", update.input_bytes);
  Field(p, "elapsed_seconds", update.elapsed_seconds);
  Field(p, "stage", stage);
  Field(p, "stage_fraction", update.stage_fraction);
  Field(p, "stage_seconds", update.stage_seconds);
  update.stage = stage.c_str();  // lives through the call
  options.progress(update);
}

StatusOr<CompressResult> CompressInChildProcess(const CompressOptions& options, bool crash_for_test) {
  const json request = CompressRequest(options, crash_for_test);
  auto progress = [&](const json& p) { DeliverCompressProgress(options, p); };
  CRAMJET_ASSIGN_OR_RETURN(ChildOutcome outcome, RunChild(request, progress));
  CRAMJET_ASSIGN_OR_RETURN(json result,
                           Reply(outcome, "compress", options.inputs.empty() ? options.output : options.inputs[0]));
  return CompressResultFromJson(result);
}

StatusOr<VerifyResult> VerifyInChildProcess(const VerifyOptions& options, bool crash_for_test) {
  CRAMJET_ASSIGN_OR_RETURN(ChildOutcome outcome, RunChild(VerifyRequest(options, crash_for_test), nullptr));
  CRAMJET_ASSIGN_OR_RETURN(json result, Reply(outcome, "verify", options.cram));
  return VerifyResultFromJson(result);
}

// ---- the child's side ---------------------------------------------------------------------------

int RunStageChild(bool detached) {
  // The daemon decides when a stage stops: on SIGTERM it lets running stages finish within its
  // grace period, then exits, and PR_SET_PDEATHSIG ends this process. systemd sends SIGTERM to
  // every process of the service at once; this one must not die of it mid-stage. A detached
  // child (a Slurm job) has no daemon above it: Slurm's SIGTERM (scancel, a time limit) ends it.
  if (!detached)
    for (int sig : {SIGTERM, SIGINT, SIGHUP}) ::signal(sig, SIG_IGN);
  std::string text;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(0, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  std::mutex out_mu;  // progress comes from the pipeline's threads
  auto emit = [&](const json& line) {
    std::lock_guard<std::mutex> lock(out_mu);
    WriteAll(1, line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
  };
  const json request = json::parse(text, nullptr, false);
  if (!request.is_object() || !request.contains("stage") || !request["stage"].is_string() ||
      !request.contains("options")) {
    emit(ErrorLine(Internal("stage process: the request is not a stage request")));
    return 0;
  }
  int level = static_cast<int>(LogLevel::kInfo);
  Field(request, "log_level", level);
  if (level >= static_cast<int>(LogLevel::kDebug) && level <= static_cast<int>(LogLevel::kError))
    SetLogLevel(static_cast<LogLevel>(level));
  bool crash_for_test = false;
  Field(request, "crash_for_test", crash_for_test);
  if (crash_for_test) {
    // [testing] crash_stage_children: the death a hostile file causes, on demand.
    ::signal(SIGSEGV, SIG_DFL);
    ::raise(SIGSEGV);
  }
  const std::string stage = request["stage"].get<std::string>();
#if defined(CRAMJET_DAEMON_HAVE_PIPELINE) && defined(CRAMJET_DAEMON_HAVE_VERIFY)
  if (stage == "compress") {
    auto options = CompressOptionsFromJson(request["options"]);
    if (!options.ok()) {
      emit(ErrorLine(options.status()));
      return 0;
    }
    options->progress = [&](const Progress& p) {
      emit({{"progress",
             {{"records", p.records}, {"input_bytes", p.input_bytes}, {"elapsed_seconds", p.elapsed_seconds},
              {"stage", p.stage}, {"stage_fraction", p.stage_fraction}, {"stage_seconds", p.stage_seconds}}}});
    };
    auto result = Compress(*options);
    emit(result.ok() ? json{{"result", CompressResultJson(*result)}} : ErrorLine(result.status()));
  } else if (stage == "verify") {
    auto options = VerifyOptionsFromJson(request["options"]);
    if (!options.ok()) {
      emit(ErrorLine(options.status()));
      return 0;
    }
    auto result = Verify(*options);
    emit(result.ok() ? json{{"result", VerifyResultJson(*result)}} : ErrorLine(result.status()));
  } else {
    emit(ErrorLine(Internal("stage process: unknown stage '" + stage + "'")));
  }
#else
  emit(ErrorLine(Unimplemented("stage process: the " + stage + " stage is not in this build")));
#endif
  return 0;
}

}  // namespace cramjet::daemon
