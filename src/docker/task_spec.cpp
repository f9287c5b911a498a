// The TaskInfo → container create body translation.
#include "docker/task_spec.h"

#include <fmt/format.h>

#include <cmath>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <optional>

#include "docker/image_ref.h"
#include "settings/settings.h"
#include "util/http_safe.h"
#include "util/split.h"

namespace docker {

namespace v1 = ::mesos::v1;
using nlohmann::json;

util::Result<std::vector<std::string>> split_shell_words(const std::string& text) {
  std::vector<std::string> words;
  std::string cur;
  bool in_word = false;
  enum { None, Single, Double } quote = None;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote == Single) {
      if (c == '\'')
        quote = None;
      else
        cur.push_back(c);
      continue;
    }
    if (quote == Double) {
      if (c == '"') {
        quote = None;
      } else if (c == '\\' && i + 1 < text.size() &&
                 std::string_view("\\\"$`\n").find(text[i + 1]) != std::string_view::npos) {
        cur.push_back(text[++i]);
      } else {
        cur.push_back(c);
      }
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::move(cur));
      cur.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\'')
      quote = Single;
    else if (c == '"')
      quote = Double;
    else if (c == '\\') {
      if (i + 1 >= text.size()) return util::make_error("trailing backslash");
      cur.push_back(text[++i]);
    } else {
      cur.push_back(c);
    }
  }
  if (quote != None) return util::make_error("unterminated quote");
  if (in_word) words.push_back(std::move(cur));
  return words;
}

namespace {

util::Result<std::int64_t> parse_int64(std::string_view t) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || p != t.data() + t.size())
    return util::make_error(fmt::format("\"{}\" is not an integer", t));
  return v;
}

// Docker's RAMInBytes: a number with an optional b/k/m/g (and optional trailing b) suffix, binary units.
util::Result<std::int64_t> parse_bytes(std::string_view t) {
  if (t == "-1") return std::int64_t{-1};
  std::size_t i = 0;
  while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
  auto n = parse_int64(t.substr(0, i));
  if (!n || i == 0) return util::make_error(fmt::format("\"{}\" is not a size (e.g. 64m, 1g)", t));
  std::string unit(t.substr(i));
  std::transform(unit.begin(), unit.end(), unit.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::int64_t mult = 1;
  if (unit.empty() || unit == "b")
    mult = 1;
  else if (unit == "k" || unit == "kb")
    mult = 1LL << 10;
  else if (unit == "m" || unit == "mb")
    mult = 1LL << 20;
  else if (unit == "g" || unit == "gb")
    mult = 1LL << 30;
  else
    return util::make_error(fmt::format("\"{}\" has an unknown size unit", t));
  if (*n > INT64_MAX / mult) return util::make_error(fmt::format("\"{}\" is too large", t));
  return *n * mult;
}

util::Result<bool> parse_flag(std::string_view t) {
  if (t.empty()) return true;  // "--privileged" given without a value
  return settings::parse_go_bool(t);
}

std::optional<double> scalar_resource(const v1::TaskInfo& task, const std::string& name) {
  for (const auto& r : task.resources()) {
    if (r.name() == name && r.has_scalar()) return r.scalar().value();
  }
  return std::nullopt;
}

std::vector<std::string> protocols(const std::string& text) {
  std::vector<std::string> out = util::split(text, ',', {.trim_spaces = true, .skip_empty = true});
  if (out.empty()) out.push_back("tcp");
  return out;
}

}  // namespace

namespace {

using Param = v1::Parameter;

// What the docker parameters add up to, before it is written into the body.
struct ParamState {
  json& body;
  json& host;
  const settings::SitePolicy& policy;
  std::vector<std::string>& env;  // (b)
  std::map<std::string, std::string> labels;
  std::vector<std::string> cap_add, cap_drop;
  json log_config_opts = json::object();
  std::vector<std::string> warnings;
  long host_pid_max = 0;  // SpecOptions::host_pid_max
};

util::Error param_error(const Param& p, const std::string& why) {
  return util::make_error(fmt::format("docker parameter {}={}: {}", p.key(), p.value(), why));
}

util::Error refused(const Param& p, const std::string& allow_with) {
  return param_error(p,
                     fmt::format("not allowed by the site policy ({} in the site config file allows it)", allow_with));
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

// "cap_sys_admin", "SYS_ADMIN" and "CAP_SYS_ADMIN" are one capability.
std::string capability_name(const std::string& text) {
  std::string cap = upper(text);
  if (cap.rfind("CAP_", 0) == 0) cap = cap.substr(4);
  return cap;
}

// The Linux capabilities by name (include/uapi/linux/capability.h), and Docker's ALL.
const std::string kLinuxCapabilities[] = {"ALL",
                                          "CHOWN",
                                          "DAC_OVERRIDE",
                                          "DAC_READ_SEARCH",
                                          "FOWNER",
                                          "FSETID",
                                          "KILL",
                                          "SETGID",
                                          "SETUID",
                                          "SETPCAP",
                                          "LINUX_IMMUTABLE",
                                          "NET_BIND_SERVICE",
                                          "NET_BROADCAST",
                                          "NET_ADMIN",
                                          "NET_RAW",
                                          "IPC_LOCK",
                                          "IPC_OWNER",
                                          "SYS_MODULE",
                                          "SYS_RAWIO",
                                          "SYS_CHROOT",
                                          "SYS_PTRACE",
                                          "SYS_PACCT",
                                          "SYS_ADMIN",
                                          "SYS_BOOT",
                                          "SYS_NICE",
                                          "SYS_RESOURCE",
                                          "SYS_TIME",
                                          "SYS_TTY_CONFIG",
                                          "MKNOD",
                                          "LEASE",
                                          "AUDIT_WRITE",
                                          "AUDIT_CONTROL",
                                          "SETFCAP",
                                          "MAC_OVERRIDE",
                                          "MAC_ADMIN",
                                          "SYSLOG",
                                          "WAKE_ALARM",
                                          "BLOCK_SUSPEND",
                                          "AUDIT_READ",
                                          "PERFMON",
                                          "BPF",
                                          "CHECKPOINT_RESTORE"};

// A capability is taken only by one of those names, in ASCII, with or without one "CAP_": the name
// checked is then the name Docker grants. dockerd upper-cases with Go's strings.ToUpper (moby oci/caps
// NormalizeLegacyCapabilities), which folds some other letters to ASCII ones (U+017F "ſ" to "S", U+0131
// "ı" to "I"), and keeps a name that already starts with "CAP_": "ſys_admin" or "cap_cap_sys_admin"
// would pass a check of the deny-list and be granted as SYS_ADMIN.
util::Result<void> plain_capability(const Param& p) {
  const std::string& v = p.value();
  const bool ascii = std::all_of(v.begin(), v.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
  if (ascii && std::find(std::begin(kLinuxCapabilities), std::end(kLinuxCapabilities), capability_name(v)) !=
                   std::end(kLinuxCapabilities)) {
    return {};
  }
  return param_error(p, "not the name of a Linux capability (e.g. NET_ADMIN or cap_net_admin, in ASCII)");
}

// Capabilities that give a container the host (load a module, read any host file by handle, mount,
// trace host processes…): refused unless the site lists them in policy.allowed_capabilities. NET_ADMIN
// joins them for a container in the host's network (see apply_volumes_and_network).
const std::string kHostCapabilities[] = {
    "ALL",      "SYS_ADMIN", "SYS_MODULE",   "SYS_RAWIO", "SYS_PTRACE", "DAC_READ_SEARCH", "SYS_BOOT",
    "SYS_TIME", "MAC_ADMIN", "MAC_OVERRIDE", "BPF",       "PERFMON",    "SYSLOG"};

using Handler = util::Result<void> (*)(const Param&, ParamState&);

util::Result<void> set_bool_host(const Param& p, ParamState& st, const char* field) {
  auto b = parse_flag(p.value());
  if (!b) return param_error(p, b.error().message);
  st.host[field] = *b;
  return {};
}

util::Result<void> set_bytes_host(const Param& p, ParamState& st, const char* field) {
  auto b = parse_bytes(p.value());
  if (!b) return param_error(p, b.error().message);
  st.host[field] = *b;
  return {};
}

// One entry per docker parameter the executor knows; `own_rule` marks those governed by a policy
// key of their own instead of allowed_docker_parameters.
struct ParamHandler {
  const char* key;
  Handler apply;
  bool own_rule = false;
};

const ParamHandler kParamHandlers[] = {
    {"env",
     [](const Param& p, ParamState& st) -> util::Result<void> {
       st.env.push_back(p.value());
       return {};
     }},
    {"label",
     [](const Param& p, ParamState& st) -> util::Result<void> {
       const auto eq = p.value().find('=');
       if (eq == std::string::npos) {
         st.warnings.push_back(fmt::format("docker parameter label={} has no '=': ignored", p.value()));
       } else {
         st.labels[p.value().substr(0, eq)] = p.value().substr(eq + 1);
       }
       return {};
     }},
    {"cap-add",
     [](const Param& p, ParamState& st) -> util::Result<void> {
       if (auto ok = plain_capability(p); !ok) return ok;
       const std::string cap = capability_name(p.value());
       if (const auto& allowed = st.policy.allowed_capabilities) {
         const bool ok = std::any_of(allowed->begin(), allowed->end(),
                                     [&](const std::string& a) { return capability_name(a) == cap; });
         if (!ok) return refused(p, fmt::format("adding {} to policy.allowed_capabilities", cap));
       } else if (std::find(std::begin(kHostCapabilities), std::end(kHostCapabilities), cap) !=
                  std::end(kHostCapabilities)) {
         return refused(p,
                        fmt::format("listing {} in policy.allowed_capabilities: it reaches past the container", cap));
       }
       st.cap_add.push_back(cap);  // the name checked is the name Docker gets
       return {};
     }},
    {"cap-drop",
     [](const Param& p, ParamState& st) -> util::Result<void> {
       if (auto ok = plain_capability(p); !ok) return ok;
       st.cap_drop.push_back(capability_name(p.value()));
       return {};
     }},
    {"volume-driver",
     [](const Param& p, ParamState& st) -> util::Result<void> {
       st.host["VolumeDriver"] = p.value();
       return {};
     }},
    {"user",
     [](const Param& p, ParamState& st) -> util::Result<void> {
       st.body["User"] = p.value();
       return {};
     }},
    {"workdir",
     [](const Param& p, ParamState& st) -> util::Result<void> {
       st.body["WorkingDir"] = p.value();
       return {};
     }},
    {"entrypoint",
     [](const Param& p, ParamState& st) -> util::Result<void> {
       st.body["Entrypoint"] = json::array({p.value()});
       return {};
     }},
    {"hostname",
     [](const Param& p, ParamState& st) -> util::Result<void> {
       st.body["Hostname"] = p.value();
       return {};
     }},
    {"dns",
     [](const Param& p, ParamState& st) -> util::Result<void> {
       st.host["Dns"].push_back(p.value());
       return {};
     }},
    {"add-host",
     [](const Param& p, ParamState& st) -> util::Result<void> {
       st.host["ExtraHosts"].push_back(p.value());
       return {};
     }},
    {"ulimit",
     [](const Param& p, ParamState& st) -> util::Result<void> {
       const std::string& val = p.value();
       const auto eq = val.find('=');
       if (eq == std::string::npos) return param_error(p, "expected name=soft[:hard]");
       const std::string limits = val.substr(eq + 1);
       const auto colon = limits.find(':');
       auto soft = parse_int64(limits.substr(0, colon));
       auto hard = colon == std::string::npos ? soft : parse_int64(limits.substr(colon + 1));
       if (!soft || !hard) return param_error(p, "expected name=soft[:hard] with integers");
       st.host["Ulimits"].push_back({{"Name", val.substr(0, eq)}, {"Soft", *soft}, {"Hard", *hard}});
       return {};
     }},
    {"shm-size", [](const Param& p, ParamState& st) { return set_bytes_host(p, st, "ShmSize"); }},
    {"log-driver",
     [](const Param& p, ParamState& st) -> util::Result<void> {
       st.host["LogConfig"]["Type"] = p.value();
       return {};
     }},
    {"log-opt",
     [](const Param& p, ParamState& st) -> util::Result<void> {
       const auto eq = p.value().find('=');
       if (eq == std::string::npos) return param_error(p, "expected key=value");
       st.log_config_opts[p.value().substr(0, eq)] = p.value().substr(eq + 1);
       return {};
     }},
    {"privileged",
     [](const Param& p, ParamState& st) -> util::Result<void> {
       auto b = parse_flag(p.value());
       if (!b) return param_error(p, b.error().message);
       if (*b && !st.policy.allow_privileged) return refused(p, "policy.allow_privileged: true");
       st.host["Privileged"] = *b;
       return {};
     },
     true},
    {"read-only", [](const Param& p, ParamState& st) { return set_bool_host(p, st, "ReadonlyRootfs"); }},
    {"init", [](const Param& p, ParamState& st) { return set_bool_host(p, st, "Init"); }},
    {"device",
     [](const Param& p, ParamState& st) -> util::Result<void> {
       const auto parts = util::split(p.value(), ':');
       if (parts.empty() || parts[0].empty() || parts.size() > 3) {
         return param_error(p, "expected /dev/host[:/dev/container[:rwm]]");
       }
       if (std::find(st.policy.allowed_devices.begin(), st.policy.allowed_devices.end(), parts[0]) ==
           st.policy.allowed_devices.end()) {
         return refused(p, fmt::format("adding {} to policy.allowed_devices", parts[0]));
       }
       st.host["Devices"].push_back({{"PathOnHost", parts[0]},
                                     {"PathInContainer", parts.size() > 1 ? parts[1] : parts[0]},
                                     {"CgroupPermissions", parts.size() > 2 ? parts[2] : "rwm"}});
       return {};
     },
     true},
    {"memory-swap", [](const Param& p, ParamState& st) { return set_bytes_host(p, st, "MemorySwap"); }},
    {"pids-limit",
     [](const Param& p, ParamState& st) -> util::Result<void> {
       auto n = parse_int64(p.value());
       if (!n) return param_error(p, n.error().message);
       if (*n <= 0 && !st.policy.allow_unlimited_pids) {
         return refused(p, "policy.allow_unlimited_pids: true (a value of 0 or less lifts the limit)");
       }
       if (st.host_pid_max > 0 && *n >= st.host_pid_max && !st.policy.allow_unlimited_pids) {
         return refused(p, fmt::format("policy.allow_unlimited_pids: true (the host's pid_max is {}: a limit at or "
                                       "above it limits nothing)",
                                       st.host_pid_max));
       }
       st.host["PidsLimit"] = *n;
       return {};
     }},
    {"tmpfs",
     [](const Param& p, ParamState& st) -> util::Result<void> {
       const auto colon = p.value().find(':');
       st.host["Tmpfs"][p.value().substr(0, colon)] = colon == std::string::npos ? "" : p.value().substr(colon + 1);
       return {};
     }},
    {"security-opt",
     [](const Param& p, ParamState& st) -> util::Result<void> {
       const auto& allowed = st.policy.allowed_security_opts;
       if (std::find(allowed.begin(), allowed.end(), p.value()) == allowed.end()) {
         return refused(p, fmt::format("adding \"{}\" to policy.allowed_security_opts", p.value()));
       }
       st.host["SecurityOpt"].push_back(p.value());
       return {};
     },
     true},
};

// (b) and the rest of DockerInfo.parameters, each through its handler, after the site policy.
util::Result<void> apply_parameters(const v1::ContainerInfo::DockerInfo& docker, ParamState& st) {
  for (const auto& p : docker.parameters()) {
    const ParamHandler* h = nullptr;
    for (const auto& candidate : kParamHandlers) {
      if (p.key() == candidate.key) h = &candidate;
    }
    if (h == nullptr) {
      st.warnings.push_back(fmt::format("docker parameter {}={} is not supported: ignored", p.key(), p.value()));
      continue;
    }
    if (!h->own_rule && !settings::name_listed(p.key(), st.policy.allowed_docker_parameters)) {
      return refused(p, fmt::format("adding {} to policy.allowed_docker_parameters", p.key()));
    }
    if (auto r = h->apply(p, st); !r) return r;
  }
  if (!st.log_config_opts.empty()) {
    st.host["LogConfig"]["Config"] = st.log_config_opts;
    if (!st.host["LogConfig"].contains("Type")) st.host["LogConfig"]["Type"] = "";
  }
  if (docker.privileged()) {
    if (!st.policy.allow_privileged) {
      return util::make_error(
          "DockerInfo.privileged: not allowed by the site policy (policy.allow_privileged: true in the site config "
          "file allows it)");
    }
    st.host["Privileged"] = true;
  }
  return {};
}

// (a) the variables of the task's executor command (Singularity's TASK_HOST, TASK_ID…): where Env starts.
std::vector<std::string> command_env(const v1::TaskInfo& task) {
  std::vector<std::string> env;
  for (const auto& v : task.executor().command().environment().variables()) env.push_back(v.name() + "=" + v.value());
  return env;
}

// (e) MESOS_HOSTNAME, the task's TASK_HOST (the last one given); (f) SERVICE_NAME and ENVIRONMENT, its
// ServiceName and Environment labels; (g) SERVICE_VERSION, the image's tag. Then every entry the site
// resolved (a Vault reference) replaced, wherever it came from.
void apply_service_env(const v1::TaskInfo& task, const ImageRef& image,
                       const std::map<std::string, std::string>& labels, const SpecOptions& opts,
                       std::vector<std::string>& env) {
  std::optional<std::string> task_host;
  for (const auto& v : task.executor().command().environment().variables()) {
    if (v.name() == "TASK_HOST") task_host = v.value();
  }
  if (task_host) env.push_back("MESOS_HOSTNAME=" + *task_host);
  if (auto it = labels.find("ServiceName"); it != labels.end()) env.push_back("SERVICE_NAME=" + it->second);
  if (auto it = labels.find("Environment"); it != labels.end()) env.push_back("ENVIRONMENT=" + it->second);
  if (auto version = service_version(image)) env.push_back("SERVICE_VERSION=" + *version);
  for (auto& e : env) {
    if (auto it = opts.env_replacements.find(e); it != opts.env_replacements.end()) e = it->second;
  }
}

// (d) ports: MESOS_PORT_<container>=<host>, exposed and published ports.
util::Result<void> apply_ports(const v1::ContainerInfo::DockerInfo& docker, std::vector<std::string>& env, json& body,
                               json& host) {
  json exposed = json::object();
  json bindings = json::object();
  for (const auto& pm : docker.port_mappings()) {
    if (pm.host_port() > 65535 || pm.container_port() > 65535) {
      return util::make_error(
          fmt::format("port mapping {}:{}: a port must be at most 65535", pm.host_port(), pm.container_port()));
    }
    if (pm.container_port() > 0 && pm.host_port() > 0) {
      env.push_back(fmt::format("MESOS_PORT_{}={}", pm.container_port(), pm.host_port()));
    }
    for (const auto& proto : protocols(pm.protocol())) {
      const std::string key = fmt::format("{}/{}", pm.container_port(), proto);
      if (pm.container_port() > 0) exposed[key] = json::object();
      if (pm.host_port() > 0) bindings[key].push_back({{"HostIp", ""}, {"HostPort", std::to_string(pm.host_port())}});
    }
  }
  if (!exposed.empty()) body["ExposedPorts"] = exposed;
  if (!bindings.empty()) host["PortBindings"] = bindings;
  return {};
}

// A user-defined network's name as Docker allows it. Not "host" (that is DockerInfo.network HOST, under
// its own policy), "none" or "default", nor "container:<id>" (another container's namespace).
util::Result<void> check_network_name(const std::string& name) {
  const bool valid_chars =
      std::isalnum(static_cast<unsigned char>(name[0])) && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
      });
  if (!valid_chars || name.size() > 128) {
    return util::make_error(
        fmt::format("network_infos name '{}': not a Docker network name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)",
                    util::escape_control_chars(name)));
  }
  if (name == "host" || name == "none" || name == "default") {
    return util::make_error(
        fmt::format("network_infos name '{}' with DockerInfo.network USER: use DockerInfo.network {} instead", name,
                    name == "host"   ? "HOST"
                    : name == "none" ? "NONE"
                                     : "BRIDGE"));
  }
  return {};
}

// EXECUTOR_MOUNT_SANDBOX: the sandbox bound read-write at kSandboxMountPath, and MESOS_SANDBOX there
// naming it (an entry the task set is rewritten in place, so the container sees one value).
util::Result<void> apply_sandbox_mount(const std::string& sandbox, std::vector<std::string>& env, json& host) {
  if (sandbox.empty() || sandbox[0] != '/' || sandbox == "/" || sandbox.find_first_of(":,") != std::string::npos) {
    return util::make_error(
        fmt::format("EXECUTOR_MOUNT_SANDBOX: the executor's working directory '{}' cannot be "
                    "mounted as the sandbox (an absolute path other than /, without ':' or ',')",
                    util::escape_control_chars(sandbox)));
  }
  host["Binds"].push_back(sandbox + ":" + kSandboxMountPath);
  const std::string value = std::string("MESOS_SANDBOX=") + kSandboxMountPath;
  bool set = false;
  for (auto& e : env) {
    if (e.rfind("MESOS_SANDBOX=", 0) == 0) {
      e = value;
      set = true;
    }
  }
  if (!set) env.push_back(value);
  return {};
}

// Volumes (host binds, within the site's allowed prefixes) and the network mode.
util::Result<void> apply_volumes_and_network(const v1::TaskInfo& task, const SpecOptions& opts, json& host,
                                             ContainerSpec& spec) {
  std::vector<std::string>& warnings = spec.warnings;
  std::vector<std::string>& extra_networks = spec.extra_networks;
  const settings::SitePolicy& policy = opts.policy;
  for (const auto& vol : task.container().volumes()) {
    if (vol.host_path().empty() || vol.container_path().empty()) {
      warnings.push_back(fmt::format("volume {} without a host path: ignored", vol.container_path()));
      continue;
    }
    // dockerd splits a bind at ':' and reads mount options after it (rw, z, Z relabel the host path):
    // a path holding ':' or ',' would say more than the task may.
    for (const std::string* p : {&vol.host_path(), &vol.container_path()}) {
      if (p->find_first_of(":,") != std::string::npos) {
        return util::make_error(fmt::format("volume {}: ':' and ',' are not allowed in volume paths", *p));
      }
    }
    if (vol.container_path()[0] != '/') {
      return util::make_error(fmt::format("volume {}: the container path must be absolute", vol.container_path()));
    }
    std::string source = vol.host_path();
    if (policy.allowed_bind_prefixes) {
      if (!settings::path_under_prefixes(vol.host_path(), *policy.allowed_bind_prefixes)) {
        return util::make_error(fmt::format(
            "volume {}:{}: the host path is outside the site's allowed bind prefixes (policy.allowed_bind_prefixes "
            "in the site config file)",
            util::escape_control_chars(vol.host_path()), util::escape_control_chars(vol.container_path())));
      }
      // The path as it is on the host, links resolved, is what is checked and what Docker gets. It must
      // exist whole: Docker would make the missing folders at the start, and a container with a folder
      // above them bound read-write could put a link there first. A missing path and one that leads
      // outside get the same words, without the link's target: the executor looks as root, and the task
      // must not learn from it what exists on the host.
      if (opts.resolve_host_path) {
        const auto real = opts.resolve_host_path(vol.host_path());
        if (!real || !settings::path_under_prefixes(*real, *policy.allowed_bind_prefixes) ||
            real->find_first_of(":,") != std::string::npos) {
          return util::make_error(fmt::format(
              "volume {}:{}: the host path does not exist, or leads outside the site's allowed bind prefixes "
              "(policy.allowed_bind_prefixes in the site config file: the path must exist, and its links must stay "
              "under them, in paths without ':' or ',')",
              util::escape_control_chars(vol.host_path()), util::escape_control_chars(vol.container_path())));
        }
        source = *real;
      }
      spec.checked_binds.push_back(source);
    }
    host["Binds"].push_back(source + ":" + vol.container_path() + (vol.mode() == v1::Volume::RO ? ":ro" : ""));
  }
  switch (task.container().docker().network()) {
    case v1::ContainerInfo::DockerInfo::HOST:
      if (!policy.allow_host_network) {
        return util::make_error(
            "DockerInfo.network HOST: not allowed by the site policy (policy.allow_host_network: true in the site "
            "config file allows it)");
      }
      if (!policy.allowed_capabilities && host.contains("CapAdd")) {
        for (const auto& cap : host["CapAdd"]) {
          if (capability_name(cap.get<std::string>()) == "NET_ADMIN") {
            return util::make_error(
                "docker parameter cap-add=NET_ADMIN with the host's network: not allowed by the site policy (it would "
                "change the host's interfaces and firewall; listing NET_ADMIN in policy.allowed_capabilities in the "
                "site config file allows it)");
          }
        }
      }
      host["NetworkMode"] = "host";
      break;
    case v1::ContainerInfo::DockerInfo::NONE: host["NetworkMode"] = "none"; break;
    case v1::ContainerInfo::DockerInfo::USER: {
      // As the Mesos Docker containerizer: the networks named in TaskInfo.container.network_infos; the
      // first is the container's network mode, the others are joined after the create.
      std::vector<std::string> names;
      for (const auto& ni : task.container().network_infos()) {
        if (ni.name().empty()) continue;
        if (auto ok = check_network_name(ni.name()); !ok) return ok.error();
        if (std::find(policy.allowed_networks.begin(), policy.allowed_networks.end(), ni.name()) ==
            policy.allowed_networks.end()) {
          return util::make_error(fmt::format(
              "network_infos name '{}': not allowed by the site policy (listing it in policy.allowed_networks in "
              "the site config file allows it)",
              ni.name()));
        }
        if (std::find(names.begin(), names.end(), ni.name()) == names.end()) names.push_back(ni.name());
      }
      if (names.empty()) {
        return util::make_error(
            "DockerInfo.network USER: TaskInfo.container.network_infos names no network (give each a name)");
      }
      host["NetworkMode"] = names.front();
      extra_networks.assign(names.begin() + 1, names.end());
      break;
    }
    default: host["NetworkMode"] = "default"; break;
  }
  return {};
}

// Limits from the task's resources: only positive, finite, sane amounts become limits.
util::Result<void> apply_limits(const v1::TaskInfo& task, const SpecOptions& opts, json& host) {
  constexpr double kMaxCpus = 1 << 20;      // more than any machine
  constexpr double kMaxMemMb = 1ULL << 40;  // 1 EiB
  for (const auto& [name, max] : {std::pair{"cpus", kMaxCpus}, std::pair{"mem", kMaxMemMb}}) {
    if (auto v = scalar_resource(task, name); v && !(std::isfinite(*v) && *v >= 0 && *v <= max)) {
      return util::make_error(fmt::format("resource {} = {} is not a usable amount", name, *v));
    }
  }
  if (opts.force_cpu_limit) {
    if (auto cpus = scalar_resource(task, "cpus")) {
      if (opts.use_cpu_shares) {
        const double share = std::min(1.0, *cpus / std::max(1, opts.host_cpus));
        host["CpuShares"] = static_cast<std::int64_t>(1024 * share);
      } else {
        host["CpuPeriod"] = 50000;
        host["CpuQuota"] = static_cast<std::int64_t>(*cpus * 50000);
      }
    }
  }
  if (opts.force_memory_limit) {
    if (auto mem = scalar_resource(task, "mem")) host["Memory"] = static_cast<std::int64_t>(*mem * 1048576);
  }
  return {};
}

}  // namespace

util::Result<ContainerSpec> build_container_spec(const v1::TaskInfo& task, const SpecOptions& opts) {
  ContainerSpec spec;
  const auto& docker = task.container().docker();
  auto image = validate_image_ref(docker.image());
  if (!image) return image.error();
  spec.name = container_name(task.task_id().value());
  json body = json::object();
  json host = json::object();
  body["Image"] = docker.image();

  // (a) the executor's environment (Singularity's TASK_HOST, TASK_ID…)
  std::vector<std::string> env = command_env(task);
  // (b) docker parameters, under the site policy
  ParamState st{body, host, opts.policy, env, {}, {}, {}, json::object(), {}, opts.host_pid_max};
  if (auto r = apply_parameters(docker, st); !r) return r.error();
  spec.warnings = std::move(st.warnings);
  if (task.container().has_hostname() && !body.contains("Hostname")) body["Hostname"] = task.container().hostname();

  // (c) what the executor adds goes here (with_executor_env)
  spec.executor_env_at = env.size();
  for (const auto& e : opts.extra_env) env.push_back(e);
  // (d) ports
  if (auto r = apply_ports(docker, env, body, host); !r) return r.error();
  // (e), (f), (g) the service's variables, then the resolved references
  auto& labels = st.labels;
  apply_service_env(task, *image, labels, opts, env);
  if (!opts.sandbox_mount.empty()) {
    if (auto r = apply_sandbox_mount(opts.sandbox_mount, env, host); !r) return r.error();
  }
  body["Env"] = env;

  if (auto it = labels.find("executor.ShellCommand"); it != labels.end()) {
    auto words = split_shell_words(it->second);
    if (!words) return util::make_error(fmt::format("label executor.ShellCommand: {}", words.error().message));
    body["Cmd"] = *words;
    labels.erase(it);
  }
  for (const auto& [k, v] : opts.own_labels) labels[k] = v;
  body["Labels"] = labels;

  if (!st.cap_add.empty()) host["CapAdd"] = st.cap_add;
  if (!st.cap_drop.empty()) host["CapDrop"] = st.cap_drop;
  // A container that writes to the sandbox must not leave device nodes there for root to meet; Docker
  // applies CapAdd after CapDrop, so MKNOD (or ALL) added by the task would undo the drop.
  if (!opts.sandbox_mount.empty()) {
    for (const auto& cap : st.cap_add) {
      if (cap == "MKNOD" || cap == "ALL") {
        return util::make_error(fmt::format(
            "docker parameter cap-add={}: not with the sandbox mounted in the container (EXECUTOR_MOUNT_SANDBOX): it "
            "would let the container make device nodes in the host's sandbox",
            cap));
      }
    }
    host["CapDrop"].push_back("MKNOD");
  }
  if (auto r = apply_volumes_and_network(task, opts, host, spec); !r) return r.error();
  if (auto r = apply_limits(task, opts, host); !r) return r.error();
  body["HostConfig"] = host;
  spec.body = std::move(body);
  return spec;
}

util::Result<void> recheck_binds(const ContainerSpec& spec, const SpecOptions& opts) {
  if (!opts.resolve_host_path) return {};
  for (const auto& path : spec.checked_binds) {
    const auto now = opts.resolve_host_path(path);
    if (!now || *now != path) {
      return util::make_error(fmt::format(
          "volume host path {}: changed since it was checked against policy.allowed_bind_prefixes (a part of it is "
          "now a link, or gone): the container is not created",
          util::escape_control_chars(path)));
    }
  }
  return {};
}

ContainerSpec with_executor_env(ContainerSpec spec, const std::vector<std::string>& extra_env,
                                const std::map<std::string, std::string>& env_replacements) {
  std::vector<std::string> env = container_env(spec);
  const std::size_t at = std::min(spec.executor_env_at, env.size());
  env.insert(env.begin() + static_cast<std::ptrdiff_t>(at), extra_env.begin(), extra_env.end());
  for (auto& e : env) {
    if (auto it = env_replacements.find(e); it != env_replacements.end()) e = it->second;
  }
  spec.body["Env"] = env;
  return spec;
}

std::vector<std::string> container_env(const ContainerSpec& spec) {
  std::vector<std::string> env;
  if (spec.body.contains("Env") && spec.body["Env"].is_array()) {
    for (const auto& kv : spec.body["Env"]) {
      if (kv.is_string()) env.push_back(kv.get<std::string>());
    }
  }
  return env;
}

}  // namespace docker
