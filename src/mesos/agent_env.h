// The MESOS_* (and LIBPROCESS_SSL_*) environment the agent gives an executor, parsed once.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "util/env.h"
#include "util/result.h"
#include "util/values.h"

namespace mesos {

// How the server certificate's name is checked (libprocess LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME).
enum class HostnameValidation {
  kLegacy,   // libprocess' own check after the handshake, against the reverse-DNS name of the agent's IP
  kOpenssl,  // OpenSSL's check during the handshake, against the endpoint's name or (VERIFY_IPADD) its IP
};

// The LIBPROCESS_SSL_* settings (legacy prefix SSL_) as libprocess reads them; libprocess' flag name in
// brackets. Only `enabled` matters while TLS is off; the rest is checked and used once it is on.
struct AgentTls {
  bool enabled = false;              // https to the agent [enabled]
  std::string cert_file;             // client certificate chain, PEM; required when enabled [cert_file]
  std::string key_file;              // its private key, PEM, unencrypted; required when enabled [key_file]
  std::string ca_file;               // trusted CAs, PEM [ca_file]
  std::string ca_dir;                // trusted CAs, hashed folder [ca_dir]; neither: OpenSSL's default paths
  bool verify_server_cert = false;   // [verify_server_cert], old [verify_cert]; implied by require_client_cert
  bool require_client_cert = false;  // [require_client_cert], old [require_cert]; a server setting in
                                     // libprocess that also makes a client verify, and makes the legacy
                                     // check refuse a server whose name is unknown
  bool verify_ipadd = false;         // also match IP addresses in subjectAltName [verify_ipadd]
  // [hostname_validation_scheme]
  HostnameValidation hostname_validation = HostnameValidation::kLegacy;
  int verification_depth = 4;        // longest accepted chain [verification_depth]
  std::string ciphers;               // TLS <= 1.2 cipher list if set; empty: OpenSSL's defaults [ciphers]
  std::string ecdh_curves = "auto";  // [ecdh_curves]
  bool enable_ssl_v3 = false;        // protocol versions offered [enable_ssl_v3], [enable_tls_v1_0], ...
  bool enable_tls_v1_0 = false;
  bool enable_tls_v1_1 = false;
  bool enable_tls_v1_2 = true;
  bool enable_tls_v1_3 = false;
  // libprocess flag name -> the variable that set it (e.g. "key_file" -> "SSL_KEY_FILE"), for messages.
  std::map<std::string, std::string> set_by;

  // The variable that set `flag`, else its LIBPROCESS_SSL_ name.
  std::string variable(const std::string& flag) const;
};

struct AgentEnv {
  std::string framework_id;
  std::string executor_id;
  std::string agent_host;  // from MESOS_AGENT_ENDPOINT, brackets removed for IPv6
  int agent_port = 0;
  std::string agent_id;   // MESOS_SLAVE_ID, informational
  std::string directory;  // MESOS_DIRECTORY
  std::string sandbox;    // MESOS_SANDBOX, defaults to the directory
  bool checkpoint = false;
  util::Duration recovery_timeout = std::chrono::minutes(15);
  util::Duration subscription_backoff_max = std::chrono::seconds(2);
  util::Duration shutdown_grace_period = std::chrono::seconds(5);
  std::optional<std::string> auth_token;  // never logged, never passed on
  AgentTls tls;

  std::string endpoint() const;  // host:port as given
  std::string base_url() const;  // http(s)://host:port
};

// Names of the variables that must never be printed or passed to a container.
inline constexpr const char* kAuthTokenVar = "MESOS_EXECUTOR_AUTHENTICATION_TOKEN";

util::Result<AgentEnv> load_agent_env(const util::EnvLookup& env);

// The LIBPROCESS_SSL_* / SSL_* part alone (load_agent_env calls it): a bad value of any libprocess SSL
// flag is an error naming the variable, as it stops libprocess; once TLS is on, so is a missing
// certificate or key and an unknown hostname validation scheme.
util::Result<AgentTls> load_agent_tls(const util::EnvLookup& env);

}  // namespace mesos
