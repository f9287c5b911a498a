// The Vault double.
#include "fake_vault.h"

#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace testing_support {

using nlohmann::json;

namespace {
std::string err(const std::string& m) { return json{{"errors", json::array({m})}}.dump(); }

// sdk/framework/backend.go HandleRequest: fields outside the path's schema are ignored, and named
// (sorted, Go's %v of a []string) in a warning.
json ignored_fields_warning(const json& in, const std::set<std::string>& known) {
  std::vector<std::string> ignored;
  for (const auto& [k, v] : in.items()) {
    if (!known.count(k)) ignored.push_back(k);
  }
  if (ignored.empty()) return json::array();
  std::sort(ignored.begin(), ignored.end());
  std::string list;
  for (const auto& k : ignored) list += (list.empty() ? "" : " ") + k;
  return json::array({"Endpoint ignored these unrecognized parameters: [" + list + "]"});
}

// parseutil.ParseDurationSecond, as a TypeDurationSecond field reads its input: a number of seconds,
// or a string holding one, or a number with an s/m/h/d suffix. nullopt: Vault's 400.
std::optional<long> duration_seconds(const json& v) {
  if (v.is_number_integer() || v.is_number_unsigned()) return v.get<long>();
  if (v.is_number_float()) return static_cast<long>(v.get<double>());
  if (!v.is_string()) return std::nullopt;
  std::string t = v.get<std::string>();
  if (t.empty()) return 0L;
  long unit = 1;
  switch (t.back()) {
    case 's':
      unit = 1;
      t.pop_back();
      break;
    case 'm':
      unit = 60;
      t.pop_back();
      break;
    case 'h':
      unit = 3600;
      t.pop_back();
      break;
    case 'd':
      unit = 86400;
      t.pop_back();
      break;
    default: break;
  }
  if (t.empty() || t.find_first_not_of("0123456789") != std::string::npos || t.size() > 12) return std::nullopt;
  return std::stol(t) * unit;
}
// A renewal's increment in seconds (none given: 0); nullopt, with Vault's 400 in status and out, when
// it does not parse.
std::optional<long> increment_or_400(const json& in, int& status, std::string& out) {
  const auto inc = duration_seconds(in.value("increment", json(0)));
  if (!inc) {
    status = 400;
    out = err("Field validation failed: error converting input " + in.at("increment").dump() +
              " for field \"increment\"");
  }
  return inc;
}
std::string envelope(json data, const std::string& lease_id = "", long lease = 0) {
  return json{{"request_id", "r-1"},     {"lease_id", lease_id},    {"renewable", !lease_id.empty()},
              {"lease_duration", lease}, {"data", std::move(data)}, {"wrap_info", nullptr},
              {"warnings", nullptr},     {"auth", nullptr}}
      .dump();
}
}  // namespace

FakeVault::FakeVault() {
  server_ = std::make_unique<httplib::Server>();
  auto h = [this](const httplib::Request& req, httplib::Response& res) {
    int status = 500;
    std::string out;
    const std::string token = req.get_header_value("X-Vault-Token");
    bool dribble = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (dribble_n_ > 0) {
        --dribble_n_;
        ++dribbled_;
        dribble = true;
      }
    }
    if (dribble) {
      status = 200;
      out = envelope({{"value", "dribbled"}}) + std::string(200, ' ');
    } else {
      handle(req.method, req.path, token, req.body, status, out);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      calls_.push_back({req.method, req.path, token, req.body, status, req.target, out});
    }
    res.status = status;
    if (dribble) {
      // Content-Length up front, then one byte a second: every read sees data well within any
      // per-read timeout, so only a total deadline ends the request.
      res.set_content_provider(out.size(), "application/json",
                               [this, out](size_t offset, size_t, httplib::DataSink& sink) {
                                 for (int i = 0; i < 20 && !stopping_; ++i) {
                                   std::this_thread::sleep_for(std::chrono::milliseconds(50));
                                 }
                                 return !stopping_ && sink.is_writable() && sink.write(out.data() + offset, 1);
                               });
    } else if (!out.empty()) {
      res.set_content(out, "application/json");
    }
  };
  server_->Get(R"(/v1/.*)", h);
  server_->Post(R"(/v1/.*)", h);
  server_->Put(R"(/v1/.*)", h);
  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("fake vault: cannot bind");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

FakeVault::~FakeVault() { go_down(); }

void FakeVault::go_down() {
  stopping_ = true;
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string FakeVault::addr() const { return fmt::format("http://127.0.0.1:{}", port_); }

void FakeVault::add_user(const std::string& user, const std::string& password, long token_ttl_s, long token_max_ttl_s) {
  std::lock_guard<std::mutex> lock(mu_);
  users_[user] = {password, token_ttl_s, token_max_ttl_s};
}
std::string FakeVault::add_token() {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string t = fmt::format("hvs.fake-token-{}", next_++);
  tokens_[t] = TokenEntry{0, 0, Clock::now(), std::nullopt};
  return t;
}
void FakeVault::add_token(const std::string& value) {
  std::lock_guard<std::mutex> lock(mu_);
  tokens_[value] = TokenEntry{0, 0, Clock::now(), std::nullopt};
}
void FakeVault::put_kv1(const std::string& path, std::map<std::string, std::string> data) {
  std::lock_guard<std::mutex> lock(mu_);
  kv1_[path] = std::move(data);
}
void FakeVault::put_kv2(const std::string& path, std::map<std::string, std::string> data) {
  std::lock_guard<std::mutex> lock(mu_);
  kv2_[path] = std::move(data);
}
void FakeVault::deny(const std::string& prefix) {
  std::lock_guard<std::mutex> lock(mu_);
  denied_.push_back(prefix);
}
void FakeVault::set_aws_role(const std::string& role, const std::string& access_key, const std::string& secret_key,
                             const std::string& session_token, long lease_duration_s) {
  std::lock_guard<std::mutex> lock(mu_);
  roles_[role] = {access_key, secret_key, session_token, lease_duration_s};
}

void FakeVault::handle(const std::string& method, const std::string& path, const std::string& token,
                       const std::string& body, int& status, std::string& out) {
  std::lock_guard<std::mutex> lock(mu_);
  if (fail_n_ > 0) {
    --fail_n_;
    status = fail_status_;
    out = err("Vault is sealed");
    return;
  }
  if (garbage_n_ > 0) {
    --garbage_n_;
    status = 200;
    out = "<html><body>502 Bad Gateway</body></html>\n{\"data\": {\"value\": ";
    return;
  }
  const std::string p = path.substr(4);  // after "/v1/"
  auto in = json::parse(body.empty() ? "{}" : body, nullptr, false);
  if (in.is_discarded() || !in.is_object()) {
    status = 400;
    out = err("failed to parse JSON input");
    return;
  }
  // Login: the only call without a token.
  if ((method == "POST" || method == "PUT") && p.rfind("auth/userpass/login/", 0) == 0) {
    login(p.substr(20), body, status, out);
    return;
  }
  if (token.empty() || !live_locked(token)) {
    status = 403;
    out = err("permission denied");
    return;
  }
  for (const auto& d : denied_) {
    if (p.rfind(d, 0) == 0 || p.rfind("kv/data/" + d.substr(d.find('/') + 1), 0) == 0) {
      status = 403;
      out = err("1 error occurred:\n\t* permission denied\n\n");
      return;
    }
  }
  if (method == "GET" && p == "auth/token/lookup-self") {
    const auto& e = tokens_.at(token);
    const long left =
        e.expires ? std::chrono::duration_cast<std::chrono::seconds>(*e.expires - Clock::now()).count() : 0;
    status = 200;
    out = envelope({{"ttl", left}, {"renewable", e.default_ttl_s > 0}, {"id", "(not shown)"}});
    return;
  }
  if ((method == "POST" || method == "PUT") && p == "auth/token/renew-self") {
    renew(p, token, body, status, out);
    return;
  }
  if ((method == "POST" || method == "PUT") && p == "auth/token/renew") {
    const std::string target = in.contains("token") && in["token"].is_string() ? in["token"].get<std::string>() : "";
    renew(p, target, body, status, out);
    return;
  }
  if (method == "POST" && p == "auth/token/revoke-self") {
    tokens_.erase(token);
    // A token's leases end with it.
    for (auto it = leases_.begin(); it != leases_.end();) {
      if (it->second == token) {
        revoked_leases_.push_back(it->first);
        it = leases_.erase(it);
      } else {
        ++it;
      }
    }
    status = 204;
    return;
  }
  if (method == "GET" && p.rfind("sys/internal/ui/mounts/", 0) == 0) {
    const std::string rest = p.substr(23);
    status = 200;
    if (rest.rfind("kv/", 0) == 0) {
      out = envelope({{"path", "kv/"}, {"type", "kv"}, {"options", {{"version", "2"}}}});
    } else if (rest.rfind("secret/", 0) == 0) {
      out = envelope({{"path", "secret/"}, {"type", "kv"}, {"options", nullptr}});
    } else {
      status = 400;
      out = err("no mount for the path");
    }
    return;
  }
  if (method == "GET" && p.rfind("secret/", 0) == 0) {
    auto it = kv1_.find(p.substr(7));
    if (it == kv1_.end()) {
      status = 404;
      out = err("");
      return;
    }
    status = 200;
    out = envelope(it->second, "", 2764800);
    return;
  }
  if (method == "GET" && p.rfind("kv/data/", 0) == 0) {
    auto it = kv2_.find(p.substr(8));
    if (it == kv2_.end()) {
      status = 404;
      out = err("");
      return;
    }
    status = 200;
    out = envelope({{"data", it->second}, {"metadata", {{"version", 1}, {"destroyed", false}}}});
    return;
  }
  if (method == "GET" && p.rfind("kv/", 0) == 0) {  // a versioned mount read without data/
    status = 404;
    out = json{{"errors", json::array()}, {"warnings", {"Invalid path for a versioned K/V secrets engine."}}}.dump();
    return;
  }
  if (method == "GET" && p.rfind("aws/creds/", 0) == 0) {
    auto it = roles_.find(p.substr(10));
    if (it == roles_.end()) {
      status = 400;
      out = err("unknown role");
      return;
    }
    const std::string lease = fmt::format("aws/creds/{}/lease-{}", it->first, next_++);
    leases_[lease] = token;
    json data{{"access_key", it->second.access}, {"secret_key", it->second.secret}};
    data["security_token"] = it->second.session.empty() ? json(nullptr) : json(it->second.session);
    status = 200;
    out = envelope(data, lease, it->second.lease);
    return;
  }
  if (method == "PUT" && p == "sys/leases/renew") {
    const std::string lease = in.value("lease_id", "");
    if (!leases_.count(lease)) {
      status = 400;
      out = err("lease not found");
      return;
    }
    const auto parsed = increment_or_400(in, status, out);
    if (!parsed) return;
    const long inc = *parsed;
    renewals_.push_back({lease, inc});
    status = 200;
    out = json{{"lease_id", lease}, {"renewable", true}, {"lease_duration", inc}}.dump();
    return;
  }
  if (method == "PUT" && p == "sys/leases/revoke") {
    const std::string lease = in.value("lease_id", "");
    if (!leases_.count(lease)) {
      status = 400;
      out = err("lease not found");
      return;
    }
    leases_.erase(lease);
    revoked_leases_.push_back(lease);
    status = 204;
    return;
  }
  status = 404;
  out = err(fmt::format("no handler for route \"{}\"", p));
}

bool FakeVault::live_locked(const std::string& token) const {
  auto it = tokens_.find(token);
  return it != tokens_.end() && (!it->second.expires || Clock::now() < *it->second.expires);
}

void FakeVault::login(const std::string& user_in_path, const std::string& body_text, int& status, std::string& out) {
  const json in = json::parse(body_text.empty() ? "{}" : body_text);  // an object: handle() checked
  std::string user = user_in_path;
  std::transform(user.begin(), user.end(), user.begin(), [](unsigned char c) { return std::tolower(c); });
  if (in.contains("password") && !in["password"].is_string()) {
    status = 400;
    out = err("Field validation failed: error converting input for field \"password\"");
    return;
  }
  const std::string password = in.value("password", "");
  if (password.empty()) {
    status = 400;
    out = err("missing password");
    return;
  }
  auto it = users_.find(user);
  if (it == users_.end() || password != it->second.password) {
    status = 400;
    out = err("invalid username or password");
    return;
  }
  const std::string t = fmt::format("hvs.fake-login-{}", next_++);
  const auto now = Clock::now();
  const long ttl = std::min(it->second.ttl_s, it->second.max_ttl_s);  // a TTL never beyond the max
  tokens_[t] = TokenEntry{it->second.ttl_s, it->second.max_ttl_s, now, now + std::chrono::seconds(ttl)};
  status = 200;
  out = json{{"request_id", "r-1"},
             {"lease_id", ""},
             {"renewable", false},
             {"lease_duration", 0},
             {"data", nullptr},
             {"warnings", ignored_fields_warning(in, {"password", "username"})},
             {"auth",
              {{"client_token", t},
               {"accessor", fmt::format("acc-{}", next_++)},
               {"policies", {"default"}},
               {"token_policies", {"default"}},
               {"metadata", {{"username", user}}},
               {"lease_duration", ttl},
               {"renewable", true},
               {"token_type", "service"},
               {"orphan", true}}}}
            .dump();
}

void FakeVault::renew(const std::string& endpoint, const std::string& target, const std::string& body_text, int& status,
                      std::string& out) {
  const json in = json::parse(body_text.empty() ? "{}" : body_text);
  if (target.empty()) {
    status = 400;
    out = err("missing token ID");
    return;
  }
  auto it = tokens_.find(target);
  if (it == tokens_.end() || !live_locked(target)) {
    status = 400;
    out = err("token not found");
    return;
  }
  TokenEntry& e = it->second;
  if (e.default_ttl_s <= 0) {
    status = 400;
    out = err("lease is not renewable");
    return;
  }
  const auto inc = increment_or_400(in, status, out);
  if (!inc) return;
  // renew-self takes the token from the header (a body `token` is overwritten, not unrecognized).
  json warnings = ignored_fields_warning(in, {"increment", "token"});
  const auto now = Clock::now();
  long ttl = *inc > 0 ? *inc : e.default_ttl_s;
  const long max_left =
      e.max_ttl_s - static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(now - e.issued).count());
  if (ttl > max_left) {
    warnings.push_back(
        fmt::format("TTL of \"{}s\" exceeded the effective max_ttl of \"{}s\"; TTL value is capped "
                    "accordingly",
                    ttl, max_left));
    ttl = std::max(0L, max_left);
  }
  e.expires = now + std::chrono::seconds(ttl);
  token_renewals_.push_back({endpoint, target, in.contains("increment") ? in["increment"].dump() : "", ttl});
  status = 200;
  out = json{{"request_id", "r-1"},
             {"lease_id", ""},
             {"renewable", false},
             {"lease_duration", 0},
             {"data", nullptr},
             {"warnings", warnings.empty() ? json(nullptr) : warnings},
             {"auth",
              {{"client_token", target},
               {"policies", {"default"}},
               {"token_policies", {"default"}},
               {"lease_duration", ttl},
               {"renewable", true}}}}
            .dump();
}

void FakeVault::garbage_next(int n) {
  std::lock_guard<std::mutex> lock(mu_);
  garbage_n_ = n;
}

void FakeVault::dribble_next(int n) {
  std::lock_guard<std::mutex> lock(mu_);
  dribble_n_ = n;
}
int FakeVault::dribbled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dribbled_;
}

void FakeVault::fail_next(int n, int status) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_n_ = n;
  fail_status_ = status;
}

std::vector<FakeVault::Call> FakeVault::calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}
std::size_t FakeVault::count(const std::string& method, const std::string& prefix) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::size_t n = 0;
  for (const auto& c : calls_) n += c.method == method && c.path.rfind(prefix, 0) == 0;
  return n;
}
bool FakeVault::token_live(const std::string& token) const {
  std::lock_guard<std::mutex> lock(mu_);
  return live_locked(token);
}
long FakeVault::token_ttl_left(const std::string& token) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!live_locked(token)) return 0;
  const auto& e = tokens_.at(token);
  return e.expires
             ? static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(*e.expires - Clock::now()).count())
             : -1;
}
std::vector<FakeVault::TokenRenewal> FakeVault::token_renewals() const {
  std::lock_guard<std::mutex> lock(mu_);
  return token_renewals_;
}
std::vector<std::string> FakeVault::revoked_leases() const {
  std::lock_guard<std::mutex> lock(mu_);
  return revoked_leases_;
}
std::vector<std::pair<std::string, long>> FakeVault::lease_renewals() const {
  std::lock_guard<std::mutex> lock(mu_);
  return renewals_;
}

}  // namespace testing_support
