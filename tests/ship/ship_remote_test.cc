// Ship stage against real servers on 127.0.0.1, the cases both servers share: each case runs
// against nginx WebDAV and against s3rver (S3 API), each behind the fault-injecting proxy
// (fault_proxy.py; remote_fixture.h). Every case ends with the sample shipped exactly once, or
// failed and retryable with nothing partial under a final name and the local files intact.
#include <chrono>

#include "remote_fixture.h"

namespace cramjet::ship_test {
namespace {

// CTest names each case after its server: RemoteShipTest.RefusedConnectionIsRetryable<...S3Server>.
using Servers = ::testing::Types<WebDavServer, S3Server>;
TYPED_TEST_SUITE(RemoteShipTest, Servers);

TYPED_TEST(RemoteShipTest, ShipsVerifiedByteForByteAndOnlyOnce) {
  const std::string sample = this->Sample(1);
  auto req = MakeSampleSet(this->dir_.path(), sample);
  REQUIRE_SAMPLE(req);
  auto before = LocalMd5s(req);
  auto result = ship::ShipSample(this->config_, req);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->attempts, 1);
  this->ExpectShippedOnce(req);
  EXPECT_EQ(LocalMd5s(req), before);
  this->server_->ExpectFirstShipment(ParsedLog(*this->proxy_), req);
  // Again: nothing is sent twice; a second run only looks.
  this->proxy_->ClearLog();
  auto again = ship::ShipSample(this->config_, req);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->uploaded, 0);
  EXPECT_EQ(CountRequests(ParsedLog(*this->proxy_), "PUT", "/" + sample + "/"), 0);
  EXPECT_TRUE(ship::VerifyShipped(this->config_, *again).ok());
  // A later re-check with read-back finds damage on the server.
  std::string obj = this->Stored(req, sample + ".cram");
  std::string bytes = ReadFile(obj);
  bytes[1000] ^= 0x55;
  WriteFile(obj, bytes);
  ship::SinkConfig readback = this->config_;
  readback.verify_readback = true;
  EXPECT_EQ(ship::VerifyShipped(readback, *again).code(), StatusCode::kDataLoss);
}

TYPED_TEST(RemoteShipTest, ServerErrorsAreRetriedWithBackoff) {
  const std::string sample = this->Sample(2);
  auto req = MakeSampleSet(this->dir_.path(), sample);
  REQUIRE_SAMPLE(req);
  this->proxy_->SetRules(WithSample(TypeParam::kServerErrorRules, sample));
  auto result = ship::ShipSample(this->config_, req);
  ASSERT_TRUE(result.ok()) << result.status().message();
  TypeParam::ExpectServerErrorAttempts(result->attempts);
  this->ExpectShippedOnce(req);
}

// A fault that lasts: each attempt fails the same way, the shipment gives up retryable.
struct LastingFault {
  const char* rules;
  const char* object;             // not under its final name afterwards
  std::vector<const char*> said;  // in the error message
};
const LastingFault kLastingFaults[] = {
    {R"({"rules": [{"method": "PUT", "path": "/{s}/{s}.cram", "action": "status", "code": 503}]})", "{s}.cram",
     {"gave up after 2 attempts", "HTTP 503"}},
    // A small body, so curl's speed window sees the stall at once.
    {R"({"rules": [{"method": "PUT", "path": "/{s}/{s}.cram.md5", "action": "stall"}]})", "{s}.cram.md5",
     {"gave up after 2 attempts", "Operation too slow"}},
};

TYPED_TEST(RemoteShipTest, AttemptLimitGivesRetryableFailureThenRetrySucceeds) {
  const std::string sample = this->Sample(3);
  auto req = MakeSampleSet(this->dir_.path(), sample);
  REQUIRE_SAMPLE(req);
  this->config_.retry.max_attempts = 2;
  for (const auto& fault : kLastingFaults) {
    this->proxy_->SetRules(WithSample(fault.rules, sample));
    auto failed = ship::ShipSample(this->config_, req);
    ASSERT_FALSE(failed.ok()) << fault.rules;
    EXPECT_EQ(failed.status().code(), StatusCode::kUnavailable) << failed.status().message();
    for (const char* said : fault.said)
      EXPECT_NE(failed.status().message().find(said), std::string::npos) << failed.status().message();
    EXPECT_FALSE(PathExists(this->Stored(req, WithSample(fault.object, sample))));
    EXPECT_FALSE(PathExists(this->Stored(req, "manifest.json")));
  }
  this->ExpectShipsOnceFaultsGone(req);
}

TYPED_TEST(RemoteShipTest, StalledServerTimesOutAndIsRetried) {
  const std::string sample = this->Sample(4);
  auto req = MakeSampleSet(this->dir_.path(), sample);
  REQUIRE_SAMPLE(req);
  this->proxy_->SetRules(
      WithSample(R"({"rules": [{"method": "PUT", "path": "/{s}/{s}.cram.md5", "action": "stall", "times": 1}]})", sample));
  auto start = std::chrono::steady_clock::now();
  auto result = ship::ShipSample(this->config_, req);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->attempts, 2);
  EXPECT_LT(seconds, 20) << "stall detection should fire after ~stall_timeout_s";
  this->ExpectShippedOnce(req);
}

TYPED_TEST(RemoteShipTest, RefusedConnectionIsRetryable) {
  auto req = MakeSampleSet(this->dir_.path(), this->Sample(5));
  REQUIRE_SAMPLE(req);
  auto refused = this->server_->RefusingConfig(this->config_, testing::FreeLoopbackPort());
  ASSERT_TRUE(refused.ok()) << refused.status().message();
  auto result = ship::ShipSample(*refused, req);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kUnavailable) << result.status().message();
}

// A server whose HEAD answers a Content-Length that is not a number (or does not fit 64 bits)
// fails the shipment with the value named; nothing throws inside the shipping thread.
TYPED_TEST(RemoteShipTest, ANonsenseContentLengthFailsTheShipmentNotTheProcess) {
  const std::string sample = this->Sample(6);
  auto req = MakeSampleSet(this->dir_.path(), sample);
  REQUIRE_SAMPLE(req);
  this->config_.retry.max_attempts = 1;
  for (const char* value : {"99999999999999999999999", "12abc", "1e9", "-5"}) {
    this->proxy_->SetRules(WithSample(R"({"rules": [{"method": "HEAD", "path": "{s}.cram", "action": "length", "value": ")",
                                      sample) +
                           value + "\"}]}");
    auto failed = ship::ShipSample(this->config_, req);
    ASSERT_FALSE(failed.ok()) << value;
    // libcurl refuses a negative length itself; the others reach cramjet's check.
    const std::string said = value[0] == '-' ? std::string("Invalid Content-Length")
                                             : std::string("has '") + value + "' bytes, expected ";
    EXPECT_NE(failed.status().message().find(said), std::string::npos) << failed.status().message();
    EXPECT_FALSE(PathExists(this->Stored(req, "manifest.json")));
  }
  this->ExpectShipsOnceFaultsGone(req);
}

TYPED_TEST(RemoteShipTest, CliKilledMidUploadThenRerunShipsExactlyOnce) {
  auto req = MakeSampleSet(this->dir_.path(), this->Sample(7));
  REQUIRE_SAMPLE(req);
  auto before = LocalMd5s(req);
  this->proxy_->SetRules(TypeParam::kSlowRules);
  std::string args = " ship" + this->server_->CliDestination(this->dir_, this->proxy_->url()) + " --run " +
                     ShellQuote(req.run) + " --state-dir " + ShellQuote(req.state_dir) + " " + ShellQuote(req.files[0]);
  BackgroundProcess ship;
  ASSERT_TRUE(ship.Start(ShellQuote(testing::CramjetBinary()) + args, this->dir_ / "ship1.log"));
  bool mid_upload = this->server_->WaitUntilMidUpload(req);
  ship.Kill();
  ASSERT_TRUE(mid_upload) << ReadFile(this->dir_ / "ship1.log");
  EXPECT_FALSE(PathExists(this->Stored(req, Base(req.files[0]))));
  EXPECT_EQ(LocalMd5s(req), before);

  this->proxy_->SetRules(kNoRules);
  this->proxy_->ClearLog();
  auto rerun = testing::RunShell(ShellQuote(testing::CramjetBinary()) + args);
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  this->ExpectShippedOnce(req);
  EXPECT_EQ(LocalMd5s(req), before);
  this->server_->ExpectRerunResumed(ParsedLog(*this->proxy_), req, rerun);
}

}  // namespace
}  // namespace cramjet::ship_test
