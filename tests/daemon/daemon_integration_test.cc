// Integration tests: the real cramjetd binary against temporary run folders made from the shared
// real data, driven through its socket, the `cramjet` CLI and the metrics endpoint.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/test_util.h"
#include "cramjet/daemon_api.h"
#include "cramjet/qc.h"
#include "daemon/journal.h"

extern char** environ;

namespace cramjet::daemon {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using cramjet::testing::ReadFile;
using cramjet::testing::RunCramjet;
using cramjet::testing::RunShell;
using cramjet::testing::ShellQuote;
using cramjet::testing::SharedPath;
using cramjet::testing::TempDir;
using cramjet::testing::WriteFile;

std::string CramjetdBinary() { return std::string(CRAMJET_BINARY_DIR) + "/cramjetd"; }

double Seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

bool WaitFor(const std::function<bool()>& done, double timeout_s) {
  double end = Seconds() + timeout_s;
  while (Seconds() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

// One real sample from the shared data: paired FASTQs and their reference.
struct RealSample {
  std::string id, reference_name, r1, r2, reference;
};
std::vector<RealSample> RealSamples() {
  return {
      {"chrM-ERR2438055", "rCRS", SharedPath("human-chrM-paired-binned/fastq/micro_R1.fq.gz"),
       SharedPath("human-chrM-paired-binned/fastq/micro_R2.fq.gz"), SharedPath("human-chrM-paired-binned/chrM_NC_012920.1.fa")},
      {"NA12878-20-21", "b37-20-21", SharedPath("human-na12878-chr20-21-paired/NA12878_20_21_R1.fastq.gz"),
       SharedPath("human-na12878-chr20-21-paired/NA12878_20_21_R2.fastq.gz"),
       SharedPath("human-na12878-chr20-21-paired/human_g1k_v37.20.21.10M-10M200k.fasta")},
      {"Ecoli-GA2", "mg1655-10k", SharedPath("ecoli-10k-paired/reads1.fastq.gz"), SharedPath("ecoli-10k-paired/reads2.fastq.gz"),
       SharedPath("ecoli-10k-paired/reference_MG1655_first10k.fasta")},
  };
}

uint64_t FastqRecords(const std::vector<std::string>& files) {
  uint64_t n = 0;
  for (const auto& f : files) n += std::stoull(RunShell("zcat " + ShellQuote(f) + " | wc -l").out) / 4;
  return n;
}

// A temporary appliance: watch root, output root, state folder, socket, config.
class Appliance {
 public:
  Appliance() {
    for (const char* d : {"runs", "out", "state", "drop", "dropout"}) fs::create_directories(dir_ / d);
    socket_ = dir_ / "api.sock";
  }
  ~Appliance() { Stop(SIGKILL); }

  std::string Path(const std::string& rel) const { return dir_ / rel; }
  const std::string& socket() const { return socket_; }
  int metrics_port() const { return metrics_port_; }
  // Only tests that read the endpoints listen on a port: tests run in parallel, and every extra
  // listener is one more chance of a collision.
  void EnableMetrics() { metrics_port_ = testing::FreeLoopbackPort(); }

  void WriteConfig(const std::string& extra = "") {
    std::string refs;
    // Copies: the daemon builds the mapper index beside each reference, never in the shared data.
    for (const auto& s : RealSamples()) {
      fs::path copy = fs::path(Path("refs")) / s.reference_name / fs::path(s.reference).filename();
      if (!fs::exists(copy)) {
        fs::create_directories(copy.parent_path());
        fs::copy_file(s.reference, copy);
      }
      refs += s.reference_name + " = \"" + copy.string() + "\"\n";
    }
    WriteFile(dir_ / "cramjetd.toml",
              "# written by the test\n[daemon]\nstate_dir = \"" + Path("state") + "\"\nshutdown_grace_s = 60\n"
              "[api]\nsocket = \"" + socket_ + "\"\n" +
              (metrics_port_ ? "[metrics]\nlisten = \"127.0.0.1:" + std::to_string(metrics_port_) + "\"\n"
                             : std::string()) +
              "[[watch]]\npath = \"" + Path("runs") + "\"\noutput = \"" + Path("out") + "\"\n"
              "[drop]\npath = \"" + Path("drop") + "\"\noutput = \"" + Path("dropout") + "\"\nreference = \"rCRS\"\n"
              "settle_seconds = 3600\n"
              "[intake]\nrescan_interval_s = 2\nmin_free_disk_gb = 0.001\nresume_free_disk_gb = 0.002\n"
              "[workers]\nmax_jobs = 2\nthreads_per_job = 1\n"
              "[references]\n" + refs + extra);
  }

  // Lays out an Illumina run folder with the given samples (one per sheet row).
  std::string MakeRun(const std::string& name, const std::vector<RealSample>& samples, bool rta, bool copy,
                      const std::string& sheet_override = "", bool copy_inputs = false) {
    std::string run = Path("runs/") + name;
    fs::create_directories(run + "/Data/Intensities/BaseCalls");
    fs::create_directories(run + "/Analysis/1/Data/fastq");
    std::string sheet = "[Header]\nIEMFileVersion,4\nExperiment Name,test\n\n[Reads]\n151\n151\n\n[Data]\n"
                        "Lane,Sample_ID,Sample_Name,Sample_Project,Reference\n";
    int n = 1;
    for (const auto& s : samples) {
      sheet += "1," + s.id + ",," + "proj," + s.reference_name + "\n";
      // Three layouts seen in real runs: lane-split MiSeq BaseCalls, no lane splitting, onboard Analysis/.
      std::string dir = n == 2 ? run + "/Analysis/1/Data/fastq/" : run + "/Data/Intensities/BaseCalls/";
      std::string lane = n == 3 ? "" : "_L001";
      std::string base = s.id + "_S" + std::to_string(n) + lane;
      if (copy_inputs) {  // the clean-up test deletes inputs: never links to the shared data
        fs::copy_file(s.r1, dir + base + "_R1_001.fastq.gz");
        fs::copy_file(s.r2, dir + base + "_R2_001.fastq.gz");
      } else {
        fs::create_symlink(s.r1, dir + base + "_R1_001.fastq.gz");
        fs::create_symlink(s.r2, dir + base + "_R2_001.fastq.gz");
      }
      ++n;
    }
    WriteFile(run + "/SampleSheet.csv", sheet_override.empty() ? sheet : sheet_override);
    WriteFile(run + "/RunInfo.xml",
              "<?xml version=\"1.0\"?>\n<RunInfo Version=\"2\"><Run Id=\"" + name + "\" Number=\"7\"><Flowcell>AHTEST</Flowcell>"
              "<Instrument>M07001</Instrument><Reads><Read Number=\"1\" NumCycles=\"151\" IsIndexedRead=\"N\"/>"
              "<Read Number=\"2\" NumCycles=\"151\" IsIndexedRead=\"N\"/></Reads><FlowcellLayout LaneCount=\"1\"/></Run></RunInfo>\n");
    if (rta) WriteFile(run + "/RTAComplete.txt", "");
    if (copy) WriteFile(run + "/CopyComplete.txt", "");
    return run;
  }

  void Start(const std::vector<std::string>& extra_env = {}) {
    ASSERT_EQ(pid_, -1);
    std::vector<std::string> env_strings(extra_env);
    for (char** e = environ; *e; ++e)
      if (std::string(*e).rfind("NOTIFY_SOCKET=", 0) != 0 && std::string(*e).rfind("WATCHDOG_", 0) != 0)
        env_strings.push_back(*e);
    std::vector<char*> env;
    for (auto& e : env_strings) env.push_back(e.data());
    env.push_back(nullptr);
    std::string log = Path("cramjetd.log");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    std::string bin = CramjetdBinary(), config = Path("cramjetd.toml");
    std::vector<char*> argv{bin.data(), const_cast<char*>("--config"), config.data(), nullptr};
    ASSERT_EQ(posix_spawn(&pid_, bin.c_str(), &fa, nullptr, argv.data(), env.data()), 0);
    posix_spawn_file_actions_destroy(&fa);
  }
  bool Up(double timeout_s = 20) {
    return WaitFor([&] { return CallDaemon(socket_, "status").ok(); }, timeout_s);
  }
  // Sends `sig` and reaps the process; returns its wait status (or -1 when not running).
  int Stop(int sig, double timeout_s = 90) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, sig);
    int status = -1;
    double end = Seconds() + timeout_s;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (Seconds() > end) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid_ = -1;
    return status;
  }
  // Waits for the process to exit by itself.
  int WaitExit(double timeout_s) {
    int status = -1;
    double end = Seconds() + timeout_s;
    while (pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == 0) {
      if (Seconds() > end) return -2;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid_ = -1;
    return status;
  }

  json Status() {
    auto r = CallDaemon(socket_, "status");
    // Not reachable (yet): an empty status, so that waits simply keep waiting.
    return r.ok() ? json::parse(*r)
                  : json{{"jobs", json::object()}, {"running", json::array()}, {"waiting_runs", json::array()},
                         {"rejected", json::array()}, {"state", "unreachable"}};
  }
  json Call(const std::string& method, const json& params = json::object()) {
    auto r = CallDaemon(socket_, method, params.dump());
    return r.ok() ? json::parse(*r) : json{{"error", r.status().message()}};
  }
  std::string Log() { return ReadFile(Path("cramjetd.log")); }

 private:
  TempDir dir_;
  std::string socket_;
  int metrics_port_ = 0;
  pid_t pid_ = -1;
};

std::string HttpGet(int port, const std::string& target, int* code) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  *code = 0;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return "";
  }
  std::string req = "GET " + target + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
  (void)!::write(fd, req.data(), req.size());
  std::string resp;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) resp.append(buf, n);
  ::close(fd);
  if (resp.size() > 12) *code = std::atoi(resp.substr(9, 3).c_str());
  size_t body = resp.find("\r\n\r\n");
  return body == std::string::npos ? "" : resp.substr(body + 4);
}

// A strict parser of the Prometheus text format 0.0.4: returns "" when `text` is valid and follows
// the project's naming rules, else the first problem.
std::string CheckPrometheusText(const std::string& text, std::map<std::string, double>* samples) {
  static const std::regex help_re(R"re(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$)re");
  static const std::regex type_re(R"re(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)re");
  static const std::regex sample_re(R"re(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? ([^ ]+)( -?[0-9]+)?$)re");
  static const std::regex label_re(R"re(^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$))re");
  std::map<std::string, std::string> types;
  std::set<std::string> finished;  // families whose samples are over (must be contiguous)
  std::string current;
  if (text.empty() || text.back() != '\n') return "text must end with a newline";
  size_t pos = 0;
  int line_no = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    std::string where = "line " + std::to_string(line_no) + ": ";
    std::smatch m;
    if (line.rfind("# HELP ", 0) == 0) {
      if (!std::regex_match(line, m, help_re)) return where + "bad HELP";
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      if (!std::regex_match(line, m, type_re)) return where + "bad TYPE";
      std::string name = m[1];
      if (types.count(name)) return where + "second TYPE for " + name;
      types[name] = m[2];
      if (!current.empty()) finished.insert(current);
      current = name;
      continue;
    }
    if (line.empty() || line[0] == '#') return where + "unexpected comment or empty line";
    if (!std::regex_match(line, m, sample_re)) return where + "bad sample line '" + line + "'";
    std::string name = m[1];
    if (name.rfind("cramjet_", 0) != 0) return where + name + " lacks the cramjet_ prefix";
    if (!types.count(name)) return where + name + " has no TYPE before it";
    if (name != current || finished.count(name)) return where + name + " samples are not contiguous";
    if (types[name] == "counter" && !name.ends_with("_total")) return where + "counter " + name + " must end in _total";
    std::string labels = m[3];
    std::string key = name + "{";
    while (!labels.empty()) {
      std::smatch lm;
      if (!std::regex_search(labels, lm, label_re)) return where + "bad labels '" + std::string(m[3]) + "'";
      if (lm[1] == "sample") return where + "sample names must not be labels";
      key += lm[1].str() + "=" + lm[2].str() + ",";
      labels = lm.suffix();
    }
    key += "}";
    std::string value = m[4];
    char* end = nullptr;
    double v = std::strtod(value.c_str(), &end);
    if (value != "NaN" && value != "+Inf" && value != "-Inf" && (end == value.c_str() || *end))
      return where + "bad value '" + value + "'";
    (*samples)[key] = v;
  }
  return "";
}

class DaemonIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    CRAMJET_REQUIRE_SHARED_DATA("human-chrM-paired-binned/fastq/micro_R1.fq.gz");
    CRAMJET_REQUIRE_SHARED_DATA("ecoli-10k-paired/reads1.fastq.gz");
    CRAMJET_REQUIRE_SHARED_DATA("human-na12878-chr20-21-paired/NA12878_20_21_R1.fastq.gz");
    ASSERT_TRUE(fs::exists(CramjetdBinary())) << CramjetdBinary();
  }
};

TEST_F(DaemonIntegration, RunFolderProcessedEndToEnd) {
  Appliance a;
  a.WriteConfig();
  a.Start();
  ASSERT_TRUE(a.Up()) << a.Log();
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
  // retry is only for failed jobs; unknown ids say so.
  auto retry = RunCramjet("retry " + sock + " 1");
  EXPECT_EQ(retry.exit_code, 1);
  EXPECT_EQ(retry.err, "cramjet retry: error: job 1 is done; only failed or waiting jobs are retried\n");
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
  ASSERT_TRUE(WaitFor([&] {
    json s = a.Status();
    return s["jobs"].value("done", 0) + s["jobs"].value("failed", 0) == 1;
  }, 120)) << a.Status().dump(2) << a.Log();
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
TEST_F(DaemonIntegration, SurvivesRepeatedSigkillWithoutLossOrDuplicates) {
  const uint32_t seed = 20260105;
  const int kills = 24;
  Appliance a;
  // Slow stages a little so kills land in every stage, not only in compress.
  a.WriteConfig("[testing]\nstage_delay_ms = 500\n");
  auto samples = RealSamples();
  // When every job is done before the kills are spent, another run folder arrives, so that the
  // remaining kills also hit work.
  std::vector<std::string> run_names;
  auto add_run = [&] {
    run_names.push_back("24010" + std::to_string(run_names.size() + 1) + "_M07001_0014_000000000-AHTEST");
    a.MakeRun(run_names.back(), samples, true, true);
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
      }
    }
  }
  std::printf("%zu run(s), %zu job(s) completed through %d SIGKILLs\n", run_names.size(), jobs.size(), kills);
}

}  // namespace
}  // namespace cramjet::daemon
