// Task validation, exit mapping and label rules.
#include "executor/task_rules.h"

#include <fmt/format.h>

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
  return {};
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
