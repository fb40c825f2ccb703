// The API's method table without a socket: every request a client can send, well-formed or not,
// gets one reply object with the exact error; none can throw inside the daemon's API thread.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/test_util.h"
#include "daemon/api_server.h"
#include "daemon/metrics.h"

namespace cramjet::daemon {
namespace {

using json = nlohmann::json;
using cramjet::testing::TempDir;

void AddEventOrFail(const Status& s) { ASSERT_TRUE(s.ok()) << s.message(); }

class ApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto j = Journal::Open(dir_ / "journal.sqlite");
    ASSERT_TRUE(j.ok()) << j.status().message();
    journal_ = std::move(*j);
    Job a;
    a.key = "drop:/drop/a";
    a.origin = "drop";
    a.sample = "A";
    a.inputs = {"/drop/a.fq.gz"};
    a.output = "/out/A.cram";
    ASSERT_TRUE(journal_->AddJobs({a}, "").ok());
    context_ = std::make_unique<DaemonContext>(config_, stages_, *journal_);
    runner_ = std::make_unique<JobRunner>(*context_);
    intake_ = std::make_unique<IntakeScanner>(*context_, [] {});
    api_ = std::make_unique<ApiServer>(*context_, *intake_, *runner_);
  }
  json Reply(const std::string& line) {
    const std::string out = api_->HandleLine(line);
    EXPECT_FALSE(out.empty());
    EXPECT_EQ(out.back(), '\n');
    return json::parse(out);
  }
  std::string Error(const std::string& line) {
    json r = Reply(line);
    EXPECT_EQ(r["ok"], false) << r.dump();
    return r["error"]["code"].get<std::string>() + ": " + r["error"]["message"].get<std::string>();
  }

  TempDir dir_;
  DaemonConfig config_;
  StageFunctions stages_;
  std::unique_ptr<Journal> journal_;
  std::unique_ptr<DaemonContext> context_;
  std::unique_ptr<JobRunner> runner_;
  std::unique_ptr<IntakeScanner> intake_;
  std::unique_ptr<ApiServer> api_;
};

TEST_F(ApiServerTest, MalformedRequestsGetExactErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not json", "invalid_argument: request is not valid JSON"},
      {"[1,2]", "invalid_argument: request must be a JSON object with a \"method\""},
      {R"({"method": 7})", "invalid_argument: request must be a JSON object with a \"method\""},
      {R"({"method": "status", "api_version": "1"})", "invalid_argument: api_version \"1\" is not served (this daemon: 1)"},
      {R"({"method": "status", "api_version": 99})", "invalid_argument: api_version 99 is not served (this daemon: 1)"},
      {R"({"method": "jobs", "params": [1]})", "invalid_argument: params must be a JSON object"},
      {R"({"method": "reboot"})", "invalid_argument: unknown method 'reboot'"},
      {R"({"method": "jobs", "params": {"state": "paused"}})", "invalid_argument: state must be queued, running, failed, done or held"},
      {R"({"method": "jobs", "params": {"state": 3}})", "invalid_argument: state must be queued, running, failed, done or held"},
      {R"({"method": "jobs", "params": {"limit": "ten"}})", "invalid_argument: params.limit must be an integer"},
      {R"({"method": "job", "params": {}})", "invalid_argument: params.id (integer) is required"},
      {R"({"method": "job", "params": {"id": "1"}})", "invalid_argument: params.id (integer) is required"},
      {R"({"method": "job", "params": {"id": 42}})", "not_found: no job 42"},
      {R"({"method": "submit", "params": {"path": 5}})", "invalid_argument: params.path is required"},
      {R"({"method": "submit", "params": {"path": "runs/r1"}})", "invalid_argument: path must be absolute: 'runs/r1'"},
  };
  for (const auto& [line, expected] : cases) EXPECT_EQ(Error(line), expected) << line;
}

// Error text from outside (a hostile archive's reply body, a Latin-1 file name) need not be
// UTF-8; the journal keeps it and the API still answers (a JSON reply cannot hold such bytes:
// shown as U+FFFD). Before, json::dump threw: `jobs` failed for as long as the job was listed.
TEST_F(ApiServerTest, ErrorTextThatIsNotUtf8StillGetsAReply) {
  auto job = journal_->GetJob(1);
  ASSERT_TRUE(job.ok()) << job.status().message();
  job->last_error = "PUT http://dav/x: HTTP 500 (\xfd\xff)";
  job->extra["ship"]["note"] = "Probe_\xe4";
  ASSERT_TRUE(journal_->Save(*job).ok());
  AddEventOrFail(journal_->AddEvent(1, "ship", "server said \xfe"));
  for (const char* line : {R"({"method": "jobs"})", R"({"method": "job", "params": {"id": 1}})", R"({"method": "status"})"}) {
    json r = Reply(line);
    EXPECT_EQ(r["ok"], true) << line << ": " << r.dump();
  }
  json one = Reply(R"({"method": "job", "params": {"id": 1}})");
  EXPECT_NE(one.dump().find("HTTP 500 (\xef\xbf\xbd\xef\xbf\xbd)"), std::string::npos) << one.dump();
}

TEST_F(ApiServerTest, MethodsOfEachFamilyAnswer) {
  json status = Reply(R"({"method": "status"})");
  ASSERT_EQ(status["ok"], true) << status.dump();
  EXPECT_EQ(status["result"]["jobs"]["queued"], 1);
  EXPECT_EQ(status["result"]["state"], "running");
  EXPECT_EQ(status["api_version"], 1);

  json jobs = Reply(R"({"method": "jobs", "params": {"state": "queued", "limit": 5}})");
  ASSERT_EQ(jobs["ok"], true);
  ASSERT_EQ(jobs["result"]["jobs"].size(), 1u);
  EXPECT_EQ(jobs["result"]["jobs"][0]["stage"], "compress");
  json job = Reply(R"({"method": "job", "params": {"id": 1}})");
  ASSERT_EQ(job["ok"], true);
  EXPECT_EQ(job["result"]["events"][0]["stage"], "intake");

  EXPECT_EQ(Reply(R"({"method": "pause"})")["result"]["state"], "paused");
  EXPECT_TRUE(context_->paused);
  EXPECT_EQ(*journal_->GetSetting("paused"), "1");
  EXPECT_EQ(Reply(R"({"method": "resume"})")["result"]["state"], "running");
  EXPECT_EQ(*journal_->GetSetting("paused"), "0");

  // retry: only failed or waiting jobs.
  auto done = journal_->GetJob(1);
  ASSERT_TRUE(done.ok());
  done->state = JobState::kDone;
  done->stage = Stage::kDone;
  ASSERT_TRUE(journal_->Save(*done).ok());
  EXPECT_EQ(Error(R"({"method": "retry", "params": {"id": 1}})"),
            "failed_precondition: job 1 is done; only failed or waiting jobs, and running ones whose stage waits on a Slurm job, are retried");
  done->state = JobState::kFailed;
  done->stage = Stage::kShip;
  done->attempts = 3;
  ASSERT_TRUE(journal_->Save(*done).ok());
  json retried = Reply(R"({"method": "retry", "params": {"id": 1}})");
  ASSERT_EQ(retried["ok"], true) << retried.dump();
  EXPECT_EQ(retried["result"]["state"], "queued");
  EXPECT_EQ(retried["result"]["attempts"], 3);  // the history stays; the limit counts from here
  EXPECT_EQ(retried["result"]["extra"]["attempts_at_retry"], 3);
  EXPECT_EQ(retried["result"]["stage"], "ship");

  EXPECT_EQ(Reply(R"({"method": "drain"})")["result"]["state"], "draining");
  EXPECT_TRUE(context_->draining);
  EXPECT_EQ(api_->requests_total(), 8u);
}

TEST_F(ApiServerTest, MetricsNameEveryStageAndState) {
  MetricsEndpoint metrics(*context_, *intake_, *runner_, *api_);
  const std::string text = metrics.Text();
  for (Stage s : kJobStages)
    EXPECT_NE(text.find(std::string("cramjet_stage_runs_total{stage=\"") + StageName(s) + "\"} 0"),
              std::string::npos) << StageName(s);
  EXPECT_NE(text.find("cramjet_jobs{state=\"queued\"} 1"), std::string::npos) << text;
  EXPECT_EQ(metrics.HandleHttp("GET /livez HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_EQ(metrics.HandleHttp("POST /metrics HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 405 ", 0), 0u);
  EXPECT_EQ(metrics.HandleHttp("GET /nope HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 404 ", 0), 0u);
  EXPECT_EQ(metrics.HandleHttp("garbage").rfind("HTTP/1.1 405 ", 0), 0u);
  EXPECT_TRUE(MetricsEndpoint::RequestComplete("GET / HTTP/1.1\r\n\r\n"));
  EXPECT_FALSE(MetricsEndpoint::RequestComplete("GET / HTTP/1.1\r\n"));
  context_->stopping = true;
  const std::string ready = metrics.HandleHttp("GET /readyz HTTP/1.1\r\n\r\n");
  EXPECT_EQ(ready.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0), 0u) << ready;
  EXPECT_NE(ready.find("\r\n\r\nstopping\n"), std::string::npos);
}

}  // namespace
}  // namespace cramjet::daemon
