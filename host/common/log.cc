#include "cramjet/log.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <htslib/hts.h>

#include <atomic>
#include <cstdlib>
#include <cstdio>
#include <cerrno>
#include <mutex>
#include <string>
#include <thread>

namespace cramjet {

std::optional<LogLevel> ParseLogLevel(std::string_view text) {
  if (text == "debug") return LogLevel::kDebug;
  if (text == "info") return LogLevel::kInfo;
  if (text == "warning") return LogLevel::kWarning;
  if (text == "error") return LogLevel::kError;
  return std::nullopt;
}

void ConfigureHtslibLogging() {
  const char* asked = std::getenv("CRAMJET_HTSLIB_LOG");
  hts_set_log_level(asked && asked[0] == '1' ? HTS_LOG_WARNING : HTS_LOG_OFF);
}

namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
// Where log lines go: standard error, or the copy of it kept by CaptureStrayStderr.
std::atomic<int> g_output_fd{STDERR_FILENO};
std::mutex g_mutex;
LogSink& SinkSlot() {
  static LogSink sink;
  return sink;
}

const char* LevelWord(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
  }
  return "";
}

void WriteStderr(const std::string& line) {
  // One write() per line so lines from several threads or processes do not interleave.
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(g_output_fd.load(), p, left);
    if (n <= 0) return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace

void SetLogLevel(LogLevel level) { g_level = static_cast<int>(level); }
LogLevel GetLogLevel() { return static_cast<LogLevel>(g_level.load()); }
int LogOutputFd() { return g_output_fd.load(); }

void SetLogSink(LogSink sink) {
  std::lock_guard<std::mutex> lock(g_mutex);
  SinkSlot() = std::move(sink);
}

LogSink JournaldSink() {
  return [](LogLevel level, std::string_view message) {
    // syslog priorities: 3 err, 4 warning, 6 info, 7 debug.
    int priority = level == LogLevel::kError ? 3 : level == LogLevel::kWarning ? 4
                 : level == LogLevel::kInfo ? 6 : 7;
    std::string line = "<" + std::to_string(priority) + ">";
    line.append(message);
    line.push_back('\n');
    WriteStderr(line);
  };
}

namespace {
// A line a library wrote to standard error itself: htslib's "[E::func] ..." / "[W::...]" have
// their level in them; anything else (perror) is a warning.
void LogStrayLine(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  if (line.empty()) return;
  const LogLevel level = line.rfind("[E::", 0) == 0 ? LogLevel::kError
                       : line.rfind("[I::", 0) == 0 || line.rfind("[M::", 0) == 0 ? LogLevel::kInfo
                       : line.rfind("[D::", 0) == 0 ? LogLevel::kDebug
                                                     : LogLevel::kWarning;
  Log(level, "stderr: " + std::string(line.substr(0, 4096)));
}
}  // namespace

bool CaptureStrayStderr() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return false;
  const int saved = ::fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
  if (saved < 0 || ::dup2(fds[1], STDERR_FILENO) < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    if (saved >= 0) ::close(saved);
    return false;
  }
  ::close(fds[1]);
  g_output_fd = saved;
  const int read_end = fds[0];
  // Reads until the process ends (the write end is standard error itself); never joined.
  std::thread([read_end] {
    // Signals are for the threads that handle them (the daemon's main loop waits for SIGTERM).
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    std::string pending;
    char buffer[4096];
    for (;;) {
      const ssize_t n = ::read(read_end, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      pending.append(buffer, static_cast<size_t>(n));
      size_t start = 0;
      for (size_t eol; (eol = pending.find('\n', start)) != std::string::npos; start = eol + 1)
        LogStrayLine(std::string_view(pending).substr(start, eol - start));
      pending.erase(0, start);
      if (pending.size() > 65536) {  // a line without end: logged in pieces
        LogStrayLine(pending);
        pending.clear();
      }
    }
    LogStrayLine(pending);
  }).detach();
  return true;
}

void Log(LogLevel level, std::string_view message) {
  if (static_cast<int>(level) < g_level.load()) return;
  std::lock_guard<std::mutex> lock(g_mutex);
  if (SinkSlot()) {
    SinkSlot()(level, message);
    return;
  }
  std::string line = "cramjet: ";
  line += LevelWord(level);
  line += ": ";
  line.append(message);
  line.push_back('\n');
  WriteStderr(line);
}

}  // namespace cramjet
