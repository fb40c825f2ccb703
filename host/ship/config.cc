// Sink configuration: the daemon's [archive] table or a bare --to URL.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <set>
#include <sstream>

#include "common/common.h"
#include "ship/ship.h"

namespace cramjet::ship {
namespace {

std::string EnvOr(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

void FillCredentialsFromEnv(Credentials& c) {
  if (c.access_key_id.empty()) c.access_key_id = EnvOr("AWS_ACCESS_KEY_ID");
  if (c.secret_access_key.empty()) c.secret_access_key = EnvOr("AWS_SECRET_ACCESS_KEY");
  if (c.session_token.empty()) c.session_token = EnvOr("AWS_SESSION_TOKEN");
  if (c.username.empty()) c.username = EnvOr("CRAMJET_ARCHIVE_USERNAME");
  if (c.password.empty()) c.password = EnvOr("CRAMJET_ARCHIVE_PASSWORD");
}

std::string Trim(std::string s, char c) {
  while (!s.empty() && s.front() == c) s.erase(s.begin());
  while (!s.empty() && s.back() == c) s.pop_back();
  return s;
}

// Fills kind and the parsed parts of config.url.
Status ParseUrl(SinkConfig& config) {
  const std::string& url = config.url;
  if (url.rfind("file://", 0) == 0) {
    config.kind = SinkKind::kFile;
    config.file_root = url.substr(7);
    if (config.file_root.empty() || config.file_root[0] != '/')
      return InvalidArgument("archive url '" + url + "': file:// needs an absolute folder (file:///path)");
    while (config.file_root.size() > 1 && config.file_root.back() == '/') config.file_root.pop_back();
    config.verify_readback = true;
    return Status::Ok();
  }
  if (url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0) {
    config.kind = SinkKind::kWebDav;
    config.http_base = url;
    while (!config.http_base.empty() && config.http_base.back() == '/') config.http_base.pop_back();
    if (config.http_base.find('@') != std::string::npos)
      return InvalidArgument("archive url: put WebDAV credentials in username/password, not in the URL");
    size_t host_start = config.http_base.find("//") + 2;
    if (host_start >= config.http_base.size())
      return InvalidArgument("archive url '" + url + "': no host");
    config.verify_readback = true;
    return Status::Ok();
  }
  if (url.rfind("s3://", 0) == 0) {
    config.kind = SinkKind::kS3;
    std::string rest = url.substr(5);
    size_t slash = rest.find('/');
    config.s3_bucket = rest.substr(0, slash);
    config.s3_prefix = slash == std::string::npos ? "" : Trim(rest.substr(slash + 1), '/');
    if (config.s3_bucket.empty()) return InvalidArgument("archive url '" + url + "': no bucket (s3://bucket/prefix)");
    config.verify_readback = false;
    return Status::Ok();
  }
  return InvalidArgument("archive url '" + url + "': expected file://, http://, https:// or s3://");
}


}  // namespace

Status SetCrypt4ghRecipients(SinkConfig& config, const std::vector<std::string>& public_key_files) {
  if (public_key_files.empty()) return InvalidArgument("no Crypt4GH recipient public key given");
  SinkConfig::Encryption e;
  e.crypt4gh = true;
  for (const std::string& path : public_key_files) {
    CRAMJET_ASSIGN_OR_RETURN(crypt4gh::Key key, crypt4gh::ReadPublicKeyFile(path));
    CRAMJET_RETURN_IF_ERROR(crypt4gh::CheckUsablePublicKey(key, path));
    if (std::find(e.recipients.begin(), e.recipients.end(), key) != e.recipients.end())
      return InvalidArgument("'" + path + "': the same recipient public key is given twice");
    e.recipients.push_back(key);
    e.recipient_files.push_back(path);
  }
  config.encryption = std::move(e);
  return Status::Ok();
}

StatusOr<SinkConfig> SinkConfigFromUrl(std::string_view url) {
  SinkConfig config;
  config.url = std::string(url);
  CRAMJET_RETURN_IF_ERROR(ParseUrl(config));
  FillCredentialsFromEnv(config.credentials);
  return config;
}

StatusOr<SinkConfig> ParseSinkConfig(const toml::table& table, std::string_view source_file) {
  SinkConfig config;
  // The value's line, else its key's (a table copied node by node, as the daemon does, keeps the
  // keys' source positions but not the values').
  auto line_of = [&](std::string_view key) -> uint32_t {
    for (const auto& [k, v] : table)
      if (k.str() == key) return v.source().begin.line ? v.source().begin.line : k.source().begin.line;
    return table.source().begin.line;
  };
  auto where = [&](std::string_view key) {
    std::ostringstream out;
    out << "'" << source_file << "': ";
    if (uint32_t line = line_of(key)) out << "line " << line << ": ";
    out << "[archive] " << key << ": ";
    return out.str();
  };
  auto bad = [&](const toml::node&, std::string_view key, std::string_view what) {
    return InvalidArgument(where(key) + std::string(what));
  };

  const toml::node* url_node = table.get("url");
  if (!url_node) return InvalidArgument(where("url") + "missing");
  if (!url_node->is_string()) return bad(*url_node, "url", "expected a string");
  config.url = **url_node->as_string();
  {
    Status st = ParseUrl(config);
    if (!st.ok()) return bad(*url_node, "url", st.message());
  }
  // ParseUrl set the kind's verify_readback default; an explicit key below overrides it.

  static const std::set<std::string> kKnown = {
      "url", "object_template", "endpoint", "region", "path_style", "multipart_threshold",
      "part_size", "max_attempts", "retry_base_seconds", "retry_max_seconds", "access_key_id",
      "secret_access_key", "session_token", "username", "password", "tls_verify", "ca_file",
      "connect_timeout_seconds", "stall_timeout_seconds", "request_timeout_seconds",
      "verify_readback", "encrypt", "crypt4gh_recipients"};
  std::string encrypt = "none";
  bool path_style_set = false;
  for (const auto& entry : table) {
    // Named references, not a structured binding: lambdas below capture `node` (clang 14 cannot
    // capture a binding, which C++20 allows).
    const auto& key_obj = entry.first;
    const toml::node& node = entry.second;
    std::string key(key_obj.str());
    if (!kKnown.count(key)) {
      return InvalidArgument(where(key) + "unknown key");
    }
    auto get_string = [&](std::string& out) -> Status {
      if (!node.is_string()) return bad(node, key, "expected a string");
      out = **node.as_string();
      return Status::Ok();
    };
    auto get_seconds = [&](double& out, bool allow_zero) -> Status {
      double v;
      if (node.is_integer()) v = static_cast<double>(**node.as_integer());
      else if (node.is_floating_point()) v = **node.as_floating_point();
      else return bad(node, key, "expected a number of seconds");
      if (v < 0 || (!allow_zero && v == 0)) return bad(node, key, "must be positive");
      out = v;
      return Status::Ok();
    };
    auto get_size = [&](uint64_t& out) -> Status {
      if (node.is_integer()) {
        int64_t v = **node.as_integer();
        if (v <= 0) return bad(node, key, "must be positive");
        out = static_cast<uint64_t>(v);
        return Status::Ok();
      }
      if (node.is_string()) {
        auto v = ParseByteSize(**node.as_string());
        if (!v || *v == 0) return bad(node, key, "expected a size such as 64MiB or a number of bytes");
        out = *v;
        return Status::Ok();
      }
      return bad(node, key, "expected a size such as \"64MiB\" or a number of bytes");
    };
    auto get_bool = [&](bool& out) -> Status {
      if (!node.is_boolean()) return bad(node, key, "expected true or false");
      out = **node.as_boolean();
      return Status::Ok();
    };

    if (key == "url") continue;
    if (key == "object_template") CRAMJET_RETURN_IF_ERROR(get_string(config.object_template));
    else if (key == "endpoint") CRAMJET_RETURN_IF_ERROR(get_string(config.s3_endpoint));
    else if (key == "region") CRAMJET_RETURN_IF_ERROR(get_string(config.s3_region));
    else if (key == "path_style") { CRAMJET_RETURN_IF_ERROR(get_bool(config.s3_path_style)); path_style_set = true; }
    else if (key == "multipart_threshold") CRAMJET_RETURN_IF_ERROR(get_size(config.multipart_threshold));
    else if (key == "part_size") CRAMJET_RETURN_IF_ERROR(get_size(config.part_size));
    else if (key == "max_attempts") {
      if (!node.is_integer() || **node.as_integer() < 1 || **node.as_integer() > 1000)
        return bad(node, key, "expected an integer from 1 to 1000");
      config.retry.max_attempts = static_cast<int>(**node.as_integer());
    } else if (key == "retry_base_seconds") CRAMJET_RETURN_IF_ERROR(get_seconds(config.retry.base_backoff_s, true));
    else if (key == "retry_max_seconds") CRAMJET_RETURN_IF_ERROR(get_seconds(config.retry.max_backoff_s, true));
    else if (key == "access_key_id") CRAMJET_RETURN_IF_ERROR(get_string(config.credentials.access_key_id));
    else if (key == "secret_access_key") CRAMJET_RETURN_IF_ERROR(get_string(config.credentials.secret_access_key));
    else if (key == "session_token") CRAMJET_RETURN_IF_ERROR(get_string(config.credentials.session_token));
    else if (key == "username") CRAMJET_RETURN_IF_ERROR(get_string(config.credentials.username));
    else if (key == "password") CRAMJET_RETURN_IF_ERROR(get_string(config.credentials.password));
    else if (key == "tls_verify") CRAMJET_RETURN_IF_ERROR(get_bool(config.tls_verify));
    else if (key == "ca_file") CRAMJET_RETURN_IF_ERROR(get_string(config.ca_file));
    else if (key == "connect_timeout_seconds") CRAMJET_RETURN_IF_ERROR(get_seconds(config.connect_timeout_s, false));
    else if (key == "stall_timeout_seconds") CRAMJET_RETURN_IF_ERROR(get_seconds(config.stall_timeout_s, false));
    else if (key == "request_timeout_seconds") CRAMJET_RETURN_IF_ERROR(get_seconds(config.request_timeout_s, true));
    else if (key == "verify_readback") CRAMJET_RETURN_IF_ERROR(get_bool(config.verify_readback));
    else if (key == "encrypt") {
      CRAMJET_RETURN_IF_ERROR(get_string(encrypt));
      if (encrypt != "none" && encrypt != "crypt4gh") return bad(node, key, "expected \"crypt4gh\" or \"none\"");
    } else if (key == "crypt4gh_recipients") {
      const toml::array* list = node.as_array();
      if (!list) return bad(node, key, "expected a list of public key files");
      for (const toml::node& item : *list) {
        if (!item.is_string()) return bad(node, key, "expected a list of public key files");
        std::string path = **item.as_string();
        // Relative to the configuration file's folder, not to wherever the daemon runs.
        if (!path.empty() && path[0] != '/' && source_file.find('/') != std::string_view::npos)
          path = DirName(std::string(source_file)) + "/" + path;
        config.encryption.recipient_files.push_back(path);
      }
    }
  }
  if (encrypt == "crypt4gh") {
    if (config.encryption.recipient_files.empty())
      return InvalidArgument(where("crypt4gh_recipients") + "encrypt = \"crypt4gh\" needs at least one public key file");
    Status keys = SetCrypt4ghRecipients(config, config.encryption.recipient_files);
    if (!keys.ok()) return InvalidArgument(where("crypt4gh_recipients") + keys.message());
  } else if (!config.encryption.recipient_files.empty()) {
    return InvalidArgument(where("crypt4gh_recipients") + "given without encrypt = \"crypt4gh\"");
  }
  if (config.object_template.find("{file}") == std::string::npos) {
    const toml::node* n = table.get("object_template");
    return bad(*n, "object_template", "must contain {file}");
  }
  {
    // The template's own parts must be plain names ("{run}/../../{file}" would leave the sink's
    // root); the values put into it are checked again when a name is rendered.
    const std::string& t = config.object_template;
    size_t start = 0;
    while (start <= t.size()) {
      const size_t slash = std::min(t.find('/', start), t.size());
      const std::string_view part(t.data() + start, slash - start);
      if (part.empty() || part == "." || part == ".." || part.find("..") != std::string_view::npos)
        return bad(*table.get("object_template"), "object_template",
                   "parts between '/' must be names or {placeholders}: no empty part, '.' or '..'");
      start = slash + 1;
    }
  }
  if (config.retry.max_backoff_s < config.retry.base_backoff_s) {
    const toml::node* n = table.get("retry_max_seconds");
    if (n) return bad(*n, "retry_max_seconds", "must not be below retry_base_seconds");
    config.retry.max_backoff_s = config.retry.base_backoff_s;
  }
  if (config.kind == SinkKind::kS3) {
    if (config.part_size > (5ull << 30)) return bad(*table.get("part_size"), "part_size", "S3 parts are at most 5 GiB");
    if (config.multipart_threshold > (5ull << 30))
      return bad(*table.get("multipart_threshold"), "multipart_threshold", "single S3 PUTs are at most 5 GiB");
    if (!path_style_set) config.s3_path_style = true;
  }
  FillCredentialsFromEnv(config.credentials);
  return config;
}

std::string DescribeSink(const SinkConfig& config) {
  std::string d = config.url;
  if (config.kind == SinkKind::kS3) {
    d += " (endpoint ";
    d += config.s3_endpoint.empty() ? "https://s3." + config.s3_region + ".amazonaws.com" : config.s3_endpoint;
    d += ", region " + config.s3_region;
    d += config.credentials.access_key_id.empty() ? ", no credentials)" : ", credentials set)";
  }
  if (!config.tls_verify) d += " [TLS verification OFF]";
  if (config.encryption.crypt4gh)
    d += " [Crypt4GH for " + std::to_string(config.encryption.recipients.size()) + " recipient" +
         (config.encryption.recipients.size() == 1 ? "" : "s") + "]";
  return d;
}

}  // namespace cramjet::ship
