// Daemon client commands: status, jobs, job, retry, release, pause, resume, drain, submit. Each talks to
// cramjetd over its Unix socket (include/cramjet/daemon_api.h). Human output is a thin view over
// the JSON, which `--json` prints as is, with its "api_version".
#include <sys/ioctl.h>
#include <unistd.h>


#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cramjet/daemon_api.h"

namespace cramjet::cli {
namespace {

using json = nlohmann::json;

struct DaemonFlags {
  std::string socket;
  std::string config;  // jobs, job: the daemon's config, to find its journal while it is down
  bool json = false;
};

void AddCommonFlags(CLI::App* sub, DaemonFlags& f) {
  sub->add_option("--socket", f.socket,
                  "cramjetd API socket (default: $CRAMJET_SOCKET, else /run/cramjet/api.sock)");
  sub->add_flag("--json", f.json, "print the daemon's versioned JSON instead of text");
}

std::string SocketPath(const DaemonFlags& f) {
  if (!f.socket.empty()) return f.socket;
  const char* env = std::getenv("CRAMJET_SOCKET");
  return env && *env ? env : kDefaultDaemonSocket;
}

StatusOr<json> Call(const DaemonFlags& f, const std::string& method, const json& params = json::object()) {
  CRAMJET_ASSIGN_OR_RETURN(std::string text, CallDaemon(SocketPath(f), method, params.dump()));
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return Internal("cramjetd sent a result that is not JSON");
  return j;
}

std::string ConfigPath(const DaemonFlags& f) {
  if (!f.config.empty()) return f.config;
  const char* env = std::getenv("CRAMJET_CONFIG");
  return env && *env ? env : kDefaultDaemonConfig;
}

// jobs and job: from the daemon, or, when it is not reachable, from its journal read directly
// (read-only), saying so on stderr. Still not reachable and no journal: the daemon's error, with
// why the journal could not be read.
StatusOr<json> CallOrReadJournal(const std::string& command, const DaemonFlags& f, const std::string& method,
                                 const json& params) {
  StatusOr<json> live = Call(f, method, params);
  if (live.ok() || live.status().code() != StatusCode::kUnavailable) return live;
  StatusOr<JournalReply> read = ReadJournalDirectly(ConfigPath(f), method, params.dump());
  if (!read.ok()) return Status(live.status().code(), live.status().message() + "; its journal: " + read.status().message());
  json j = json::parse(read->result_json, nullptr, false);
  if (j.is_discarded()) return Internal("the journal's reply is not JSON");
  std::fprintf(stderr, "cramjet %s: cramjetd is not running (%s); read from its journal '%s'\n", command.c_str(),
               live.status().message().c_str(), read->journal_path.c_str());
  if (j.is_object()) j["daemon_down"] = true;
  return j;
}

void PrintJson(json result) {
  json out = {{"api_version", kDaemonApiVersion}};
  if (result.is_object()) out.update(result);
  else out["result"] = result;
  std::printf("%s\n", out.dump(2).c_str());
}

std::string Bytes(double b) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  int u = 0;
  while (b >= 1000 && u < 5) {
    b /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
  return buf;
}

std::string Duration(double s) {
  long t = static_cast<long>(s);
  char buf[48];
  if (t >= 86400) std::snprintf(buf, sizeof buf, "%ldd %ldh", t / 86400, (t % 86400) / 3600);
  else if (t >= 3600) std::snprintf(buf, sizeof buf, "%ldh %02ldm", t / 3600, (t % 3600) / 60);
  else if (t >= 60) std::snprintf(buf, sizeof buf, "%ldm %02lds", t / 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}

std::string Clock(double unix_seconds) {
  if (unix_seconds <= 0) return "-";
  time_t t = static_cast<time_t>(unix_seconds);
  tm local{};
  localtime_r(&t, &local);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &local);
  return buf;
}

std::string Str(const json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return "";
  return j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
}

void PrintStatus(const json& s) {
  std::ostringstream o;
  o << "cramjetd " << Str(s, "version") << "  " << Str(s, "state") << ", up " << Duration(s.value("uptime_seconds", 0.0))
    << "  (pid " << Str(s, "pid") << ", " << Str(s, "workers") << " worker(s))\n";
  o << "backend    " << (Str(s, "backend").empty() ? "unknown" : Str(s, "backend")) << "\n";
  if (!Str(s, "executor").empty() && Str(s, "executor") != "local")
    o << "executor   " << Str(s, "executor") << " (compress and verify run as cluster jobs)\n";
  const json& jobs = s["jobs"];
  o << "jobs       " << jobs.value("queued", 0) << " queued, " << jobs.value("running", 0) << " running, "
    << jobs.value("failed", 0) << " failed, " << jobs.value("held", 0) << " held, " << jobs.value("done_today", 0) << " done today ("
    << jobs.value("done", 0) << " in total)\n";
  if (s.value("intake_paused_low_disk", false)) o << "INTAKE PAUSED: free disk below the configured minimum\n";
  const json& running = s["running"];
  if (!running.empty()) {
    char line[256];
    std::snprintf(line, sizeof line, "  %-6s %-24s %-9s %-12s %8s %12s  %-12s %s\n", "ID", "SAMPLE", "STAGE",
                  "PROGRESS", "ELAPSED", "THROUGHPUT", "RUN", "WHERE");
    o << "running\n" << line;
    for (const auto& r : running) {
      // One kind of value per column: a percentage where the stage's share of its input is
      // known, else "-"; the stage's time in its own column.
      // The step within the stage ("encode 45%") where compress reports one, else "-".
      std::string progress = r.contains("step") && r["step"].is_string() ? r["step"].get<std::string>() : "";
      if (r["progress"].is_number())
        progress += (progress.empty() ? "" : " ") + std::to_string(static_cast<int>(r["progress"].get<double>() * 100)) + "%";
      if (progress.empty()) progress = "-";
      const std::string elapsed = Duration(r.value("stage_seconds", 0.0));
      const std::string tput = r["throughput_bytes_per_second"].is_number()
                                   ? Bytes(r["throughput_bytes_per_second"].get<double>()) + "/s" : "-";
      // Where the stage runs: "local", or its Slurm job, node and state.
      const std::string run_id = Str(r, "run_id").empty() ? "-" : Str(r, "run_id");
      std::snprintf(line, sizeof line, "  %-6s %-24s %-9s %-12s %8s %12s  %-12s %s\n", Str(r, "id").c_str(),
                    Str(r, "sample").c_str(), Str(r, "stage").c_str(), progress.c_str(), elapsed.c_str(), tput.c_str(),
                    run_id.c_str(), Str(r, "where").empty() ? "local" : Str(r, "where").c_str());
      o << line;
    }
  }
  if (s.contains("held"))
    for (const auto& h : s["held"])
      o << "HELD       job " << Str(h, "id") << " " << Str(h, "sample") << ": QC " << Str(h, "qc_verdict")
        << (Str(h, "reason").empty() ? "" : " (" + Str(h, "reason") + ")") << "; `cramjet release " << Str(h, "id")
        << "` ships it\n";
  for (const auto& d : s["disk"])
    o << "disk       " << Bytes(d.value("free_bytes", 0.0)) << " free of " << Bytes(d.value("total_bytes", 0.0))
      << "  " << Str(d, "path") << "\n";
  for (const auto& w : s["waiting_runs"]) o << "waiting    " << Str(w, "path") << ": " << Str(w, "reason") << "\n";
  for (const auto& r : s["rejected"]) o << "refused    " << Str(r, "path") << ": " << Str(r, "error") << "\n";
  if (s["last_error"].is_null()) o << "last error none\n";
  else o << "last error " << Clock(s["last_error"].value("at", 0.0)) << "  " << Str(s["last_error"], "message") << "\n";
  std::fputs(o.str().c_str(), stdout);
}

// Attempts as a person counts them: runs of the job, the one that finished included, and how
// many of them failed (the API's `attempts` counts failures only).
std::string AttemptsText(const json& j) {
  const int failed = j.value("attempts", 0);
  const std::string state = Str(j, "state");
  const int runs = failed + (state == "done" || state == "running" || state == "held" ? 1 : 0);
  return std::to_string(runs) + " (" + std::to_string(failed) + " failed)";
}

// The error a job shows: its last failure while it is failed or waiting to retry; a job running
// again or finished shows none (its history keeps them).
std::string ShownError(const json& j) {
  const std::string state = Str(j, "state");
  return state == "failed" || state == "queued" ? j.value("last_error", "") : "";
}

// Columns of a terminal, 0 when standard output is not one (then lines are never cut).
size_t TerminalColumns() {
  winsize w{};
  if (!::isatty(STDOUT_FILENO) || ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &w) != 0) return 0;
  return w.ws_col;
}

void PrintJobs(const json& jobs) {
  const size_t columns = TerminalColumns();
  char head[256];
  std::snprintf(head, sizeof head, "%-6s %-8s %-9s %-24s %-4s %-14s %-19s ", "ID", "STATE", "STAGE", "SAMPLE", "QC",
                "ATTEMPTS", "UPDATED");
  std::printf("%sRUN / ERROR\n", head);
  for (const auto& j : jobs) {
    const std::string error = ShownError(j);
    std::string tail = error.empty() ? Str(j, "run_id") : error;
    // On a terminal a long error (paths) is cut to the line, not wrapped under the columns;
    // `cramjet job ID` shows it whole.
    const size_t room = columns > std::strlen(head) + 8 ? columns - std::strlen(head) : 0;
    if (room > 0 && tail.size() > room) tail = tail.substr(0, room - 3) + "...";
    const std::string qc = Str(j, "qc_verdict").empty() ? "-" : Str(j, "qc_verdict");
    std::printf("%-6s %-8s %-9s %-24s %-4s %-14s %-19s %s\n", Str(j, "id").c_str(), Str(j, "state").c_str(),
                Str(j, "state") == "done" ? "-" : Str(j, "stage").c_str(), Str(j, "sample").c_str(), qc.c_str(),
                AttemptsText(j).c_str(), Clock(j.value("updated_at", 0.0)).c_str(), tail.c_str());
  }
}

void PrintJob(const json& j) {
  std::ostringstream o;
  o << "job " << Str(j, "id") << ": " << Str(j, "sample") << "  " << Str(j, "state")
    << (Str(j, "state") == "done" ? "" : " (next stage: " + Str(j, "stage") + ")") << "\n";
  o << "  origin     " << Str(j, "origin") << (Str(j, "run_id").empty() ? "" : "  run " + Str(j, "run_id")) << "\n";
  for (const auto& in : j["inputs"]) o << "  input      " << in.get<std::string>() << "\n";
  o << "  reference  " << Str(j, "reference") << "\n";
  o << "  output     " << Str(j, "output") << "\n";
  o << "  records    " << Str(j, "records") << ", " << Bytes(j.value("input_bytes", 0.0)) << " -> "
    << Bytes(j.value("output_bytes", 0.0)) << (Str(j, "output_md5").empty() ? "" : "  md5 " + Str(j, "output_md5")) << "\n";
  if (!Str(j, "qc_verdict").empty()) {
    const json qc = j.contains("extra") && j["extra"].contains("qc") ? j["extra"]["qc"] : json::object();
    const std::string reason = qc.is_object() ? qc.value("reason", "") : "";
    o << "  qc         " << Str(j, "qc_verdict") << (reason.empty() ? "" : " (" + reason + ")");
    if (Str(j, "state") == "held") o << "; held before shipping: `cramjet release " << Str(j, "id") << "` ships it";
    else if (qc.is_object() && qc.contains("released_at")) o << "; released by an operator";
    o << "\n";
  }
  if (!Str(j, "executor").empty()) {
    // Where its compress and verify run: this machine, or the Slurm job it waits on now.
    o << "  runs on    " << Str(j, "executor");
    const json rec = j.contains("extra") && j["extra"].contains("executor") ? j["extra"]["executor"] : json();
    if (!Str(j, "executor_job_id").empty()) {
      o << " job " << Str(j, "executor_job_id");
      if (rec.is_object()) {
        if (!Str(rec, "node").empty()) o << " on " << Str(rec, "node");
        if (!Str(rec, "state").empty()) o << " (" << Str(rec, "state") << ", " << Str(rec, "stage") << ")";
        if (!Str(rec, "dir").empty()) o << "  " << Str(rec, "dir");
      }
    }
    o << "\n";
  }
  o << "  attempts   " << AttemptsText(j) << (ShownError(j).empty() ? "" : "  last error: " + ShownError(j)) << "\n";
  if (j.contains("events")) {
    o << "  history\n";
    for (const auto& e : j["events"])
      o << "    " << Clock(e.value("at", 0.0)) << "  " << Str(e, "stage") << ": " << Str(e, "message") << "\n";
  }
  std::fputs(o.str().c_str(), stdout);
}

// Registers one subcommand whose callback calls `run` and prints the result.
template <typename Run, typename Print>
CLI::App* AddCommand(CLI::App& app, Context& ctx, const std::string& name, const std::string& help,
                     std::shared_ptr<DaemonFlags> flags, Run run, Print print) {
  auto* sub = app.add_subcommand(name, help);
  AddCommonFlags(sub, *flags);
  sub->callback([&ctx, name, flags, run, print] {
    StatusOr<json> r = run(*flags);
    if (!r.ok()) {
      ctx.exit_code = ReportError(name, r.status());
      return;
    }
    if (flags->json) PrintJson(*r);
    else print(*r);
  });
  return sub;
}

}  // namespace

void RegisterDaemonCommands(CLI::App& app, Context& ctx) {
  auto status_flags = std::make_shared<DaemonFlags>();
  AddCommand(app, ctx, "status", "Show what cramjetd is doing", status_flags,
             [](const DaemonFlags& f) { return Call(f, "status"); }, PrintStatus);

  auto jobs_flags = std::make_shared<DaemonFlags>();
  auto jobs_state = std::make_shared<std::string>();
  auto jobs_limit = std::make_shared<int>(50);
  auto* jobs = AddCommand(app, ctx, "jobs", "List cramjetd's jobs, newest first", jobs_flags,
                          [jobs_state, jobs_limit](const DaemonFlags& f) {
                            json p = {{"limit", *jobs_limit}};
                            if (!jobs_state->empty()) p["state"] = *jobs_state;
                            return CallOrReadJournal("jobs", f, "jobs", p);
                          },
                          [](const json& r) { PrintJobs(r["jobs"]); });
  jobs->add_option("--state", *jobs_state, "only jobs in this state")
      ->check(CLI::IsMember({"queued", "running", "failed", "done", "held"}));
  jobs->add_option("-n,--limit", *jobs_limit, "at most this many (default 50)")->check(CLI::PositiveNumber);

  auto job_flags = std::make_shared<DaemonFlags>();
  auto job_id = std::make_shared<int64_t>(0);
  auto* job = AddCommand(app, ctx, "job", "Show one job and its history", job_flags,
                         [job_id](const DaemonFlags& f) { return CallOrReadJournal("job", f, "job", {{"id", *job_id}}); },
                         PrintJob);
  job->add_option("ID", *job_id, "job id")->required();
  for (auto [sub, flags] : {std::pair{jobs, jobs_flags.get()}, std::pair{job, job_flags.get()}})
    sub->add_option("--config", flags->config,
                    "the daemon's config, to read its journal directly when it is down (default: $CRAMJET_CONFIG, "
                    "else /etc/cramjet/cramjetd.toml)");

  auto retry_flags = std::make_shared<DaemonFlags>();
  auto retry_id = std::make_shared<int64_t>(0);
  AddCommand(app, ctx, "retry",
             "Queue a failed job again at the stage that failed; a running job whose stage waits on a Slurm job has "
             "that Slurm job cancelled and the stage submitted again",
             retry_flags, [retry_id](const DaemonFlags& f) { return Call(f, "retry", {{"id", *retry_id}}); },
             [](const json& j) {
               if (j.contains("cancelling"))
                 std::printf("job %s: cancelling Slurm job %s; its %s stage is submitted again\n", Str(j, "id").c_str(),
                             Str(j, "cancelling").c_str(), Str(j, "stage").c_str());
               else
                 std::printf("job %s queued again at stage %s\n", Str(j, "id").c_str(), Str(j, "stage").c_str());
             })
      ->add_option("ID", *retry_id, "job id")->required();

  auto release_flags = std::make_shared<DaemonFlags>();
  auto release_id = std::make_shared<int64_t>(0);
  AddCommand(app, ctx, "release", "Ship a job held for a QC fail ([qc] on_fail = \"hold\"); the manifest records the release",
             release_flags, [release_id](const DaemonFlags& f) { return Call(f, "release", {{"id", *release_id}}); },
             [](const json& j) { std::printf("job %s released: queued to %s\n", Str(j, "id").c_str(), Str(j, "stage").c_str()); })
      ->add_option("ID", *release_id, "job id")->required();

  for (const auto& [name, help] : std::vector<std::pair<std::string, std::string>>{
           {"pause", "Start no new jobs (running jobs finish); kept across restarts"},
           {"resume", "Start jobs again after pause"},
           {"drain", "Start no new jobs and stop cramjetd once the running jobs are done"}}) {
    auto flags = std::make_shared<DaemonFlags>();
    std::string method = name;
    AddCommand(app, ctx, name, help, flags, [method](const DaemonFlags& f) { return Call(f, method); },
               [method](const json& j) {
                 std::printf("cramjetd is %s%s\n", Str(j, "state").c_str(),
                             method == "drain" ? (" (" + Str(j, "running") + " job(s) still running)").c_str() : "");
               });
  }

  auto submit_flags = std::make_shared<DaemonFlags>();
  auto submit_path = std::make_shared<std::string>();
  AddCommand(app, ctx, "submit", "Take a run folder (under a watch root) or a drop-folder entry now", submit_flags,
             [submit_path](const DaemonFlags& f) -> StatusOr<json> {
               std::error_code ec;
               std::string abs = std::filesystem::absolute(*submit_path, ec).lexically_normal().string();
               while (abs.size() > 1 && abs.back() == '/') abs.pop_back();
               return Call(f, "submit", {{"path", abs}});
             },
             [](const json& j) {
               std::string ids;
               for (const auto& id : j["job_ids"]) ids += (ids.empty() ? "" : ", ") + id.dump();
               std::printf("queued job(s) %s\n", ids.empty() ? "none" : ids.c_str());
             })
      ->add_option("PATH", *submit_path, "run folder or drop-folder entry")->required();
}

}  // namespace cramjet::cli
