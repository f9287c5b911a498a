// One Mesos task, one Docker container, from LAUNCH to the acknowledged terminal update: the real
// executor binary, the fake agent, and a real private dockerd.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <signal.h>

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "docker/image_ref.h"
#include "docker_daemon.h"
#include "executor_harness.h"
#include "fake_agent.h"
#include "process.h"
#include "task_builder.h"

using namespace std::chrono_literals;
using fake::AgentOptions;
using fake::FakeAgent;
using testing_support::DockerDaemon;
using testing_support::Harness;
using testing_support::Process;
using testing_support::TaskBuilder;
namespace v1 = ::mesos::v1;

namespace {

std::string image() { return DockerDaemon::shared().image("test/bb:1"); }

}  // namespace

TEST_CASE("A task exiting 0: STARTING, RUNNING, FINISHED, and the executor exits 0 after the ACK") {
  Harness h;
  h.agent.launch(TaskBuilder("ok-1", image()).shell("sh -c 'echo working; sleep 1'"));
  const auto running = h.wait_state("ok-1", v1::TASK_RUNNING);
  const auto finished = h.wait_state("ok-1", v1::TASK_FINISHED);
  CHECK(h.states("ok-1") == std::vector<v1::TaskState>{v1::TASK_STARTING, v1::TASK_RUNNING, v1::TASK_FINISHED});
  CHECK(running.source() == v1::TaskStatus::SOURCE_EXECUTOR);
  auto code = h.exe->wait(10s);
  INFO(h.exe->output());
  REQUIRE(code == std::optional<int>(0));
  CHECK(h.agent.acks_sent() >= 3);
  CHECK_THAT(h.exe->output(), Catch::Contains("Docker environment of container " + docker::container_name("ok-1")));
}

TEST_CASE("RUNNING carries the container id; ps shows the container and image in the process title") {
  Harness h;
  h.agent.launch(TaskBuilder("title-1", image()).shell("sh -c 'trap \"exit 0\" TERM; sleep 30 & wait'"));
  const auto running = h.wait_state("title-1", v1::TASK_RUNNING);
  std::ifstream cmdline("/proc/" + std::to_string(h.exe->pid()) + "/cmdline");
  std::stringstream ss;
  ss << cmdline.rdbuf();
  std::string title = ss.str();
  INFO("cmdline: " << title);
  const std::string cid =
      h.daemon.cli({"ps", "-q", "--no-trunc", "--filter", "name=" + docker::container_name("title-1")});
  REQUIRE(cid.size() >= 64);
  CHECK(Harness::container_id(running) == cid.substr(0, 64));
  CHECK(Harness::ip_address(running).rfind("172.", 0) == 0);  // the default bridge's address
  CHECK(title.rfind("sidecar-executor " + cid.substr(0, 12) + " (test/bb:1)", 0) == 0);
  h.agent.kill("title-1");
  h.wait_state("title-1", v1::TASK_KILLED);
  REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
}

TEST_CASE("Exit 3: FAILED with the exit code and the last stderr line; the output is copied to the executor") {
  Harness h;
  h.agent.launch(TaskBuilder("fail-3", image()).shell("sh -c 'echo some-output; echo the-last-complaint >&2; exit 3'"));
  const auto failed = h.wait_state("fail-3", v1::TASK_FAILED);
  CHECK_THAT(failed.message(), Catch::Contains("3"));
  CHECK_THAT(failed.message(), Catch::Contains("the-last-complaint"));
  REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
  CHECK_THAT(h.exe->output(), Catch::Contains("some-output"));
  CHECK_THAT(h.exe->output(), Catch::Contains("the-last-complaint"));
}

TEST_CASE("KILL: a task that obeys SIGTERM ends KILLED within the kill timeout + 1 s") {
  Harness h;
  h.agent.launch(TaskBuilder("kill-1", image()).shell("sh -c 'trap \"exit 0\" TERM; sleep 600 & wait'"));
  h.wait_state("kill-1", v1::TASK_RUNNING);
  const long pid = h.container_pid("kill-1");
  REQUIRE(pid > 0);
  const auto t0 = std::chrono::steady_clock::now();
  h.agent.kill("kill-1");
  const auto killed = h.wait_state("kill-1", v1::TASK_KILLED, 10s);
  CHECK(std::chrono::steady_clock::now() - t0 < 3s);  // EXECUTOR_KILL_TASK_TIMEOUT=2, + 1 s
  // When KILLED is reported the container's process is gone (Docker's bookkeeping may lag a little).
  CHECK((::kill(static_cast<pid_t>(pid), 0) == -1 && errno == ESRCH));
  CHECK(h.container_stopped("kill-1"));
  REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
  (void)killed;
}

TEST_CASE("KILL: a task that ignores SIGTERM is KILLED after the grace period, its container gone") {
  Harness h;
  h.agent.launch(TaskBuilder("stubborn-1", image()).shell("sleep 600"));
  h.wait_state("stubborn-1", v1::TASK_RUNNING);
  const auto t0 = std::chrono::steady_clock::now();
  h.agent.kill("stubborn-1");
  h.wait_state("stubborn-1", v1::TASK_KILLED, 15s);
  const auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took >= 1900ms);  // it had its grace period
  CHECK(h.container_stopped("stubborn-1"));
  REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
}

TEST_CASE("KILL with a kill_policy grace of 1 s beats a kill timeout of 30 s") {
  Harness h(std::map<std::string, std::string>{{"EXECUTOR_KILL_TASK_TIMEOUT", "30"}});
  h.agent.launch(TaskBuilder("policy-1", image()).shell("sleep 600"));
  h.wait_state("policy-1", v1::TASK_RUNNING);
  const auto t0 = std::chrono::steady_clock::now();
  h.agent.kill("policy-1", std::chrono::seconds(1));
  h.wait_state("policy-1", v1::TASK_KILLED, 15s);
  CHECK(std::chrono::steady_clock::now() - t0 < 10s);
  CHECK(h.container_stopped("policy-1"));
  REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
}

TEST_CASE("SHUTDOWN stops the container, reports KILLED and exits") {
  Harness h;
  h.agent.launch(TaskBuilder("shut-1", image()).shell("sh -c 'trap \"exit 0\" TERM; sleep 600 & wait'"));
  h.wait_state("shut-1", v1::TASK_RUNNING);
  h.agent.shutdown();
  h.wait_state("shut-1", v1::TASK_KILLED, 10s);
  auto code = h.exe->wait(10s);
  INFO(h.exe->output());
  REQUIRE(code.has_value());
  CHECK(h.container_stopped("shut-1"));
}

TEST_CASE("SIGTERM to the executor stops the container, reports KILLED and exits") {
  Harness h;
  h.agent.launch(TaskBuilder("sig-1", image()).shell("sh -c 'trap \"exit 0\" TERM; sleep 600 & wait'"));
  h.wait_state("sig-1", v1::TASK_RUNNING);
  h.exe->signal(SIGTERM);
  h.wait_state("sig-1", v1::TASK_KILLED, 10s);
  auto code = h.exe->wait(10s);
  INFO(h.exe->output());
  REQUIRE(code.has_value());
  CHECK(h.container_stopped("sig-1"));
}

TEST_CASE("An image that does not exist: FAILED with the pull error") {
  Harness h;
  const int closed_port = testing_support::free_tcp_port();  // nothing listens there
  const std::string missing = fmt::format("127.0.0.1:{}/nope:1", closed_port);
  h.agent.launch(TaskBuilder("missing-1", missing).shell("true"));
  const auto failed = h.wait_state("missing-1", v1::TASK_FAILED, 60s);
  CHECK(failed.reason() == v1::TaskStatus::REASON_CONTAINER_LAUNCH_FAILED);
  CHECK_THAT(failed.message(), Catch::Contains("pull"));
  CHECK_THAT(failed.message(), Catch::Contains(missing));
  REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
}

TEST_CASE("No Docker daemon: FAILED with a message naming where Docker was looked for") {
  Harness h(std::map<std::string, std::string>{{"DOCKER_HOST", "unix:///tmp/sidecar-executor-no-docker.sock"}});
  h.agent.launch(TaskBuilder("nodocker-1", image()).shell("true"));
  const auto failed = h.wait_state("nodocker-1", v1::TASK_FAILED, 60s);
  CHECK_THAT(failed.message(), Catch::Contains("sidecar-executor-no-docker.sock"));
  REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
}

TEST_CASE("A TaskInfo without container.docker: TASK_ERROR saying so") {
  Harness h;
  v1::TaskInfo t = TaskBuilder("nodock-1", image()).build();
  t.mutable_container()->clear_docker();
  h.agent.launch(t);
  const auto failed = h.wait_state("nodock-1", v1::TASK_ERROR);
  CHECK_THAT(failed.message(), Catch::Contains("docker"));
  REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
}

TEST_CASE("A second LAUNCH is refused; the running task is untouched") {
  Harness h;
  h.agent.launch(TaskBuilder("first-1", image()).shell("sh -c 'trap \"exit 0\" TERM; sleep 600 & wait'"));
  h.wait_state("first-1", v1::TASK_RUNNING);
  h.agent.launch(TaskBuilder("second-1", image()).shell("true"));
  REQUIRE(FakeAgent::wait_until([&] { return !h.updates_of("second-1").empty(); }, 10s));
  const auto refused = h.updates_of("second-1").front();
  CHECK(refused.state() == v1::TASK_ERROR);  // what Mesos itself uses for a task it cannot take
  CHECK_THAT(refused.message(), Catch::Contains("first-1"));
  CHECK(h.container_running("first-1"));
  CHECK(h.container_stopped("second-1"));
  h.agent.kill("first-1");
  h.wait_state("first-1", v1::TASK_KILLED);
  REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
}

TEST_CASE("The terminal update, held unacknowledged across an agent restart, is re-sent and then acknowledged") {
  Harness h({}, /*checkpoint=*/true);
  h.agent.set_auto_ack(false);
  h.agent.launch(TaskBuilder("held-1", image()).shell("true"));
  REQUIRE(FakeAgent::wait_until(
      [&] {
        for (const auto& u : h.agent.updates()) {
          if (u.status.state() == v1::TASK_FINISHED) return true;
        }
        return false;
      },
      30s));
  h.agent.restart(500ms);
  // The new SUBSCRIBE carries the unacknowledged updates, the FINISHED one included.
  REQUIRE(FakeAgent::wait_until(
      [&] {
        for (const auto& u : h.agent.updates()) {
          if (u.via_subscribe && u.status.state() == v1::TASK_FINISHED) return true;
        }
        return false;
      },
      15s));
  CHECK_FALSE(h.exe->wait(0ms).has_value());  // still waiting for its ACK
  h.agent.ack_pending();
  auto code = h.exe->wait(10s);
  INFO(h.exe->output());
  REQUIRE(code == std::optional<int>(0));
}

TEST_CASE("Startup dump: settings and sorted MESOS/EXECUTOR/VAULT variables and HOME; secrets never shown") {
  // The container dump shows values only for the site's allow-list (policy.env_dump_values): this
  // site lists PLAIN.
  char site[] = "/tmp/sce-dump-site-XXXXXX";
  const int fd = ::mkstemp(site);
  REQUIRE(fd >= 0);
  const std::string text = "policy:\n  env_dump_values: [PLAIN]\n";
  REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  ::close(fd);
  Harness h(std::map<std::string, std::string>{{"VAULT_TOKEN", "canary-vault-token"},
                                               {"VAULT_PASSWORD", "canary-vault-password"},
                                               {"VAULT_USERNAME", "canary-vault-user"},
                                               {"VAULT_ADDR", "https://vault.example.com:8200"},
                                               {"EXECUTOR_DEBUG", "false"},
                                               {"UNRELATED_VAR", "not-dumped"}},
            false, {}, {"--config", site});
  ::unlink(site);
  h.agent.launch(TaskBuilder("dump-1", image())
                     .env("DB_PASSWORD", "canary-db-password")
                     .env("API_TOKEN", "canary-api-token")
                     .env("MY_SECRET_KEY", "canary-secret")
                     .env("PLAIN", "shown-value")
                     .shell("true"));
  h.wait_state("dump-1", v1::TASK_FINISHED);
  REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
  const std::string out = h.exe->output();
  INFO(out);
  CHECK_THAT(out, Catch::Contains("Settings:\n  EXECUTOR_"));
  CHECK_THAT(out, Catch::Contains("  EXECUTOR_KILL_TASK_TIMEOUT=2\n"));
  // Sorted: EXECUTOR_* before HOME before MESOS_* before VAULT_ADDR.
  const auto e = out.find("Environment:\n");
  REQUIRE(e != std::string::npos);
  const auto pos_exec = out.find("  EXECUTOR_DEBUG=false\n", e);
  const auto pos_home = out.find("  HOME=/nonexistent\n", e);
  const auto pos_mesos = out.find("  MESOS_AGENT_ENDPOINT=", e);
  const auto pos_vault = out.find("  VAULT_ADDR=https://vault.example.com:8200\n", e);
  REQUIRE(pos_exec != std::string::npos);
  REQUIRE(pos_home != std::string::npos);
  REQUIRE(pos_mesos != std::string::npos);
  REQUIRE(pos_vault != std::string::npos);
  CHECK(pos_exec < pos_home);
  CHECK(pos_home < pos_mesos);
  CHECK(pos_mesos < pos_vault);
  CHECK_THAT(out, !Catch::Contains("UNRELATED_VAR"));
  // The container's environment, secrets redacted.
  CHECK_THAT(out, Catch::Contains("  PLAIN=shown-value\n"));
  CHECK_THAT(out, Catch::Contains("  DB_PASSWORD=[REDACTED]\n"));
  CHECK_THAT(out, Catch::Contains("  API_TOKEN=[REDACTED]\n"));
  CHECK_THAT(out, Catch::Contains("  MY_SECRET_KEY=[REDACTED]\n"));
  for (const char* canary : {"canary-vault-token", "canary-vault-password", "canary-vault-user", "canary-db-password",
                             "canary-api-token", "canary-secret"}) {
    CHECK_THAT(out, !Catch::Contains(canary));
  }
}
