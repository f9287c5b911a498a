// The HTTP(S) and TCP health checks against servers on the loopback, hostile ones included: one deadline
// for the whole check, at most a status line read, a stop that is never kept waiting.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "../free_port.h"
#include "../test_pki.h"
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

v1::HealthCheck::HTTPCheckInfo https_on(unsigned port) {
  auto h = http_on(port);
  h.set_scheme("https");
  return h;
}

// The app's certificate: self-signed for 127.0.0.1, made once, trusted by nobody.
struct SelfSigned : testing_support::TestPki {
  SelfSigned() : TestPki("sce-health-tls.", KeyType::ec) { ca("app", "127.0.0.1"); }
};

const SelfSigned& self_signed() {
  static const SelfSigned pki;
  return pki;
}

// A TLS server's side of one connection with the self-signed certificate: the handshake, the request
// read up to its blank line (kept in `request`), `answer` written, the TLS close sent. Set up on the
// test's thread (where REQUIRE may fail), used on the server's.
struct TlsAnswer {
  explicit TlsAnswer(std::string answer)
      : answer_(std::move(answer)), ctx_(SSL_CTX_new(TLS_server_method()), SSL_CTX_free) {
    REQUIRE(ctx_);
    REQUIRE(SSL_CTX_use_certificate_file(ctx_.get(), self_signed().cert("app").c_str(), SSL_FILETYPE_PEM) == 1);
    REQUIRE(SSL_CTX_use_PrivateKey_file(ctx_.get(), self_signed().key("app").c_str(), SSL_FILETYPE_PEM) == 1);
  }
  std::function<void(int)> serve() {
    return [this](int c) {
      std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx_.get()), SSL_free);
      if (!ssl || SSL_set_fd(ssl.get(), c) != 1 || SSL_accept(ssl.get()) != 1) return;
      char buf[1024];
      while (request.find("\r\n\r\n") == std::string::npos) {
        const int n = SSL_read(ssl.get(), buf, sizeof buf);
        if (n <= 0) return;
        request.append(buf, static_cast<std::size_t>(n));
      }
      (void)SSL_write(ssl.get(), answer_.data(), static_cast<int>(answer_.size()));
      (void)SSL_shutdown(ssl.get());
    };
  }
  std::string request;  // what came over TLS (read after the Server is gone)

 private:
  std::string answer_;
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx_;
};

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
  const auto unused = static_cast<unsigned>(testing_support::free_tcp_port());  // refused
  CHECK_THAT(docker::tcp_check(unused, false, 2s), Catch::Contains("connect to 127.0.0.1:"));
}

TEST_CASE("HTTPS check: a self-signed certificate is not verified; 200 healthy, 500 not") {
  TlsAnswer ok_answer("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  {
    Server ok(ok_answer.serve());
    CHECK(docker::http_check(https_on(ok.port), 5s) == "");
  }
  // The request went through the TLS session, whole.
  CHECK(ok_answer.request.rfind("GET /health HTTP/1.1\r\n", 0) == 0);
  CHECK_THAT(ok_answer.request, Catch::Contains("Connection: close\r\n"));

  TlsAnswer failing("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
  Server bad(failing.serve());
  CHECK(docker::http_check(https_on(bad.port), 5s) ==
        "GET https://127.0.0.1:" + std::to_string(bad.port) + "/health: HTTP 500");
}

TEST_CASE("HTTPS check: a peer that does not speak TLS, or a closed port, is unhealthy") {
  // A plain HTTP server answering 200 to whatever comes: the TLS handshake fails, no plain fallback.
  Server plain([](int c) {
    char buf[1024];
    (void)::recv(c, buf, sizeof buf, 0);
    send_all(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  });
  const std::string why = docker::http_check(https_on(plain.port), 5s);
  CHECK_THAT(why, Catch::StartsWith("GET https://127.0.0.1:" + std::to_string(plain.port) + "/health: ") &&
                      Catch::Contains("TLS handshake"));

  const auto unused = static_cast<unsigned>(testing_support::free_tcp_port());  // refused
  CHECK_THAT(docker::http_check(https_on(unused), 2s),
             Catch::StartsWith("GET https://127.0.0.1:" + std::to_string(unused) + "/health: connect to 127.0.0.1:"));
}
