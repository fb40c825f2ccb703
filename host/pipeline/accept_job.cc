// `cramjet accept` (AcceptDelivery of cramjet/accept.h): the archive's checks of one delivered
// set, cheapest first so that the first problem is named before anything is decoded: the
// manifest, every file's presence, size and MD5, the CRAM's @SQ lines against the manifest, the
// reference MD5s the archive knows, the QC verdict, then a full decode against the .seqchksum.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <optional>
#include <fstream>
#include <set>

#include <htslib/kstring.h>
#include <nlohmann/json.hpp>

#include "common/alignment_file.h"
#include "common/common.h"
#include "cramjet/accept.h"
#include "cramjet/compress.h"
#include "cramjet/version.h"
#include "pipeline/archive_sink.h"
#include "ship/crypt4gh.h"
#include "ship/ship.h"

namespace cramjet {
namespace {

// A folder for the files of one delivery, removed with everything in it when the check ends.
class StagingFolder {
 public:
  static StatusOr<StagingFolder> Create(const std::string& parent) {
    std::string base = parent;
    if (base.empty()) {
      const char* tmp = std::getenv("TMPDIR");
      base = tmp && *tmp ? tmp : "/tmp";
    }
    std::string pattern = base + "/cramjet-accept.XXXXXX";
    if (!::mkdtemp(pattern.data())) return IoErrorFromErrno("staging folder in '" + base + "'", errno);
    return StagingFolder(pattern);
  }
  StagingFolder(StagingFolder&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  StagingFolder(const StagingFolder&) = delete;
  ~StagingFolder() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  explicit StagingFolder(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// The delivery: its URL and its sink, rooted at the folder the manifest is in. Every file is
// copied to the staging folder (a local delivery too), so that each check reads the same bytes.
class Delivery {
 public:
  static StatusOr<Delivery> Open(const AcceptOptions& o) {
    if (o.delivery.empty()) return InvalidArgument("no delivery given (a folder or URL holding manifest.json)");
    Delivery d;
    d.url_ = o.delivery;
    if (d.url_.find("://") == std::string::npos) {
      std::error_code ec;
      const std::filesystem::path abs = std::filesystem::absolute(d.url_, ec);
      if (ec) return IoError("'" + d.url_ + "': " + ec.message());
      d.url_ = "file://" + abs.lexically_normal().string();
    }
    while (d.url_.size() > 1 && d.url_.back() == '/') d.url_.pop_back();
    CRAMJET_ASSIGN_OR_RETURN(d.sink_, LoadArchiveSinkConfig(d.url_, o.config_file));
    return d;
  }
  const std::string& url() const { return url_; }

  // Object `name` (below the delivery folder) copied to `staged` for the checks, at most
  // `max_bytes` of it. NotFound naming it when absent; DataLoss when longer.
  Status Fetch(const std::string& name, const std::string& staged, const std::string& what, uint64_t max_bytes) const {
    Status got = ship::DownloadObject(sink_, name, staged, max_bytes);
    if (got.code() == StatusCode::kNotFound) return NotFound("delivery '" + url_ + "': " + what + " is missing (" + got.message() + ")");
    if (!got.ok()) return Status(got.code(), what + ": " + got.message());
    return got;
  }

 private:
  std::string url_;
  ship::SinkConfig sink_;
};

std::string ToLower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
bool IsMd5(const std::string& s) {
  return s.size() == 32 && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isxdigit(c); });
}

// The MD5s listed in the archive's files: the first field of each line that is one.
StatusOr<std::set<std::string>> KnownReferenceMd5s(const std::vector<std::string>& files) {
  std::set<std::string> known;
  for (const std::string& path : files) {
    std::ifstream in(path);
    if (!in) return IoErrorFromErrno("known references '" + path + "'", errno);
    for (std::string line; std::getline(in, line);) {
      const size_t start = line.find_first_not_of(" \t");
      if (start == std::string::npos || line[start] == '#') continue;
      const std::string first = ToLower(line.substr(start, line.find_first_of(" \t\r", start) - start));
      if (IsMd5(first)) known.insert(first);
    }
  }
  return known;
}

// The CRAM's @SQ lines must be the manifest's contigs, in order: a manifest edited after the
// fact (another reference named) is caught even when every file's MD5 was updated with it.
Status CheckContigsAgainstManifest(const std::string& cram, const std::string& cram_name, const ship::Manifest& m) {
  AlignmentOpenOptions open;
  open.header_only = true;
  CRAMJET_ASSIGN_OR_RETURN(AlignmentFile f, OpenAlignmentFile(cram, open));
  const int n = sam_hdr_count_lines(f.header.get(), "SQ");
  if (n != static_cast<int>(m.contigs.size()))
    return DataLoss(cram_name + " has " + std::to_string(n) + " @SQ lines, the manifest lists " +
                    std::to_string(m.contigs.size()) + " contigs");
  kstring_t ks = KS_INITIALIZE;
  auto tag = [&](int i, const char* key) {
    return sam_hdr_find_tag_pos(f.header.get(), "SQ", i, key, &ks) == 0 ? std::string(ks.s) : std::string();
  };
  Status result = Status::Ok();
  for (int i = 0; i < n && result.ok(); ++i) {
    const ship::ManifestContig& c = m.contigs[static_cast<size_t>(i)];
    const std::string sn = tag(i, "SN"), ln = tag(i, "LN"), m5 = ToLower(tag(i, "M5"));
    if (sn != c.name || ln != std::to_string(c.length) || m5 != ToLower(c.md5))
      result = DataLoss(cram_name + " @SQ " + std::to_string(i + 1) + " (SN:" + sn + " LN:" + ln + " M5:" + m5 +
                        ") is not the manifest's contigs[" + std::to_string(i) + "] (" + c.name + ", " +
                        std::to_string(c.length) + ", " + c.md5 + ")");
  }
  ks_free(&ks);
  return result;
}

}  // namespace

StatusOr<AcceptResult> AcceptDelivery(const AcceptOptions& o) {
  if (o.qc_fail != "reject" && o.qc_fail != "released" && o.qc_fail != "accept")
    return InvalidArgument("--qc-fail '" + o.qc_fail + "': expected reject, released or accept");
  CRAMJET_ASSIGN_OR_RETURN(std::set<std::string> known, KnownReferenceMd5s(o.known_references));
  // The archive's Crypt4GH key, read first: a wrong passphrase is named before anything is fetched.
  std::optional<crypt4gh::Key> key;
  // Wiped on every return, the error returns of the checks below included.
  struct KeyWiper {
    std::optional<crypt4gh::Key>& key;
    ~KeyWiper() {
      if (key) crypt4gh::Wipe(*key);
    }
  } key_wiper{key};
  if (!o.crypt4gh_key.empty()) {
    StatusOr<crypt4gh::Key> read = crypt4gh::ReadPrivateKeyFile(o.crypt4gh_key);
    if (!read.ok()) return read.status();
    key = *read;
    crypt4gh::Wipe(*read);
  }
  CRAMJET_ASSIGN_OR_RETURN(Delivery delivery, Delivery::Open(o));
  CRAMJET_ASSIGN_OR_RETURN(StagingFolder staging, StagingFolder::Create(o.staging_dir));
  AcceptResult result;
  result.delivery_url = delivery.url();

  // 1. The manifest: there, and a cramjet manifest this build reads.
  const std::string manifest_path = staging.path() + "/manifest.json";
  constexpr uint64_t kManifestLimit = 64ull << 20;  // a manifest of a few kB; nothing near this
  CRAMJET_RETURN_IF_ERROR(delivery.Fetch("manifest.json", manifest_path, "manifest.json", kManifestLimit));
  CRAMJET_ASSIGN_OR_RETURN(std::string manifest_text, ReadSmallFile(manifest_path));
  CRAMJET_ASSIGN_OR_RETURN(ship::Manifest m, ship::ParseManifest(manifest_text, delivery.url() + "/manifest.json"));
  CRAMJET_ASSIGN_OR_RETURN(result.manifest_md5, FileMd5Hex(manifest_path));
  result.manifest_size = manifest_text.size();
  result.sample = m.sample;
  result.run = m.run;
  result.reference_name = m.reference_name;
  result.qc_verdict = m.qc_verdict;
  result.qc_released = m.qc_released;
  if (!m.encryption_method.empty()) {
    // Rejected, not checked at the ciphertext level only: an acceptance stands for a decoded CRAM.
    if (!key) {
      std::string recipients;
      for (const auto& r : m.recipients) recipients += (recipients.empty() ? "" : ", ") + r;
      return FailedPrecondition("the delivery is encrypted with Crypt4GH (for " + recipients +
                                "): give --crypt4gh-key with the archive's private key");
    }
    result.encryption = m.encryption_method;
    result.decryption_key = crypt4gh::KeyBase64(crypt4gh::PublicKeyOf(*key));
  } else if (key) {
    result.notes.push_back("the delivery is not encrypted; --crypt4gh-key was not needed");
  }

  // 2. Every file: there, its size, its MD5. Staged under the names verify looks for (the
  // sidecars beside the CRAM as <cram>.seqchksum and <cram>.md5).
  const std::string where = delivery.url() + "/manifest.json: ";
  const ship::ManifestFile* cram = nullptr;
  int crams = 0, seqchksums = 0, md5s = 0;
  for (const auto& f : m.files) {
    if (f.role == "cram") cram = &f;
    crams += f.role == "cram";
    seqchksums += f.role == "seqchksum";
    md5s += f.role == "md5";
    // ParseManifest refused names that are not relative or have an empty, "." or ".." part, a
    // backslash or a control character; a receipt carries only printable ASCII without spaces.
    const bool safe = std::all_of(f.name.begin(), f.name.end(), [](unsigned char ch) { return ch >= 0x21 && ch < 0x7f; });
    if (!safe) return BadInput(where + "file name '" + f.name + "' is not a safe relative name");
  }
  // One CRAM and the proof of that one: a second CRAM would be accepted undecoded.
  if (crams != 1) return BadInput(where + std::to_string(crams) + " files with role cram (one set has exactly one)");
  if (seqchksums != 1)
    return BadInput(where + (seqchksums == 0 ? std::string("no .seqchksum delivered: the CRAM's content cannot be proven")
                                             : std::to_string(seqchksums) + " files with role seqchksum"));
  if (md5s > 1) return BadInput(where + std::to_string(md5s) + " files with role md5");
  // An encrypted file NAME.c4gh is checked, then decrypted, as NAME.
  auto plain_base = [](const ship::ManifestFile& f) -> StatusOr<std::string> {
    const std::string base = BaseName(f.name);
    if (!f.encrypted) return base;
    if (base.size() <= 5 || base.compare(base.size() - 5, 5, ".c4gh") != 0)
      return BadInput(f.name + " (" + f.role + "): an encrypted file's name must end in .c4gh");
    return base.substr(0, base.size() - 5);
  };
  CRAMJET_ASSIGN_OR_RETURN(const std::string cram_base, plain_base(*cram));
  std::string staged_cram;
  std::map<std::string, std::string> taken;  // staging path -> the manifest name that takes it
  taken.emplace(manifest_path, "manifest.json");
  for (const auto& f : m.files) {
    CRAMJET_ASSIGN_OR_RETURN(const std::string base, plain_base(f));
    const std::string staged_name = f.role == "seqchksum" ? cram_base + ".seqchksum"
                                    : f.role == "md5"     ? cram_base + ".md5"
                                                          : base;
    const std::string staged = staging.path() + "/" + staged_name;
    const std::string what = f.name + " (" + f.role + ")";
    // The object as delivered (the ciphertext when encrypted): there, its size, its MD5.
    const std::string fetched = f.encrypted ? staged + ".c4gh" : staged;
    // Both names this file takes in the staging folder (an encrypted X.c4gh.c4gh is fetched as
    // X.c4gh.c4gh and decrypted to X.c4gh, the name a plain X.c4gh would have), against every
    // name an earlier file took: a clash is the delivery's, named as such, not a later IoError.
    for (const std::string* name : {&staged, &fetched}) {
      const auto earlier = taken.find(*name);
      if (earlier != taken.end())
        return BadInput(where + earlier->second + " and " + f.name + " would both take the name '" +
                        BaseName(*name) + "' in the staging folder");
    }
    for (const std::string* name : {&staged, &fetched}) {
      if (std::filesystem::exists(std::filesystem::symlink_status(*name)))
        return BadInput(where + "two files would take the name '" + BaseName(*name) + "'");
    }
    taken.emplace(staged, f.name);
    taken.emplace(fetched, f.name);
    CRAMJET_RETURN_IF_ERROR(delivery.Fetch(BaseName(f.name), fetched, what, f.size));
    CRAMJET_ASSIGN_OR_RETURN(uint64_t size, FileSize(fetched));
    if (size != f.size)
      return DataLoss(what + ": " + std::to_string(size) + " bytes, the manifest says " + std::to_string(f.size));
    CRAMJET_ASSIGN_OR_RETURN(std::string md5, FileMd5Hex(fetched));
    if (md5 != ToLower(f.md5)) return DataLoss(what + ": MD5 " + md5 + ", the manifest says " + f.md5);
    AcceptedFile accepted;
    accepted.name = f.name;
    accepted.role = f.role;
    accepted.size = f.size;
    accepted.md5 = md5;
    if (f.encrypted) {
      // Decrypted to at most the plaintext size the manifest gives, then that size and MD5.
      CRAMJET_ASSIGN_OR_RETURN(crypt4gh::Digests d, crypt4gh::DecryptFile(fetched, staged, *key, "'" + o.crypt4gh_key + "'",
                                                                         f.plain_size, what));
      ::unlink(fetched.c_str());
      if (d.plain_size != f.plain_size)
        return DataLoss(what + ": decrypts to " + std::to_string(d.plain_size) + " bytes, the manifest says " +
                        std::to_string(f.plain_size));
      if (d.plain_md5 != f.plain_md5)
        return DataLoss(what + ": decrypts to MD5 " + d.plain_md5 + ", the manifest says " + f.plain_md5);
      accepted.encrypted = true;
      accepted.plain_size = d.plain_size;
      accepted.plain_md5 = d.plain_md5;
    }
    result.files.push_back(accepted);
    if (&f == cram) staged_cram = staged;
  }

  // 3. The CRAM's header is the manifest's.
  CRAMJET_RETURN_IF_ERROR(CheckContigsAgainstManifest(staged_cram, cram->name, m));

  // 4. A reference the archive knows, for every contig.
  for (const auto& c : m.contigs) {
    if (c.md5.empty())
      return FailedPrecondition("contig " + c.name + " has no M5: the archive cannot tell which reference it needs");
    const std::string m5 = ToLower(c.md5);
    if (!known.count(m5) && LocalReferenceForMd5(m5).empty())
      return FailedPrecondition("contig " + c.name + " M5:" + m5 +
                                " is not a reference the archive knows (not in --known-references, REF_CACHE or "
                                "a local REF_PATH)");
    result.reference_md5s.push_back(m5);
  }

  // 5. The QC verdict, as the archive's policy takes it.
  if (m.qc_verdict.empty()) {
    if (o.require_qc) return FailedPrecondition("no QC verdict in the manifest (--require-qc)");
    result.notes.push_back("no QC document was delivered");
  } else if (m.qc_verdict == "fail") {
    if (o.qc_fail == "reject") return FailedPrecondition("QC verdict fail (--qc-fail reject)");
    if (o.qc_fail == "released" && !m.qc_released)
      return FailedPrecondition("QC verdict fail, not released by an operator (--qc-fail accept takes it anyway)");
    result.notes.push_back(m.qc_released ? "QC verdict fail, released by an operator" : "QC verdict fail, accepted (--qc-fail accept)");
  }

  // 6. The proof: every read decoded and compared with the .seqchksum, the CRAM with its .md5.
  VerifyOptions v;
  v.cram = staged_cram;
  v.reference = o.reference;
  v.threads = o.threads;
  CRAMJET_ASSIGN_OR_RETURN(VerifyResult verified, Verify(v));
  if (!verified.equal)
    return DataLoss(cram->name + " does not match its .seqchksum" +
                    (verified.differences.empty() ? std::string() : ": " + verified.differences.front()));
  result.reads = verified.records;
  return result;
}

namespace {

nlohmann::json DocumentStart(const AcceptOptions& o, bool accepted, const std::string& checked_at) {
  nlohmann::json j;
  j["schema"] = "cramjet-acceptance";
  j["schema_version"] = 1;
  j["accepted"] = accepted;
  j["delivery"] = o.delivery;
  j["checked_at"] = checked_at;
  j["checked_by"] = std::string("cramjet ") + Version();
  return j;
}

}  // namespace

std::string AcceptanceReceipt(const AcceptOptions& o, const AcceptResult& r, const std::string& checked_at) {
  nlohmann::json j = DocumentStart(o, true, checked_at);
  j["delivery"] = r.delivery_url;
  j["sample"] = r.sample;
  j["run"] = r.run;
  // The receipt is bound to the manifest as delivered: its MD5 names exactly what was accepted.
  j["manifest"] = {{"name", "manifest.json"}, {"size", r.manifest_size}, {"md5", r.manifest_md5}};
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : r.files) {
    files.push_back({{"name", f.name}, {"role", f.role}, {"size", f.size}, {"md5", f.md5}});
    if (f.encrypted) files.back()["plaintext"] = {{"size", f.plain_size}, {"md5", f.plain_md5}};
  }
  j["files"] = files;
  if (!r.encryption.empty()) j["encryption"] = {{"method", r.encryption}, {"key", r.decryption_key}};
  j["reads"] = r.reads;
  j["reference"] = {{"name", r.reference_name}, {"md5s", r.reference_md5s}};
  j["qc"] = {{"verdict", r.qc_verdict.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.qc_verdict)},
             {"released_by_operator", r.qc_released}};
  j["notes"] = r.notes;
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string RejectionDocument(const AcceptOptions& o, const Status& why, const std::string& checked_at) {
  nlohmann::json j = DocumentStart(o, false, checked_at);
  j["reason"] = why.message();
  j["code"] = std::string(StatusCodeName(why.code()));
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Status WriteAcceptanceDocument(const std::string& path, const std::string& text) {
  return WriteFileAtomically(path, text);
}

}  // namespace cramjet
