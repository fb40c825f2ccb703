// include/cramjet/ship.h — shipping one CRAM set to the archive by hand (`cramjet ship`); the
// daemon's ship stage goes through the same sink code. Sinks: file://, WebDAV (http/https) and
// S3 (docs/ship.md); every object is read back and checked before the call succeeds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cramjet/status.h"

namespace cramjet {

struct ShipCramOptions {
  std::string cram;         // SAMPLE.cram; its .crai, .seqchksum, .md5 and QC files go with it
  std::string to;           // archive URL; wins over the config file's url
  std::string config_file;  // TOML file whose [archive] table configures the sink
  std::string sample;       // default: the CRAM's name without .cram
  std::string run, lane, instrument;
  std::string reference_name;  // default: from @SQ UR
  std::string profile;         // default: from the cramjet @PG line
  std::vector<std::string> extra_files;  // more QC files to ship
  std::string state_dir;    // resumable upload state; default: .<cram>.ship beside it
  int max_attempts = 0;     // > 0: overrides the retry policy's attempt limit
  // Crypt4GH public key files: each file is shipped encrypted for them as NAME.c4gh (replaces the
  // config's crypt4gh_recipients and turns encryption on).
  std::vector<std::string> crypt4gh_recipients;
};

struct ShippedObject {
  std::string remote_name;  // object name below the sink root
  uint64_t size = 0;
  std::string md5;          // lower-case hex
};

struct ShipCramResult {
  std::string sample;
  std::vector<ShippedObject> objects;  // CRAM first, then its sidecars and QC files
  ShippedObject manifest;              // manifest.json, shipped last
  int uploaded = 0;                    // objects sent in this call (0: all were there already)
  int attempts = 0;
};

// Ships and verifies the set. The QC files are exactly those compress writes for this CRAM
// (QcOutputPaths of cramjet/qc.h) that exist, never another sample's that shares the prefix.
// Errors as ShipSample's: kUnavailable after the retries, kFailedPrecondition for a conflicting
// remote object or refused credentials, kDataLoss when the CRAM disagrees with its .md5.
[[nodiscard]] StatusOr<ShipCramResult> ShipCramSet(const ShipCramOptions& options);

// A Crypt4GH key pair for a lab or an archive (`cramjet crypt4gh-keygen`): the public key file
// (0644) and the private key file (0600, c4gh-v1; protected by scrypt with the passphrase in
// $C4GH_PASSPHRASE unless `unprotected`), each written atomically; neither may exist.
// FailedPrecondition when a passphrase is wanted and $C4GH_PASSPHRASE is unset or empty.
[[nodiscard]] Status GenerateCrypt4ghKeyPair(const std::string& public_key_file, const std::string& private_key_file,
                                             bool unprotected);

}  // namespace cramjet
