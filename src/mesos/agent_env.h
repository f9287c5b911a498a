// The MESOS_* (and LIBPROCESS_SSL_*) environment the agent gives an executor, parsed once.
#pragma once

#include <optional>
#include <string>

#include "settings/duration.h"
#include "util/env.h"
#include "util/result.h"

namespace mesos {

struct AgentTls {
  bool enabled = false;
  std::string cert_file;
  std::string key_file;
  std::string ca_file;
  std::string ca_dir;
  bool verify_cert = false;
};

struct AgentEnv {
  std::string framework_id;
  std::string executor_id;
  std::string agent_host;  // from MESOS_AGENT_ENDPOINT, brackets removed for IPv6
  int agent_port = 0;
  std::string agent_id;     // MESOS_SLAVE_ID, informational
  std::string directory;    // MESOS_DIRECTORY
  std::string sandbox;      // MESOS_SANDBOX, defaults to the directory
  bool checkpoint = false;
  settings::Duration recovery_timeout = std::chrono::minutes(15);
  settings::Duration subscription_backoff_max = std::chrono::seconds(2);
  settings::Duration shutdown_grace_period = std::chrono::seconds(5);
  std::optional<std::string> auth_token;  // never logged, never passed on
  AgentTls tls;

  std::string endpoint() const;  // host:port as given
  std::string base_url() const;  // http(s)://host:port
};

// Names of the variables that must never be printed or passed to a container.
inline constexpr const char* kAuthTokenVar = "MESOS_EXECUTOR_AUTHENTICATION_TOKEN";

util::Result<AgentEnv> load_agent_env(const util::EnvLookup& env);

}  // namespace mesos
