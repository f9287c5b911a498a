// The agent emulator's HTTP endpoint and event stream.
#include "fake_agent.h"

#include <nlohmann/json.hpp>

#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <deque>

#include "mesos/ledger.h"
#include "mesos/recordio.h"
#include "util/split.h"

namespace fake {

using mesos::Encoding;
using Call = v1::executor::Call;
using Event = v1::executor::Event;

struct FakeAgent::Stream {
  Encoding encoding = Encoding::Protobuf;
  std::deque<std::string> out;  // RecordIO-framed bytes
  bool closed = false;          // cut: no terminating chunk, the connection is closed
  bool ended = false;           // ended: the terminating chunk is written, the connection stays open
  bool held = false;            // nothing is written until released
};

namespace {

constexpr const char* kJson = "application/json";
constexpr const char* kProtobuf = "application/x-protobuf";

// Accept negotiation as the agent does it: JSON is checked first, so "*/*" or a missing Accept
// yields JSON; protobuf only when JSON is not acceptable.
std::optional<Encoding> negotiate(const std::string& accept_header) {
  std::string accept = accept_header.empty() ? "*/*" : accept_header;
  bool json = false;
  bool protobuf = false;
  for (std::string item : util::split(accept, ',')) {
    std::string params;
    if (auto semi = item.find(';'); semi != std::string::npos) {
      params = item.substr(semi);
      item = item.substr(0, semi);
    }
    auto trim = [](std::string s) {
      while (!s.empty() && s.front() == ' ') s.erase(0, 1);
      while (!s.empty() && s.back() == ' ') s.pop_back();
      return s;
    };
    item = trim(item);
    const bool refused = params.find("q=0") != std::string::npos && params.find("q=0.") == std::string::npos;
    if (refused) continue;
    if (item == "*/*" || item == "application/*") {
      json = true;
      protobuf = true;
    }
    if (item == kJson) json = true;
    if (item == kProtobuf) protobuf = true;
  }
  if (json) return Encoding::Json;
  if (protobuf) return Encoding::Protobuf;
  return std::nullopt;
}

}  // namespace

FakeAgent::FakeAgent(AgentOptions options) : options_(std::move(options)) {}

FakeAgent::~FakeAgent() { stop(); }

std::string FakeAgent::endpoint() const { return fmt::format("127.0.0.1:{}", port_); }

int FakeAgent::start(int port) {
  if (!options_.tls_cert_file.empty() && !options_.tls_key_file.empty()) {
    const char* client_ca = options_.tls_client_ca_file.empty() ? nullptr : options_.tls_client_ca_file.c_str();
    auto tls =
        std::make_unique<httplib::SSLServer>(options_.tls_cert_file.c_str(), options_.tls_key_file.c_str(), client_ca);
    if (!tls->is_valid()) throw std::runtime_error("fake agent: cannot load the TLS certificate or key");
    server_ = std::move(tls);
  } else {
    server_ = std::make_unique<httplib::Server>();
  }
  auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    std::optional<std::string> auth;
    if (req.has_header("Authorization")) auth = req.get_header_value("Authorization");
    handle(req.method, req.body, req.get_header_value("Content-Type"), req.get_header_value("Accept"), auth, res);
  };
  server_->Post("/api/v1/executor", handler);
  server_->Get("/api/v1/executor", handler);
  server_->Put("/api/v1/executor", handler);
  server_->Delete("/api/v1/executor", handler);
  // The agent's /state, as far as the seed lookup reads it.
  server_->Get("/state", [this](const httplib::Request&, httplib::Response& res) {
    std::lock_guard lk(mu_);
    if (options_.master_hostname.empty()) {
      res.status = 404;
      return;
    }
    nlohmann::json j;
    j["hostname"] = options_.hostname;
    j["master_hostname"] = options_.master_hostname;
    res.set_content(j.dump(), "application/json");
  });
  if (port == 0) {
    port_ = server_->bind_to_any_port("127.0.0.1");
  } else {
    if (!server_->bind_to_port("127.0.0.1", port))
      throw std::runtime_error(fmt::format("fake agent: cannot bind {}", port));
    port_ = port;
  }
  if (port_ <= 0) throw std::runtime_error("fake agent: cannot bind a port");
  listener_ = std::thread([this] { server_->listen_after_bind(); });
  // stop() is a no-op until the accept loop runs: wait for it.
  while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return port_;
}

void FakeAgent::stop() {
  {
    std::lock_guard lk(mu_);
    if (stream_) stream_->closed = true;
    stream_.reset();
    for (auto& s : ended_streams_) s->closed = true;
    ended_streams_.clear();
  }
  cv_.notify_all();
  if (server_) server_->stop();
  if (listener_.joinable()) listener_.join();
  server_.reset();
}

void FakeAgent::restart(std::chrono::milliseconds downtime) {
  const int port = port_;
  stop();
  std::this_thread::sleep_for(downtime);
  // Port reuse can race with sockets in TIME_WAIT on busy machines: try for a while.
  for (int i = 0;; ++i) {
    try {
      start(port);
      return;
    } catch (const std::exception&) {
      if (i > 100) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
}

void FakeAgent::enqueue_locked(const Event& e) {
  if (!stream_) {
    pending_events_.push_back(e);
    return;
  }
  auto encoded = mesos::encode_event(stream_->encoding, e);
  if (!encoded) throw std::runtime_error(encoded.error().message);
  stream_->out.push_back(mesos::recordio::encode(*encoded));
  cv_.notify_all();
}

void FakeAgent::send(const Event& e) {
  std::lock_guard lk(mu_);
  if (e.type() == Event::LAUNCH) launched_tasks_.push_back(e.launch().task().task_id().value());
  if (e.type() == Event::LAUNCH_GROUP) {
    for (const auto& t : e.launch_group().task_group().tasks()) launched_tasks_.push_back(t.task_id().value());
  }
  enqueue_locked(e);
}

void FakeAgent::launch(const v1::TaskInfo& task) {
  Event e;
  e.set_type(Event::LAUNCH);
  *e.mutable_launch()->mutable_task() = task;
  std::lock_guard lk(mu_);
  launched_tasks_.push_back(task.task_id().value());
  enqueue_locked(e);
}

void FakeAgent::note_launched(const std::string& task_id) {
  std::lock_guard lk(mu_);
  launched_tasks_.push_back(task_id);
}

void FakeAgent::kill(const std::string& task_id, std::optional<std::chrono::nanoseconds> grace) {
  Event e;
  e.set_type(Event::KILL);
  e.mutable_kill()->mutable_task_id()->set_value(task_id);
  if (grace) e.mutable_kill()->mutable_kill_policy()->mutable_grace_period()->set_nanoseconds(grace->count());
  send(e);
}

void FakeAgent::shutdown() {
  Event e;
  e.set_type(Event::SHUTDOWN);
  send(e);
}

void FakeAgent::send_raw(std::string bytes) {
  std::lock_guard lk(mu_);
  if (stream_) stream_->out.push_back(std::move(bytes));
  cv_.notify_all();
}

void FakeAgent::drop_stream() {
  std::lock_guard lk(mu_);
  if (stream_) stream_->closed = true;
  stream_.reset();
  cv_.notify_all();
}

void FakeAgent::end_stream() {
  std::lock_guard lk(mu_);
  if (stream_) {
    stream_->ended = true;
    ended_streams_.push_back(stream_);
  }
  stream_.reset();
  cv_.notify_all();
}

void FakeAgent::hold_subscribed(bool on) {
  std::lock_guard lk(mu_);
  hold_subscribed_ = on;
}

void FakeAgent::release_subscribed() {
  std::lock_guard lk(mu_);
  hold_subscribed_ = false;
  if (stream_) stream_->held = false;
  cv_.notify_all();
}

void FakeAgent::fail_subscribe(int status, std::string body) {
  std::lock_guard lk(mu_);
  subscribe_error_status_ = status;
  subscribe_error_body_ = std::move(body);
}

void FakeAgent::set_terminating(bool on) {
  std::lock_guard lk(mu_);
  terminating_ = on;
}

void FakeAgent::set_update_delay(std::chrono::milliseconds delay) {
  std::lock_guard lk(mu_);
  update_delay_ = delay;
}

std::vector<v1::TaskState> FakeAgent::task_states(const std::string& task_id) const {
  std::lock_guard lk(mu_);
  std::vector<v1::TaskState> out;
  for (const auto& u : updates_) {
    if (!u.dropped && u.status.task_id().value() == task_id) out.push_back(u.status.state());
  }
  return out;
}

void FakeAgent::lose_unlisted_tasks_locked(const v1::executor::Call::Subscribe& sub,
                                           std::chrono::steady_clock::time_point at) {
  for (const auto& task_id : launched_tasks_) {
    bool pending = false;  // still queued in the agent, never sent to the executor
    for (const auto& e : pending_events_) {
      pending = pending || (e.type() == Event::LAUNCH && e.launch().task().task_id().value() == task_id);
    }
    bool listed = false;
    for (const auto& t : sub.unacknowledged_tasks()) listed = listed || t.task_id().value() == task_id;
    bool staging = true;
    for (const auto& u : updates_) staging = staging && (u.dropped || u.status.task_id().value() != task_id);
    if (pending || listed || !staging) continue;
    v1::TaskStatus lost;
    lost.mutable_task_id()->set_value(task_id);
    lost.set_state(v1::TASK_LOST);
    lost.set_source(v1::TaskStatus::SOURCE_AGENT);
    lost.set_reason(v1::TaskStatus::REASON_AGENT_RESTARTED);
    lost.set_message("Task launched during agent restart");
    updates_.push_back(ReceivedUpdate{at, lost, false, false, ""});
  }
}

void FakeAgent::process_update_locked(const v1::TaskStatus& s, std::chrono::steady_clock::time_point at,
                                      bool via_subscribe) {
  ReceivedUpdate r{at, s, via_subscribe, false, ""};
  const std::string& task_id = s.task_id().value();
  bool terminal_before = false;
  for (const auto& u : updates_) {
    if (!u.dropped && u.status.task_id().value() == task_id && mesos::is_terminal(u.status.state())) {
      terminal_before = true;
    }
  }
  const bool duplicate = std::find(seen_uuids_.begin(), seen_uuids_.end(), s.uuid()) != seen_uuids_.end();
  const bool launched = std::find(launched_tasks_.begin(), launched_tasks_.end(), task_id) != launched_tasks_.end();
  if (s.has_agent_id() && s.agent_id().value() != options_.agent_id) {
    // Accepted (202), then dropped without an ACK (src/slave/slave.cpp `statusUpdate`).
    r.dropped = true;
    r.drop_reason = "agent_id differs: never acknowledged";
    updates_.push_back(r);
    return;
  }
  if (duplicate) {
    r.dropped = true;
    r.drop_reason = "duplicate uuid";
  } else if (terminal_before) {
    r.dropped = true;
    r.drop_reason = "the task is already terminal";
  } else if (!launched) {
    // The agent forwards it but never acknowledges it (no executor of the framework owns the task).
    r.dropped = true;
    r.drop_reason = "unknown task: never acknowledged";
  }
  seen_uuids_.push_back(s.uuid());
  updates_.push_back(r);
  if (r.dropped && r.drop_reason == "unknown task: never acknowledged") return;
  // A duplicate or late update is dropped but acknowledged again.
  if (options_.auto_ack) {
    ack_locked(s);
  } else {
    bool pending = false;
    for (const auto& p : unacked_) pending = pending || p.uuid() == s.uuid();
    if (!pending) unacked_.push_back(s);
  }
}

void FakeAgent::set_auto_ack(bool on) {
  std::lock_guard lk(mu_);
  options_.auto_ack = on;
}

void FakeAgent::ack_locked(const v1::TaskStatus& s) {
  Event e;
  e.set_type(Event::ACKNOWLEDGED);
  *e.mutable_acknowledged()->mutable_task_id() = s.task_id();
  e.mutable_acknowledged()->set_uuid(s.uuid());
  enqueue_locked(e);
  ++acks_sent_;
}

void FakeAgent::ack_pending() {
  std::lock_guard lk(mu_);
  for (const auto& s : unacked_) ack_locked(s);
  unacked_.clear();
}

std::vector<RecordedCall> FakeAgent::calls() const {
  std::lock_guard lk(mu_);
  return calls_;
}

std::vector<RecordedCall> FakeAgent::calls_of(Call::Type type) const {
  std::lock_guard lk(mu_);
  std::vector<RecordedCall> out;
  for (const auto& c : calls_) {
    if (c.call && c.call->type() == type) out.push_back(c);
  }
  return out;
}

std::vector<ReceivedUpdate> FakeAgent::updates() const {
  std::lock_guard lk(mu_);
  return updates_;
}

std::size_t FakeAgent::acks_sent() const {
  std::lock_guard lk(mu_);
  return acks_sent_;
}

bool FakeAgent::stream_open() const {
  std::lock_guard lk(mu_);
  return stream_ != nullptr;
}

bool FakeAgent::wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

void FakeAgent::handle(const std::string& method, const std::string& body, const std::string& content_type,
                       const std::string& accept, const std::optional<std::string>& authorization,
                       httplib::Response& res) {
  RecordedCall rec;
  rec.at = std::chrono::steady_clock::now();
  rec.content_type = content_type;
  rec.accept = accept;
  rec.authorization = authorization;
  rec.raw_body = body;
  auto answer = [&](int status, const std::string& message) {
    rec.status = status;
    rec.error = message;
    res.status = status;
    if (!message.empty()) res.set_content(message, "text/plain");
    std::lock_guard lk(mu_);
    calls_.push_back(rec);
  };

  // libprocess authenticates before the handler runs: a missing or bad token is 401 whatever the
  // method, headers or body (src/slave/http.cpp, row 0 of the fact sheet's error table).
  if (options_.auth_token && (!authorization || *authorization != "Bearer " + *options_.auth_token)) {
    res.set_header("WWW-Authenticate", authorization ? "Bearer realm=\"mesos-agent-executor\", error=\"invalid_token\""
                                                     : "Bearer realm=\"mesos-agent-executor\"");
    return answer(401, "401 Unauthorized.");
  }
  if (method != "POST") return answer(405, "Expecting 'POST'");
  if (content_type.empty()) return answer(400, "Expecting 'Content-Type' to be present");
  std::optional<Encoding> encoding;
  if (content_type == kProtobuf) encoding = Encoding::Protobuf;
  if (content_type == kJson) encoding = Encoding::Json;
  if (!encoding) return answer(415, fmt::format("Expecting 'Content-Type' of {} or {}", kJson, kProtobuf));

  auto decoded = mesos::decode_call(*encoding, body);
  if (!decoded) return answer(400, "Failed to parse body into Call: " + decoded.error().message);
  const Call& call = *decoded;
  rec.call = call;

  if (!call.has_type()) return answer(400, "Failed to validate Executor::Call: Expecting 'type' to be present");
  if (!call.has_executor_id())
    return answer(400, "Failed to validate Executor::Call: Expecting 'executor_id' to be present");
  if (!call.has_framework_id())
    return answer(400, "Failed to validate Executor::Call: Expecting 'framework_id' to be present");
  if (call.type() == Call::UNKNOWN) return answer(501, "Received 'UNKNOWN' call");
  if (call.framework_id().value() != options_.framework_id) return answer(400, "Framework cannot be found");
  if (call.executor_id().value() != options_.executor_id) return answer(400, "Executor cannot be found");

  switch (call.type()) {
    case Call::SUBSCRIBE: {
      if (!call.has_subscribe())
        return answer(400, "Failed to validate Executor::Call: Expecting 'subscribe' to be present");
      const auto stream_encoding = negotiate(accept);
      if (!stream_encoding) return answer(406, fmt::format("Expecting 'Accept' to allow {} or {}", kJson, kProtobuf));
      {
        std::unique_lock lk(mu_);
        if (subscribe_error_status_ != 0) {
          const int status = subscribe_error_status_;
          const std::string text = subscribe_error_body_;
          lk.unlock();
          return answer(status, text);
        }
      }
      auto stream = std::make_shared<Stream>();
      stream->encoding = *stream_encoding;
      {
        std::lock_guard lk(mu_);
        if (stream_) {  // a new subscription replaces the old one, ended with the terminating chunk
          stream_->ended = true;
          ended_streams_.push_back(stream_);
        }
        if (terminating_) {
          // One SHUTDOWN, then the end of the stream (src/slave/slave.cpp `Slave::subscribe`).
          Event shutdown;
          shutdown.set_type(Event::SHUTDOWN);
          stream->out.push_back(mesos::recordio::encode(*mesos::encode_event(stream->encoding, shutdown)));
          stream->ended = true;
          ended_streams_.push_back(stream);
          stream_.reset();
          cv_.notify_all();
          rec.status = 200;
          calls_.push_back(rec);
        } else {
          stream_ = stream;
          stream->held = hold_subscribed_;
          Event subscribed;
          subscribed.set_type(Event::SUBSCRIBED);
          auto* s = subscribed.mutable_subscribed();
          s->mutable_executor_info()->mutable_executor_id()->set_value(options_.executor_id);
          s->mutable_framework_info()->set_user("root");
          s->mutable_framework_info()->set_name("fake-framework");
          s->mutable_framework_info()->mutable_id()->set_value(options_.framework_id);
          if (options_.task_killing_state) {
            s->mutable_framework_info()->add_capabilities()->set_type(
                v1::FrameworkInfo::Capability::TASK_KILLING_STATE);
          }
          s->mutable_agent_info()->set_hostname(options_.hostname);
          s->mutable_agent_info()->mutable_id()->set_value(options_.agent_id);
          s->mutable_container_id()->set_value("fake-container-" + options_.executor_id);
          enqueue_locked(subscribed);
          // A re-subscription: every task sent to the executor that is still STAGING (no update of it
          // recorded) and not listed in unacknowledged_tasks is taken for lost, before the listed updates
          // are processed (asynchronously, in the agent).
          if (ever_subscribed_) lose_unlisted_tasks_locked(call.subscribe(), rec.at);
          ever_subscribed_ = true;
          // The agent processes each listed update as a fresh UPDATE (and only those: an update the
          // executor made after building this call is not among them).
          for (const auto& u : call.subscribe().unacknowledged_updates()) {
            process_update_locked(u.status(), rec.at, true);
          }
          if (options_.auto_ack) {
            for (const auto& s2 : unacked_) ack_locked(s2);
            unacked_.clear();
          }
          for (const auto& e : pending_events_) enqueue_locked(e);
          pending_events_.clear();
          rec.status = 200;
          calls_.push_back(rec);
        }
      }
      const auto heartbeat = options_.heartbeat_interval;
      res.set_chunked_content_provider(
          mesos::media_type(*stream_encoding), [this, stream, heartbeat](std::size_t, httplib::DataSink& sink) {
            auto last_beat = std::chrono::steady_clock::now();
            while (true) {
              std::unique_lock lk(mu_);
              cv_.wait_for(lk, std::chrono::milliseconds(20),
                           [&] { return stream->closed || stream->ended || (!stream->held && !stream->out.empty()); });
              if (stream->closed) return false;  // cut without the final chunk: a dropped connection
              if (stream->ended) {
                std::deque<std::string> last;
                last.swap(stream->out);
                lk.unlock();
                for (const auto& chunk : last) {
                  if (!sink.write(chunk.data(), chunk.size())) return false;
                }
                sink.done();  // the terminating chunk; the connection is kept until the agent stops
                lk.lock();
                cv_.wait(lk, [&] { return stream->closed; });
                return false;
              }
              if (stream->held) continue;
              if (heartbeat.count() > 0 && std::chrono::steady_clock::now() - last_beat >= heartbeat) {
                Event hb;
                hb.set_type(Event::HEARTBEAT);
                stream->out.push_back(mesos::recordio::encode(*mesos::encode_event(stream->encoding, hb)));
                last_beat = std::chrono::steady_clock::now();
              }
              while (!stream->out.empty()) {
                std::string chunk = std::move(stream->out.front());
                stream->out.pop_front();
                lk.unlock();
                if (!sink.write(chunk.data(), chunk.size())) return false;
                lk.lock();
              }
            }
          });
      return;
    }
    case Call::UPDATE: {
      if (!call.has_update()) return answer(400, "Failed to validate Executor::Call: Expecting 'update' to be present");
      const auto& s = call.update().status();
      if (!s.has_uuid()) return answer(400, "Failed to validate Executor::Call: Expecting 'uuid' to be present");
      // stout's UUID::fromBytes plus boost's version(): 16 bytes whose byte 6 names version 1..5.
      const int version = s.uuid().size() == 16 ? (static_cast<unsigned char>(s.uuid()[6]) >> 4) : 0;
      if (s.uuid().size() != 16 || version < 1 || version > 5) {
        return answer(400, "Failed to validate Executor::Call: Not a valid UUID");
      }
      if (s.has_executor_id() && s.executor_id().value() != call.executor_id().value()) {
        return answer(400, "Failed to validate Executor::Call: ExecutorID in Call: " + call.executor_id().value() +
                               " does not match ExecutorID in TaskStatus: " + s.executor_id().value());
      }
      if (!s.has_source() || s.source() != v1::TaskStatus::SOURCE_EXECUTOR) {
        return answer(400, "Failed to validate Executor::Call: Received Call from executor with invalid source");
      }
      if (s.state() == v1::TASK_STAGING) {
        return answer(400, "Failed to validate Executor::Call: Received TASK_STAGING from executor");
      }
      if (!s.has_task_id() || !s.has_state()) {
        return answer(400, "Failed to validate Executor::Call: TaskStatus without task_id or state");
      }
      std::unique_lock lk(mu_);
      if (!ever_subscribed_) {
        lk.unlock();
        return answer(403, "Executor is not subscribed");
      }
      // Once subscribed the executor stays RUNNING at the agent even while disconnected: the update is
      // taken (202), and its ACK goes to a stream that is gone.
      const bool ack_lost = !stream_;
      if (ack_lost) {
        updates_.push_back(ReceivedUpdate{rec.at, s, false, false, "accepted while disconnected: ACK lost"});
        seen_uuids_.push_back(s.uuid());
        lk.unlock();
        return answer(202, "");
      }
      process_update_locked(s, rec.at, false);
      const auto delay = update_delay_;
      lk.unlock();
      // The ACK is already on the stream: with a slow 202 it arrives first, as it may from a real agent.
      if (delay.count() > 0) std::this_thread::sleep_for(delay);
      return answer(202, "");
    }
    case Call::MESSAGE:
      if (!call.has_message())
        return answer(400, "Failed to validate Executor::Call: Expecting 'message' to be present");
      return answer(202, "");
    case Call::HEARTBEAT: return answer(202, "");
    default: return answer(501, "Unsupported call");
  }
}

}  // namespace fake
