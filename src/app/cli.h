// The executor's command line and what it prints without running a task: --help, --version,
// --settings-markdown, --print-config, and the Go executor's startup dump.
#pragma once

#include <optional>
#include <string>

#include "app/site.h"
#include "settings/settings.h"
#include "util/result.h"

namespace app {

struct CommandLine {
  enum class Action : unsigned char { Run, Help, Version, SettingsMarkdown, PrintConfig, Check, Error };
  Action action = Action::Run;
  std::string config_path;   // --config: the site file instead of the default path
  std::string image;         // --check --image REF
  std::string executor_dir;  // --check --executor-dir DIR (empty: the build's, /opt/mesos)
  std::string error;         // Action::Error: what was wrong
};

// Other arguments are ignored: the wrapper passes padding for the process title.
CommandLine parse_command_line(int argc, char** argv);

void print_help();

// A configuration the executor cannot run with: `message` on stderr, and the exit code that says so (2).
inline constexpr int kConfigError = 2;
int config_error(const std::string& message);

// What the command line asks for that needs no site file (--help, --version, --settings-markdown), done,
// or its error reported: the process's exit code; nullopt when there is more to do (a run, --check,
// --print-config).
std::optional<int> run_without_site(const CommandLine& cl);

// What needs the site but no agent (--check, --print-config), done, or the site's error reported: the
// process's exit code; nullopt for a run.
std::optional<int> run_without_agent(const CommandLine& cl, const util::Result<Site>& site);
// The settings table as Markdown (the README's settings section; a test compares them).
void print_settings_markdown();
// Effective settings and the agent's variables, secrets redacted.
void print_config(const settings::Settings& s);
// The Go executor's startup dump on stdout: effective settings, then the MESOS_*, EXECUTOR_*, VAULT_*
// variables and HOME, sorted, never the Vault credentials or the agent's token.
void print_startup_dump(const settings::Settings& s);

}  // namespace app
