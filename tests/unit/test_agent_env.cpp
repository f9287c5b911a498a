// The MESOS_* environment an agent gives its executor.
#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <tuple>

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
  env["LIBPROCESS_SSL_CERT_FILE"] = "/etc/executor.pem";
  env["LIBPROCESS_SSL_KEY_FILE"] = "/etc/executor-key.pem";
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
  CHECK(e->tls.cert_file == "/etc/executor.pem");
  CHECK(e->tls.key_file == "/etc/executor-key.pem");
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
  CHECK_THAT(r.error().message,
             Catch::Contains("MESOS_EXECUTOR_AUTHENTICATION_TOKEN") && !Catch::Contains("tok-secret"));
}

// ---- LIBPROCESS_SSL_* as libprocess reads them (3rdparty/libprocess/src/openssl.cpp, stout flags).

namespace {

using Vars = std::map<std::string, std::string>;

// TLS on, with the certificate and key libprocess insists on.
Vars tls_on(Vars extra = {}) {
  Vars v = {{"LIBPROCESS_SSL_ENABLED", "true"},
            {"LIBPROCESS_SSL_CERT_FILE", "/etc/mesos/executor.pem"},
            {"LIBPROCESS_SSL_KEY_FILE", "/etc/mesos/executor-key.pem"}};
  for (auto& [k, value] : extra) v[k] = value;
  return v;
}

mesos::AgentTls tls_of(const Vars& vars) {
  auto t = mesos::load_agent_tls(util::map_env(vars));
  INFO((t ? "" : t.error().message));
  REQUIRE(t);
  return *t;
}

std::string tls_error(const Vars& vars) {
  auto t = mesos::load_agent_tls(util::map_env(vars));
  REQUIRE_FALSE(t);
  return t.error().message;
}

}  // namespace

TEST_CASE("Agent TLS: libprocess' defaults") {
  const auto off = tls_of({});
  CHECK_FALSE(off.enabled);
  const auto t = tls_of(tls_on());
  CHECK(t.enabled);
  CHECK(t.cert_file == "/etc/mesos/executor.pem");
  CHECK(t.key_file == "/etc/mesos/executor-key.pem");
  CHECK(t.ca_file.empty());
  CHECK(t.ca_dir.empty());
  CHECK_FALSE(t.verify_server_cert);
  CHECK_FALSE(t.require_client_cert);
  CHECK_FALSE(t.verify_ipadd);
  CHECK(t.hostname_validation == mesos::HostnameValidation::kLegacy);
  CHECK(t.verification_depth == 4);
  CHECK(t.ciphers.empty());
  CHECK(t.ecdh_curves == "auto");
  CHECK_FALSE(t.enable_ssl_v3);
  CHECK_FALSE(t.enable_tls_v1_0);
  CHECK_FALSE(t.enable_tls_v1_1);
  CHECK(t.enable_tls_v1_2);
  CHECK_FALSE(t.enable_tls_v1_3);
  CHECK(t.variable("ca_file") == "LIBPROCESS_SSL_CA_FILE");
  CHECK(t.variable("enabled") == "LIBPROCESS_SSL_ENABLED");
}

TEST_CASE("Agent TLS: every variable, under both prefixes and both spellings") {
  using Check = std::function<bool(const mesos::AgentTls&)>;
  const std::vector<std::tuple<std::string, std::string, Check>> cases = {
      {"CERT_FILE", "/x/c.pem", [](const mesos::AgentTls& t) { return t.cert_file == "/x/c.pem"; }},
      {"KEY_FILE", "/x/k.pem", [](const mesos::AgentTls& t) { return t.key_file == "/x/k.pem"; }},
      {"CA_FILE", "/x/ca.pem", [](const mesos::AgentTls& t) { return t.ca_file == "/x/ca.pem"; }},
      {"CA_DIR", "/x/cas", [](const mesos::AgentTls& t) { return t.ca_dir == "/x/cas"; }},
      {"VERIFY_SERVER_CERT", "true", [](const mesos::AgentTls& t) { return t.verify_server_cert; }},
      {"VERIFY_CERT", "1", [](const mesos::AgentTls& t) { return t.verify_server_cert; }},
      {"REQUIRE_CLIENT_CERT", "true",
       [](const mesos::AgentTls& t) { return t.require_client_cert && t.verify_server_cert; }},
      {"REQUIRE_CERT", "1", [](const mesos::AgentTls& t) { return t.require_client_cert && t.verify_server_cert; }},
      {"VERIFY_IPADD", "true", [](const mesos::AgentTls& t) { return t.verify_ipadd; }},
      {"HOSTNAME_VALIDATION_SCHEME", "openssl",
       [](const mesos::AgentTls& t) { return t.hostname_validation == mesos::HostnameValidation::kOpenssl; }},
      {"VERIFICATION_DEPTH", "7", [](const mesos::AgentTls& t) { return t.verification_depth == 7; }},
      {"CIPHERS", "ECDHE-RSA-AES128-GCM-SHA256",
       [](const mesos::AgentTls& t) { return t.ciphers == "ECDHE-RSA-AES128-GCM-SHA256"; }},
      {"ECDH_CURVES", "P-256:P-384", [](const mesos::AgentTls& t) { return t.ecdh_curves == "P-256:P-384"; }},
      {"ENABLE_SSL_V3", "true", [](const mesos::AgentTls& t) { return t.enable_ssl_v3; }},
      {"ENABLE_TLS_V1_0", "true", [](const mesos::AgentTls& t) { return t.enable_tls_v1_0; }},
      {"ENABLE_TLS_V1_1", "true", [](const mesos::AgentTls& t) { return t.enable_tls_v1_1; }},
      {"ENABLE_TLS_V1_2", "false", [](const mesos::AgentTls& t) { return !t.enable_tls_v1_2 && t.enable_tls_v1_3; }},
      {"ENABLE_TLS_V1_3", "true", [](const mesos::AgentTls& t) { return t.enable_tls_v1_3; }},
      {"SUPPORT_DOWNGRADE", "true", [](const mesos::AgentTls& t) { return t.enabled; }},
  };
  for (const auto& [suffix, value, check] : cases) {
    std::string lower = suffix;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    for (const std::string& name :
         {"LIBPROCESS_SSL_" + suffix, "SSL_" + suffix, "LIBPROCESS_SSL_" + lower, "SSL_" + lower}) {
      Vars extra = {{name, value}};
      // Disabling TLS 1.2 alone leaves no version: keep one for that case.
      if (suffix == "ENABLE_TLS_V1_2") extra["LIBPROCESS_SSL_ENABLE_TLS_V1_3"] = "true";
      // The variable under test replaces the default certificate/key entry of its own name.
      Vars vars = tls_on();
      if (suffix == "CERT_FILE" || suffix == "KEY_FILE") vars.erase("LIBPROCESS_SSL_" + suffix);
      for (auto& [k, v] : extra) vars[k] = v;
      INFO(name << "=" << value);
      const auto t = tls_of(vars);
      CHECK(check(t));
      CHECK(t.variable(lower) == name);
    }
  }
  // The prefix SSL_ alone turns TLS on too.
  CHECK(tls_of({{"SSL_ENABLED", "1"}, {"SSL_CERT_FILE", "/c"}, {"SSL_KEY_FILE", "/k"}}).enabled);
}

TEST_CASE("Agent TLS: LIBPROCESS_SSL_ wins over SSL_, lower-case over upper-case, old names only switch on") {
  CHECK(tls_of(tls_on({{"LIBPROCESS_SSL_CA_FILE", "/new.pem"}, {"SSL_CA_FILE", "/old.pem"}})).ca_file == "/new.pem");
  CHECK(tls_of(tls_on({{"SSL_CA_FILE", "/old.pem"}})).ca_file == "/old.pem");
  CHECK_FALSE(tls_of(tls_on({{"LIBPROCESS_SSL_VERIFY_SERVER_CERT", "false"}, {"SSL_VERIFY_SERVER_CERT", "true"}}))
                  .verify_server_cert);
  CHECK(tls_of(tls_on({{"LIBPROCESS_SSL_VERIFY_SERVER_CERT", "true"}, {"SSL_VERIFY_SERVER_CERT", "false"}}))
            .verify_server_cert);
  // TLS off under the current prefix stays off whatever the legacy one says.
  CHECK_FALSE(tls_of({{"LIBPROCESS_SSL_ENABLED", "false"}, {"SSL_ENABLED", "true"}}).enabled);
  {
    const auto t = tls_of(tls_on({{"LIBPROCESS_SSL_CA_FILE", "/upper.pem"}, {"LIBPROCESS_SSL_ca_file", "/lower.pem"}}));
    CHECK(t.ca_file == "/lower.pem");
    CHECK(t.variable("ca_file") == "LIBPROCESS_SSL_ca_file");
  }
  // The old spellings turn verification on; "false" there does not turn the new one off.
  CHECK(tls_of(tls_on({{"LIBPROCESS_SSL_VERIFY_CERT", "true"}, {"LIBPROCESS_SSL_VERIFY_SERVER_CERT", "false"}}))
            .verify_server_cert);
  CHECK(tls_of(tls_on({{"LIBPROCESS_SSL_VERIFY_CERT", "false"}, {"LIBPROCESS_SSL_VERIFY_SERVER_CERT", "true"}}))
            .verify_server_cert);
  // Requiring a client certificate implies verifying the server's, even when told otherwise.
  CHECK(tls_of(tls_on({{"LIBPROCESS_SSL_REQUIRE_CLIENT_CERT", "true"}, {"LIBPROCESS_SSL_VERIFY_SERVER_CERT", "false"}}))
            .verify_server_cert);
}

TEST_CASE("Agent TLS: true and false as stout reads them") {
  for (const char* yes : {"true", "1", ""}) {
    INFO("value \"" << yes << "\"");
    CHECK(tls_of(tls_on({{"LIBPROCESS_SSL_VERIFY_SERVER_CERT", yes}})).verify_server_cert);
  }
  for (const char* no : {"false", "0"}) {
    INFO("value \"" << no << "\"");
    CHECK_FALSE(tls_of(tls_on({{"LIBPROCESS_SSL_VERIFY_SERVER_CERT", no}})).verify_server_cert);
  }
  // An empty value switches a flag on, so LIBPROCESS_SSL_ENABLED= alone enables TLS (and asks for a key).
  CHECK_THAT(tls_error({{"LIBPROCESS_SSL_ENABLED", ""}}), Catch::Contains("LIBPROCESS_SSL_KEY_FILE"));
  // "no-" before the name turns a flag off; it takes no value.
  CHECK_FALSE(tls_of(tls_on({{"LIBPROCESS_SSL_NO-VERIFY_IPADD", ""}})).verify_ipadd);
  CHECK_FALSE(tls_of({{"LIBPROCESS_SSL_no-enabled", ""}}).enabled);
  for (const char* bad : {"True", "TRUE", "yes", "on", "t", "2", " true"}) {
    INFO("value \"" << bad << "\"");
    CHECK_THAT(tls_error(tls_on({{"LIBPROCESS_SSL_VERIFY_SERVER_CERT", bad}})),
               Catch::Contains("LIBPROCESS_SSL_VERIFY_SERVER_CERT") && Catch::Contains("true, false, 1 or 0"));
  }
}

TEST_CASE("Agent TLS: bad values are start-up errors naming the variable") {
  const std::vector<std::pair<Vars, std::string>> bad = {
      // Checked whether or not TLS is on, as libprocess loads every flag first.
      {{{"LIBPROCESS_SSL_ENABLED", "yes"}}, "LIBPROCESS_SSL_ENABLED"},
      {{{"SSL_VERIFY_CERT", "on"}}, "SSL_VERIFY_CERT"},
      {{{"LIBPROCESS_SSL_VERIFICATION_DEPTH", "four"}}, "LIBPROCESS_SSL_VERIFICATION_DEPTH"},
      {{{"LIBPROCESS_SSL_VERIFICATION_DEPTH", "-1"}}, "LIBPROCESS_SSL_VERIFICATION_DEPTH"},
      {{{"LIBPROCESS_SSL_HELP", "maybe"}}, "LIBPROCESS_SSL_HELP"},
      {{{"LIBPROCESS_SSL_NO-VERIFY_IPADD", "true"}}, "LIBPROCESS_SSL_NO-VERIFY_IPADD"},
      {{{"LIBPROCESS_SSL_NO-CA_FILE", ""}}, "LIBPROCESS_SSL_NO-CA_FILE"},
      {{{"LIBPROCESS_SSL_ENABLED", "file:///etc/mesos/ssl-enabled"}}, "LIBPROCESS_SSL_ENABLED"},
      {{{"LIBPROCESS_SSL_CERT_FILE", "file:///root/secret"}}, "LIBPROCESS_SSL_CERT_FILE"},
      // Both forms of one flag: libprocess refuses a flag loaded twice.
      {{{"LIBPROCESS_SSL_VERIFY_IPADD", "true"}, {"SSL_NO-VERIFY_IPADD", ""}}, "SSL_NO-VERIFY_IPADD"},
      // Once TLS is on.
      {tls_on({{"LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME", "OpenSSL"}}), "LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME"},
      {tls_on({{"SSL_HOSTNAME_VALIDATION_SCHEME", "strict"}}), "SSL_HOSTNAME_VALIDATION_SCHEME"},
      {{{"LIBPROCESS_SSL_ENABLED", "1"}, {"LIBPROCESS_SSL_CERT_FILE", "/c.pem"}}, "LIBPROCESS_SSL_KEY_FILE"},
      {{{"LIBPROCESS_SSL_ENABLED", "1"}, {"LIBPROCESS_SSL_KEY_FILE", "/k.pem"}}, "LIBPROCESS_SSL_CERT_FILE"},
      {{{"SSL_ENABLED", "1"}, {"SSL_KEY_FILE", "/k.pem"}}, "SSL_ENABLED"},
      {tls_on({{"LIBPROCESS_SSL_KEY_FILE", ""}}), "LIBPROCESS_SSL_KEY_FILE"},
      {tls_on({{"LIBPROCESS_SSL_VERIFY_SERVER_CERT", "1"}, {"LIBPROCESS_SSL_CA_FILE", ""}}), "LIBPROCESS_SSL_CA_FILE"},
      {tls_on({{"LIBPROCESS_SSL_VERIFY_SERVER_CERT", "1"}, {"SSL_CA_DIR", ""}}), "SSL_CA_DIR"},
      {tls_on({{"LIBPROCESS_SSL_CIPHERS", ""}}), "LIBPROCESS_SSL_CIPHERS"},
      {tls_on({{"LIBPROCESS_SSL_ENABLE_TLS_V1_2", "false"}}), "LIBPROCESS_SSL_ENABLE_TLS_V1_2"},
  };
  for (const auto& [vars, name] : bad) {
    std::string shown;
    for (const auto& [k, v] : vars) shown += k + "=" + v + " ";
    INFO(shown);
    CHECK_THAT(tls_error(vars), Catch::Contains(name));
    // load_agent_env stops on the same error.
    auto env = base();
    for (const auto& [k, v] : vars) env[k] = v;
    auto e = load_agent_env(util::map_env(env));
    REQUIRE_FALSE(e);
    CHECK_THAT(e.error().message, Catch::Contains(name));
  }
  // While TLS is off, libprocess checks neither the scheme nor the certificate.
  CHECK_FALSE(tls_of({{"LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME", "strict"}}).enabled);
  CHECK_FALSE(tls_of({{"LIBPROCESS_SSL_CA_FILE", ""}}).enabled);
  // Without verification the CA settings are not used, so an empty one is no error.
  CHECK(tls_of(tls_on({{"LIBPROCESS_SSL_CA_FILE", ""}})).enabled);
  // A control character in a value is shown escaped, never raw.
  CHECK_THAT(tls_error(tls_on({{"LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME", "legacy\r\nX: 1"}})),
             Catch::Contains("legacy\\x0d\\x0aX: 1"));
}
