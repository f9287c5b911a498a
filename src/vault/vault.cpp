// Vault client, token rules, secret references, AWS credentials.
#include "vault/vault.h"

#include <fmt/format.h>
#include <httplib.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

#include "settings/duration.h"
#include "settings/settings.h"

namespace vault {

namespace {

std::string getenv_or(const util::EnvLookup& env, const char* name, std::string def = "") {
  auto v = env(name);
  return v && !v->empty() ? *v : def;
}

// Typed member access that never throws: nullptr when absent or of another type.
const nlohmann::json* member(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}
const std::string* string_member(const nlohmann::json& j, const char* key) {
  const auto* m = member(j, key);
  return m && m->is_string() ? m->get_ptr<const std::string*>() : nullptr;
}
const nlohmann::json* object_member(const nlohmann::json& j, const char* key) {
  const auto* m = member(j, key);
  return m && m->is_object() ? m : nullptr;
}
std::optional<long long> integer_member(const nlohmann::json& j, const char* key) {
  const auto* m = member(j, key);
  if (!m) return std::nullopt;
  if (m->is_number_integer()) return m->get<long long>();
  if (m->is_number_unsigned()) {
    const auto u = m->get<unsigned long long>();
    return u > static_cast<unsigned long long>(std::numeric_limits<long long>::max()) ? std::nullopt
                                                                                      : std::optional<long long>(static_cast<long long>(u));
  }
  return std::nullopt;
}

std::string joined_errors(const nlohmann::json& body) {
  if (!body.is_object() || !body.contains("errors") || !body["errors"].is_array()) return "";
  std::string out;
  for (const auto& e : body["errors"]) {
    if (e.is_string()) out += (out.empty() ? "" : "; ") + e.get<std::string>();
  }
  return out;
}

std::string describe(const Response& r) {
  return r.errors.empty() ? fmt::format("HTTP {}", r.status) : fmt::format("HTTP {}: {}", r.status, r.errors);
}

}  // namespace

util::Result<Config> config_from_env(const util::EnvLookup& env) {
  Config c;
  c.addr = getenv_or(env, "VAULT_ADDR", c.addr);
  while (!c.addr.empty() && c.addr.back() == '/') c.addr.pop_back();
  if (c.addr.rfind("http://", 0) != 0 && c.addr.rfind("https://", 0) != 0) {
    return util::make_error(fmt::format("VAULT_ADDR=\"{}\": not an http(s) address", c.addr));
  }
  c.token = getenv_or(env, "VAULT_TOKEN");
  c.ca_cert = getenv_or(env, "VAULT_CACERT");
  c.ca_path = getenv_or(env, "VAULT_CAPATH");
  c.client_cert = getenv_or(env, "VAULT_CLIENT_CERT");
  c.client_key = getenv_or(env, "VAULT_CLIENT_KEY");
  if (auto v = getenv_or(env, "VAULT_SKIP_VERIFY"); !v.empty()) {
    auto b = settings::parse_go_bool(v);
    if (!b) return util::make_error(fmt::format("VAULT_SKIP_VERIFY=\"{}\": not a boolean", v));
    c.skip_verify = *b;
  }
  c.tls_server_name = getenv_or(env, "VAULT_TLS_SERVER_NAME");
  c.namespace_ = getenv_or(env, "VAULT_NAMESPACE");
  if (auto v = getenv_or(env, "VAULT_MAX_RETRIES"); !v.empty()) {
    char* end = nullptr;
    const long n = std::strtol(v.c_str(), &end, 10);
    if (*end != '\0' || n < 0 || n > 100) return util::make_error(fmt::format("VAULT_MAX_RETRIES=\"{}\": not a count", v));
    c.max_retries = static_cast<int>(n);
  }
  if (auto v = getenv_or(env, "VAULT_CLIENT_TIMEOUT"); !v.empty()) {
    char* end = nullptr;
    const long secs = std::strtol(v.c_str(), &end, 10);
    if (*end == '\0' && secs > 0) {
      c.client_timeout = std::chrono::seconds(secs);
    } else {
      auto d = settings::parse_go_duration(v);
      if (!d || d->count() <= 0) return util::make_error(fmt::format("VAULT_CLIENT_TIMEOUT=\"{}\": not a duration", v));
      c.client_timeout = *d;
    }
  }
  c.token_file = getenv_or(env, "VAULT_TOKEN_FILE");
  if (auto v = getenv_or(env, "VAULT_TTL"); !v.empty()) {
    char* end = nullptr;
    const long n = std::strtol(v.c_str(), &end, 10);
    if (*end != '\0' || n <= 0) return util::make_error(fmt::format("VAULT_TTL=\"{}\": not a number of seconds", v));
    c.ttl_s = n;
  }
  c.username = getenv_or(env, "VAULT_USERNAME");
  c.password = getenv_or(env, "VAULT_PASSWORD");
  return c;
}

struct Client::Http {
  std::unique_ptr<httplib::Client> cli;
};

Client::Client(Config cfg) : cfg_(std::move(cfg)), http_(std::make_unique<Http>()) {
  if (!cfg_.client_cert.empty()) {
    http_->cli = std::make_unique<httplib::Client>(cfg_.addr, cfg_.client_cert, cfg_.client_key);
  } else {
    http_->cli = std::make_unique<httplib::Client>(cfg_.addr);
  }
  auto& c = *http_->cli;
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(cfg_.client_timeout).count();
  const time_t sec = static_cast<time_t>(us / 1000000);
  const time_t usec = static_cast<time_t>(us % 1000000);
  c.set_connection_timeout(sec, usec);
  c.set_read_timeout(sec, usec);
  c.set_write_timeout(sec, usec);
  if (cfg_.addr.rfind("https://", 0) == 0) {
    c.enable_server_certificate_verification(!cfg_.skip_verify);
    if (!cfg_.ca_cert.empty() || !cfg_.ca_path.empty()) c.set_ca_cert_path(cfg_.ca_cert.c_str(), cfg_.ca_path.c_str());
  }
}

Client::~Client() = default;

util::Result<Response> Client::call(const std::string& method, const std::string& path, const nlohmann::json& body,
                                    const std::string& token) {
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("X-Vault-Token", token);
  if (!cfg_.namespace_.empty()) headers.emplace("X-Vault-Namespace", cfg_.namespace_);
  const std::string payload = body.is_null() ? "" : body.dump();
  // The user name is a credential too: never in a message.
  std::string shown = path;
  if (auto at = shown.find("/auth/userpass/login/"); at != std::string::npos) {
    shown = shown.substr(0, at) + "/auth/userpass/login/<VAULT_USERNAME>";
  }
  std::string last;
  auto backoff = backoff_;
  for (int attempt = 0; attempt <= cfg_.max_retries; ++attempt) {
    if (attempt > 0) {
      std::this_thread::sleep_for(backoff);
      backoff *= 2;
    }
    httplib::Result res{nullptr, httplib::Error::Unknown};
    if (method == "GET") {
      res = http_->cli->Get(path.c_str(), headers);
    } else if (method == "POST") {
      res = http_->cli->Post(path.c_str(), headers, payload, "application/json");
    } else if (method == "PUT") {
      res = http_->cli->Put(path.c_str(), headers, payload, "application/json");
    } else {
      return util::make_error(fmt::format("unsupported method {}", method));
    }
    if (!res) {
      last = fmt::format("{} {}{}: {}", method, cfg_.addr, shown, httplib::to_string(res.error()));
      continue;
    }
    if (res->status == 412 || res->status == 429 || res->status >= 500) {
      auto j = nlohmann::json::parse(res->body, nullptr, false);
      last = fmt::format("{} {}: HTTP {}{}", method, shown, res->status,
                         j.is_discarded() ? "" : ": " + joined_errors(j));
      if (attempt < cfg_.max_retries) continue;
    }
    return response_from(res->status, res->body);
  }
  return util::make_error(last);
}

Response response_from(int status, std::string_view body) {
  Response out;
  out.status = status;
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_discarded()) out.body = std::move(j);
  out.errors = joined_errors(out.body);
  return out;
}

std::optional<std::string> kv2_read_path(const Response& mount_answer, const std::string& path) {
  if (mount_answer.status != 200) return std::nullopt;
  const auto* d = object_member(mount_answer.body, "data");
  if (!d) return std::nullopt;
  const auto* options = object_member(*d, "options");
  const auto* version = options ? string_member(*options, "version") : nullptr;
  const auto* mount = string_member(*d, "path");
  if (!version || *version != "2" || !mount) return std::nullopt;
  std::string mount_path = *mount;
  if (!mount_path.empty() && mount_path.back() != '/') mount_path += '/';
  if (path.rfind(mount_path, 0) != 0) return std::nullopt;
  return mount_path + "data/" + path.substr(mount_path.size());
}

util::Result<std::string> secret_from_answer(const Response& r, const Reference& ref, bool v2) {
  if (r.status == 403) {
    return util::make_error(fmt::format("permission denied reading '{}' ({})", ref.path, describe(r)));
  }
  if (r.status != 200) return util::make_error(fmt::format("Path '{}' not found ({})", ref.path, describe(r)));
  const nlohmann::json* data = object_member(r.body, "data");
  // The answer's shape tells v2 too (a mount we could not ask about).
  if (data && object_member(*data, "data") && member(*data, "metadata")) {
    v2 = true;
    data = object_member(*data, "data");
  }
  const std::string* value = data ? string_member(*data, ref.key.c_str()) : nullptr;
  if (!value) {
    return util::make_error(fmt::format("Value for path '{}' not found (no string field '{}'{})", ref.path, ref.key,
                                        v2 ? ", KV v2" : ""));
  }
  return *value;
}

util::Result<std::string> token_from_login(const Response& r) {
  if (r.status != 200) return util::make_error(describe(r));
  const auto* auth = object_member(r.body, "auth");
  const auto* token = auth ? string_member(*auth, "client_token") : nullptr;
  if (!token || token->empty()) return util::make_error("the answer has no auth.client_token");
  return *token;
}

util::Result<AwsCredentials> aws_from_answer(const Response& r) {
  if (r.status != 200) return util::make_error(describe(r));
  const auto* d = object_member(r.body, "data");
  const auto* access = d ? string_member(*d, "access_key") : nullptr;
  const auto* secret = d ? string_member(*d, "secret_key") : nullptr;
  if (!access || !secret) return util::make_error("the answer has no access_key/secret_key");
  AwsCredentials out;
  out.access_key = *access;
  out.secret_key = *secret;
  if (const auto* t = string_member(*d, "security_token")) out.session_token = *t;
  if (const auto* l = string_member(r.body, "lease_id")) out.lease_id = *l;
  out.lease_duration = lease_duration_of(r).value_or(Duration{0});
  return out;
}

std::optional<Duration> lease_duration_of(const Response& r) {
  const auto v = integer_member(r.body, "lease_duration");
  // Anything beyond ten years is nonsense: treated as absent.
  if (!v || *v < 0 || *v > 10LL * 365 * 24 * 3600) return std::nullopt;
  return std::chrono::seconds(*v);
}

util::Result<Token> obtain_token(Client& client) {
  const Config& c = client.config();
  if (!c.token.empty()) return Token{c.token, "VAULT_TOKEN"};
  if (!c.token_file.empty()) {
    struct stat st {};
    if (::stat(c.token_file.c_str(), &st) == 0) {
      const auto mtime = std::chrono::system_clock::from_time_t(st.st_mtime);
      const auto young_after = std::chrono::system_clock::now() - std::chrono::seconds(c.ttl_s - 3600);
      if (mtime > young_after) {
        std::ifstream f(c.token_file);
        std::stringstream ss;
        ss << f.rdbuf();
        std::string t = ss.str();
        while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
        if (!t.empty()) {
          auto r = client.call("GET", "/v1/auth/token/lookup-self", nullptr, t);
          if (r && r->status == 200) return Token{t, fmt::format("the cached token in {}", c.token_file)};
          spdlog::info("the cached Vault token in {} is not valid any more ({}): logging in", c.token_file,
                       r ? describe(*r) : r.error().message);
        }
      } else {
        spdlog::info("the cached Vault token in {} is too old: logging in", c.token_file);
      }
    }
  }
  if (c.username.empty() || c.password.empty()) {
    return util::make_error("no Vault token: Must set VAULT_USERNAME and VAULT_PASSWORD (or VAULT_TOKEN)");
  }
  auto login = client.call("POST", "/v1/auth/userpass/login/" + c.username, {{"password", c.password}}, "");
  if (!login) return util::make_error(fmt::format("Vault login: {}", login.error().message));
  if (login->status != 200) return util::make_error(fmt::format("Vault userpass login: {}", describe(*login)));
  auto token = token_from_login(*login);
  if (!token) return util::make_error(fmt::format("Vault login: {}", token.error().message));
  Token t{*token, "a userpass login"};
  auto renew = client.call("POST", "/v1/auth/token/renew", {{"token", t.value}, {"increment", c.ttl_s}}, t.value);
  if (!renew || renew->status != 200) {
    spdlog::warn("could not renew the new Vault token to {} s: {}", c.ttl_s, renew ? describe(*renew) : renew.error().message);
  }
  if (!c.token_file.empty()) {
    const std::string tmp = c.token_file + ".tmp";
    std::FILE* f = std::fopen(tmp.c_str(), "w");
    bool ok = f != nullptr;
    if (f) {
      ::fchmod(fileno(f), 0600);
      ok = std::fputs(t.value.c_str(), f) >= 0;
      ok = std::fclose(f) == 0 && ok;
    }
    if (ok) ok = std::rename(tmp.c_str(), c.token_file.c_str()) == 0;
    if (!ok) {
      spdlog::warn("could not write the Vault token file {}: {}", c.token_file, std::strerror(errno));
      std::remove(tmp.c_str());
    }
  }
  return t;
}

std::optional<Reference> parse_reference(const std::string& value) {
  static const std::string scheme = "vault://";
  if (value.rfind(scheme, 0) != 0) return std::nullopt;
  Reference r;
  std::string rest = value.substr(scheme.size());
  if (auto q = rest.find('?'); q != std::string::npos) {
    std::string query = rest.substr(q + 1);
    rest.resize(q);
    std::stringstream ss(query);
    for (std::string kv; std::getline(ss, kv, '&');) {
      if (kv.rfind("key=", 0) == 0 && kv.size() > 4) r.key = kv.substr(4);
    }
  }
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  r.path = rest;
  return r;
}

util::Result<std::string> read_secret(Client& client, const std::string& token, const Reference& ref) {
  if (ref.path.empty()) return util::make_error("empty Vault path");
  // KV v2 mounts keep secrets under <mount>/data/<rest>.
  std::string read_path = ref.path;
  bool v2 = false;
  auto mount = client.call("GET", "/v1/sys/internal/ui/mounts/" + ref.path, nullptr, token);
  if (mount) {
    if (auto p = kv2_read_path(*mount, ref.path)) {
      v2 = true;
      read_path = *p;
    }
  }
  auto r = client.call("GET", "/v1/" + read_path, nullptr, token);
  if (!r) return util::make_error(fmt::format("Vault unreachable: {}", r.error().message));
  return secret_from_answer(*r, ref, v2);
}

Secrets::Secrets(util::EnvLookup env, AwsOptions aws, OnExpiring on_expiring)
    : env_(std::move(env)), aws_(std::move(aws)), on_expiring_(std::move(on_expiring)) {}

Secrets::~Secrets() { cleanup(); }

util::Result<void> Secrets::ensure_client() {
  if (client_) return {};
  auto c = config_from_env(env_);
  if (!c) return c.error();
  cfg_ = *c;
  client_ = std::make_unique<Client>(*c);
  return {};
}

util::Result<std::string> Secrets::ensure_token() {
  if (token_) return token_->value;
  if (auto c = ensure_client(); !c) return c.error();
  auto t = obtain_token(*client_);
  if (!t) return t.error();
  spdlog::info("Vault token from {}", t->what);
  token_ = *t;
  return t->value;
}

util::Result<AwsCredentials> Secrets::aws_credentials() {
  const Duration ttl = aws_.ttl.count() > 0 ? aws_.ttl : std::chrono::seconds(3600);
  if (ttl > aws_.max_ttl) {
    return util::make_error(fmt::format("EXECUTOR_AWS_ROLE_TTL ({} s) is above EXECUTOR_AWS_ROLE_MAX_TTL ({} s)",
                                        std::chrono::duration_cast<std::chrono::seconds>(ttl).count(),
                                        std::chrono::duration_cast<std::chrono::seconds>(aws_.max_ttl).count()));
  }
  if (auto c = ensure_client(); !c) return c.error();
  // A parent token of the task's own, living as long as the credentials.
  const Config& c = client_->config();
  if (c.username.empty() || c.password.empty()) {
    return util::make_error("EXECUTOR_AWS_ROLE needs VAULT_USERNAME and VAULT_PASSWORD for the task's own token");
  }
  const long ttl_s = static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(ttl).count());
  auto login = client_->call("POST", "/v1/auth/userpass/login/" + c.username,
                             {{"password", c.password}, {"ttl", fmt::format("{}s", ttl_s)}}, "");
  if (!login) return util::make_error(fmt::format("Vault login for the AWS role: {}", login.error().message));
  auto parent = token_from_login(*login);
  if (!parent) return util::make_error(fmt::format("Vault login for the AWS role: {}", parent.error().message));
  parent_token_ = *parent;
  auto creds = client_->call("GET", "/v1/aws/creds/" + aws_.role, nullptr, parent_token_);
  if (!creds) return util::make_error(fmt::format("aws/creds/{}: {}", aws_.role, creds.error().message));
  auto got = aws_from_answer(*creds);
  if (!got) return util::make_error(fmt::format("aws/creds/{}: {}", aws_.role, got.error().message));
  AwsCredentials out = std::move(*got);
  lease_id_ = out.lease_id;
  if (aws_.ttl.count() > 0 && !out.lease_id.empty()) {
    const long increment = ttl_s + static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(aws_.expiry_margin).count());
    auto renew = client_->call("PUT", "/v1/sys/leases/renew", {{"lease_id", out.lease_id}, {"increment", increment}},
                               parent_token_);
    if (renew && renew->status == 200 && lease_duration_of(*renew)) {
      out.lease_duration = *lease_duration_of(*renew);
      spdlog::info("AWS lease renewed for {} s (asked {} s)",
                   std::chrono::duration_cast<std::chrono::seconds>(out.lease_duration).count(), increment);
    } else {
      spdlog::warn("could not renew the AWS lease: {}", renew ? describe(*renew) : renew.error().message);
    }
  }
  return out;
}

util::Result<SecretEnv> Secrets::resolve(const std::vector<std::string>& env) {
  SecretEnv out;
  for (const auto& kv : env) {
    const auto eq = kv.find('=');
    const std::string name = kv.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : kv.substr(eq + 1);
    auto ref = parse_reference(value);
    if (!ref) continue;
    auto token = ensure_token();
    if (!token) return util::make_error(fmt::format("env {}: {}: {}", name, value, token.error().message));
    auto secret = read_secret(*client_, *token, *ref);
    if (!secret) return util::make_error(fmt::format("env {}: {}: {}", name, value, secret.error().message));
    out.replacements[kv] = name + "=" + *secret;
    spdlog::info("env {}: resolved from Vault path {}", name, ref->path);
  }
  if (!aws_.role.empty()) {
    auto creds = aws_credentials();
    if (!creds) return util::make_error(fmt::format("AWS role {}: {}", aws_.role, creds.error().message));
    out.extra.push_back("AWS_ACCESS_KEY_ID=" + creds->access_key);
    out.extra.push_back("AWS_SECRET_ACCESS_KEY=" + creds->secret_key);
    if (!creds->session_token.empty()) out.extra.push_back("AWS_SESSION_TOKEN=" + creds->session_token);
    spdlog::info("AWS credentials for role {}: lease of {} s", aws_.role,
                 std::chrono::duration_cast<std::chrono::seconds>(creds->lease_duration).count());
    if (creds->lease_duration.count() > 0) {
      const auto expiry = std::chrono::steady_clock::now() + creds->lease_duration - aws_.expiry_margin;
      lease_thread_ = std::thread([this, expiry, d = creds->lease_duration] { watch_lease(expiry, d); });
    }
  }
  return out;
}

void Secrets::watch_lease(std::chrono::steady_clock::time_point expiry, Duration lease) {
  std::unique_lock<std::mutex> lock(mu_);
  if (cv_.wait_until(lock, expiry, [this] { return stop_; })) return;
  lock.unlock();
  on_expiring_(fmt::format("the AWS credentials of role {} expire (lease of {} s)", aws_.role,
                           std::chrono::duration_cast<std::chrono::seconds>(lease).count()));
}

void Secrets::cleanup() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (lease_thread_.joinable()) lease_thread_.join();
  if (!client_) return;
  if (!lease_id_.empty()) {
    auto r = client_->call("PUT", "/v1/sys/leases/revoke", {{"lease_id", lease_id_}}, parent_token_);
    if (r && (r->status == 204 || r->status == 200)) {
      spdlog::info("AWS lease revoked");
    } else {
      spdlog::warn("could not revoke the AWS lease: {}", r ? describe(*r) : r.error().message);
    }
  }
  if (!parent_token_.empty()) {
    auto r = client_->call("POST", "/v1/auth/token/revoke-self", nullptr, parent_token_);
    if (r && (r->status == 204 || r->status == 200)) {
      spdlog::info("the task's Vault token is revoked");
    } else {
      spdlog::warn("could not revoke the task's Vault token: {}", r ? describe(*r) : r.error().message);
    }
  }
}

}  // namespace vault
