// `cramjet accept` on deliveries that a real server holds (issue 14 item 4): a set shipped to nginx
// WebDAV and to s3rver (each behind the fault proxy, which checks S3 signatures) is downloaded,
// checked and accepted; the same delivery with its CRAM damaged on the server, or a file gone, is
// rejected naming it. The file:// cases, every kind of damage, are tests/cli/accept_test.cc.
#include <filesystem>

#include "remote_fixture.h"

namespace cramjet::ship_test {
namespace {

using Servers = ::testing::Types<WebDavServer, S3Server>;
template <typename Server>
using AcceptRemoteTest = RemoteShipTest<Server>;
TYPED_TEST_SUITE(AcceptRemoteTest, Servers);

TYPED_TEST(AcceptRemoteTest, AShippedSetIsAcceptedFromTheServerAndADamagedOneRejected) {
  const std::string sample = this->Sample(40);
  auto req = MakeSampleSet(this->dir_.path(), sample);
  REQUIRE_SAMPLE(req);
  auto shipped = ship::ShipSample(this->config_, req);
  ASSERT_TRUE(shipped.ok()) << shipped.status().message();
  const std::string dir = ShellQuote(this->dir_.path());
  ASSERT_EQ(testing::RunShell("cd " + dir + " && mkdir -p stage && samtools view -H " + ShellQuote(req.files[0]) +
                              " | grep -o 'M5:[0-9a-f]*' | cut -c4- > known.txt").exit_code, 0);
  const std::string accept = "cd " + dir + " && " + ShellQuote(testing::CramjetBinary()) + " accept " +
                             this->server_->CliDelivery(this->dir_, this->proxy_->url(), req) +
                             " --known-references known.txt --staging stage --receipt receipt.json -T " +
                             ShellQuote(testing::SharedPath("ecoli-mg1655-hiseq/E.coli.fa"));
  auto r = testing::RunShell(accept);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json receipt = nlohmann::json::parse(ReadFile(this->dir_ / "receipt.json"));
  EXPECT_EQ(receipt["accepted"], true);
  EXPECT_EQ(receipt["sample"], sample);
  EXPECT_EQ(receipt["files"].size(), req.files.size());
  EXPECT_EQ(receipt["manifest"]["md5"], shipped->manifest.md5);
  EXPECT_GT(receipt["reads"].get<uint64_t>(), 0u);
  // The downloads went to the staging folder and are gone with it.
  EXPECT_TRUE(testing::ListTree(this->dir_ / "stage").empty());
  EXPECT_GT(CountRequests(ParsedLog(*this->proxy_), "GET", "/" + sample + "/" + sample + ".cram"), 0);

  // One byte of the stored CRAM changed on the server: its MD5 no longer is the manifest's.
  const std::string stored = this->Stored(req, sample + ".cram");
  std::string bytes = ReadFile(stored);
  bytes[2000] ^= 0x55;
  WriteFile(stored, bytes);
  r = testing::RunShell(accept);
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(r.err.rfind("cramjet accept: error: " + req.run + "/" + sample + "/" + sample + ".cram (cram): MD5 ", 0), 0u)
      << r.err;
  EXPECT_EQ(nlohmann::json::parse(ReadFile(this->dir_ / "receipt.json"))["accepted"], false);
  // The CRAM mended, and a file gone from the server.
  bytes[2000] ^= 0x55;
  WriteFile(stored, bytes);
  ASSERT_EQ(::unlink(this->Stored(req, sample + ".cram.crai").c_str()), 0);
  r = testing::RunShell(accept);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(sample + ".cram.crai (index) is missing"), std::string::npos) << r.err;
  EXPECT_TRUE(testing::ListTree(this->dir_ / "stage").empty());
}

// Crypt4GH (issue 14 item 5) on a real server: the set shipped encrypted (every object NAME.c4gh),
// downloaded, decrypted with the archive's key and accepted; with another key, rejected naming
// the file.
TYPED_TEST(AcceptRemoteTest, ACrypt4ghDeliveryIsDecryptedFromTheServerAndAWrongKeyRejected) {
  const std::string sample = this->Sample(41);
  auto req = MakeSampleSet(this->dir_.path(), sample);
  REQUIRE_SAMPLE(req);
  const std::string dir = ShellQuote(this->dir_.path());
  const std::string cj = ShellQuote(testing::CramjetBinary());
  ASSERT_EQ(testing::RunShell("cd " + dir + " && " + cj + " crypt4gh-keygen --nocrypt --pk archive.pub --sk archive.sec && " +
                              cj + " crypt4gh-keygen --nocrypt --pk other.pub --sk other.sec").exit_code, 0);
  ship::SinkConfig config = this->config_;
  ASSERT_TRUE(ship::SetCrypt4ghRecipients(config, {this->dir_ / "archive.pub"}).ok());
  auto shipped = ship::ShipSample(config, req);
  ASSERT_TRUE(shipped.ok()) << shipped.status().message();
  for (const auto& f : shipped->files) {
    EXPECT_TRUE(f.encrypted);
    EXPECT_EQ(f.remote_name.substr(f.remote_name.size() - 5), ".c4gh");
    EXPECT_EQ(f.size, testing::ReadFile(this->Stored(req, std::filesystem::path(f.local_path).filename().string() + ".c4gh")).size());
  }
  ASSERT_EQ(testing::RunShell("cd " + dir + " && mkdir -p stage && samtools view -H " + ShellQuote(req.files[0]) +
                              " | grep -o 'M5:[0-9a-f]*' | cut -c4- > known.txt").exit_code, 0);
  const std::string accept = "cd " + dir + " && " + cj + " accept " +
                             this->server_->CliDelivery(this->dir_, this->proxy_->url(), req) +
                             " --known-references known.txt --staging stage --receipt receipt.json -T " +
                             ShellQuote(testing::SharedPath("ecoli-mg1655-hiseq/E.coli.fa"));
  auto r = testing::RunShell(accept + " --crypt4gh-key archive.sec");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json receipt = nlohmann::json::parse(ReadFile(this->dir_ / "receipt.json"));
  EXPECT_EQ(receipt["accepted"], true);
  EXPECT_EQ(receipt["encryption"]["method"], "crypt4gh");
  EXPECT_EQ(receipt["files"][0]["plaintext"]["md5"], shipped->files[0].plain_md5);
  EXPECT_GT(receipt["reads"].get<uint64_t>(), 0u);
  EXPECT_TRUE(testing::ListTree(this->dir_ / "stage").empty());

  r = testing::RunShell(accept + " --crypt4gh-key other.sec");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.err.rfind("cramjet accept: error: " + shipped->files[0].remote_name +
                            " (cram): no header packet could be decrypted with the key 'other.sec' (public key ", 0),
            0u)
      << r.err;
  EXPECT_TRUE(testing::ListTree(this->dir_ / "stage").empty());
}

}  // namespace
}  // namespace cramjet::ship_test
