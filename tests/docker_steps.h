// The Docker runtime's launch steps for a task given directly, as the state machine asks for them: the
// pull takes the task (and builds its plan), the create takes a plan, built here by the same pure
// function the runtime builds it with (docker::build_container_spec).
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "docker/runtime.h"
#include "docker/task_spec.h"

namespace testing_support {

// The task's container plan as the runtime builds it at the pull, given the runtime's spec options.
inline util::Result<executor::PlanPtr> container_plan(const mesos::v1::TaskInfo& task,
                                                      const docker::SpecOptions& opts) {
  auto spec = docker::build_container_spec(task, opts);
  if (!spec) return spec.error();
  return executor::PlanPtr(std::make_shared<const docker::Plan>(std::move(*spec), task.task_id().value()));
}

inline void pull_task(docker::Runtime& rt, const mesos::v1::TaskInfo& task, const std::string& image, bool force) {
  rt.pull(executor::act::PullImage{image, force, task});
}

// The create step of the task's plan (container_plan); the plan's error, with nothing asked of the
// runtime, when it does not build.
inline util::Result<void> create_task(docker::Runtime& rt, const mesos::v1::TaskInfo& task,
                                      const docker::SpecOptions& opts) {
  auto plan = container_plan(task, opts);
  if (!plan) return plan.error();
  rt.create(executor::act::CreateContainer{std::move(*plan)});
  return {};
}

}  // namespace testing_support
