// manifest.json read back: the receiving side of BuildManifest (manifest.cc). A delivery comes
// from outside, so every field is looked up, type-checked and form-checked by hand (no
// nlohmann::json::get<> that throws, no at()), and the first problem is named with its path.
#include <set>

#include <nlohmann/json.hpp>

#include "common/common.h"
#include "ship/ship.h"

namespace cramjet::ship {
namespace {

using nlohmann::json;

// The newest manifest format this build reads: 1 for plaintext deliveries, 2 for Crypt4GH ones
// (BuildManifest writes the lowest that describes the delivery).
constexpr int kManifestFormatVersion = 2;

class FieldReader {
 public:
  explicit FieldReader(std::string source) : source_(std::move(source)) {}

  Status Refuse(const std::string& path, const std::string& why) const {
    return BadInput(source_ + ": " + path + ": " + why);
  }

  const json* Find(const json& object, const std::string& key) const {
    if (!object.is_object()) return nullptr;
    auto it = object.find(key);
    return it == object.end() ? nullptr : &*it;
  }

  StatusOr<std::string> String(const json& object, const std::string& key, const std::string& path,
                               bool required = true) const {
    const json* v = Find(object, key);
    if (v == nullptr || v->is_null()) {
      if (required) return Refuse(path + key, "missing");
      return std::string();
    }
    if (!v->is_string()) return Refuse(path + key, std::string("is ") + v->type_name() + ", not a string");
    return v->get_ref<const std::string&>();
  }

  // A required member that must be an object or an array: "missing" or "is not an ...".
  StatusOr<const json*> Object(const json& object, const std::string& key, const std::string& path) const {
    const json* v = Find(object, key);
    if (v == nullptr || !v->is_object()) return Refuse(path + key, v == nullptr ? "missing" : "is not an object");
    return v;
  }
  StatusOr<const json*> Array(const json& object, const std::string& key, const std::string& path) const {
    const json* v = Find(object, key);
    if (v == nullptr || !v->is_array()) return Refuse(path + key, v == nullptr ? "missing" : "is not an array");
    return v;
  }

  StatusOr<uint64_t> Count(const json& object, const std::string& key, const std::string& path) const {
    const json* v = Find(object, key);
    if (v == nullptr) return Refuse(path + key, "missing");
    if (!v->is_number_unsigned()) return Refuse(path + key, "is not a whole number >= 0");
    return v->get<uint64_t>();
  }

 private:
  std::string source_;
};

bool IsLowerHexMd5(const std::string& s) {
  if (s.size() != 32) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// An object name the receiver may join to its delivery root: relative, no empty, "." or ".."
// component, no backslash or control character.
const char* UnsafeObjectName(const std::string& name) {
  if (name.empty()) return "is empty";
  if (name.front() == '/') return "is an absolute path";
  if (name.size() > 4096) return "is longer than 4096 bytes";
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string::npos) end = name.size();
    const std::string_view part(name.data() + start, end - start);
    if (part.empty()) return "has an empty path component";
    if (part == "." || part == "..") return "has a '.' or '..' component";
    start = end + 1;
  }
  for (char c : name) {
    if (c == '\\') return "contains a backslash";
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "contains a control character";
  }
  return nullptr;
}

}  // namespace

StatusOr<Manifest> ParseManifest(std::string_view text, std::string_view source_view) {
  const std::string source(source_view);
  const json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return BadInput(source + ": not JSON");
  if (!doc.is_object()) return BadInput(source + ": not a JSON object");
  FieldReader r(source);

  CRAMJET_ASSIGN_OR_RETURN(std::string format, r.String(doc, "format", ""));
  if (format != "cramjet-manifest") return r.Refuse("format", "'" + format + "', not 'cramjet-manifest'");
  const json* version = r.Find(doc, "format_version");
  if (version == nullptr || !version->is_number_integer())
    return r.Refuse("format_version", version == nullptr ? "missing" : "is not an integer");
  const int64_t v = version->get<int64_t>();
  if (v < 1) return r.Refuse("format_version", std::to_string(v) + " is not a manifest version");
  if (v > kManifestFormatVersion)
    return r.Refuse("format_version", std::to_string(v) + " is newer than this cramjet reads (" +
                                          std::to_string(kManifestFormatVersion) + "): upgrade cramjet");
  Manifest m;
  m.format_version = static_cast<int>(v);
  CRAMJET_ASSIGN_OR_RETURN(m.sample, r.String(doc, "sample", ""));
  if (m.sample.empty()) return r.Refuse("sample", "is empty");
  CRAMJET_ASSIGN_OR_RETURN(m.run, r.String(doc, "run", "", false));
  CRAMJET_ASSIGN_OR_RETURN(m.lane, r.String(doc, "lane", "", false));
  CRAMJET_ASSIGN_OR_RETURN(m.instrument, r.String(doc, "instrument", "", false));
  if (const json* tool = r.Find(doc, "tool")) {
    if (!tool->is_object()) return r.Refuse("tool", "is not an object");
    CRAMJET_ASSIGN_OR_RETURN(m.tool_version, r.String(*tool, "version", "tool.", false));
  }

  CRAMJET_ASSIGN_OR_RETURN(const json* cram, r.Object(doc, "cram", ""));
  CRAMJET_ASSIGN_OR_RETURN(m.cram_file, r.String(*cram, "file", "cram."));
  CRAMJET_ASSIGN_OR_RETURN(m.cram_version, r.String(*cram, "version", "cram."));
  CRAMJET_ASSIGN_OR_RETURN(m.cram_profile, r.String(*cram, "profile", "cram.", false));
  CRAMJET_ASSIGN_OR_RETURN(m.records, r.Count(*cram, "records", "cram."));
  CRAMJET_ASSIGN_OR_RETURN(m.bases, r.Count(*cram, "bases", "cram."));
  if (const json* reads = r.Find(doc, "reads")) {
    if (!reads->is_number_unsigned()) return r.Refuse("reads", "is not a whole number >= 0");
    m.reads = reads->get<uint64_t>();
  }

  if (const json* qc = r.Find(doc, "qc")) {
    if (!qc->is_object()) return r.Refuse("qc", "is not an object");
    CRAMJET_ASSIGN_OR_RETURN(m.qc_verdict, r.String(*qc, "verdict", "qc."));
    if (m.qc_verdict != "pass" && m.qc_verdict != "warn" && m.qc_verdict != "fail")
      return r.Refuse("qc.verdict", "is '" + PrintableExcerpt(m.qc_verdict, 40) + "', not pass, warn or fail");
    if (const json* released = r.Find(*qc, "released_by_operator")) {
      if (!released->is_boolean()) return r.Refuse("qc.released_by_operator", "is not true or false");
      m.qc_released = released->get<bool>();
    }
  }
  CRAMJET_ASSIGN_OR_RETURN(const json* reference, r.Object(doc, "reference", ""));
  CRAMJET_ASSIGN_OR_RETURN(m.reference_name, r.String(*reference, "name", "reference.", false));
  CRAMJET_ASSIGN_OR_RETURN(const json* contigs, r.Array(*reference, "contigs", "reference."));
  for (size_t i = 0; i < contigs->size(); ++i) {
    const json& c = (*contigs)[i];
    const std::string path = "reference.contigs[" + std::to_string(i) + "]";
    if (!c.is_object()) return r.Refuse(path, "is not an object");
    ManifestContig contig;
    CRAMJET_ASSIGN_OR_RETURN(contig.name, r.String(c, "SN", path + "."));
    CRAMJET_ASSIGN_OR_RETURN(contig.length, r.Count(c, "LN", path + "."));
    CRAMJET_ASSIGN_OR_RETURN(contig.md5, r.String(c, "M5", path + ".", false));
    CRAMJET_ASSIGN_OR_RETURN(contig.uri, r.String(c, "UR", path + ".", false));
    // CRAM writers give M5 in either case; it is a checksum, so compare in one.
    for (char& ch : contig.md5)
      if (ch >= 'A' && ch <= 'F') ch = static_cast<char>(ch - 'A' + 'a');
    if (!contig.md5.empty() && !IsLowerHexMd5(contig.md5))
      return r.Refuse(path + ".M5", "'" + contig.md5 + "' is not 32 hexadecimal digits");
    m.contigs.push_back(std::move(contig));
  }

  if (const json* enc = r.Find(doc, "encryption")) {
    if (!enc->is_object()) return r.Refuse("encryption", "is not an object");
    CRAMJET_ASSIGN_OR_RETURN(m.encryption_method, r.String(*enc, "method", "encryption."));
    if (m.encryption_method != "crypt4gh")
      return r.Refuse("encryption.method", "'" + PrintableExcerpt(m.encryption_method, 40) + "', not 'crypt4gh'");
    CRAMJET_ASSIGN_OR_RETURN(uint64_t c4gh_version, r.Count(*enc, "version", "encryption."));
    if (c4gh_version != 1) return r.Refuse("encryption.version", std::to_string(c4gh_version) + ", not Crypt4GH 1");
    CRAMJET_ASSIGN_OR_RETURN(const json* recipients, r.Array(*enc, "recipients", "encryption."));
    for (size_t i = 0; i < recipients->size(); ++i) {
      const json& k = (*recipients)[i];
      const std::string path = "encryption.recipients[" + std::to_string(i) + "]";
      // A base64 X25519 public key: 44 characters of the standard alphabet, one '=' at the end.
      const bool ok = k.is_string() && k.get_ref<const std::string&>().size() == 44 &&
                      k.get_ref<const std::string&>().back() == '=' &&
                      k.get_ref<const std::string&>().find_first_not_of(
                          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") == 43;
      if (!ok) return r.Refuse(path, "is not a base64 X25519 public key");
      m.recipients.push_back(k.get<std::string>());
    }
    if (m.recipients.empty()) return r.Refuse("encryption.recipients", "is empty");
    if (m.format_version < 2) return r.Refuse("encryption", "needs format_version 2");
  }

  CRAMJET_ASSIGN_OR_RETURN(const json* files, r.Array(doc, "files", ""));
  if (files->empty()) return r.Refuse("files", "is empty");
  static const std::set<std::string> kRoles = {"cram", "index", "seqchksum", "md5", "qc"};
  std::set<std::string> names;
  int crams = 0;
  for (size_t i = 0; i < files->size(); ++i) {
    const json& f = (*files)[i];
    const std::string path = "files[" + std::to_string(i) + "]";
    if (!f.is_object()) return r.Refuse(path, "is not an object");
    ManifestFile file;
    CRAMJET_ASSIGN_OR_RETURN(file.name, r.String(f, "name", path + "."));
    if (const char* why = UnsafeObjectName(file.name)) return r.Refuse(path + ".name", "'" + file.name + "' " + why);
    if (!names.insert(file.name).second) return r.Refuse(path + ".name", "'" + file.name + "' is listed twice");
    CRAMJET_ASSIGN_OR_RETURN(file.local_name, r.String(f, "local_name", path + ".", false));
    CRAMJET_ASSIGN_OR_RETURN(file.role, r.String(f, "role", path + "."));
    if (kRoles.count(file.role) == 0)
      return r.Refuse(path + ".role", "'" + file.role + "' is not one of cram, index, seqchksum, md5, qc");
    if (file.role == "cram") ++crams;
    CRAMJET_ASSIGN_OR_RETURN(file.size, r.Count(f, "size", path + "."));
    CRAMJET_ASSIGN_OR_RETURN(file.md5, r.String(f, "md5", path + "."));
    if (!IsLowerHexMd5(file.md5))
      return r.Refuse(path + ".md5", "'" + file.md5 + "' is not 32 lower-case hexadecimal digits");
    const json* plain = r.Find(f, "plaintext");
    if (m.encryption_method.empty() != (plain == nullptr))
      return r.Refuse(path + ".plaintext", plain ? "given for a delivery that is not encrypted" : "missing (the delivery is encrypted)");
    if (plain) {
      if (!plain->is_object()) return r.Refuse(path + ".plaintext", "is not an object");
      file.encrypted = true;
      CRAMJET_ASSIGN_OR_RETURN(file.plain_size, r.Count(*plain, "size", path + ".plaintext."));
      CRAMJET_ASSIGN_OR_RETURN(file.plain_md5, r.String(*plain, "md5", path + ".plaintext."));
      if (!IsLowerHexMd5(file.plain_md5))
        return r.Refuse(path + ".plaintext.md5", "'" + PrintableExcerpt(file.plain_md5, 40) + "' is not 32 lower-case hexadecimal digits");
    }
    m.files.push_back(std::move(file));
  }
  if (crams != 1) return r.Refuse("files", std::to_string(crams) + " files have role 'cram' (one must)");
  return m;
}

}  // namespace cramjet::ship
