// The executor side of the Mesos v1 executor HTTP API: a SUBSCRIBE stream read on its own thread,
// UPDATE calls sent in order on another, and the ledger of what the agent has not acknowledged.
// Everything the agent says reaches the state machine through `sink` as executor::Event values.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "executor/actions.h"
#include "executor/events.h"
#include "executor/ports.h"
#include "mesos/agent_env.h"
#include "mesos/codec.h"
#include "mesos/ledger.h"
#include "mesos/recordio.h"
#include "mesos/status.h"

namespace httplib {
class Client;
}

namespace mesos {

class AgentClient final : public executor::port::Agent {
 public:
  using Sink = std::function<void(executor::Event)>;

  AgentClient(AgentEnv env, Encoding encoding, std::size_t max_record_size, Sink sink);
  ~AgentClient() override;
  AgentClient(const AgentClient&) = delete;
  AgentClient& operator=(const AgentClient&) = delete;

  void start();
  // Records the update in the ledger and queues it; returns at once.
  void send_update(const executor::act::SendUpdate& u) override;
  // Before an exit: waits up to `max` for the agent to take every update still queued or in flight
  // (while connected; a disconnected client has nobody to give them to).
  void flush(std::chrono::milliseconds max);
  // Closes the stream and joins the threads. Idempotent.
  void stop();

 private:
  void subscribe_loop();
  void sender_loop();
  // Runs one SUBSCRIBE until the stream ends; true if SUBSCRIBED was received. `refused`: the agent
  // answered with an error status that retrying cannot change.
  bool subscribe_once(std::string& reason, bool& refused);
  // Handles one record; false ends the stream (ERROR event).
  bool handle_record(const std::string& record, const std::vector<std::string>& listed, bool& subscribed,
                     std::string& reason);
  // An event record over the size limit, skipped by the decoder: a LAUNCH whose task id is readable
  // fails that task; anything else is logged.
  void handle_oversized(const recordio::Oversized& o);
  std::unique_ptr<httplib::Client> make_client(bool streaming) const;
  v1::executor::Call base_call(v1::executor::Call::Type type) const;
  bool sleep_interruptible(std::chrono::nanoseconds d);

  const AgentEnv env_;
  const Encoding encoding_;
  const std::size_t max_record_size_;
  const Sink sink_;

  std::mutex mu_;
  std::condition_variable cv_;
  Ledger ledger_;
  StatusContext status_ctx_;
  bool connected_ = false;
  bool stopping_ = false;
  httplib::Client* stream_client_ = nullptr;
  std::atomic<bool> subscribe_done_{false};

  std::thread subscribe_thread_;
  std::thread sender_thread_;
};

}  // namespace mesos
