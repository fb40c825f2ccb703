// tests/ship/ship_servers.h — real servers on 127.0.0.1 for the ship tests: nginx WebDAV, s3rver
// (S3 API) and the fault-injecting proxy (fault_proxy.py). Each starts in the background, waits
// until its port answers, and is stopped (by its own pid) when the object dies.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/test_util.h"
#include "ship/ship.h"

namespace cramjet::testing {

// Waits until something accepts connections on 127.0.0.1:port.
bool WaitForPort(int port, double seconds);

// A background process (bash -c command) with stdout/stderr in `log_path`.
class BackgroundProcess {
 public:
  BackgroundProcess() = default;
  ~BackgroundProcess() { Stop(); }
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;
  bool Start(const std::string& command, const std::string& log_path);
  // SIGTERM (then SIGKILL after 3 s) to the process group; waits.
  void Stop();
  void Kill();  // SIGKILL at once
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // Waits for exit up to `seconds`; returns the exit status or -1 when still running.
  int Wait(double seconds);

 private:
  pid_t pid_ = -1;
};

// nginx with its dav module serving `root` (WebDAV PUT/DELETE/MKCOL/COPY/MOVE).
class NginxDav {
 public:
  static bool Available();
  // tls: HTTPS with a self-signed certificate for 127.0.0.1 (needs the openssl tool), see cert().
  bool Start(const std::string& work_dir, bool tls = false);
  int port() const { return port_; }
  const std::string& root() const { return root_; }
  std::string url() const { return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_); }
  std::string cert() const { return prefix_ + "/cert.pem"; }
  std::string error_log() const { return prefix_ + "/error.log"; }
  void Stop() { process_.Stop(); }

 private:
  BackgroundProcess process_;
  std::string prefix_, root_;
  int port_ = 0;
  bool tls_ = false;
};

// s3rver (npm, installed under tests/ship/s3rver by scripts/setup-debian.sh) with bucket `archive`.
class S3rver {
 public:
  static std::string Script();  // path of s3rver.js, empty when not installed
  static bool Available();
  bool Start(const std::string& work_dir);
  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Where s3rver keeps the bytes of bucket/key.
  std::string ObjectPath(const std::string& key) const { return data_ + "/archive/" + key + "._S3rver_object"; }
  std::string MetadataPath(const std::string& key) const {
    return data_ + "/archive/" + key + "._S3rver_metadata.json";
  }
  const std::string& data_dir() const { return data_; }
  void Stop() { process_.Stop(); }

 private:
  BackgroundProcess process_;
  std::string data_;
  int port_ = 0;
};

// fault_proxy.py in front of 127.0.0.1:upstream_port; rules as JSON (see the script).
class FaultProxy {
 public:
  bool Start(const std::string& work_dir, int upstream_port, const std::string& s3_secret = "");
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void SetRules(const std::string& json);
  // The request log: one JSON object per line.
  std::vector<std::string> LogLines() const;
  void ClearLog();
  void Stop() { process_.Stop(); }

 private:
  BackgroundProcess process_;
  std::string rules_, log_;
  int port_ = 0;
};

// The shared E. coli CRAM (2 MB) copied into `dir` as <name>.cram with a real .crai (samtools
// index), a .md5, a .seqchksum and a QC file; a request listing them (CRAM first). Empty request
// files when the shared data or samtools is missing (callers skip).
ship::ShipRequest MakeSampleSet(const std::string& dir, const std::string& name);
inline const char* kSampleCram = "ecoli-mg1655-hiseq/E.coli.cram";
// MD5 of a local file (hex), "" when unreadable.
std::string Md5OfFile(const std::string& path);
// Polls the proxy's log until it stops growing (the proxy logs after the reply went out).
std::vector<std::string> SettledLog(const FaultProxy& proxy);
// Files under `dir`, recursively, relative names.
std::vector<std::string> ListTree(const std::string& dir);

}  // namespace cramjet::testing
