// Each adapter's options from the effective settings (and, where it matters, the agent's
// environment and the site policy): the field-by-field copies main() would otherwise hold.
#pragma once

#include "docker/runtime.h"
#include "executor/machine.h"
#include "mesos/agent_env.h"
#include "settings/policy.h"
#include "settings/settings.h"
#include "sidecar/watchdog.h"
#include "util/env.h"
#include "vault/vault.h"

namespace app {

// `env`: the executor's environment, for the TASK_HOST a task without its own falls back to.
executor::MachineConfig machine_config(const settings::Settings& s, const mesos::AgentEnv& agent,
                                       const util::EnvLookup& env);

// Everything but the endpoint.
docker::RuntimeOptions runtime_options(const settings::Settings& s, const mesos::AgentEnv& agent,
                                       const settings::SitePolicy& policy);

sidecar::WatchdogOptions watchdog_options(const settings::Settings& s, const mesos::AgentEnv& agent);

vault::AwsOptions aws_options(const settings::Settings& s);

}  // namespace app
