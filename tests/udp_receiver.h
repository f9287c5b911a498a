// A UDP receiver on 127.0.0.1 for the syslog relay's datagrams, shared by the unit, integration and
// benchmark programs: a socket with a receive buffer big enough for a burst, read on a thread of its own.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace testing_support {

// Datagrams the kernel has thrown away so far on this machine: the loopback's receive backlog
// (/proc/net/softnet_stat, second column, every CPU: a burst the softirq cannot keep up with on a
// loaded machine overflows net.core.netdev_max_backlog) and the UDP layer's receive errors of this
// network namespace (/proc/net/snmp Udp: InErrors). Loss that is not the sender's: a test of the relay
// accounts for it instead of blaming the executor.
inline std::uint64_t kernel_udp_drops() {
  std::uint64_t total = 0;
  std::ifstream softnet("/proc/net/softnet_stat");
  for (std::string line; std::getline(softnet, line);) {
    std::istringstream cols(line);
    std::string processed, dropped;
    if (cols >> processed >> dropped) total += std::stoull(dropped, nullptr, 16);
  }
  std::ifstream snmp("/proc/net/snmp");
  std::vector<std::string> names;
  for (std::string line; std::getline(snmp, line);) {
    if (line.rfind("Udp: ", 0) != 0) continue;
    std::istringstream cols(line.substr(5));
    std::vector<std::string> fields;
    for (std::string f; cols >> f;) fields.push_back(f);
    if (names.empty()) {
      names = fields;
      continue;
    }
    for (std::size_t i = 0; i < names.size() && i < fields.size(); ++i) {
      if (names[i] == "InErrors") total += std::stoull(fields[i]);
    }
  }
  return total;
}

class UdpReceiver {
 public:
  using Clock = std::chrono::steady_clock;
  // What the thread keeps: every datagram's bytes, or (for a benchmark's million lines) only how many
  // came and when the first and the last did.
  enum class Keep { datagrams, count };

  // `clock_from`: first() is when the datagram of that index (counted from 0) came, so that a sender's
  // opening datagrams (the relay's start marker, sent before the container starts) are not timed.
  explicit UdpReceiver(Keep keep = Keep::datagrams, int buffer_bytes = 256 << 20, std::size_t clock_from = 0)
      : keep_(keep), clock_from_(clock_from) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    REQUIRE(fd_ >= 0);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &buffer_bytes, sizeof buffer_bytes);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~UdpReceiver() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  UdpReceiver(const UdpReceiver&) = delete;
  UdpReceiver& operator=(const UdpReceiver&) = delete;

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
  // The datagrams as JSON (after settle()); throws on invalid JSON.
  std::vector<nlohmann::json> messages() {
    settle();
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<nlohmann::json> out;
    for (const auto& d : got_) out.push_back(nlohmann::json::parse(d));
    return out;
  }
  // The datagrams as received (after settle()).
  std::vector<std::string> raw() {
    settle();
    std::lock_guard<std::mutex> lock(mu_);
    return got_;
  }
  // The first datagram next() has not returned yet, waiting up to `timeout` for it.
  std::optional<std::string> next(std::chrono::milliseconds timeout = std::chrono::milliseconds(2000)) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return got_.size() > taken_; })) return std::nullopt;
    return got_[taken_++];
  }
  // How many datagrams came so far, and when the first timed one (see clock_from) and the last did
  // (both zero before any).
  std::size_t count() {
    std::lock_guard<std::mutex> lock(mu_);
    return count_;
  }
  Clock::time_point first() {
    std::lock_guard<std::mutex> lock(mu_);
    return first_;
  }
  Clock::time_point last() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_;
  }

 private:
  // Reads what is queued in batches (recvmmsg: a burst of a million small datagrams needs few calls).
  void run() {
    constexpr std::size_t kBatch = 64;
    std::vector<std::string> bufs(kBatch, std::string(70000, '\0'));  // above UDP's 65507-byte payload
    std::vector<iovec> iov(kBatch);
    std::vector<mmsghdr> msgs(kBatch);
    for (std::size_t i = 0; i < kBatch; ++i) {
      iov[i] = {bufs[i].data(), bufs[i].size()};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) != 1) continue;
      const int n = ::recvmmsg(fd_, msgs.data(), static_cast<unsigned>(kBatch), MSG_DONTWAIT, nullptr);
      if (n <= 0) continue;
      const auto now = Clock::now();
      std::lock_guard<std::mutex> lock(mu_);
      if (count_ <= clock_from_ && count_ + static_cast<std::size_t>(n) > clock_from_) first_ = now;
      last_ = now;
      count_ += static_cast<std::size_t>(n);
      if (keep_ == Keep::datagrams) {
        for (int i = 0; i < n; ++i) got_.emplace_back(bufs[i].data(), msgs[i].msg_len);
      }
      cv_.notify_all();
    }
  }

  const Keep keep_;
  const std::size_t clock_from_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> got_;
  std::size_t taken_ = 0;  // datagrams next() returned
  std::size_t count_ = 0;
  Clock::time_point first_{}, last_{};
};

// The relay's floor: the kernel's UDP path alone on this machine, with nothing else running. One
// thread sends `lines` datagrams of the relay's shape and size (Go's logrus JSON of the lines "1",
// "2", … with this host's name and a whole-second time), built beforehand, 64 per sendmmsg over a
// connected socket, to a UdpReceiver as the benchmark's; lines/s from the first to the last datagram
// received (0 when some never came), and the sending thread's CPU time. What any relay of one datagram
// per line pays here; the executor also reads the container's output from dockerd, which shares the CPUs.
struct UdpFloor {
  double lines_per_second = 0;
  double sender_cpu_ms = 0;  // the sending thread's user and system CPU over the sends
};
inline UdpFloor udp_floor_rate(long lines) {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  std::vector<std::string> datagrams;
  datagrams.reserve(static_cast<std::size_t>(lines));
  for (long i = 1; i <= lines; ++i) {
    datagrams.push_back(nlohmann::json{{"Hostname", host},
                                       {"Level", "info"},
                                       {"Payload", std::to_string(i)},
                                       {"Timestamp", "2026-12-03T15:20:00Z"}}
                            .dump() +
                        "\n");
  }
  UdpReceiver rx(UdpReceiver::Keep::count, 512 << 20);
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(rx.port()));
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  constexpr std::size_t kBatch = 64;
  std::vector<iovec> iov(kBatch);
  std::vector<mmsghdr> msgs(kBatch);
  const auto thread_cpu_ms = [] {
    timespec t{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
  };
  const double cpu_before = thread_cpu_ms();
  for (std::size_t at = 0; at < datagrams.size(); at += kBatch) {
    const std::size_t n = std::min(kBatch, datagrams.size() - at);
    for (std::size_t i = 0; i < n; ++i) {
      iov[i] = {datagrams[at + i].data(), datagrams[at + i].size()};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    for (std::size_t done = 0; done < n;) {
      const int sent = ::sendmmsg(fd, msgs.data() + done, static_cast<unsigned>(n - done), 0);
      if (sent <= 0) break;
      done += static_cast<std::size_t>(sent);
    }
  }
  UdpFloor out;
  out.sender_cpu_ms = thread_cpu_ms() - cpu_before;
  ::close(fd);
  for (int i = 0; i < 100 && static_cast<long>(rx.count()) < lines; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const double secs = std::chrono::duration<double>(rx.last() - rx.first()).count();
  if (static_cast<long>(rx.count()) == lines && secs > 0) out.lines_per_second = static_cast<double>(lines) / secs;
  return out;
}

}  // namespace testing_support
