// The Slurm executor (slurm_executor.h).
#include "daemon/slurm_executor.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "common/common.h"
#include "common/unique_fd.h"
#include "cramjet/log.h"
#include "daemon/server_context.h"
#include "daemon/stage_process.h"

extern char** environ;

namespace cramjet::daemon {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// How long one sbatch / squeue / scancel may take before the daemon gives up on it.
constexpr int kToolTimeoutS = 60;
// After Slurm reports the job ended, how long its exit file may take to become visible before
// the job counts as ended without a result: a job that COMPLETED wrote it, and a shared
// filesystem's attribute cache can hide it for a minute; any other end waits a few polls.
constexpr int kCompletedExitGraceS = 120;
constexpr int kEndedPolls = 3;

// Whether the run's exit file is there, asked of the folder's listing: readdir revalidates a
// network filesystem's cached view of the folder, which a stat of a name it believes absent may
// not.
bool ExitFileVisible(const std::string& dir) {
  if (dir.empty()) return false;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return false;
  bool found = false;
  while (dirent* e = ::readdir(d))
    if (std::strcmp(e->d_name, "exit") == 0) {
      found = true;
      break;
    }
  ::closedir(d);
  return found;
}

std::string Quoted(const std::string& w) {
  std::string out = "'";
  for (char c : w) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t b = 0;
  while (b < s.size() && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  return s.substr(b);
}

std::string FirstLine(const std::string& s) { return Trim(s.substr(0, s.find('\n'))); }

// The job record of this stage, or null.
json* RecordFor(Job& job, Stage stage) {
  auto it = job.extra.find("executor");
  if (it == job.extra.end() || !it->is_object() || it->value("stage", "") != StageName(stage)) return nullptr;
  return &*it;
}

// What `cramjet status` shows for a Slurm job.
std::string WhereText(const std::string& id, const SlurmJobState& s) {
  std::string w = "slurm job " + id;
  if (!s.node.empty() && s.node != "(null)" && s.node != "None assigned") w += " on " + s.node;
  if (!s.state.empty()) {
    w += " (" + s.state;
    if (s.state == "PENDING" && !s.reason.empty() && s.reason != "None") w += ": " + s.reason;
    w += ")";
  }
  return w;
}

// Why a Slurm job that left no exit status ended, for the job's error.
std::string EndedWithoutResult(const std::string& id, const SlurmJobState& s) {
  const std::string on = s.node.empty() ? "" : " on " + s.node;
  if (!s.known) return "Slurm job " + id + " ended without a result and Slurm no longer knows it";
  if (s.state.rfind("CANCELLED", 0) == 0) return "Slurm job " + id + on + " was cancelled (scancel) before it finished";
  if (s.state == "NODE_FAIL") return "Slurm job " + id + " was lost with its node" + on + " (NODE_FAIL)";
  if (s.state == "TIMEOUT") return "Slurm job " + id + on + " reached its time limit ([executor] time_limit)";
  if (s.state == "OUT_OF_MEMORY") return "Slurm job " + id + on + " ran out of memory ([executor] memory_mb)";
  if (s.state == "PREEMPTED") return "Slurm job " + id + on + " was preempted";
  if (s.state == "BOOT_FAIL") return "Slurm job " + id + on + " could not boot its node (BOOT_FAIL)";
  return "Slurm job " + id + on + " ended " + s.state + " without a result";
}

}  // namespace

// ---- commands -----------------------------------------------------------------------------------

StatusOr<ToolOutput> RunTool(const std::vector<std::string>& argv, int timeout_s,
                              const std::vector<std::string>* environment) {
  if (argv.empty()) return InvalidArgument("RunTool: no command");
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return Unavailable(std::string("pipe: ") + std::strerror(errno));
  UniqueFd out_read(out_pipe[0]), out_write(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return Unavailable(std::string("pipe: ") + std::strerror(errno));
  UniqueFd err_read(err_pipe[0]), err_write(err_pipe[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_write.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err_write.get(), 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);  // the daemon's threads block its signals
  // A group of its own, so that a timeout ends a site wrapper's children too (they hold the pipes).
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> env;
  if (environment) {
    for (const std::string& e : *environment) env.push_back(const_cast<char*>(e.c_str()));
    env.push_back(nullptr);
  }
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environment ? env.data() : environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  // Unavailable, not a permanent error: a missing tool is caught at start (Create), so what fails
  // here is passing (EAGAIN, ENOMEM) and the job's attempt is retried.
  if (rc != 0) return Unavailable("cannot run '" + argv[0] + "': " + std::strerror(rc));
  out_write.reset();
  err_write.reset();
  ToolOutput result;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  bool timed_out = false;
  pollfd fds[2] = {{out_read.get(), POLLIN, 0}, {err_read.get(), POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  while (open_fds > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    const int n = ::poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      timed_out = true;  // cannot follow it any more: end it rather than wait on it unread
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buffer[4096];
      const ssize_t got = ::read(fds[i].fd, buffer, sizeof buffer);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        fds[i].fd = -1;
        --open_fds;
        continue;
      }
      if (sinks[i]->size() < (1u << 20)) sinks[i]->append(buffer, static_cast<size_t>(got));
    }
  }
  if (timed_out) ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) return Unavailable("'" + argv[0] + "' did not answer within " + std::to_string(timeout_s) + " s");
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

bool SlurmJobState::Ended() const {
  if (!known) return true;
  for (const char* s : {"COMPLETED", "CANCELLED", "FAILED", "TIMEOUT", "NODE_FAIL", "PREEMPTED", "OUT_OF_MEMORY",
                        "BOOT_FAIL", "DEADLINE", "REVOKED", "SPECIAL_EXIT"})
    if (state.rfind(s, 0) == 0) return true;  // sacct writes "CANCELLED by 0"
  return false;
}

SlurmJobState ParseSlurmStateLine(const std::string& line) {
  SlurmJobState s;
  const std::string text = FirstLine(line);
  if (text.empty()) return s;
  s.known = true;
  const size_t a = text.find('|');
  s.state = Trim(text.substr(0, a));
  if (a != std::string::npos) {
    const size_t b = text.find('|', a + 1);
    s.node = Trim(text.substr(a + 1, b == std::string::npos ? std::string::npos : b - a - 1));
    if (b != std::string::npos) {
      const size_t c = text.find('|', b + 1);
      s.reason = Trim(text.substr(b + 1, c == std::string::npos ? std::string::npos : c - b - 1));
      if (c != std::string::npos) s.name = Trim(text.substr(c + 1));
    }
  }
  return s;
}

// ---- the executor -------------------------------------------------------------------------------

std::string SlurmExecutor::Tool(const char* name) const {
  return config_.slurm_bin_dir.empty() ? std::string(name) : config_.slurm_bin_dir + "/" + name;
}

StatusOr<std::shared_ptr<const SlurmExecutor>> SlurmExecutor::Create(const DaemonConfig& config) {
  std::shared_ptr<SlurmExecutor> e(new SlurmExecutor());
  e->config_ = config.executor;
  e->memory_per_job_mb_ = config.memory_per_job_mb;
  e->work_dir_ = config.executor.work_dir.empty() ? config.state_dir + "/slurm" : config.executor.work_dir;
  std::error_code ec;
  fs::create_directories(e->work_dir_, ec);
  if (ec || ::access(e->work_dir_.c_str(), W_OK) != 0)
    return FailedPrecondition("[executor] work_dir: cannot write '" + e->work_dir_ + "'" +
                              (ec ? ": " + ec.message() : std::string()));
  if (!config.executor.cramjetd.empty()) {
    e->cramjetd_ = config.executor.cramjetd;
  } else {
    char self[4096];
    const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return FailedPrecondition("[executor] cramjetd: cannot find this daemon's own binary");
    e->cramjetd_.assign(self, static_cast<size_t>(n));
  }
  if (::access(e->cramjetd_.c_str(), X_OK) != 0)
    return FailedPrecondition("[executor] cramjetd: '" + e->cramjetd_ + "' is not an executable");
  // What Slurm's commands (and, through sbatch's default --export=ALL, the jobs) see of this
  // daemon's environment: what they and htslib need, never the archive's credentials
  // (CRAMJET_ARCHIVE_*, AWS_*, C4GH_PASSPHRASE), which would otherwise sit in slurmctld's state and
  // every job's environment.
  for (char** v = environ; *v; ++v) {
    const std::string_view entry(*v);
    const std::string_view name = entry.substr(0, entry.find('='));
    static constexpr std::string_view kKept[] = {"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE",
                                                 "TZ", "TMPDIR", "REF_PATH", "REF_CACHE", "HTS_PATH"};
    if (name.starts_with("SLURM_") || std::find(std::begin(kKept), std::end(kKept), name) != std::end(kKept))
      e->environment_.emplace_back(entry);
  }
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  e->host_ = host;
  for (char& c : e->host_)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') c = '-';
  // The tools answer now, or the daemon does not start: a missing Slurm client is a setup error,
  // not a reason to fail every job later.
  for (const char* tool : {"sbatch", "squeue"}) {
    auto version = RunTool({e->Tool(tool), "--version"}, kToolTimeoutS, &e->environment_);
    if (!version.ok() || version->exit_code != 0)
      return FailedPrecondition(std::string("[executor] kind = \"slurm\": '") + e->Tool(tool) + " --version' failed (" +
                                (version.ok() ? FirstLine(version->err + version->out) : version.status().message()) +
                                "); install Slurm's client tools or set [executor] slurm_bin_dir");
  }
  return std::shared_ptr<const SlurmExecutor>(e);
}

StatusOr<SlurmJobState> SlurmExecutor::Query(const std::string& id, const std::string& name) const {
  CRAMJET_ASSIGN_OR_RETURN(ToolOutput q, RunTool({Tool("squeue"), "-h", "-j", id, "--states=all", "-o", "%T|%N|%r|%j"},
                                                 kToolTimeoutS, &environment_));
  SlurmJobState state;
  if (q.exit_code == 0 && !Trim(q.out).empty()) {
    state = ParseSlurmStateLine(q.out);
  } else {
    const bool forgotten = (q.exit_code == 0 && Trim(q.out).empty()) || q.err.find("Invalid job id") != std::string::npos;
    if (!forgotten) return Unavailable("squeue -j " + id + ": " + FirstLine(q.err + q.out));
    // squeue forgets a job MinJobAge (300 s) after it ends; accounting, where the site has it,
    // remembers how it ended.
    auto acct = RunTool({Tool("sacct"), "-n", "-X", "-P", "-j", id, "-o", "State,NodeList,JobName"}, kToolTimeoutS,
                        &environment_);
    if (!acct.ok() || acct->exit_code != 0 || Trim(acct->out).empty()) return SlurmJobState{};
    const SlurmJobState a = ParseSlurmStateLine(acct->out);  // State|NodeList|JobName
    state = a;
    state.reason.clear();
    state.name = a.reason;
  }
  // The id alone is not ours to trust: after a cluster rebuild or an id wrap it names someone
  // else's job, which must be neither followed nor cancelled.
  if (!name.empty() && !state.name.empty() && state.name != name) return SlurmJobState{};
  return state;
}

StatusOr<std::string> SlurmExecutor::FindByName(const std::string& name) const {
  CRAMJET_ASSIGN_OR_RETURN(ToolOutput q, RunTool({Tool("squeue"), "-h", "--name=" + name, "--states=all", "-o", "%i"},
                                                 kToolTimeoutS, &environment_));
  if (q.exit_code != 0) return Unavailable("squeue --name=" + name + ": " + FirstLine(q.err + q.out));
  return FirstLine(q.out);
}

Status SlurmExecutor::Cancel(const std::string& id, bool pending_only) const {
  std::vector<std::string> argv = {Tool("scancel")};
  if (pending_only) argv.push_back("--state=PENDING");
  argv.push_back(id);
  CRAMJET_ASSIGN_OR_RETURN(ToolOutput c, RunTool(argv, kToolTimeoutS, &environment_));
  if (c.exit_code != 0) return Unavailable("scancel " + id + ": " + FirstLine(c.err + c.out));
  return Status::Ok();
}

void SlurmExecutor::StageCommitted(const Job& job, Stage stage) const {
  // A failed run's folder is kept while the job may still need its log (the error names it);
  // once the stage's success is in the journal, its folders (this run's and the earlier failed
  // runs') go. Not before: a daemon killed between the two re-reads the result from the folder.
  std::error_code ec;
  const fs::path job_dir = fs::path(work_dir_) / ("job-" + std::to_string(job.id));
  std::vector<fs::path> runs;
  for (const auto& entry : fs::directory_iterator(job_dir, ec))
    if (entry.path().filename().string().rfind(std::string(StageName(stage)) + "-", 0) == 0) runs.push_back(entry.path());
  for (const fs::path& p : runs) fs::remove_all(p, ec);
  fs::remove(job_dir, ec);  // only when empty
}

StatusOr<std::string> SlurmExecutor::Submit(const std::string& dir, const std::string& name, int cpus) const {
  std::vector<std::string> argv = {Tool("sbatch"), "--parsable", "--job-name=" + name, "--chdir=" + dir,
                                   "--output=" + dir + "/slurm.log", "--no-requeue",
                                   "--cpus-per-task=" + std::to_string(cpus)};
  const uint64_t mem = config_.memory_mb > 0 ? config_.memory_mb : memory_per_job_mb_;
  if (mem > 0) argv.push_back("--mem=" + std::to_string(mem));
  if (!config_.partition.empty()) argv.push_back("--partition=" + config_.partition);
  if (!config_.account.empty()) argv.push_back("--account=" + config_.account);
  if (!config_.qos.empty()) argv.push_back("--qos=" + config_.qos);
  if (!config_.time_limit.empty()) argv.push_back("--time=" + config_.time_limit);
  argv.insert(argv.end(), config_.sbatch_args.begin(), config_.sbatch_args.end());
  argv.push_back(dir + "/run.sh");
  CRAMJET_ASSIGN_OR_RETURN(ToolOutput s, RunTool(argv, kToolTimeoutS, &environment_));
  // --parsable: "<id>" or "<id>;<cluster>".
  const std::string id = FirstLine(s.out).substr(0, FirstLine(s.out).find(';'));
  if (s.exit_code != 0 || id.empty() || !ParseDecimal(id))
    return Unavailable("sbatch refused the job: " + PrintableExcerpt(FirstLine(s.err + s.out), 400));
  return id;
}

StatusOr<json> SlurmExecutor::Run(Stage stage, const json& request, const std::string& subject, int cpus,
                                  StageRun& run, const std::function<void(const json&)>& progress) const {
  Job& job = *run.job;
  const std::string stage_name = StageName(stage);
  json* record = RecordFor(job, stage);
  std::string id;
  if (record) {
    id = record->value("slurm_job_id", "");
    if (id.empty()) {
      // Killed between writing the record and learning sbatch's answer, or sbatch failed without
      // saying whether it queued the job: Slurm may have it under its unique name.
      auto found = FindByName(record->value("name", ""));
      if (!found.ok()) return found.status();
      id = *found;
      if (id.empty() && !ExitFileVisible(record->value("dir", ""))) {
        job.extra.erase("executor");  // never reached Slurm: submit now
        record = nullptr;
      }
    }
    if (record) {
      (*record)["slurm_job_id"] = id;
      job.executor_job_id = id;
      CRAMJET_RETURN_IF_ERROR(run.commit());
      CJ_LOG(kInfo) << "job " << job.id << " (" << job.sample << ") " << stage_name << ": re-attached to Slurm job "
                    << id;
    }
  }
  if (!record) {
    const int n = (job.extra.contains("slurm_runs") && job.extra["slurm_runs"].is_number_integer()
                       ? job.extra["slurm_runs"].get<int>() : 0) + 1;
    const std::string dir = work_dir_ + "/job-" + std::to_string(job.id) + "/" + stage_name + "-" + std::to_string(n);
    const std::string name = "cramjet-" + host_ + "-" + std::to_string(job.id) + "-" + stage_name + "-" + std::to_string(n);
    std::error_code ec;
    fs::remove_all(dir, ec);
    fs::create_directories(dir, ec);
    if (ec) return IoError("[executor] work_dir: cannot make '" + dir + "': " + ec.message());
    CRAMJET_RETURN_IF_ERROR(WriteFileAtomically(dir + "/request.json", request.dump() + "\n"));
    // The script's own exit status is the child's, so that Slurm's state (FAILED, COMPLETED)
    // says how the stage ended too.
    const std::string script = "#!/bin/sh\n"
                               "# cramjetd job " + std::to_string(job.id) + " (sample " + job.sample + "): its " +
                               stage_name + " stage, run " + std::to_string(n) + ". Written by cramjetd\n"
                               "# (host/daemon/slurm_executor.h); sbatch runs it on a node.\n"
                               "cd " + Quoted(dir) + " || exit 1\n" +
                               Quoted(cramjetd_) + " " + kStageChildFlag + " " + kDetachedFlag +
                               " <request.json >reply.jsonl\n"
                               "code=$?\n"
                               "echo \"$code\" >exit.part && mv exit.part exit\n"
                               "exit \"$code\"\n";
    CRAMJET_RETURN_IF_ERROR(WriteFileAtomically(dir + "/run.sh", script));
    if (::chmod((dir + "/run.sh").c_str(), 0755) != 0)
      return IoError("chmod '" + dir + "/run.sh': " + std::strerror(errno));
    job.extra["slurm_runs"] = n;
    job.extra["executor"] = {{"kind", "slurm"}, {"stage", stage_name}, {"run", n}, {"dir", dir}, {"name", name},
                             {"slurm_job_id", ""}, {"submitted_at", WallSeconds()}};
    job.executor = "slurm";
    job.executor_job_id.clear();
    CRAMJET_RETURN_IF_ERROR(run.commit());  // the intent first: a kill during sbatch finds it by name
    // A failed sbatch keeps the record (id unknown): sbatch may have queued the job before it
    // failed (a timeout, "Socket timed out"), and the next attempt looks for it by name.
    CRAMJET_ASSIGN_OR_RETURN(id, Submit(dir, name, cpus));
    record = RecordFor(job, stage);
    (*record)["slurm_job_id"] = id;
    job.executor_job_id = id;
    CRAMJET_RETURN_IF_ERROR(run.commit());
    CJ_LOG(kInfo) << "job " << job.id << " (" << job.sample << ") " << stage_name << ": Slurm job " << id
                  << " submitted (" << cpus << " CPUs)";
  }
  const std::string dir = record->value("dir", "");
  const std::string name = record->value("name", "");
  if (run.where) run.where("slurm job " + id);
  // Wait for the exit file, following Slurm's view of the job and the child's progress lines.
  std::string pending, seen_state;
  json reply;  // the result line once read
  uint64_t offset = 0;
  auto read_reply = [&] {
    UniqueFd fd(::open((dir + "/reply.jsonl").c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return;
    if (::lseek(fd.get(), static_cast<off_t>(offset), SEEK_SET) < 0) return;
    char buffer[65536];
    ssize_t n;
    while ((n = ::read(fd.get(), buffer, sizeof buffer)) > 0) {
      offset += static_cast<uint64_t>(n);
      pending.append(buffer, static_cast<size_t>(n));
      TakeStageLines(pending, progress, reply);
    }
  };
  // Marks the record before a cancel is sent, so that a daemon killed right after it re-attaches
  // to a CANCELLED job knowing it was its own doing (no attempt counted).
  auto mark_cancel = [&](const char* why) {
    (*record)["cancelled_by"] = why;
    run.commit().IgnoreError();
  };
  SlurmJobState last;
  bool cancel_sent = false;  // scancel answered: asked once, then followed until Slurm reports the end
  double ended_since = -1;  // monotonic seconds when Slurm was first seen to report the end; -1: not yet
  for (;;) {
    read_reply();
    if (ExitFileVisible(dir)) break;
    if (run.stopping && run.stopping())
      return Aborted("cramjetd is stopping; Slurm job " + id + " keeps running and is re-attached at the next start");
    if (!cancel_sent && run.cancel_requested && run.cancel_requested(id)) {
      if (!record->contains("cancelled_by")) mark_cancel("retry");
      if (Status c = Cancel(id, false); c.ok()) {
        cancel_sent = true;
      } else {
        CJ_LOG(kWarning) << "job " << job.id << ": " << c.message() << "; trying again at the next poll";
      }
    }
    auto state = Query(id, name);
    if (!state.ok()) {
      CJ_LOG(kWarning) << "job " << job.id << ": cannot ask Slurm about job " << id << " (" << state.status().message()
                       << "); asking again";
    } else {
      last = *state;
      const std::string now = last.state + "|" + last.node;
      if (now != seen_state) {
        seen_state = now;
        (*record)["state"] = last.state;
        (*record)["node"] = last.node;
        // A drain's cancel that came too late (the job had started): it runs to its end and
        // counts as any other run.
        if (last.state == "RUNNING" && record->value("cancelled_by", "") == "drain") record->erase("cancelled_by");
        if (run.where) run.where(WhereText(id, last));
        run.commit().IgnoreError();  // for `cramjet jobs` while the daemon is down; not needed to resume
      }
      if (!cancel_sent && last.state == "PENDING" && run.draining && run.draining()) {
        // Only while it waits: scancel --state=PENDING leaves a job that started meanwhile alone,
        // and drain waits for that one like any running job.
        if (!record->contains("cancelled_by")) mark_cancel("drain");
        if (Status c = Cancel(id, true); c.ok()) {
          cancel_sent = true;
        } else {
          CJ_LOG(kWarning) << "job " << job.id << ": " << c.message() << "; trying again at the next poll";
        }
      }
      if (!last.Ended()) {
        ended_since = -1;
      } else {
        const double now_time = MonotonicSeconds();
        if (ended_since < 0) ended_since = now_time;
        // How long the exit file may take to show after Slurm saw the job end: a shared
        // filesystem's attribute cache can hide a new file for a minute. A job that ended
        // COMPLETED wrote it (run.sh's last act before its exit); one cancelled or lost with
        // its node, almost certainly not.
        const double grace = last.state == "COMPLETED" ? kCompletedExitGraceS : kEndedPolls * config_.poll_interval_s;
        if (now_time - ended_since >= grace) break;
      }
    }
    // Sleeps a poll interval, waking for a stop or a cancel request.
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(config_.poll_interval_s);
    while (std::chrono::steady_clock::now() < until && !(run.stopping && run.stopping()) &&
           !(!cancel_sent && run.cancel_requested && run.cancel_requested(id)))
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  read_reply();
  const std::string cancelled_by = record->value("cancelled_by", "");
  job.extra.erase("executor");
  job.executor_job_id.clear();
  if (!ExitFileVisible(dir)) {
    if (cancelled_by == "retry")
      return Aborted("Slurm job " + id + " cancelled for an operator's retry; the stage is submitted again");
    if (cancelled_by == "drain")
      return Aborted("drain: Slurm job " + id + " had not started and was cancelled; the job waits in the queue");
    return Unavailable("'" + subject + "': " + EndedWithoutResult(id, last) + "; its log: " + dir + "/slurm.log");
  }
  auto text = ReadSmallFile(dir + "/exit");
  const std::optional<int> code = text.ok() ? ParseDecimalInt(Trim(*text)) : std::nullopt;
  if (!code) return DataLoss("'" + dir + "/exit': not an exit status");
  StageChildEnd end;
  end.signaled = *code > 128 && *code < 128 + 65;
  end.signal = end.signaled ? *code - 128 : 0;
  end.exit_code = *code;
  const bool killed_by_slurm = end.signaled && (end.signal == SIGTERM || end.signal == SIGKILL ||
                                                end.signal == SIGINT || end.signal == SIGHUP);
  if (killed_by_slurm && reply.is_null()) {
    // Slurm ends a job's processes with SIGTERM, then SIGKILL: scancel, a node set down, the
    // time limit, preemption. Not a shutdown of this daemon (a local child's SIGTERM is one):
    // a failed attempt, with the reason Slurm gives once it has recorded the end; or none at all
    // when this daemon cancelled it.
    if (cancelled_by == "retry")
      return Aborted("Slurm job " + id + " cancelled for an operator's retry; the stage is submitted again");
    for (int i = 0; i < 10 && !(run.stopping && run.stopping()); ++i) {
      if (auto state = Query(id, name); state.ok()) last = *state;
      if (last.Ended()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    return Unavailable("'" + subject + "': " + EndedWithoutResult(id, last) + " (its process got signal " +
                       std::to_string(end.signal) + "); its log: " + dir + "/slurm.log");
  }
  const std::string node = last.node.empty() ? "" : " on " + last.node;
  return StageChildReply(reply, end, stage_name, subject, "Slurm job " + id + node);
}

StatusOr<CompressResult> SlurmExecutor::Compress(const CompressOptions& options, StageRun& run,
                                                 bool crash_for_test) const {
  const int cpus = config_.cpus_per_job > 0 ? config_.cpus_per_job : std::max(1, options.threads);
  CompressOptions o = options;
  o.threads = cpus;
  // Half of the Slurm job's memory sorts, as locally half of memory_per_job_mb does: the rest
  // holds the index, decoder and QC within the job's --mem.
  if (config_.memory_mb > 0) o.memory_bytes = config_.memory_mb * (1ull << 20) / 2;
  auto progress = [&](const json& p) { DeliverCompressProgress(options, p); };
  CRAMJET_ASSIGN_OR_RETURN(json result, Run(Stage::kCompress, CompressRequest(o, crash_for_test),
                                            o.inputs.empty() ? o.output : o.inputs[0], cpus, run, progress));
  return CompressResultFromJson(result);
}

StatusOr<VerifyResult> SlurmExecutor::Verify(const VerifyOptions& options, StageRun& run, bool crash_for_test) const {
  const int cpus = config_.cpus_per_job > 0 ? config_.cpus_per_job : std::max(1, options.threads);
  VerifyOptions o = options;
  o.threads = cpus;
  CRAMJET_ASSIGN_OR_RETURN(json result,
                           Run(Stage::kVerify, VerifyRequest(o, crash_for_test), o.cram, cpus, run, nullptr));
  return VerifyResultFromJson(result);
}

}  // namespace cramjet::daemon
