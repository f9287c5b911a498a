// The MESOS_* environment an agent gives its executor.
#include <catch2/catch.hpp>

#include "mesos/agent_env.h"

using mesos::load_agent_env;

namespace {
std::map<std::string, std::string> base() {
  return {{"MESOS_FRAMEWORK_ID", "fw-1"}, {"MESOS_EXECUTOR_ID", "ex-1"}, {"MESOS_AGENT_ENDPOINT", "10.0.0.5:5051"}};
}
}  // namespace

TEST_CASE("Agent environment: required ids and endpoint, Mesos defaults") {
  auto e = load_agent_env(util::map_env(base()));
  REQUIRE(e.ok());
  CHECK(e->framework_id == "fw-1");
  CHECK(e->executor_id == "ex-1");
  CHECK(e->agent_host == "10.0.0.5");
  CHECK(e->agent_port == 5051);
  CHECK(e->base_url() == "http://10.0.0.5:5051");
  CHECK_FALSE(e->checkpoint);
  CHECK(e->recovery_timeout == std::chrono::minutes(15));
  CHECK(e->subscription_backoff_max == std::chrono::seconds(2));
  CHECK(e->shutdown_grace_period == std::chrono::seconds(5));
  CHECK_FALSE(e->auth_token.has_value());
  CHECK_FALSE(e->tls.enabled);
}

TEST_CASE("Agent environment: every variable read") {
  auto env = base();
  env["MESOS_AGENT_ENDPOINT"] = "[::1]:5051";
  env["MESOS_CHECKPOINT"] = "1";
  env["MESOS_RECOVERY_TIMEOUT"] = "3secs";
  env["MESOS_SUBSCRIPTION_BACKOFF_MAX"] = "100ms";
  env["MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"] = "1mins";
  env["MESOS_EXECUTOR_AUTHENTICATION_TOKEN"] = "tok";
  env["MESOS_DIRECTORY"] = "/var/lib/mesos/sandbox";
  env["MESOS_SLAVE_ID"] = "agent-9";
  env["LIBPROCESS_SSL_ENABLED"] = "true";
  env["LIBPROCESS_SSL_VERIFY_CERT"] = "false";
  env["LIBPROCESS_SSL_CA_FILE"] = "/etc/ca.pem";
  auto e = load_agent_env(util::map_env(env));
  REQUIRE(e.ok());
  CHECK(e->agent_host == "::1");
  CHECK(e->base_url() == "https://[::1]:5051");
  CHECK(e->checkpoint);
  CHECK(e->recovery_timeout == std::chrono::seconds(3));
  CHECK(e->subscription_backoff_max == std::chrono::milliseconds(100));
  CHECK(e->shutdown_grace_period == std::chrono::minutes(1));
  CHECK(e->auth_token == std::optional<std::string>("tok"));
  CHECK(e->sandbox == "/var/lib/mesos/sandbox");
  CHECK(e->agent_id == "agent-9");
  CHECK(e->tls.enabled);
  CHECK(e->tls.ca_file == "/etc/ca.pem");
}

TEST_CASE("Agent environment: missing and bad values are errors naming the variable") {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"MESOS_FRAMEWORK_ID", ""},
      {"MESOS_EXECUTOR_ID", ""},
      {"MESOS_AGENT_ENDPOINT", ""},
      {"MESOS_AGENT_ENDPOINT", "10.0.0.5"},
      {"MESOS_AGENT_ENDPOINT", "10.0.0.5:http"},
      {"MESOS_AGENT_ENDPOINT", "10.0.0.5:70000"},
      {"MESOS_AGENT_ENDPOINT", "[::1:5051"},
      {"MESOS_CHECKPOINT", "yes"},
      {"MESOS_RECOVERY_TIMEOUT", "15m"},
      {"MESOS_SUBSCRIPTION_BACKOFF_MAX", "2s"},
      {"MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", "five"},
  };
  for (const auto& [name, value] : bad) {
    auto env = base();
    env[name] = value;
    auto e = load_agent_env(util::map_env(env));
    INFO(name << "=" << value);
    REQUIRE_FALSE(e.ok());
    CHECK_THAT(e.error().message, Catch::Contains(name));
  }
}

TEST_CASE("An agent token holding a control character is refused without being echoed") {
  auto env = util::map_env({{"MESOS_FRAMEWORK_ID", "fw"},
                            {"MESOS_EXECUTOR_ID", "ex"},
                            {"MESOS_AGENT_ENDPOINT", "127.0.0.1:5051"},
                            {"MESOS_EXECUTOR_AUTHENTICATION_TOKEN", "tok-secret\r\nX-Evil: 1"}});
  auto r = mesos::load_agent_env(env);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message, Catch::Contains("MESOS_EXECUTOR_AUTHENTICATION_TOKEN") && !Catch::Contains("tok-secret"));
}
