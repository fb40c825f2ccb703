// Integration tests of the real cramjetd: intake of run folders and drop entries, end to end,
// and what stops it (markers missing, names that escape, low disk, a broken journal).
#include "appliance.h"

namespace cramjet::daemon {
namespace {

TEST_F(DaemonIntegration, RunFolderProcessedEndToEnd) {
  Appliance a;
  a.WriteConfig();
  a.Start();
  ASSERT_TRUE(a.Up()) << a.Log();
  // Sample names and paths live in the state folder: owner and group only (issue 15).
  struct stat mode;
  ASSERT_EQ(::stat(a.Path("state").c_str(), &mode), 0);
  EXPECT_EQ(mode.st_mode & 0777, 0750u);
  ASSERT_EQ(::stat(a.Path("state/journal.sqlite").c_str(), &mode), 0);
  EXPECT_EQ(mode.st_mode & 0777, 0640u);
  auto sample = RealSamples()[0];
  // Another sample's QC files in the same output folder (a sample named <id>_b): not this job's.
  const std::string out_dir = a.Path("out/240101_M07001_0007_000000000-AHTEST");
  fs::create_directories(out_dir);
  for (const char* decoy : {"_b.qc.json", "_b_mqc.json", "_b.stats"}) WriteFile(out_dir + "/" + sample.id + decoy, "{}\n");
  // The run appears after the daemon started: inotify (or the rescan) must notice it.
  std::string run = a.MakeRun("240101_M07001_0007_000000000-AHTEST", {sample}, true, true);
  ASSERT_TRUE(WaitFor([&] { return a.Status()["jobs"].value("done", 0) == 1; }, 120)) << a.Status().dump(2) << a.Log();
  std::string cram = a.Path("out/240101_M07001_0007_000000000-AHTEST/" + sample.id + ".cram");
  for (const char* suffix : {"", ".crai", ".md5", ".seqchksum"}) EXPECT_TRUE(fs::exists(cram + suffix)) << suffix;
  EXPECT_EQ(ReadFile(cram + ".md5").substr(0, 32), RunShell("md5sum " + ShellQuote(cram)).out.substr(0, 32));
  if (cramjet::testing::ToolAvailable("samtools")) {
    auto count = RunShell("samtools view -c " + ShellQuote(cram));
    ASSERT_EQ(count.exit_code, 0) << count.err;
    EXPECT_EQ(std::stoull(count.out), FastqRecords({sample.r1, sample.r2}));
    // FASTQ is placed by the mapper by default: a position-sorted CRAM with most reads mapped.
    auto header = RunShell("samtools view -H " + ShellQuote(cram) + " | grep '^@HD'");
    EXPECT_NE(header.out.find("SO:coordinate"), std::string::npos) << header.out;
    auto mapped = RunShell("samtools view -c -F 4 " + ShellQuote(cram));
    EXPECT_GT(std::stoull(mapped.out), std::stoull(count.out) / 2) << mapped.err;
  }
  // The index was built beside the (copied) reference, as build_index = true by default.
  EXPECT_TRUE(fs::exists(a.Path("refs/rCRS/chrM_NC_012920.1.fa.cjidx")));
  auto jobs = a.Call("jobs");
  ASSERT_EQ(jobs["jobs"].size(), 1u);
  const json& job = jobs["jobs"][0];
  EXPECT_EQ(job["sample"], sample.id);
  EXPECT_EQ(job["state"], "done");
  EXPECT_EQ(job["stage"], "done");
  EXPECT_EQ(job["run_id"], "240101_M07001_0007_000000000-AHTEST");
  EXPECT_EQ(job["instrument"], "M07001");
  EXPECT_EQ(job["lanes"], json::array({1}));
  EXPECT_TRUE(job["extra"]["verify"]["equal"].get<bool>());
  EXPECT_EQ(job["extra"]["ship"], "skipped (archive disabled)");
  std::vector<std::string> qc_files = QcOutputPaths(out_dir + "/" + sample.id);
  std::sort(qc_files.begin(), qc_files.end());
  EXPECT_EQ(job["extra"]["qc_files"], json(qc_files));  // exactly its own five, no decoy
  // SIGTERM: a clean stop with exit status 0 and the socket removed.
  int st = a.Stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
  EXPECT_FALSE(fs::exists(a.socket()));
  std::string log = a.Log();
  EXPECT_NE(log.find("<6>cramjetd 0.1.0 started"), std::string::npos) << log;  // journald priorities
  EXPECT_NE(log.find("<6>cramjetd stopped"), std::string::npos) << log;
}

TEST_F(DaemonIntegration, RunWithOnlyRtaCompleteWaits) {
  Appliance a;
  a.WriteConfig();
  std::string run = a.MakeRun("240102_M07001_0008_000000000-AHTEST", {RealSamples()[0]}, true, false);
  a.Start();
  ASSERT_TRUE(a.Up()) << a.Log();
  ASSERT_TRUE(WaitFor([&] { return !a.Status()["waiting_runs"].empty(); }, 10)) << a.Status().dump(2);
  std::this_thread::sleep_for(std::chrono::seconds(3));  // more than one rescan interval
  json s = a.Status();
  EXPECT_EQ(s["jobs"].value("queued", 0) + s["jobs"].value("running", 0) + s["jobs"].value("done", 0), 0);
  ASSERT_EQ(s["waiting_runs"].size(), 1u);
  EXPECT_EQ(s["waiting_runs"][0]["path"], run);
  EXPECT_NE(s["waiting_runs"][0]["reason"].get<std::string>().find("waiting for CopyComplete.txt"), std::string::npos);
  EXPECT_TRUE(a.Call("jobs")["jobs"].empty());
  // The copy finishes: the run is taken.
  WriteFile(run + "/CopyComplete.txt", "");
  ASSERT_TRUE(WaitFor([&] { return a.Status()["jobs"].value("done", 0) == 1; }, 120)) << a.Log();
  EXPECT_TRUE(a.Status()["waiting_runs"].empty());
}

TEST_F(DaemonIntegration, RtaOnlyTimeoutTakesRun) {
  Appliance a;
  a.WriteConfig("[testing]\nstage_delay_ms = 0\n");
  // 0.0003 h ~ 1 s: the run is taken although CopyComplete.txt never appears.
  std::string cfg = ReadFile(a.Path("cramjetd.toml"));
  cfg = std::regex_replace(cfg, std::regex("\\[intake\\]\n"), "[intake]\nrta_only_timeout_hours = 0.0003\n");
  WriteFile(a.Path("cramjetd.toml"), cfg);
  a.MakeRun("240103_M07001_0009_000000000-AHTEST", {RealSamples()[0]}, true, false);
  a.Start();
  ASSERT_TRUE(a.Up()) << a.Log();
  ASSERT_TRUE(WaitFor([&] { return a.Status()["jobs"].value("done", 0) == 1; }, 120)) << a.Log();
}

TEST_F(DaemonIntegration, SampleSheetNamesThatEscapeAreRefused) {
  Appliance a;
  a.WriteConfig();
  auto sample = RealSamples()[0];
  std::string run = a.MakeRun("240104_M07001_0010_000000000-AHTEST", {sample}, true, true,
                              "[Data]\nSample_ID,Reference\n../../escaped,rCRS\n");
  // The FASTQs carry the hostile name too, as a real demultiplexer would have written them.
  fs::create_symlink(sample.r1, run + "/Data/Intensities/BaseCalls/..%2Fescaped_S1_L001_R1_001.fastq.gz");
  a.Start();
  ASSERT_TRUE(a.Up()) << a.Log();
  ASSERT_TRUE(WaitFor([&] { return !a.Status()["rejected"].empty(); }, 10)) << a.Status().dump(2);
  json s = a.Status();
  EXPECT_EQ(s["rejected"][0]["path"], run);
  EXPECT_EQ(s["rejected"][0]["error"], run + "/SampleSheet.csv: line 3: Sample_ID '../../escaped' contains '..'");
  EXPECT_EQ(s["last_error"]["message"], s["rejected"][0]["error"]);
  EXPECT_TRUE(a.Call("jobs")["jobs"].empty());
  // Nothing was written anywhere outside the output root (nor inside it).
  EXPECT_FALSE(fs::exists(a.Path("escaped")));
  EXPECT_FALSE(fs::exists(a.Path("escaped.cram")));
  EXPECT_TRUE(fs::is_empty(a.Path("out")));
  // The API refuses paths outside the configured roots.
  auto submit = RunCramjet("submit --socket " + ShellQuote(a.socket()) + " /etc");
  EXPECT_EQ(submit.exit_code, 2);
  EXPECT_EQ(submit.err,
            "cramjet submit: error: '/etc' is not a run folder directly under a watch root or an entry of the drop "
            "folder; the API takes no other paths\n");
  auto escape = RunCramjet("submit --socket " + ShellQuote(a.socket()) + " " + ShellQuote(a.Path("runs/../state")));
  EXPECT_EQ(escape.exit_code, 2) << escape.err;
}

// A run folder that is a symlink to a folder outside the watch root is refused by the scanner as
// `submit` refuses it (issue 15: it was taken, and cleanup with delete-inputs then deleted the
// FASTQs in the symlink's target).
TEST_F(DaemonIntegration, SymlinkedRunFolderOutsideTheRootIsNotTaken) {
  Appliance a;
  a.WriteConfig("[cleanup]\npolicy = \"delete-inputs\"\nretention_hours = 0\n");
  auto sample = RealSamples()[0];
  const std::string name = "240109_M07001_0019_000000000-AHTEST";
  const std::string real = a.MakeRun(name, {sample}, true, true);
  fs::create_directories(a.Path("elsewhere"));
  fs::rename(real, a.Path("elsewhere/") + name);
  fs::create_directory_symlink(a.Path("elsewhere/") + name, real);
  a.Start();
  ASSERT_TRUE(a.Up()) << a.Log();
  ASSERT_TRUE(WaitFor([&] { return !a.Status()["rejected"].empty(); }, 10)) << a.Status().dump(2);
  json s = a.Status();
  EXPECT_EQ(s["rejected"][0]["path"], real);
  EXPECT_EQ(s["rejected"][0]["error"],
            real + ": resolves outside the watch root " + a.Path("runs") + " (a symlink?); not taken");
  EXPECT_TRUE(a.Call("jobs")["jobs"].empty());
  auto submit = RunCramjet("submit --socket " + ShellQuote(a.socket()) + " " + ShellQuote(real));
  EXPECT_EQ(submit.exit_code, 2) << submit.err;
  // The target's files are all still there.
  EXPECT_TRUE(fs::exists(a.Path("elsewhere/") + name + "/RunInfo.xml"));
  size_t fastqs = 0;
  for (const auto& e : fs::recursive_directory_iterator(a.Path("elsewhere")))
    fastqs += e.path().string().find(".fastq") != std::string::npos;
  EXPECT_GE(fastqs, 2u);
}

TEST_F(DaemonIntegration, LowFreeDiskPausesIntake) {
  Appliance a;
  a.EnableMetrics();
  a.WriteConfig();
  // Ask for more free space than any test machine has: intake must pause.
  std::string cfg = ReadFile(a.Path("cramjetd.toml"));
  cfg = std::regex_replace(cfg, std::regex("min_free_disk_gb = 0.001\nresume_free_disk_gb = 0.002"),
                           "min_free_disk_gb = 1000000000\nresume_free_disk_gb = 1000000000");
  WriteFile(a.Path("cramjetd.toml"), cfg);
  a.MakeRun("240110_M07001_0016_000000000-AHTEST", {RealSamples()[0]}, true, true);
  a.Start();
  ASSERT_TRUE(a.Up()) << a.Log();
  std::this_thread::sleep_for(std::chrono::seconds(3));  // more than one rescan
  json s = a.Status();
  EXPECT_TRUE(s["intake_paused_low_disk"].get<bool>()) << s.dump(2);
  EXPECT_TRUE(a.Call("jobs")["jobs"].empty());
  int code = 0;
  EXPECT_EQ(HttpGet(a.metrics_port(), "/readyz", &code), "intake paused: low free disk\n");
  EXPECT_EQ(code, 503);
  EXPECT_NE(a.Log().find("<4>intake paused: free disk "), std::string::npos) << a.Log();
  auto human = RunCramjet("status --socket " + ShellQuote(a.socket()));
  EXPECT_NE(human.out.find("INTAKE PAUSED: free disk below the configured minimum"), std::string::npos) << human.out;
}

// The journal breaks under a running daemon (its runs table is gone): intake stops with the
// journal's error in the log and in status, and the run is not taken.
TEST_F(DaemonIntegration, ABrokenJournalStopsIntake) {
  Appliance a;
  a.WriteConfig();
  a.Start();
  ASSERT_TRUE(a.Up()) << a.Log();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(a.Path("state/journal.sqlite").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DROP TABLE runs", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  a.MakeRun("240110_M07001_0016_000000000-AHJRNL", {RealSamples()[0]}, true, true);
  ASSERT_TRUE(WaitFor([&] { return a.Log().find("<3>intake stopped: job journal '") != std::string::npos; }, 30))
      << a.Log();
  EXPECT_TRUE(a.Call("jobs")["jobs"].empty());
  EXPECT_NE(a.Status().dump().find("intake stopped: job journal"), std::string::npos) << a.Status().dump(2);
}

TEST_F(DaemonIntegration, IntakeResumesWhenFreeDiskRecovers) {
  Appliance a;
  a.WriteConfig();
  struct statvfs vfs;
  ASSERT_EQ(::statvfs(a.Path("").c_str(), &vfs), 0);
  const double free_gb = static_cast<double>(vfs.f_bavail) * vfs.f_frsize / 1e9;
  if (free_gb < 8) GTEST_SKIP() << "needs 8 GB free to move the free space across the thresholds";
  // Thresholds just below today's free space; a 3 GB filler file pushes it under the minimum,
  // removing it brings it back above the resume level. Margins of 1+ GB absorb other tests' files.
  char limits[160];
  std::snprintf(limits, sizeof limits, "min_free_disk_gb = %.3f\nresume_free_disk_gb = %.3f",
                free_gb - 1.5, free_gb - 1.0);
  std::string cfg = ReadFile(a.Path("cramjetd.toml"));
  cfg = std::regex_replace(cfg, std::regex("min_free_disk_gb = 0.001\nresume_free_disk_gb = 0.002"),
                           std::string(limits));
  WriteFile(a.Path("cramjetd.toml"), cfg);
  ASSERT_EQ(RunShell("fallocate -l 3G " + ShellQuote(a.Path("filler"))).exit_code, 0);
  a.MakeRun("240111_M07001_0017_000000000-AHTEST", {RealSamples()[0]}, true, true);
  a.Start();
  ASSERT_TRUE(a.Up()) << a.Log();
  std::this_thread::sleep_for(std::chrono::seconds(3));  // more than one rescan
  EXPECT_TRUE(a.Status()["intake_paused_low_disk"].get<bool>()) << a.Log();
  EXPECT_TRUE(a.Call("jobs")["jobs"].empty());
  ::unlink(a.Path("filler").c_str());
  bool resumed = false;
  for (int i = 0; i < 60 && !resumed; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    resumed = !a.Status()["intake_paused_low_disk"].get<bool>() && !a.Call("jobs")["jobs"].empty();
  }
  EXPECT_TRUE(resumed) << a.Log();
  EXPECT_NE(a.Log().find("intake resumed: free disk "), std::string::npos) << a.Log();
}

TEST_F(DaemonIntegration, DropFolderTakesEntryAfterReadyMarker) {
  Appliance a;
  a.WriteConfig();
  a.Start();
  ASSERT_TRUE(a.Up()) << a.Log();
  auto s = RealSamples()[0];
  fs::create_directories(a.Path("drop/chrM-drop"));
  fs::copy_file(s.r1, a.Path("drop/chrM-drop/chrM_R1.fastq.gz"));
  fs::copy_file(s.r2, a.Path("drop/chrM-drop/chrM_R2.fastq.gz"));
  std::this_thread::sleep_for(std::chrono::seconds(3));  // settle_seconds is 1 h: not taken yet
  EXPECT_TRUE(a.Call("jobs")["jobs"].empty());
  WriteFile(a.Path("drop/chrM-drop.ready"), "");
  ASSERT_TRUE(WaitFor([&] { return a.Status()["jobs"].value("done", 0) == 1; }, 120)) << a.Log();
  EXPECT_TRUE(fs::exists(a.Path("dropout/chrM-drop.cram")));
  EXPECT_EQ(a.Call("jobs")["jobs"][0]["paired"], true);
  // Its @PG CL is a command a person can run again (issue 16 item 5: it was "cramjetd job 1"):
  // run with another -o, it gives the same records.
  const std::string cram = a.Path("dropout/chrM-drop.cram");
  auto pg = RunShell("samtools view -H " + ShellQuote(cram) + " | grep '^@PG' | grep 'ID:cramjet' | sed 's/.*\tCL://; s/\t.*//'");
  std::string cl = pg.out.substr(0, pg.out.find('\n'));
  ASSERT_EQ(cl.rfind("cramjet compress -T ", 0), 0u) << pg.out;
  EXPECT_NE(cl.find(" --profile normal --cram-version 3.0 "), std::string::npos) << cl;
  const std::string out_flag = " -o " + cram + " ";
  ASSERT_NE(cl.find(out_flag), std::string::npos) << cl;
  cl.replace(cl.find(out_flag), out_flag.size(), " -o " + a.Path("again.cram") + " ");
  cl.replace(0, 7, ShellQuote(std::string(CRAMJET_BINARY_DIR) + "/cramjet"));
  auto again = RunShell(cl + " -q 2>&1");
  ASSERT_EQ(again.exit_code, 0) << cl << "\n" << again.out;
  auto records = [&](const std::string& f) { return RunShell("samtools view " + ShellQuote(f) + " | md5sum").out; };
  EXPECT_EQ(records(a.Path("again.cram")), records(cram));
}

// Aligned input from outside (here an unaligned BAM) is compressed in a stage process of its
// own (stage_process.h): the result, its records and its QC come back to the job.
TEST_F(DaemonIntegration, DropFolderBamIsCompressedInAStageProcess) {
  Appliance a;
  a.WriteConfig();
  auto s = RealSamples()[0];
  const std::string bam = a.Path("drop/chrM-bam.bam");
  ASSERT_TRUE(ImportAsBam(s, bam));
  WriteFile(bam + ".ready", "");
  a.Start();
  ASSERT_TRUE(a.Up()) << a.Log();
  ASSERT_TRUE(a.JobsEnded(1, 120))
      << a.Log();
  json job = a.Call("jobs")["jobs"][0];
  ASSERT_EQ(job["state"], "done") << job.dump(2);
  const uint64_t records = std::stoull(RunShell("samtools view -c " + ShellQuote(bam)).out);
  EXPECT_EQ(job["records"].get<uint64_t>(), records);
  EXPECT_EQ(job["extra"]["compress"]["records"].get<uint64_t>(), records);
  EXPECT_FALSE(job["extra"]["compress"]["qc_files"].empty());
  EXPECT_TRUE(fs::exists(a.Path("dropout/chrM-bam.cram")));
  EXPECT_FALSE(job["qc_verdict"].get<std::string>().empty());
}

// The sample sheet's library column becomes the CRAM's @RG LB (GATK's duplicate marking reads
// it), and the @PG CL carries it, so the command still makes the same header.
TEST_F(DaemonIntegration, TheSampleSheetsLibraryIsTheReadGroupsLB) {
  Appliance a;
  a.WriteConfig();
  auto s = RealSamples()[0];
  const std::string sheet = "[Header]\nIEMFileVersion,4\n\n[Data]\nLane,Sample_ID,Sample_Project,Library_ID,Reference\n1," +
                            s.id + ",proj,lib-42," + s.reference_name + "\n";
  a.MakeRun("240114_M07001_0020_000000000-AHTEST", {s}, true, true, sheet);
  a.Start();
  ASSERT_TRUE(a.Up()) << a.Log();
  ASSERT_TRUE(a.JobsEnded(1, 120))
      << a.Log();
  json job = a.Call("jobs")["jobs"][0];
  ASSERT_EQ(job["state"], "done") << job.dump(2);
  EXPECT_EQ(job["extra"]["library"], "lib-42");
  const std::string header = RunShell("samtools view -H " + ShellQuote(job["output"].get<std::string>())).out;
  EXPECT_NE(header.find("\tLB:lib-42"), std::string::npos) << header;
  EXPECT_NE(header.find(" --rg-field LB:lib-42 "), std::string::npos) << header;
}

}  // namespace
}  // namespace cramjet::daemon
