// Every parser of outside input against deterministic mutations of good inputs (issue 15): each
// input is accepted or refused with a message; none throws, crashes or (under the ASan+UBSan
// build) touches memory it does not own. The seeds are the shapes real instruments and
// operators write; the mutations are those that found bugs before (huge numbers, cut files,
// doubled separators, wrong types in JSON).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "parser_harnesses.h"

namespace cramjet::fuzz {
namespace {

using cramjet::testing::TempDir;

// xorshift64*: the same mutations in every run, so a failure names a reproducible input.
class Mutator {
 public:
  explicit Mutator(uint64_t seed) : state_(seed * 0x9e3779b97f4a7c15ull + 1) {}
  std::string Mutate(const std::string& seed, const std::vector<std::string>& tokens) {
    std::string s = seed;
    const int steps = 1 + static_cast<int>(Next() % 4);
    for (int k = 0; k < steps; ++k) {
      const size_t at = s.empty() ? 0 : Next() % (s.size() + 1);
      switch (Next() % 7) {
        case 0:  // flip a byte
          if (!s.empty()) s[at % s.size()] = static_cast<char>(Next());
          break;
        case 1:  // insert a token that parsers treat specially
          s.insert(at, tokens[Next() % tokens.size()]);
          break;
        case 2:  // cut the end off (a truncated file)
          s.resize(at);
          break;
        case 3: {  // delete a range
          const size_t n = Next() % 16;
          s.erase(at, n);
          break;
        }
        case 4: {  // duplicate a range
          const size_t n = std::min<size_t>(Next() % 64, s.size() - std::min(at, s.size()));
          s.insert(at, s.substr(at, n));
          break;
        }
        case 5:  // a control or high byte
          s.insert(at, 1, static_cast<char>(Next() % 2 ? Next() % 32 : 128 + Next() % 128));
          break;
        default:  // a run of digits too long for any integer
          s.insert(at, "99999999999999999999999");
          break;
      }
    }
    return s;
  }

 private:
  uint64_t Next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 2685821657736338717ull;
  }
  uint64_t state_;
};

const std::vector<std::string> kTokens = {",", "\n", "\r\n", "[", "]", "\"", "=", ":", "{", "}", "-1", "0", "..",
                                          "/", "\\", "<", ">", "'", "#", "\t", " ", "[Data]", "nan", "1e999"};

// Runs `harness` over `mutations` mutations of each seed. `names` must appear in every refusal
// (an error must say which file), unless empty.
template <typename Harness>
void ExpectNoInputStopsIt(const std::vector<std::string>& seeds, Harness harness, const std::string& names,
                          int mutations = 1500) {
  Mutator m(seeds.size() * 7919 + names.size());
  int accepted = 0, refused = 0;
  for (const std::string& seed : seeds) {
    for (int i = 0; i <= mutations; ++i) {
      const std::string input = i == 0 ? seed : m.Mutate(seed, kTokens);
      Outcome o;
      try {
        o = harness(input);
      } catch (const std::exception& e) {
        ADD_FAILURE() << "threw " << e.what() << " on input:\n" << input;
        return;
      }
      if (o.accepted) {
        ++accepted;
      } else {
        ++refused;
        if (o.refusal.empty()) {
          ADD_FAILURE() << "refused without a message, input:\n" << input;
          return;
        }
        if (!names.empty() && o.refusal.find(names) == std::string::npos) {
          ADD_FAILURE() << "refusal does not name " << names << ": " << o.refusal << "\ninput:\n" << input;
          return;
        }
      }
    }
  }
  // The seeds themselves are good, and the mutations reach the refusals.
  EXPECT_GE(accepted, static_cast<int>(seeds.size()));
  EXPECT_GT(refused, 0);
}

TEST(ParserProperty, SampleSheets) {
  ExpectNoInputStopsIt(
      {"[Header]\nIEMFileVersion,4\n\n[Reads]\n151\n151\n\n[Data]\nLane,Sample_ID,Sample_Name,index\n1,S1,S1,ACGT\n2,S2,,TTTT\n",
       "\xEF\xBB\xBF[Header]\r\nFileFormatVersion,2\r\n[BCLConvert_Settings]\r\nAdapterRead1,CTGTCTCTTATACACATCT\r\n"
       "[BCLConvert_Data]\r\nSample_ID,Index,Reference\r\nNA12878-1,ACGTACGT,hg38\r\n\"B,2\",TTGGCCAA,,,\r\n"},
      [](const std::string& s) { return SampleSheet(s); }, "SampleSheet.csv");
}

TEST(ParserProperty, RunInfoXml) {
  ExpectNoInputStopsIt(
      {"<?xml version=\"1.0\"?>\n<RunInfo Version=\"6\"><Run Id=\"240101_A00123_0042_AHDEMODSX3\" Number=\"42\">"
       "<Flowcell>AHDEMODSX3</Flowcell><Instrument>A00123</Instrument><Date>1/1/2024</Date><Reads>"
       "<Read Number=\"1\" NumCycles=\"151\" IsIndexedRead=\"N\"/><Read Number=\"2\" NumCycles=\"8\" IsIndexedRead=\"Y\"/>"
       "</Reads><FlowcellLayout LaneCount=\"4\" SurfaceCount=\"2\"/></Run></RunInfo>\n"},
      [](const std::string& s) { return RunInfo(s); }, "RunInfo.xml");
}

TEST(ParserProperty, DaemonConfig) {
  ExpectNoInputStopsIt(
      {"state_dir = \"/var/lib/cramjet\"\nlog_level = \"info\"\n[api]\nsocket = \"/run/cramjet/api.sock\"\n"
       "[metrics]\nlisten = \"127.0.0.1:9464\"\n[[watch]]\npath = \"/runs\"\noutput = \"/out\"\nreference = \"hg38\"\n"
       "[references]\nhg38 = \"/ref/hg38.fa\"\n[jobs]\nmax_jobs = 2\nthreads_per_job = 4\n[cleanup]\npolicy = \"keep\"\n"},
      [](const std::string& s) { return DaemonConfig(s); }, "cramjetd.toml");
}

TEST(ParserProperty, SinkConfig) {
  ExpectNoInputStopsIt({"url = \"s3://bucket/prefix\"\nendpoint = \"http://127.0.0.1:9000\"\naccess_key_id = \"K\"\n"
                        "secret_access_key = \"S\"\nmultipart_threshold = \"1MiB\"\npart_size = \"256KiB\"\n"
                        "object_template = \"{run}/{sample}/{file}\"\nmax_attempts = 5\n",
                        "url = \"https://dav.example/archive\"\nusername = \"u\"\npassword = \"p\"\nverify_readback = false\n"},
                       [](const std::string& s) { return SinkConfig(s); }, "");
}

TEST(ParserProperty, SeqchksumAndMd5Files) {
  const std::string sums = ReadChecksums("*").ToText("x.cram");
  ExpectNoInputStopsIt({sums}, [](const std::string& s) { return Seqchksum(s); }, "x.cram.seqchksum");
  ExpectNoInputStopsIt({"0123456789abcdef0123456789abcdef  x.cram\n"}, [](const std::string& s) { return Md5File(s); },
                       "x.cram.md5");
}

TEST(ParserProperty, QcConfig) {
  TempDir dir;
  ExpectNoInputStopsIt({"[thresholds.q30_percent]\nwarn = 90\nfail = 80\n\n[thresholds]\nadapter_percent = { warn = 2, fail = 5 }\n"},
                       [&](const std::string& s) { return QcConfig(dir.path(), s); }, "qc.toml", 600);
}

TEST(ParserProperty, ApiRequests) {
  TempDir dir;
  ApiHarness api(dir.path());
  ASSERT_TRUE(api.ready());
  ExpectNoInputStopsIt({"{\"method\":\"status\"}\n", "{\"method\":\"jobs\",\"params\":{\"state\":\"queued\",\"limit\":5}}\n",
                        "{\"api_version\":1,\"method\":\"job\",\"params\":{\"id\":1}}\n",
                        "{\"method\":\"retry\",\"params\":{\"id\":1}}\n", "{\"method\":\"pause\"}\n",
                        "{\"method\":\"submit\",\"params\":{\"path\":\"/runs/r1\"}}\n"},
                       [&](const std::string& s) {
                         Outcome o = api.Request(s);
                         api.Reset();
                         if (!o.accepted && o.refusal.rfind("NOT JSON", 0) == 0)
                           throw std::runtime_error(o.refusal);  // the reply itself broke
                         return o;
                       },
                       "", 800);
}

TEST(ParserProperty, ManifestFiles) {
  const std::string md5(32, 'a');
  ExpectNoInputStopsIt(
      {"{\"format\":\"cramjet-manifest\",\"format_version\":1,\"sample\":\"S1\",\"run\":\"R1\",\"lane\":\"1\","
       "\"tool\":{\"name\":\"cramjet\",\"version\":\"0.9\"},\"cram\":{\"file\":\"S1.cram\",\"version\":\"3.0\","
       "\"records\":10,\"bases\":1500,\"profile\":null},\"reads\":10,\"reference\":{\"name\":\"ref.fa\",\"contigs\":"
       "[{\"SN\":\"chr1\",\"LN\":100,\"M5\":\"" + md5 + "\",\"UR\":\"file:ref.fa\"}]},\"files\":[{\"name\":\"R1/S1/S1.cram\","
       "\"local_name\":\"S1.cram\",\"role\":\"cram\",\"size\":5,\"md5\":\"" + md5 + "\"},{\"name\":\"R1/S1/S1.cram.crai\","
       "\"role\":\"index\",\"size\":1,\"md5\":\"" + md5 + "\"}]}\n"},
      [](const std::string& s) { return Manifest(s); }, "manifest.json");
}

// Scripts of server replies: one that the WebDAV sink accepts, one the S3 sink accepts.
std::vector<std::string> HttpSeedScripts(const std::string& md5) {
  const std::string sep = "\n====\n";
  return {"200\nContent-Length: 700\n\n" + sep + "200\nContent-Length: 700\n\n" + std::string() + sep + "201\n\n" + sep +
              "405\n\n" + sep + "201\nContent-Length: 0\n\n",
          "200\nContent-Length: 700\nx-amz-meta-cramjet-md5: " + md5 + "\nETag: \"" + md5 + "\"\n\n" + sep +
              "200\n\n<InitiateMultipartUploadResult><UploadId>u1</UploadId></InitiateMultipartUploadResult>" + sep +
              "200\nETag: \"p1\"\n\n" + sep + "200\nETag: \"p2\"\n\n" + sep + "200\nETag: \"p3\"\n\n" + sep +
              "200\n\n<CompleteMultipartUploadResult><ETag>\"x-3\"</ETag></CompleteMultipartUploadResult>"};
}

TEST(ParserProperty, SinkHttpReplies) {
  TempDir dir;
  HttpHarness http(dir.path());
  for (const std::string& script : HttpSeedScripts(http.file_md5()))
    EXPECT_TRUE(http.Replies(script).accepted) << http.Replies(script).refusal << "\nscript:\n" << script;
  ExpectNoInputStopsIt(HttpSeedScripts(http.file_md5()), [&](const std::string& s) { return http.Replies(s); }, "", 500);
}

// The conformance suite's SAM, BAM and CRAM files (3.0, 3.1, every codec), mutated.
TEST(ParserProperty, AlignmentFilesThroughOurReader) {
  const std::string root = cramjet::testing::SharedPath("cram-conformance/test");
  if (!std::filesystem::is_directory(root)) GTEST_SKIP() << "shared data not found: " << root;
  std::vector<std::string> seeds;
  for (const char* folder : {"cram/3.0/passed", "cram/3.1/passed", "bam/passed", "sam/passed"}) {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(root + "/" + folder))
      if (e.file_size() <= 16384 && (e.path().extension() == ".cram" || e.path().extension() == ".bam" ||
                                     e.path().extension() == ".sam"))
        names.push_back(e.path().string());
    std::sort(names.begin(), names.end());
    for (size_t i = 0; i < names.size() && i < 6; ++i) seeds.push_back(cramjet::testing::ReadFile(names[i]));
  }
  ASSERT_GE(seeds.size(), 8u);
  TempDir dir;
  AlignmentHarness reader(dir.path(), root + "/cram/ce.fa");
  ExpectNoInputStopsIt(seeds, [&](const std::string& s) { return reader.Read(s); }, "", 200);
}

// Every file of the libFuzzer seed corpora (tests/fuzz/corpus/<target>), findings included, through
// its harness: accepted or refused with a message, never a throw.
TEST(ParserProperty, CorporaReplayAsRegressionInputs) {
  TempDir dir;
  ApiHarness api(dir.path());
  ASSERT_TRUE(api.ready());
  HttpHarness http(dir.path());
  AlignmentHarness alignment(dir.path(), cramjet::testing::SharedPath("cram-conformance/test/cram/ce.fa"));
  const std::map<std::string, std::function<Outcome(const std::string&)>> harnesses = {
      {"sample_sheet", [](const std::string& s) { return SampleSheet(s); }},
      {"run_info", [](const std::string& s) { return RunInfo(s); }},
      {"daemon_config", [](const std::string& s) { return DaemonConfig(s); }},
      {"sink_config", [](const std::string& s) { return SinkConfig(s); }},
      {"seqchksum", [](const std::string& s) { return Seqchksum(s); }},
      {"md5_file", [](const std::string& s) { return Md5File(s); }},
      {"qc_config", [&](const std::string& s) { return QcConfig(dir.path(), s); }},
      {"api_request", [&](const std::string& s) { Outcome o = api.Request(s); api.Reset(); return o; }},
      {"manifest", [](const std::string& s) { return Manifest(s); }},
      {"http_replies", [&](const std::string& s) { return http.Replies(s); }},
      {"alignment", [&](const std::string& s) { return alignment.Read(s); }},
  };
  int replayed = 0;
  for (const auto& [target, harness] : harnesses) {
    const std::string folder = std::string(CRAMJET_FUZZ_CORPUS_ROOT) + "/" + target;
    ASSERT_TRUE(std::filesystem::is_directory(folder)) << folder;
    for (const auto& e : std::filesystem::directory_iterator(folder)) {
      const std::string input = cramjet::testing::ReadFile(e.path().string());
      Outcome o;
      try {
        o = harness(input);
      } catch (const std::exception& ex) {
        ADD_FAILURE() << e.path() << " threw " << ex.what();
        continue;
      }
      EXPECT_TRUE(o.accepted || !o.refusal.empty()) << e.path() << ": refused without a message";
      EXPECT_NE(o.refusal.rfind("NOT JSON", 0), 0u) << e.path() << ": " << o.refusal;
      ++replayed;
    }
  }
  EXPECT_GE(replayed, 20);
}

}  // namespace
}  // namespace cramjet::fuzz
