// The settings table and its parsers.
#include "settings/settings.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <limits>

#include "util/split.h"

namespace settings {
namespace {

using util::make_error;
using util::Result;

Result<long long> parse_int(std::string_view text, long long min, long long max) {
  long long v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || ptr != end) return make_error("not an integer");
  if (v < min || v > max) return make_error(fmt::format("must be between {} and {}", min, max));
  return v;
}

std::string format_bool(bool b) { return b ? "true" : "false"; }

SettingSpec bool_setting(std::string env, std::string go_name, std::string def, std::string doc, bool Settings::*m) {
  return SettingSpec{std::move(env),
                     std::move(go_name),
                     std::move(def),
                     std::move(doc),
                     [m](std::string_view t, Settings& s) -> Result<void> {
                       auto b = parse_go_bool(t);
                       if (!b) return b.error();
                       s.*m = *b;
                       return {};
                     },
                     [m](const Settings& s) { return format_bool(s.*m); }};
}

SettingSpec duration_setting(std::string env, std::string go_name, std::string def, std::string doc,
                             Duration Settings::*m, Duration min = Duration{0}) {
  return SettingSpec{std::move(env),
                     std::move(go_name),
                     std::move(def),
                     std::move(doc),
                     [m, min](std::string_view t, Settings& s) -> Result<void> {
                       auto d = parse_go_duration(t);
                       if (!d) return d.error();
                       if (*d < min) {
                         return make_error(fmt::format("must be at least {}", format_go_duration(min)));
                       }
                       s.*m = *d;
                       return {};
                     },
                     [m](const Settings& s) { return format_go_duration(s.*m); }};
}

SettingSpec int_setting(std::string env, std::string go_name, std::string def, std::string doc, int Settings::*m,
                        int min, int max) {
  return SettingSpec{std::move(env),
                     std::move(go_name),
                     std::move(def),
                     std::move(doc),
                     [m, min, max](std::string_view t, Settings& s) -> Result<void> {
                       auto v = parse_int(t, min, max);
                       if (!v) return v.error();
                       s.*m = static_cast<int>(*v);
                       return {};
                     },
                     [m](const Settings& s) { return std::to_string(s.*m); }};
}

SettingSpec string_setting(std::string env, std::string go_name, std::string def, std::string doc,
                           std::string Settings::*m, std::function<Result<void>(std::string_view)> check = nullptr) {
  return SettingSpec{std::move(env),
                     std::move(go_name),
                     std::move(def),
                     std::move(doc),
                     [m, check](std::string_view t, Settings& s) -> Result<void> {
                       if (check) {
                         auto ok = check(t);
                         if (!ok) return ok.error();
                       }
                       s.*m = std::string(t);
                       return {};
                     },
                     [m](const Settings& s) { return s.*m; }};
}

Result<void> check_http_url(std::string_view t) {
  const bool http = t.rfind("http://", 0) == 0;
  const bool https = t.rfind("https://", 0) == 0;
  if (!http && !https) return make_error("must be an http:// or https:// URL");
  const std::string_view rest = t.substr(http ? 7 : 8);
  if (rest.empty() || rest[0] == '/') return make_error("URL has no host");
  return {};
}

Result<void> check_host_port(std::string_view t) {
  const auto colon = t.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return make_error("must be host:port");
  auto port = parse_int(t.substr(colon + 1), 1, 65535);
  if (!port) return make_error("must be host:port with a port from 1 to 65535");
  return {};
}

std::vector<SettingSpec> build_specs() {
  std::vector<SettingSpec> v;
  v.push_back(
      SettingSpec{"EXECUTOR_KILL_TASK_TIMEOUT", "KillTaskTimeout", "5",
                  "Seconds between SIGTERM and SIGKILL when stopping the container (an integer, not a duration); a "
                  "KILL's kill_policy grace period overrides it.",
                  [](std::string_view t, Settings& s) -> Result<void> {
                    auto n = parse_int(t, 0, 86400 * 365);
                    if (!n) return make_error(n.error().message + " (whole seconds)");
                    s.kill_task_timeout_s = static_cast<unsigned>(*n);
                    return {};
                  },
                  [](const Settings& s) { return std::to_string(s.kill_task_timeout_s); }});
  v.push_back(duration_setting("EXECUTOR_HTTP_TIMEOUT", "HttpTimeout", "2s",
                               "Total time of each Sidecar request and each seed lookup (connect, headers and body).",
                               &Settings::http_timeout, std::chrono::milliseconds(1)));
  v.push_back(int_setting("EXECUTOR_SIDECAR_RETRY_COUNT", "SidecarRetryCount", "5",
                          "Retries of a failed Sidecar request before giving up on that check.",
                          &Settings::sidecar_retry_count, 0, 1000));
  v.push_back(duration_setting("EXECUTOR_SIDECAR_RETRY_DELAY", "SidecarRetryDelay", "3s",
                               "Delay between retries of a Sidecar request.", &Settings::sidecar_retry_delay));
  v.push_back(string_setting("EXECUTOR_SIDECAR_URL", "SidecarUrl", "http://localhost:7777/state.json",
                             "Sidecar's state document; its scheme and host also receive drain calls.",
                             &Settings::sidecar_url, check_http_url));
  v.push_back(duration_setting("EXECUTOR_SIDECAR_BACKOFF", "SidecarBackoff", "1m",
                               "Delay after the container starts before the first Sidecar health check.",
                               &Settings::sidecar_backoff));
  v.push_back(duration_setting("EXECUTOR_SIDECAR_POLL_INTERVAL", "SidecarPollInterval", "30s",
                               "Interval between Sidecar health checks.", &Settings::sidecar_poll_interval,
                               std::chrono::milliseconds(1)));
  v.push_back(int_setting("EXECUTOR_SIDECAR_MAX_FAILS", "SidecarMaxFails", "3",
                          "Consecutive unhealthy verdicts tolerated; the next one kills the task.",
                          &Settings::sidecar_max_fails, 0, 1000000));
  v.push_back(duration_setting("EXECUTOR_SIDECAR_DRAINING_DURATION", "SidecarDrainingDuration", "10s",
                               "Time between asking Sidecar to drain the service and stopping the container; "
                               "0 skips draining.",
                               &Settings::sidecar_draining_duration));
  v.push_back(bool_setting("EXECUTOR_SEED_SIDECAR", "SeedSidecar", "false",
                           "Give the container SIDECAR_SEEDS, the cluster's agents read from the Mesos master.",
                           &Settings::seed_sidecar));
  v.push_back(string_setting("EXECUTOR_DOCKER_REPOSITORY", "DockerRepository", "https://index.docker.io/v1/",
                             "Registry key matched against the Docker config's auths for pull credentials.",
                             &Settings::docker_repository));
  v.push_back(duration_setting("EXECUTOR_LOGS_SINCE", "LogsSince", "3m",
                               "How far back container logs are copied to the executor's output when a task "
                               "fails or is killed.",
                               &Settings::logs_since));
  v.push_back(bool_setting("EXECUTOR_FORCE_CPU_LIMIT", "ForceCpuLimit", "false",
                           "Enforce the task's cpus with a CFS quota (or shares, see UseCpuShares).",
                           &Settings::force_cpu_limit));
  v.push_back(bool_setting("EXECUTOR_FORCE_MEMORY_LIMIT", "ForceMemoryLimit", "false",
                           "Enforce the task's mem as the container's memory limit.", &Settings::force_memory_limit));
  v.push_back(bool_setting("EXECUTOR_USE_CPU_SHARES", "UseCpuShares", "false",
                           "Limit CPU with relative CPU shares instead of a CFS quota.", &Settings::use_cpu_shares));
  v.push_back(bool_setting("EXECUTOR_DEBUG", "Debug", "false", "Verbose executor logging.", &Settings::debug));
  v.push_back(int_setting("EXECUTOR_MESOS_MASTER_PORT", "MesosMasterPort", "5050",
                          "Port of the Mesos master, for SeedSidecar.", &Settings::mesos_master_port, 1, 65535));
  v.push_back(bool_setting("EXECUTOR_RELAY_SYSLOG", "RelaySyslog", "false",
                           "Relay container log lines as JSON UDP datagrams to SyslogAddr.", &Settings::relay_syslog));
  v.push_back(bool_setting("EXECUTOR_RELAY_SYSLOG_STARTUP_ONLY", "RelaySyslogStartupOnly", "false",
                           "Relay the container's output for RelaySyslogStartupTime after it starts, then stop; "
                           "turns the relay on by itself, as in the Go executor.",
                           &Settings::relay_syslog_startup_only));
  v.push_back(duration_setting("EXECUTOR_RELAY_SYSLOG_STARTUP_TIME", "RelaySyslogStartupTime", "1m",
                               "How long the startup-only relay runs.", &Settings::relay_syslog_startup_time));
  v.push_back(string_setting("EXECUTOR_SYSLOG_ADDR", "SyslogAddr", "127.0.0.1:514",
                             "host:port receiving relayed log lines (UDP).", &Settings::syslog_addr, check_host_port));
  v.push_back(bool_setting("EXECUTOR_CONTAINER_LOGS_STDOUT", "ContainerLogsStdout", "false",
                           "Also print relayed log lines on the executor's stdout.", &Settings::container_logs_stdout));
  v.push_back(SettingSpec{"EXECUTOR_SEND_DOCKER_LABELS", "SendDockerLabels", "",
                          "Comma-separated container labels added as fields to every relayed log line.",
                          [](std::string_view t, Settings& s) -> Result<void> {
                            s.send_docker_labels = util::split(t, ',', {.trim_spaces = true, .skip_empty = true});
                            return {};
                          },
                          [](const Settings& s) { return fmt::format("{}", fmt::join(s.send_docker_labels, ",")); }});
  v.push_back(string_setting("EXECUTOR_LOG_HOSTNAME", "LogHostname", "(the OS hostname)",
                             "Hostname field of relayed log lines.", &Settings::log_hostname));
  v.push_back(string_setting("EXECUTOR_AWS_ROLE", "AwsRole", "",
                             "Vault AWS role whose credentials the container gets (AWS_ACCESS_KEY_ID, "
                             "AWS_SECRET_ACCESS_KEY).",
                             &Settings::aws_role));
  v.push_back(duration_setting("EXECUTOR_AWS_ROLE_TTL", "AwsRoleTtl", "0 (Vault's default)",
                               "Requested lifetime of the AWS credentials lease.", &Settings::aws_role_ttl));
  v.push_back(duration_setting("EXECUTOR_AWS_ROLE_MAX_TTL", "AwsRoleMaxTtl", "744h", "Upper bound for AwsRoleTtl.",
                               &Settings::aws_role_max_ttl));
  v.push_back(SettingSpec{
      "EXECUTOR_AGENT_ENCODING", "", "protobuf", "Encoding spoken with the Mesos agent: protobuf or json.",
      [](std::string_view t, Settings& s) -> Result<void> {
        if (t == "protobuf")
          s.agent_encoding = AgentEncoding::Protobuf;
        else if (t == "json")
          s.agent_encoding = AgentEncoding::Json;
        else
          return make_error("must be protobuf or json");
        return {};
      },
      [](const Settings& s) { return std::string(s.agent_encoding == AgentEncoding::Json ? "json" : "protobuf"); }});
  v.push_back(SettingSpec{
      "EXECUTOR_MAX_RECORD_SIZE", "", "67108864",
      "Largest event record read from the agent, in bytes; a larger one is skipped and logged (a LAUNCH in it "
      "fails its task).",
      [](std::string_view t, Settings& s) -> Result<void> {
        auto n = parse_int(t, 1024, 1LL << 30);
        if (!n) return n.error();
        s.max_record_size = static_cast<std::size_t>(*n);
        return {};
      },
      [](const Settings& s) { return std::to_string(s.max_record_size); }});
  v.push_back(duration_setting("EXECUTOR_TERMINAL_ACK_TIMEOUT", "", "5s",
                               "How long to wait for the acknowledgement of the task's terminal update once "
                               "the agent has accepted it, before exiting.",
                               &Settings::terminal_ack_timeout));
  v.push_back(bool_setting("EXECUTOR_SIDECAR_HEALTH_UPDATES", "", "true",
                           "Send a TASK_RUNNING update with `healthy` set each time Sidecar's verdict on the "
                           "service changes (ALIVE: true, UNHEALTHY or TOMBSTONE: false).",
                           &Settings::sidecar_health_updates));
  v.push_back(bool_setting("EXECUTOR_JSON_LOGS", "", "false",
                           "Write the executor's own log lines (stdout) as JSON objects: time, level, msg, "
                           "instead of the Go executor's logrus text.",
                           &Settings::json_logs));
  v.push_back(bool_setting(
      "EXECUTOR_ATTACH_OUTPUT", "", "true",
      "The relay and the sandbox files read the container's output through Docker's attach, opened before the "
      "start (a quarter of the daemon's CPU per line; a container writing faster than the executor reads waits, as "
      "under docker run). false: they follow Docker's log, as the Go executor does (the container never waits).",
      &Settings::attach_output));
  v.push_back(bool_setting("EXECUTOR_SANDBOX_LOGS", "", "true",
                           "Write the container's stdout and stderr, live, to container.stdout and container.stderr "
                           "in the task's sandbox (each line once, in order; appended to after a restart).",
                           &Settings::sandbox_logs));
  v.push_back(SettingSpec{
      "EXECUTOR_SANDBOX_LOGS_MAX_SIZE", "", "10MiB",
      "Size at which a sandbox log file is rotated (container.stdout → container.stdout.1 …): bytes, or with a KiB, "
      "MiB or GiB suffix; at least 1KiB.",
      [](std::string_view t, Settings& s) -> Result<void> {
        std::uint64_t unit = 1;
        for (const auto& [suffix, mult] : {std::pair<std::string_view, std::uint64_t>{"KiB", 1ULL << 10},
                                           {"MiB", 1ULL << 20},
                                           {"GiB", 1ULL << 30}}) {
          if (t.size() > suffix.size() && t.substr(t.size() - suffix.size()) == suffix) {
            unit = mult;
            t.remove_suffix(suffix.size());
            break;
          }
        }
        auto n = parse_int(t, 1, (1LL << 40) / static_cast<long long>(unit));
        if (!n) return make_error(n.error().message + " (bytes, or a number with KiB, MiB or GiB)");
        const std::uint64_t bytes = static_cast<std::uint64_t>(*n) * unit;
        if (bytes < 1024) return make_error("must be at least 1KiB");
        s.sandbox_logs_max_size = bytes;
        return {};
      },
      [](const Settings& s) {
        const std::uint64_t b = s.sandbox_logs_max_size;
        if (b % (1ULL << 30) == 0) return fmt::format("{}GiB", b >> 30);
        if (b % (1ULL << 20) == 0) return fmt::format("{}MiB", b >> 20);
        if (b % (1ULL << 10) == 0) return fmt::format("{}KiB", b >> 10);
        return std::to_string(b);
      }});
  v.push_back(int_setting("EXECUTOR_SANDBOX_LOGS_KEEP", "", "2",
                          "Rotated sandbox log files kept per stream (container.stdout.1 is the newest); 0 keeps none.",
                          &Settings::sandbox_logs_keep, 0, 100));
  v.push_back(bool_setting("EXECUTOR_REMOVE_CONTAINER", "", "false",
                           "Once the task's terminal update is acknowledged (and the failure logs copied), remove "
                           "the container and its anonymous volumes. False keeps exited containers, as the Go "
                           "executor does.",
                           &Settings::remove_container));
  v.push_back(bool_setting("EXECUTOR_MOUNT_SANDBOX", "", "false",
                           "Bind the task's sandbox (MESOS_SANDBOX) read-write at /mnt/mesos/sandbox in the "
                           "container and set MESOS_SANDBOX=/mnt/mesos/sandbox there, as the Mesos Docker "
                           "containerizer does, so fetched URIs reach the app.",
                           &Settings::mount_sandbox));
  v.push_back(SettingSpec{
      "EXECUTOR_AWS_ROLE_EXPIRY_JITTER", "", "10%",
      "With EXECUTOR_AWS_ROLE: the task stops at a random point in the last N % of its AWS credentials' usable "
      "life (the lease less 6 min), so the instances of a service do not all stop at once; 0% stops all at the "
      "same point. The chosen time is logged.",
      [](std::string_view t, Settings& s) -> Result<void> {
        if (!t.empty() && t.back() == '%') t.remove_suffix(1);
        auto n = parse_int(t, 0, 100);
        if (!n) return make_error(n.error().message + " (a percentage: 0% to 100%)");
        s.aws_expiry_jitter_pct = static_cast<int>(*n);
        return {};
      },
      [](const Settings& s) { return fmt::format("{}%", s.aws_expiry_jitter_pct); }});
  return v;
}

}  // namespace

const std::vector<SettingSpec>& setting_specs() {
  static const std::vector<SettingSpec> specs = build_specs();
  return specs;
}

std::string unprefixed_name(const SettingSpec& spec) {
  constexpr std::string_view kPrefix = "EXECUTOR_";
  if (spec.go_name.empty() || spec.env.rfind(kPrefix, 0) != 0) return "";
  return spec.env.substr(kPrefix.size());
}

Result<Settings> load_settings(const util::EnvLookup& env, std::string_view os_hostname, const util::EnvLookup* raw_env,
                               const std::vector<std::string>& no_fallback) {
  Settings s;
  s.log_hostname = std::string(os_hostname);
  for (const auto& spec : setting_specs()) {
    std::string name = spec.env;
    auto value = env(spec.env);
    if (!value && raw_env != nullptr && !(*raw_env)(spec.env) &&
        std::find(no_fallback.begin(), no_fallback.end(), spec.env) == no_fallback.end()) {
      if (const std::string alt = unprefixed_name(spec); !alt.empty()) {
        if (auto v = (*raw_env)(alt); v && !v->empty()) {
          name = alt;
          value = v;
          s.from_unprefixed.push_back(alt);
        }
      }
    }
    if (!value || value->empty()) continue;
    auto ok = spec.parse(*value, s);
    if (!ok) return make_error(fmt::format("{}=\"{}\": {}", name, *value, ok.error().message));
  }
  if (s.aws_role_ttl > s.aws_role_max_ttl) {
    return make_error(fmt::format("EXECUTOR_AWS_ROLE_TTL=\"{}\": exceeds EXECUTOR_AWS_ROLE_MAX_TTL ({})",
                                  format_go_duration(s.aws_role_ttl), format_go_duration(s.aws_role_max_ttl)));
  }
  return s;
}

std::vector<std::pair<std::string, std::string>> describe(const Settings& s) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& spec : setting_specs()) out.emplace_back(spec.env, spec.format(s));
  return out;
}

}  // namespace settings
