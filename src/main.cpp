// sidecar-executor: wiring only — settings → adapters → state machine → event loop.
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdlib>
#include <string>
#include <variant>

#include "app/cli.h"
#include "app/logging.h"
#include "app/options.h"
#include "app/site.h"
#include "docker/health_checker.h"
#include "docker/runtime.h"
#include "executor/machine.h"
#include "mesos/agent_client.h"
#include "shell/dispatcher.h"
#include "shell/event_loop.h"
#include "shell/own_process.h"
#include "shell/proctitle.h"
#include "shell/signals.h"
#include "sidecar/watchdog.h"
#include "util/env.h"
#include "vault/secrets_step.h"
#include "vault/vault.h"

int main(int argc, char** argv) {
  // The process itself, before anything is read: no library steering, no core file, its title, no SIGPIPE.
  app::drop_library_variables();
  app::harden_process(false);  // before any secret is read; the site may relax it below
  shell::ProcessTitle::init(argc, argv);
  std::signal(SIGPIPE, SIG_IGN);  // a closed pipe or socket is an error value, never a death

  // The command line: --help, --version and --settings-markdown end here.
  const app::CommandLine cl = app::parse_command_line(argc, argv);
  if (auto done = app::run_without_site(cl)) return *done;
  shell::SignalWatcher::block();

  // The operator's site file, then the environment with the site's locks applied.
  const char* settings_file = std::getenv(settings::kConfigPathVar);
  const auto site = app::load_site(cl.config_path, settings_file ? settings_file : "", util::hostname());
  // --check and --print-config end here, as does a site file that cannot be read.
  if (auto done = app::run_without_agent(cl, site)) return *done;
  if (site->file.policy.allow_core_dumps) app::harden_process(true);
  const settings::Settings& cfg = site->settings;

  // The agent's variables, its token taken out of the environment.
  auto agent_env = app::take_agent_env();
  if (!agent_env) return app::config_error(agent_env.error().message);

  // The executor's log, its first lines and the Go executor's startup dump.
  app::setup_logging(cfg);
  app::log_startup(*site, *agent_env);
  app::print_startup_dump(cfg);

  // The state machine, the loop that feeds it, and every adapter behind its port.
  executor::Machine machine(app::machine_config(cfg, *agent_env, util::process_env()));
  shell::EventLoop loop;
  auto post = [&loop](executor::Event e) { loop.post(std::move(e)); };
  mesos::AgentClient agent(*agent_env, cfg.agent_encoding, cfg.max_record_size, post);
  shell::SignalWatcher signals([&loop](int signo) { loop.post(executor::ev::Signal{signo}); });
  // Docker: the daemon DOCKER_HOST names, and the runtime's options.
  const auto docker_opts = app::docker_options(cfg, *agent_env, site->file.policy, util::process_env());
  if (!docker_opts) {
    spdlog::error("{}", docker_opts.error().message);
    return app::kConfigError;
  }
  // Vault: its credentials are read once and wiped from the environment (app::take_vault_env).
  vault::Secrets vault(app::take_vault_env(), app::aws_options(cfg), [&loop](std::string message) {
    loop.post(executor::ev::CredentialsExpiring{std::move(message)});
  });
  vault.restrict_paths(site->file.policy.vault_path_prefixes);
  vault::SecretsStep secrets(vault, post);
  docker::RuntimeOptions runtime_opts = *docker_opts;
  // The image's presence is left to the create when Vault has nothing to read for the container:
  // secrets are never read before the image is there (see RuntimeOptions::image_check_by_create).
  runtime_opts.image_check_by_create = [&vault](const std::vector<std::string>& env) { return !vault.has_work(env); };
  docker::Runtime containers(std::move(runtime_opts), post);
  spdlog::info("Docker endpoint {}", docker_opts->endpoint.describe());
  sidecar::Adapter sidecar(app::watchdog_options(cfg, *agent_env), post);
  shell::OwnProcess process;
  docker::HealthChecker health(docker_opts->endpoint, post);
  shell::Dispatcher dispatcher({agent, loop, containers, secrets, sidecar, process, health});

  // The run: from the agent's SUBSCRIBE until the machine says to exit. The Go executor's start and
  // exit lines (main.go) are kept: operators count executor lives by them.
  spdlog::info("Executor process has started");
  agent.start();
  const executor::act::Exit ending = shell::run_machine(loop, machine, dispatcher, [&](const executor::Event& e) {
    process.event_handled(e);
    // The agent answered: a LAUNCH comes next, so Docker is asked its API version now, not then.
    if (std::holds_alternative<executor::ev::Subscribed>(e)) containers.warm_up();
  });

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
  // Last, with nothing else left to do: what a create that got no answer may have left.
  if (!ending.at_deadline) containers.remove_unanswered_create();
  spdlog::info("Sidecar Executor exiting (exit code {})", ending.code);
  return ending.code;
}
