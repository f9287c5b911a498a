// Sidecar and Mesos master doubles.
#include "fake_sidecar.h"

#include <fmt/format.h>
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace testing_support {

FakeSidecar::FakeSidecar() { listen(); }

FakeSidecar::~FakeSidecar() { go_down(); }

void FakeSidecar::listen() {
  server_ = std::make_unique<httplib::Server>();
  server_->Get("/state.json", [this](const httplib::Request&, httplib::Response& res) {
    std::chrono::milliseconds delay;
    Mode mode;
    std::string doc;
    {
      std::lock_guard<std::mutex> lock(mu_);
      const bool listed = mode_ == Mode::Normal && !id_.empty();
      if (listed && !script_.empty()) {
        status_ = script_.front();
        if (script_.size() > 1) script_.erase(script_.begin());
      }
      calls_.push_back({std::chrono::steady_clock::now(), "state", listed ? status_ : -1});
      delay = delay_;
      mode = mode_;
      doc = document_locked();
    }
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    switch (mode) {
      case Mode::Http500:
        res.status = 500;
        res.set_content("internal error", "text/plain");
        return;
      case Mode::Garbage:
        res.set_content("{\"Servers\": {\"h\": [1, 2, ", "application/json");
        return;
      default:
        res.set_content(doc, "application/json");
    }
  });
  server_->Post(R"(/api/services/([^/]+)/drain)", [this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string id = req.matches[1];
    calls_.push_back({std::chrono::steady_clock::now(), "drain " + id});
    if (id != id_ || mode_ == Mode::NotListed) {
      res.status = 404;
      res.set_content(R"({"message":"no such service"})", "application/json");
      return;
    }
    status_ = 4;  // DRAINING
    res.status = 202;
    res.set_content(R"({"Message":"Service is draining"})", "application/json");
  });
  if (port_ == 0) {
    port_ = server_->bind_to_any_port("127.0.0.1");
  } else if (!server_->bind_to_port("127.0.0.1", port_)) {
    throw std::runtime_error("fake sidecar: cannot bind its port again");
  }
  if (port_ <= 0) throw std::runtime_error("fake sidecar: cannot bind");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void FakeSidecar::go_down() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

void FakeSidecar::come_back() {
  if (!server_) listen();
}

std::string FakeSidecar::url() const { return fmt::format("http://127.0.0.1:{}/state.json", port_); }

void FakeSidecar::set_service(const std::string& host, const std::string& id, int status) {
  std::lock_guard<std::mutex> lock(mu_);
  host_ = host;
  id_ = id;
  status_ = status;
}
void FakeSidecar::set_status(int status) {
  std::lock_guard<std::mutex> lock(mu_);
  status_ = status;
}
void FakeSidecar::set_mode(Mode m) {
  std::lock_guard<std::mutex> lock(mu_);
  mode_ = m;
}
void FakeSidecar::set_delay(std::chrono::milliseconds d) {
  std::lock_guard<std::mutex> lock(mu_);
  delay_ = d;
}

void FakeSidecar::set_padding(std::size_t bytes) {
  std::string pad;
  pad.reserve(bytes + 4096);
  for (int h = 0; pad.size() < bytes; ++h) {
    const std::string host = fmt::format("pad-host-{:05}", h);
    pad += fmt::format(R"("{}":{{"Name":"{}","LastUpdated":"2026-11-25T10:00:00Z","Services":{{)", host, host);
    for (int i = 0; i < 50; ++i) {
      pad += fmt::format(R"({}"{:06x}{:06x}":{{"ID":"{:06x}{:06x}","Name":"svc-{}","Image":"svc:{}",)"
                         R"("Created":"2026-11-25T09:00:00Z","Hostname":"{}","Ports":[{{"Type":"tcp","Port":{},)"
                         R"("ServicePort":8080,"IP":"127.0.0.1"}}],"Updated":"2026-11-25T10:00:00Z",)"
                         R"("ProxyMode":"http","Status":{}}})",
                         i == 0 ? "" : ",", h, i, h, i, i, h, host, 31000 + i, i % 4);
    }
    pad += "}},";
  }
  std::lock_guard<std::mutex> lock(mu_);
  padding_ = std::move(pad);
}

void FakeSidecar::set_script(std::vector<int> statuses) {
  std::lock_guard<std::mutex> lock(mu_);
  script_ = std::move(statuses);
}

std::string FakeSidecar::document_locked() const {
  auto service = [](const std::string& id, const std::string& host, int status) {
    return nlohmann::json{{"ID", id}, {"Name", "web"}, {"Image", "web:1"}, {"Created", "2026-11-25T09:00:00Z"},
                          {"Hostname", host}, {"Ports", nlohmann::json::array()}, {"Updated", "2026-11-25T10:00:00Z"},
                          {"ProxyMode", "http"}, {"Status", status}};
  };
  nlohmann::json doc{{"ClusterName", "test"}, {"Hostname", host_}, {"LastChanged", "2026-11-25T10:00:00Z"}};
  nlohmann::json servers = nlohmann::json::object();
  // Another host lists a service with our id, unhealthy: it must not count.
  servers["other-host"] = {{"Name", "other-host"}, {"Services", {{id_.empty() ? "x" : id_, service(id_, "other-host", 2)}}}};
  nlohmann::json ours = {{"Name", host_}, {"Services", nlohmann::json::object()}};
  ours["Services"]["0a0a0a0a0a0a"] = service("0a0a0a0a0a0a", host_, 2);
  if (mode_ != Mode::NotListed && !id_.empty()) ours["Services"][id_] = service(id_, host_, status_);
  if (!host_.empty()) servers[host_] = ours;
  doc["Servers"] = servers;
  std::string text = doc.dump();
  if (!padding_.empty()) {  // nlohmann orders keys: splice the padding hosts in front of the others
    const std::string key = "\"Servers\":{";
    text.insert(text.find(key) + key.size(), padding_);
  }
  return text;
}

std::vector<FakeSidecar::Call> FakeSidecar::calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}
std::size_t FakeSidecar::polls() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::size_t n = 0;
  for (const auto& c : calls_) n += c.what == "state";
  return n;
}
std::vector<FakeSidecar::Call> FakeSidecar::drains() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Call> out;
  for (const auto& c : calls_) {
    if (c.what.rfind("drain ", 0) == 0) out.push_back(c);
  }
  return out;
}

FakeMaster::FakeMaster(std::vector<std::string> agent_hostnames) {
  server_ = std::make_unique<httplib::Server>();
  server_->Get("/slaves", [agent_hostnames](const httplib::Request&, httplib::Response& res) {
    nlohmann::json j;
    j["slaves"] = nlohmann::json::array();
    for (const auto& h : agent_hostnames) j["slaves"].push_back({{"hostname", h}, {"id", "S-" + h}, {"active", true}});
    res.set_content(j.dump(), "application/json");
  });
  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("fake master: cannot bind");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

FakeMaster::~FakeMaster() {
  server_->stop();
  thread_.join();
}

}  // namespace testing_support
