// A unix-socket proxy in front of the real dockerd that takes one route away: requests whose request
// line contains `route` are answered 500 (Mode::refuse) or never answered (Mode::hang); everything else
// goes through byte for byte. For tests of the runtime's fallbacks against the real daemon.
// Mode::cut_at_end and Mode::cut_now shorten the first such answer instead: once `budget` body bytes
// went through (a chunked stream, as the followed log stream is: whole chunks), the rest is held back;
// cut_at_end ends the answer cleanly (the last chunk) when the daemon ends it, as Docker 20.10 ends a
// followed log stream at a container's exit before its tail; cut_now ends it cleanly at once. An answer
// read to the connection's end (the attached output stream) is cut after exactly `budget` bytes and
// its connection closed. Later requests on the route go through. Requests on `refused`, when set, are
// answered 500 in every mode but pass. Mode::pass takes no route: every request goes through, and for each
// the proxy keeps its request line, when its head was in and when the daemon's answer began (for the
// benchmark: Docker's own share of a launch). Mode::lose_answer takes the first request on the route
// through to the daemon and, once the daemon's answer begins, closes the client's connection without
// any of it: the request was carried out, its answer lost (later ones go through).
#pragma once

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace testing_support {

class DockerProxy {
 public:
  enum class Mode { refuse, hang, cut_at_end, cut_now, pass, lose_answer };
  struct Exchange {
    std::string line;  // the request line
    std::chrono::steady_clock::time_point request_at, answer_at;
  };

  DockerProxy(std::string upstream, std::string route, Mode mode, std::size_t budget = 0, std::string refused = "")
      : upstream_(std::move(upstream)),
        route_(std::move(route)),
        refused_(std::move(refused)),
        mode_(mode),
        budget_(budget) {
    static std::atomic<int> counter{0};
    path_ = "/tmp/sidecar-executor-proxy-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".sock";
    ::unlink(path_.c_str());
    fd_ = listen_on(path_);
    if (mode_ == Mode::pass) {
      // Timing: a pool of threads waiting in accept(), so that no thread is created on a request's
      // path (the proxy's own cost is paid by every request; kept as small as it can be here).
      for (int i = 0; i < kPassThreads; ++i) {
        pool_.emplace_back([this] {
          while (!stop_) {
            const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) return;
            serve(c);
            ::close(c);
          }
        });
      }
    } else {
      acceptor_ = std::thread([this] { accept_loop(); });
    }
  }
  ~DockerProxy() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    if (acceptor_.joinable()) acceptor_.join();
    for (auto& t : pool_) t.join();
    for (auto& conn : conns_) conn.thread.join();
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  DockerProxy(const DockerProxy&) = delete;
  DockerProxy& operator=(const DockerProxy&) = delete;

  const std::string& path() const { return path_; }
  // Docker's log stamped `d` late: every time in the container's log read with timestamps
  // (multiplexed, chunked) is made `d` later, and a read from a time (`since=`) asked from `d` earlier.
  // A loaded daemon's log copier stamps a line when it takes it from its buffer, which can be after the
  // attach has handed the same line out.
  void stamp_late(std::chrono::milliseconds d) { late_ns_ = std::chrono::nanoseconds(d).count(); }
  int restamped() const { return restamped_; }
  // How many requests on the taken route came; on the refused one.
  int taken() const { return taken_; }
  int refused() const { return refused_count_; }
  // Mode::pass: the requests whose answers have begun, in that order.
  std::vector<Exchange> exchanges() {
    std::lock_guard<std::mutex> lock(mu_);
    return exchanges_;
  }

 private:
  static int listen_on(const std::string& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd, 16) == 0);
    return fd;
  }
  static int connect_to(const std::string& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  }
  // Waits for `fd` to be readable, giving up when the proxy stops; false then.
  bool readable(int fd) {
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) > 0) return true;
    }
    return false;
  }

  void accept_loop() {
    while (!stop_) {
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      std::lock_guard<std::mutex> lock(mu_);
      // Threads whose connection has ended are joined as new ones come: a proxy serving hundreds of
      // connections (the benchmark) keeps no stacks of finished ones mapped in the test's process.
      for (auto it = conns_.begin(); it != conns_.end();) {
        if (*it->done) {
          it->thread.join();
          it = conns_.erase(it);
        } else {
          ++it;
        }
      }
      auto done = std::make_shared<std::atomic<bool>>(false);
      conns_.push_back({std::thread([this, c, done] {
                          serve(c);
                          ::close(c);
                          *done = true;
                        }),
                        done});
    }
  }

  void serve(int c) {
    std::string head;
    char buf[65536];
    while (head.find("\r\n\r\n") == std::string::npos) {
      if (!readable(c)) return;
      const ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) return;
      head.append(buf, static_cast<std::size_t>(n));
    }
    const auto request_at = std::chrono::steady_clock::now();
    if (late_ns_ > 0) since_earlier(head);
    const std::string line = head.substr(0, head.find("\r\n"));
    const bool pass = mode_ == Mode::pass;
    bool answered = !pass;  // only Mode::pass keeps the exchanges
    if (!pass && !refused_.empty() && line.find(refused_) != std::string::npos) {
      ++refused_count_;
      refuse(c);
      return;
    }
    bool cut = false;
    bool lose = false;
    if (pass) {
      // through, timed
    } else if (line.find(route_) != std::string::npos && (mode_ == Mode::cut_at_end || mode_ == Mode::cut_now)) {
      cut = ++taken_ == 1;
    } else if (line.find(route_) != std::string::npos && mode_ == Mode::lose_answer) {
      lose = ++taken_ == 1;
    } else if (line.find(route_) != std::string::npos) {
      ++taken_;
      if (mode_ == Mode::refuse) {
        refuse(c);
        return;
      }
      while (readable(c)) {  // hang: until the client or the proxy gives up
        if (::read(c, buf, sizeof buf) <= 0) return;
      }
      return;
    }
    const int u = connect_to(upstream_);
    if (u < 0) return;
    bool ok = ::write(u, head.data(), head.size()) == static_cast<ssize_t>(head.size());
    if (ok && lose) {
      serve_lost(c, u);
      ::close(u);
      return;
    }
    if (ok && cut) {
      serve_cut(c, u);
      ::close(u);
      return;
    }
    if (ok && late_ns_ > 0 && line.find("/logs?") != std::string::npos &&
        line.find("timestamps=1") != std::string::npos) {
      serve_stamped_late(c, u);
      ::close(u);
      return;
    }
    while (ok && !stop_) {
      pollfd p[2] = {{c, POLLIN, 0}, {u, POLLIN, 0}};
      if (::poll(p, 2, 100) <= 0) continue;
      for (int i = 0; i < 2 && ok; ++i) {
        if (p[i].revents == 0) continue;
        const ssize_t n = ::read(p[i].fd, buf, sizeof buf);
        if (n <= 0) {
          ok = false;
          break;
        }
        if (i == 1 && !answered) {
          answered = true;
          const auto answer_at = std::chrono::steady_clock::now();  // before the lock: no wait counted
          std::lock_guard<std::mutex> lock(mu_);
          exchanges_.push_back({line, request_at, answer_at});
        }
        const int to = i == 0 ? u : c;
        ok = ::write(to, buf, static_cast<std::size_t>(n)) == n;
      }
    }
    ::close(u);
  }

  // The rest of the request goes to the daemon; its answer, once it begins, goes nowhere.
  void serve_lost(int c, int u) {
    char buf[65536];
    while (!stop_) {
      pollfd p[2] = {{c, POLLIN, 0}, {u, POLLIN, 0}};
      if (::poll(p, 2, 100) <= 0) continue;
      if (p[1].revents != 0) return;  // the daemon answers: it has carried the request out
      const ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0 || !write_all(u, std::string_view(buf, static_cast<std::size_t>(n)))) return;
    }
  }

  static void refuse(int c) {
    const std::string body = R"({"message":"taken away by the test proxy"})";
    const std::string answer =
        "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    write_all(c, answer);
  }

  static bool write_all(int fd, std::string_view data) {
    return ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
  }

  // "GET /…/logs?…&since=S.N" → since late_ns_ earlier.
  void since_earlier(std::string& head) {
    const std::size_t eol = head.find("\r\n");
    const std::size_t logs = head.find("/logs?");
    if (logs == std::string::npos || logs > eol) return;
    std::size_t at = head.find("since=", logs);
    if (at == std::string::npos || at > eol) return;
    at += 6;
    const std::size_t stop = head.find_first_not_of("0123456789.", at);
    const std::string value = head.substr(at, stop - at);
    const std::size_t dot = value.find('.');
    if (dot == std::string::npos || value.size() - dot - 1 != 9) return;
    const long long ns =
        std::stoll(value.substr(0, dot)) * 1'000'000'000LL + std::stoll(value.substr(dot + 1)) - late_ns_;
    head.replace(at, stop - at, fmt::format("{}.{:09}", ns / 1'000'000'000LL, ns % 1'000'000'000LL));
  }

  // "2026-12-03T11:21:08.105773915Z " (zero to nine fraction digits) → that time plus late_ns_, with
  // nine digits; anything else as it is.
  std::string later(const std::string& stamp) {
    std::tm tm{};
    int frac_at = 0;
    if (stamp.size() < 21 || std::sscanf(stamp.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
                                         &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &frac_at) != 6) {
      return stamp;
    }
    long long nanos = 0;
    int digits = 0;
    std::size_t at = static_cast<std::size_t>(frac_at);
    if (stamp[at] == '.') {
      for (++at; at < stamp.size() && std::isdigit(static_cast<unsigned char>(stamp[at])); ++at, ++digits) {
        nanos = nanos * 10 + (stamp[at] - '0');
      }
    }
    if (stamp.substr(at) != "Z ") return stamp;
    for (; digits < 9; ++digits) nanos *= 10;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    const long long total = static_cast<long long>(::timegm(&tm)) * 1'000'000'000LL + nanos + late_ns_;
    const std::time_t secs = static_cast<std::time_t>(total / 1'000'000'000LL);
    std::tm out{};
    ::gmtime_r(&secs, &out);
    ++restamped_;
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z ", out.tm_year + 1900, out.tm_mon + 1, out.tm_mday,
                       out.tm_hour, out.tm_min, out.tm_sec, total % 1'000'000'000LL);
  }

  // The daemon's chunked, multiplexed log answer with each frame's time made late_ns_ later (the
  // frame's length told again), until either side ends.
  void serve_stamped_late(int c, int u) {
    std::string in, frames;  // from the daemon; the body's frames not yet whole
    bool head_done = false;
    char buf[65536];
    while (!stop_) {
      pollfd p[2] = {{c, POLLIN, 0}, {u, POLLIN, 0}};
      if (::poll(p, 2, 100) <= 0) continue;
      if (p[0].revents != 0) return;  // the client closed (or sent what a log read never sends)
      const ssize_t n = ::read(u, buf, sizeof buf);
      if (n <= 0) return;
      in.append(buf, static_cast<std::size_t>(n));
      if (!head_done) {
        const auto end = in.find("\r\n\r\n");
        if (end == std::string::npos) continue;
        head_done = true;
        const bool chunked = in.substr(0, end).find("Transfer-Encoding: chunked") != std::string::npos;
        if (!write_all(c, std::string_view(in).substr(0, end + 4))) return;
        in.erase(0, end + 4);
        if (!chunked) {  // not what this test double knows: passed through as it is
          write_all(c, in);
          in.clear();
          while (!stop_) {
            const ssize_t m = ::read(u, buf, sizeof buf);
            if (m <= 0 || !write_all(c, std::string_view(buf, static_cast<std::size_t>(m)))) return;
          }
          return;
        }
      }
      while (true) {  // whole chunks: "<hex size>\r\n<data>\r\n"
        const auto eol = in.find("\r\n");
        if (eol == std::string::npos) break;
        std::size_t size = 0;
        if (std::sscanf(in.substr(0, eol).c_str(), "%zx", &size) != 1) return;  // not a chunk: the answer ends
        if (in.size() < eol + 2 + size + 2) break;
        if (size == 0) {
          write_all(c, "0\r\n\r\n");
          return;
        }
        frames.append(in, eol + 2, size);
        in.erase(0, eol + 2 + size + 2);
      }
      std::string out;
      while (frames.size() >= 8) {  // [stream, 0, 0, 0, length (4 bytes, big-endian)] payload
        const auto* h = reinterpret_cast<const unsigned char*>(frames.data());
        const std::size_t len = (std::size_t{h[4]} << 24) | (std::size_t{h[5]} << 16) | (std::size_t{h[6]} << 8) | h[7];
        if (frames.size() < 8 + len) break;
        std::string payload = frames.substr(8, len);
        const std::size_t space = payload.find(' ');
        if (space != std::string::npos) payload = later(payload.substr(0, space + 1)) + payload.substr(space + 1);
        const std::size_t l = payload.size();
        out += frames.substr(0, 4);
        out += static_cast<char>((l >> 24) & 0xff);
        out += static_cast<char>((l >> 16) & 0xff);
        out += static_cast<char>((l >> 8) & 0xff);
        out += static_cast<char>(l & 0xff);
        out += payload;
        frames.erase(0, 8 + len);
      }
      if (!out.empty() && !write_all(c, fmt::format("{:x}\r\n", out.size()) + out + "\r\n")) return;
    }
  }

  // The daemon's answer to the client until `budget_` body bytes went through, then held back (see Mode).
  void serve_cut(int c, int u) {
    std::string in;  // from the daemon, not yet passed on or dropped
    bool head_done = false, chunked = false, held = false;
    std::size_t passed = 0;
    char buf[65536];
    while (!stop_) {
      if (held && mode_ == Mode::cut_now) break;
      pollfd p{u, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const ssize_t n = ::read(u, buf, sizeof buf);
      if (n <= 0) break;  // the daemon ended its answer
      in.append(buf, static_cast<std::size_t>(n));
      if (!head_done) {
        const auto end = in.find("\r\n\r\n");
        if (end == std::string::npos) continue;
        head_done = true;
        chunked = in.substr(0, end).find("Transfer-Encoding: chunked") != std::string::npos;
        if (!write_all(c, std::string_view(in).substr(0, end + 4))) return;
        in.erase(0, end + 4);
      }
      if (!chunked) {  // read to the end: exactly `budget` bytes, then the rest held back
        if (!held) {
          const std::size_t part = std::min(in.size(), budget_ - passed);
          if (!write_all(c, std::string_view(in).substr(0, part))) return;
          passed += part;
          held = passed >= budget_;
        }
        in.clear();
        continue;
      }
      while (true) {  // whole chunks: "<hex size>\r\n<data>\r\n"
        const auto eol = in.find("\r\n");
        if (eol == std::string::npos) break;
        const std::size_t size = std::stoul(in.substr(0, eol), nullptr, 16);
        if (in.size() < eol + 2 + size + 2) break;
        if (size == 0) {  // the daemon's last chunk: written below
          in.clear();
          break;
        }
        if (!held) {
          if (!write_all(c, std::string_view(in).substr(0, eol + 2 + size + 2))) return;
          passed += size;
          held = passed >= budget_;
        }
        in.erase(0, eol + 2 + size + 2);
      }
    }
    if (chunked) write_all(c, "0\r\n\r\n");
  }

  std::string upstream_, route_, refused_, path_;
  Mode mode_;
  std::size_t budget_ = 0;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<int> taken_{0}, refused_count_{0}, restamped_{0};
  std::atomic<long long> late_ns_{0};
  std::mutex mu_;
  struct Conn {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::list<Conn> conns_;
  // Mode::pass: as many connections at once as the benchmark has (an executor holds two streams).
  static constexpr int kPassThreads = 16;
  std::vector<std::thread> pool_;
  std::vector<Exchange> exchanges_;
  std::thread acceptor_;
};

}  // namespace testing_support
