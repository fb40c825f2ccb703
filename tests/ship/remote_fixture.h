// tests/ship/remote_fixture.h — the fixture of the ship tests against real servers on 127.0.0.1:
// one class template over the server (remote_servers.h: WebDavServer, nginx WebDAV; S3Server,
// s3rver), which runs behind the fault-injecting proxy (fault_proxy.py). The cases both servers
// share are typed tests (ship_remote_test.cc); each server's own cases are tests on WebDavTest
// (ship_webdav_test.cc) or S3Test (ship_s3_test.cc).
#pragma once

#include "remote_servers.h"

namespace cramjet::ship_test {

template <typename Server>
class RemoteShipTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!Server::Available()) return;
    work_ = new TempDir();
    server_ = new Server();
    proxy_ = new FaultProxy();
    start_error_ = server_->Start(work_->path());
    if (start_error_.empty() && !proxy_->Start(work_->path(), server_->port(), Server::kProxySecret))
      start_error_ = "fault proxy did not start";
  }
  static void TearDownTestSuite() {
    delete proxy_;
    delete server_;
    delete work_;
    proxy_ = nullptr;
    server_ = nullptr;
    work_ = nullptr;
    start_error_.clear();
  }
  void SetUp() override {
    if (!server_) GTEST_SKIP() << Server::kMissing;
    ASSERT_TRUE(start_error_.empty()) << start_error_;
    proxy_->SetRules(kNoRules);
    proxy_->ClearLog();
    auto c = server_->Config(dir_, proxy_->url());
    ASSERT_TRUE(c.ok()) << c.status().message();
    config_ = *c;
  }

  // Sample names differ per server and per case: "D4" (WebDAV), "T4" (S3).
  static std::string Sample(int n) { return Server::kSamplePrefix + std::to_string(n); }
  std::string Stored(const ship::ShipRequest& r, const std::string& file) const { return server_->Stored(r, file); }
  void ExpectShippedOnce(const ship::ShipRequest& r) const {
    for (const auto& f : r.files) {
      EXPECT_EQ(ReadFile(Stored(r, Base(f))), ReadFile(f)) << f;
      server_->ExpectStoredExtras(r, f);
    }
    EXPECT_TRUE(PathExists(Stored(r, "manifest.json")));
    server_->ExpectObjectCount(r, r.files.size() + 1);
  }
  // With the proxy's faults gone, the sample ships (verified) exactly once.
  void ExpectShipsOnceFaultsGone(const ship::ShipRequest& r) const {
    proxy_->SetRules(kNoRules);
    auto shipped = ship::ShipSample(config_, r);
    ASSERT_TRUE(shipped.ok()) << shipped.status().message();
    ExpectShippedOnce(r);
  }

  inline static TempDir* work_ = nullptr;
  inline static Server* server_ = nullptr;
  inline static FaultProxy* proxy_ = nullptr;
  inline static std::string start_error_;
  TempDir dir_;
  ship::SinkConfig config_;
};

using WebDavTest = RemoteShipTest<WebDavServer>;
using S3Test = RemoteShipTest<S3Server>;

}  // namespace cramjet::ship_test
