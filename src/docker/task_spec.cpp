// The TaskInfo → container create body translation.
#include "docker/task_spec.h"

#include <fmt/format.h>

#include <cmath>

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>

#include "docker/image_ref.h"
#include "settings/settings.h"

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
      if (c == '\'') quote = None; else cur.push_back(c);
      continue;
    }
    if (quote == Double) {
      if (c == '"') {
        quote = None;
      } else if (c == '\\' && i + 1 < text.size() && std::string_view("\\\"$`\n").find(text[i + 1]) != std::string_view::npos) {
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
    if (c == '\'') quote = Single;
    else if (c == '"') quote = Double;
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
  if (ec != std::errc() || p != t.data() + t.size()) return util::make_error(fmt::format("\"{}\" is not an integer", t));
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
  std::transform(unit.begin(), unit.end(), unit.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::int64_t mult = 1;
  if (unit.empty() || unit == "b") mult = 1;
  else if (unit == "k" || unit == "kb") mult = 1LL << 10;
  else if (unit == "m" || unit == "mb") mult = 1LL << 20;
  else if (unit == "g" || unit == "gb") mult = 1LL << 30;
  else return util::make_error(fmt::format("\"{}\" has an unknown size unit", t));
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
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string p = text.substr(start, comma - start);
    p.erase(0, p.find_first_not_of(' '));
    if (auto last = p.find_last_not_of(' '); last != std::string::npos) p.erase(last + 1);
    if (!p.empty()) out.push_back(p);
    start = comma + 1;
  }
  if (out.empty()) out.push_back("tcp");
  return out;
}

}  // namespace

util::Result<ContainerSpec> build_container_spec(const v1::TaskInfo& task, const SpecOptions& opts) {
  ContainerSpec spec;
  const auto& docker = task.container().docker();
  spec.name = container_name(task.task_id().value());
  json body = json::object();
  json host = json::object();
  body["Image"] = docker.image();

  // (a) the executor's environment (Singularity's TASK_HOST, TASK_ID…)
  std::vector<std::string> env;
  std::optional<std::string> task_host;
  for (const auto& v : task.executor().command().environment().variables()) {
    env.push_back(v.name() + "=" + v.value());
    if (v.name() == "TASK_HOST") task_host = v.value();
  }

  std::map<std::string, std::string> labels;
  std::vector<std::string> cap_add;
  std::vector<std::string> cap_drop;
  json log_config_opts = json::object();
  auto fail = [&](const v1::Parameter& p, const std::string& why) {
    return util::make_error(fmt::format("docker parameter {}={}: {}", p.key(), p.value(), why));
  };
  for (const auto& p : docker.parameters()) {
    const std::string& k = p.key();
    const std::string& val = p.value();
    if (k == "env") {
      env.push_back(val);  // (b)
    } else if (k == "label") {
      const auto eq = val.find('=');
      if (eq == std::string::npos) {
        spec.warnings.push_back(fmt::format("docker parameter label={} has no '=': ignored", val));
      } else {
        labels[val.substr(0, eq)] = val.substr(eq + 1);
      }
    } else if (k == "cap-add") {
      cap_add.push_back(val);
    } else if (k == "cap-drop") {
      cap_drop.push_back(val);
    } else if (k == "volume-driver") {
      host["VolumeDriver"] = val;
    } else if (k == "user") {
      body["User"] = val;
    } else if (k == "workdir") {
      body["WorkingDir"] = val;
    } else if (k == "entrypoint") {
      body["Entrypoint"] = json::array({val});
    } else if (k == "hostname") {
      body["Hostname"] = val;
    } else if (k == "dns") {
      host["Dns"].push_back(val);
    } else if (k == "add-host") {
      host["ExtraHosts"].push_back(val);
    } else if (k == "ulimit") {
      const auto eq = val.find('=');
      if (eq == std::string::npos) return fail(p, "expected name=soft[:hard]");
      const std::string limits = val.substr(eq + 1);
      const auto colon = limits.find(':');
      auto soft = parse_int64(limits.substr(0, colon));
      auto hard = colon == std::string::npos ? soft : parse_int64(limits.substr(colon + 1));
      if (!soft || !hard) return fail(p, "expected name=soft[:hard] with integers");
      host["Ulimits"].push_back({{"Name", val.substr(0, eq)}, {"Soft", *soft}, {"Hard", *hard}});
    } else if (k == "shm-size") {
      auto b = parse_bytes(val);
      if (!b) return fail(p, b.error().message);
      host["ShmSize"] = *b;
    } else if (k == "log-driver") {
      host["LogConfig"]["Type"] = val;
    } else if (k == "log-opt") {
      const auto eq = val.find('=');
      if (eq == std::string::npos) return fail(p, "expected key=value");
      log_config_opts[val.substr(0, eq)] = val.substr(eq + 1);
    } else if (k == "privileged" || k == "read-only" || k == "init") {
      auto b = parse_flag(val);
      if (!b) return fail(p, b.error().message);
      host[k == "privileged" ? "Privileged" : k == "read-only" ? "ReadonlyRootfs" : "Init"] = *b;
    } else if (k == "device") {
      std::vector<std::string> parts;
      std::size_t start = 0;
      while (start <= val.size()) {
        auto colon = val.find(':', start);
        if (colon == std::string::npos) colon = val.size();
        parts.push_back(val.substr(start, colon - start));
        start = colon + 1;
      }
      if (parts.empty() || parts[0].empty() || parts.size() > 3) return fail(p, "expected /dev/host[:/dev/container[:rwm]]");
      host["Devices"].push_back({{"PathOnHost", parts[0]},
                                 {"PathInContainer", parts.size() > 1 ? parts[1] : parts[0]},
                                 {"CgroupPermissions", parts.size() > 2 ? parts[2] : "rwm"}});
    } else if (k == "memory-swap") {
      auto b = parse_bytes(val);
      if (!b) return fail(p, b.error().message);
      host["MemorySwap"] = *b;
    } else if (k == "pids-limit") {
      auto n = parse_int64(val);
      if (!n) return fail(p, n.error().message);
      host["PidsLimit"] = *n;
    } else if (k == "tmpfs") {
      const auto colon = val.find(':');
      host["Tmpfs"][val.substr(0, colon)] = colon == std::string::npos ? "" : val.substr(colon + 1);
    } else if (k == "security-opt") {
      host["SecurityOpt"].push_back(val);
    } else {
      spec.warnings.push_back(fmt::format("docker parameter {}={} is not supported: ignored", k, val));
    }
  }
  if (!log_config_opts.empty()) {
    host["LogConfig"]["Config"] = log_config_opts;
    if (!host["LogConfig"].contains("Type")) host["LogConfig"]["Type"] = "";
  }
  if (docker.privileged()) host["Privileged"] = true;
  if (task.container().has_hostname() && !body.contains("Hostname")) body["Hostname"] = task.container().hostname();

  // (c) what the executor adds
  for (const auto& e : opts.extra_env) env.push_back(e);
  // (d) ports
  json exposed = json::object();
  json bindings = json::object();
  for (const auto& pm : docker.port_mappings()) {
    if (pm.host_port() > 65535 || pm.container_port() > 65535) {
      return util::make_error(fmt::format("port mapping {}:{}: a port must be at most 65535", pm.host_port(),
                                          pm.container_port()));
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
  // (e), (f), (g)
  if (task_host) env.push_back("MESOS_HOSTNAME=" + *task_host);
  if (auto it = labels.find("ServiceName"); it != labels.end()) env.push_back("SERVICE_NAME=" + it->second);
  if (auto it = labels.find("Environment"); it != labels.end()) env.push_back("ENVIRONMENT=" + it->second);
  if (const auto tag = parse_image_ref(docker.image()).tag; !tag.empty()) env.push_back("SERVICE_VERSION=" + tag);
  for (auto& e : env) {
    if (auto it = opts.env_replacements.find(e); it != opts.env_replacements.end()) e = it->second;
  }
  body["Env"] = env;

  if (auto it = labels.find("executor.ShellCommand"); it != labels.end()) {
    auto words = split_shell_words(it->second);
    if (!words) return util::make_error(fmt::format("label executor.ShellCommand: {}", words.error().message));
    body["Cmd"] = *words;
    labels.erase(it);
  }
  body["Labels"] = labels;
  if (!exposed.empty()) body["ExposedPorts"] = exposed;
  if (!bindings.empty()) host["PortBindings"] = bindings;

  for (const auto& vol : task.container().volumes()) {
    if (vol.host_path().empty() || vol.container_path().empty()) {
      spec.warnings.push_back(fmt::format("volume {} without a host path: ignored", vol.container_path()));
      continue;
    }
    host["Binds"].push_back(vol.host_path() + ":" + vol.container_path() + (vol.mode() == v1::Volume::RO ? ":ro" : ""));
  }
  switch (docker.network()) {
    case v1::ContainerInfo::DockerInfo::HOST: host["NetworkMode"] = "host"; break;
    case v1::ContainerInfo::DockerInfo::NONE: host["NetworkMode"] = "none"; break;
    default: host["NetworkMode"] = "default"; break;
  }
  if (!cap_add.empty()) host["CapAdd"] = cap_add;
  if (!cap_drop.empty()) host["CapDrop"] = cap_drop;

  // Limits from the task's resources: only positive, finite, sane amounts become limits.
  constexpr double kMaxCpus = 1 << 20;         // more than any machine
  constexpr double kMaxMemMb = 1ULL << 40;     // 1 EiB
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
  body["HostConfig"] = host;
  spec.body = std::move(body);
  return spec;
}

}  // namespace docker
