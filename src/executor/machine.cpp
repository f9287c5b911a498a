// Transitions of the executor state machine. Every (phase, event) pair ends in a state change, an
// action, or at least a log line saying why nothing happens.
#include "executor/machine.h"

#include <fmt/format.h>

#include <algorithm>
#include <csignal>
#include <cstring>

#include "executor/task_rules.h"

namespace executor {

namespace v1 = ::mesos::v1;

const char* to_string(Phase p) {
  switch (p) {
    case Phase::Subscribing: return "subscribing";
    case Phase::Idle: return "idle";
    case Phase::Launching: return "launching";
    case Phase::Running: return "running";
    case Phase::Draining: return "draining";
    case Phase::Killing: return "killing";
    case Phase::TerminalUpdateSent: return "terminal-update-sent";
    case Phase::Exiting: return "exiting";
  }
  return "?";
}

const char* to_string(TimerId t) {
  switch (t) {
    case TimerId::TerminalAck: return "terminal-ack";
    case TimerId::DrainWait: return "drain-wait";
    case TimerId::ShutdownDeadline: return "shutdown-deadline";
    case TimerId::MaxCompletion: return "max-completion";
    case TimerId::HealthGrace: return "health-grace";
  }
  return "?";
}

const char* to_string(LaunchStep s) {
  switch (s) {
    case LaunchStep::Pull: return "pull";
    case LaunchStep::Secrets: return "secrets";
    case LaunchStep::Seeds: return "seeds";
    case LaunchStep::Create: return "create";
    case LaunchStep::Start: return "start";
  }
  return "?";
}

namespace {

struct Describe {
  std::string operator()(const ev::Subscribed&) const { return "SUBSCRIBED"; }
  std::string operator()(const ev::Launch& e) const { return fmt::format("LAUNCH {}", e.task.task_id().value()); }
  std::string operator()(const ev::LaunchGroup&) const { return "LAUNCH_GROUP"; }
  std::string operator()(const ev::Kill& e) const { return fmt::format("KILL {}", e.task_id); }
  std::string operator()(const ev::Acknowledged& e) const { return fmt::format("ACKNOWLEDGED {}", e.uuid); }
  std::string operator()(const ev::Shutdown&) const { return "SHUTDOWN"; }
  std::string operator()(const ev::Heartbeat&) const { return "HEARTBEAT"; }
  std::string operator()(const ev::AgentError&) const { return "ERROR"; }
  std::string operator()(const ev::AgentMessage&) const { return "MESSAGE"; }
  std::string operator()(const ev::UnknownEvent& e) const { return fmt::format("unknown event type {}", e.type); }
  std::string operator()(const ev::UpdateAccepted&) const { return "update accepted"; }
  std::string operator()(const ev::UpdateRefused&) const { return "update refused"; }
  std::string operator()(const ev::Disconnected&) const { return "disconnected"; }
  std::string operator()(const ev::AgentGone&) const { return "agent gone"; }
  std::string operator()(const ev::StepDone& e) const { return fmt::format("{} done", to_string(e.step)); }
  std::string operator()(const ev::StepFailed& e) const { return fmt::format("{} failed", to_string(e.step)); }
  std::string operator()(const ev::ContainerExited&) const { return "container exited"; }
  std::string operator()(const ev::HealthChanged&) const { return "health changed"; }
  std::string operator()(const ev::WatchdogKill&) const { return "watchdog kill"; }
  std::string operator()(const ev::HealthResult& e) const {
    return e.healthy ? "health check passed" : "health check failed";
  }
  std::string operator()(const ev::CredentialsExpiring&) const { return "credentials expiring"; }
  std::string operator()(const ev::TimerFired& e) const { return fmt::format("timer {}", to_string(e.id)); }
  std::string operator()(const ev::Signal& e) const { return fmt::format("signal {}", e.signo); }
};

std::string signal_name(int signo) {
  switch (signo) {
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGHUP: return "SIGHUP";
    case SIGQUIT: return "SIGQUIT";
    case SIGUSR1: return "SIGUSR1";
    default: return fmt::format("signal {}", signo);
  }
}

// The Go executor's exit code after SIGTERM or SIGINT (main.go handleSignals: os.Exit(130)).
constexpr int kSignalExitCode = 130;

// Go's os.Signal String(): what the Go executor's signal line names.
std::string go_signal_name(int signo) {
  switch (signo) {
    case SIGTERM: return "terminated";
    case SIGINT: return "interrupt";
    case SIGHUP: return "hangup";
    case SIGQUIT: return "quit";
    case SIGUSR1: return "user defined signal 1";
    default: return fmt::format("signal {}", signo);
  }
}

std::string fmt_duration(Duration d) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  return fmt::format("{}ms", ms);
}

}  // namespace

std::string describe(const Event& e) { return std::visit(Describe{}, e); }

// One transition: the config, the state it mutates, and the actions it emits.
class Machine::Step {
 public:
  Step(const MachineConfig& cfg, State& s, std::vector<Action>& out) : cfg_(cfg), s_(s), out_(out) {}

  void on(const ev::Subscribed& e) {
    s_.task_killing_state = e.task_killing_state;
    if (s_.phase == Phase::Subscribing) {
      s_.phase = Phase::Idle;
      log(LogLevel::Info, fmt::format("subscribed to the agent on {}", e.agent_hostname));
    } else {
      log(LogLevel::Info, fmt::format("re-subscribed to the agent while {}", to_string(s_.phase)));
    }
  }

  void on(const ev::Launch& e) {
    const std::string& id = e.task.task_id().value();
    if (s_.phase == Phase::Subscribing || s_.phase == Phase::Idle) {
      if (!e.too_big.empty() && !id.empty()) {
        s_.task = e.task;
        s_.task_id = id;
        log(LogLevel::Error, fmt::format("task {} cannot be launched: {}", id, e.too_big));
        update(id, v1::TASK_FAILED, v1::TaskStatus::REASON_CONTAINER_LAUNCH_FAILED, e.too_big);
        s_.phase = Phase::TerminalUpdateSent;
        return;
      }
      start_launch(e.task, e.undecodable);
    } else if (id == s_.task_id) {
      log(LogLevel::Warn, fmt::format("duplicate LAUNCH of task {} ignored", id));
    } else if (id.empty()) {
      log(LogLevel::Error, "LAUNCH without a task_id ignored");
    } else {
      log(LogLevel::Warn,
          fmt::format("second LAUNCH (task {}) refused: this executor already runs task {}", id, s_.task_id));
      update(id, v1::TASK_ERROR, v1::TaskStatus::REASON_TASK_INVALID,
             fmt::format("sidecar-executor runs one task per executor and already runs task {}", s_.task_id));
    }
  }

  void on(const ev::LaunchGroup& e) {
    log(LogLevel::Warn,
        fmt::format("LAUNCH_GROUP of {} task(s) refused: task groups are not supported", e.tasks.size()));
    for (const auto& t : e.tasks) {
      if (t.task_id().value().empty()) continue;
      update(t.task_id().value(), v1::TASK_ERROR, v1::TaskStatus::REASON_TASK_GROUP_INVALID,
             "sidecar-executor runs one Docker task per executor; task groups (LAUNCH_GROUP) are not supported");
    }
  }

  // Grace precedence as in the official executors (src/docker/executor.cpp, src/launcher/executor.cpp):
  // the KILL's kill_policy, else the TaskInfo's, else EXECUTOR_KILL_TASK_TIMEOUT. A policy is an upper
  // bound for the drain and the stop together.
  void on(const ev::Kill& e) {
    if (s_.task_id.empty() || e.task_id != s_.task_id) {
      log(LogLevel::Warn, fmt::format("KILL for unknown task {} ignored", e.task_id));
      return;
    }
    switch (s_.phase) {
      case Phase::Launching:
      case Phase::Running: {
        log(LogLevel::Info, fmt::format("Killing task: {}", e.task_id));  // the Go executor's line
        const std::optional<Duration> budget = e.grace ? e.grace : s_.task_kill_grace;
        log(LogLevel::Info,
            fmt::format("KILL for task {} ({})", e.task_id,
                        budget ? fmt::format("grace {}", fmt_duration(*budget))
                               : fmt::format("no kill policy: {} drain, grace {}", fmt_duration(cfg_.draining_duration),
                                             fmt_duration(cfg_.kill_grace))));
        begin_kill(KillCause::Kill, "killed by the scheduler", plan_kill(budget));
        return;
      }
      case Phase::Draining:
      case Phase::Killing: shorten_kill(e); return;
      default:
        log(LogLevel::Info, fmt::format("KILL for task {} ignored: its terminal update is already out", e.task_id));
        return;
    }
  }

  void on(const ev::Shutdown&) { shutdown(KillCause::Shutdown, "the agent shut the executor down"); }

  // SIGTERM, SIGINT, SIGHUP, SIGQUIT: a shutdown, and the exit code 130 of the Go executor (main.go
  // handleSignals: "Ctrl-C received or equivalent"). SIGUSR1: what the Go executor does with its watch
  // loop running — stop the container and report the container's own exit, then exit 0 — also in the
  // Sidecar backoff (where Go leaves the container running).
  void on(const ev::Signal& e) {
    const std::string why = fmt::format("the executor received {}", signal_name(e.signo));
    log(LogLevel::Warn, fmt::format("Received signal '{}', attempting clean shutdown", go_signal_name(e.signo)));
    if (e.signo != SIGUSR1) {
      s_.exit_code = kSignalExitCode;
      shutdown(KillCause::Signal, why);
      return;
    }
    switch (s_.phase) {
      case Phase::Running:
        log(LogLevel::Info, fmt::format("{}: stopping task {} and reporting its exit", why, s_.task_id));
        begin_kill(KillCause::StopSignal, why, KillPlan{Duration{0}, s_.task_kill_grace.value_or(cfg_.kill_grace)});
        return;
      case Phase::Draining:
      case Phase::Killing:
        log(LogLevel::Info, fmt::format("{} while the task is being stopped: exiting once it is reported", why));
        return;
      default:
        shutdown(KillCause::Signal, why);  // nothing runs yet, or it is over: as SIGTERM, exit code 0
        return;
    }
  }

  void on(const ev::Acknowledged& e) {
    if (!e.matched) {
      log(LogLevel::Warn, fmt::format("ACKNOWLEDGED for unknown update {} of task {} ignored", e.uuid, e.task_id));
      return;
    }
    log(LogLevel::Debug, fmt::format("update {} of task {} acknowledged", e.uuid, e.task_id));
    if (e.terminal && e.task_id == s_.task_id && s_.phase == Phase::TerminalUpdateSent) {
      log(LogLevel::Info, "terminal update acknowledged: exiting");
      exit_after_terminal(s_.exit_code);
    }
  }

  void on(const ev::UpdateAccepted& e) {
    if (!e.terminal || e.task_id != s_.task_id) return;
    s_.terminal_accepted = true;
    if (s_.phase == Phase::TerminalUpdateSent)
      out_.emplace_back(act::StartTimer{TimerId::TerminalAck, cfg_.terminal_ack_timeout});
  }

  // The agent refused an update for good. A refused terminal update can never be acknowledged: waiting
  // for it would keep the executor (and nothing else) alive for ever.
  void on(const ev::UpdateRefused& e) {
    log(LogLevel::Error, fmt::format("the agent refused an update of task {} for good ({})", e.task_id, e.answer));
    if (e.terminal && e.task_id == s_.task_id && s_.phase == Phase::TerminalUpdateSent) exit(1);
  }

  void on(const ev::Heartbeat&) { log(LogLevel::Debug, "heartbeat from the agent"); }
  void on(const ev::AgentError& e) {
    log(LogLevel::Warn, fmt::format("the agent reported an error: {}; re-subscribing", e.message));
  }
  void on(const ev::AgentMessage& e) {
    log(LogLevel::Info, fmt::format("framework MESSAGE of {} bytes ignored", e.bytes));
  }
  void on(const ev::UnknownEvent& e) { log(LogLevel::Info, fmt::format("event of unknown type {} ignored", e.type)); }
  void on(const ev::Disconnected& e) {
    log(LogLevel::Warn, fmt::format("disconnected from the agent while {}: {}", to_string(s_.phase), e.reason));
  }

  void on(const ev::AgentGone& e) {
    log(LogLevel::Error, fmt::format("the agent is gone: {}", e.reason));
    switch (s_.phase) {
      case Phase::Subscribing:
      case Phase::Idle: exit(1); return;
      case Phase::TerminalUpdateSent: exit(s_.terminal_accepted ? 0 : 1); return;
      case Phase::Draining:
        // No drain is worth waiting for now: stop at once.
        s_.agent_gone = true;
        s_.exit_code = 1;
        out_.emplace_back(act::CancelTimer{TimerId::DrainWait});
        out_.emplace_back(act::StopContainer{s_.container_id, s_.kill_grace});
        s_.phase = Phase::Killing;
        return;
      case Phase::Killing:
        s_.agent_gone = true;
        s_.exit_code = 1;
        return;
      case Phase::Launching:
      case Phase::Running:
        s_.agent_gone = true;
        s_.exit_code = 1;
        begin_kill(KillCause::AgentGone, e.reason, KillPlan{Duration{0}, s_.task_kill_grace.value_or(cfg_.kill_grace)});
        return;
      case Phase::Exiting: return;
    }
  }

  void on(const ev::StepDone& e) {
    if (s_.phase == Phase::Launching && s_.step_in_flight && e.step == s_.step) {
      advance_launch(e);
      return;
    }
    if (s_.phase == Phase::Killing && s_.step_in_flight && e.step == s_.step) {
      s_.step_in_flight = false;
      if (e.step == LaunchStep::Create) {
        s_.container_id = e.container_id;
        out_.emplace_back(act::RemoveContainer{e.container_id});
        finish_killed_during_launch();
      } else if (e.step == LaunchStep::Start) {
        out_.emplace_back(act::WatchContainer{s_.container_id});
        out_.emplace_back(act::StopContainer{s_.container_id, s_.kill_grace});
      } else {
        finish_killed_during_launch();
      }
      return;
    }
    log(LogLevel::Warn, fmt::format("{} result in phase {} ignored", to_string(e.step), to_string(s_.phase)));
    if (e.step == LaunchStep::Create && !e.container_id.empty()) {
      out_.emplace_back(act::RemoveContainer{e.container_id});  // never leave a container behind
    }
  }

  void on(const ev::StepFailed& e) {
    if (s_.phase == Phase::Launching && s_.step_in_flight && e.step == s_.step && e.step == LaunchStep::Create &&
        e.image_unconfirmed && !s_.pulled_after_create && s_.task) {
      // The engine left the image's presence to the create, which did not confirm it: the pull, then
      // every step again (a kill now is reported at once, as during any pull).
      s_.pulled_after_create = true;
      log(LogLevel::Info, fmt::format("task {}: the create did not confirm the image: back to the pull", s_.task_id));
      const auto& docker = s_.task->container().docker();
      out_.emplace_back(act::PullImage{docker.image(), docker.force_pull_image(), *s_.task, true});
      s_.step = LaunchStep::Pull;
      return;
    }
    if (s_.phase == Phase::Launching && s_.step_in_flight && e.step == s_.step) {
      s_.step_in_flight = false;
      drop_launch_data();
      log(LogLevel::Error, e.task_invalid
                               ? fmt::format("task {} is invalid: {}", s_.task_id, e.message)
                               : fmt::format("task {}: {} failed: {}", s_.task_id, to_string(e.step), e.message));
      if (e.step == LaunchStep::Start && !s_.container_id.empty()) {
        out_.emplace_back(act::RemoveContainer{s_.container_id});
      }
      if (e.task_invalid) {
        update(s_.task_id, v1::TASK_ERROR, v1::TaskStatus::REASON_TASK_INVALID, e.message);
      } else {
        update(s_.task_id, v1::TASK_FAILED, v1::TaskStatus::REASON_CONTAINER_LAUNCH_FAILED,
               fmt::format("{} failed: {}", to_string(e.step), e.message));
      }
      s_.phase = Phase::TerminalUpdateSent;
      return;
    }
    if (s_.phase == Phase::Killing && s_.step_in_flight && e.step == s_.step) {
      s_.step_in_flight = false;
      log(LogLevel::Info, fmt::format("{} failed while the task was being killed: {}", to_string(e.step), e.message));
      finish_killed_during_launch();
      return;
    }
    log(LogLevel::Warn,
        fmt::format("{} failure in phase {} ignored: {}", to_string(e.step), to_string(s_.phase), e.message));
  }

  void on(const ev::ContainerExited& e) {
    switch (s_.phase) {
      case Phase::Draining:
        // Ended by itself before the stop was asked for: its own outcome, as the official executors
        // count a task killed only once they issued the stop (src/docker/executor.cpp `killed`).
        out_.emplace_back(act::CancelTimer{TimerId::DrainWait});
        log(LogLevel::Info, "container exited during the drain wait, before it was asked to stop");
        own_exit(e);
        return;
      case Phase::Running:
        if (s_.watchdog_enabled) out_.emplace_back(act::StopWatchdog{});
        if (s_.health_checked) out_.emplace_back(act::StopHealthChecks{});
        own_exit(e);
        return;
      case Phase::Killing: killed(e); return;
      default: log(LogLevel::Warn, fmt::format("container exit in phase {} ignored", to_string(s_.phase)));
    }
  }

  void on(const ev::HealthChanged& e) {
    if (s_.phase != Phase::Running) {
      log(LogLevel::Debug, fmt::format("health change in phase {} not reported", to_string(s_.phase)));
      return;
    }
    const char* verdict = e.healthy ? "healthy" : "unhealthy";
    log(LogLevel::Info, fmt::format("task {}: Sidecar reports the service {}", s_.task_id, verdict));
    if (s_.health_checked) return;  // the healthy flag follows the task's own health check
    act::SendUpdate u = base_update(s_.task_id, v1::TASK_RUNNING);
    u.healthy = e.healthy;
    u.reason = v1::TaskStatus::REASON_TASK_HEALTH_CHECK_STATUS_UPDATED;
    u.message = fmt::format("Sidecar reports the service {}", verdict);
    out_.emplace_back(std::move(u));
  }

  void on(const ev::WatchdogKill& e) {
    if (s_.phase != Phase::Running) {
      log(LogLevel::Info, fmt::format("watchdog kill in phase {} ignored", to_string(s_.phase)));
      return;
    }
    log(LogLevel::Warn, fmt::format("task {}: Sidecar health checks failed ({}): killing", s_.task_id, e.verdict));
    begin_kill(KillCause::Watchdog, e.verdict, plan_kill(s_.task_kill_grace));
  }

  // As the Mesos Docker executor's health checker (src/checks/health_checker.cpp): a failure before the
  // first success is ignored while the grace period runs; every counted failure sends healthy=false;
  // the first success, and the first after failures, send healthy=true; consecutive_failures counted
  // failures kill the task (its terminal update says unhealthy).
  void on(const ev::HealthResult& e) {
    if (s_.phase != Phase::Running || !s_.health_checked) {
      log(LogLevel::Debug, fmt::format("health check result in phase {} ignored", to_string(s_.phase)));
      return;
    }
    if (e.healthy) {
      s_.health_failures = 0;
      const bool report = s_.health_initializing || s_.health_reported != std::optional<bool>(true);
      s_.health_initializing = false;
      if (report) health_update(true, "health check passed");
      return;
    }
    if (s_.health_initializing && !s_.health_grace_over) {
      log(LogLevel::Info,
          fmt::format("task {}: health check failed during the grace period (ignored): {}", s_.task_id, e.detail));
      return;
    }
    ++s_.health_failures;
    const std::uint32_t limit = s_.task ? s_.task->health_check().consecutive_failures() : 3;
    log(LogLevel::Warn,
        fmt::format("task {}: health check failed ({} of {}): {}", s_.task_id, s_.health_failures, limit, e.detail));
    health_update(false, fmt::format("health check failed: {}", e.detail));
    if (s_.health_failures >= limit) {
      begin_kill(KillCause::HealthCheck,
                 fmt::format("killed after {} consecutive failed health checks: {}", s_.health_failures, e.detail),
                 plan_kill(s_.task_kill_grace));
    }
  }

  void on(const ev::CredentialsExpiring& e) {
    if (s_.phase != Phase::Running && s_.phase != Phase::Launching) {
      log(LogLevel::Info, fmt::format("credential expiry in phase {} ignored", to_string(s_.phase)));
      return;
    }
    log(LogLevel::Warn, fmt::format("task {}: {}: stopping the task", s_.task_id, e.message));
    begin_kill(KillCause::CredentialsExpiring, e.message, plan_kill(s_.task_kill_grace));
  }

  void on(const ev::TimerFired& e) {
    switch (e.id) {
      case TimerId::TerminalAck:
        if (s_.phase == Phase::TerminalUpdateSent && s_.terminal_accepted) {
          log(LogLevel::Warn, fmt::format("the agent accepted the terminal update but it was not acknowledged "
                                          "within {}: exiting",
                                          fmt_duration(cfg_.terminal_ack_timeout)));
          exit_after_terminal(s_.exit_code);
          return;
        }
        break;
      case TimerId::DrainWait:
        if (s_.phase == Phase::Draining) {
          log(LogLevel::Info, "drain wait over: stopping the container");
          out_.emplace_back(act::StopContainer{s_.container_id, s_.kill_grace});
          s_.phase = Phase::Killing;
          return;
        }
        break;
      case TimerId::HealthGrace: s_.health_grace_over = true; return;
      case TimerId::MaxCompletion:
        // As the Mesos Docker executor (taskCompletionTimeout): a task not already being killed is
        // stopped without grace and without TASK_KILLING, and fails.
        if (s_.phase == Phase::Launching || s_.phase == Phase::Running) {
          const std::string detail =
              fmt::format("max_completion_time of {} reached", fmt_duration(max_completion_time()));
          log(LogLevel::Warn, fmt::format("task {}: {}: stopping it at once", s_.task_id, detail));
          begin_kill(KillCause::MaxCompletion, detail, KillPlan{Duration{0}, Duration{0}});
          return;
        }
        break;
      case TimerId::ShutdownDeadline:
        log(LogLevel::Warn, fmt::format("shutdown grace period ends while {}: exiting", to_string(s_.phase)));
        out_.emplace_back(act::Exit{s_.exit_code, true});
        s_.phase = Phase::Exiting;
        return;
    }
    log(LogLevel::Debug, fmt::format("timer {} in phase {} ignored", to_string(e.id), to_string(s_.phase)));
  }

  void log(LogLevel level, std::string text) { out_.emplace_back(act::Log{level, std::move(text)}); }

 private:
  act::SendUpdate base_update(const std::string& task_id, v1::TaskState state) const {
    act::SendUpdate u;
    u.task_id = task_id;
    u.state = state;
    if (task_id == s_.task_id) {
      u.container_id = s_.container_id;
      u.ip_address = s_.ip_address;
      u.networks = s_.networks;
    }
    return u;
  }

  void update(const std::string& task_id, v1::TaskState state, std::optional<v1::TaskStatus::Reason> reason,
              std::string message) {
    act::SendUpdate u = base_update(task_id, state);
    u.reason = reason;
    u.message = std::move(message);
    out_.emplace_back(std::move(u));
  }

  void exit(int code) {
    out_.emplace_back(act::Exit{code});
    s_.phase = Phase::Exiting;
  }

  // The agent has the terminal update. EXECUTOR_REMOVE_CONTAINER: the container goes now (the engine
  // lets the failure-log copy and the log relay finish first); the exit waits for the removal.
  void exit_after_terminal(int code) {
    // Not once the agent's shutdown grace runs: what is left of it is for the exit (Vault's revocations).
    if (cfg_.remove_container && !s_.container_id.empty() && !s_.shutdown_deadline_armed) {
      log(LogLevel::Info,
          fmt::format("removing container {} (EXECUTOR_REMOVE_CONTAINER)", s_.container_id.substr(0, 12)));
      out_.emplace_back(act::RemoveContainer{s_.container_id});
    }
    exit(code);
  }

  void start_launch(const v1::TaskInfo& task, const std::string& undecodable) {
    const std::string& id = task.task_id().value();
    if (id.empty()) {
      log(LogLevel::Error, "LAUNCH without a task_id ignored: no status update can name it");
      return;
    }
    s_.task = task;
    s_.task_id = id;
    const std::string problem = undecodable.empty() ? validate_task(task) : undecodable;
    if (!problem.empty()) {
      log(LogLevel::Error, fmt::format("task {} is invalid: {}", id, problem));
      update(id, v1::TASK_ERROR, v1::TaskStatus::REASON_TASK_INVALID, problem);
      s_.phase = Phase::TerminalUpdateSent;
      return;
    }
    const auto& docker = task.container().docker();
    s_.watchdog_enabled = sidecar_discover(task);
    if (task.has_kill_policy() && task.kill_policy().has_grace_period()) {
      s_.task_kill_grace = Duration(std::max<std::int64_t>(0, task.kill_policy().grace_period().nanoseconds()));
    }
    // The Go executor's lines (callbacks.go LaunchTask), which operators grep for, then ours.
    log(LogLevel::Info, fmt::format("Launching task {} with command '{}'", task.name(), task.command().value()));
    log(LogLevel::Info, fmt::format("Task ID {}", id));
    log(LogLevel::Info, fmt::format("Using image '{}'", docker.image()));
    update(id, v1::TASK_STARTING, std::nullopt, "");
    // Counted from the launch, as the Mesos Docker executor counts it (its image pull happens before,
    // in the agent; ours is part of the launch).
    if (max_completion_time() > Duration{0}) {
      out_.emplace_back(act::StartTimer{TimerId::MaxCompletion, max_completion_time()});
    }
    out_.emplace_back(act::PullImage{docker.image(), docker.force_pull_image(), task});
    s_.phase = Phase::Launching;
    s_.step = LaunchStep::Pull;
    s_.step_in_flight = true;
  }

  // The plan, the secrets and the seeds go to the engine together; the secrets leave the state then.
  void create_container() {
    s_.step = LaunchStep::Create;
    out_.emplace_back(act::CreateContainer{s_.plan, std::move(s_.secrets), std::move(s_.extra_env)});
    drop_launch_data();
  }

  // The checks start once the container runs; the grace period counts from then (as the Mesos
  // checker's start time).
  void start_health_checks() {
    const auto& hc = s_.task->health_check();
    s_.health_checked = true;
    out_.emplace_back(act::StartHealthChecks{s_.container_id, hc});
    const double grace = hc.grace_period_seconds();
    if (grace > 0) {
      out_.emplace_back(act::StartTimer{TimerId::HealthGrace,
                                        std::chrono::duration_cast<Duration>(std::chrono::duration<double>(grace))});
    } else {
      s_.health_grace_over = true;
    }
    log(LogLevel::Info, fmt::format("task {}: {} health checks start (first in {} s, every {} s)", s_.task_id,
                                    v1::HealthCheck::Type_Name(hc.type()), hc.delay_seconds(), hc.interval_seconds()));
  }

  void health_update(bool healthy, std::string message) {
    s_.health_reported = healthy;
    act::SendUpdate u = base_update(s_.task_id, v1::TASK_RUNNING);
    u.healthy = healthy;
    u.reason = v1::TaskStatus::REASON_TASK_HEALTH_CHECK_STATUS_UPDATED;
    u.message = std::move(message);
    out_.emplace_back(std::move(u));
  }

  // TaskInfo.max_completion_time (0: none), capped at 100 years so a timer's deadline cannot overflow.
  Duration max_completion_time() const {
    if (!s_.task || !s_.task->has_max_completion_time()) return Duration{0};
    constexpr std::int64_t kCap = std::int64_t{100} * 365 * 86400 * 1000000000;
    return Duration(std::clamp<std::int64_t>(s_.task->max_completion_time().nanoseconds(), 0, kCap));
  }

  // The host Sidecar knows the task by: TASK_HOST of the task's environment (Singularity sets it),
  // else the executor's (MachineConfig::host).
  std::string task_host() const {
    if (s_.task) {
      for (const auto& v : s_.task->executor().command().environment().variables()) {
        if (v.name() == "TASK_HOST" && !v.value().empty()) return v.value();
      }
    }
    return cfg_.host;
  }

  void advance_launch(const ev::StepDone& e) {
    switch (e.step) {
      case LaunchStep::Pull:
        s_.plan = e.plan;
        s_.step = LaunchStep::Secrets;
        out_.emplace_back(act::ResolveSecrets{s_.plan ? s_.plan->env() : std::vector<std::string>{}});
        return;
      case LaunchStep::Secrets:
        s_.secrets = e.secrets;
        if (cfg_.seed_sidecar) {
          s_.step = LaunchStep::Seeds;
          out_.emplace_back(act::FetchSeeds{});
          return;
        }
        create_container();
        return;
      case LaunchStep::Seeds:
        s_.extra_env = e.env;
        create_container();
        return;
      case LaunchStep::Create:
        s_.container_id = e.container_id;
        s_.step = LaunchStep::Start;
        log(LogLevel::Info, fmt::format("Starting container with ID {}", e.container_id.substr(0, 12)));
        out_.emplace_back(act::StartContainer{e.container_id, s_.task ? s_.task->container().docker().image() : ""});
        return;
      case LaunchStep::Start:
        s_.step_in_flight = false;
        s_.ip_address = e.ip_address;
        s_.networks = e.networks;
        s_.phase = Phase::Running;
        log(LogLevel::Info, fmt::format("task {}: container {} running", s_.task_id, s_.container_id.substr(0, 12)));
        log(LogLevel::Info, fmt::format("Monitoring Mesos task {} for container {} [checkSidecar: {}]", s_.task_id,
                                        s_.container_id.substr(0, 12), s_.watchdog_enabled));
        log(LogLevel::Info, "Launched Sidecar tasks... ready for Mesos instructions");
        update(s_.task_id, v1::TASK_RUNNING, std::nullopt, "");
        out_.emplace_back(act::WatchContainer{s_.container_id});
        if (s_.watchdog_enabled) out_.emplace_back(act::StartWatchdog{s_.container_id, task_host()});
        if (s_.task && s_.task->has_health_check()) start_health_checks();
        return;
    }
  }

  // SHUTDOWN and signals: stop the task and exit, all within the agent's shutdown grace period
  // (counted by the agent from its SHUTDOWN; src/slave/slave.cpp `shutdownExecutor`). As the official
  // executors do, the executor is gone 1 s before the agent's deadline and the terminal update has 1 s
  // before that; the drain and the stop share what is left.
  void shutdown(KillCause cause, const std::string& why) {
    switch (s_.phase) {
      case Phase::Subscribing:
      case Phase::Idle:
        log(LogLevel::Info, fmt::format("{} with no task running: exiting", why));
        exit(s_.exit_code);
        return;
      case Phase::TerminalUpdateSent:
        // The terminal update may still be queued or in flight: exit once the agent has it.
        log(LogLevel::Info, fmt::format("{} after the terminal update: exiting once the agent acknowledges it", why));
        arm_shutdown_deadline();
        return;
      case Phase::Draining: {
        const Duration window = shutdown_stop_window();
        log(LogLevel::Info, fmt::format("{} during the drain wait: stopping the container now", why));
        s_.kill_grace = std::min(s_.kill_grace, window);
        out_.emplace_back(act::CancelTimer{TimerId::DrainWait});
        out_.emplace_back(act::StopContainer{s_.container_id, s_.kill_grace});
        s_.phase = Phase::Killing;
        arm_shutdown_deadline();
        return;
      }
      case Phase::Killing: {
        log(LogLevel::Info, fmt::format("{} while the container is stopping", why));
        const Duration window = shutdown_stop_window();
        if (window < s_.kill_grace) {
          s_.kill_grace = window;  // a create or start still in flight stops with it once it reports
          if (!s_.step_in_flight) out_.emplace_back(act::StopContainer{s_.container_id, s_.kill_grace});
        }
        arm_shutdown_deadline();
        return;
      }
      case Phase::Launching:
      case Phase::Running:
        log(LogLevel::Info, fmt::format("{}: stopping task {}", why, s_.task_id));
        begin_kill(cause, why, plan_kill(shutdown_stop_window()));
        arm_shutdown_deadline();
        return;
      case Phase::Exiting: return;
    }
  }

  // The official margins (src/launcher/executor.cpp, src/docker/executor.cpp: the task gets the grace
  // less the 1 s reap interval and 1 s more), scaled down for grace periods under 4 s.
  Duration shutdown_margin() const { return std::min<Duration>(std::chrono::seconds(1), cfg_.shutdown_grace / 4); }
  Duration shutdown_deadline() const { return std::max(Duration{0}, cfg_.shutdown_grace - shutdown_margin()); }
  Duration shutdown_stop_window() const { return std::max(Duration{0}, shutdown_deadline() - shutdown_margin()); }
  // Counted from the first SHUTDOWN (or signal): the agent's own clock does not restart either.
  void arm_shutdown_deadline() {
    if (s_.shutdown_deadline_armed) return;
    s_.shutdown_deadline_armed = true;
    out_.emplace_back(act::StartTimer{TimerId::ShutdownDeadline, shutdown_deadline()});
  }

  // How a kill spends its time. Without a budget (no kill policy anywhere): the Go executor's drain,
  // then EXECUTOR_KILL_TASK_TIMEOUT. With one, drain + stop fit inside it: the stop keeps up to
  // EXECUTOR_KILL_TASK_TIMEOUT, the drain is shortened first, and the stop gets whatever the drain leaves.
  struct KillPlan {
    Duration drain{};
    Duration stop{};
  };
  KillPlan plan_kill(std::optional<Duration> budget) const {
    if (!budget) return {cfg_.draining_duration, cfg_.kill_grace};
    const Duration total = std::max(Duration{0}, *budget);
    const Duration drain = std::min(cfg_.draining_duration, total - std::min(total, cfg_.kill_grace));
    return {drain, total - drain};
  }

  // A KILL while the task is already being killed is a retry: it may only bring the end closer.
  void shorten_kill(const ev::Kill& e) {
    if (!e.grace) {
      log(LogLevel::Info, fmt::format("KILL for task {} again: it is already being killed", e.task_id));
      return;
    }
    const Duration grace = std::max(Duration{0}, *e.grace);
    if (s_.phase == Phase::Draining && grace < s_.drain + s_.kill_grace) {
      log(LogLevel::Info,
          fmt::format("KILL for task {} again, grace {}: the drain is cut short", e.task_id, fmt_duration(grace)));
      send_killing_once();
      s_.kill_grace = std::min(s_.kill_grace, grace);
      out_.emplace_back(act::CancelTimer{TimerId::DrainWait});
      out_.emplace_back(act::StopContainer{s_.container_id, s_.kill_grace});
      s_.phase = Phase::Killing;
      return;
    }
    if (s_.phase == Phase::Killing && grace < s_.kill_grace) {
      log(LogLevel::Info, fmt::format("KILL for task {} again: grace shortened to {}", e.task_id, fmt_duration(grace)));
      send_killing_once();
      s_.kill_grace = grace;  // a create or start still in flight stops with it once it reports
      if (!s_.step_in_flight) out_.emplace_back(act::StopContainer{s_.container_id, s_.kill_grace});
      return;
    }
    log(LogLevel::Info, fmt::format("KILL for task {} again with grace {}: the kill under way ends sooner", e.task_id,
                                    fmt_duration(grace)));
  }

  void send_killing_once() {
    if (!s_.task_killing_state || s_.killing_sent) return;
    s_.killing_sent = true;
    update(s_.task_id, v1::TASK_KILLING, std::nullopt, s_.kill_detail);
  }

  void begin_kill(KillCause cause, const std::string& detail, KillPlan plan) {
    s_.kill_cause = cause;
    s_.kill_detail = detail;
    s_.kill_grace = plan.stop;
    s_.drain = plan.drain;
    // As the Mesos Docker executor, whose every kill (KILL, SHUTDOWN, a failing health check) goes
    // through killTask: TASK_KILLING first, with the capability. Not when the agent is gone (nobody to
    // tell) nor for SIGUSR1 (the Go executor's stop, whose outcome is the container's own).
    // Nor for max_completion_time (the Mesos Docker executor sends none then either).
    if (cause != KillCause::AgentGone && cause != KillCause::StopSignal && cause != KillCause::MaxCompletion) {
      send_killing_once();
    }

    if (s_.phase == Phase::Launching) {
      if (s_.step == LaunchStep::Pull || s_.step == LaunchStep::Secrets || s_.step == LaunchStep::Seeds) {
        // Nothing exists yet: report at once; the pull's late result is ignored.
        s_.step_in_flight = false;
        s_.phase = Phase::Killing;
        finish_killed_during_launch();
      } else {
        s_.phase = Phase::Killing;  // wait for create/start to report, then clean up
      }
      return;
    }
    if (s_.phase != Phase::Running) return;

    if (s_.watchdog_enabled) out_.emplace_back(act::StopWatchdog{});
    if (s_.health_checked) out_.emplace_back(act::StopHealthChecks{});
    if (!s_.watchdog_enabled) s_.drain = Duration{0};
    if (s_.drain > Duration{0}) {
      log(LogLevel::Info, fmt::format("draining task {} in Sidecar for {}, then stopping it with grace {}", s_.task_id,
                                      fmt_duration(s_.drain), fmt_duration(s_.kill_grace)));
      out_.emplace_back(act::Drain{s_.container_id});
      out_.emplace_back(act::StartTimer{TimerId::DrainWait, s_.drain});
      s_.phase = Phase::Draining;
      return;
    }
    out_.emplace_back(act::StopContainer{s_.container_id, s_.kill_grace});
    s_.phase = Phase::Killing;
  }

  // After SIGUSR1 the container's own exit decides, with the Go executor's mapping (executor.go
  // handleContainerExit, its current form: the POSIX "killed by a signal" codes): 0 → FINISHED,
  // 129–165 → KILLED, anything else → FAILED.
  TerminalOutcome stop_signal_outcome(const ev::ContainerExited& e) const {
    TerminalOutcome o;
    if (!e.exit_code) {
      o.state = v1::TASK_FAILED;
      o.message = fmt::format("{}; container outcome unknown: {}", s_.kill_detail, e.error);
      return o;
    }
    const int code = *e.exit_code;
    o.state = code == 0 ? v1::TASK_FINISHED : code > 128 && code <= 165 ? v1::TASK_KILLED : v1::TASK_FAILED;
    o.message = fmt::format("{}; container exited with code {}", s_.kill_detail, *e.exit_code);
    return o;
  }

  TerminalOutcome kill_outcome() const {
    TerminalOutcome o;
    switch (s_.kill_cause) {
      case KillCause::Watchdog:
        o.state = v1::TASK_FAILED;
        o.message = fmt::format("killed after failed Sidecar health checks: {}", s_.kill_detail);
        break;
      case KillCause::AgentGone:
        o.state = v1::TASK_FAILED;  // (REASON_EXECUTOR_TERMINATED is the agent's own reason)
        o.message = fmt::format("stopped because the agent is gone: {}", s_.kill_detail);
        break;
      case KillCause::HealthCheck:
        o.state = v1::TASK_KILLED;
        o.message = s_.kill_detail;
        break;
      case KillCause::MaxCompletion:
        o.state = v1::TASK_FAILED;
        o.reason = v1::TaskStatus::REASON_MAX_COMPLETION_TIME_REACHED;
        o.message = s_.kill_detail;
        break;
      default:
        o.state = v1::TASK_KILLED;
        o.message = s_.kill_detail;
        break;
    }
    return o;
  }

  // REASON_TASK_KILLED_DURING_LAUNCH is the agent's own (a task killed before it reached us): the
  // executor says "during launch" in the message only.
  // A launch that ends before its create hands nothing on: what it gathered is dropped at once.
  void drop_launch_data() {
    s_.plan.reset();
    s_.secrets = SecretEnv{};
    s_.extra_env.clear();
  }

  void finish_killed_during_launch() {
    drop_launch_data();
    TerminalOutcome o = kill_outcome();
    o.message += " (during launch)";
    terminal(o);
  }

  void own_exit(const ev::ContainerExited& e) {
    const TerminalOutcome o = map_exit(e);
    log_go_exit(e, o.state);
    if (o.state != v1::TASK_FINISHED) out_.emplace_back(act::CopyFailureLogs{s_.container_id});
    terminal(o);
  }

  void killed(const ev::ContainerExited& e) {
    if (s_.kill_cause == KillCause::StopSignal) {
      out_.emplace_back(act::CopyFailureLogs{s_.container_id});
      const TerminalOutcome o = stop_signal_outcome(e);
      log_go_exit(e, o.state);
      terminal(o);
      return;
    }
    TerminalOutcome o = kill_outcome();
    log_go_exit(e, o.state);
    if (e.exit_code) {
      o.message += fmt::format("; container exited with code {}", *e.exit_code);
    } else {
      o.message += fmt::format("; container outcome unknown: {}", e.error);
    }
    out_.emplace_back(act::CopyFailureLogs{s_.container_id});
    terminal(o);
  }

  // The Go executor's lines for a container's end (executor.go checkContainerStatus, handleContainerExit).
  void log_go_exit(const ev::ContainerExited& e, v1::TaskState state) {
    if (e.exit_code) {
      log(*e.exit_code == 0 ? LogLevel::Info : LogLevel::Error,
          fmt::format("Container {} not running! - ExitCode: {}", s_.container_id, *e.exit_code));
    }
    switch (state) {
      case v1::TASK_FINISHED:
        log(LogLevel::Info, fmt::format("Task completed: {}", s_.task ? s_.task->name() : ""));
        break;
      case v1::TASK_KILLED: log(LogLevel::Error, "Task was killed, notifying Mesos"); break;
      default: log(LogLevel::Error, "Task failed, notifying Mesos"); break;
    }
  }

  void terminal(const TerminalOutcome& o) {
    log(o.state == v1::TASK_FINISHED || o.state == v1::TASK_KILLED ? LogLevel::Info : LogLevel::Warn,
        fmt::format("task {}: {}", s_.task_id, o.message));
    act::SendUpdate u = base_update(s_.task_id, o.state);
    u.reason = o.reason;
    u.message = o.message;
    // As the Mesos Docker executor after a health-check kill: the terminal update says unhealthy.
    if (s_.kill_cause == KillCause::Watchdog || s_.kill_cause == KillCause::HealthCheck) u.healthy = false;
    out_.emplace_back(std::move(u));
    s_.phase = Phase::TerminalUpdateSent;
    if (s_.agent_gone) exit(1);  // nobody is left to acknowledge it
  }

  const MachineConfig& cfg_;
  State& s_;
  std::vector<Action>& out_;
};

std::vector<Action> Machine::handle(const Event& event) {
  std::vector<Action> out;
  Step step(config_, state_, out);
  if (state_.phase == Phase::Exiting) {
    step.log(LogLevel::Debug, fmt::format("{} ignored: phase exiting -> exiting", describe(event)));
    return out;
  }
  const Phase before = state_.phase;
  std::visit([&](const auto& e) { step.on(e); }, event);
  step.log(LogLevel::Debug, fmt::format("{}: {} -> {}", describe(event), to_string(before), to_string(state_.phase)));
  return out;
}

}  // namespace executor
