// cramjet/log.h — the one logger of the library, the CLI and the daemon.
//
// Messages go to a single sink (stderr by default). The daemon installs a sink that prefixes
// journald priorities ("<3>"); the CLI keeps the default. Thread-safe.
#pragma once

#include <functional>
#include <sstream>
#include <string>
#include <optional>
#include <string_view>

namespace cramjet {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

using LogSink = std::function<void(LogLevel level, std::string_view message)>;

// Messages below `level` are dropped. Default: kInfo.
void SetLogLevel(LogLevel level);
// "debug" | "info" | "warning" | "error" (the daemon's log_level and --log-level); nullopt otherwise.
std::optional<LogLevel> ParseLogLevel(std::string_view text);
// htslib's own diagnostics, for both programs: off, because cramjet's one-line errors name the
// file and record and htslib's extra lines would break that; warnings when the environment has
// CRAMJET_HTSLIB_LOG=1 (for debugging a file htslib refuses).
void ConfigureHtslibLogging();
LogLevel GetLogLevel();
// Replaces the sink; an empty function restores the default stderr sink ("cramjet: warning: ...").
void SetLogSink(LogSink sink);
// Sink that writes "<N>message" lines to stderr for journald (N = syslog priority).
LogSink JournaldSink();
void Log(LogLevel level, std::string_view message);
// The daemon's: what libraries write to standard error themselves (htslib's perror and
// fprintf lines, raw and multi-line) is read back from a pipe and logged line by line through
// the sink, "stderr: <line>", at the level an htslib "[E::" / "[W::" prefix names (else
// warning); the sink writes to the original standard error. False when the pipe cannot be made
// (standard error is left as it was).
bool CaptureStrayStderr();
// The descriptor log lines are written to: standard error, or after CaptureStrayStderr its saved
// copy (what a child process of the daemon is given as its standard error).
int LogOutputFd();

namespace internal {
class LogLine {
 public:
  explicit LogLine(LogLevel level) : level_(level) {}
  ~LogLine() { Log(level_, stream_.str()); }
  template <typename T>
  LogLine& operator<<(const T& v) {
    stream_ << v;
    return *this;
  }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};
}  // namespace internal
}  // namespace cramjet

// CJ_LOG(kInfo) << "mapped " << n << " reads";
#define CJ_LOG(level)                                                              \
  if (::cramjet::LogLevel::level < ::cramjet::GetLogLevel()) {                     \
  } else                                                                           \
    ::cramjet::internal::LogLine(::cramjet::LogLevel::level)
