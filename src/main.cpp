// sidecar-executor: wiring only — settings → adapters → state machine → event loop.
#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <thread>
#include <cstring>
#include <string>
#include <string_view>

#include "docker/client.h"
#include "docker/runtime.h"
#include "executor/machine.h"
#include "mesos/agent_client.h"
#include "mesos/agent_env.h"
#include "runtime/dispatcher.h"
#include "runtime/event_loop.h"
#include "runtime/proctitle.h"
#include "runtime/signals.h"
#include "settings/config_file.h"
#include "settings/settings.h"
#include "sidecar/watchdog.h"
#include "util/http_safe.h"
#include "util/secrets.h"
#include "vault/vault.h"
#include "version.h"

namespace {

constexpr int kConfigError = 2;
// In the sandbox: the id of the container this executor created, for packaging/executor.sh.
constexpr const char* kContainerIdFile = "sidecar-executor.container-id";

std::string os_hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

void print_help() {
  fmt::print(
      "Usage: sidecar-executor [--config FILE] [--help | --version | --print-config]\n\n"
      "A Mesos executor that runs one Docker container per task, tied to Sidecar and Vault.\n"
      "It is started by the Mesos agent (see MESOS_* variables) and configured by EXECUTOR_* variables:\n\n");
  for (const auto& s : settings::setting_specs()) {
    fmt::print("  {:<38} default {}\n      {}\n", s.env, s.default_text.empty() ? "(empty)" : s.default_text, s.doc);
  }
  fmt::print("\nSettings can also come from YAML files (keys: the names above, with or without EXECUTOR_):\n"
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
    fmt::print("| `{}` | {} | {}{} |\n", s.env, s.default_text.empty() ? std::string("(empty)") : s.default_text[0] == '(' ? s.default_text : "`" + s.default_text + "`", doc,
               s.go_name.empty() ? " (not in the Go executor)" : "");
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

// The Go executor's startup dump, on stdout: effective settings, then the MESOS_*, EXECUTOR_*,
// VAULT_* variables and HOME, sorted, never the Vault credentials or the agent's token.
void print_startup_dump(const settings::Settings& s) {
  std::string out = "Settings:\n";
  for (const auto& [name, value] : settings::describe(s)) out += fmt::format("  {}={}\n", name, value);
  out += "Environment:\n";
  for (const auto& [name, value] : util::process_env_snapshot()) {
    const bool wanted = name.rfind("MESOS", 0) == 0 || name.rfind("EXECUTOR", 0) == 0 || name.rfind("VAULT", 0) == 0 ||
                        name == "HOME";
    const bool secret = name == "VAULT_TOKEN" || name == "VAULT_USERNAME" || name == "VAULT_PASSWORD" ||
                        name == mesos::kAuthTokenVar;
    if (wanted && !secret) out += fmt::format("  {}={}\n", name, util::escape_control_chars(value));
  }
  out = util::scrub_secrets(out);
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
}

// %j: the message as a JSON string (quotes included), escaped for any bytes, secrets scrubbed.
class JsonMessageFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const std::string text =
        nlohmann::json(util::scrub_secrets(std::string_view(msg.payload.data(), msg.payload.size())))
            .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonMessageFlag>(); }
};

// %q: the message on one line — control characters written as \xNN, so that a task id or image name
// holding CR/LF cannot forge a line — with secrets scrubbed.
class TextMessageFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const std::string text =
        util::escape_control_chars(util::scrub_secrets(std::string_view(msg.payload.data(), msg.payload.size())));
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<TextMessageFlag>(); }
};

void setup_logging(const settings::Settings& s) {
  auto logger = spdlog::stderr_logger_mt("sidecar-executor");
  if (s.json_logs) {
    auto f = std::make_unique<spdlog::pattern_formatter>();
    f->add_flag<JsonMessageFlag>('j').set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","msg":%j})");
    logger->set_formatter(std::move(f));
  } else {
    auto f = std::make_unique<spdlog::pattern_formatter>();
    f->add_flag<TextMessageFlag>('q').set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %q");
    logger->set_formatter(std::move(f));
  }
  logger->set_level(s.debug ? spdlog::level::debug : spdlog::level::info);
  logger->flush_on(spdlog::level::debug);
  spdlog::set_default_logger(logger);
}

// The executor holds tokens and secrets in memory: no core file, and no ptrace or /proc/<pid>/environ
// and /proc/<pid>/mem reads by other processes of the same uid (the task's container runs as root
// too, in another pid namespace, but nothing is left to chance). The site may allow core dumps for
// debugging (policy.allow_core_dumps).
void harden_process(bool allow_core_dumps) {
  const rlimit none{0, 0};
  if (allow_core_dumps) {
    ::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
  } else {
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    ::setrlimit(RLIMIT_CORE, &none);
  }
}

}  // namespace

int main(int argc, char** argv) {
  harden_process(false);
  runtime::ProcessTitle::init(argc, argv);
  std::signal(SIGPIPE, SIG_IGN);  // a closed pipe or socket is an error value, never a death
  bool want_print_config = false;
  std::string config_path;  // --config: the site file instead of the default path
  std::string settings_path;  // SIDECAR_EXECUTOR_CONFIG: settings only (the task's environment names it)
  if (const char* p = std::getenv(settings::kConfigPathVar); p && *p) settings_path = p;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      config_path = argv[++i];
      continue;
    }
    if (arg.rfind("--config=", 0) == 0) {
      config_path = std::string(arg.substr(9));
      continue;
    }
    if (arg == "--help" || arg == "-h") {
      print_help();
      return 0;
    }
    if (arg == "--version") {
      fmt::print("sidecar-executor {}\n", SIDECAR_EXECUTOR_VERSION);
      return 0;
    }
    if (arg == "--settings-markdown") {
      print_settings_markdown();
      return 0;
    }
    if (arg == "--print-config") {
      want_print_config = true;
    } else if (arg.rfind("--", 0) == 0) {
      fmt::print(stderr, "sidecar-executor: unknown option {} (see --help)\n", arg);
      return kConfigError;
    }
  }

  runtime::SignalWatcher::block();

  auto file = settings::load_config_file(config_path.empty() ? settings::kDefaultConfigPath : config_path,
                                        !config_path.empty());
  if (!file) {
    fmt::print(stderr, "sidecar-executor: {}\n", file.error().message);
    return kConfigError;
  }
  settings::ConfigFile extra;
  if (!settings_path.empty()) {
    auto e = settings::load_config_file(settings_path, true, settings::FileRole::SettingsOnly);
    if (!e) {
      fmt::print(stderr, "sidecar-executor: {}\n", e.error().message);
      return kConfigError;
    }
    extra = std::move(*e);
  }
  // Locked settings and variables take the site's value before anything reads the environment.
  const auto lock_notes = settings::apply_locks(*file);
  if (file->policy.allow_core_dumps) harden_process(true);
  // Locked settings are gone from the environment by now; the settings-only file may not set them either.
  for (const auto& name : file->policy.locked) extra.values.erase(name);
  auto loaded =
      settings::load_settings(settings::layered(settings::layered(util::process_env(), extra), *file), os_hostname());
  if (!loaded) {
    fmt::print(stderr, "sidecar-executor: invalid setting {}\n", loaded.error().message);
    return kConfigError;
  }
  const settings::Settings& cfg = *loaded;
  if (want_print_config) {
    print_config(cfg);
    return 0;
  }

  auto agent_env = mesos::load_agent_env(util::process_env());
  if (!agent_env) {
    fmt::print(stderr, "sidecar-executor: {}\n", agent_env.error().message);
    return kConfigError;
  }
  // As the Mesos executor library does: the token is ours alone, never inherited by anything, and
  // not left readable in /proc/<pid>/environ.
  if (agent_env->auth_token) util::register_secret(*agent_env->auth_token);
  util::wipe_env(mesos::kAuthTokenVar);

  setup_logging(cfg);
  spdlog::info("sidecar-executor {} starting for executor {} of framework {}", SIDECAR_EXECUTOR_VERSION,
               agent_env->executor_id, agent_env->framework_id);
  if (!file->path.empty()) spdlog::info("site config file {}", file->path);
  for (const auto& note : lock_notes) {
    spdlog::warn("{} is locked by the site config file: the value in the task's environment is ignored", note.name);
  }
  print_startup_dump(cfg);

  executor::MachineConfig mc;
  mc.kill_grace = std::chrono::seconds(cfg.kill_task_timeout_s);
  mc.draining_duration = cfg.sidecar_draining_duration;
  mc.shutdown_grace = agent_env->shutdown_grace_period;
  mc.terminal_ack_timeout = cfg.terminal_ack_timeout;
  executor::Machine machine(mc);

  runtime::EventLoop loop;
  mesos::AgentClient agent(*agent_env, cfg.agent_encoding, cfg.max_record_size,
                           [&loop](executor::Event e) { loop.post(std::move(e)); });
  runtime::SignalWatcher signals([&loop](int signo) { loop.post(executor::ev::Signal{signo}); });
  auto endpoint = docker::endpoint_from_env(util::process_env());
  if (!endpoint) {
    spdlog::error("{}", endpoint.error().message);
    return kConfigError;
  }
  docker::RuntimeOptions ro;
  ro.endpoint = *endpoint;
  ro.spec.force_cpu_limit = cfg.force_cpu_limit;
  ro.spec.force_memory_limit = cfg.force_memory_limit;
  ro.spec.use_cpu_shares = cfg.use_cpu_shares;
  ro.spec.host_cpus = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  ro.spec.policy = file->policy;
  // The wrapper stops a container left by a dead executor only when it carries these (the agent
  // checked the executor id when it accepted our SUBSCRIBE).
  ro.spec.own_labels = {{"sidecar-executor.executor-id", agent_env->executor_id},
                        {"sidecar-executor.framework-id", agent_env->framework_id}};
  ro.docker_repository = cfg.docker_repository;
  ro.logs_since = std::chrono::duration_cast<std::chrono::seconds>(cfg.logs_since);
  ro.env = util::process_env();
  if (const char* sandbox = std::getenv("MESOS_SANDBOX"); sandbox && *sandbox) {
    ro.container_id_file = std::string(sandbox) + "/" + kContainerIdFile;
  }
  if (cfg.relay_syslog) {
    logs::RelayOptions rel;
    rel.address = cfg.syslog_addr;
    rel.hostname = cfg.log_hostname;
    rel.copy_to_stdout = cfg.container_logs_stdout;
    ro.relay = rel;
    ro.relay_labels = cfg.send_docker_labels;
    if (cfg.relay_syslog_startup_only) {
      ro.relay_for = std::chrono::duration_cast<std::chrono::milliseconds>(cfg.relay_syslog_startup_time);
    }
  }
  if (cfg.seed_sidecar) {
    ro.extra_env = [endpoint = agent_env->endpoint(), port = cfg.mesos_master_port, timeout = cfg.http_timeout] {
      auto seeds = sidecar::fetch_seeds(endpoint, port, timeout);
      if (!seeds) {
        spdlog::warn("no SIDECAR_SEEDS for the container: {}", seeds.error().message);
        return std::vector<std::string>{};
      }
      spdlog::info("SIDECAR_SEEDS={}", *seeds);
      return std::vector<std::string>{"SIDECAR_SEEDS=" + *seeds};
    };
  }
  // Vault: its credentials are read once and removed from the environment, so that nothing the
  // executor starts (credential helpers) inherits them.
  vault::AwsOptions aws;
  aws.role = cfg.aws_role;
  aws.ttl = cfg.aws_role_ttl;
  aws.max_ttl = cfg.aws_role_max_ttl;
  vault::Secrets secrets(util::map_env(util::process_env_snapshot()), aws, [&loop](std::string message) {
    loop.post(executor::ev::CredentialsExpiring{std::move(message)});
  });
  for (const char* v : {"VAULT_TOKEN", "VAULT_PASSWORD", "VAULT_USERNAME"}) util::wipe_env(v);
  ro.secrets = [&secrets](const std::vector<std::string>& env) -> util::Result<docker::SecretEnv> {
    auto r = secrets.resolve(env);
    if (!r) return r.error();
    return docker::SecretEnv{std::move(r->replacements), std::move(r->extra)};
  };
  docker::Runtime containers(ro, [&loop](executor::Event e) { loop.post(std::move(e)); });
  spdlog::info("Docker endpoint {}", endpoint->describe());
  sidecar::WatchdogOptions wo;
  wo.state_url = cfg.sidecar_url;
  wo.backoff = cfg.sidecar_backoff;
  wo.poll_interval = cfg.sidecar_poll_interval;
  wo.http_timeout = cfg.http_timeout;
  wo.retry_count = cfg.sidecar_retry_count;
  wo.retry_delay = cfg.sidecar_retry_delay;
  wo.max_fails = cfg.sidecar_max_fails;
  wo.health_updates = cfg.sidecar_health_updates;
  sidecar::Adapter sidecar(wo, [&loop](executor::Event e) { loop.post(std::move(e)); });
  runtime::Dispatcher dispatcher(machine, loop, agent, &containers, &sidecar);

  agent.start();
  int exit_code = 0;
  loop.run([&](const executor::Event& e) {
    for (const auto& action : machine.handle(e)) {
      if (auto code = dispatcher.run(action)) {
        exit_code = *code;
        return false;
      }
    }
    return true;
  });
  sidecar.shutdown();
  containers.shutdown();
  secrets.cleanup();
  agent.stop();
  spdlog::info("exiting with code {}", exit_code);
  return exit_code;
}
