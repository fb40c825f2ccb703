// `cramjet ship`: archives one sample by hand (ShipCramSet; the daemon ships through the same sinks).
#include <cstdio>
#include <memory>
#include <string>

#include "cli/cli.h"
#include "cramjet/log.h"
#include "cramjet/ship.h"

namespace cramjet::cli {
namespace {

Status RunShip(const ShipCramOptions& o) {
  CRAMJET_ASSIGN_OR_RETURN(ShipCramResult result, ShipCramSet(o));
  for (const auto& f : result.objects)
    std::printf("%s\t%llu\t%s\n", f.remote_name.c_str(), static_cast<unsigned long long>(f.size), f.md5.c_str());
  std::printf("%s\t%llu\t%s\n", result.manifest.remote_name.c_str(),
              static_cast<unsigned long long>(result.manifest.size), result.manifest.md5.c_str());
  CJ_LOG(kInfo) << "ship: " << result.sample << " shipped and verified (" << result.uploaded << " objects sent, "
                << result.attempts << " attempt" << (result.attempts == 1 ? "" : "s") << ")";
  return Status::Ok();
}

}  // namespace

void RegisterShipCommand(CLI::App& app, Context& ctx) {
  auto opts = std::make_shared<ShipCramOptions>();
  auto* sub = app.add_subcommand("ship", "Ship a CRAM and its sidecars to the archive and verify the remote copy");
  sub->add_option("cram", opts->cram, "SAMPLE.cram (its .crai, .seqchksum, .md5 and QC files are found beside it)")
      ->required();
  sub->add_option("--to", opts->to, "Archive URL: file:///path, https://host/prefix (WebDAV), s3://bucket/prefix");
  sub->add_option("--config", opts->config_file, "TOML file whose [archive] table configures the sink");
  sub->add_option("--sample", opts->sample, "Sample name (default: the CRAM name without .cram)");
  sub->add_option("--run", opts->run, "Run id");
  sub->add_option("--lane", opts->lane, "Lane");
  sub->add_option("--instrument", opts->instrument, "Instrument id");
  sub->add_option("--reference-name", opts->reference_name, "Reference name for the manifest (default: from @SQ UR)");
  sub->add_option("--profile", opts->profile, "CRAM profile for the manifest (default: from the cramjet @PG line)");
  sub->add_option("--qc", opts->extra_files, "Extra QC file to ship (repeatable)");
  sub->add_option("--state-dir", opts->state_dir, "Folder for resumable upload state (default: .<cram>.ship beside it)");
  sub->add_option("--max-attempts", opts->max_attempts, "Override the retry policy's attempt limit")
      ->check(CLI::Range(1, 1000));
  sub->callback([opts, &ctx] {
    SetLogLevel(LogLevel::kInfo);  // what was sent, skipped or resumed is this command's report
    Status st = RunShip(*opts);
    if (!st.ok()) ctx.exit_code = ReportError("ship", st);
  });
}

}  // namespace cramjet::cli
