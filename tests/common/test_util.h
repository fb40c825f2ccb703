// tests/common/test_util.h — helpers for cramjet tests: the shared real data, temporary folders,
// running the real `cramjet` binary and capturing its output.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace cramjet::testing {

// ../shared/data (or $CRAMJET_SHARED_DATA). Empty when absent.
std::string SharedDataDir();
// Skips the current test with a visible message when the shared data (or `relative` in it) is absent.
#define CRAMJET_REQUIRE_SHARED_DATA(relative)                                                \
  do {                                                                                       \
    if (::cramjet::testing::SharedDataDir().empty() ||                                       \
        !::cramjet::testing::PathExists(::cramjet::testing::SharedDataDir() + "/" + (relative))) \
      GTEST_SKIP() << "shared data not found: " << (relative)                                \
                   << " (expected under ../shared/data; set CRAMJET_SHARED_DATA)";           \
  } while (0)

std::string SharedPath(const std::string& relative);
bool PathExists(const std::string& path);
bool ToolAvailable(const std::string& name);  // on PATH

// A fresh temporary folder removed (recursively) when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
// Runs a shell command line (bash -c), capturing stdout and stderr.
CommandResult RunShell(const std::string& command_line);
// Path of the built `cramjet` binary and a shell-quoted form of a string.
std::string CramjetBinary();
std::string ShellQuote(const std::string& s);
// Runs `cramjet <args>` (args already shell-quoted as needed).
CommandResult RunCramjet(const std::string& args);

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& contents);
// Names of files in `dir` (not recursive, hidden files included).
std::vector<std::string> ListDir(const std::string& dir);

// A loopback TCP port that was free when probed, below Linux's ephemeral range (32768+) so that
// other tests' outgoing connections cannot take it before a server binds it; each call in a
// process probes a different port. 0 if none was free.
int FreeLoopbackPort();

// A CIGAR string ("5M2I3M") as htslib's packed operations, for building test records.
std::vector<uint32_t> CigarOps(const std::string& cigar);

}  // namespace cramjet::testing
