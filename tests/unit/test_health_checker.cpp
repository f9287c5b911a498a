// The HTTP and TCP health checks against servers on the loopback, hostile ones included: one deadline
// for the whole check, at most a status line read, a stop that is never kept waiting.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "docker/health_checker.h"

using namespace std::chrono_literals;
namespace v1 = ::mesos::v1;

namespace {

// Listens on 127.0.0.1:<port>; each connection is handed to `serve` on the server's thread.
struct Server {
  explicit Server(std::function<void(int)> serve) : serve_(std::move(serve)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    REQUIRE(::listen(fd_, 4) == 0);
    thread_ = std::thread([this] {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c >= 0) {
        serve_(c);
        ::close(c);
      }
    });
  }
  ~Server() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  unsigned port = 0;

 private:
  std::function<void(int)> serve_;
  int fd_ = -1;
  std::thread thread_;
};

void send_all(int fd, const std::string& s) { (void)::send(fd, s.data(), s.size(), MSG_NOSIGNAL); }

v1::HealthCheck::HTTPCheckInfo http_on(unsigned port) {
  v1::HealthCheck::HTTPCheckInfo h;
  h.set_port(port);
  h.set_path("/health");
  return h;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("HTTP check: 200-399 healthy, others not, the request as sent") {
  std::string request;
  Server ok([&](int c) {
    char buf[1024];
    const auto n = ::recv(c, buf, sizeof buf, 0);
    if (n > 0) request.assign(buf, static_cast<std::size_t>(n));
    send_all(c, "HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\n\r\n");
  });
  CHECK(docker::http_check(http_on(ok.port), 2s) == "");
  CHECK(request.rfind("GET /health HTTP/1.1\r\n", 0) == 0);
  CHECK(request.find("Connection: close\r\n") != std::string::npos);
  Server bad([](int c) { send_all(c, "HTTP/1.0 503 Service Unavailable\r\n\r\n"); });
  CHECK_THAT(docker::http_check(http_on(bad.port), 2s), Catch::Contains("HTTP 503"));
}

TEST_CASE("HTTP check: an endless status line is read 1 KiB at most, and fails") {
  Server flood([](int c) {
    const std::string chunk(4096, 'A');
    for (int i = 0; i < 256; ++i) send_all(c, chunk);  // 1 MiB without a line end
  });
  const auto t0 = std::chrono::steady_clock::now();
  CHECK_THAT(docker::http_check(http_on(flood.port), 5s), Catch::Contains("not an HTTP status line"));
  CHECK(seconds_since(t0) < 2.0);
}

TEST_CASE("HTTP check: a server that dribbles is cut at the check's one deadline") {
  std::atomic<bool> done{false};
  Server dribble([&](int c) {
    for (const char ch : std::string("HTTP/1.1 200 OK")) {
      if (done) return;
      send_all(c, std::string(1, ch));
      std::this_thread::sleep_for(200ms);
    }
  });
  const auto t0 = std::chrono::steady_clock::now();
  CHECK_THAT(docker::http_check(http_on(dribble.port), 600ms), Catch::Contains("no answer within 600 ms"));
  CHECK(seconds_since(t0) < 1.5);
  done = true;
}

TEST_CASE("HTTP and TCP checks end at once when stopped") {
  std::atomic<bool> done{false};
  Server silent([&](int) {
    while (!done) std::this_thread::sleep_for(20ms);
  });
  util::CancelFlag cancel;
  std::thread stopper([&] {
    std::this_thread::sleep_for(200ms);
    cancel.set();
  });
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(docker::http_check(http_on(silent.port), 30s, &cancel) ==
        "GET http://127.0.0.1:" + std::to_string(silent.port) + "/health: stopped");
  CHECK(seconds_since(t0) < 1.0);
  stopper.join();
  done = true;
}

TEST_CASE("TCP check: a listening port is healthy, a closed one is not") {
  Server open([](int) {});
  CHECK(docker::tcp_check(open.port, false, 2s) == "");
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const unsigned unused = ntohs(a.sin_port);
  ::close(fd);  // bound, never listened: refused
  CHECK_THAT(docker::tcp_check(unused, false, 2s), Catch::Contains("connect to 127.0.0.1:"));
}
