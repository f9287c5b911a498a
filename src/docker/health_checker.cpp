// Health checks: the checker thread, HTTP(S)/TCP inside the container's network namespace, COMMAND by exec.
#include "docker/health_checker.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string_view>

namespace docker {

namespace {

namespace v1 = ::mesos::v1;
using std::chrono::milliseconds;

milliseconds seconds_of(double s, milliseconds floor, milliseconds cap) {
  if (!(s > 0)) return floor;
  const double ms = s * 1000.0;
  if (ms >= static_cast<double>(cap.count())) return cap;
  return std::max(floor, milliseconds(static_cast<long long>(ms)));
}

// A timeout of 0 means none (Mesos); an hour stands for it.
constexpr milliseconds kNoTimeout = std::chrono::hours(1);

}  // namespace

namespace {

using Clock = std::chrono::steady_clock;

// Waits until `fd` is ready for `events`, the deadline passes or `cancel` is set. Every blocking step
// of a check goes through here: one deadline for the whole check, and a stop is never kept waiting.
enum class Ready : unsigned char { Yes, Timeout, Cancelled, Error };
Ready wait_fd(int fd, short events, Clock::time_point deadline, const util::CancelFlag* cancel) {
  while (true) {
    if (cancel && cancel->is_set()) return Ready::Cancelled;
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return Ready::Timeout;
    pollfd p[2] = {{fd, events, 0}, {cancel ? cancel->fd() : -1, POLLIN, 0}};
    const int n = ::poll(p, cancel && cancel->fd() >= 0 ? 2 : 1,
                         static_cast<int>(std::min<long long>(left, cancel && cancel->fd() < 0 ? 100 : 1 << 30)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Ready::Error;
    if (n > 0 && (p[1].revents & POLLIN)) return Ready::Cancelled;
    if (n > 0 && p[0].revents != 0) return Ready::Yes;
  }
}

std::string wait_why(Ready r, const std::string& what, milliseconds timeout) {
  switch (r) {
    case Ready::Timeout: return fmt::format("{}: no answer within {} ms", what, timeout.count());
    case Ready::Cancelled: return "stopped";
    default: return fmt::format("{}: {}", what, std::strerror(errno));
  }
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// A non-blocking TCP connection to the loopback (v6: ::1), or why not.
std::string connect_loopback(Fd& s, unsigned port, bool v6, Clock::time_point deadline, milliseconds timeout,
                             const util::CancelFlag* cancel) {
  s.fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const std::string where = fmt::format("{}:{}", v6 ? "[::1]" : "127.0.0.1", port);
  if (s.fd < 0) return fmt::format("socket: {}", std::strerror(errno));
  int rc = 0;
  if (v6) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(static_cast<std::uint16_t>(port));
    a.sin6_addr = in6addr_loopback;
    rc = ::connect(s.fd, reinterpret_cast<const sockaddr*>(&a), sizeof a);
  } else {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rc = ::connect(s.fd, reinterpret_cast<const sockaddr*>(&a), sizeof a);
  }
  if (rc == 0) return "";
  if (errno != EINPROGRESS) return fmt::format("connect to {}: {}", where, std::strerror(errno));
  if (const Ready r = wait_fd(s.fd, POLLOUT, deadline, cancel); r != Ready::Yes) {
    return wait_why(r, "connect to " + where, timeout);
  }
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
    return fmt::format("connect to {}: {}", where, std::strerror(err != 0 ? err : errno));
  }
  return "";
}

// The status line's code from at most kMaxStatusLine bytes (an answer that says more before its first
// line ends is not HTTP); 0 when it is not a status line.
constexpr std::size_t kMaxStatusLine = 1024;
int status_code(const std::string& head) {
  const auto eol = head.find("\r\n");
  const std::string line = head.substr(0, eol);
  if (line.size() < 12 || line.compare(0, 7, "HTTP/1.") != 0 || line[8] != ' ') return 0;
  int code = 0;
  for (std::size_t i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') return 0;
    code = code * 10 + (line[i] - '0');
  }
  return code;
}

// One exchange over a connected socket (TLS when `ssl`): the request out, then bytes in until the
// status line ends, all before `deadline`. The answer's first bytes, or an error.
util::Result<std::string> exchange(int fd, SSL* ssl, const std::string& request, Clock::time_point deadline,
                                   milliseconds timeout, const util::CancelFlag* cancel) {
  // TLS handshake, then write, then read; each step waits on the socket for what OpenSSL wants.
  auto step = [&](auto&& op, const char* what) -> util::Result<int> {
    while (true) {
      ERR_clear_error();
      const int n = op();
      if (n > 0) return n;
      short want = 0;
      if (ssl != nullptr) {
        const int e = SSL_get_error(ssl, n);
        if (e == SSL_ERROR_WANT_READ) want = POLLIN;
        if (e == SSL_ERROR_WANT_WRITE) want = POLLOUT;
        if (e == SSL_ERROR_ZERO_RETURN) return 0;
      } else {
        if (n == 0) return 0;
        if (errno == EAGAIN || errno == EWOULDBLOCK) want = std::string_view(what) == "write" ? POLLOUT : POLLIN;
        if (errno == EINTR) continue;
      }
      if (want == 0) return util::make_error(fmt::format("{}: {}", what, ssl ? "TLS error" : std::strerror(errno)));
      if (const Ready r = wait_fd(fd, want, deadline, cancel); r != Ready::Yes) {
        return util::make_error(wait_why(r, what, timeout));
      }
    }
  };
  if (ssl != nullptr) {
    auto hs = step([&] { return SSL_connect(ssl); }, "TLS handshake");
    if (!hs) return hs.error();
  }
  for (std::size_t sent = 0; sent < request.size();) {
    auto n = step(
        [&] {
          const int len = static_cast<int>(request.size() - sent);
          return ssl ? SSL_write(ssl, request.data() + sent, len)
                     : static_cast<int>(::send(fd, request.data() + sent, static_cast<std::size_t>(len), MSG_NOSIGNAL));
        },
        "write");
    if (!n) return n.error();
    if (*n == 0) return util::make_error("the connection closed before the request was sent");
    sent += static_cast<std::size_t>(*n);
  }
  std::string head;
  char buf[512];
  while (head.size() < kMaxStatusLine && head.find("\r\n") == std::string::npos) {
    const std::size_t room = std::min(sizeof buf, kMaxStatusLine - head.size());
    auto n = step(
        [&] { return ssl ? SSL_read(ssl, buf, static_cast<int>(room)) : static_cast<int>(::recv(fd, buf, room, 0)); },
        "read");
    if (!n) return n.error();
    if (*n == 0) break;
    head.append(buf, static_cast<std::size_t>(*n));
  }
  return head;
}

}  // namespace

std::string tcp_check(unsigned port, bool v6, milliseconds timeout, const util::CancelFlag* cancel) {
  Fd s;
  return connect_loopback(s, port, v6, Clock::now() + timeout, timeout, cancel);
}

std::string http_check(const v1::HealthCheck::HTTPCheckInfo& http, milliseconds timeout,
                       const util::CancelFlag* cancel) {
  const auto deadline = Clock::now() + timeout;
  const bool https = http.scheme() == "https";
  const bool v6 = http.protocol() == v1::NetworkInfo::IPv6;
  const std::string host = v6 ? "[::1]" : "127.0.0.1";
  const std::string path = http.path().empty() ? "/" : http.path();
  const std::string url = fmt::format("{}://{}:{}{}", https ? "https" : "http", host, http.port(), path);
  Fd s;
  if (std::string why = connect_loopback(s, http.port(), v6, deadline, timeout, cancel); !why.empty()) {
    return fmt::format("GET {}: {}", url, why);
  }
  const std::string request = fmt::format(
      "GET {} HTTP/1.1\r\nHost: {}:{}\r\nUser-Agent: sidecar-executor health check\r\nAccept: "
      "*/*\r\nConnection: close\r\n\r\n",
      path, host, http.port());
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(nullptr, SSL_CTX_free);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(nullptr, SSL_free);
  if (https) {
    // A check of the app's answer, not of its certificate (Mesos's curl -k).
    ctx.reset(SSL_CTX_new(TLS_client_method()));
    if (ctx) ssl.reset(SSL_new(ctx.get()));
    if (!ssl || SSL_set_fd(ssl.get(), s.fd) != 1) return fmt::format("GET {}: cannot set up TLS", url);
    SSL_set_verify(ssl.get(), SSL_VERIFY_NONE, nullptr);
  }
  auto head = exchange(s.fd, ssl.get(), request, deadline, timeout, cancel);
  if (!head) return fmt::format("GET {}: {}", url, head.error().message);
  const int code = status_code(*head);
  if (code == 0) return fmt::format("GET {}: the answer is not an HTTP status line", url);
  if (code >= 200 && code < 400) return "";
  return fmt::format("GET {}: HTTP {}", url, code);
}

HealthChecker::HealthChecker(Endpoint endpoint, Sink sink) : endpoint_(std::move(endpoint)), sink_(std::move(sink)) {}

HealthChecker::~HealthChecker() {
  stop();
  join();
}

void HealthChecker::start(const executor::act::StartHealthChecks& request) {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable() || cancel_.is_set()) return;
  thread_ = std::thread([this, request] { run(request); });
}

// Never waits: it runs on the event loop, which a check in flight must not hold (every wait of a
// check also wakes on the cancel flag, so the thread ends at once).
void HealthChecker::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancel_.set();
  }
  cv_.notify_all();
}

void HealthChecker::join() {
  stop();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

bool HealthChecker::sleep_for(milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return cancel_.is_set(); });
}

std::string HealthChecker::check_once(const executor::act::StartHealthChecks& request, milliseconds timeout) {
  const auto& hc = request.check;
  switch (hc.type()) {
    case v1::HealthCheck::HTTP: return http_check(hc.http(), timeout, &cancel_);
    case v1::HealthCheck::TCP:
      return tcp_check(hc.tcp().port(), hc.tcp().protocol() == v1::NetworkInfo::IPv6, timeout, &cancel_);
    case v1::HealthCheck::COMMAND: {
      std::vector<std::string> cmd;
      if (hc.command().shell()) {
        cmd = {"sh", "-c", hc.command().value()};
      } else {
        cmd.push_back(hc.command().value());
        // argv[0] is the program itself in a Mesos CommandInfo's arguments; exec takes the rest.
        for (int i = 1; i < hc.command().arguments_size(); ++i) cmd.push_back(hc.command().arguments(i));
      }
      Client client(endpoint_, std::chrono::seconds(10));  // the daemon's own answers: prompt
      if (auto v = client.negotiate(); !v) return v.error().message;
      auto code = client.exec(request.container_id, cmd, timeout, &cancel_);
      if (!code) return fmt::format("docker exec: {}", code.error().message);
      return *code == 0 ? "" : fmt::format("the command exited with code {}", *code);
    }
    default: return "not a health check type this executor runs";
  }
}

// HTTP and TCP go to the container's own loopback: this thread enters the container's network
// namespace, by the file Docker keeps for it (NetworkSettings.SandboxKey: no process id that could be
// reused meanwhile), else by its first process. Docker's API stays reachable on its unix socket from
// there. Empty once entered, else why not (tried again at the next round).
std::string HealthChecker::enter_namespace(const std::string& container_id) {
  Client client(endpoint_, std::chrono::seconds(10));
  if (auto v = client.negotiate(); !v) return fmt::format("cannot reach Docker: {}", v.error().message);
  auto st = client.inspect(container_id);
  if (!st) return fmt::format("cannot inspect the container: {}", st.error().message);
  if (!st->running) return "the container is not running";
  std::string path = st->sandbox_key;
  if (path.empty() && st->pid > 0) path = fmt::format("/proc/{}/ns/net", st->pid);
  if (path.empty()) return "Docker names no network namespace for the container";
  const int ns = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (ns < 0) return fmt::format("cannot open the container's network namespace {}: {}", path, std::strerror(errno));
  const int rc = ::setns(ns, CLONE_NEWNET);
  const int err = errno;
  ::close(ns);
  if (rc != 0) return fmt::format("cannot enter the container's network namespace {}: {}", path, std::strerror(err));
  return "";
}

void HealthChecker::run(executor::act::StartHealthChecks request) {
  const auto& hc = request.check;
  const milliseconds delay = seconds_of(hc.delay_seconds(), milliseconds(0), kNoTimeout);
  // At least a second between checks: a COMMAND check is a process started on the host each time.
  const milliseconds interval = seconds_of(hc.interval_seconds(), std::chrono::seconds(1), kNoTimeout);
  const milliseconds timeout =
      hc.timeout_seconds() > 0 ? seconds_of(hc.timeout_seconds(), milliseconds(1), kNoTimeout) : kNoTimeout;
  const bool needs_namespace = hc.type() == v1::HealthCheck::HTTP || hc.type() == v1::HealthCheck::TCP;
  bool entered = false;
  if (!sleep_for(delay)) return;
  while (true) {
    std::string why;
    if (needs_namespace && !entered) {
      why = enter_namespace(request.container_id);
      entered = why.empty();
      if (!entered) spdlog::warn("health check: {}", why);
    }
    if (why.empty()) why = check_once(request, timeout);
    if (cancel_.is_set()) return;
    if (!why.empty()) spdlog::debug("health check failed: {}", why);
    sink_(executor::ev::HealthResult{why.empty(), why});
    if (!sleep_for(interval)) return;
  }
}

}  // namespace docker
