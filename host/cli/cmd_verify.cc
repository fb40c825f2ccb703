// `cramjet verify FILE.cram [--against INPUT...]`: decodes the CRAM in full and compares its read
// checksums with its `.seqchksum` (and the file with its `.md5`), or with the original inputs.
// One verdict line on stdout (or a JSON object with --json); exit 0 only when everything is equal,
// 3 on a difference, 1 when the check could not run (one error line on stderr). Put FILE before
// --against, which takes every following argument.
#include <htslib/hts.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cramjet/inputs.h"
#include "cramjet/checksum.h"
#include "cramjet/compress.h"

namespace cramjet::cli {
namespace {

std::string Hex8(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", v);
  return buf;
}

nlohmann::ordered_json ResultJson(const VerifyOptions& options, const VerifyResult& r) {
  nlohmann::ordered_json j;
  j["schema"] = "cramjet.verify/1";
  j["file"] = options.cram;
  j["equal"] = r.equal;
  j["verdict"] = r.verdict;
  j["definition"] = kSeqChecksumDefinition;
  auto parsed = ReadChecksums::FromText(r.cram_seqchksum, options.cram);
  j["aux_tags"] = parsed.ok() ? nlohmann::ordered_json(parsed->aux_tags()) : nlohmann::ordered_json(nullptr);
  j["records"] = r.records;
  j["expected_records"] = r.expected_records;
  j["expected_source"] = r.expected_source;
  j["against"] = options.against;
  nlohmann::ordered_json md5;
  md5["checked"] = r.md5_checked;
  md5["equal"] = r.md5_checked ? nlohmann::ordered_json(r.md5_equal) : nlohmann::ordered_json(nullptr);
  md5["actual"] = r.md5_checked ? nlohmann::ordered_json(r.md5) : nlohmann::ordered_json(nullptr);
  md5["expected"] = r.md5_checked ? nlohmann::ordered_json(r.expected_md5) : nlohmann::ordered_json(nullptr);
  j["md5"] = md5;
  j["differences"] = r.differences;
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  if (parsed.ok()) {
    for (const auto& row : parsed->Rows()) {
      rows.push_back({{"group", row.group},   {"qc", row.qc},          {"count", row.count},
                      {"seq", Hex8(row.seq)}, {"name", Hex8(row.name)}, {"qual", Hex8(row.qual)},
                      {"aux", Hex8(row.aux)}, {"combined", Hex8(row.combined)}});
    }
  }
  j["rows"] = rows;
  return j;
}

}  // namespace

void RegisterVerifyCommand(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand(
      "verify", "Decode a CRAM and compare its read checksums with its .seqchksum/.md5 or its inputs");
  auto opts = std::make_shared<VerifyOptions>();
  auto json = std::make_shared<bool>(false);
  auto single = std::make_shared<bool>(false);
  sub->add_option("cram", opts->cram, "CRAM (or BAM/SAM) to check")->required();
  sub->add_option("--against", opts->against,
                  "Inputs it was made from (FASTQ: R1 R2 pairs detected by name; or SAM/BAM/CRAM)");
  sub->add_option("-T,--reference", opts->reference, "Reference FASTA for the CRAM");
  sub->add_option("-@,--threads", opts->threads, "Decoding threads")->check(CLI::Range(1, 256));
  sub->add_flag("--json", *json, "Print a JSON object (schema cramjet.verify/1) instead of the verdict line");
  sub->add_flag("--paired", opts->paired, "--against inputs are R1 R2 file pairs");
  sub->add_flag("--single", *single, "--against inputs are single-end even if their names look paired");
  sub->add_flag("--interleaved", opts->interleaved, "--against is one FASTQ with R1,R2 alternating");
  sub->callback([&ctx, opts, json, single] {
    if (!opts->paired && !*single && !opts->interleaved) opts->paired = InputsLookPaired(opts->against);
    auto result = Verify(*opts);
    if (!result.ok()) {
      ctx.exit_code = ReportError("verify", result.status());
      return;
    }
    if (*json) {
      std::string text = ResultJson(*opts, *result).dump(2) + "\n";
      std::fputs(text.c_str(), stdout);
    } else {
      std::string line = result->verdict + "\n";
      std::fputs(line.c_str(), stdout);
    }
    ctx.exit_code = result->equal ? kExitOk : kExitMismatch;
  });
}

}  // namespace cramjet::cli
