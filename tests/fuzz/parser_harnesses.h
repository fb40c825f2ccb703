// tests/fuzz/parser_harnesses.h — one entry per parser of outside input (issue 15): each takes
// arbitrary bytes and must return, never throw, never touch memory it does not own (the ASan
// build runs these), and refuse bad input with a message. Shared by the mutation property test
// (parsers_property_test.cc, in every build) and, with clang, a libFuzzer target.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "common/common.h"
#include "common/test_util.h"
#include "cramjet/checksum.h"
#include "daemon/api_server.h"
#include "daemon/config.h"
#include "daemon/intake.h"
#include "qc/qc.h"
#include "read/read.h"
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
// the refusals its callers report), then the sink's keys. With encrypt = "crypt4gh" the input
// names key files that are opened; that cannot hang: a key file must be a regular file (opened
// O_NONBLOCK, so a FIFO does not wait for a writer, then refused by fstat) and at most 64 KiB are read.
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

// The sinks' handling of what a WebDAV or S3 server answers. The input is a script of replies,
// "====" lines between them; each reply is a status line of digits (anything else: the
// connection failed), header lines, an empty line and a body. The WebDAV and the S3 sink each
// verify, upload (S3: multipart, three parts) and tidy one small file against that script, with
// job state on disk, through PerformHttp's own header and body handling (HttpExchange).
class HttpHarness {
 public:
  explicit HttpHarness(const std::string& dir) : dir_(dir) {
    // 700 bytes: three S3 parts of 256.
    file_.path = dir + "/S1.cram";
    std::string bytes;
    for (int i = 0; i < 700; ++i) bytes += static_cast<char>('A' + i % 26);
    testing::WriteFile(file_.path, bytes);
    file_.size = bytes.size();
    file_.md5 = Md5Hex(bytes);
  }
  const std::string& file_md5() const { return file_.md5; }

  Outcome Replies(std::string_view script) {
    std::vector<std::string_view> blocks;
    for (size_t start = 0;;) {
      const size_t end = script.find("\n====\n", start);
      blocks.push_back(script.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
      if (end == std::string_view::npos) break;
      start = end + 6;
    }
    Outcome outcome{false, ""};  // accepted when any call succeeded; else the last refusal
    for (const char* url : {"http://dav.invalid/archive", "s3://bucket/prefix"}) {
      auto config = ship::SinkConfigFromUrl(url);
      if (!config.ok()) return Of(config);
      config->s3_endpoint = "http://s3.invalid";
      config->credentials.access_key_id = "AKIDFUZZ";
      config->credentials.secret_access_key = "secret";
      config->multipart_threshold = 1;
      config->part_size = 256;
      size_t next = 0;
      config->exchange_for_tests = [&](const ship::internal::HttpRequest&) -> StatusOr<ship::internal::RawHttpReply> {
        if (next >= blocks.size()) return Unavailable("no more replies in the script");
        return Reply(blocks[next++]);
      };
      auto sink = ship::internal::MakeSink(*config);
      if (!sink.ok()) return Of(sink);
      const std::string state_dir = dir_ + "/state";
      std::error_code ignored;
      std::filesystem::remove_all(state_dir, ignored);  // each script starts with no job state
      ::mkdir(state_dir.c_str(), 0700);
      ship::internal::JobState state(state_dir);
      for (const Status& s : {(*sink)->Verify(file_, "R1/S1/S1.cram"), (*sink)->Upload(file_, "R1/S1/S1.cram", state)}) {
        if (!s.ok() && s.message().empty()) return Outcome{false, ""};
        if (s.ok()) outcome = Outcome{true, ""};
        else if (!outcome.accepted) outcome.refusal = s.message();
      }
      (*sink)->Tidy("R1/S1/S1.cram", state);
    }
    return outcome;
  }

 private:
  static StatusOr<ship::internal::RawHttpReply> Reply(std::string_view block) {
    const size_t eol = block.find('\n');
    const std::string_view status_line = block.substr(0, eol);
    const auto status = ParseDecimalInt(status_line);
    if (!status) return Unavailable("connection reset by peer");
    ship::internal::RawHttpReply reply;
    reply.status = *status;
    if (eol == std::string_view::npos) return reply;
    std::string_view rest = block.substr(eol + 1);
    size_t blank = rest.find("\n\n");
    if (blank == std::string_view::npos) {
      reply.header_block = std::string(rest);
      return reply;
    }
    reply.header_block = std::string(rest.substr(0, blank + 1));
    reply.body = std::string(rest.substr(blank + 2));
    return reply;
  }

  std::string dir_;
  ship::internal::LocalFile file_;
};

// SAM, BAM or CRAM bytes through our reader (the conformance suite's ce.fa as the reference):
// every record is read to the end or the file is refused. References are looked up only there
// and in the scratch folder, never fetched from the network (REF_PATH), and no index or cache is
// written next to anything.
class AlignmentHarness {
 public:
  explicit AlignmentHarness(const std::string& dir, std::string reference)
      : path_(dir + "/input"), reference_(std::move(reference)) {
    const std::string ref_path = dir + "/ref/%2s/%2s/%s";
    ::setenv("REF_PATH", ref_path.c_str(), 1);
    ::unsetenv("REF_CACHE");
  }
  Outcome Read(std::string_view data) {
    testing::WriteFile(path_, std::string(data));
    ReadOptions o;
    o.inputs = {path_};
    o.reference = reference_;
    auto src = OpenReads(o);
    if (!src.ok()) return Of(src);
    ReadBatch batch;
    for (;;) {
      auto n = (*src)->NextBatch(batch, 64);
      if (!n.ok()) return Of(n);
      if (*n == 0) return Outcome{true, ""};
    }
  }

 private:
  std::string path_, reference_;
};

inline Outcome Manifest(std::string_view data) { return Of(ship::ParseManifest(data, "manifest.json")); }

}  // namespace cramjet::fuzz
