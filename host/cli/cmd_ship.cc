// `cramjet ship`: archives one sample by hand (the daemon ships through the same ShipSample).
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "cli/cli.h"
#include "common/common.h"
#include "cramjet/log.h"
#include "ship/ship.h"

namespace cramjet::cli {
namespace {

struct ShipOptions {
  std::string cram;
  std::string to;
  std::string config_file;
  std::string sample, run, lane, instrument, reference_name, profile;
  std::string state_dir;
  std::vector<std::string> qc;
  int max_attempts = 0;
};

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// QC files beside the CRAM: "<stem>.*" / "<stem>_*" with a report extension.
std::vector<std::string> FindQcFiles(const std::string& cram) {
  std::string dir = DirName(cram), base = BaseName(cram);
  std::string stem = base.substr(0, base.size() - 5);
  std::vector<std::string> found;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return found;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.empty() || n[0] == '.' || n == base || n.find(".tmp.") != std::string::npos) continue;
    if (n == base + ".crai" || n == base + ".seqchksum" || n == base + ".md5") continue;
    if (n.rfind(stem + ".", 0) != 0 && n.rfind(stem + "_", 0) != 0) continue;
    if (EndsWith(n, ".cram") || EndsWith(n, ".crai") || n == "manifest.json") continue;
    for (const char* ext : {".json", ".txt", ".tsv", ".html", ".yaml", ".yml", ".stats", ".flagstat"}) {
      if (EndsWith(n, ext)) {
        found.push_back(dir + "/" + n);
        break;
      }
    }
  }
  ::closedir(d);
  std::sort(found.begin(), found.end());
  return found;
}

StatusOr<ship::SinkConfig> LoadConfig(const ShipOptions& o) {
  if (o.config_file.empty()) {
    if (o.to.empty()) return InvalidArgument("give --to URL or --config FILE with an [archive] table");
    return ship::SinkConfigFromUrl(o.to);
  }
  toml::table root;
#if TOML_EXCEPTIONS
  try {
    root = toml::parse_file(o.config_file);
  } catch (const toml::parse_error& e) {
    return BadInput("'" + o.config_file + "': line " + std::to_string(e.source().begin.line) + ": " +
                    std::string(e.description()));
  }
#else
  auto parsed = toml::parse_file(o.config_file);
  if (!parsed)
    return BadInput("'" + o.config_file + "': line " + std::to_string(parsed.error().source().begin.line) + ": " +
                    std::string(parsed.error().description()));
  root = std::move(parsed).table();
#endif
  toml::table archive;
  if (const toml::table* t = root["archive"].as_table()) archive = *t;
  else if (o.to.empty()) return InvalidArgument("'" + o.config_file + "': no [archive] table");
  if (!o.to.empty()) archive.insert_or_assign("url", o.to);  // --to wins over the file's url
  return ship::ParseSinkConfig(archive, o.config_file);
}

Status RunShip(const ShipOptions& o) {
  CRAMJET_RETURN_IF_ERROR(CheckReadableFile(o.cram));
  if (!EndsWith(o.cram, ".cram")) return InvalidArgument("'" + o.cram + "': expected a .cram file");
  CRAMJET_ASSIGN_OR_RETURN(ship::SinkConfig config, LoadConfig(o));
  if (o.max_attempts > 0) config.retry.max_attempts = o.max_attempts;

  ship::ShipRequest request;
  std::string base = BaseName(o.cram);
  request.sample = o.sample.empty() ? base.substr(0, base.size() - 5) : o.sample;
  request.run = o.run;
  request.lane = o.lane;
  request.instrument = o.instrument;
  request.reference_name = o.reference_name;
  request.cram_profile = o.profile;
  request.files.push_back(o.cram);
  for (const char* ext : {".crai", ".seqchksum", ".md5"}) {
    std::string p = o.cram + ext;
    if (::access(p.c_str(), R_OK) == 0) {
      request.files.push_back(p);
    } else if (std::string(ext) != ".crai") {
      CJ_LOG(kWarning) << "ship: no '" << p << "' beside the CRAM";
    }
  }
  for (const auto& q : FindQcFiles(o.cram)) request.files.push_back(q);
  for (const auto& q : o.qc)
    if (std::find(request.files.begin(), request.files.end(), q) == request.files.end()) request.files.push_back(q);
  request.state_dir = o.state_dir.empty() ? DirName(o.cram) + "/." + base + ".ship" : o.state_dir;

  CRAMJET_ASSIGN_OR_RETURN(ship::ShipResult result, ship::ShipSample(config, request));
  for (const auto& f : result.files)
    std::printf("%s\t%llu\t%s\n", f.remote_name.c_str(), static_cast<unsigned long long>(f.size), f.md5.c_str());
  std::printf("%s\t%llu\t%s\n", result.manifest.remote_name.c_str(),
              static_cast<unsigned long long>(result.manifest.size), result.manifest.md5.c_str());
  CJ_LOG(kInfo) << "ship: " << request.sample << " shipped and verified (" << result.uploaded << " objects sent, "
                << result.attempts << " attempt" << (result.attempts == 1 ? "" : "s") << ")";
  return Status::Ok();
}

}  // namespace

void RegisterShipCommand(CLI::App& app, Context& ctx) {
  auto opts = std::make_shared<ShipOptions>();
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
  sub->add_option("--qc", opts->qc, "Extra QC file to ship (repeatable)");
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
