// The site policy: what a task may ask of the executor, set only by the operator in the site config
// file (its `policy:` mapping), never by a task. A task is not trusted: everything it can influence
// (TaskInfo, the executor's environment) is checked against this before Docker sees it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace settings {

struct SitePolicy {
  // Docker parameters (DockerInfo.parameters keys) a task may use. Default: the Go executor's set
  // plus those of ours that cannot widen the container's access to the host (kDefaultDockerParameters).
  std::vector<std::string> allowed_docker_parameters;
  // `privileged` (parameter or DockerInfo.privileged).
  bool allow_privileged = false;
  // Host device paths a `device` parameter may name (exact paths); none by default.
  std::vector<std::string> allowed_devices;
  // Exact `security-opt` values a task may give; none by default.
  std::vector<std::string> allowed_security_opts;
  // Capabilities `cap-add` may name; unset: any (the Go executor's behaviour).
  std::optional<std::vector<std::string>> allowed_capabilities;
  // Host path prefixes a bind volume may come from (whole path components); unset: any (as Go).
  std::optional<std::vector<std::string>> allowed_bind_prefixes;
  // DockerInfo.network HOST (the Go executor allows it).
  bool allow_host_network = true;
  // User-defined Docker networks a task may join (DockerInfo.network USER, by exact name); none by
  // default: a network can reach other tenants or, as macvlan, the host's LAN, and dockerd would also
  // take an id prefix for a name.
  std::vector<std::string> allowed_networks;
  // `pids-limit` 0 or negative (no limit at all).
  bool allow_unlimited_pids = false;
  // Settings and environment variables the task's environment can never change: the site file's
  // value (its `environment:` mapping for non-EXECUTOR_ names), else the default, is used.
  std::vector<std::string> locked;
  // Container environment variables whose values the startup dump shows; others are [REDACTED].
  std::vector<std::string> env_dump_values;
  // Core dumps of the executor (they would hold secrets); for debugging only.
  bool allow_core_dumps = false;
  // Folders where VAULT_TOKEN_FILE may be: the executor reads a token there (and sends it to
  // VAULT_ADDR) and, as root, creates and replaces the cache there. Elsewhere the variable is ignored
  // (a task could otherwise make root send /root/.vault-token anywhere, or write /etc/nologin or a
  // shell file some root script sources). None by default.
  std::vector<std::string> vault_token_dirs;
  // Vault paths a vault:// value may read with the executor's token (whole segments); unset: any
  // path but Vault's own endpoints (auth/, sys/, identity/, cubbyhole/), which are never allowed.
  std::optional<std::vector<std::string>> vault_path_prefixes;

  SitePolicy();
};

// The `policy:` keys, for error messages and documentation.
const std::vector<std::string_view>& policy_keys();

// The Go executor's parameters and ours that keep the container inside its own namespaces and limits.
const std::vector<std::string>& default_docker_parameters();

// Container variables the startup dump shows by default (names only the executor and Mesos set).
const std::vector<std::string>& default_env_dump_values();

// True when `name` is in `names`, where an entry ending in '*' stands for every name it begins.
bool name_listed(std::string_view name, const std::vector<std::string>& names);

// True when `host_path` lies under one of `prefixes` (component-wise: /data allows /data and /data/x,
// not /database) after its "." and ".." components are resolved lexically.
bool path_under_prefixes(std::string_view host_path, const std::vector<std::string>& prefixes);

}  // namespace settings
