// A Mesos agent's executor endpoint, played on 127.0.0.1 for tests and the local agent tool. Strict
// as the real one (src/slave/http.cpp, src/common/validation.cpp, src/slave/slave.cpp): authentication
// before anything else, Content-Type and Accept, ids, the rules on UPDATE (16-byte UUID with a known
// version); serves the event stream in RecordIO of protobuf or JSON as asked; processes only the updates
// a SUBSCRIBE lists; records every call and every update the real agent would drop or never ACK. It can
// hold ACKs or SUBSCRIBED back, answer UPDATE slowly (the ACK then comes before the 202), refuse a
// re-SUBSCRIBE, drop the stream, end it with the terminating chunk while keeping the connection open,
// serve over TLS, and come back "restarted".
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
}  // namespace httplib

namespace fake {

namespace v1 = ::mesos::v1;

struct AgentOptions {
  std::string framework_id = "fw-0001";
  std::string executor_id = "exec-1";
  std::string agent_id = "agent-0001";
  std::string hostname = "fake-agent";
  std::optional<std::string> auth_token;            // when set, calls must carry "Authorization: Bearer <token>"
  std::chrono::milliseconds heartbeat_interval{0};  // 0: none
  bool auto_ack = true;
  bool task_killing_state = false;
  std::string master_hostname;  // served at GET /state when set (the seed lookup); else 404
  // TLS (https) when both are set, as an agent built with SSL and LIBPROCESS_SSL_ENABLED=true.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;  // when set, a client certificate signed by this CA is required
};

struct RecordedCall {
  std::chrono::steady_clock::time_point at;
  std::string content_type;
  std::string accept;
  std::optional<std::string> authorization;
  int status = 0;     // what the agent answered
  std::string error;  // the body of an error answer
  std::optional<v1::executor::Call> call;
  std::string raw_body;
};

struct ReceivedUpdate {
  std::chrono::steady_clock::time_point at;
  v1::TaskStatus status;
  bool via_subscribe = false;  // re-delivered in SUBSCRIBE.unacknowledged_updates
  // What the real agent does with it (src/slave/slave.cpp `statusUpdate`): a duplicate uuid, an update
  // after the task's terminal one, or one for a task never launched is not recorded as a task state.
  bool dropped = false;
  std::string drop_reason;
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
  // A task the agent knows without a LAUNCH through send()/launch() (a LAUNCH written with send_raw).
  void note_launched(const std::string& task_id);
  void kill(const std::string& task_id, std::optional<std::chrono::nanoseconds> grace = std::nullopt);
  void shutdown();
  // Bytes written to the stream as they are (malformed RecordIO tests).
  void send_raw(std::string bytes);
  // Ends the current stream (the executor sees a disconnection) without stopping the server.
  void drop_stream();
  // Ends the current stream as the agent does (src/common/http.hpp: the terminating chunk "0\r\n\r\n")
  // and keeps the TCP connection open, as libprocess does for a persistent connection.
  void end_stream();

  // The next SUBSCRIBE's stream opens (200) but writes nothing — SUBSCRIBED and all that follows —
  // until release_subscribed(): the agent's SUBSCRIBED is asynchronous to the call.
  void hold_subscribed(bool on);
  void release_subscribed();
  // Answers every following SUBSCRIBE with this status and text/plain body (e.g. 400 "Framework cannot
  // be found" after a restarted agent forgot the framework); 0 turns it off.
  void fail_subscribe(int status, std::string body = "");
  // UPDATE calls are processed (and ACKed on the stream) at once, but their 202 comes after `delay`.
  void set_update_delay(std::chrono::milliseconds delay);
  // The executor is terminating (a SHUTDOWN was sent, the framework is going away): every SUBSCRIBE gets
  // a stream holding one SHUTDOWN and its end, no SUBSCRIBED, and its listed updates are not processed.
  void set_terminating(bool on);
  // Per task: the states the agent recorded (dropped updates left out), in order.
  std::vector<v1::TaskState> task_states(const std::string& task_id) const;
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
  // The agent's status update processing: record, drop (with the reason) or keep for an ACK.
  void process_update_locked(const v1::TaskStatus& s, std::chrono::steady_clock::time_point at, bool via_subscribe);
  // On a re-SUBSCRIBE: launched tasks still STAGING and not listed become TASK_LOST (source AGENT).
  void lose_unlisted_tasks_locked(const v1::executor::Call::Subscribe& sub, std::chrono::steady_clock::time_point at);

  AgentOptions options_;
  int port_ = 0;
  std::unique_ptr<httplib::Server> server_;
  std::thread listener_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<Stream> stream_;
  std::vector<std::shared_ptr<Stream>> ended_streams_;  // ended, their connections still open
  std::vector<v1::executor::Event> pending_events_;     // queued while no stream is open
  std::vector<RecordedCall> calls_;
  std::vector<ReceivedUpdate> updates_;
  std::vector<v1::TaskStatus> unacked_;
  std::vector<std::string> seen_uuids_;      // every update uuid processed
  std::vector<std::string> launched_tasks_;  // task ids sent in LAUNCH
  std::size_t acks_sent_ = 0;
  bool hold_subscribed_ = false;
  bool terminating_ = false;
  bool ever_subscribed_ = false;
  int subscribe_error_status_ = 0;
  std::string subscribe_error_body_;
  std::chrono::milliseconds update_delay_{0};
};

}  // namespace fake
