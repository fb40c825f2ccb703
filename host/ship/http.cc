// The libcurl client used by the WebDAV and S3 sinks.
#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <mutex>

#include <curl/curl.h>
#include <htslib/hts.h>

#include "common/common.h"
#include "ship/ship.h"

namespace cramjet::ship::internal {
namespace {

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct UploadSource {
  const HttpRequest* request = nullptr;
  int fd = -1;
  uint64_t sent = 0;  // bytes of the body handed to curl
};

size_t ReadBody(char* buffer, size_t size, size_t nitems, void* user) {
  auto* src = static_cast<UploadSource*>(user);
  const HttpRequest& r = *src->request;
  uint64_t total = r.body_file.empty() ? r.body.size() : r.body_length;
  uint64_t want = std::min<uint64_t>(size * nitems, total - src->sent);
  if (want == 0) return 0;
  if (r.body_file.empty()) {
    std::memcpy(buffer, r.body.data() + src->sent, want);
  } else {
    ssize_t n = ::pread(src->fd, buffer, want, static_cast<off_t>(r.body_offset + src->sent));
    if (n <= 0) return CURL_READFUNC_ABORT;
    want = static_cast<uint64_t>(n);
  }
  src->sent += want;
  return want;
}

int SeekBody(void* user, curl_off_t offset, int origin) {
  auto* src = static_cast<UploadSource*>(user);
  if (origin != SEEK_SET || offset < 0) return CURL_SEEKFUNC_CANTSEEK;
  src->sent = static_cast<uint64_t>(offset);
  return CURL_SEEKFUNC_OK;
}

struct ResponseSink {
  HttpResponse* response;
  bool md5;
  int fd = -1;           // a download: the body goes here
  uint64_t limit = UINT64_MAX;  // a download past this many bytes stops (EFBIG)
  int write_errno = 0;   // the first failed write to fd (EFBIG: past the limit)
  hts_md5_context* ctx = nullptr;
  ~ResponseSink() { if (ctx) hts_md5_destroy(ctx); }
};

void AppendBody(ResponseSink& sink, const char* data, size_t n) {
  sink.response->body_bytes += n;
  if (sink.md5) hts_md5_update(sink.ctx, data, static_cast<unsigned long>(n));
  if (sink.fd >= 0) {
    // Error responses (a 404's page) are kept for the message; a 2xx body goes to the file.
    if (sink.response->status == 0 || (sink.response->status >= 200 && sink.response->status < 300)) {
      if (sink.response->body_bytes > sink.limit) sink.write_errno = EFBIG;
      for (size_t done = 0; done < n && sink.write_errno == 0;) {
        const ssize_t w = ::write(sink.fd, data + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) sink.write_errno = errno;
        else done += static_cast<size_t>(w);
      }
      return;
    }
  }
  if (!sink.md5 && sink.response->body.size() < (1u << 20)) sink.response->body.append(data, n);
}

// One header line as the server sent it ("Name: value\r\n", or a status line).
void AppendHeaderLine(HttpResponse& response, std::string_view line) {
  if (line.rfind("HTTP/", 0) == 0) {
    response.headers.clear();  // a new response (after 100-continue or a redirect)
    // "HTTP/1.1 200 OK": the status, known before the body arrives (a download keeps only 2xx).
    const size_t space = line.find(' ');
    long code = 0;
    for (size_t i = space == std::string_view::npos ? line.size() : space + 1; i < line.size() && std::isdigit(static_cast<unsigned char>(line[i])); ++i)
      code = code * 10 + (line[i] - '0');
    response.status = code;
    return;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return;
  std::string name(line.substr(0, colon));
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  const size_t first = value.find_first_not_of(" \t");
  value = first == std::string_view::npos ? std::string_view() : value.substr(first);
  const size_t last = value.find_last_not_of("\r\n ");
  value = last == std::string_view::npos ? std::string_view() : value.substr(0, last + 1);
  response.headers.emplace_back(std::move(name), std::string(value));
}

size_t WriteBody(char* data, size_t size, size_t nmemb, void* user) {
  auto& sink = *static_cast<ResponseSink*>(user);
  AppendBody(sink, data, size * nmemb);
  return sink.write_errno != 0 ? 0 : size * nmemb;  // 0 stops the transfer: nothing more to keep
}

size_t WriteHeader(char* data, size_t size, size_t nmemb, void* user) {
  AppendHeaderLine(*static_cast<HttpResponse*>(user), std::string_view(data, size * nmemb));
  return size * nmemb;
}

// A reply from HttpExchange through what curl's callbacks do: header lines one at a time, then
// the body (none for HEAD, as with curl's NOBODY).
void ReplayReply(const RawHttpReply& reply, const HttpRequest& request, HttpResponse& response, ResponseSink& sink) {
  const std::string_view block = reply.header_block;
  for (size_t start = 0; start < block.size();) {
    size_t end = block.find('\n', start);
    end = end == std::string_view::npos ? block.size() : end + 1;
    AppendHeaderLine(response, block.substr(start, end - start));
    start = end;
  }
  if (request.method != "HEAD" && !reply.body.empty()) AppendBody(sink, reply.body.data(), reply.body.size());
  response.status = reply.status;
}

std::string Hex(const unsigned char* d, size_t n) {
  static const char* k = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += k[d[i] >> 4];
    s += k[d[i] & 15];
  }
  return s;
}

void FinishBody(ResponseSink& sink, HttpResponse& response) {
  if (sink.write_errno != 0 && response.status >= 200 && response.status < 300) response.status = -sink.write_errno;
  if (!sink.md5) return;
  unsigned char digest[16];
  hts_md5_final(digest, sink.ctx);
  response.body_md5 = Hex(digest, 16);
}

Status CheckS3Credentials(const SinkConfig& config) {
  const Credentials& c = config.credentials;
  if (c.access_key_id.empty() || c.secret_access_key.empty())
    return FailedPrecondition("S3 credentials missing: set access_key_id/secret_access_key in [archive] "
                              "or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY");
  return Status::Ok();
}

// PerformHttp with config.exchange_for_tests: the same checks before sending and the same
// handling of what comes back, with no socket.
StatusOr<HttpResponse> ExchangeWithoutNetwork(const SinkConfig& config, const HttpRequest& request) {
  if (request.sign_s3) CRAMJET_RETURN_IF_ERROR(CheckS3Credentials(config));
  HttpResponse response;
  ResponseSink sink{&response, request.md5_response};
  sink.fd = request.response_fd;
  sink.limit = request.response_limit;
  if (sink.md5) sink.ctx = hts_md5_init();
  CRAMJET_ASSIGN_OR_RETURN(RawHttpReply reply, config.exchange_for_tests(request));
  ReplayReply(reply, request, response, sink);
  FinishBody(sink, response);
  return response;
}

// URL without the query string (for messages; the query holds only upload ids and part numbers).
std::string ForMessage(const HttpRequest& r) { return r.method + " " + r.url; }

}  // namespace

std::string HttpResponse::Header(std::string_view lower_name) const {
  for (const auto& [n, v] : headers)
    if (n == lower_name) return v;
  return {};
}

namespace {
std::string PercentEncode(std::string_view text, bool keep_slash) {
  std::string out;
  static const char* k = "0123456789ABCDEF";
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += k[c >> 4];
      out += k[c & 15];
    }
  }
  return out;
}
}  // namespace

std::string UrlEncodePath(std::string_view path) { return PercentEncode(path, true); }
std::string UrlEncodeQueryValue(std::string_view value) { return PercentEncode(value, false); }

StatusOr<HttpResponse> PerformHttp(const SinkConfig& config, const HttpRequest& request) {
  if (config.exchange_for_tests) return ExchangeWithoutNetwork(config, request);
  GlobalInitOnce();
  CURL* curl = curl_easy_init();
  if (!curl) return Internal("curl_easy_init failed");
  struct Cleanup {
    CURL* c;
    curl_slist* h = nullptr;
    int fd = -1;
    ~Cleanup() {
      if (h) curl_slist_free_all(h);
      if (fd >= 0) ::close(fd);
      curl_easy_cleanup(c);
    }
  } cleanup{curl};

  HttpResponse response;
  ResponseSink sink{&response, request.md5_response};
  sink.fd = request.response_fd;
  sink.limit = request.response_limit;
  if (sink.md5) sink.ctx = hts_md5_init();
  UploadSource source{&request};
  char error_buffer[CURL_ERROR_SIZE] = {0};

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, WriteHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, config.tls_verify ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, config.tls_verify ? 2L : 0L);
  if (!config.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, config.ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(config.connect_timeout_s * 1000));
  // A stalled transfer (server or network hangs) fails instead of blocking the daemon forever.
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, std::max(1L, static_cast<long>(config.stall_timeout_s)));
  if (config.request_timeout_s > 0)
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(config.request_timeout_s * 1000));
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");

  curl_slist* headers = nullptr;
  for (const auto& h : request.headers) headers = curl_slist_append(headers, h.c_str());
  // Without this, curl waits up to a second for "100 Continue" before every large PUT.
  headers = curl_slist_append(headers, "Expect:");

  bool has_body = !request.body_file.empty() || !request.body.empty() || request.method == "PUT" ||
                  request.method == "POST";
  if (!request.body_file.empty()) {
    source.fd = ::open(request.body_file.c_str(), O_RDONLY | O_CLOEXEC);
    if (source.fd < 0) return IoErrorFromErrno("opening '" + request.body_file + "'", errno);
    cleanup.fd = source.fd;
  }
  uint64_t body_size = request.body_file.empty() ? request.body.size() : request.body_length;
  if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "PUT") {
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, ReadBody);
    curl_easy_setopt(curl, CURLOPT_READDATA, &source);
    curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, SeekBody);
    curl_easy_setopt(curl, CURLOPT_SEEKDATA, &source);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body_size));
  } else if (request.method == "POST") {
    // Small XML bodies only: curl then signs the payload hash itself.
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  } else {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    if (has_body && request.method != "DELETE" && request.method != "MKCOL" &&
        request.method != "MOVE" && request.method != "COPY") {
      curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(curl, CURLOPT_READFUNCTION, ReadBody);
      curl_easy_setopt(curl, CURLOPT_READDATA, &source);
      curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body_size));
    }
  }

  std::string sigv4;
  std::string userpwd;
  if (request.sign_s3) {
    const Credentials& c = config.credentials;
    CRAMJET_RETURN_IF_ERROR(CheckS3Credentials(config));
    sigv4 = "aws:amz:" + config.s3_region + ":s3";
    curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, sigv4.c_str());
    userpwd = c.access_key_id + ":" + c.secret_access_key;
    curl_easy_setopt(curl, CURLOPT_USERPWD, userpwd.c_str());
    // curl 7.88 does not add the payload hash header S3 requires; bodies are protected by
    // Content-MD5 (checked by the server) and TLS instead of a signed SHA-256.
    headers = curl_slist_append(headers, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
    if (!c.session_token.empty())
      headers = curl_slist_append(headers, ("x-amz-security-token: " + c.session_token).c_str());
  } else if (request.basic_auth && !config.credentials.username.empty()) {
    curl_easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC | CURLAUTH_DIGEST);
    curl_easy_setopt(curl, CURLOPT_USERNAME, config.credentials.username.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, config.credentials.password.c_str());
  }
  cleanup.h = headers;
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);

  CURLcode rc = curl_easy_perform(curl);
  // Wipe the secret from our copy; curl keeps its own until cleanup.
  std::fill(userpwd.begin(), userpwd.end(), '\0');
  if (sink.write_errno == EFBIG)
    return DataLoss(ForMessage(request) + ": the object is longer than " + std::to_string(request.response_limit) + " bytes");
  if (sink.write_errno != 0) return IoErrorFromErrno(ForMessage(request) + ": writing the download", sink.write_errno);
  if (rc != CURLE_OK) {
    std::string detail = error_buffer[0] ? error_buffer : curl_easy_strerror(rc);
    if (rc == CURLE_ABORTED_BY_CALLBACK || rc == CURLE_READ_ERROR)
      return IoError(ForMessage(request) + ": reading '" + request.body_file + "' failed: " + detail);
    if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE)
      return FailedPrecondition(ForMessage(request) + ": TLS verification failed: " + detail);
    return Unavailable(ForMessage(request) + ": " + detail);
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  FinishBody(sink, response);
  return response;
}

Status HttpStatusToError(const HttpRequest& request, const HttpResponse& response) {
  long s = response.status;
  if (s >= 200 && s < 300) return Status::Ok();
  // A download whose file could not be written (FinishBody keeps the errno as a negative status).
  if (s < 0) return IoErrorFromErrno(ForMessage(request) + ": writing the download", static_cast<int>(-s));
  std::string msg = ForMessage(request) + ": HTTP " + std::to_string(s);
  // S3 and WebDAV put a short reason in the body; keep the first line of it, never headers.
  // Printable ASCII only: the message reaches logs, the journal and JSON replies.
  const std::string body = PrintableExcerpt(response.body, 300);
  if (!body.empty()) msg += " (" + body + ")";
  if (s == 408 || s == 429 || s >= 500) return Unavailable(msg);
  if (s == 404) return NotFound(msg);
  return FailedPrecondition(msg);
}

}  // namespace cramjet::ship::internal
