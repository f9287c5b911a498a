// A UDP receiver on 127.0.0.1 for the syslog relay's datagrams.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace testing_support {

// Collects datagrams on a thread of its own, with a socket buffer big enough for a burst.
class UdpReceiver {
 public:
  UdpReceiver() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    const int big = 256 << 20;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      std::string buf(70000, '\0');
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 100) != 1) continue;
        const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
        if (n <= 0) continue;
        std::lock_guard<std::mutex> lock(mu_);
        got_.emplace_back(buf.data(), static_cast<std::size_t>(n));
      }
    });
  }
  ~UdpReceiver() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }
  // Everything already sent has been read: the socket's queue stays empty (bounded wait; a loaded
  // machine can leave thousands of datagrams queued after the sender is gone).
  void settle() {
    int quiet = 0;
    for (int i = 0; i < 600 && quiet < 3; ++i) {
      int queued = 0;
      ::ioctl(fd_, FIONREAD, &queued);
      quiet = queued == 0 ? quiet + 1 : 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  std::vector<nlohmann::json> messages() {
    settle();
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<nlohmann::json> out;
    for (const auto& d : got_) out.push_back(nlohmann::json::parse(d));  // throws on invalid JSON
    return out;
  }
  // The datagrams as received (after settle()).
  std::vector<std::string> raw() {
    settle();
    std::lock_guard<std::mutex> lock(mu_);
    return got_;
  }
  std::size_t count() {
    std::lock_guard<std::mutex> lock(mu_);
    return got_.size();
  }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> got_;
};

}  // namespace testing_support
