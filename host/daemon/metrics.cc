// cramjetd's Prometheus metrics and health endpoints.
#include "daemon/metrics.h"

#include <sstream>

#include "cramjet/version.h"

namespace cramjet::daemon {

std::string PromEscape(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string MetricsEndpoint::Text() const {
  std::ostringstream o;
  auto metric = [&](const std::string& name, const std::string& type, const std::string& help) {
    o << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
  };
  metric("cramjet_build_info", "gauge", "Version of the running cramjetd.");
  o << "cramjet_build_info{version=\"" << PromEscape(Version()) << "\",backend=\"" << PromEscape(ctx_.stages()->backend)
    << "\"} 1\n";
  metric("cramjet_uptime_seconds", "gauge", "Seconds since cramjetd started.");
  o << "cramjet_uptime_seconds " << MonotonicSeconds() - ctx_.started_mono << "\n";
  metric("cramjet_jobs", "gauge", "Jobs in the journal by state.");
  if (auto counts = ctx_.journal.CountByState(); counts.ok())
    for (const auto& [state, n] : *counts) o << "cramjet_jobs{state=\"" << JobStateName(state) << "\"} " << n << "\n";
  metric("cramjet_jobs_by_qc_verdict", "gauge", "Jobs in the journal by the QC verdict of their set.");
  if (auto counts = ctx_.journal.CountByQcVerdict(); counts.ok())
    for (const auto& [verdict, n] : *counts)
      o << "cramjet_jobs_by_qc_verdict{verdict=\"" << PromEscape(verdict) << "\"} " << n << "\n";
  metric("cramjet_paused", "gauge", "1 when an operator paused job starts.");
  o << "cramjet_paused " << (ctx_.paused ? 1 : 0) << "\n";
  metric("cramjet_intake_paused_low_disk", "gauge", "1 while intake is paused for low free disk.");
  o << "cramjet_intake_paused_low_disk " << (intake_.paused_for_low_disk() ? 1 : 0) << "\n";
  const RunnerSnapshot runner = runner_.snapshot();
  const IntakeScanner::Snapshot intake = intake_.snapshot();
  metric("cramjet_running_jobs", "gauge", "Jobs running a stage now.");
  o << "cramjet_running_jobs " << runner.live.size() << "\n";
  metric("cramjet_jobs_created_total", "counter", "Jobs created by intake since start.");
  o << "cramjet_jobs_created_total " << intake.jobs_created_total << "\n";
  metric("cramjet_jobs_completed_total", "counter", "Jobs finished since start.");
  o << "cramjet_jobs_completed_total " << runner.jobs_completed << "\n";
  metric("cramjet_jobs_failed_total", "counter", "Jobs that failed for good since start.");
  o << "cramjet_jobs_failed_total " << runner.jobs_failed << "\n";
  metric("cramjet_input_bytes_total", "counter", "Input bytes of jobs finished since start.");
  o << "cramjet_input_bytes_total " << runner.bytes_in << "\n";
  metric("cramjet_output_bytes_total", "counter", "CRAM bytes of jobs finished since start.");
  o << "cramjet_output_bytes_total " << runner.bytes_out << "\n";
  metric("cramjet_api_requests_total", "counter", "Requests served on the API socket.");
  o << "cramjet_api_requests_total " << api_.requests_total() << "\n";
  auto per_stage = [&](const char* name, const char* help, auto value) {
    metric(name, "counter", help);
    for (Stage stage : kJobStages)
      o << name << "{stage=\"" << StageName(stage) << "\"} " << value(runner.stages.at(stage)) << "\n";
  };
  per_stage("cramjet_stage_runs_total", "Stage runs since start.", [](const StageCounters& c) { return c.runs; });
  per_stage("cramjet_stage_failures_total", "Failed stage runs since start.",
            [](const StageCounters& c) { return c.failures; });
  per_stage("cramjet_stage_duration_seconds_total", "Wall seconds spent in each stage since start.",
            [](const StageCounters& c) { return c.seconds; });
  metric("cramjet_free_disk_bytes", "gauge", "Free bytes on the file systems of the output roots and state folder.");
  for (const auto& d : intake.disks)
    o << "cramjet_free_disk_bytes{path=\"" << PromEscape(d["path"].get<std::string>()) << "\"} "
      << d["free_bytes"].get<uint64_t>() << "\n";
  return o.str();
}

bool MetricsEndpoint::RequestComplete(std::string_view received) {
  return received.find("\r\n\r\n") != std::string_view::npos || received.find("\n\n") != std::string_view::npos;
}

std::string MetricsEndpoint::HandleHttp(std::string_view request) const {
  const size_t a = request.find(' ');
  const std::string method(request.substr(0, a));
  const size_t b = a == std::string_view::npos ? a : request.find(' ', a + 1);
  const std::string target = a == std::string_view::npos ? "" : std::string(request.substr(a + 1, b - a - 1));
  int code = 200;
  std::string body, type = "text/plain; charset=utf-8";
  if (method != "GET" && method != "HEAD") {
    code = 405;
    body = "method not allowed\n";
  } else if (target == "/metrics") {
    body = Text();
    type = "text/plain; version=0.0.4; charset=utf-8";
  } else if (target == "/livez") {
    body = "ok\n";
  } else if (target == "/readyz") {
    if (ctx_.stopping) {
      code = 503;
      body = "stopping\n";
    } else if (intake_.paused_for_low_disk()) {
      code = 503;
      body = "intake paused: low free disk\n";
    } else {
      body = "ok\n";
    }
  } else {
    code = 404;
    body = "not found\n";
  }
  const char* reason = code == 200   ? "OK"
                       : code == 404 ? "Not Found"
                       : code == 405 ? "Method Not Allowed"
                                     : "Service Unavailable";
  return "HTTP/1.1 " + std::to_string(code) + " " + reason + "\r\nContent-Type: " + type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
         (method == "HEAD" ? "" : body);
}

}  // namespace cramjet::daemon
