// Integration tests of the real cramjetd: what operators and the archive see (status, control
// commands, metrics, systemd, configuration checks, shipping) and the SIGKILL reliability test.
#include <sys/wait.h>
#include <unistd.h>

#include <regex>
#include <sstream>

#include "appliance.h"
#include "common/common.h"
#include "common/unique_fd.h"
#include "ship/ship.h"

namespace cramjet::daemon {
namespace {

TEST_F(DaemonIntegration, StatusJsonAndControlCommands) {
  Appliance a;
  a.WriteConfig("[testing]\nstage_delay_ms = 1500\n");
  auto samples = RealSamples();
  a.MakeRun("240105_M07001_0011_000000000-AHTEST", {samples[0]}, true, true);
  a.Start();
  ASSERT_TRUE(a.Up()) << a.Log();
  std::string sock = "--socket " + ShellQuote(a.socket());
  // While the job runs, `cramjet status --json` shows it with its stage.
  json running;
  ASSERT_TRUE(WaitFor([&] {
    auto r = RunCramjet("status --json " + sock);
    if (r.exit_code != 0) return false;
    running = json::parse(r.out);
    return !running["running"].empty();
  }, 30)) << a.Log();
  EXPECT_EQ(running["api_version"], kDaemonApiVersion);
  EXPECT_EQ(running["version"], "0.1.0");
  EXPECT_EQ(running["state"], "running");
  EXPECT_FALSE(running["backend"].get<std::string>().empty());
  EXPECT_EQ(running["jobs"]["running"], 1);
  EXPECT_EQ(running["running"][0]["sample"], samples[0].id);
  EXPECT_TRUE(running["running"][0]["stage"].is_string());
  EXPECT_FALSE(running["disk"].empty());
  EXPECT_GT(running["uptime_seconds"].get<double>(), 0);
  // The human screen shows the same.
  auto human = RunCramjet("status " + sock);
  ASSERT_EQ(human.exit_code, 0) << human.err;
  EXPECT_NE(human.out.find("cramjetd 0.1.0"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find(samples[0].id), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("jobs       0 queued, 1 running, 0 failed"), std::string::npos) << human.out;
  // One kind of value per column: PROGRESS a percentage or "-", the stage's time under ELAPSED.
  EXPECT_NE(human.out.find("  ID     SAMPLE                   STAGE     PROGRESS      ELAPSED   THROUGHPUT  RUN          WHERE\n"),
            std::string::npos)
      << human.out;
  EXPECT_EQ(running["running"][0]["where"], "local") << running.dump();

  // pause: the running job finishes, a new run is taken but does not start.
  auto pause = RunCramjet("pause --json " + sock);
  ASSERT_EQ(pause.exit_code, 0) << pause.err;
  EXPECT_EQ(json::parse(pause.out)["state"], "paused");
  ASSERT_TRUE(WaitFor([&] { return a.Status()["jobs"].value("done", 0) == 1; }, 120)) << a.Log();
  std::string run2 = a.MakeRun("240106_M07001_0012_000000000-AHTEST", {samples[2]}, true, false);
  auto submit = RunCramjet("submit --json " + sock + " " + ShellQuote(run2));  // CopyComplete missing: forced
  ASSERT_EQ(submit.exit_code, 0) << submit.err;
  int64_t id2 = json::parse(submit.out)["job_ids"][0];
  std::this_thread::sleep_for(std::chrono::seconds(2));
  json job2 = json::parse(RunCramjet("job --json " + sock + " " + std::to_string(id2)).out);
  EXPECT_EQ(job2["state"], "queued");
  EXPECT_EQ(job2["origin"], "submit");
  EXPECT_EQ(job2["events"][0]["stage"], "intake");
  auto jobs = RunCramjet("jobs --json --state done " + sock);
  ASSERT_EQ(jobs.exit_code, 0) << jobs.err;
  EXPECT_EQ(json::parse(jobs.out)["jobs"].size(), 1u);
  // A finished job reads as finished: no "next stage: done", the run that worked counted, no
  // stage in the list (issue 16 item 10).
  auto one = RunCramjet("job " + sock + " 1");
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_EQ(one.out.rfind("job 1: " + samples[0].id + "  done\n", 0), 0u) << one.out;
  EXPECT_NE(one.out.find("\n  attempts   1 (0 failed)\n"), std::string::npos) << one.out;
  auto listed = RunCramjet("jobs " + sock + " --state done");
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("\n1      done     -         " + samples[0].id), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find(" 1 (0 failed)   "), std::string::npos) << listed.out;
  // retry is only for failed jobs; unknown ids say so.
  auto retry = RunCramjet("retry " + sock + " 1");
  EXPECT_EQ(retry.exit_code, 1);
  EXPECT_EQ(retry.err, "cramjet retry: error: job 1 is done; only failed or waiting jobs, and running ones whose stage waits on a Slurm job, are retried\n");
  auto missing = RunCramjet("job " + sock + " 999");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err, "cramjet job: error: no job 999\n");
  // The pause survives a restart.
  EXPECT_EQ(a.Stop(SIGTERM), 0);
  a.Start();
  ASSERT_TRUE(a.Up()) << a.Log();
  EXPECT_EQ(a.Status()["state"], "paused");
  ASSERT_EQ(RunCramjet("resume " + sock).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] { return a.Status()["jobs"].value("done", 0) == 2; }, 120)) << a.Log();
  json s = a.Status();
  EXPECT_EQ(s["jobs"]["done_today"], 2);
  // drain: the daemon exits by itself once idle.
  ASSERT_EQ(RunCramjet("drain " + sock).exit_code, 0);
  int st = a.WaitExit(30);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
  auto down = RunCramjet("status " + sock);
  EXPECT_EQ(down.exit_code, 4);
  EXPECT_EQ(down.err.rfind("cramjet status: error: cramjetd is not reachable on '" + a.socket() + "'", 0), 0u) << down.err;
  // The daemon is down, its journal is not: jobs and job read it directly (read-only) and say so.
  const std::string config = " --config " + ShellQuote(a.Path("cramjetd.toml"));
  auto offline = RunCramjet("jobs " + sock + config);
  ASSERT_EQ(offline.exit_code, 0) << offline.err;
  EXPECT_EQ(offline.err.rfind("cramjet jobs: cramjetd is not running (cramjetd is not reachable on '" + a.socket(), 0), 0u)
      << offline.err;
  EXPECT_NE(offline.err.find("); read from its journal '" + a.Path("state/journal.sqlite") + "'\n"), std::string::npos)
      << offline.err;
  EXPECT_NE(offline.out.find("\n1      done     -         " + samples[0].id), std::string::npos) << offline.out;
  EXPECT_NE(offline.out.find("\n" + std::to_string(id2) + "      done     -         " + samples[2].id), std::string::npos)
      << offline.out;
  auto offline_json = RunCramjet("job --json " + sock + config + " 1");
  ASSERT_EQ(offline_json.exit_code, 0) << offline_json.err;
  const json offline_job = json::parse(offline_json.out);
  EXPECT_EQ(offline_job["daemon_down"], true);
  EXPECT_EQ(offline_job["state"], "done");
  EXPECT_FALSE(offline_job["events"].empty());
  // No config to find the journal with: the daemon's error, and why the journal was not read.
  auto nowhere = RunCramjet("jobs " + sock + " --config " + ShellQuote(a.Path("missing.toml")));
  EXPECT_EQ(nowhere.exit_code, 4);
  EXPECT_NE(nowhere.err.find("; its journal: the daemon's configuration '" + a.Path("missing.toml") +
                             "' does not exist (give it with --config)\n"),
            std::string::npos)
      << nowhere.err;
}

// Well-formed JSON with wrong-typed fields aborted cramjetd (issue 15: uncaught type_error,
// rc 134), and one silent client held the API for 5 s. Each gets its error; the daemon stays up
// and answers another client while a silent one is connected.
TEST_F(DaemonIntegration, NoRequestCanStopTheDaemonOrHoldUpTheApi) {
  Appliance a;
  a.WriteConfig();
  a.Start();
  ASSERT_TRUE(a.Up()) << a.Log();
  auto raw = [&](const std::string& line) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, a.socket().c_str(), a.socket().size() + 1);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return std::string("no connect");
    if (!line.empty()) (void)!::write(fd.get(), line.data(), line.size());
    std::string reply;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd.get(), buf, sizeof buf)) > 0) reply.append(buf, static_cast<size_t>(n));
    return reply;
  };
  for (const char* request : {R"({"method":"jobs","params":{"limit":"ten"}})", R"({"method":"jobs","params":[1]})",
                              R"({"method":"jobs","params":{"state":5}})", R"({"api_version":"1","method":"status"})",
                              R"({"method":"job","params":{"id":1.5}})", R"({"method":"submit","params":{"path":[]}})"}) {
    json reply = json::parse(raw(std::string(request) + "\n"), nullptr, false);
    ASSERT_FALSE(reply.is_discarded()) << request;
    EXPECT_EQ(reply["ok"], false) << request;
    EXPECT_EQ(reply["error"]["code"], "invalid_argument") << request << " " << reply.dump();
  }
  // A silent client stays connected while another is answered at once.
  UniqueFd silent(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, a.socket().c_str(), a.socket().size() + 1);
  ASSERT_EQ(::connect(silent.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const double t0 = Seconds();
  json status = json::parse(raw("{\"method\":\"status\"}\n"), nullptr, false);
  EXPECT_LT(Seconds() - t0, 4.0) << "a silent client held up the API";  // it holds its thread 5 s
  ASSERT_FALSE(status.is_discarded());
  EXPECT_EQ(status["ok"], true);
  silent.reset();
  EXPECT_EQ(a.Stop(SIGTERM), 0) << a.Log();  // still running, and stops cleanly
}

TEST_F(DaemonIntegration, MetricsAndHealthEndpoints) {
  Appliance a;
  a.EnableMetrics();
  a.WriteConfig();
  a.MakeRun("240107_M07001_0013_000000000-AHTEST", {RealSamples()[0]}, true, true);
  a.Start();
  ASSERT_TRUE(a.Up()) << a.Log();
  ASSERT_TRUE(WaitFor([&] { return a.Status()["jobs"].value("done", 0) == 1; }, 120)) << a.Log();
  int code = 0;
  std::string text = HttpGet(a.metrics_port(), "/metrics", &code);
  ASSERT_EQ(code, 200) << text;
  std::map<std::string, double> samples;
  EXPECT_EQ(CheckPrometheusText(text, &samples), "") << text;
  EXPECT_EQ(samples["cramjet_jobs{state=done,}"], 1);
  EXPECT_EQ(samples["cramjet_jobs_completed_total{}"], 1);
  EXPECT_EQ(samples["cramjet_stage_runs_total{stage=compress,}"], 1);
  EXPECT_GT(samples["cramjet_stage_duration_seconds_total{stage=compress,}"], 0);
  EXPECT_GT(samples["cramjet_output_bytes_total{}"], 0);
  EXPECT_EQ(text.find(RealSamples()[0].id), std::string::npos) << "sample names must not appear in metrics";
  // The strict parser does fail on what it must refuse.
  std::map<std::string, double> ignored;
  EXPECT_NE(CheckPrometheusText("# TYPE cramjet_x counter\ncramjet_x 1\n", &ignored), "");
  EXPECT_NE(CheckPrometheusText("cramjet_y 1\n", &ignored), "");
  EXPECT_NE(CheckPrometheusText("# TYPE cramjet_z gauge\ncramjet_z{sample=\"a\"} 1\n", &ignored), "");
  EXPECT_EQ(HttpGet(a.metrics_port(), "/livez", &code), "ok\n");
  EXPECT_EQ(code, 200);
  EXPECT_EQ(HttpGet(a.metrics_port(), "/readyz", &code), "ok\n");
  EXPECT_EQ(code, 200);
  HttpGet(a.metrics_port(), "/nope", &code);
  EXPECT_EQ(code, 404);
}

TEST_F(DaemonIntegration, TalksToSystemd) {
  Appliance a;
  a.WriteConfig();
  // A stand-in for systemd's notify socket (the documented datagram protocol).
  std::string path = a.Path("notify.sock");
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  a.Start({"NOTIFY_SOCKET=" + path, "WATCHDOG_USEC=200000"});
  ASSERT_TRUE(a.Up()) << a.Log();
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  EXPECT_EQ(a.Stop(SIGTERM), 0);
  std::vector<std::string> messages;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) messages.emplace_back(buf, n);
  ::close(fd);
  std::string all;
  for (const auto& m : messages) all += m + "\n";
  ASSERT_FALSE(messages.empty());
  EXPECT_EQ(messages[0].rfind("READY=1\nSTATUS=", 0), 0u) << all;
  EXPECT_NE(all.find("STATUS=running: 0 running, 0 queued, 0 failed"), std::string::npos) << all;
  size_t pings = 0;
  for (const auto& m : messages) pings += m == "WATCHDOG=1";
  EXPECT_GE(pings, 3u) << all;  // every 100 ms for a 200 ms watchdog
  EXPECT_NE(all.find("STOPPING=1"), std::string::npos) << all;
}

TEST_F(DaemonIntegration, BadConfigRefusedAtStart) {
  Appliance a;
  a.WriteConfig("[workers]\nmax_jobs = 2\n");  // a second [workers] table: TOML error
  auto r = RunShell(ShellQuote(CramjetdBinary()) + " --config " + ShellQuote(a.Path("cramjetd.toml")));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("<3>configuration refused: " + a.Path("cramjetd.toml") + ": line "), std::string::npos) << r.err;
  a.WriteConfig("[testing]\nstage_delay = 5\n");
  r = RunShell(ShellQuote(CramjetdBinary()) + " --check-config --config " + ShellQuote(a.Path("cramjetd.toml")));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown key 'stage_delay' in [testing]"), std::string::npos) << r.err;
  r = RunShell(ShellQuote(CramjetdBinary()) + " --log-level loud --check-config --config " + ShellQuote(a.Path("cramjetd.toml")));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("cramjetd: usage error: --log-level 'loud': expected debug, info, warning or error\n", 0), 0u) << r.err;
  // An accelerator named in the config that cannot be opened stops the daemon at start, not each job.
  a.WriteConfig("[accel]\nkind = \"xrt\"\nxclbin = \"" + a.Path("cramjetd.toml") + "\"\n");
  r = RunShell(ShellQuote(CramjetdBinary()) + " --check-config --config " + ShellQuote(a.Path("cramjetd.toml")));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("<3>configuration refused: [accel]: --accel xrt: '" + a.Path("cramjetd.toml") +
                       "' is not an xclbin"),
            std::string::npos)
      << r.err;
  a.WriteConfig();
  r = RunShell(ShellQuote(CramjetdBinary()) + " --check-config --config " + ShellQuote(a.Path("cramjetd.toml")));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("configuration ok: 1 file(s), 1 watch root(s)", 0), 0u) << r.out;
}

// A hostile archive (tests/daemon/hostile_archive.py: lying lengths, binary headers and bodies,
// non-UTF-8 upload ids and ETags, cut connections, redirects, replies that are not HTTP) must not
// stop the daemon, break its API, or let a job count as shipped. Both sink kinds, the same server.
class HostileArchive {
 public:
  explicit HostileArchive(const std::string& dir) : port_file_(dir + "/hostile.port"), count_file_(dir + "/hostile.count") {
    const std::string script = std::string(CRAMJET_SOURCE_DIR) + "/tests/daemon/hostile_archive.py";
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execlp("python3", "python3", script.c_str(), "--port-file", port_file_.c_str(), "--count-file",
               count_file_.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    WaitFor([&] { return fs::exists(port_file_); }, 20);
  }
  ~HostileArchive() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  int port() const { return fs::exists(port_file_) ? ParseDecimalInt(ReadFile(port_file_)).value_or(0) : 0; }
  int requests() const { return fs::exists(count_file_) ? ParseDecimalInt(ReadFile(count_file_)).value_or(0) : 0; }

 private:
  std::string port_file_, count_file_;
  pid_t pid_ = -1;
};

TEST_F(DaemonIntegration, StaysUpUnderAHostileArchive) {
  for (const char* kind : {"webdav", "s3"}) {
    SCOPED_TRACE(kind);
    Appliance a;
    HostileArchive server(a.Path(""));
    ASSERT_GT(server.port(), 0);
    const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
    const std::string archive =
        std::string(kind) == "webdav"
            ? "url = \"" + base + "/archive\"\n"
            : "url = \"s3://bucket/prefix\"\nendpoint = \"" + base + "\"\naccess_key_id = \"K\"\nsecret_access_key = \"S\"\n"
              "multipart_threshold = \"1KiB\"\npart_size = \"1KiB\"\n";
    a.WriteConfig("[archive]\nenabled = true\n" + archive +
                  "max_attempts = 2\nretry_base_seconds = 0\nretry_max_seconds = 0\nconnect_timeout_seconds = 2\n"
                  "stall_timeout_seconds = 2\nrequest_timeout_seconds = 5\n[retry]\nmax_attempts = 100\ndelay_s = 0\n");
    a.MakeRun("240110_M07001_0016_000000000-AHTEST", {RealSamples()[0]}, true, true);
    a.Start();
    ASSERT_TRUE(a.Up()) << a.Log();
    // Until the archive has answered 60 requests: the API answers every time, no job ships. A job
    // that fails for good (the archive claims a conflicting object) is retried as an operator would.
    const double end = Seconds() + 150;
    int retries = 0;
    while (server.requests() < 60 && Seconds() < end) {
      json jobs = a.Call("jobs");
      ASSERT_TRUE(jobs.contains("jobs")) << jobs.dump() << "\n" << a.Log();
      for (const auto& j : jobs["jobs"]) {
        ASSERT_FALSE(j["shipped"].get<bool>()) << j.dump(2);
        if (j["state"] == "failed") {
          json r = a.Call("retry", {{"id", j["id"]}});
          ASSERT_FALSE(r.contains("error")) << r.dump();
          ++retries;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_GE(server.requests(), 60) << a.Log();
    json job = a.Call("job", {{"id", 1}});
    ASSERT_TRUE(job.contains("id")) << job.dump() << a.Log();
    EXPECT_FALSE(job["shipped"].get<bool>());
    EXPECT_NE(job["state"], "done") << job.dump(2);
    std::printf("%s: %d requests answered, %d retries\n", kind, server.requests(), retries);
    if (std::getenv("CRAMJET_TEST_SHOW_LOG")) std::printf("%s\n", a.Log().c_str());
    // Still the same process, and it stops as asked.
    EXPECT_EQ(a.Stop(SIGTERM), 0) << a.Log();
    const std::string log = a.Log();
    EXPECT_EQ(log.find("terminate called"), std::string::npos) << log;
    EXPECT_EQ(log.find("failed inside the daemon"), std::string::npos) << log;  // the API's guard
    EXPECT_EQ(log.find("the stage threw"), std::string::npos) << log;         // a stage's guard
    EXPECT_NE(log.find("ship"), std::string::npos) << log;
    // Every line has a journald priority: what libraries print themselves goes through the logger.
    size_t start = 0;
    for (size_t eol; (eol = log.find('\n', start)) != std::string::npos; start = eol + 1)
      EXPECT_EQ(log[start], '<') << log.substr(start, eol - start);
  }
}

TEST_F(DaemonIntegration, ShipsToArchiveThenCleansUpInputs) {
  Appliance a;
  fs::create_directories(a.Path("archive"));
  a.WriteConfig("[archive]\nenabled = true\nurl = \"file://" + a.Path("archive") +
                "\"\n[cleanup]\npolicy = \"delete-inputs\"\nretention_hours = 0\n");
  auto sample = RealSamples()[0];
  std::string run_name = "240109_M07001_0015_000000000-AHTEST";
  std::string run = a.MakeRun(run_name, {sample}, true, true, "", /*copy_inputs=*/true);
  std::string r1 = run + "/Data/Intensities/BaseCalls/" + sample.id + "_S1_L001_R1_001.fastq.gz";
  ASSERT_TRUE(fs::exists(r1));
  a.Start();
  ASSERT_TRUE(a.Up()) << a.Log();
  ASSERT_TRUE(a.JobsEnded(1)) << a.Status().dump(2) << a.Log();
  json job = a.Call("jobs")["jobs"][0];
  ASSERT_EQ(job["state"], "done") << job.dump(2);
  EXPECT_TRUE(job["shipped"].get<bool>()) << job.dump(2);
  EXPECT_EQ(job["extra"]["ship"], "verified");
  std::string archived = a.Path("archive/" + run_name + "/" + sample.id + "/" + sample.id + ".cram");
  ASSERT_TRUE(fs::exists(archived)) << job.dump(2);
  std::string local = a.Path("out/" + run_name + "/" + sample.id + ".cram");
  EXPECT_EQ(RunShell("md5sum < " + ShellQuote(archived)).out, RunShell("md5sum < " + ShellQuote(local)).out);
  // Inputs deleted only after the verified ship; the local CRAM set stays (policy delete-inputs).
  EXPECT_FALSE(fs::exists(r1));
  EXPECT_TRUE(fs::exists(local));
  EXPECT_EQ(job["extra"]["cleanup"], "removed 2 file(s)");
}

// [archive] encrypt = "crypt4gh": the daemon's ship stage delivers every file of the set as a
// Crypt4GH file for the archive's key (the same sink code as `cramjet ship`), the manifest lists
// ciphertext and plaintext checksums, the staged ciphertexts are gone once the copy is verified,
// and `cramjet accept` with the archive's private key accepts the delivery (and without it, not).
TEST_F(DaemonIntegration, ShipsACrypt4ghDeliveryThatTheArchiveAcceptsWithItsKey) {
  Appliance a;
  fs::create_directories(a.Path("archive"));
  const std::string pub = a.Path("archive.pub"), sec = a.Path("archive.sec");
  auto keygen = RunCramjet("crypt4gh-keygen --nocrypt --pk " + ShellQuote(pub) + " --sk " + ShellQuote(sec));
  ASSERT_EQ(keygen.exit_code, 0) << keygen.err;
  a.WriteConfig("[archive]\nenabled = true\nurl = \"file://" + a.Path("archive") + "\"\nencrypt = \"crypt4gh\"\n"
                "crypt4gh_recipients = [\"" + pub + "\"]\n[qc]\non_fail = \"ship\"\n");
  auto sample = RealSamples()[0];
  const std::string run_name = "240109_M07001_0016_000000000-AHTEST";
  a.MakeRun(run_name, {sample}, true, true);
  a.Start();
  ASSERT_TRUE(a.Up()) << a.Log();
  ASSERT_TRUE(a.JobsEnded(1)) << a.Status().dump(2) << a.Log();
  json job = a.Call("jobs")["jobs"][0];
  ASSERT_EQ(job["state"], "done") << job.dump(2);
  EXPECT_EQ(job["extra"]["ship"], "verified");
  const std::string delivered = a.Path("archive/" + run_name + "/" + sample.id);
  EXPECT_TRUE(fs::exists(delivered + "/" + sample.id + ".cram.c4gh")) << a.Log();
  EXPECT_FALSE(fs::exists(delivered + "/" + sample.id + ".cram")) << "plaintext CRAM in an encrypting archive";
  const json manifest = json::parse(cramjet::testing::ReadFile(delivered + "/manifest.json"));
  EXPECT_EQ(manifest["encryption"]["method"], "crypt4gh") << manifest.dump(2);
  const std::string local = a.Path("out/" + run_name + "/" + sample.id + ".cram");
  const std::string local_md5 = RunShell("md5sum < " + ShellQuote(local) + " | cut -c1-32").out;
  bool cram_listed = false;
  for (const auto& f : manifest["files"])
    if (f["local_name"] == sample.id + ".cram") {
      cram_listed = true;
      EXPECT_EQ(f["plaintext"]["md5"].get<std::string>() + "\n", local_md5) << f.dump();
      EXPECT_NE(f["md5"], f["plaintext"]["md5"]) << f.dump();
      EXPECT_TRUE(f["name"].get<std::string>().ends_with(".cram.c4gh")) << f.dump();
    }
  EXPECT_TRUE(cram_listed) << manifest.dump(2);
  // Staged ciphertexts are removed after the verified ship (only their records stay).
  const std::string staged = a.Path("state/ship/" + job["id"].dump() + "/crypt4gh");
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(staged, ec))
    EXPECT_NE(e.path().extension(), ".c4gh") << "left staged: " << e.path();
  const std::string known = a.Path("known.txt");
  ASSERT_EQ(RunShell("samtools view -H " + ShellQuote(local) + " | grep -o 'M5:[0-9a-f]*' | cut -c4- > " + ShellQuote(known))
                .exit_code, 0);
  auto accepted = RunCramjet("accept " + ShellQuote(delivered) + " --known-references " + ShellQuote(known) +
                             " --crypt4gh-key " + ShellQuote(sec) + " --receipt " + ShellQuote(a.Path("receipt.json")));
  EXPECT_EQ(accepted.exit_code, 0) << accepted.out << accepted.err;
  auto without_key = RunCramjet("accept " + ShellQuote(delivered) + " --known-references " + ShellQuote(known) +
                                " --receipt " + ShellQuote(a.Path("receipt2.json")));
  EXPECT_NE(without_key.exit_code, 0) << without_key.out;
  EXPECT_NE(without_key.err.find("--crypt4gh-key"), std::string::npos) << without_key.err;
}

// A set whose QC verdict is fail is held before it ships ([qc] on_fail = "hold", the default),
// shown to ops everywhere they look (status, jobs, job, metrics, journal), refused by `retry`,
// and shipped by `release` with the release in its manifest. Thresholds no real run meets make
// the verdict fail.
TEST_F(DaemonIntegration, AFailedQcIsHeldBeforeShippingUntilAnOperatorReleasesIt) {
  Appliance a;
  a.EnableMetrics();
  fs::create_directories(a.Path("archive"));
  WriteFile(a.Path("qc.toml"), "[thresholds.q30_percent]\nwarn = 100\nfail = 99.99\n");
  a.WriteConfig("[archive]\nenabled = true\nurl = \"file://" + a.Path("archive") + "\"\n[qc]\nthresholds = \"" +
                a.Path("qc.toml") + "\"\n");
  auto sample = RealSamples()[0];
  const std::string run_name = "240111_M07001_0017_000000000-AHTEST";
  a.MakeRun(run_name, {sample}, true, true);
  a.Start();
  ASSERT_TRUE(a.Up()) << a.Log();
  ASSERT_TRUE(WaitFor([&] { return a.Status()["jobs"].value("held", 0) + a.Status()["jobs"].value("failed", 0) == 1; },
                      120))
      << a.Status().dump(2) << a.Log();
  json status = a.Status();
  ASSERT_EQ(status["jobs"]["held"], 1) << status.dump(2);
  ASSERT_EQ(status["held"].size(), 1u);
  const int64_t id = status["held"][0]["id"];
  EXPECT_EQ(status["held"][0]["qc_verdict"], "fail");
  const std::string reason = status["held"][0]["reason"];
  EXPECT_EQ(reason.rfind("q30_percent ", 0), 0u) << reason;
  EXPECT_NE(reason.find(" < 99.99"), std::string::npos) << reason;
  const std::string sock = "--socket " + ShellQuote(a.socket());
  const std::string ids = std::to_string(id);
  auto human = RunCramjet("status " + sock);
  EXPECT_NE(human.out.find("0 failed, 1 held, "), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("HELD       job " + ids + " " + sample.id + ": QC fail (" + reason + "); `cramjet release " +
                           ids + "` ships it\n"),
            std::string::npos)
      << human.out;
  auto listed = RunCramjet("jobs " + sock);
  EXPECT_NE(listed.out.find(" held     ship      " + sample.id), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find(" fail "), std::string::npos) << listed.out;
  auto one = RunCramjet("job " + sock + " " + ids);
  EXPECT_NE(one.out.find("  qc         fail (" + reason + "); held before shipping: `cramjet release " + ids +
                         "` ships it\n"),
            std::string::npos)
      << one.out;
  json job = a.Call("job", {{"id", id}});
  EXPECT_EQ(job["qc_verdict"], "fail");
  EXPECT_EQ(job["stage"], "ship");
  EXPECT_FALSE(job["shipped"].get<bool>());
  int code = 0;
  const std::string metrics = HttpGet(a.metrics_port(), "/metrics", &code);
  EXPECT_NE(metrics.find("cramjet_jobs{state=\"held\"} 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("cramjet_jobs_by_qc_verdict{verdict=\"fail\"} 1\n"), std::string::npos) << metrics;
  // The journal's own column, for ops who query it.
  auto column = RunShell("python3 -c 'import sqlite3, sys; print(sqlite3.connect(\"file:\" + sys.argv[1] + \"?mode=ro\", "
                         "uri=True).execute(\"SELECT qc_verdict FROM jobs\").fetchone()[0])' " +
                         ShellQuote(a.Path("state/journal.sqlite")));
  EXPECT_EQ(column.out, "fail\n") << column.err;
  // The daemon log says so at warning level.
  EXPECT_NE(a.Log().find("<4>job " + ids + " (" + sample.id + "): QC verdict fail (" + reason + "); held before shipping"),
            std::string::npos)
      << a.Log();
  // Nothing left the appliance.
  EXPECT_FALSE(fs::exists(a.Path("archive/" + run_name)));
  // retry is not the way out; release is.
  auto retry = RunCramjet("retry " + sock + " " + ids);
  EXPECT_NE(retry.exit_code, 0);
  EXPECT_NE(retry.err.find("job " + ids + " is held for its QC verdict (fail); `cramjet release " + ids + "` ships it"),
            std::string::npos)
      << retry.err;
  auto release = RunCramjet("release " + sock + " " + ids);
  ASSERT_EQ(release.exit_code, 0) << release.err;
  EXPECT_EQ(release.out, "job " + ids + " released: queued to ship\n");
  ASSERT_TRUE(WaitFor([&] { return a.Call("job", {{"id", id}})["state"] == "done"; }, 60)) << a.Log();
  job = a.Call("job", {{"id", id}});
  EXPECT_TRUE(job["shipped"].get<bool>()) << job.dump(2);
  const std::string manifest_path = a.Path("archive/" + run_name + "/" + sample.id + "/manifest.json");
  ASSERT_TRUE(fs::exists(manifest_path));
  auto manifest = ship::ParseManifest(ReadFile(manifest_path), manifest_path);
  ASSERT_TRUE(manifest.ok()) << manifest.status().message();
  EXPECT_EQ(manifest->qc_verdict, "fail");
  EXPECT_TRUE(manifest->qc_released);
  EXPECT_EQ(manifest->cram_version, "3.0");  // the daemon's default for an archive
  // Releasing again is refused: it is not held any more.
  auto again = RunCramjet("release " + sock + " " + ids);
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("job " + ids + " is done; only a job held for its QC verdict is released"), std::string::npos)
      << again.err;
}

// on_fail = "warn": the same fail ships at once, with a warning in the log and the verdict in the
// job and the manifest (not released: nobody had to).
TEST_F(DaemonIntegration, AFailedQcShipsWithAWarningWhenTheConfigSaysWarn) {
  Appliance a;
  fs::create_directories(a.Path("archive"));
  WriteFile(a.Path("qc.toml"), "[thresholds.q30_percent]\nwarn = 100\nfail = 99.99\n");
  a.WriteConfig("[archive]\nenabled = true\nurl = \"file://" + a.Path("archive") + "\"\n[qc]\non_fail = \"warn\"\n"
                "thresholds = \"" + a.Path("qc.toml") + "\"\n[compress]\ncram_version = \"3.1\"\n");
  auto sample = RealSamples()[0];
  const std::string run_name = "240112_M07001_0018_000000000-AHTEST";
  a.MakeRun(run_name, {sample}, true, true);
  a.Start();
  ASSERT_TRUE(a.Up()) << a.Log();
  ASSERT_TRUE(a.JobsEnded(1, 120))
      << a.Status().dump(2) << a.Log();
  json job = a.Call("jobs")["jobs"][0];
  EXPECT_EQ(job["state"], "done");
  EXPECT_EQ(job["qc_verdict"], "fail");
  EXPECT_TRUE(job["shipped"].get<bool>());
  EXPECT_NE(a.Log().find("): QC verdict fail (q30_percent "), std::string::npos) << a.Log();
  EXPECT_NE(a.Log().find("; ships ([qc] on_fail = \"warn\")"), std::string::npos) << a.Log();
  const std::string manifest_path = a.Path("archive/" + run_name + "/" + sample.id + "/manifest.json");
  auto manifest = ship::ParseManifest(ReadFile(manifest_path), manifest_path);
  ASSERT_TRUE(manifest.ok()) << manifest.status().message();
  EXPECT_EQ(manifest->qc_verdict, "fail");
  EXPECT_FALSE(manifest->qc_released);
  // CRAM 3.1 when the config says so, without htslib 1.16's "still a draft" warning in the log.
  EXPECT_EQ(manifest->cram_version, "3.1");
  EXPECT_EQ(a.Log().find("draft"), std::string::npos) << a.Log();
}

// The stages that decode files from outside run in a child process (stage_process.h): when it
// dies of a signal (what a CRAM that corrupts htslib 1.16's heap does; here on demand, [testing]
// crash_stage_children) only its job fails, with the signal and the file named; the daemon stays
// up. Verify's CRAM is removed to be made again (counted as an attempt); aligned input from the
// drop folder fails at compress at once (the same file would do it again).
TEST_F(DaemonIntegration, AStageProcessThatDiesFailsItsJobNotTheDaemon) {
  Appliance a;
  a.WriteConfig("[testing]\ncrash_stage_children = true\n[retry]\nmax_attempts = 1\n");
  auto sample = RealSamples()[0];
  a.MakeRun("240113_M07001_0019_000000000-AHTEST", {sample}, true, true);
  const std::string bam = a.Path("drop/chrM-bam.bam");
  ASSERT_TRUE(ImportAsBam(sample, bam));
  WriteFile(bam + ".ready", "");
  a.Start();
  ASSERT_TRUE(a.Up()) << a.Log();
  const int64_t pid = a.Status()["pid"];
  ASSERT_TRUE(WaitFor([&] { return a.Status()["jobs"].value("failed", 0) == 2; }, 120)) << a.Status().dump(2) << a.Log();
  json status = a.Status();
  EXPECT_EQ(status["pid"], pid);  // the same daemon, still serving
  EXPECT_EQ(status["state"], "running");
  std::map<std::string, json> by_origin;
  const json jobs = a.Call("jobs");
  for (const auto& j : jobs["jobs"]) by_origin[j["origin"].get<std::string>()] = j;
  ASSERT_EQ(by_origin.size(), 2u) << jobs.dump(2);
  const std::regex verify_died(
      "verify: .*/" + sample.id + R"(\.cram: cannot be decoded \('.*/)" + sample.id +
      R"(\.cram': reading it killed the verify stage's process \(pid [0-9]+\) with signal 11 \(SIGSEGV: Segmentation )"
      R"(fault\): the file is corrupt or hostile \(htslib 1\.16 is not safe on such files, docs/daemon\.md\); cramjetd )"
      R"(and its other jobs are unaffected\); outputs removed, compress again)");
  const std::string run_error = by_origin["run"]["last_error"];
  EXPECT_TRUE(std::regex_match(run_error, verify_died)) << run_error;
  EXPECT_EQ(by_origin["run"]["stage"], "compress");
  const std::regex compress_died("compress: '" + bam + R"(': reading it killed the compress stage's process \(pid [0-9]+\))"
                                 R"( with signal 11 \(SIGSEGV: Segmentation fault\): the file is corrupt or hostile .*)");
  const std::string drop_error = by_origin["drop"]["last_error"];
  EXPECT_TRUE(std::regex_match(drop_error, compress_died)) << drop_error;
  EXPECT_EQ(by_origin["drop"]["attempts"], 1);  // bad input: failed at once
  // `jobs` shows a failed job's error whole when piped, cut to the line on a terminal (120
  // columns here, a pseudo-terminal from script(1)), never wrapped under the columns.
  const std::string sock = "--socket " + ShellQuote(a.socket());
  auto piped = RunCramjet("jobs " + sock);
  EXPECT_NE(piped.out.find(drop_error), std::string::npos) << piped.out;
  auto tty = RunShell("script -qec " + ShellQuote("stty cols 120; " + ShellQuote(std::string(CRAMJET_BINARY_DIR) + "/cramjet") +
                                                  " jobs " + sock) + " /dev/null");
  ASSERT_EQ(tty.exit_code, 0) << tty.err;
  std::istringstream lines(tty.out);
  int cut = 0;
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    EXPECT_LE(line.size(), 120u) << line;
    cut += line.ends_with("...");
  }
  EXPECT_EQ(cut, 2) << tty.out;
  EXPECT_FALSE(fs::exists(a.Path("dropout/chrM-bam.cram")));
  EXPECT_FALSE(fs::exists(a.Path("out/240113_M07001_0019_000000000-AHTEST/" + sample.id + ".cram")));
}

// The real thing: a 726-byte CRAM (the alignment fuzzer's, from the conformance suite) whose 'b'
// feature is longer than its read: htslib 1.16 writes past its sequence buffer, and glibc (or
// ASan) aborts the process that decodes it. That process is the compress stage's, not the
// daemon: the job fails naming the file, the daemon goes on.
TEST_F(DaemonIntegration, AHostileCramThatCorruptsHtslibFailsItsJobNotTheDaemon) {
  Appliance a;
  const std::string ce = a.Path("refs/ce/ce.fa");
  fs::create_directories(a.Path("refs/ce"));
  fs::copy_file(SharedPath("cram-conformance/test/cram/ce.fa"), ce);
  a.WriteConfig("ce = \"" + ce + "\"\n");  // lands in [references]
  std::string config = ReadFile(a.Path("cramjetd.toml"));
  const size_t at = config.find("reference = \"rCRS\"");
  ASSERT_NE(at, std::string::npos);
  config.replace(at, 18, "reference = \"ce\"");
  WriteFile(a.Path("cramjetd.toml"), config);
  const std::string cram = a.Path("drop/hostile.cram");
  fs::copy_file(std::string(CRAMJET_SOURCE_DIR) + "/tests/daemon/data/htslib-1.16-heap-overflow.cram", cram);
  WriteFile(cram + ".ready", "");
  a.Start();
  ASSERT_TRUE(a.Up()) << a.Log();
  const int64_t pid = a.Status()["pid"];
  ASSERT_TRUE(a.JobsEnded(1, 60))
      << a.Log();
  json status = a.Status();
  EXPECT_EQ(status["pid"], pid);
  EXPECT_EQ(status["state"], "running");
  json job = a.Call("jobs")["jobs"][0];
  EXPECT_EQ(job["state"], "failed");
  const std::string error = job["last_error"];
  EXPECT_EQ(error.rfind("compress: '" + cram + "': ", 0), 0u) << error;
  std::printf("the hostile CRAM's job: %s\n", error.c_str());
  EXPECT_FALSE(fs::exists(a.Path("dropout/hostile.cram")));
}

// systemd stops a service by sending SIGTERM to all its processes at once: a stage process must
// not die of it mid-stage (the job would fail as if its file were hostile), but finish, as the
// daemon's own stages do within the grace period.
TEST_F(DaemonIntegration, AStageProcessFinishesItsStageThroughASigterm) {
  TempDir dir;
  auto sample = RealSamples()[0];
  const std::string bam = dir / "in.bam";
  ASSERT_TRUE(ImportAsBam(sample, bam));
  std::filesystem::copy_file(sample.reference, dir / "ref.fa");
  const json request = {{"stage", "compress"},
                        {"options", {{"inputs", {bam}}, {"output", dir / "out.cram"}, {"reference", dir / "ref.fa"},
                                     {"profile", "archive"}, {"threads", 1}}}};
  WriteFile(dir / "request.json", request.dump() + "\n");
  // The child gets SIGTERM 0.3 s in; it must still write its result line and exit 0.
  auto r = RunShell("(" + ShellQuote(CramjetdBinary()) + " --stage-child < " + ShellQuote(dir / "request.json") + " > " +
                    ShellQuote(dir / "reply.txt") + " & child=$!; sleep 0.3; kill -TERM $child; wait $child)");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::string reply = ReadFile(dir / "reply.txt");
  EXPECT_NE(reply.find("{\"result\":"), std::string::npos) << reply;
  EXPECT_TRUE(std::filesystem::exists(dir / "out.cram"));
}

// `systemctl reload` (ExecReload: --check-config, then SIGHUP): the files are read again and what
// can change applies without a restart; what cannot is named and kept; a bad file is refused and
// the running configuration stays. Every case on one running daemon.
TEST_F(DaemonIntegration, ASighupReloadsTheConfigurationAndRefusesABadOne) {
  Appliance a;
  a.WriteConfig();
  a.Start();
  ASSERT_TRUE(a.Up()) << a.Log();
  EXPECT_EQ(a.Status()["min_free_disk_bytes"], 1000000u);
  const std::string config_path = a.Path("cramjetd.toml");
  const std::string original = ReadFile(config_path);
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string text = original;
    const size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return at == std::string::npos ? text : text.replace(at, from.size(), to);
  };
  // A live setting and a restart-only one (the API socket) changed in the file.
  std::string next = replaced("min_free_disk_gb = 0.001\n", "min_free_disk_gb = 0.0015\n");
  const size_t socket_at = next.find(a.socket());
  ASSERT_NE(socket_at, std::string::npos);
  next.replace(socket_at, a.socket().size(), a.Path("other.sock"));
  WriteFile(config_path, next);
  a.Signal(SIGHUP);
  ASSERT_TRUE(WaitFor([&] { return a.Status()["min_free_disk_bytes"] == 1500000u; }, 20)) << a.Log();
  std::string log = a.Log();
  EXPECT_NE(log.find("<6>configuration reloaded from 1 file(s): changed intake.min_free_disk_gb\n"), std::string::npos) << log;
  EXPECT_NE(log.find("<4>reload: api.socket changed in the files but take effect only at a restart (systemctl "
                     "restart cramjetd); the running values stay until then\n"), std::string::npos) << log;
  EXPECT_FALSE(std::filesystem::exists(a.Path("other.sock")));  // still on the old socket, which answers
  // A file that does not parse: refused, named with its line, the running configuration stays.
  WriteFile(config_path, original + "[qc]\non_fail = \"maybe\"\n");
  a.Signal(SIGHUP);
  ASSERT_TRUE(WaitFor([&] { return a.Log().find("reload refused: ") != std::string::npos; }, 20)) << a.Log();
  log = a.Log();
  EXPECT_NE(log.find("<3>reload refused: " + config_path + ": line "), std::string::npos) << log;
  EXPECT_NE(log.find("qc.on_fail must be \"hold\""), std::string::npos) << log;
  EXPECT_NE(log.find("; the running configuration stays\n"), std::string::npos) << log;
  json status = a.Status();
  EXPECT_EQ(status["state"], "running");
  EXPECT_EQ(status["min_free_disk_bytes"], 1500000u);
  EXPECT_NE(status["last_error"]["message"].get<std::string>().find("reload refused: "), std::string::npos) << status.dump();
  // The original file again: the live setting goes back; the socket was never moved.
  WriteFile(config_path, original);
  a.Signal(SIGHUP);
  ASSERT_TRUE(WaitFor([&] { return a.Status()["min_free_disk_bytes"] == 1000000u; }, 20)) << a.Log();
  EXPECT_EQ(a.Stop(SIGTERM), 0) << a.Log();
}

TEST_F(DaemonIntegration, ArchiveKeysAreCheckedAtStart) {
  Appliance a;
  a.WriteConfig("[archive]\nenabled = false\nurl = \"file:///tmp\"\nbogus_key = 1\n");
  auto r = RunShell(ShellQuote(CramjetdBinary()) + " --check-config --config " + ShellQuote(a.Path("cramjetd.toml")));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("<3>configuration refused: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("bogus_key"), std::string::npos) << r.err;
}

// The reliability test of issue 5: SIGKILL the real daemon at seeded random moments across all
// stages, restart each time, and require every sample compressed exactly once, verified, no
// temporary files left and no job lost or duplicated.
//
// With a file:// archive and the delete-inputs clean-up: after every kill, no job's input is gone
// unless that job's CRAM is in the archive and matches; at the end every sample is archived exactly
// once. CRAMJET_CHAOS_KILLS and CRAMJET_CHAOS_SEED make it longer or another draw (bench/chaos.sh
// runs 120 kills with a fresh seed); the suite runs the fixed seed with 24.
int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  const auto parsed = v ? ParseDecimalInt(v) : std::nullopt;
  return parsed ? *parsed : fallback;
}

TEST_F(DaemonIntegration, SurvivesRepeatedSigkillWithoutLossOrDuplicates) {
  const uint32_t seed = static_cast<uint32_t>(EnvInt("CRAMJET_CHAOS_SEED", 20260105));
  const int kills = EnvInt("CRAMJET_CHAOS_KILLS", 24);
  Appliance a;
  fs::create_directories(a.Path("archive"));
  // Slow stages a little so kills land in every stage, not only in compress.
  // The NA12878 slice's reads fail QC (Q30 73%, a lower quartile of Q2): they ship with a
  // warning here (on_fail = "warn"); holding is its own test above.
  a.WriteConfig("[testing]\nstage_delay_ms = 500\n[archive]\nenabled = true\nurl = \"file://" + a.Path("archive") +
                "\"\n[cleanup]\npolicy = \"delete-inputs\"\nretention_hours = 0\n[qc]\non_fail = \"warn\"\n");
  auto samples = RealSamples();
  // When every job is done before the kills are spent, another run folder arrives, so that the
  // remaining kills also hit work.
  std::vector<std::string> run_names;
  auto add_run = [&] {
    run_names.push_back("24010" + std::to_string(run_names.size() + 1) + "_M07001_0014_000000000-AHTEST");
    a.MakeRun(run_names.back(), samples, true, true, "", /*copy_inputs=*/true);  // clean-up deletes them
  };
  // The archived CRAM of a job, when it is there and equal to the local one (by its .md5).
  auto archived_intact = [&](const Job& j) {
    const std::string archived = a.Path("archive/" + j.run_id + "/" + j.sample + "/" + j.sample + ".cram");
    if (!fs::exists(archived) || !fs::exists(j.output + ".md5")) return false;
    return RunShell("md5sum < " + ShellQuote(archived)).out.substr(0, 32) == ReadFile(j.output + ".md5").substr(0, 32);
  };
  add_run();
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> delay(0.2, 4.0);
  std::map<std::string, int> killed_in;  // journal stage of running jobs at each kill
  // Stages every run must see killed, whatever the machine's speed: until one has been hit, the
  // next kill waits for a job running in it (read from the journal, as below) instead of landing
  // at a random moment. The other kills are random.
  const std::vector<std::string> must_hit = {"compress", "verify", "qc", "ship"};
  auto running_in = [&](const std::string& stage) {
    auto journal = Journal::Open(a.Path("state/journal.sqlite"));
    if (!journal.ok()) return false;
    auto running = (*journal)->ListJobs(JobState::kRunning, 0);
    if (!running.ok()) return false;
    for (const auto& j : *running)
      if (StageName(j.stage) == stage) return true;
    return false;
  };
  for (int k = 0; k < kills; ++k) {
    a.Start();
    const auto target = std::find_if(must_hit.begin(), must_hit.end(),
                                     [&](const std::string& st) { return killed_in[st] == 0; });
    if (target != must_hit.end()) {
      const double end = Seconds() + 60;
      while (Seconds() < end && !running_in(*target)) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    } else {
      std::this_thread::sleep_for(std::chrono::duration<double>(delay(rng)));
    }
    int st = a.Stop(SIGKILL);
    ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) << "kill " << k << " status " << st << "\n" << a.Log();
    // What was in flight (read the journal the way the next start will).
    auto journal = Journal::Open(a.Path("state/journal.sqlite"));
    ASSERT_TRUE(journal.ok()) << journal.status().message();
    auto running = (*journal)->ListJobs(JobState::kRunning, 0);
    ASSERT_TRUE(running.ok());
    if (running->empty()) killed_in["(idle or intake)"]++;
    for (const auto& j : *running) killed_in[StageName(j.stage)]++;
    auto all = (*journal)->ListJobs(std::nullopt, 0);
    ASSERT_TRUE(all.ok());
    ASSERT_LE(all->size(), samples.size() * run_names.size()) << "duplicate jobs after kill " << k;
    // Nothing deleted before its archive copy is verified.
    for (const auto& j : *all)
      for (const auto& input : j.inputs)
        if (!fs::exists(input)) {
          EXPECT_TRUE(j.shipped) << "kill " << k << ": " << input << " deleted before job " << j.id << " shipped";
          EXPECT_TRUE(archived_intact(j)) << "kill " << k << ": " << input << " deleted, archive copy not intact";
        }
    size_t done = 0;
    for (const auto& j : *all) done += j.state == JobState::kDone;
    if (done == samples.size() * run_names.size() && k + 1 < kills) add_run();
  }
  std::string summary = "seed " + std::to_string(seed) + "; kills while running stage:";
  for (const auto& [stage, n] : killed_in) summary += " " + stage + "=" + std::to_string(n);
  std::printf("%s\n", summary.c_str());
  int total_kills = 0, stages_hit = 0;
  for (const auto& [stage, n] : killed_in) {
    total_kills += n;
    if (stage != "(idle or intake)") stages_hit++;
  }
  EXPECT_GE(total_kills, kills) << summary;  // every kill was observed
  EXPECT_GE(stages_hit, 3) << summary;  // kills landed in several different stages
  for (const std::string& stage : must_hit) EXPECT_GE(killed_in[stage], 1) << stage << ": " << summary;

  // Final start: everything completes.
  a.Start();
  ASSERT_TRUE(a.Up()) << a.Log();
  ASSERT_TRUE(WaitFor([&] { return a.Status()["jobs"].value("done", 0) == static_cast<int>(samples.size() * run_names.size()); }, 240))
      << a.Status().dump(2) << a.Log();
  json jobs = a.Call("jobs")["jobs"];
  EXPECT_EQ(a.Stop(SIGTERM), 0);
  // Errors the daemon logged on the way (none expected: a kill is not an error to report).
  std::string log = a.Log(), errors;
  for (size_t p = log.find("<3>"); p != std::string::npos; p = log.find("<3>", p + 1))
    errors += log.substr(p, log.find('\n', p) - p) + "\n";
  EXPECT_EQ(errors, "");

  ASSERT_EQ(jobs.size(), samples.size() * run_names.size()) << jobs.dump(2);  // none lost, none duplicated
  std::set<std::string> seen;
  for (const auto& j : jobs) {
    EXPECT_TRUE(seen.insert(j["key"].get<std::string>()).second) << "duplicate job " << j["key"];
    EXPECT_EQ(j["state"], "done") << j.dump(2);
    EXPECT_TRUE(j["extra"]["verify"]["equal"].get<bool>()) << j.dump(2);
    EXPECT_GE(j["compress_count"].get<int>(), 1);
  }
  // Exactly the expected files: one CRAM set per sample and run, no temporaries anywhere.
  std::set<std::string> expected, found;
  for (const auto& run : run_names)
    for (const auto& s : samples)
      for (const char* suffix : {".cram", ".cram.crai", ".cram.md5", ".cram.seqchksum"})
        expected.insert(run + "/" + s.id + suffix);
  for (const auto& e : fs::recursive_directory_iterator(a.Path("out"))) {
    std::string name = e.path().filename().string();
    EXPECT_EQ(name.find(".tmp"), std::string::npos) << "temporary left: " << e.path();
    if (e.is_regular_file()) found.insert(fs::relative(e.path(), a.Path("out")).string());
  }
  for (const auto& name : expected) EXPECT_TRUE(found.count(name)) << "missing " << name;
  for (const auto& name : found) {
    // Besides the CRAM sets only QC files written by compress may be there: never a second CRAM.
    if (expected.count(name)) continue;
    EXPECT_FALSE(name.ends_with(".cram") || name.ends_with(".crai")) << "unexpected " << name;
  }
  // Archived exactly once: one set per sample and run, equal to the local CRAM; inputs cleaned up.
  std::set<std::string> archived;
  for (const auto& e : fs::recursive_directory_iterator(a.Path("archive")))
    if (e.is_regular_file()) archived.insert(fs::relative(e.path(), a.Path("archive")).string());
  for (const auto& run : run_names)
    for (const auto& s : samples) {
      const std::string name = run + "/" + s.id + "/" + s.id + ".cram";
      EXPECT_TRUE(archived.count(name)) << "not archived: " << name;
      EXPECT_TRUE(archived.count(run + "/" + s.id + "/manifest.json")) << "no manifest: " << name;
      EXPECT_EQ(RunShell("md5sum < " + ShellQuote(a.Path("archive/" + name))).out,
                RunShell("md5sum < " + ShellQuote(a.Path("out/" + run + "/" + s.id + ".cram"))).out)
          << name;
    }
  for (const auto& name : archived) {
    EXPECT_EQ(name.find(".tmp"), std::string::npos) << "temporary left in the archive: " << name;
    if (name.ends_with(".cram")) {
      const std::string sample_dir = fs::path(name).parent_path().filename().string();
      EXPECT_EQ(fs::path(name).filename().string(), sample_dir + ".cram") << "a second CRAM in the archive: " << name;
    }
  }
  for (const auto& j : jobs) {
    EXPECT_TRUE(j["shipped"].get<bool>()) << j.dump(2);
    for (const auto& input : j["inputs"]) EXPECT_FALSE(fs::exists(input.get<std::string>())) << "not cleaned up: " << input;
  }
  std::map<std::string, uint64_t> fastq_records;
  for (const auto& s : samples) fastq_records[s.id] = FastqRecords({s.r1, s.r2});
  for (const auto& run : run_names) {
    for (const auto& s : samples) {
      std::string cram = a.Path("out/" + run + "/" + s.id + ".cram");
      EXPECT_EQ(ReadFile(cram + ".md5").substr(0, 32), RunShell("md5sum " + ShellQuote(cram)).out.substr(0, 32)) << cram;
      // Compressed exactly once: every read of the inputs is there once, no more, no less.
      if (cramjet::testing::ToolAvailable("samtools")) {
        auto count = RunShell("samtools view -c " + ShellQuote(cram));
        ASSERT_EQ(count.exit_code, 0) << count.err;
        EXPECT_EQ(std::stoull(count.out), fastq_records[s.id]) << cram;
        auto archived_count = RunShell("samtools view -c " + ShellQuote(a.Path("archive/" + run + "/" + s.id + "/" + s.id + ".cram")));
        ASSERT_EQ(archived_count.exit_code, 0) << archived_count.err;
        EXPECT_EQ(std::stoull(archived_count.out), fastq_records[s.id]) << cram;
      }
    }
  }
  std::printf("%zu run(s), %zu job(s) completed through %d SIGKILLs\n", run_names.size(), jobs.size(), kills);
}

}  // namespace
}  // namespace cramjet::daemon
