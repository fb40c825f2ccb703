// QC thresholds: defaults and the TOML config that replaces them (docs/qc.md, "Configuration").
#include <cmath>
#include <sstream>

#include <toml++/toml.h>

#include "qc/qc.h"

namespace cramjet {

const QcThreshold* QcThresholds::Find(const std::string& key) const {
  for (const auto& t : items) {
    if (key == t.key) return &t;
  }
  return nullptr;
}

QcThresholds DefaultQcThresholds() {
  QcThresholds t;
  // key, description, higher_is_better, min, max, warn, fail
  t.items = {
      {"q30_percent", "bases with quality >= 30 (%)", true, 0, 100, 85, 75},
      {"per_cycle_quality_lower_quartile", "lowest per-cycle lower quartile quality", true, 0, 93,
       10, 5},
      {"per_cycle_quality_median", "lowest per-cycle median quality", true, 0, 93, 25, 20},
      {"per_cycle_n_percent", "highest per-cycle N content (%)", false, 0, 100, 5, 20},
      {"gc_deviation_percent", "reads off the normal GC distribution (%)", false, 0, 100, 15, 30},
      {"adapter_percent", "reads with an adapter (highest of TruSeq, Nextera) (%)", false, 0, 100,
       5, 10},
      {"duplication_percent", "duplicate reads (%)", false, 0, 100, 30, 50},
      {"overrepresented_percent", "most frequent sequence (% of reads)", false, 0, 100, 0.1, 1},
      {"placed_percent", "primary reads placed on the reference (%)", true, 0, 100, 90, 80},
      {"mismatch_percent", "mismatches per aligned base against the reference (%)", false, 0, 100,
       2, 5},
  };
  return t;
}

const char* QcVerdictName(QcVerdict verdict) {
  switch (verdict) {
    case QcVerdict::kPass: return "pass";
    case QcVerdict::kWarn: return "warn";
    case QcVerdict::kFail: return "fail";
    case QcVerdict::kNotApplicable: return "n/a";
  }
  return "n/a";
}

QcVerdict JudgeQcValue(const QcThreshold& t, double value) {
  if (std::isnan(value)) return QcVerdict::kNotApplicable;
  if (t.higher_is_better) {
    if (value < t.fail) return QcVerdict::kFail;
    if (value < t.warn) return QcVerdict::kWarn;
  } else {
    if (value > t.fail) return QcVerdict::kFail;
    if (value > t.warn) return QcVerdict::kWarn;
  }
  return QcVerdict::kPass;
}

namespace {
std::string Num(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}
}  // namespace

StatusOr<QcThresholds> LoadQcThresholds(const std::string& config_path) {
  QcThresholds thresholds = DefaultQcThresholds();
  if (config_path.empty()) return thresholds;
  CRAMJET_RETURN_IF_ERROR(CheckReadableFile(config_path));
  const std::string where = "'" + config_path + "'";
  toml::table root;
  try {
    root = toml::parse_file(config_path);
  } catch (const toml::parse_error& e) {
    std::ostringstream m;
    m << where << ": line " << e.source().begin.line << ", column " << e.source().begin.column
      << ": " << e.description();
    return BadInput(m.str());
  }
  for (const auto& [key, node] : root) {
    if (key.str() != "thresholds") {
      return BadInput(where + ": unknown key '" + std::string(key.str()) +
                      "' (the QC config has one table, [thresholds])");
    }
    const toml::table* metrics = node.as_table();
    if (!metrics) return BadInput(where + ": 'thresholds' must be a table");
    for (const auto& [metric_key, metric_node] : *metrics) {
      const std::string name = "thresholds." + std::string(metric_key.str());
      QcThreshold* t = nullptr;
      for (auto& item : thresholds.items) {
        if (metric_key.str() == item.key) t = &item;
      }
      if (!t) {
        std::string known;
        for (const auto& item : thresholds.items) known += std::string(known.empty() ? "" : ", ") + item.key;
        return BadInput(where + ": unknown key '" + name + "' (known metrics: " + known + ")");
      }
      const toml::table* limits = metric_node.as_table();
      if (!limits) return BadInput(where + ": '" + name + "' must be a table with warn and fail");
      for (const auto& [limit_key, limit_node] : *limits) {
        const std::string full = name + "." + std::string(limit_key.str());
        if (limit_key.str() != "warn" && limit_key.str() != "fail") {
          return BadInput(where + ": unknown key '" + full + "' (expected warn or fail)");
        }
        std::optional<double> value = limit_node.value<double>();
        if (!value || !limit_node.is_number()) {
          return BadInput(where + ": '" + full + "' must be a number");
        }
        if (!(*value >= t->min_value && *value <= t->max_value)) {
          return BadInput(where + ": '" + full + "' = " + Num(*value) + " is impossible (must be " +
                          Num(t->min_value) + " to " + Num(t->max_value) + ")");
        }
        (limit_key.str() == "warn" ? t->warn : t->fail) = *value;
      }
      if (t->higher_is_better && t->warn < t->fail) {
        return BadInput(where + ": '" + name + "': warn (" + Num(t->warn) + ") is below fail (" +
                        Num(t->fail) + "); higher is better for this metric, so warn must be >= fail");
      }
      if (!t->higher_is_better && t->warn > t->fail) {
        return BadInput(where + ": '" + name + "': warn (" + Num(t->warn) + ") is above fail (" +
                        Num(t->fail) + "); lower is better for this metric, so warn must be <= fail");
      }
    }
  }
  return thresholds;
}

}  // namespace cramjet
