// TaskInfo → Docker create request: the Go executor's mapping rules (env order, labels, ports, binds,
// network, capabilities, limits) plus the docker parameters users of other executors expect. Pure.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mesos/v1/mesos.pb.h"
#include "util/result.h"

namespace docker {

struct SpecOptions {
  bool force_cpu_limit = false;     // EXECUTOR_FORCE_CPU_LIMIT
  bool force_memory_limit = false;  // EXECUTOR_FORCE_MEMORY_LIMIT
  bool use_cpu_shares = false;      // EXECUTOR_USE_CPU_SHARES
  int host_cpus = 1;                // for CPU shares
  std::vector<std::string> extra_env;  // K=V added by the executor (SIDECAR_SEEDS, AWS keys…)
  // Whole entries to replace, "NAME=vault://…" → "NAME=<secret>", wherever they come from.
  std::map<std::string, std::string> env_replacements;
};

struct ContainerSpec {
  std::string name;           // mesos-<uuidv5 of the task id>
  nlohmann::json body;        // POST /containers/create body
  std::vector<std::string> warnings;  // e.g. unknown docker parameter keys
};

util::Result<ContainerSpec> build_container_spec(const ::mesos::v1::TaskInfo& task, const SpecOptions& opts);

// POSIX-shell word splitting (quotes and backslashes, no expansion) for executor.ShellCommand.
util::Result<std::vector<std::string>> split_shell_words(const std::string& text);

}  // namespace docker
