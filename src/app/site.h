// Everything the operator decides, read once at start: the site config file (settings, policy,
// locked variables), the optional settings-only file a task may name, and the environment, with
// locks applied before anything reads it. Also the process hardening the policy governs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "settings/config_file.h"
#include "settings/settings.h"
#include "util/result.h"

namespace app {

struct Site {
  settings::ConfigFile file;              // the site file (path empty when there is none)
  settings::Settings settings;            // effective settings
  std::vector<settings::LockNote> locks;  // locked names the task's environment tried to set
  std::string ignored_token_file;         // VAULT_TOKEN_FILE outside policy.vault_token_dirs, removed
};

// Removes VAULT_TOKEN_FILE from the environment unless its folder (the path resolved lexically, no
// symlink followed) is one of `allowed`; returns the path it removed, or empty.
std::string restrict_vault_token_file(const std::vector<std::string>& allowed);

// `config_path`: --config (empty: the default path, optional). `settings_path`: the file named by
// SIDECAR_EXECUTOR_CONFIG (empty: none). Errors name the file, line and key, or the variable.
util::Result<Site> load_site(const std::string& config_path, const std::string& settings_path,
                             std::string_view os_hostname);

// Removes the variables through which the environment (the task's, in part) would steer the
// libraries rather than the executor: OpenSSL's configuration and modules (a config file can load a
// shared object), the resolver's aliases and options (they would redirect a host name the site
// locked), a TZ naming a file outside the zone database (and TZDIR), and stops OpenSSL from reading
// any configuration file. Called first thing in main; the
// wrapper drops the loader's own (LD_*) before the executor starts.
void drop_library_variables();

// No core file and not dumpable (no ptrace, /proc/<pid>/environ and mem are root's alone), unless
// the site allows core dumps for debugging (policy.allow_core_dumps).
void harden_process(bool allow_core_dumps);

}  // namespace app
