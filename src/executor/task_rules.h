// Pure rules about one task: is the TaskInfo runnable, how a container's end maps to a Mesos
// terminal state, whether Sidecar watches it.
#pragma once

#include <optional>
#include <string>

#include "executor/events.h"
#include "mesos/v1/mesos.pb.h"

namespace executor {

// Empty when the task can be run by this executor, else the reason it cannot.
std::string validate_task(const ::mesos::v1::TaskInfo& task);
// Empty when the health check is one the executor can run, else why not.
std::string validate_health_check(const ::mesos::v1::HealthCheck& check);

struct TerminalOutcome {
  ::mesos::v1::TaskState state = ::mesos::v1::TASK_FAILED;
  std::optional<::mesos::v1::TaskStatus::Reason> reason;
  std::string message;
};

// The end of a container nobody asked to stop: 0 → FINISHED; OOM-killed → FAILED with the memory
// limitation reason; anything else, a signal included (129–165) → FAILED. (A kill the executor made
// is reported TASK_KILLED by the machine itself.)
TerminalOutcome map_exit(const ev::ContainerExited& exit);

// SidecarDiscover label (docker parameter `label` = "SidecarDiscover=<value>"): absent or not a Go
// boolean → true; a Go false → false.
bool sidecar_discover(const ::mesos::v1::TaskInfo& task);

// Value of the last docker parameter `label` with this key, if any.
std::optional<std::string> docker_label(const ::mesos::v1::TaskInfo& task, const std::string& key);

}  // namespace executor
