// A small HTTP/1.1 client for the Docker Engine API: over a unix socket (Debian's cpp-httplib has no
// AF_UNIX support), plain TCP, or TCP with TLS (OpenSSL, client certificate). One connection per
// request ("Connection: close"), Content-Length, chunked and read-to-EOF bodies, a streaming mode for
// wait/logs/pull (stopped by the callback or a cancel flag), and a limit on how long the daemon may
// stay silent.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "util/cancel.h"
#include "util/result.h"

namespace docker {

// Where the daemon listens (DOCKER_HOST and the DOCKER_TLS_* variables).
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
  // Longest silence allowed from the daemon (for a plain call: the whole answer's pace); zero: none.
  std::chrono::milliseconds timeout{30000};
  // set() from another thread abandons the call: its eventfd wakes a blocked read at once.
  const util::CancelFlag* cancel = nullptr;
  // Called when everything received so far has been handed out and the client is about to wait for
  // more: the moment to flush work batched from the pieces (the log relay's datagrams).
  std::function<void()> on_idle = nullptr;
};

class HttpClient {
 public:
  explicit HttpClient(Endpoint endpoint);
  explicit HttpClient(std::string socket_path) : HttpClient(Endpoint::unix_socket(std::move(socket_path))) {}
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  util::Result<HttpResponse> send(const HttpRequest& req) const;

  // Streams the body: `on_data` gets each piece as it arrives (de-chunked) and returns false to stop.
  // The returned response carries status and headers; its body holds the first 64 KiB of an error body.
  util::Result<HttpResponse> stream(const HttpRequest& req, const std::function<bool(std::string_view)>& on_data) const;

  const Endpoint& endpoint() const { return endpoint_; }
  // An error building the TLS context (bad certificate files) is reported by every call.
  const std::string& setup_error() const { return setup_error_; }

 private:
  struct Tls;
  Endpoint endpoint_;
  std::unique_ptr<Tls> tls_;
  std::string setup_error_;
};

}  // namespace docker
