// cramjetd's listening sockets and its accept loop.
#include "daemon/socket_server.h"

#include <arpa/inet.h>
#include <grp.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>

#include "common/common.h"

namespace cramjet::daemon {

StatusOr<UniqueFd> ListenOnUnixSocket(const std::string& path, const std::string& group) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) return InvalidArgument("api.socket path is too long: '" + path + "'");
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  std::error_code ec;
  std::filesystem::create_directories(DirName(path), ec);
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    // A socket file left by a killed daemon is removed; a live one means another daemon.
    UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (probe.valid() && ::connect(probe.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0)
      return FailedPrecondition("another daemon answers on '" + path + "'");
    ::unlink(path.c_str());
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return IoErrorFromErrno("socket", errno);
  const mode_t old = ::umask(0117);  // the socket is born 0660: no window with wider access
  const int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  const int bind_errno = errno;
  ::umask(old);
  if (rc != 0) return IoErrorFromErrno("binding the API socket '" + path + "'", bind_errno);
  if (!group.empty()) {
    const ::group* g = ::getgrnam(group.c_str());
    if (!g) return InvalidArgument("api.socket_group: no group '" + group + "'");
    if (::chown(path.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0)
      return IoErrorFromErrno("giving '" + path + "' to group '" + group + "'", errno);
  }
  if (::chmod(path.c_str(), 0660) != 0) return IoErrorFromErrno("chmod 0660 '" + path + "'", errno);
  if (::listen(fd.get(), 16) != 0) return IoErrorFromErrno("listen on '" + path + "'", errno);
  return fd;
}

StatusOr<UniqueFd> ListenOnLoopback(const std::string& address, const std::string& setting) {
  std::string host, port;
  if (!address.empty() && address[0] == '[') {
    const size_t close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':')
      return InvalidArgument(setting + ": '" + address + "' is not [address]:port");
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    const size_t colon = address.rfind(':');
    if (colon == std::string::npos) return InvalidArgument(setting + ": '" + address + "' is not host:port");
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  addrinfo hints{}, *res = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || !res)
    return InvalidArgument(setting + ": cannot resolve '" + address + "'");
  Status status = IoError(setting + ": cannot bind '" + address + "'");
  UniqueFd bound;
  for (addrinfo* a = res; a; a = a->ai_next) {
    // Only loopback addresses are ever bound, whatever the name resolved to.
    const bool loopback =
        (a->ai_family == AF_INET && (ntohl(reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr.s_addr) >> 24) == 127) ||
        (a->ai_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr));
    if (!loopback) continue;
    UniqueFd fd(::socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) {
      status = IoErrorFromErrno(setting + ": socket for '" + address + "'", errno);
      continue;
    }
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd.get(), a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd.get(), 16) == 0) {
      bound = std::move(fd);
      break;
    }
    status = IoErrorFromErrno(setting + ": binding '" + address + "'", errno);
  }
  freeaddrinfo(res);
  if (!bound.valid()) return status;
  return bound;
}

void ServeConnections(int listener, const std::atomic<bool>& stopping, const ConnectionRules& rules,
                      const std::function<std::string(std::string_view request)>& handler) {
  // Each connection on a thread of its own, at most max_connections at once, so that a client
  // that connects and says nothing holds only its own thread until its timeout, not the API.
  std::mutex mu;
  std::condition_variable changed;
  int active = 0;
  auto serve = [&rules, &handler](UniqueFd connection) {
    timeval tv{rules.timeout_seconds, 0};
    ::setsockopt(connection.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(connection.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    std::string request;
    char buf[4096];
    while (!rules.request_complete(request) && request.size() < rules.max_request_bytes) {
      const ssize_t n = ::read(connection.get(), buf, sizeof buf);
      if (n <= 0) break;
      request.append(buf, static_cast<size_t>(n));
    }
    std::string reply;
    try {
      reply = handler(request);
    } catch (const std::exception&) {
      return;  // the handlers guard themselves; a last line of defence drops the connection
    }
    // A client that went away or stalls past the timeout loses its reply, nothing else.
    WriteAll(connection.get(), reply, "replying").IgnoreError();
  };
  while (!stopping) {
    pollfd p{listener, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    UniqueFd connection(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
    if (!connection.valid()) continue;
    {
      std::unique_lock<std::mutex> lock(mu);
      changed.wait(lock, [&] { return active < rules.max_connections; });
      ++active;
    }
    std::thread([&, connection = std::move(connection)]() mutable {
      serve(std::move(connection));
      std::lock_guard<std::mutex> lock(mu);
      --active;
      changed.notify_all();
    }).detach();
  }
  // The connection threads use this frame's state: wait for the last (each ends within its
  // timeouts).
  std::unique_lock<std::mutex> lock(mu);
  changed.wait(lock, [&] { return active == 0; });
}

}  // namespace cramjet::daemon
