// Vault end to end: the real executor, the fake agent, a fake Vault and a private dockerd.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <sys/stat.h>
#include <utime.h>

#include <fstream>
#include <sstream>

#include "executor_harness.h"
#include "fake_vault.h"
#include "vault/vault.h"
#include "task_builder.h"

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
  std::map<std::string, std::string> env = {{"VAULT_ADDR", v.addr()}, {"VAULT_MAX_RETRIES", "0"},
                                            {"VAULT_CLIENT_TIMEOUT", "3s"}, {"EXECUTOR_SIDECAR_BACKOFF", "1h"}};
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
    h.agent.launch(TaskBuilder(id, DockerDaemon::shared().image("test/bb:1")).env("S", "vault://secret/db").shell("true"));
    h.wait_state(id, v1::TASK_FINISHED);
    REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
    CHECK_THAT(h.exe->output(), !Catch::Contains("exec-pass-canary"));
    CHECK_THAT(h.exe->output(), !Catch::Contains("exec-user"));  // the user name is a credential too
    CHECK_THAT(h.exe->output(), !Catch::Contains("hvs."));
  };
  SECTION("young and valid: reused") {
    const std::string t = vault.add_token();
    { std::ofstream(file) << t << "\n"; }
    run_task("tf-1");
    CHECK(vault.count("POST", "/v1/auth/userpass/login/") == 0);
    CHECK(vault.count("GET", "/v1/auth/token/lookup-self") == 1);
  }
  SECTION("too old: login, file rewritten with mode 0600") {
    const std::string t = vault.add_token();
    { std::ofstream(file) << t << "\n"; }
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
    { std::ofstream(file) << "hvs.not-a-live-token\n"; }
    run_task("tf-3");
    CHECK(vault.count("POST", "/v1/auth/userpass/login/exec-user") == 1);
    CHECK(vault.token_live(slurp(file)));
  }
  testing_support::remove_tree(dir);
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
  if (std::string(c.name) == "down") env["VAULT_ADDR"] = fmt::format("http://127.0.0.1:{}", testing_support::free_tcp_port());
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

TEST_CASE("AWS role: keys in the container, lease renewed with the padded increment, revoked with the token at the end") {
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
  // The parent token came from a login with the role's TTL.
  bool login_with_ttl = false;
  std::string parent;
  for (const auto& c : vault.calls()) {
    if (c.path == "/v1/auth/userpass/login/exec-user" && c.body.find("\"ttl\":\"3600s\"") != std::string::npos) {
      login_with_ttl = true;
    }
    if (c.path.rfind("/v1/aws/creds/", 0) == 0) parent = c.token;
  }
  CHECK(login_with_ttl);
  REQUIRE_FALSE(parent.empty());
  CHECK(vault.token_live(parent));
  h.agent.kill("aws-1");
  h.wait_state("aws-1", v1::TASK_KILLED);
  REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
  CHECK(vault.revoked_leases().size() == 1);
  CHECK_FALSE(vault.token_live(parent));
  for (const char* s : {"AKIA-canary-access", "session-canary"}) CHECK_THAT(h.exe->output(), !Catch::Contains(s));
  CHECK_THAT(h.exe->output(), !Catch::Contains(kCanary));
}

TEST_CASE("A short AWS lease makes the task stop itself before it ends") {
  FakeVault vault;
  vault.add_user("exec-user", "pw");
  vault.set_aws_role("short", "AKIA-x", "secret-x", "", 362);  // expires 360 s early: in 2 s
  Harness h(vault_env(vault, {{"VAULT_USERNAME", "exec-user"}, {"VAULT_PASSWORD", "pw"}, {"EXECUTOR_AWS_ROLE", "short"}}));
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
