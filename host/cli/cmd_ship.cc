// `cramjet ship`: archives one sample by hand (ShipCramSet; the daemon ships through the same sinks).
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>

#include "cli/cli.h"
#include "cramjet/log.h"
#include "cramjet/accept.h"
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

std::string UtcNow() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

}  // namespace

void RegisterAcceptCommand(CLI::App& app, Context& ctx) {
  auto opts = std::make_shared<AcceptOptions>();
  auto receipt = std::make_shared<std::string>();
  auto* sub = app.add_subcommand(
      "accept", "The archive's check of a delivered sample set (manifest, sizes, MD5s, header, reference, QC, a full "
                "decode): writes an acceptance receipt, or a rejection naming the first problem");
  sub->add_option("delivery", opts->delivery,
                  "The folder holding manifest.json: a path, file:///path, https://host/prefix/RUN/SAMPLE (WebDAV) or "
                  "s3://bucket/prefix/RUN/SAMPLE")
      ->required();
  sub->add_option("--config", opts->config_file, "TOML file whose [archive] table gives credentials and TLS settings");
  sub->add_option("--known-references", opts->known_references,
                  "File of reference MD5s the archive knows (first field per line; repeatable); REF_CACHE and a local "
                  "REF_PATH count too");
  sub->add_option("-T,--reference", opts->reference, "FASTA to decode with (default: by M5 through REF_CACHE/REF_PATH)");
  sub->add_option("--qc-fail", opts->qc_fail,
                  "A QC verdict of fail: reject, released (accepted only when an operator released it; default) or accept")
      ->check(CLI::IsMember({"reject", "released", "accept"}));
  sub->add_flag("--require-qc", opts->require_qc, "Reject a delivery without a QC verdict");
  sub->add_option("--receipt", *receipt, "Write the receipt (or the rejection) here, atomically (default: standard output)");
  sub->add_option("--staging", opts->staging_dir, "Folder for downloads of a remote delivery (default: $TMPDIR)");
  sub->add_option("-@,--threads", opts->threads, "Threads for the decode")->check(CLI::Range(1, 256));
  sub->add_option("--crypt4gh-key", opts->crypt4gh_key,
                  "The archive's Crypt4GH private key, to decrypt an encrypted delivery (passphrase from "
                  "$C4GH_PASSPHRASE)");
  sub->callback([opts, receipt, &ctx] {
    const std::string checked_at = UtcNow();
    StatusOr<AcceptResult> result = AcceptDelivery(*opts);
    const std::string document = result.ok() ? AcceptanceReceipt(*opts, *result, checked_at)
                                             : RejectionDocument(*opts, result.status(), checked_at);
    if (receipt->empty()) {
      // A receipt that did not reach its reader is no receipt: a full disk or a closed pipe fails.
      if (std::fputs(document.c_str(), stdout) < 0 || std::fflush(stdout) != 0) {
        ctx.exit_code = ReportError("accept", IoErrorFromErrno("standard output: writing the receipt", errno));
        return;
      }
    } else if (Status written = WriteAcceptanceDocument(*receipt, document); !written.ok()) {
      ctx.exit_code = ReportError("accept", written);
      return;
    }
    if (!result.ok()) {
      ctx.exit_code = ReportError("accept", result.status());
      return;
    }
    std::fprintf(stderr, "cramjet accept: accepted %s: %zu files, %llu reads, manifest MD5 %s\n", result->sample.c_str(),
                 result->files.size(), static_cast<unsigned long long>(result->reads), result->manifest_md5.c_str());
  });
}

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
  sub->add_option("--crypt4gh-recipient", opts->crypt4gh_recipients,
                  "Crypt4GH public key file of a recipient (repeatable): every file ships encrypted as NAME.c4gh");
  sub->callback([opts, &ctx] {
    SetLogLevel(LogLevel::kInfo);  // what was sent, skipped or resumed is this command's report
    Status st = RunShip(*opts);
    if (!st.ok()) ctx.exit_code = ReportError("ship", st);
  });

  // A key pair for Crypt4GH deliveries: the archive's (or a test's) public and private key.
  auto pk = std::make_shared<std::string>();
  auto sk = std::make_shared<std::string>();
  auto nocrypt = std::make_shared<bool>(false);
  auto* keygen = app.add_subcommand(
      "crypt4gh-keygen", "Make a Crypt4GH key pair (the private key protected by $C4GH_PASSPHRASE unless --nocrypt)");
  keygen->add_option("--pk", *pk, "Public key file to write (must not exist)")->required();
  keygen->add_option("--sk", *sk, "Private key file to write, mode 0600 (must not exist)")->required();
  keygen->add_flag("--nocrypt", *nocrypt, "Leave the private key unprotected (no passphrase)");
  keygen->callback([pk, sk, nocrypt, &ctx] {
    Status st = GenerateCrypt4ghKeyPair(*pk, *sk, *nocrypt);
    if (!st.ok()) ctx.exit_code = ReportError("crypt4gh-keygen", st);
  });
}

}  // namespace cramjet::cli
