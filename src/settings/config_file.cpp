// YAML site config.
#include "settings/config_file.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "settings/settings.h"

namespace settings {

util::Result<ConfigFile> parse_config_text(const std::string& text, const std::string& source) {
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
    std::string name = key;
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (name.rfind("EXECUTOR_", 0) != 0) name = "EXECUTOR_" + name;
    const auto& specs = setting_specs();
    if (std::none_of(specs.begin(), specs.end(), [&](const SettingSpec& s) { return s.env == name; })) {
      return util::make_error(fmt::format("{}:{}: unknown setting \"{}\" (see sidecar-executor --help)", source, line, key));
    }
    std::string value;
    if (kv.second.IsScalar()) {
      value = kv.second.Scalar();
    } else if (kv.second.IsSequence()) {
      for (const auto& item : kv.second) {
        if (!item.IsScalar()) return util::make_error(fmt::format("{}:{}: {}: list items must be single values", source, line, key));
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

util::Result<ConfigFile> load_config_file(const std::string& path, bool required) {
  std::ifstream f(path);
  if (!f) {
    if (!required) return ConfigFile{};
    return util::make_error(fmt::format("cannot read the config file {}", path));
  }
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_config_text(ss.str(), path);
}

util::EnvLookup layered(util::EnvLookup env, const ConfigFile& file) {
  return [env = std::move(env), values = file.values](const std::string& name) -> std::optional<std::string> {
    if (auto v = env(name); v && !v->empty()) return v;
    if (auto it = values.find(name); it != values.end()) return it->second;
    return std::nullopt;
  };
}

}  // namespace settings
