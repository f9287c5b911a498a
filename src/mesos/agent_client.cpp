// Agent client: subscription with re-subscribe/backoff, ordered UPDATE delivery, ACK bookkeeping.
#include "mesos/agent_client.h"

#include <fmt/format.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <random>

#include "mesos/agent_events.h"
#include "mesos/agent_tls.h"
#include "mesos/launch_peek.h"
#include "mesos/recordio.h"
#include "util/http_deadline.h"
#include "util/http_safe.h"
#include "util/uuid.h"

namespace mesos {

namespace {
constexpr const char* kPath = "/api/v1/executor";
// The agent's heartbeats come every 30 minutes; an hour of silence means the connection is dead.
constexpr auto kStreamReadTimeout = std::chrono::hours(1);
constexpr auto kCallTimeout = std::chrono::seconds(10);
constexpr std::size_t kMaxErrorBody = 4096;

double now_seconds() {
  using namespace std::chrono;
  return duration_cast<duration<double>>(system_clock::now().time_since_epoch()).count();
}

std::string format_ms(std::chrono::nanoseconds d) {
  return fmt::format("{:.1f}s", std::chrono::duration<double>(d).count());
}
}  // namespace

AgentClient::AgentClient(AgentEnv env, Encoding encoding, std::size_t max_record_size, Sink sink)
    : env_(std::move(env)), encoding_(encoding), max_record_size_(max_record_size), sink_(std::move(sink)) {
  status_ctx_.executor_id = env_.executor_id;
  status_ctx_.agent_id = env_.agent_id;
}

AgentClient::~AgentClient() { stop(); }

void AgentClient::start() {
  // httplib's Client constructor initialises a function-local static std::regex. Both threads below
  // build a client at once; that is safe by the language's rules, but the guard sits inside Debian's
  // uninstrumented shared library, where ThreadSanitizer cannot see it. One client built here first
  // makes the initialisation happen before either thread exists.
  make_client(false);
  subscribe_thread_ = std::thread([this] { subscribe_loop(); });
  sender_thread_ = std::thread([this] { sender_loop(); });
}

void AgentClient::flush(std::chrono::milliseconds max) {
  std::unique_lock lk(mu_);
  const bool done = cv_.wait_for(lk, max, [this] { return stopping_ || !connected_ || !ledger_.has_unsent(); });
  if (!done) spdlog::warn("exiting with update(s) the agent has not taken yet");
}

void AgentClient::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  // The stream thread may be between creating its client and connecting: keep cutting until it is out.
  for (int i = 0; i < 500 && subscribe_thread_.joinable() && !subscribe_done_.load(); ++i) {
    {
      std::lock_guard lk(mu_);
      if (stream_client_ != nullptr) stream_client_->stop();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (subscribe_thread_.joinable()) subscribe_thread_.join();
  if (sender_thread_.joinable()) sender_thread_.join();
}

std::unique_ptr<httplib::Client> AgentClient::make_client(bool streaming) const {
  auto cli = std::make_unique<httplib::Client>(env_.base_url());
  if (env_.tls.enabled) {
    // Checked at start-up (check_agent_tls); on a later failure the client refuses every handshake.
    if (auto r = configure_agent_tls(*cli, env_.tls, env_.agent_host); !r) {
      spdlog::error("agent TLS: {}", r.error().message);
    }
  }
  cli->set_connection_timeout(std::chrono::seconds(5));
  cli->set_write_timeout(kCallTimeout);
  if (streaming) {
    cli->set_read_timeout(kStreamReadTimeout);
  } else {
    cli->set_read_timeout(kCallTimeout);
  }
  cli->set_keep_alive(false);
  if (env_.auth_token) cli->set_bearer_token_auth(*env_.auth_token);
  return cli;
}

v1::executor::Call AgentClient::base_call(v1::executor::Call::Type type) const {
  v1::executor::Call call;
  call.mutable_executor_id()->set_value(env_.executor_id);
  call.mutable_framework_id()->set_value(env_.framework_id);
  call.set_type(type);
  return call;
}

bool AgentClient::sleep_interruptible(std::chrono::nanoseconds d) {
  std::unique_lock lk(mu_);
  return !cv_.wait_for(lk, d, [this] { return stopping_; });
}

void AgentClient::send_update(const executor::act::SendUpdate& u) {
  const std::string uuid = util::uuid_as_bytes(util::random_uuid());
  {
    std::lock_guard lk(mu_);
    auto update = build_update(u, status_ctx_, uuid, now_seconds());
    ledger_.add_update(update);
  }
  spdlog::info("task {}: sending {} (uuid {}){}", u.task_id, v1::TaskState_Name(u.state),
               util::uuid_bytes_to_string(uuid), u.message.empty() ? "" : fmt::format(": {}", u.message));
  cv_.notify_all();
}

void AgentClient::subscribe_loop() {
  using Clock = std::chrono::steady_clock;
  std::optional<Clock::time_point> lost_since;
  std::mt19937_64 rng{std::random_device{}()};
  while (true) {
    {
      std::lock_guard lk(mu_);
      if (stopping_) break;
    }
    std::string reason;
    bool refused = false;
    const bool was_subscribed = subscribe_once(reason, refused);
    {
      std::lock_guard lk(mu_);
      connected_ = false;
      if (stopping_) break;
    }
    if (refused) {
      // As the official library (src/executor/executor.cpp `_send`): a status other than 200, 503 or
      // 404 is an error, not a reason to wait. After an agent restart, 400 "Framework cannot be found" or
      // "Executor cannot be found" means the agent forgot us: nobody will ever take our updates.
      if (was_subscribed) sink_(executor::ev::Disconnected{reason});
      sink_(executor::ev::AgentGone{reason});
      break;
    }
    const auto now = Clock::now();
    if (was_subscribed || !lost_since) lost_since = now;
    if (was_subscribed) sink_(executor::ev::Disconnected{reason});
    if (!env_.checkpoint) {
      sink_(
          executor::ev::AgentGone{fmt::format("{} (checkpointing is off, so the executor does not wait for "
                                              "an agent restart)",
                                              reason)});
      break;
    }
    const auto elapsed = now - *lost_since;
    if (elapsed >= env_.recovery_timeout) {
      sink_(executor::ev::AgentGone{fmt::format("no subscription within MESOS_RECOVERY_TIMEOUT ({}); last error: {}",
                                                format_ms(env_.recovery_timeout), reason)});
      break;
    }
    // Random backoff in [0, MESOS_SUBSCRIPTION_BACKOFF_MAX], at least 10 ms, never past the deadline.
    const auto max_ns = std::max<std::int64_t>(env_.subscription_backoff_max.count(), 10'000'000);
    std::uniform_int_distribution<std::int64_t> dist(10'000'000, max_ns);
    auto backoff = std::chrono::nanoseconds(dist(rng));
    backoff = std::min<std::chrono::nanoseconds>(backoff, env_.recovery_timeout - elapsed);
    spdlog::warn("agent {}: {}; re-subscribing in {}", env_.endpoint(), reason, format_ms(backoff));
    if (!sleep_interruptible(backoff)) break;
  }
  subscribe_done_ = true;
  cv_.notify_all();
}

bool AgentClient::subscribe_once(std::string& reason, bool& refused) {
  v1::executor::Call call = base_call(v1::executor::Call::SUBSCRIBE);
  std::vector<std::string> raw_tasks;
  std::vector<std::string> listed;  // the uuids this call carries: only those count as delivered by it
  {
    std::lock_guard lk(mu_);
    auto* sub = call.mutable_subscribe();
    for (const auto& u : ledger_.unacked_updates()) {
      *sub->add_unacknowledged_updates() = u;
      listed.push_back(u.status().uuid());
    }
    raw_tasks = ledger_.unacked_task_raws();
  }
  auto body = encode_call(encoding_, call, raw_tasks);
  if (!body) {
    reason = fmt::format("cannot encode SUBSCRIBE: {}", body.error().message);
    return false;
  }
  spdlog::info("subscribing to agent {} ({} unacknowledged update(s), {} unacknowledged task(s))", env_.endpoint(),
               call.subscribe().unacknowledged_updates_size(), raw_tasks.size());

  auto cli = make_client(true);
  {
    std::lock_guard lk(mu_);
    if (stopping_) return false;
    stream_client_ = cli.get();
  }

  recordio::Decoder decoder(max_record_size_);
  int status = 0;
  std::string content_type;
  std::string error_body;
  bool subscribed = false;
  std::vector<std::string> records;
  std::vector<recordio::Oversized> oversized;

  httplib::Request req;
  req.method = "POST";
  req.path = kPath;
  req.headers = {{"Content-Type", media_type(encoding_)}, {"Accept", media_type(encoding_)}};
  req.body = std::move(*body);
  req.response_handler = [&](const httplib::Response& r) {
    status = r.status;
    content_type = r.get_header_value("Content-Type");
    if (status == 200 && content_type.rfind(media_type(encoding_), 0) != 0) {
      reason = fmt::format("the agent answered SUBSCRIBE with Content-Type \"{}\", expected \"{}\"", content_type,
                           media_type(encoding_));
      return false;
    }
    return true;
  };
  req.content_receiver = [&](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
    if (status != 200) {
      if (error_body.size() < kMaxErrorBody) error_body.append(data, std::min(n, kMaxErrorBody - error_body.size()));
      return true;
    }
    records.clear();
    oversized.clear();
    auto fed = decoder.feed(std::string_view(data, n), records, oversized);
    // In stream order: an over-size record comes before records[its position].
    std::size_t next_oversized = 0;
    for (std::size_t i = 0; i <= records.size(); ++i) {
      for (; next_oversized < oversized.size() && oversized[next_oversized].position == i; ++next_oversized) {
        handle_oversized(oversized[next_oversized]);
      }
      if (i < records.size() && !handle_record(records[i], listed, subscribed, reason)) return false;
    }
    if (!fed) {
      reason = fed.error().message;
      spdlog::error("agent {}: event stream is corrupt: {}", env_.endpoint(), reason);
      return false;
    }
    std::lock_guard lk(mu_);
    return !stopping_;
  };

  httplib::Response res;
  httplib::Error err = httplib::Error::Success;
  const bool ok = cli->send(req, res, err);
  {
    std::lock_guard lk(mu_);
    stream_client_ = nullptr;
  }
  if (!reason.empty()) return subscribed;
  if (status == 0) {
    reason = fmt::format("SUBSCRIBE to {}{}: {}", env_.base_url(), kPath, util::http_error_text(err));
    if (const std::string refusal = agent_tls_refusal(*cli); !refusal.empty()) reason += ": " + refusal;
  } else if (status == 503) {
    reason = fmt::format("the agent is recovering (503): {}", error_body);
  } else if (status == 404) {
    reason = fmt::format("the agent is starting (404): {}", error_body);
  } else if (status != 200) {
    reason =
        fmt::format("the agent refused SUBSCRIBE with HTTP {}: {}", status, util::escape_control_chars(error_body));
    refused = status < 500;  // a 5xx other than 503 is the agent's own failure: try again
  } else {
    reason =
        ok ? "the agent closed the event stream" : fmt::format("event stream broke: {}", util::http_error_text(err));
    if (decoder.mid_record()) reason += " (in the middle of a record)";
  }
  return subscribed;
}

void AgentClient::handle_oversized(const recordio::Oversized& o) {
  const EventPeek peek = peek_event(encoding_, o.prefix);
  const std::string what = fmt::format("an event record of {} bytes ({}) exceeds EXECUTOR_MAX_RECORD_SIZE ({} bytes)",
                                       o.size, peek.type.value_or("type unreadable"), max_record_size_);
  if (!peek.task_id) {
    spdlog::error("agent {}: {}: skipped", env_.endpoint(), what);
    return;
  }
  // Mesos has no such limit: the agent believes the task delivered and waits for its updates. The
  // TaskInfo is the part too big to hold; a minimal one (name, id, agent) stands for it in the next
  // SUBSCRIBE's unacknowledged_tasks, so that a re-subscription before the ACK does not make the agent
  // take the task for lost (src/slave/slave.cpp `Slave::subscribe` drops STAGING tasks not listed).
  spdlog::error("agent {}: {}: task {} fails", env_.endpoint(), what, *peek.task_id);
  {
    v1::TaskInfo stand_in;
    stand_in.set_name(*peek.task_id);
    stand_in.mutable_task_id()->set_value(*peek.task_id);
    std::lock_guard lk(mu_);
    stand_in.mutable_agent_id()->set_value(status_ctx_.agent_id);
    auto raw =
        encoding_ == Encoding::Json ? to_json(stand_in) : util::Result<std::string>(stand_in.SerializeAsString());
    if (raw) ledger_.add_task(*peek.task_id, std::move(*raw));
  }
  executor::ev::Launch launch;
  launch.task.mutable_task_id()->set_value(*peek.task_id);
  launch.too_big = fmt::format(
      "the LAUNCH record of task {} is {} bytes, over EXECUTOR_MAX_RECORD_SIZE ({} bytes) of "
      "this executor",
      *peek.task_id, o.size, max_record_size_);
  sink_(std::move(launch));
}

bool AgentClient::handle_record(const std::string& record, const std::vector<std::string>& listed, bool& subscribed,
                                std::string& reason) {
  auto decoded = decode_event(encoding_, record);
  if (!decoded) {
    // A LAUNCH whose TaskInfo does not decode still names its task: fail that task rather than leave
    // the agent waiting for an update that never comes.
    if (encoding_ == Encoding::Json) {
      if (auto bad = undecodable_json_launch(record)) {
        spdlog::error("agent {}: the LAUNCH of task {} cannot be decoded: {}", env_.endpoint(), bad->task_id,
                      decoded.error().message);
        {
          std::lock_guard lk(mu_);
          ledger_.add_task(bad->task_id, bad->raw_task);
        }
        executor::ev::Launch launch;
        launch.task.mutable_task_id()->set_value(bad->task_id);
        launch.undecodable = "the TaskInfo cannot be decoded: " + decoded.error().message;
        sink_(std::move(launch));
        return true;
      }
    }
    spdlog::error("agent {}: skipping an undecodable event: {}", env_.endpoint(), decoded.error().message);
    return true;
  }
  const auto& e = decoded->event;
  std::string problem;
  auto event = translate_event(e, problem);
  if (!event) {
    spdlog::error("agent {}: skipping an invalid event: {}", env_.endpoint(), problem);
    return true;
  }
  switch (e.type()) {
    case v1::executor::Event::SUBSCRIBED: {
      std::vector<PendingUpdate> newly;
      {
        std::lock_guard lk(mu_);
        subscribed = true;
        connected_ = true;
        newly = ledger_.mark_accepted_by_subscribe(listed);
        const auto& s = e.subscribed();
        if (s.agent_info().has_id()) status_ctx_.agent_id = s.agent_info().id().value();
      }
      cv_.notify_all();
      sink_(std::move(*event));
      for (const auto& u : newly) {
        sink_(executor::ev::UpdateAccepted{u.task_id, is_terminal(u.state)});
      }
      return true;
    }
    case v1::executor::Event::LAUNCH: {
      std::lock_guard lk(mu_);
      ledger_.add_task(e.launch().task().task_id().value(), decoded->raw_task);
      break;
    }
    case v1::executor::Event::ACKNOWLEDGED: {
      auto& ack = std::get<executor::ev::Acknowledged>(*event);
      std::lock_guard lk(mu_);
      const AckOutcome o = ledger_.acknowledge(e.acknowledged().task_id().value(), e.acknowledged().uuid());
      ack.matched = o.matched;
      ack.terminal = o.terminal;
      break;
    }
    case v1::executor::Event::ERROR:
      reason = fmt::format("the agent sent ERROR: {}", e.error().message());
      sink_(std::move(*event));
      return false;
    default: break;
  }
  sink_(std::move(*event));
  return true;
}

void AgentClient::sender_loop() {
  auto cli = make_client(false);
  while (true) {
    PendingUpdate p;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [this] { return stopping_ || (connected_ && ledger_.has_queued()); });
      if (stopping_) return;
      auto next = ledger_.take_next();
      if (!next) continue;
      p = std::move(*next);
    }
    v1::executor::Call call = base_call(v1::executor::Call::UPDATE);
    *call.mutable_update() = p.update;
    auto body = encode_call(encoding_, call);
    const std::string uuid_text = util::uuid_bytes_to_string(p.uuid);
    if (!body) {
      spdlog::error("update {} cannot be encoded, dropped: {}", uuid_text, body.error().message);
      std::lock_guard lk(mu_);
      ledger_.drop(p.uuid);
      continue;
    }
    auto res = cli->Post(kPath, *body, media_type(encoding_));
    if (res && res->status == 202) {
      {
        std::lock_guard lk(mu_);
        ledger_.mark_accepted(p.uuid);
      }
      cv_.notify_all();
      spdlog::debug("update {} accepted by the agent", uuid_text);
      sink_(executor::ev::UpdateAccepted{p.task_id, is_terminal(p.state)});
      continue;
    }
    {
      std::unique_lock lk(mu_);
      // 403: not subscribed yet (an agent just restarted); 404: the agent is starting (src/executor/executor.cpp
      // retries both); 429: slow down. Any other 4xx means the agent will never take it (a bug of ours):
      // keeping it would poison every SUBSCRIBE too.
      if (res && res->status >= 400 && res->status < 500 && res->status != 403 && res->status != 404 &&
          res->status != 429) {
        spdlog::error("the agent rejected update {} with HTTP {}: {}; dropped", uuid_text, res->status,
                      util::escape_control_chars(res->body));
        ledger_.drop(p.uuid);
        lk.unlock();
        sink_(executor::ev::UpdateRefused{
            p.task_id, is_terminal(p.state),
            fmt::format("HTTP {}: {}", res->status, util::escape_control_chars(res->body))});
        continue;
      }
      ledger_.mark_queued(p.uuid);
    }
    if (res) {
      spdlog::warn("update {}: agent answered HTTP {} ({}); retrying", uuid_text, res->status, res->body);
    } else {
      spdlog::warn("update {}: {}; retrying (it also goes into the next SUBSCRIBE)", uuid_text,
                   util::http_error_text(res.error()));
    }
    if (!sleep_interruptible(std::chrono::milliseconds(250))) return;
  }
}

}  // namespace mesos
