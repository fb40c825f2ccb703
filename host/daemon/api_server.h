// host/daemon/api_server.h — internal to cramjetd: the JSON API on the Unix socket
// (include/cramjet/daemon_api.h is its client side). One request line, one reply line; methods
// are registered per family in a table (status; jobs, job, retry, release; pause, resume, drain; submit).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "daemon/intake_scanner.h"
#include "daemon/job_runner.h"
#include "daemon/server_context.h"

namespace cramjet::daemon {

class ApiServer {
 public:
  ApiServer(DaemonContext& context, IntakeScanner& intake, JobRunner& runner);

  // One request line (JSON) to one reply line (JSON, with api_version and a trailing newline).
  std::string HandleLine(std::string_view line);
  // The reply object for a parsed request: {"ok": true, "result": ...} or {"ok": false, "error": ...}.
  nlohmann::json Handle(const nlohmann::json& request);
  // What `cramjet status` shows.
  nlohmann::json StatusJson() const;
  uint64_t requests_total() const { return requests_total_; }

 private:
  // A method's work on its params; an error Status becomes the reply's error object.
  using Method = std::function<StatusOr<nlohmann::json>(const nlohmann::json& params)>;
  void RegisterStatusMethods();
  void RegisterJobMethods();
  void RegisterControlMethods();
  void RegisterIntakeMethods();

  DaemonContext& ctx_;
  IntakeScanner& intake_;
  JobRunner& runner_;
  std::map<std::string, Method> methods_;
  std::atomic<uint64_t> requests_total_{0};
};

}  // namespace cramjet::daemon
