// host/daemon/socket_server.h — internal to cramjetd: the two listening sockets (the API's Unix
// socket, the metrics endpoint's loopback TCP port) and the one accept loop both use.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "common/unique_fd.h"
#include "cramjet/status.h"

namespace cramjet::daemon {

// Binds `path` as a listening Unix socket born mode 0660 (owned by `group` when not empty). A
// socket file left by a killed daemon is replaced; one a live daemon answers on is an error.
[[nodiscard]] StatusOr<UniqueFd> ListenOnUnixSocket(const std::string& path, const std::string& group);
// Binds "host:port" or "[v6]:port", loopback addresses only whatever the name resolves to.
// `setting` names the configuration key in errors.
[[nodiscard]] StatusOr<UniqueFd> ListenOnLoopback(const std::string& address, const std::string& setting);

struct ConnectionRules {
  size_t max_request_bytes = 65536;  // a longer request is cut there and answered as it is
  int timeout_seconds = 5;           // per read and per write
  int max_connections = 16;          // served at once, each on a thread of its own
  // Whether the bytes received so far are a whole request.
  std::function<bool(std::string_view received)> request_complete;
};

// Accepts connections on `listener` until `stopping`, each served on a thread of its own (at
// most rules.max_connections at once, so one silent client never blocks the others): reads a
// request under `rules`, writes `handler(request)` and closes the connection. `handler` is
// called concurrently. Returns once the last connection is served.
void ServeConnections(int listener, const std::atomic<bool>& stopping, const ConnectionRules& rules,
                      const std::function<std::string(std::string_view request)>& handler);

}  // namespace cramjet::daemon
