// Stage and state names of a job, and the job as the API shows it.
#include "daemon/job.h"

namespace cramjet::daemon {

namespace {
constexpr std::array<const char*, 6> kStageNames = {"compress", "verify", "qc", "ship", "cleanup", "done"};
constexpr std::array<const char*, 5> kStateNames = {"queued", "running", "failed", "done", "held"};
}  // namespace

const char* StageName(Stage stage) { return kStageNames[static_cast<size_t>(stage)]; }

std::optional<Stage> ParseStage(std::string_view name) {
  for (size_t i = 0; i < kStageNames.size(); ++i)
    if (name == kStageNames[i]) return static_cast<Stage>(i);
  return std::nullopt;
}

Stage NextStage(Stage stage) {
  return stage == Stage::kDone ? Stage::kDone : static_cast<Stage>(static_cast<int>(stage) + 1);
}

const char* JobStateName(JobState state) { return kStateNames[static_cast<size_t>(state)]; }

std::optional<JobState> ParseJobState(std::string_view name) {
  for (size_t i = 0; i < kStateNames.size(); ++i)
    if (name == kStateNames[i]) return static_cast<JobState>(i);
  return std::nullopt;
}

nlohmann::json JobJson(const Job& j) {
  return {{"id", j.id},
          {"key", j.key},
          {"origin", j.origin},
          {"run_id", j.run_id},
          {"run_path", j.run_path},
          {"instrument", j.instrument},
          {"flowcell", j.flowcell},
          {"sample", j.sample},
          {"inputs", j.inputs},
          {"paired", j.paired},
          {"format", j.format},
          {"lanes", j.lanes},
          {"reference", j.reference},
          {"output", j.output},
          {"stage", StageName(j.stage)},
          {"state", JobStateName(j.state)},
          {"attempts", j.attempts},
          {"last_error", j.last_error},
          {"created_at", j.created_at},
          {"updated_at", j.updated_at},
          {"finished_at", j.finished_at},
          {"not_before", j.not_before},
          {"input_bytes", j.input_bytes},
          {"output_bytes", j.output_bytes},
          {"records", j.records},
          {"output_md5", j.output_md5},
          {"compress_count", j.compress_count},
          {"shipped", j.shipped},
          {"qc_verdict", j.qc_verdict},
          {"executor", j.executor},
          {"executor_job_id", j.executor_job_id},
          {"extra", j.extra}};
}

}  // namespace cramjet::daemon
