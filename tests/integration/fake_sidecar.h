// A Sidecar double on 127.0.0.1: serves /state.json documents the test controls (our service's
// status under a host, among other hosts' services), can answer HTTP 500, garbage, slowly, one byte
// every 500 ms (headers included), or be down; records every poll and drain call. Strict: a drain for an id it does not
// list gets 404, as Sidecar. Also a Mesos master double serving /slaves for the seed list.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace httplib {
class Server;
}

namespace testing_support {

class Dribbler;

class FakeSidecar {
 public:
  // Dribble: every request (poll or drain) is answered one byte every kDribbleGap, status line and
  // headers included, so that no per-read timeout ever fires; served by a plain socket server on the
  // same port in place of the HTTP one.
  enum class Mode { Normal, Http500, Garbage, NotListed, Dribble };
  static constexpr std::chrono::milliseconds kDribbleGap{500};
  FakeSidecar();
  ~FakeSidecar();
  std::string url() const;  // http://127.0.0.1:<port>/state.json
  int port() const { return port_; }

  // Our service: `id` (12 characters) under `host`, with Sidecar's status number.
  void set_service(const std::string& host, const std::string& id, int status);
  void set_status(int status);
  // Statuses served by the next polls that list the service, one per poll; the last one stays. A
  // step below 0 answers that one poll as a Mode does: kHttp500, kGarbage, kNotListed.
  static constexpr int kHttp500 = -500, kGarbage = -501, kNotListed = -502;
  void set_script(std::vector<int> statuses);
  void set_mode(Mode m);
  void set_delay(std::chrono::milliseconds d);
  // Other hosts with many services are listed before ours until the document is at least `bytes` long
  // (a large cluster's state); 0: none.
  void set_padding(std::size_t bytes);
  void go_down();  // stops listening: connections are refused
  void come_back();

  struct Call {
    std::chrono::steady_clock::time_point at;
    std::string what;  // "state" or "drain <id>"
    int served = -1;   // state: the status served for our service (-1: not listed, or no document)
    //                    or the script's step below 0 that answered this poll
    // Dribble mode: when the client hung up before the whole answer was written (default: not seen).
    std::optional<std::chrono::steady_clock::time_point> hung_up = std::nullopt;
  };
  std::vector<Call> calls() const;
  std::size_t polls() const;
  std::vector<Call> drains() const;

 private:
  void listen();
  void stop_http();
  std::string document_locked() const;
  // The dribbler's answer to "<method> <path>", recorded as a call; its index in calls_.
  std::string dribble_answer(const std::string& method, const std::string& path, std::size_t& call);
  void hung_up(std::size_t call);

  mutable std::mutex mu_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::unique_ptr<Dribbler> dribbler_;  // listening in Dribble mode, in place of server_
  int port_ = 0;
  std::string host_, id_;
  int status_ = 0;
  std::vector<int> script_;
  Mode mode_ = Mode::Normal;
  std::chrono::milliseconds delay_{0};
  std::string padding_;  // "host":{...}, entries spliced at the start of Servers
  std::vector<Call> calls_;
};

class FakeMaster {
 public:
  explicit FakeMaster(std::vector<std::string> agent_hostnames);
  ~FakeMaster();
  int port() const { return port_; }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace testing_support
