// Health checks: the checker thread, HTTP(S)/TCP inside the container's network namespace, COMMAND by exec.
#include "docker/health_checker.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

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

std::string tcp_check(unsigned port, milliseconds timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fmt::format("socket: {}", std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string why;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) {
      why = fmt::format("connect to 127.0.0.1:{}: {}", port, std::strerror(errno));
    } else {
      pollfd p{fd, POLLOUT, 0};
      const int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(timeout.count(), 1 << 30)));
      int err = 0;
      socklen_t len = sizeof err;
      if (n == 0) {
        why = fmt::format("connect to 127.0.0.1:{}: no answer within {} ms", port, timeout.count());
      } else if (n < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
        why = fmt::format("connect to 127.0.0.1:{}: {}", port, std::strerror(err != 0 ? err : errno));
      }
    }
  }
  ::close(fd);
  return why;
}

std::string http_check(const v1::HealthCheck::HTTPCheckInfo& http, milliseconds timeout) {
  const bool https = http.scheme() == "https";
  const std::string host = http.protocol() == v1::NetworkInfo::IPv6 ? "::1" : "127.0.0.1";
  const int port = static_cast<int>(http.port());
  const std::string path = http.path().empty() ? "/" : http.path();
  const auto sec = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  const auto usec = std::chrono::duration_cast<std::chrono::microseconds>(timeout - sec);
  auto configure = [&](auto& cli) {
    cli.set_connection_timeout(sec.count(), usec.count());
    cli.set_read_timeout(sec.count(), usec.count());
    cli.set_write_timeout(sec.count(), usec.count());
  };
  // Only the status matters: the request ends once the headers are in (an app answering with an
  // endless or huge body costs nothing).
  int status = 0;
  const httplib::ResponseHandler on_headers = [&](const httplib::Response& r) {
    status = r.status;
    return false;
  };
  const httplib::ContentReceiver no_body = [](const char*, std::size_t) { return false; };
  httplib::Result res{nullptr, httplib::Error::Unknown};
  if (https) {
    httplib::SSLClient cli(host, port);
    configure(cli);
    cli.enable_server_certificate_verification(false);  // a check of the app, not of its certificate
    res = cli.Get(path, on_headers, no_body);
  } else {
    httplib::Client cli(host, port);
    configure(cli);
    res = cli.Get(path, on_headers, no_body);
  }
  const std::string url = fmt::format("{}://{}:{}{}", https ? "https" : "http", host, port, path);
  if (status == 0) return fmt::format("GET {}: {}", url, httplib::to_string(res.error()));
  if (status >= 200 && status < 400) return "";
  return fmt::format("GET {}: HTTP {}", url, status);
}

HealthChecker::HealthChecker(Endpoint endpoint, Sink sink) : endpoint_(std::move(endpoint)), sink_(std::move(sink)) {}

HealthChecker::~HealthChecker() { stop(); }

void HealthChecker::start(const executor::act::StartHealthChecks& request) {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable() || cancel_.is_set()) return;
  thread_ = std::thread([this, request] { run(request); });
}

void HealthChecker::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancel_.set();
  }
  cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

bool HealthChecker::sleep_for(milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return cancel_.is_set(); });
}

std::string HealthChecker::check_once(const executor::act::StartHealthChecks& request, milliseconds timeout) {
  const auto& hc = request.check;
  switch (hc.type()) {
    case v1::HealthCheck::HTTP: return http_check(hc.http(), timeout);
    case v1::HealthCheck::TCP: return tcp_check(hc.tcp().port(), timeout);
    case v1::HealthCheck::COMMAND: {
      std::vector<std::string> cmd;
      if (hc.command().shell()) {
        cmd = {"sh", "-c", hc.command().value()};
      } else {
        cmd.push_back(hc.command().value());
        // argv[0] is the program itself in a Mesos CommandInfo's arguments; exec takes the rest.
        for (int i = 1; i < hc.command().arguments_size(); ++i) cmd.push_back(hc.command().arguments(i));
      }
      Client client(endpoint_, timeout + std::chrono::seconds(10));
      if (auto v = client.negotiate(); !v) return v.error().message;
      auto code = client.exec(request.container_id, cmd, timeout, &cancel_);
      if (!code) return fmt::format("docker exec: {}", code.error().message);
      return *code == 0 ? "" : fmt::format("the command exited with code {}", *code);
    }
    default: return "not a health check type this executor runs";
  }
}

void HealthChecker::run(executor::act::StartHealthChecks request) {
  const auto& hc = request.check;
  const milliseconds delay = seconds_of(hc.delay_seconds(), milliseconds(0), kNoTimeout);
  const milliseconds interval = seconds_of(hc.interval_seconds(), milliseconds(100), kNoTimeout);
  const milliseconds timeout =
      hc.timeout_seconds() > 0 ? seconds_of(hc.timeout_seconds(), milliseconds(1), kNoTimeout) : kNoTimeout;
  std::string entry_error;
  if (hc.type() == v1::HealthCheck::HTTP || hc.type() == v1::HealthCheck::TCP) {
    // HTTP and TCP go to the container's own 127.0.0.1: this thread enters its network namespace
    // (the container's first process's), as Mesos's checker does with setns(). Docker's API stays
    // reachable on its unix socket from there (COMMAND checks do not enter).
    Client client(endpoint_, std::chrono::seconds(10));
    long long pid = 0;
    if (auto v = client.negotiate(); !v) {
      entry_error = fmt::format("cannot find the container's process: {}", v.error().message);
    } else if (auto st = client.inspect(request.container_id); !st) {
      entry_error = fmt::format("cannot find the container's process: {}", st.error().message);
    } else if (st->pid <= 0) {
      entry_error = "cannot find the container's process: it is not running";
    } else {
      pid = st->pid;
    }
    if (pid > 0) {
      const int ns = ::open(fmt::format("/proc/{}/ns/net", pid).c_str(), O_RDONLY | O_CLOEXEC);
      if (ns < 0 || ::setns(ns, CLONE_NEWNET) != 0) {
        entry_error = fmt::format("cannot enter the container's network namespace: {}", std::strerror(errno));
      } else {
        joined_namespace_ = true;
      }
      if (ns >= 0) ::close(ns);
    }
    if (!entry_error.empty()) spdlog::error("health checks: {}", entry_error);
  }
  if (!sleep_for(delay)) return;
  while (true) {
    const std::string why = entry_error.empty() ? check_once(request, timeout) : entry_error;
    if (cancel_.is_set()) return;
    if (!why.empty()) spdlog::debug("health check failed: {}", why);
    sink_(executor::ev::HealthResult{why.empty(), why});
    if (!sleep_for(interval)) return;
  }
}

}  // namespace docker
