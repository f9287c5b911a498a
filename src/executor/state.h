// The executor's state: one task's life from subscription to exit.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "executor/events.h"
#include "executor/launch.h"
#include "mesos/v1/mesos.pb.h"

namespace executor {

enum class Phase : unsigned char {
  Subscribing,         // before the first SUBSCRIBED
  Idle,                // subscribed, no task yet
  Launching,           // pull, secrets, create, start (LaunchStep says which is in flight)
  Running,             // container running, exit watched
  Draining,            // kill requested, Sidecar told to drain, waiting DrainWait
  Killing,             // stop requested, waiting for the container's exit
  TerminalUpdateSent,  // the task's terminal update is out; waiting for its ACK
  Exiting,             // Exit was emitted; nothing more happens
};

const char* to_string(Phase p);

// Why a kill was started; decides the terminal state and message.
enum class KillCause : unsigned char {
  None,
  Kill,
  Shutdown,
  Signal,
  StopSignal,  // SIGUSR1 to the executor: stop the container, report its own exit (the Go executor's way)
  Watchdog,
  CredentialsExpiring,
  AgentGone,
  MaxCompletion,  // TaskInfo.max_completion_time passed: stopped at once, TASK_FAILED
  HealthCheck     // TaskInfo.health_check failed consecutive_failures times: TASK_KILLED, unhealthy
};

struct State {
  Phase phase = Phase::Subscribing;
  LaunchStep step = LaunchStep::Pull;  // in flight while Launching (or Killing during a launch)
  bool step_in_flight = false;

  bool task_killing_state = false;
  std::optional<::mesos::v1::TaskInfo> task;
  std::string task_id;
  std::string container_id;
  std::string ip_address;
  std::vector<ContainerNetwork> networks;
  bool watchdog_enabled = false;
  // TaskInfo.health_check, as the Mesos Docker executor counts it.
  bool health_checked = false;          // checks started
  bool health_initializing = true;      // no success yet
  bool health_grace_over = false;       // grace_period_seconds since the checks started
  std::uint32_t health_failures = 0;    // consecutive counted failures
  std::optional<bool> health_reported;  // the last healthy flag sent
  // The launch's data, from the step that made it to the create that uses it.
  PlanPtr plan;
  SecretEnv secrets;  // never logged
  std::vector<std::string> extra_env;
  bool pulled_after_create = false;  // the create did not confirm the image once: the launch went back to the pull

  // TaskInfo.kill_policy.grace_period: the grace of every kill whose cause carries none of its own.
  std::optional<Duration> task_kill_grace;

  KillCause kill_cause = KillCause::None;
  std::string kill_detail;    // signal name, watchdog verdict, agent-gone reason…
  Duration kill_grace{};      // the container's SIGTERM→SIGKILL time once the stop is asked for
  Duration drain{};           // the Sidecar drain before the stop (0: none)
  bool killing_sent = false;  // TASK_KILLING goes out at most once
  int exit_code = 0;
  bool terminal_accepted = false;
  bool agent_gone = false;               // nobody will ever acknowledge anything: exit once reported
  bool shutdown_deadline_armed = false;  // armed once: a repeated SHUTDOWN or signal never moves it
};

}  // namespace executor
