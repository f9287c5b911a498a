// UDP JSON relay of container log lines.
#include "logs/relay.h"

#include <fcntl.h>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

namespace logs {

void LineSplitter::feed(std::string_view data) {
  while (!data.empty()) {
    const auto nl = data.find('\n');
    const std::string_view piece = data.substr(0, nl);
    // Cut over-long lines into kMaxPayload pieces as they grow.
    std::size_t taken = 0;
    while (partial_.size() + (piece.size() - taken) > kMaxPayload) {
      const std::size_t room = kMaxPayload - partial_.size();
      partial_.append(piece.substr(taken, room));
      taken += room;
      on_line_(partial_);
      partial_.clear();
    }
    partial_.append(piece.substr(taken));
    if (nl == std::string_view::npos) return;
    if (!partial_.empty() && partial_.back() == '\r') partial_.pop_back();
    on_line_(partial_);
    partial_.clear();
    data.remove_prefix(nl + 1);
  }
}

void LineSplitter::flush() {
  if (partial_.empty()) return;
  on_line_(partial_);
  partial_.clear();
}

const char* level_for(bool is_stderr, std::string_view line) {
  if (!is_stderr) return "info";
  static const std::string_view word = "error";
  auto it = std::search(line.begin(), line.end(), word.begin(), word.end(),
                        [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
  return it == line.end() ? "info" : "error";
}

std::string datagram(std::string_view timestamp, const char* level, std::string_view payload, const RelayOptions& opts) {
  nlohmann::json j;
  j["Timestamp"] = timestamp;
  j["Level"] = level;
  j["Payload"] = payload;
  j["Hostname"] = opts.hostname;
  for (const auto& [k, v] : opts.labels) {
    if (k != "Timestamp" && k != "Level" && k != "Payload" && k != "Hostname") j[k] = v;
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

util::Result<std::unique_ptr<Relay>> Relay::open(RelayOptions opts) {
  const auto colon = opts.address.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return util::make_error(fmt::format("EXECUTOR_SYSLOG_ADDR=\"{}\": not host:port", opts.address));
  }
  std::string host = opts.address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port = opts.address.substr(colon + 1);
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    return util::make_error(fmt::format("EXECUTOR_SYSLOG_ADDR=\"{}\": {}", opts.address, gai_strerror(rc)));
  }
  const int fd = ::socket(res->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ::freeaddrinfo(res);
    return util::make_error(fmt::format("UDP socket: {}", std::strerror(errno)));
  }
  const int sndbuf = 4 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  sockaddr_storage addr{};
  std::memcpy(&addr, res->ai_addr, res->ai_addrlen);
  const socklen_t len = res->ai_addrlen;
  ::freeaddrinfo(res);
  return std::unique_ptr<Relay>(new Relay(std::move(opts), fd, addr, len));
}

Relay::Relay(RelayOptions opts, int fd, sockaddr_storage addr, socklen_t len)
    : opts_(std::move(opts)),
      fd_(fd),
      addr_(addr),
      addr_len_(len),
      out_([this](std::string_view l) { send_line(false, l); }),
      err_([this](std::string_view l) { send_line(true, l); }) {}

Relay::~Relay() { ::close(fd_); }

void Relay::feed(bool is_stderr, std::string_view data) { (is_stderr ? err_ : out_).feed(data); }

void Relay::flush() {
  out_.flush();
  err_.flush();
}

void Relay::send_line(bool is_stderr, std::string_view line) {
  const auto now = std::chrono::system_clock::now();
  const auto secs = std::chrono::time_point_cast<std::chrono::seconds>(now);
  const auto frac = std::chrono::duration_cast<std::chrono::microseconds>(now - secs).count();
  const std::string ts = fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:06d}Z", fmt::gmtime(std::chrono::system_clock::to_time_t(now)), frac);
  const std::string msg = datagram(ts, level_for(is_stderr, line), line, opts_);
  const ssize_t n = ::sendto(fd_, msg.data(), msg.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                             reinterpret_cast<const sockaddr*>(&addr_), addr_len_);
  if (n == static_cast<ssize_t>(msg.size())) {
    sent_.fetch_add(1, std::memory_order_relaxed);
  } else {
    dropped_.fetch_add(1, std::memory_order_relaxed);  // full socket buffer or nobody listening: never wait
  }
  if (opts_.copy_to_stdout) {
    std::string line_out = msg + "\n";
    std::string_view rest = line_out;
    while (!rest.empty()) {
      const ssize_t w = ::write(opts_.stdout_fd, rest.data(), rest.size());
      if (w <= 0) break;
      rest.remove_prefix(static_cast<std::size_t>(w));
    }
  }
}

}  // namespace logs
