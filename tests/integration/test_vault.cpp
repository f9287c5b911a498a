// Vault end to end: the real executor, the fake agent, a fake Vault and a private dockerd.
#include <catch2/catch.hpp>

#include <dirent.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "executor_harness.h"
#include "fake_vault.h"
#include "task_builder.h"
#include "test_files.h"
#include "vault/vault.h"

using namespace std::chrono_literals;
using fake::FakeAgent;
using testing_support::DockerDaemon;
using testing_support::FakeVault;
using testing_support::Harness;
using testing_support::TaskBuilder;
namespace v1 = ::mesos::v1;

namespace {

const std::string kCanary = "canary-s3cret-value-7f3a";

std::map<std::string, std::string> vault_env(const FakeVault& v, std::map<std::string, std::string> more = {}) {
  std::map<std::string, std::string> env = {{"VAULT_ADDR", v.addr()},
                                            {"VAULT_MAX_RETRIES", "0"},
                                            {"VAULT_CLIENT_TIMEOUT", "3s"},
                                            {"EXECUTOR_SIDECAR_BACKOFF", "1h"}};
  for (auto& [k, val] : more) env[k] = val;
  return env;
}

std::string container_env(Harness& h, const v1::TaskStatus& running) {
  return h.daemon.cli({"inspect", "--format", "{{json .Config.Env}}", Harness::container_id(running)});
}

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string cmdline(pid_t pid) { return slurp("/proc/" + std::to_string(pid) + "/cmdline"); }

bool any_container_named(Harness& h, const std::string& task) {
  return !h.daemon.cli({"ps", "-aq", "--filter", "name=" + docker::container_name(task)}).empty();
}

// `content` in `path` with exactly `mode` (the umask does not apply).
void write_file(const std::string& path, const std::string& content, mode_t mode) {
  { std::ofstream(path, std::ios::trunc) << content; }
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

// Removes a test's directory however the test ends (a failed REQUIRE included).
struct DirGuard {
  std::string path;
  ~DirGuard() { testing_support::remove_tree(path); }
};

// Another user of a shared directory (nobody).
constexpr uid_t kOtherUid = 65534;

std::set<std::string> dir_entries(const std::string& dir) {
  std::set<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      const std::string n = e->d_name;
      if (n != "." && n != "..") out.insert(n);
    }
    ::closedir(d);
  }
  return out;
}

bool any_call_with_token_containing(const FakeVault& v, const std::string& part) {
  for (const auto& c : v.calls()) {
    if (c.token.find(part) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("vault:// values from KV v1 and KV v2, with and without ?key=, reach the container only") {
  FakeVault vault;
  const std::string token = vault.add_token();
  vault.put_kv1("db", {{"value", kCanary + "-v1"}, {"user", "app-user"}});
  vault.put_kv2("app/api", {{"value", kCanary + "-v2"}, {"key2", "second"}});
  Harness h(vault_env(vault, {{"VAULT_TOKEN", token}}));
  h.agent.launch(TaskBuilder("vault-1", DockerDaemon::shared().image("test/bb:1"))
                     .env("DB_PASS", "vault://secret/db")
                     .env("DB_USER", "vault://secret/db?key=user")
                     .param("env", "API_KEY=vault://kv/app/api")
                     .env("API_KEY2", "vault://kv/app/api?key=key2")
                     .env("PLAIN", "vault-free")
                     .shell("sh -c 'trap \"exit 0\" TERM; sleep 600 & wait'"));
  const auto running = h.wait_state("vault-1", v1::TASK_RUNNING);
  const std::string env = container_env(h, running);
  CHECK_THAT(env, Catch::Contains("\"DB_PASS=" + kCanary + "-v1\""));
  CHECK_THAT(env, Catch::Contains("\"DB_USER=app-user\""));
  CHECK_THAT(env, Catch::Contains("\"API_KEY=" + kCanary + "-v2\""));
  CHECK_THAT(env, Catch::Contains("\"API_KEY2=second\""));
  CHECK_THAT(env, Catch::Contains("\"PLAIN=vault-free\""));
  CHECK_THAT(cmdline(h.exe->pid()), !Catch::Contains(kCanary));
  // Every call carried the token; none was refused.
  for (const auto& c : vault.calls()) {
    CHECK(c.token == token);
    CHECK(c.status < 400);
  }
  h.agent.kill("vault-1");
  h.wait_state("vault-1", v1::TASK_KILLED);
  REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
  const std::string out = h.exe->output();
  CHECK_THAT(out, !Catch::Contains(kCanary));
  CHECK_THAT(out, !Catch::Contains(token));
  CHECK_THAT(out, Catch::Contains("DB_PASS=vault://secret/db"));  // the dump shows the reference
}

TEST_CASE("Token file: a young valid one is reused; an old or rejected one leads to a login and a new 0600 file") {
  FakeVault vault;
  vault.add_user("exec-user", "exec-pass-canary");
  vault.put_kv1("db", {{"value", "v"}});
  const std::string dir = testing_support::make_temp_dir("sce-vault.");
  const std::string file = dir + "/token";
  auto run_task = [&](const std::string& id) {
    Harness h(vault_env(vault, {{"VAULT_TOKEN_FILE", file},
                                {"VAULT_USERNAME", "exec-user"},
                                {"VAULT_PASSWORD", "exec-pass-canary"},
                                {"VAULT_TTL", "86400"}}));
    h.agent.launch(
        TaskBuilder(id, DockerDaemon::shared().image("test/bb:1")).env("S", "vault://secret/db").shell("true"));
    h.wait_state(id, v1::TASK_FINISHED);
    REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
    CHECK_THAT(h.exe->output(), !Catch::Contains("exec-pass-canary"));
    CHECK_THAT(h.exe->output(), !Catch::Contains("exec-user"));  // the user name is a credential too
    CHECK_THAT(h.exe->output(), !Catch::Contains("hvs."));
  };
  SECTION("young and valid: reused") {
    const std::string t = vault.add_token();
    write_file(file, t + "\n", 0600);
    run_task("tf-1");
    CHECK(vault.count("POST", "/v1/auth/userpass/login/") == 0);
    CHECK(vault.count("GET", "/v1/auth/token/lookup-self") == 1);
  }
  SECTION("too old: login, file rewritten with mode 0600") {
    const std::string t = vault.add_token();
    write_file(file, t + "\n", 0600);
    const time_t old = std::time(nullptr) - 86400 + 3000;  // inside the one-hour grace: too old
    utimbuf times{old, old};
    REQUIRE(::utime(file.c_str(), &times) == 0);
    run_task("tf-2");
    CHECK(vault.count("POST", "/v1/auth/userpass/login/exec-user") == 1);
    const std::string fresh = slurp(file);
    CHECK(fresh != t);
    CHECK(vault.token_live(fresh));
    struct stat st {};
    REQUIRE(::stat(file.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
  }
  SECTION("rejected by lookup-self: login") {
    write_file(file, "hvs.not-a-live-token\n", 0600);
    run_task("tf-3");
    CHECK(vault.count("POST", "/v1/auth/userpass/login/exec-user") == 1);
    CHECK(vault.token_live(slurp(file)));
  }
  testing_support::remove_tree(dir);
}

// The image check is left to the create only when Vault has nothing to read (src/main.cpp wires
// RuntimeOptions::image_check_by_create to Secrets::has_work): with a reference, the image is asked
// for and pulled first, so a pull that fails leaves Vault unread; without one, the create finds the
// image missing and the pull follows it.
TEST_CASE("An absent image is pulled before Vault is read; without Vault references the create finds it missing") {
  DockerDaemon& d = DockerDaemon::shared();
  testing_support::LocalRegistry registry("tester", "s3cret-pw");
  const std::string present = registry.push(d, d.image("test/bb:1"), "vorder/bb:1");  // only in the registry
  const std::string nowhere = registry.address() + "/vorder/nope:1";
  FakeVault vault;
  vault.put_kv1("db", {{"value", kCanary}});
  const std::string token = vault.add_token();
  Harness h(vault_env(vault, {{"VAULT_TOKEN", token}, {"DOCKER_CONFIG", registry.config_dir("tester", "s3cret-pw")}}));

  SECTION("a reference and an image nowhere: the pull fails, Vault is never read") {
    h.agent.launch(TaskBuilder("vorder-1", nowhere).env("MY_VAR", "vault://secret/db").shell("true"));
    const auto failed = h.wait_state("vorder-1", v1::TASK_FAILED, 60s);
    CHECK_THAT(failed.message(), Catch::StartsWith("pull failed: image " + nowhere));
    CHECK(vault.count("GET", "/v1/secret/") == 0);
    CHECK_THAT(h.exe->output(), !Catch::Contains("not confirmed by the create"));
  }
  SECTION("a reference and an image in the registry: pulled, then read, then run") {
    h.agent.launch(TaskBuilder("vorder-2", present).env("MY_VAR", "vault://secret/db").shell("true"));
    h.wait_state("vorder-2", v1::TASK_FINISHED, 60s);
    CHECK(vault.count("GET", "/v1/secret/db") == 1);
    const std::string out = h.exe->output();
    CHECK_THAT(out, Catch::Contains("Pulling Docker image"));
    CHECK_THAT(out, !Catch::Contains("not confirmed by the create"));
    d.cli({"rmi", "-f", present});
  }
  SECTION("no reference: the create finds the image missing, the pull follows, the task runs") {
    h.agent.launch(TaskBuilder("vorder-3", present).param("label", "no-equals-sign").shell("true"));
    h.wait_state("vorder-3", v1::TASK_FINISHED, 60s);
    const std::string out = h.exe->output();
    const auto unconfirmed = out.find("not confirmed by the create");
    const auto pulling = out.find("Pulling Docker image");
    CHECK(unconfirmed != std::string::npos);
    CHECK(pulling != std::string::npos);
    CHECK(unconfirmed < pulling);
    // The environment dump once, for the create that made the container.
    const std::string dump = "Docker environment of container";
    CHECK(out.find(dump) != std::string::npos);
    CHECK(out.find(dump) == out.rfind(dump));
    // So is the plan's warning, though the plan is built at both pulls.
    const std::string warning = "label=no-equals-sign has no '='";
    CHECK(out.find(warning) != std::string::npos);
    CHECK(out.find(warning) == out.rfind(warning));
    CHECK(vault.count("GET", "/v1/secret/") == 0);
    d.cli({"rmi", "-f", present});
  }
  REQUIRE(h.exe->wait(15s) == std::optional<int>(0));
}

TEST_CASE("Vault failures fail the task naming the variable and path; no container is created") {
  struct Case {
    const char* name;
    const char* value;
    const char* want;
  };
  const auto c = GENERATE(Case{"missing-path", "vault://secret/nope", "Path 'secret/nope' not found"},
                          Case{"missing-key", "vault://secret/db?key=nokey", "Value for path 'secret/db' not found"},
                          Case{"denied", "vault://secret/private/x", "permission denied"},
                          Case{"down", "vault://secret/db", "Vault"});
  INFO(c.name);
  FakeVault vault;
  vault.put_kv1("db", {{"value", kCanary}});
  vault.put_kv1("private/x", {{"value", kCanary}});
  vault.deny("secret/private");
  const std::string token = vault.add_token();
  auto env = vault_env(vault, {{"VAULT_TOKEN", token}});
  if (std::string(c.name) == "down")
    env["VAULT_ADDR"] = fmt::format("http://127.0.0.1:{}", testing_support::free_tcp_port());
  Harness h(env);
  const std::string task = std::string("vfail-") + c.name;
  h.agent.launch(TaskBuilder(task, DockerDaemon::shared().image("test/bb:1")).env("MY_VAR", c.value).shell("true"));
  const auto failed = h.wait_state(task, v1::TASK_FAILED, 30s);
  CHECK_THAT(failed.message(), Catch::Contains("MY_VAR"));
  CHECK_THAT(failed.message(), Catch::Contains(c.want));
  CHECK_THAT(failed.message(), !Catch::Contains(kCanary));
  CHECK_FALSE(any_container_named(h, task));
  REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
}

TEST_CASE(
    "AWS role: keys in the container, lease renewed with the padded increment, revoked with the token at the end") {
  FakeVault vault;
  vault.add_user("exec-user", "pw");
  vault.set_aws_role("app-role", "AKIA-canary-access", kCanary + "-aws-secret", "session-canary", 3600);
  Harness h(vault_env(vault, {{"VAULT_USERNAME", "exec-user"},
                              {"VAULT_PASSWORD", "pw"},
                              {"EXECUTOR_AWS_ROLE", "app-role"},
                              {"EXECUTOR_AWS_ROLE_TTL", "1h"}}));
  h.agent.launch(TaskBuilder("aws-1", DockerDaemon::shared().image("test/bb:1"))
                     .shell("sh -c 'trap \"exit 0\" TERM; sleep 600 & wait'"));
  const auto running = h.wait_state("aws-1", v1::TASK_RUNNING);
  const std::string env = container_env(h, running);
  CHECK_THAT(env, Catch::Contains("\"AWS_ACCESS_KEY_ID=AKIA-canary-access\""));
  CHECK_THAT(env, Catch::Contains("\"AWS_SECRET_ACCESS_KEY=" + kCanary + "-aws-secret\""));
  CHECK_THAT(env, Catch::Contains("\"AWS_SESSION_TOKEN=session-canary\""));
  const auto renewals = vault.lease_renewals();
  REQUIRE(renewals.size() == 1);
  CHECK(renewals[0].second == 3600 + 360);
  // The parent token: a login with the password alone (Go: vault/vault_auth.go:219), then renewed to
  // the role's TTL + 600 s (Go: vault/vault_auth.go:229) with its own token, before the credentials.
  std::string parent;
  std::vector<std::string> order;
  for (const auto& c : vault.calls()) {
    if (c.path == "/v1/auth/userpass/login/exec-user") {
      CHECK(nlohmann::json::parse(c.body) == nlohmann::json{{"password", "pw"}});  // no ttl
      order.push_back("login");
    }
    if (c.path == "/v1/auth/token/renew-self") order.push_back("renew-self");
    if (c.path.rfind("/v1/aws/creds/", 0) == 0) {
      parent = c.token;
      order.push_back("creds");
    }
  }
  CHECK(order == std::vector<std::string>{"login", "renew-self", "creds"});
  REQUIRE_FALSE(parent.empty());
  const auto token_renewals = vault.token_renewals();
  REQUIRE(token_renewals.size() == 1);
  CHECK(token_renewals[0].endpoint == "auth/token/renew-self");
  CHECK(token_renewals[0].token == parent);
  CHECK(token_renewals[0].increment == "4200");  // seconds, a JSON number, as Go sends it
  CHECK(token_renewals[0].granted_s == 4200);
  CHECK(vault.token_ttl_left(parent) > 4100);  // not the login's 768 h: the renewal set it
  CHECK(vault.token_live(parent));
  CHECK_THAT(h.exe->output(), Catch::Contains("Successfully renewed token with Vault. New TTL: 4200"));
  h.agent.kill("aws-1");
  h.wait_state("aws-1", v1::TASK_KILLED);
  REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
  CHECK(vault.revoked_leases().size() == 1);
  CHECK_FALSE(vault.token_live(parent));
  for (const char* s : {"AKIA-canary-access", "session-canary"}) CHECK_THAT(h.exe->output(), !Catch::Contains(s));
  CHECK_THAT(h.exe->output(), !Catch::Contains(kCanary));
}

// Go (vault/vault.go NewDefaultVault): a parent token that cannot be had is an error line, and the
// client goes on with the VAULT_TOKEN of its environment.
TEST_CASE("AWS role without VAULT_USERNAME and VAULT_PASSWORD: the credentials are asked with VAULT_TOKEN, as Go") {
  FakeVault vault;
  const std::string token = vault.add_token();
  vault.set_aws_role("app-role", "AKIA-canary-shared", kCanary + "-aws-shared", "", 3600);
  Harness h(vault_env(vault, {{"VAULT_TOKEN", token}, {"EXECUTOR_AWS_ROLE", "app-role"}}));
  h.agent.launch(TaskBuilder("aws-shared", DockerDaemon::shared().image("test/bb:1"))
                     .shell("sh -c 'trap \"exit 0\" TERM; sleep 600 & wait'"));
  const auto running = h.wait_state("aws-shared", v1::TASK_RUNNING);
  CHECK_THAT(container_env(h, running), Catch::Contains("\"AWS_ACCESS_KEY_ID=AKIA-canary-shared\""));
  CHECK_THAT(h.exe->output(), Catch::Contains("Failed to get Vault parent Token to enable AWS Role"));
  std::size_t creds = 0;
  for (const auto& c : vault.calls()) {
    CHECK(c.path.find("/login") == std::string::npos);
    if (c.path.rfind("/v1/aws/creds/", 0) == 0) {
      ++creds;
      CHECK(c.token == token);
    }
  }
  CHECK(creds == 1);
  h.agent.kill("aws-shared");
  h.wait_state("aws-shared", v1::TASK_KILLED);
  REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
  CHECK(vault.revoked_leases().size() == 1);  // with the token that asked for it
  CHECK(vault.token_live(token));             // the shared token is not the task's to revoke
  CHECK_THAT(h.exe->output(), !Catch::Contains(kCanary));

  // Neither a login nor VAULT_TOKEN: the task fails, saying what is missing.
  Harness none(vault_env(vault, {{"EXECUTOR_AWS_ROLE", "app-role"}}));
  none.agent.launch(TaskBuilder("aws-none", DockerDaemon::shared().image("test/bb:1")).shell("true"));
  const auto failed = none.wait_state("aws-none", v1::TASK_FAILED, 30s);
  CHECK_THAT(failed.message(), Catch::Contains("VAULT_USERNAME"));
  REQUIRE(none.exe->wait(10s).has_value());

  // The role is a read like a vault:// one: the site's policy.vault_path_prefixes holds for it.
  const auto creds_calls = vault.count("GET", "/v1/aws/creds/");
  testing_support::SiteFile site("policy:\n  vault_path_prefixes: [secret/app]\n");
  Harness fenced(vault_env(vault, {{"VAULT_TOKEN", token}, {"EXECUTOR_AWS_ROLE", "app-role"}}), false, {},
                 {"--config", site.path});
  fenced.agent.launch(TaskBuilder("aws-fenced", DockerDaemon::shared().image("test/bb:1")).shell("true"));
  const auto refused = fenced.wait_state("aws-fenced", v1::TASK_FAILED, 30s);
  CHECK_THAT(refused.message(), Catch::Contains("aws/creds/app-role") && Catch::Contains("vault_path_prefixes"));
  CHECK(vault.count("GET", "/v1/aws/creds/") == creds_calls);
  REQUIRE(fenced.exe->wait(10s).has_value());
}

TEST_CASE("A short AWS lease makes the task stop itself before it ends") {
  FakeVault vault;
  vault.add_user("exec-user", "pw");
  vault.set_aws_role("short", "AKIA-x", "secret-x", "", 362);  // expires 360 s early: in 2 s
  Harness h(
      vault_env(vault, {{"VAULT_USERNAME", "exec-user"}, {"VAULT_PASSWORD", "pw"}, {"EXECUTOR_AWS_ROLE", "short"}}));
  h.agent.launch(TaskBuilder("aws-2", DockerDaemon::shared().image("test/bb:1"))
                     .shell("sh -c 'trap \"exit 0\" TERM; sleep 600 & wait'"));
  h.wait_state("aws-2", v1::TASK_RUNNING);
  const auto t0 = std::chrono::steady_clock::now();
  const auto ended = h.wait_state("aws-2", v1::TASK_KILLED, 20s);
  CHECK(std::chrono::steady_clock::now() - t0 < 10s);
  CHECK_THAT(ended.message(), Catch::Contains("AWS credentials"));
  REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
  CHECK(vault.revoked_leases().size() == 1);
  CHECK(vault.lease_renewals().empty());  // no EXECUTOR_AWS_ROLE_TTL: no renewal
}

TEST_CASE("VAULT_MAX_RETRIES: 503 and 429 answers are retried, up to the count") {
  FakeVault vault;
  const std::string token = vault.add_token();
  vault.put_kv1("db", {{"value", "v"}});
  auto cfg = vault::config_from_env(util::map_env({{"VAULT_ADDR", vault.addr()}, {"VAULT_MAX_RETRIES", "2"}}));
  REQUIRE(cfg);
  vault::Client client(*cfg);
  client.set_backoff(10ms);
  vault.fail_next(2, 503);
  auto ok = client.call("GET", "/v1/secret/db", nullptr, token);
  REQUIRE(ok);
  CHECK(ok->status == 200);
  vault.fail_next(3, 429);
  auto gave_up = client.call("GET", "/v1/secret/db", nullptr, token);
  REQUIRE(gave_up);
  CHECK(gave_up->status == 429);
  CHECK_THAT(gave_up->errors, Catch::Contains("sealed"));
  CHECK(vault.count("GET", "/v1/secret/db") == 6);
  // 4xx other than 412/429 is an answer, not retried.
  auto missing = client.call("GET", "/v1/secret/none", nullptr, token);
  REQUIRE(missing);
  CHECK(missing->status == 404);
  CHECK(vault.count("GET", "/v1/secret/none") == 1);
}

// Issue 16 item 3: a task that names a host file as VAULT_TOKEN_FILE must not get it sent to Vault.
TEST_CASE(
    "Token file checks: a 0644, two-line, symlinked or foreign file is not sent; login instead, or a failure naming "
    "the check") {
  struct Case {
    const char* name;
    const char* want;  // in the failure message and the log line
  };
  const auto c = GENERATE(Case{"proper", ""}, Case{"mode-0644", "mode 0644"}, Case{"two-lines", "more than one line"},
                          Case{"symlink", "symbolic link"}, Case{"foreign-owner", "owned by uid 65534"},
                          Case{"fifo", "not a regular file"});
  const bool with_login = GENERATE(false, true);
  INFO(c.name << (with_login ? " with login credentials" : " without login credentials"));
  FakeVault vault;
  vault.add_user("exec-user", "exec-pass-canary");
  vault.put_kv1("db", {{"value", kCanary}});
  const std::string token = std::string("hvs.file-token-") + c.name;
  vault.add_token(token);  // were it sent, Vault would take it
  const std::string dir = testing_support::make_temp_dir("sce-vault-file.");
  const DirGuard cleanup{dir};
  const std::string file = dir + "/token";
  const std::string real = dir + "/real-token";
  const std::string name = c.name;
  if (name == "proper") write_file(file, token + "\n", 0600);
  if (name == "mode-0644") write_file(file, token + "\n", 0644);
  if (name == "two-lines") write_file(file, token + "\nsecond-line\n", 0600);
  if (name == "symlink") {
    write_file(real, token + "\n", 0600);  // a proper file behind the link
    REQUIRE(::symlink(real.c_str(), file.c_str()) == 0);
  }
  if (name == "foreign-owner") {
    write_file(file, token + "\n", 0600);
    REQUIRE(::chown(file.c_str(), kOtherUid, kOtherUid) == 0);
  }
  if (name == "fifo") REQUIRE(::mkfifo(file.c_str(), 0600) == 0);  // an open that would block
  std::map<std::string, std::string> more = {{"VAULT_TOKEN_FILE", file}};
  if (with_login) {
    more["VAULT_USERNAME"] = "exec-user";
    more["VAULT_PASSWORD"] = "exec-pass-canary";
  }
  Harness h(vault_env(vault, more));
  const std::string task = std::string("tfc-") + c.name + (with_login ? "-login" : "");
  h.agent.launch(
      TaskBuilder(task, DockerDaemon::shared().image("test/bb:1")).env("S", "vault://secret/db").shell("true"));
  if (name == "proper") {
    h.wait_state(task, v1::TASK_FINISHED);
    CHECK(vault.count("GET", "/v1/auth/token/lookup-self") == 1);
    CHECK(vault.count("POST", "/v1/auth/userpass/login/") == 0);
    CHECK(any_call_with_token_containing(vault, token));
  } else if (with_login) {
    h.wait_state(task, v1::TASK_FINISHED);
    CHECK(vault.count("POST", "/v1/auth/userpass/login/exec-user") == 1);
    CHECK_FALSE(any_call_with_token_containing(vault, token));
    CHECK_THAT(h.exe->output(), Catch::Contains(c.want));
    CHECK_THAT(h.exe->output(), Catch::Contains(file));
  } else {
    const auto failed = h.wait_state(task, v1::TASK_FAILED);
    CHECK_THAT(failed.message(), Catch::Contains(c.want));
    CHECK_THAT(failed.message(), Catch::Contains(file));
    CHECK_THAT(failed.message(), Catch::Contains("Must set VAULT_USERNAME and VAULT_PASSWORD"));
    CHECK_THAT(failed.message(), !Catch::Contains(token));
    CHECK(vault.calls().empty());  // nothing at all reached Vault
    CHECK_FALSE(any_container_named(h, task));
  }
  REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
  CHECK_THAT(h.exe->output(), !Catch::Contains(kCanary));
  CHECK_THAT(h.exe->output(), !Catch::Contains("exec-pass-canary"));
  if (name != "proper") CHECK_THAT(h.exe->output(), !Catch::Contains(token));
  // A refused file is left as it was: not replaced by the new token, not written through.
  if (name == "symlink") {
    struct stat st {};
    REQUIRE(::lstat(file.c_str(), &st) == 0);
    CHECK(S_ISLNK(st.st_mode));
    CHECK(slurp(real) == token + "\n");
  }
  if (name == "mode-0644" || name == "two-lines" || name == "foreign-owner") {
    CHECK(slurp(file).rfind(token, 0) == 0);
  }
}

// Issue 16 item 5: the token cache in a shared directory, with the old temp name planted by another user.
TEST_CASE("Token cache write: a planted <cache>.tmp or a symlink at that name is not written through") {
  const bool symlinked = GENERATE(false, true);
  INFO((symlinked ? "<cache>.tmp is a symlink" : "<cache>.tmp is another user's file"));
  FakeVault vault;
  vault.add_user("exec-user", "exec-pass-canary");
  vault.put_kv1("db", {{"value", "v"}});
  const std::string dir = testing_support::make_temp_dir("sce-vault-shared.");
  const DirGuard cleanup{dir};
  REQUIRE(::chmod(dir.c_str(), 01777) == 0);  // like /tmp
  const std::string cache = dir + "/token";
  const std::string planted = cache + ".tmp";
  const std::string stolen = dir + "/stolen";  // the other user's file the link points to
  if (symlinked) {
    write_file(stolen, "", 0666);
    REQUIRE(::chown(stolen.c_str(), kOtherUid, kOtherUid) == 0);
    REQUIRE(::symlink(stolen.c_str(), planted.c_str()) == 0);
    REQUIRE(::lchown(planted.c_str(), kOtherUid, kOtherUid) == 0);
  } else {
    write_file(planted, "", 0666);
    REQUIRE(::chown(planted.c_str(), kOtherUid, kOtherUid) == 0);
  }
  const auto before = dir_entries(dir);
  const std::string task = symlinked ? "cache-link" : "cache-file";
  {
    Harness h(vault_env(
        vault, {{"VAULT_TOKEN_FILE", cache}, {"VAULT_USERNAME", "exec-user"}, {"VAULT_PASSWORD", "exec-pass-canary"}}));
    h.agent.launch(
        TaskBuilder(task, DockerDaemon::shared().image("test/bb:1")).env("S", "vault://secret/db").shell("true"));
    h.wait_state(task, v1::TASK_FINISHED);
    REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
  }
  REQUIRE(vault.count("POST", "/v1/auth/userpass/login/exec-user") == 1);
  // The planted name is untouched: still the other user's, still empty (the token never landed in it).
  struct stat st {};
  REQUIRE(::lstat(planted.c_str(), &st) == 0);
  CHECK(st.st_uid == kOtherUid);
  CHECK(S_ISLNK(st.st_mode) == symlinked);
  CHECK(slurp(planted).empty());
  if (symlinked) CHECK(slurp(stolen).empty());
  // The cache itself: a regular file of ours, 0600, holding the live token the login gave.
  REQUIRE(::lstat(cache.c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK(st.st_uid == ::geteuid());
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(vault.token_live(slurp(cache)));
  // No temporary file left behind: only the cache is new.
  auto after = dir_entries(dir);
  after.erase("token");
  CHECK(after == before);
}

TEST_CASE("Token cache read: a symlink at the cache path is refused and not replaced; its target is untouched") {
  FakeVault vault;
  vault.add_user("exec-user", "exec-pass-canary");
  vault.put_kv1("db", {{"value", "v"}});
  const std::string dir = testing_support::make_temp_dir("sce-vault-link.");
  const DirGuard cleanup{dir};
  const std::string cache = dir + "/token";
  const std::string victim = dir + "/victim";  // stands for any root file a task would name
  const std::string token = vault.add_token();
  write_file(victim, token + "\n", 0600);
  REQUIRE(::symlink(victim.c_str(), cache.c_str()) == 0);
  Harness h(vault_env(
      vault, {{"VAULT_TOKEN_FILE", cache}, {"VAULT_USERNAME", "exec-user"}, {"VAULT_PASSWORD", "exec-pass-canary"}}));
  h.agent.launch(
      TaskBuilder("cache-2", DockerDaemon::shared().image("test/bb:1")).env("S", "vault://secret/db").shell("true"));
  h.wait_state("cache-2", v1::TASK_FINISHED);
  REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
  CHECK_FALSE(any_call_with_token_containing(vault, token));
  CHECK(vault.count("POST", "/v1/auth/userpass/login/exec-user") == 1);
  CHECK(slurp(victim) == token + "\n");
  struct stat st {};
  REQUIRE(::lstat(cache.c_str(), &st) == 0);
  CHECK(S_ISLNK(st.st_mode));
  CHECK_THAT(h.exe->output(), Catch::Contains("symbolic link"));
}

// Issue 16 item 7 (Vault): per-read timeouts never end a request that gets one byte a second.
TEST_CASE("A Vault that dribbles its answer fails the task at the request's total deadline") {
  FakeVault vault;
  const std::string token = vault.add_token();
  vault.put_kv1("db", {{"value", kCanary}});
  Harness h(vault_env(vault, {{"VAULT_TOKEN", token}, {"VAULT_CLIENT_TIMEOUT", "2s"}}));
  vault.dribble_next(100);
  const auto t0 = std::chrono::steady_clock::now();
  h.agent.launch(TaskBuilder("dribble-1", DockerDaemon::shared().image("test/bb:1"))
                     .env("DB_PASS", "vault://secret/db")
                     .shell("true"));
  const auto failed = h.wait_state("dribble-1", v1::TASK_FAILED, 20s);
  const auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took >= 2s);      // the answer was being dribbled until the deadline cut it
  CHECK(took < 2s + 3s);  // the deadline, plus launch and reporting
  CHECK(vault.dribbled() >= 1);
  CHECK_THAT(failed.message(), Catch::Contains("DB_PASS"));
  CHECK_THAT(failed.message(), Catch::Contains("deadline"));
  CHECK_FALSE(any_container_named(h, "dribble-1"));
  REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
}

TEST_CASE("Cleanup at exit: a Vault that dribbles the revocations does not delay the exit past 2 s") {
  FakeVault vault;
  vault.add_user("exec-user", "pw-canary");
  vault.set_aws_role("app-role", "AKIA-canary-access", kCanary + "-aws-secret", "", 3600);
  Harness h(vault_env(vault, {{"VAULT_USERNAME", "exec-user"},
                              {"VAULT_PASSWORD", "pw-canary"},
                              {"VAULT_CLIENT_TIMEOUT", "30s"},
                              {"EXECUTOR_AWS_ROLE", "app-role"}}));
  h.agent.launch(TaskBuilder("dribble-2", DockerDaemon::shared().image("test/bb:1"))
                     .shell("sh -c 'trap \"exit 0\" TERM; sleep 600 & wait'"));
  h.wait_state("dribble-2", v1::TASK_RUNNING);
  vault.dribble_next(100);  // the lease and token revocations at exit
  h.agent.kill("dribble-2");
  h.wait_state("dribble-2", v1::TASK_KILLED);
  const auto killed = std::chrono::steady_clock::now();
  REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
  const auto took = std::chrono::steady_clock::now() - killed;
  INFO(h.exe->output());
  CHECK(took < 2s);
  CHECK(vault.dribbled() >= 1);  // the revocation did reach the dribbling Vault
  CHECK_THAT(h.exe->output(), Catch::Contains("could not revoke"));
}

// The executor cancels a Vault read in flight before it joins the container runtime (whose thread is
// blocked in the read): src/main.cpp, secrets.shutdown().
TEST_CASE("A kill while Vault dribbles the secret read: the exit follows the terminal update within 2 s") {
  FakeVault vault;
  const std::string token = vault.add_token();
  vault.put_kv1("db", {{"value", kCanary}});
  Harness h(vault_env(vault, {{"VAULT_TOKEN", token}, {"VAULT_CLIENT_TIMEOUT", "30s"}}));
  vault.dribble_next(100);
  h.agent.launch(TaskBuilder("dribble-3", DockerDaemon::shared().image("test/bb:1"))
                     .env("DB_PASS", "vault://secret/db")
                     .shell("true"));
  REQUIRE(FakeAgent::wait_until([&] { return vault.dribbled() >= 1; }, 10s));
  h.agent.kill("dribble-3");
  h.wait_state("dribble-3", v1::TASK_KILLED);
  const auto killed = std::chrono::steady_clock::now();
  REQUIRE(h.exe->wait(40s) == std::optional<int>(0));
  const auto took = std::chrono::steady_clock::now() - killed;
  INFO(h.exe->output());
  CHECK(took < 2s);
  CHECK_FALSE(any_container_named(h, "dribble-3"));
}

// ---- Issue 18 item 8: the parent token's renewal, the double's strictness, decoded paths ----

namespace {

vault::Client direct_client(const FakeVault& v) {
  auto cfg = vault::config_from_env(util::map_env({{"VAULT_ADDR", v.addr()}, {"VAULT_MAX_RETRIES", "0"}}));
  REQUIRE(cfg);
  return vault::Client(*cfg);
}

std::string login_token(vault::Client& c, const std::string& user, const std::string& pw) {
  auto r = c.call("POST", "/v1/auth/userpass/login/" + user, {{"password", pw}}, "");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  return r->body["auth"]["client_token"].get<std::string>();
}

}  // namespace

// What the real Vault does (hashicorp/vault builtin/credential/userpass/path_login.go: the fields are
// username and password; sdk/framework/backend.go: others are ignored, named in a warning): a `ttl`
// in the login body changes nothing. The C++ executor used to rely on it; only the old double honoured it.
TEST_CASE("The fake Vault's login ignores a ttl, as Vault does: the user's token TTL stands") {
  FakeVault vault;
  vault.add_user("exec-user", "pw", 7200, 86400);
  auto c = direct_client(vault);
  auto r = c.call("POST", "/v1/auth/userpass/login/exec-user", {{"password", "pw"}, {"ttl", "1s"}}, "");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  CHECK(r->body["auth"]["lease_duration"] == 7200);
  CHECK(r->body["warnings"] == nlohmann::json::array({"Endpoint ignored these unrecognized parameters: [ttl]"}));
  const std::string t = r->body["auth"]["client_token"].get<std::string>();
  CHECK(vault.token_ttl_left(t) > 7100);
  // Password checks: missing, wrong; the user name in the path is lower-cased as userpass does.
  r = c.call("POST", "/v1/auth/userpass/login/exec-user", {{"ttl", "1h"}}, "");
  REQUIRE(r);
  CHECK(r->status == 400);
  CHECK(r->errors == "missing password");
  r = c.call("POST", "/v1/auth/userpass/login/exec-user", {{"password", "nope"}}, "");
  REQUIRE(r);
  CHECK(r->status == 400);
  r = c.call("POST", "/v1/auth/userpass/login/EXEC-User", {{"password", "pw"}}, "");
  REQUIRE(r);
  CHECK(r->status == 200);
}

// hashicorp/vault vault/token_store.go handleRenewSelf → handleRenew: `increment` is a
// TypeDurationSecond (seconds, or a duration string), 0 gives the default TTL, the TTL granted is
// capped by the max TTL from the token's issue, and is the answer's auth.lease_duration.
TEST_CASE("The fake Vault's renew-self works as Vault's: increment in seconds or a duration, capped by max TTL") {
  FakeVault vault;
  vault.add_user("exec-user", "pw", 3600, 10000);
  auto c = direct_client(vault);
  const std::string t = login_token(c, "exec-user", "pw");
  struct Row {
    nlohmann::json body;
    int status;
    long granted;  // auth.lease_duration (a second of slack for the cap)
  };
  const Row rows[] = {
      {{{"increment", 4200}}, 200, 4200}, {{{"increment", "5000"}}, 200, 5000},  {{{"increment", "4200s"}}, 200, 4200},
      {{{"increment", "2h"}}, 200, 7200}, {nlohmann::json::object(), 200, 3600},  // no increment: the default TTL
      {{{"increment", 0}}, 200, 3600},    {{{"increment", 99999}}, 200, 10000},   // capped at the max TTL
      {{{"increment", "soon"}}, 400, 0},  {{{"increment", true}}, 400, 0},
  };
  for (const auto& row : rows) {
    INFO(row.body.dump());
    auto r = c.call("POST", "/v1/auth/token/renew-self", row.body, t);
    REQUIRE(r);
    CHECK(r->status == row.status);
    if (row.status != 200) continue;
    const long got = r->body["auth"]["lease_duration"].get<long>();
    CHECK(got <= row.granted);
    CHECK(got >= row.granted - 1);
    CHECK(r->body["auth"]["client_token"] == t);
    if (row.granted == 10000) CHECK_THAT(r->body["warnings"].dump(), Catch::Contains("capped"));
  }
  CHECK(vault.token_renewals().size() == 7);
  // A dead or unknown token cannot renew itself; a token without a TTL (a root-like one) is not renewable.
  auto r = c.call("POST", "/v1/auth/token/renew-self", {{"increment", 60}}, "hvs.unknown");
  REQUIRE(r);
  CHECK(r->status == 403);
  const std::string root = vault.add_token();
  r = c.call("POST", "/v1/auth/token/renew-self", {{"increment", 60}}, root);
  REQUIRE(r);
  CHECK(r->status == 400);
  CHECK(r->errors == "lease is not renewable");
  // auth/token/renew (Go's endpoint) renews the token named in the body.
  r = c.call("POST", "/v1/auth/token/renew", {{"token", t}, {"increment", 120}}, t);
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body["auth"]["lease_duration"] == 120);
  CHECK(vault.token_ttl_left(t) <= 120);
}

// Go: vault/vault.go:84-87 and vault/vault_auth.go:226-231: the login's token is set on the client
// before the renewal; a failed renewal returns an error that NewDefaultVault only logs ("Failed to get
// Vault parent Token to enable AWS Role: Error renewing token: ..."), and the task goes on with the
// unrenewed token (callbacks.go:40-47 fail the task only when aws/creds itself fails). Ours: the same
// outcome, the same line; the token is still revoked at the end (Go leaves it).
TEST_CASE("AWS role: a refused renewal of the parent token is logged, and the task runs on the login's token (Go)") {
  FakeVault vault;
  vault.add_user("exec-user", "pw-canary-r1");
  vault.deny("auth/token/renew-self");  // a site policy without Vault's default policy
  vault.set_aws_role("app-role", "AKIA-canary-r1", kCanary + "-r1", "", 3600);
  Harness h(vault_env(
      vault, {{"VAULT_USERNAME", "exec-user"}, {"VAULT_PASSWORD", "pw-canary-r1"}, {"EXECUTOR_AWS_ROLE", "app-role"}}));
  h.agent.launch(TaskBuilder("aws-renew-refused", DockerDaemon::shared().image("test/bb:1"))
                     .shell("sh -c 'trap \"exit 0\" TERM; sleep 600 & wait'"));
  const auto running = h.wait_state("aws-renew-refused", v1::TASK_RUNNING);
  CHECK_THAT(container_env(h, running), Catch::Contains("\"AWS_ACCESS_KEY_ID=AKIA-canary-r1\""));
  CHECK(vault.count("POST", "/v1/auth/token/renew-self") == 1);
  CHECK(vault.token_renewals().empty());
  std::string parent;
  for (const auto& c : vault.calls()) {
    if (c.path.rfind("/v1/aws/creds/", 0) == 0) parent = c.token;
  }
  REQUIRE_FALSE(parent.empty());
  h.agent.kill("aws-renew-refused");
  h.wait_state("aws-renew-refused", v1::TASK_KILLED);
  REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
  const std::string out = h.exe->output();
  CHECK_THAT(out,
             Catch::Contains("Failed to get Vault parent Token to enable AWS Role: Error renewing token to 4200 s"));
  CHECK_THAT(out, Catch::Contains("permission denied"));
  CHECK_THAT(out, Catch::Contains("going on with the token's own TTL of 2764800 s"));
  CHECK_FALSE(vault.token_live(parent));  // revoked at the end all the same
  for (const std::string& secret : {std::string("pw-canary-r1"), parent, std::string("AKIA-canary-r1"), kCanary}) {
    CHECK_THAT(out, !Catch::Contains(secret));
  }
}

// Vault revokes a token's leases with it: when Vault grants the parent token less than the lease
// (Go warns "FAILED to get TTL we asked for!", vault/vault_auth.go:115-116, and watches the lease
// only), ours stops the task before the token, and the credentials with it, end.
TEST_CASE("AWS role: a parent token Vault caps below the lease stops the task before the token ends") {
  FakeVault vault;
  vault.add_user("exec-user", "pw", FakeVault::kDefaultTokenTtlS, 365);  // 360 s of margin: 5 s left
  vault.set_aws_role("app-role", "AKIA-x", "secret-x", "", 3600);
  Harness h(
      vault_env(vault, {{"VAULT_USERNAME", "exec-user"}, {"VAULT_PASSWORD", "pw"}, {"EXECUTOR_AWS_ROLE", "app-role"}}));
  h.agent.launch(TaskBuilder("aws-capped", DockerDaemon::shared().image("test/bb:1"))
                     .shell("sh -c 'trap \"exit 0\" TERM; sleep 600 & wait'"));
  h.wait_state("aws-capped", v1::TASK_RUNNING);
  const auto t0 = std::chrono::steady_clock::now();
  const auto ended = h.wait_state("aws-capped", v1::TASK_KILLED, 30s);
  CHECK(std::chrono::steady_clock::now() - t0 < 15s);
  CHECK_THAT(ended.message(), Catch::Contains("AWS credentials"));
  CHECK_THAT(ended.message(), Catch::Contains("Vault token"));
  REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
  CHECK_THAT(h.exe->output(), Catch::Contains("FAILED to get TTL we asked for! Asked for: 4200, Got: 36"));
}

// Go: callbacks.go:50-56: a lease renewal that fails (EXECUTOR_AWS_ROLE_TTL set) fails the task.
TEST_CASE("AWS role: a refused lease renewal fails the task, as in Go; lease and token are revoked") {
  FakeVault vault;
  vault.add_user("exec-user", "pw");
  vault.deny("sys/leases/renew");
  vault.set_aws_role("app-role", "AKIA-canary-l1", kCanary + "-l1", "", 3600);
  Harness h(vault_env(vault, {{"VAULT_USERNAME", "exec-user"},
                              {"VAULT_PASSWORD", "pw"},
                              {"EXECUTOR_AWS_ROLE", "app-role"},
                              {"EXECUTOR_AWS_ROLE_TTL", "2h"}}));
  h.agent.launch(TaskBuilder("aws-lease-refused", DockerDaemon::shared().image("test/bb:1")).shell("true"));
  const auto failed = h.wait_state("aws-lease-refused", v1::TASK_FAILED, 30s);
  CHECK_THAT(failed.message(), Catch::Contains("Unable to renew AWS Creds Lease to 7560 s"));
  CHECK_THAT(failed.message(), !Catch::Contains("AKIA-canary-l1"));
  CHECK_FALSE(any_container_named(h, "aws-lease-refused"));
  REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
  CHECK(vault.revoked_leases().size() == 1);
  CHECK(vault.token_renewals().size() == 1);  // the parent token was renewed (to 2 h + 600 s)
  CHECK(vault.token_renewals()[0].increment == "7800");
  CHECK_FALSE(vault.token_live(vault.token_renewals()[0].token));
}

// Go: vault/vault.go:88-93 and vault/vault_auth.go:149-157, 229: the shared token of a login is renewed
// to VAULT_TTL + 600 s; when that fails, "Failure authenticating with Vault: ..." and it is not cached.
TEST_CASE("Shared token: a login is renewed to VAULT_TTL + 600 s; refused, it serves the task but is not cached") {
  const bool refused = GENERATE(false, true);
  INFO((refused ? "renewal refused" : "renewal granted"));
  FakeVault vault;
  vault.add_user("exec-user", "pw");
  vault.put_kv1("db", {{"value", "v"}});
  if (refused) vault.deny("auth/token/renew-self");
  const std::string dir = testing_support::make_temp_dir("sce-vault-renew.");
  const DirGuard cleanup{dir};
  const std::string file = dir + "/token";
  Harness h(vault_env(
      vault,
      {{"VAULT_TOKEN_FILE", file}, {"VAULT_USERNAME", "exec-user"}, {"VAULT_PASSWORD", "pw"}, {"VAULT_TTL", "7200"}}));
  const std::string task = refused ? "shared-refused" : "shared-renewed";
  h.agent.launch(
      TaskBuilder(task, DockerDaemon::shared().image("test/bb:1")).env("S", "vault://secret/db").shell("true"));
  h.wait_state(task, v1::TASK_FINISHED);
  REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
  CHECK(vault.count("POST", "/v1/auth/token/renew-self") == 1);
  struct stat st {};
  if (refused) {
    CHECK(vault.token_renewals().empty());
    CHECK(::lstat(file.c_str(), &st) != 0);  // not cached
    CHECK_THAT(h.exe->output(), Catch::Contains("Failure authenticating with Vault: Error renewing token to 7800 s"));
  } else {
    REQUIRE(vault.token_renewals().size() == 1);
    CHECK(vault.token_renewals()[0].increment == "7800");
    CHECK(vault.token_renewals()[0].granted_s == 7800);
    CHECK(vault.token_live(slurp(file)));
  }
}

// Go: vault/vault.go:181,190: the path of a reference is percent-decoded (net/url), the key form-decoded.
TEST_CASE("vault:// paths are percent-decoded as in Go, and sent escaped again") {
  FakeVault vault;
  const std::string token = vault.add_token();
  vault.put_kv1("app/db pass", {{"user", kCanary + "-dec"}});
  vault.put_kv2("team/a+b", {{"value", "kv2-decoded"}});
  Harness h(vault_env(vault, {{"VAULT_TOKEN", token}}));
  h.agent.launch(TaskBuilder("vault-decoded", DockerDaemon::shared().image("test/bb:1"))
                     .env("DB_USER", "vault://secret/%61pp/db%20pass?key=us%65r")
                     .env("V2", "vault://kv/team/a%2Bb")
                     .shell("sh -c 'trap \"exit 0\" TERM; sleep 600 & wait'"));
  const auto running = h.wait_state("vault-decoded", v1::TASK_RUNNING);
  const std::string env = container_env(h, running);
  CHECK_THAT(env, Catch::Contains("\"DB_USER=" + kCanary + "-dec\""));
  CHECK_THAT(env, Catch::Contains("\"V2=kv2-decoded\""));
  bool sent_escaped = false;
  for (const auto& c : vault.calls()) {
    if (c.path == "/v1/secret/app/db pass") sent_escaped = c.target == "/v1/secret/app/db%20pass";
  }
  CHECK(sent_escaped);
  CHECK(vault.count("GET", "/v1/kv/data/team/a+b") == 1);
  h.agent.kill("vault-decoded");
  h.wait_state("vault-decoded", v1::TASK_KILLED);
  REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
}

// The rules on Vault's own endpoints hold for the decoded path: "%61uth/" is auth/.
TEST_CASE("vault://%61uth/token/lookup-self cannot read Vault's own endpoint: refused before any request") {
  FakeVault vault;
  const std::string token = vault.add_token();
  Harness h(vault_env(vault, {{"VAULT_TOKEN", token}}));
  h.agent.launch(TaskBuilder("vault-bypass", DockerDaemon::shared().image("test/bb:1"))
                     .env("STOLEN", "vault://%61uth/token/lookup-self?key=id")
                     .shell("true"));
  const auto failed = h.wait_state("vault-bypass", v1::TASK_FAILED, 30s);
  CHECK_THAT(failed.message(), Catch::Contains("STOLEN"));
  CHECK_THAT(failed.message(), Catch::Contains("auth/ is Vault's own"));
  CHECK(vault.calls().empty());
  CHECK_FALSE(any_container_named(h, "vault-bypass"));
  REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
  CHECK_THAT(h.exe->output(), !Catch::Contains(token));
}
