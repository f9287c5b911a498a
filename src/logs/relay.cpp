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

#include "util/utf8.h"

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

void append_json_escaped(std::string& out, std::string_view text) {
  static const char* hex = "0123456789abcdef";
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    // Runs of plain ASCII go in one append.
    std::size_t j = i;
    while (j < n && p[j] >= 0x20 && p[j] < 0x80 && p[j] != '"' && p[j] != '\\') ++j;
    out.append(text.data() + i, j - i);
    i = j;
    if (i >= n) break;
    const unsigned char c = p[i];
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
      }
      ++i;
      continue;
    }
    // A UTF-8 sequence: copied when well formed.
    if (const std::size_t len = util::utf8_sequence_length(p + i, n - i); len > 0) {
      out.append(text.data() + i, len);
      i += len;
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD for one bad byte
      ++i;
    }
  }
}

namespace {

std::string tail_for(const RelayOptions& opts) {
  std::string t = "\",\"Hostname\":\"";
  append_json_escaped(t, opts.hostname);
  t += '"';
  for (const auto& [k, v] : opts.labels) {
    if (k == "Timestamp" || k == "Level" || k == "Payload" || k == "Hostname") continue;
    t += ",\"";
    append_json_escaped(t, k);
    t += "\":\"";
    append_json_escaped(t, v);
    t += '"';
  }
  t += '}';
  return t;
}

void build(std::string& out, std::string_view timestamp, const char* level, std::string_view payload,
           const std::string& tail) {
  out.clear();
  out += "{\"Timestamp\":\"";
  out += timestamp;
  out += "\",\"Level\":\"";
  out += level;
  out += "\",\"Payload\":\"";
  append_json_escaped(out, payload);
  out += tail;
}

constexpr std::size_t kBatch = 64;

}  // namespace

std::string datagram(std::string_view timestamp, const char* level, std::string_view payload, const RelayOptions& opts) {
  std::string out;
  build(out, timestamp, level, payload, tail_for(opts));
  return out;
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
      err_([this](std::string_view l) { send_line(true, l); }),
      tail_(tail_for(opts_)),
      batch_(kBatch) {}

Relay::~Relay() { ::close(fd_); }

void Relay::feed(bool is_stderr, std::string_view data) { (is_stderr ? err_ : out_).feed(data); }

void Relay::flush() {
  out_.flush();
  err_.flush();
  send_batch();
}

const std::string& Relay::timestamp() {
  const auto now = std::chrono::system_clock::now();
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  const std::int64_t sec = us / 1000000;
  if (sec != ts_second_) {  // the date part changes once a second
    ts_second_ = sec;
    ts_prefix_ = fmt::format("{:%Y-%m-%dT%H:%M:%S}", fmt::gmtime(static_cast<std::time_t>(sec)));
  }
  ts_ = fmt::format("{}.{:06d}Z", ts_prefix_, us % 1000000);
  return ts_;
}

void Relay::send_batch() {
  if (batch_used_ == 0) return;
  std::vector<mmsghdr> msgs(batch_used_);
  std::vector<iovec> iov(batch_used_);
  for (std::size_t i = 0; i < batch_used_; ++i) {
    iov[i] = {batch_[i].data(), batch_[i].size()};
    msgs[i] = {};
    msgs[i].msg_hdr.msg_name = &addr_;
    msgs[i].msg_hdr.msg_namelen = addr_len_;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  std::size_t done = 0;
  while (done < batch_used_) {
    const int n = ::sendmmsg(fd_, msgs.data() + done, static_cast<unsigned>(batch_used_ - done), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n <= 0) {
      // Full socket buffer or nobody listening: drop this one and go on, never wait.
      dropped_.fetch_add(1, std::memory_order_relaxed);
      ++done;
      continue;
    }
    sent_.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
    done += static_cast<std::size_t>(n);
  }
  if (opts_.copy_to_stdout) {
    std::string all;
    for (std::size_t i = 0; i < batch_used_; ++i) {
      all += batch_[i];
      all += '\n';
    }
    std::string_view rest = all;
    while (!rest.empty()) {
      const ssize_t w = ::write(opts_.stdout_fd, rest.data(), rest.size());
      if (w <= 0) break;
      rest.remove_prefix(static_cast<std::size_t>(w));
    }
  }
  batch_used_ = 0;
}

void Relay::send_line(bool is_stderr, std::string_view line) {
  if (batch_used_ == batch_.size()) send_batch();
  build(batch_[batch_used_++], timestamp(), level_for(is_stderr, line), line, tail_);
}

}  // namespace logs
