// The settings table: every default, every bad value naming its variable, precedence of the env.
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "settings/settings.h"

using settings::describe;
using settings::load_settings;

namespace {
std::map<std::string, std::string> described(const settings::Settings& s) {
  std::map<std::string, std::string> m;
  for (const auto& [k, v] : describe(s)) m[k] = v;
  return m;
}
}  // namespace

TEST_CASE("Every setting has the Go executor's default") {
  auto s = load_settings(util::map_env({}), "host-a");
  REQUIRE(s.ok());
  const std::map<std::string, std::string> want = {
      {"EXECUTOR_KILL_TASK_TIMEOUT", "5"},
      {"EXECUTOR_HTTP_TIMEOUT", "2s"},
      {"EXECUTOR_SIDECAR_RETRY_COUNT", "5"},
      {"EXECUTOR_SIDECAR_RETRY_DELAY", "3s"},
      {"EXECUTOR_SIDECAR_URL", "http://localhost:7777/state.json"},
      {"EXECUTOR_SIDECAR_BACKOFF", "1m0s"},
      {"EXECUTOR_SIDECAR_POLL_INTERVAL", "30s"},
      {"EXECUTOR_SIDECAR_MAX_FAILS", "3"},
      {"EXECUTOR_SIDECAR_DRAINING_DURATION", "10s"},
      {"EXECUTOR_SEED_SIDECAR", "false"},
      {"EXECUTOR_DOCKER_REPOSITORY", "https://index.docker.io/v1/"},
      {"EXECUTOR_LOGS_SINCE", "3m0s"},
      {"EXECUTOR_FORCE_CPU_LIMIT", "false"},
      {"EXECUTOR_FORCE_MEMORY_LIMIT", "false"},
      {"EXECUTOR_USE_CPU_SHARES", "false"},
      {"EXECUTOR_DEBUG", "false"},
      {"EXECUTOR_MESOS_MASTER_PORT", "5050"},
      {"EXECUTOR_RELAY_SYSLOG", "false"},
      {"EXECUTOR_RELAY_SYSLOG_STARTUP_ONLY", "false"},
      {"EXECUTOR_RELAY_SYSLOG_STARTUP_TIME", "1m0s"},
      {"EXECUTOR_SYSLOG_ADDR", "127.0.0.1:514"},
      {"EXECUTOR_CONTAINER_LOGS_STDOUT", "false"},
      {"EXECUTOR_SEND_DOCKER_LABELS", ""},
      {"EXECUTOR_LOG_HOSTNAME", "host-a"},
      {"EXECUTOR_AWS_ROLE", ""},
      {"EXECUTOR_AWS_ROLE_TTL", "0s"},
      {"EXECUTOR_AWS_ROLE_MAX_TTL", "744h0m0s"},
      {"EXECUTOR_AGENT_ENCODING", "protobuf"},
      {"EXECUTOR_MAX_RECORD_SIZE", "67108864"},
      {"EXECUTOR_TERMINAL_ACK_TIMEOUT", "5s"},
      {"EXECUTOR_SIDECAR_HEALTH_UPDATES", "true"},
      {"EXECUTOR_JSON_LOGS", "false"},
      {"EXECUTOR_ATTACH_OUTPUT", "true"},
      {"EXECUTOR_SANDBOX_LOGS", "true"},
      {"EXECUTOR_SANDBOX_LOGS_MAX_SIZE", "10MiB"},
      {"EXECUTOR_SANDBOX_LOGS_KEEP", "2"},
      {"EXECUTOR_REMOVE_CONTAINER", "false"},
      {"EXECUTOR_MOUNT_SANDBOX", "false"},
      {"EXECUTOR_AWS_ROLE_EXPIRY_JITTER", "10%"},
  };
  CHECK(described(*s) == want);
  CHECK(settings::setting_specs().size() == want.size());
}

TEST_CASE("Each setting takes a good value from the environment") {
  const std::map<std::string, std::string> env = {
      {"EXECUTOR_KILL_TASK_TIMEOUT", "30"},
      {"EXECUTOR_HTTP_TIMEOUT", "500ms"},
      {"EXECUTOR_SIDECAR_RETRY_COUNT", "0"},
      {"EXECUTOR_SIDECAR_RETRY_DELAY", "1m40s"},
      {"EXECUTOR_SIDECAR_URL", "http://sidecar:7777/state.json"},
      {"EXECUTOR_SIDECAR_BACKOFF", "2s"},
      {"EXECUTOR_SIDECAR_POLL_INTERVAL", "1s"},
      {"EXECUTOR_SIDECAR_MAX_FAILS", "7"},
      {"EXECUTOR_SIDECAR_DRAINING_DURATION", "0"},
      {"EXECUTOR_SEED_SIDECAR", "T"},
      {"EXECUTOR_DOCKER_REPOSITORY", "registry.example.com:5000"},
      {"EXECUTOR_LOGS_SINCE", "1h"},
      {"EXECUTOR_FORCE_CPU_LIMIT", "1"},
      {"EXECUTOR_FORCE_MEMORY_LIMIT", "TRUE"},
      {"EXECUTOR_USE_CPU_SHARES", "True"},
      {"EXECUTOR_DEBUG", "t"},
      {"EXECUTOR_MESOS_MASTER_PORT", "5051"},
      {"EXECUTOR_RELAY_SYSLOG", "true"},
      {"EXECUTOR_RELAY_SYSLOG_STARTUP_ONLY", "true"},
      {"EXECUTOR_RELAY_SYSLOG_STARTUP_TIME", "90s"},
      {"EXECUTOR_SYSLOG_ADDR", "logs.example.com:1514"},
      {"EXECUTOR_CONTAINER_LOGS_STDOUT", "true"},
      {"EXECUTOR_SEND_DOCKER_LABELS", "ServiceName, Environment,,team"},
      {"EXECUTOR_LOG_HOSTNAME", "web-7"},
      {"EXECUTOR_AWS_ROLE", "reader"},
      {"EXECUTOR_AWS_ROLE_TTL", "1h"},
      {"EXECUTOR_AWS_ROLE_MAX_TTL", "2h"},
      {"EXECUTOR_AGENT_ENCODING", "json"},
      {"EXECUTOR_MAX_RECORD_SIZE", "65536"},
      {"EXECUTOR_TERMINAL_ACK_TIMEOUT", "30s"},
      {"EXECUTOR_SIDECAR_HEALTH_UPDATES", "false"},
      {"EXECUTOR_JSON_LOGS", "true"},
      {"EXECUTOR_ATTACH_OUTPUT", "false"},
      {"EXECUTOR_SANDBOX_LOGS", "false"},
      {"EXECUTOR_SANDBOX_LOGS_MAX_SIZE", "64KiB"},
      {"EXECUTOR_SANDBOX_LOGS_KEEP", "0"},
      {"EXECUTOR_REMOVE_CONTAINER", "true"},
      {"EXECUTOR_MOUNT_SANDBOX", "1"},
      {"EXECUTOR_AWS_ROLE_EXPIRY_JITTER", "25%"},
  };
  auto s = load_settings(util::map_env(env), "host-a");
  REQUIRE(s.ok());
  CHECK(s->kill_task_timeout_s == 30);
  CHECK(s->http_timeout == std::chrono::milliseconds(500));
  CHECK(s->sidecar_retry_count == 0);
  CHECK(s->sidecar_retry_delay == std::chrono::seconds(100));
  CHECK(s->sidecar_url == "http://sidecar:7777/state.json");
  CHECK(s->sidecar_backoff == std::chrono::seconds(2));
  CHECK(s->sidecar_poll_interval == std::chrono::seconds(1));
  CHECK(s->sidecar_max_fails == 7);
  CHECK(s->sidecar_draining_duration == std::chrono::seconds(0));
  CHECK(s->seed_sidecar);
  CHECK(s->docker_repository == "registry.example.com:5000");
  CHECK(s->logs_since == std::chrono::hours(1));
  CHECK(s->force_cpu_limit);
  CHECK(s->force_memory_limit);
  CHECK(s->use_cpu_shares);
  CHECK(s->debug);
  CHECK(s->mesos_master_port == 5051);
  CHECK(s->relay_syslog);
  CHECK(s->relay_syslog_startup_only);
  CHECK(s->relay_syslog_startup_time == std::chrono::seconds(90));
  CHECK(s->syslog_addr == "logs.example.com:1514");
  CHECK(s->container_logs_stdout);
  CHECK(s->send_docker_labels == std::vector<std::string>{"ServiceName", "Environment", "team"});
  CHECK(s->log_hostname == "web-7");
  CHECK(s->aws_role == "reader");
  CHECK(s->aws_role_ttl == std::chrono::hours(1));
  CHECK(s->aws_role_max_ttl == std::chrono::hours(2));
  CHECK(s->agent_encoding == settings::AgentEncoding::Json);
  CHECK(s->max_record_size == 65536);
  CHECK(s->terminal_ack_timeout == std::chrono::seconds(30));
  CHECK_FALSE(s->sidecar_health_updates);
  CHECK(s->json_logs);
  CHECK_FALSE(s->attach_output);
  CHECK_FALSE(s->sandbox_logs);
  CHECK(s->sandbox_logs_max_size == 65536);
  CHECK(s->sandbox_logs_keep == 0);
  CHECK(s->remove_container);
  CHECK(s->mount_sandbox);
  CHECK(s->aws_expiry_jitter_pct == 25);
  // Every variable of the table was exercised by this case.
  std::set<std::string> names;
  for (const auto& spec : settings::setting_specs()) names.insert(spec.env);
  std::set<std::string> given;
  for (const auto& [k, v] : env) given.insert(k);
  CHECK(names == given);
}

TEST_CASE("A bad value is an error naming the variable and the value") {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"EXECUTOR_KILL_TASK_TIMEOUT", "5s"},
      {"EXECUTOR_KILL_TASK_TIMEOUT", "-1"},
      {"EXECUTOR_HTTP_TIMEOUT", "2"},
      {"EXECUTOR_HTTP_TIMEOUT", "0"},
      {"EXECUTOR_SIDECAR_RETRY_COUNT", "many"},
      {"EXECUTOR_SIDECAR_RETRY_COUNT", "-3"},
      {"EXECUTOR_SIDECAR_RETRY_DELAY", "3 s"},
      {"EXECUTOR_SIDECAR_RETRY_DELAY", "-3s"},
      {"EXECUTOR_SIDECAR_URL", "localhost:7777/state.json"},
      {"EXECUTOR_SIDECAR_URL", "http:///state.json"},
      {"EXECUTOR_SIDECAR_BACKOFF", "1d"},
      {"EXECUTOR_SIDECAR_POLL_INTERVAL", "0s"},
      {"EXECUTOR_SIDECAR_MAX_FAILS", "3.5"},
      {"EXECUTOR_SIDECAR_DRAINING_DURATION", "ten"},
      {"EXECUTOR_SEED_SIDECAR", "yes"},
      {"EXECUTOR_LOGS_SINCE", "3mins"},
      {"EXECUTOR_FORCE_CPU_LIMIT", "on"},
      {"EXECUTOR_FORCE_MEMORY_LIMIT", "tRUE"},
      {"EXECUTOR_USE_CPU_SHARES", "2"},
      {"EXECUTOR_DEBUG", "verbose"},
      {"EXECUTOR_MESOS_MASTER_PORT", "0"},
      {"EXECUTOR_MESOS_MASTER_PORT", "65536"},
      {"EXECUTOR_RELAY_SYSLOG", "y"},
      {"EXECUTOR_RELAY_SYSLOG_STARTUP_ONLY", "n"},
      {"EXECUTOR_RELAY_SYSLOG_STARTUP_TIME", "1minute"},
      {"EXECUTOR_SYSLOG_ADDR", "127.0.0.1"},
      {"EXECUTOR_SYSLOG_ADDR", "127.0.0.1:99999"},
      {"EXECUTOR_CONTAINER_LOGS_STDOUT", "nope"},
      {"EXECUTOR_AWS_ROLE_TTL", "1hour"},
      {"EXECUTOR_AWS_ROLE_TTL", "745h"},
      {"EXECUTOR_AWS_ROLE_MAX_TTL", "forever"},
      {"EXECUTOR_AGENT_ENCODING", "xml"},
      {"EXECUTOR_MAX_RECORD_SIZE", "12"},
      {"EXECUTOR_TERMINAL_ACK_TIMEOUT", "5"},
      {"EXECUTOR_SANDBOX_LOGS", "maybe"},
      {"EXECUTOR_SANDBOX_LOGS_MAX_SIZE", "10MB"},
      {"EXECUTOR_SANDBOX_LOGS_MAX_SIZE", "512"},
      {"EXECUTOR_SANDBOX_LOGS_MAX_SIZE", "-1KiB"},
      {"EXECUTOR_SANDBOX_LOGS_KEEP", "101"},
      {"EXECUTOR_REMOVE_CONTAINER", "yes"},
      {"EXECUTOR_MOUNT_SANDBOX", "on"},
      {"EXECUTOR_AWS_ROLE_EXPIRY_JITTER", "101%"},
      {"EXECUTOR_AWS_ROLE_EXPIRY_JITTER", "-1%"},
      {"EXECUTOR_AWS_ROLE_EXPIRY_JITTER", "0.1"},
  };
  for (const auto& [name, value] : bad) {
    auto s = load_settings(util::map_env({{name, value}}), "h");
    INFO(name << "=" << value);
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.error().message, Catch::Contains(name));
    if (name != "EXECUTOR_AWS_ROLE_TTL" || value != "745h") CHECK_THAT(s.error().message, Catch::Contains(value));
  }
}

TEST_CASE("An empty variable counts as unset") {
  auto s = load_settings(util::map_env({{"EXECUTOR_SIDECAR_MAX_FAILS", ""}}), "h");
  REQUIRE(s.ok());
  CHECK(s->sidecar_max_fails == 3);
}

TEST_CASE("Go ParseBool accepts exactly its twelve spellings") {
  for (const char* t : {"1", "t", "T", "TRUE", "true", "True"}) CHECK(*settings::parse_go_bool(t));
  for (const char* f : {"0", "f", "F", "FALSE", "false", "False"}) CHECK_FALSE(*settings::parse_go_bool(f));
  for (const char* bad : {"", "yes", "no", "on", "tRue", " true", "2"}) CHECK_FALSE(settings::parse_go_bool(bad).ok());
}

TEST_CASE("EXECUTOR_MAX_RECORD_SIZE: 64 MiB by default, 1 KiB to 1 GiB") {
  // The agent has no cap on an event: a LAUNCH with a large TaskInfo.data must fit by default.
  auto def = load_settings(util::map_env({}), "h");
  REQUIRE(def.ok());
  CHECK(def->max_record_size == std::size_t{64} << 20);
  // The default the struct holds and the one the table documents agree.
  CHECK(settings::Settings{}.max_record_size == def->max_record_size);
  for (const auto& [value, want] : std::vector<std::pair<std::string, std::size_t>>{
           {"1024", 1024}, {"67108864", std::size_t{64} << 20}, {"1073741824", std::size_t{1} << 30}}) {
    auto s = load_settings(util::map_env({{"EXECUTOR_MAX_RECORD_SIZE", value}}), "h");
    INFO(value);
    REQUIRE(s.ok());
    CHECK(s->max_record_size == want);
  }
  // Below 1 KiB not even a SUBSCRIBED fits; the bounds stay as they were.
  for (const char* value : {"1023", "1073741825", "-1", "64MiB"}) {
    auto s = load_settings(util::map_env({{"EXECUTOR_MAX_RECORD_SIZE", value}}), "h");
    INFO(value);
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.error().message, Catch::Contains("EXECUTOR_MAX_RECORD_SIZE"));
  }
}

// The Go executor reads its Config with envconfig.Process("executor", &config) (main.go, init), whose
// fields carry `envconfig:"NAME"` tags: the key is EXECUTOR_NAME and the tag's NAME is the alternate
// name, looked up only when the key is absent from the environment (envconfig's Process: lookupEnv(Key),
// then lookupEnv(Alt) when not found). Go's behaviour as data: (environment) -> the setting's value.
TEST_CASE("Unprefixed names are read as the Go executor's envconfig reads them") {
  struct Case {
    std::map<std::string, std::string> env;
    unsigned kill_task_timeout;  // what Go ends up with
  };
  const std::vector<Case> go = {
      {{{"KILL_TASK_TIMEOUT", "1"}}, 1},                                       // EXECUTOR_ absent: the alternate name
      {{{"EXECUTOR_KILL_TASK_TIMEOUT", "7"}, {"KILL_TASK_TIMEOUT", "1"}}, 7},  // the prefixed name wins
      {{{"EXECUTOR_KILL_TASK_TIMEOUT", ""}, {"KILL_TASK_TIMEOUT", "1"}}, 5},   // present but empty: no fallback
      {{}, 5},                                                                 // neither: the default
  };
  for (const auto& c : go) {
    const auto raw = util::map_env(c.env);
    auto s = load_settings(raw, "h", &raw);
    REQUIRE(s);
    CHECK(s->kill_task_timeout_s == c.kill_task_timeout);
  }
  const auto raw = util::map_env({{"LOG_HOSTNAME", "relay-host"}, {"DEBUG", "true"}, {"TERMINAL_ACK_TIMEOUT", "9s"}});
  auto s = load_settings(raw, "h", &raw);
  REQUIRE(s);
  CHECK(s->log_hostname == "relay-host");  // documented in the Go README
  CHECK(s->debug);
  CHECK(s->terminal_ack_timeout == std::chrono::seconds(5));  // ours only: no unprefixed name
  CHECK(s->from_unprefixed == std::vector<std::string>{"DEBUG", "LOG_HOSTNAME"});
  // Without the raw environment (files, tests) nothing falls back.
  CHECK(load_settings(raw, "h")->log_hostname == "h");
  // A locked setting never falls back to a name the task could set.
  auto locked = load_settings(raw, "h", &raw, {"EXECUTOR_LOG_HOSTNAME"});
  REQUIRE(locked);
  CHECK(locked->log_hostname == "h");
  // A bad unprefixed value is an error naming the variable that held it.
  const auto bad = util::map_env({{"KILL_TASK_TIMEOUT", "soon"}});
  auto err = load_settings(bad, "h", &bad);
  REQUIRE_FALSE(err);
  CHECK_THAT(err.error().message, Catch::StartsWith("KILL_TASK_TIMEOUT=\"soon\""));
}

TEST_CASE("EXECUTOR_AWS_ROLE_EXPIRY_JITTER: a percentage with or without its sign, 0 to 100") {
  for (const auto& [text, pct] :
       std::vector<std::pair<std::string, int>>{{"0%", 0}, {"0", 0}, {"10", 10}, {"100%", 100}}) {
    auto s = load_settings(util::map_env({{"EXECUTOR_AWS_ROLE_EXPIRY_JITTER", text}}), "h");
    INFO(text);
    REQUIRE(s.ok());
    CHECK(s->aws_expiry_jitter_pct == pct);
  }
}

TEST_CASE("EXECUTOR_SANDBOX_LOGS_MAX_SIZE: plain bytes or KiB/MiB/GiB, shown in the largest whole unit") {
  for (const auto& [text, bytes, shown] :
       std::vector<std::tuple<std::string, std::uint64_t, std::string>>{{"65536", 65536, "64KiB"},
                                                                        {"1024", 1024, "1KiB"},
                                                                        {"1500", 1500, "1500"},
                                                                        {"64KiB", 65536, "64KiB"},
                                                                        {"3MiB", 3ULL << 20, "3MiB"},
                                                                        {"2GiB", 2ULL << 30, "2GiB"}}) {
    auto s = load_settings(util::map_env({{"EXECUTOR_SANDBOX_LOGS_MAX_SIZE", text}}), "h");
    INFO(text);
    REQUIRE(s.ok());
    CHECK(s->sandbox_logs_max_size == bytes);
    CHECK(described(*s).at("EXECUTOR_SANDBOX_LOGS_MAX_SIZE") == shown);
  }
}
