// The Sidecar watchdog, drain and seeds: the real executor, the fake agent, a fake Sidecar and a
// private dockerd.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <optional>

#include "executor_harness.h"
#include "fake_sidecar.h"
#include "task_builder.h"

using namespace std::chrono_literals;
using fake::FakeAgent;
using testing_support::DockerDaemon;
using testing_support::FakeSidecar;
using testing_support::Harness;
using testing_support::TaskBuilder;
namespace v1 = ::mesos::v1;

namespace {

constexpr int kAlive = 0, kTombstone = 1, kUnhealthy = 2;
const char* kHost = "sidecar-test-host";

std::map<std::string, std::string> sidecar_env(const FakeSidecar& s, std::map<std::string, std::string> more = {}) {
  std::map<std::string, std::string> env = {
      {"EXECUTOR_SIDECAR_URL", s.url()},
      {"EXECUTOR_SIDECAR_BACKOFF", "300ms"},
      {"EXECUTOR_SIDECAR_POLL_INTERVAL", "150ms"},
      {"EXECUTOR_SIDECAR_RETRY_COUNT", "1"},
      {"EXECUTOR_SIDECAR_RETRY_DELAY", "50ms"},
      {"EXECUTOR_HTTP_TIMEOUT", "500ms"},
      {"EXECUTOR_SIDECAR_DRAINING_DURATION", "0s"},
  };
  for (auto& [k, v] : more) env[k] = v;
  return env;
}

TaskBuilder sleeper(const std::string& id) {
  TaskBuilder t(id, DockerDaemon::shared().image("test/bb:1"));
  t.env("TASK_HOST", kHost).shell("sh -c 'trap \"exit 0\" TERM; sleep 600 & wait'");
  return t;
}

// Lists our container in the fake Sidecar once RUNNING names it.
std::string list_ours(Harness& h, FakeSidecar& s, const std::string& task, std::vector<int> script) {
  const auto running = h.wait_state(task, v1::TASK_RUNNING);
  const std::string id = Harness::container_id(running);
  REQUIRE(id.size() >= 12);
  s.set_service(kHost, id.substr(0, 12), script.front());
  s.set_script(std::move(script));
  return id.substr(0, 12);
}

// Statuses served to us, in order.
std::vector<int> served(const FakeSidecar& s) {
  std::vector<int> out;
  for (const auto& c : s.calls()) {
    if (c.what == "state" && c.served >= 0) out.push_back(c.served);
  }
  return out;
}

std::vector<bool> health_updates(const Harness& h, const std::string& task) {
  std::vector<bool> out;
  for (const auto& u : h.updates_of(task)) {
    if (u.state() == v1::TASK_RUNNING && u.has_healthy()) out.push_back(u.healthy());
  }
  return out;
}

}  // namespace

TEST_CASE("UNHEALTHY on MAX_FAILS+1 checks in a row kills the task, FAILED with Sidecar's verdict") {
  FakeSidecar s;
  Harness h(sidecar_env(s, {{"EXECUTOR_SIDECAR_MAX_FAILS", "3"}}));
  h.agent.launch(sleeper("watch-1"));
  list_ours(h, s, "watch-1", {kUnhealthy});
  const auto failed = h.wait_state("watch-1", v1::TASK_FAILED, 20s);
  CHECK_THAT(failed.message(), Catch::Contains("UNHEALTHY"));
  CHECK_THAT(failed.message(), Catch::Contains("Sidecar"));
  // Exactly the Go count: the 4th consecutive failure kills.
  CHECK(served(s) == std::vector<int>{kUnhealthy, kUnhealthy, kUnhealthy, kUnhealthy});
  CHECK(h.container_stopped("watch-1"));
  REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
}

TEST_CASE("One ALIVE between failures resets the count; TOMBSTONE counts as a failure") {
  FakeSidecar s;
  Harness h(sidecar_env(s, {{"EXECUTOR_SIDECAR_MAX_FAILS", "2"}}));
  h.agent.launch(sleeper("watch-2"));
  list_ours(h, s, "watch-2", {kUnhealthy, kUnhealthy, kAlive, kTombstone, kUnhealthy, kTombstone});
  const auto failed = h.wait_state("watch-2", v1::TASK_FAILED, 20s);
  CHECK_THAT(failed.message(), Catch::Contains("TOMBSTONE"));
  CHECK(served(s) == std::vector<int>{kUnhealthy, kUnhealthy, kAlive, kTombstone, kUnhealthy, kTombstone});
  REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
}

TEST_CASE("healthy updates come on ALIVE→UNHEALTHY→ALIVE changes, not on every poll") {
  FakeSidecar s;
  Harness h(sidecar_env(s, {{"EXECUTOR_SIDECAR_MAX_FAILS", "10"}}));
  h.agent.launch(sleeper("health-1"));
  list_ours(h, s, "health-1", {kAlive, kAlive, kAlive, kUnhealthy, kUnhealthy, kAlive});
  REQUIRE(FakeAgent::wait_until([&] { return served(s).size() >= 9; }, 15s));
  CHECK(health_updates(h, "health-1") == std::vector<bool>{true, false, true});
  for (const auto& u : h.updates_of("health-1")) {
    if (u.has_healthy()) CHECK(u.reason() == v1::TaskStatus::REASON_TASK_HEALTH_CHECK_STATUS_UPDATED);
  }
  h.agent.kill("health-1");
  h.wait_state("health-1", v1::TASK_KILLED);
  REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
}

TEST_CASE("EXECUTOR_SIDECAR_HEALTH_UPDATES=false sends no healthy updates") {
  FakeSidecar s;
  Harness h(sidecar_env(s, {{"EXECUTOR_SIDECAR_HEALTH_UPDATES", "false"}, {"EXECUTOR_SIDECAR_MAX_FAILS", "10"}}));
  h.agent.launch(sleeper("health-2"));
  list_ours(h, s, "health-2", {kAlive, kUnhealthy, kAlive});
  REQUIRE(FakeAgent::wait_until([&] { return served(s).size() >= 4; }, 15s));
  CHECK(health_updates(h, "health-2").empty());
  h.agent.kill("health-2");
  h.wait_state("health-2", v1::TASK_KILLED);
}

TEST_CASE("Sidecar down, answering 500, garbage, or not listing us: the task keeps running") {
  using Mode = FakeSidecar::Mode;
  const auto mode =
      GENERATE(std::string("down"), std::string("500"), std::string("garbage"), std::string("not-listed"));
  INFO("Sidecar " << mode);
  const std::string task = "doubt-" + mode;  // one container name per run
  FakeSidecar s;
  Harness h(sidecar_env(s, {{"EXECUTOR_SIDECAR_MAX_FAILS", "1"}}));
  h.agent.launch(sleeper(task));
  const std::string id = list_ours(h, s, task, {kUnhealthy});
  if (mode == "down") s.go_down();
  if (mode == "500") s.set_mode(Mode::Http500);
  if (mode == "garbage") s.set_mode(Mode::Garbage);
  if (mode == "not-listed") s.set_mode(Mode::NotListed);
  std::this_thread::sleep_for(2500ms);  // ≥ 5 poll cycles with MAX_FAILS=1
  CHECK(h.states(task) == std::vector<v1::TaskState>{v1::TASK_STARTING, v1::TASK_RUNNING});
  CHECK(h.container_running(task));
  CHECK_THAT(h.exe->output(), Catch::Contains("Assuming healthy..."));  // Go's wording (executor.go:215-229)
  if (mode != "down") CHECK(s.polls() >= 5);
  h.agent.kill(task);
  h.wait_state(task, v1::TASK_KILLED);
  REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
}

namespace {

// True when `text` holds each of `parts`, in this order.
bool in_order(const std::string& text, const std::vector<std::string>& parts) {
  std::size_t at = 0;
  for (const auto& p : parts) {
    at = text.find(p, at);
    if (at == std::string::npos) return false;
    at += p.size();
  }
  return true;
}

}  // namespace

// Issue 18 item 10. Go (executor.go at 204b3bbd, sidecarStatus): Sidecar unreachable returns at :214-217
// before the count is touched, so it stays at 1 from the first UNHEALTHY (:238-241), and the second
// UNHEALTHY finds failCount >= MAX_FAILS (:177, :244-247): the task is stopped.
TEST_CASE("MAX_FAILS=1: UNHEALTHY, Sidecar down, UNHEALTHY kills at the second UNHEALTHY, as the Go executor") {
  FakeSidecar s;
  Harness h(sidecar_env(s, {{"EXECUTOR_SIDECAR_MAX_FAILS", "1"}, {"EXECUTOR_SIDECAR_POLL_INTERVAL", "1500ms"}}));
  h.agent.launch(sleeper("go-count-1"));
  const std::string id12 = list_ours(h, s, "go-count-1", {kUnhealthy});
  REQUIRE(FakeAgent::wait_until([&] { return served(s).size() == 1; }, 10s));
  s.go_down();
  // The next check finds no Sidecar: RETRY_COUNT 1, so two attempts, then Go's verdict-less line.
  REQUIRE(FakeAgent::wait_until(
      [&] { return h.exe->output().find("Can't contact Sidecar! Assuming healthy...") != std::string::npos; }, 10s));
  CHECK(h.states("go-count-1").back() == v1::TASK_RUNNING);  // no terminal update yet (healthy=false came)
  CHECK(h.container_running("go-count-1"));
  s.come_back();
  const auto failed = h.wait_state("go-count-1", v1::TASK_FAILED, 20s);
  INFO(h.exe->output());
  CHECK_THAT(failed.message(), Catch::Contains("UNHEALTHY"));
  CHECK(served(s) == std::vector<int>{kUnhealthy, kUnhealthy});  // killed at the second, not a third
  const std::string full_id = Harness::container_id(h.wait_state("go-count-1", v1::TASK_RUNNING));
  CHECK(in_order(h.exe->output(),
                 {"Failed Sidecar health check, but below fail limit", "Failed 1 attempts to fetch state from Sidecar!",
                  "Failed 2 attempts to fetch state from Sidecar!", "Can't contact Sidecar! Assuming healthy...",
                  "Health failure count exceeded 1", "Error! Unhealthy container: " + full_id + " failing task!"}));
  CHECK(h.container_stopped("go-count-1"));
  REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
}

// Issue 18 item 10's sequence: an HTTP 500 (an answer: not retried, executor.go:183-203), garbage
// (:221-224) and our service not listed (:227-230) leave the count; Go kills at the fifth check.
TEST_CASE("MAX_FAILS=1: UNHEALTHY, HTTP 500, garbage, not listed, UNHEALTHY kills at the fifth check") {
  FakeSidecar s;
  Harness h(sidecar_env(s, {{"EXECUTOR_SIDECAR_MAX_FAILS", "1"}}));
  h.agent.launch(sleeper("go-count-2"));
  list_ours(h, s, "go-count-2",
            {kUnhealthy, FakeSidecar::kHttp500, FakeSidecar::kGarbage, FakeSidecar::kNotListed, kUnhealthy, kAlive});
  const auto failed = h.wait_state("go-count-2", v1::TASK_FAILED, 20s);
  INFO(h.exe->output());
  CHECK_THAT(failed.message(), Catch::Contains("UNHEALTHY"));
  std::vector<int> steps;  // from the first UNHEALTHY served on
  for (const auto& c : s.calls()) {
    if (c.what == "state" && (!steps.empty() || c.served == kUnhealthy)) steps.push_back(c.served);
  }
  CHECK(steps == std::vector<int>{kUnhealthy, FakeSidecar::kHttp500, FakeSidecar::kGarbage, FakeSidecar::kNotListed,
                                  kUnhealthy});
  CHECK(
      in_order(h.exe->output(),
               {"Can't parse Sidecar results! Assuming healthy...", "Can't parse Sidecar results! Assuming healthy...",
                "Can't find this service in Sidecar yet! Assuming healthy...", "Health failure count exceeded 1"}));
  REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
}

TEST_CASE("KILL with draining 2 s: the drain call comes first, the stop about 2 s later") {
  FakeSidecar s;
  Harness h(sidecar_env(s, {{"EXECUTOR_SIDECAR_DRAINING_DURATION", "2s"}, {"EXECUTOR_SIDECAR_BACKOFF", "1m"}}));
  h.agent.launch(sleeper("drain-1"));
  const std::string id = list_ours(h, s, "drain-1", {kAlive});
  const auto t0 = std::chrono::steady_clock::now();
  h.agent.kill("drain-1");
  h.wait_state("drain-1", v1::TASK_KILLED, 15s);
  const auto drains = s.drains();
  REQUIRE(drains.size() == 1);
  CHECK(drains[0].what == "drain " + id);
  CHECK(drains[0].at - t0 < 1s);
  std::chrono::steady_clock::time_point killed_at{};
  for (const auto& u : h.agent.updates()) {
    if (u.status.state() == v1::TASK_KILLED) killed_at = u.at;
  }
  const auto after_drain = killed_at - drains[0].at;
  CHECK(after_drain >= 1900ms);
  CHECK(after_drain < 5s);
  REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
}

TEST_CASE("A container exiting during the drain wait ends it at once; draining 0 sends no drain call") {
  SECTION("exit during the drain wait") {
    FakeSidecar s;
    Harness h(sidecar_env(s, {{"EXECUTOR_SIDECAR_DRAINING_DURATION", "20s"}, {"EXECUTOR_SIDECAR_BACKOFF", "1m"}}));
    TaskBuilder t("drain-2", DockerDaemon::shared().image("test/bb:1"));
    t.env("TASK_HOST", kHost).shell("sh -c 'sleep 2'");
    h.agent.launch(t);
    list_ours(h, s, "drain-2", {kAlive});
    const auto t0 = std::chrono::steady_clock::now();
    h.agent.kill("drain-2");
    // An exit before the stop was asked for is the container's own outcome: exit 0, FINISHED (as Go).
    h.wait_state("drain-2", v1::TASK_FINISHED, 15s);
    CHECK(std::chrono::steady_clock::now() - t0 < 8s);  // not the 20 s drain
    CHECK(s.drains().size() == 1);
    REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
  }
  SECTION("draining 0") {
    FakeSidecar s;
    Harness h(sidecar_env(s, {{"EXECUTOR_SIDECAR_DRAINING_DURATION", "0s"}}));
    h.agent.launch(sleeper("drain-3"));
    list_ours(h, s, "drain-3", {kAlive});
    h.agent.kill("drain-3");
    h.wait_state("drain-3", v1::TASK_KILLED, 15s);
    CHECK(s.drains().empty());
    REQUIRE(h.exe->wait(10s) == std::optional<int>(0));
  }
  SECTION("SidecarDiscover=false: no watchdog and no drain") {
    FakeSidecar s;
    Harness h(sidecar_env(s, {{"EXECUTOR_SIDECAR_DRAINING_DURATION", "5s"}}));
    h.agent.launch(sleeper("drain-4").param("label", "SidecarDiscover=false"));
    list_ours(h, s, "drain-4", {kUnhealthy});
    std::this_thread::sleep_for(1s);
    CHECK(s.polls() == 0);
    h.agent.kill("drain-4");
    h.wait_state("drain-4", v1::TASK_KILLED, 15s);
    CHECK(s.drains().empty());
  }
}

TEST_CASE("SIDECAR_SEEDS reaches the container from the agent's /state and the master's /slaves") {
  testing_support::FakeMaster master({"agent-a.example.com", "agent-b.example.com"});
  FakeSidecar s;
  fake::AgentOptions ao;
  ao.master_hostname = "127.0.0.1";
  Harness h(sidecar_env(
                s, {{"EXECUTOR_SEED_SIDECAR", "true"}, {"EXECUTOR_MESOS_MASTER_PORT", std::to_string(master.port())}}),
            false, ao);
  h.agent.launch(sleeper("seeds-1"));
  const auto running = h.wait_state("seeds-1", v1::TASK_RUNNING);
  const std::string env = h.daemon.cli({"inspect", "--format", "{{json .Config.Env}}", Harness::container_id(running)});
  CHECK_THAT(env, Catch::Contains("SIDECAR_SEEDS=agent-a.example.com,agent-b.example.com"));
  h.agent.kill("seeds-1");
  h.wait_state("seeds-1", v1::TASK_KILLED);
}

TEST_CASE("Seeds that cannot be had: logged, and the task starts without them") {
  FakeSidecar s;
  Harness h(sidecar_env(s, {{"EXECUTOR_SEED_SIDECAR", "true"}}));  // the fake agent has no master: /state 404
  h.agent.launch(sleeper("seeds-2"));
  const auto running = h.wait_state("seeds-2", v1::TASK_RUNNING);
  const std::string env = h.daemon.cli({"inspect", "--format", "{{json .Config.Env}}", Harness::container_id(running)});
  CHECK_THAT(env, !Catch::Contains("SIDECAR_SEEDS"));
  // Go's wording (executor_utils.go:78): the agent's answer (here a 404) does not give a master.
  CHECK_THAT(h.exe->output(), Catch::Contains("Error parsing response body from Mesos worker! 'GET http://"));
  h.agent.kill("seeds-2");
  h.wait_state("seeds-2", v1::TASK_KILLED);
}

namespace {

// Acknowledges the task's terminal update by hand (auto-ACK off) once it arrives, and returns how long
// the executor then took to exit (its exit code in `code`).
std::chrono::milliseconds exit_after_terminal_ack(Harness& h, const std::string& task, v1::TaskState terminal,
                                                  std::chrono::milliseconds within, std::optional<int>& code) {
  h.wait_state(task, terminal, within);
  const auto acked_at = std::chrono::steady_clock::now();
  h.agent.ack_pending();
  code = h.exe->wait(60s);
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - acked_at);
}

}  // namespace

TEST_CASE("A Sidecar sending one byte every 500 ms does not hold the exit: gone within 2 s of the terminal ACK") {
  FakeSidecar s;
  s.set_mode(FakeSidecar::Mode::Dribble);
  // A long HTTP timeout: only cutting the poll in flight lets the executor go in time.
  Harness h(sidecar_env(s, {{"EXECUTOR_HTTP_TIMEOUT", "30s"}, {"EXECUTOR_TERMINAL_ACK_TIMEOUT", "60s"}}));
  TaskBuilder t("dribble-1", DockerDaemon::shared().image("test/bb:1"));
  t.env("TASK_HOST", kHost).shell("sh -c 'sleep 3'");
  h.agent.launch(t);
  h.wait_state("dribble-1", v1::TASK_RUNNING);
  h.agent.set_auto_ack(false);
  REQUIRE(FakeAgent::wait_until([&] { return s.polls() >= 1; }, 5s));
  std::optional<int> code;
  const auto took = exit_after_terminal_ack(h, "dribble-1", v1::TASK_FINISHED, 20s, code);
  std::printf("figure: executor exit %lld ms after the terminal ACK, a Sidecar poll dribbling (HTTP timeout 30 s)\n",
              static_cast<long long>(took.count()));
  INFO(h.exe->output());
  REQUIRE(code == std::optional<int>(0));
  CHECK(took < 2s);
  // The poll was still being answered when the executor went: it hung up, it did not wait.
  const auto calls = s.calls();
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].what == "state");
  CHECK(calls[0].hung_up.has_value());
}

namespace {

// How long the kill took (kill → TASK_KILLED) and the exit after the terminal ACK, with every drain
// POST dribbled.
struct DrainRun {
  std::chrono::milliseconds drain_wait{0}, exit_after_ack{0};
  std::optional<int> code;
  std::string id12;
};

DrainRun kill_with_dribbling_drain(FakeSidecar& s, const std::string& task, const std::string& draining,
                                   const std::string& http_timeout, const std::string& retries) {
  Harness h(sidecar_env(s, {{"EXECUTOR_SIDECAR_DRAINING_DURATION", draining},
                            {"EXECUTOR_HTTP_TIMEOUT", http_timeout},
                            {"EXECUTOR_SIDECAR_RETRY_COUNT", retries},
                            {"EXECUTOR_SIDECAR_BACKOFF", "1m"},
                            {"EXECUTOR_TERMINAL_ACK_TIMEOUT", "60s"}}));
  h.agent.launch(sleeper(task));
  DrainRun run;
  run.id12 = list_ours(h, s, task, {kAlive});
  s.set_mode(FakeSidecar::Mode::Dribble);
  h.agent.set_auto_ack(false);
  const auto t0 = std::chrono::steady_clock::now();
  h.agent.kill(task);
  run.exit_after_ack = exit_after_terminal_ack(h, task, v1::TASK_KILLED, 30s, run.code);
  for (const auto& u : h.agent.updates()) {
    if (u.status.state() == v1::TASK_KILLED) {
      run.drain_wait = std::chrono::duration_cast<std::chrono::milliseconds>(u.at - t0);
    }
  }
  std::printf(
      "figure: draining %s, HTTP timeout %s, drain POST dribbling: kill to TASK_KILLED %lld ms, "
      "exit %lld ms after the terminal ACK\n",
      draining.c_str(), http_timeout.c_str(), static_cast<long long>(run.drain_wait.count()),
      static_cast<long long>(run.exit_after_ack.count()));
  INFO(h.exe->output());
  CHECK(run.code == std::optional<int>(0));
  return run;
}

}  // namespace

TEST_CASE("A drain answered one byte every 500 ms: the drain wait stays within draining + HTTP timeout") {
  SECTION("each try ends at the HTTP timeout, in total") {
    FakeSidecar s;
    const DrainRun run = kill_with_dribbling_drain(s, "dribble-2", "3s", "1s", "1");
    CHECK(run.drain_wait >= 2900ms);
    CHECK(run.drain_wait <= 3s + 1s);  // the draining duration + the HTTP timeout
    CHECK(run.exit_after_ack < 2s);
    // Two tries (RETRY_COUNT 1), each given up after the 1 s total, not after its last byte.
    const auto drains = s.drains();
    REQUIRE(drains.size() == 2);
    for (const auto& d : drains) {
      CHECK(d.what == "drain " + run.id12);
      REQUIRE(d.hung_up.has_value());
      CHECK(*d.hung_up - d.at >= 900ms);
      CHECK(*d.hung_up - d.at < 1600ms);
    }
  }
  SECTION("a try still in flight at exit is cut") {
    FakeSidecar s;
    const DrainRun run = kill_with_dribbling_drain(s, "dribble-3", "2s", "10s", "0");
    CHECK(run.drain_wait >= 1900ms);
    CHECK(run.drain_wait <= 2s + 10s);
    CHECK(run.exit_after_ack < 2s);
    const auto drains = s.drains();
    REQUIRE(drains.size() == 1);
    REQUIRE(drains[0].hung_up.has_value());
    CHECK(*drains[0].hung_up - drains[0].at < 5s);  // at the exit, long before its 10 s
  }
}
