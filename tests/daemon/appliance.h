// tests/daemon/appliance.h — what the integration tests of the real cramjetd binary share: a
// temporary appliance (watch root, output root, state folder, socket, config) made from the
// shared real data, HTTP and Prometheus helpers, and the test fixture.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
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


namespace fs = std::filesystem;
using json = nlohmann::json;
using cramjet::testing::ReadFile;
using cramjet::testing::RunCramjet;
using cramjet::testing::RunShell;
using cramjet::testing::ShellQuote;
using cramjet::testing::SharedPath;
using cramjet::testing::TempDir;
using cramjet::testing::WriteFile;

inline std::string CramjetdBinary() { return std::string(CRAMJET_BINARY_DIR) + "/cramjetd"; }

inline double Seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

inline bool WaitFor(const std::function<bool()>& done, double timeout_s) {
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
inline std::vector<RealSample> RealSamples() {
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

// The sample's pairs as an unaligned BAM at `bam` (samtools import): aligned input for a job.
inline bool ImportAsBam(const RealSample& s, const std::string& bam) {
  return RunShell("samtools import -1 " + ShellQuote(s.r1) + " -2 " + ShellQuote(s.r2) + " -o " + ShellQuote(bam) + " 2>&1")
             .exit_code == 0;
}

inline uint64_t FastqRecords(const std::vector<std::string>& files) {
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
  // Sends `sig` and leaves the process running (SIGHUP: a reload).
  void Signal(int sig) const {
    if (pid_ > 0) ::kill(pid_, sig);
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

  // Waits until `n` jobs are done or failed (in all); false on timeout.
  bool JobsEnded(int n, double timeout_s = 120) {
    return WaitFor([&] {
      json s = Status();
      return s["jobs"].value("done", 0) + s["jobs"].value("failed", 0) == n;
    }, timeout_s);
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

inline std::string HttpGet(int port, const std::string& target, int* code) {
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
inline std::string CheckPrometheusText(const std::string& text, std::map<std::string, double>* samples) {
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

}  // namespace cramjet::daemon
