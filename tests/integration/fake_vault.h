// A Vault double on 127.0.0.1, strict about what the executor must get right: the X-Vault-Token of a
// live token on every call but login (403 "permission denied" otherwise), KV v1 at secret/ and KV v2
// at kv/ (reads under kv/ without data/ are 404, as a versioned mount answers), userpass login,
// lookup-self, renew, revoke-self, aws/creds, sys/leases renew and revoke, the mounts endpoint.
// Records every call, with the X-Vault-Token it carried. Can also answer one byte a second (a peer that
// keeps a request alive under per-read timeouts).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
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
  FakeVault();
  ~FakeVault();
  std::string addr() const;

  void add_user(const std::string& user, const std::string& password);
  std::string add_token();                                                         // a live token
  void add_token(const std::string& value);                                        // this value becomes a live token
  void put_kv1(const std::string& path, std::map<std::string, std::string> data);  // under secret/
  void put_kv2(const std::string& path, std::map<std::string, std::string> data);  // under kv/
  void deny(const std::string& path_prefix);                                       // reads under it answer 403
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
  };
  std::vector<Call> calls() const;
  std::size_t count(const std::string& method, const std::string& path_prefix) const;
  bool token_live(const std::string& token) const;
  std::vector<std::string> revoked_leases() const;
  std::vector<std::pair<std::string, long>> lease_renewals() const;

 private:
  void handle(const std::string& method, const std::string& path, const std::string& token, const std::string& body,
              int& status, std::string& out);

  mutable std::mutex mu_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  int next_ = 1;
  int fail_n_ = 0, fail_status_ = 503, garbage_n_ = 0, dribble_n_ = 0, dribbled_ = 0;
  std::atomic<bool> stopping_{false};  // ends the dribbling answers
  std::map<std::string, std::string> users_;
  std::set<std::string> tokens_;
  std::map<std::string, std::map<std::string, std::string>> kv1_, kv2_;
  std::vector<std::string> denied_;
  struct Role {
    std::string access, secret, session;
    long lease = 0;
  };
  std::map<std::string, Role> roles_;
  std::set<std::string> leases_;
  std::vector<std::string> revoked_leases_;
  std::vector<std::pair<std::string, long>> renewals_;
  std::vector<Call> calls_;
};

}  // namespace testing_support
