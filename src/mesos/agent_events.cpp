// Validation and translation of agent events.
#include "mesos/agent_events.h"

#include "util/uuid.h"

namespace mesos {

using Type = v1::executor::Event::Type;

std::optional<executor::Event> translate_event(const v1::executor::Event& e, std::string& problem) {
  namespace ev = executor::ev;
  switch (e.type()) {
    case v1::executor::Event::SUBSCRIBED: {
      ev::Subscribed s;
      if (e.has_subscribed()) {
        for (const auto& c : e.subscribed().framework_info().capabilities()) {
          if (c.type() == v1::FrameworkInfo::Capability::TASK_KILLING_STATE) s.task_killing_state = true;
        }
        s.agent_hostname = e.subscribed().agent_info().hostname();
      }
      return s;
    }
    case v1::executor::Event::LAUNCH:
      if (!e.has_launch() || !e.launch().has_task()) {
        problem = "LAUNCH event without launch.task";
        return std::nullopt;
      }
      return ev::Launch{e.launch().task()};
    case v1::executor::Event::LAUNCH_GROUP: {
      if (!e.has_launch_group()) {
        problem = "LAUNCH_GROUP event without launch_group";
        return std::nullopt;
      }
      ev::LaunchGroup g;
      for (const auto& t : e.launch_group().task_group().tasks()) g.tasks.push_back(t);
      return g;
    }
    case v1::executor::Event::KILL: {
      if (!e.has_kill() || !e.kill().has_task_id()) {
        problem = "KILL event without kill.task_id";
        return std::nullopt;
      }
      ev::Kill k;
      k.task_id = e.kill().task_id().value();
      if (e.kill().has_kill_policy() && e.kill().kill_policy().has_grace_period()) {
        const auto ns = e.kill().kill_policy().grace_period().nanoseconds();
        k.grace = executor::Duration{ns < 0 ? 0 : ns};
      }
      return k;
    }
    case v1::executor::Event::ACKNOWLEDGED: {
      if (!e.has_acknowledged() || !e.acknowledged().has_task_id() || !e.acknowledged().has_uuid()) {
        problem = "ACKNOWLEDGED event without task_id or uuid";
        return std::nullopt;
      }
      ev::Acknowledged a;
      a.task_id = e.acknowledged().task_id().value();
      a.uuid = util::uuid_bytes_to_string(e.acknowledged().uuid());
      return a;
    }
    case v1::executor::Event::MESSAGE: return ev::AgentMessage{e.has_message() ? e.message().data().size() : 0};
    case v1::executor::Event::ERROR:
      return ev::AgentError{e.has_error() ? e.error().message() : std::string("(no message)")};
    case v1::executor::Event::SHUTDOWN: return ev::Shutdown{};
    case v1::executor::Event::HEARTBEAT: return ev::Heartbeat{};
    case v1::executor::Event::UNKNOWN: break;
  }
  return ev::UnknownEvent{static_cast<int>(e.type())};
}

}  // namespace mesos
