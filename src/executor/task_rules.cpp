// Task validation, exit mapping and label rules.
#include "executor/task_rules.h"

#include <fmt/format.h>

#include "util/http_safe.h"
#include "util/values.h"

namespace executor {

namespace v1 = ::mesos::v1;

std::string validate_task(const v1::TaskInfo& task) {
  if (!task.has_task_id() || task.task_id().value().empty()) return "TaskInfo has no task_id";
  if (!task.has_container()) {
    return "TaskInfo has no container: sidecar-executor runs Docker tasks only (set container.type=DOCKER and "
           "container.docker.image)";
  }
  if (!task.container().has_docker()) {
    return "TaskInfo has no container.docker: sidecar-executor runs Docker tasks only (set "
           "container.docker.image)";
  }
  if (task.container().docker().image().empty()) return "TaskInfo has an empty container.docker.image";
  if (task.has_health_check()) {
    if (std::string why = validate_health_check(task.health_check()); !why.empty()) {
      return "TaskInfo.health_check: " + why;
    }
  }
  return {};
}

// The Mesos master's rules for a HealthCheck (src/common/validation.cpp validateHealthCheck): a task
// that breaks them would never reach an executor under a real master.
std::string validate_health_check(const v1::HealthCheck& hc) {
  for (const auto& [name, v] : {std::pair<const char*, double>{"delay_seconds", hc.delay_seconds()},
                                {"interval_seconds", hc.interval_seconds()},
                                {"timeout_seconds", hc.timeout_seconds()},
                                {"grace_period_seconds", hc.grace_period_seconds()}}) {
    if (!(v >= 0) || v > 365.0 * 86400) return fmt::format("{} is {}: from 0 to a year", name, v);
  }
  switch (hc.type()) {
    case v1::HealthCheck::COMMAND:
      if (!hc.has_command() || hc.command().value().empty()) return "type COMMAND needs command.value";
      return {};
    case v1::HealthCheck::HTTP: {
      if (!hc.has_http() || !hc.http().has_port()) return "type HTTP needs http.port";
      const auto& h = hc.http();
      if (h.port() == 0 || h.port() > 65535) return fmt::format("http.port {} is not a port", h.port());
      if (h.has_scheme() && h.scheme() != "http" && h.scheme() != "https") {
        return fmt::format("http.scheme must be http or https, not '{}'", util::escape_control_chars(h.scheme()));
      }
      if (h.has_path() && !h.path().empty() && h.path()[0] != '/') return "http.path must start with '/'";
      if (util::has_control_chars(h.path()) || h.path().find(' ') != std::string::npos) {
        return "http.path holds a space or a control character";
      }
      return {};
    }
    case v1::HealthCheck::TCP:
      if (!hc.has_tcp() || !hc.tcp().has_port()) return "type TCP needs tcp.port";
      if (hc.tcp().port() == 0 || hc.tcp().port() > 65535)
        return fmt::format("tcp.port {} is not a port", hc.tcp().port());
      return {};
    default: return "type must be COMMAND, HTTP or TCP";
  }
}

TerminalOutcome map_exit(const ev::ContainerExited& exit) {
  TerminalOutcome out;
  auto with_tail = [&](std::string msg) {
    if (!exit.stderr_tail.empty()) msg += fmt::format("; last stderr: {}", exit.stderr_tail);
    return msg;
  };
  if (!exit.exit_code) {
    out.state = v1::TASK_FAILED;
    out.message =
        with_tail(fmt::format("container outcome unknown: {}", exit.error.empty() ? "no detail" : exit.error));
    return out;
  }
  const int code = *exit.exit_code;
  if (exit.oom_killed) {
    out.state = v1::TASK_FAILED;
    out.reason = v1::TaskStatus::REASON_CONTAINER_LIMITATION_MEMORY;
    out.message = with_tail(fmt::format("container was killed for exceeding its memory limit (exit code {})", code));
    return out;
  }
  if (code == 0) {
    out.state = v1::TASK_FINISHED;
    out.message = "container exited with code 0";
    return out;
  }
  if (code >= 129 && code <= 165) {
    // Killed by a signal the executor did not send (an operator's `docker kill`, the kernel): the
    // official executors report TASK_KILLED only for kills they made themselves.
    out.state = v1::TASK_FAILED;
    out.message = with_tail(
        fmt::format("container exited with code {} (killed by signal {}, not sent by the executor)", code, code - 128));
    return out;
  }
  out.state = v1::TASK_FAILED;
  out.message = with_tail(fmt::format("container exited with code {}", code));
  if (!exit.error.empty()) out.message += fmt::format(" ({})", exit.error);
  return out;
}

std::optional<std::string> docker_label(const v1::TaskInfo& task, const std::string& key) {
  std::optional<std::string> found;
  if (!task.has_container() || !task.container().has_docker()) return found;
  for (const auto& p : task.container().docker().parameters()) {
    if (p.key() != "label") continue;
    const auto eq = p.value().find('=');
    if (eq == std::string::npos) continue;
    if (p.value().compare(0, eq, key) == 0 && eq == key.size()) found = p.value().substr(eq + 1);
  }
  return found;
}

bool sidecar_discover(const v1::TaskInfo& task) {
  auto value = docker_label(task, "SidecarDiscover");
  if (!value) return true;
  auto b = util::parse_go_bool(*value);
  return !b.ok() || *b;
}

}  // namespace executor
