// The Vault module: a small client configured from the standard VAULT_* variables, the Go executor's
// token rules (VAULT_TOKEN, a cached token file, userpass login), `vault://` references in the
// container environment (KV v1 and v2), and AWS role credentials with their lease. Tokens, passwords,
// secret values and AWS keys never reach a log line: errors name variables and paths only; each such
// value is registered with util::register_secret the moment it is held.
//
// The environment that configures the module is partly the task's (not trusted): a token file is used
// only after checks that keep a task from sending an arbitrary host file to Vault, the token cache is
// written without following links, and every request has a total deadline.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "executor/launch.h"
#include "util/cancel.h"
#include "util/env.h"
#include "util/result.h"

namespace vault {

using Duration = std::chrono::nanoseconds;

struct Config {
  std::string addr = "https://127.0.0.1:8200";
  std::string token;  // VAULT_TOKEN
  std::string ca_cert, ca_path, client_cert, client_key;
  bool skip_verify = false;
  std::string tls_server_name;
  std::string namespace_;  // VAULT_NAMESPACE → X-Vault-Namespace
  int max_retries = 2;
  Duration client_timeout = std::chrono::seconds(60);
  std::string token_file;  // VAULT_TOKEN_FILE
  long ttl_s = 86400;      // VAULT_TTL
  std::string username, password;
};

util::Result<Config> config_from_env(const util::EnvLookup& env);

struct Response {
  int status = 0;
  nlohmann::json body;  // null when the answer had none or was not JSON
  std::string errors;   // the "errors" list joined, when present
};

class Client {
 public:
  explicit Client(Config cfg);
  ~Client();
  // One call with VAULT_MAX_RETRIES retries on connection errors, 412, 429 and 5xx (backoff doubling
  // from 250 ms). A non-2xx answer is a Response, not an error; an error means no answer at all.
  // Each attempt has a total deadline of the configured timeout (VAULT_CLIENT_TIMEOUT), not only a
  // per-read one. A path, token or namespace with a control character is refused before anything is sent.
  util::Result<Response> call(const std::string& method, const std::string& path, const nlohmann::json& body,
                              const std::string& token);
  const Config& config() const { return cfg_; }
  void set_backoff(std::chrono::milliseconds b) { backoff_ = b; }
  // Once `cancel` is set, a request in flight ends at once and no other starts (the executor is
  // stopping). Not owned; must outlive the client.
  void set_cancel(const util::CancelFlag* cancel) { cancel_ = cancel; }
  // No attempt, retry or backoff runs past `until` (cleanup at exit has a budget of its own).
  void set_deadline(std::chrono::steady_clock::time_point until) { until_ = until; }

 private:
  struct Http;
  Config cfg_;
  std::unique_ptr<Http> http_;
  std::chrono::milliseconds backoff_{250};
  const util::CancelFlag* cancel_ = nullptr;
  std::optional<std::chrono::steady_clock::time_point> until_;
};

// Token files (VAULT_TOKEN_FILE, read as a cache and written after a login). One is used only when it
// is a regular file (opened without following a symbolic link), owned by root or the executor's
// effective uid, of mode 0600 or stricter, with one link, at most kMaxTokenFileSize bytes, and holding
// one line of visible ASCII (one trailing newline allowed).
inline constexpr std::size_t kMaxTokenFileSize = 4096;
// Why `content` cannot be a token file's text (nullopt: it can); never quotes the content.
std::optional<std::string> token_text_problem(std::string_view content);
struct TokenFile {
  std::string value;  // without the trailing newline
  std::chrono::system_clock::time_point mtime;
};
// nullopt: no file at `path`. An error names the path and the check that failed, never the content.
util::Result<std::optional<TokenFile>> read_token_file(const std::string& path);
// mkstemp in the file's own directory, 0600, fsync, rename over `path`. What is at `path` now is
// replaced only when it is absent or a token file read_token_file accepts (a symbolic link, a foreign
// or world-readable file, a key of several lines are left alone): the path comes from the task's
// environment.
util::Result<void> write_token_file(const std::string& path, const std::string& token);

// The Go executor's token rules; `what` says where the token came from (safe to log).
struct Token {
  std::string value;
  std::string what;
};
util::Result<Token> obtain_token(Client& client);

// A `vault://<path>[?key=<field>]` reference, read as the Go executor reads it (net/url's url.Parse:
// path = host + path, percent-decoded; the first `key` of the query, form-decoded; the fragment
// dropped). `path` is the decoded path, trailing slashes removed: every check (check_secret_path)
// applies to it, and requests send it with each segment escaped again (wire_path), so that what
// Vault decodes is exactly what was checked.
struct Reference {
  std::string path;
  std::string key = "value";
};
// nullopt: not a vault:// reference. An error: a malformed percent-escape in the path (url.Parse
// refuses it too); the message quotes the reference, which is no secret.
util::Result<std::optional<Reference>> parse_reference(const std::string& value);
// A decoded path as sent: empty segments dropped, each segment percent-escaped.
std::string wire_path(std::string_view decoded_path);

// Whether a task may read this (decoded) Vault path with the executor's token. Never: `.` or `..`
// segments, a '%' (a proxy decoding twice would see an escape), and Vault's own endpoints (auth/,
// sys/, identity/, cubbyhole/, the token's own lookup) — a reference like
// vault://auth/token/lookup-self?key=id would hand the executor's token to the container. When
// `allowed_prefixes` is set (policy.vault_path_prefixes), only paths below one of them, whole segments.
util::Result<void> check_secret_path(const std::string& path,
                                     const std::optional<std::vector<std::string>>& allowed_prefixes);

// Reads one field of a secret, KV v1 or v2 (the mount's version is asked, else the answer's shape decides).
util::Result<std::string> read_secret(Client& client, const std::string& token, const Reference& ref);

// AWS credentials of a role, on a parent token of their own.
struct AwsCredentials {
  std::string access_key, secret_key, session_token;
  std::string lease_id;
  Duration lease_duration{0};
};

// Vault's answers, read apart from HTTP (pure functions; fuzzed in tests/fuzz). None of them throws,
// whatever the answer's shape.
Response response_from(int status, std::string_view body);  // what Client::call builds
// The KV v2 read path for `path` when the mounts answer says its mount is version 2.
std::optional<std::string> kv2_read_path(const Response& mount_answer, const std::string& path);
util::Result<std::string> secret_from_answer(const Response& r, const Reference& ref, bool v2_mount);
util::Result<std::string> token_from_login(const Response& r);
util::Result<AwsCredentials> aws_from_answer(const Response& r);
std::optional<Duration> lease_duration_of(const Response& r);
// A token's TTL in a login or renewal answer (auth.lease_duration); nullopt when absent or absurd.
std::optional<Duration> token_ttl_of(const Response& r);

// Token renewal as the Go executor does it after each userpass login (vault/vault_auth.go: Renew,
// GetTokenWithLogin): to the wanted TTL plus a startup grace of 600 s. Ours renews through
// auth/token/renew-self (Vault's default policy allows it; Go's auth/token/renew needs a grant of
// its own) and reads the TTL Vault granted from the answer. Logs Go's lines ("Successfully renewed
// token with Vault. New TTL: N", or "FAILED to get TTL we asked for! Asked for: A, Got: G" when
// Vault granted less). An error: no answer, or a non-200 one; never quotes the token.
inline constexpr long kStartupGraceS = 600;
util::Result<Duration> renew_token(Client& client, const std::string& token, long increment_s);
// The TTL asked for the AWS role's parent token, before the grace: EXECUTOR_AWS_ROLE_TTL (3600 s when
// unset), or Go's EXECUTOR_AWS_TTL when that is longer (Go reads only the latter, for the token).
long aws_parent_token_ttl_s(Duration role_ttl, std::optional<Duration> executor_aws_ttl);

// What the Secrets step gives the container: replacements for "NAME=vault://…" entries and extra
// variables (AWS keys). The core's type: it travels in StepDone and CreateContainer.
using SecretEnv = executor::SecretEnv;

struct AwsOptions {
  std::string role;                            // EXECUTOR_AWS_ROLE
  Duration ttl{0};                             // EXECUTOR_AWS_ROLE_TTL (0: 3600 s)
  Duration max_ttl = std::chrono::hours(744);  // EXECUTOR_AWS_ROLE_MAX_TTL
  Duration expiry_margin = std::chrono::seconds(360);
  int expiry_jitter_pct = 10;  // EXECUTOR_AWS_ROLE_EXPIRY_JITTER
};

// When the task stops for its AWS credentials, counted from their issue: at the end of their usable
// life (`life` less `margin`, never below 0), brought forward by `u` (in [0, 1), drawn at random by the
// caller) times `jitter_pct` % of that usable life. Pure.
Duration aws_stop_after(Duration life, Duration margin, int jitter_pct, double u);

// The module as the executor uses it: resolve before create; watch the AWS lease; clean up at the end.
class Secrets {
 public:
  using OnExpiring = std::function<void(std::string message)>;
  Secrets(util::EnvLookup env, AwsOptions aws, OnExpiring on_expiring);
  ~Secrets();

  // `env` is the container's environment ("NAME=value"). Connects to Vault only when needed.
  util::Result<SecretEnv> resolve(const std::vector<std::string>& env);
  // Whether resolve(env) has anything to do: a Vault reference in `env` (or a value that starts as
  // one and does not parse), or the AWS role. When not, its answer is no secrets, known at once.
  bool has_work(const std::vector<std::string>& env) const;
  // The site's policy.vault_path_prefixes (unset: any path but Vault's own endpoints).
  void restrict_paths(std::optional<std::vector<std::string>> allowed_prefixes) {
    allowed_paths_ = std::move(allowed_prefixes);
  }
  // Ends a resolve in flight at once (its Vault request is cut) and refuses later ones. Idempotent,
  // callable from any thread: the executor calls it before it joins the thread running resolve().
  void cancel();
  // cancel(), stops the lease watch, then revokes the AWS lease and the parent token, if any, within
  // kCleanupBudget whatever Vault does. Idempotent.
  void cleanup();
  static constexpr std::chrono::milliseconds kCleanupBudget{1000};

 private:
  util::Result<void> ensure_client();
  util::Result<std::string> ensure_token();
  util::Result<AwsCredentials> aws_credentials();
  // Logs in for the parent token and renews it (Go's outcome when the renewal fails: logged, the
  // login's own TTL stands). Sets parent_token_ (revoked at cleanup) and parent_ttl_.
  util::Result<std::string> aws_parent_token();
  void watch_lease(std::chrono::steady_clock::time_point expiry, std::string message);

  util::Result<SecretEnv> resolve_all(const std::vector<std::string>& env);

  util::EnvLookup env_;
  std::optional<std::vector<std::string>> allowed_paths_;
  AwsOptions aws_;
  OnExpiring on_expiring_;
  util::CancelFlag cancel_;
  std::unique_ptr<Client> client_;  // used by the resolving thread only
  std::optional<Token> token_;
  std::optional<Duration> parent_ttl_;  // the parent token's TTL, when Vault said (resolving thread only)
  std::mutex mu_;                       // guards what follows
  std::condition_variable cv_;
  std::optional<Config> cfg_;
  std::string parent_token_, lease_id_;
  std::string lease_token_;  // the token the AWS credentials were asked with: it revokes their lease
  bool stop_ = false;        // the lease watch ends
  bool busy_ = false;        // a resolve() is running
  bool cleaned_ = false;     // cleanup() ran
  std::thread lease_thread_;
};

}  // namespace vault
