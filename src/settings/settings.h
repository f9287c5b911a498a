// Every EXECUTOR_* setting in one table: name, Go executor name, default, meaning, parser.
// Parsed once from the environment into a Settings struct that is passed down; nothing below main
// reads EXECUTOR_* variables itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mesos/encoding.h"
#include "util/env.h"
#include "util/result.h"
#include "util/values.h"

namespace settings {

// The value syntaxes, under the names settings code has always used.
using util::Duration;
using util::format_go_duration;
using util::parse_go_bool;
using util::parse_go_duration;
using util::parse_mesos_duration;

using AgentEncoding = mesos::Encoding;  // the protocol's

struct Settings {
  // The Go executor's settings, same names (EXECUTOR_ + the CamelCase words split) and defaults.
  unsigned kill_task_timeout_s = 5;
  Duration http_timeout = std::chrono::seconds(2);
  int sidecar_retry_count = 5;
  Duration sidecar_retry_delay = std::chrono::seconds(3);
  std::string sidecar_url = "http://localhost:7777/state.json";
  Duration sidecar_backoff = std::chrono::minutes(1);
  Duration sidecar_poll_interval = std::chrono::seconds(30);
  int sidecar_max_fails = 3;
  Duration sidecar_draining_duration = std::chrono::seconds(10);
  bool seed_sidecar = false;
  std::string docker_repository = "https://index.docker.io/v1/";
  Duration logs_since = std::chrono::minutes(3);
  bool force_cpu_limit = false;
  bool force_memory_limit = false;
  bool use_cpu_shares = false;
  bool debug = false;
  int mesos_master_port = 5050;
  bool relay_syslog = false;
  bool relay_syslog_startup_only = false;
  Duration relay_syslog_startup_time = std::chrono::minutes(1);
  std::string syslog_addr = "127.0.0.1:514";
  bool container_logs_stdout = false;
  std::vector<std::string> send_docker_labels;
  std::string log_hostname;  // empty in the table: the OS hostname at load time
  std::string aws_role;
  Duration aws_role_ttl{0};  // 0: Vault's default TTL for the role
  Duration aws_role_max_ttl = std::chrono::hours(744);

  // sidecar-executor's own additions.
  AgentEncoding agent_encoding = AgentEncoding::Protobuf;
  std::size_t max_record_size = std::size_t{64} << 20;
  Duration terminal_ack_timeout = std::chrono::seconds(5);
  bool sidecar_health_updates = true;
  bool json_logs = false;     // the executor's own log lines as JSON objects
  bool sandbox_logs = true;   // container.stdout/.stderr in the sandbox
  bool attach_output = true;  // the relay and the files read Docker's attach (false: Docker's log, as Go)
  std::uint64_t sandbox_logs_max_size = std::uint64_t{10} << 20;  // bytes; rotate before a file passes it
  int sandbox_logs_keep = 2;                                      // rotated files kept per stream
  bool remove_container = false;   // remove the container (and its anonymous volumes) after the terminal ACK
  bool mount_sandbox = false;      // bind MESOS_SANDBOX at /mnt/mesos/sandbox in the container
  int aws_expiry_jitter_pct = 10;  // the AWS stop falls at random in the last N % of the credentials' life

  // Settings read from their unprefixed name (KILL_TASK_TIMEOUT for EXECUTOR_KILL_TASK_TIMEOUT), as the
  // Go executor's envconfig does when the EXECUTOR_ name is absent (for the start-up log).
  std::vector<std::string> from_unprefixed;
};

struct SettingSpec {
  std::string env;           // EXECUTOR_SIDECAR_RETRY_DELAY
  std::string go_name;       // SidecarRetryDelay; empty for settings the Go executor does not have
  std::string default_text;  // as documented
  std::string doc;           // one sentence for the README table and --help
  std::function<util::Result<void>(std::string_view, Settings&)> parse;
  std::function<std::string(const Settings&)> format;
};

// The table, in documentation order.
const std::vector<SettingSpec>& setting_specs();

// Defaults, then every EXECUTOR_* variable that is set (an empty value counts as unset). The first
// bad value is returned as an error naming the variable and the value.
//
// `raw_env` (the process environment as it is) turns on the Go executor's fallback: a setting the Go
// executor has, whose EXECUTOR_ name is absent from `raw_env` altogether (an empty one does not count as
// absent) and has no value in `env`, is read from its unprefixed name in `raw_env` (envconfig's alternate
// name). Names in `no_fallback` (the site's locked settings) never fall back.
util::Result<Settings> load_settings(const util::EnvLookup& env, std::string_view os_hostname,
                                     const util::EnvLookup* raw_env = nullptr,
                                     const std::vector<std::string>& no_fallback = {});

// The Go executor's unprefixed alternate name of a setting ("KILL_TASK_TIMEOUT"), or "" when it has none.
std::string unprefixed_name(const SettingSpec& spec);

// Effective values, NAME=value in table order (for --print-config and the startup dump).
std::vector<std::pair<std::string, std::string>> describe(const Settings& s);

}  // namespace settings
