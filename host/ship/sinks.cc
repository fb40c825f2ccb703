// The three sinks: a mounted folder (file://), WebDAV (http/https) and S3 (s3://).
// Length: ~545 lines: the three sinks behind one Sink interface, each a class of its own here
// (file, WebDAV, S3), with the per-job resume state they share; HTTP is in http.cc, retries
// and verification in ship.cc.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include <htslib/hts.h>
#include <nlohmann/json.hpp>

#include "common/common.h"
#include "common/unique_fd.h"
#include "cramjet/log.h"
#include "ship/ship.h"

namespace cramjet::ship::internal {
namespace {

std::string RandomHex(int bytes) {
  std::random_device rd;
  static const char* k = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < bytes; ++i) {
    unsigned v = rd() & 0xff;
    s += k[v >> 4];
    s += k[v & 15];
  }
  return s;
}

// What a server says a file's length is, against ours. The header comes from the network: it is
// parsed without anything that can throw (a hostile value must fail the job, not the daemon).
Status CheckRemoteLength(const std::string& url, const std::string& content_length, uint64_t expected) {
  const auto length = ParseDecimal(content_length);
  if (length && *length == expected) return Status::Ok();
  return DataLoss(url + " has " + (content_length.empty() ? "no" : length ? content_length : "'" + content_length + "'") +
                  " bytes, expected " + std::to_string(expected));
}

// `hex` is an MD5 this program computed (32 hex digits).
std::string HexToBase64(const std::string& hex) {
  auto nibble = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  std::string bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) bytes += static_cast<char>(nibble(hex[i]) << 4 | nibble(hex[i + 1]));
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                 static_cast<unsigned char>(bytes[i + 2]);
    out += k[(v >> 18) & 63]; out += k[(v >> 12) & 63]; out += k[(v >> 6) & 63]; out += k[v & 63];
  }
  if (bytes.size() - i == 1) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    out += k[(v >> 18) & 63]; out += k[(v >> 12) & 63]; out += "==";
  } else if (bytes.size() - i == 2) {
    unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += k[(v >> 18) & 63]; out += k[(v >> 12) & 63]; out += k[(v >> 6) & 63]; out += '=';
  }
  return out;
}

// MD5 of bytes [offset, offset+length) of a file; raw digest in `raw` when given.
StatusOr<std::string> RangeMd5Hex(const std::string& path, uint64_t offset, uint64_t length,
                                  std::string* raw = nullptr) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IoErrorFromErrno("opening '" + path + "'", errno);
  hts_md5_context* ctx = hts_md5_init();
  std::vector<char> buf(1 << 20);
  uint64_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd, buf.data(), std::min<uint64_t>(buf.size(), length - done),
                        static_cast<off_t>(offset + done));
    if (n <= 0) {
      int e = n < 0 ? errno : EIO;
      ::close(fd);
      hts_md5_destroy(ctx);
      return IoErrorFromErrno("reading '" + path + "'", e);
    }
    hts_md5_update(ctx, buf.data(), static_cast<unsigned long>(n));
    done += static_cast<uint64_t>(n);
  }
  ::close(fd);
  unsigned char digest[16];
  char hex[33];
  hts_md5_final(digest, ctx);
  hts_md5_destroy(ctx);
  hts_md5_hex(hex, digest);
  if (raw) raw->assign(reinterpret_cast<char*>(digest), 16);
  return std::string(hex);
}

Status MakeDirs(const std::string& dir) {
  if (dir.empty() || dir == "/" || dir == ".") return Status::Ok();
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return Status::Ok();
    return IoError("'" + dir + "' exists and is not a folder");
  }
  CRAMJET_RETURN_IF_ERROR(MakeDirs(DirName(dir)));
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return IoErrorFromErrno("creating folder '" + dir + "'", errno);
  // The new entry must survive a power cut before anything inside it is declared shipped.
  return FsyncPath(DirName(dir), true);
}

HttpRequest MakeRequest(std::string method, std::string url) {
  HttpRequest r;
  r.method = std::move(method);
  r.url = std::move(url);
  return r;
}

// A GET of `url` into a new file at `local_path` (removed again when the download fails).
Status DownloadByGet(const SinkConfig& config, HttpRequest get, const std::string& local_path, uint64_t max_bytes) {
  UniqueFd out(::open(local_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640));
  if (!out.valid()) return IoErrorFromErrno("creating '" + local_path + "'", errno);
  get.response_fd = out.get();
  get.response_limit = max_bytes;
  auto fail = [&](Status s) {
    ::unlink(local_path.c_str());
    return s;
  };
  StatusOr<HttpResponse> r = PerformHttp(config, get);
  if (!r.ok()) return fail(r.status());
  if (Status s = HttpStatusToError(get, *r); !s.ok()) return fail(s);
  if (::fsync(out.get()) != 0) return fail(IoErrorFromErrno("writing '" + local_path + "'", errno));
  return Status::Ok();
}

// ---- file:// ------------------------------------------------------------------------------------
class FileSink : public Sink {
 public:
  explicit FileSink(const SinkConfig& c) : config_(c) {}

  Status Verify(const LocalFile& file, const std::string& name) override {
    std::string path = config_.file_root + "/" + name;
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) return NotFound("'" + path + "' does not exist");
      if (errno == ENOTDIR) return NotFound("'" + path + "' does not exist");
      return Unavailable("archive folder: stat '" + path + "': " + std::strerror(errno));
    }
    if (static_cast<uint64_t>(st.st_size) != file.size)
      return DataLoss("'" + path + "' has " + std::to_string(st.st_size) + " bytes, expected " +
                      std::to_string(file.size));
    if (config_.verify_readback) {
      auto md5 = FileMd5Hex(path);
      if (!md5.ok()) return Unavailable("archive folder: " + md5.status().message());
      if (*md5 != file.md5) return DataLoss("'" + path + "' MD5 " + *md5 + " != " + file.md5);
    }
    return Status::Ok();
  }

  void Tidy(const std::string& name, JobState&) override { RemoveStaleTemps(config_.file_root + "/" + name); }

  Status Download(const std::string& name, const std::string& local_path, uint64_t max_bytes) override {
    const std::string path = config_.file_root + "/" + name;
    // A copy, not the file in place: every check then reads the same bytes, whatever the sender
    // does to the delivery meanwhile. A link would let a delivery point at any file.
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) return NotFound("'" + path + "' does not exist");
      return Unavailable("archive folder: stat '" + path + "': " + std::strerror(errno));
    }
    if (S_ISLNK(st.st_mode)) return BadInput("'" + path + "' is a symbolic link, not a delivered file");
    if (!S_ISREG(st.st_mode)) return BadInput("'" + path + "' is not a file");
    if (static_cast<uint64_t>(st.st_size) > max_bytes)
      return DataLoss("'" + path + "' has " + std::to_string(st.st_size) + " bytes, more than " + std::to_string(max_bytes));
    return CopyInto(path, local_path);
  }

  Status Upload(const LocalFile& file, const std::string& name, JobState&) override {
    std::string path = config_.file_root + "/" + name;
    struct stat root;
    if (::stat(config_.file_root.c_str(), &root) != 0 || !S_ISDIR(root.st_mode))
      return Unavailable("archive folder '" + config_.file_root + "' is not mounted or missing");
    Status made = MakeDirs(DirName(path));
    if (!made.ok()) return Unavailable(made.message());
    RemoveStaleTemps(path);
    auto out = AtomicOutput::Create(path);
    if (!out.ok()) return Unavailable(out.status().message());
    CRAMJET_RETURN_IF_ERROR(CopyInto(file.path, out->temp_path()));
    Status committed = out->Commit();
    if (!committed.ok()) return Unavailable(committed.message());
    return Status::Ok();
  }

 private:
  // Temporaries of a process that died mid-copy: AtomicOutput's names for this object, with a
  // dead pid (RemoveStaleTemporaries reads the scheme back; a live copy is never touched).
  static void RemoveStaleTemps(const std::string& final_path) {
    const std::string name = BaseName(final_path);
    for (const std::string& path :
         RemoveStaleTemporaries(DirName(final_path), [&](std::string_view final_name) { return final_name == name; }))
      CJ_LOG(kInfo) << "ship: removed a temporary left by an interrupted copy: " << path;
  }

  static Status CopyInto(const std::string& from, const std::string& to) {
    int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) return IoErrorFromErrno("opening '" + from + "'", errno);
    int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
      int e = errno;
      ::close(in);
      return Unavailable("archive folder: creating '" + to + "': " + std::strerror(e));
    }
    std::vector<char> buf(1 << 20);
    Status st;
    for (;;) {
      ssize_t n = ::read(in, buf.data(), buf.size());
      if (n < 0) { st = IoErrorFromErrno("reading '" + from + "'", errno); break; }
      if (n == 0) break;
      ssize_t off = 0;
      while (off < n) {
        ssize_t w = ::write(out, buf.data() + off, n - off);
        if (w < 0) { st = Unavailable("archive folder: writing '" + to + "': " + std::strerror(errno)); break; }
        off += w;
      }
      if (!st.ok()) break;
    }
    ::close(in);
    if (::close(out) != 0 && st.ok()) st = Unavailable("archive folder: closing '" + to + "': " + std::strerror(errno));
    return st;
  }

  SinkConfig config_;
};

// ---- WebDAV ---------------------------------------------------------------------------------------
class WebDavSink : public Sink {
 public:
  explicit WebDavSink(const SinkConfig& c) : config_(c) {}

  Status Verify(const LocalFile& file, const std::string& name) override {
    HttpRequest head = MakeRequest("HEAD", Url(name)); head.basic_auth = true;
    CRAMJET_ASSIGN_OR_RETURN(HttpResponse r, PerformHttp(config_, head));
    CRAMJET_RETURN_IF_ERROR(HttpStatusToError(head, r));
    CRAMJET_RETURN_IF_ERROR(CheckRemoteLength(head.url, r.Header("content-length"), file.size));
    // Whole read-back, or the last MiB when read-back is off (catches truncation and tail damage).
    uint64_t start = config_.verify_readback || file.size <= (1u << 20) ? 0 : file.size - (1u << 20);
    HttpRequest get = MakeRequest("GET", Url(name)); get.basic_auth = true; get.md5_response = true;
    if (start > 0) get.headers.push_back("Range: bytes=" + std::to_string(start) + "-");
    CRAMJET_ASSIGN_OR_RETURN(HttpResponse g, PerformHttp(config_, get));
    CRAMJET_RETURN_IF_ERROR(HttpStatusToError(get, g));
    std::string want = file.md5;
    if (start > 0) {
      if (g.status != 206) return DataLoss(get.url + ": server ignored the Range request");
      CRAMJET_ASSIGN_OR_RETURN(want, RangeMd5Hex(file.path, start, file.size - start));
    }
    if (g.body_bytes != file.size - start || g.body_md5 != want)
      return DataLoss(get.url + ": read-back MD5 " + g.body_md5 + " (" + std::to_string(g.body_bytes) +
                      " bytes) != local " + want);
    return Status::Ok();
  }

  Status Upload(const LocalFile& file, const std::string& name, JobState&) override {
    // Collections one level at a time (405 = already there); nginx's create_full_put_path would
    // do it too, other servers need it.
    size_t pos = 0;
    while ((pos = name.find('/', pos)) != std::string::npos) {
      HttpRequest mkcol = MakeRequest("MKCOL", Url(name.substr(0, pos)) + "/"); mkcol.basic_auth = true;
      CRAMJET_ASSIGN_OR_RETURN(HttpResponse r, PerformHttp(config_, mkcol));
      if (r.status != 405 && r.status != 409) CRAMJET_RETURN_IF_ERROR(HttpStatusToError(mkcol, r));
      ++pos;
    }
    HttpRequest put = MakeRequest("PUT", Url(name)); put.basic_auth = true;
    put.body_file = file.path;
    put.body_length = file.size;
    put.headers.push_back("Content-MD5: " + HexToBase64(file.md5));
    put.headers.push_back("Content-Type: application/octet-stream");
    CRAMJET_ASSIGN_OR_RETURN(HttpResponse r, PerformHttp(config_, put));
    return HttpStatusToError(put, r);
  }

 private:
  std::string Url(const std::string& name) const { return config_.http_base + "/" + UrlEncodePath(name); }

 public:
  Status Download(const std::string& name, const std::string& local_path, uint64_t max_bytes) override {
    HttpRequest get = MakeRequest("GET", Url(name));
    get.basic_auth = true;
    return DownloadByGet(config_, std::move(get), local_path, max_bytes);
  }

 private:
  SinkConfig config_;
};

// ---- S3 -------------------------------------------------------------------------------------------
std::string XmlField(const std::string& xml, const std::string& tag) {
  std::string open = "<" + tag + ">", close = "</" + tag + ">";
  size_t a = xml.find(open);
  if (a == std::string::npos) return {};
  a += open.size();
  size_t b = xml.find(close, a);
  return b == std::string::npos ? std::string() : xml.substr(a, b - a);
}

// An UploadId or ETag as S3 defines them: printable ASCII without spaces, of a sane length. They
// are kept in the job state (JSON, which must be UTF-8) and sent back in URLs and XML, so
// anything else from a server is refused rather than stored.
bool IsServerToken(const std::string& s, size_t max_bytes) {
  if (s.empty() || s.size() > max_bytes) return false;
  for (char c : s)
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) > 0x7e || c == '<' || c == '&' || c == '"') return false;
  return true;
}

// The job state is a file of ours, but a disk can damage it: read it without throwing (a value of
// the wrong type counts as absent).
std::string StateString(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}
uint64_t StateCount(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return 0;
  auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}
// A saved multipart upload can be resumed only for the same key, file and part size, with an
// upload id and a table of part ETags (strings).
bool MultipartStateMatches(const nlohmann::json& j, const std::string& key, const LocalFile& file, uint64_t part_size) {
  if (StateString(j, "key") != key || StateString(j, "md5") != file.md5 || StateCount(j, "size") != file.size ||
      StateCount(j, "part_size") != part_size || StateString(j, "upload_id").empty())
    return false;
  auto parts = j.find("parts");
  if (parts == j.end() || !parts->is_object()) return false;
  for (const auto& [number, etag] : parts->items())
    if (!etag.is_string()) return false;
  return true;
}

std::string Unquote(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

class S3Sink : public Sink {
 public:
  explicit S3Sink(const SinkConfig& c) : config_(c) {
    std::string endpoint = c.s3_endpoint.empty() ? "https://s3." + c.s3_region + ".amazonaws.com" : c.s3_endpoint;
    while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
    if (c.s3_path_style) {
      bucket_url_ = endpoint + "/" + c.s3_bucket;
    } else {
      size_t p = endpoint.find("//");
      bucket_url_ = endpoint.substr(0, p + 2) + c.s3_bucket + "." + endpoint.substr(p + 2);
    }
  }

  Status Verify(const LocalFile& file, const std::string& name) override {
    HttpRequest head = MakeRequest("HEAD", Url(Key(name))); head.sign_s3 = true;
    CRAMJET_ASSIGN_OR_RETURN(HttpResponse r, PerformHttp(config_, head));
    CRAMJET_RETURN_IF_ERROR(HttpStatusToError(head, r));
    CRAMJET_RETURN_IF_ERROR(CheckRemoteLength(head.url, r.Header("content-length"), file.size));
    std::string meta_md5 = r.Header("x-amz-meta-cramjet-md5");
    if (meta_md5.empty()) return DataLoss(head.url + ": no x-amz-meta-cramjet-md5 (not written by cramjet)");
    if (meta_md5 != file.md5) return DataLoss(head.url + ": stored MD5 " + meta_md5 + " != local " + file.md5);
    // The ETag is the server's own digest of what it stored: the MD5 for a single PUT, or
    // MD5(part MD5s)-N for multipart (some servers give the whole MD5 for both).
    std::string etag = Unquote(r.Header("etag"));
    if (etag != file.md5) {
      auto dash = etag.find('-');
      if (dash == std::string::npos) return DataLoss(head.url + ": ETag " + etag + " != MD5 " + file.md5);
      auto expected = MultipartEtag(file);
      if (expected.ok() && etag.substr(dash + 1) == expected->substr(expected->find('-') + 1) && etag != *expected)
        return DataLoss(head.url + ": multipart ETag " + etag + " != expected " + *expected);
    }
    if (config_.verify_readback) {
      HttpRequest get = MakeRequest("GET", Url(Key(name))); get.sign_s3 = true; get.md5_response = true;
      CRAMJET_ASSIGN_OR_RETURN(HttpResponse g, PerformHttp(config_, get));
      CRAMJET_RETURN_IF_ERROR(HttpStatusToError(get, g));
      if (g.body_bytes != file.size || g.body_md5 != file.md5)
        return DataLoss(get.url + ": read-back MD5 " + g.body_md5 + " != local " + file.md5);
    }
    return Status::Ok();
  }

  void Tidy(const std::string& name, JobState& state) override {
    DeleteLeftoverTemp(name, state);
    AbortSavedMultipart(name, state);
  }

  Status Upload(const LocalFile& file, const std::string& name, JobState& state) override {
    if (file.size >= config_.multipart_threshold && file.size > 0) return UploadMultipart(file, name, state);
    return UploadSingle(file, name, state);
  }

 private:
  std::string Key(const std::string& name) const {
    return config_.s3_prefix.empty() ? name : config_.s3_prefix + "/" + name;
  }
  std::string Url(const std::string& key) const { return bucket_url_ + "/" + UrlEncodePath(key); }

 public:
  Status Download(const std::string& name, const std::string& local_path, uint64_t max_bytes) override {
    HttpRequest get = MakeRequest("GET", Url(Key(name)));
    get.sign_s3 = true;
    return DownloadByGet(config_, std::move(get), local_path, max_bytes);
  }

 private:

  static Status ErrorInBody(const HttpRequest& req, const HttpResponse& r) {
    // CopyObject and CompleteMultipartUpload may answer 200 and put the error in the body.
    if (r.body.find("<Error>") == std::string::npos) return Status::Ok();
    const std::string code = XmlField(r.body, "Code");
    const std::string msg =
        req.method + " " + req.url + ": " + PrintableExcerpt(code, 100) + " " + PrintableExcerpt(XmlField(r.body, "Message"), 300);
    if (code == "NoSuchUpload") return NotFound(msg);
    return Unavailable(msg);
  }

  // Small files: PUT to a temporary key, then a server-side copy to the final key. S3 itself never
  // shows a partial PUT, but S3-compatible servers that write in place (s3rver, some gateways)
  // would, so the final key is only ever written by a copy of a complete object.
  Status UploadSingle(const LocalFile& file, const std::string& name, JobState& state) {
    std::string key = Key(name);
    DeleteLeftoverTemp(name, state);
    std::string temp_key = key + ".cramjet-partial-" + RandomHex(6);
    if (state.enabled()) CRAMJET_RETURN_IF_ERROR(state.Store("temp", name, nlohmann::json{{"key", temp_key}}.dump()));
    HttpRequest put = MakeRequest("PUT", Url(temp_key)); put.sign_s3 = true;
    put.body_file = file.path;
    put.body_length = file.size;
    put.headers = {"Content-MD5: " + HexToBase64(file.md5), "x-amz-meta-cramjet-md5: " + file.md5,
                   "Content-Type: application/octet-stream"};
    CRAMJET_ASSIGN_OR_RETURN(HttpResponse r, PerformHttp(config_, put));
    CRAMJET_RETURN_IF_ERROR(HttpStatusToError(put, r));
    // The temporary must be whole before it is copied under the final name.
    std::string etag = Unquote(r.Header("etag"));
    if (!etag.empty() && etag != file.md5)
      return DataLoss(put.url + ": server stored MD5 " + etag + ", sent " + file.md5);
    HttpRequest copy = MakeRequest("PUT", Url(key)); copy.sign_s3 = true;
    copy.headers = {"x-amz-copy-source: /" + config_.s3_bucket + "/" + UrlEncodePath(temp_key),
                    "x-amz-metadata-directive: COPY"};
    CRAMJET_ASSIGN_OR_RETURN(HttpResponse c, PerformHttp(config_, copy));
    CRAMJET_RETURN_IF_ERROR(HttpStatusToError(copy, c));
    CRAMJET_RETURN_IF_ERROR(ErrorInBody(copy, c));
    DeleteLeftoverTemp(name, state, temp_key);
    return Status::Ok();
  }

  void DeleteLeftoverTemp(const std::string& name, JobState& state, std::string key = "") {
    if (key.empty()) {
      if (!state.enabled()) return;
      auto saved = state.Load("temp", name);
      if (!saved.ok()) return;
      key = StateString(nlohmann::json::parse(*saved, nullptr, false), "key");
      if (key.empty()) return;
    }
    HttpRequest del = MakeRequest("DELETE", Url(key)); del.sign_s3 = true;
    auto r = PerformHttp(config_, del);
    if (r.ok() && (r->status < 300 || r->status == 404)) {
      if (state.enabled()) state.Erase("temp", name);
    }
  }

  // Aborts the multipart upload remembered for `name` (its parts would otherwise stay billed on
  // the server) and forgets it.
  void AbortSavedMultipart(const std::string& name, JobState& state) {
    if (!state.enabled()) return;
    auto saved = state.Load("multipart", name);
    if (!saved.ok()) return;
    const auto j = nlohmann::json::parse(*saved, nullptr, false);
    const std::string key = StateString(j, "key"), upload_id = StateString(j, "upload_id");
    if (!key.empty() && !upload_id.empty()) {
      HttpRequest abort = MakeRequest("DELETE", Url(key) + "?uploadId=" + UrlEncodeQueryValue(upload_id));
      abort.sign_s3 = true;
      auto r = PerformHttp(config_, abort);
      if (!r.ok()) return;  // keep the state; the next run tries again
    }
    state.Erase("multipart", name);
  }

  uint64_t PartCount(uint64_t size) const { return (size + config_.part_size - 1) / config_.part_size; }

  StatusOr<std::string> MultipartEtag(const LocalFile& file) const {
    uint64_t parts = PartCount(file.size);
    if (parts == 0) return NotFound("empty");
    std::string concatenated;
    for (uint64_t i = 0; i < parts; ++i) {
      uint64_t off = i * config_.part_size;
      std::string raw;
      CRAMJET_ASSIGN_OR_RETURN(std::string ignored,
                               RangeMd5Hex(file.path, off, std::min(config_.part_size, file.size - off), &raw));
      concatenated += raw;
    }
    return Md5Hex(concatenated) + "-" + std::to_string(parts);
  }

  // Large files: multipart upload; the upload id and finished parts are kept in the job state so a
  // restart sends only the missing parts. The object appears only when the upload is completed.
  Status UploadMultipart(const LocalFile& file, const std::string& name, JobState& state) {
    std::string key = Key(name);
    uint64_t parts = PartCount(file.size);
    if (parts > 10000) return InvalidArgument("'" + file.path + "' needs " + std::to_string(parts) +
                                              " parts; S3 allows 10000: raise part_size");
    nlohmann::json st;
    if (state.enabled()) {
      auto saved = state.Load("multipart", name);
      if (saved.ok()) {
        auto j = nlohmann::json::parse(*saved, nullptr, false);
        if (MultipartStateMatches(j, key, file, config_.part_size)) {
          st = j;
          CJ_LOG(kInfo) << "ship: resuming multipart upload of " << key << " (" << st["parts"].size() << " of "
                        << parts << " parts already sent)";
        } else {
          AbortSavedMultipart(name, state);  // the file or the part size changed: start over
        }
      }
    }
    if (st.is_null()) {
      HttpRequest init = MakeRequest("POST", Url(key) + "?uploads="); init.sign_s3 = true;
      init.headers = {"x-amz-meta-cramjet-md5: " + file.md5, "Content-Type: application/octet-stream"};
      CRAMJET_ASSIGN_OR_RETURN(HttpResponse r, PerformHttp(config_, init));
      CRAMJET_RETURN_IF_ERROR(HttpStatusToError(init, r));
      std::string upload_id = XmlField(r.body, "UploadId");
      if (upload_id.empty()) return Unavailable(init.url + ": no UploadId in the answer");
      if (!IsServerToken(upload_id, 1024))
        return Unavailable(init.url + ": the UploadId in the answer is not a token of printable ASCII ('" +
                           PrintableExcerpt(upload_id, 80) + "')");
      st = {{"key", key}, {"md5", file.md5}, {"size", file.size}, {"part_size", config_.part_size},
            {"upload_id", upload_id}, {"parts", nlohmann::json::object()}};
      if (state.enabled()) CRAMJET_RETURN_IF_ERROR(state.Store("multipart", name, st.dump()));
    }
    std::string upload_id = st["upload_id"];
    for (uint64_t n = 1; n <= parts; ++n) {
      std::string part_key = std::to_string(n);
      if (st["parts"].contains(part_key)) continue;
      uint64_t off = (n - 1) * config_.part_size;
      uint64_t len = std::min(config_.part_size, file.size - off);
      CRAMJET_ASSIGN_OR_RETURN(std::string part_md5, RangeMd5Hex(file.path, off, len));
      HttpRequest put = MakeRequest("PUT", Url(key) + "?partNumber=" + part_key + "&uploadId=" + UrlEncodeQueryValue(upload_id));
      put.sign_s3 = true;
      put.body_file = file.path;
      put.body_offset = off;
      put.body_length = len;
      put.headers = {"Content-MD5: " + HexToBase64(part_md5)};
      CRAMJET_ASSIGN_OR_RETURN(HttpResponse r, PerformHttp(config_, put));
      Status s = HttpStatusToError(put, r);
      if (s.code() == StatusCode::kNotFound) {  // the upload id expired or was aborted: start over
        state.Erase("multipart", name);
        return Unavailable(s.message() + " (multipart upload gone; restarting it)");
      }
      CRAMJET_RETURN_IF_ERROR(s);
      std::string etag = Unquote(r.Header("etag"));
      if (etag.empty()) return Unavailable(put.url + ": no ETag for the part");
      if (!IsServerToken(etag, 256))
        return Unavailable(put.url + ": the part's ETag is not a token of printable ASCII ('" + PrintableExcerpt(etag, 80) + "')");
      if (etag.size() == 32 && etag != part_md5)
        return DataLoss(put.url + ": part stored with MD5 " + etag + ", sent " + part_md5);
      st["parts"][part_key] = etag;
      if (state.enabled()) CRAMJET_RETURN_IF_ERROR(state.Store("multipart", name, st.dump()));
    }
    std::string xml = "<CompleteMultipartUpload>";
    for (uint64_t n = 1; n <= parts; ++n)
      xml += "<Part><PartNumber>" + std::to_string(n) + "</PartNumber><ETag>\"" +
             st["parts"][std::to_string(n)].get<std::string>() + "\"</ETag></Part>";
    xml += "</CompleteMultipartUpload>";
    HttpRequest done = MakeRequest("POST", Url(key) + "?uploadId=" + UrlEncodeQueryValue(upload_id));
    done.sign_s3 = true;
    done.body = xml;
    done.headers = {"Content-Type: application/xml", "Content-MD5: " + HexToBase64(Md5Hex(xml))};
    CRAMJET_ASSIGN_OR_RETURN(HttpResponse r, PerformHttp(config_, done));
    Status s = HttpStatusToError(done, r);
    if (s.ok()) s = ErrorInBody(done, r);
    if (s.code() == StatusCode::kNotFound || s.code() == StatusCode::kFailedPrecondition) {
      // NoSuchUpload (perhaps completed by a run that crashed before saving that) or InvalidPart:
      // forget the upload; the next attempt checks the final key first and restarts if needed.
      state.Erase("multipart", name);
      return Unavailable(s.message());
    }
    CRAMJET_RETURN_IF_ERROR(s);
    state.Erase("multipart", name);
    return Status::Ok();
  }

  SinkConfig config_;
  std::string bucket_url_;
};

}  // namespace

// ---- Job state ----------------------------------------------------------------------------------
std::string JobState::PathFor(const std::string& purpose, const std::string& remote_name) const {
  return dir_ + "/" + purpose + "-" + Md5Hex(remote_name).substr(0, 16) + ".json";
}

Status JobState::RecordIntent(const std::string& remote_name) {
  if (!enabled() || HasIntent(remote_name)) return Status::Ok();
  return WriteFileAtomically(PathFor("intent", remote_name), nlohmann::json{{"name", remote_name}}.dump() + "\n");
}

bool JobState::HasIntent(const std::string& remote_name) const {
  return enabled() && ::access(PathFor("intent", remote_name).c_str(), F_OK) == 0;
}

StatusOr<std::string> JobState::Load(const std::string& purpose, const std::string& remote_name) const {
  if (!enabled()) return NotFound("no state folder");
  return ReadSmallFile(PathFor(purpose, remote_name));
}

Status JobState::Store(const std::string& purpose, const std::string& remote_name, const std::string& json) {
  if (!enabled()) return Status::Ok();
  return WriteFileAtomically(PathFor(purpose, remote_name), json + "\n");
}

void JobState::Erase(const std::string& purpose, const std::string& remote_name) {
  if (enabled()) ::unlink(PathFor(purpose, remote_name).c_str());
}

StatusOr<std::unique_ptr<Sink>> MakeSink(const SinkConfig& config) {
  switch (config.kind) {
    case SinkKind::kFile: return std::unique_ptr<Sink>(new FileSink(config));
    case SinkKind::kWebDav: return std::unique_ptr<Sink>(new WebDavSink(config));
    case SinkKind::kS3: return std::unique_ptr<Sink>(new S3Sink(config));
  }
  return Internal("unknown sink kind");
}

}  // namespace cramjet::ship::internal
