// The ports: what the core's actions need from the world, one interface per adapter. The shell's
// dispatcher (src/shell) runs each action against these; the adapters implement them (src/mesos,
// src/docker, src/vault, src/sidecar, src/shell's event loop) and report back with events. Every
// call returns at once: a result comes later as an event through the adapter's sink.
#pragma once

#include <string>

#include "executor/actions.h"

namespace executor::port {

// The Mesos agent: status updates go out (uuid, timestamp and ids added), retried until acknowledged.
class Agent {
 public:
  virtual ~Agent() = default;
  virtual void send_update(const act::SendUpdate& update) = 0;
};

// Timers: ev::TimerFired{id} after `after`; starting a running timer restarts it.
class Timers {
 public:
  virtual ~Timers() = default;
  virtual void start_timer(TimerId id, Duration after) = 0;
  virtual void cancel_timer(TimerId id) = 0;
};

// The container engine (Docker): launch steps report ev::StepDone / ev::StepFailed, the watched
// container's end ev::ContainerExited.
class Containers {
 public:
  virtual ~Containers() = default;
  virtual void pull(const act::PullImage& pull) = 0;  // StepDone{Pull} carries the task's plan
  virtual void create(const act::CreateContainer& create) = 0;
  virtual void start(const std::string& container_id) = 0;
  virtual void watch(const std::string& container_id) = 0;
  virtual void stop(const std::string& container_id, Duration grace) = 0;
  virtual void remove(const std::string& container_id) = 0;
  virtual void copy_failure_logs(const std::string& container_id) = 0;
  // Blocks until work in flight is finished or abandoned; called once before exit.
  // `at_deadline`: the agent's grace is ending: kill the container first and wait for nothing.
  virtual void shutdown(bool at_deadline) = 0;
};

// Vault: StepDone{Secrets} carries what the container gets.
class Secrets {
 public:
  virtual ~Secrets() = default;
  virtual void resolve(const act::ResolveSecrets& request) = 0;
};

// Sidecar: the drain before a stop, the health watchdog (ev::HealthChanged, ev::WatchdogKill) and the
// seeds (StepDone{Seeds}).
class Sidecar {
 public:
  virtual ~Sidecar() = default;
  virtual void drain(const std::string& container_id) = 0;
  virtual void start_watchdog(const std::string& container_id, const std::string& host) = 0;
  virtual void stop_watchdog() = 0;
  virtual void fetch_seeds() = 0;
};

// The task's own health checks (TaskInfo.health_check): ev::HealthResult after each check, from the
// first one after delay_seconds, every interval_seconds, until stopped.
class HealthChecks {
 public:
  virtual ~HealthChecks() = default;
  virtual void start(const act::StartHealthChecks& request) = 0;
  virtual void stop() = 0;
};

// The executor's own process: what it shows and keeps while a task runs.
class Process {
 public:
  virtual ~Process() = default;
  virtual void container_starting(const std::string& container_id, const std::string& image) = 0;
  virtual void container_running() = 0;  // the launch is over: its code need not stay mapped
};

struct Ports {
  Agent& agent;
  Timers& timers;
  Containers& containers;
  Secrets& secrets;
  Sidecar& sidecar;
  Process& process;
  HealthChecks& health;
};

}  // namespace executor::port
