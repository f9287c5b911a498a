// The executor's command line and what it prints without running a task: --help, --version,
// --settings-markdown, --print-config, and the Go executor's startup dump.
#pragma once

#include <string>

#include "settings/settings.h"

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
// The settings table as Markdown (the README's settings section; a test compares them).
void print_settings_markdown();
// Effective settings and the agent's variables, secrets redacted.
void print_config(const settings::Settings& s);
// The Go executor's startup dump on stdout: effective settings, then the MESOS_*, EXECUTOR_*, VAULT_*
// variables and HOME, sorted, never the Vault credentials or the agent's token.
void print_startup_dump(const settings::Settings& s);

}  // namespace app
