// ShipSample: the exactly-once loop over a sample's files, with retries, back-off and the
// conflict rule (a different object under a name this job never wrote is never overwritten).
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/common.h"
#include "cramjet/log.h"
#include "ship/ship.h"

namespace cramjet::ship {
namespace {

using internal::JobState;
using internal::LocalFile;
using internal::Sink;

constexpr const char* kManifestName = "manifest.json";

bool Retryable(const Status& s) { return s.code() == StatusCode::kUnavailable; }

// The wait before attempt `attempt` + 1 (full jitter, capped exponential); kAborted when the
// request's stop flag is raised before or during it.
Status WaitBeforeRetry(const SinkConfig& config, const ShipRequest& request, int attempt, const Status& last,
                       std::mt19937_64& rng) {
  if (request.stop && request.stop->load()) return Aborted("ship: stopped on request: " + last.message());
  double cap = std::min(config.retry.max_backoff_s, config.retry.base_backoff_s * std::pow(2.0, attempt - 1));
  double delay = std::uniform_real_distribution<double>(0.0, cap)(rng);  // full jitter
  CJ_LOG(kWarning) << "ship: attempt " << attempt << " of " << config.retry.max_attempts << " failed ("
                   << last.message() << "); retrying in " << static_cast<int>(delay * 1000) << " ms";
  auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(delay);
  while (std::chrono::steady_clock::now() < until) {
    if (request.stop && request.stop->load()) return Aborted("ship: stopped on request: " + last.message());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Status::Ok();
}

// One exclusive lock per job folder, so the daemon and a hand-run `cramjet ship` never upload the
// same job at once. Released when the process dies.
class JobLock {
 public:
  ~JobLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  Status Acquire(const std::string& dir) {
    std::string path = dir + "/lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) return IoErrorFromErrno("opening '" + path + "'", errno);
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0)
      return Unavailable("another process is shipping this job (lock '" + path + "' is held)");
    return Status::Ok();
  }

 private:
  int fd_ = -1;
};

Status MakeDirs(const std::string& dir) {
  if (dir.empty() || dir == "/" || dir == ".") return Status::Ok();
  if (::access(dir.c_str(), F_OK) == 0) return Status::Ok();
  CRAMJET_RETURN_IF_ERROR(MakeDirs(DirName(dir)));
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return IoErrorFromErrno("creating folder '" + dir + "'", errno);
  return Status::Ok();
}

// First token of a `.md5` sidecar, when it looks like an MD5.
std::string Md5FromSidecar(const std::string& text) {
  std::string token;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (!token.empty()) break;
      continue;
    }
    token += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (token.size() != 32 || token.find_first_not_of("0123456789abcdef") != std::string::npos) return {};
  return token;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Sends one object unless it is already there, then proves it. Returns whether it was sent.
StatusOr<bool> ShipOne(Sink& sink, JobState& state, const LocalFile& file, const std::string& name) {
  Status present = sink.Verify(file, name);
  if (present.ok()) {
    CJ_LOG(kInfo) << "ship: " << name << " already in the archive and verified";
    sink.Tidy(name, state);
    return false;
  }
  if (present.code() == StatusCode::kDataLoss) {
    if (!state.HasIntent(name))
      return FailedPrecondition("a different object already exists under '" + name +
                                "' and this job did not write it; not overwriting (" + present.message() + ")");
    CJ_LOG(kWarning) << "ship: replacing this job's earlier, unverified copy of " << name << ": "
                     << present.message();
  } else if (present.code() != StatusCode::kNotFound) {
    return present;
  }
  CRAMJET_RETURN_IF_ERROR(state.RecordIntent(name));
  Status uploaded = sink.Upload(file, name, state);
  // The server said it stored other bytes than were sent (damaged in transit): send again.
  if (uploaded.code() == StatusCode::kDataLoss) return Unavailable("upload damaged in transit: " + uploaded.message());
  CRAMJET_RETURN_IF_ERROR(uploaded);
  Status verified = sink.Verify(file, name);
  if (!verified.ok()) {
    if (verified.code() == StatusCode::kDataLoss || verified.code() == StatusCode::kNotFound)
      return Unavailable("verification after upload failed: " + verified.message());
    return verified;
  }
  CJ_LOG(kInfo) << "ship: " << name << " uploaded and verified (" << file.size << " bytes, md5 " << file.md5 << ")";
  return true;
}

// ---- Crypt4GH staging ----------------------------------------------------------------------------
// Encryption draws a fresh writer key, session key and nonces, so the ciphertext of a file is made
// once and kept: crypt4gh/NAME.c4gh in the job's state folder (fsync'd), with NAME.c4gh.json
// recording the plaintext's and the ciphertext's size and MD5 and the recipients. A retry or a
// restart ships the same bytes, so the manifest (which lists the ciphertext's MD5) never changes
// under an object already shipped. After a verified ship the ciphertext is removed and the record
// kept: a later run that finds the object intact in the archive (read back in full) needs no
// ciphertext; one that does not encrypts again, and the manifest follows the new bytes.

// A folder removed with its files when this goes out of scope (no state folder: nothing resumes).
class TemporaryFolder {
 public:
  ~TemporaryFolder() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  Status Create() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/cramjet-c4gh-XXXXXX";
    if (!::mkdtemp(pattern.data())) return IoErrorFromErrno("creating a staging folder in '" + DirName(pattern) + "'", errno);
    path_ = pattern;
    return Status::Ok();
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct StagedRecord {
  uint64_t plain_size = 0, cipher_size = 0;
  std::string plain_md5, cipher_md5;
  std::vector<std::string> recipients;
};

std::vector<std::string> RecipientNames(const SinkConfig& config) {
  std::vector<std::string> out;
  for (const auto& k : config.encryption.recipients) out.push_back(crypt4gh::KeyBase64(k));
  return out;
}

// The record as written, or nullopt for anything else (a damaged record means "encrypt again").
std::optional<StagedRecord> LoadStagedRecord(const std::string& path) {
  auto text = ReadSmallFile(path);
  if (!text.ok()) return std::nullopt;
  const nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  StagedRecord r;
  auto count = [&](const char* key, uint64_t& out) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_unsigned()) return false;
    out = it->get<uint64_t>();
    return true;
  };
  auto str = [&](const char* key, std::string& out) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return false;
    out = it->get<std::string>();
    return true;
  };
  if (!count("plain_size", r.plain_size) || !count("cipher_size", r.cipher_size) || !str("plain_md5", r.plain_md5) ||
      !str("cipher_md5", r.cipher_md5))
    return std::nullopt;
  auto rec = j.find("recipients");
  if (rec == j.end() || !rec->is_array()) return std::nullopt;
  for (const auto& v : *rec) {
    if (!v.is_string()) return std::nullopt;
    r.recipients.push_back(v.get<std::string>());
  }
  return r;
}

// Makes (or finds) the ciphertext of `f`, filling its object size, MD5 and upload path.
// `verify_remote` proves an object already shipped from a ciphertext since removed.
Status StageEncrypted(const SinkConfig& config, const std::string& stage_dir, ShippedFile& f,
                      const std::function<Status(const LocalFile&, const std::string&)>& verify_remote,
                      const std::function<bool()>& stop) {
  const std::string body = stage_dir + "/" + BaseName(f.local_path) + ".c4gh";
  const std::string record_path = body + ".json";
  const std::vector<std::string> recipients = RecipientNames(config);
  if (auto rec = LoadStagedRecord(record_path);
      rec && rec->plain_size == f.plain_size && rec->plain_md5 == f.plain_md5 && rec->recipients == recipients) {
    if (::access(body.c_str(), F_OK) == 0) {
      auto size = FileSize(body);
      auto md5 = FileMd5Hex(body);
      if (size.ok() && md5.ok() && *size == rec->cipher_size && *md5 == rec->cipher_md5) {
        f.size = rec->cipher_size;
        f.md5 = rec->cipher_md5;
        f.upload_path = body;
        CJ_LOG(kInfo) << "ship: reusing the staged ciphertext of " << f.local_path << " (md5 " << f.md5 << ")";
        return Status::Ok();
      }
      CJ_LOG(kWarning) << "ship: the staged ciphertext '" << body << "' is not the one recorded; encrypting again";
    } else {
      Status there = verify_remote(LocalFile{"", rec->cipher_size, rec->cipher_md5}, f.remote_name);
      if (there.ok()) {
        f.size = rec->cipher_size;
        f.md5 = rec->cipher_md5;
        f.upload_path.clear();  // in the archive and verified: nothing to send
        return Status::Ok();
      }
      if (there.code() != StatusCode::kNotFound && there.code() != StatusCode::kDataLoss) return there;
      CJ_LOG(kWarning) << "ship: " << f.remote_name << " is no longer intact in the archive (" << there.message()
                       << "); encrypting " << f.local_path << " again";
    }
  }
  CRAMJET_ASSIGN_OR_RETURN(crypt4gh::Digests d, crypt4gh::EncryptFile(f.local_path, body, config.encryption.recipients,
                                                                               nullptr, stop));
  if (d.plain_size != f.plain_size || d.plain_md5 != f.plain_md5)
    return DataLoss("'" + f.local_path + "' changed while it was being encrypted; nothing shipped");
  nlohmann::json j = {{"plain_size", d.plain_size}, {"plain_md5", d.plain_md5}, {"cipher_size", d.cipher_size},
                      {"cipher_md5", d.cipher_md5}, {"recipients", recipients}};
  CRAMJET_RETURN_IF_ERROR(WriteFileAtomically(record_path, j.dump(2) + "\n"));
  f.size = d.cipher_size;
  f.md5 = d.cipher_md5;
  f.upload_path = body;
  CJ_LOG(kInfo) << "ship: encrypted " << f.local_path << " for " << recipients.size() << " recipient"
                << (recipients.size() == 1 ? "" : "s") << " (" << d.segments << " segments, md5 " << f.md5 << ")";
  return Status::Ok();
}

// Manifest built once per job and kept in the state folder, so a restart (even with a newer tool
// version) ships the same bytes; rebuilt when the files changed.
StatusOr<std::string> ManifestText(const ShipRequest& request, const std::vector<ShippedFile>& files,
                                   const std::string& saved_path, const SinkConfig::Encryption& encryption) {
  if (!saved_path.empty()) {
    auto saved = ReadSmallFile(saved_path);
    if (saved.ok()) {
      // Read with the archive's own reader: a damaged or foreign file is rebuilt, never trusted.
      auto kept = ParseManifest(*saved, saved_path);
      bool same = kept.ok() && kept->files.size() == files.size() && kept->sample == request.sample &&
                  kept->run == request.run && (kept->encryption_method == "crypt4gh") == encryption.crypt4gh;
      for (size_t i = 0; same && i < files.size(); ++i) {
        const ManifestFile& f = kept->files[i];
        same = f.name == files[i].remote_name && f.md5 == files[i].md5 && f.size == files[i].size &&
               f.encrypted == files[i].encrypted && f.plain_md5 == files[i].plain_md5;
      }
      if (same) return *saved;
    }
  }
  CRAMJET_ASSIGN_OR_RETURN(std::string text, BuildManifest(request, files, encryption.crypt4gh ? &encryption : nullptr));
  if (!saved_path.empty()) CRAMJET_RETURN_IF_ERROR(WriteFileAtomically(saved_path, text));
  return text;
}

}  // namespace

std::string SanitizeNameComponent(std::string_view name) {
  std::string out;
  for (char c : name) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-';
    out += ok ? c : '_';
  }
  while (!out.empty() && out[0] == '.') out.erase(out.begin());
  return out.empty() ? "_" : out;
}

StatusOr<std::string> RenderObjectName(const SinkConfig& config, const ShipRequest& request,
                                       std::string_view file_base_name) {
  const std::string& t = config.object_template;
  std::string out;
  for (size_t i = 0; i < t.size();) {
    if (t[i] != '{') {
      out += t[i++];
      continue;
    }
    size_t close = t.find('}', i);
    if (close == std::string::npos) return InvalidArgument("object template '" + t + "': unclosed '{'");
    std::string key = t.substr(i + 1, close - i - 1);
    std::string_view value;
    if (key == "sample") value = request.sample;
    else if (key == "run") value = request.run;
    else if (key == "lane") value = request.lane;
    else if (key == "instrument") value = request.instrument;
    else if (key == "file") value = file_base_name;
    else return InvalidArgument("object template '" + t + "': unknown placeholder {" + key + "}");
    // An empty value that is a whole path component drops the component: a drop-folder job has
    // no run, and "{run}/{sample}/{file}" gives "SAMPLE/SAMPLE.cram", not "_/SAMPLE/...".
    const bool whole_component = (i == 0 || t[i - 1] == '/') && (close + 1 == t.size() || t[close + 1] == '/');
    if (value.empty() && whole_component && close + 1 < t.size()) {
      i = close + 2;  // the placeholder and the slash after it
      continue;
    }
    out += SanitizeNameComponent(value);
    i = close + 1;
  }
  // Each component must be a plain name: no empty parts, no "." or "..", no leading '/'.
  size_t start = 0;
  for (;;) {
    size_t slash = out.find('/', start);
    std::string part = out.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (part.empty() || part == "." || part == "..")
      return InvalidArgument("object template '" + t + "' gives '" + out + "', which has an empty or dot component");
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return out;
}

StatusOr<ShipResult> ShipSample(const SinkConfig& config, const ShipRequest& request) {
  if (request.files.empty()) return InvalidArgument("ship: no files given");
  if (!EndsWith(request.files[0], ".cram"))
    return InvalidArgument("ship: the first file must be the CRAM, got '" + request.files[0] + "'");
  if (request.sample.empty()) return InvalidArgument("ship: the sample name is empty");

  JobState state(request.state_dir);
  JobLock lock;
  if (state.enabled()) {
    CRAMJET_RETURN_IF_ERROR(MakeDirs(request.state_dir));
    CRAMJET_RETURN_IF_ERROR(lock.Acquire(request.state_dir));
  }

  // Local files: sizes and MD5s, computed once per call. They are only ever read.
  ShipResult result;
  std::set<std::string> names;
  for (const auto& path : request.files) {
    CRAMJET_RETURN_IF_ERROR(CheckReadableFile(path));
    ShippedFile f;
    f.local_path = path;
    CRAMJET_ASSIGN_OR_RETURN(f.size, FileSize(path));
    CRAMJET_ASSIGN_OR_RETURN(f.md5, FileMd5Hex(path));
    if (BaseName(path) == kManifestName) return InvalidArgument("ship: '" + path + "' would collide with the manifest");
    // Encrypted, each file is its Crypt4GH form: NAME.c4gh.
    const std::string object_file = BaseName(path) + (config.encryption.crypt4gh ? ".c4gh" : "");
    CRAMJET_ASSIGN_OR_RETURN(f.remote_name, RenderObjectName(config, request, object_file));
    if (!names.insert(f.remote_name).second)
      return InvalidArgument("ship: two files map to the object name '" + f.remote_name + "'");
    result.files.push_back(std::move(f));
  }
  // A CRAM that disagrees with its own .md5 was damaged on local disk: ship nothing.
  for (const auto& f : result.files) {
    if (!EndsWith(f.local_path, ".md5")) continue;
    CRAMJET_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(f.local_path));
    std::string expected = Md5FromSidecar(text);
    if (f.local_path == result.files[0].local_path + ".md5" && !expected.empty() && expected != result.files[0].md5)
      return DataLoss("'" + result.files[0].local_path + "' has MD5 " + result.files[0].md5 + " but '" +
                      f.local_path + "' says " + expected + ": the local CRAM changed; nothing shipped");
  }

  CRAMJET_ASSIGN_OR_RETURN(std::unique_ptr<Sink> sink, internal::MakeSink(config));

  // Crypt4GH: each file's ciphertext, made once (above StageEncrypted).
  TemporaryFolder temporary_stage;
  std::string stage_dir;
  if (config.encryption.crypt4gh) {
    if (config.encryption.recipients.empty()) return InvalidArgument("ship: Crypt4GH encryption without recipients");
    if (state.enabled()) {
      stage_dir = request.state_dir + "/crypt4gh";
      CRAMJET_RETURN_IF_ERROR(MakeDirs(stage_dir));
      // A ship killed while encrypting leaves a CRAM-sized temporary here; under the job lock no
      // other ship of this job runs, and only a dead process's temporaries are removed.
      for (const std::string& removed : RemoveStaleTemporaries(stage_dir, [](std::string_view) { return true; })) {
        CJ_LOG(kInfo) << "ship: removed '" << removed << "', left by an interrupted encryption";
      }
    } else {
      CRAMJET_RETURN_IF_ERROR(temporary_stage.Create());
      stage_dir = temporary_stage.path();
    }
    // An object whose staged ciphertext was removed after a verified ship is proven by reading
    // it back whole (file, WebDAV) or by its stored MD5 and ETag (S3).
    // A transient failure (kUnavailable) is retried under the same policy as the uploads, so an
    // archive briefly down while staging does not end the ship after one try.
    std::unique_ptr<Sink> readback;
    std::mt19937_64 verify_rng(std::random_device{}());
    auto verify_remote = [&](const LocalFile& file, const std::string& name) -> Status {
      if (!readback) {
        SinkConfig c = config;
        if (c.kind != SinkKind::kS3) c.verify_readback = true;
        CRAMJET_ASSIGN_OR_RETURN(readback, internal::MakeSink(c));
      }
      const int attempts = std::max(1, config.retry.max_attempts);
      for (int attempt = 1;; ++attempt) {
        Status there = readback->Verify(file, name);
        if (!Retryable(there) || attempt >= attempts) return there;
        CRAMJET_RETURN_IF_ERROR(WaitBeforeRetry(config, request, attempt, there, verify_rng));
      }
    };
    auto stop = [&request] { return request.stop && request.stop->load(); };
    for (auto& f : result.files) {
      f.encrypted = true;
      f.plain_size = f.size;
      f.plain_md5 = f.md5;
      CRAMJET_RETURN_IF_ERROR(
          StageEncrypted(config, stage_dir, f, verify_remote, stop).WithContext("'" + f.local_path + "'"));
    }
  }

  // The manifest, written locally so it ships like any other file.
  std::string manifest_path;
  std::unique_ptr<std::string, void (*)(std::string*)> temp_manifest(nullptr, [](std::string* p) {
    ::unlink(p->c_str());
    delete p;
  });
  if (state.enabled()) {
    manifest_path = request.state_dir + "/" + kManifestName;
    CRAMJET_ASSIGN_OR_RETURN(std::string text, ManifestText(request, result.files, manifest_path, config.encryption));
    (void)text;
  } else {
    CRAMJET_ASSIGN_OR_RETURN(std::string text, ManifestText(request, result.files, "", config.encryption));
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/cramjet-manifest-XXXXXX";
    int fd = ::mkstemp(pattern.data());
    if (fd < 0) return IoErrorFromErrno("creating a temporary manifest in '" + DirName(pattern) + "'", errno);
    ::close(fd);
    temp_manifest.reset(new std::string(pattern));
    CRAMJET_RETURN_IF_ERROR(WriteFileAtomically(pattern, text));
    manifest_path = pattern;
  }
  result.manifest.local_path = manifest_path;
  CRAMJET_ASSIGN_OR_RETURN(result.manifest.size, FileSize(manifest_path));
  CRAMJET_ASSIGN_OR_RETURN(result.manifest.md5, FileMd5Hex(manifest_path));
  CRAMJET_ASSIGN_OR_RETURN(result.manifest.remote_name, RenderObjectName(config, request, kManifestName));
  if (names.count(result.manifest.remote_name))
    return InvalidArgument("ship: the object template maps a file onto the manifest name '" +
                           result.manifest.remote_name + "'");

  CJ_LOG(kInfo) << "ship: sample " << request.sample << " -> " << DescribeSink(config);

  std::mt19937_64 rng(std::random_device{}());
  Status last;
  for (int attempt = 1; attempt <= std::max(1, config.retry.max_attempts); ++attempt) {
    result.attempts = attempt;
    last = Status::Ok();
    // Files in order, manifest last: its arrival tells the archive the set is complete.
    for (size_t i = 0; i <= result.files.size() && last.ok(); ++i) {
      const ShippedFile& f = i < result.files.size() ? result.files[i] : result.manifest;
      if (f.encrypted && f.upload_path.empty()) continue;  // verified in the archive while staging
      LocalFile local{f.encrypted ? f.upload_path : f.local_path, f.size, f.md5};
      auto sent = ShipOne(*sink, state, local, f.remote_name);
      if (!sent.ok()) last = sent.status().WithContext("'" + f.local_path + "' -> '" + f.remote_name + "'");
      else if (*sent) ++result.uploaded;
    }
    if (last.ok()) {
      // Shipped and verified: the staged ciphertexts are not needed any more (their records stay).
      for (auto& f : result.files) {
        if (!f.encrypted || f.upload_path.empty()) continue;
        if (state.enabled() && ::unlink(f.upload_path.c_str()) != 0) {
          CJ_LOG(kWarning) << "ship: could not remove the staged '" << f.upload_path << "': " << std::strerror(errno);
        }
        f.upload_path.clear();
      }
      return result;
    }
    if (!Retryable(last)) return last;
    if (request.stop && request.stop->load()) return Aborted("ship: stopped on request: " + last.message());
    if (attempt == config.retry.max_attempts) break;
    CRAMJET_RETURN_IF_ERROR(WaitBeforeRetry(config, request, attempt, last, rng));
  }
  return Unavailable("gave up after " + std::to_string(result.attempts) + " attempts: " + last.message());
}

Status VerifyShipped(const SinkConfig& config, const ShipResult& shipped) {
  SinkConfig c = config;
  // The local files may be gone by now: compare with the recorded MD5s by reading back in full
  // (file, WebDAV) or by the server's stored digest (S3).
  if (c.kind != SinkKind::kS3) c.verify_readback = true;
  CRAMJET_ASSIGN_OR_RETURN(std::unique_ptr<Sink> sink, internal::MakeSink(c));
  for (size_t i = 0; i <= shipped.files.size(); ++i) {
    const ShippedFile& f = i < shipped.files.size() ? shipped.files[i] : shipped.manifest;
    // An encrypted object is compared with its ciphertext (staged, or gone: the recorded MD5).
    const std::string& path = f.encrypted ? f.upload_path : f.local_path;
    LocalFile local{!path.empty() && ::access(path.c_str(), R_OK) == 0 ? path : "", f.size, f.md5};
    CRAMJET_RETURN_IF_ERROR(sink->Verify(local, f.remote_name));
  }
  return Status::Ok();
}

Status DownloadObject(const SinkConfig& config, const std::string& name, const std::string& local_path,
                      uint64_t max_bytes) {
  CRAMJET_ASSIGN_OR_RETURN(std::unique_ptr<Sink> sink, internal::MakeSink(config));
  return sink->Download(name, local_path, max_bytes);
}

}  // namespace cramjet::ship
