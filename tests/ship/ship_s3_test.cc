// Ship stage against s3rver only (the cases shared with WebDAV are in ship_remote_test.cc):
// multipart resume, damage in transit, a foreign object, a leftover temporary, credentials from
// the environment.
#include <nlohmann/json.hpp>

#include "remote_fixture.h"

namespace cramjet::ship_test {
namespace {

TEST_F(S3Test, CutMidMultipartResumesWithTheMissingPartsOnly) {
  auto req = MakeSampleSet(dir_.path(), "T8");
  REQUIRE_SAMPLE(req);
  proxy_->SetRules(R"({"rules": [{"method": "PUT", "path": "partNumber=4&", "action": "cut", "after": 100000}]})");
  config_.retry.max_attempts = 1;
  auto cut = ship::ShipSample(config_, req);
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.status().code(), StatusCode::kUnavailable) << cut.status().message();
  EXPECT_FALSE(PathExists(Stored(req, "T8.cram")));
  // The job folder remembers the upload id and parts 1-3.
  std::string state;
  for (const auto& f : testing::ListTree(req.state_dir))
    if (f.rfind("multipart-", 0) == 0) state = ReadFile(req.state_dir + "/" + f);
  ASSERT_FALSE(state.empty());
  EXPECT_EQ(nlohmann::json::parse(state)["parts"].size(), 3u);

  proxy_->SetRules(kNoRules);
  proxy_->ClearLog();
  config_.retry.max_attempts = 3;
  auto resumed = ship::ShipSample(config_, req);
  ASSERT_TRUE(resumed.ok()) << resumed.status().message();
  auto log = ParsedLog(*proxy_);
  EXPECT_EQ(CountRequests(log, "PUT", "partNumber="), S3Server::PartCount(req) - 3);
  EXPECT_EQ(CountRequests(log, "POST", "?uploads"), 0) << "the saved upload must be resumed, not restarted";
  ExpectShippedOnce(req);
  server_->ExpectCleanProtocol(ParsedLog(*proxy_));
}

TEST_F(S3Test, DamageInTransitIsCaughtAndResent) {
  auto req = MakeSampleSet(dir_.path(), "T9");
  REQUIRE_SAMPLE(req);
  // s3rver does not check Content-MD5, so the damaged bytes are stored; the ETag check catches it.
  proxy_->SetRules(R"({"rules": [{"method": "PUT", "path": "partNumber=2&", "action": "corrupt", "after": 5000, "times": 1},
                                  {"method": "PUT", "path": "T9.qc.json.cramjet-partial", "action": "corrupt", "after": 3, "times": 1}]})");
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

TEST_F(S3Test, ForeignObjectUnderFinalNameIsNeverOverwritten) {
  auto req = MakeSampleSet(dir_.path(), "T10");
  REQUIRE_SAMPLE(req);
  WriteFile(dir_ / "other", "not ours\n");
  auto put = server_->PutObject(dir_ / "other", server_->Key(req, "T10.cram"));
  ASSERT_EQ(put.exit_code, 0) << put.err;
  auto result = ship::ShipSample(config_, req);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kFailedPrecondition) << result.status().message();
  EXPECT_EQ(ReadFile(Stored(req, "T10.cram")), "not ours\n");
}

TEST_F(S3Test, TemporaryLeftByACrashAfterTheCopyIsRemoved) {
  auto req = MakeSampleSet(dir_.path(), "T11");
  REQUIRE_SAMPLE(req);
  ASSERT_TRUE(ship::ShipSample(config_, req).ok());
  // As if the process died between CopyObject and the DELETE of its temporary.
  std::string temp_key = server_->Key(req, "T11.cram.md5") + ".cramjet-partial-deadbeef0001";
  auto put = server_->PutObject(req.files[3], temp_key);
  ASSERT_EQ(put.exit_code, 0) << put.err;
  ship::internal::JobState state(req.state_dir);
  ASSERT_TRUE(state.Store("temp", req.run + "/T11/T11.cram.md5", "{\"key\": \"" + temp_key + "\"}").ok());
  ASSERT_TRUE(PathExists(server_->s3.ObjectPath(temp_key)));
  auto again = ship::ShipSample(config_, req);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->uploaded, 0);
  EXPECT_FALSE(PathExists(server_->s3.ObjectPath(temp_key)));
  ExpectShippedOnce(req);
}

TEST_F(S3Test, CredentialsFromEnvironmentNeverAppearInOutput) {
  auto req = MakeSampleSet(dir_.path(), "T12");
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
  proxy_->SetRules(kNoRules);
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
}  // namespace cramjet::ship_test
