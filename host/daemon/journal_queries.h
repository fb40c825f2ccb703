// host/daemon/journal_queries.h — the read-only API methods (`jobs`, `job`) over a journal: what
// the daemon answers on its socket, and what `cramjet jobs`/`job` read from the journal file
// itself while the daemon is down (ReadJournalDirectly in include/cramjet/daemon_api.h).
#pragma once

#include <nlohmann/json.hpp>

#include "cramjet/status.h"
#include "daemon/journal.h"

namespace cramjet::daemon {

// params {state?, limit?} -> {jobs[Job]}, newest first (limit default 100).
[[nodiscard]] StatusOr<nlohmann::json> JobsQuery(Journal& journal, const nlohmann::json& params);
// params {id} -> Job + {events[]}.
[[nodiscard]] StatusOr<nlohmann::json> JobQuery(Journal& journal, const nlohmann::json& params);
// params.id as a job id, or kInvalidArgument.
[[nodiscard]] StatusOr<int64_t> JobIdParam(const nlohmann::json& params);

}  // namespace cramjet::daemon
