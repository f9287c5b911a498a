// A Mesos agent's executor endpoint, played on 127.0.0.1 for tests and the local agent tool. Strict
// as the real one (src/slave/http.cpp, src/common/validation.cpp): checks Content-Type and Accept,
// ids, authentication, the rules on UPDATE; serves the event stream in RecordIO of protobuf or JSON
// as asked; records every call. It can hold ACKs back, drop the stream, and come back "restarted".
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "mesos/codec.h"
#include "mesos/v1/executor/executor.pb.h"

namespace httplib {
class Server;
struct Response;
}

namespace fake {

namespace v1 = ::mesos::v1;

struct AgentOptions {
  std::string framework_id = "fw-0001";
  std::string executor_id = "exec-1";
  std::string agent_id = "agent-0001";
  std::string hostname = "fake-agent";
  std::optional<std::string> auth_token;  // when set, calls must carry "Authorization: Bearer <token>"
  std::chrono::milliseconds heartbeat_interval{0};  // 0: none
  bool auto_ack = true;
  bool task_killing_state = false;
  std::string master_hostname;  // served at GET /state when set (the seed lookup); else 404
};

struct RecordedCall {
  std::chrono::steady_clock::time_point at;
  std::string content_type;
  std::string accept;
  std::optional<std::string> authorization;
  int status = 0;          // what the agent answered
  std::string error;       // the body of an error answer
  std::optional<v1::executor::Call> call;
  std::string raw_body;
};

struct ReceivedUpdate {
  std::chrono::steady_clock::time_point at;
  v1::TaskStatus status;
  bool via_subscribe = false;  // re-delivered in SUBSCRIBE.unacknowledged_updates
};

class FakeAgent {
 public:
  explicit FakeAgent(AgentOptions options);
  ~FakeAgent();
  FakeAgent(const FakeAgent&) = delete;
  FakeAgent& operator=(const FakeAgent&) = delete;

  // Listens on 127.0.0.1:port (0 picks a free port); returns the port.
  int start(int port = 0);
  // Goes down: the stream is cut without a final chunk, the listener closes.
  void stop();
  // stop(), wait `downtime`, start() again on the same port: a restarted agent.
  void restart(std::chrono::milliseconds downtime);
  int port() const { return port_; }
  std::string endpoint() const;

  // Events for the executor: sent on the current stream, or queued until the next SUBSCRIBE.
  void send(const v1::executor::Event& e);
  void launch(const v1::TaskInfo& task);
  void kill(const std::string& task_id, std::optional<std::chrono::nanoseconds> grace = std::nullopt);
  void shutdown();
  // Bytes written to the stream as they are (malformed RecordIO tests).
  void send_raw(std::string bytes);
  // Ends the current stream (the executor sees a disconnection) without stopping the server.
  void drop_stream();

  void set_auto_ack(bool on);
  // Acknowledges every update received and not yet acknowledged.
  void ack_pending();

  std::vector<RecordedCall> calls() const;
  std::vector<RecordedCall> calls_of(v1::executor::Call::Type type) const;
  std::vector<ReceivedUpdate> updates() const;
  std::size_t acks_sent() const;
  bool stream_open() const;

  // Polls `pred` (under no lock) every 10 ms until true or the timeout.
  static bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

 private:
  struct Stream;
  void handle(const std::string& method, const std::string& body, const std::string& content_type,
              const std::string& accept, const std::optional<std::string>& authorization, httplib::Response& res);
  void enqueue_locked(const v1::executor::Event& e);
  void ack_locked(const v1::TaskStatus& s);

  AgentOptions options_;
  int port_ = 0;
  std::unique_ptr<httplib::Server> server_;
  std::thread listener_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<Stream> stream_;
  std::vector<v1::executor::Event> pending_events_;  // queued while no stream is open
  std::vector<RecordedCall> calls_;
  std::vector<ReceivedUpdate> updates_;
  std::vector<v1::TaskStatus> unacked_;
  std::size_t acks_sent_ = 0;
};

}  // namespace fake
