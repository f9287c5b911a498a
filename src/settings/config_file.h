// The site config file: YAML holding any EXECUTOR_* setting, for values an operator wants on every
// agent without touching each task. Precedence: defaults < file < EXECUTOR_* environment. Keys are the
// variable names, with or without the EXECUTOR_ prefix, in any case (`kill_task_timeout: 10`); a list
// is joined with commas (send_docker_labels). An unknown key or a bad value is an error naming the
// file, the line and the key.
//
// The file is the operator's, so it is authoritative: it is read only when it is owned by root and
// not writable by group or others (else the executor refuses to start), and it alone holds the site
// policy (`policy:`, see settings/policy.h) and the values of locked environment variables
// (`environment:`).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "settings/policy.h"
#include "util/env.h"
#include "util/result.h"

namespace settings {

inline constexpr const char* kDefaultConfigPath = "/etc/sidecar-executor/config.yaml";
inline constexpr const char* kConfigPathVar = "SIDECAR_EXECUTOR_CONFIG";

struct ConfigFile {
  std::string path;                                // empty: no file
  std::map<std::string, std::string> values;       // EXECUTOR_NAME → text
  SitePolicy policy;                               // defaults when the file has no `policy:`
  std::map<std::string, std::string> environment;  // NAME → value for locked non-EXECUTOR_ names
};

// What locking did to one variable, for the log.
struct LockNote {
  std::string name;
  bool task_tried = false;  // the environment held a value other than the site's
};

// Whose file it is: the site file (--config, else the default path) holds the policy; a file named by
// SIDECAR_EXECUTOR_CONFIG, a variable of the task's environment, holds settings only and ranks with
// the environment (a task must not pick its own policy).
enum class FileRole : unsigned char { Site, SettingsOnly };

// `required`: a missing file is an error (given with --config or the variable); else it is no file.
util::Result<ConfigFile> load_config_file(const std::string& path, bool required, FileRole role = FileRole::Site);
util::Result<ConfigFile> parse_config_text(const std::string& text, const std::string& source,
                                           FileRole role = FileRole::Site);

// The environment, falling back to the file for settings the environment does not set.
util::EnvLookup layered(util::EnvLookup env, const ConfigFile& file);

// Applies `locked` to the process environment before anything reads it: each locked name gets the
// site's value (the file's setting or `environment:` entry) or is removed (its default applies).
// Returns the names whose environment value was replaced or removed.
std::vector<LockNote> apply_locks(const ConfigFile& file);

// The ownership rule alone (for tests): an error naming the problem, or nothing.
util::Result<void> check_site_file_owner(const std::string& path, unsigned uid, unsigned mode);

}  // namespace settings
