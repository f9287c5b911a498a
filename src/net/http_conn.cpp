// HTTP/1.1 over AF_UNIX, TCP or TLS, and the response parser it reads with.
#include "net/http_conn.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <mutex>
#include <vector>

#include "util/hot_path.h"
#include "util/http_safe.h"

namespace net {

struct HttpClient::Tls {
  SSL_CTX* ctx = nullptr;
  ~Tls() {
    if (ctx) SSL_CTX_free(ctx);
  }
};

namespace {

// One address a TCP peer was resolved to.
struct Address {
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family = 0, socktype = 0, protocol = 0;
};

}  // namespace

// The addresses the peer's name resolved to last time a connection was made: a client that calls
// every second (the Sidecar poll) does not resolve the name every time (in a static executable that
// reads /etc/hosts, and runs code that stays resident for the executor's life). A call that cannot
// connect to any of them resolves the name again.
struct HttpClient::Addresses {
  std::mutex mu;
  std::vector<Address> list;
};

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxErrorBody = 64 * 1024;
constexpr std::size_t kReadBuffer = 64 * 1024;
constexpr std::chrono::milliseconds kCancelCheck{200};

std::string openssl_error() {
  const unsigned long e = ERR_get_error();
  if (e == 0) return "unknown TLS error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

// How long one call may wait, and what cuts it short.
struct Limits {
  std::chrono::milliseconds silence{0};                // the longest wait for the peer (connect, each read); zero: none
  std::chrono::milliseconds total{0};                  // the whole call; zero: none
  Clock::time_point until = Clock::time_point::max();  // start + total
  const util::CancelFlag* cancel = nullptr;
  std::chrono::milliseconds tick{0};                  // a wait returns at least this often (0: no need)
  const std::function<bool()>* tick_while = nullptr;  // … only while this says so (none: always)
  const std::function<void()>* on_tick = nullptr;     // called when one returned with nothing

  bool ticking() const { return tick.count() > 0 && (!tick_while || !*tick_while || (*tick_while)()); }
  // An error once the call is over: cancelled, or past its total deadline.
  HOT_PATH util::Result<void> over() const {
    if (cancel && cancel->is_set()) return util::make_error("cancelled");
    if (Clock::now() >= until) return util::make_error(fmt::format("no complete answer within {} ms", total.count()));
    return {};
  }
  // Whether a wait that began at `since` has lasted the silence limit.
  HOT_PATH bool silent_since(Clock::time_point since) const {
    return silence.count() > 0 && Clock::now() - since >= silence;
  }
  // Waits up to the silence limit counted from `since`, the total deadline (and, without an eventfd,
  // the cancel check's period) for `events` on `fd`, or for the cancel flag; the revents, 0 when
  // nothing happened (the caller then asks over() and silent_since() again).
  HOT_PATH util::Result<short> wait(int fd, short events, Clock::time_point since) const {
    const auto now = Clock::now();
    Clock::duration left = Clock::duration::max();
    if (until != Clock::time_point::max()) left = until - now;
    if (silence.count() > 0) left = std::min<Clock::duration>(left, since + silence - now);
    const bool cancel_fd = cancel && cancel->fd() >= 0;
    if (cancel && !cancel_fd) left = std::min<Clock::duration>(left, kCancelCheck);
    if (ticking()) left = std::min<Clock::duration>(left, tick);
    int ms = -1;
    if (left != Clock::duration::max()) {
      // Rounded up: a poll that returns a moment before the limit would only spin.
      ms = static_cast<int>(std::clamp<long long>(std::chrono::ceil<std::chrono::milliseconds>(left).count(), 0,
                                                  std::numeric_limits<int>::max()));
    }
    pollfd p[2] = {{fd, events, 0}, {cancel_fd ? cancel->fd() : -1, POLLIN, 0}};
    const int r = ::poll(p, cancel_fd ? 2 : 1, ms);
    if (r < 0) {
      if (errno == EINTR) return short{0};
      return util::make_error(fmt::format("poll: {}", std::strerror(errno)));
    }
    if (cancel_fd && p[1].revents != 0) return util::make_error("cancelled");
    return p[0].revents;
  }
};

// The addresses `host` resolves to for a TCP connection to `port`.
util::Result<std::vector<Address>> resolve(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &list); rc != 0) {
    return util::make_error(fmt::format("resolve {}: {}", host, gai_strerror(rc)));
  }
  std::vector<Address> out;
  for (addrinfo* a = list; a; a = a->ai_next) {
    if (a->ai_addrlen > sizeof(sockaddr_storage)) continue;
    Address x;
    std::memcpy(&x.addr, a->ai_addr, a->ai_addrlen);
    x.len = a->ai_addrlen;
    x.family = a->ai_family;
    x.socktype = a->ai_socktype;
    x.protocol = a->ai_protocol;
    out.push_back(x);
  }
  ::freeaddrinfo(list);
  return out;
}

// One connection: a socket, maybe wrapped in TLS. Every wait is bounded by the call's Limits.
class Conn {
 public:
  Conn() = default;
  HOT_PATH ~Conn() {
    if (ssl_) {
      SSL_shutdown(ssl_);
      SSL_free(ssl_);
    }
    if (fd_ >= 0) ::close(fd_);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  HOT_PATH util::Result<void> open(const Endpoint& ep, SSL_CTX* ctx, const Limits& limits,
                                   HttpClient::Addresses& known) {
    if (!ep.unix_path.empty()) return open_unix(ep.unix_path);
    if (auto r = open_tcp(ep.host, ep.port, limits, known); !r) return r;
    if (!ep.tls) return {};
    ssl_ = SSL_new(ctx);
    if (!ssl_) return util::make_error(fmt::format("TLS: {}", openssl_error()));
    SSL_set_fd(ssl_, fd_);
    SSL_ctrl(ssl_, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(ep.host.c_str()));
    SSL_set1_host(ssl_, ep.host.c_str());
    // The handshake runs on the non-blocking socket, each wait bounded by the limits and the cancel flag.
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
    const auto started = Clock::now();
    while (true) {
      ERR_clear_error();
      const int rc = SSL_connect(ssl_);
      if (rc == 1) break;
      const int err = SSL_get_error(ssl_, rc);
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
        const long verify = SSL_get_verify_result(ssl_);
        if (verify != X509_V_OK) {
          return util::make_error(
              fmt::format("TLS handshake with {}:{}: {}", ep.host, ep.port, X509_verify_cert_error_string(verify)));
        }
        return util::make_error(fmt::format("TLS handshake with {}:{}: {}", ep.host, ep.port, openssl_error()));
      }
      const auto fail = [&](const std::string& why) {
        return util::make_error(fmt::format("TLS handshake with {}:{}: {}", ep.host, ep.port, why));
      };
      if (auto over = limits.over(); !over) return fail(over.error().message);
      if (limits.silent_since(started)) return fail(fmt::format("no answer for {} ms", limits.silence.count()));
      auto ready = limits.wait(fd_, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, started);
      if (!ready) return fail(ready.error().message);
    }
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) & ~O_NONBLOCK);
    return {};
  }

  HOT_PATH util::Result<void> write_all(std::string_view data) {
    while (!data.empty()) {
      if (ssl_) {
        const int n = SSL_write(ssl_, data.data(), static_cast<int>(std::min<std::size_t>(data.size(), 1 << 20)));
        if (n <= 0) return util::make_error(fmt::format("TLS write: {}", openssl_error()));
        data.remove_prefix(static_cast<std::size_t>(n));
        continue;
      }
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        return util::make_error(fmt::format("write: {}", std::strerror(errno)));
      }
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
  }

  // Reads within the limits (the silence limit counted from now); 0 bytes = EOF.
  HOT_PATH util::Result<std::size_t> read_some(char* buf, std::size_t n, const Limits& limits) {
    const auto since = Clock::now();
    while (!(ssl_ && SSL_pending(ssl_) > 0)) {
      if (auto over = limits.over(); !over) return over.error();
      if (limits.silent_since(since)) return util::make_error(fmt::format("no data for {} ms", limits.silence.count()));
      auto ready = limits.wait(fd_, POLLIN, since);
      if (!ready) return ready.error();
      if (*ready != 0) break;
      if (limits.on_tick && *limits.on_tick && limits.ticking()) (*limits.on_tick)();
    }
    if (ssl_) {
      const int got = SSL_read(ssl_, buf, static_cast<int>(std::min<std::size_t>(n, 1 << 20)));
      if (got > 0) return static_cast<std::size_t>(got);
      const int err = SSL_get_error(ssl_, got);
      if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) return std::size_t{0};
      return util::make_error(fmt::format("TLS read: {}", openssl_error()));
    }
    while (true) {
      const ssize_t got = ::read(fd_, buf, n);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return util::make_error(fmt::format("read: {}", std::strerror(errno)));
      return static_cast<std::size_t>(got);
    }
  }

 private:
  util::Result<void> open_unix(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) return util::make_error(fmt::format("socket path too long: {}", path));
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return util::make_error(fmt::format("socket: {}", std::strerror(errno)));
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      return util::make_error(fmt::format("connect to {}: {}", path, std::strerror(errno)));
    }
    return {};
  }

  // The cached addresses first (the one that accepted last time at their head); when none of them
  // accepts, the name resolved again.
  HOT_PATH util::Result<void> open_tcp(const std::string& host, int port, const Limits& limits,
                                       HttpClient::Addresses& known) {
    std::vector<Address> cached;
    {
      std::lock_guard<std::mutex> lock(known.mu);
      cached = known.list;
    }
    std::size_t used = 0;
    if (!cached.empty()) {
      bool ended = false;
      auto r = connect_any(cached, host, port, limits, ended, used);
      if (r && used != 0) remember(known, std::move(cached), used);
      if (r || ended) return r;
    }
    auto fresh = resolve(host, port);
    if (!fresh) return fresh.error();
    bool ended = false;
    auto r = connect_any(*fresh, host, port, limits, ended, used);
    remember(known, r ? std::move(*fresh) : std::vector<Address>{}, used);
    return r;
  }

  // Keeps `list` for the next call, its element `used` (the one that accepted) first.
  static void remember(HttpClient::Addresses& known, std::vector<Address> list, std::size_t used) {
    if (used < list.size())
      std::rotate(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(used),
                  list.begin() + static_cast<std::ptrdiff_t>(used) + 1);
    std::lock_guard<std::mutex> lock(known.mu);
    known.list = std::move(list);
  }

  // Connects to the first of `addrs` that accepts (its index in `used`). `ended`: the call was
  // cancelled or is past its deadline (no other address is worth trying).
  HOT_PATH util::Result<void> connect_any(const std::vector<Address>& addrs, const std::string& host, int port,
                                          const Limits& limits, bool& ended, std::size_t& used) {
    std::string last = "no address";
    for (std::size_t i = 0; i < addrs.size(); ++i) {
      const Address& a = addrs[i];
      const int fd = ::socket(a.family, a.socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a.protocol);
      if (fd < 0) continue;
      int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&a.addr), a.len);
      if (rc != 0 && errno == EINPROGRESS) {
        // Each address has the silence limit; the total deadline and the cancel flag end them all.
        const auto started = Clock::now();
        util::Result<short> ready = short{0};
        bool timed_out = false;
        while (ready && *ready == 0) {
          if (auto over = limits.over(); !over) {
            ready = over.error();
          } else if (limits.silent_since(started)) {
            timed_out = true;
            break;
          } else {
            ready = limits.wait(fd, POLLOUT, started);
          }
        }
        if (!ready) {
          ::close(fd);
          ended = true;
          return ready.error();
        }
        int soerr = 0;
        socklen_t len = sizeof soerr;
        if (!timed_out && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr == 0) {
          rc = 0;
        } else {
          last = timed_out ? "timed out" : std::strerror(soerr ? soerr : errno);
          rc = -1;
        }
      } else if (rc != 0) {
        last = std::strerror(errno);
      }
      if (rc == 0) {
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fd_ = fd;
        used = i;
        return {};
      }
      ::close(fd);
    }
    return util::make_error(fmt::format("connect to {}:{}: {}", host, port, last));
  }

  int fd_ = -1;
  SSL* ssl_ = nullptr;
};

// The text the client reads or writes on every call, made once at start-up. The program's string
// literals are merged across the whole binary (a short one may be the tail of a library's message),
// so each literal a call reads can keep a 64 KiB window of read-only data resident of its own.
const std::string kHttp1 = "HTTP/1.", kSpace = " ",
                  kVersionHost = " HTTP/1.1\r\nHost: ", kClose = "\r\nConnection: close\r\n", kColon = ": ",
                  kCrlf = "\r\n", kContentLengthHeader = "Content-Length: ", kPost = "POST", kPut = "PUT",
                  kContentLength = "content-length", kTransferEncoding = "transfer-encoding", kChunked = "chunked";

// ASCII only, as HTTP's names are (and no locale table: the Sidecar poll runs this every second).
HOT_PATH std::string lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

HOT_PATH bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

HOT_PATH bool is_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_token_char); }

// Control characters other than horizontal tab (which header values and reason phrases may hold).
HOT_PATH bool has_ctl_but_tab(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t') || u == 0x7f;
  });
}

HOT_PATH std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// For errors: a piece of what the peer sent, control characters escaped.
std::string excerpt(std::string_view s, std::size_t max = 80) { return util::escape_control_chars(s.substr(0, max)); }

HOT_PATH int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Headers the client writes itself: a caller's copy would make a second, conflicting one.
HOT_PATH bool is_framing_header(std::string_view name) {
  const std::string l = lower(std::string(name));
  return l == "host" || l == "connection" || l == "content-length" || l == "transfer-encoding";
}

// util::check_http_text, its message built only for a text that fails.
HOT_PATH bool has_ctl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}
HOT_PATH util::Result<void> check_text(std::string_view what, std::string_view text, bool show_text = true) {
  if (!has_ctl(text)) return {};
  return util::check_http_text(what, text, show_text);
}

// Everything that goes into the request head, checked before a byte is written.
HOT_PATH util::Result<void> check_request(const HttpRequest& req, std::string_view host) {
  if (auto r = check_text("request method", req.method); !r) return r;
  if (!is_token(req.method)) {
    return util::make_error(fmt::format("request method \"{}\" is not an HTTP token: request refused", req.method));
  }
  if (auto r = check_text("request path", req.path); !r) return r;
  if (req.path.empty() || req.path.front() != '/') {
    return util::make_error(fmt::format("request path \"{}\" does not start with '/': request refused", req.path));
  }
  for (const char c : req.path) {
    if (c == ' ' || static_cast<unsigned char>(c) >= 0x80) {
      return util::make_error(fmt::format("request path \"{}\" holds a space or a non-ASCII byte: request refused",
                                          excerpt(req.path, 200)));
    }
  }
  if (auto r = check_text("Host header", host); !r) return r;
  for (const auto& [name, value] : req.headers) {
    if (auto r = check_text("header name", name); !r) return r;
    if (!is_token(name)) {
      return util::make_error(fmt::format("header name \"{}\" is not an HTTP token: request refused", name));
    }
    if (is_framing_header(name)) {
      return util::make_error(fmt::format("header {} is written by the HTTP client itself: request refused", name));
    }
    if (has_ctl(value)) return util::check_http_text(fmt::format("header {}", name), value, false);
  }
  return {};
}

}  // namespace

std::string Endpoint::describe() const {
  if (!unix_path.empty()) return "unix://" + unix_path;
  return fmt::format("tcp://{}:{}{}", host, port, tls ? " (TLS)" : "");
}

HttpClient::HttpClient(Endpoint endpoint) : endpoint_(std::move(endpoint)), addresses_(std::make_unique<Addresses>()) {
  // An IPv6 address goes in brackets in the Host header.
  host_header_ = "docker";
  if (endpoint_.unix_path.empty()) {
    host_header_ = endpoint_.host.find(':') != std::string::npos
                       ? fmt::format("[{}]:{}", endpoint_.host, endpoint_.port)
                       : fmt::format("{}:{}", endpoint_.host, endpoint_.port);
  }
  if (endpoint_.unix_path.empty() && endpoint_.tls) {
    tls_ = std::make_unique<Tls>();
    tls_->ctx = SSL_CTX_new(TLS_client_method());
    if (!tls_->ctx) {
      setup_error_ = openssl_error();
      return;
    }
    SSL_CTX_set_verify(tls_->ctx, SSL_VERIFY_PEER, nullptr);
    if (!endpoint_.ca_file.empty()) {
      if (SSL_CTX_load_verify_locations(tls_->ctx, endpoint_.ca_file.c_str(), nullptr) != 1) {
        setup_error_ = fmt::format("CA file {}: {}", endpoint_.ca_file, openssl_error());
        return;
      }
    } else {
      SSL_CTX_set_default_verify_paths(tls_->ctx);
    }
    if (!endpoint_.cert_file.empty()) {
      if (SSL_CTX_use_certificate_chain_file(tls_->ctx, endpoint_.cert_file.c_str()) != 1) {
        setup_error_ = fmt::format("certificate {}: {}", endpoint_.cert_file, openssl_error());
        return;
      }
      if (SSL_CTX_use_PrivateKey_file(tls_->ctx, endpoint_.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
        setup_error_ = fmt::format("key {}: {}", endpoint_.key_file, openssl_error());
        return;
      }
    }
  }
}

HttpClient::~HttpClient() = default;

void HttpClient::resolve() const {
  if (!endpoint_.unix_path.empty()) return;
  auto addrs = net::resolve(endpoint_.host, endpoint_.port);
  if (!addrs) return;  // the first call resolves again, and says why it cannot
  std::lock_guard<std::mutex> lock(addresses_->mu);
  if (addresses_->list.empty()) addresses_->list = std::move(*addrs);
}

util::Result<HttpResponse> HttpClient::send(const HttpRequest& req) const {
  std::string body;
  bool too_big = false;
  auto res = stream(req, [&](std::string_view piece) {
    if (body.size() + piece.size() > kMaxBufferedBody) {
      too_big = true;
      return false;
    }
    body.append(piece);
    return true;
  });
  if (!res) return res.error();
  if (too_big) {
    return util::make_error(
        fmt::format("{} {}: answer body larger than {} MiB", req.method, req.path, kMaxBufferedBody >> 20));
  }
  if (res->status < 300) res->body = std::move(body);
  return res;
}

util::Result<HttpResponse> HttpClient::stream(const HttpRequest& req,
                                              const std::function<bool(std::string_view)>& on_data) const {
  auto res = exchange(req, on_data);
  if (res) return res;
  // The method and path are shown escaped: a refused request must not forge a log line either.
  return util::make_error(fmt::format("{} {}: {}", util::escape_control_chars(req.method),
                                      util::escape_control_chars(req.path), res.error().message));
}

HOT_PATH util::Result<HttpResponse> HttpClient::exchange(const HttpRequest& req,
                                                         const std::function<bool(std::string_view)>& on_data) const {
  const auto where = [](const std::string& what) { return util::make_error(what); };
  Limits limits;
  limits.silence = req.timeout;
  limits.total = req.total;
  if (req.total.count() > 0) limits.until = Clock::now() + req.total;
  limits.cancel = req.cancel;
  limits.tick = req.idle_every;
  limits.tick_while = &req.idle_every_while;
  if (req.idle_every.count() > 0) limits.on_tick = &req.on_idle;
  if (!setup_error_.empty()) return where(setup_error_);
  if (auto ok = check_request(req, host_header_); !ok) return where(ok.error().message);

  Conn conn;
  if (auto o = conn.open(endpoint_, tls_ ? tls_->ctx : nullptr, limits, *addresses_); !o) {
    return where(o.error().message);
  }
  // Appended, not formatted: a poll every second keeps its code path short.
  std::string head;
  head.reserve(64 + req.method.size() + req.path.size() + host_header_.size());
  head.append(req.method).append(kSpace).append(req.path).append(kVersionHost).append(host_header_);
  head.append(kClose);
  for (const auto& [k, v] : req.headers) head.append(k).append(kColon).append(v).append(kCrlf);
  if (!req.body.empty() || req.method == kPost || req.method == kPut) {
    head.append(kContentLengthHeader).append(std::to_string(req.body.size())).append(kCrlf);
  }
  head.append(kCrlf);
  if (auto w = conn.write_all(head); !w) return where(w.error().message);
  if (auto w = conn.write_all(req.body); !w) return where(w.error().message);

  ResponseParser parser;
  std::string error_body;
  bool head_told = false;
  const auto tell_head = [&] {
    if (head_told || !parser.head_done()) return;
    head_told = true;
    if (req.on_head) req.on_head(parser.response());
  };
  const ResponseParser::BodySink deliver = [&](std::string_view piece) {
    tell_head();
    if (parser.response().status < 300) return on_data(piece);
    if (error_body.size() < kMaxErrorBody) error_body.append(piece.substr(0, kMaxErrorBody - error_body.size()));
    return true;
  };
  // Not zero-filled: only the pages a read writes become resident.
  const std::unique_ptr<char[]> buf(new char[kReadBuffer]);
  while (!parser.done()) {
    if (req.on_idle) req.on_idle();
    auto got = conn.read_some(buf.get(), kReadBuffer, limits);
    if (!got) return where(got.error().message);
    auto fed = *got == 0 ? parser.finish() : parser.feed(std::string_view(buf.get(), *got), deliver);
    if (!fed) return where(fed.error().message);
    tell_head();
  }
  HttpResponse res = parser.response();
  res.body = std::move(error_body);
  return res;
}

// ---- ResponseParser ----

util::Result<void> ResponseParser::fail(std::string message) {
  state_ = State::Failed;
  error_ = std::move(message);
  return util::make_error(error_);
}

HOT_PATH util::Result<void> ResponseParser::feed(std::string_view bytes, const BodySink& sink) {
  if (state_ == State::Failed) return util::make_error(error_);
  if (!bytes.empty()) any_byte_ = true;
  while (!bytes.empty() && state_ != State::Done) {
    if (auto r = step(bytes, sink); !r) return r;
  }
  return {};
}

HOT_PATH util::Result<void> ResponseParser::finish() {
  switch (state_) {
    case State::Failed: return util::make_error(error_);
    case State::Done:
    case State::EofBody:
    case State::Trailer:  // the last chunk arrived: the body is whole even if the trailer is cut
      state_ = State::Done;
      return {};
    case State::StatusLine:
      return fail(any_byte_ ? "connection closed in the middle of the response header"
                            : "connection closed before any response");
    case State::Header: return fail("connection closed in the middle of the response header");
    case State::ChunkSize:
    case State::ChunkData:
    case State::ChunkEnd: return fail("connection closed in the middle of a chunk");
    case State::LengthBody: return fail(fmt::format("connection closed {} bytes before the end of the body", left_));
  }
  return fail("connection closed");
}

HOT_PATH util::Result<void> ResponseParser::step(std::string_view& bytes, const BodySink& sink) {
  switch (state_) {
    case State::ChunkData:
    case State::LengthBody:
    case State::EofBody: return deliver(bytes, sink);
    case State::Done:
    case State::Failed: bytes = {}; return {};
    default: break;
  }
  auto complete = take_line(bytes);
  if (!complete) return complete.error();
  if (!*complete) return {};
  auto r = on_line();
  line_.clear();
  return r;
}

// Moves bytes up to and including the next LF into line_, within the current part's size limit;
// true once line_ holds a whole line (its CR LF then removed).
HOT_PATH util::Result<bool> ResponseParser::take_line(std::string_view& bytes) {
  const auto lf = bytes.find('\n');
  const std::string_view part = bytes.substr(0, lf == std::string_view::npos ? bytes.size() : lf + 1);
  const std::size_t total = line_.size() + part.size();
  switch (state_) {
    case State::StatusLine:
    case State::Header:
      if (head_bytes_ + total > kMaxResponseHeadBytes) {
        return fail(fmt::format("response header larger than {} bytes", kMaxResponseHeadBytes)).error();
      }
      break;
    case State::Trailer:
      if (trailer_bytes_ + total > kMaxResponseHeadBytes) {
        return fail(fmt::format("chunked trailer larger than {} bytes", kMaxResponseHeadBytes)).error();
      }
      break;
    case State::ChunkSize:
      if (total > kMaxChunkSizeLine) {
        return fail(fmt::format("chunk size line longer than {} bytes", kMaxChunkSizeLine)).error();
      }
      break;
    default:  // ChunkEnd: only CR LF may follow a chunk's data
      if (total > 2) return fail("chunk data not followed by CRLF").error();
      break;
  }
  line_.append(part);
  bytes.remove_prefix(part.size());
  if (state_ == State::StatusLine) {
    // Refuse a peer that is not speaking HTTP at once, not after 64 KiB of it.
    const std::string_view prefix = kHttp1;
    const std::size_t n = std::min(line_.size(), prefix.size());
    if (std::string_view(line_).substr(0, n) != prefix.substr(0, n)) {
      return fail(fmt::format("not an HTTP response: \"{}\"", excerpt(line_))).error();
    }
  }
  if (lf == std::string_view::npos) return false;
  if (line_.size() < 2 || line_[line_.size() - 2] != '\r') {
    return fail(fmt::format("response line \"{}\" not ended by CRLF", excerpt(line_))).error();
  }
  if (state_ == State::StatusLine || state_ == State::Header) head_bytes_ += line_.size();
  if (state_ == State::Trailer) trailer_bytes_ += line_.size();
  line_.resize(line_.size() - 2);
  return true;
}

HOT_PATH util::Result<void> ResponseParser::on_line() {
  switch (state_) {
    case State::StatusLine: return status_line();
    case State::Header: return line_.empty() ? head_end() : header_line(false);
    case State::Trailer:
      if (line_.empty()) {
        state_ = State::Done;
        return {};
      }
      return header_line(true);
    case State::ChunkSize: return chunk_size_line();
    case State::ChunkEnd:
      if (!line_.empty()) return fail("chunk data not followed by CRLF");
      state_ = State::ChunkSize;
      return {};
    default: return fail("internal error: line in a body state");
  }
}

// "HTTP/1.x NNN reason", the reason optional.
HOT_PATH util::Result<void> ResponseParser::status_line() {
  const std::string_view l = line_;
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (l.size() < 12 || l.substr(0, 7) != kHttp1 || !digit(l[7]) || l[8] != ' ' || !digit(l[9]) || !digit(l[10]) ||
      !digit(l[11]) || (l.size() > 12 && l[12] != ' ')) {
    return fail(fmt::format("not an HTTP response: \"{}\"", excerpt(l)));
  }
  const int status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
  if (status < 100 || status > 599) return fail(fmt::format("HTTP status {} out of range", status));
  if (has_ctl_but_tab(l)) return fail(fmt::format("status line \"{}\" holds a control character", excerpt(l)));
  res_.status = status;
  res_.headers.clear();
  header_count_ = 0;
  state_ = State::Header;
  return {};
}

HOT_PATH util::Result<void> ResponseParser::header_line(bool trailer) {
  const char* section = trailer ? "chunked trailer" : "response";
  if (++header_count_ > kMaxResponseHeaders) {
    return fail(fmt::format("more than {} header lines in the {}", kMaxResponseHeaders, section));
  }
  const std::string_view l = line_;
  if (l.front() == ' ' || l.front() == '\t') return fail(fmt::format("folded header line in the {}", section));
  const auto colon = l.find(':');
  if (colon == std::string_view::npos) {
    return fail(fmt::format("header line without ':' in the {}: \"{}\"", section, excerpt(l, 40)));
  }
  const std::string_view name = l.substr(0, colon);
  if (!is_token(name)) return fail(fmt::format("malformed header name \"{}\" in the {}", excerpt(name, 40), section));
  const std::string_view value = trim_ows(l.substr(colon + 1));
  if (has_ctl_but_tab(value)) {
    return fail(fmt::format("header {} in the {} holds a control character", excerpt(name, 40), section));
  }
  if (trailer) return {};  // nothing we use comes in a trailer
  const std::string key = lower(std::string(name));
  auto [it, inserted] = res_.headers.emplace(key, std::string(value));
  if (inserted) return {};
  if (key == kContentLength) {
    // Two lengths would let a peer frame the body two ways.
    if (it->second != value) return fail("conflicting Content-Length headers");
    return {};
  }
  it->second.append(", ").append(value);
  return {};
}

HOT_PATH util::Result<void> ResponseParser::head_end() {
  if (res_.status < 200) {
    if (res_.status == 101) return fail("unexpected 101 Switching Protocols");
    state_ = State::StatusLine;  // an interim answer (100 Continue, 103 Early Hints): the final one follows
    return {};
  }
  head_done_ = true;
  if (res_.status == 204 || res_.status == 304) {
    state_ = State::Done;
    return {};
  }
  if (auto te = res_.headers.find(kTransferEncoding); te != res_.headers.end()) {
    // Chunked only when it is the last coding; otherwise the body runs to the end of the connection
    // (RFC 9112 6.3), whatever Content-Length says.
    std::string_view codings = te->second;
    const auto comma = codings.rfind(',');
    const std::string last =
        lower(std::string(trim_ows(comma == std::string_view::npos ? codings : codings.substr(comma + 1))));
    state_ = last == kChunked ? State::ChunkSize : State::EofBody;
    return {};
  }
  if (auto cl = res_.headers.find(kContentLength); cl != res_.headers.end()) {
    const std::string& text = cl->second;
    std::uint64_t length = 0;
    for (const char c : text) {
      if (c < '0' || c > '9') return fail(fmt::format("bad Content-Length \"{}\"", excerpt(text, 40)));
      const auto d = static_cast<std::uint64_t>(c - '0');
      if (length > (kMaxContentLength - d) / 10) {
        return fail(fmt::format("Content-Length {} over the limit of {} bytes", excerpt(text, 40), kMaxContentLength));
      }
      length = length * 10 + d;
    }
    if (text.empty()) return fail("empty Content-Length");
    left_ = length;
    state_ = length == 0 ? State::Done : State::LengthBody;
    return {};
  }
  state_ = State::EofBody;
  return {};
}

// hex size, optional whitespace, optional ";extension".
HOT_PATH util::Result<void> ResponseParser::chunk_size_line() {
  const std::string_view l = line_;
  const auto bad = [&] { return fail(fmt::format("bad chunk size \"{}\"", excerpt(l, 20))); };
  std::size_t i = 0;
  std::uint64_t size = 0;
  for (; i < l.size() && hex_value(l[i]) >= 0; ++i) {
    const auto d = static_cast<std::uint64_t>(hex_value(l[i]));
    if (size > (kMaxChunkSize - d) / 16) {
      return fail(fmt::format("chunk size \"{}\" over the limit of {} bytes", excerpt(l, 20), kMaxChunkSize));
    }
    size = size * 16 + d;
  }
  if (i == 0) return bad();
  while (i < l.size() && (l[i] == ' ' || l[i] == '\t')) ++i;
  if (i < l.size() && l[i] != ';') return bad();
  if (has_ctl_but_tab(l.substr(i))) return bad();
  if (size == 0) {
    header_count_ = 0;
    state_ = State::Trailer;
    return {};
  }
  left_ = size;
  state_ = State::ChunkData;
  return {};
}

HOT_PATH util::Result<void> ResponseParser::deliver(std::string_view& bytes, const BodySink& sink) {
  std::string_view piece = bytes;
  if (state_ != State::EofBody)
    piece = piece.substr(0, static_cast<std::size_t>(std::min<std::uint64_t>(left_, piece.size())));
  bytes.remove_prefix(piece.size());
  if (state_ != State::EofBody) left_ -= piece.size();
  if (!piece.empty() && sink && !sink(piece)) {
    stopped_ = true;
    state_ = State::Done;
    return {};
  }
  if (state_ == State::ChunkData && left_ == 0) state_ = State::ChunkEnd;
  if (state_ == State::LengthBody && left_ == 0) state_ = State::Done;
  return {};
}

}  // namespace net
