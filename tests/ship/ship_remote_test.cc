// Ship stage against real servers on 127.0.0.1: nginx WebDAV and s3rver (S3 API), each behind the
// fault-injecting proxy (fault_proxy.py). Every case ends with the sample shipped exactly once, or
// failed and retryable with nothing partial under a final name and the local files intact.
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/test_util.h"
#include "ship/ship.h"
#include "ship_servers.h"

namespace cramjet {
namespace {

using testing::BackgroundProcess;
using testing::FaultProxy;
using testing::MakeSampleSet;
using testing::Md5OfFile;
using testing::ReadFile;
using testing::ShellQuote;
using testing::TempDir;
using testing::WriteFile;

#define REQUIRE_SAMPLE(req)                                                                  \
  do {                                                                                       \
    CRAMJET_REQUIRE_SHARED_DATA(testing::kSampleCram);                                       \
    if ((req).files.empty()) GTEST_SKIP() << "samtools not available to index the sample"; \
  } while (0)

std::vector<nlohmann::json> ParsedLog(const FaultProxy& proxy) {
  std::vector<nlohmann::json> out;
  for (const auto& line : testing::SettledLog(proxy)) out.push_back(nlohmann::json::parse(line));
  return out;
}

int CountRequests(const std::vector<nlohmann::json>& log, const std::string& method, const std::string& target_part) {
  int n = 0;
  for (const auto& e : log)
    if (e["method"] == method && e["target"].get<std::string>().find(target_part) != std::string::npos) ++n;
  return n;
}

std::vector<std::string> LocalMd5s(const ship::ShipRequest& r) {
  std::vector<std::string> out;
  for (const auto& f : r.files) out.push_back(Md5OfFile(f));
  return out;
}

std::string Base(const std::string& path) { return std::filesystem::path(path).filename().string(); }

// Waits until `predicate` holds (polling), up to `seconds`.
template <typename F>
bool WaitFor(F predicate, double seconds) {
  auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
    if (predicate()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return predicate();
}

// ==== WebDAV (nginx) ==================================================================================
class WebDavTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!testing::NginxDav::Available()) return;
    work_ = new TempDir();
    nginx_ = new testing::NginxDav();
    proxy_ = new FaultProxy();
    if (!nginx_->Start(work_->path())) {
      start_error_ = "nginx did not start: " + ReadFile(nginx_->error_log());
      return;
    }
    if (!proxy_->Start(work_->path(), nginx_->port())) start_error_ = "fault proxy did not start";
  }
  static void TearDownTestSuite() {
    delete proxy_;
    delete nginx_;
    delete work_;
    proxy_ = nullptr;
    nginx_ = nullptr;
    work_ = nullptr;
  }
  void SetUp() override {
    if (!nginx_) GTEST_SKIP() << "nginx not installed (scripts/setup-debian.sh installs it): WebDAV tests skipped";
    ASSERT_TRUE(start_error_.empty()) << start_error_;
    proxy_->SetRules("{\"rules\": []}");
    proxy_->ClearLog();
    auto c = ship::SinkConfigFromUrl(proxy_->url() + "/archive");
    ASSERT_TRUE(c.ok());
    config_ = *c;
    config_.retry = {5, 0.05, 0.2};
    config_.stall_timeout_s = 1;
    config_.connect_timeout_s = 2;
  }
  std::string Remote(const ship::ShipRequest& r, const std::string& file) const {
    return nginx_->root() + "/archive/" + r.run + "/" + r.sample + "/" + file;
  }
  void ExpectShippedOnce(const ship::ShipRequest& r) {
    for (const auto& f : r.files) EXPECT_EQ(ReadFile(Remote(r, Base(f))), ReadFile(f)) << f;
    EXPECT_TRUE(testing::PathExists(Remote(r, "manifest.json")));
    auto listed = testing::ListTree(nginx_->root() + "/archive/" + r.run + "/" + r.sample);
    EXPECT_EQ(listed.size(), r.files.size() + 1) << "extra or missing objects";
  }

  static TempDir* work_;
  static testing::NginxDav* nginx_;
  static FaultProxy* proxy_;
  static std::string start_error_;
  TempDir dir_;
  ship::SinkConfig config_;
};
TempDir* WebDavTest::work_ = nullptr;
testing::NginxDav* WebDavTest::nginx_ = nullptr;
FaultProxy* WebDavTest::proxy_ = nullptr;
std::string WebDavTest::start_error_;

TEST_F(WebDavTest, ShipsVerifiedByteForByteAndOnlyOnce) {
  auto req = MakeSampleSet(dir_.path(), "D1");
  REQUIRE_SAMPLE(req);
  auto before = LocalMd5s(req);
  auto result = ship::ShipSample(config_, req);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->attempts, 1);
  ExpectShippedOnce(req);
  EXPECT_EQ(LocalMd5s(req), before);
  auto log = ParsedLog(*proxy_);
  EXPECT_EQ(CountRequests(log, "PUT", "/D1/D1.cram"), 4);   // .cram, .cram.crai, .cram.seqchksum, .cram.md5
  EXPECT_EQ(CountRequests(log, "GET", "/D1/D1.cram"), 4);   // each read back in full
  for (const auto& e : log)
    if (e.contains("md5_ok")) {
      EXPECT_TRUE(e["md5_ok"].get<bool>()) << e.dump();
    }
  // Again: nothing is sent twice.
  proxy_->ClearLog();
  auto again = ship::ShipSample(config_, req);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->uploaded, 0);
  EXPECT_EQ(CountRequests(ParsedLog(*proxy_), "PUT", "/D1/"), 0);
  EXPECT_TRUE(ship::VerifyShipped(config_, *again).ok());
}

TEST_F(WebDavTest, ServerErrorsAreRetriedWithBackoff) {
  auto req = MakeSampleSet(dir_.path(), "D2");
  REQUIRE_SAMPLE(req);
  proxy_->SetRules(R"({"rules": [{"method": "PUT", "path": "/D2/D2.cram", "action": "status", "code": 503, "times": 1},
                                  {"method": "PUT", "path": "/D2/D2.qc.json", "action": "status", "code": 500, "times": 1}]})");
  auto result = ship::ShipSample(config_, req);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->attempts, 3);
  ExpectShippedOnce(req);
}

TEST_F(WebDavTest, AttemptLimitGivesRetryableFailureThenRetrySucceeds) {
  auto req = MakeSampleSet(dir_.path(), "D3");
  REQUIRE_SAMPLE(req);
  proxy_->SetRules(R"({"rules": [{"method": "PUT", "path": "/D3/D3.cram", "action": "status", "code": 503}]})");
  config_.retry.max_attempts = 2;
  auto failed = ship::ShipSample(config_, req);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(failed.status().message().find("gave up after 2 attempts"), std::string::npos) << failed.status().message();
  EXPECT_NE(failed.status().message().find("HTTP 503"), std::string::npos) << failed.status().message();
  EXPECT_FALSE(testing::PathExists(Remote(req, "D3.cram")));
  EXPECT_FALSE(testing::PathExists(Remote(req, "manifest.json")));
  proxy_->SetRules("{\"rules\": []}");
  auto retried = ship::ShipSample(config_, req);
  ASSERT_TRUE(retried.ok()) << retried.status().message();
  ExpectShippedOnce(req);
}

TEST_F(WebDavTest, ConnectionCutMidUploadLeavesNothingUnderTheFinalName) {
  auto req = MakeSampleSet(dir_.path(), "D4");
  REQUIRE_SAMPLE(req);
  proxy_->SetRules(R"({"rules": [{"method": "PUT", "path": "/D4/D4.cram", "action": "cut", "after": 700000}]})");
  config_.retry.max_attempts = 1;
  auto cut = ship::ShipSample(config_, req);
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.status().code(), StatusCode::kUnavailable) << cut.status().message();
  auto log = ParsedLog(*proxy_);
  ASSERT_EQ(CountRequests(log, "PUT", "/D4/D4.cram"), 1);
  int cut_entries = 0;
  for (const auto& e : log)
    if (e.contains("cut_at")) {
      ++cut_entries;
      EXPECT_EQ(e["cut_at"].get<int>(), 700000);
    }
  EXPECT_EQ(cut_entries, 1);
  // nginx wrote the partial body to its temporary file only: nothing under the final name.
  EXPECT_FALSE(testing::PathExists(Remote(req, "D4.cram")));
  EXPECT_TRUE(testing::ListTree(nginx_->root() + "/archive/" + req.run + "/D4").empty());
  proxy_->SetRules("{\"rules\": []}");
  config_.retry.max_attempts = 3;
  auto resumed = ship::ShipSample(config_, req);
  ASSERT_TRUE(resumed.ok()) << resumed.status().message();
  ExpectShippedOnce(req);
}

TEST_F(WebDavTest, StalledServerTimesOutAndIsRetried) {
  auto req = MakeSampleSet(dir_.path(), "D5");
  REQUIRE_SAMPLE(req);
  proxy_->SetRules(R"({"rules": [{"method": "PUT", "path": "/D5/D5.cram.md5", "action": "stall", "times": 1}]})");
  auto start = std::chrono::steady_clock::now();
  auto result = ship::ShipSample(config_, req);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->attempts, 2);
  EXPECT_LT(seconds, 20) << "stall detection should fire after ~stall_timeout_s";
  ExpectShippedOnce(req);
}

// A server whose HEAD answers a Content-Length that is not a number (or does not fit 64 bits)
// fails the shipment with the value named; nothing throws inside the shipping thread.
TEST_F(WebDavTest, ANonsenseContentLengthFailsTheShipmentNotTheProcess) {
  auto req = MakeSampleSet(dir_.path(), "D8");
  REQUIRE_SAMPLE(req);
  config_.retry.max_attempts = 1;
  for (const char* value : {"99999999999999999999999", "12abc", "-5"}) {
    proxy_->SetRules(std::string(R"({"rules": [{"method": "HEAD", "path": "D8.cram", "action": "length", "value": ")") +
                     value + "\"}]}");
    auto failed = ship::ShipSample(config_, req);
    ASSERT_FALSE(failed.ok()) << value;
    // libcurl refuses a negative length itself; the others reach cramjet's check.
    const std::string said = value[0] == '-' ? std::string("Invalid Content-Length")
                                             : std::string("has '") + value + "' bytes, expected ";
    EXPECT_NE(failed.status().message().find(said), std::string::npos) << failed.status().message();
    EXPECT_FALSE(testing::PathExists(Remote(req, "manifest.json")));
  }
  proxy_->SetRules("{\"rules\": []}");
  auto shipped = ship::ShipSample(config_, req);
  ASSERT_TRUE(shipped.ok()) << shipped.status().message();
  ExpectShippedOnce(req);
}

TEST_F(WebDavTest, RefusedConnectionIsRetryable) {
  auto req = MakeSampleSet(dir_.path(), "D6");
  REQUIRE_SAMPLE(req);
  auto c = ship::SinkConfigFromUrl("http://127.0.0.1:" + std::to_string(testing::FreeLoopbackPort()) + "/archive");
  ASSERT_TRUE(c.ok());
  c->retry = {2, 0.01, 0.02};
  auto result = ship::ShipSample(*c, req);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kUnavailable) << result.status().message();
}

TEST_F(WebDavTest, CliKilledMidUploadThenRerunShipsExactlyOnce) {
  auto req = MakeSampleSet(dir_.path(), "D7");
  REQUIRE_SAMPLE(req);
  auto before = LocalMd5s(req);
  // 2 MB at 400 kB/s: about 5 s for the CRAM, so the kill lands mid-upload.
  proxy_->SetRules(R"({"rules": [], "rate": 400000})");
  std::string args = " ship --to " + ShellQuote(proxy_->url() + "/archive") + " --run " + ShellQuote(req.run) +
                     " --state-dir " + ShellQuote(req.state_dir) + " " + ShellQuote(req.files[0]);
  BackgroundProcess ship;
  ASSERT_TRUE(ship.Start(ShellQuote(testing::CramjetBinary()) + args, dir_ / "ship1.log"));
  // Kill once nginx has part of the body in its temporary folder.
  std::string body_tmp = work_->path() + "/nginx/tmp/body";
  bool mid_upload = WaitFor([&] { return !testing::ListTree(body_tmp).empty(); }, 10);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ship.Kill();
  ASSERT_TRUE(mid_upload) << ReadFile(dir_ / "ship1.log");
  EXPECT_FALSE(testing::PathExists(Remote(req, "D7.cram")));
  EXPECT_EQ(LocalMd5s(req), before);
  proxy_->SetRules("{\"rules\": []}");
  auto rerun = testing::RunShell(ShellQuote(testing::CramjetBinary()) + args);
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  ExpectShippedOnce(req);
  EXPECT_EQ(LocalMd5s(req), before);
}

TEST(WebDavTlsTest, CertificatesAreVerifiedByDefault) {
  if (!testing::NginxDav::Available() || !testing::ToolAvailable("openssl"))
    GTEST_SKIP() << "nginx or openssl not installed: TLS test skipped";
  TempDir work;
  testing::NginxDav nginx;
  ASSERT_TRUE(nginx.Start(work.path(), /*tls=*/true)) << ReadFile(nginx.error_log());
  auto req = MakeSampleSet(work.path(), "L1");
  REQUIRE_SAMPLE(req);
  auto c = ship::SinkConfigFromUrl(nginx.url() + "/archive");
  ASSERT_TRUE(c.ok());
  c->retry = {3, 0.01, 0.02};
  // Self-signed: refused, not retried, nothing sent.
  auto refused = ship::ShipSample(*c, req);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition) << refused.status().message();
  EXPECT_NE(refused.status().message().find("TLS verification failed"), std::string::npos) << refused.status().message();
  EXPECT_TRUE(testing::ListTree(nginx.root()).empty());
  // Trusting its certificate through ca_file: shipped.
  c->ca_file = nginx.cert();
  auto shipped = ship::ShipSample(*c, req);
  ASSERT_TRUE(shipped.ok()) << shipped.status().message();
  for (const auto& f : req.files)
    EXPECT_EQ(ReadFile(nginx.root() + "/archive/" + req.run + "/L1/" + Base(f)), ReadFile(f)) << f;
}

// ==== S3 (s3rver) ====================================================================================
class S3Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!testing::S3rver::Available()) return;
    work_ = new TempDir();
    s3_ = new testing::S3rver();
    proxy_ = new FaultProxy();
    if (!s3_->Start(work_->path())) {
      start_error_ = "s3rver did not start: " + ReadFile(work_->path() + "/s3rver.log");
      return;
    }
    // s3rver checks the access key id but not SigV4 signatures: the proxy checks those.
    if (!proxy_->Start(work_->path(), s3_->port(), "S3RVER")) start_error_ = "fault proxy did not start";
  }
  static void TearDownTestSuite() {
    delete proxy_;
    delete s3_;
    delete work_;
    proxy_ = nullptr;
    s3_ = nullptr;
    work_ = nullptr;
  }
  void SetUp() override {
    if (!s3_)
      GTEST_SKIP() << "node or tests/ship/s3rver not installed (scripts/setup-debian.sh installs them): S3 tests skipped";
    ASSERT_TRUE(start_error_.empty()) << start_error_;
    proxy_->SetRules("{\"rules\": []}");
    proxy_->ClearLog();
    WriteFile(dir_ / "cramjetd.toml", ConfigText(proxy_->url()));
    auto table = toml::parse_file(dir_ / "cramjetd.toml");
    auto c = ship::ParseSinkConfig(*table["archive"].as_table(), dir_ / "cramjetd.toml");
    ASSERT_TRUE(c.ok()) << c.status().message();
    config_ = *c;
  }
  static std::string ConfigText(const std::string& endpoint) {
    // The CRAM (2 MB) goes multipart in 256 KiB parts (8 parts); sidecars go by single PUT.
    return "[archive]\nurl = \"s3://archive/cj\"\nendpoint = \"" + endpoint +
           "\"\naccess_key_id = \"S3RVER\"\nsecret_access_key = \"S3RVER\"\n"
           "multipart_threshold = \"1MiB\"\npart_size = \"256KiB\"\nmax_attempts = 5\n"
           "retry_base_seconds = 0.05\nretry_max_seconds = 0.2\nstall_timeout_seconds = 1\n";
  }
  std::string Key(const ship::ShipRequest& r, const std::string& file) const {
    return "cj/" + r.run + "/" + r.sample + "/" + file;
  }
  void ExpectShippedOnce(const ship::ShipRequest& r) {
    for (const auto& f : r.files) {
      EXPECT_EQ(ReadFile(s3_->ObjectPath(Key(r, Base(f)))), ReadFile(f)) << f;
      auto meta = nlohmann::json::parse(ReadFile(s3_->MetadataPath(Key(r, Base(f)))));
      EXPECT_EQ(meta["x-amz-meta-cramjet-md5"], Md5OfFile(f));
    }
    EXPECT_TRUE(testing::PathExists(s3_->ObjectPath(Key(r, "manifest.json"))));
    int objects = 0;
    for (const auto& f : testing::ListTree(s3_->data_dir() + "/archive/cj/" + r.run + "/" + r.sample)) {
      EXPECT_EQ(f.find("cramjet-partial"), std::string::npos) << "temporary object left: " << f;
      if (f.size() > 15 && f.substr(f.size() - 15) == "._S3rver_object") ++objects;
    }
    EXPECT_EQ(objects, static_cast<int>(r.files.size()) + 1) << "extra or missing objects";
  }
  void ExpectCleanProtocol() {
    int signed_requests = 0;
    for (const auto& e : ParsedLog(*proxy_)) {
      EXPECT_TRUE(e.contains("sig_ok")) << "unsigned request: " << e.dump();
      if (e.contains("sig_ok")) {
        ++signed_requests;
        EXPECT_TRUE(e["sig_ok"].get<bool>()) << "bad SigV4 signature: " << e.dump();
      }
      if ((e["method"] == "PUT" || e["method"] == "POST") && e["length"].get<int>() > 0 && e["action"] == "pass") {
        EXPECT_TRUE(e.contains("md5_ok") && e["md5_ok"].get<bool>()) << "request without a correct Content-MD5: " << e.dump();
      }
    }
    EXPECT_GT(signed_requests, 0);
  }

  static TempDir* work_;
  static testing::S3rver* s3_;
  static FaultProxy* proxy_;
  static std::string start_error_;
  TempDir dir_;
  ship::SinkConfig config_;
};
TempDir* S3Test::work_ = nullptr;
testing::S3rver* S3Test::s3_ = nullptr;
FaultProxy* S3Test::proxy_ = nullptr;
std::string S3Test::start_error_;

TEST_F(S3Test, SinglePutAndMultipartVerifiedWithChecksumsOnEveryRequest) {
  auto req = MakeSampleSet(dir_.path(), "T1");
  REQUIRE_SAMPLE(req);
  auto before = LocalMd5s(req);
  auto result = ship::ShipSample(config_, req);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->attempts, 1);
  ExpectShippedOnce(req);
  EXPECT_EQ(LocalMd5s(req), before);
  auto log = ParsedLog(*proxy_);
  uint64_t parts = (std::filesystem::file_size(req.files[0]) + (256u << 10) - 1) / (256u << 10);
  EXPECT_EQ(CountRequests(log, "PUT", "partNumber="), static_cast<int>(parts));
  EXPECT_EQ(CountRequests(log, "POST", "?uploads"), 1);
  EXPECT_EQ(CountRequests(log, "PUT", "cramjet-partial"), 5);  // .crai .seqchksum .md5 .qc.json manifest
  ExpectCleanProtocol();
  // Idempotent: a second run only looks.
  proxy_->ClearLog();
  auto again = ship::ShipSample(config_, req);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->uploaded, 0);
  EXPECT_EQ(CountRequests(ParsedLog(*proxy_), "PUT", "/T1/"), 0);
  EXPECT_TRUE(ship::VerifyShipped(config_, *again).ok());
  // A later re-check with read-back finds damage on the server.
  std::string obj = s3_->ObjectPath(Key(req, "T1.cram"));
  std::string bytes = ReadFile(obj);
  bytes[1000] ^= 0x55;
  WriteFile(obj, bytes);
  ship::SinkConfig readback = config_;
  readback.verify_readback = true;
  EXPECT_EQ(ship::VerifyShipped(readback, *again).code(), StatusCode::kDataLoss);
}

TEST_F(S3Test, CutMidMultipartResumesWithTheMissingPartsOnly) {
  auto req = MakeSampleSet(dir_.path(), "T2");
  REQUIRE_SAMPLE(req);
  proxy_->SetRules(R"({"rules": [{"method": "PUT", "path": "partNumber=4&", "action": "cut", "after": 100000}]})");
  config_.retry.max_attempts = 1;
  auto cut = ship::ShipSample(config_, req);
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.status().code(), StatusCode::kUnavailable) << cut.status().message();
  EXPECT_FALSE(testing::PathExists(s3_->ObjectPath(Key(req, "T2.cram"))));
  // The job folder remembers the upload id and parts 1-3.
  std::string state;
  for (const auto& f : testing::ListTree(req.state_dir))
    if (f.rfind("multipart-", 0) == 0) state = ReadFile(req.state_dir + "/" + f);
  ASSERT_FALSE(state.empty());
  EXPECT_EQ(nlohmann::json::parse(state)["parts"].size(), 3u);

  proxy_->SetRules("{\"rules\": []}");
  proxy_->ClearLog();
  config_.retry.max_attempts = 3;
  auto resumed = ship::ShipSample(config_, req);
  ASSERT_TRUE(resumed.ok()) << resumed.status().message();
  uint64_t parts = (std::filesystem::file_size(req.files[0]) + (256u << 10) - 1) / (256u << 10);
  auto log = ParsedLog(*proxy_);
  EXPECT_EQ(CountRequests(log, "PUT", "partNumber="), static_cast<int>(parts) - 3);
  EXPECT_EQ(CountRequests(log, "POST", "?uploads"), 0) << "the saved upload must be resumed, not restarted";
  ExpectShippedOnce(req);
  ExpectCleanProtocol();
}

TEST_F(S3Test, ServerErrorsOnCompleteAndCopyAreRetried) {
  auto req = MakeSampleSet(dir_.path(), "T3");
  REQUIRE_SAMPLE(req);
  proxy_->SetRules(R"({"rules": [{"method": "POST", "path": "?uploadId=", "action": "status", "code": 500, "times": 1},
                                  {"method": "PUT", "path": "/T3/T3.cram.md5", "action": "status", "code": 503, "times": 1},
                                  {"method": "HEAD", "path": "/T3/T3.qc.json", "action": "status", "code": 503, "times": 1}]})");
  auto result = ship::ShipSample(config_, req);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_GE(result->attempts, 3);
  ExpectShippedOnce(req);
}

TEST_F(S3Test, DamageInTransitIsCaughtAndResent) {
  auto req = MakeSampleSet(dir_.path(), "T4");
  REQUIRE_SAMPLE(req);
  // s3rver does not check Content-MD5, so the damaged bytes are stored; the ETag check catches it.
  proxy_->SetRules(R"({"rules": [{"method": "PUT", "path": "partNumber=2&", "action": "corrupt", "after": 5000, "times": 1},
                                  {"method": "PUT", "path": "T4.qc.json.cramjet-partial", "action": "corrupt", "after": 3, "times": 1}]})");
  auto result = ship::ShipSample(config_, req);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->attempts, 3);
  ExpectShippedOnce(req);
  int corrupted = 0;
  for (const auto& e : ParsedLog(*proxy_))
    if (e.contains("corrupted_at")) {
      ++corrupted;
      EXPECT_FALSE(e["md5_ok"].get<bool>());
    }
  EXPECT_EQ(corrupted, 2);
}

TEST_F(S3Test, ANonsenseContentLengthFailsTheShipmentNotTheProcess) {
  auto req = MakeSampleSet(dir_.path(), "T9");
  REQUIRE_SAMPLE(req);
  config_.retry.max_attempts = 1;
  proxy_->SetRules(R"({"rules": [{"method": "HEAD", "path": "T9.cram", "action": "length", "value": "1e9"}]})");
  auto failed = ship::ShipSample(config_, req);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("has '1e9' bytes, expected "), std::string::npos) << failed.status().message();
  EXPECT_FALSE(testing::PathExists(s3_->ObjectPath(Key(req, "manifest.json"))));
  proxy_->SetRules("{\"rules\": []}");
  auto shipped = ship::ShipSample(config_, req);
  ASSERT_TRUE(shipped.ok()) << shipped.status().message();
  ExpectShippedOnce(req);
}

TEST_F(S3Test, StallAndRefusalAreRetryableFailures) {
  auto req = MakeSampleSet(dir_.path(), "T5");
  REQUIRE_SAMPLE(req);
  // A small body, so curl's speed window sees the stall at once.
  proxy_->SetRules(R"({"rules": [{"method": "PUT", "path": "/T5/T5.cram.md5", "action": "stall"}]})");
  config_.retry.max_attempts = 2;
  auto stalled = ship::ShipSample(config_, req);
  ASSERT_FALSE(stalled.ok());
  EXPECT_EQ(stalled.status().code(), StatusCode::kUnavailable) << stalled.status().message();
  EXPECT_NE(stalled.status().message().find("Operation too slow"), std::string::npos) << stalled.status().message();
  EXPECT_FALSE(testing::PathExists(s3_->ObjectPath(Key(req, "T5.cram.md5"))));
  EXPECT_FALSE(testing::PathExists(s3_->ObjectPath(Key(req, "manifest.json"))));
  ship::SinkConfig refused = config_;
  refused.s3_endpoint = "http://127.0.0.1:" + std::to_string(testing::FreeLoopbackPort());
  auto r = ship::ShipSample(refused, req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  proxy_->SetRules("{\"rules\": []}");
  auto ok = ship::ShipSample(config_, req);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  ExpectShippedOnce(req);
}

TEST_F(S3Test, ForeignObjectUnderFinalNameIsNeverOverwritten) {
  auto req = MakeSampleSet(dir_.path(), "T6");
  REQUIRE_SAMPLE(req);
  WriteFile(dir_ / "other", "not ours\n");
  auto put = testing::RunShell("curl -sf -T " + ShellQuote(dir_ / "other") +
                               " -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' --aws-sigv4 aws:amz:us-east-1:s3 "
                               "-u S3RVER:S3RVER " + ShellQuote(s3_->endpoint() + "/archive/" + Key(req, "T6.cram")));
  ASSERT_EQ(put.exit_code, 0) << put.err;
  auto result = ship::ShipSample(config_, req);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kFailedPrecondition) << result.status().message();
  EXPECT_EQ(ReadFile(s3_->ObjectPath(Key(req, "T6.cram"))), "not ours\n");
}

TEST_F(S3Test, CliKilledMidMultipartThenRerunShipsExactlyOnce) {
  auto req = MakeSampleSet(dir_.path(), "T7");
  REQUIRE_SAMPLE(req);
  auto before = LocalMd5s(req);
  proxy_->SetRules(R"({"rules": [], "rate": 300000})");
  std::string args = " ship --config " + ShellQuote(dir_ / "cramjetd.toml") + " --run " + ShellQuote(req.run) +
                     " --state-dir " + ShellQuote(req.state_dir) + " " + ShellQuote(req.files[0]);
  BackgroundProcess ship;
  ASSERT_TRUE(ship.Start(ShellQuote(testing::CramjetBinary()) + args, dir_ / "ship1.log"));
  // Kill after at least two parts are recorded as done.
  auto parts_done = [&] {
    for (const auto& f : testing::ListTree(req.state_dir))
      if (f.rfind("multipart-", 0) == 0) {
        auto j = nlohmann::json::parse(ReadFile(req.state_dir + "/" + f), nullptr, false);
        if (!j.is_discarded() && j["parts"].size() >= 2) return true;
      }
    return false;
  };
  bool mid_upload = WaitFor(parts_done, 20);
  ship.Kill();
  ASSERT_TRUE(mid_upload) << ReadFile(dir_ / "ship1.log");
  EXPECT_FALSE(testing::PathExists(s3_->ObjectPath(Key(req, "T7.cram"))));
  EXPECT_EQ(LocalMd5s(req), before);

  proxy_->SetRules("{\"rules\": []}");
  proxy_->ClearLog();
  auto rerun = testing::RunShell(ShellQuote(testing::CramjetBinary()) + args);
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  ExpectShippedOnce(req);
  EXPECT_EQ(LocalMd5s(req), before);
  uint64_t parts = (std::filesystem::file_size(req.files[0]) + (256u << 10) - 1) / (256u << 10);
  // Parts answered in the re-run (the killed run's in-flight part may be logged late, unanswered).
  int answered_parts = 0;
  for (const auto& e : ParsedLog(*proxy_))
    if (e["method"] == "PUT" && e["target"].get<std::string>().find("partNumber=") != std::string::npos &&
        e.value("status", 0) == 200)
      ++answered_parts;
  EXPECT_LE(answered_parts, static_cast<int>(parts) - 2);
  EXPECT_NE(rerun.err.find("resuming multipart upload"), std::string::npos) << rerun.err;
}

TEST_F(S3Test, TemporaryLeftByACrashAfterTheCopyIsRemoved) {
  auto req = MakeSampleSet(dir_.path(), "T8");
  REQUIRE_SAMPLE(req);
  ASSERT_TRUE(ship::ShipSample(config_, req).ok());
  // As if the process died between CopyObject and the DELETE of its temporary.
  std::string temp_key = Key(req, "T8.cram.md5") + ".cramjet-partial-deadbeef0001";
  auto put = testing::RunShell("curl -sf -T " + ShellQuote(req.files[3]) +
                               " -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' --aws-sigv4 aws:amz:us-east-1:s3 "
                               "-u S3RVER:S3RVER " + ShellQuote(s3_->endpoint() + "/archive/" + temp_key));
  ASSERT_EQ(put.exit_code, 0) << put.err;
  ship::internal::JobState state(req.state_dir);
  ASSERT_TRUE(state.Store("temp", req.run + "/T8/T8.cram.md5", "{\"key\": \"" + temp_key + "\"}").ok());
  ASSERT_TRUE(testing::PathExists(s3_->ObjectPath(temp_key)));
  auto again = ship::ShipSample(config_, req);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->uploaded, 0);
  EXPECT_FALSE(testing::PathExists(s3_->ObjectPath(temp_key)));
  ExpectShippedOnce(req);
}

TEST_F(S3Test, CredentialsFromEnvironmentNeverAppearInOutput) {
  auto req = MakeSampleSet(dir_.path(), "T9");
  REQUIRE_SAMPLE(req);
  WriteFile(dir_ / "nokeys.toml", "[archive]\nurl = \"s3://archive/cj\"\nendpoint = \"" + proxy_->url() +
                                      "\"\nmax_attempts = 1\n");
  std::string env = "AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=Secret-Do-Not-Log-42 "
                    "AWS_SESSION_TOKEN=Token-Do-Not-Log-43 ";
  std::string cmd = env + ShellQuote(testing::CramjetBinary()) + " ship --config " + ShellQuote(dir_ / "nokeys.toml") +
                    " --run " + ShellQuote(req.run) + " " + ShellQuote(req.files[0]);
  proxy_->SetRules(R"({"rules": [{"action": "status", "code": 403}]})");
  auto denied = testing::RunShell(cmd);
  EXPECT_EQ(denied.exit_code, 1);
  EXPECT_NE(denied.err.find("HTTP 403"), std::string::npos) << denied.err;
  proxy_->SetRules("{\"rules\": []}");
  auto ok = testing::RunShell(cmd);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  for (const auto* text : {&denied.out, &denied.err, &ok.out, &ok.err}) {
    EXPECT_EQ(text->find("Secret-Do-Not-Log-42"), std::string::npos) << *text;
    EXPECT_EQ(text->find("Token-Do-Not-Log-43"), std::string::npos) << *text;
  }
  ExpectShippedOnce(req);
  // The environment's credentials were used: the session token travels with every request, and
  // the proxy (which checks signatures against the secret "S3RVER") sees another secret's.
  auto log = ParsedLog(*proxy_);
  ASSERT_FALSE(log.empty());
  for (const auto& e : log) {
    EXPECT_TRUE(e.contains("session_token")) << e.dump();
    EXPECT_FALSE(e.value("sig_ok", true)) << e.dump();
  }
}

}  // namespace
}  // namespace cramjet
