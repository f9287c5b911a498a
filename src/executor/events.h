// Everything that can happen to the executor, as values: agent events (already validated by the
// agent client), results of adapter work (Docker, Sidecar, Vault), timers and signals.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "executor/launch.h"
#include "mesos/v1/mesos.pb.h"

namespace executor {

using Duration = std::chrono::nanoseconds;

enum class TimerId : unsigned char { TerminalAck, DrainWait, ShutdownDeadline, MaxCompletion, HealthGrace };
// The launch, in order; Seeds only with EXECUTOR_SEED_SIDECAR.
enum class LaunchStep : unsigned char { Pull, Secrets, Seeds, Create, Start };

const char* to_string(TimerId t);
const char* to_string(LaunchStep s);

namespace ev {

// --- from the agent ---
struct Subscribed {
  bool task_killing_state = false;  // framework capability TASK_KILLING_STATE
  std::string agent_hostname;
};
struct Launch {
  ::mesos::v1::TaskInfo task;
  // Set when the agent's LAUNCH named a task but its TaskInfo could not be decoded (`task` then holds
  // only the task_id): the task fails with this as its message.
  std::string undecodable{};
  // Set when the LAUNCH record was over this executor's size limit (`task` holds only the task_id):
  // the task fails (TASK_FAILED, not TASK_ERROR: the TaskInfo itself may be fine) with this message.
  std::string too_big{};
};
struct LaunchGroup {
  std::vector<::mesos::v1::TaskInfo> tasks;
};
struct Kill {
  std::string task_id;
  std::optional<Duration> grace;  // Kill.kill_policy.grace_period
};
struct Acknowledged {
  std::string task_id;
  std::string uuid;  // text form
  bool matched = false;
  bool terminal = false;
};
struct Shutdown {};
struct Heartbeat {};
struct AgentError {
  std::string message;
};
struct AgentMessage {
  std::size_t bytes = 0;
};
struct UnknownEvent {
  int type = 0;
};

// --- from the agent client ---
struct UpdateAccepted {  // the agent answered 202 (or took it in a SUBSCRIBE)
  std::string task_id;
  bool terminal = false;
};
struct UpdateRefused {  // the agent answered an UPDATE with an error retrying cannot change
  std::string task_id;
  bool terminal = false;
  std::string answer;
};
struct Disconnected {
  std::string reason;
};
struct AgentGone {  // no checkpointing, or the recovery timeout passed: the agent is lost for good
  std::string reason;
};

// --- from the launch steps (container engine, Vault, Sidecar seeds) ---
struct StepDone {
  LaunchStep step = LaunchStep::Pull;
  std::string container_id;                  // Create, Start
  std::string ip_address;                    // Start: the first network's IPv4 address
  PlanPtr plan{};                            // Pull: the create request, built and checked before Docker was asked
  SecretEnv secrets{};                       // Secrets
  std::vector<std::string> env{};            // Seeds: variables for the container ("SIDECAR_SEEDS=…")
  std::vector<ContainerNetwork> networks{};  // Start: every network joined, the main one first
};
struct StepFailed {
  LaunchStep step = LaunchStep::Pull;
  std::string message;
  bool task_invalid = false;  // the task asked for something it may not have (REASON_TASK_INVALID)
  // Create: the engine left the image's presence to the create (one round trip less when it is there,
  // as Docker's CLI does) and the create did not confirm it (no such image, or no answer): the launch
  // goes back to the pull, which asks (with its retries) and pulls.
  bool image_unconfirmed = false;
};
struct ContainerExited {
  std::optional<int> exit_code;  // nullopt: the outcome could not be read
  bool oom_killed = false;
  std::string error;        // why the outcome is unknown, or the daemon's State.Error
  std::string stderr_tail;  // last lines of the container's stderr
};

// --- from the Sidecar watchdog ---
struct HealthChanged {
  bool healthy = true;
};
struct WatchdogKill {
  std::string verdict;  // e.g. "UNHEALTHY 4 times in a row"
};

// --- from the health checker (TaskInfo.health_check) ---
struct HealthResult {
  bool healthy = false;
  std::string detail;  // why a check failed ("HTTP 503", "connection refused", "exit code 1")
};

// --- from the Vault module ---
struct CredentialsExpiring {
  std::string message;
};

// --- from the process ---
struct TimerFired {
  TimerId id = TimerId::TerminalAck;
};
struct Signal {
  int signo = 0;
};

}  // namespace ev

using Event =
    std::variant<ev::Subscribed, ev::Launch, ev::LaunchGroup, ev::Kill, ev::Acknowledged, ev::Shutdown, ev::Heartbeat,
                 ev::AgentError, ev::AgentMessage, ev::UnknownEvent, ev::UpdateAccepted, ev::UpdateRefused,
                 ev::Disconnected, ev::AgentGone, ev::StepDone, ev::StepFailed, ev::ContainerExited, ev::HealthChanged,
                 ev::WatchdogKill, ev::HealthResult, ev::CredentialsExpiring, ev::TimerFired, ev::Signal>;

// A short name of the event for logs ("LAUNCH", "container exited").
std::string describe(const Event& e);

}  // namespace executor
