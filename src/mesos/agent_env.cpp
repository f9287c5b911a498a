// Parsing of the executor environment set by the Mesos agent (src/slave/slave.cpp executorEnvironment).
#include "mesos/agent_env.h"

#include <fmt/format.h>

#include <charconv>

#include "settings/settings.h"
#include "util/http_safe.h"

namespace mesos {
namespace {

using util::make_error;

util::Result<void> parse_endpoint(const std::string& text, AgentEnv& out) {
  const auto bad = [&] {
    return make_error(fmt::format("MESOS_AGENT_ENDPOINT=\"{}\": expected host:port (e.g. 10.0.0.5:5051)", text));
  };
  std::string host;
  std::string_view port;
  if (!text.empty() && text[0] == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') return bad();
    host = text.substr(1, close - 1);
    port = std::string_view(text).substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) return bad();
    host = text.substr(0, colon);
    port = std::string_view(text).substr(colon + 1);
  }
  int p = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || ptr != port.data() + port.size() || p < 1 || p > 65535 || host.empty()) return bad();
  out.agent_host = host;
  out.agent_port = p;
  return {};
}

}  // namespace

std::string AgentEnv::endpoint() const {
  if (agent_host.find(':') != std::string::npos) return fmt::format("[{}]:{}", agent_host, agent_port);
  return fmt::format("{}:{}", agent_host, agent_port);
}

std::string AgentEnv::base_url() const { return fmt::format("{}://{}", tls.enabled ? "https" : "http", endpoint()); }

util::Result<AgentEnv> load_agent_env(const util::EnvLookup& env) {
  AgentEnv out;
  auto required = [&](const char* name, std::string& field) -> util::Result<void> {
    auto v = env(name);
    if (!v || v->empty()) {
      return make_error(fmt::format("{} is not set: sidecar-executor must be started by a Mesos agent "
                                    "(or tools/local-agent)",
                                    name));
    }
    field = *v;
    return {};
  };
  if (auto r = required("MESOS_FRAMEWORK_ID", out.framework_id); !r) return r.error();
  if (auto r = required("MESOS_EXECUTOR_ID", out.executor_id); !r) return r.error();
  std::string endpoint;
  if (auto r = required("MESOS_AGENT_ENDPOINT", endpoint); !r) return r.error();
  if (auto r = parse_endpoint(endpoint, out); !r) return r.error();

  out.agent_id = env("MESOS_SLAVE_ID").value_or("");
  out.directory = env("MESOS_DIRECTORY").value_or("");
  out.sandbox = env("MESOS_SANDBOX").value_or(out.directory);

  auto flag = [&](const char* name, bool& field) -> util::Result<void> {
    auto v = env(name);
    if (!v || v->empty()) return {};
    auto b = settings::parse_go_bool(*v);
    if (!b) return make_error(fmt::format("{}=\"{}\": {}", name, *v, b.error().message));
    field = *b;
    return {};
  };
  if (auto r = flag("MESOS_CHECKPOINT", out.checkpoint); !r) return r.error();

  auto duration = [&](const char* name, settings::Duration& field) -> util::Result<void> {
    auto v = env(name);
    if (!v || v->empty()) return {};
    auto d = settings::parse_mesos_duration(*v);
    if (!d) return make_error(fmt::format("{}: {}", name, d.error().message));
    field = *d;
    return {};
  };
  if (auto r = duration("MESOS_RECOVERY_TIMEOUT", out.recovery_timeout); !r) return r.error();
  if (auto r = duration("MESOS_SUBSCRIPTION_BACKOFF_MAX", out.subscription_backoff_max); !r) return r.error();
  if (auto r = duration("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", out.shutdown_grace_period); !r) return r.error();

  if (auto token = env(kAuthTokenVar); token && !token->empty()) {
    // It becomes a header value: refused, never echoed, if it could end the header.
    if (auto ok = util::check_http_text(kAuthTokenVar, *token, false); !ok) return ok.error();
    out.auth_token = *token;
  }

  if (auto r = flag("LIBPROCESS_SSL_ENABLED", out.tls.enabled); !r) return r.error();
  if (auto r = flag("LIBPROCESS_SSL_VERIFY_CERT", out.tls.verify_cert); !r) return r.error();
  out.tls.cert_file = env("LIBPROCESS_SSL_CERT_FILE").value_or("");
  out.tls.key_file = env("LIBPROCESS_SSL_KEY_FILE").value_or("");
  out.tls.ca_file = env("LIBPROCESS_SSL_CA_FILE").value_or("");
  out.tls.ca_dir = env("LIBPROCESS_SSL_CA_DIR").value_or("");
  return out;
}

}  // namespace mesos
