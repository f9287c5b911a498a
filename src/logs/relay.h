// The syslog relay: container output split into lines, each sent as one UDP datagram holding a JSON
// object {Timestamp, Level, Payload, Hostname, <labels>} (the Go executor's fields). Never blocks the
// task and never queues: a datagram the socket cannot take at once is dropped and counted. Lines
// longer than kMaxPayload bytes are sent in pieces of that size, in order; invalid UTF-8 is replaced
// by U+FFFD so that every datagram is valid JSON.
#pragma once

#include <netinet/in.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace logs {

// Largest line piece per datagram, in bytes of the original line: escaped (at most 6 bytes per
// byte) it still fits a UDP datagram with the other fields.
inline constexpr std::size_t kMaxPayload = 8192;

struct RelayOptions {
  std::string address = "127.0.0.1:514";  // EXECUTOR_SYSLOG_ADDR
  std::string hostname;                   // EXECUTOR_LOG_HOSTNAME
  std::map<std::string, std::string> labels;  // the EXECUTOR_SEND_DOCKER_LABELS the container has
  bool copy_to_stdout = false;                // EXECUTOR_CONTAINER_LOGS_STDOUT
  int stdout_fd = 1;
};

// Splits a byte stream into lines ("\n" ends a line, "\r\n" too); pieces longer than kMaxPayload
// are cut. `flush` gives out a last line without its newline.
class LineSplitter {
 public:
  explicit LineSplitter(std::function<void(std::string_view)> on_line) : on_line_(std::move(on_line)) {}
  void feed(std::string_view data);
  void flush();

 private:
  std::function<void(std::string_view)> on_line_;
  std::string partial_;
};

// "info" for stdout; for stderr "error" when the line says "error" in any case, else "info".
const char* level_for(bool is_stderr, std::string_view line);

// `text` as the inside of a JSON string: quotes, backslashes and control bytes escaped, invalid UTF-8
// replaced by U+FFFD.
void append_json_escaped(std::string& out, std::string_view text);

// One datagram's JSON text.
std::string datagram(std::string_view timestamp, const char* level, std::string_view payload,
                     const RelayOptions& opts);

class Relay {
 public:
  static util::Result<std::unique_ptr<Relay>> open(RelayOptions opts);
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // Output of the container as it comes, per stream. Complete lines are batched: they go out when
  // 64 are ready or at `send_pending`.
  void feed(bool is_stderr, std::string_view data);
  // Sends the batched lines (call when no more input is at hand).
  void send_pending() { send_batch(); }
  // Also gives out partial last lines, and sends.
  void flush();

  std::uint64_t sent() const { return sent_; }
  std::uint64_t dropped() const { return dropped_; }

 private:
  Relay(RelayOptions opts, int fd, sockaddr_storage addr, socklen_t len);
  void send_line(bool is_stderr, std::string_view line);
  void send_batch();  // one sendmmsg for the datagrams gathered by a feed
  const std::string& timestamp();


  RelayOptions opts_;
  int fd_;
  sockaddr_storage addr_;
  socklen_t addr_len_;
  LineSplitter out_, err_;
  std::atomic<std::uint64_t> sent_{0}, dropped_{0};
  std::string tail_;  // ","Hostname":…,<labels>} — the same for every datagram
  std::vector<std::string> batch_;
  std::size_t batch_used_ = 0;
  std::int64_t ts_second_ = -1;
  std::string ts_prefix_, ts_;
};

}  // namespace logs
