// `cramjet ship` (ShipCramSet() of cramjet/ship.h): gathers one CRAM's set by the names compress
// gives it, configures the sink from a URL or a config file's [archive] table, and ships it
// through the ship stage's ShipSample() (the daemon's ship stage calls the same).
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include <toml++/toml.h>

#include "common/common.h"
#include "cramjet/log.h"
#include "cramjet/qc.h"
#include "cramjet/ship.h"
#include "pipeline/archive_sink.h"
#include "ship/crypt4gh.h"
#include "ship/ship.h"

namespace cramjet {

namespace {

ShippedObject Shipped(const ship::ShippedFile& f) { return {f.remote_name, f.size, f.md5}; }

}  // namespace

StatusOr<ShipCramResult> ShipCramSet(const ShipCramOptions& o) {
  CRAMJET_RETURN_IF_ERROR(CheckReadableFile(o.cram));
  if (o.cram.size() < 5 || o.cram.compare(o.cram.size() - 5, 5, ".cram") != 0)
    return InvalidArgument("'" + o.cram + "': expected a .cram file");
  CRAMJET_ASSIGN_OR_RETURN(ship::SinkConfig config, LoadArchiveSinkConfig(o.to, o.config_file));
  if (o.max_attempts > 0) config.retry.max_attempts = o.max_attempts;
  if (!o.crypt4gh_recipients.empty()) CRAMJET_RETURN_IF_ERROR(ship::SetCrypt4ghRecipients(config, o.crypt4gh_recipients));

  ship::ShipRequest request;
  const std::string base = BaseName(o.cram);
  request.sample = o.sample.empty() ? base.substr(0, base.size() - 5) : o.sample;
  request.run = o.run;
  request.lane = o.lane;
  request.instrument = o.instrument;
  request.reference_name = o.reference_name;
  request.cram_profile = o.profile;
  request.files.push_back(o.cram);
  for (const char* ext : {".crai", ".seqchksum", ".md5"}) {
    const std::string p = o.cram + ext;
    if (::access(p.c_str(), R_OK) == 0) {
      request.files.push_back(p);
    } else if (std::string(ext) != ".crai") {
      CJ_LOG(kWarning) << "ship: no '" << p << "' beside the CRAM";
    }
  }
  // Exactly the QC files compress writes for this CRAM: a prefix glob would take sample S1_b's
  // files into S1's set.
  for (const std::string& q : QcOutputPaths(QcPrefixForCram(o.cram)))
    if (::access(q.c_str(), R_OK) == 0) request.files.push_back(q);
  for (const auto& q : o.extra_files)
    if (std::find(request.files.begin(), request.files.end(), q) == request.files.end()) request.files.push_back(q);
  request.state_dir = o.state_dir.empty() ? DirName(o.cram) + "/." + base + ".ship" : o.state_dir;

  CRAMJET_ASSIGN_OR_RETURN(ship::ShipResult shipped, ship::ShipSample(config, request));
  ShipCramResult result;
  result.sample = request.sample;
  for (const auto& f : shipped.files) result.objects.push_back(Shipped(f));
  result.manifest = Shipped(shipped.manifest);
  result.uploaded = shipped.uploaded;
  result.attempts = shipped.attempts;
  return result;
}

Status GenerateCrypt4ghKeyPair(const std::string& public_key_file, const std::string& private_key_file,
                               bool unprotected) {
  std::string passphrase;
  if (!unprotected) {
    const char* env = std::getenv(crypt4gh::kPassphraseVariable);
    if (!env || !*env)
      return FailedPrecondition(std::string("set ") + crypt4gh::kPassphraseVariable +
                                " to the passphrase that protects the private key, or give --nocrypt");
    passphrase = env;
  }
  return crypt4gh::GenerateKeyPair(public_key_file, private_key_file, passphrase);
}

StatusOr<ship::SinkConfig> LoadArchiveSinkConfig(const std::string& to, const std::string& config_file) {
  if (config_file.empty()) {
    if (to.empty()) return InvalidArgument("give --to URL or --config FILE with an [archive] table");
    return ship::SinkConfigFromUrl(to);
  }
  toml::table root;
#if TOML_EXCEPTIONS
  try {
    root = toml::parse_file(config_file);
  } catch (const toml::parse_error& e) {
    return BadInput("'" + config_file + "': line " + std::to_string(e.source().begin.line) + ": " +
                    std::string(e.description()));
  }
#else
  auto parsed = toml::parse_file(config_file);
  if (!parsed)
    return BadInput("'" + config_file + "': line " + std::to_string(parsed.error().source().begin.line) + ": " +
                    std::string(parsed.error().description()));
  root = std::move(parsed).table();
#endif
  toml::table archive;
  if (const toml::table* t = root["archive"].as_table()) archive = *t;
  else if (to.empty()) return InvalidArgument("'" + config_file + "': no [archive] table");
  if (!to.empty()) archive.insert_or_assign("url", to);  // --to wins over the file's url
  return ship::ParseSinkConfig(archive, config_file);
}

}  // namespace cramjet
