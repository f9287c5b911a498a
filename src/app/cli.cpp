// Command line, help and the printed configuration.
#include "app/cli.h"

#include <fmt/format.h>

#include <cstdio>
#include <string_view>

#include "app/check.h"
#include "mesos/agent_env.h"
#include "settings/config_file.h"
#include "util/env.h"
#include "util/http_safe.h"
#include "util/secrets.h"
#include "version.h"

namespace app {

CommandLine parse_command_line(int argc, char** argv) {
  CommandLine cl;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      cl.config_path = argv[++i];
    } else if (arg.rfind("--config=", 0) == 0) {
      cl.config_path = std::string(arg.substr(9));
    } else if (arg == "--help" || arg == "-h") {
      cl.action = CommandLine::Action::Help;
      return cl;
    } else if (arg == "--version") {
      cl.action = CommandLine::Action::Version;
      return cl;
    } else if (arg == "--settings-markdown") {
      cl.action = CommandLine::Action::SettingsMarkdown;
      return cl;
    } else if (arg == "--print-config") {
      cl.action = CommandLine::Action::PrintConfig;
    } else if (arg == "--check") {
      cl.action = CommandLine::Action::Check;
    } else if (arg == "--image" && i + 1 < argc) {
      cl.image = argv[++i];
    } else if (arg == "--executor-dir" && i + 1 < argc) {
      cl.executor_dir = argv[++i];
    } else if (arg.rfind("--", 0) == 0) {
      cl.action = CommandLine::Action::Error;
      cl.error = fmt::format("unknown option {} (see --help)", arg);
      return cl;
    }
  }
  return cl;
}

int config_error(const std::string& message) {
  fmt::print(stderr, "sidecar-executor: {}\n", message);
  return kConfigError;
}

std::optional<int> run_without_site(const CommandLine& cl) {
  switch (cl.action) {
    case CommandLine::Action::Help: print_help(); return 0;
    case CommandLine::Action::Version: fmt::print("sidecar-executor {}\n", SIDECAR_EXECUTOR_VERSION); return 0;
    case CommandLine::Action::SettingsMarkdown: print_settings_markdown(); return 0;
    case CommandLine::Action::Error: return config_error(cl.error);
    case CommandLine::Action::Run:
    case CommandLine::Action::Check:
    case CommandLine::Action::PrintConfig: break;
  }
  return std::nullopt;
}

std::optional<int> run_without_agent(const CommandLine& cl, const util::Result<Site>& site) {
  if (cl.action == CommandLine::Action::Check) return run_check(cl, site);
  if (!site) return config_error(site.error().message);
  if (cl.action == CommandLine::Action::PrintConfig) {
    print_config(site->settings);
    return 0;
  }
  return std::nullopt;
}

void print_help() {
  fmt::print(
      "Usage: sidecar-executor [--config FILE] [--help | --version | --print-config]\n"
      "       sidecar-executor [--config FILE] --check [--image REF] [--executor-dir DIR]\n"
      "         checks this agent's site without an agent: Docker, the registry credentials a pull of REF\n"
      "         would use, Vault and its token's TTL, Sidecar knowing this host, the syslog address, the\n"
      "         wrapper and binary in DIR (default " SIDECAR_EXECUTOR_DIR
      "); exit 0 only when nothing failed\n\n"
      "A Mesos executor that runs one Docker container per task, tied to Sidecar and Vault.\n"
      "It is started by the Mesos agent (see MESOS_* variables) and configured by EXECUTOR_* variables:\n\n");
  for (const auto& s : settings::setting_specs()) {
    fmt::print("  {:<38} default {}\n      {}\n", s.env, s.default_text.empty() ? "(empty)" : s.default_text, s.doc);
  }
  fmt::print(
      "\nAs in the Go executor, a setting it also has is read from its name without EXECUTOR_\n"
      "(KILL_TASK_TIMEOUT, LOG_HOSTNAME, DEBUG, ...) when the EXECUTOR_ name is absent from the\n"
      "environment altogether (an empty EXECUTOR_ value does not count as absent) and no file sets it;\n"
      "never for a name the site file locks.\n");
  fmt::print(
      "\nSettings can also come from YAML files (keys: the names above, with or without EXECUTOR_):\n"
      "  the site file, --config FILE, else {} if it exists: settings, the site policy (policy:)\n"
      "  and locked variables (environment:); it must be owned by root and writable by root only;\n"
      "  and {}=FILE: settings only.\n"
      "  Precedence: defaults < site file < {} file < environment; locked names: the site file only.\n",
      settings::kDefaultConfigPath, settings::kConfigPathVar, settings::kConfigPathVar);
  fmt::print("\nOther arguments are ignored (the wrapper script passes padding for the process title).\n");
}

// The settings table as Markdown: the README's settings section is this output (tools/update-readme
// writes it; a test fails when they differ).
void print_settings_markdown() {
  fmt::print("| setting | default | meaning |\n|---|---|---|\n");
  for (const auto& s : settings::setting_specs()) {
    std::string doc = s.doc;
    for (size_t at = doc.find('|'); at != std::string::npos; at = doc.find('|', at + 2)) doc.replace(at, 1, "\\|");
    fmt::print("| `{}` | {} | {}{} |\n", s.env,
               s.default_text.empty()     ? std::string("(empty)")
               : s.default_text[0] == '(' ? s.default_text
                                          : "`" + s.default_text + "`",
               doc, s.go_name.empty() ? " (not in the Go executor)" : "");
  }
}

void print_config(const settings::Settings& s) {
  for (const auto& [name, value] : settings::describe(s)) fmt::print("{}={}\n", name, value);
  auto agent = mesos::load_agent_env(util::process_env());
  if (!agent) {
    fmt::print("# agent environment: {}\n", agent.error().message);
    return;
  }
  fmt::print("MESOS_FRAMEWORK_ID={}\nMESOS_EXECUTOR_ID={}\nMESOS_AGENT_ENDPOINT={}\nMESOS_CHECKPOINT={}\n",
             agent->framework_id, agent->executor_id, agent->endpoint(), agent->checkpoint ? 1 : 0);
  fmt::print("{}={}\n", mesos::kAuthTokenVar, agent->auth_token ? "[REDACTED]" : "");
}

void print_startup_dump(const settings::Settings& s) {
  std::string out = "Settings:\n";
  for (const auto& [name, value] : settings::describe(s)) out += fmt::format("  {}={}\n", name, value);
  out += "Environment:\n";
  for (const auto& [name, value] : util::process_env_snapshot()) {
    const bool wanted =
        name.rfind("MESOS", 0) == 0 || name.rfind("EXECUTOR", 0) == 0 || name.rfind("VAULT", 0) == 0 || name == "HOME";
    const bool secret =
        name == "VAULT_TOKEN" || name == "VAULT_USERNAME" || name == "VAULT_PASSWORD" || name == mesos::kAuthTokenVar;
    if (wanted && !secret) out += fmt::format("  {}={}\n", name, util::escape_control_chars(value));
  }
  out = util::scrub_secrets(out);
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
}

}  // namespace app
