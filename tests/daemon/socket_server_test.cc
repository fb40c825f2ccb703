// The accept loop both endpoints use: a client that connects and says nothing must not hold up
// the others (issue 15: one silent client blocked the API for 5 s), and every connection ends.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "common/test_util.h"
#include "daemon/socket_server.h"

namespace cramjet::daemon {
namespace {

using cramjet::testing::TempDir;

UniqueFd Connect(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << std::strerror(errno);
  return fd;
}

std::string Exchange(const UniqueFd& fd, const std::string& request) {
  if (!request.empty()) {
    EXPECT_EQ(::write(fd.get(), request.data(), request.size()), static_cast<ssize_t>(request.size()));
  }
  std::string reply;
  char buf[256];
  ssize_t n;
  while ((n = ::read(fd.get(), buf, sizeof buf)) > 0) reply.append(buf, static_cast<size_t>(n));
  return reply;
}

TEST(ServeConnections, ASlowClientDoesNotHoldUpTheOthers) {
  signal(SIGPIPE, SIG_IGN);  // as cramjetd does: a reply to a client that left is an error, not a signal
  TempDir dir;
  const std::string path = dir / "api.sock";
  auto listener = ListenOnUnixSocket(path, "");
  ASSERT_TRUE(listener.ok()) << listener.status().message();
  std::atomic<bool> stopping{false};
  std::mutex mu;
  std::condition_variable cv;
  bool second_served = false;
  ConnectionRules rules;
  rules.timeout_seconds = 20;
  rules.request_complete = [](std::string_view r) { return r.find('\n') != std::string_view::npos; };
  // The first request's handler waits (up to 10 s) for the second to have been served: served
  // one at a time, it would wait in vain.
  bool first_saw_second = false;
  std::thread server([&] {
    ServeConnections(listener->get(), stopping, rules, [&](std::string_view request) -> std::string {
      std::unique_lock<std::mutex> lock(mu);
      if (request == "first\n") {
        first_saw_second = cv.wait_for(lock, std::chrono::seconds(10), [&] { return second_served; });
        return "1";
      }
      second_served = true;
      cv.notify_all();
      return "2";
    });
  });
  UniqueFd slow = Connect(path);
  ASSERT_EQ(::write(slow.get(), "first\n", 6), 6);
  UniqueFd silent = Connect(path);  // connects and says nothing (held open until the end)
  UniqueFd quick = Connect(path);
  EXPECT_EQ(Exchange(quick, "second\n"), "2");
  EXPECT_EQ(Exchange(slow, ""), "1");
  EXPECT_TRUE(first_saw_second);
  stopping = true;
  silent.reset();  // its thread sees the end of the stream and ends
  server.join();   // returns only once every connection thread has ended
}

TEST(ServeConnections, AHandlerThatThrowsDropsOnlyItsConnection) {
  signal(SIGPIPE, SIG_IGN);
  TempDir dir;
  const std::string path = dir / "api.sock";
  auto listener = ListenOnUnixSocket(path, "");
  ASSERT_TRUE(listener.ok());
  std::atomic<bool> stopping{false};
  ConnectionRules rules;
  rules.request_complete = [](std::string_view r) { return r.find('\n') != std::string_view::npos; };
  std::thread server([&] {
    ServeConnections(listener->get(), stopping, rules, [](std::string_view request) -> std::string {
      if (request == "throw\n") throw std::runtime_error("boom");
      return "ok";
    });
  });
  UniqueFd a = Connect(path);
  EXPECT_EQ(Exchange(a, "throw\n"), "");
  UniqueFd b = Connect(path);
  EXPECT_EQ(Exchange(b, "fine\n"), "ok");
  stopping = true;
  server.join();
}

}  // namespace
}  // namespace cramjet::daemon
