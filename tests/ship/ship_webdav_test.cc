// Ship stage against nginx WebDAV only (the cases shared with S3 are in ship_remote_test.cc): a
// connection cut mid-upload, and TLS certificates.
#include "remote_fixture.h"

namespace cramjet::ship_test {
namespace {

TEST_F(WebDavTest, ConnectionCutMidUploadLeavesNothingUnderTheFinalName) {
  auto req = MakeSampleSet(dir_.path(), "D8");
  REQUIRE_SAMPLE(req);
  proxy_->SetRules(R"({"rules": [{"method": "PUT", "path": "/D8/D8.cram", "action": "cut", "after": 700000}]})");
  config_.retry.max_attempts = 1;
  auto cut = ship::ShipSample(config_, req);
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.status().code(), StatusCode::kUnavailable) << cut.status().message();
  auto log = ParsedLog(*proxy_);
  ASSERT_EQ(CountRequests(log, "PUT", "/D8/D8.cram"), 1);
  int cut_entries = 0;
  for (const auto& e : log)
    if (e.contains("cut_at")) {
      ++cut_entries;
      EXPECT_EQ(e["cut_at"].get<int>(), 700000);
    }
  EXPECT_EQ(cut_entries, 1);
  // nginx wrote the partial body to its temporary file only: nothing under the final name.
  EXPECT_FALSE(PathExists(Stored(req, "D8.cram")));
  EXPECT_TRUE(testing::ListTree(server_->Folder(req)).empty());
  config_.retry.max_attempts = 3;
  ExpectShipsOnceFaultsGone(req);
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

}  // namespace
}  // namespace cramjet::ship_test
