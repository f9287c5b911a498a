// The watchdog's pure parts (the Go executor's failure count, URL splitting), and its deadlines
// against a peer on 127.0.0.1 that answers one byte at a time.
#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <thread>
#include <vector>

#include "sidecar/watchdog.h"

using namespace std::chrono_literals;

namespace {

// Accepts connections and writes an HTTP answer one byte every 200 ms, so that no per-read timeout
// ever fires; counts the connections and those the client hung up.
class SlowPeer {
 public:
  SlowPeer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    REQUIRE(fd_ >= 0);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~SlowPeer() {
    stop_ = true;
    acceptor_.join();
    ::close(fd_);
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& t : conns_) t.join();
  }
  SlowPeer(const SlowPeer&) = delete;
  SlowPeer& operator=(const SlowPeer&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  int connections() const { return connections_; }
  int hangups() const { return hangups_; }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      ++connections_;
      std::lock_guard<std::mutex> lock(mu_);
      conns_.emplace_back([this, c] {
        dribble(c);
        ::close(c);
      });
    }
  }
  void dribble(int c) {
    const std::string answer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{}";
    for (std::size_t i = 0; !stop_; ++i) {
      const char ch = i < answer.size() ? answer[i] : ' ';
      if (::send(c, &ch, 1, MSG_NOSIGNAL) != 1) break;
      for (int slice = 0; slice < 10 && !stop_; ++slice) {  // 200 ms, watching for a hang-up
        pollfd p{c, POLLIN | POLLRDHUP, 0};
        if (::poll(&p, 1, 20) <= 0) continue;
        char buf[512];
        const ssize_t n = ::recv(c, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
          ++hangups_;
          return;
        }
      }
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0}, hangups_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> conns_;
};

bool wait_for(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

sidecar::WatchdogOptions slow_options(const SlowPeer& peer, std::chrono::milliseconds http_timeout) {
  sidecar::WatchdogOptions o;
  o.state_url = peer.url("/state.json");
  o.backoff = 0ms;
  o.poll_interval = 50ms;
  o.retry_count = 0;
  o.retry_delay = 10ms;
  o.http_timeout = http_timeout;
  return o;
}

const std::string kContainer = "0123456789ab0123456789ab0123456789ab0123456789ab0123456789ab0123";

template <typename F>
std::chrono::milliseconds time_of(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
}

// Index (1-based) of the observation that kills, or 0.
int kill_at(int max_fails, const std::string& seq) {
  sidecar::FailureCounter c(max_fails);
  for (std::size_t i = 0; i < seq.size(); ++i) {
    if (c.observe(seq[i] == 'F')) return static_cast<int>(i) + 1;
  }
  return 0;
}

}  // namespace

TEST_CASE("Failures kill on the (MAX_FAILS+1)th in a row; a success resets the count") {
  CHECK(kill_at(3, "FFFF") == 4);
  CHECK(kill_at(3, "FFF") == 0);
  CHECK(kill_at(3, "FFFAFFFF") == 8);
  CHECK(kill_at(3, "AFAFAFAFAF") == 0);
  CHECK(kill_at(1, "FF") == 2);
  CHECK(kill_at(0, "F") == 1);
  CHECK(kill_at(2, "FFAFFF") == 6);
}

TEST_CASE("After a kill the count starts again") {
  sidecar::FailureCounter c(1);
  CHECK_FALSE(c.observe(true));
  CHECK(c.observe(true));
  CHECK(c.count() == 0);
  CHECK_FALSE(c.observe(true));
  CHECK(c.observe(true));
}

TEST_CASE("Sidecar URLs split into base and path") {
  auto u = sidecar::split_url("http://localhost:7777/state.json");
  REQUIRE(u);
  CHECK(u->base == "http://localhost:7777");
  CHECK(u->path == "/state.json");
  u = sidecar::split_url("https://sidecar.example.com/api/state.json?x=1");
  REQUIRE(u);
  CHECK(u->base == "https://sidecar.example.com");
  CHECK(u->path == "/api/state.json?x=1");
  u = sidecar::split_url("http://h:1");
  REQUIRE(u);
  CHECK(u->path == "/");
  for (const char* bad : {"localhost:7777/state.json", "ftp://h/x", "http://", "http:///state.json", ""}) {
    INFO(bad);
    CHECK_FALSE(sidecar::split_url(bad));
  }
}

TEST_CASE("A URL with CR, LF or another control character is refused before any request") {
  for (const char* bad : {"http://127.0.0.1:7777/state.json\r\nX-Evil: 1", "http://h\r\nHost: x:1/state.json",
                          "http://h:1/a\tb", "http://h:1/\x7f"}) {
    INFO(bad);
    auto u = sidecar::split_url(bad);
    REQUIRE_FALSE(u);
    CHECK_THAT(u.error().message, Catch::Contains("control character"));
    CHECK_THAT(u.error().message, !Catch::Contains("\r"));  // escaped, not raw
  }
}

TEST_CASE("A Sidecar sending one byte at a time: each poll is cut at the HTTP timeout, in total") {
  SlowPeer peer;
  sidecar::Adapter a(slow_options(peer, 300ms), [](executor::Event) {});
  a.start_watchdog(kContainer, "host");
  // Per-read timeouts alone would keep the first poll alive for ever: one connection, no hang-up.
  REQUIRE(wait_for([&] { return peer.hangups() >= 2; }, 3s));
  CHECK(peer.connections() >= 2);
  a.shutdown();
}

TEST_CASE("shutdown() and stop_watchdog() cut a poll in flight at once, whatever the HTTP timeout") {
  const bool via_stop = GENERATE(false, true);
  INFO((via_stop ? "stop_watchdog" : "shutdown"));
  SlowPeer peer;
  sidecar::Adapter a(slow_options(peer, 30s), [](executor::Event) {});
  a.start_watchdog(kContainer, "host");
  REQUIRE(wait_for([&] { return peer.connections() == 1; }, 2s));
  std::this_thread::sleep_for(300ms);  // well into the answer's headers
  REQUIRE(peer.hangups() == 0);
  if (via_stop) {
    CHECK(time_of([&] { a.stop_watchdog(); }) < 100ms);
    CHECK(wait_for([&] { return peer.hangups() == 1; }, 1s));  // cut, not left to run
  }
  const auto took = time_of([&] { a.shutdown(); });
  CHECK(took < 1s);
  CHECK(peer.hangups() == 1);
  CHECK(peer.connections() == 1);
}

TEST_CASE("shutdown() cuts a drain request in flight at once") {
  SlowPeer peer;
  auto o = slow_options(peer, 30s);
  o.backoff = 1h;  // no polls: only the drain
  o.retry_count = 5;
  sidecar::Adapter a(o, [](executor::Event) {});
  a.drain(kContainer);
  REQUIRE(wait_for([&] { return peer.connections() == 1; }, 2s));
  std::this_thread::sleep_for(300ms);
  const auto took = time_of([&] { a.shutdown(); });
  CHECK(took < 1s);
  CHECK(peer.hangups() == 1);
  CHECK(peer.connections() == 1);  // no retry after shutdown
}

TEST_CASE("A drain request is cut at the HTTP timeout, then retried") {
  SlowPeer peer;
  auto o = slow_options(peer, 300ms);
  o.backoff = 1h;
  o.retry_count = 1;
  sidecar::Adapter a(o, [](executor::Event) {});
  const auto took = time_of([&] {
    a.drain(kContainer);
    REQUIRE(wait_for([&] { return peer.hangups() == 2; }, 3s));
  });
  CHECK(took < 1500ms);
  CHECK(peer.connections() == 2);
  a.shutdown();
}

TEST_CASE("Seed lookups: a slow agent is cut at the timeout; a cancel cuts at once") {
  SlowPeer peer;
  const std::string endpoint = "127.0.0.1:" + std::to_string(peer.port());
  SECTION("total deadline") {
    util::Result<std::string> seeds = util::make_error("not run");
    const auto took = time_of([&] { seeds = sidecar::fetch_seeds(endpoint, 5050, 400ms); });
    REQUIRE_FALSE(seeds);
    CHECK_THAT(seeds.error().message, Catch::Contains("/state") && Catch::Contains("within 400 ms"));
    CHECK(took >= 350ms);
    CHECK(took < 1500ms);
  }
  SECTION("cancel") {
    util::CancelFlag cancel;
    std::thread canceller([&] {
      std::this_thread::sleep_for(300ms);
      cancel.set();
    });
    util::Result<std::string> seeds = util::make_error("not run");
    const auto took = time_of([&] { seeds = sidecar::fetch_seeds(endpoint, 5050, 30s, &cancel); });
    canceller.join();
    REQUIRE_FALSE(seeds);
    CHECK_THAT(seeds.error().message, Catch::Contains("cancelled"));
    CHECK(took < 1s);
  }
  SECTION("control characters in the agent endpoint") {
    auto seeds = sidecar::fetch_seeds(endpoint + "/x\r\nX-Evil: 1", 5050, 400ms);
    REQUIRE_FALSE(seeds);
    CHECK_THAT(seeds.error().message, Catch::Contains("control character"));
    CHECK(peer.connections() == 0);
  }
}
