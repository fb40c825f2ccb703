// cramjetd's JSON API: the method table and what each family of methods does.
#include "daemon/api_server.h"

#include <unistd.h>

#include <algorithm>
#include <ctime>

#include "cramjet/daemon_api.h"
#include "daemon/journal_queries.h"
#include "cramjet/log.h"
#include "cramjet/version.h"

namespace cramjet::daemon {
using json = nlohmann::json;

namespace {

std::string StatusCodeKey(StatusCode code) {
  std::string s(StatusCodeName(code));
  std::replace(s.begin(), s.end(), ' ', '_');
  return s;
}

json ErrorReply(const Status& s) {
  return json{{"ok", false}, {"error", {{"code", StatusCodeKey(s.code())}, {"message", s.message()}}}};
}

double LocalMidnight() {
  time_t t = std::time(nullptr);
  tm local{};
  localtime_r(&t, &local);
  local.tm_hour = local.tm_min = local.tm_sec = 0;
  return static_cast<double>(mktime(&local));
}


}  // namespace

ApiServer::ApiServer(DaemonContext& context, IntakeScanner& intake, JobRunner& runner)
    : ctx_(context), intake_(intake), runner_(runner) {
  RegisterStatusMethods();
  RegisterJobMethods();
  RegisterControlMethods();
  RegisterIntakeMethods();
}

std::string ApiServer::HandleLine(std::string_view line) {
  json reply;
  const json request = json::parse(line.substr(0, line.find('\n')), nullptr, false);
  if (request.is_discarded()) {
    reply = {{"ok", false}, {"error", {{"code", "invalid_argument"}, {"message", "request is not valid JSON"}}}};
  } else {
    // The top-level guard: nothing a request makes a method throw ends the API thread.
    try {
      reply = Handle(request);
    } catch (const std::exception& e) {
      CJ_LOG(kError) << "API: request failed inside the daemon: " << e.what();
      reply = ErrorReply(Internal(std::string("the daemon failed on this request: ") + e.what()));
    }
  }
  reply["api_version"] = kDaemonApiVersion;
  requests_total_ += 1;
  // Replies carry file names and error text from outside (a server's answer, a folder's name),
  // which need not be UTF-8: shown with U+FFFD rather than failing the whole reply.
  return reply.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

json ApiServer::Handle(const json& request) {
  if (!request.is_object() || !request.contains("method") || !request["method"].is_string())
    return ErrorReply(InvalidArgument("request must be a JSON object with a \"method\""));
  const json& version_field = request.contains("api_version") ? request["api_version"] : json(kDaemonApiVersion);
  if (!version_field.is_number_integer() || version_field.get<int64_t>() != kDaemonApiVersion)
    return ErrorReply(InvalidArgument("api_version " + version_field.dump() + " is not served (this daemon: " +
                                      std::to_string(kDaemonApiVersion) + ")"));
  const std::string method = request["method"];
  const json params = request.contains("params") ? request["params"] : json::object();
  if (!params.is_object()) return ErrorReply(InvalidArgument("params must be a JSON object"));
  auto it = methods_.find(method);
  if (it == methods_.end()) return ErrorReply(InvalidArgument("unknown method '" + method + "'"));
  StatusOr<json> result = it->second(params);
  if (!result.ok()) return ErrorReply(result.status());
  return json{{"ok", true}, {"result", std::move(*result)}};
}

// ---- status ---------------------------------------------------------------------------------
json ApiServer::StatusJson() const {
  json j;
  j["version"] = Version();
  j["pid"] = ::getpid();
  j["started_at"] = ctx_.started_at;
  j["uptime_seconds"] = MonotonicSeconds() - ctx_.started_mono;
  j["backend"] = ctx_.stages()->backend;
  j["state"] = ctx_.StateName();
  j["intake_paused_low_disk"] = intake_.paused_for_low_disk();
  j["workers"] = ctx_.config()->Concurrency();
  j["executor"] = ctx_.stages()->executor;
  json jobs = json::object();
  if (auto counts = ctx_.journal.CountByState(); counts.ok())
    for (const auto& [state, n] : *counts) jobs[JobStateName(state)] = n;
  if (auto today = ctx_.journal.CountDoneSince(LocalMidnight()); today.ok()) jobs["done_today"] = *today;
  else jobs["done_today"] = nullptr;  // last_error says why
  j["jobs"] = jobs;
  const RunnerSnapshot runner = runner_.snapshot();
  json running = json::array();
  const double mono = MonotonicSeconds();
  for (const auto& [id, p] : runner.live) {
    json r = {{"id", id}, {"sample", p.sample}, {"run_id", p.run_id}, {"stage", StageName(p.stage)},
              {"stage_seconds", mono - p.stage_started}, {"records", p.records},
              {"input_bytes_read", p.input_bytes}, {"input_bytes", p.total_input_bytes},
              {"where", p.where.empty() ? "local" : p.where}};
    // Within compress, its step and how far the step is; the input read rate while reading.
    r["step"] = p.step.empty() ? json(nullptr) : json(p.step);
    r["progress"] = p.step_fraction >= 0 ? json(std::min(1.0, p.step_fraction)) : json(nullptr);
    r["throughput_bytes_per_second"] = p.read_seconds > 0 ? json(p.input_bytes / p.read_seconds) : json(nullptr);
    running.push_back(r);
  }
  j["running"] = running;
  // Held jobs wait for a person: listed here with why, so the first screen shows them.
  json held = json::array();
  if (auto jobs_held = ctx_.journal.ListJobs(JobState::kHeld, 20); jobs_held.ok())
    for (const Job& h : *jobs_held)
      held.push_back({{"id", h.id}, {"sample", h.sample}, {"run_id", h.run_id}, {"qc_verdict", h.qc_verdict},
                      {"reason", h.extra.contains("qc") && h.extra["qc"].is_object() ? h.extra["qc"].value("reason", "") : ""}});
  j["held"] = held;
  const IntakeScanner::Snapshot intake = intake_.snapshot();
  j["disk"] = intake.disks;
  j["min_free_disk_bytes"] = static_cast<uint64_t>(ctx_.config()->min_free_disk_gb * 1e9);
  json waiting = json::array();
  for (const auto& [path, why] : intake.waiting) waiting.push_back({{"path", path}, {"reason", why}});
  j["waiting_runs"] = waiting;
  json rejected = json::array();
  for (const auto& [path, why] : intake.rejected) rejected.push_back({{"path", path}, {"error", why}});
  j["rejected"] = rejected;
  const DaemonContext::LastError last = ctx_.last_error();
  j["last_error"] = last.message.empty() ? json(nullptr) : json{{"at", last.at}, {"message", last.message}};
  j["config_files"] = ctx_.config()->files;
  return j;
}

void ApiServer::RegisterStatusMethods() {
  methods_["status"] = [this](const json&) -> StatusOr<json> { return StatusJson(); };
}

// ---- jobs, job, retry, release ------------------------------------------------------------
void ApiServer::RegisterJobMethods() {
  methods_["jobs"] = [this](const json& params) { return JobsQuery(ctx_.journal, params); };
  methods_["job"] = [this](const json& params) { return JobQuery(ctx_.journal, params); };
  methods_["retry"] = [this](const json& params) -> StatusOr<json> {
    CRAMJET_ASSIGN_OR_RETURN(int64_t id, JobIdParam(params));
    CRAMJET_ASSIGN_OR_RETURN(Job job, ctx_.journal.GetJob(id));
    if (job.state == JobState::kHeld)
      return FailedPrecondition("job " + std::to_string(id) + " is held for its QC verdict (" + job.qc_verdict +
                                "); `cramjet release " + std::to_string(id) + "` ships it");
    if (job.state == JobState::kRunning && !job.executor_job_id.empty()) {
      // Its stage waits on a Slurm job (stuck pending behind a drained partition, on a node an
      // operator distrusts): the worker cancels that Slurm job and submits the stage again.
      ctx_.RequestCancel(id, job.executor_job_id);
      ctx_.journal.AddEvent(id, StageName(job.stage), "retry requested by operator: Slurm job " +
                            job.executor_job_id + " is cancelled and the stage submitted again").IgnoreError();
      json reply = JobJson(job);
      reply["cancelling"] = job.executor_job_id;
      return reply;
    }
    if (job.state != JobState::kFailed && job.state != JobState::kQueued)
      return FailedPrecondition("job " + std::to_string(id) + " is " + JobStateName(job.state) +
                                "; only failed or waiting jobs, and running ones whose stage waits on a Slurm job, are retried");
    // The count of failed attempts stays (it is the job's history); the limit starts again from
    // here (job_runner.cc reads `extra.attempts_at_retry`).
    job.state = JobState::kQueued;
    job.extra["attempts_at_retry"] = job.attempts;
    job.not_before = 0;
    job.finished_at = 0;
    CRAMJET_RETURN_IF_ERROR(ctx_.journal.Save(job));
    ctx_.journal.AddEvent(id, StageName(job.stage), "retry requested by operator").IgnoreError();
    runner_.Wake();
    return JobJson(job);
  };
  methods_["release"] = [this](const json& params) -> StatusOr<json> {
    CRAMJET_ASSIGN_OR_RETURN(int64_t id, JobIdParam(params));
    CRAMJET_ASSIGN_OR_RETURN(Job job, ctx_.journal.GetJob(id));
    if (job.state != JobState::kHeld)
      return FailedPrecondition("job " + std::to_string(id) + " is " + JobStateName(job.state) +
                                "; only a job held for its QC verdict is released");
    // The release is part of the job (and of its manifest): a fail that ships says so.
    if (!job.extra.contains("qc") || !job.extra["qc"].is_object()) job.extra["qc"] = json::object();
    job.extra["qc"]["released_at"] = WallSeconds();
    job.state = JobState::kQueued;
    job.not_before = 0;
    CRAMJET_RETURN_IF_ERROR(ctx_.journal.Save(job));
    ctx_.journal.AddEvent(id, StageName(job.stage), "released by operator: ships despite QC verdict " + job.qc_verdict)
        .IgnoreError();
    CJ_LOG(kInfo) << "job " << id << " (" << job.sample << ") released by operator: ships despite QC verdict "
                  << job.qc_verdict;
    runner_.Wake();
    return JobJson(job);
  };
}

// ---- pause, resume, drain -------------------------------------------------------------------
void ApiServer::RegisterControlMethods() {
  auto set_paused = [this](bool paused) -> StatusOr<json> {
    ctx_.paused = paused;
    ctx_.journal.SetSetting("paused", paused ? "1" : "0").IgnoreError();
    CJ_LOG(kInfo) << (paused ? "paused by operator: no new jobs start" : "resumed by operator");
    runner_.Wake();
    return json{{"state", ctx_.StateName()}};
  };
  methods_["pause"] = [set_paused](const json&) { return set_paused(true); };
  methods_["resume"] = [set_paused](const json&) { return set_paused(false); };
  methods_["drain"] = [this](const json&) -> StatusOr<json> {
    ctx_.draining = true;
    CJ_LOG(kInfo) << "draining: no new jobs start; exits when the running jobs are done";
    ctx_.wake_main_loop();
    return json{{"state", ctx_.StateName()}, {"running", runner_.running_jobs()}};
  };
}

// ---- submit ---------------------------------------------------------------------------------
void ApiServer::RegisterIntakeMethods() {
  methods_["submit"] = [this](const json& params) -> StatusOr<json> {
    if (!params.contains("path") || !params["path"].is_string()) return InvalidArgument("params.path is required");
    CRAMJET_ASSIGN_OR_RETURN(std::vector<int64_t> ids, intake_.Submit(params["path"].get<std::string>()));
    return json{{"job_ids", ids}};
  };
}

}  // namespace cramjet::daemon
