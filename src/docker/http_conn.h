// A small HTTP/1.1 client for the Docker Engine API over a unix socket (Debian's cpp-httplib has no
// AF_UNIX support): one connection per request ("Connection: close"), Content-Length and chunked
// bodies, a streaming mode for wait/logs/pull/events (stopped by the callback), and a limit on how
// long the daemon may stay silent.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "util/result.h"

namespace docker {

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
  std::chrono::milliseconds timeout{30000};  // whole call; for streams, the longest silence
};

class UnixHttpClient {
 public:
  explicit UnixHttpClient(std::string socket_path) : socket_path_(std::move(socket_path)) {}

  util::Result<HttpResponse> send(const HttpRequest& req) const;

  // Streams the body: `on_data` gets each piece as it arrives (de-chunked) and returns false to stop.
  // The returned response carries status and headers; its body holds the first 64 KiB of an error body.
  util::Result<HttpResponse> stream(const HttpRequest& req, const std::function<bool(std::string_view)>& on_data) const;

  const std::string& socket_path() const { return socket_path_; }

 private:
  std::string socket_path_;
};

}  // namespace docker
