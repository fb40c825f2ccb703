// cramjetd intake scanning: run folders under the watch roots, the drop folder, inotify watches
// and the free-disk check that pauses intake.
#include "daemon/intake_scanner.h"

#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iomanip>
#include <set>

#include "common/common.h"
#include "cramjet/log.h"
#include "daemon/intake.h"

namespace cramjet::daemon {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {
bool FileExists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}
}  // namespace

IntakeScanner::IntakeScanner(DaemonContext& context, std::function<void()> jobs_added)
    : ctx_(context), jobs_added_(std::move(jobs_added)) {}

void IntakeScanner::OpenWatches() {
  inotify_.reset(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!inotify_.valid()) {
    CJ_LOG(kWarning) << "inotify unavailable (" << std::strerror(errno) << "); relying on rescans";
  }
}

bool IntakeScanner::DrainWatchEvents() {
  bool any = false;
  char buf[16384];
  while (inotify_.valid() && ::read(inotify_.get(), buf, sizeof buf) > 0) any = true;
  return any;
}

IntakeScanner::Snapshot IntakeScanner::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {disks_, waiting_runs_, rejected_, jobs_created_total_};
}

void IntakeScanner::JournalFailed(const Status& status) {
  CJ_LOG(kError) << "intake stopped: " << status.message();
  ctx_.SetLastError("intake stopped: " + status.message());
}

void IntakeScanner::IdsOfKeys(const std::vector<Job>& jobs, std::vector<int64_t>* ids) {
  auto all = ctx_.journal.ListJobs(std::nullopt, 0);
  if (!all.ok()) return;
  for (const auto& j : jobs)
    for (const auto& row : *all)
      if (row.key == j.key) ids->push_back(row.id);
}

StatusOr<std::vector<int64_t>> IntakeScanner::Submit(const std::string& path) {
  const std::shared_ptr<const DaemonConfig> config = ctx_.config();  // this call's snapshot
  const DaemonConfig& c = *config;
  if (path.empty() || path[0] != '/') return InvalidArgument("path must be absolute: '" + path + "'");
  std::error_code ec;
  const std::string abs = fs::weakly_canonical(path, ec).string();
  std::vector<int64_t> ids;
  for (const auto& root : c.watch) {
    if (IsRunFolderOf(path, root.path)) {
      if (!FileExists(abs + "/RunInfo.xml")) return BadInput(abs + ": no RunInfo.xml (not a run folder)");
      CRAMJET_ASSIGN_OR_RETURN(bool taken, ctx_.journal.RunTaken(abs));
      if (taken) return FailedPrecondition(abs + ": run already taken");
      CRAMJET_RETURN_IF_ERROR(TakeRun(c, root, abs, true, &ids));
      return ids;
    }
  }
  if (!c.drop.path.empty() && DirName(abs) == c.drop.path && PathIsInside(abs, c.drop.path)) {
    CRAMJET_RETURN_IF_ERROR(TakeDrop(c, abs, &ids));
    return ids;
  }
  return InvalidArgument("'" + path + "' is not a run folder directly under a watch root or an entry "
                         "of the drop folder; the API takes no other paths");
}

void IntakeScanner::AddWatch(const std::string& dir) {
  if (inotify_.get() < 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (watched_.count(dir)) return;
  int wd = inotify_add_watch(inotify_.get(), dir.c_str(),
                             IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF | IN_ONLYDIR);
  if (wd >= 0) watched_[dir] = wd;
}

void IntakeScanner::CheckDisk() {
  const std::shared_ptr<const DaemonConfig> config = ctx_.config();  // this call's snapshot
  const DaemonConfig& c = *config;
  std::vector<json> disks;
  std::set<std::string> paths{c.state_dir};
  for (const auto& w : c.watch) paths.insert(w.output);
  if (!c.drop.output.empty()) paths.insert(c.drop.output);
  double min_free = -1;
  std::set<unsigned long> file_systems;  // one line per file system, not per folder
  for (const auto& p : paths) {
    struct statvfs vfs;
    if (::statvfs(p.c_str(), &vfs) != 0) continue;
    if (!file_systems.insert(vfs.f_fsid).second) continue;
    double free_bytes = static_cast<double>(vfs.f_bavail) * vfs.f_frsize;
    double total = static_cast<double>(vfs.f_blocks) * vfs.f_frsize;
    disks.push_back({{"path", p}, {"free_bytes", static_cast<uint64_t>(free_bytes)},
                     {"total_bytes", static_cast<uint64_t>(total)}});
    if (min_free < 0 || free_bytes < min_free) min_free = free_bytes;
  }
  const double gb = 1e9;
  if (min_free >= 0) {
    if (!paused_low_disk_ && min_free < c.min_free_disk_gb * gb) {
      paused_low_disk_ = true;
      CJ_LOG(kWarning) << "intake paused: free disk " << std::fixed << std::setprecision(1) << min_free / gb
                       << " GB is below intake.min_free_disk_gb = " << c.min_free_disk_gb;
      ctx_.SetLastError("intake paused: low free disk");
    } else if (paused_low_disk_ && min_free >= c.resume_free_disk_gb * gb) {
      paused_low_disk_ = false;
      CJ_LOG(kInfo) << "intake resumed: free disk " << min_free / gb << " GB";
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  disks_ = std::move(disks);
}

void IntakeScanner::Scan() {
  // The top-level guard: a run folder that makes a parser or the file system throw stops this
  // scan with the error in the log and in status, never the daemon.
  try {
    ScanUnguarded();
  } catch (const std::exception& e) {
    CJ_LOG(kError) << "intake: scan stopped: " << e.what();
    ctx_.SetLastError(std::string("intake: scan stopped: ") + e.what());
  }
}

void IntakeScanner::ScanUnguarded() {
  const std::shared_ptr<const DaemonConfig> config = ctx_.config();  // this call's snapshot
  const DaemonConfig& c = *config;
  CheckDisk();
  if (paused_low_disk_ || ctx_.draining || ctx_.stopping) return;
  for (const auto& root : c.watch) ScanWatchRoot(c, root);
  if (!c.drop.path.empty()) ScanDrop(c);
}

void IntakeScanner::ScanWatchRoot(const DaemonConfig& c, const WatchRoot& root) {
  AddWatch(root.path);
  std::error_code ec;
  std::vector<std::string> runs;
  for (const auto& e : fs::directory_iterator(root.path, ec)) {
    const std::string path = e.path().string();
    if (!e.is_directory(ec) || e.path().filename().string()[0] == '.') continue;
    if (!IsRunFolderOf(path, root.path)) {
      std::lock_guard<std::mutex> lock(mu_);
      const std::string why = path + ": resolves outside the watch root " + root.path + " (a symlink?); not taken";
      if (rejected_[path] != why) {
        CJ_LOG(kError) << "run refused: " << why;
        ctx_.SetLastError(why);
      }
      rejected_[path] = why;
      continue;
    }
    runs.push_back(path);
  }
  std::sort(runs.begin(), runs.end());
  for (const auto& run_dir : runs) {
    auto taken = ctx_.journal.RunTaken(run_dir);
    if (!taken.ok()) {
      // The journal cannot say whether the run was taken: take nothing until it can.
      JournalFailed(taken.status());
      return;
    }
    if (*taken) {
      std::lock_guard<std::mutex> lock(mu_);
      waiting_runs_.erase(run_dir);
      if (watched_.count(run_dir)) {
        inotify_rm_watch(inotify_.get(), watched_[run_dir]);
        watched_.erase(run_dir);
      }
      continue;
    }
    std::string why;
    RunReadiness ready = CheckRunReady(run_dir, c.rta_only_timeout_hours * 3600, &why);
    if (ready == RunReadiness::kNotARun) continue;
    AddWatch(run_dir);
    if (ready == RunReadiness::kWaiting) {
      std::lock_guard<std::mutex> lock(mu_);
      if (waiting_runs_[run_dir] != why) {
        CJ_LOG(kInfo) << "run '" << run_dir << "': " << why;
      }
      waiting_runs_[run_dir] = why;
      continue;
    }
    Status s = TakeRun(c, root, run_dir, false, nullptr);
    if (!s.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      bool waiting = s.code() == StatusCode::kNotFound;
      auto& slot = waiting ? waiting_runs_[run_dir] : rejected_[run_dir];
      if (slot != s.message()) {
        if (waiting) {
          CJ_LOG(kInfo) << "run '" << run_dir << "' waits: " << s.message();
        } else {
          CJ_LOG(kError) << "run '" << run_dir << "' refused: " << s.message();
        }
        if (!waiting) ctx_.SetLastError(s.message());
      }
      slot = s.message();
      if (!waiting) waiting_runs_.erase(run_dir);
    }
  }
}

Status IntakeScanner::TakeRun(const DaemonConfig& c, const WatchRoot& root, const std::string& run_dir, bool forced,
                              std::vector<int64_t>* ids) {
  std::string run_name = BaseName(run_dir);
  CRAMJET_RETURN_IF_ERROR(CheckSafeName(run_name, "run folder name"));
  CRAMJET_ASSIGN_OR_RETURN(std::string run_info_text, ReadSmallFile(run_dir + "/RunInfo.xml"));
  CRAMJET_ASSIGN_OR_RETURN(RunInfo info, ParseRunInfo(run_info_text, run_dir + "/RunInfo.xml"));
  CRAMJET_ASSIGN_OR_RETURN(std::string sheet_text, ReadSmallFile(run_dir + "/SampleSheet.csv"));
  CRAMJET_ASSIGN_OR_RETURN(SampleSheet sheet, ParseSampleSheet(sheet_text, run_dir + "/SampleSheet.csv"));
  CRAMJET_ASSIGN_OR_RETURN(std::vector<SampleInputs> samples, CollectRunSamples(run_dir, sheet));
  std::string out_dir = root.output + "/" + run_name;
  std::vector<Job> jobs;
  for (const auto& s : samples) {
    std::string ref_name = s.reference.empty() ? root.reference : s.reference;
    if (ref_name.empty())
      return BadInput(run_dir + ": sample '" + s.sample + "' names no reference and the watch root has no default");
    auto ref = c.references.find(ref_name);
    if (ref == c.references.end())
      return BadInput(run_dir + "/SampleSheet.csv: sample '" + s.sample + "': reference '" + ref_name +
                      "' is not in [references]");
    Job j;
    j.key = run_dir + "#" + s.sample;
    j.origin = forced ? "submit" : "run";
    j.run_id = info.run_id;
    j.run_path = run_dir;
    j.instrument = info.instrument;
    j.flowcell = info.flowcell;
    j.sample = s.sample;
    j.inputs = s.inputs;
    j.paired = s.paired;
    j.format = s.format;
    j.lanes = s.lanes;
    j.reference = ref->second;
    j.output = out_dir + "/" + s.sample + ".cram";
    j.input_bytes = s.input_bytes;
    if (!s.library.empty()) j.extra["library"] = s.library;  // @RG LB of the job's CRAM
    // Belt and braces: the name checks above make this impossible; refuse rather than trust them.
    if (!PathIsInside(j.output, root.output))
      return BadInput(run_dir + ": output for sample '" + s.sample + "' would leave " + root.output);
    jobs.push_back(std::move(j));
  }
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return IoError("creating '" + out_dir + "': " + ec.message());
  CRAMJET_ASSIGN_OR_RETURN(int added, ctx_.journal.AddJobs(jobs, run_dir));
  CJ_LOG(kInfo) << "run '" << run_name << "' (" << info.run_id << "): " << added << " job(s) queued from sheet "
                << (sheet.version == 2 ? "v2" : "v1") << " [" << sheet.data_section << "]";
  {
    std::lock_guard<std::mutex> lock(mu_);
    waiting_runs_.erase(run_dir);
    rejected_.erase(run_dir);
    jobs_created_total_ += added;
  }
  if (ids) IdsOfKeys(jobs, ids);
  jobs_added_();
  return Status::Ok();
}

void IntakeScanner::ScanDrop(const DaemonConfig& c) {
  AddWatch(c.drop.path);
  std::error_code ec;
  std::vector<std::string> entries;
  for (const auto& e : fs::directory_iterator(c.drop.path, ec)) {
    std::string n = e.path().filename().string();
    if (n.empty() || n[0] == '.' || n.ends_with(".ready") || n.find(".tmp") != std::string::npos ||
        n.ends_with(".part"))
      continue;
    entries.push_back(e.path().string());
  }
  std::sort(entries.begin(), entries.end());
  for (const auto& entry : entries) {
    auto known = ctx_.journal.HasJobKey("drop:" + entry);
    if (!known.ok()) {
      JournalFailed(known.status());
      return;
    }
    if (*known) continue;
    bool marker = FileExists(entry + ".ready") || FileExists(entry + "/.ready");
    if (!marker) {
      // Settled: nothing in the entry changed for settle_seconds.
      double newest = 0;
      auto consider = [&](const std::string& p) {
        struct stat st;
        if (::stat(p.c_str(), &st) == 0) newest = std::max(newest, static_cast<double>(st.st_mtime));
      };
      consider(entry);
      if (fs::is_directory(entry, ec))
        for (const auto& f : fs::recursive_directory_iterator(entry, ec)) consider(f.path().string());
      if (WallSeconds() - newest < c.drop.settle_seconds) {
        AddWatch(entry);
        continue;
      }
    }
    Status s = TakeDrop(c, entry, nullptr);
    if (!s.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      if (rejected_[entry] != s.message()) {
        CJ_LOG(kError) << "drop entry refused: " << s.message();
      }
      rejected_[entry] = s.message();
    }
  }
}

Status IntakeScanner::TakeDrop(const DaemonConfig& c, const std::string& entry, std::vector<int64_t>* ids) {
  CRAMJET_RETURN_IF_ERROR(CheckSafeName(BaseName(entry), "drop entry name"));
  CRAMJET_ASSIGN_OR_RETURN(SampleInputs s, CollectDropSample(entry));
  if (c.drop.reference.empty()) return BadInput(entry + ": [drop] has no reference configured");
  Job j;
  j.key = "drop:" + entry;
  j.origin = "drop";
  j.run_path = "";
  j.sample = s.sample;
  j.inputs = s.inputs;
  j.paired = s.paired;
  j.format = s.format;
  j.reference = c.references.at(c.drop.reference);
  j.output = c.drop.output + "/" + s.sample + ".cram";
  j.input_bytes = s.input_bytes;
  if (!PathIsInside(j.output, c.drop.output)) return BadInput(entry + ": output would leave " + c.drop.output);
  CRAMJET_ASSIGN_OR_RETURN(int added, ctx_.journal.AddJobs({j}, ""));
  if (added == 0) return FailedPrecondition(entry + ": already taken");
  CJ_LOG(kInfo) << "drop entry '" << BaseName(entry) << "' queued as sample '" << s.sample << "'";
  if (ids) IdsOfKeys({j}, ids);
  {
    std::lock_guard<std::mutex> lock(mu_);
    rejected_.erase(entry);
    jobs_created_total_ += added;
  }
  jobs_added_();
  return Status::Ok();
}

}  // namespace cramjet::daemon
