// The executor against the behaviours of a real Mesos agent that our earlier fake agent did not play
// (issue "behave like an official Mesos executor"): SUBSCRIBED held back, a slow 202, SHUTDOWN timing,
// kill policies, a refused re-SUBSCRIBE, unrequested signals, host networking, big LAUNCH records.
// The real executor binary, the fake agent, a real private dockerd.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "../test_pki.h"
#include "docker/image_ref.h"
#include "docker_daemon.h"
#include "executor_env.h"
#include "executor_harness.h"
#include "fake_agent.h"
#include "process.h"
#include "task_builder.h"

using namespace std::chrono_literals;
using fake::AgentOptions;
using fake::FakeAgent;
using testing_support::DockerDaemon;
using testing_support::Harness;
using testing_support::TaskBuilder;
namespace v1 = ::mesos::v1;
using Clock = std::chrono::steady_clock;

namespace {

std::string image() { return DockerDaemon::shared().image("test/bb:1"); }

// A container whose PID 1 ignores SIGTERM: only SIGKILL ends it.
const char* kIgnoresTerm = "sh -c 'trap \"\" TERM; while :; do sleep 1; done'";

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Time at which the agent recorded the first update of `task` in `state`.
std::optional<Clock::time_point> received_at(const FakeAgent& agent, const std::string& task, v1::TaskState state) {
  for (const auto& u : agent.updates()) {
    if (!u.dropped && u.status.task_id().value() == task && u.status.state() == state) return u.at;
  }
  return std::nullopt;
}

bool logged(const Harness& h, const std::string& text) { return h.exe->output().find(text) != std::string::npos; }

}  // namespace

TEST_CASE("A task ending while SUBSCRIBED is held back still gets TASK_FINISHED to the agent before the exit") {
  Harness h({{"EXECUTOR_DEBUG", "true"}}, /*checkpoint=*/true);
  // The container ends when the test says so (a file appears), whatever the machine's load.
  h.agent.launch(TaskBuilder("held-1", image()).shell("sh -c 'until [ -e /tmp/go ]; do sleep 0.1; done'"));
  const auto running = h.wait_state("held-1", v1::TASK_RUNNING);
  // STARTING and RUNNING acknowledged by the executor (not only sent by the agent) before the stream
  // drops: the SUBSCRIBE below then has nothing of its own to list (under a loaded machine the RUNNING
  // acknowledgement could still be in flight, and the SUBSCRIBE would rightly list RUNNING).
  REQUIRE(FakeAgent::wait_until(
      [&] {
        const std::string out = h.exe->output();
        std::size_t n = 0;
        for (auto at = out.find("of task held-1 acknowledged"); at != std::string::npos;
             at = out.find("of task held-1 acknowledged", at + 1)) {
          ++n;
        }
        return n >= 2;
      },
      15s));
  // The agent restarts its stream: the executor re-subscribes, the 200 comes, SUBSCRIBED does not.
  h.agent.hold_subscribed(true);
  h.agent.drop_stream();
  REQUIRE(FakeAgent::wait_until([&] { return h.agent.calls_of(v1::executor::Call::SUBSCRIBE).size() >= 2; }, 10s));
  // The container ends in that window: the update is made after the SUBSCRIBE was built.
  // The exec's own process can be killed (exit 137) when the container sees the file and exits before
  // the exec is done with it: the file is what counts, and the TASK_FINISHED below says it was made.
  try {
    h.daemon.cli({"exec", Harness::container_id(running), "touch", "/tmp/go"});
  } catch (const std::exception& e) {
    WARN("docker exec: " << e.what());
  }
  REQUIRE(FakeAgent::wait_until([&] { return logged(h, "sending TASK_FINISHED"); }, 15s));
  CHECK(h.agent.calls_of(v1::executor::Call::SUBSCRIBE).back().call->subscribe().unacknowledged_updates_size() == 0);
  h.agent.release_subscribed();
  const auto code = h.exe->wait(15s);
  INFO(h.exe->output());
  CHECK(code == std::optional<int>(0));
  // The agent processed TASK_FINISHED (as an UPDATE after SUBSCRIBED), not just the executor's word.
  CHECK(h.agent.task_states("held-1").back() == v1::TASK_FINISHED);
  CHECK(received_at(h.agent, "held-1", v1::TASK_FINISHED));
}

TEST_CASE("SHUTDOWN right after the container's exit still delivers the queued terminal update") {
  Harness h;
  h.agent.launch(TaskBuilder("flush-1", image()).shell("sh -c 'sleep 1'"));
  h.wait_state("flush-1", v1::TASK_STARTING);
  // RUNNING's 202 takes 2 s: TASK_FINISHED queues behind it on the call connection.
  h.agent.set_update_delay(2500ms);
  h.wait_state("flush-1", v1::TASK_RUNNING);
  REQUIRE(FakeAgent::wait_until([&] { return logged(h, "sending TASK_FINISHED"); }, 15s));
  CHECK_FALSE(received_at(h.agent, "flush-1", v1::TASK_FINISHED));  // still queued
  h.agent.set_update_delay(0ms);
  h.agent.shutdown();
  const auto code = h.exe->wait(15s);
  INFO(h.exe->output());
  CHECK(code == std::optional<int>(0));
  CHECK(h.agent.task_states("flush-1").back() == v1::TASK_FINISHED);
}

TEST_CASE("SHUTDOWN with a 4 s grace period and a container ignoring SIGTERM: TASK_KILLED, exit within 3 s") {
  Harness h({{"MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", "4secs"}, {"EXECUTOR_KILL_TASK_TIMEOUT", "30"}});
  h.agent.launch(TaskBuilder("grace-4", image()).shell(kIgnoresTerm));
  const auto running = h.wait_state("grace-4", v1::TASK_RUNNING);
  const auto sent = Clock::now();
  h.agent.shutdown();
  const auto code = h.exe->wait(10s);
  const double exited = seconds_since(sent);
  INFO(h.exe->output());
  const auto killed_at = received_at(h.agent, "grace-4", v1::TASK_KILLED);
  REQUIRE(killed_at);
  const double killed = std::chrono::duration<double>(*killed_at - sent).count();
  WARN(fmt::format("SHUTDOWN (grace 4 s) -> TASK_KILLED at the agent {:.2f} s, executor exited {:.2f} s", killed,
                   exited));
  CHECK(code == std::optional<int>(0));
  // Ended by the ACK, not by the executor's own deadline.
  CHECK_THAT(h.exe->output(), Catch::Contains("terminal update acknowledged: exiting"));
  CHECK_THAT(h.exe->output(), !Catch::Contains("shutdown grace period ends"));
  // The official margin: stop 2 s (grace - 1 s - 1 s), everything over 1 s before the agent's deadline.
  CHECK(exited < 3.0 + 0.3);  // the 0.3 s: the test's own polling and process reaping
  CHECK(killed < exited);
  CHECK(h.container_stopped("grace-4"));
  CHECK_THAT(h.exe->output(), Catch::Contains("SIGKILL after 2000 ms"));
  (void)running;
}

TEST_CASE("TaskInfo.kill_policy (1 s) is the grace when the KILL has none, over EXECUTOR_KILL_TASK_TIMEOUT=30") {
  Harness h(std::map<std::string, std::string>{{"EXECUTOR_KILL_TASK_TIMEOUT", "30"}});
  h.agent.launch(TaskBuilder("policy-1", image()).shell(kIgnoresTerm).kill_policy(1s));
  h.wait_state("policy-1", v1::TASK_RUNNING);
  const auto sent = Clock::now();
  h.agent.kill("policy-1");
  h.wait_state("policy-1", v1::TASK_KILLED, 20s);
  const double took = seconds_since(sent);
  WARN(fmt::format("KILL with TaskInfo.kill_policy 1 s -> TASK_KILLED in {:.2f} s", took));
  CHECK(took < 10.0);  // 1 s + Docker's stop; with the 30 s timeout it would be 30 s
  CHECK_THAT(h.exe->output(), Catch::Contains("SIGKILL after 1000 ms"));
  CHECK(h.exe->wait(15s) == std::optional<int>(0));
}

TEST_CASE("A KILL with a 2 s policy while a 10 s Sidecar drain is configured ends within about 2 s") {
  Harness h({{"EXECUTOR_SIDECAR_DRAINING_DURATION", "10s"}, {"EXECUTOR_KILL_TASK_TIMEOUT", "5"}});
  h.agent.launch(TaskBuilder("drain-2", image()).shell(kIgnoresTerm));
  h.wait_state("drain-2", v1::TASK_RUNNING);
  const auto sent = Clock::now();
  h.agent.kill("drain-2", std::chrono::nanoseconds(2s));
  h.wait_state("drain-2", v1::TASK_KILLED, 20s);
  const double took = seconds_since(sent);
  WARN(fmt::format("KILL with a 2 s policy and a 10 s drain configured -> TASK_KILLED in {:.2f} s", took));
  CHECK(took < 6.0);  // 2 s + Docker's stop; the full drain alone would be 10 s
  CHECK(h.exe->wait(15s) == std::optional<int>(0));
}

TEST_CASE("A container killed from outside (docker kill) is TASK_FAILED, not TASK_KILLED") {
  Harness h;
  h.agent.launch(TaskBuilder("outside-1", image()).shell("sleep 600"));
  const auto running = h.wait_state("outside-1", v1::TASK_RUNNING);
  h.daemon.cli({"kill", Harness::container_id(running)});
  const auto failed = h.wait_state("outside-1", v1::TASK_FAILED);
  CHECK_THAT(failed.message(), Catch::Contains("not sent by the executor"));
  CHECK(h.states("outside-1") == std::vector<v1::TaskState>{v1::TASK_STARTING, v1::TASK_RUNNING, v1::TASK_FAILED});
  CHECK(h.exe->wait(15s) == std::optional<int>(0));
}

TEST_CASE("Host networking: no network_infos entry without an IP address; the container id is still reported") {
  Harness h;
  h.agent.launch(TaskBuilder("hostnet-1", image()).host_network().shell("sleep 600"));
  const auto running = h.wait_state("hostnet-1", v1::TASK_RUNNING);
  for (const auto& s : h.updates_of("hostnet-1")) {
    for (const auto& net : s.container_status().network_infos()) CHECK(net.ip_addresses_size() > 0);
  }
  CHECK_FALSE(Harness::container_id(running).empty());
  h.agent.kill("hostnet-1");
  h.wait_state("hostnet-1", v1::TASK_KILLED);
  CHECK(h.exe->wait(15s) == std::optional<int>(0));
}

TEST_CASE("A re-SUBSCRIBE answered 400 (the agent forgot the framework): container stopped, non-zero exit") {
  Harness h({}, /*checkpoint=*/true);
  h.agent.launch(TaskBuilder("forgot-1", image()).shell(kIgnoresTerm));
  h.wait_state("forgot-1", v1::TASK_RUNNING);
  h.agent.fail_subscribe(400, "Framework cannot be found");
  const auto sent = Clock::now();
  h.agent.drop_stream();
  const auto code = h.exe->wait(15s);
  const double took = seconds_since(sent);
  INFO(h.exe->output());
  WARN(fmt::format("400 on re-SUBSCRIBE -> executor exited {:.2f} s after the stream dropped", took));
  REQUIRE(code.has_value());
  CHECK(*code != 0);
  CHECK(took < 10.0);  // not the 20 s recovery timeout
  CHECK(h.container_stopped("forgot-1"));
  CHECK_THAT(h.exe->output(), Catch::Contains("Framework cannot be found"));
}

TEST_CASE("A 12 MiB LAUNCH (large TaskInfo.data) runs") {
  Harness h;
  h.agent.launch(TaskBuilder("big-12", image()).shell("true").data(std::string(12u << 20, 'd')));
  h.wait_state("big-12", v1::TASK_FINISHED, 60s);
  CHECK(h.exe->wait(15s) == std::optional<int>(0));
}

TEST_CASE("A LAUNCH over EXECUTOR_MAX_RECORD_SIZE fails its task loudly instead of being lost") {
  Harness h(std::map<std::string, std::string>{{"EXECUTOR_MAX_RECORD_SIZE", "1048576"}});
  h.agent.launch(TaskBuilder("huge-2", image()).shell("true").data(std::string(2u << 20, 'd')));
  const auto failed = h.wait_state("huge-2", v1::TASK_FAILED, 30s);
  CHECK_THAT(failed.message(), Catch::Contains("EXECUTOR_MAX_RECORD_SIZE"));
  // The stream stayed in sync: the ACK that follows the big record still reaches the executor.
  CHECK(h.exe->wait(15s) == std::optional<int>(0));
  CHECK_THAT(h.exe->output(), Catch::Contains("terminal update acknowledged: exiting"));
  CHECK(h.agent.calls_of(v1::executor::Call::SUBSCRIBE).size() == 1);
}

TEST_CASE("An over-size LAUNCH's task stays listed until acknowledged, so a re-SUBSCRIBE does not lose it") {
  Harness h(std::map<std::string, std::string>{{"EXECUTOR_MAX_RECORD_SIZE", "1048576"}}, /*checkpoint=*/true);
  h.agent.set_auto_ack(false);
  h.agent.launch(TaskBuilder("huge-3", image()).shell("true").data(std::string(2u << 20, 'd')));
  h.wait_state("huge-3", v1::TASK_FAILED, 30s);
  h.agent.drop_stream();  // before the ACK: the agent would take an unlisted STAGING task for lost
  REQUIRE(FakeAgent::wait_until([&] { return h.agent.calls_of(v1::executor::Call::SUBSCRIBE).size() >= 2; }, 10s));
  const auto sub = h.agent.calls_of(v1::executor::Call::SUBSCRIBE).back().call->subscribe();
  REQUIRE(sub.unacknowledged_tasks_size() == 1);
  CHECK(sub.unacknowledged_tasks(0).task_id().value() == "huge-3");
  h.agent.ack_pending();
  CHECK(h.exe->wait(15s) == std::optional<int>(0));
  CHECK(h.agent.task_states("huge-3") == std::vector<v1::TaskState>{v1::TASK_FAILED});  // no TASK_LOST
}

TEST_CASE("A terminating executor's re-SUBSCRIBE gets SHUTDOWN instead of SUBSCRIBED: stopped inside the grace") {
  // Never subscribed again, the executor cannot send its terminal update (the official library drops
  // calls until SUBSCRIBED, src/executor/executor.cpp); the agent reports the task itself. What is ours:
  // the container stopped and the executor gone inside the shutdown grace period (10 s here).
  Harness h({}, /*checkpoint=*/true);
  h.agent.launch(TaskBuilder("term-sub", image()).shell(kIgnoresTerm));
  h.wait_state("term-sub", v1::TASK_RUNNING);
  h.agent.set_terminating(true);
  const auto sent = Clock::now();
  h.agent.drop_stream();
  const auto code = h.exe->wait(15s);
  const double took = seconds_since(sent);
  INFO(h.exe->output());
  REQUIRE(code.has_value());
  CHECK(took < 10.0);
  CHECK(h.container_stopped("term-sub"));
  CHECK_THAT(h.exe->output(), Catch::Contains("the agent shut the executor down"));
}

namespace {

// A CA, the agent's certificate for 127.0.0.1 (IP SAN) signed by it, the executor's client certificate
// signed by it, and an unrelated CA.
struct Pki : testing_support::TestPki {
  Pki() : TestPki("sce-agent-tls.") {
    ca("ca", "agent-ca");
    sign("agent", "ca", "agent", "subjectAltName=IP:127.0.0.1");
    sign("executor", "ca", "executor", "extendedKeyUsage=clientAuth");
    ca("other", "other-ca");
  }
  std::map<std::string, std::string> executor_env(const std::string& ca_file) const {
    return {{"LIBPROCESS_SSL_ENABLED", "true"},
            {"LIBPROCESS_SSL_CERT_FILE", dir + "/executor.pem"},
            {"LIBPROCESS_SSL_KEY_FILE", dir + "/executor-key.pem"},
            {"LIBPROCESS_SSL_CA_FILE", ca_file},
            {"LIBPROCESS_SSL_VERIFY_SERVER_CERT", "true"},
            {"LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME", "openssl"},
            {"LIBPROCESS_SSL_VERIFY_IPADD", "true"}};
  }
};

}  // namespace

TEST_CASE("The agent path over TLS: verified agent certificate, client certificate, a task from LAUNCH to ACK") {
  Pki pki;
  AgentOptions o;
  o.tls_cert_file = pki.dir + "/agent.pem";
  o.tls_key_file = pki.dir + "/agent-key.pem";
  o.tls_client_ca_file = pki.dir + "/ca.pem";  // the agent wants our certificate, signed by its CA
  Harness h(pki.executor_env(pki.dir + "/ca.pem"), false, o);
  h.agent.launch(TaskBuilder("tls-1", image()).shell("true"));
  h.wait_state("tls-1", v1::TASK_FINISHED);
  CHECK(h.exe->wait(15s) == std::optional<int>(0));
  CHECK(h.states("tls-1") == std::vector<v1::TaskState>{v1::TASK_STARTING, v1::TASK_RUNNING, v1::TASK_FINISHED});
}

TEST_CASE("The agent path over TLS: an agent certificate from another CA is refused, never used unverified") {
  Pki pki;
  AgentOptions o;
  o.tls_cert_file = pki.dir + "/agent.pem";
  o.tls_key_file = pki.dir + "/agent-key.pem";
  FakeAgent agent(o);
  agent.start();
  const auto env = testing_support::ExecutorEnv(agent.endpoint())
                       .shutdown_grace("5secs")
                       .set(pki.executor_env(pki.dir + "/other.pem"))
                       .map();
  testing_support::Process exe({testing_support::executor_binary()}, env);
  const auto code = exe.wait(15s);
  INFO(exe.output());
  REQUIRE(code.has_value());
  CHECK(*code != 0);
  CHECK(agent.calls().empty());  // not one request reached the agent
  CHECK_THAT(exe.output(), Catch::Contains("certificate"));
}
