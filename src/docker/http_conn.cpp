// HTTP/1.1 over AF_UNIX.
#include "docker/http_conn.h"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

namespace docker {
namespace {

using Clock = std::chrono::steady_clock;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

constexpr std::size_t kMaxHeader = 64 * 1024;
constexpr std::size_t kMaxErrorBody = 64 * 1024;

// Reads with a silence limit; 0 bytes = EOF.
util::Result<std::size_t> read_some(int fd, char* buf, std::size_t n, std::chrono::milliseconds silence) {
  pollfd p{fd, POLLIN, 0};
  const int r = ::poll(&p, 1, static_cast<int>(silence.count()));
  if (r == 0) return util::make_error(fmt::format("no data for {} ms", silence.count()));
  if (r < 0) return util::make_error(fmt::format("poll: {}", std::strerror(errno)));
  const ssize_t got = ::read(fd, buf, n);
  if (got < 0) return util::make_error(fmt::format("read: {}", std::strerror(errno)));
  return static_cast<std::size_t>(got);
}

// Buffered reader over the socket.
class Reader {
 public:
  Reader(int fd, std::chrono::milliseconds silence) : fd_(fd), silence_(silence) {}

  util::Result<bool> fill() {  // false on EOF
    char buf[16384];
    auto got = read_some(fd_, buf, sizeof buf, silence_);
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
  int fd_;
  std::chrono::milliseconds silence_;
  std::string data_;
  std::size_t off_ = 0;
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

util::Result<int> connect_unix(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return util::make_error(fmt::format("socket path too long: {}", path));
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return util::make_error(fmt::format("socket: {}", std::strerror(errno)));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int e = errno;
    ::close(fd);
    return util::make_error(fmt::format("connect to {}: {}", path, std::strerror(e)));
  }
  return fd;
}

util::Result<void> write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return util::make_error(fmt::format("write: {}", std::strerror(errno)));
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

}  // namespace

util::Result<HttpResponse> UnixHttpClient::send(const HttpRequest& req) const {
  std::string body;
  auto res = stream(req, [&](std::string_view piece) {
    body.append(piece);
    return true;
  });
  if (!res) return res.error();
  if (res->status < 300) res->body = std::move(body);
  return res;
}

util::Result<HttpResponse> UnixHttpClient::stream(const HttpRequest& req,
                                                  const std::function<bool(std::string_view)>& on_data) const {
  const auto where = [&](const std::string& what) {
    return util::make_error(fmt::format("{} {}: {}", req.method, req.path, what));
  };
  auto fd_or = connect_unix(socket_path_);
  if (!fd_or) return where(fd_or.error().message);
  Fd fd(*fd_or);

  std::string head = fmt::format("{} {} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n", req.method, req.path);
  for (const auto& [k, v] : req.headers) head += fmt::format("{}: {}\r\n", k, v);
  if (!req.body.empty() || req.method == "POST" || req.method == "PUT") {
    head += fmt::format("Content-Length: {}\r\n", req.body.size());
  }
  head += "\r\n";
  if (auto w = write_all(fd.get(), head); !w) return where(w.error().message);
  if (auto w = write_all(fd.get(), req.body); !w) return where(w.error().message);

  Reader in(fd.get(), req.timeout);
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
