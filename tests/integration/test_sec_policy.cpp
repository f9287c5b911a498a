// Issue 16, the executor's side of the trust boundary, against a real dockerd: the site policy
// refuses what can widen a container's access unless the site file allows it; a Vault secret never
// leaves in a status message or log line, even when Docker echoes it back; tokens are gone from the
// environment block; a task's control characters cannot forge executor log lines.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "docker/image_ref.h"
#include "docker_daemon.h"
#include "executor_harness.h"
#include "fake_vault.h"
#include "task_builder.h"
#include "test_files.h"

using namespace std::chrono_literals;
using testing_support::container_exists;
using testing_support::DockerDaemon;
using testing_support::FakeVault;
using testing_support::Harness;
using testing_support::read_file;
using testing_support::SiteFile;
using testing_support::TaskBuilder;
namespace v1 = ::mesos::v1;

namespace {

std::string image() { return DockerDaemon::shared().image("test/bb:1"); }

std::string inspect(const DockerDaemon& d, const std::string& task, const std::string& format) {
  std::string out = d.cli({"inspect", "--format", format, docker::container_name(task)});
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

}  // namespace

TEST_CASE("privileged, device and security-opt are refused by default: TASK_ERROR, REASON_TASK_INVALID, no container") {
  struct Case {
    const char* task;
    const char* key;
    const char* value;
    const char* allow_with;
  };
  for (const Case& c : {Case{"pol-priv", "privileged", "true", "policy.allow_privileged"},
                        Case{"pol-dev", "device", "/dev/fuse", "policy.allowed_devices"},
                        Case{"pol-secopt", "security-opt", "seccomp=unconfined", "policy.allowed_security_opts"}}) {
    SECTION(c.key) {
      Harness h;
      h.agent.launch(TaskBuilder(c.task, image()).param(c.key, c.value).shell("sleep 30"));
      const auto failed = h.wait_state(c.task, v1::TASK_ERROR);
      CHECK(failed.reason() == v1::TaskStatus::REASON_TASK_INVALID);
      CHECK_THAT(failed.message(), Catch::Contains(std::string("docker parameter ") + c.key) &&
                                       Catch::Contains("not allowed by the site policy") &&
                                       Catch::Contains(c.allow_with));
      CHECK(h.states(c.task) == std::vector<v1::TaskState>{v1::TASK_STARTING, v1::TASK_ERROR});
      CHECK_FALSE(container_exists(h.daemon, c.task));
      REQUIRE(h.exe->wait(10s).has_value());
    }
  }
}

TEST_CASE("The site file allows them: the container gets exactly what the policy lets through") {
  SiteFile site(R"(policy:
  allow_privileged: true
  allowed_devices: [/dev/fuse]
  allowed_security_opts: [no-new-privileges]
)");
  Harness h({}, false, {}, {"--config", site.path});
  h.agent.launch(TaskBuilder("pol-ok", image())
                     .param("device", "/dev/fuse")
                     .param("security-opt", "no-new-privileges")
                     .shell("sh -c 'trap \"exit 0\" TERM; sleep 600 & wait'"));
  h.wait_state("pol-ok", v1::TASK_RUNNING);
  CHECK_THAT(inspect(h.daemon, "pol-ok", "{{json .HostConfig.Devices}}"), Catch::Contains("/dev/fuse"));
  CHECK_THAT(inspect(h.daemon, "pol-ok", "{{json .HostConfig.SecurityOpt}}"), Catch::Contains("no-new-privileges"));
  // The executor's own labels are on the container, for the wrapper.
  CHECK(inspect(h.daemon, "pol-ok", "{{index .Config.Labels \"sidecar-executor.executor-id\"}}") == "exec-1");
  CHECK(inspect(h.daemon, "pol-ok", "{{index .Config.Labels \"sidecar-executor.framework-id\"}}") == "fw-0001");
  h.agent.kill("pol-ok");
  h.wait_state("pol-ok", v1::TASK_KILLED);
  REQUIRE(h.exe->wait(15s) == std::optional<int>(0));

  // privileged goes through to Docker. Some hosts (a VM without every capability) cannot start a
  // privileged container: then the start fails in runc, which still shows the policy let it pass.
  Harness hp({}, false, {}, {"--config", site.path});
  hp.agent.launch(TaskBuilder("pol-priv-ok", image())
                      .param("privileged", "true")
                      .shell("sh -c 'trap \"exit 0\" TERM; sleep 600 & wait'"));
  REQUIRE(fake::FakeAgent::wait_until(
      [&] {
        const auto st = hp.states("pol-priv-ok");
        return !st.empty() && (st.back() == v1::TASK_RUNNING || st.back() == v1::TASK_FAILED);
      },
      60s));
  const auto last = hp.updates_of("pol-priv-ok").back();
  INFO(last.message());
  if (last.state() == v1::TASK_RUNNING) {
    CHECK(inspect(hp.daemon, "pol-priv-ok", "{{.HostConfig.Privileged}}") == "true");
    hp.agent.kill("pol-priv-ok");
    hp.wait_state("pol-priv-ok", v1::TASK_KILLED);
  } else {
    CHECK(last.reason() == v1::TaskStatus::REASON_CONTAINER_LAUNCH_FAILED);
    CHECK_THAT(last.message(), Catch::Contains("start failed") && !Catch::Contains("site policy"));
  }
  REQUIRE(hp.exe->wait(15s) == std::optional<int>(0));
}

TEST_CASE("A site file anyone but root could write stops the executor; a task-named file cannot set the policy") {
  SiteFile loose("policy:\n  allow_privileged: true\n");
  ::chmod(loose.path.c_str(), 0666);
  {
    testing_support::Process exe({testing_support::executor_binary(), "--print-config", "--config", loose.path},
                                 {{"PATH", "/usr/bin:/bin"}});
    REQUIRE(exe.wait(5s) == std::optional<int>(2));
    CHECK_THAT(exe.output(), Catch::Contains(loose.path) && Catch::Contains("writable by others"));
  }
  ::chmod(loose.path.c_str(), 0644);
  {
    testing_support::Process exe({testing_support::executor_binary(), "--print-config"},
                                 {{"PATH", "/usr/bin:/bin"}, {"SIDECAR_EXECUTOR_CONFIG", loose.path}});
    REQUIRE(exe.wait(5s) == std::optional<int>(2));
    CHECK_THAT(exe.output(), Catch::Contains("policy: only the site config file"));
  }
}

TEST_CASE("A locked setting keeps the site's value whatever the task's environment says, and the log says so") {
  SiteFile site("sidecar_max_fails: 4\npolicy:\n  locked: [sidecar_max_fails, docker_repository]\n");
  testing_support::Process exe({testing_support::executor_binary(), "--print-config", "--config", site.path},
                               {{"PATH", "/usr/bin:/bin"},
                                {"EXECUTOR_SIDECAR_MAX_FAILS", "99"},
                                {"EXECUTOR_DOCKER_REPOSITORY", "127.0.0.1:1/other"}});
  REQUIRE(exe.wait(5s) == std::optional<int>(0));
  CHECK_THAT(exe.output(), Catch::Contains("EXECUTOR_SIDECAR_MAX_FAILS=4\n"));
  CHECK_THAT(exe.output(), Catch::Contains("EXECUTOR_DOCKER_REPOSITORY=https://index.docker.io/v1/\n"));
  Harness h({{"EXECUTOR_SIDECAR_MAX_FAILS", "99"}}, false, {}, {"--config", site.path});
  h.agent.launch(TaskBuilder("lock-1", image()).shell("true"));
  h.wait_state("lock-1", v1::TASK_FINISHED);
  REQUIRE(h.exe->wait(10s).has_value());
  CHECK_THAT(h.exe->output(), Catch::Contains("EXECUTOR_SIDECAR_MAX_FAILS is locked by the site config file"));
}

TEST_CASE("A Vault secret in an env entry Docker rejects never reaches a status message or a log line") {
  FakeVault vault;
  const std::string token = vault.add_token();
  const std::string secret = "rejected-secret-canary-7731";
  vault.put_kv1("app", {{"value", secret}});
  Harness h({{"VAULT_ADDR", vault.addr()}, {"VAULT_TOKEN", token}, {"VAULT_MAX_RETRIES", "0"}});
  // An entry without a name: resolved by the Secrets step, then refused by dockerd, which quotes it.
  h.agent.launch(TaskBuilder("sec-echo", image()).param("env", "=vault://secret/app").shell("true"));
  const auto failed = h.wait_state("sec-echo", v1::TASK_FAILED);
  INFO(failed.message());
  CHECK_THAT(failed.message(), Catch::Contains("create failed"));
  CHECK_THAT(failed.message(), Catch::Contains("[secret]"));  // Docker did echo it: the marker stands in its place
  REQUIRE(h.exe->wait(10s).has_value());
  for (const auto& u : h.agent.updates()) CHECK(u.status.message().find(secret) == std::string::npos);
  CHECK(h.exe->output().find(secret) == std::string::npos);
  CHECK(h.exe->output().find(token) == std::string::npos);
  // And the secret really was resolved (so the check above could fail).
  bool read = false;
  for (const auto& c : vault.calls()) read = read || c.path.find("secret/app") != std::string::npos;
  CHECK(read);
}

TEST_CASE("/proc/<pid>/environ of the running executor holds no token") {
  const std::string vault_token = "environ-vault-token-canary";
  const std::string vault_password = "environ-vault-password-canary";
  const std::string agent_token = "environ-agent-token-canary";
  fake::AgentOptions ao;
  ao.auth_token = agent_token;
  Harness h({{"VAULT_TOKEN", vault_token},
             {"VAULT_PASSWORD", vault_password},
             {"MESOS_EXECUTOR_AUTHENTICATION_TOKEN", agent_token}},
            false, ao);
  h.agent.launch(TaskBuilder("environ-1", image()).shell("sh -c 'trap \"exit 0\" TERM; sleep 600 & wait'"));
  h.wait_state("environ-1", v1::TASK_RUNNING);
  const std::string env_block = read_file("/proc/" + std::to_string(h.exe->pid()) + "/environ");
  REQUIRE(env_block.find("MESOS_FRAMEWORK_ID=fw-0001") != std::string::npos);  // the file was read
  CHECK(env_block.find(vault_token) == std::string::npos);
  CHECK(env_block.find(vault_password) == std::string::npos);
  CHECK(env_block.find(agent_token) == std::string::npos);
  // Not dumpable: no core file, and /proc/<pid>/environ and mem are root's alone.
  const std::string status = read_file("/proc/" + std::to_string(h.exe->pid()) + "/limits");
  CHECK_THAT(status, Catch::Matches("(.|\n)*Max core file size +0 +0(.|\n)*"));
  h.agent.kill("environ-1");
  h.wait_state("environ-1", v1::TASK_KILLED);
  REQUIRE(h.exe->wait(15s) == std::optional<int>(0));
  for (const std::string& t : {vault_token, vault_password, agent_token}) {
    CHECK(h.exe->output().find(t) == std::string::npos);
  }
}

TEST_CASE("CR/LF in a task id or image cannot forge executor log lines") {
  Harness h;
  const std::string id = "forge-1\nFORGED level=error msg=owned";
  h.agent.launch(TaskBuilder(id, "busybox\r\nFORGED-IMAGE-LINE").shell("true"));
  const auto failed = h.wait_state(id, v1::TASK_ERROR);
  CHECK(failed.reason() == v1::TaskStatus::REASON_TASK_INVALID);
  CHECK(failed.message().find('\r') == std::string::npos);
  CHECK(failed.message().find('\n') == std::string::npos);
  REQUIRE(h.exe->wait(10s).has_value());
  std::istringstream lines(h.exe->output());
  int seen_escaped = 0;
  for (std::string line; std::getline(lines, line);) {
    INFO(line);
    CHECK(line.rfind("FORGED", 0) != 0);
    if (line.find("\\x0aFORGED") != std::string::npos) ++seen_escaped;
  }
  CHECK(seen_escaped > 0);  // the id was logged, escaped
}

TEST_CASE("VAULT_TOKEN_FILE outside policy.vault_token_dirs is neither read nor written") {
  FakeVault vault;
  const std::string cached = vault.add_token();
  vault.put_kv1("app", {{"value", "token-dir-value"}});
  vault.add_user("exec-user", "exec-pass");
  char dir_tmpl[] = "/tmp/sce-token-dir-XXXXXX";
  REQUIRE(::mkdtemp(dir_tmpl) != nullptr);
  const std::string dir = dir_tmpl;
  const std::string file = dir + "/vault-token";
  {
    std::ofstream(file) << cached << "\n";
    ::chmod(file.c_str(), 0600);
  }
  const std::string fresh = dir + "/not-there-yet";
  for (const std::string& path : {file, fresh}) {
    SECTION(path == file ? "an existing, proper token file" : "a file the executor would create") {
      SiteFile site("policy:\n  vault_token_dirs: [/var/lib/elsewhere]\n");
      Harness h({{"VAULT_ADDR", vault.addr()},
                 {"VAULT_TOKEN_FILE", path},
                 {"VAULT_USERNAME", "exec-user"},
                 {"VAULT_PASSWORD", "exec-pass"},
                 {"VAULT_MAX_RETRIES", "0"}},
                false, {}, {"--config", site.path});
      const std::string task = path == file ? "tokdir-existing" : "tokdir-fresh";
      h.agent.launch(TaskBuilder(task, image()).env("V", "vault://secret/app").shell("true"));
      h.wait_state(task, v1::TASK_FINISHED);
      REQUIRE(h.exe->wait(10s).has_value());
      CHECK_THAT(h.exe->output(), Catch::Contains("VAULT_TOKEN_FILE=" + path + " ignored") &&
                                      Catch::Contains("policy.vault_token_dirs"));
      for (const auto& c : vault.calls()) CHECK(c.token != cached);  // the file's token never went out
      CHECK(::access(fresh.c_str(), F_OK) != 0);                     // and no cache was created
      bool logged_in = false;
      for (const auto& c : vault.calls()) logged_in = logged_in || c.path.find("login") != std::string::npos;
      CHECK(logged_in);
    }
  }
  ::unlink(file.c_str());
  ::rmdir(dir.c_str());
}

TEST_CASE("vault:// may not read Vault's own endpoints: the executor's token never reaches the container") {
  FakeVault vault;
  const std::string token = vault.add_token();
  Harness h({{"VAULT_ADDR", vault.addr()}, {"VAULT_TOKEN", token}, {"VAULT_MAX_RETRIES", "0"}});
  h.agent.launch(TaskBuilder("vault-own", image()).env("X", "vault://auth/token/lookup-self?key=id").shell("true"));
  const auto failed = h.wait_state("vault-own", v1::TASK_FAILED);
  CHECK_THAT(failed.message(), Catch::Contains("auth/ is Vault's own"));
  CHECK_FALSE(container_exists(h.daemon, "vault-own"));
  for (const auto& c : vault.calls()) CHECK(c.path.find("lookup-self") == std::string::npos);
  REQUIRE(h.exe->wait(10s).has_value());
}

TEST_CASE("A bind that says more than a path is refused, whatever the prefixes") {
  SiteFile site("policy:\n  allowed_bind_prefixes: [/tmp]\n");
  Harness h({}, false, {}, {"--config", site.path});
  h.agent.launch(TaskBuilder("bind-colon", image()).volume("/:/../tmp", "/mnt", false).shell("true"));
  const auto failed = h.wait_state("bind-colon", v1::TASK_ERROR);
  CHECK(failed.reason() == v1::TaskStatus::REASON_TASK_INVALID);
  CHECK_THAT(failed.message(), Catch::Contains("':' and ',' are not allowed"));
  CHECK_FALSE(container_exists(h.daemon, "bind-colon"));
  REQUIRE(h.exe->wait(10s).has_value());
}

TEST_CASE(
    "With allowed bind prefixes a bind reaches the folder that was checked: its links resolved, and it must "
    "exist") {
  char dir[] = "/tmp/sce-bindpfx-XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  const std::string prefix = dir;
  REQUIRE(::mkdir((prefix + "/real").c_str(), 0755) == 0);
  std::ofstream(prefix + "/real/f") << "inside\n";
  REQUIRE(::symlink((prefix + "/real").c_str(), (prefix + "/link").c_str()) == 0);
  SiteFile site("policy:\n  allowed_bind_prefixes: [" + prefix + "]\n");
  {
    Harness h({}, false, {}, {"--config", site.path});
    h.agent.launch(
        TaskBuilder("bind-link", image()).volume(prefix + "/link", "/mnt", true).shell("grep -q inside /mnt/f"));
    h.wait_state("bind-link", v1::TASK_FINISHED);
    CHECK(inspect(h.daemon, "bind-link", "{{json .HostConfig.Binds}}") == "[\"" + prefix + "/real:/mnt:ro\"]");
    REQUIRE(h.exe->wait(10s).has_value());
  }
  {
    // Docker would make a missing folder at the start, after the check: refused.
    Harness h({}, false, {}, {"--config", site.path});
    h.agent.launch(TaskBuilder("bind-missing", image()).volume(prefix + "/none/x", "/mnt", false).shell("true"));
    const auto failed = h.wait_state("bind-missing", v1::TASK_ERROR);
    CHECK(failed.reason() == v1::TaskStatus::REASON_TASK_INVALID);
    CHECK_THAT(failed.message(), Catch::Contains("does not exist"));
    CHECK_FALSE(container_exists(h.daemon, "bind-missing"));
    struct stat st {};
    CHECK(::stat((prefix + "/none").c_str(), &st) != 0);  // nothing made on the host
    REQUIRE(h.exe->wait(10s).has_value());
  }
  ::unlink((prefix + "/link").c_str());
  ::unlink((prefix + "/real/f").c_str());
  ::rmdir((prefix + "/real").c_str());
  ::rmdir(prefix.c_str());
}

TEST_CASE("A symlink planted at the container-id file's path is not followed: its target stays as it was") {
  char dir[] = "/tmp/sce-idfile-XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  const std::string sandbox = dir;
  const std::string victim = sandbox + "-victim";
  std::ofstream(victim) << "victim\n";
  const std::string id_file = sandbox + "/sidecar-executor.container-id";
  REQUIRE(::symlink(victim.c_str(), id_file.c_str()) == 0);
  {
    Harness h({{"MESOS_SANDBOX", sandbox}, {"MESOS_DIRECTORY", sandbox}});
    h.agent.launch(TaskBuilder("idfile-1", image()).shell("sh -c 'trap \"exit 0\" TERM; sleep 600 & wait'"));
    const auto running = h.wait_state("idfile-1", v1::TASK_RUNNING);
    CHECK(read_file(victim) == "victim\n");
    struct stat st {};
    REQUIRE(::lstat(id_file.c_str(), &st) == 0);
    CHECK(S_ISREG(st.st_mode));  // the executor's own file, not the link
    CHECK(read_file(id_file).rfind(Harness::container_id(running) + "\n", 0) == 0);
    h.agent.kill("idfile-1");
    h.wait_state("idfile-1", v1::TASK_KILLED);
    REQUIRE(h.exe->wait(15s) == std::optional<int>(0));
  }
  CHECK(read_file(victim) == "victim\n");
  ::unlink(id_file.c_str());
  ::unlink(victim.c_str());
  ::rmdir(sandbox.c_str());
}

TEST_CASE("The container environment dump shows values by allow-list only: API_KEY and DATABASE_URL are redacted") {
  Harness h;
  h.agent.launch(TaskBuilder("dump-allow-1", image())
                     .env("API_KEY", "canary-api-key-value")
                     .env("DATABASE_URL", "postgres://app:canary-db-pass@db/app")
                     .shell("true"));
  h.wait_state("dump-allow-1", v1::TASK_FINISHED);
  REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
  const std::string out = h.exe->output();
  INFO(out);
  CHECK_THAT(out, Catch::Contains("  API_KEY=[REDACTED]\n"));
  CHECK_THAT(out, Catch::Contains("  DATABASE_URL=[REDACTED]\n"));
  CHECK(out.find("canary-api-key-value") == std::string::npos);
  CHECK(out.find("canary-db-pass") == std::string::npos);
}
