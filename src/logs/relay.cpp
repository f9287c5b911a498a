// UDP JSON relay of container log lines, in the Go executor's datagram format.
//
// What the Go executor sends (NinesStack/sidecar-executor; facts only):
// - log_relay.go:27-34 a logrus JSONFormatter whose FieldMap names time/level/msg
//   "Timestamp"/"Level"/"Payload"; :42-47 the fields: each SendDockerLabels name the container has,
//   then "Hostname" = LogHostname (so it wins over a label of that name);
// - logrus v1.8.1 (go.mod) json_formatter.go Format: the fields, clashes with the three key names
//   (and "logrus_error") moved to "fields.<key>" (formatter.go prefixFieldClashes), then
//   Timestamp = entry.Time.Format(time.RFC3339) in the local zone, Payload, Level; written with
//   encoding/json's Encoder with SetEscapeHTML(true): map keys sorted bytewise, one '\n' after the
//   object (Encoder.Encode);
// - loghooks/udp.go Fire: one Write of entry.String() per entry, i.e. one datagram per line.
// encoding/json's string escaping is the one of the Go releases the executor was built with
// (go.mod says go 1.12; its last releases predate Go 1.22): \b and \f come out as \u0008 and \u000c.
#include "logs/relay.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "util/utf8.h"

namespace logs {

void LineSplitter::feed(std::string_view data) {
  while (!data.empty()) {
    const auto nl = data.find('\n');
    const std::string_view piece = data.substr(0, nl);
    // Cut over-long lines into kMaxLine pieces as they grow.
    std::size_t taken = 0;
    while (partial_.size() + (piece.size() - taken) > kMaxLine) {
      const std::size_t room = kMaxLine - partial_.size();
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
  // Go's bufio.ScanLines drops a trailing \r from the last line too.
  if (partial_.back() == '\r') partial_.pop_back();
  on_line_(partial_);
  partial_.clear();
}

const char* level_for(bool is_stderr, std::string_view line) {
  // Go: log_relay.go:106-114, stdout always Info; stderr Error when strings.ToLower(text) contains
  // "error" (only E, R, O lower to e, r, o, so an ASCII fold is the same test).
  if (!is_stderr) return "info";
  static const std::string_view word = "error";
  auto it = std::search(line.begin(), line.end(), word.begin(), word.end(),
                        [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
  return it == line.end() ? "info" : "error";
}

namespace {

constexpr const char* kHex = "0123456789abcdef";

// ASCII bytes that Go's encoder writes as they are with HTML escaping on (encoding/json htmlSafeSet):
// all but control bytes, '"', '\\', '<', '>' and '&'.
constexpr std::array<bool, 256> make_plain() {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x80; ++c) t[c] = true;
  t['"'] = t['\\'] = t['<'] = t['>'] = t['&'] = false;
  return t;
}
constexpr std::array<bool, 256> kPlain = make_plain();

// U+2028 and U+2029 (E2 80 A8 / E2 80 A9), which Go escapes for JavaScript's sake.
bool is_line_separator(const unsigned char* p, std::size_t len) {
  return len == 3 && p[0] == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9);
}

// Escaped size of the character at p (len bytes, 0 for a byte that starts no well-formed sequence).
std::size_t escaped_size(const unsigned char* p, std::size_t len) {
  if (len == 0) return 6;  // \ufffd
  if (len > 1) return is_line_separator(p, len) ? 6 : len;
  if (kPlain[p[0]]) return 1;
  switch (p[0]) {
    case '"':
    case '\\':
    case '\n':
    case '\r':
    case '\t': return 2;
    default: return 6;
  }
}

}  // namespace

void append_json_escaped(std::string& out, std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    // Runs of plain ASCII go in one append.
    std::size_t j = i;
    while (j < n && kPlain[p[j]]) ++j;
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
        default:  // control bytes (\b and \f too), < > &
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
      }
      ++i;
      continue;
    }
    const std::size_t len = util::utf8_sequence_length(p + i, n - i);
    if (len == 0) {
      out += "\\ufffd";  // Go: one per byte that does not start a well-formed sequence
      ++i;
    } else if (is_line_separator(p + i, len)) {
      out += p[i + 2] == 0xA8 ? "\\u2028" : "\\u2029";
      i += len;
    } else {
      out.append(text.data() + i, len);
      i += len;
    }
  }
}

std::size_t escaped_prefix(std::string_view text, std::size_t budget) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  std::size_t used = 0;
  while (i < n) {
    const std::size_t len = p[i] < 0x80 ? 1 : util::utf8_sequence_length(p + i, n - i);
    const std::size_t size = escaped_size(p + i, len);
    if (used + size > budget && i > 0) break;
    used += size;
    i += len == 0 ? 1 : len;
  }
  return i;
}

std::string rfc3339_local(std::time_t t) {
  std::tm tm{};
  ::localtime_r(&t, &tm);
  std::string out = fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}", tm.tm_year + 1900, tm.tm_mon + 1,
                                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  // Go's "Z07:00": Z for a zero offset, else the offset in whole minutes (truncated) as ±hh:mm.
  const long offset = tm.tm_gmtoff;
  if (offset == 0) return out + 'Z';
  long minutes = offset / 60;
  out += minutes < 0 ? '-' : '+';
  minutes = std::labs(minutes);
  out += fmt::format("{:02d}:{:02d}", minutes / 60, minutes % 60);
  return out;
}

std::string start_marker(std::string_view container_id) {
  // Go: log_relay.go:58 logger.Infof("sidecar-executor starting log pump for '%s'", containerId[:12])
  return fmt::format("sidecar-executor starting log pump for '{}'", container_id.substr(0, 12));
}

namespace {

// The keys and fixed values of every datagram of a relay, as logrus builds them (see the top of the
// file); nullopt marks the three per-line values.
std::map<std::string, std::optional<std::string>> fields_for(const RelayOptions& opts) {
  std::map<std::string, std::string> data(opts.labels);
  data["Hostname"] = opts.hostname;
  for (const char* key : {"Timestamp", "Payload", "Level", "logrus_error"}) {
    if (auto it = data.find(key); it != data.end()) {
      std::string value = std::move(it->second);
      data.erase(it);
      data[std::string("fields.") + key] = std::move(value);
    }
  }
  std::map<std::string, std::optional<std::string>> all(data.begin(), data.end());
  for (const char* key : {"Level", "Payload", "Timestamp"}) all[key] = std::nullopt;
  return all;
}

Relay::Shape shape_for(const RelayOptions& opts) {
  Relay::Shape shape;
  int part = 0;
  shape.parts[0] = "{";
  bool first = true;
  // Sorted keys put the per-line values in the order Level, Payload, Timestamp.
  for (const auto& [key, value] : fields_for(opts)) {
    std::string& s = shape.parts[part];
    if (!first) s += ',';
    first = false;
    s += '"';
    append_json_escaped(s, key);
    s += "\":\"";
    if (value) {
      append_json_escaped(s, *value);
      s += '"';
    } else {
      shape.parts[++part] = "\"";
    }
  }
  shape.parts[3] += "}\n";
  return shape;
}

void build(std::string& out, const Relay::Shape& shape, std::string_view timestamp, const char* level,
           std::string_view payload) {
  out.clear();
  out += shape.parts[0];
  out += level;
  out += shape.parts[1];
  append_json_escaped(out, payload);
  out += shape.parts[2];
  out += timestamp;
  out += shape.parts[3];
}

constexpr std::size_t kBatch = 64;
// Room kept for the payload when the other fields alone nearly fill a datagram (such a datagram
// cannot be sent; it is counted as dropped, as Go's write fails too).
constexpr std::size_t kMinPayloadRoom = 1024;

}  // namespace

std::string datagram(std::string_view timestamp, const char* level, std::string_view payload,
                     const RelayOptions& opts) {
  std::string out;
  build(out, shape_for(opts), timestamp, level, payload);
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
  socklen_t len = res->ai_addrlen;
  ::freeaddrinfo(res);
  // A connected socket: the kernel keeps the route instead of looking it up for every datagram, and
  // no address goes with each one. Where connect fails (no route yet), each datagram names it.
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), len) == 0) len = 0;
  std::unique_ptr<Relay> relay(new Relay(std::move(opts), fd, addr, len));
  if (!relay->opts_.container_id.empty()) {
    // Go sends it before it reads any output (log_relay.go:58), so it is always the first datagram.
    relay->send_line("info", start_marker(relay->opts_.container_id));
    relay->send_batch();
  }
  return relay;
}

Relay::Relay(RelayOptions opts, int fd, sockaddr_storage addr, socklen_t len)
    : opts_(std::move(opts)),
      fd_(fd),
      addr_(addr),
      addr_len_(len),
      out_([this](std::string_view l) { send_line(level_for(false, l), l); }),
      err_([this](std::string_view l) { send_line(level_for(true, l), l); }),
      shape_(shape_for(opts_)),
      batch_(kBatch) {}

Relay::~Relay() { ::close(fd_); }

void Relay::feed(bool is_stderr, std::string_view data) { (is_stderr ? err_ : out_).feed(data); }

void Relay::flush() {
  out_.flush();
  err_.flush();
  send_batch();
}

const std::string& Relay::timestamp() {
  // Whole seconds, as Go's RFC 3339 layout has no fraction: the text changes once a second.
  const std::time_t now = std::time(nullptr);
  if (now != ts_second_) {
    ts_second_ = now;
    ts_ = rfc3339_local(now);
  }
  return ts_;
}

void Relay::send_batch() {
  if (batch_used_ == 0) return;
  std::vector<mmsghdr> msgs(batch_used_);
  std::vector<iovec> iov(batch_used_);
  for (std::size_t i = 0; i < batch_used_; ++i) {
    iov[i] = {batch_[i].data(), batch_[i].size()};
    msgs[i] = {};
    msgs[i].msg_hdr.msg_name = addr_len_ ? &addr_ : nullptr;
    msgs[i].msg_hdr.msg_namelen = addr_len_;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  std::size_t done = 0;
  while (done < batch_used_) {
    const int n =
        ::sendmmsg(fd_, msgs.data() + done, static_cast<unsigned>(batch_used_ - done), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n <= 0) {
      // Full socket buffer, nobody listening or too big: drop this one and go on, never wait.
      dropped_.fetch_add(1, std::memory_order_relaxed);
      ++done;
      continue;
    }
    sent_.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
    done += static_cast<std::size_t>(n);
  }
  if (opts_.copy_to_stdout) {
    // Go's syslogger writes the same text (newline included) to os.Stdout (executor_utils.go:37-41).
    std::string all;
    for (std::size_t i = 0; i < batch_used_; ++i) all += batch_[i];
    std::string_view rest = all;
    while (!rest.empty()) {
      const ssize_t w = ::write(opts_.stdout_fd, rest.data(), rest.size());
      if (w <= 0) break;
      rest.remove_prefix(static_cast<std::size_t>(w));
    }
  }
  batch_used_ = 0;
}

std::string& Relay::next_slot() {
  if (batch_used_ == batch_.size()) send_batch();
  return batch_[batch_used_++];
}

void Relay::send_line(const char* level, std::string_view line) {
  const std::string& ts = timestamp();
  std::string& out = next_slot();
  build(out, shape_, ts, level, line);
  if (out.size() <= kMaxDatagram) return;
  // Too big for one datagram: in pieces that fit, cut between characters.
  --batch_used_;
  std::size_t fixed = std::strlen(level) + ts.size();
  for (const auto& part : shape_.parts) fixed += part.size();
  const std::size_t room = fixed + kMinPayloadRoom < kMaxDatagram ? kMaxDatagram - fixed : kMinPayloadRoom;
  while (!line.empty()) {
    const std::size_t take = escaped_prefix(line, room);
    build(next_slot(), shape_, ts, level, line.substr(0, take));
    line.remove_prefix(take);
  }
}

}  // namespace logs
