// sidecar-executor: wiring only — settings → adapters → state machine → event loop.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdlib>
#include <string>
#include <vector>

#include "app/check.h"
#include "app/cli.h"
#include "app/logging.h"
#include "app/options.h"
#include "app/site.h"
#include "docker/client.h"
#include "docker/health_checker.h"
#include "docker/runtime.h"
#include "executor/machine.h"
#include "mesos/agent_client.h"
#include "mesos/agent_env.h"
#include "mesos/agent_tls.h"
#include "shell/dispatcher.h"
#include "shell/event_loop.h"
#include "shell/own_process.h"
#include "shell/proctitle.h"
#include "shell/signals.h"
#include "sidecar/watchdog.h"
#include "util/env.h"
#include "util/secrets.h"
#include "vault/secrets_step.h"
#include "vault/vault.h"
#include "version.h"

namespace {

constexpr int kConfigError = 2;

int config_error(const std::string& message) {
  fmt::print(stderr, "sidecar-executor: {}\n", message);
  return kConfigError;
}

}  // namespace

int main(int argc, char** argv) {
  app::drop_library_variables();
  app::harden_process(false);  // before any secret is read; the site may relax it below
  shell::ProcessTitle::init(argc, argv);
  std::signal(SIGPIPE, SIG_IGN);  // a closed pipe or socket is an error value, never a death

  const app::CommandLine cl = app::parse_command_line(argc, argv);
  switch (cl.action) {
    case app::CommandLine::Action::Help: app::print_help(); return 0;
    case app::CommandLine::Action::Version: fmt::print("sidecar-executor {}\n", SIDECAR_EXECUTOR_VERSION); return 0;
    case app::CommandLine::Action::SettingsMarkdown: app::print_settings_markdown(); return 0;
    case app::CommandLine::Action::Error: return config_error(cl.error);
    case app::CommandLine::Action::Run:
    case app::CommandLine::Action::Check:
    case app::CommandLine::Action::PrintConfig: break;
  }
  shell::SignalWatcher::block();

  // The operator's site file, then the environment with the site's locks applied.
  const char* settings_file = std::getenv(settings::kConfigPathVar);
  auto site = app::load_site(cl.config_path, settings_file ? settings_file : "", util::hostname());
  if (cl.action == app::CommandLine::Action::Check) {
    if (!site) {
      const std::vector<app::CheckLine> bad{{"settings", app::CheckLine::Verdict::Fail, site.error().message}};
      fmt::print("{}", app::format_check_table(bad));
      return 1;
    }
    spdlog::set_level(spdlog::level::off);  // the table is the output
    const auto task_host = util::process_env()("TASK_HOST");
    const app::CheckOptions opts{cl.image, cl.executor_dir.empty() ? SIDECAR_EXECUTOR_DIR : cl.executor_dir,
                                 site->file.path, task_host && !task_host->empty() ? *task_host : util::hostname()};
    const auto lines = app::run_site_check(site->settings, util::process_env(), opts);
    fmt::print("{}", app::format_check_table(lines));
    return app::check_exit_code(lines);
  }
  if (!site) return config_error(site.error().message);
  if (site->file.policy.allow_core_dumps) app::harden_process(true);
  const settings::Settings& cfg = site->settings;
  if (cl.action == app::CommandLine::Action::PrintConfig) {
    app::print_config(cfg);
    return 0;
  }

  auto agent_env = mesos::load_agent_env(util::process_env());
  if (!agent_env) return config_error(agent_env.error().message);
  // As the Mesos executor library does: the token is ours alone, never inherited by anything, and
  // not left readable in /proc/<pid>/environ.
  if (agent_env->auth_token) util::register_secret(*agent_env->auth_token);
  util::wipe_env(mesos::kAuthTokenVar);
  if (agent_env->tls.enabled) {
    if (auto tls = mesos::check_agent_tls(agent_env->tls, agent_env->agent_host); !tls) {
      return config_error(tls.error().message);
    }
  }

  app::setup_logging(cfg);
  spdlog::info("sidecar-executor {} starting for executor {} of framework {}", SIDECAR_EXECUTOR_VERSION,
               agent_env->executor_id, agent_env->framework_id);
  if (!site->file.path.empty()) spdlog::info("site config file {}", site->file.path);
  for (const auto& name : cfg.from_unprefixed) {
    spdlog::info("EXECUTOR_{} is not set: {} is used instead, as the Go executor does", name, name);
  }
  for (const auto& note : site->locks) {
    spdlog::warn("{} is locked by the site config file: the value in the task's environment is ignored", note.name);
  }
  if (!site->ignored_token_file.empty()) {
    spdlog::warn(
        "VAULT_TOKEN_FILE={} ignored: its folder is not in policy.vault_token_dirs of the site config file "
        "(no Vault token is read from or cached there)",
        site->ignored_token_file);
  }
  app::print_startup_dump(cfg);

  executor::Machine machine(app::machine_config(cfg, *agent_env, util::process_env()));
  shell::EventLoop loop;
  auto post = [&loop](executor::Event e) { loop.post(std::move(e)); };
  mesos::AgentClient agent(*agent_env, cfg.agent_encoding, cfg.max_record_size, post);
  shell::SignalWatcher signals([&loop](int signo) { loop.post(executor::ev::Signal{signo}); });

  auto endpoint = docker::endpoint_from_env(util::process_env());
  if (!endpoint) {
    spdlog::error("{}", endpoint.error().message);
    return kConfigError;
  }
  docker::RuntimeOptions ro = app::runtime_options(cfg, *agent_env, site->file.policy);
  ro.endpoint = *endpoint;
  // Vault: its credentials are read once and wiped from the environment, so that nothing the
  // executor starts (credential helpers) inherits them and /proc/<pid>/environ no longer holds them.
  vault::Secrets vault(
      util::map_env(util::process_env_snapshot()), app::aws_options(cfg),
      [&loop](std::string message) { loop.post(executor::ev::CredentialsExpiring{std::move(message)}); });
  vault.restrict_paths(site->file.policy.vault_path_prefixes);
  for (const char* v : {"VAULT_TOKEN", "VAULT_PASSWORD", "VAULT_USERNAME"}) util::wipe_env(v);
  vault::SecretsStep secrets(vault, post);
  docker::Runtime containers(ro, post);
  spdlog::info("Docker endpoint {}", endpoint->describe());
  sidecar::Adapter sidecar(app::watchdog_options(cfg, *agent_env), post);
  shell::OwnProcess process;
  docker::HealthChecker health(*endpoint, post);
  shell::Dispatcher dispatcher({agent, loop, containers, secrets, sidecar, process, health});

  agent.start();
  executor::act::Exit ending;
  loop.run([&](const executor::Event& e) {
    for (const auto& action : machine.handle(e)) {
      if (auto done = dispatcher.run(action)) {
        ending = *done;
        return false;
      }
    }
    return true;
  });
  const int exit_code = ending.code;
  // The machine exits once the terminal update is acknowledged or its deadline passes: anything still
  // queued (an update made just before) gets a short last chance.
  if (!ending.at_deadline) agent.flush(std::chrono::milliseconds(500));
  sidecar.shutdown();
  health.join();
  // A secret read in flight is cut (and its thread joined) before the containers' shutdown: while the
  // Secrets step runs no container exists yet, so nothing waits on a container to be killed.
  secrets.shutdown();
  containers.shutdown(ending.at_deadline);
  vault.cleanup();
  agent.stop();
  spdlog::info("exiting with code {}", exit_code);
  return exit_code;
}
