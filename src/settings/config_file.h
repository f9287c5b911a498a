// The site config file: YAML holding any EXECUTOR_* setting, for values an operator wants on every
// agent without touching each task. Precedence: defaults < file < EXECUTOR_* environment. Keys are the
// variable names, with or without the EXECUTOR_ prefix, in any case (`kill_task_timeout: 10`); a list
// is joined with commas (send_docker_labels). An unknown key or a bad value is an error naming the
// file, the line and the key.
#pragma once

#include <map>
#include <string>

#include "util/env.h"
#include "util/result.h"

namespace settings {

inline constexpr const char* kDefaultConfigPath = "/etc/sidecar-executor/config.yaml";
inline constexpr const char* kConfigPathVar = "SIDECAR_EXECUTOR_CONFIG";

struct ConfigFile {
  std::string path;                           // empty: no file
  std::map<std::string, std::string> values;  // EXECUTOR_NAME → text
};

// `required`: a missing file is an error (given with --config or the variable); else it is no file.
util::Result<ConfigFile> load_config_file(const std::string& path, bool required);
util::Result<ConfigFile> parse_config_text(const std::string& text, const std::string& source);

// The environment, falling back to the file for settings the environment does not set.
util::EnvLookup layered(util::EnvLookup env, const ConfigFile& file);

}  // namespace settings
