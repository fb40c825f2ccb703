// The read-only API methods over a journal (journal_queries.h), and reading the journal of a
// daemon that is down (ReadJournalDirectly, include/cramjet/daemon_api.h).
#include "daemon/journal_queries.h"

#include <algorithm>
#include <filesystem>
#include <vector>

#include <toml++/toml.h>

#include "cramjet/daemon_api.h"
#include "daemon/config.h"

namespace cramjet::daemon {

using nlohmann::json;

StatusOr<int64_t> JobIdParam(const json& params) {
  if (!params.contains("id") || !params["id"].is_number_integer()) return InvalidArgument("params.id (integer) is required");
  return params["id"].get<int64_t>();
}

StatusOr<json> JobsQuery(Journal& journal, const json& params) {
  std::optional<JobState> state;
  if (params.contains("state") && !(params["state"].is_string() && params["state"] == "")) {
    if (params["state"].is_string()) state = ParseJobState(params["state"].get<std::string>());
    if (!state) return InvalidArgument("state must be queued, running, failed, done or held");
  }
  int limit = 100;
  if (params.contains("limit")) {
    if (!params["limit"].is_number_integer()) return InvalidArgument("params.limit must be an integer");
    limit = static_cast<int>(std::clamp<int64_t>(params["limit"].get<int64_t>(), 0, 1000000));
  }
  CRAMJET_ASSIGN_OR_RETURN(std::vector<Job> jobs, journal.ListJobs(state, limit));
  json list = json::array();
  for (const auto& job : jobs) list.push_back(JobJson(job));
  return json{{"jobs", list}};
}

StatusOr<json> JobQuery(Journal& journal, const json& params) {
  CRAMJET_ASSIGN_OR_RETURN(int64_t id, JobIdParam(params));
  CRAMJET_ASSIGN_OR_RETURN(Job job, journal.GetJob(id));
  json out = JobJson(job);
  auto events = journal.Events(id);
  out["events"] = events.ok() ? *events : json::array();
  return out;
}

namespace {

// [daemon] state_dir from the config and its drop-ins (later files win), without checking the
// rest: a daemon that is down may be down because the rest is wrong.
StatusOr<std::string> StateDirFromConfig(const std::string& config_path) {
  std::string state_dir = DaemonConfig().state_dir;  // the default when no file sets it
  std::error_code ec;
  for (const std::string& file : ConfigFiles(config_path)) {
    if (file == config_path && !std::filesystem::exists(file, ec))
      return NotFound("the daemon's configuration '" + file + "' does not exist (give it with --config)");
    toml::table table;
    try {
      table = toml::parse_file(file);
    } catch (const toml::parse_error& e) {
      return BadInput("'" + file + "': " + std::string(e.description()));
    }
    if (auto dir = table["daemon"]["state_dir"].value<std::string>()) state_dir = *dir;
  }
  return state_dir;
}

}  // namespace
}  // namespace cramjet::daemon

namespace cramjet {

StatusOr<JournalReply> ReadJournalDirectly(const std::string& config_path, const std::string& method,
                                           const std::string& params_json) {
  using namespace daemon;
  const json params = json::parse(params_json, nullptr, false);
  if (!params.is_object()) return InvalidArgument("params must be a JSON object");
  if (method != "jobs" && method != "job")
    return InvalidArgument("only jobs and job can be read from the journal without the daemon");
  CRAMJET_ASSIGN_OR_RETURN(std::string state_dir, StateDirFromConfig(config_path));
  JournalReply reply;
  reply.journal_path = state_dir + "/journal.sqlite";
  CRAMJET_ASSIGN_OR_RETURN(std::unique_ptr<Journal> journal, Journal::OpenReadOnly(reply.journal_path));
  CRAMJET_ASSIGN_OR_RETURN(json result, method == "jobs" ? JobsQuery(*journal, params) : JobQuery(*journal, params));
  reply.result_json = result.dump(-1, ' ', false, json::error_handler_t::replace);
  return reply;
}

}  // namespace cramjet
