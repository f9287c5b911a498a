// Parsing of the executor environment set by the Mesos agent (src/slave/slave.cpp executorEnvironment).
#include "mesos/agent_env.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <variant>

#include "util/http_safe.h"
#include "util/values.h"

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

// ---- LIBPROCESS_SSL_* as libprocess reads them (3rdparty/libprocess/src/openssl.cpp, reinitialize; the
// parsing is stout's, 3rdparty/stout/include/stout/flags/flags.hpp and parse.hpp).

// Every flag libprocess' openssl::Flags declares, and stout's own "help": libprocess loads them all
// from the environment and stops at any bad value, whether or not TLS is on.
struct TlsFlags {
  bool help = false;
  bool enabled = false;
  bool support_downgrade = false;  // server side only; read so that a bad value fails as in libprocess
  std::optional<std::string> cert_file;
  std::optional<std::string> key_file;
  bool verify_cert = false;
  bool verify_server_cert = false;
  bool require_cert = false;
  bool require_client_cert = false;
  bool verify_ipadd = false;
  int verification_depth = 4;
  std::optional<std::string> ca_dir;
  std::optional<std::string> ca_file;
  std::optional<std::string> ciphers;
  std::string ecdh_curves = "auto";
  std::string hostname_validation_scheme = "legacy";
  bool enable_ssl_v3 = false;
  bool enable_tls_v1_0 = false;
  bool enable_tls_v1_1 = false;
  bool enable_tls_v1_2 = true;
  bool enable_tls_v1_3 = false;
};

using TlsField =
    std::variant<bool TlsFlags::*, int TlsFlags::*, std::string TlsFlags::*, std::optional<std::string> TlsFlags::*>;
struct TlsFlagDef {
  const char* name;
  TlsField field;
};

const TlsFlagDef kTlsFlags[] = {
    {"help", &TlsFlags::help},
    {"enabled", &TlsFlags::enabled},
    {"support_downgrade", &TlsFlags::support_downgrade},
    {"cert_file", &TlsFlags::cert_file},
    {"key_file", &TlsFlags::key_file},
    {"verify_cert", &TlsFlags::verify_cert},
    {"verify_server_cert", &TlsFlags::verify_server_cert},
    {"require_cert", &TlsFlags::require_cert},
    {"require_client_cert", &TlsFlags::require_client_cert},
    {"verify_ipadd", &TlsFlags::verify_ipadd},
    {"verification_depth", &TlsFlags::verification_depth},
    {"ca_dir", &TlsFlags::ca_dir},
    {"ca_file", &TlsFlags::ca_file},
    {"ciphers", &TlsFlags::ciphers},
    {"ecdh_curves", &TlsFlags::ecdh_curves},
    {"hostname_validation_scheme", &TlsFlags::hostname_validation_scheme},
    {"enable_ssl_v3", &TlsFlags::enable_ssl_v3},
    {"enable_tls_v1_0", &TlsFlags::enable_tls_v1_0},
    {"enable_tls_v1_1", &TlsFlags::enable_tls_v1_1},
    {"enable_tls_v1_2", &TlsFlags::enable_tls_v1_2},
    {"enable_tls_v1_3", &TlsFlags::enable_tls_v1_3},
};

constexpr std::string_view kNo = "no-";

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

struct GivenFlag {
  std::string variable;
  std::string value;
};

// stout's FlagsBase::extract for one prefix: PREFIX_NAME or PREFIX_name (the rest of the name is
// lower-cased), and "no-" before a flag's name. With both spellings set the lower-case one wins: stout
// walks the environment in sorted order and a later entry overwrites. Only these two spellings are
// looked up (not e.g. PREFIX_Name).
void extract_tls_flags(const util::EnvLookup& env, const std::string& prefix, std::map<std::string, GivenFlag>& out) {
  for (const auto& def : kTlsFlags) {
    for (const std::string& key : {std::string(def.name), std::string(kNo) + def.name}) {
      for (const std::string& variable : {prefix + upper(key), prefix + key}) {
        if (auto value = env(variable)) out[key] = GivenFlag{variable, *value};
      }
    }
  }
}

util::Error tls_value_error(const GivenFlag& given, std::string_view why) {
  return make_error(fmt::format("{}=\"{}\": {}", given.variable, util::escape_control_chars(given.value), why));
}

// stout's parse<bool>: exactly true/1/false/0.
util::Result<bool> parse_libprocess_bool(const GivenFlag& given) {
  if (given.value == "true" || given.value == "1") return true;
  if (given.value == "false" || given.value == "0") return false;
  return tls_value_error(given, "expected true, false, 1 or 0 (libprocess accepts no other spelling)");
}

util::Result<int> parse_depth(const GivenFlag& given) {
  int depth = 0;
  const auto* end = given.value.data() + given.value.size();
  auto [ptr, ec] = std::from_chars(given.value.data(), end, depth);
  if (given.value.empty() || ec != std::errc() || ptr != end || depth < 0) {
    return tls_value_error(given, "expected a whole number of certificates (e.g. 4)");
  }
  return depth;
}

// One flag's value into `flags`, as stout's FlagsBase::load does: a boolean given without a value is
// true ("no-" form: false), "no-" takes no value and exists only for booleans.
util::Result<void> load_tls_flag(TlsFlags& flags, const TlsFlagDef& def, bool negated, const GivenFlag& given) {
  // stout would read the value from that file; this executor runs as root, beside whoever chose the
  // value, so it never opens a file because an environment variable says so.
  if (given.value.rfind("file://", 0) == 0) {
    return tls_value_error(given,
                           "file:// values (read from a file by libprocess) are not supported: give the value itself");
  }
  if (const auto* flag = std::get_if<bool TlsFlags::*>(&def.field)) {
    if (given.value.empty()) {
      flags.*(*flag) = !negated;
      return {};
    }
    if (negated) return tls_value_error(given, "a \"no-\" flag takes no value");
    auto b = parse_libprocess_bool(given);
    if (!b) return b.error();
    flags.*(*flag) = *b;
    return {};
  }
  if (negated) return tls_value_error(given, "only a true/false flag can be negated with \"no-\"");
  if (const auto* flag = std::get_if<int TlsFlags::*>(&def.field)) {
    auto depth = parse_depth(given);
    if (!depth) return depth.error();
    flags.*(*flag) = *depth;
  } else if (const auto* text = std::get_if<std::string TlsFlags::*>(&def.field)) {
    flags.*(*text) = given.value;
  } else {
    flags.*std::get<std::optional<std::string> TlsFlags::*>(def.field) = given.value;
  }
  return {};
}

const TlsFlagDef& tls_flag_def(std::string_view name) {
  return *std::find_if(std::begin(kTlsFlags), std::end(kTlsFlags), [&](const TlsFlagDef& d) { return name == d.name; });
}

// libprocess' checks once TLS is on (openssl.cpp, reinitialize), in its order, plus refusals of
// values that could only fail later (an empty path, no protocol version left).
util::Result<void> check_enabled_tls(TlsFlags& f, const AgentTls& names) {
  // The old names can only switch a check on; the client verifies whenever it must present a
  // certificate to a server that requires one.
  if (f.verify_cert) f.verify_server_cert = true;
  if (f.require_cert) f.require_client_cert = true;
  for (const auto& [flag, value] : {std::pair{"key_file", &f.key_file}, std::pair{"cert_file", &f.cert_file}}) {
    if (!value->has_value()) {
      return make_error(
          fmt::format("{} is on but {} is not set: libprocess, and so every Mesos executor, needs a "
                      "certificate and its key even to connect to the agent",
                      names.variable("enabled"), names.variable(flag)));
    }
    if ((*value)->empty()) return make_error(fmt::format("{} is empty", names.variable(flag)));
  }
  if (f.require_client_cert) f.verify_server_cert = true;
  if (f.hostname_validation_scheme != "legacy" && f.hostname_validation_scheme != "openssl") {
    return make_error(fmt::format("{}=\"{}\": expected legacy or openssl", names.variable("hostname_validation_scheme"),
                                  util::escape_control_chars(f.hostname_validation_scheme)));
  }
  if (f.verify_server_cert) {
    for (const auto& [flag, value] : {std::pair{"ca_file", &f.ca_file}, std::pair{"ca_dir", &f.ca_dir}}) {
      if (value->has_value() && (*value)->empty()) {
        return make_error(fmt::format("{} is empty (unset it to use OpenSSL's default CAs)", names.variable(flag)));
      }
    }
  }
  if (f.ciphers && f.ciphers->empty()) {
    return make_error(fmt::format("{} is empty (unset it for OpenSSL's default ciphers)", names.variable("ciphers")));
  }
  if (!f.enable_tls_v1_0 && !f.enable_tls_v1_1 && !f.enable_tls_v1_2 && !f.enable_tls_v1_3) {
    return make_error(fmt::format("every TLS version is disabled ({}, {}, {}, {})", names.variable("enable_tls_v1_0"),
                                  names.variable("enable_tls_v1_1"), names.variable("enable_tls_v1_2"),
                                  names.variable("enable_tls_v1_3")));
  }
  return {};
}

AgentTls to_agent_tls(const TlsFlags& f, std::map<std::string, std::string> set_by) {
  AgentTls t;
  t.enabled = f.enabled;
  t.cert_file = f.cert_file.value_or("");
  t.key_file = f.key_file.value_or("");
  t.ca_file = f.ca_file.value_or("");
  t.ca_dir = f.ca_dir.value_or("");
  t.verify_server_cert = f.verify_server_cert;
  t.require_client_cert = f.require_client_cert;
  t.verify_ipadd = f.verify_ipadd;
  t.hostname_validation =
      f.hostname_validation_scheme == "openssl" ? HostnameValidation::kOpenssl : HostnameValidation::kLegacy;
  t.verification_depth = f.verification_depth;
  t.ciphers = f.ciphers.value_or("");
  t.ecdh_curves = f.ecdh_curves;
  t.enable_ssl_v3 = f.enable_ssl_v3;
  t.enable_tls_v1_0 = f.enable_tls_v1_0;
  t.enable_tls_v1_1 = f.enable_tls_v1_1;
  t.enable_tls_v1_2 = f.enable_tls_v1_2;
  t.enable_tls_v1_3 = f.enable_tls_v1_3;
  t.set_by = std::move(set_by);
  return t;
}

}  // namespace

std::string AgentEnv::endpoint() const {
  if (agent_host.find(':') != std::string::npos) return fmt::format("[{}]:{}", agent_host, agent_port);
  return fmt::format("{}:{}", agent_host, agent_port);
}

std::string AgentEnv::base_url() const { return fmt::format("{}://{}", tls.enabled ? "https" : "http", endpoint()); }

std::string AgentTls::variable(const std::string& flag) const {
  if (auto it = set_by.find(flag); it != set_by.end()) return it->second;
  return "LIBPROCESS_SSL_" + upper(flag);
}

util::Result<AgentTls> load_agent_tls(const util::EnvLookup& env) {
  // Both prefixes are read; a LIBPROCESS_SSL_ entry wins over the SSL_ one for the same name
  // (reinitialize inserts the SSL_ entries into the map of LIBPROCESS_SSL_ ones, which keeps existing keys).
  std::map<std::string, GivenFlag> given;
  extract_tls_flags(env, "LIBPROCESS_SSL_", given);
  std::map<std::string, GivenFlag> legacy;
  extract_tls_flags(env, "SSL_", legacy);
  given.insert(legacy.begin(), legacy.end());

  TlsFlags flags;
  std::map<std::string, std::string> set_by;
  for (const auto& [key, value] : given) {
    const bool negated = key.rfind(kNo, 0) == 0;
    const std::string name = negated ? key.substr(kNo.size()) : key;
    if (auto [it, fresh] = set_by.emplace(name, value.variable); !fresh) {
      return make_error(
          fmt::format("{} and {} both set libprocess' {} flag: keep one", it->second, value.variable, name));
    }
    if (auto r = load_tls_flag(flags, tls_flag_def(name), negated, value); !r) return r.error();
  }
  AgentTls names;
  names.set_by = set_by;
  if (flags.enabled) {
    if (auto r = check_enabled_tls(flags, names); !r) return r.error();
  }
  return to_agent_tls(flags, std::move(set_by));
}

util::Result<AgentEnv> load_agent_env(const util::EnvLookup& env) {
  AgentEnv out;
  auto required = [&](const char* name, std::string& field) -> util::Result<void> {
    auto v = env(name);
    if (!v || v->empty()) {
      return make_error(
          fmt::format("{} is not set: sidecar-executor must be started by a Mesos agent "
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
    auto b = util::parse_go_bool(*v);
    if (!b) return make_error(fmt::format("{}=\"{}\": {}", name, *v, b.error().message));
    field = *b;
    return {};
  };
  if (auto r = flag("MESOS_CHECKPOINT", out.checkpoint); !r) return r.error();

  auto duration = [&](const char* name, util::Duration& field) -> util::Result<void> {
    auto v = env(name);
    if (!v || v->empty()) return {};
    auto d = util::parse_mesos_duration(*v);
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

  auto tls = load_agent_tls(env);
  if (!tls) return tls.error();
  out.tls = std::move(*tls);
  return out;
}

}  // namespace mesos
