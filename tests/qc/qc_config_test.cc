// The QC config: defaults, overrides, and refusals that name the file, the key and the reason.
#include <gtest/gtest.h>

#include "common/test_util.h"
#include "qc/qc.h"

namespace cramjet {
namespace {

using testing::TempDir;
using testing::WriteFile;

StatusOr<QcThresholds> LoadText(const TempDir& dir, const std::string& text) {
  WriteFile(dir / "qc.toml", text);
  return LoadQcThresholds(dir / "qc.toml");
}

TEST(QcConfig, DefaultsAreFastqcLimitsAndRunCriteria) {
  const QcThresholds t = DefaultQcThresholds();
  ASSERT_NE(t.Find("q30_percent"), nullptr);
  EXPECT_EQ(t.Find("q30_percent")->warn, 85);
  EXPECT_EQ(t.Find("adapter_percent")->warn, 5);
  EXPECT_EQ(t.Find("adapter_percent")->fail, 10);
  EXPECT_EQ(t.Find("per_cycle_quality_lower_quartile")->warn, 10);
  EXPECT_EQ(t.Find("per_cycle_quality_median")->fail, 20);
  EXPECT_EQ(t.Find("nonexistent"), nullptr);
  EXPECT_EQ(JudgeQcValue(*t.Find("q30_percent"), 90), QcVerdict::kPass);
  EXPECT_EQ(JudgeQcValue(*t.Find("q30_percent"), 80), QcVerdict::kWarn);
  EXPECT_EQ(JudgeQcValue(*t.Find("q30_percent"), 70), QcVerdict::kFail);
  EXPECT_EQ(JudgeQcValue(*t.Find("adapter_percent"), 6), QcVerdict::kWarn);
  EXPECT_EQ(JudgeQcValue(*t.Find("adapter_percent"), 11), QcVerdict::kFail);
}

TEST(QcConfig, OverridesReplaceDefaults) {
  TempDir dir;
  auto t = LoadText(dir, "[thresholds.q30_percent]\nwarn = 90\nfail = 80.5\n\n[thresholds]\nadapter_percent = { warn = 1, fail = 2 }\n");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->Find("q30_percent")->warn, 90);
  EXPECT_EQ(t->Find("q30_percent")->fail, 80.5);
  EXPECT_EQ(t->Find("adapter_percent")->fail, 2);
  EXPECT_EQ(t->Find("duplication_percent")->warn, 30);  // untouched
}

TEST(QcConfig, RefusesUnknownAndImpossible) {
  TempDir dir;
  // Appended step by step: GCC 12's -Wrestrict misfires on "'" + std::string + "'".
  std::string file = "'";
  file += dir / "qc.toml";
  file += "'";
  struct Case { std::string text, message; };
  const std::vector<Case> cases = {
      {"[threshold.q30_percent]\nwarn = 90\n", file + ": unknown key 'threshold' (the QC config has one table, [thresholds])"},
      {"[thresholds.q31_percent]\nwarn = 90\n", file + ": unknown key 'thresholds.q31_percent' (known metrics: "},
      {"[thresholds.q30_percent]\nwarning = 90\n", file + ": unknown key 'thresholds.q30_percent.warning' (expected warn or fail)"},
      {"[thresholds.q30_percent]\nwarn = 101\n", file + ": 'thresholds.q30_percent.warn' = 101 is impossible (must be 0 to 100)"},
      {"[thresholds.q30_percent]\nwarn = 70\nfail = 80\n",
       file + ": 'thresholds.q30_percent': warn (70) is below fail (80); higher is better for this metric, so warn must be >= fail"},
      {"[thresholds.adapter_percent]\nwarn = 20\n",
       file + ": 'thresholds.adapter_percent': warn (20) is above fail (10); lower is better for this metric, so warn must be <= fail"},
      {"[thresholds.q30_percent]\nwarn = \"high\"\n", file + ": 'thresholds.q30_percent.warn' must be a number"},
      {"[thresholds.q30_percent]\nwarn = -1\n", file + ": 'thresholds.q30_percent.warn' = -1 is impossible (must be 0 to 100)"},
      {"[thresholds.q30_percent\nwarn = 1\n", file + ": line 1, column "},
  };
  for (const auto& c : cases) {
    auto t = LoadText(dir, c.text);
    ASSERT_FALSE(t.ok()) << c.text;
    EXPECT_EQ(t.status().code(), StatusCode::kBadInput);
    EXPECT_EQ(t.status().message().substr(0, c.message.size()), c.message) << t.status().message();
  }
}

TEST(QcConfig, MissingFileIsNamed) {
  TempDir dir;
  auto t = LoadQcThresholds(dir / "absent.toml");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("absent.toml"), std::string::npos);
}

}  // namespace
}  // namespace cramjet
