// The watchdog's pure parts (the Go executor's failure count, URL splitting), its checks against the
// Go executor's behaviour written as data, and its deadlines against a peer on 127.0.0.1 that answers
// one byte at a time.
//
// Go facts cite the newest stored Go sources of NinesStack/sidecar-executor: executor.go at commit
// 204b3bbd4a8209c8531f6c717a0678a2c6c77b47, executor_utils.go at 01bddf0e35790f0e438df40f5a41ae44d9f1b900,
// callbacks.go (the v1 API version: LaunchTask makes the watch looper), and relistan/go-director's
// director.go (the looper).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <variant>
#include <vector>

#include "../event_log.h"
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
  // The peer sees the hang-up on its own thread, a moment after the socket is closed.
  CHECK(wait_for([&] { return peer.hangups() == 1; }, 1s));
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
  CHECK(wait_for([&] { return peer.hangups() == 1; }, 1s));
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

// ---------------------------------------------------------------------------------------------
// The differential part: the Go executor's watchdog as data, and ours checked against it.

namespace {

const std::string kHost = "task-host";
const std::string kId12 = kContainer.substr(0, 12);

// Captures the log lines ("<level> <text>") while alive, at info and above as the executor logs by
// default (Go logs nothing for a healthy check; our line for it is at debug).
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    sink->set_pattern("%l %v");
    auto logger = std::make_shared<spdlog::logger>("capture", sink);
    logger->set_level(spdlog::level::info);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

// Each of ours starts with Go's line (same level, Go's exact wording; we may add detail after it).
void check_lines(const std::vector<std::string>& ours, const std::vector<std::string>& go) {
  INFO("ours:\n"
       << [&] {
            std::string all;
            for (const auto& l : ours) all += "  " + l + "\n";
            return all;
          }());
  REQUIRE(ours.size() == go.size());
  for (std::size_t i = 0; i < go.size(); ++i) CHECK(ours[i].rfind(go[i], 0) == 0);
}

std::string doc_with_service(const std::string& service) {
  return R"({"ClusterName":"c","Servers":{"other-host":{"Name":"other-host","Services":{")" + kId12 + R"(":{"ID":")" +
         kId12 + R"(","Status":2}}},")" + kHost + R"(":{"Name":")" + kHost +
         R"(","Services":{"aaaaaaaaaaaa":{"ID":"aaaaaaaaaaaa","Status":2},")" + kId12 + R"(":)" + service + "}}}}";
}
std::string doc_status(const std::string& status) {
  return doc_with_service(R"({"ID":")" + kId12 + R"(","Name":"web","Status":)" + status + "}");
}
sidecar::Fetched ok(const std::string& body) { return {200, body, "", false, false}; }
sidecar::Fetched http(int code, const std::string& body) { return {code, body, "", false, false}; }
sidecar::Fetched down() { return {0, "", "Connection refused", false, false}; }

// Answers a check can get, one fetch list each (a fetch per attempt).
enum class Ans { Alive, Tombstone, Unhealthy, Unknown, Draining, Http500, Garbage, NotListed, NoHost, Down };
std::vector<sidecar::Fetched> fetches_for(Ans a) {
  switch (a) {
    case Ans::Alive: return {ok(doc_status("0"))};
    case Ans::Tombstone: return {ok(doc_status("1"))};
    case Ans::Unhealthy: return {ok(doc_status("2"))};
    case Ans::Unknown: return {ok(doc_status("3"))};
    case Ans::Draining: return {ok(doc_status("4"))};
    case Ans::Http500: return {http(500, "internal error")};
    case Ans::Garbage: return {ok(R"({"Servers": {"h": [1, 2, )")};
    case Ans::NotListed:  // our host, without our service (listed under another host)
      return {ok(R"({"Servers":{")" + kHost +
                 R"(":{"Services":{"aaaaaaaaaaaa":{"Status":0}}},"other-host":{"Services":{")" + kId12 +
                 R"(":{"Status":2}}}}})")};
    case Ans::NoHost: return {ok(R"({"Servers":{"other-host":{"Services":{")" + kId12 + R"(":{"Status":2}}}}})")};
    case Ans::Down: return {down(), down(), down()};
  }
  return {};
}

// A fetcher serving `script` in order (the last answer again past its end), counting the fetches.
sidecar::StateFetcher scripted(std::vector<sidecar::Fetched> script, std::size_t& calls) {
  return [script = std::move(script), &calls] {
    const auto& f = script[std::min(calls, script.size() - 1)];
    ++calls;
    return f;
  };
}

enum class Effect { Fail, Reset, Leave };  // on the failure count: +1 (or kill), back to 0, unchanged

struct GoRow {
  const char* answer;
  std::vector<sidecar::Fetched> fetches;  // served in order, one per attempt
  std::size_t go_attempts;                // fetches Go makes (EXECUTOR_SIDECAR_RETRY_COUNT 2)
  Effect go;
  std::vector<std::string> go_lines;  // Go's log lines for the check, "<level> <text>"
  // Where we differ on purpose (README "Differences from the Go executor"): ours; else as Go.
  std::optional<Effect> ours = std::nullopt;
  std::optional<std::vector<std::string>> our_lines = std::nullopt;
};

const std::string kBelowLimit = "warning Failed Sidecar health check, but below fail limit";
const std::string kCantParse = "error Can't parse Sidecar results! Assuming healthy...";
const std::string kCantFind = "error Can't find this service in Sidecar yet! Assuming healthy...";
const std::string kHostNotFound = "warning Host not found in Sidecar, can't manage this container! (task-host)";
const std::string kCantContact = "error Can't contact Sidecar! Assuming healthy...";
std::string failed_attempts(int n) {
  return "warning Failed " + std::to_string(n) + " attempts to fetch state from Sidecar!";
}

const std::vector<GoRow>& go_rows() {
  static const std::vector<GoRow> rows = {
      // Go: executor.go:236,250 — a listed service not UNHEALTHY/TOMBSTONE resets the count, logs nothing.
      {"ALIVE", {ok(doc_status("0"))}, 1, Effect::Reset, {}},
      // Go: executor.go:173,238-241 — TOMBSTONE and UNHEALTHY are failures, below the limit: count + 1.
      {"TOMBSTONE", {ok(doc_status("1"))}, 1, Effect::Fail, {kBelowLimit}},
      {"UNHEALTHY", {ok(doc_status("2"))}, 1, Effect::Fail, {kBelowLimit}},
      // Go: executor.go:173,250 — any other status resets.
      {"UNKNOWN", {ok(doc_status("3"))}, 1, Effect::Reset, {}},
      {"DRAINING", {ok(doc_status("4"))}, 1, Effect::Reset, {}},
      {"status 7", {ok(doc_status("7"))}, 1, Effect::Reset, {}},
      // Go: executor.go:221,250 — json.Unmarshal leaves a missing or null Status at 0 (ALIVE).
      {"listed, no Status", {ok(doc_with_service(R"({"ID":"0123456789ab","Name":"web"})"))}, 1, Effect::Reset, {}},
      {"listed, Status null", {ok(doc_status("null"))}, 1, Effect::Reset, {}},
      // Go: executor.go:221-224 — a Status that is not an integer fails the decode: no verdict.
      {"Status \"2\"", {ok(doc_status("\"2\""))}, 1, Effect::Leave, {kCantParse}},
      {"Status 2.5", {ok(doc_status("2.5"))}, 1, Effect::Leave, {kCantParse}},
      // Go: executor.go:173,250 — an int: -1 resets. Ours: a Status outside 0..INT_MAX is a doubt.
      {"Status -1", {ok(doc_status("-1"))}, 1, Effect::Reset, {}, Effect::Leave, std::vector<std::string>{kCantParse}},
      // Go: executor.go:221-224 — not JSON, or not an object, does not decode: no verdict.
      {"garbage", {ok(R"({"Servers": {"h": [1, 2, )")}, 1, Effect::Leave, {kCantParse}},
      {"a JSON array", {ok("[1, 2, 3]")}, 1, Effect::Leave, {kCantParse}},
      // Go: executor.go:160-163,227-230 — null decodes to no servers: our host is not found.
      {"null", {ok("null")}, 1, Effect::Leave, {kHostNotFound, kCantFind}},
      // Go: executor.go:183-194 — an HTTP 500 is an answer (no retry); its body does not decode (221-224).
      {"HTTP 500", {http(500, "internal error"), ok(doc_status("2"))}, 1, Effect::Leave, {kCantParse}},
      {"HTTP 404 page", {http(404, "<html>404</html>"), ok(doc_status("2"))}, 1, Effect::Leave, {kCantParse}},
      // Go: executor.go:183-194,221,236-241 — Go decodes any answer's body, a 500's too. Ours: only a
      // 200 answer is the state document.
      {"HTTP 500 with a state document",
       {http(500, doc_status("2"))},
       1,
       Effect::Fail,
       {kBelowLimit},
       Effect::Leave,
       std::vector<std::string>{kCantParse}},
      // Go: executor.go:159-163,227-230 — our host not among the servers (our id under another host).
      {"host not listed", fetches_for(Ans::NoHost), 1, Effect::Leave, {kHostNotFound, kCantFind}},
      // Go: executor.go:166,227-230 — our host listed, our service not.
      {"service not listed", fetches_for(Ans::NotListed), 1, Effect::Leave, {kCantFind}},
      // Go: executor.go:200-217 — RETRY_COUNT + 1 attempts while no answer comes, each logged.
      {"Sidecar down",
       {down(), down(), down(), ok(doc_status("2"))},
       3,
       Effect::Leave,
       {failed_attempts(1), failed_attempts(2), failed_attempts(3), kCantContact}},
      {"down, then UNHEALTHY", {down(), ok(doc_status("2"))}, 2, Effect::Fail, {failed_attempts(1), kBelowLimit}},
      {"down, then HTTP 500",
       {down(), http(500, "x"), ok(doc_status("2"))},
       2,
       Effect::Leave,
       {failed_attempts(1), kCantParse}},
      {"down, then ALIVE",
       {down(), down(), ok(doc_status("0"))},
       3,
       Effect::Reset,
       {failed_attempts(1), failed_attempts(2)}},
  };
  return rows;
}

}  // namespace

TEST_CASE("Each answer's effect on the count, retries and log lines: as the Go executor's (data)") {
  for (const GoRow& row : go_rows()) {
    INFO("answer: " << row.answer);
    // One failure counted before the check, so that a reset and a check that leaves it differ.
    sidecar::Watch watch(5, true, kContainer, kHost);
    {
      LogCapture quiet;
      watch.after(sidecar::read_answer(ok(doc_status("2")), kHost, kId12));
    }
    REQUIRE(watch.failures() == 1);
    LogCapture cap;
    std::size_t calls = 0, pauses = 0;
    const auto result = sidecar::run_check(
        scripted(row.fetches, calls), 2,
        [&] {
          ++pauses;
          return true;
        },
        kHost, kId12);
    REQUIRE(result);
    const auto actions = watch.after(*result);
    CHECK_FALSE(actions.kill);
    CHECK(calls == row.go_attempts);
    // Go: executor.go:206-207 — the retry delay follows every failed attempt, the last one too.
    CHECK(pauses == calls - (result->kind == sidecar::CheckResult::Kind::Unreachable ? 0 : 1));
    const Effect want = row.ours.value_or(row.go);
    const int failures = watch.failures();
    CHECK(failures == (want == Effect::Fail ? 2 : want == Effect::Reset ? 0 : 1));
    check_lines(cap.lines(), row.our_lines.value_or(row.go_lines));
  }
}

namespace {

struct GoSequence {
  int max_fails;
  std::vector<Ans> checks;
  int go_kill_at;  // 1-based check that kills in Go, 0: none
};

// Go: executor.go:176-178,236-250 — failCount >= MAX_FAILS on a failure kills; no-verdict answers
// (executor.go:214-231 return before the count is touched) leave the count as it is.
const std::vector<GoSequence> kGoSequences = {
    // Issue 18 item 10: Go kills at the second UNHEALTHY; we used to kill at the third.
    {1, {Ans::Unhealthy, Ans::Http500, Ans::Garbage, Ans::NotListed, Ans::Unhealthy}, 5},
    {1, {Ans::Unhealthy, Ans::Down, Ans::Unhealthy}, 3},
    {1, {Ans::Unhealthy, Ans::NoHost, Ans::Unhealthy}, 3},
    {1, {Ans::Unhealthy, Ans::Alive, Ans::Unhealthy}, 0},
    {1, {Ans::Unhealthy, Ans::Unknown, Ans::Unhealthy, Ans::Draining, Ans::Unhealthy}, 0},
    {3, {Ans::Unhealthy, Ans::Unhealthy, Ans::Unhealthy, Ans::Unhealthy}, 4},
    {3, {Ans::Unhealthy, Ans::Unhealthy, Ans::Unhealthy}, 0},
    {3, {Ans::Unhealthy, Ans::Down, Ans::Unhealthy, Ans::Http500, Ans::Unhealthy, Ans::NotListed, Ans::Unhealthy}, 7},
    {2, {Ans::Unhealthy, Ans::Unhealthy, Ans::Alive, Ans::Tombstone, Ans::Unhealthy, Ans::Tombstone}, 6},
    {0, {Ans::Down, Ans::Http500, Ans::Tombstone}, 3},
    {1, {Ans::Tombstone, Ans::Tombstone, Ans::Tombstone}, 2},
};

}  // namespace

TEST_CASE("Sequences of answers kill at the check the Go executor kills at (data)") {
  for (std::size_t n = 0; n < kGoSequences.size(); ++n) {
    const GoSequence& seq = kGoSequences[n];
    INFO("sequence " << n << ", MAX_FAILS " << seq.max_fails);
    LogCapture cap;
    sidecar::Watch watch(seq.max_fails, true, kContainer, kHost);
    int killed_at = 0;
    std::optional<std::string> verdict;
    for (std::size_t i = 0; i < seq.checks.size() && killed_at == 0; ++i) {
      std::size_t calls = 0;
      const auto r = sidecar::run_check(
          scripted(fetches_for(seq.checks[i]), calls), 2, [] { return true; }, kHost, kId12);
      REQUIRE(r);
      verdict = watch.after(*r).kill;
      if (verdict) killed_at = static_cast<int>(i) + 1;
    }
    CHECK(killed_at == seq.go_kill_at);
    if (killed_at == 0) continue;
    // Go: executor.go:244 and 247, logged by monitorTask at 285 as "Error! <error>".
    const auto lines = cap.lines();
    REQUIRE(lines.size() >= 2);
    CHECK(lines[lines.size() - 2].rfind("error Health failure count exceeded " + std::to_string(seq.max_fails), 0) ==
          0);
    CHECK(lines.back() == "error Error! Unhealthy container: " + kContainer + " failing task!");
    CHECK_THAT(*verdict, Catch::Contains("Sidecar") && Catch::Contains("health failure count exceeded"));
  }
}

TEST_CASE("Health updates: ours on ALIVE/UNHEALTHY changes (Go sends none), and none when turned off") {
  // Go: callbacks.go (v1):21 LaunchTask sends TASK_RUNNING once; executor.go:99-119 sendStatus never
  // sets `healthy`. Ours is a deliberate addition; EXECUTOR_SIDECAR_HEALTH_UPDATES=false restores Go.
  const std::vector<Ans> checks = {Ans::Alive,     Ans::Alive, Ans::Down,     Ans::Unhealthy, Ans::Http500,
                                   Ans::Unhealthy, Ans::Alive, Ans::Draining, Ans::Alive};
  for (const bool updates : {true, false}) {
    INFO("health updates " << updates);
    LogCapture quiet;
    sidecar::Watch watch(10, updates, kContainer, kHost);
    std::vector<bool> sent;
    for (const Ans a : checks) {
      std::size_t calls = 0;
      const auto r = sidecar::run_check(
          scripted(fetches_for(a), calls), 2, [] { return true; }, kHost, kId12);
      REQUIRE(r);
      if (auto h = watch.after(*r).health) sent.push_back(*h);
    }
    CHECK(sent == (updates ? std::vector<bool>{true, false, true} : std::vector<bool>{}));
  }
}

TEST_CASE("The poll cadence is Go's ticker: from the end of the first check; an overrun runs the next at once") {
  // Go: callbacks.go (v1):107-111 makes a NewImmediateTimedLooper(FOREVER, SidecarPollInterval); director.go's
  // TimedLooper.Loop runs the first iteration, then ranges over time.Tick(interval), which keeps one
  // tick while an iteration runs and drops the rest.
  using namespace std::chrono;
  sidecar::PollTicker t(300ms);
  const steady_clock::time_point t0{seconds(1000)};
  CHECK(t.next(t0) == t0 + 300ms);            // first check over: the ticker starts
  CHECK(t.next(t0 + 310ms) == t0 + 600ms);    // a quick check: the next tick
  CHECK(t.next(t0 + 1400ms) == t0 + 1400ms);  // 600 → 1400 outlasted the 900 and 1200 ticks: at once
  CHECK(t.next(t0 + 1410ms) == t0 + 1500ms);  // then on the ticker's own beat
  CHECK(t.next(t0 + 1505ms) == t0 + 1800ms);
  sidecar::PollTicker zero(0ms);  // a zero interval never divides by zero
  CHECK(zero.next(t0) >= t0);
}

TEST_CASE("The adapter end to end: MAX_FAILS=1 and UNHEALTHY, 500, garbage, not listed, UNHEALTHY kill at check 5") {
  std::vector<sidecar::Fetched> script;
  for (Ans a : {Ans::Unhealthy, Ans::Http500, Ans::Garbage, Ans::NotListed, Ans::Unhealthy, Ans::Alive}) {
    script.push_back(fetches_for(a).front());
  }
  testing_support::EventLog events;
  std::atomic<std::size_t> fetched{0};
  sidecar::WatchdogOptions o;
  o.backoff = 0ms;
  o.poll_interval = 1ms;
  o.retry_count = 1;
  o.retry_delay = 1ms;
  o.max_fails = 1;
  LogCapture cap;
  std::optional<executor::Event> first, second;
  {
    sidecar::Adapter a(o, events.sink(), [&] { return script[std::min(fetched++, script.size() - 1)]; });
    a.start_watchdog(kContainer, kHost);
    first = events.next(5s);
    REQUIRE(first);
    second = events.next(5s);
    REQUIRE(second);
    std::this_thread::sleep_for(20ms);  // no check after the kill
    a.shutdown();
  }
  CHECK(fetched == 5);
  REQUIRE_FALSE(events.next(0ms));  // the two events are all
  const auto* health = std::get_if<executor::ev::HealthChanged>(&*first);
  REQUIRE(health != nullptr);
  CHECK_FALSE(health->healthy);
  const auto* kill = std::get_if<executor::ev::WatchdogKill>(&*second);
  REQUIRE(kill != nullptr);
  CHECK_THAT(kill->verdict, Catch::Contains("UNHEALTHY"));
  const auto lines = cap.lines();
  CHECK(std::count_if(lines.begin(), lines.end(), [](const std::string& l) {
          return l.rfind("error Health failure count exceeded 1", 0) == 0;
        }) == 1);
}

TEST_CASE("Drain and seed lines start with the Go executor's wording") {
  SlowPeer peer;
  SECTION("seeds: no answer from the agent") {
    // Go: executor_utils.go:65 — "Unable to fetch Mesos master info from worker endpoint: %s".
    auto seeds = sidecar::fetch_seeds("127.0.0.1:" + std::to_string(peer.port()), 5050, 300ms);
    REQUIRE_FALSE(seeds);
    CHECK(seeds.error().message.rfind("Unable to fetch Mesos master info from worker endpoint: ", 0) == 0);
  }
  SECTION("drain: the announcement, then each failed attempt") {
    auto o = slow_options(peer, 200ms);
    o.backoff = 1h;
    o.retry_count = 1;
    LogCapture cap;
    {
      sidecar::Adapter a(o, [](executor::Event) {});
      a.drain(kContainer);
      REQUIRE(wait_for([&] { return peer.hangups() == 2; }, 3s));
      std::this_thread::sleep_for(50ms);
      a.shutdown();
    }
    // Go: executor_utils.go:185 (%q of the id) and :203.
    check_lines(cap.lines(), {"warning Setting service ID \"" + kId12 + "\" status to DRAINING in Sidecar",
                              "warning Failed 1 attempts to set service to DRAINING in Sidecar!",
                              "warning Failed 2 attempts to set service to DRAINING in Sidecar!",
                              "error Sidecar did not accept the drain"});  // ours: Go logs nothing more
  }
}
