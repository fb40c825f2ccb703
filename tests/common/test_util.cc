#include "common/test_util.h"

#include <htslib/sam.h>

#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace cramjet::testing {

std::string SharedDataDir() {
  const char* env = std::getenv("CRAMJET_SHARED_DATA");
  std::string dir = env && *env ? env : CRAMJET_SHARED_DATA_DEFAULT;
  return PathExists(dir) ? dir : std::string();
}

std::string SharedPath(const std::string& relative) { return SharedDataDir() + "/" + relative; }

bool PathExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

bool ToolAvailable(const std::string& name) {
  return RunShell("command -v " + ShellQuote(name) + " >/dev/null 2>&1").exit_code == 0;
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/cramjet-test-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) std::abort();
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  // Make read-only folders removable again (tests of unwritable outputs chmod them).
  for (auto it = std::filesystem::recursive_directory_iterator(path_, ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec)) ::chmod(it->path().c_str(), 0755);
  }
  ::chmod(path_.c_str(), 0755);
  std::filesystem::remove_all(path_, ec);
}

static std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CommandResult RunShell(const std::string& command_line) {
  TempDir scratch;
  std::string out = scratch / "out", err = scratch / "err";
  std::string cmd = "bash -c " + ShellQuote(command_line) + " >" + ShellQuote(out) + " 2>" +
                    ShellQuote(err) + " </dev/null";
  int rc = std::system(cmd.c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
  r.out = Slurp(out);
  r.err = Slurp(err);
  return r;
}

std::string CramjetBinary() { return std::string(CRAMJET_BINARY_DIR) + "/cramjet"; }

std::string ShellQuote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') q += "'\\''";
    else q += c;
  }
  return q + "'";
}

CommandResult RunCramjet(const std::string& args) {
  return RunShell(ShellQuote(CramjetBinary()) + " " + args);
}

std::string ReadFile(const std::string& path) { return Slurp(path); }

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary);
  out << contents;
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    ::closedir(d);
  }
  return names;
}

int FreeLoopbackPort() {
  static int calls = 0;
  constexpr int kFirst = 20000, kCount = 12000;
  for (int i = 0; i < kCount; ++i) {
    // Start apart per process so parallel tests rarely probe the same ports.
    int port = kFirst + (::getpid() * 7 + (calls++) * 131) % kCount;
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (free) return port;
  }
  return 0;
}

std::vector<uint32_t> CigarOps(const std::string& cigar) {
  std::vector<uint32_t> ops;
  if (cigar.empty()) return ops;
  char* end = nullptr;
  uint32_t* buf = nullptr;
  size_t m = 0;
  const ssize_t n = sam_parse_cigar(cigar.c_str(), &end, &buf, &m);
  EXPECT_GT(n, 0) << "bad CIGAR in a test: " << cigar;
  if (n > 0) ops.assign(buf, buf + n);
  free(buf);
  return ops;
}

}  // namespace cramjet::testing
