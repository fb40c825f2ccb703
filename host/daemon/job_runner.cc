// cramjetd's worker pool and the five stages of a job (job_runner.h).
#include "daemon/job_runner.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "common/common.h"
#include "cramjet/log.h"
#include "cramjet/qc.h"
#include "daemon/intake.h"

namespace cramjet::daemon {
namespace fs = std::filesystem;

namespace {

bool FileExists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

// Removes what a killed stage left for this sample in `dir` (AtomicOutput's temporaries of
// processes that are gone), so a resumed stage starts clean; a concurrent job of this daemon or a
// live `cramjet` run is never disturbed.
void RemoveStageTemporaries(const std::string& dir, const std::string& sample) {
  auto belongs = [&](std::string_view final_name) {
    return final_name.starts_with(sample + ".") || final_name.starts_with(sample + "_");
  };
  for (const std::string& path : RemoveStaleTemporaries(dir, belongs))
    CJ_LOG(kInfo) << "removed temporary '" << path << "' left by an interrupted stage";
}

// Errors that the same inputs will give again: the job fails at once instead of retrying.
bool IsPermanent(StatusCode code) {
  return code == StatusCode::kBadInput || code == StatusCode::kNotFound || code == StatusCode::kInvalidArgument ||
         code == StatusCode::kFailedPrecondition || code == StatusCode::kUnimplemented;
}

// A word for a shell command line: as is when it is plain, else in single quotes.
std::string ShellWord(const std::string& w) {
  const bool plain = !w.empty() && std::all_of(w.begin(), w.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("/._-+:=@,", c) != nullptr;
  });
  if (plain) return w;
  std::string out = "'";
  for (char c : w) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The job's compress as a `cramjet compress` command a person can run again for the same CRAM
// (what its @PG CL records; threads and the accelerator are left out: they change no byte).
std::string RerunnableCommand(const CompressOptions& o) {
  std::string cl = "cramjet compress -T " + ShellWord(o.reference) + " -o " + ShellWord(o.output) + " --profile " +
                   CramProfileName(o.profile) + " --cram-version " + o.cram_version;
  if (o.placement == FastqPlacement::kUnaligned) cl += " --unaligned";
  else if (!o.keep_order) cl += " --no-keep-order";
  if (!o.sample.empty()) cl += " --sample " + ShellWord(o.sample);
  for (const std::string& field : o.rg_fields) cl += " --rg-field " + ShellWord(field);
  if (!o.qc_config.empty()) cl += " --qc-config " + ShellWord(o.qc_config);
  if (o.paired) cl += " --paired";
  for (const std::string& in : o.inputs) cl += " " + ShellWord(in);
  return cl;
}

// A QC figure for a message: at most two decimals, no trailing zeros ("0", "48.25", "97.5").
std::string FormatMetric(double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  std::string t = buf;
  if (t.find('.') != std::string::npos) {
    while (t.back() == '0') t.pop_back();
    if (t.back() == '.') t.pop_back();
  }
  return t;
}

}  // namespace

JobRunner::JobRunner(DaemonContext& context) : ctx_(context) {
  for (Stage stage : kJobStages) stage_counters_[stage] = {};
}

JobRunner::~JobRunner() {
  // Workers still joinable here means the owner never joined them (it exits the process instead
  // when stages outlive the grace period, see Server::Join); detach rather than terminate.
  for (auto& t : workers_)
    if (t.joinable()) t.detach();
}

void JobRunner::Start(int workers) {
  for (int i = 0; i < workers; ++i) workers_.emplace_back([this, i] { WorkerLoop(i); });
}

void JobRunner::Wake() { work_cv_.notify_all(); }

void JobRunner::Join() {
  work_cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

RunnerSnapshot JobRunner::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {live_, stage_counters_, jobs_completed_total_, jobs_failed_total_, bytes_in_total_, bytes_out_total_};
}

bool JobRunner::SleepInterruptible(int ms) {
  const double until = MonotonicSeconds() + ms / 1000.0;
  while (MonotonicSeconds() < until) {
    if (ctx_.stopping) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(20, ms)));
  }
  return true;
}

bool JobRunner::AcquireLocalSlot(int limit) {
  std::unique_lock<std::mutex> lock(mu_);
  while (local_slots_in_use_ >= std::max(1, limit)) {
    if (ctx_.stopping) return false;
    local_slot_cv_.wait_for(lock, std::chrono::milliseconds(100));
  }
  ++local_slots_in_use_;
  return true;
}

void JobRunner::ReleaseLocalSlot() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    --local_slots_in_use_;
  }
  local_slot_cv_.notify_one();
}

void JobRunner::WorkerLoop(int index) {
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait_for(lock, std::chrono::milliseconds(500), [&] { return ctx_.stopping.load(); });
    }
    while (!ctx_.stopping && !ctx_.paused && !ctx_.draining) {
      auto claimed = ctx_.journal.ClaimNext(WallSeconds());
      if (!claimed.ok()) {
        CJ_LOG(kError) << "worker " << index << ": " << claimed.status().message();
        ctx_.SetLastError(claimed.status().message());
        break;
      }
      if (!claimed->has_value()) break;
      ctx_.ClearCancelRequest((*claimed)->id);  // one made before this run is not for it
      ++running_jobs_;
      RunJob(std::move(**claimed));
      --running_jobs_;
    }
    if (ctx_.stopping) return;
  }
}

void JobRunner::RecordStage(Stage stage, double seconds, const Status& status) {
  std::lock_guard<std::mutex> lock(mu_);
  StageCounters& c = stage_counters_[stage];
  c.seconds += seconds;
  c.runs += 1;
  if (!status.ok() && status.code() != StatusCode::kAborted) c.failures += 1;
}

void JobRunner::RunJob(Job job) {
  const std::shared_ptr<const DaemonConfig> config = ctx_.config();  // this call's snapshot
  const DaemonConfig& c = *config;
  // Leaves the job resumable at its stage (a shutdown, a retention wait).
  auto requeue = [&] {
    job.state = JobState::kQueued;
    ctx_.journal.Save(job).IgnoreError();
  };
  while (job.stage != Stage::kDone) {
    if (ctx_.stopping) {
      requeue();
      break;
    }
    const Stage stage = job.stage;
    const std::string stage_name = StageName(stage);
    const double t0 = MonotonicSeconds();
    {
      std::lock_guard<std::mutex> lock(mu_);
      LiveProgress& p = live_[job.id];
      p = LiveProgress{};
      p.sample = job.sample;
      p.run_id = job.run_id;
      p.stage = stage;
      p.stage_started = t0;
      p.total_input_bytes = job.input_bytes;
    }
    // With compress and verify on Slurm, the stages left here share LocalConcurrency slots.
    const bool needs_local_slot = ctx_.stages()->executor != "local" && stage != Stage::kCompress &&
                                  stage != Stage::kVerify;
    if (needs_local_slot && !AcquireLocalSlot(c.LocalConcurrency())) {
      requeue();
      break;
    }
    const Status s = RunStage(job);
    if (needs_local_slot) ReleaseLocalSlot();
    const double seconds = MonotonicSeconds() - t0;
    RecordStage(stage, seconds, s);
    ctx_.ClearCancelRequest(job.id);
    if (s.code() == StatusCode::kAborted) {
      // SIGTERM during the stage, a drain that cancelled a Slurm job not started yet, a retry
      // that cancelled one: resumable, no attempt counted.
      requeue();
      ctx_.journal
          .AddEvent(job.id, stage_name,
                    ctx_.stopping ? "interrupted by shutdown; resumes here" : s.message() + "; resumes here")
          .IgnoreError();
      break;
    }
    if (!s.ok() && stage == Stage::kCleanup && job.not_before > WallSeconds()) {
      requeue();  // retention not over: wait without counting an attempt
      break;
    }
    if (!s.ok()) {
      job.attempts += 1;
      job.last_error = stage_name + ": " + s.message();
      // Attempts since an operator's `retry` count toward the limit; all of them stay in `attempts`.
      const int base = job.extra.contains("attempts_at_retry") && job.extra["attempts_at_retry"].is_number_integer()
                           ? job.extra["attempts_at_retry"].get<int>() : 0;
      const int since_retry = std::max(1, job.attempts - base);
      if (IsPermanent(s.code()) || since_retry >= c.max_attempts) {
        job.state = JobState::kFailed;
        job.finished_at = WallSeconds();
        std::lock_guard<std::mutex> lock(mu_);
        jobs_failed_total_ += 1;
      } else {
        job.state = JobState::kQueued;
        job.not_before = WallSeconds() + c.retry_delay_s * std::pow(2.0, since_retry - 1);
      }
      CJ_LOG(kError) << "job " << job.id << " (" << job.sample << ") " << stage_name << " failed (attempt "
                     << job.attempts << "): " << s.message()
                     << (job.state == JobState::kFailed ? "" : "; will retry");
      ctx_.SetLastError("job " + std::to_string(job.id) + " " + job.sample + ": " + job.last_error);
      ctx_.journal.Save(job).IgnoreError();
      ctx_.journal.AddEvent(job.id, stage_name, "failed: " + s.message()).IgnoreError();
      break;
    }
    job.stage = NextStage(stage);
    if (stage == Stage::kQc && ApplyQcVerdict(job)) break;  // held before shipping
    if (job.stage == Stage::kDone) {
      job.state = JobState::kDone;
      job.finished_at = WallSeconds();
      job.last_error.clear();
    }
    // The stage's outputs are complete; this commit (synchronous=FULL) is what makes it count.
    if (Status saved = ctx_.journal.Save(job); !saved.ok()) {
      CJ_LOG(kError) << "job " << job.id << ": " << saved.message();
      ctx_.SetLastError(saved.message());
      break;
    }
    ctx_.journal.AddEvent(job.id, stage_name, "done in " + std::to_string(seconds).substr(0, 6) + " s").IgnoreError();
    if ((stage == Stage::kCompress || stage == Stage::kVerify) && ctx_.stages()->stage_committed)
      ctx_.stages()->stage_committed(job, stage);
    if (job.stage == Stage::kDone) {
      CJ_LOG(kInfo) << "job " << job.id << " (" << job.sample << ") done: " << job.records << " records, "
                    << job.input_bytes << " -> " << job.output_bytes << " bytes";
      std::lock_guard<std::mutex> lock(mu_);
      jobs_completed_total_ += 1;
      bytes_in_total_ += job.input_bytes;
      bytes_out_total_ += job.output_bytes;
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  live_.erase(job.id);
}

bool JobRunner::ApplyQcVerdict(Job& job) {
  const std::shared_ptr<const DaemonConfig> config = ctx_.config();  // this call's snapshot
  const DaemonConfig& c = *config;
  if (job.qc_verdict.empty()) return false;
  const std::string reason = job.extra["qc"].value("reason", "");
  const std::string what = "QC verdict " + job.qc_verdict + (reason.empty() ? "" : " (" + reason + ")");
  const std::string who = "job " + std::to_string(job.id) + " (" + job.sample + ")";
  if (job.qc_verdict != "fail") {
    if (job.qc_verdict == "warn") {
      CJ_LOG(kWarning) << who << ": " << what;
    } else {
      CJ_LOG(kInfo) << who << ": " << what;
    }
    ctx_.journal.AddEvent(job.id, StageName(Stage::kQc), what).IgnoreError();
    return false;
  }
  if (job.extra["qc"].contains("released_at")) {
    CJ_LOG(kWarning) << who << ": " << what << "; ships: released by an operator";
    ctx_.journal.AddEvent(job.id, StageName(Stage::kQc), what + "; ships: released by an operator").IgnoreError();
    return false;
  }
  if (c.qc_on_fail == "hold") {
    // Kept, whole and verified, before anything leaves the appliance: the operator decides.
    job.state = JobState::kHeld;
    const std::string held = what + "; held before shipping ([qc] on_fail = \"hold\"): check the QC report, then "
                             "`cramjet release " + std::to_string(job.id) + "` to ship it";
    CJ_LOG(kWarning) << who << ": " << held;
    if (Status saved = ctx_.journal.Save(job); !saved.ok()) {
      CJ_LOG(kError) << "job " << job.id << ": " << saved.message();
      ctx_.SetLastError(saved.message());
      return true;
    }
    ctx_.journal.AddEvent(job.id, StageName(Stage::kQc), held).IgnoreError();
    return true;
  }
  const std::string ships = what + "; ships ([qc] on_fail = \"" + c.qc_on_fail + "\")";
  if (c.qc_on_fail == "warn") {
    CJ_LOG(kWarning) << who << ": " << ships;
  } else {
    CJ_LOG(kInfo) << who << ": " << ships;
  }
  ctx_.journal.AddEvent(job.id, StageName(Stage::kQc), ships).IgnoreError();
  return false;
}

Status JobRunner::RunStage(Job& job) {
  // The top-level guard: whatever a stage throws (a library's exception, a bad_alloc) fails this
  // attempt of this job with the stage's name, never the worker thread or the process.
  try {
    return RunStageUnguarded(job);
  } catch (const std::exception& e) {
    return Internal(std::string("internal error: the stage threw: ") + e.what());
  } catch (...) {
    return Internal("internal error: the stage threw a non-standard exception");
  }
}

Status JobRunner::RunStageUnguarded(Job& job) {
  const std::shared_ptr<const DaemonConfig> config = ctx_.config();  // this call's snapshot
  const DaemonConfig& c = *config;
  if (c.stage_delay_ms > 0 && !SleepInterruptible(c.stage_delay_ms)) return Aborted("stopping");
  switch (job.stage) {
    case Stage::kCompress: return StageCompress(job);
    case Stage::kVerify: return StageVerify(job);
    case Stage::kQc: return StageQc(job);
    case Stage::kShip: return StageShip(job);
    case Stage::kCleanup: return StageCleanup(job);
    case Stage::kDone: break;
  }
  return Internal("job " + std::to_string(job.id) + " has no stage left to run");
}

StageRun JobRunner::MakeStageRun(Job& job) {
  StageRun run;
  run.job = &job;
  run.commit = [this, &job] { return ctx_.journal.Save(job); };
  run.stopping = [this] { return ctx_.stopping.load(); };
  run.draining = [this] { return ctx_.draining.load(); };
  const int64_t id = job.id;
  run.cancel_requested = [this, id](const std::string& slurm_job_id) { return ctx_.CancelRequested(id, slurm_job_id); };
  run.where = [this, id](const std::string& where) {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = live_.find(id); it != live_.end()) it->second.where = where;
  };
  return run;
}

namespace {
// Whether the job's `stage` runs (or ran, before the daemon was stopped or killed) as a Slurm
// job that the executor re-attaches to: its outputs' temporaries belong to a process on another
// node, alive or not, which this machine's process table cannot tell.
bool HasExecutorRecord(const Job& job, Stage stage) {
  auto it = job.extra.find("executor");
  return it != job.extra.end() && it->is_object() && it->value("stage", "") == StageName(stage);
}
}  // namespace

Status JobRunner::StageCompress(Job& job) {
  const std::shared_ptr<const DaemonConfig> config = ctx_.config();  // this call's snapshot
  const DaemonConfig& c = *config;
  const std::shared_ptr<const StageFunctions> stages = ctx_.stages();
  std::string dir = DirName(job.output);
  std::error_code ec;
  fs::create_directories(dir, ec);
  const bool attached = HasExecutorRecord(job, Stage::kCompress);
  // On Slurm the writers of temporaries run on other nodes, whose pids this machine's process
  // table cannot judge (and the prefix match would reach sample S1_b's live ones from S1): the
  // node's compress removes its own dead runs' temporaries by their exact names instead.
  if (!attached && stages->executor == "local") RemoveStageTemporaries(dir, job.sample);
  // A kill after Compress renamed its outputs but before the journal moved on leaves a complete
  // set: adopt it (the verify stage proves it) instead of compressing a second time. (A Slurm job
  // being followed reports its own result instead.)
  if (!attached && FileExists(job.output) && FileExists(job.output + ".md5") && FileExists(job.output + ".seqchksum")) {
    ctx_.journal.AddEvent(job.id, StageName(Stage::kCompress), "complete outputs found from an interrupted run; verify decides")
        .IgnoreError();
    auto size = FileSize(job.output);
    if (size.ok()) job.output_bytes = *size;
    job.compress_count += 1;
    return Status::Ok();
  }
  if (!stages->compress) return Unimplemented("the compress stage is not in this build");
  CompressOptions o;
  o.inputs = job.inputs;
  o.paired = job.paired;
  o.output = job.output;
  o.reference = job.reference;
  o.cram_version = c.cram_version;
  o.profile = *ParseCramProfile(c.profile);
  o.threads = c.threads_per_job;
  o.accel = c.accel;
  o.xclbin = c.xclbin;
  o.placement = c.placement == "unaligned" ? FastqPlacement::kUnaligned : FastqPlacement::kMapped;
  o.keep_order = c.keep_order && o.placement == FastqPlacement::kMapped && job.format == "fastq";
  o.build_index = c.build_index;
  // Half the job's memory share sorts; the rest holds the index, decoder and QC.
  o.memory_bytes = c.memory_per_job_mb * (1ull << 20) / 2;
  o.sample = job.sample;
  o.qc_config = c.qc_thresholds;
  // The sample sheet's library (LB, for duplicate marking); PL and PU come from the read names.
  if (auto lib = job.extra.find("library"); lib != job.extra.end() && lib->is_string())
    o.rg_fields.push_back("LB:" + lib->get<std::string>());
  o.command_line = RerunnableCommand(o);
  int64_t id = job.id;
  o.progress = [this, id](const Progress& p) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(id);
    if (it == live_.end()) return;
    it->second.records = p.records;
    if (std::string_view(p.stage) == "read") {
      it->second.input_bytes = p.input_bytes;
      it->second.read_seconds = p.stage_seconds;
    }
    it->second.elapsed = p.elapsed_seconds;
    it->second.step = p.stage;
    it->second.step_fraction = p.stage_fraction;
  };
  if (stages->executor == "local") job.executor = "local";
  StageRun run = MakeStageRun(job);
  run.where(stages->executor);
  CRAMJET_ASSIGN_OR_RETURN(CompressResult r, stages->compress(o, run));
  job.records = r.records;
  job.output_bytes = r.output_bytes;
  job.output_md5 = r.output_md5;
  job.compress_count += 1;
  job.extra["compress"] = {{"records", r.records}, {"bases", r.bases}, {"seconds", r.seconds},
                           {"qc_files", r.qc_paths}};
  return Status::Ok();
}

Status JobRunner::StageVerify(Job& job) {
  const std::shared_ptr<const DaemonConfig> config = ctx_.config();  // this call's snapshot
  const DaemonConfig& c = *config;
  const std::shared_ptr<const StageFunctions> stages = ctx_.stages();
  if (!HasExecutorRecord(job, Stage::kVerify) && stages->executor == "local")
    RemoveStageTemporaries(DirName(job.output), job.sample);
  if (!stages->verify) return Unimplemented("the verify stage is not in this build");
  VerifyOptions v;
  v.cram = job.output;
  v.reference = job.reference;
  v.threads = c.threads_per_job;
  if (stages->executor == "local") job.executor = "local";
  StageRun run = MakeStageRun(job);
  run.where(stages->executor);
  StatusOr<VerifyResult> verified = stages->verify(v, run);
  if (!verified.ok()) {
    // Our own CRAM that no longer decodes (damaged after compress: a disk error, a stray write)
    // is a mismatch like any other: the inputs are still there, so make it again. Other errors
    // (a missing reference) leave the set alone.
    const Status& s = verified.status();
    const bool about_the_cram = s.message().rfind("'" + job.output + "'", 0) == 0;
    if (about_the_cram && (s.code() == StatusCode::kBadInput || s.code() == StatusCode::kDataLoss))
      return RemoveSetToCompressAgain(job, "cannot be decoded (" + s.message() + ")");
    return s;
  }
  const VerifyResult& r = *verified;
  job.extra["verify"] = {{"equal", r.equal}, {"records", r.records}, {"md5_checked", r.md5_checked},
                         {"md5_equal", r.md5_equal}, {"verdict", r.verdict}};
  if (!r.equal || (r.md5_checked && !r.md5_equal))
    return RemoveSetToCompressAgain(job, "verification failed (" + r.verdict + ")");
  job.records = r.records;
  if (job.output_md5.empty()) {
    auto md5 = ReadSmallFile(job.output + ".md5");
    if (md5.ok()) job.output_md5 = md5->substr(0, 32);
  }
  auto size = FileSize(job.output);
  if (size.ok()) job.output_bytes = *size;
  return Status::Ok();
}

Status JobRunner::RemoveSetToCompressAgain(Job& job, const std::string& why) {
  // Never keep a CRAM that disagrees with its checksums. The attempt counts, so a set that
  // keeps coming out wrong fails the job after max_attempts instead of looping.
  for (const auto& f : OutputFiles(job)) {
    std::error_code ec;
    fs::remove(f, ec);
    if (ec) return IoError("removing '" + f + "' after a failed verification: " + ec.message());
  }
  job.stage = Stage::kCompress;
  job.extra.erase("compress");
  return DataLoss(job.output + ": " + why + "; outputs removed, compress again");
}

std::vector<std::string> JobRunner::OutputFiles(const Job& job) const {
  std::vector<std::string> files;
  for (const char* suffix : {"", ".crai", ".seqchksum", ".md5"})
    if (FileExists(job.output + suffix)) files.push_back(job.output + suffix);
  if (job.extra.contains("qc_files"))
    for (const auto& f : job.extra["qc_files"]) files.push_back(f.get<std::string>());
  return files;
}

Status JobRunner::StageQc(Job& job) {
  // QC is computed by compress, which reports the files it wrote; this stage checks they are all
  // there and makes them part of the set that ships. Outputs adopted from an interrupted run (no
  // compress result) have theirs found by name: exactly QcOutputPaths of this CRAM, never a
  // prefix glob (sample S1's set must not take sample S1_b's files).
  std::vector<std::string> qc;
  const nlohmann::json* recorded = nullptr;
  if (auto c = job.extra.find("compress"); c != job.extra.end() && c->is_object())
    if (auto q = c->find("qc_files"); q != c->end() && q->is_array()) recorded = &*q;
  if (recorded) {
    for (const auto& f : *recorded) {
      if (!f.is_string()) return DataLoss(job.output + ": the journal's QC file list is not a list of paths");
      const std::string path = f.get<std::string>();
      if (!FileExists(path)) return DataLoss(path + ": QC file written by compress is missing");
      qc.push_back(path);
    }
  } else {
    for (const std::string& path : QcOutputPaths(QcPrefixForCram(job.output)))
      if (FileExists(path)) qc.push_back(path);
  }
  std::sort(qc.begin(), qc.end());
  job.extra["qc_files"] = qc;
  // The verdict and what failed, from the QC document compress wrote (the set's own record of
  // it, so an adopted set has it too). No QC document: QC was off, no verdict.
  const std::string document = QcOutputPaths(QcPrefixForCram(job.output))[0];
  if (std::find(qc.begin(), qc.end(), document) == qc.end()) {
    job.qc_verdict.clear();
    return Status::Ok();
  }
  CRAMJET_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(document));
  const nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (!doc.is_object() || !doc.contains("verdict") || !doc["verdict"].is_string())
    return DataLoss(document + ": the QC document written by compress has no verdict");
  const std::string verdict = doc["verdict"].get<std::string>();
  if (verdict != "pass" && verdict != "warn" && verdict != "fail")
    return DataLoss(document + ": unknown QC verdict '" + verdict + "'");
  nlohmann::json summary = {{"verdict", verdict}};
  std::string reason;
  if (doc.contains("metrics") && doc["metrics"].is_array())
    for (const auto& m : doc["metrics"]) {
      if (!m.is_object() || m.value("verdict", "") != verdict || verdict == "pass") continue;
      const std::string key = m.value("key", "");
      const std::string value = m.contains("value") && m["value"].is_number() ? FormatMetric(m["value"].get<double>()) : "n/a";
      const char* side = m.value("higher_is_better", true) ? " < " : " > ";
      const std::string limit = m.contains(verdict) && m[verdict].is_number() ? FormatMetric(m[verdict].get<double>()) : "";
      reason += (reason.empty() ? "" : ", ") + key + " " + value + (limit.empty() ? "" : side + limit);
    }
  if (reason.empty() && doc.contains("verdict_reason") && doc["verdict_reason"].is_string())
    reason = doc["verdict_reason"].get<std::string>();
  summary["reason"] = reason;
  // A release by the operator (`cramjet release`) survives the stage being run again.
  if (auto old = job.extra.find("qc"); old != job.extra.end() && old->is_object() && old->contains("released_at"))
    summary["released_at"] = (*old)["released_at"];
  job.qc_verdict = verdict;
  job.extra["qc"] = summary;
  return Status::Ok();
}

Status JobRunner::StageShip(Job& job) {
  const std::shared_ptr<const DaemonConfig> config = ctx_.config();  // this call's snapshot
  const DaemonConfig& c = *config;
  const std::shared_ptr<const StageFunctions> stages = ctx_.stages();
  if (!stages->ship) {
    job.extra["ship"] = "skipped (archive disabled)";
    return Status::Ok();
  }
  ShipJob s;
  s.job_id = job.id;
  s.sample = job.sample;
  s.run_id = job.run_id;
  s.instrument = job.instrument;
  s.flowcell = job.flowcell;
  s.lanes = job.lanes;
  s.files = OutputFiles(job);
  s.state_dir = c.state_dir + "/ship/" + std::to_string(job.id);
  s.qc_verdict = job.qc_verdict;
  s.qc_released = job.extra.contains("qc") && job.extra["qc"].is_object() && job.extra["qc"].contains("released_at");
  CRAMJET_RETURN_IF_ERROR(stages->ship(s));
  job.shipped = true;
  job.extra["ship"] = "verified";
  return Status::Ok();
}

Status JobRunner::StageCleanup(Job& job) {
  const std::shared_ptr<const DaemonConfig> config = ctx_.config();  // this call's snapshot
  const DaemonConfig& c = *config;
  if (c.cleanup_policy == "keep") {
    job.extra["cleanup"] = "kept (policy keep)";
    return Status::Ok();
  }
  if (!job.shipped) {
    job.extra["cleanup"] = "kept (not shipped)";
    return Status::Ok();
  }
  double due = job.finished_at;  // set below when first reached
  if (!job.extra.contains("cleanup_due")) {
    job.extra["cleanup_due"] = WallSeconds() + c.retention_hours * 3600;
    ctx_.journal.Save(job).IgnoreError();
  }
  due = job.extra["cleanup_due"].get<double>();
  if (WallSeconds() < due) {
    // Not yet: come back later without counting an attempt.
    job.not_before = due;
    return Unavailable("retention until " + std::to_string(static_cast<int64_t>(due)));
  }
  std::vector<std::string> remove = job.inputs;
  if (c.cleanup_policy == "delete-all")
    for (const auto& f : OutputFiles(job)) remove.push_back(f);
  // Nothing is deleted whose resolved path is outside the folders this daemon was given (a
  // symlinked run folder, a journal edited by hand): checked for all before any is removed.
  std::vector<std::string> roots;
  for (const auto& w : c.watch) roots.insert(roots.end(), {w.path, w.output});
  if (!c.drop.path.empty()) roots.insert(roots.end(), {c.drop.path, c.drop.output});
  for (const auto& f : remove) {
    const bool inside = std::any_of(roots.begin(), roots.end(), [&](const std::string& r) { return PathIsInside(f, r); });
    if (!inside)
      return FailedPrecondition("'" + f + "' resolves outside the watch, drop and output folders; "
                                "nothing removed");
  }
  for (const auto& f : remove) {
    std::error_code ec;
    fs::remove(f, ec);
    if (ec) return IoError("cleanup: removing '" + f + "': " + ec.message());
  }
  job.extra["cleanup"] = "removed " + std::to_string(remove.size()) + " file(s)";
  return Status::Ok();
}

}  // namespace cramjet::daemon
