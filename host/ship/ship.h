// host/ship/ship.h — the shipping stage: archives one sample's files (CRAM, .crai, .seqchksum,
// .md5, QC files, then manifest.json) to a file://, WebDAV (http/https) or S3 (s3://) sink exactly
// once, and proves each remote copy intact before reporting success.
//
// Guarantees (docs/shipping.md):
// - Nothing partial ever appears under a final object name: file sinks write a temporary name and
//   rename; WebDAV PUT is atomic on the server (nginx, Apache write to a temporary file); S3 small
//   files go to a temporary key and are copied server-side, large ones use multipart upload (the
//   object appears only on CompleteMultipartUpload).
// - ShipSample is idempotent: an object already present with the same size and MD5 is not sent
//   again; a different object under a name this job never wrote is a conflict (never overwritten).
// - ShipSample returns ok only after every file and then the manifest verified remotely. Local
//   files are only read, never changed: clean-up is the caller's decision after ok.
// - Credentials are never logged or put in error messages.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "common/cram_containers.h"
#include "cramjet/status.h"
#include "ship/crypt4gh.h"

namespace cramjet::ship {

enum class SinkKind { kFile, kWebDav, kS3 };

struct RetryPolicy {
  int max_attempts = 5;          // whole-sample attempts inside one ShipSample call (>= 1)
  double base_backoff_s = 1.0;   // delay before attempt n+1: random in [0, min(max, base*2^(n-1))]
  double max_backoff_s = 60.0;
};

struct Credentials {
  // S3: from the config, else AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN.
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  // WebDAV basic/digest auth: from the config, else CRAMJET_ARCHIVE_USERNAME / _PASSWORD.
  std::string username;
  std::string password;
};

namespace internal {
struct HttpRequest;
struct RawHttpReply;
// Answers a request instead of the network: tests and the HTTP fuzzer (tests/fuzz) give the sinks
// any reply a server could send, which then goes through the same header and body handling as
// curl's. A non-ok Status is a transport failure (refused, cut, timeout).
using HttpExchange = std::function<StatusOr<RawHttpReply>(const HttpRequest&)>;
}  // namespace internal

struct SinkConfig {
  std::string url;  // file:///path, http(s)://host/prefix, s3://bucket/prefix
  SinkKind kind = SinkKind::kFile;
  // Parsed from url: file folder (kFile); base URL without trailing '/' (kWebDav);
  // bucket and key prefix without leading/trailing '/' (kS3).
  std::string file_root;
  std::string http_base;
  std::string s3_bucket;
  std::string s3_prefix;
  // S3 endpoint ("http://127.0.0.1:9000"); empty = https://s3.<region>.amazonaws.com.
  std::string s3_endpoint;
  std::string s3_region = "us-east-1";
  bool s3_path_style = true;  // https://endpoint/bucket/key (false: https://bucket.endpoint/key)

  // Object name below the sink root. Placeholders: {sample} {run} {lane} {instrument} {file}
  // (the local file's base name; "manifest.json" for the manifest). Must contain {file}.
  std::string object_template = "{run}/{sample}/{file}";

  uint64_t multipart_threshold = 64ull << 20;  // S3: files of at least this size go multipart
  uint64_t part_size = 16ull << 20;            // S3 part size (>= 5 MiB on AWS; tests use less)
  RetryPolicy retry;
  Credentials credentials;
  bool tls_verify = true;
  std::string ca_file;
  double connect_timeout_s = 10;
  double stall_timeout_s = 60;     // abort a transfer slower than 1 KiB/s for this long
  double request_timeout_s = 0;    // 0 = no overall limit per request (large files)
  // Read the whole object back and compare its MD5 after upload. Default: on for file and
  // WebDAV; off for S3, whose server checks Content-MD5 per request and whose ETag is compared.
  bool verify_readback = true;
  // Never set from a configuration file: see internal::HttpExchange. Empty: libcurl.
  internal::HttpExchange exchange_for_tests;
  // `encrypt = "crypt4gh"`: every file is shipped as NAME.c4gh, encrypted for these recipients
  // (`crypt4gh_recipients = ["archive.pub", ...]`, read when the configuration is parsed; a
  // relative path is taken from the configuration file's folder). The manifest stays plaintext.
  struct Encryption {
    bool crypt4gh = false;
    std::vector<std::string> recipient_files;
    std::vector<crypt4gh::Key> recipients;
  } encryption;
};

// Parses the daemon's `[archive]` table. Unknown keys and bad values give InvalidArgument naming
// `source_file`, the line and the key: "'cramjetd.toml': line 7: [archive] part_size: ...".
// Credentials missing from the table are taken from the environment.
[[nodiscard]] StatusOr<SinkConfig> ParseSinkConfig(const toml::table& archive_table,
                                                   std::string_view source_file);
// Turns Crypt4GH encryption on for these public key files (replacing any the table named).
[[nodiscard]] Status SetCrypt4ghRecipients(SinkConfig& config, const std::vector<std::string>& public_key_files);
// A SinkConfig for a bare URL (the CLI's --to), with the environment's credentials.
[[nodiscard]] StatusOr<SinkConfig> SinkConfigFromUrl(std::string_view url);
// One line describing the sink for logs; never contains credentials.
std::string DescribeSink(const SinkConfig& config);

struct ShipRequest {
  std::string sample;
  std::string run;
  std::string lane;
  std::string instrument;
  std::string reference_name;  // optional; else taken from the CRAM header (@SQ UR)
  std::string cram_profile;    // optional; else taken from the CRAM's cramjet @PG line
  // CRAM first, then .crai, .seqchksum, .md5, QC files. Base names must be distinct.
  std::vector<std::string> files;
  // Per-job folder for resumable state (S3 upload ids and done parts, the manifest, names this
  // job wrote). Created when missing; must survive restarts. Empty: nothing is resumable and an
  // existing different remote object is always a conflict.
  std::string state_dir;
  // A QC verdict of fail that ships because an operator released it (cramjetd's `release`):
  // recorded in the manifest beside the verdict, which comes from the shipped SAMPLE.qc.json.
  bool qc_released = false;
  // Optional: set to true (e.g. on daemon drain) to stop between attempts with kAborted.
  const std::atomic<bool>* stop = nullptr;
};

struct ShippedFile {
  std::string local_path;
  std::string remote_name;  // object name below the sink root
  uint64_t size = 0;
  std::string md5;          // lower-case hex
  // Encrypted deliveries: size and md5 above are the object's (the ciphertext, what the sink
  // verifies), these the local file's. upload_path is the staged ciphertext (empty once it was
  // removed after a verified ship).
  bool encrypted = false;
  uint64_t plain_size = 0;
  std::string plain_md5;
  std::string upload_path;
};

struct ShipResult {
  std::vector<ShippedFile> files;  // in request order
  ShippedFile manifest;            // the manifest.json object (shipped last)
  int attempts = 0;                // attempts used in this call
  int uploaded = 0;                // objects sent in this call (0 when everything was already there)
};

// Ships and verifies one sample. Ok only when every file and the manifest are verified remotely.
// Errors: kUnavailable for retryable failures after the policy's attempts (server down, 5xx,
// stall, cut connection, read-back mismatch); kFailedPrecondition for a conflicting remote object
// or refused credentials; kNotFound / kIoError / kBadInput for local files; kDataLoss when the
// CRAM disagrees with its own .md5 (local corruption: nothing is shipped).
[[nodiscard]] StatusOr<ShipResult> ShipSample(const SinkConfig& config, const ShipRequest& request);

// Copies object `name` of the sink to a new file at `local_path` (the archive's side: `cramjet
// accept`), at most `max_bytes` (DataLoss past them). Errors as Sink::Download's.
[[nodiscard]] Status DownloadObject(const SinkConfig& config, const std::string& name, const std::string& local_path,
                                    uint64_t max_bytes);

// Re-checks that a shipped set is still intact remotely (size and MD5 of each object, read back
// when config.verify_readback). Ok, or kDataLoss / kNotFound naming the object, or kUnavailable.
[[nodiscard]] Status VerifyShipped(const SinkConfig& config, const ShipResult& shipped);

// ---- Pieces, exposed for tests and the daemon ---------------------------------------------------

// Replaces every character outside [A-Za-z0-9._-] by '_', drops leading dots; "" -> "_".
std::string SanitizeNameComponent(std::string_view name);
// Renders config.object_template for one file base name. Error when the result is not a safe
// relative name (empty component, "..", leading '/').
[[nodiscard]] StatusOr<std::string> RenderObjectName(const SinkConfig& config,
                                                     const ShipRequest& request,
                                                     std::string_view file_base_name);
// The manifest.json text for a request (files as given, MD5s computed). Deterministic for the
// same files, request and tool version.
// `encryption` (Crypt4GH on): format_version 2, the recipients, and each file's plaintext size
// and MD5 beside the object's.
[[nodiscard]] StatusOr<std::string> BuildManifest(const ShipRequest& request,
                                                  const std::vector<ShippedFile>& files,
                                                  const SinkConfig::Encryption* encryption = nullptr);
// manifest.json read back (the archive's side: `cramjet accept`, and tests of what was shipped).
// Every field is checked for type and form; nothing a delivery contains can throw.
struct ManifestFile {
  std::string name;        // object name below the delivery root (safe relative path)
  std::string local_name;  // base name on the sending side
  std::string role;        // cram, index, seqchksum, md5 or qc
  uint64_t size = 0;       // of the object (the ciphertext when encrypted)
  std::string md5;         // 32 lower-case hex digits
  bool encrypted = false;  // "plaintext" given: the object is Crypt4GH of a file of:
  uint64_t plain_size = 0;
  std::string plain_md5;
};
struct ManifestContig {
  std::string name;        // @SQ SN
  uint64_t length = 0;     // @SQ LN
  std::string md5;         // @SQ M5 (empty when absent)
  std::string uri;         // @SQ UR (empty when absent)
};
struct Manifest {
  int format_version = 0;
  std::string sample, run, lane, instrument;
  std::string tool_version;
  std::string cram_file, cram_version, cram_profile;  // profile empty when not recorded
  uint64_t records = 0, bases = 0;
  std::optional<uint64_t> reads;  // from the .seqchksum, when one was shipped
  std::string qc_verdict;         // pass | warn | fail; empty when no QC document was shipped
  bool qc_released = false;       // a fail shipped on an operator's release
  std::string reference_name;
  std::vector<ManifestContig> contigs;
  std::vector<ManifestFile> files;  // exactly one has role "cram"; names unique
  // "encryption": {"method": "crypt4gh", "version": 1, "recipients": [base64 public keys]};
  // format_version 2. Empty method: a plaintext delivery (format_version 1).
  std::string encryption_method;
  std::vector<std::string> recipients;
};
// Parses manifest.json text. kBadInput naming `source` and the field ("files[2].md5: ...") for
// anything that is not JSON, not a cramjet manifest, a newer format_version than this build
// reads, a missing or wrong-typed field, an unsafe object name, a malformed MD5 or duplicate names.
[[nodiscard]] StatusOr<Manifest> ParseManifest(std::string_view text, std::string_view source);

// Counts from the CRAM's container headers (common/cram_containers.h), for the manifest.
using cramjet::CountCramContainers;
using cramjet::CramCounts;

// ---- Sinks (internal) ---------------------------------------------------------------------------
namespace internal {

struct LocalFile {
  std::string path;
  uint64_t size = 0;
  std::string md5;
};

// What a job remembers between attempts and restarts (files in ShipRequest::state_dir).
class JobState {
 public:
  explicit JobState(std::string dir) : dir_(std::move(dir)) {}
  bool enabled() const { return !dir_.empty(); }
  const std::string& dir() const { return dir_; }
  // Records that this job is about to write `remote_name` (so a later mismatch is ours to fix).
  [[nodiscard]] Status RecordIntent(const std::string& remote_name);
  bool HasIntent(const std::string& remote_name) const;
  // Free-form small JSON state per remote name and purpose ("multipart", "temp").
  StatusOr<std::string> Load(const std::string& purpose, const std::string& remote_name) const;
  [[nodiscard]] Status Store(const std::string& purpose, const std::string& remote_name,
                             const std::string& json);
  void Erase(const std::string& purpose, const std::string& remote_name);
  std::string PathFor(const std::string& purpose, const std::string& remote_name) const;

 private:
  std::string dir_;
};

class Sink {
 public:
  virtual ~Sink() = default;
  // Ok when `name` exists with the file's size and MD5 (read back when configured); NotFound when
  // absent; DataLoss when present but different; Unavailable etc. on transport trouble.
  [[nodiscard]] virtual Status Verify(const LocalFile& file, const std::string& name) = 0;
  // Stores the file under `name`; the name never shows a partial object.
  [[nodiscard]] virtual Status Upload(const LocalFile& file, const std::string& name,
                                      JobState& state) = 0;
  // Called when `name` verified without an upload (e.g. after a crash that followed the upload):
  // removes what an interrupted earlier upload may have left (temporary objects, stale state).
  virtual void Tidy(const std::string& name, JobState& state) {}
  // The archive's side (`cramjet accept`): copies object `name` to `local_path` (a new file),
  // stopping with DataLoss past `max_bytes`. NotFound when absent; BadInput for something that is
  // not a plain file (a symbolic link in a file:// delivery); Unavailable on transport trouble.
  [[nodiscard]] virtual Status Download(const std::string& name, const std::string& local_path, uint64_t max_bytes) = 0;
};


// Minimal libcurl client shared by the WebDAV and S3 sinks.
struct HttpRequest {
  std::string method = "GET";  // GET HEAD PUT POST DELETE MKCOL ...
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  // Request body: either `body` or a range of a local file (body_file non-empty).
  std::string body;
  std::string body_file;
  uint64_t body_offset = 0;
  uint64_t body_length = 0;
  bool sign_s3 = false;        // AWS SigV4 with the config's S3 credentials
  bool basic_auth = false;     // WebDAV username/password
  bool md5_response = false;   // hash the response body instead of keeping it
  int response_fd = -1;        // >= 0: the body is written to this descriptor (a download), not kept
  uint64_t response_limit = UINT64_MAX;  // a download longer than this is stopped (DataLoss)
};
// What a server sent, before parsing: the status code, the header block as it came (lines ending
// in CRLF or LF; a status line "HTTP/..." inside it starts a new response, as after a redirect)
// and the body.
struct RawHttpReply {
  long status = 0;
  std::string header_block;
  std::string body;
};
struct HttpResponse {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string body_md5;  // when md5_response
  uint64_t body_bytes = 0;
  std::string Header(std::string_view lower_name) const;
};
// Performs one request. Transport failures (refused, timeout, stall, cut) -> Unavailable. HTTP
// statuses are returned as they are; see HttpStatusToError.
[[nodiscard]] StatusOr<HttpResponse> PerformHttp(const SinkConfig& config, const HttpRequest& request);
// Ok for 2xx; Unavailable for 408/429/5xx; NotFound for 404; FailedPrecondition otherwise.
[[nodiscard]] Status HttpStatusToError(const HttpRequest& request, const HttpResponse& response);
// Percent-encodes an object name for a URL path (keeps '/').
std::string UrlEncodePath(std::string_view path);
// Percent-encodes a query parameter value (RFC 3986 unreserved characters kept).
std::string UrlEncodeQueryValue(std::string_view value);

[[nodiscard]] StatusOr<std::unique_ptr<Sink>> MakeSink(const SinkConfig& config);

}  // namespace internal
}  // namespace cramjet::ship
