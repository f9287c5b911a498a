// What a launch builds on its way to the container engine's create call, carried by events and
// actions from step to step (nothing is stashed in an adapter between steps):
//   PullImage{task} → StepDone{Pull, plan} → ResolveSecrets{plan's env} → StepDone{Secrets, secrets}
//   → [FetchSeeds → StepDone{Seeds, env}] → CreateContainer{plan, secrets, env} → StepDone{Create, id}
// A create that was also the image's check and did not confirm it (StepFailed{Create,
// image_unconfirmed}, once per launch) goes back to PullImage{after_create} and on through every step.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace executor {

// The container engine's create request for one task, built once (by a pure function of the task and
// the site's options) when the launch starts. The core only hands it on; the engine adapter that
// built it reads it back.
class ContainerPlan {
 public:
  virtual ~ContainerPlan() = default;
  // The container's environment ("NAME=value"), where the secrets step looks for Vault references.
  virtual std::vector<std::string> env() const = 0;
};
using PlanPtr = std::shared_ptr<const ContainerPlan>;

// A network the container joined, with its addresses there (IPv4 and/or IPv6), for TASK_RUNNING.
struct ContainerNetwork {
  std::string name;  // the engine's network name ("bridge" for Docker's default)
  std::vector<std::string> ip_addresses;
};

// What the secrets step gives the container. Never logged, never in a status update.
struct SecretEnv {
  std::map<std::string, std::string> replacements;  // "NAME=vault://…" → "NAME=<value>"
  std::vector<std::string> extra;                   // added variables, e.g. AWS keys
};

}  // namespace executor
