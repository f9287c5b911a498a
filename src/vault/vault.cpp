// Vault client, token rules, secret references, AWS credentials.
#include "vault/vault.h"

#include <fcntl.h>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <httplib.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <sstream>

#include "util/http_deadline.h"
#include "util/http_safe.h"
#include "util/json_get.h"
#include "util/secrets.h"
#include "util/split.h"
#include "util/values.h"

namespace vault {

namespace {

std::string getenv_or(const util::EnvLookup& env, const char* name, std::string def = "") {
  auto v = env(name);
  return v && !v->empty() ? *v : def;
}

std::string joined_errors(const nlohmann::json& body) {
  const auto* errors = util::json_array(body, "errors");
  if (!errors) return "";
  std::string out;
  for (const auto& e : *errors) {
    if (e.is_string()) out += (out.empty() ? "" : "; ") + e.get<std::string>();
  }
  return out;
}

std::string describe(const Response& r) {
  return r.errors.empty() ? fmt::format("HTTP {}", r.status) : fmt::format("HTTP {}: {}", r.status, r.errors);
}

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

// Sleeps `d`, or less when `cancel` is set meanwhile; false when cancelled.
bool pause(Millis d, const util::CancelFlag* cancel) {
  const auto until = Clock::now() + d;
  while (cancel == nullptr || !cancel->is_set()) {
    const auto left = std::chrono::duration_cast<Millis>(until - Clock::now());
    if (left.count() <= 0) return true;
    if (cancel == nullptr || cancel->fd() < 0) {
      std::this_thread::sleep_for(std::min<Millis>(left, Millis(50)));
    } else {
      pollfd p{cancel->fd(), POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(left.count()));
    }
  }
  return false;
}

// The user name is a credential too: request paths are shown with it replaced.
std::string shown_path(const std::string& path) {
  if (auto at = path.find("/auth/userpass/login/"); at != std::string::npos) {
    return path.substr(0, at) + "/auth/userpass/login/<VAULT_USERNAME>";
  }
  return path;
}

// A value (user name, role) as one path segment: every byte but the unreserved ones percent-escaped,
// so that a '/', '?' or '#' in it cannot change which endpoint the request reaches ("." and ".." are
// escaped whole for the same reason).
std::string path_segment(std::string_view v) {
  if (v == "." || v == "..") return v.size() == 1 ? "%2E" : "%2E%2E";
  return util::percent_escape(v);
}

std::string login_path(const Config& c) { return "/v1/auth/userpass/login/" + path_segment(c.username); }

// A token a login (or Vault's renew) handed us: header-safe before it is used or stored.
util::Result<std::string> checked_login_token(const util::Result<std::string>& token) {
  if (!token) return token;
  util::register_secret(*token);
  if (auto p = token_text_problem(*token)) {
    return util::make_error(fmt::format("the token Vault returned cannot be used: {}", *p));
  }
  return token;
}

// An open descriptor, closed on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

bool owner_ok(uid_t uid) { return uid == 0 || uid == ::geteuid(); }

// The checks of a token file's inode (nullopt: it passes).
std::optional<std::string> inode_problem(const struct stat& st) {
  if (!S_ISREG(st.st_mode)) return std::string("it is not a regular file");
  if (!owner_ok(st.st_uid)) {
    return fmt::format("it is owned by uid {}, not by root or the executor's uid {}", st.st_uid, ::geteuid());
  }
  if ((st.st_mode & 077) != 0) {
    return fmt::format("its mode {:04o} gives group or others access (0600 or stricter needed)", st.st_mode & 07777);
  }
  if (st.st_nlink != 1) return fmt::format("it has {} hard links (one expected)", st.st_nlink);
  if (st.st_size > static_cast<off_t>(kMaxTokenFileSize)) {
    return fmt::format("it is larger than {} bytes", kMaxTokenFileSize);
  }
  return std::nullopt;
}

util::Error token_file_error(const std::string& path, const std::string& problem) {
  return util::make_error(fmt::format("Vault token file {}: {}", util::escape_control_chars(path), problem));
}

}  // namespace

util::Result<Config> config_from_env(const util::EnvLookup& env) {
  Config c;
  c.addr = getenv_or(env, "VAULT_ADDR", c.addr);
  while (!c.addr.empty() && c.addr.back() == '/') c.addr.pop_back();
  if ((c.addr.rfind("http://", 0) != 0 && c.addr.rfind("https://", 0) != 0) || util::has_control_chars(c.addr)) {
    return util::make_error(
        fmt::format("VAULT_ADDR=\"{}\": not an http(s) address", util::escape_control_chars(c.addr)));
  }
  c.token = getenv_or(env, "VAULT_TOKEN");
  util::register_secret(c.token);
  // Never echoed: a token with a control character would forge headers of the request it goes into.
  if (auto ok = util::check_http_text("VAULT_TOKEN", c.token, false); !ok) return ok.error();
  c.ca_cert = getenv_or(env, "VAULT_CACERT");
  c.ca_path = getenv_or(env, "VAULT_CAPATH");
  c.client_cert = getenv_or(env, "VAULT_CLIENT_CERT");
  c.client_key = getenv_or(env, "VAULT_CLIENT_KEY");
  if (auto v = getenv_or(env, "VAULT_SKIP_VERIFY"); !v.empty()) {
    auto b = util::parse_go_bool(v);
    if (!b) return util::make_error(fmt::format("VAULT_SKIP_VERIFY=\"{}\": not a boolean", v));
    c.skip_verify = *b;
  }
  c.tls_server_name = getenv_or(env, "VAULT_TLS_SERVER_NAME");
  c.namespace_ = getenv_or(env, "VAULT_NAMESPACE");
  if (auto ok = util::check_http_text("VAULT_NAMESPACE", c.namespace_); !ok) return ok.error();
  if (auto v = getenv_or(env, "VAULT_MAX_RETRIES"); !v.empty()) {
    char* end = nullptr;
    const long n = std::strtol(v.c_str(), &end, 10);
    if (*end != '\0' || n < 0 || n > 100)
      return util::make_error(fmt::format("VAULT_MAX_RETRIES=\"{}\": not a count", v));
    c.max_retries = static_cast<int>(n);
  }
  if (auto v = getenv_or(env, "VAULT_CLIENT_TIMEOUT"); !v.empty()) {
    char* end = nullptr;
    const long secs = std::strtol(v.c_str(), &end, 10);
    if (*end == '\0' && secs > 0) {
      c.client_timeout = std::chrono::seconds(secs);
    } else {
      auto d = util::parse_go_duration(v);
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
  util::register_secret(c.password);
  if (auto ok = util::check_http_text("VAULT_USERNAME", c.username, false); !ok) return ok.error();
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
  util::set_http_timeouts(c, std::chrono::duration_cast<Millis>(cfg_.client_timeout));
  if (cfg_.addr.rfind("https://", 0) == 0) {
    c.enable_server_certificate_verification(!cfg_.skip_verify);
    if (!cfg_.ca_cert.empty() || !cfg_.ca_path.empty()) c.set_ca_cert_path(cfg_.ca_cert.c_str(), cfg_.ca_path.c_str());
  }
}

Client::~Client() = default;

util::Result<Response> Client::call(const std::string& method, const std::string& path, const nlohmann::json& body,
                                    const std::string& token) {
  const std::string shown = shown_path(path);
  // Defence in depth: callers check what they take from the environment, this refuses the rest.
  if (auto ok = util::check_http_text("Vault request path " + util::escape_control_chars(shown), path, false); !ok) {
    return ok.error();
  }
  if (auto ok = util::check_http_text("X-Vault-Token", token, false); !ok) return ok.error();
  if (auto ok = util::check_http_text("X-Vault-Namespace", cfg_.namespace_); !ok) return ok.error();
  if (method != "GET" && method != "POST" && method != "PUT") {
    return util::make_error(fmt::format("unsupported method {}", method));
  }
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("X-Vault-Token", token);
  if (!cfg_.namespace_.empty()) headers.emplace("X-Vault-Namespace", cfg_.namespace_);
  const std::string payload = body.is_null() ? "" : body.dump();
  auto& cli = *http_->cli;
  std::string last;
  auto backoff = backoff_;
  for (int attempt = 0; attempt <= cfg_.max_retries; ++attempt) {
    if (attempt > 0) {
      Millis wait = backoff;
      if (until_) wait = std::min(wait, std::chrono::duration_cast<Millis>(*until_ - Clock::now()));
      if (!pause(std::max(wait, Millis(0)), cancel_)) break;
      backoff *= 2;
    }
    if (cancel_ != nullptr && cancel_->is_set()) break;
    // The attempt's total: the configured timeout, cut to what the caller's deadline leaves.
    Millis total = std::chrono::duration_cast<Millis>(cfg_.client_timeout);
    if (until_) total = std::min(total, std::chrono::duration_cast<Millis>(*until_ - Clock::now()));
    if (total.count() <= 0) {
      if (last.empty()) last = fmt::format("{} {}: no time left for the request", method, shown);
      break;
    }
    util::set_http_timeouts(cli, total);
    const auto began = Clock::now();
    httplib::Result res{nullptr, httplib::Error::Unknown};
    const auto outcome = util::run_with_deadline(
        cli, total,
        [&] {
          if (method == "GET") {
            res = cli.Get(path.c_str(), headers);
          } else if (method == "POST") {
            res = cli.Post(path.c_str(), headers, payload, "application/json");
          } else {
            res = cli.Put(path.c_str(), headers, payload, "application/json");
          }
        },
        cancel_);
    if (!res) {
      if (outcome.cancelled) break;
      // A per-read timeout as long as the whole allowance is the same deadline, reached first.
      const bool expired = outcome.expired || Clock::now() - began >= total;
      last = expired ? fmt::format("{} {}{}: no complete answer within {} ms (the request's total deadline)", method,
                                   cfg_.addr, shown, total.count())
                     : fmt::format("{} {}{}: {}", method, cfg_.addr, shown, util::http_error_text(res.error()));
      continue;
    }
    if (res->status == 412 || res->status == 429 || res->status >= 500) {
      auto j = nlohmann::json::parse(res->body, nullptr, false);
      last =
          fmt::format("{} {}: HTTP {}{}", method, shown, res->status, j.is_discarded() ? "" : ": " + joined_errors(j));
      if (attempt < cfg_.max_retries) continue;
    }
    return response_from(res->status, res->body);
  }
  if (cancel_ != nullptr && cancel_->is_set()) {
    return util::make_error(fmt::format("{} {}: cancelled (the executor is stopping)", method, shown));
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
  const auto* d = util::json_object(mount_answer.body, "data");
  if (!d) return std::nullopt;
  const auto* options = util::json_object(*d, "options");
  const auto* version = options ? util::json_string_ptr(*options, "version") : nullptr;
  const auto* mount = util::json_string_ptr(*d, "path");
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
  const nlohmann::json* data = util::json_object(r.body, "data");
  // The answer's shape tells v2 too (a mount we could not ask about).
  if (data && util::json_object(*data, "data") && util::json_member(*data, "metadata")) {
    v2 = true;
    data = util::json_object(*data, "data");
  }
  const std::string* value = data ? util::json_string_ptr(*data, ref.key.c_str()) : nullptr;
  if (!value) {
    return util::make_error(
        fmt::format("Value for path '{}' not found (no string field '{}'{})", ref.path, ref.key, v2 ? ", KV v2" : ""));
  }
  return *value;
}

util::Result<std::string> token_from_login(const Response& r) {
  if (r.status != 200) return util::make_error(describe(r));
  const auto* auth = util::json_object(r.body, "auth");
  const auto* token = auth ? util::json_string_ptr(*auth, "client_token") : nullptr;
  if (!token || token->empty()) return util::make_error("the answer has no auth.client_token");
  return *token;
}

util::Result<AwsCredentials> aws_from_answer(const Response& r) {
  if (r.status != 200) return util::make_error(describe(r));
  const auto* d = util::json_object(r.body, "data");
  const auto* access = d ? util::json_string_ptr(*d, "access_key") : nullptr;
  const auto* secret = d ? util::json_string_ptr(*d, "secret_key") : nullptr;
  if (!access || !secret) return util::make_error("the answer has no access_key/secret_key");
  AwsCredentials out;
  out.access_key = *access;
  out.secret_key = *secret;
  if (const auto* t = util::json_string_ptr(*d, "security_token")) out.session_token = *t;
  if (const auto* l = util::json_string_ptr(r.body, "lease_id")) out.lease_id = *l;
  out.lease_duration = lease_duration_of(r).value_or(Duration{0});
  return out;
}

std::optional<Duration> lease_duration_of(const Response& r) {
  const auto v = util::json_int(r.body, "lease_duration");
  // Anything beyond ten years is nonsense: treated as absent.
  if (!v || *v < 0 || *v > 10LL * 365 * 24 * 3600) return std::nullopt;
  return std::chrono::seconds(*v);
}

std::optional<Duration> token_ttl_of(const Response& r) {
  const auto* auth = util::json_object(r.body, "auth");
  const auto v = auth ? util::json_int(*auth, "lease_duration") : std::nullopt;
  if (!v || *v < 0 || *v > 10LL * 365 * 24 * 3600) return std::nullopt;
  return std::chrono::seconds(*v);
}

util::Result<Duration> renew_token(Client& client, const std::string& token, long increment_s) {
  // The increment in whole seconds, as a JSON number, as Go sends it (vault/vault_auth.go:87-92).
  auto r = client.call("POST", "/v1/auth/token/renew-self", {{"increment", increment_s}}, token);
  if (!r) return r.error();
  if (r->status != 200) return util::make_error(describe(*r));
  const auto ttl = token_ttl_of(*r);
  if (!ttl) return util::make_error("the answer has no auth.lease_duration");
  const long got = static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(*ttl).count());
  // Go allows 10 s for the calls in between (vault/vault_auth.go:115-119).
  if (got + 10 < increment_s) {
    spdlog::warn("FAILED to get TTL we asked for! Asked for: {}, Got: {}", increment_s, got);
  } else {
    spdlog::info("Successfully renewed token with Vault. New TTL: {}", got);
  }
  return *ttl;
}

long aws_parent_token_ttl_s(Duration role_ttl, std::optional<Duration> executor_aws_ttl) {
  using std::chrono::seconds;
  // Go: DefaultAWSRoleTTL = 3600 (vault/vault.go:37).
  const long role =
      role_ttl.count() > 0 ? static_cast<long>(std::chrono::duration_cast<seconds>(role_ttl).count()) : 3600;
  const long go =
      executor_aws_ttl ? static_cast<long>(std::chrono::duration_cast<seconds>(*executor_aws_ttl).count()) : 0;
  return std::max(role, go);
}

Duration aws_stop_after(Duration life, Duration margin, int jitter_pct, double u) {
  const Duration usable = std::max(Duration{0}, life - margin);
  const double part = std::clamp(jitter_pct, 0, 100) / 100.0 * std::clamp(u, 0.0, 1.0);
  const auto earlier = std::chrono::duration_cast<Duration>(
      std::chrono::duration<double, Duration::period>(static_cast<double>(usable.count()) * part));
  return std::clamp(usable - earlier, Duration{0}, usable);
}

namespace {
// A draw in [0, 1) for the jitter: different in every executor, whatever their start times.
double random_unit() {
  std::uint64_t seed = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
                       (static_cast<std::uint64_t>(::getpid()) << 32);
  try {
    std::random_device rd;
    seed ^= (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  } catch (const std::exception&) {
    // no entropy device: the clock and the pid still differ between executors
  }
  std::mt19937_64 gen(seed);
  return std::uniform_real_distribution<double>(0.0, 1.0)(gen);
}
}  // namespace

std::optional<std::string> token_text_problem(std::string_view content) {
  if (!content.empty() && content.back() == '\n') content.remove_suffix(1);
  if (content.empty()) return std::string("it is empty");
  if (content.find('\n') != std::string_view::npos) return std::string("it has more than one line");
  if (content.find('\r') != std::string_view::npos) return std::string("it holds a carriage return");
  if (util::has_control_chars(content)) return std::string("it holds a control character");
  for (const char c : content) {
    const auto u = static_cast<unsigned char>(c);
    if (u == ' ' || u > 0x7e) return std::string("it holds a space or a non-ASCII byte, which no Vault token has");
  }
  return std::nullopt;
}

util::Result<std::optional<TokenFile>> read_token_file(const std::string& path) {
  // O_NOFOLLOW: a symbolic link as the last component is refused, not followed. O_NONBLOCK: a FIFO
  // planted there cannot block the open; the inode checks refuse it next.
  Fd f{::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)};
  if (f.fd < 0) {
    const int e = errno;
    if (e == ENOENT) return std::optional<TokenFile>{};
    if (e == ELOOP) return token_file_error(path, "it is a symbolic link");
    return token_file_error(path, fmt::format("cannot open it: {}", std::strerror(e)));
  }
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) return token_file_error(path, fmt::format("cannot stat it: {}", std::strerror(errno)));
  if (auto p = inode_problem(st)) return token_file_error(path, *p);
  std::string content;
  char buf[512];
  while (content.size() <= kMaxTokenFileSize) {
    const ssize_t n = ::read(f.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return token_file_error(path, fmt::format("cannot read it: {}", std::strerror(errno)));
    if (n == 0) break;
    content.append(buf, static_cast<std::size_t>(n));
  }
  if (content.size() > kMaxTokenFileSize) {
    return token_file_error(path, fmt::format("it is larger than {} bytes", kMaxTokenFileSize));
  }
  if (auto p = token_text_problem(content)) return token_file_error(path, *p);
  if (content.back() == '\n') content.pop_back();
  util::register_secret(content);
  return std::optional<TokenFile>(TokenFile{std::move(content), std::chrono::system_clock::from_time_t(st.st_mtime)});
}

namespace {

// The temporary file's name pattern: hidden, in the cache's own directory (so rename stays on one
// file system), random (mkstemp), never a predictable name another user could plant first.
std::string temp_pattern(const std::string& path) {
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  return (dir == "/" ? "/" : dir + "/") + "." + base + ".XXXXXX";
}

void fsync_directory_of(const std::string& tmp) {
  const auto slash = tmp.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : tmp.substr(0, slash);
  Fd d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (d.fd >= 0) ::fsync(d.fd);
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

util::Result<void> write_token_file(const std::string& path, const std::string& token) {
  if (auto p = token_text_problem(token)) return token_file_error(path, "the token is not written: " + *p);
  // Only a file we would have written ourselves is replaced: the path is the task's to choose.
  if (auto existing = read_token_file(path); !existing) {
    return util::make_error(existing.error().message + ": not replaced");
  }
  std::string tmp = temp_pattern(path);
  Fd f{::mkostemp(tmp.data(), O_CLOEXEC)};
  if (f.fd < 0) return token_file_error(path, fmt::format("cannot create a temporary file: {}", std::strerror(errno)));
  const auto fail = [&](const char* step) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return token_file_error(path, fmt::format("{}: {}", step, std::strerror(e)));
  };
  if (::fchmod(f.fd, 0600) != 0) return fail("fchmod");
  if (!write_all(f.fd, token)) return fail("write");
  if (::fsync(f.fd) != 0) return fail("fsync");
  const int fd = f.fd;
  f.fd = -1;
  if (::close(fd) != 0) return fail("close");
  // rename replaces a symbolic link at `path` (planted after the check above) rather than following it.
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("rename");
  fsync_directory_of(tmp);
  return {};
}

namespace {

// The token of VAULT_TOKEN_FILE when it passes the checks, is young enough and Vault still takes it.
// `refused` says why the file was not used when a check failed (for the error when no login is possible).
std::optional<Token> cached_token(Client& client, std::string& refused) {
  const Config& c = client.config();
  const std::string where = util::escape_control_chars(c.token_file);
  auto file = read_token_file(c.token_file);
  if (!file) {
    refused = file.error().message;
    spdlog::warn(
        "{}: not used; {}", refused,
        c.username.empty() || c.password.empty() ? "no VAULT_USERNAME/VAULT_PASSWORD to log in with" : "logging in");
    return std::nullopt;
  }
  if (!*file) return std::nullopt;
  const auto young_after = std::chrono::system_clock::now() - std::chrono::seconds(c.ttl_s - 3600);
  if ((*file)->mtime <= young_after) {
    spdlog::info("the cached Vault token in {} is too old: logging in", where);
    return std::nullopt;
  }
  std::string t = std::move((*file)->value);
  auto r = client.call("GET", "/v1/auth/token/lookup-self", nullptr, t);
  if (r && r->status == 200) return Token{t, fmt::format("the cached token in {}", where)};
  spdlog::info("the cached Vault token in {} is not valid any more ({}): logging in", where,
               r ? describe(*r) : r.error().message);
  return std::nullopt;
}

}  // namespace

util::Result<Token> obtain_token(Client& client) {
  const Config& c = client.config();
  if (!c.token.empty()) {
    util::register_secret(c.token);
    if (auto ok = util::check_http_text("VAULT_TOKEN", c.token, false); !ok) return ok.error();
    return Token{c.token, "VAULT_TOKEN"};
  }
  std::string refused;
  if (!c.token_file.empty()) {
    if (auto t = cached_token(client, refused)) return *t;
  }
  if (c.username.empty() || c.password.empty()) {
    return util::make_error(fmt::format("no Vault token{}; Must set VAULT_USERNAME and VAULT_PASSWORD (or VAULT_TOKEN)",
                                        refused.empty() ? "" : " (" + refused + ": not used)"));
  }
  util::register_secret(c.password);
  auto login = client.call("POST", login_path(c), {{"password", c.password}}, "");
  if (!login) return util::make_error(fmt::format("Vault login: {}", login.error().message));
  if (login->status != 200) return util::make_error(fmt::format("Vault userpass login: {}", describe(*login)));
  auto token = checked_login_token(token_from_login(*login));
  if (!token) return util::make_error(fmt::format("Vault login: {}", token.error().message));
  Token t{*token, "a userpass login"};
  spdlog::info("Successfully authenticated with Vault");
  // Go (vault/vault_auth.go:229, vault/vault.go:90-93): renewed to VAULT_TTL + 600 s; when that
  // fails, the error is logged and the token serves this task, but it is not cached for others.
  const long asked = c.ttl_s + kStartupGraceS;
  if (auto renewed = renew_token(client, t.value, asked); !renewed) {
    spdlog::error(
        "Failure authenticating with Vault: Error renewing token to {} s: {} (the token serves this task "
        "only; it is not cached)",
        asked, renewed.error().message);
    return t;
  }
  if (!c.token_file.empty()) {
    if (auto w = write_token_file(c.token_file, t.value); !w) {
      spdlog::warn("could not write the Vault token cache: {}", w.error().message);
    }
  }
  return t;
}

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// `text` with each %XX replaced by its byte (and '+' by a space for a form value); nullopt on a
// malformed escape, which net/url refuses too.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = hex_digit(text[i + 1]), lo = hex_digit(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += plus_is_space && text[i] == '+' ? ' ' : text[i];
    }
  }
  return out;
}

// Go's url.Values.Get("key") as the executor uses it (q["key"][0]): the first pair named `key`, its
// value form-decoded, possibly empty; a pair that does not decode, or holds a ';', is skipped.
std::optional<std::string> query_key(std::string_view query) {
  for (const std::string_view pair : util::split(query, '&')) {
    if (pair.empty() || pair.find(';') != std::string_view::npos) continue;
    const auto eq = pair.find('=');
    auto name = percent_decode(pair.substr(0, eq), true);
    auto value = percent_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), true);
    if (name && value && *name == "key") return value;
  }
  return std::nullopt;
}

}  // namespace

util::Result<std::optional<Reference>> parse_reference(const std::string& value) {
  static constexpr std::string_view kScheme = "vault://";
  if (value.rfind(kScheme, 0) != 0) return std::optional<Reference>{};
  std::string_view rest(value);
  rest.remove_prefix(kScheme.size());
  // url.Parse cuts the fragment first, then the query.
  rest = rest.substr(0, rest.find('#'));
  std::string_view query;
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  // The authority (Go's Host) ends at the first '/'; user information before an '@' is not part of it.
  const auto slash = rest.find('/');
  std::string_view host = rest.substr(0, slash);
  if (const auto at = host.rfind('@'); at != std::string_view::npos) host.remove_prefix(at + 1);
  const auto decoded_host = percent_decode(host, false);
  const auto decoded_path = percent_decode(slash == std::string_view::npos ? "" : rest.substr(slash), false);
  if (!decoded_host || !decoded_path) {
    return util::make_error(
        fmt::format("Unable to parse Vault URL: '{}' (a malformed percent-escape)", util::escape_control_chars(value)));
  }
  Reference r;
  r.path = *decoded_host + *decoded_path;
  while (!r.path.empty() && r.path.back() == '/') r.path.pop_back();
  if (auto key = query_key(query)) r.key = std::move(*key);
  return std::optional<Reference>(std::move(r));
}

std::string wire_path(std::string_view decoded_path) {
  std::string out;
  while (!decoded_path.empty()) {
    const auto slash = decoded_path.find('/');
    const std::string_view segment = decoded_path.substr(0, slash);
    decoded_path = slash == std::string_view::npos ? std::string_view{} : decoded_path.substr(slash + 1);
    if (segment.empty()) continue;
    if (!out.empty()) out += '/';
    out += path_segment(segment);
  }
  return out;
}

util::Result<void> check_secret_path(const std::string& path,
                                     const std::optional<std::vector<std::string>>& allowed_prefixes) {
  std::vector<std::string> segments;
  std::stringstream ss(path);
  for (std::string seg; std::getline(ss, seg, '/');) {
    if (seg.empty()) continue;
    if (seg == "." || seg == ".." || seg.find('%') != std::string::npos) {
      return util::make_error(
          fmt::format("Vault path {}: \".\", \"..\" and '%' are not allowed in a (percent-decoded) path",
                      util::escape_control_chars(path)));
    }
    segments.push_back(seg);
  }
  if (segments.empty()) return util::make_error("empty Vault path");
  static const char* const kVaultOwn[] = {"auth", "sys", "identity", "cubbyhole"};
  for (const char* own : kVaultOwn) {
    if (segments[0] == own) {
      return util::make_error(fmt::format("Vault path {}: {}/ is Vault's own, not a secret a task may read",
                                          util::escape_control_chars(path), own));
    }
  }
  if (allowed_prefixes) {
    const bool ok = std::any_of(allowed_prefixes->begin(), allowed_prefixes->end(), [&](const std::string& prefix) {
      std::vector<std::string> want;
      std::stringstream ps(prefix);
      for (std::string seg; std::getline(ps, seg, '/');) {
        if (!seg.empty()) want.push_back(seg);
      }
      return !want.empty() && want.size() <= segments.size() && std::equal(want.begin(), want.end(), segments.begin());
    });
    if (!ok) {
      return util::make_error(fmt::format("Vault path {} is outside the site's policy.vault_path_prefixes",
                                          util::escape_control_chars(path)));
    }
  }
  return {};
}

util::Result<std::string> read_secret(Client& client, const std::string& token, const Reference& ref) {
  if (ref.path.empty()) return util::make_error("empty Vault path");
  if (auto ok = util::check_http_text("Vault path", ref.path); !ok) return ok.error();
  // KV v2 mounts keep secrets under <mount>/data/<rest>.
  std::string read_path = ref.path;
  bool v2 = false;
  auto mount = client.call("GET", "/v1/sys/internal/ui/mounts/" + wire_path(ref.path), nullptr, token);
  // No answer at all (unreachable, deadline, cancelled): the read would fare no better.
  if (!mount) return util::make_error(fmt::format("Vault unreachable: {}", mount.error().message));
  if (auto p = kv2_read_path(*mount, ref.path)) {
    v2 = true;
    read_path = *p;
  }
  auto r = client.call("GET", "/v1/" + wire_path(read_path), nullptr, token);
  if (!r) return util::make_error(fmt::format("Vault unreachable: {}", r.error().message));
  auto value = secret_from_answer(*r, ref, v2);
  if (value) util::register_secret(*value);
  return value;
}

Secrets::Secrets(util::EnvLookup env, AwsOptions aws, OnExpiring on_expiring)
    : env_(std::move(env)), aws_(std::move(aws)), on_expiring_(std::move(on_expiring)) {}

Secrets::~Secrets() { cleanup(); }

util::Result<void> Secrets::ensure_client() {
  if (client_) return {};
  auto c = config_from_env(env_);
  if (!c) return c.error();
  {
    std::lock_guard<std::mutex> lock(mu_);
    cfg_ = *c;
  }
  client_ = std::make_unique<Client>(*c);
  client_->set_cancel(&cancel_);
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

util::Result<std::string> Secrets::aws_parent_token() {
  const Config& c = client_->config();
  if (c.username.empty() || c.password.empty()) {
    return util::make_error("EXECUTOR_AWS_ROLE needs VAULT_USERNAME and VAULT_PASSWORD for the task's own token");
  }
  // Go reads EXECUTOR_AWS_TTL for the parent token (vault/vault.go:111-116, parsed by time.ParseDuration).
  std::optional<Duration> go_ttl;
  if (auto v = env_("EXECUTOR_AWS_TTL"); v && !v->empty()) {
    auto d = util::parse_go_duration(*v);
    if (!d || d->count() < std::chrono::nanoseconds(std::chrono::seconds(1)).count()) {
      return util::make_error(fmt::format("EXECUTOR_AWS_TTL=\"{}\": not a duration of a second or more (e.g. \"8h\")",
                                          util::escape_control_chars(*v)));
    }
    go_ttl = *d;
  }
  const long asked = aws_parent_token_ttl_s(aws_.ttl, go_ttl) + kStartupGraceS;
  spdlog::info("Attempting to get a service-specific parent token with TTL to match requested AWS Role");
  // The password alone, as Go sends it (vault/vault_auth.go:219, 57-60): Vault's userpass login reads
  // no other field (a `ttl` there is ignored), so the TTL comes from the renewal below.
  auto login = client_->call("POST", login_path(c), {{"password", c.password}}, "");
  if (!login) return util::make_error(fmt::format("Vault login for the AWS role: {}", login.error().message));
  auto parent = checked_login_token(token_from_login(*login));
  if (!parent) return util::make_error(fmt::format("Vault login for the AWS role: {}", parent.error().message));
  spdlog::info("Successfully authenticated with Vault");
  {
    std::lock_guard<std::mutex> lock(mu_);
    parent_token_ = *parent;  // revoked at cleanup, whatever happens next
  }
  parent_ttl_ = token_ttl_of(*login);
  auto renewed = renew_token(*client_, *parent, asked);
  if (renewed) {
    parent_ttl_ = *renewed;
  } else {
    // Go's outcome (vault/vault.go:84-87, vault/vault_auth.go:226-231): an error line, and the task goes
    // on with the login's token as it is. Ours also bounds the lease watch by that token's TTL.
    spdlog::error("Failed to get Vault parent Token to enable AWS Role: Error renewing token to {} s: {}{}", asked,
                  renewed.error().message,
                  parent_ttl_ ? fmt::format(" (going on with the token's own TTL of {} s)",
                                            std::chrono::duration_cast<std::chrono::seconds>(*parent_ttl_).count())
                              : "");
  }
  return *parent;
}

util::Result<AwsCredentials> Secrets::aws_credentials() {
  const Duration ttl = aws_.ttl.count() > 0 ? aws_.ttl : std::chrono::seconds(3600);
  if (ttl > aws_.max_ttl) {
    return util::make_error(fmt::format("EXECUTOR_AWS_ROLE_TTL ({} s) is above EXECUTOR_AWS_ROLE_MAX_TTL ({} s)",
                                        std::chrono::duration_cast<std::chrono::seconds>(ttl).count(),
                                        std::chrono::duration_cast<std::chrono::seconds>(aws_.max_ttl).count()));
  }
  if (auto ok = util::check_http_text("EXECUTOR_AWS_ROLE", aws_.role); !ok) return ok.error();
  // The role's credentials are a read like a vault:// one: the site's policy.vault_path_prefixes holds
  // for it too, whichever token asks (the task sets EXECUTOR_AWS_ROLE).
  if (auto ok = check_secret_path("aws/creds/" + aws_.role, allowed_paths_); !ok) {
    return util::make_error(fmt::format("EXECUTOR_AWS_ROLE: {}", ok.error().message));
  }
  if (auto c = ensure_client(); !c) return c.error();
  // A parent token of the task's own, living as long as the credentials. Without one (no
  // VAULT_USERNAME/VAULT_PASSWORD, a refused login, a bad EXECUTOR_AWS_TTL), as Go (vault/vault.go
  // NewDefaultVault: the error logged, the client goes on with its environment's VAULT_TOKEN): the
  // credentials are asked with VAULT_TOKEN when there is one, and the task fails when there is not.
  auto parent = aws_parent_token();
  if (!parent) {
    spdlog::error("Failed to get Vault parent Token to enable AWS Role: {}", parent.error().message);
    if (client_->config().token.empty()) return parent.error();
    parent = ensure_token();
    if (!parent) return parent.error();
    spdlog::info("AWS role: asking for the credentials with VAULT_TOKEN");
  }
  const std::string parent_token = *parent;
  const long ttl_s = static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(ttl).count());
  auto creds = client_->call("GET", "/v1/aws/creds/" + path_segment(aws_.role), nullptr, parent_token);
  if (!creds) return util::make_error(fmt::format("aws/creds/{}: {}", aws_.role, creds.error().message));
  auto got = aws_from_answer(*creds);
  if (!got) return util::make_error(fmt::format("aws/creds/{}: {}", aws_.role, got.error().message));
  AwsCredentials out = std::move(*got);
  for (const auto* v : {&out.access_key, &out.secret_key, &out.session_token}) util::register_secret(*v);
  {
    std::lock_guard<std::mutex> lock(mu_);
    lease_id_ = out.lease_id;
    lease_token_ = parent_token;
  }
  if (aws_.ttl.count() > 0 && !out.lease_id.empty()) {
    const long increment =
        ttl_s + static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(aws_.expiry_margin).count());
    auto renew = client_->call("PUT", "/v1/sys/leases/renew", {{"lease_id", out.lease_id}, {"increment", increment}},
                               parent_token);
    if (!renew || renew->status != 200 || !lease_duration_of(*renew)) {
      // Go fails the task here (callbacks.go:50-56, executor.go SetVaultAWSTTL).
      return util::make_error(fmt::format("Unable to renew AWS Creds Lease to {} s: {}", increment,
                                          !renew                 ? renew.error().message
                                          : renew->status != 200 ? describe(*renew)
                                                                 : "the answer has no lease_duration"));
    }
    out.lease_duration = *lease_duration_of(*renew);
    spdlog::info("AWS lease renewed for {} s (asked {} s)",
                 std::chrono::duration_cast<std::chrono::seconds>(out.lease_duration).count(), increment);
  }
  return out;
}

util::Result<SecretEnv> Secrets::resolve(const std::vector<std::string>& env) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (cleaned_ || cancel_.is_set()) return util::make_error("Vault: cancelled (the executor is stopping)");
    busy_ = true;
  }
  auto out = resolve_all(env);
  {
    std::lock_guard<std::mutex> lock(mu_);
    busy_ = false;
  }
  cv_.notify_all();
  return out;
}

bool Secrets::has_work(const std::vector<std::string>& env) const {
  if (!aws_.role.empty()) return true;
  return std::any_of(env.begin(), env.end(), [](const std::string& kv) {
    const auto eq = kv.find('=');
    auto parsed = parse_reference(eq == std::string::npos ? "" : kv.substr(eq + 1));
    return !parsed || parsed->has_value();
  });
}

util::Result<SecretEnv> Secrets::resolve_all(const std::vector<std::string>& env) {
  SecretEnv out;
  for (const auto& kv : env) {
    const auto eq = kv.find('=');
    const std::string name = util::escape_control_chars(kv.substr(0, eq));
    const std::string value = eq == std::string::npos ? "" : kv.substr(eq + 1);
    auto parsed = parse_reference(value);
    if (!parsed) return util::make_error(fmt::format("env {}: {}", name, parsed.error().message));
    if (!*parsed) continue;
    const Reference* ref = &**parsed;
    const std::string shown = util::escape_control_chars(value);  // a reference, never a secret
    // Every rule below applies to the decoded path: "%61uth/" is auth/.
    // Refused before any request, the token's included.
    if (auto ok = util::check_http_text("Vault path", ref->path); !ok) {
      return util::make_error(fmt::format("env {}: {}", name, ok.error().message));
    }
    if (auto ok = check_secret_path(ref->path, allowed_paths_); !ok) {
      return util::make_error(fmt::format("env {}: {}", name, ok.error().message));
    }
    auto token = ensure_token();
    if (!token) return util::make_error(fmt::format("env {}: {}: {}", name, shown, token.error().message));
    auto secret = read_secret(*client_, *token, *ref);
    if (!secret) return util::make_error(fmt::format("env {}: {}: {}", name, shown, secret.error().message));
    out.replacements[kv] = kv.substr(0, eq) + "=" + *secret;
    spdlog::info("env {}: resolved from Vault path {}", name, util::escape_control_chars(ref->path));
  }
  if (!aws_.role.empty()) {
    const std::string role = util::escape_control_chars(aws_.role);
    auto creds = aws_credentials();
    if (!creds) return util::make_error(fmt::format("AWS role {}: {}", role, creds.error().message));
    out.extra.push_back("AWS_ACCESS_KEY_ID=" + creds->access_key);
    out.extra.push_back("AWS_SECRET_ACCESS_KEY=" + creds->secret_key);
    if (!creds->session_token.empty()) out.extra.push_back("AWS_SESSION_TOKEN=" + creds->session_token);
    spdlog::info("AWS credentials for role {}: lease of {} s", role,
                 std::chrono::duration_cast<std::chrono::seconds>(creds->lease_duration).count());
    // The credentials end with the lease, or earlier with their parent token (Vault revokes a token's
    // leases with it): the watch takes whichever ends first.
    Duration life = creds->lease_duration;
    std::string message = fmt::format("the AWS credentials of role {} expire (lease of {} s)", role,
                                      std::chrono::duration_cast<std::chrono::seconds>(life).count());
    if (parent_ttl_ && parent_ttl_->count() > 0 && (life.count() <= 0 || *parent_ttl_ < life)) {
      life = *parent_ttl_;
      message = fmt::format("the AWS credentials of role {} end with the task's Vault token (TTL of {} s)", role,
                            std::chrono::duration_cast<std::chrono::seconds>(life).count());
    }
    if (life.count() > 0) {
      const Duration after = aws_stop_after(life, aws_.expiry_margin, aws_.expiry_jitter_pct, random_unit());
      const auto expiry = Clock::now() + after;
      const auto secs = [](Duration d) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(d).count() / 1e3;
      };
      spdlog::info(
          "AWS credentials of role {}: the task stops in {:.1f} s, at {:%Y-%m-%dT%H:%M:%SZ} (the lease of "
          "{:.0f} s less {:.0f} s, brought forward at random by up to {} % of it: "
          "EXECUTOR_AWS_ROLE_EXPIRY_JITTER)",
          role, secs(after),
          fmt::gmtime(std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() +
                                                           std::chrono::duration_cast<std::chrono::seconds>(after))),
          secs(life), secs(aws_.expiry_margin), aws_.expiry_jitter_pct);
      std::lock_guard<std::mutex> lock(mu_);
      if (!stop_ && !lease_thread_.joinable())
        lease_thread_ = std::thread([this, expiry, m = std::move(message)] { watch_lease(expiry, m); });
    }
  }
  return out;
}

void Secrets::watch_lease(std::chrono::steady_clock::time_point expiry, std::string message) {
  std::unique_lock<std::mutex> lock(mu_);
  if (cv_.wait_until(lock, expiry, [this] { return stop_; })) return;
  lock.unlock();
  on_expiring_(std::move(message));
}

void Secrets::cancel() {
  cancel_.set();
  cv_.notify_all();
}

void Secrets::cleanup() {
  const auto start = Clock::now();
  std::thread watcher;
  std::optional<Config> cfg;
  std::string lease_id, parent_token, lease_token;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (cleaned_) return;
    cleaned_ = true;
    stop_ = true;
    cancel_.set();
    cv_.notify_all();
    // A resolve in flight ends at once (its request is cut): wait for it a little, so that what it
    // obtained is revoked below.
    cv_.wait_for(lock, Millis(200), [this] { return !busy_; });
    watcher = std::move(lease_thread_);
    cfg = cfg_;
    lease_id = lease_id_;
    parent_token = parent_token_;
    lease_token = lease_token_;
  }
  if (watcher.joinable()) watcher.join();  // it waits on cv_ for stop_: returns at once
  if (!cfg || (lease_id.empty() && parent_token.empty())) return;
  // Its own client (the resolving thread may still hold the other one), bound to the cleanup budget.
  Client client(*cfg);
  if (!lease_id.empty()) {
    // The lease gets at most half of the budget: the token's revocation matters more (Vault revokes
    // the token's leases with it).
    client.set_deadline(std::min(start + kCleanupBudget, Clock::now() + kCleanupBudget / 2));
    auto r = client.call("PUT", "/v1/sys/leases/revoke", {{"lease_id", lease_id}}, lease_token);
    if (r && (r->status == 204 || r->status == 200)) {
      spdlog::info("AWS lease revoked");
    } else {
      spdlog::warn("could not revoke the AWS lease: {}", r ? describe(*r) : r.error().message);
    }
  }
  if (!parent_token.empty()) {
    client.set_deadline(start + kCleanupBudget);
    auto r = client.call("POST", "/v1/auth/token/revoke-self", nullptr, parent_token);
    if (r && (r->status == 204 || r->status == 200)) {
      spdlog::info("the task's Vault token is revoked");
    } else {
      spdlog::warn("could not revoke the task's Vault token: {}", r ? describe(*r) : r.error().message);
    }
  }
}

}  // namespace vault
