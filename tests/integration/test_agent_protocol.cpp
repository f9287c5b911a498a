// The real sidecar-executor binary against the fake agent, once per encoding: subscription headers
// and ids, re-sending of unacknowledged updates and tasks across an agent restart, recovery timeout,
// SHUTDOWN, authentication.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "executor_env.h"
#include "fake_agent.h"
#include "process.h"

using namespace std::chrono_literals;
using fake::AgentOptions;
using fake::FakeAgent;
using testing_support::Process;
namespace v1 = ::mesos::v1;
using Call = v1::executor::Call;

namespace {

std::map<std::string, std::string> executor_env(const FakeAgent& agent, const AgentOptions& o,
                                                const std::string& encoding, bool checkpoint) {
  return testing_support::ExecutorEnv(agent.endpoint(), o.framework_id, o.executor_id)
      .checkpoint(checkpoint)
      .set("EXECUTOR_AGENT_ENCODING", encoding)
      .map();
}

v1::TaskInfo task_without_docker(const std::string& id) {
  v1::TaskInfo t;
  t.set_name(id);
  t.mutable_task_id()->set_value(id);
  t.mutable_agent_id()->set_value("agent-0001");
  return t;
}

void launch_group(FakeAgent& agent, const std::vector<std::string>& ids) {
  v1::executor::Event e;
  e.set_type(v1::executor::Event::LAUNCH_GROUP);
  for (const auto& id : ids) {
    auto* t = e.mutable_launch_group()->mutable_task_group()->add_tasks();
    *t = task_without_docker(id);
  }
  agent.send(e);
}

// Waits for a live stream, sends SHUTDOWN, and returns the executor's exit code (nullopt: it hung).
std::optional<int> shutdown_executor(FakeAgent& agent, Process& exe) {
  REQUIRE(FakeAgent::wait_until([&] { return agent.stream_open(); }, 5s));
  std::this_thread::sleep_for(100ms);  // let SUBSCRIBED reach the executor
  agent.shutdown();
  return exe.wait(5s);
}

// The executor ended within `timeout`, with a non-zero code, saying `why`.
void expect_failed_exit(Process& exe, std::chrono::milliseconds timeout, const std::string& why) {
  auto code = exe.wait(timeout);
  INFO(exe.output());
  REQUIRE(code.has_value());
  CHECK(*code != 0);
  CHECK_THAT(exe.output(), Catch::Contains(why));
}

std::string media(const std::string& encoding) {
  return encoding == "json" ? "application/json" : "application/x-protobuf";
}

}  // namespace

TEST_CASE("The executor subscribes with the right headers and ids, and exits 0 on SHUTDOWN") {
  const std::string encoding = GENERATE(std::string("protobuf"), std::string("json"));
  INFO("encoding " << encoding);
  AgentOptions o;
  FakeAgent agent(o);
  agent.start();
  Process exe({testing_support::executor_binary()}, executor_env(agent, o, encoding, false));

  REQUIRE(FakeAgent::wait_until([&] { return !agent.calls_of(Call::SUBSCRIBE).empty(); }, 10s));
  const auto sub = agent.calls_of(Call::SUBSCRIBE).front();
  CHECK(sub.status == 200);
  CHECK(sub.content_type == media(encoding));
  CHECK(sub.accept == media(encoding));
  CHECK(sub.call->framework_id().value() == o.framework_id);
  CHECK(sub.call->executor_id().value() == o.executor_id);
  CHECK(sub.call->has_subscribe());
  CHECK(sub.call->subscribe().unacknowledged_updates_size() == 0);
  CHECK_FALSE(sub.authorization.has_value());

  REQUIRE(FakeAgent::wait_until([&] { return agent.stream_open(); }, 5s));
  std::this_thread::sleep_for(100ms);  // let SUBSCRIBED reach the executor
  const auto t0 = std::chrono::steady_clock::now();
  agent.shutdown();
  auto code = exe.wait(5s);
  const auto took = std::chrono::steady_clock::now() - t0;
  INFO(exe.output());
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK(took < 1s);
  for (const auto& c : agent.calls()) CHECK(c.status < 400);  // the strict agent refused nothing
}

TEST_CASE("Authorization: Bearer is sent exactly when the token is set, and never printed") {
  const std::string encoding = GENERATE(std::string("protobuf"), std::string("json"));
  AgentOptions o;
  o.auth_token = "s3cr3t-executor-token-canary";
  FakeAgent agent(o);
  agent.start();
  auto env = executor_env(agent, o, encoding, false);
  env["MESOS_EXECUTOR_AUTHENTICATION_TOKEN"] = *o.auth_token;
  Process exe({testing_support::executor_binary()}, env);
  REQUIRE(FakeAgent::wait_until([&] { return agent.stream_open(); }, 10s));
  launch_group(agent, {"g1"});  // produces an UPDATE call, which must be authenticated too
  REQUIRE(FakeAgent::wait_until([&] { return !agent.calls_of(Call::UPDATE).empty(); }, 10s));
  agent.shutdown();
  REQUIRE(exe.wait(5s) == std::optional<int>(0));
  for (const auto& c : agent.calls()) {
    CHECK(c.authorization == std::optional<std::string>("Bearer " + *o.auth_token));
    CHECK(c.status < 400);
  }
  CHECK(exe.output().find(*o.auth_token) == std::string::npos);
}

TEST_CASE("A wrong token is refused by the agent and the executor does not hang") {
  AgentOptions o;
  o.auth_token = "right";
  FakeAgent agent(o);
  agent.start();
  auto env = executor_env(agent, o, "protobuf", false);
  env["MESOS_EXECUTOR_AUTHENTICATION_TOKEN"] = "wrong";
  Process exe({testing_support::executor_binary()}, env);
  expect_failed_exit(exe, 10s, "refused SUBSCRIBE with HTTP 401");  // final: no retry loop
}

TEST_CASE(
    "Unacknowledged updates are re-sent in the next SUBSCRIBE after an agent restart; acknowledged ones are not") {
  const std::string encoding = GENERATE(std::string("protobuf"), std::string("json"));
  INFO("encoding " << encoding);
  AgentOptions o;
  o.auto_ack = false;
  FakeAgent agent(o);
  agent.start();
  Process exe({testing_support::executor_binary()}, executor_env(agent, o, encoding, true));
  REQUIRE(FakeAgent::wait_until([&] { return agent.stream_open(); }, 10s));

  // Two TASK_ERROR updates (task groups are refused) whose ACKs the agent holds back.
  launch_group(agent, {"g1", "g2"});
  REQUIRE(FakeAgent::wait_until([&] { return agent.updates().size() == 2; }, 10s));
  std::vector<std::string> held;
  for (const auto& u : agent.updates()) held.push_back(u.status.uuid());

  agent.set_auto_ack(true);
  agent.restart(300ms);
  REQUIRE(FakeAgent::wait_until([&] { return agent.calls_of(Call::SUBSCRIBE).size() >= 2; }, 10s));
  const auto resub = agent.calls_of(Call::SUBSCRIBE)[1].call->subscribe();
  REQUIRE(resub.unacknowledged_updates_size() == 2);
  CHECK(resub.unacknowledged_updates(0).status().uuid() == held[0]);
  CHECK(resub.unacknowledged_updates(1).status().uuid() == held[1]);
  CHECK(resub.unacknowledged_updates(0).status().state() == v1::TASK_ERROR);

  // The restarted agent acknowledged them: after one more restart nothing is re-sent.
  REQUIRE(FakeAgent::wait_until([&] { return agent.acks_sent() >= 2; }, 5s));
  std::this_thread::sleep_for(200ms);
  agent.restart(300ms);
  REQUIRE(FakeAgent::wait_until([&] { return agent.calls_of(Call::SUBSCRIBE).size() >= 3; }, 10s));
  CHECK(agent.calls_of(Call::SUBSCRIBE)[2].call->subscribe().unacknowledged_updates_size() == 0);
  // Each update went out once as UPDATE, never again.
  CHECK(agent.calls_of(Call::UPDATE).size() == 2);

  auto code = shutdown_executor(agent, exe);
  INFO(exe.output());
  CHECK(code == std::optional<int>(0));
}

TEST_CASE("A held terminal update and its task are re-sent after re-subscription, then the executor exits") {
  const std::string encoding = GENERATE(std::string("protobuf"), std::string("json"));
  INFO("encoding " << encoding);
  AgentOptions o;
  o.auto_ack = false;
  FakeAgent agent(o);
  agent.start();
  auto env = executor_env(agent, o, encoding, true);
  env["EXECUTOR_TERMINAL_ACK_TIMEOUT"] = "60s";
  Process exe({testing_support::executor_binary()}, env);
  REQUIRE(FakeAgent::wait_until([&] { return agent.stream_open(); }, 10s));
  agent.launch(task_without_docker("t-invalid"));  // invalid: TASK_ERROR at once, terminal
  REQUIRE(FakeAgent::wait_until([&] { return agent.updates().size() == 1; }, 10s));
  const auto failed = agent.updates()[0].status;
  CHECK(failed.state() == v1::TASK_ERROR);
  CHECK(failed.reason() == v1::TaskStatus::REASON_TASK_INVALID);
  CHECK_THAT(failed.message(), Catch::Contains("container"));

  agent.set_auto_ack(true);
  agent.restart(300ms);
  auto code = exe.wait(15s);
  INFO(exe.output());
  REQUIRE(code == std::optional<int>(0));
  const auto subs = agent.calls_of(Call::SUBSCRIBE);
  REQUIRE(subs.size() == 2);
  const auto& s = subs[1].call->subscribe();
  REQUIRE(s.unacknowledged_updates_size() == 1);
  CHECK(s.unacknowledged_updates(0).status().uuid() == failed.uuid());
  REQUIRE(s.unacknowledged_tasks_size() == 1);
  CHECK(s.unacknowledged_tasks(0).task_id().value() == "t-invalid");
}

TEST_CASE("With checkpointing and no agent reachable, the executor exits non-zero after the recovery timeout") {
  AgentOptions o;
  FakeAgent agent(o);
  agent.start();
  auto env = executor_env(agent, o, "protobuf", true);
  agent.stop();  // nothing listens on the port any more
  env["MESOS_RECOVERY_TIMEOUT"] = "2secs";
  const auto t0 = std::chrono::steady_clock::now();
  Process exe({testing_support::executor_binary()}, env);
  auto code = exe.wait(15s);
  const auto took = std::chrono::steady_clock::now() - t0;
  INFO(exe.output());
  REQUIRE(code.has_value());
  CHECK(*code != 0);
  CHECK(took >= 2s);
  CHECK(took < 8s);
  CHECK_THAT(exe.output(), Catch::Contains("MESOS_RECOVERY_TIMEOUT"));
}

TEST_CASE("Without checkpointing, a lost agent connection makes the executor exit") {
  AgentOptions o;
  FakeAgent agent(o);
  agent.start();
  Process exe({testing_support::executor_binary()}, executor_env(agent, o, "protobuf", false));
  REQUIRE(FakeAgent::wait_until([&] { return agent.stream_open(); }, 10s));
  std::this_thread::sleep_for(100ms);
  agent.stop();
  expect_failed_exit(exe, 5s, "checkpointing is off");
}

TEST_CASE("A corrupt event stream is a disconnection, not a crash") {
  AgentOptions o;
  FakeAgent agent(o);
  agent.start();
  auto env = executor_env(agent, o, "protobuf", true);
  env["EXECUTOR_MAX_RECORD_SIZE"] = "4096";
  Process exe({testing_support::executor_binary()}, env);
  REQUIRE(FakeAgent::wait_until([&] { return agent.stream_open(); }, 10s));
  agent.send_raw("99999\n" + std::string(99999, 'x'));  // over the maximum, but in sync: skipped, no reconnect
  agent.send_raw("4294967297\n");                       // a length no agent writes (protobuf caps messages at 2 GiB)
  REQUIRE(FakeAgent::wait_until([&] { return agent.calls_of(Call::SUBSCRIBE).size() >= 2; }, 10s));
  agent.send_raw("12x\n");  // not a length at all
  REQUIRE(FakeAgent::wait_until([&] { return agent.calls_of(Call::SUBSCRIBE).size() >= 3; }, 10s));
  auto code = shutdown_executor(agent, exe);
  INFO(exe.output());
  CHECK(code == std::optional<int>(0));
  CHECK_THAT(exe.output(),
             Catch::Contains("an event record of 99999 bytes (type unreadable) exceeds EXECUTOR_MAX_RECORD_SIZE"));
  CHECK_THAT(exe.output(), Catch::Contains("is beyond any event an agent writes"));
  CHECK_THAT(exe.output(), Catch::Contains("invalid byte 0x78"));
}

TEST_CASE("A bad setting makes the executor exit non-zero with one line naming it") {
  Process exe({testing_support::executor_binary()},
              {{"EXECUTOR_SIDECAR_POLL_INTERVAL", "30 seconds"}, {"PATH", "/usr/bin:/bin"}});
  auto code = exe.wait(5s);
  REQUIRE(code.has_value());
  CHECK(*code == 2);
  const auto out = exe.output();
  CHECK_THAT(out, Catch::Contains("EXECUTOR_SIDECAR_POLL_INTERVAL=\"30 seconds\""));
  CHECK(std::count(out.begin(), out.end(), '\n') == 1);
}

TEST_CASE("--print-config shows effective settings and redacts the agent token") {
  Process exe({testing_support::executor_binary(), "--print-config"},
              {{"EXECUTOR_SIDECAR_MAX_FAILS", "9"},
               {"MESOS_FRAMEWORK_ID", "f"},
               {"MESOS_EXECUTOR_ID", "e"},
               {"MESOS_AGENT_ENDPOINT", "127.0.0.1:5051"},
               {"MESOS_EXECUTOR_AUTHENTICATION_TOKEN", "tok-canary-123"}});
  REQUIRE(exe.wait(5s) == std::optional<int>(0));
  const auto out = exe.output();
  CHECK_THAT(out, Catch::Contains("EXECUTOR_SIDECAR_MAX_FAILS=9\n"));
  CHECK_THAT(out, Catch::Contains("EXECUTOR_KILL_TASK_TIMEOUT=5\n"));
  CHECK_THAT(out, Catch::Contains("MESOS_EXECUTOR_AUTHENTICATION_TOKEN=[REDACTED]"));
  CHECK(out.find("tok-canary-123") == std::string::npos);
}

TEST_CASE("EXECUTOR_JSON_LOGS: every log line is a JSON object with time, level and msg") {
  AgentOptions o;
  FakeAgent agent(o);
  agent.start();
  auto env = executor_env(agent, o, "protobuf", false);
  env["EXECUTOR_JSON_LOGS"] = "true";
  Process exe({testing_support::executor_binary()}, env);
  REQUIRE(shutdown_executor(agent, exe) == std::optional<int>(0));
  std::istringstream lines(exe.output());
  int json_lines = 0;
  bool saw_subscribed = false;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("{\"time\":", 0) != 0) continue;  // the startup dump on stdout is plain text
    auto j = nlohmann::json::parse(line, nullptr, false);
    INFO(line);
    REQUIRE_FALSE(j.is_discarded());
    CHECK(j.contains("level"));
    CHECK(j["msg"].is_string());
    saw_subscribed = saw_subscribed || j["msg"].get<std::string>().find("subscribed") != std::string::npos;
    ++json_lines;
  }
  CHECK(json_lines >= 3);
  CHECK(saw_subscribed);
}

TEST_CASE("--config: settings from the site file, the environment winning; a bad file stops the executor") {
  char tmpl[] = "/tmp/sce-config-XXXXXX";
  const int fd = ::mkstemp(tmpl);
  REQUIRE(fd >= 0);
  const std::string text = "kill_task_timeout: 11\nsidecar_max_fails: 7\n";
  REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  ::close(fd);
  {
    Process exe({testing_support::executor_binary(), "--print-config", "--config", tmpl},
                {{"PATH", "/usr/bin:/bin"}, {"EXECUTOR_SIDECAR_MAX_FAILS", "9"}});
    REQUIRE(exe.wait(5s) == std::optional<int>(0));
    CHECK_THAT(exe.output(), Catch::Contains("EXECUTOR_KILL_TASK_TIMEOUT=11\n"));
    CHECK_THAT(exe.output(), Catch::Contains("EXECUTOR_SIDECAR_MAX_FAILS=9\n"));
  }
  {
    Process exe({testing_support::executor_binary(), "--print-config"},
                {{"PATH", "/usr/bin:/bin"}, {"SIDECAR_EXECUTOR_CONFIG", tmpl}});
    REQUIRE(exe.wait(5s) == std::optional<int>(0));
    CHECK_THAT(exe.output(), Catch::Contains("EXECUTOR_SIDECAR_MAX_FAILS=7\n"));
  }
  {
    std::ofstream(tmpl) << "kill_task_timeout: 11\nsidecar_max_failz: 7\n";
    Process exe({testing_support::executor_binary(), "--print-config", "--config", tmpl}, {{"PATH", "/usr/bin:/bin"}});
    REQUIRE(exe.wait(5s) == std::optional<int>(2));
    CHECK_THAT(exe.output(), Catch::Contains(std::string(tmpl) + ":2: unknown setting \"sidecar_max_failz\""));
  }
  {
    Process exe({testing_support::executor_binary(), "--print-config", "--config", "/nonexistent/x.yaml"},
                {{"PATH", "/usr/bin:/bin"}});
    REQUIRE(exe.wait(5s) == std::optional<int>(2));
    CHECK_THAT(exe.output(), Catch::Contains("/nonexistent/x.yaml"));
  }
  ::unlink(tmpl);
}
