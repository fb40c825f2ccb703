// The score-only alignment pass on the device (DeviceBackend::ScoreBanded: the alignment kernel
// with its traces left unwalked) gives the full alignment's scores, and a best cell outside the
// band is caught like a bad trace.
#include <gtest/gtest.h>

#include "common/kernel_cases.h"
#include "device_backends.h"

namespace cramjet {
namespace {

using backend_internal::DeviceFailurePolicy;
using backend_internal::DeviceKernel;
using testing::AlignCase;
using testing::DeviceBackends;
using testing::Fault;
using testing::FaultyRunner;
using testing::Faulty;
using testing::Scalar;

std::vector<int32_t> FullScores(const AlignCase& c) {
  AlignOutput full;
  EXPECT_TRUE(Scalar()->AlignBanded(c.jobs.data(), c.jobs.size(), full).ok());
  std::vector<int32_t> scores;
  for (const AlignResult& r : full.results) scores.push_back(r.score);
  return scores;
}

std::vector<int32_t> ScoresOf(const Backend& backend, const AlignJob* jobs, size_t count, Status* status = nullptr) {
  std::vector<int32_t> scores(count, -1);
  const Status s = backend.ScoreBanded(jobs, count, scores.data());
  if (status) *status = s; else EXPECT_TRUE(s.ok()) << s.ToString();
  return scores;
}

TEST(DeviceBackendTest, ScoreOnlyGivesTheFullAlignmentsScore) {
  const AlignCase few(3), many(29, 800, 12);
  const auto want_few = FullScores(few), want_many = FullScores(many);
  ASSERT_GT(want_few[5], 16000);  // the longest job really aligned
  for (auto& [name, backend] : DeviceBackends()) {
    SCOPED_TRACE(name);
    EXPECT_EQ(ScoresOf(*backend, few.jobs.data(), few.jobs.size()), want_few);
    EXPECT_EQ(ScoresOf(*backend, many.jobs.data(), many.jobs.size()), want_many);
    // Nothing to send (every job empty or over the maximum length): scores 0.
    const AlignJob skipped[] = {few.jobs[6], few.jobs.back()};
    EXPECT_EQ(ScoresOf(*backend, skipped, 2), (std::vector<int32_t>{0, 0}));
  }
}

TEST(DeviceFailureTest, ScoreOnlyCatchesABestCellOutsideTheBandAndFallsBack) {
  const AlignCase c;
  const auto want = FullScores(c);
  auto corrupt = [](DeviceKernel k, std::vector<backend_internal::DeviceArg>& args) {
    if (k == DeviceKernel::kAlign) static_cast<int32_t*>(args[4].out)[2] = CJ_BAND_WIDTH;  // its diagonal
  };
  Status status;
  ScoresOf(*Faulty({Fault::Kind::kCorrupt, 0, corrupt}, DeviceFailurePolicy::kFail), c.jobs.data(), c.jobs.size(),
           &status);
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(status.message(),
            "cramjet_align on faulty(hls-csim): the device returned an alignment whose best cell lies outside the band");
  FaultyRunner* runner = nullptr;
  auto fallback = Faulty({Fault::Kind::kCorrupt, 1, corrupt}, DeviceFailurePolicy::kFallBack, &runner);
  EXPECT_EQ(ScoresOf(*fallback, c.jobs.data(), c.jobs.size()), want);
  EXPECT_GE(runner->calls(), 2u);
}

}  // namespace
}  // namespace cramjet
