// The credential-collecting registry double.
#include "fake_registry.h"

#include <httplib.h>

#include <chrono>
#include <stdexcept>

namespace testing_support {

FakeRegistry::FakeRegistry() : server_(std::make_unique<httplib::Server>()) {
  auto challenge = [this](const httplib::Request& req, httplib::Response& res) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back({req.method, req.path, req.get_header_value("Authorization")});
    }
    res.status = 401;
    res.set_header("WWW-Authenticate", R"(Basic realm="fake")");
    res.set_header("Docker-Distribution-Api-Version", "registry/2.0");
    res.set_content(R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]})",
                    "application/json");
  };
  // GET handlers also answer HEAD (manifest checks).
  server_->Get(".*", challenge);
  server_->Post(".*", challenge);
  server_->Put(".*", challenge);
  server_->Patch(".*", challenge);
  server_->Delete(".*", challenge);
  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("fake registry: cannot bind");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

FakeRegistry::~FakeRegistry() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::vector<FakeRegistry::Request> FakeRegistry::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

void FakeRegistry::clear() {
  std::lock_guard<std::mutex> lock(mu_);
  requests_.clear();
}

}  // namespace testing_support
