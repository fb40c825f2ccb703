// Ship stage: configuration, object names, manifest, the file:// sink and the CLI's usage errors.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/test_util.h"
#include "ship/crypt4gh.h"
#include "ship/ship.h"
#include "ship_servers.h"

namespace cramjet {
namespace {

using testing::MakeSampleSet;
using testing::Md5OfFile;
using testing::ReadFile;
using testing::RunCramjet;
using testing::ShellQuote;
using testing::TempDir;
using testing::WriteFile;

toml::table ParseToml(const std::string& text) { return toml::parse(text); }

#define REQUIRE_SAMPLE(req)                                                                  \
  do {                                                                                       \
    CRAMJET_REQUIRE_SHARED_DATA(testing::kSampleCram);                                       \
    if ((req).files.empty()) GTEST_SKIP() << "samtools not available to index the sample"; \
  } while (0)

// ---- configuration --------------------------------------------------------------------------------
TEST(ShipConfig, ParsesEveryKey) {
  auto table = ParseToml(R"(
url = "s3://bucket/some/prefix/"
object_template = "{instrument}/{run}/L{lane}/{sample}/{file}"
endpoint = "http://127.0.0.1:9000"
region = "eu-west-2"
multipart_threshold = "8MiB"
part_size = 5242880
max_attempts = 7
retry_base_seconds = 0.5
retry_max_seconds = 30
access_key_id = "AKIDEXAMPLE"
secret_access_key = "wJalrXUtnFEMI"
tls_verify = false
ca_file = "/etc/ssl/ca.pem"
connect_timeout_seconds = 3
stall_timeout_seconds = 20
verify_readback = true
)");
  auto config = ship::ParseSinkConfig(table, "cramjetd.toml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->kind, ship::SinkKind::kS3);
  EXPECT_EQ(config->s3_bucket, "bucket");
  EXPECT_EQ(config->s3_prefix, "some/prefix");
  EXPECT_EQ(config->s3_endpoint, "http://127.0.0.1:9000");
  EXPECT_EQ(config->s3_region, "eu-west-2");
  EXPECT_EQ(config->multipart_threshold, 8u << 20);
  EXPECT_EQ(config->part_size, 5242880u);
  EXPECT_EQ(config->retry.max_attempts, 7);
  EXPECT_DOUBLE_EQ(config->retry.base_backoff_s, 0.5);
  EXPECT_DOUBLE_EQ(config->retry.max_backoff_s, 30);
  EXPECT_EQ(config->credentials.access_key_id, "AKIDEXAMPLE");
  EXPECT_FALSE(config->tls_verify);
  EXPECT_EQ(config->ca_file, "/etc/ssl/ca.pem");
  EXPECT_DOUBLE_EQ(config->stall_timeout_s, 20);
  EXPECT_TRUE(config->verify_readback);
  // The description for logs never carries the secret.
  std::string d = ship::DescribeSink(*config);
  EXPECT_EQ(d.find("wJalrXUtnFEMI"), std::string::npos) << d;
  EXPECT_NE(d.find("TLS verification OFF"), std::string::npos) << d;
}

TEST(ShipConfig, DefaultsPerKind) {
  auto file = ship::ParseSinkConfig(ParseToml("url = \"file:///mnt/archive\""), "a.toml");
  ASSERT_TRUE(file.ok()) << file.status().message();
  EXPECT_EQ(file->kind, ship::SinkKind::kFile);
  EXPECT_EQ(file->file_root, "/mnt/archive");
  EXPECT_TRUE(file->tls_verify);
  EXPECT_EQ(file->object_template, "{run}/{sample}/{file}");
  auto dav = ship::ParseSinkConfig(ParseToml("url = \"https://dav.example.org/seq/\""), "a.toml");
  ASSERT_TRUE(dav.ok());
  EXPECT_EQ(dav->kind, ship::SinkKind::kWebDav);
  EXPECT_EQ(dav->http_base, "https://dav.example.org/seq");
  EXPECT_TRUE(dav->verify_readback);
  auto s3 = ship::ParseSinkConfig(ParseToml("url = \"s3://b\""), "a.toml");
  ASSERT_TRUE(s3.ok());
  EXPECT_FALSE(s3->verify_readback);
  EXPECT_TRUE(s3->tls_verify);
}

TEST(ShipConfig, UnknownKeyNamesFileLineAndKey) {
  auto st = ship::ParseSinkConfig(ParseToml("url = \"file:///x\"\n\nmultipart_treshold = 5\n"), "/etc/cramjetd.toml");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.status().message(), "'/etc/cramjetd.toml': line 3: [archive] multipart_treshold: unknown key");
}

TEST(ShipConfig, BadValuesNameFileLineAndKey) {
  auto size = ship::ParseSinkConfig(ParseToml("url = \"s3://b\"\npart_size = \"lots\"\n"), "d.toml");
  ASSERT_FALSE(size.ok());
  EXPECT_EQ(size.status().message(),
            "'d.toml': line 2: [archive] part_size: expected a size such as 64MiB or a number of bytes");
  auto attempts = ship::ParseSinkConfig(ParseToml("url = \"s3://b\"\nmax_attempts = 0\n"), "d.toml");
  ASSERT_FALSE(attempts.ok());
  EXPECT_EQ(attempts.status().message(), "'d.toml': line 2: [archive] max_attempts: expected an integer from 1 to 1000");
  auto url = ship::ParseSinkConfig(ParseToml("url = \"ftp://x/y\"\n"), "d.toml");
  ASSERT_FALSE(url.ok());
  EXPECT_EQ(url.status().message(),
            "'d.toml': line 1: [archive] url: archive url 'ftp://x/y': expected file://, http://, https:// or s3://");
  auto missing = ship::ParseSinkConfig(ParseToml("region = \"x\"\n"), "d.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("[archive] url: missing"), std::string::npos);
  auto tmpl = ship::ParseSinkConfig(ParseToml("url = \"s3://b\"\nobject_template = \"{run}/{sample}\"\n"), "d.toml");
  ASSERT_FALSE(tmpl.ok());
  EXPECT_EQ(tmpl.status().message(), "'d.toml': line 2: [archive] object_template: must contain {file}");
  // A template that climbs out of the sink's root is refused when the configuration is read
  // (`cramjetd --check-config`), not first when a sample ships (issue 15).
  for (const char* t : {"{run}/../../{file}", "../{file}", "{run}//{file}", "./{file}", "{run}/..{sample}/{file}"}) {
    auto climbing = ship::ParseSinkConfig(ParseToml(std::string("url = \"s3://b\"\nobject_template = \"") + t + "\"\n"),
                                          "d.toml");
    ASSERT_FALSE(climbing.ok()) << t;
    EXPECT_EQ(climbing.status().message(), "'d.toml': line 2: [archive] object_template: parts between '/' must be "
                                           "names or {placeholders}: no empty part, '.' or '..'") << t;
  }
  auto creds = ship::ParseSinkConfig(ParseToml("url = \"https://u:p@host/x\"\n"), "d.toml");
  ASSERT_FALSE(creds.ok());
}

TEST(ShipConfig, LinesSurviveTheDaemonsNodeByNodeCopy) {
  // The daemon copies [archive] without `enabled` into a new table: values lose their source
  // positions there, keys keep theirs.
  auto root = ParseToml("[archive]\nenabled = true\nurl = \"s3://b\"\n\npart_size = -1\n");
  toml::table copy;
  for (const auto& [k, v] : *root["archive"].as_table())
    if (k.str() != "enabled") copy.insert_or_assign(k, v);
  auto st = ship::ParseSinkConfig(copy, "cramjetd.toml");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().message(), "'cramjetd.toml': line 5: [archive] part_size: must be positive");
  auto missing = ship::ParseSinkConfig(toml::table{}, "cramjetd.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "'cramjetd.toml': [archive] url: missing");
}

TEST(ShipConfig, CredentialsFromEnvironmentWhenNotInConfig) {
  ::setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "ENVSECRET", 1);
  ::setenv("AWS_SESSION_TOKEN", "ENVTOKEN", 1);
  auto env = ship::ParseSinkConfig(ParseToml("url = \"s3://b\"\n"), "d.toml");
  auto cfg = ship::ParseSinkConfig(ParseToml("url = \"s3://b\"\naccess_key_id = \"CFG\"\nsecret_access_key = \"S\"\n"), "d.toml");
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  ::unsetenv("AWS_SESSION_TOKEN");
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->credentials.access_key_id, "ENVKEY");
  EXPECT_EQ(env->credentials.secret_access_key, "ENVSECRET");
  EXPECT_EQ(env->credentials.session_token, "ENVTOKEN");
  ASSERT_TRUE(cfg.ok());
  EXPECT_EQ(cfg->credentials.access_key_id, "CFG");
  EXPECT_EQ(cfg->credentials.secret_access_key, "S");
}

// ---- names ----------------------------------------------------------------------------------------
TEST(ShipNames, TemplateSanitisesEveryComponent) {
  ship::SinkConfig config;
  config.object_template = "{instrument}/{run}/L{lane}/{sample}/{file}";
  ship::ShipRequest r;
  r.sample = "../Pat ient#1";
  r.run = "250101_A00785_0042_BHXX";
  r.lane = "2";
  r.instrument = "A00785";
  auto name = ship::RenderObjectName(config, r, "x y.cram");
  ASSERT_TRUE(name.ok()) << name.status().message();
  EXPECT_EQ(*name, "A00785/250101_A00785_0042_BHXX/L2/_Pat_ient_1/x_y.cram");
  EXPECT_EQ(ship::SanitizeNameComponent(".."), "_");
  EXPECT_EQ(ship::SanitizeNameComponent(""), "_");
  EXPECT_EQ(ship::SanitizeNameComponent(".hidden"), "hidden");
  config.object_template = "{run}//{file}";
  EXPECT_FALSE(ship::RenderObjectName(config, r, "a").ok());
  config.object_template = "{flowcell}/{file}";
  auto bad = ship::RenderObjectName(config, r, "a");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("unknown placeholder {flowcell}"), std::string::npos);
  // A drop-folder job has no run (nor lane, instrument): its whole components go, never "_/".
  config.object_template = "{instrument}/{run}/L{lane}/{sample}/{file}";
  ship::ShipRequest drop;
  drop.sample = "S1";
  auto dropped = ship::RenderObjectName(config, drop, "S1.cram");
  ASSERT_TRUE(dropped.ok()) << dropped.status().message();
  EXPECT_EQ(*dropped, "L_/S1/S1.cram");  // "L{lane}" is not a whole component: sanitised as before
  config.object_template = "{run}/{sample}/{file}";
  EXPECT_EQ(*ship::RenderObjectName(config, drop, "S1.cram"), "S1/S1.cram");
}

// ---- manifest ---------------------------------------------------------------------------------------
TEST(ShipManifest, CountsMatchSamtoolsAndFilesListed) {
  TempDir dir;
  auto req = MakeSampleSet(dir.path(), "S1");
  REQUIRE_SAMPLE(req);
  auto counts = ship::CountCramContainers(req.files[0]);
  ASSERT_TRUE(counts.ok()) << counts.status().message();
  std::string fa = ShellQuote(testing::SharedPath("ecoli-mg1655-hiseq/E.coli.fa"));
  auto stats = testing::RunShell("samtools stats --reference " + fa + " " + ShellQuote(req.files[0]) +
                                 " | grep -E '^SN\t(sequences|total length):' | cut -f3");
  ASSERT_EQ(stats.exit_code, 0);
  std::istringstream in(stats.out);
  uint64_t sequences = 0, bases = 0;
  in >> sequences >> bases;
  ASSERT_GT(sequences, 0u);
  EXPECT_EQ(counts->records, sequences);
  EXPECT_EQ(counts->bases, bases);

  std::vector<ship::ShippedFile> files;
  for (const auto& f : req.files) {
    ship::ShippedFile s;
    s.local_path = f;
    s.remote_name = "R/S1/" + std::filesystem::path(f).filename().string();
    s.size = 1;
    s.md5 = Md5OfFile(f);
    files.push_back(s);
  }
  auto text = ship::BuildManifest(req, files);
  ASSERT_TRUE(text.ok()) << text.status().message();
  auto m = nlohmann::json::parse(*text);
  EXPECT_EQ(m["sample"], "S1");
  EXPECT_EQ(m["run"], req.run);
  EXPECT_EQ(m["lane"], "1");
  EXPECT_EQ(m["instrument"], "A00785");
  EXPECT_EQ(m["cram"]["records"].get<uint64_t>(), sequences);
  EXPECT_EQ(m["cram"]["bases"].get<uint64_t>(), bases);
  auto header = testing::RunShell("samtools view -H " + ShellQuote(req.files[0]) + " | grep '^@SQ'");
  ASSERT_FALSE(m["reference"]["contigs"].empty());
  for (const auto& c : m["reference"]["contigs"])
    EXPECT_NE(header.out.find("M5:" + c["M5"].get<std::string>()), std::string::npos);
  EXPECT_EQ(m["reads"].get<uint64_t>(), sequences);  // from the .seqchksum
  ASSERT_EQ(m["files"].size(), req.files.size());
  EXPECT_EQ(m["files"][0]["role"], "cram");
  EXPECT_EQ(m["files"][1]["role"], "index");
  EXPECT_EQ(m["files"][4]["role"], "qc");
  EXPECT_EQ(m["files"][0]["md5"], Md5OfFile(req.files[0]));
  // Deterministic: same inputs, same bytes (a restart ships the identical manifest).
  EXPECT_EQ(*ship::BuildManifest(req, files), *text);

  // What the archive reads back is what was built.
  auto read = ship::ParseManifest(*text, "manifest.json");
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(read->format_version, 1);
  EXPECT_EQ(read->sample, "S1");
  EXPECT_EQ(read->run, req.run);
  EXPECT_EQ(read->records, sequences);
  EXPECT_EQ(read->bases, bases);
  ASSERT_TRUE(read->reads.has_value());
  EXPECT_EQ(*read->reads, sequences);
  ASSERT_EQ(read->contigs.size(), m["reference"]["contigs"].size());
  EXPECT_EQ(read->contigs[0].md5, m["reference"]["contigs"][0]["M5"].get<std::string>());
  ASSERT_EQ(read->files.size(), req.files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    EXPECT_EQ(read->files[i].name, files[i].remote_name);
    EXPECT_EQ(read->files[i].md5, files[i].md5);
    EXPECT_EQ(read->files[i].size, files[i].size);
  }
  EXPECT_EQ(read->files[0].role, "cram");
  // The QC verdict comes from the shipped SAMPLE.qc.json; a release by an operator is recorded.
  EXPECT_EQ(m["qc"], nlohmann::json({{"verdict", "pass"}, {"released_by_operator", false}}));
  EXPECT_EQ(read->qc_verdict, "pass");
  EXPECT_FALSE(read->qc_released);
  ship::ShipRequest released = req;
  released.qc_released = true;
  auto released_text = ship::BuildManifest(released, files);
  ASSERT_TRUE(released_text.ok()) << released_text.status().message();
  EXPECT_TRUE(ship::ParseManifest(*released_text, "manifest.json")->qc_released);
  // A SAMPLE.qc.json that is not a QC document with a verdict is refused, naming it.
  WriteFile(req.files[4], "{\"sample\": \"S1\"}\n");
  auto no_verdict = ship::BuildManifest(req, files);
  ASSERT_FALSE(no_verdict.ok());
  EXPECT_EQ(no_verdict.status().message(),
            "'" + req.files[4] + "': not a cramjet QC document with a verdict of pass, warn or fail");
}

// A hostile S3 server, answered through the sinks' HTTP handling without a network: what it sends
// never throws (an UploadId that is not UTF-8 aborted `cramjet ship` when the job state was
// written: found by tests/fuzz http_replies), is never sent back in a URL unencoded, and reaches
// messages as printable text.
TEST(ShipHostileServer, RepliesThatAreNotTokensAreRefused) {
  TempDir dir;
  const std::string path = dir / "S1.cram";
  WriteFile(path, std::string(700, 'x'));
  ship::internal::LocalFile file{path, 700, Md5OfFile(path)};
  auto config = ship::SinkConfigFromUrl("s3://bucket/prefix");
  ASSERT_TRUE(config.ok()) << config.status().message();
  config->s3_endpoint = "http://s3.invalid";
  config->credentials.access_key_id = "K";
  config->credentials.secret_access_key = "S";
  config->multipart_threshold = 1;
  config->part_size = 256;
  std::vector<ship::internal::RawHttpReply> replies;
  std::vector<std::string> urls;
  config->exchange_for_tests = [&](const ship::internal::HttpRequest& request) -> StatusOr<ship::internal::RawHttpReply> {
    urls.push_back(request.method + " " + request.url);
    if (urls.size() > replies.size()) return Unavailable("no more replies");
    return replies[urls.size() - 1];
  };
  auto sink = ship::internal::MakeSink(*config);
  ASSERT_TRUE(sink.ok()) << sink.status().message();
  const std::string state_dir = dir / "state";
  std::filesystem::create_directories(state_dir);
  ship::internal::JobState state(state_dir);

  replies = {{200, "", "<InitiateMultipartUploadResult><UploadId>u\xfd\xff" "1</UploadId></InitiateMultipartUploadResult>"}};
  Status s = (*sink)->Upload(file, "R1/S1/S1.cram", state);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "http://s3.invalid/bucket/prefix/R1/S1/S1.cram?uploads=: the UploadId in the answer is "
                         "not a token of printable ASCII ('u??1')");

  // A token with URL syntax in it goes back percent-encoded, and a binary error body is shown as '?'.
  urls.clear();
  replies = {{200, "", "<UploadId>a+b=c</UploadId>"},
             {500, "Content-Type: application/xml\r\n", "<Error><Code>Slow\x01" "Down</Code><Message>\xff</Message></Error>"}};
  s = (*sink)->Upload(file, "R1/S1/S1.cram", state);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  ASSERT_EQ(urls.size(), 2u);
  EXPECT_EQ(urls[1], "PUT http://s3.invalid/bucket/prefix/R1/S1/S1.cram?partNumber=1&uploadId=a%2Bb%3Dc");
  EXPECT_EQ(s.message(), "PUT http://s3.invalid/bucket/prefix/R1/S1/S1.cram?partNumber=1&uploadId=a%2Bb%3Dc: HTTP 500 "
                         "(<Error><Code>Slow?Down</Code><Message>?</Message></Error>)");

  // A part ETag that is not a token is refused before it is kept in the job state (a new upload:
  // the one above was resumable and would be resumed).
  state.Erase("multipart", "R1/S1/S1.cram");
  urls.clear();
  replies = {{200, "", "<UploadId>u2</UploadId>"}, {200, "ETag: \"\xe4\"\r\n", ""}};
  s = (*sink)->Upload(file, "R1/S1/S1.cram", state);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("the part's ETag is not a token of printable ASCII ('?')"), std::string::npos) << s.message();

  // A job state damaged on disk (wrong types) is not trusted and does not throw.
  const std::string saved = state.PathFor("multipart", "R1/S1/S1.cram");
  WriteFile(saved, "{\"key\":5,\"upload_id\":[1],\"parts\":\"x\"}");
  urls.clear();
  replies = {};
  s = (*sink)->Upload(file, "R1/S1/S1.cram", state);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);  // no more replies: it started a new upload
  ASSERT_FALSE(urls.empty());
  EXPECT_EQ(urls.back(), "POST http://s3.invalid/bucket/prefix/R1/S1/S1.cram?uploads=");
}

// A delivered manifest comes from outside: each defect is refused with the field that has it.
TEST(ShipManifestReader, RefusesEachDefectNamingTheField) {
  const nlohmann::json good = {
      {"format", "cramjet-manifest"}, {"format_version", 1}, {"sample", "S1"}, {"run", "R1"},
      {"cram", {{"file", "S1.cram"}, {"version", "3.0"}, {"records", 10}, {"bases", 1500}, {"profile", nullptr}}},
      {"reference", {{"name", "ref.fa"}, {"contigs", {{{"SN", "chr1"}, {"LN", 100}, {"M5", std::string(32, 'A')}}}}}},
      {"files", {{{"name", "R1/S1/S1.cram"}, {"role", "cram"}, {"size", 5}, {"md5", std::string(32, 'a')}},
                 {{"name", "R1/S1/S1.cram.crai"}, {"role", "index"}, {"size", 1}, {"md5", std::string(32, 'b')}}}}};
  auto ok = ship::ParseManifest(good.dump(), "d/manifest.json");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->contigs[0].md5, std::string(32, 'a'));  // M5 compared in lower case
  EXPECT_FALSE(ok->reads.has_value());

  struct Case {
    const char* pointer;  // JSON pointer of the field changed
    nlohmann::json value; // its new value (null with remove=true: removed)
    bool remove;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"/format", "other", false, "format: 'other', not 'cramjet-manifest'"},
      {"/format_version", 3, false, "format_version: 3 is newer than this cramjet reads (2): upgrade cramjet"},
      {"/format_version", "1", false, "format_version: is not an integer"},
      {"/sample", nullptr, true, "sample: missing"},
      {"/sample", 7, false, "sample: is number, not a string"},
      {"/cram/records", -1, false, "cram.records: is not a whole number >= 0"},
      {"/cram/bases", 1.5, false, "cram.bases: is not a whole number >= 0"},
      {"/reference/contigs", nlohmann::json::object(), false, "reference.contigs: is not an array"},
      {"/reference/contigs/0/M5", "xyz", false, "reference.contigs[0].M5: 'xyz' is not 32 hexadecimal digits"},
      {"/reference/contigs/0/LN", nullptr, true, "reference.contigs[0].LN: missing"},
      {"/files", nlohmann::json::array(), false, "files: is empty"},
      {"/files/1/name", "../../etc/passwd", false, "files[1].name: '../../etc/passwd' has a '.' or '..' component"},
      {"/files/1/name", "/etc/passwd", false, "files[1].name: '/etc/passwd' is an absolute path"},
      {"/files/1/name", "R1//x", false, "files[1].name: 'R1//x' has an empty path component"},
      {"/files/1/name", "R1/S1/S1.cram", false, "files[1].name: 'R1/S1/S1.cram' is listed twice"},
      {"/files/1/role", "cram", false, "files: 2 files have role 'cram' (one must)"},
      {"/files/1/role", "secret", false, "files[1].role: 'secret' is not one of cram, index, seqchksum, md5, qc"},
      {"/files/1/md5", std::string(32, 'B'), false,
       "files[1].md5: 'BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB' is not 32 lower-case hexadecimal digits"},
      {"/files/1/size", "1", false, "files[1].size: is not a whole number >= 0"},
      {"/files/0", 3, false, "files[0]: is not an object"},
      {"/qc", "fail", false, "qc: is not an object"},
      {"/qc", {{"verdict", "maybe"}}, false, "qc.verdict: is 'maybe', not pass, warn or fail"},
      {"/qc", {{"verdict", "fail"}, {"released_by_operator", 1}}, false, "qc.released_by_operator: is not true or false"},
  };
  for (const Case& c : cases) {
    nlohmann::json bad = good;
    const nlohmann::json::json_pointer ptr(c.pointer);
    if (c.remove) bad[ptr.parent_pointer()].erase(ptr.back());
    else bad[ptr] = c.value;
    auto r = ship::ParseManifest(bad.dump(), "d/manifest.json");
    ASSERT_FALSE(r.ok()) << c.pointer;
    EXPECT_EQ(r.status().code(), StatusCode::kBadInput) << c.pointer;
    EXPECT_EQ(r.status().message(), std::string("d/manifest.json: ") + c.message) << c.pointer;
  }
  EXPECT_EQ(ship::ParseManifest("{\"format\":", "m.json").status().message(), "m.json: not JSON");
  EXPECT_EQ(ship::ParseManifest("[1]", "m.json").status().message(), "m.json: not a JSON object");
}

// ---- file:// sink -------------------------------------------------------------------------------------
class FileSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    archive_ = dir_ / "archive";
    ::mkdir(archive_.c_str(), 0755);
    auto c = ship::SinkConfigFromUrl("file://" + archive_);
    ASSERT_TRUE(c.ok());
    config_ = *c;
    config_.retry.base_backoff_s = 0.01;
    config_.retry.max_backoff_s = 0.02;
  }
  TempDir dir_;
  std::string archive_;
  ship::SinkConfig config_;
};

TEST_F(FileSinkTest, ShipsByteForByteThenNothingTwice) {
  auto req = MakeSampleSet(dir_.path(), "S1");
  REQUIRE_SAMPLE(req);
  std::vector<std::string> before;
  for (const auto& f : req.files) before.push_back(Md5OfFile(f));
  auto result = ship::ShipSample(config_, req);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->uploaded, static_cast<int>(req.files.size()) + 1);
  for (size_t i = 0; i < req.files.size(); ++i) {
    std::string remote = archive_ + "/" + result->files[i].remote_name;
    EXPECT_EQ(ReadFile(remote), ReadFile(req.files[i])) << remote;
    EXPECT_EQ(Md5OfFile(req.files[i]), before[i]) << "local file changed";
  }
  std::string manifest = archive_ + "/" + req.run + "/S1/manifest.json";
  ASSERT_TRUE(testing::PathExists(manifest));
  EXPECT_EQ(nlohmann::json::parse(ReadFile(manifest))["files"].size(), req.files.size());
  // No temporaries left beside the final names.
  for (const auto& f : testing::ListTree(archive_)) EXPECT_EQ(f.find(".tmp."), std::string::npos) << f;
  // Again: everything already there and verified, nothing sent.
  auto again = ship::ShipSample(config_, req);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->uploaded, 0);
  EXPECT_TRUE(ship::VerifyShipped(config_, *again).ok());
  // A damaged archive copy is found by the re-check.
  WriteFile(archive_ + "/" + again->files[2].remote_name, "damaged\n");
  Status damaged = ship::VerifyShipped(config_, *again);
  EXPECT_EQ(damaged.code(), StatusCode::kDataLoss) << damaged.ToString();
}

TEST_F(FileSinkTest, ForeignObjectUnderFinalNameIsNeverOverwritten) {
  auto req = MakeSampleSet(dir_.path(), "S2");
  REQUIRE_SAMPLE(req);
  std::string remote_dir = archive_ + "/" + req.run + "/S2";
  std::filesystem::create_directories(remote_dir);
  WriteFile(remote_dir + "/S2.cram", "someone else's file\n");
  auto result = ship::ShipSample(config_, req);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kFailedPrecondition) << result.status().message();
  EXPECT_NE(result.status().message().find("not overwriting"), std::string::npos);
  EXPECT_EQ(ReadFile(remote_dir + "/S2.cram"), "someone else's file\n");
  EXPECT_FALSE(testing::PathExists(remote_dir + "/manifest.json"));
}

TEST_F(FileSinkTest, OwnUnverifiedCopyIsReplaced) {
  auto req = MakeSampleSet(dir_.path(), "S3");
  REQUIRE_SAMPLE(req);
  ASSERT_TRUE(ship::ShipSample(config_, req).ok());
  // This job wrote it (intent recorded), then the copy got damaged before verification.
  std::string remote = archive_ + "/" + req.run + "/S3/S3.cram";
  WriteFile(remote, "truncated");
  auto result = ship::ShipSample(config_, req);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->uploaded, 1);
  EXPECT_EQ(ReadFile(remote), ReadFile(req.files[0]));
}

TEST_F(FileSinkTest, LocalCramDisagreeingWithItsMd5ShipsNothing) {
  auto req = MakeSampleSet(dir_.path(), "S4");
  REQUIRE_SAMPLE(req);
  WriteFile(req.files[3], "0123456789abcdef0123456789abcdef  S4.cram\n");
  auto result = ship::ShipSample(config_, req);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kDataLoss);
  EXPECT_TRUE(testing::ListTree(archive_).empty());
}

TEST_F(FileSinkTest, MissingArchiveFolderIsRetryableAndLeavesNothing) {
  auto req = MakeSampleSet(dir_.path(), "S5");
  REQUIRE_SAMPLE(req);
  auto c = ship::SinkConfigFromUrl("file://" + dir_.path() + "/not-mounted");
  ASSERT_TRUE(c.ok());
  c->retry = {3, 0.01, 0.02};
  auto result = ship::ShipSample(*c, req);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(result.status().message().find("gave up after 3 attempts"), std::string::npos) << result.status().message();
  EXPECT_FALSE(testing::PathExists(dir_.path() + "/not-mounted"));
}

// `cramjet ship S1.cram` takes S1's QC files by the names compress gives them, never those of a
// sample whose name starts the same (S1_b) in the same folder.
TEST_F(FileSinkTest, CliShipsOnlyThisSamplesQcFiles) {
  auto req = MakeSampleSet(dir_.path(), "S1");
  REQUIRE_SAMPLE(req);
  testing::WriteFile(dir_.path() + "/S1_b.qc.json", "{\"sample\": \"S1_b\"}\n");
  testing::WriteFile(dir_.path() + "/S1_b.multiqc.txt", "S1_b\n");
  testing::WriteFile(dir_.path() + "/S1.notes.txt", "not a QC file compress writes\n");
  auto ok = RunCramjet("ship --to " + ShellQuote("file://" + archive_) + " --run RUN7 " + ShellQuote(req.files[0]));
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  std::vector<std::string> shipped;
  for (const auto& f : testing::ListTree(archive_ + "/RUN7/S1")) shipped.push_back(std::filesystem::path(f).filename());
  std::sort(shipped.begin(), shipped.end());
  const std::vector<std::string> expected = {"S1.cram", "S1.cram.crai", "S1.cram.md5", "S1.cram.seqchksum",
                                             "S1.qc.json", "manifest.json"};
  EXPECT_EQ(shipped, expected);
}

TEST_F(FileSinkTest, CliShipsFromSidecarsAndReportsUsageErrors) {
  auto req = MakeSampleSet(dir_.path(), "S6");
  REQUIRE_SAMPLE(req);
  auto ok = RunCramjet("ship --to " + ShellQuote("file://" + archive_) + " --run RUN9 " + ShellQuote(req.files[0]));
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  for (const auto& f : req.files) {
    std::string remote = archive_ + "/RUN9/S6/" + std::filesystem::path(f).filename().string();
    EXPECT_EQ(ReadFile(remote), ReadFile(f)) << remote;
  }
  EXPECT_TRUE(testing::PathExists(archive_ + "/RUN9/S6/manifest.json"));
  EXPECT_NE(ok.out.find("RUN9/S6/S6.cram\t"), std::string::npos) << ok.out;

  auto no_sink = RunCramjet("ship " + ShellQuote(req.files[0]));
  EXPECT_EQ(no_sink.exit_code, 2);
  EXPECT_EQ(no_sink.err, "cramjet ship: error: give --to URL or --config FILE with an [archive] table\n");
  auto bad_url = RunCramjet("ship --to ftp://x " + ShellQuote(req.files[0]));
  EXPECT_EQ(bad_url.exit_code, 2);
  EXPECT_EQ(bad_url.err, "cramjet ship: error: archive url 'ftp://x': expected file://, http://, https:// or s3://\n");
  WriteFile(dir_ / "bad.toml", "[archive]\nurl = \"file:///x\"\nretries = 3\n");
  auto bad_cfg = RunCramjet("ship --config " + ShellQuote(dir_ / "bad.toml") + " " + ShellQuote(req.files[0]));
  EXPECT_EQ(bad_cfg.exit_code, 2);
  EXPECT_EQ(bad_cfg.err, "cramjet ship: error: '" + (dir_ / "bad.toml") + "': line 3: [archive] retries: unknown key\n");
  auto missing = RunCramjet("ship --to file:///tmp " + ShellQuote(dir_ / "nope.cram"));
  EXPECT_EQ(missing.exit_code, 1);
}

// ---- Crypt4GH in the configuration and the staging folder ------------------------------------------
TEST(ShipConfig, Crypt4ghRecipientsAreReadFromTheConfigFilesFolderAndChecked) {
  TempDir dir;
  ::mkdir((dir / "etc").c_str(), 0755);
  ASSERT_TRUE(crypt4gh::GenerateKeyPair(dir / "etc/a.pub", dir / "a.sec", "").ok());
  ASSERT_TRUE(crypt4gh::GenerateKeyPair(dir / "etc/b.pub", dir / "b.sec", "").ok());
  const std::string source = dir / "etc/cramjetd.toml";
  // Relative paths: from the configuration file's folder.
  auto ok = ship::ParseSinkConfig(
      ParseToml("url = \"file:///x\"\nencrypt = \"crypt4gh\"\ncrypt4gh_recipients = [\"a.pub\", \"b.pub\"]\n"), source);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_TRUE(ok->encryption.crypt4gh);
  EXPECT_EQ(ok->encryption.recipient_files, (std::vector<std::string>{dir / "etc/a.pub", dir / "etc/b.pub"}));
  ASSERT_EQ(ok->encryption.recipients.size(), 2u);
  EXPECT_EQ(ok->encryption.recipients[0], *crypt4gh::ReadPublicKeyFile(dir / "etc/a.pub"));
  // The same key twice (here under two names).
  ASSERT_EQ(::symlink((dir / "etc/a.pub").c_str(), (dir / "etc/a-again.pub").c_str()), 0);
  auto twice = ship::ParseSinkConfig(
      ParseToml("url = \"file:///x\"\nencrypt = \"crypt4gh\"\ncrypt4gh_recipients = [\"a.pub\", \"a-again.pub\"]\n"),
      source);
  EXPECT_EQ(twice.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(twice.status().message(), "'" + source + "': line 3: [archive] crypt4gh_recipients: '" + (dir / "etc/a-again.pub") +
                                          "': the same recipient public key is given twice");
  // Recipients without encrypt, encrypt without recipients.
  auto no_encrypt = ship::ParseSinkConfig(ParseToml("url = \"file:///x\"\ncrypt4gh_recipients = [\"a.pub\"]\n"), source);
  EXPECT_EQ(no_encrypt.status().message(),
            "'" + source + "': line 2: [archive] crypt4gh_recipients: given without encrypt = \"crypt4gh\"");
  auto no_recipients = ship::ParseSinkConfig(ParseToml("url = \"file:///x\"\nencrypt = \"crypt4gh\"\n"), source);
  EXPECT_EQ(no_recipients.status().message(),
            "'" + source + "': line 1: [archive] crypt4gh_recipients: encrypt = \"crypt4gh\" needs at least one public key file");
  // An all-zero public key (a low-order point): refused when the configuration is read.
  WriteFile(dir / "etc/zero.pub", crypt4gh::EncodePublicKey(crypt4gh::Key{}));
  auto zero = ship::ParseSinkConfig(
      ParseToml("url = \"file:///x\"\nencrypt = \"crypt4gh\"\ncrypt4gh_recipients = [\"zero.pub\"]\n"), source);
  EXPECT_EQ(zero.status().message(), "'" + source + "': line 3: [archive] crypt4gh_recipients: '" + (dir / "etc/zero.pub") +
                                         "': the Crypt4GH public key " + crypt4gh::KeyBase64(crypt4gh::Key{}) +
                                         " is a low-order X25519 point (every shared secret with it is zero): not a "
                                         "usable recipient");
  // /dev/zero as a recipient key: refused, not read forever.
  auto dev = ship::ParseSinkConfig(
      ParseToml("url = \"file:///x\"\nencrypt = \"crypt4gh\"\ncrypt4gh_recipients = [\"/dev/zero\"]\n"), source);
  EXPECT_EQ(dev.status().message(), "'" + source + "': line 3: [archive] crypt4gh_recipients: '/dev/zero': not a Crypt4GH public "
                                        "key (not a regular file)");
}

TEST_F(FileSinkTest, AnEncryptedShipRemovesTemporariesOfDeadProcessesOnly) {
  auto req = MakeSampleSet(dir_.path(), "S9");
  REQUIRE_SAMPLE(req);
  ASSERT_TRUE(crypt4gh::GenerateKeyPair(dir_ / "r.pub", dir_ / "r.sec", "").ok());
  ASSERT_TRUE(ship::SetCrypt4ghRecipients(config_, {dir_ / "r.pub"}).ok());
  const std::string stage = req.state_dir + "/crypt4gh";
  std::filesystem::create_directories(stage);
  // The pid of a child already reaped: no such process any more.
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  const std::string dead = stage + "/.S9.cram.c4gh.tmp." + std::to_string(child) + ".0123abcd";
  const std::string live = stage + "/.S9.cram.c4gh.tmp." + std::to_string(::getppid()) + ".0123abcd";
  WriteFile(dead, "half a ciphertext");
  WriteFile(live, "another process's ciphertext");
  auto result = ship::ShipSample(config_, req);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_FALSE(testing::PathExists(dead));
  EXPECT_TRUE(testing::PathExists(live));
}

}  // namespace
}  // namespace cramjet
