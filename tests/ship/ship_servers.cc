#include "ship_servers.h"

#include "verify/verify.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace cramjet::testing {

bool WaitForPort(int port, double seconds) {
  auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

bool BackgroundProcess::Start(const std::string& command, const std::string& log_path) {
  pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid == 0) {
    ::setpgid(0, 0);
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    std::string cmd = "exec " + command;
    ::execl("/bin/bash", "bash", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::setpgid(pid, pid);
  pid_ = pid;
  return true;
}

int BackgroundProcess::Wait(double seconds) {
  if (pid_ <= 0) return -1;
  auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (std::chrono::steady_clock::now() >= until) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void BackgroundProcess::Kill() {
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGKILL);
  Wait(10);
}

void BackgroundProcess::Stop() {
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGTERM);
  if (Wait(3) < 0) Kill();
}

// ---- nginx ----------------------------------------------------------------------------------------
bool NginxDav::Available() { return ToolAvailable("nginx") || PathExists("/usr/sbin/nginx"); }

bool NginxDav::Start(const std::string& work_dir, bool tls) {
  tls_ = tls;
  prefix_ = work_dir + (tls ? "/nginx-tls" : "/nginx");
  root_ = prefix_ + "/dav";
  ::mkdir(prefix_.c_str(), 0755);
  ::mkdir(root_.c_str(), 0755);
  ::mkdir((prefix_ + "/tmp").c_str(), 0755);
  port_ = FreeLoopbackPort();
  if (tls && RunShell("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
                      "-addext subjectAltName=IP:127.0.0.1 -keyout " + ShellQuote(prefix_ + "/key.pem") +
                      " -out " + ShellQuote(cert()))
                 .exit_code != 0)
    return false;
  std::ostringstream conf;
  if (::geteuid() == 0) conf << "user root root;\n";  // workers must write into our temp folder
  conf << "worker_processes 1;\n"
       << "pid " << prefix_ << "/nginx.pid;\n"
       << "error_log " << prefix_ << "/error.log info;\n"
       << "events { worker_connections 64; }\n"
       << "http {\n"
       << "  access_log " << prefix_ << "/access.log;\n"
       // PUT bodies land here first, then are renamed: same file system as the root.
       << "  client_body_temp_path " << prefix_ << "/tmp/body;\n"
       << "  proxy_temp_path " << prefix_ << "/tmp/proxy;\n"
       << "  fastcgi_temp_path " << prefix_ << "/tmp/fastcgi;\n"
       << "  uwsgi_temp_path " << prefix_ << "/tmp/uwsgi;\n"
       << "  scgi_temp_path " << prefix_ << "/tmp/scgi;\n"
       << "  client_max_body_size 0;\n"
       << "  server {\n"
       << "    listen 127.0.0.1:" << port_ << (tls ? " ssl" : "") << ";\n";
  if (tls) conf << "    ssl_certificate " << cert() << ";\n    ssl_certificate_key " << prefix_ << "/key.pem;\n";
  conf

       << "    root " << root_ << ";\n"
       << "    location / {\n"
       << "      dav_methods PUT DELETE MKCOL COPY MOVE;\n"
       << "      create_full_put_path on;\n"
       << "      dav_access user:rw group:r all:r;\n"
       << "    }\n"
       << "  }\n"
       << "}\n";
  WriteFile(prefix_ + "/nginx.conf", conf.str());
  std::string nginx = PathExists("/usr/sbin/nginx") ? "/usr/sbin/nginx" : "nginx";
  if (!process_.Start(nginx + " -p " + ShellQuote(prefix_) + " -e " + ShellQuote(prefix_ + "/error.log") + " -c " +
                          ShellQuote(prefix_ + "/nginx.conf") + " -g 'daemon off;'",
                      prefix_ + "/stdout.log"))
    return false;
  return WaitForPort(port_, 10);
}

// ---- s3rver ---------------------------------------------------------------------------------------
std::string S3rver::Script() {
  std::string p = std::string(CRAMJET_SOURCE_DIR) + "/tests/ship/s3rver/node_modules/s3rver/bin/s3rver.js";
  return PathExists(p) ? p : "";
}

bool S3rver::Available() { return ToolAvailable("node") && !Script().empty(); }

bool S3rver::Start(const std::string& work_dir) {
  data_ = work_dir + "/s3data";
  ::mkdir(data_.c_str(), 0755);
  port_ = FreeLoopbackPort();
  if (!process_.Start("node " + ShellQuote(Script()) + " -d " + ShellQuote(data_) + " -a 127.0.0.1 -p " +
                          std::to_string(port_) + " --silent --no-vhost-buckets --configure-bucket archive",
                      work_dir + "/s3rver.log"))
    return false;
  return WaitForPort(port_, 20);
}

// ---- proxy ----------------------------------------------------------------------------------------
bool FaultProxy::Start(const std::string& work_dir, int upstream_port, const std::string& s3_secret) {
  rules_ = work_dir + "/proxy-rules.json";
  log_ = work_dir + "/proxy-log.jsonl";
  WriteFile(rules_, "{\"rules\": []}\n");
  port_ = FreeLoopbackPort();
  std::string script = std::string(CRAMJET_SOURCE_DIR) + "/tests/ship/fault_proxy.py";
  std::string cmd = "python3 " + ShellQuote(script) + " --listen-port " + std::to_string(port_) +
                    " --upstream-port " + std::to_string(upstream_port) + " --rules " + ShellQuote(rules_) +
                    " --log " + ShellQuote(log_);
  if (!s3_secret.empty()) cmd += " --secret " + ShellQuote(s3_secret);
  if (!process_.Start(cmd, work_dir + "/proxy.out")) return false;
  return WaitForPort(port_, 10);
}

void FaultProxy::SetRules(const std::string& json) {
  // Written whole under a new name and renamed, so the proxy never reads half a file; the sleep
  // makes the mtime differ from the previous version's.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  WriteFile(rules_ + ".new", json);
  ::rename((rules_ + ".new").c_str(), rules_.c_str());
}

std::vector<std::string> FaultProxy::LogLines() const {
  std::vector<std::string> lines;
  std::ifstream in(log_);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) lines.push_back(line);
  return lines;
}

void FaultProxy::ClearLog() { ::truncate(log_.c_str(), 0); }

ship::ShipRequest MakeSampleSet(const std::string& dir, const std::string& name) {
  ship::ShipRequest r;
  r.sample = name;
  r.run = "250101_A00785_0042_BHXXXXXX";
  r.lane = "1";
  r.instrument = "A00785";
  r.state_dir = dir + "/state-" + name;
  std::string cram = dir + "/" + name + ".cram";
  if (SharedDataDir().empty() || !PathExists(SharedPath(kSampleCram)) || !ToolAvailable("samtools")) return r;
  std::filesystem::copy_file(SharedPath(kSampleCram), cram, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::permissions(cram, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  if (RunShell("samtools index " + ShellQuote(cram)).exit_code != 0) return r;
  WriteFile(cram + ".md5", Md5OfFile(cram) + "  " + name + ".cram\n");
  // The real proof sidecar, as compress writes it.
  auto sums = ChecksumAlignmentFile(cram, SharedPath("ecoli-mg1655-hiseq/E.coli.fa"), 1, kProofAuxTags);
  if (!sums.ok()) return r;
  WriteFile(cram + ".seqchksum", sums->ToText(name + ".cram"));
  WriteFile(dir + "/" + name + ".qc.json", "{\"sample\": \"" + name + "\", \"verdict\": \"pass\", \"q30\": 0.91}\n");
  r.files = {cram, cram + ".crai", cram + ".seqchksum", cram + ".md5", dir + "/" + name + ".qc.json"};
  return r;
}

std::string Md5OfFile(const std::string& path) {
  CommandResult r = RunShell("md5sum " + ShellQuote(path));
  if (r.exit_code != 0) return "";
  return r.out.substr(0, 32);
}

std::vector<std::string> SettledLog(const FaultProxy& proxy) {
  size_t last = static_cast<size_t>(-1);
  std::vector<std::string> lines;
  for (int i = 0; i < 50; ++i) {
    lines = proxy.LogLines();
    if (lines.size() == last) break;
    last = lines.size();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return lines;
}

std::vector<std::string> ListTree(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec); !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
    if (it->is_regular_file()) out.push_back(std::filesystem::relative(it->path(), dir).string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace cramjet::testing
