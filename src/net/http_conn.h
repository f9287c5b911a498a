// A small HTTP/1.1 client, first written for the Docker Engine API: over a unix socket (Debian's
// cpp-httplib has no AF_UNIX support), plain TCP, or TCP with TLS (OpenSSL, client certificate). One
// connection per request ("Connection: close"), Content-Length, chunked and read-to-EOF bodies, a
// streaming mode for wait/logs/pull (stopped by the callback or a cancel flag), and a limit on how
// long the peer may stay silent. What goes out is checked (no control characters in the request line
// or headers); what comes in goes through a bounded parser that works on bytes alone (fuzzed:
// tests/fuzz/fuzz_http_response.cpp).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "util/cancel.h"
#include "util/result.h"

namespace net {

// Where the peer listens (for Docker: DOCKER_HOST and the DOCKER_TLS_* variables).
struct Endpoint {
  std::string unix_path;  // set: a unix socket
  std::string host;       // else TCP
  int port = 0;
  bool tls = false;
  std::string ca_file, cert_file, key_file;  // TLS: verify the daemon with ca, present cert/key when set

  static Endpoint unix_socket(std::string path) {
    Endpoint e;
    e.unix_path = std::move(path);
    return e;
  }
  std::string describe() const;  // "unix:///run/docker.sock", "tcp://host:2376 (TLS)"
};

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

struct HttpRequest {
  std::string method = "GET";
  std::string path;  // with query
  std::map<std::string, std::string> headers;
  std::string body;
  // Longest silence allowed from the peer (for a plain call: the whole answer's pace; also each
  // connect and the TLS handshake); zero: none.
  std::chrono::milliseconds timeout{30000};
  // set() from another thread abandons the call: its eventfd wakes a blocked connect, handshake or
  // read at once.
  const util::CancelFlag* cancel = nullptr;
  // Called when everything received so far has been handed out and the client is about to wait for
  // more: the moment to flush work batched from the pieces (the log relay's datagrams).
  std::function<void()> on_idle = nullptr;
  // Called once when the answer's status and headers are in (its body still empty), before any of
  // its body: for a stream that only reports what happens from now on (/events), the moment it is
  // listening; for a body kept whole, its Content-Length.
  std::function<void(const HttpResponse& head)> on_head = nullptr;
  // The whole call, from the connection to the answer's last byte; zero: none. Past it the call
  // fails ("no complete answer within N ms"), whatever pace the peer keeps.
  std::chrono::milliseconds total{0};
  // While the peer is silent, on_idle is also called this often (when set, only while
  // idle_every_while() says so: asked at each wait); zero: not.
  std::chrono::milliseconds idle_every{0};
  std::function<bool()> idle_every_while = nullptr;
};

// Bounds on what a peer may send before the body.
inline constexpr std::size_t kMaxResponseHeadBytes = 64 * 1024;  // status lines and headers, interim responses included
inline constexpr std::size_t kMaxResponseHeaders = 100;          // per response (and per trailer section)
inline constexpr std::size_t kMaxChunkSizeLine = 4096;           // chunk size and extensions
inline constexpr std::uint64_t kMaxContentLength = std::uint64_t{1} << 40;
inline constexpr std::uint64_t kMaxChunkSize = std::uint64_t{1} << 40;
// What send() keeps of a successful answer's body (stream() hands out any length).
inline constexpr std::size_t kMaxBufferedBody = 256u << 20;

// An HTTP/1.1 response read incrementally from bytes, whatever way they are split: status line
// (interim 1xx answers skipped), headers, then a body framed by chunked encoding, Content-Length, or
// the end of the connection. Malformed or oversized input is an error, never an exception.
// No socket: the client feeds it what it reads, and the fuzzer feeds it anything.
class ResponseParser {
 public:
  // Gets each body piece (de-chunked) as it arrives; returns false to stop reading.
  using BodySink = std::function<bool(std::string_view)>;

  // Consumes `bytes`; body bytes go to `sink`. Once done(), further bytes are ignored.
  util::Result<void> feed(std::string_view bytes, const BodySink& sink);
  // The peer closed the connection: fine only where the message may end there.
  util::Result<void> finish();

  bool head_done() const { return head_done_; }  // status and headers known
  bool done() const { return state_ == State::Done; }
  bool stopped() const { return stopped_; }  // the sink asked to stop
  // Status and headers (names lower-cased, repeated ones joined with ", "); body left empty.
  const HttpResponse& response() const { return res_; }

 private:
  enum class State { StatusLine, Header, ChunkSize, ChunkData, ChunkEnd, Trailer, LengthBody, EofBody, Done, Failed };

  util::Result<void> fail(std::string message);
  util::Result<void> step(std::string_view& bytes, const BodySink& sink);
  util::Result<bool> take_line(std::string_view& bytes);
  util::Result<void> on_line();
  util::Result<void> status_line();
  util::Result<void> header_line(bool trailer);
  util::Result<void> head_end();
  util::Result<void> chunk_size_line();
  util::Result<void> deliver(std::string_view& bytes, const BodySink& sink);

  State state_ = State::StatusLine;
  HttpResponse res_;
  std::string line_;            // the line being assembled, its CR LF excluded once complete
  std::size_t head_bytes_ = 0;  // consumed by status lines and headers so far
  std::size_t trailer_bytes_ = 0;
  std::size_t header_count_ = 0;
  std::uint64_t left_ = 0;  // of the current chunk or Content-Length body
  bool head_done_ = false;
  bool stopped_ = false;
  bool any_byte_ = false;
  std::string error_;  // once Failed, every later call returns it
};

class HttpClient {
 public:
  explicit HttpClient(Endpoint endpoint);
  explicit HttpClient(std::string socket_path) : HttpClient(Endpoint::unix_socket(std::move(socket_path))) {}
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // The request line and headers are checked first: a method, path, header name or value with a
  // control character (or a path with a space, or a header the client writes itself) is refused
  // before anything is sent; a refused header value is not repeated in the error (it may be a
  // credential). The answer's body is kept up to kMaxBufferedBody.
  util::Result<HttpResponse> send(const HttpRequest& req) const;

  // Streams the body: `on_data` gets each piece as it arrives (de-chunked) and returns false to stop.
  // The returned response carries status and headers; its body holds the first 64 KiB of an error body.
  util::Result<HttpResponse> stream(const HttpRequest& req, const std::function<bool(std::string_view)>& on_data) const;
  // As stream(), with errors that say only what went wrong ("connect to h:7777: Connection refused"),
  // for a caller that names the request itself (by its whole URL).
  util::Result<HttpResponse> exchange(const HttpRequest& req,
                                      const std::function<bool(std::string_view)>& on_data) const;

  // Resolves the peer's name now (TCP), for a client made ahead of its first call: that call then
  // connects to the addresses found here (a failure here is left to it). The names a client
  // resolves are kept from call to call until none of their addresses accepts.
  void resolve() const;

  const Endpoint& endpoint() const { return endpoint_; }
  // An error building the TLS context (bad certificate files) is reported by every call.
  const std::string& setup_error() const { return setup_error_; }

  struct Addresses;  // the peer's addresses, kept from one call to the next

 private:
  struct Tls;
  Endpoint endpoint_;
  std::unique_ptr<Tls> tls_;
  std::unique_ptr<Addresses> addresses_;
  std::string host_header_;
  std::string setup_error_;
};

}  // namespace net
