// HTTP/1.1 over AF_UNIX, TCP or TLS.
#include "docker/http_conn.h"

#include <fmt/format.h>
#include <fcntl.h>
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
#include <cctype>
#include <cerrno>
#include <cstring>

namespace docker {

struct HttpClient::Tls {
  SSL_CTX* ctx = nullptr;
  ~Tls() {
    if (ctx) SSL_CTX_free(ctx);
  }
};

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxHeader = 64 * 1024;
constexpr std::size_t kMaxErrorBody = 64 * 1024;
constexpr std::chrono::milliseconds kCancelCheck{200};

std::string openssl_error() {
  const unsigned long e = ERR_get_error();
  if (e == 0) return "unknown TLS error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

// One connection: a socket, maybe wrapped in TLS. Reads wait with a silence limit and a cancel flag.
class Conn {
 public:
  Conn() = default;
  ~Conn() {
    if (ssl_) {
      SSL_shutdown(ssl_);
      SSL_free(ssl_);
    }
    if (fd_ >= 0) ::close(fd_);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  util::Result<void> open(const Endpoint& ep, SSL_CTX* ctx, std::chrono::milliseconds timeout) {
    if (!ep.unix_path.empty()) return open_unix(ep.unix_path);
    if (auto r = open_tcp(ep.host, ep.port, timeout); !r) return r;
    if (!ep.tls) return {};
    ssl_ = SSL_new(ctx);
    if (!ssl_) return util::make_error(fmt::format("TLS: {}", openssl_error()));
    SSL_set_fd(ssl_, fd_);
    SSL_ctrl(ssl_, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(ep.host.c_str()));
    SSL_set1_host(ssl_, ep.host.c_str());
    set_socket_timeouts(timeout);  // bounds the blocking handshake
    if (SSL_connect(ssl_) != 1) {
      const long verify = SSL_get_verify_result(ssl_);
      if (verify != X509_V_OK) {
        return util::make_error(fmt::format("TLS handshake with {}:{}: {}", ep.host, ep.port,
                                            X509_verify_cert_error_string(verify)));
      }
      return util::make_error(fmt::format("TLS handshake with {}:{}: {}", ep.host, ep.port, openssl_error()));
    }
    set_socket_timeouts(std::chrono::milliseconds(0));
    return {};
  }

  util::Result<void> write_all(std::string_view data) {
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

  // Reads with a silence limit (zero: none) and a cancel flag; 0 bytes = EOF.
  util::Result<std::size_t> read_some(char* buf, std::size_t n, std::chrono::milliseconds silence,
                                      const util::CancelFlag* cancel) {
    const auto deadline = Clock::now() + silence;
    while (!(ssl_ && SSL_pending(ssl_) > 0)) {
      if (cancel && cancel->is_set()) return util::make_error("cancelled");
      std::chrono::milliseconds wait = silence.count() > 0
                                           ? std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now())
                                           : std::chrono::milliseconds(-1);
      if (silence.count() > 0 && wait.count() <= 0) {
        return util::make_error(fmt::format("no data for {} ms", silence.count()));
      }
      // The cancel flag's eventfd wakes the poll; without one, the flag is checked on a timer.
      const bool cancel_fd = cancel && cancel->fd() >= 0;
      if (cancel && !cancel_fd && (wait.count() < 0 || wait > kCancelCheck)) wait = kCancelCheck;
      pollfd p[2] = {{fd_, POLLIN, 0}, {cancel_fd ? cancel->fd() : -1, POLLIN, 0}};
      const int r = ::poll(p, cancel_fd ? 2 : 1, static_cast<int>(wait.count()));
      if (r < 0) {
        if (errno == EINTR) continue;
        return util::make_error(fmt::format("poll: {}", std::strerror(errno)));
      }
      if (cancel_fd && p[1].revents != 0) return util::make_error("cancelled");
      if (r > 0) break;
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

  util::Result<void> open_tcp(const std::string& host, int port, std::chrono::milliseconds timeout) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* list = nullptr;
    const std::string service = std::to_string(port);
    if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &list); rc != 0) {
      return util::make_error(fmt::format("resolve {}: {}", host, gai_strerror(rc)));
    }
    std::string last = "no address";
    for (addrinfo* a = list; a; a = a->ai_next) {
      const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
      if (fd < 0) continue;
      int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
      if (rc != 0 && errno == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        rc = ::poll(&p, 1, timeout.count() > 0 ? static_cast<int>(timeout.count()) : -1);
        int soerr = 0;
        socklen_t len = sizeof soerr;
        if (rc == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr == 0) {
          rc = 0;
        } else {
          last = rc == 0 ? "timed out" : std::strerror(soerr ? soerr : errno);
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
        ::freeaddrinfo(list);
        return {};
      }
      ::close(fd);
    }
    ::freeaddrinfo(list);
    return util::make_error(fmt::format("connect to {}:{}: {}", host, port, last));
  }

  void set_socket_timeouts(std::chrono::milliseconds t) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(t.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((t.count() % 1000) * 1000);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }

  int fd_ = -1;
  SSL* ssl_ = nullptr;
};

// Buffered reader over a connection.
class Reader {
 public:
  Reader(Conn& conn, std::chrono::milliseconds silence, const util::CancelFlag* cancel, std::function<void()> on_idle)
      : conn_(conn), silence_(silence), cancel_(cancel), on_idle_(std::move(on_idle)) {}

  util::Result<bool> fill() {  // false on EOF
    if (on_idle_) on_idle_();
    char buf[65536];
    auto got = conn_.read_some(buf, sizeof buf, silence_, cancel_);
    if (!got) return got.error();
    if (*got == 0) return false;
    data_.append(buf, *got);
    return true;
  }
  util::Result<std::string> line() {
    while (true) {
      auto pos = data_.find("\r\n", off_);
      if (pos != std::string::npos) {
        std::string l = data_.substr(off_, pos - off_);
        off_ = pos + 2;
        compact();
        return l;
      }
      if (data_.size() - off_ > kMaxHeader) return util::make_error("header line too long");
      auto more = fill();
      if (!more) return more.error();
      if (!*more) return util::make_error("connection closed in the middle of a header");
    }
  }
  // Up to `max` buffered or freshly read bytes; empty on EOF.
  util::Result<std::string> some(std::size_t max) {
    if (off_ == data_.size()) {
      auto more = fill();
      if (!more) return more.error();
      if (!*more) return std::string();
    }
    const std::size_t take = std::min(max, data_.size() - off_);
    std::string out = data_.substr(off_, take);
    off_ += take;
    compact();
    return out;
  }

 private:
  void compact() {
    if (off_ > 65536) {
      data_.erase(0, off_);
      off_ = 0;
    }
  }
  Conn& conn_;
  std::chrono::milliseconds silence_;
  const util::CancelFlag* cancel_;
  std::function<void()> on_idle_;
  std::string data_;
  std::size_t off_ = 0;
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

std::string Endpoint::describe() const {
  if (!unix_path.empty()) return "unix://" + unix_path;
  return fmt::format("tcp://{}:{}{}", host, port, tls ? " (TLS)" : "");
}

HttpClient::HttpClient(Endpoint endpoint) : endpoint_(std::move(endpoint)) {
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

util::Result<HttpResponse> HttpClient::send(const HttpRequest& req) const {
  std::string body;
  auto res = stream(req, [&](std::string_view piece) {
    body.append(piece);
    return true;
  });
  if (!res) return res.error();
  if (res->status < 300) res->body = std::move(body);
  return res;
}

util::Result<HttpResponse> HttpClient::stream(const HttpRequest& req,
                                                  const std::function<bool(std::string_view)>& on_data) const {
  const auto where = [&](const std::string& what) {
    return util::make_error(fmt::format("{} {}: {}", req.method, req.path, what));
  };
  if (!setup_error_.empty()) return where(setup_error_);
  Conn conn;
  if (auto o = conn.open(endpoint_, tls_ ? tls_->ctx : nullptr, req.timeout); !o) return where(o.error().message);

  const std::string host = endpoint_.unix_path.empty() ? fmt::format("{}:{}", endpoint_.host, endpoint_.port) : "docker";
  std::string head = fmt::format("{} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n", req.method, req.path, host);
  for (const auto& [k, v] : req.headers) head += fmt::format("{}: {}\r\n", k, v);
  if (!req.body.empty() || req.method == "POST" || req.method == "PUT") {
    head += fmt::format("Content-Length: {}\r\n", req.body.size());
  }
  head += "\r\n";
  if (auto w = conn.write_all(head); !w) return where(w.error().message);
  if (auto w = conn.write_all(req.body); !w) return where(w.error().message);

  Reader in(conn, req.timeout, req.cancel, req.on_idle);
  HttpResponse res;
  auto status_line = in.line();
  if (!status_line) return where(status_line.error().message);
  if (status_line->rfind("HTTP/1.", 0) != 0 || status_line->size() < 12) {
    return where(fmt::format("not an HTTP response: \"{}\"", status_line->substr(0, 80)));
  }
  res.status = std::atoi(status_line->c_str() + 9);
  while (true) {
    auto l = in.line();
    if (!l) return where(l.error().message);
    if (l->empty()) break;
    const auto colon = l->find(':');
    if (colon == std::string::npos) continue;
    std::string value = l->substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    res.headers[lower(l->substr(0, colon))] = value;
  }
  const bool ok = res.status < 300;
  auto deliver = [&](std::string_view piece) {
    if (ok) return on_data(piece);
    if (res.body.size() < kMaxErrorBody) res.body.append(piece.substr(0, kMaxErrorBody - res.body.size()));
    return true;
  };
  if (res.status == 204 || res.status == 304) return res;

  const bool chunked = lower(res.headers["transfer-encoding"]).find("chunked") != std::string::npos;
  if (chunked) {
    while (true) {
      auto size_line = in.line();
      if (!size_line) return where(size_line.error().message);
      std::size_t size = 0;
      try {
        size = std::stoul(*size_line, nullptr, 16);
      } catch (...) {
        return where(fmt::format("bad chunk size \"{}\"", size_line->substr(0, 20)));
      }
      if (size == 0) break;
      while (size > 0) {
        auto piece = in.some(size);
        if (!piece) return where(piece.error().message);
        if (piece->empty()) return where("connection closed in the middle of a chunk");
        size -= piece->size();
        if (!deliver(*piece)) return res;
      }
      auto crlf = in.line();
      if (!crlf) return where(crlf.error().message);
    }
    return res;
  }
  if (auto it = res.headers.find("content-length"); it != res.headers.end()) {
    std::size_t left = std::strtoull(it->second.c_str(), nullptr, 10);
    while (left > 0) {
      auto piece = in.some(left);
      if (!piece) return where(piece.error().message);
      if (piece->empty()) return where("connection closed before the end of the body");
      left -= piece->size();
      if (!deliver(*piece)) return res;
    }
    return res;
  }
  while (true) {  // body until EOF
    auto piece = in.some(65536);
    if (!piece) return where(piece.error().message);
    if (piece->empty()) return res;
    if (!deliver(*piece)) return res;
  }
}

}  // namespace docker
