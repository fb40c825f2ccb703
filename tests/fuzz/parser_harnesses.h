// tests/fuzz/parser_harnesses.h — one entry per parser of outside input (issue 15): each takes
// arbitrary bytes and must return, never throw, never touch memory it does not own (the ASan
// build runs these), and refuse bad input with a message. Shared by the mutation property test
// (parsers_property_test.cc, in every build) and, with clang, a libFuzzer target.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include <toml++/toml.h>

#include "common/test_util.h"
#include "cramjet/checksum.h"
#include "daemon/api_server.h"
#include "daemon/config.h"
#include "daemon/intake.h"
#include "qc/qc.h"
#include "ship/ship.h"
#include "verify/verify.h"

namespace cramjet::fuzz {

// A folder of this process for the harnesses that need files, on tmpfs where there is one: on
// ext4 each rewrite of a small file is flushed at truncate (auto_da_alloc), which held the FASTQ
// fuzzer to ~1,500 executions a second.
inline const std::string& ScratchDir() {
  static const std::string dir = [] {
    const char* base = std::getenv("CRAMJET_FUZZ_SCRATCH");  // tests/fuzz/run.sh's, removed after
    if (base == nullptr) base = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    std::string d = std::string(base) + "/cramjet-fuzz-" + std::to_string(::getpid());
    ::mkdir(d.c_str(), 0700);
    return d;
  }();
  return dir;
}

// What a harness saw: the parser accepted the input, or refused it with this message.
struct Outcome {
  bool accepted = false;
  std::string refusal;
};

inline Outcome Of(const Status& s) { return s.ok() ? Outcome{true, ""} : Outcome{false, s.message()}; }
template <typename T>
Outcome Of(const StatusOr<T>& s) {
  return s.ok() ? Outcome{true, ""} : Outcome{false, s.status().message()};
}

inline Outcome SampleSheet(std::string_view data) { return Of(daemon::ParseSampleSheet(data, "SampleSheet.csv")); }
inline Outcome RunInfo(std::string_view data) { return Of(daemon::ParseRunInfo(data, "RunInfo.xml")); }
inline Outcome DaemonConfig(std::string_view data) {
  return Of(daemon::ParseConfigText(std::string(data), "cramjetd.toml"));
}
inline Outcome Seqchksum(std::string_view data) { return Of(ReadChecksums::FromText(data, "x.cram.seqchksum")); }
inline Outcome Md5File(std::string_view data) { return Of(ParseMd5File(data, "x.cram.md5")); }

// The [archive] table as `cramjet ship --config` reads it: TOML first (its own parse errors are
// the refusals its callers report), then the sink's keys.
inline Outcome SinkConfig(std::string_view data) {
  toml::table table;
  try {
    table = toml::parse(data, std::string_view("archive.toml"));
  } catch (const toml::parse_error& e) {
    return Outcome{false, std::string(e.description())};
  }
  return Of(ship::ParseSinkConfig(table, "archive.toml"));
}

// QC thresholds come from a file: written to `dir` first.
inline Outcome QcConfig(const std::string& dir, std::string_view data) {
  const std::string path = dir + "/qc.toml";
  testing::WriteFile(path, std::string(data));
  return Of(LoadQcThresholds(path));
}

// The daemon's API on a journal of its own: one request line to one reply line, which must be
// JSON with "ok" (a refusal is ok=false with an error object).
class ApiHarness {
 public:
  explicit ApiHarness(const std::string& dir) {
    auto j = daemon::Journal::Open(dir + "/journal.sqlite");
    if (!j.ok()) return;
    journal_ = std::move(*j);
    context_ = std::make_unique<daemon::DaemonContext>(config_, stages_, *journal_);
    runner_ = std::make_unique<daemon::JobRunner>(*context_);
    intake_ = std::make_unique<daemon::IntakeScanner>(*context_, [] {});
    api_ = std::make_unique<daemon::ApiServer>(*context_, *intake_, *runner_);
  }
  bool ready() const { return api_ != nullptr; }
  Outcome Request(std::string_view line) {
    const std::string reply = api_->HandleLine(line);
    const auto parsed = nlohmann::json::parse(reply, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object() || !parsed.contains("ok") || !parsed["ok"].is_boolean())
      return Outcome{false, "NOT JSON WITH ok: " + reply};
    if (parsed["ok"].get<bool>()) return Outcome{true, ""};
    return Outcome{false, parsed.value("error", nlohmann::json::object()).value("message", std::string())};
  }
  // Keeps the daemon's state from growing without end across many requests.
  void Reset() { context_->paused = context_->draining = false; }

 private:
  daemon::DaemonConfig config_;
  daemon::StageFunctions stages_;
  std::unique_ptr<daemon::Journal> journal_;
  std::unique_ptr<daemon::DaemonContext> context_;
  std::unique_ptr<daemon::JobRunner> runner_;
  std::unique_ptr<daemon::IntakeScanner> intake_;
  std::unique_ptr<daemon::ApiServer> api_;
};

}  // namespace cramjet::fuzz
