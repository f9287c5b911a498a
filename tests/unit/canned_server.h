// A one-connection HTTP server on a unix socket for client tests: records the request, answers
// with canned bytes (optionally in pieces with pauses), closes.
#pragma once

#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace testing_support {

// Accepts one connection, records the request head, writes `pieces` with small pauses, closes.
class CannedServer {
 public:
  explicit CannedServer(std::vector<std::string> pieces,
                        std::chrono::milliseconds pause = std::chrono::milliseconds(0)) {
    path_ = "/tmp/sidecar-executor-http-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++) + ".sock";
    ::unlink(path_.c_str());
    fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 4) == 0);
    thread_ = std::thread([this, pieces = std::move(pieces), pause] {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[4096];
      // Read the whole request, body included, as dockerd does: closing with unread bytes would
      // make the kernel reset the connection under the client.
      auto complete = [this] {
        const auto end = request_.find("\r\n\r\n");
        if (end == std::string::npos) return false;
        std::size_t length = 0;
        if (auto cl = request_.find("Content-Length: "); cl != std::string::npos && cl < end) {
          length = std::stoul(request_.substr(cl + 16));
        }
        return request_.size() >= end + 4 + length;
      };
      while (!complete()) {
        const ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        request_.append(buf, static_cast<std::size_t>(n));
      }
      for (const auto& p : pieces) {
        if (::write(c, p.data(), p.size()) < 0) break;
        std::this_thread::sleep_for(pause);
      }
      ::close(c);
    });
  }
  ~CannedServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
    ::unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }
  std::string request() {
    thread_.join();
    thread_ = std::thread([] {});
    return request_;
  }

 private:
  static inline int counter_ = 0;
  std::string path_;
  int fd_ = -1;
  std::thread thread_;
  std::string request_;
};

}  // namespace testing_support
