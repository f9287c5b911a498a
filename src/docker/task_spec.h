// TaskInfo → Docker create request: the Go executor's mapping rules (env order, labels, ports, binds,
// network, capabilities, limits) plus the docker parameters users of other executors expect. Pure.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mesos/v1/mesos.pb.h"
#include "settings/policy.h"
#include "util/result.h"

namespace docker {

struct SpecOptions {
  bool force_cpu_limit = false;     // EXECUTOR_FORCE_CPU_LIMIT
  bool force_memory_limit = false;  // EXECUTOR_FORCE_MEMORY_LIMIT
  bool use_cpu_shares = false;      // EXECUTOR_USE_CPU_SHARES
  int host_cpus = 1;                // for CPU shares
  // The host's pid_max (/proc/sys/kernel/pid_max): a pids-limit at or above it limits nothing. 0: unknown.
  long host_pid_max = 0;
  std::vector<std::string> extra_env;  // K=V added by the executor (SIDECAR_SEEDS, AWS keys…)
  // Whole entries to replace, "NAME=vault://…" → "NAME=<secret>", wherever they come from.
  std::map<std::string, std::string> env_replacements;
  // What the task may ask for (the site config file's `policy:`); a refused request fails the spec.
  settings::SitePolicy policy;
  // Labels the executor sets on every container, over any task label of the same name (the wrapper
  // reads them to tell this executor's container from any other).
  std::map<std::string, std::string> own_labels;
  // The host path a bind really reaches (symlinks resolved), for policy.allowed_bind_prefixes; nullopt
  // when a part of it does not exist. Unset: the path as written (pure, for tests).
  std::function<std::optional<std::string>(const std::string&)> resolve_host_path;
  // EXECUTOR_MOUNT_SANDBOX: the task's sandbox on the host (the executor's working directory, where the
  // agent started it), bound at kSandboxMountPath; empty: no mount.
  std::string sandbox_mount;
};

// Where the sandbox appears in the container with EXECUTOR_MOUNT_SANDBOX (as the Mesos Docker
// containerizer mounts it), and the value of MESOS_SANDBOX there.
inline constexpr const char* kSandboxMountPath = "/mnt/mesos/sandbox";

struct ContainerSpec {
  std::string name;                   // mesos-<uuidv5 of the task id>
  nlohmann::json body;                // POST /containers/create body
  std::vector<std::string> warnings;  // e.g. unknown docker parameter keys
  std::size_t executor_env_at = 0;    // where section (c), the executor's own variables, goes in Env
  // DockerInfo.network USER: networks joined after the create (the first named is the network mode).
  std::vector<std::string> extra_networks;
  // policy.allowed_bind_prefixes: the binds' host paths as checked and sent (symlinks resolved), looked
  // at again just before the create (recheck_binds).
  std::vector<std::string> checked_binds;
};

// Every error is the task's: an image that is not a valid reference, a bad or refused docker
// parameter, volume or resource. The message names the item and, for a refusal, the policy key that
// would allow it.
util::Result<ContainerSpec> build_container_spec(const ::mesos::v1::TaskInfo& task, const SpecOptions& opts);

// The spec with the executor's variables (SIDECAR_SEEDS, Vault's AWS keys) put in place (c) and the
// resolved Vault references replaced: what /containers/create gets, without building the spec again.
ContainerSpec with_executor_env(ContainerSpec spec, const std::vector<std::string>& extra_env,
                                const std::map<std::string, std::string>& env_replacements);

// Just before the create: every bind checked against policy.allowed_bind_prefixes still reaches
// the path that was checked (no part of it swapped for a link since, none gone). Docker follows links
// in a bind's host path when it mounts it, and a container with a folder above it bound read-write
// could make one while the image is pulled.
util::Result<void> recheck_binds(const ContainerSpec& spec, const SpecOptions& opts);

// The container's environment (its Env entries).
std::vector<std::string> container_env(const ContainerSpec& spec);

// POSIX-shell word splitting (quotes and backslashes, no expansion) for executor.ShellCommand.
util::Result<std::vector<std::string>> split_shell_words(const std::string& text);

}  // namespace docker
