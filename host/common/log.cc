#include "cramjet/log.h"

#include <htslib/hts.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstdio>
#include <mutex>

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
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace

void SetLogLevel(LogLevel level) { g_level = static_cast<int>(level); }
LogLevel GetLogLevel() { return static_cast<LogLevel>(g_level.load()); }

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
