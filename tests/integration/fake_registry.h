// A registry double on 127.0.0.1 that only ever asks for credentials: every request is answered
// 401 with `WWW-Authenticate: Basic realm="fake"`, as a registry run by whoever deploys a task would
// answer to collect what a client sends. It records each request with its Authorization header.
// Plain HTTP: dockerd treats 127.0.0.0/8 registries as insecure and falls back to it.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace httplib {
class Server;
}

namespace testing_support {

class FakeRegistry {
 public:
  FakeRegistry();
  ~FakeRegistry();
  FakeRegistry(const FakeRegistry&) = delete;
  FakeRegistry& operator=(const FakeRegistry&) = delete;

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  struct Request {
    std::string method, path, authorization;
  };
  std::vector<Request> requests() const;
  void clear();

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mu_;
  std::vector<Request> requests_;
};

}  // namespace testing_support
