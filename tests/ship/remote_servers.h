// tests/ship/remote_servers.h — the two servers of the remote ship tests, as the fixture of
// remote_fixture.h uses them: WebDavServer (nginx WebDAV) and S3Server (s3rver), with what the
// tests need to know of each (how to start it, the sink config, where it keeps an object's bytes,
// and the checks where the two differ); and the helpers the tests share.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/test_util.h"
#include "ship/ship.h"
#include "ship_servers.h"

namespace cramjet::ship_test {

using testing::BackgroundProcess;
using testing::CommandResult;
using testing::FaultProxy;
using testing::MakeSampleSet;
using testing::Md5OfFile;
using testing::PathExists;
using testing::ReadFile;
using testing::ShellQuote;
using testing::TempDir;
using testing::WriteFile;
using Log = std::vector<nlohmann::json>;

#define REQUIRE_SAMPLE(req)                                                                  \
  do {                                                                                       \
    CRAMJET_REQUIRE_SHARED_DATA(testing::kSampleCram);                                       \
    if ((req).files.empty()) GTEST_SKIP() << "samtools not available to index the sample"; \
  } while (0)

inline constexpr char kNoRules[] = "{\"rules\": []}";

// The proxy's settled request log, one parsed object per request.
Log ParsedLog(const FaultProxy& proxy);
int CountRequests(const Log& log, const std::string& method, const std::string& target_part);
std::vector<std::string> LocalMd5s(const ship::ShipRequest& r);
std::string Base(const std::string& path);
// Waits until `predicate` holds (polling), up to `seconds`.
bool WaitFor(const std::function<bool()>& predicate, double seconds);
// `text` with every "{s}" replaced by `sample` (proxy rules name the sample's objects).
std::string WithSample(std::string text, const std::string& sample);

// ---- nginx with its dav module ---------------------------------------------------------------------
struct WebDavServer {
  static constexpr char kSamplePrefix[] = "D";  // sample names: D1, D2, ...
  static bool Available() { return testing::NginxDav::Available(); }
  static constexpr char kMissing[] =
      "nginx not installed (scripts/setup-debian.sh installs it): WebDAV tests skipped";
  static constexpr char kProxySecret[] = "";  // no S3 signatures for the proxy to check

  std::string Start(const std::string& dir) {
    work_dir = dir;
    return nginx.Start(dir) ? "" : "nginx did not start: " + ReadFile(nginx.error_log());
  }
  int port() const { return nginx.port(); }
  // The sink config of the tests, for the proxy at `proxy_url` (`dir`: the test's own folder).
  StatusOr<ship::SinkConfig> Config(const TempDir&, const std::string& proxy_url) const {
    auto c = ship::SinkConfigFromUrl(proxy_url + "/archive");
    if (c.ok()) {
      c->retry = {5, 0.05, 0.2};
      c->stall_timeout_s = 1;
      c->connect_timeout_s = 2;
    }
    return c;
  }
  // The same sink at a port where nothing listens.
  StatusOr<ship::SinkConfig> RefusingConfig(const ship::SinkConfig&, int port) const {
    auto c = ship::SinkConfigFromUrl("http://127.0.0.1:" + std::to_string(port) + "/archive");
    if (c.ok()) c->retry = {2, 0.01, 0.02};
    return c;
  }
  // Where the server keeps the bytes of `file` shipped for `r`; and its folder of `r`'s objects.
  std::string Stored(const ship::ShipRequest& r, const std::string& file) const { return Folder(r) + "/" + file; }
  std::string Folder(const ship::ShipRequest& r) const { return nginx.root() + "/archive/" + r.run + "/" + r.sample; }
  // Checks beyond the bytes of one shipped local file: none for WebDAV.
  void ExpectStoredExtras(const ship::ShipRequest&, const std::string&) const {}
  // Checks that the sample's folder holds `count` objects and nothing else.
  void ExpectObjectCount(const ship::ShipRequest& r, size_t count) const {
    EXPECT_EQ(testing::ListTree(Folder(r)).size(), count) << "extra or missing objects";
  }
  // The requests of a first shipment of `r`.
  void ExpectFirstShipment(const Log& log, const ship::ShipRequest& r) const {
    const std::string cram = "/" + r.sample + "/" + r.sample + ".cram";
    EXPECT_EQ(CountRequests(log, "PUT", cram), 4);  // .cram, .cram.crai, .cram.seqchksum, .cram.md5
    EXPECT_EQ(CountRequests(log, "GET", cram), 4);  // each read back in full
    for (const auto& e : log)
      if (e.contains("md5_ok")) {
        EXPECT_TRUE(e["md5_ok"].get<bool>()) << e.dump();
      }
  }
  static constexpr char kServerErrorRules[] =
      R"({"rules": [{"method": "PUT", "path": "/{s}/{s}.cram", "action": "status", "code": 503, "times": 1},
                    {"method": "PUT", "path": "/{s}/{s}.qc.json", "action": "status", "code": 500, "times": 1}]})";
  static void ExpectServerErrorAttempts(int attempts) { EXPECT_EQ(attempts, 3); }

  // `cramjet ship` killed mid-upload: it reaches the sink of Config() through --to.
  std::string CliDestination(const TempDir&, const std::string& proxy_url) const {
    return " --to " + ShellQuote(proxy_url + "/archive");
  }
  // `cramjet accept`'s arguments for the delivered folder of `r` (the folder its manifest is in).
  std::string CliDelivery(const TempDir&, const std::string& proxy_url, const ship::ShipRequest& r) const {
    return ShellQuote(proxy_url + "/archive/" + r.run + "/" + r.sample);
  }
  // 2 MB at 400 kB/s: about 5 s for the CRAM, so the kill lands mid-upload.
  static constexpr char kSlowRules[] = R"({"rules": [], "rate": 400000})";
  // Once nginx has part of the body in its temporary folder.
  bool WaitUntilMidUpload(const ship::ShipRequest&) const {
    const std::string body_tmp = work_dir + "/nginx/tmp/body";
    bool mid_upload = WaitFor([&] { return !testing::ListTree(body_tmp).empty(); }, 10);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    return mid_upload;
  }
  // After the re-run: a WebDAV PUT is whole, there is nothing to resume.
  void ExpectRerunResumed(const Log&, const ship::ShipRequest&, const CommandResult&) const {}

  std::string work_dir;
  testing::NginxDav nginx;
};

// ---- s3rver with bucket `archive`; the sink is s3://archive/cj -------------------------------------
struct S3Server {
  static bool Available() { return testing::S3rver::Available(); }
  static constexpr char kSamplePrefix[] = "T";  // sample names: T1, T2, ...
  static constexpr char kMissing[] =
      "node or tests/ship/s3rver not installed (scripts/setup-debian.sh installs them): S3 tests skipped";
  // s3rver checks the access key id but not SigV4 signatures: the proxy checks those.
  static constexpr char kProxySecret[] = "S3RVER";
  // The [archive] table of the tests: the CRAM (2 MB) goes multipart in 256 KiB parts (8 parts);
  // sidecars go by single PUT.
  static std::string ConfigText(const std::string& endpoint);
  // How many parts the CRAM of `r` takes.
  static int PartCount(const ship::ShipRequest& r);

  std::string Start(const std::string& dir) {
    work_dir = dir;
    if (s3.Start(dir)) return "";
    return "s3rver did not start: " + ReadFile(dir + "/s3rver.log");
  }
  int port() const { return s3.port(); }
  // Also writes the config to dir/cramjetd.toml, for the CLI.
  StatusOr<ship::SinkConfig> Config(const TempDir& dir, const std::string& proxy_url) const;
  StatusOr<ship::SinkConfig> RefusingConfig(const ship::SinkConfig& config, int port) const {
    ship::SinkConfig refused = config;
    refused.retry.max_attempts = 2;
    refused.s3_endpoint = "http://127.0.0.1:" + std::to_string(port);
    return refused;
  }
  std::string Key(const ship::ShipRequest& r, const std::string& file) const {
    return "cj/" + r.run + "/" + r.sample + "/" + file;
  }
  std::string Stored(const ship::ShipRequest& r, const std::string& file) const { return s3.ObjectPath(Key(r, file)); }
  // The object's metadata carries the MD5 of the local file.
  void ExpectStoredExtras(const ship::ShipRequest& r, const std::string& local) const {
    auto meta = nlohmann::json::parse(ReadFile(s3.MetadataPath(Key(r, Base(local)))));
    EXPECT_EQ(meta["x-amz-meta-cramjet-md5"], Md5OfFile(local));
  }
  // Counts the objects; no temporary object may be left.
  void ExpectObjectCount(const ship::ShipRequest& r, size_t count) const;
  void ExpectFirstShipment(const Log& log, const ship::ShipRequest& r) const {
    EXPECT_EQ(CountRequests(log, "PUT", "partNumber="), PartCount(r));
    EXPECT_EQ(CountRequests(log, "POST", "?uploads"), 1);
    EXPECT_EQ(CountRequests(log, "PUT", "cramjet-partial"), 5);  // .crai .seqchksum .md5 .qc.json manifest
    ExpectCleanProtocol(log);
  }
  // Every request signed (SigV4) correctly, and every body sent with a correct Content-MD5.
  void ExpectCleanProtocol(const Log& log) const;
  static constexpr char kServerErrorRules[] =
      R"({"rules": [{"method": "POST", "path": "?uploadId=", "action": "status", "code": 500, "times": 1},
                    {"method": "PUT", "path": "/{s}/{s}.cram.md5", "action": "status", "code": 503, "times": 1},
                    {"method": "HEAD", "path": "/{s}/{s}.qc.json", "action": "status", "code": 503, "times": 1}]})";
  static void ExpectServerErrorAttempts(int attempts) { EXPECT_GE(attempts, 3); }

  // `cramjet ship` killed mid-upload: it reads the config that Config() wrote.
  std::string CliDestination(const TempDir& dir, const std::string&) const {
    return " --config " + ShellQuote(dir / "cramjetd.toml");
  }
  // The delivery's URL; endpoint and credentials from the same [archive] table.
  std::string CliDelivery(const TempDir& dir, const std::string&, const ship::ShipRequest& r) const {
    return ShellQuote("s3://archive/cj/" + r.run + "/" + r.sample) + " --config " + ShellQuote(dir / "cramjetd.toml");
  }
  static constexpr char kSlowRules[] = R"({"rules": [], "rate": 300000})";
  // Once at least two parts are recorded as done in the job's state.
  bool WaitUntilMidUpload(const ship::ShipRequest& r) const;
  // The re-run resumed the multipart upload: the parts already done are not sent again.
  void ExpectRerunResumed(const Log& log, const ship::ShipRequest& r, const CommandResult& rerun) const;
  // Puts `local` under `key` directly (not through the proxy), as another writer would.
  CommandResult PutObject(const std::string& local, const std::string& key) const;

  std::string work_dir;
  testing::S3rver s3;
};

}  // namespace cramjet::ship_test
