// Executes the state machine's actions against the adapters: the agent client, the container
// runtime, the event loop's timers, the logger. Returns the exit code once an Exit action is seen.
#pragma once

#include <optional>
#include <string>

#include "executor/actions.h"
#include "executor/machine.h"
#include "mesos/agent_client.h"
#include "runtime/container_runtime.h"
#include "runtime/event_loop.h"
#include "sidecar/watchdog.h"

namespace runtime {

class Dispatcher {
 public:
  Dispatcher(const executor::Machine& machine, EventLoop& loop, mesos::AgentClient& agent, ContainerRuntime* containers,
             sidecar::Adapter* sidecar = nullptr)
      : machine_(machine), loop_(loop), agent_(agent), containers_(containers), sidecar_(sidecar) {}

  // nullopt: keep going; a value: the executor exits.
  std::optional<executor::act::Exit> run(const executor::Action& action);

 private:
  const ::mesos::v1::TaskInfo& task() const;
  void no_runtime(executor::LaunchStep step);

  const executor::Machine& machine_;
  EventLoop& loop_;
  mesos::AgentClient& agent_;
  ContainerRuntime* containers_;
  sidecar::Adapter* sidecar_;
};

// The host Sidecar knows the task by: TASK_HOST of the task's environment (Singularity sets it), else
// of the executor's, else this machine's hostname.
std::string task_host(const ::mesos::v1::TaskInfo& task);

}  // namespace runtime
