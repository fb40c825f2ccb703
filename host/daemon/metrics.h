// host/daemon/metrics.h — internal to cramjetd: the Prometheus text and the health endpoints
// (/metrics, /livez, /readyz) served over HTTP on a loopback address.
#pragma once

#include <string>
#include <string_view>

#include "daemon/api_server.h"
#include "daemon/intake_scanner.h"
#include "daemon/job_runner.h"
#include "daemon/server_context.h"

namespace cramjet::daemon {

// Escapes a Prometheus label value.
std::string PromEscape(std::string_view value);

class MetricsEndpoint {
 public:
  MetricsEndpoint(const DaemonContext& context, const IntakeScanner& intake, const JobRunner& runner,
                  const ApiServer& api)
      : ctx_(context), intake_(intake), runner_(runner), api_(api) {}

  // The exposition text of every cramjet_* metric.
  std::string Text() const;
  // One HTTP/1.1 request (its head) to the whole response, "Connection: close".
  std::string HandleHttp(std::string_view request) const;
  // Whether `received` holds a whole request head.
  static bool RequestComplete(std::string_view received);

 private:
  const DaemonContext& ctx_;
  const IntakeScanner& intake_;
  const JobRunner& runner_;
  const ApiServer& api_;
};

}  // namespace cramjet::daemon
