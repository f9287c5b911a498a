// What the state machine asks the adapters to do. Executed in order by the event loop.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "executor/events.h"
#include "mesos/v1/mesos.pb.h"

namespace executor {

enum class LogLevel : unsigned char { Debug, Info, Warn, Error };

namespace act {

struct SendUpdate {  // the agent client adds uuid, timestamp, source, executor and agent ids
  std::string task_id;
  ::mesos::v1::TaskState state = ::mesos::v1::TASK_STARTING;
  std::string message;
  std::optional<::mesos::v1::TaskStatus::Reason> reason;
  std::optional<bool> healthy;
  std::string container_id;  // Docker container id, reported in container_status labels
  std::string ip_address;
  // Every network with an address (TASK_RUNNING's network_infos); empty: ip_address alone, if any.
  std::vector<ContainerNetwork> networks{};
};
struct PullImage {  // check the task, build its container plan, make the image present
  std::string image;
  bool force = false;
  ::mesos::v1::TaskInfo task{};
  // The create did not confirm the image (its presence had been left to the create, see StepFailed
  // image_unconfirmed): check and pull now, before anything else; never left to the create again.
  bool after_create = false;
};
struct ResolveSecrets {  // find the Vault references in the container's environment and read them
  std::vector<std::string> env;
};
struct FetchSeeds {};  // EXECUTOR_SEED_SIDECAR: the cluster's agents, for SIDECAR_SEEDS
struct CreateContainer {
  PlanPtr plan;
  SecretEnv secrets{};
  std::vector<std::string> extra_env{};  // the executor's variables for the container (seeds)
};
struct StartContainer {
  std::string container_id;
  std::string image{};  // for the process title
};
struct WatchContainer {  // report the container's exit as ev::ContainerExited
  std::string container_id;
};
struct StopContainer {  // SIGTERM, SIGKILL after `grace`
  std::string container_id;
  Duration grace{};
};
struct RemoveContainer {
  std::string container_id;
};
struct Drain {  // ask Sidecar to drain this container's service
  std::string container_id;
};
struct StartWatchdog {
  std::string container_id;
  std::string host{};  // the host Sidecar knows the task by (TASK_HOST)
};
struct StopWatchdog {};
struct StartHealthChecks {  // TaskInfo.health_check, reported as ev::HealthResult after each check
  std::string container_id;
  ::mesos::v1::HealthCheck check;
};
struct StopHealthChecks {};
struct CopyFailureLogs {  // last LogsSince of output to the executor's stdout/stderr
  std::string container_id;
};
struct StartTimer {
  TimerId id = TimerId::TerminalAck;
  Duration after{};
};
struct CancelTimer {
  TimerId id = TimerId::TerminalAck;
};
struct Exit {
  int code = 0;
  // A hard deadline (the agent's shutdown grace) ends the executor: no time to wait for anything.
  bool at_deadline = false;
};
struct Log {
  LogLevel level = LogLevel::Info;
  std::string text;
};

}  // namespace act

using Action =
    std::variant<act::SendUpdate, act::PullImage, act::ResolveSecrets, act::FetchSeeds, act::CreateContainer,
                 act::StartContainer, act::WatchContainer, act::StopContainer, act::RemoveContainer, act::Drain,
                 act::StartWatchdog, act::StopWatchdog, act::StartHealthChecks, act::StopHealthChecks,
                 act::CopyFailureLogs, act::StartTimer, act::CancelTimer, act::Exit, act::Log>;

}  // namespace executor
