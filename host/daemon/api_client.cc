// Client side of the cramjetd JSON API (include/cramjet/daemon_api.h).
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "cramjet/daemon_api.h"

namespace cramjet {

namespace {
StatusCode CodeFromKey(const std::string& key) {
  for (int c = 0; c <= static_cast<int>(StatusCode::kInternal); ++c) {
    std::string name(StatusCodeName(static_cast<StatusCode>(c)));
    for (auto& ch : name)
      if (ch == ' ') ch = '_';
    if (name == key) return static_cast<StatusCode>(c);
  }
  return StatusCode::kInternal;
}
}  // namespace

StatusOr<std::string> CallDaemon(const std::string& socket_path, const std::string& method,
                                 const std::string& params_json, double timeout_seconds) {
  nlohmann::json params = nlohmann::json::parse(params_json, nullptr, false);
  if (params.is_discarded()) return InvalidArgument("request parameters are not valid JSON");
  sockaddr_un addr{};
  if (socket_path.size() >= sizeof(addr.sun_path)) return InvalidArgument("socket path too long: '" + socket_path + "'");
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return IoErrorFromErrno("socket", errno);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int e = errno;
    ::close(fd);
    return Unavailable("cramjetd is not reachable on '" + socket_path + "': " + std::strerror(e) +
                       (e == EACCES ? " (is your user in the socket's group?)" : ""));
  }
  timeval tv{static_cast<time_t>(timeout_seconds), static_cast<suseconds_t>((timeout_seconds - static_cast<time_t>(timeout_seconds)) * 1e6)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string request =
      nlohmann::json{{"api_version", kDaemonApiVersion}, {"method", method}, {"params", params}}.dump() + "\n";
  size_t off = 0;
  while (off < request.size()) {
    ssize_t n = ::write(fd, request.data() + off, request.size() - off);
    if (n <= 0) {
      ::close(fd);
      return Unavailable("cramjetd on '" + socket_path + "' closed the connection");
    }
    off += n;
  }
  std::string reply;
  char buf[8192];
  while (reply.find('\n') == std::string::npos) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    reply.append(buf, n);
  }
  ::close(fd);
  nlohmann::json j = nlohmann::json::parse(reply.substr(0, reply.find('\n')), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Unavailable("cramjetd on '" + socket_path + "' gave no valid reply (timed out or stopped)");
  if (j.value("ok", false)) return j.contains("result") ? j["result"].dump() : std::string("{}");
  auto err = j.value("error", nlohmann::json::object());
  return Status(CodeFromKey(err.value("code", "internal")), err.value("message", "unknown error"));
}

}  // namespace cramjet
