// `cramjet inspect FILE.cram [--json]`: where the file's bytes go, per data series, aux tag and
// structure (cramjet/inspect.h), as a table on stdout or a JSON object (schema cramjet.inspect/1).
// Exit 0, or 1 with one error line on stderr when the file cannot be read or is not CRAM 3.x.
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cramjet/inspect.h"

namespace cramjet::cli {
namespace {

nlohmann::ordered_json InspectionJson(const CramInspection& in) {
  nlohmann::ordered_json j;
  j["schema"] = "cramjet.inspect/1";
  j["file"] = in.path;
  j["cram_version"] = std::to_string(in.major) + "." + std::to_string(in.minor);
  j["bytes"] = in.file_bytes;
  j["containers"] = in.containers;
  j["slices"] = in.slices;
  j["records"] = in.records;
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const CramByteRow& r : in.rows) {
    nlohmann::ordered_json row;
    row["key"] = r.key;
    row["category"] = r.category;
    row["description"] = r.description;
    row["bytes"] = r.bytes;
    row["raw_bytes"] = r.raw_bytes;
    row["blocks"] = r.blocks;
    row["methods"] = r.methods;
    rows.push_back(row);
  }
  j["rows"] = rows;
  return j;
}

}  // namespace

void RegisterInspectCommand(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand("inspect", "Show where a CRAM's bytes go: per data series, aux tag and header");
  auto path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  sub->add_option("cram", *path, "CRAM file (3.0 or 3.1)")->required();
  sub->add_flag("--json", *json, "Print a JSON object (schema cramjet.inspect/1) instead of the table");
  sub->callback([&ctx, path, json] {
    auto result = InspectCram(*path);
    if (!result.ok()) {
      ctx.exit_code = ReportError("inspect", result.status());
      return;
    }
    const std::string text = *json ? InspectionJson(*result).dump(1) + "\n" : FormatCramInspection(*result);
    std::fwrite(text.data(), 1, text.size(), stdout);
    ctx.exit_code = kExitOk;
  });
}

}  // namespace cramjet::cli
