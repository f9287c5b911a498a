// Each adapter's options from the effective settings (and, where it matters, the agent's
// environment and the site policy): the field-by-field copies main() would otherwise hold. Also the
// environments read once and then wiped (the agent's token, Vault's credentials).
#pragma once

#include <string>

#include "docker/runtime.h"
#include "executor/machine.h"
#include "mesos/agent_env.h"
#include "settings/policy.h"
#include "settings/settings.h"
#include "sidecar/watchdog.h"
#include "util/env.h"
#include "util/result.h"
#include "vault/vault.h"

namespace app {

// The agent's variables (MESOS_*), read once: the agent's token registered as a secret and wiped from
// the process environment (as the Mesos executor library does: the token is ours alone, never
// inherited by anything, and not left readable in /proc/<pid>/environ), and, with TLS on, the TLS
// files checked. An error says what is wrong.
util::Result<mesos::AgentEnv> take_agent_env();

// The host Sidecar knows this agent by: TASK_HOST of `env` (the executor's environment), else this
// machine's hostname.
std::string task_host(const util::EnvLookup& env);

// `env`: the executor's environment, for the TASK_HOST a task without its own falls back to.
executor::MachineConfig machine_config(const settings::Settings& s, const mesos::AgentEnv& agent,
                                       const util::EnvLookup& env);

// Everything but the endpoint.
docker::RuntimeOptions runtime_options(const settings::Settings& s, const mesos::AgentEnv& agent,
                                       const settings::SitePolicy& policy);
// runtime_options with the endpoint of the Docker daemon that `env` names (DOCKER_HOST…); an error
// when that is not a valid endpoint.
util::Result<docker::RuntimeOptions> docker_options(const settings::Settings& s, const mesos::AgentEnv& agent,
                                                    const settings::SitePolicy& policy, const util::EnvLookup& env);

sidecar::WatchdogOptions watchdog_options(const settings::Settings& s, const mesos::AgentEnv& agent);

vault::AwsOptions aws_options(const settings::Settings& s);
// The environment Vault is configured from (the VAULT_* variables), taken once: a copy of it as it is
// now, after which its credentials (VAULT_TOKEN, VAULT_PASSWORD, VAULT_USERNAME) are wiped from the
// process environment, so that nothing the executor starts (credential helpers) inherits them and
// /proc/<pid>/environ no longer holds them.
util::EnvLookup take_vault_env();

}  // namespace app
