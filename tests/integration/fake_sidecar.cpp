// Sidecar and Mesos master doubles.
#include "fake_sidecar.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <functional>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace testing_support {

// A plain TCP server that reads one request head per connection and writes the answer one byte every
// FakeSidecar::kDribbleGap, noticing when the client hangs up. No HTTP library here: httplib's
// server writes a response's status line and headers in one go.
class Dribbler {
 public:
  // The answer to "<method> <path>"; sets `call`, the id hung_up() is told.
  using Answer = std::function<std::string(const std::string& method, const std::string& path, std::size_t& call)>;
  using HungUp = std::function<void(std::size_t call)>;

  Dribbler(int port, Answer answer, HungUp hung_up) : answer_(std::move(answer)), hung_up_(std::move(hung_up)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 16) != 0) {
      if (fd_ >= 0) ::close(fd_);
      throw std::runtime_error(fmt::format("fake sidecar: the dribbler cannot listen on port {}", port));
    }
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~Dribbler() {
    stop_ = true;
    acceptor_.join();
    ::close(fd_);
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& t : conns_) t.join();
  }
  Dribbler(const Dribbler&) = delete;
  Dribbler& operator=(const Dribbler&) = delete;

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::lock_guard<std::mutex> lock(mu_);
      conns_.emplace_back([this, c] {
        serve(c);
        ::close(c);
      });
    }
  }

  // Waits up to `d` (in slices, so that stopping is quick); false when the peer hung up or we stop.
  bool wait_open(int c, std::chrono::milliseconds d) {
    const auto until = std::chrono::steady_clock::now() + d;
    while (!stop_ && std::chrono::steady_clock::now() < until) {
      pollfd p{c, POLLIN | POLLRDHUP, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      char buf[512];
      const ssize_t n = ::recv(c, buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return false;
    }
    return !stop_;
  }

  void serve(int c) {
    std::string head;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (head.find("\r\n\r\n") == std::string::npos) {
      if (stop_ || std::chrono::steady_clock::now() > until || head.size() > 65536) return;
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      char buf[1024];
      const ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) return;
      head.append(buf, static_cast<std::size_t>(n));
    }
    const auto sp1 = head.find(' ');
    const auto sp2 = head.find(' ', sp1 + 1);
    if (sp1 == std::string::npos || sp2 == std::string::npos) return;
    std::size_t call = 0;
    const std::string answer = answer_(head.substr(0, sp1), head.substr(sp1 + 1, sp2 - sp1 - 1), call);
    for (const char ch : answer) {
      if (::send(c, &ch, 1, MSG_NOSIGNAL) != 1 || !wait_open(c, FakeSidecar::kDribbleGap)) {
        if (!stop_) hung_up_(call);
        return;
      }
    }
  }

  Answer answer_;
  HungUp hung_up_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> conns_;
};

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
      int step = listed ? status_ : -1;
      if (listed && !script_.empty()) {
        step = script_.front();
        if (step >= 0) status_ = step;
        if (script_.size() > 1) script_.erase(script_.begin());
      }
      calls_.push_back({std::chrono::steady_clock::now(), "state", step});
      delay = delay_;
      mode = step == kHttp500 ? Mode::Http500 : step == kGarbage ? Mode::Garbage : mode_;
      if (step == kNotListed) {
        const Mode saved = mode_;
        mode_ = Mode::NotListed;  // this one document without our service
        doc = document_locked();
        mode_ = saved;
      } else {
        doc = document_locked();
      }
    }
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    switch (mode) {
      case Mode::Http500:
        res.status = 500;
        res.set_content("internal error", "text/plain");
        return;
      case Mode::Garbage: res.set_content("{\"Servers\": {\"h\": [1, 2, ", "application/json"); return;
      default: res.set_content(doc, "application/json");
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

void FakeSidecar::stop_http() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

void FakeSidecar::go_down() {
  stop_http();
  dribbler_.reset();
}

void FakeSidecar::come_back() {
  if (server_ || dribbler_) return;
  bool dribble = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    dribble = mode_ == Mode::Dribble;
  }
  if (!dribble) {
    listen();
    return;
  }
  dribbler_ = std::make_unique<Dribbler>(
      port_,
      [this](const std::string& method, const std::string& path, std::size_t& call) {
        return dribble_answer(method, path, call);
      },
      [this](std::size_t call) { hung_up(call); });
}

std::string FakeSidecar::dribble_answer(const std::string& method, const std::string& path, std::size_t& call) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  std::string status = "404 Not Found", body = R"({"message":"not found"})";
  const std::string prefix = "/api/services/", suffix = "/drain";
  if (method == "GET" && path == "/state.json") {
    calls_.push_back({now, "state", -1, std::nullopt});
    status = "200 OK";
    body = document_locked();
  } else if (method == "POST" && path.rfind(prefix, 0) == 0 && path.size() > prefix.size() + suffix.size() &&
             path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0) {
    calls_.push_back(
        {now, "drain " + path.substr(prefix.size(), path.size() - prefix.size() - suffix.size()), -1, std::nullopt});
    status = "202 Accepted";
    body = R"({"Message":"Service is draining"})";
  } else {
    calls_.push_back({now, method + " " + path, -1, std::nullopt});
  }
  call = calls_.size() - 1;
  return fmt::format(
      "HTTP/1.1 {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}", status,
      body.size(), body);
}

void FakeSidecar::hung_up(std::size_t call) {
  std::lock_guard<std::mutex> lock(mu_);
  if (call < calls_.size()) calls_[call].hung_up = std::chrono::steady_clock::now();
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
  bool was = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    was = mode_ == Mode::Dribble;
    mode_ = m;
  }
  if (was == (m == Mode::Dribble)) return;
  // The other server takes the port over (a down Sidecar stays down).
  const bool up = server_ || dribbler_;
  go_down();
  if (up) come_back();
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
    return nlohmann::json{{"ID", id},
                          {"Name", "web"},
                          {"Image", "web:1"},
                          {"Created", "2026-11-25T09:00:00Z"},
                          {"Hostname", host},
                          {"Ports", nlohmann::json::array()},
                          {"Updated", "2026-11-25T10:00:00Z"},
                          {"ProxyMode", "http"},
                          {"Status", status}};
  };
  nlohmann::json doc{{"ClusterName", "test"}, {"Hostname", host_}, {"LastChanged", "2026-11-25T10:00:00Z"}};
  nlohmann::json servers = nlohmann::json::object();
  // Another host lists a service with our id, unhealthy: it must not count.
  servers["other-host"] = {{"Name", "other-host"},
                           {"Services", {{id_.empty() ? "x" : id_, service(id_, "other-host", 2)}}}};
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
