// The syslog relay: container output split into lines, each sent as one UDP datagram holding the JSON
// object the Go executor sends (logrus's JSONFormatter with Timestamp/Level/Payload keys, see
// relay.cpp): sorted keys, string values, Go's escaping, whole-second local RFC 3339 time and one
// trailing newline. The first datagram says "sidecar-executor starting log pump for '<id12>'".
// Never blocks the task and never queues: a datagram the socket cannot take at once is dropped and
// counted. Where Go loses data we do not: a line longer than kMaxLine bytes is sent in pieces of that
// size (Go's line scanner stops the pump), and a datagram too big for UDP is sent as several, the
// payload cut on character boundaries (Go's write fails and the line is lost).
#pragma once

#include <netinet/in.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace logs {

// Longest line handed out whole by LineSplitter: the token limit of Go's bufio.Scanner
// (bufio.MaxScanTokenSize), so that every line Go relays comes out as one piece here too.
inline constexpr std::size_t kMaxLine = 64 * 1024;
// Largest UDP payload over IPv4 (65535 - 20 - 8): a bigger datagram cannot be sent at all.
inline constexpr std::size_t kMaxDatagram = 65507;

struct RelayOptions {
  std::string address = "127.0.0.1:514";      // EXECUTOR_SYSLOG_ADDR
  std::string hostname;                       // EXECUTOR_LOG_HOSTNAME
  std::map<std::string, std::string> labels;  // the EXECUTOR_SEND_DOCKER_LABELS the container has
  std::string container_id;                   // names the first datagram (its first 12 characters)
  bool copy_to_stdout = false;                // EXECUTOR_CONTAINER_LOGS_STDOUT
  int stdout_fd = 1;
};

// Splits a byte stream into lines ("\n" ends a line, "\r\n" too); pieces longer than kMaxLine are
// cut. `flush` gives out a last line without its newline (a trailing "\r" dropped, as Go's does).
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

// `text` as the inside of a JSON string, escaped as Go's encoding/json does with HTML escaping on:
// `"` `\` \n \r \t as two characters, other control bytes and < > & as \u00XX, U+2028/U+2029 as
// \u2028/\u2029, each byte that is not part of well-formed UTF-8 as \ufffd; everything else as is.
void append_json_escaped(std::string& out, std::string_view text);

// How many leading bytes of `text` (whole characters, at least one) fit `budget` bytes once escaped.
std::size_t escaped_prefix(std::string_view text, std::size_t budget);

// `t` as Go's time.RFC3339 in the local zone (TZ): 2026-12-02T03:42:27Z, or ...27+05:30.
std::string rfc3339_local(std::time_t t);

// One datagram's bytes, trailing newline included.
std::string datagram(std::string_view timestamp, const char* level, std::string_view payload, const RelayOptions& opts);

// The payload of the first datagram, for the container `container_id`.
std::string start_marker(std::string_view container_id);

class Relay {
 public:
  // Opens the socket and, when opts.container_id is set, sends the start marker at once.
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
  // Gives out the stream's partial last line as a line of its own (it is not going to be continued).
  void end_line(bool is_stderr) { (is_stderr ? err_ : out_).flush(); }

  std::uint64_t sent() const { return sent_; }
  std::uint64_t dropped() const { return dropped_; }

  // The datagram's fixed text around its three per-line values, in key order:
  // parts[0] Level parts[1] Payload parts[2] Timestamp parts[3].
  struct Shape {
    std::string parts[4];
  };

 private:
  Relay(RelayOptions opts, int fd, sockaddr_storage addr, socklen_t len);
  void send_line(const char* level, std::string_view line);
  std::string& next_slot();
  void send_batch();  // one sendmmsg for the datagrams gathered by a feed
  const std::string& timestamp();

  RelayOptions opts_;
  int fd_;
  sockaddr_storage addr_;
  socklen_t addr_len_;
  LineSplitter out_, err_;
  std::atomic<std::uint64_t> sent_{0}, dropped_{0};
  Shape shape_;  // the same for every datagram
  std::vector<std::string> batch_;
  std::size_t batch_used_ = 0;
  std::time_t ts_second_ = -1;
  std::string ts_;
};

}  // namespace logs
