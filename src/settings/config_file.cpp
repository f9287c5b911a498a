// YAML site config.
#include "settings/config_file.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <regex>

#include "settings/settings.h"
#include "util/regular_file.h"

namespace settings {

namespace {

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

bool valid_env_name(const std::string& n) {
  static const std::regex re("[A-Za-z_][A-Za-z0-9_]*");
  return std::regex_match(n, re);
}

util::Result<std::vector<std::string>> string_list(const YAML::Node& node, const std::string& where) {
  std::vector<std::string> out;
  if (node.IsNull()) return out;
  if (node.IsScalar()) {
    out.push_back(node.Scalar());
    return out;
  }
  if (!node.IsSequence()) return util::make_error(fmt::format("{}: must be a list", where));
  for (const auto& item : node) {
    if (!item.IsScalar()) return util::make_error(fmt::format("{}: list items must be single values", where));
    out.push_back(item.Scalar());
  }
  return out;
}

util::Result<bool> flag(const YAML::Node& node, const std::string& where) {
  if (!node.IsScalar()) return util::make_error(fmt::format("{}: must be true or false", where));
  auto b = parse_go_bool(node.Scalar());
  if (!b) return util::make_error(fmt::format("{}: {}", where, b.error().message));
  return *b;
}

util::Result<void> parse_policy(const YAML::Node& node, const std::string& source, SitePolicy& p) {
  if (node.IsNull()) return {};
  if (!node.IsMap()) {
    return util::make_error(fmt::format("{}:{}: policy: must be a mapping", source, node.Mark().line + 1));
  }
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    const std::string where = fmt::format("{}:{}: policy.{}", source, kv.first.Mark().line + 1, key);
    const YAML::Node& v = kv.second;
    auto set_list = [&](std::vector<std::string>& dst) -> util::Result<void> {
      auto l = string_list(v, where);
      if (!l) return l.error();
      dst = std::move(*l);
      return {};
    };
    auto set_opt_list = [&](std::optional<std::vector<std::string>>& dst) -> util::Result<void> {
      if (v.IsScalar() && (v.Scalar() == "any" || v.Scalar() == "*")) {
        dst.reset();
        return {};
      }
      auto l = string_list(v, where);
      if (!l) return l.error();
      dst = std::move(*l);
      return {};
    };
    auto set_flag = [&](bool& dst) -> util::Result<void> {
      auto b = flag(v, where);
      if (!b) return b.error();
      dst = *b;
      return {};
    };
    util::Result<void> r;
    if (key == "allowed_docker_parameters")
      r = set_list(p.allowed_docker_parameters);
    else if (key == "allow_privileged")
      r = set_flag(p.allow_privileged);
    else if (key == "allowed_devices")
      r = set_list(p.allowed_devices);
    else if (key == "allowed_security_opts")
      r = set_list(p.allowed_security_opts);
    else if (key == "allowed_capabilities")
      r = set_opt_list(p.allowed_capabilities);
    else if (key == "allowed_bind_prefixes")
      r = set_opt_list(p.allowed_bind_prefixes);
    else if (key == "allowed_networks")
      r = set_list(p.allowed_networks);
    else if (key == "allow_host_network")
      r = set_flag(p.allow_host_network);
    else if (key == "allow_unlimited_pids")
      r = set_flag(p.allow_unlimited_pids);
    else if (key == "allow_core_dumps")
      r = set_flag(p.allow_core_dumps);
    else if (key == "env_dump_values")
      r = set_list(p.env_dump_values);
    else if (key == "vault_token_dirs")
      r = set_list(p.vault_token_dirs);
    else if (key == "vault_path_prefixes")
      r = set_opt_list(p.vault_path_prefixes);
    else if (key == "locked") {
      r = set_list(p.locked);
      if (r) {
        for (auto& name : p.locked) {
          if (!valid_env_name(name))
            return util::make_error(fmt::format("{}: \"{}\" is not a variable name", where, name));
          const std::string up = upper(name);
          if (up.rfind("MESOS_", 0) == 0 || up.rfind("LIBPROCESS_", 0) == 0) {
            return util::make_error(fmt::format("{}: {} is the agent's, not the site's", where, name));
          }
          // A setting may be named as elsewhere in the file: with or without its prefix, any case.
          const std::string setting = up.rfind("EXECUTOR_", 0) == 0 ? up : "EXECUTOR_" + up;
          const auto& specs = setting_specs();
          if (std::any_of(specs.begin(), specs.end(), [&](const SettingSpec& s) { return s.env == setting; })) {
            name = setting;
          } else if (up.rfind("EXECUTOR_", 0) == 0) {
            return util::make_error(fmt::format("{}: {} is not a setting (see sidecar-executor --help)", where, name));
          } else if (name != up) {
            // Environment names are case-sensitive: a lower-case spelling would lock nothing the
            // executor reads.
            return util::make_error(fmt::format(
                "{}: {}: variable names are case-sensitive; write {} (or the setting's name)", where, name, up));
          }
        }
      }
    } else {
      return util::make_error(
          fmt::format("{}: unknown policy key (one of: {})", where, fmt::join(policy_keys(), ", ")));
    }
    if (!r) return r.error();
  }
  return {};
}

util::Result<void> parse_environment(const YAML::Node& node, const std::string& source,
                                     std::map<std::string, std::string>& env) {
  if (node.IsNull()) return {};
  if (!node.IsMap()) {
    return util::make_error(fmt::format("{}:{}: environment: must be a mapping", source, node.Mark().line + 1));
  }
  for (const auto& kv : node) {
    const std::string name = kv.first.Scalar();
    const std::string where = fmt::format("{}:{}: environment.{}", source, kv.first.Mark().line + 1, name);
    if (!valid_env_name(name)) return util::make_error(fmt::format("{}: not a variable name", where));
    if (upper(name).rfind("EXECUTOR_", 0) == 0) {
      return util::make_error(fmt::format("{}: EXECUTOR_ settings are top-level keys of the file", where));
    }
    if (!kv.second.IsScalar()) return util::make_error(fmt::format("{}: must be a single value", where));
    env[name] = kv.second.Scalar();
  }
  return {};
}

}  // namespace

util::Result<ConfigFile> parse_config_text(const std::string& text, const std::string& source, FileRole role) {
  YAML::Node doc;
  try {
    doc = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return util::make_error(fmt::format("{}:{}: not YAML: {}", source, e.mark.line + 1, e.msg));
  }
  ConfigFile out;
  out.path = source;
  if (doc.IsNull()) return out;  // an empty file
  if (!doc.IsMap()) return util::make_error(fmt::format("{}: must be a mapping of setting: value", source));
  for (const auto& kv : doc) {
    const int line = kv.first.Mark().line + 1;
    std::string key = kv.first.Scalar();
    if ((key == "policy" || key == "environment") && role != FileRole::Site) {
      return util::make_error(
          fmt::format("{}:{}: {}: only the site config file (--config, else {}) may hold it, not "
                      "a file named by {}",
                      source, line, key, kDefaultConfigPath, kConfigPathVar));
    }
    if (key == "policy") {
      if (auto r = parse_policy(kv.second, source, out.policy); !r) return r.error();
      continue;
    }
    if (key == "environment") {
      if (auto r = parse_environment(kv.second, source, out.environment); !r) return r.error();
      continue;
    }
    std::string name = key;
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (name.rfind("EXECUTOR_", 0) != 0) name = "EXECUTOR_" + name;
    const auto& specs = setting_specs();
    if (std::none_of(specs.begin(), specs.end(), [&](const SettingSpec& s) { return s.env == name; })) {
      return util::make_error(
          fmt::format("{}:{}: unknown setting \"{}\" (see sidecar-executor --help)", source, line, key));
    }
    std::string value;
    if (kv.second.IsScalar()) {
      value = kv.second.Scalar();
    } else if (kv.second.IsSequence()) {
      for (const auto& item : kv.second) {
        if (!item.IsScalar())
          return util::make_error(fmt::format("{}:{}: {}: list items must be single values", source, line, key));
        value += (value.empty() ? "" : ",") + item.Scalar();
      }
    } else if (!kv.second.IsNull()) {
      return util::make_error(fmt::format("{}:{}: {}: must be a single value or a list", source, line, key));
    }
    // The value on its own must load, so that the error names this line.
    auto alone = load_settings(util::map_env({{name, value}}), "localhost");
    if (!alone) return util::make_error(fmt::format("{}:{}: {}: {}", source, line, key, alone.error().message));
    if (out.values.count(name)) return util::make_error(fmt::format("{}:{}: {} is set twice", source, line, key));
    out.values[name] = value;
  }
  return out;
}

util::Result<void> check_site_file_owner(const std::string& path, unsigned uid, unsigned mode) {
  if (uid != 0) {
    return util::make_error(
        fmt::format("the config file {} is owned by uid {}, not root: refusing a site file "
                    "that someone other than the operator could have written",
                    path, uid));
  }
  if ((mode & (S_IWGRP | S_IWOTH)) != 0) {
    return util::make_error(
        fmt::format("the config file {} is writable by {} (mode {:04o}): refusing it; "
                    "chmod go-w it",
                    path, (mode & S_IWOTH) != 0 ? "others" : "its group", mode & 07777));
  }
  return {};
}

util::Result<ConfigFile> load_config_file(const std::string& path, bool required, FileRole role) {
  // Links are followed: a site may keep its file behind a symlink; the file itself is checked. A task
  // can name the settings-only file: what it names is checked to be a regular file before it is opened
  // (util::open_regular_file: opening a device or a FIFO as root has effects of its own).
  const util::RegularFile file = util::open_regular_file(path);
  if (file.not_regular) return util::make_error(fmt::format("the config file {} is not a regular file", path));
  if (file.fd < 0) {
    if (!required && file.error == ENOENT) return ConfigFile{};
    return util::make_error(fmt::format("cannot read the config file {}: {}", path, std::strerror(file.error)));
  }
  const int fd = file.fd;
  const struct stat st = file.st;
  if (auto ok = check_site_file_owner(path, st.st_uid, st.st_mode); !ok) {
    ::close(fd);
    return ok.error();
  }
  constexpr off_t kMaxSize = 1 << 20;
  if (st.st_size > kMaxSize) {
    ::close(fd);
    return util::make_error(fmt::format("the config file {} is larger than 1 MiB", path));
  }
  std::string text;
  char buf[8192];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0 && text.size() <= static_cast<std::size_t>(kMaxSize);) {
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  auto parsed = parse_config_text(text, path, role);
  if (!parsed && role == FileRole::SettingsOnly &&
      parsed.error().message.find("only the site config file") == std::string::npos) {
    // The task named this file, and it may be any file root can read: its text (keys, values) is not
    // repeated, only where the problem is.
    const auto& m = parsed.error().message;
    const auto line_end = m.find(": ", path.size() + 1);
    return util::make_error(
        fmt::format("{}: not a valid settings file (at {}; its text is not shown)", path, m.substr(0, line_end)));
  }
  return parsed;
}

std::vector<LockNote> apply_locks(const ConfigFile& file) {
  std::vector<LockNote> notes;
  for (const auto& name : file.policy.locked) {
    std::optional<std::string> site;
    if (auto it = file.values.find(name); it != file.values.end()) site = it->second;
    if (auto it = file.environment.find(name); it != file.environment.end()) site = it->second;
    const char* now = std::getenv(name.c_str());
    const bool differs = now != nullptr && (!site || *site != now);
    if (site) {
      ::setenv(name.c_str(), site->c_str(), 1);
    } else {
      ::unsetenv(name.c_str());
    }
    if (differs) notes.push_back(LockNote{name, true});
  }
  return notes;
}

util::EnvLookup layered(util::EnvLookup env, const ConfigFile& file) {
  return [env = std::move(env), values = file.values](const std::string& name) -> std::optional<std::string> {
    if (auto v = env(name); v && !v->empty()) return v;
    if (auto it = values.find(name); it != values.end()) return it->second;
    return std::nullopt;
  };
}

}  // namespace settings
