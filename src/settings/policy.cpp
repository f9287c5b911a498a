// Site policy defaults and path checks.
#include "settings/policy.h"

#include <algorithm>

namespace settings {

const std::vector<std::string>& default_docker_parameters() {
  // Go executor (container/container.go): env, label, cap-add, cap-drop, volume-driver. Ours, none of
  // which reaches outside the container's namespaces or raises a limit above the daemon's defaults:
  // user, workdir, entrypoint, hostname (inside the container), dns, add-host (the container's own
  // resolver files), shm-size, tmpfs, memory-swap (charged to the container's cgroup), read-only,
  // init (narrow or neutral), pids-limit (a positive limit only, see allow_unlimited_pids).
  // Not by default: privileged, device, security-opt (own policy keys), ulimit (raises limits above
  // the daemon's defaults: memlock, rtprio), log-driver and log-opt (make dockerd, in the host's
  // network, send the container's output to any address, and would cut the executor's log relay).
  static const std::vector<std::string> v = {
      "env", "label",    "cap-add",  "cap-drop", "volume-driver", "user",      "workdir", "entrypoint", "hostname",
      "dns", "add-host", "shm-size", "tmpfs",    "memory-swap",   "read-only", "init",    "pids-limit"};
  return v;
}

const std::vector<std::string>& default_env_dump_values() {
  static const std::vector<std::string> v = {"TASK_HOST",
                                             "TASK_ID",
                                             "TASK_REQUEST_ID",
                                             "TASK_DEPLOY_ID",
                                             "MESOS_HOSTNAME",
                                             "MESOS_TASK_ID",
                                             "SERVICE_NAME",
                                             "SERVICE_VERSION",
                                             "ENVIRONMENT",
                                             "SIDECAR_SEEDS",
                                             "HOST",
                                             "PORT",
                                             "PORT0",
                                             "PORT1",
                                             "PORT2",
                                             "MESOS_PORT_*",
                                             "PATH",
                                             "HOME",
                                             "TZ",
                                             "LANG"};
  return v;
}

SitePolicy::SitePolicy()
    : allowed_docker_parameters(default_docker_parameters()), env_dump_values(default_env_dump_values()) {}

const std::vector<std::string_view>& policy_keys() {
  static const std::vector<std::string_view> v = {
      "allowed_docker_parameters", "allow_privileged",     "allowed_devices",
      "allowed_security_opts",     "allowed_capabilities", "allowed_bind_prefixes",
      "allow_host_network",        "allow_unlimited_pids", "locked",
      "env_dump_values",           "allow_core_dumps",     "vault_token_dirs",
      "vault_path_prefixes",       "allowed_networks"};
  return v;
}

namespace {

// "/a/./b/../c//" → "/a/c"; a relative path stays relative (and matches no absolute prefix).
std::string lexically_normal(std::string_view p) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (start <= p.size()) {
    std::size_t slash = p.find('/', start);
    if (slash == std::string_view::npos) slash = p.size();
    const std::string_view part = p.substr(start, slash - start);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = slash + 1;
  }
  std::string out = (!p.empty() && p[0] == '/') ? "" : ".";
  for (const auto& part : parts) {
    out += '/';
    out += part;
  }
  return out.empty() ? "/" : out;
}

}  // namespace

bool name_listed(std::string_view name, const std::vector<std::string>& names) {
  return std::any_of(names.begin(), names.end(), [&](const std::string& n) {
    if (!n.empty() && n.back() == '*')
      return name.substr(0, n.size() - 1) == std::string_view(n).substr(0, n.size() - 1);
    return name == n;
  });
}

bool path_under_prefixes(std::string_view host_path, const std::vector<std::string>& prefixes) {
  if (host_path.empty() || host_path[0] != '/') return false;
  const std::string path = lexically_normal(host_path);
  return std::any_of(prefixes.begin(), prefixes.end(), [&](const std::string& raw) {
    const std::string prefix = lexically_normal(raw);
    if (prefix == "/") return true;
    return path == prefix ||
           (path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0 && path[prefix.size()] == '/');
  });
}

}  // namespace settings
