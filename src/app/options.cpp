// Settings → adapter options.
#include "app/options.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "mesos/agent_tls.h"
#include "util/secrets.h"

namespace app {
namespace {

// The path with symlinks resolved, when it exists whole.
std::optional<std::string> resolve_whole(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) return std::nullopt;
  return std::string(buf);
}

// The path with symlinks resolved as far as it exists (the rest kept as written).
std::string resolve_existing(const std::string& path) {
  std::string head = path;
  std::string tail;
  while (!head.empty() && head != "/") {
    if (auto real = resolve_whole(head)) return *real + tail;
    const auto slash = head.rfind('/');
    if (slash == std::string::npos) break;
    tail = head.substr(slash) + tail;
    head = head.substr(0, slash);
  }
  return path;
}

// In the sandbox: the id and name of the container this executor created, for packaging/executor.sh.
constexpr const char* kContainerIdFile = "sidecar-executor.container-id";
// Set by packaging/executor.sh over anything the task set.
constexpr const char* kWrapperNonceVar = "SIDECAR_EXECUTOR_WRAPPER_NONCE";
constexpr const char* kIdFileVar = "SIDECAR_EXECUTOR_ID_FILE";
}  // namespace

util::Result<mesos::AgentEnv> take_agent_env() {
  auto agent = mesos::load_agent_env(util::process_env());
  if (!agent) return agent.error();
  if (agent->auth_token) util::register_secret(*agent->auth_token);
  util::wipe_env(mesos::kAuthTokenVar);
  if (agent->tls.enabled) {
    if (auto tls = mesos::check_agent_tls(agent->tls, agent->agent_host); !tls) return tls.error();
  }
  return agent;
}

std::string task_host(const util::EnvLookup& env) {
  const auto host = env("TASK_HOST");
  return host && !host->empty() ? *host : util::hostname();
}

executor::MachineConfig machine_config(const settings::Settings& s, const mesos::AgentEnv& agent,
                                       const util::EnvLookup& env) {
  executor::MachineConfig mc;
  mc.seed_sidecar = s.seed_sidecar;
  mc.remove_container = s.remove_container;
  mc.host = task_host(env);
  mc.kill_grace = std::chrono::seconds(s.kill_task_timeout_s);
  mc.draining_duration = s.sidecar_draining_duration;
  mc.shutdown_grace = agent.shutdown_grace_period;
  mc.terminal_ack_timeout = s.terminal_ack_timeout;
  return mc;
}

docker::RuntimeOptions runtime_options(const settings::Settings& s, const mesos::AgentEnv& agent,
                                       const settings::SitePolicy& policy) {
  docker::RuntimeOptions ro;
  ro.spec.force_cpu_limit = s.force_cpu_limit;
  ro.spec.force_memory_limit = s.force_memory_limit;
  ro.spec.use_cpu_shares = s.use_cpu_shares;
  ro.spec.host_cpus = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (std::ifstream pid_max("/proc/sys/kernel/pid_max"); !(pid_max >> ro.spec.host_pid_max)) ro.spec.host_pid_max = 0;
  ro.spec.policy = policy;
  ro.spec.resolve_host_path = resolve_whole;
  // The wrapper stops a container left by a dead executor only when it carries these (the agent
  // checked the executor id when it accepted our SUBSCRIBE).
  ro.spec.own_labels = {{"sidecar-executor.executor-id", agent.executor_id},
                        {"sidecar-executor.framework-id", agent.framework_id}};
  // The MESOS_* variables can be the task's (the agent merges the task's environment last); the
  // wrapper's random nonce cannot, so it is what really tells the wrapper this container is ours.
  if (const char* nonce = std::getenv(kWrapperNonceVar); nonce && *nonce) {
    ro.spec.own_labels["sidecar-executor.wrapper-nonce"] = nonce;
  }
  // The sandbox the container sees is the folder the agent started us in (the wrapper takes it the same
  // way): MESOS_SANDBOX is the task's to change, the working directory is not.
  std::string work_dir;
  if (char buf[PATH_MAX]; ::getcwd(buf, sizeof buf) != nullptr) {
    work_dir = resolve_existing(buf);
  } else if (s.sandbox_logs || s.mount_sandbox) {
    spdlog::warn("the working directory (the sandbox) is unknown: {}; no sandbox logs{}", std::strerror(errno),
                 s.mount_sandbox ? ", and EXECUTOR_MOUNT_SANDBOX fails the task" : "");
  }
  if (s.mount_sandbox) {
    ro.spec.sandbox_mount = work_dir.empty() ? "(unknown)" : work_dir;  // the spec refuses "(unknown)", naming why
  }
  // The same folder receives the container's output (EXECUTOR_SANDBOX_LOGS).
  if (s.sandbox_logs && !work_dir.empty()) {
    logs::SandboxLogOptions so;
    so.dir = work_dir;
    so.max_size = s.sandbox_logs_max_size;
    so.keep = s.sandbox_logs_keep;
    ro.sandbox_logs = so;
  }
  ro.docker_repository = s.docker_repository;
  ro.logs_since = std::chrono::duration_cast<std::chrono::seconds>(s.logs_since);
  ro.env = util::process_env();
  const std::string suffix = std::string("/") + kContainerIdFile;
  if (const char* file = std::getenv(kIdFileVar);
      file && *file && std::string(file).size() > suffix.size() &&
      std::string(file).rfind(suffix) == std::string(file).size() - suffix.size()) {
    ro.container_id_file = file;  // the wrapper's: its own working folder, the sandbox (never another name)
  } else if (!work_dir.empty()) {
    // Without the wrapper: the folder the agent started us in, as for the sandbox mount (MESOS_SANDBOX
    // is the task's to change, and root writes this file).
    ro.container_id_file = work_dir + suffix;
  }
  // Go: either setting turns the relay on (executor_utils.go:35 handleContainerLogs, `RelaySyslog ||
  // RelaySyslogStartupOnly`); the startup-only one also stops it after RelaySyslogStartupTime
  // (log_relay.go:70-72), with or without RelaySyslog.
  ro.attach_output = s.attach_output;
  if (s.relay_syslog || s.relay_syslog_startup_only) {
    logs::RelayOptions rel;
    rel.address = s.syslog_addr;
    rel.hostname = s.log_hostname;
    rel.copy_to_stdout = s.container_logs_stdout;
    ro.relay = rel;
    ro.relay_labels = s.send_docker_labels;
    if (s.relay_syslog_startup_only) {
      ro.relay_for = std::chrono::duration_cast<std::chrono::milliseconds>(s.relay_syslog_startup_time);
    }
  }
  return ro;
}

util::Result<docker::RuntimeOptions> docker_options(const settings::Settings& s, const mesos::AgentEnv& agent,
                                                    const settings::SitePolicy& policy, const util::EnvLookup& env) {
  auto endpoint = docker::endpoint_from_env(env);
  if (!endpoint) return endpoint.error();
  docker::RuntimeOptions ro = runtime_options(s, agent, policy);
  ro.endpoint = *endpoint;
  return ro;
}

sidecar::WatchdogOptions watchdog_options(const settings::Settings& s, const mesos::AgentEnv& agent) {
  sidecar::WatchdogOptions wo;
  wo.agent_endpoint = agent.endpoint();
  wo.master_port = s.mesos_master_port;
  wo.state_url = s.sidecar_url;
  wo.backoff = s.sidecar_backoff;
  wo.poll_interval = s.sidecar_poll_interval;
  wo.http_timeout = s.http_timeout;
  wo.retry_count = s.sidecar_retry_count;
  wo.retry_delay = s.sidecar_retry_delay;
  wo.max_fails = s.sidecar_max_fails;
  wo.health_updates = s.sidecar_health_updates;
  return wo;
}

vault::AwsOptions aws_options(const settings::Settings& s) {
  vault::AwsOptions aws;
  aws.role = s.aws_role;
  aws.ttl = s.aws_role_ttl;
  aws.max_ttl = s.aws_role_max_ttl;
  aws.expiry_jitter_pct = s.aws_expiry_jitter_pct;
  return aws;
}

util::EnvLookup take_vault_env() {
  util::EnvLookup env = util::map_env(util::process_env_snapshot());
  for (const char* v : {"VAULT_TOKEN", "VAULT_PASSWORD", "VAULT_USERNAME"}) util::wipe_env(v);
  return env;
}

}  // namespace app
