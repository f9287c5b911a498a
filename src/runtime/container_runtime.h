// What the state machine's container actions need from a container engine. Each call returns at
// once; results come back as events (StepDone/StepFailed/ContainerExited) through the sink given
// at construction. Implemented over the Docker Engine API in src/docker/.
#pragma once

#include <string>

#include "executor/events.h"
#include "mesos/v1/mesos.pb.h"

namespace runtime {

class ContainerRuntime {
 public:
  virtual ~ContainerRuntime() = default;

  virtual void pull(const ::mesos::v1::TaskInfo& task, const std::string& image, bool force) = 0;
  virtual void resolve_secrets(const ::mesos::v1::TaskInfo& task) = 0;
  virtual void create(const ::mesos::v1::TaskInfo& task) = 0;
  virtual void start(const std::string& container_id) = 0;
  virtual void watch(const std::string& container_id) = 0;
  virtual void stop(const std::string& container_id, executor::Duration grace) = 0;
  virtual void remove(const std::string& container_id) = 0;
  virtual void copy_failure_logs(const std::string& container_id) = 0;
  // Blocks until work in flight is finished or abandoned; called once before exit.
  // `at_deadline`: the agent's grace is ending: kill the container first and wait for nothing.
  virtual void shutdown(bool at_deadline) = 0;
};

}  // namespace runtime
