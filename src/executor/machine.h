// The executor's state machine: (state, event) → (new state, actions). Pure: no I/O, no clock, no
// randomness. One event loop thread owns it; adapters run the actions and post results back.
#pragma once

#include <string>
#include <vector>

#include "executor/actions.h"
#include "executor/events.h"
#include "executor/state.h"

namespace executor {

struct MachineConfig {
  Duration kill_grace = std::chrono::seconds(5);          // EXECUTOR_KILL_TASK_TIMEOUT
  Duration draining_duration = std::chrono::seconds(10);  // EXECUTOR_SIDECAR_DRAINING_DURATION
  Duration shutdown_grace = std::chrono::seconds(5);      // MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD
  Duration terminal_ack_timeout = std::chrono::seconds(5);
  bool seed_sidecar = false;  // EXECUTOR_SEED_SIDECAR: a Seeds step before create
  // EXECUTOR_REMOVE_CONTAINER: the container is removed once its terminal update is in.
  bool remove_container = false;
  // The host Sidecar knows the task by when its environment has no TASK_HOST: the executor's
  // TASK_HOST, else this machine's hostname.
  std::string host = "localhost";
};

class Machine {
 public:
  explicit Machine(MachineConfig config) : config_(config) {}

  std::vector<Action> handle(const Event& event);

  const State& state() const { return state_; }

 private:
  class Step;  // one transition's scratch space (machine.cpp)

  MachineConfig config_;
  State state_;
};

}  // namespace executor
