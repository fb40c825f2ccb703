// include/cramjet/accept.h — the archive's side of a delivery (`cramjet accept`): the ingestion
// service receives a folder (a local path, file://, WebDAV or S3) holding one sample's set and its
// manifest.json, as `cramjet ship` and cramjetd deliver it, and decides whether to accept it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cramjet/status.h"

namespace cramjet {

struct AcceptOptions {
  // The folder the manifest is in: /path, file:///path, https://host/prefix/RUN/SAMPLE (WebDAV) or
  // s3://bucket/prefix/RUN/SAMPLE. Each file of the manifest is looked up beside it by its base
  // name (object templates end in {file}).
  std::string delivery;
  std::string config_file;  // a TOML file whose [archive] table gives credentials and TLS settings
  // Files listing the reference MD5s the archive knows (the first field of each line: `md5sum`
  // output and samtools' `M5 name` lists both work). A contig's M5 is also known when REF_CACHE
  // or a local REF_PATH element holds it. At least one of the two must know every contig.
  std::vector<std::string> known_references;
  std::string reference;    // FASTA to decode with; empty: by M5 through REF_CACHE / REF_PATH
  // What a QC verdict of fail does: "reject" (always), "released" (accepted only when an operator
  // released it: the manifest's qc.released_by_operator; the default) or "accept".
  std::string qc_fail = "released";
  bool require_qc = false;  // reject a delivery without a QC verdict
  std::string staging_dir;  // where remote files are downloaded; default $TMPDIR (removed after)
  int threads = 1;
  // The archive's Crypt4GH private key (its passphrase, if any, from $C4GH_PASSPHRASE): an
  // encrypted delivery (files NAME.c4gh) is decrypted with it and its plaintext checked; without
  // it an encrypted delivery is rejected.
  std::string crypt4gh_key;
};

struct AcceptedFile {
  std::string name;  // object name from the manifest
  std::string role;
  uint64_t size = 0;  // of the object as delivered (the ciphertext when encrypted)
  std::string md5;
  bool encrypted = false;  // Crypt4GH: decrypted, and its plaintext's size and MD5 matched
  uint64_t plain_size = 0;
  std::string plain_md5;
};

struct AcceptResult {
  std::string delivery_url;   // the delivery as a URL (a path becomes file:///...)
  std::string sample, run;
  std::string manifest_md5;   // MD5 of manifest.json as delivered: what the receipt is bound to
  uint64_t manifest_size = 0;
  std::vector<AcceptedFile> files;
  uint64_t reads = 0;         // decoded and matched against the .seqchksum
  std::string reference_name;
  std::vector<std::string> reference_md5s;  // every @SQ M5, known to the archive
  std::string qc_verdict;     // "" when no QC was delivered
  bool qc_released = false;
  std::vector<std::string> notes;  // what was accepted with a remark (a released fail, no QC)
  std::string encryption;           // "crypt4gh" for an encrypted delivery, else ""
  std::string decryption_key;       // the base64 public key of the private key that decrypted it
};

// Checks, in order, stopping at the first problem (its Status names it): the manifest is there and
// well-formed (kNotFound, kBadInput); every file is there with its size and MD5 (kNotFound,
// kDataLoss; encrypted: the ciphertext's, then it is decrypted (kFailedPrecondition when no key
// was given or the key opens no header packet; kDataLoss for a damaged segment) and the
// plaintext's size and MD5 are the manifest's); the CRAM's @SQ lines are the manifest's (kDataLoss); every contig's M5 is known to
// the archive (kFailedPrecondition); the QC verdict is acceptable (kFailedPrecondition); the CRAM
// decodes and matches its .seqchksum and .md5 (kDataLoss; a .seqchksum must be delivered).
// kUnavailable when the server cannot be reached.
[[nodiscard]] StatusOr<AcceptResult> AcceptDelivery(const AcceptOptions& options);

// The acceptance receipt (JSON, schema "cramjet-acceptance" 1) for a result, or the rejection
// document for a status: {"accepted": false, "reason": ...}. `checked_at` is an ISO 8601 time.
std::string AcceptanceReceipt(const AcceptOptions& options, const AcceptResult& result, const std::string& checked_at);
std::string RejectionDocument(const AcceptOptions& options, const Status& why, const std::string& checked_at);
// Writes a receipt or rejection to `path` atomically (temporary name, fsync, rename).
[[nodiscard]] Status WriteAcceptanceDocument(const std::string& path, const std::string& text);

}  // namespace cramjet
