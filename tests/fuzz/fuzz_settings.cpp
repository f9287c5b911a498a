// Settings: the input as Go and Mesos durations, a Go boolean, a site config file (YAML), and as
// "NAME=value" lines given to the settings loader (EXECUTOR_* and MESOS_* variables).
#include <cstddef>
#include <cstdint>
#include <map>
#include <sstream>
#include <string>

#include "mesos/agent_env.h"
#include "settings/config_file.h"
#include "settings/settings.h"
#include "util/env.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  if (auto d = settings::parse_go_duration(in)) (void)settings::format_go_duration(*d);
  (void)settings::parse_mesos_duration(in);
  (void)settings::parse_go_bool(in);
  if (auto file = settings::parse_config_text(in, "fuzz.yaml")) {
    (void)settings::load_settings(settings::layered(util::map_env({}), *file), "host");
  }
  std::map<std::string, std::string> vars;
  std::istringstream lines(in);
  for (std::string line; std::getline(lines, line);) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) vars[line.substr(0, eq)] = line.substr(eq + 1);
  }
  const auto env = util::map_env(vars);
  (void)settings::load_settings(env, "host");
  (void)mesos::load_agent_env(env);
  return 0;
}
