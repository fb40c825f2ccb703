#include "remote_servers.h"

#include <chrono>
#include <filesystem>
#include <thread>

#include <toml++/toml.h>

namespace cramjet::ship_test {

Log ParsedLog(const FaultProxy& proxy) {
  Log out;
  for (const auto& line : testing::SettledLog(proxy)) out.push_back(nlohmann::json::parse(line));
  return out;
}

int CountRequests(const Log& log, const std::string& method, const std::string& target_part) {
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

bool WaitFor(const std::function<bool()>& predicate, double seconds) {
  auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
    if (predicate()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return predicate();
}

std::string WithSample(std::string text, const std::string& sample) {
  for (size_t at = text.find("{s}"); at != std::string::npos; at = text.find("{s}", at + sample.size()))
    text.replace(at, 3, sample);
  return text;
}

// ---- S3 (s3rver) ----------------------------------------------------------------------------------
std::string S3Server::ConfigText(const std::string& endpoint) {
  return "[archive]\nurl = \"s3://archive/cj\"\nendpoint = \"" + endpoint +
         "\"\naccess_key_id = \"S3RVER\"\nsecret_access_key = \"S3RVER\"\n"
         "multipart_threshold = \"1MiB\"\npart_size = \"256KiB\"\nmax_attempts = 5\n"
         "retry_base_seconds = 0.05\nretry_max_seconds = 0.2\nstall_timeout_seconds = 1\n";
}

int S3Server::PartCount(const ship::ShipRequest& r) {
  return static_cast<int>((std::filesystem::file_size(r.files[0]) + (256u << 10) - 1) / (256u << 10));
}

StatusOr<ship::SinkConfig> S3Server::Config(const TempDir& dir, const std::string& proxy_url) const {
  WriteFile(dir / "cramjetd.toml", ConfigText(proxy_url));
  auto table = toml::parse_file(dir / "cramjetd.toml");
  return ship::ParseSinkConfig(*table["archive"].as_table(), dir / "cramjetd.toml");
}

void S3Server::ExpectObjectCount(const ship::ShipRequest& r, size_t count) const {
  size_t objects = 0;
  for (const auto& f : testing::ListTree(s3.data_dir() + "/archive/cj/" + r.run + "/" + r.sample)) {
    EXPECT_EQ(f.find("cramjet-partial"), std::string::npos) << "temporary object left: " << f;
    if (f.size() > 15 && f.substr(f.size() - 15) == "._S3rver_object") ++objects;
  }
  EXPECT_EQ(objects, count) << "extra or missing objects";
}

void S3Server::ExpectCleanProtocol(const Log& log) const {
  int signed_requests = 0;
  for (const auto& e : log) {
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

bool S3Server::WaitUntilMidUpload(const ship::ShipRequest& r) const {
  auto parts_done = [&] {
    for (const auto& f : testing::ListTree(r.state_dir))
      if (f.rfind("multipart-", 0) == 0) {
        auto j = nlohmann::json::parse(ReadFile(r.state_dir + "/" + f), nullptr, false);
        if (!j.is_discarded() && j["parts"].size() >= 2) return true;
      }
    return false;
  };
  return WaitFor(parts_done, 20);
}

void S3Server::ExpectRerunResumed(const Log& log, const ship::ShipRequest& r, const CommandResult& rerun) const {
  // Parts answered in the re-run (the killed run's in-flight part may be logged late, unanswered).
  int answered_parts = 0;
  for (const auto& e : log)
    if (e["method"] == "PUT" && e["target"].get<std::string>().find("partNumber=") != std::string::npos &&
        e.value("status", 0) == 200)
      ++answered_parts;
  EXPECT_LE(answered_parts, PartCount(r) - 2);
  EXPECT_NE(rerun.err.find("resuming multipart upload"), std::string::npos) << rerun.err;
}

CommandResult S3Server::PutObject(const std::string& local, const std::string& key) const {
  return testing::RunShell("curl -sf -T " + ShellQuote(local) +
                           " -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' --aws-sigv4 aws:amz:us-east-1:s3 "
                           "-u S3RVER:S3RVER " + ShellQuote(s3.endpoint() + "/archive/" + key));
}

}  // namespace cramjet::ship_test
