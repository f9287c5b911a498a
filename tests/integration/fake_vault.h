// A Vault double on 127.0.0.1, strict about what the executor must get right, and only as lenient as
// the real one: the X-Vault-Token of a live token on every call but login (403 "permission denied"
// otherwise), KV v1 at secret/ and KV v2 at kv/ (reads under kv/ without data/ are 404, as a versioned
// mount answers), userpass login, lookup-self, renew and renew-self, revoke-self, aws/creds,
// sys/leases renew and revoke, the mounts endpoint.
//
// Tokens live as Vault's do (hashicorp/vault: builtin/credential/userpass/path_login.go,
// vault/token_store.go handleRenew/handleRenewSelf, sdk/framework/backend.go):
// - a login reads `password` (and `username`) only: any other field, a `ttl` included, is ignored and
//   named in the answer's warnings ("Endpoint ignored these unrecognized parameters: [ttl]"); the
//   token's TTL is the user's token TTL;
// - a renewal's `increment` is seconds (a number, or a string: "3600", "4200s", "70m", "1h"); 0 or
//   none gives the user's token TTL; the TTL granted is capped by the token's max TTL counted from
//   its issue (with Vault's warning), and is the answer's auth.lease_duration;
// - a token past its TTL is dead; revoke-self revokes the token's leases with it.
// Records every call, with the X-Vault-Token it carried. Can also answer one byte a second (a peer
// that keeps a request alive under per-read timeouts).
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace httplib {
class Server;
}

namespace testing_support {

class FakeVault {
 public:
  // Vault's defaults: a userpass token lives 768 h, at most 768 h.
  static constexpr long kDefaultTokenTtlS = 2764800;

  FakeVault();
  ~FakeVault();
  std::string addr() const;

  void add_user(const std::string& user, const std::string& password, long token_ttl_s = kDefaultTokenTtlS,
                long token_max_ttl_s = kDefaultTokenTtlS);
  std::string add_token();                                                         // a live token
  void add_token(const std::string& value);                                        // this value becomes a live token
  void put_kv1(const std::string& path, std::map<std::string, std::string> data);  // under secret/
  void put_kv2(const std::string& path, std::map<std::string, std::string> data);  // under kv/
  void deny(const std::string& path_prefix);  // calls under it (any method) answer 403, as a policy would
  void set_aws_role(const std::string& role, const std::string& access_key, const std::string& secret_key,
                    const std::string& session_token, long lease_duration_s);
  void go_down();
  // The next `n` calls answer `status` (503: sealed) before anything else.
  void fail_next(int n, int status);
  // The next `n` calls answer 200 with a body that is not JSON (a broken proxy in front of Vault).
  void garbage_next(int n);
  // The next `n` calls get their answer (a 200 JSON body of some hundred bytes) one byte a second.
  void dribble_next(int n);
  // Calls whose answer has begun dribbling (the request reached the fake).
  int dribbled() const;

  struct Call {
    std::string method, path, token, body;
    int status = 0;
    std::string target;  // the request target as sent (path still percent-escaped, query included)
    std::string answer;  // the body answered
  };
  std::vector<Call> calls() const;
  std::size_t count(const std::string& method, const std::string& path_prefix) const;
  bool token_live(const std::string& token) const;
  // Seconds the token has left (0: none or dead; -1: a token without expiry).
  long token_ttl_left(const std::string& token) const;
  std::vector<std::string> revoked_leases() const;
  std::vector<std::pair<std::string, long>> lease_renewals() const;
  // Token renewals Vault granted (renew or renew-self).
  struct TokenRenewal {
    std::string endpoint;   // "auth/token/renew-self" or "auth/token/renew"
    std::string token;      // the token renewed
    std::string increment;  // the `increment` field as sent (JSON), "" when absent
    long granted_s = 0;     // the TTL granted (auth.lease_duration)
  };
  std::vector<TokenRenewal> token_renewals() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct TokenEntry {
    long default_ttl_s = 0;  // what a renewal without increment grants; 0: not renewable
    long max_ttl_s = 0;
    Clock::time_point issued;
    std::optional<Clock::time_point> expires;  // none: no expiry
  };
  struct User {
    std::string password;
    long ttl_s = kDefaultTokenTtlS, max_ttl_s = kDefaultTokenTtlS;
  };

  void handle(const std::string& method, const std::string& path, const std::string& token, const std::string& body,
              int& status, std::string& out);
  bool live_locked(const std::string& token) const;
  void login(const std::string& user, const std::string& body_text, int& status, std::string& out);
  void renew(const std::string& endpoint, const std::string& target, const std::string& body_text, int& status,
             std::string& out);

  mutable std::mutex mu_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  int next_ = 1;
  int fail_n_ = 0, fail_status_ = 503, garbage_n_ = 0, dribble_n_ = 0, dribbled_ = 0;
  std::atomic<bool> stopping_{false};  // ends the dribbling answers
  std::map<std::string, User> users_;
  std::map<std::string, TokenEntry> tokens_;
  std::map<std::string, std::map<std::string, std::string>> kv1_, kv2_;
  std::vector<std::string> denied_;
  struct Role {
    std::string access, secret, session;
    long lease = 0;
  };
  std::map<std::string, Role> roles_;
  std::map<std::string, std::string> leases_;  // lease id → the token that read it
  std::vector<std::string> revoked_leases_;
  std::vector<std::pair<std::string, long>> renewals_;
  std::vector<TokenRenewal> token_renewals_;
  std::vector<Call> calls_;
};

}  // namespace testing_support
