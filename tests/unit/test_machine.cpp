// The executor state machine: every (phase, event) pair, then the behaviours one by one.
#include <catch2/catch.hpp>

#include <csignal>
#include <functional>
#include <limits>
#include <tuple>
#include <utility>

#include "executor/machine.h"
#include "executor/task_rules.h"

using namespace executor;
namespace v1 = ::mesos::v1;
using namespace std::chrono_literals;

namespace {

const std::string kContainer = "c0ffee0123456789abcdef";

v1::TaskInfo docker_task(const std::string& id = "t1", bool sidecar = true) {
  v1::TaskInfo t;
  t.set_name("web");
  t.mutable_task_id()->set_value(id);
  t.mutable_agent_id()->set_value("agent-1");
  t.mutable_container()->set_type(v1::ContainerInfo::DOCKER);
  t.mutable_container()->mutable_docker()->set_image("127.0.0.1:5000/web:1");
  if (!sidecar) {
    auto* p = t.mutable_container()->mutable_docker()->add_parameters();
    p->set_key("label");
    p->set_value("SidecarDiscover=false");
  }
  return t;
}

struct Harness {
  explicit Harness(MachineConfig cfg = {}) : m(cfg) {}
  Machine m;
  std::vector<Action> last;

  Harness& on(const Event& e) {
    last = m.handle(e);
    return *this;
  }
  Phase phase() const { return m.state().phase; }

  template <typename A>
  std::vector<A> all() const {
    std::vector<A> out;
    for (const auto& a : last) {
      if (auto p = std::get_if<A>(&a)) out.push_back(*p);
    }
    return out;
  }
  template <typename A>
  bool has() const {
    return !all<A>().empty();
  }
  // The code of the Exit action this transition emitted, if any.
  std::optional<int> exit_code() const {
    const auto exits = all<act::Exit>();
    if (exits.empty()) return std::nullopt;
    return exits[0].code;
  }
  std::vector<v1::TaskState> states() const {
    std::vector<v1::TaskState> out;
    for (const auto& u : all<act::SendUpdate>()) out.push_back(u.state);
    return out;
  }
  bool logged(LogLevel min_level) const {
    for (const auto& l : all<act::Log>()) {
      if (l.level >= min_level) return true;
    }
    return false;
  }
};

void reach(Harness& h, Phase target, bool sidecar = true) {
  if (target == Phase::Subscribing) return;
  h.on(ev::Subscribed{});
  if (target == Phase::Idle) return;
  h.on(ev::Launch{docker_task("t1", sidecar)});
  if (target == Phase::Launching) return;
  h.on(ev::StepDone{LaunchStep::Pull, "", ""});
  h.on(ev::StepDone{LaunchStep::Secrets, "", ""});
  h.on(ev::StepDone{LaunchStep::Create, kContainer, ""});
  h.on(ev::StepDone{LaunchStep::Start, kContainer, "172.17.0.2"});
  if (target == Phase::Running) return;
  if (target == Phase::Draining || target == Phase::Killing) {
    h.on(ev::Kill{"t1", std::nullopt});
    if (target == Phase::Killing) h.on(ev::TimerFired{TimerId::DrainWait});
    return;
  }
  h.on(ev::ContainerExited{0, false, "", ""});
  if (target == Phase::TerminalUpdateSent) return;
  h.on(ev::Acknowledged{"t1", "u", true, true});
}

// SUBSCRIBED, LAUNCH of `t`, every launch step done: the container runs.
void launch_to_running(Harness& h, const v1::TaskInfo& t, bool task_killing_state = false) {
  h.on(ev::Subscribed{task_killing_state, "agent"});
  h.on(ev::Launch{t});
  h.on(ev::StepDone{LaunchStep::Pull, "", ""});
  h.on(ev::StepDone{LaunchStep::Secrets, "", ""});
  h.on(ev::StepDone{LaunchStep::Create, kContainer, ""});
  h.on(ev::StepDone{LaunchStep::Start, kContainer, "172.17.0.2"});
}

std::vector<std::pair<std::string, Event>> sample_events() {
  return {
      {"SUBSCRIBED", ev::Subscribed{true, "agent"}},
      {"LAUNCH (valid)", ev::Launch{docker_task("t1")}},
      {"LAUNCH (second task)", ev::Launch{docker_task("t2")}},
      {"LAUNCH (no docker)", ev::Launch{[] {
         v1::TaskInfo t;
         t.mutable_task_id()->set_value("t3");
         return t;
       }()}},
      {"LAUNCH (no task id)", ev::Launch{v1::TaskInfo{}}},
      {"LAUNCH_GROUP", ev::LaunchGroup{{docker_task("g1"), docker_task("g2")}}},
      {"KILL (ours)", ev::Kill{"t1", std::nullopt}},
      {"KILL (ours, grace 1s)", ev::Kill{"t1", Duration(1s)}},
      {"KILL (unknown task)", ev::Kill{"nope", std::nullopt}},
      {"ACKNOWLEDGED (terminal, ours)", ev::Acknowledged{"t1", "u1", true, true}},
      {"ACKNOWLEDGED (non-terminal)", ev::Acknowledged{"t1", "u2", true, false}},
      {"ACKNOWLEDGED (unknown uuid)", ev::Acknowledged{"t1", "zz", false, false}},
      {"SHUTDOWN", ev::Shutdown{}},
      {"HEARTBEAT", ev::Heartbeat{}},
      {"ERROR", ev::AgentError{"boom"}},
      {"MESSAGE", ev::AgentMessage{12}},
      {"unknown event", ev::UnknownEvent{99}},
      {"update accepted (terminal)", ev::UpdateAccepted{"t1", true}},
      {"update accepted (non-terminal)", ev::UpdateAccepted{"t1", false}},
      {"update refused (terminal)", ev::UpdateRefused{"t1", true, "HTTP 400: bad"}},
      {"disconnected", ev::Disconnected{"stream closed"}},
      {"agent gone", ev::AgentGone{"recovery timeout"}},
      {"pull done", ev::StepDone{LaunchStep::Pull, "", ""}},
      {"secrets done", ev::StepDone{LaunchStep::Secrets, "", ""}},
      {"create done", ev::StepDone{LaunchStep::Create, "newc", ""}},
      {"start done", ev::StepDone{LaunchStep::Start, kContainer, "172.17.0.2"}},
      {"pull failed", ev::StepFailed{LaunchStep::Pull, "no such image"}},
      {"create failed", ev::StepFailed{LaunchStep::Create, "409"}},
      {"create found no such image", ev::StepFailed{LaunchStep::Create, "404", false, true}},
      {"start failed", ev::StepFailed{LaunchStep::Start, "oci error"}},
      {"container exited 0", ev::ContainerExited{0, false, "", ""}},
      {"container exited 3", ev::ContainerExited{3, false, "", "bad"}},
      {"container outcome unknown", ev::ContainerExited{std::nullopt, false, "daemon gone", ""}},
      {"health changed", ev::HealthChanged{false}},
      {"watchdog kill", ev::WatchdogKill{"UNHEALTHY 4 times"}},
      {"credentials expiring", ev::CredentialsExpiring{"AWS lease ends"}},
      {"timer terminal-ack", ev::TimerFired{TimerId::TerminalAck}},
      {"timer drain-wait", ev::TimerFired{TimerId::DrainWait}},
      {"timer shutdown-deadline", ev::TimerFired{TimerId::ShutdownDeadline}},
      {"SIGTERM", ev::Signal{SIGTERM}},
      {"SIGUSR1", ev::Signal{SIGUSR1}},
  };
}

const Phase kPhases[] = {Phase::Subscribing, Phase::Idle,    Phase::Launching,          Phase::Running,
                         Phase::Draining,    Phase::Killing, Phase::TerminalUpdateSent, Phase::Exiting};

}  // namespace

TEST_CASE("Every (phase, event) pair has a defined, logged outcome and keeps the invariants") {
  for (Phase phase : kPhases) {
    for (const auto& [name, event] : sample_events()) {
      Harness h;
      reach(h, phase);
      REQUIRE(h.phase() == phase);
      INFO("phase " << to_string(phase) << ", event " << name);
      h.on(event);
      // Logged: at least the transition trace, which names the event and both phases.
      REQUIRE(h.has<act::Log>());
      const auto trace = h.all<act::Log>().back().text;
      CHECK_THAT(trace, Catch::Contains(to_string(phase)));
      CHECK_THAT(trace, Catch::Contains(to_string(h.phase())));
      for (const auto& u : h.all<act::SendUpdate>()) {
        CHECK_FALSE(u.task_id.empty());
        CHECK(u.state != v1::TASK_STAGING);
        // Another task than ours only ever gets TASK_ERROR.
        if (u.task_id != h.m.state().task_id) CHECK(u.state == v1::TASK_ERROR);
      }
      CHECK(h.all<act::Exit>().size() <= 1);
      if (phase == Phase::Exiting) {
        CHECK(h.last.size() == 1);  // the trace only
        CHECK(h.phase() == Phase::Exiting);
      }
      if (phase == Phase::Subscribing || phase == Phase::Idle) {
        CHECK_FALSE(h.has<act::StopContainer>());
        CHECK_FALSE(h.has<act::StartContainer>());
      }
    }
  }
}

TEST_CASE("SUBSCRIBED moves from subscribing to idle; a re-subscription changes nothing") {
  Harness h;
  h.on(ev::Subscribed{false, "a"});
  CHECK(h.phase() == Phase::Idle);
  reach(h, Phase::Running);
  Harness r;
  reach(r, Phase::Running);
  r.on(ev::Subscribed{});
  CHECK(r.phase() == Phase::Running);
  CHECK(r.all<act::SendUpdate>().empty());
}

TEST_CASE("LAUNCH sends TASK_STARTING and pulls; each launch step leads to the next") {
  Harness h;
  h.on(ev::Subscribed{});
  h.on(ev::Launch{docker_task()});
  CHECK(h.states() == std::vector{v1::TASK_STARTING});
  REQUIRE(h.has<act::PullImage>());
  CHECK(h.all<act::PullImage>()[0].image == "127.0.0.1:5000/web:1");
  h.on(ev::StepDone{LaunchStep::Pull, "", ""});
  CHECK(h.has<act::ResolveSecrets>());
  h.on(ev::StepDone{LaunchStep::Secrets, "", ""});
  CHECK(h.has<act::CreateContainer>());
  h.on(ev::StepDone{LaunchStep::Create, kContainer, ""});
  REQUIRE(h.has<act::StartContainer>());
  CHECK(h.all<act::StartContainer>()[0].container_id == kContainer);
  h.on(ev::StepDone{LaunchStep::Start, kContainer, "172.17.0.2"});
  CHECK(h.phase() == Phase::Running);
  REQUIRE(h.states() == std::vector{v1::TASK_RUNNING});
  CHECK(h.all<act::SendUpdate>()[0].container_id == kContainer);
  CHECK(h.all<act::SendUpdate>()[0].ip_address == "172.17.0.2");
  CHECK(h.has<act::WatchContainer>());
  CHECK(h.has<act::StartWatchdog>());
}

TEST_CASE("SidecarDiscover=false: no watchdog, no drain on KILL") {
  Harness h;
  reach(h, Phase::Running, /*sidecar=*/false);
  CHECK_FALSE(h.has<act::StartWatchdog>());
  h.on(ev::Kill{"t1", std::nullopt});
  CHECK_FALSE(h.has<act::Drain>());
  CHECK(h.has<act::StopContainer>());
  CHECK(h.phase() == Phase::Killing);
}

TEST_CASE("A task without container.docker is TASK_ERROR at once with a message saying so") {
  Harness h;
  h.on(ev::Subscribed{});
  v1::TaskInfo t;
  t.mutable_task_id()->set_value("t9");
  h.on(ev::Launch{t});
  REQUIRE(h.states() == std::vector{v1::TASK_ERROR});
  const auto u = h.all<act::SendUpdate>()[0];
  CHECK(u.reason == v1::TaskStatus::REASON_TASK_INVALID);
  CHECK_THAT(u.message, Catch::Contains("container"));
  CHECK(h.phase() == Phase::TerminalUpdateSent);
  CHECK_FALSE(h.has<act::PullImage>());
}

TEST_CASE("A LAUNCH whose TaskInfo could not be decoded is TASK_ERROR with the decoder's words") {
  Harness h;
  h.on(ev::Subscribed{});
  ev::Launch bad;
  bad.task.mutable_task_id()->set_value("t8");
  bad.undecodable = "the TaskInfo cannot be decoded: JSON decoding: bad port";
  h.on(bad);
  REQUIRE(h.states() == std::vector{v1::TASK_ERROR});
  const auto u = h.all<act::SendUpdate>()[0];
  CHECK(u.task_id == "t8");
  CHECK(u.reason == v1::TaskStatus::REASON_TASK_INVALID);
  CHECK(u.message == bad.undecodable);
  CHECK(h.phase() == Phase::TerminalUpdateSent);
  CHECK_FALSE(h.has<act::PullImage>());
}

TEST_CASE("A second LAUNCH gets TASK_ERROR and leaves the running task alone") {
  Harness h;
  reach(h, Phase::Running);
  h.on(ev::Launch{docker_task("t2")});
  REQUIRE(h.all<act::SendUpdate>().size() == 1);
  CHECK(h.all<act::SendUpdate>()[0].task_id == "t2");
  CHECK(h.all<act::SendUpdate>()[0].state == v1::TASK_ERROR);
  CHECK_THAT(h.all<act::SendUpdate>()[0].message, Catch::Contains("t1"));
  CHECK(h.phase() == Phase::Running);
  CHECK_FALSE(h.has<act::StopContainer>());
}

TEST_CASE("A re-delivered LAUNCH of our own task is ignored") {
  Harness h;
  reach(h, Phase::Running);
  h.on(ev::Launch{docker_task("t1")});
  CHECK(h.all<act::SendUpdate>().empty());
  CHECK(h.logged(LogLevel::Warn));
}

TEST_CASE("LAUNCH_GROUP: every task of the group gets TASK_ERROR") {
  Harness h;
  h.on(ev::Subscribed{});
  h.on(ev::LaunchGroup{{docker_task("g1"), docker_task("g2")}});
  REQUIRE(h.all<act::SendUpdate>().size() == 2);
  for (const auto& u : h.all<act::SendUpdate>()) {
    CHECK(u.state == v1::TASK_ERROR);
    CHECK(u.reason == v1::TaskStatus::REASON_TASK_GROUP_INVALID);
  }
  CHECK(h.phase() == Phase::Idle);
}

TEST_CASE("KILL for an unknown task is logged and ignored") {
  Harness h;
  reach(h, Phase::Running);
  h.on(ev::Kill{"other", std::nullopt});
  CHECK(h.phase() == Phase::Running);
  CHECK(h.all<act::SendUpdate>().empty());
  CHECK(h.logged(LogLevel::Warn));
}

TEST_CASE("KILL without any kill policy drains for the full drain time, then stops with KillTaskTimeout") {
  MachineConfig cfg;
  cfg.draining_duration = 2s;
  cfg.kill_grace = 30s;
  Harness h(cfg);
  reach(h, Phase::Running);
  h.on(ev::Kill{"t1", std::nullopt});
  REQUIRE(h.has<act::Drain>());
  REQUIRE(h.has<act::StartTimer>());
  CHECK(h.all<act::StartTimer>()[0].id == TimerId::DrainWait);
  CHECK(h.all<act::StartTimer>()[0].after == Duration(2s));
  CHECK(h.phase() == Phase::Draining);
  h.on(ev::TimerFired{TimerId::DrainWait});
  REQUIRE(h.has<act::StopContainer>());
  CHECK(h.all<act::StopContainer>()[0].grace == Duration(30s));
  h.on(ev::ContainerExited{143, false, "", ""});
  REQUIRE(h.states() == std::vector{v1::TASK_KILLED});
  CHECK(h.has<act::CopyFailureLogs>());
  CHECK(h.phase() == Phase::TerminalUpdateSent);
}

// drain + stop of the plan a kill policy of `budget` gives, with a 10 s drain and a 5 s KillTaskTimeout.
static std::pair<Duration, Duration> kill_plan(std::optional<Duration> kill_policy,
                                               std::optional<Duration> task_policy) {
  MachineConfig cfg;
  cfg.draining_duration = 10s;
  cfg.kill_grace = 5s;
  Harness h(cfg);
  h.on(ev::Subscribed{});
  v1::TaskInfo t = docker_task("t1");
  if (task_policy) t.mutable_kill_policy()->mutable_grace_period()->set_nanoseconds(task_policy->count());
  h.on(ev::Launch{t});
  h.on(ev::StepDone{LaunchStep::Pull, "", ""});
  h.on(ev::StepDone{LaunchStep::Secrets, "", ""});
  h.on(ev::StepDone{LaunchStep::Create, kContainer, ""});
  h.on(ev::StepDone{LaunchStep::Start, kContainer, ""});
  h.on(ev::Kill{"t1", kill_policy});
  Duration drain{0};
  for (const auto& timer : h.all<act::StartTimer>()) {
    if (timer.id == TimerId::DrainWait) drain = timer.after;
  }
  if (drain > Duration{0}) {
    REQUIRE(h.has<act::Drain>());
    h.on(ev::TimerFired{TimerId::DrainWait});
  }
  REQUIRE(h.all<act::StopContainer>().size() == 1);
  return {drain, h.all<act::StopContainer>()[0].grace};
}

TEST_CASE("A kill policy bounds drain + stop: the KILL's, else the TaskInfo's; the drain is shortened first") {
  using P = std::pair<Duration, Duration>;
  CHECK(kill_plan(Duration(2s), std::nullopt) == P{0s, 2s});     // no time to drain
  CHECK(kill_plan(Duration(8s), std::nullopt) == P{3s, 5s});     // the stop keeps KillTaskTimeout
  CHECK(kill_plan(Duration(30s), std::nullopt) == P{10s, 20s});  // the stop gets what the drain leaves
  CHECK(kill_plan(Duration(0s), std::nullopt) == P{0s, 0s});
  CHECK(kill_plan(std::nullopt, Duration(1s)) == P{0s, 1s});   // TaskInfo.kill_policy when the KILL has none
  CHECK(kill_plan(Duration(3s), Duration(60s)) == P{0s, 3s});  // the KILL's policy wins
  CHECK(kill_plan(std::nullopt, std::nullopt) == P{10s, 5s});  // none: the Go executor's drain, then its timeout
}

TEST_CASE("TASK_KILLING at most once; a second KILL may only shorten; a KILL after the terminal update is ignored") {
  MachineConfig cfg;
  cfg.draining_duration = 10s;
  cfg.kill_grace = 5s;
  Harness h(cfg);
  h.on(ev::Subscribed{true, "a"});
  h.on(ev::Launch{docker_task()});
  h.on(ev::StepDone{LaunchStep::Pull, "", ""});
  h.on(ev::StepDone{LaunchStep::Secrets, "", ""});
  h.on(ev::StepDone{LaunchStep::Create, kContainer, ""});
  h.on(ev::StepDone{LaunchStep::Start, kContainer, ""});
  h.on(ev::Kill{"t1", std::nullopt});
  CHECK(h.states() == std::vector{v1::TASK_KILLING});
  CHECK(h.phase() == Phase::Draining);
  h.on(ev::Kill{"t1", std::nullopt});  // a retry: nothing new
  CHECK(h.states().empty());
  CHECK_FALSE(h.has<act::StopContainer>());
  h.on(ev::Kill{"t1", Duration(60s)});  // longer than what is left: nothing new
  CHECK_FALSE(h.has<act::StopContainer>());
  h.on(ev::Kill{"t1", Duration(2s)});  // shorter: the drain is cut, the stop gets at most 2 s
  CHECK(h.states().empty());
  CHECK(h.has<act::CancelTimer>());
  REQUIRE(h.all<act::StopContainer>().size() == 1);
  CHECK(h.all<act::StopContainer>()[0].grace == Duration(2s));
  CHECK(h.phase() == Phase::Killing);
  h.on(ev::Kill{"t1", Duration(1s)});  // shorter again
  REQUIRE(h.all<act::StopContainer>().size() == 1);
  CHECK(h.all<act::StopContainer>()[0].grace == Duration(1s));
  h.on(ev::Kill{"t1", Duration(3s)});  // never longer
  CHECK_FALSE(h.has<act::StopContainer>());
  h.on(ev::ContainerExited{137, false, "", ""});
  CHECK(h.states() == std::vector{v1::TASK_KILLED});
  h.on(ev::Kill{"t1", std::nullopt});
  CHECK(h.states().empty());

  // A KILL crossing the container's own exit: no TASK_KILLING after TASK_FINISHED.
  Harness crossing(cfg);
  crossing.on(ev::Subscribed{true, "a"});
  crossing.on(ev::Launch{docker_task()});
  crossing.on(ev::StepDone{LaunchStep::Pull, "", ""});
  crossing.on(ev::StepDone{LaunchStep::Secrets, "", ""});
  crossing.on(ev::StepDone{LaunchStep::Create, kContainer, ""});
  crossing.on(ev::StepDone{LaunchStep::Start, kContainer, ""});
  crossing.on(ev::ContainerExited{0, false, "", ""});
  CHECK(crossing.states() == std::vector{v1::TASK_FINISHED});
  crossing.on(ev::Kill{"t1", std::nullopt});
  CHECK(crossing.states().empty());
  CHECK(crossing.phase() == Phase::TerminalUpdateSent);
}

TEST_CASE("KILL with draining 0 stops at once with KillTaskTimeout") {
  MachineConfig cfg;
  cfg.draining_duration = 0s;
  cfg.kill_grace = 7s;
  Harness h(cfg);
  reach(h, Phase::Running);
  h.on(ev::Kill{"t1", std::nullopt});
  CHECK_FALSE(h.has<act::Drain>());
  REQUIRE(h.has<act::StopContainer>());
  CHECK(h.all<act::StopContainer>()[0].grace == Duration(7s));
}

TEST_CASE("The container exiting during the drain wait ends the task at once, with its own outcome") {
  // Before the stop was asked for, its end is its own (the official executors count a task killed once
  // they issued the stop).
  Harness h;
  reach(h, Phase::Draining);
  h.on(ev::ContainerExited{0, false, "", ""});
  CHECK(h.has<act::CancelTimer>());
  CHECK(h.states() == std::vector{v1::TASK_FINISHED});
  CHECK(h.phase() == Phase::TerminalUpdateSent);
  Harness failing;
  reach(failing, Phase::Draining);
  failing.on(ev::ContainerExited{3, false, "", ""});
  CHECK(failing.states() == std::vector{v1::TASK_FAILED});
}

TEST_CASE("Review findings: agent lost during a drain, a kill shortened while create is in flight, one deadline") {
  // The agent is lost during the drain: the stop comes at once and the executor exits once it is
  // reported, since nobody will acknowledge it.
  Harness gone;
  reach(gone, Phase::Draining);
  gone.on(ev::AgentGone{"refused"});
  CHECK(gone.has<act::StopContainer>());
  CHECK(gone.phase() == Phase::Killing);
  gone.on(ev::ContainerExited{143, false, "", ""});
  CHECK(gone.states() == std::vector{v1::TASK_KILLED});
  CHECK(gone.exit_code() == std::optional<int>(1));

  // A shorter KILL and a SHUTDOWN while the create is in flight: the stop after start uses the shortest.
  MachineConfig cfg;
  cfg.kill_grace = 30s;
  cfg.shutdown_grace = 5s;
  Harness h(cfg);
  reach(h, Phase::Launching);
  h.on(ev::StepDone{LaunchStep::Pull, "", ""});
  h.on(ev::StepDone{LaunchStep::Secrets, "", ""});
  h.on(ev::StepDone{LaunchStep::Create, kContainer, ""});
  h.on(ev::Kill{"t1", std::nullopt});
  h.on(ev::Kill{"t1", Duration(2s)});
  CHECK_FALSE(h.has<act::StopContainer>());  // nothing to stop yet
  h.on(ev::Shutdown{});
  bool armed = false;
  for (const auto& t : h.all<act::StartTimer>()) armed = armed || t.id == TimerId::ShutdownDeadline;
  CHECK(armed);
  h.on(ev::Shutdown{});  // the agent answers every re-SUBSCRIBE of a terminating executor with SHUTDOWN
  for (const auto& t : h.all<act::StartTimer>()) CHECK(t.id != TimerId::ShutdownDeadline);  // never moved
  h.on(ev::StepDone{LaunchStep::Start, kContainer, ""});
  REQUIRE(h.all<act::StopContainer>().size() == 1);
  CHECK(h.all<act::StopContainer>()[0].grace == Duration(2s));
}

TEST_CASE("TASK_KILLING before a SHUTDOWN's or a watchdog's kill too; the watchdog's terminal update is unhealthy") {
  Harness h;
  h.on(ev::Subscribed{true, "a"});
  h.on(ev::Launch{docker_task("t1", false)});
  h.on(ev::StepDone{LaunchStep::Pull, "", ""});
  h.on(ev::StepDone{LaunchStep::Secrets, "", ""});
  h.on(ev::StepDone{LaunchStep::Create, kContainer, ""});
  h.on(ev::StepDone{LaunchStep::Start, kContainer, ""});
  h.on(ev::Shutdown{});
  CHECK(h.states() == std::vector{v1::TASK_KILLING});

  Harness w;
  w.on(ev::Subscribed{true, "a"});
  w.on(ev::Launch{docker_task("t1", true)});
  w.on(ev::StepDone{LaunchStep::Pull, "", ""});
  w.on(ev::StepDone{LaunchStep::Secrets, "", ""});
  w.on(ev::StepDone{LaunchStep::Create, kContainer, ""});
  w.on(ev::StepDone{LaunchStep::Start, kContainer, ""});
  w.on(ev::WatchdogKill{"UNHEALTHY 3 times"});
  CHECK(w.states() == std::vector{v1::TASK_KILLING});
  w.on(ev::TimerFired{TimerId::DrainWait});
  w.on(ev::ContainerExited{143, false, "", ""});
  REQUIRE(w.states() == std::vector{v1::TASK_FAILED});
  CHECK(w.all<act::SendUpdate>()[0].healthy == std::optional<bool>(false));
}

TEST_CASE("TASK_KILLING is sent first only when the framework has TASK_KILLING_STATE") {
  Harness with;
  with.on(ev::Subscribed{true, "a"});
  with.on(ev::Launch{docker_task()});
  with.on(ev::StepDone{LaunchStep::Pull, "", ""});
  with.on(ev::StepDone{LaunchStep::Secrets, "", ""});
  with.on(ev::StepDone{LaunchStep::Create, kContainer, ""});
  with.on(ev::StepDone{LaunchStep::Start, kContainer, ""});
  with.on(ev::Kill{"t1", std::nullopt});
  CHECK(with.states() == std::vector{v1::TASK_KILLING});
  Harness without;
  reach(without, Phase::Running);
  without.on(ev::Kill{"t1", std::nullopt});
  CHECK(without.states().empty());
}

TEST_CASE("Container exit maps to the terminal state") {
  struct Case {
    ev::ContainerExited exit;
    v1::TaskState state;
    std::optional<v1::TaskStatus::Reason> reason;
    std::string in_message;
  };
  const std::vector<Case> cases = {
      {{0, false, "", ""}, v1::TASK_FINISHED, std::nullopt, "code 0"},
      {{3, false, "", "ERROR: bad config"}, v1::TASK_FAILED, std::nullopt, "ERROR: bad config"},
      {{1, false, "", ""}, v1::TASK_FAILED, std::nullopt, "code 1"},
      {{128, false, "", ""}, v1::TASK_FAILED, std::nullopt, "code 128"},
      // A signal nobody asked for (docker kill, the kernel) is a failure, as in the official executors.
      {{129, false, "", ""}, v1::TASK_FAILED, std::nullopt, "signal 1, not sent by the executor"},
      {{137, false, "", ""}, v1::TASK_FAILED, std::nullopt, "signal 9, not sent by the executor"},
      {{165, false, "", ""}, v1::TASK_FAILED, std::nullopt, "code 165"},
      {{166, false, "", ""}, v1::TASK_FAILED, std::nullopt, "code 166"},
      {{137, true, "", ""}, v1::TASK_FAILED, v1::TaskStatus::REASON_CONTAINER_LIMITATION_MEMORY, "memory"},
      {{std::nullopt, false, "daemon unreachable", ""}, v1::TASK_FAILED, std::nullopt, "daemon unreachable"},
  };
  for (const auto& c : cases) {
    Harness h;
    reach(h, Phase::Running);
    h.on(c.exit);
    INFO("exit " << c.exit.exit_code.value_or(-1));
    REQUIRE(h.all<act::SendUpdate>().size() == 1);
    const auto u = h.all<act::SendUpdate>()[0];
    CHECK(u.state == c.state);
    CHECK(u.reason == c.reason);
    CHECK_THAT(u.message, Catch::Contains(c.in_message));
    CHECK(h.has<act::CopyFailureLogs>() == (c.state != v1::TASK_FINISHED));
    CHECK(h.has<act::StopWatchdog>());
  }
}

TEST_CASE("A launch step failure fails the task with the step and the daemon's message") {
  Harness h;
  reach(h, Phase::Launching);
  h.on(ev::StepFailed{LaunchStep::Pull, "unauthorized: authentication required"});
  REQUIRE(h.states() == std::vector{v1::TASK_FAILED});
  const auto u = h.all<act::SendUpdate>()[0];
  CHECK(u.reason == v1::TaskStatus::REASON_CONTAINER_LAUNCH_FAILED);
  CHECK_THAT(u.message, Catch::Contains("pull failed: unauthorized"));
  CHECK(h.phase() == Phase::TerminalUpdateSent);
}

TEST_CASE("KILL during pull reports TASK_KILLED at once and ignores the pull's late result") {
  Harness h;
  reach(h, Phase::Launching);
  h.on(ev::Kill{"t1", std::nullopt});
  REQUIRE(h.states() == std::vector{v1::TASK_KILLED});
  CHECK_FALSE(h.all<act::SendUpdate>()[0].reason);  // REASON_TASK_KILLED_DURING_LAUNCH is the agent's own
  CHECK_THAT(h.all<act::SendUpdate>()[0].message, Catch::Contains("during launch"));
  CHECK(h.phase() == Phase::TerminalUpdateSent);
  h.on(ev::StepDone{LaunchStep::Pull, "", ""});
  CHECK_FALSE(h.has<act::ResolveSecrets>());
  CHECK(h.all<act::SendUpdate>().empty());
}

TEST_CASE(
    "The Seeds step (EXECUTOR_SEED_SIDECAR) comes between the secrets and the create; a kill there ends at once") {
  MachineConfig cfg;
  cfg.seed_sidecar = true;
  Harness h(cfg);
  reach(h, Phase::Launching);
  h.on(ev::StepDone{LaunchStep::Pull, "", ""});
  ev::StepDone resolved{LaunchStep::Secrets, "", ""};
  resolved.secrets.extra = {"AWS_SECRET_ACCESS_KEY=s3cr3t"};
  h.on(resolved);
  CHECK(h.has<act::FetchSeeds>());
  CHECK_FALSE(h.has<act::CreateContainer>());
  CHECK(h.m.state().step == LaunchStep::Seeds);

  SECTION("the seeds go to the create with the secrets") {
    ev::StepDone seeded{LaunchStep::Seeds, "", ""};
    seeded.env = {"SIDECAR_SEEDS=a,b"};
    h.on(seeded);
    REQUIRE(h.all<act::CreateContainer>().size() == 1);
    CHECK(h.all<act::CreateContainer>()[0].extra_env == std::vector<std::string>{"SIDECAR_SEEDS=a,b"});
    CHECK(h.all<act::CreateContainer>()[0].secrets.extra == std::vector<std::string>{"AWS_SECRET_ACCESS_KEY=s3cr3t"});
    CHECK(h.m.state().secrets.extra.empty());  // handed on, not kept
  }
  SECTION("a KILL while the seeds are fetched: TASK_KILLED at once, no container, the gathered data dropped") {
    h.on(ev::Kill{"t1", std::nullopt});
    REQUIRE(h.states() == std::vector{v1::TASK_KILLED});  // no TASK_KILLING_STATE capability here
    CHECK(h.m.state().secrets.extra.empty());
    CHECK_FALSE(h.m.state().plan);
    h.on(ev::StepDone{LaunchStep::Seeds, "", ""});  // late
    CHECK_FALSE(h.has<act::CreateContainer>());
    CHECK(h.all<act::SendUpdate>().empty());
  }
}

TEST_CASE("A create that finds no such image goes back to the pull once, then through every step again") {
  MachineConfig cfg;
  cfg.seed_sidecar = true;
  Harness h(cfg);
  reach(h, Phase::Launching);
  REQUIRE(h.all<act::PullImage>().size() == 1);
  CHECK_FALSE(h.all<act::PullImage>()[0].after_create);
  h.on(ev::StepDone{LaunchStep::Pull, "", ""});
  h.on(ev::StepDone{LaunchStep::Secrets, "", ""});
  h.on(ev::StepDone{LaunchStep::Seeds, "", ""});
  REQUIRE(h.has<act::CreateContainer>());
  ev::StepFailed missing{LaunchStep::Create, "POST /containers/create: HTTP 404: No such image: x"};
  missing.image_unconfirmed = true;
  h.on(missing);
  REQUIRE(h.all<act::PullImage>().size() == 1);
  CHECK(h.all<act::PullImage>()[0].after_create);
  CHECK(h.all<act::PullImage>()[0].image == "127.0.0.1:5000/web:1");
  CHECK(h.all<act::PullImage>()[0].task.task_id().value() == "t1");
  CHECK(h.all<act::SendUpdate>().empty());
  CHECK(h.phase() == Phase::Launching);
  CHECK(h.m.state().step == LaunchStep::Pull);

  SECTION("the pull's failure is the task's, named as the pull's") {
    h.on(ev::StepFailed{LaunchStep::Pull, "image 127.0.0.1:5000/web:1: manifest unknown"});
    REQUIRE(h.states() == std::vector{v1::TASK_FAILED});
    CHECK_THAT(h.all<act::SendUpdate>()[0].message, Catch::StartsWith("pull failed: image"));
  }
  SECTION("after the pull: secrets, seeds and the create again; a second missing image fails the task") {
    h.on(ev::StepDone{LaunchStep::Pull, "", ""});
    CHECK(h.has<act::ResolveSecrets>());
    h.on(ev::StepDone{LaunchStep::Secrets, "", ""});
    CHECK(h.has<act::FetchSeeds>());
    h.on(ev::StepDone{LaunchStep::Seeds, "", ""});
    REQUIRE(h.has<act::CreateContainer>());
    h.on(missing);
    CHECK_FALSE(h.has<act::PullImage>());
    REQUIRE(h.states() == std::vector{v1::TASK_FAILED});
    CHECK_THAT(h.all<act::SendUpdate>()[0].message, Catch::Contains("create failed: POST /containers/create"));
  }
  SECTION("a SHUTDOWN during that pull: TASK_KILLED at once, then the exit once it is acknowledged") {
    h.on(ev::Shutdown{});
    REQUIRE(h.states() == std::vector{v1::TASK_KILLED});
    CHECK(h.phase() == Phase::TerminalUpdateSent);
    h.on(ev::StepDone{LaunchStep::Pull, "", ""});
    CHECK_FALSE(h.has<act::ResolveSecrets>());
    CHECK(h.all<act::SendUpdate>().empty());
  }
  SECTION("a KILL during that pull is reported at once, as during any pull") {
    h.on(ev::Kill{"t1", std::nullopt});
    REQUIRE(h.states() == std::vector{v1::TASK_KILLED});
    h.on(ev::StepDone{LaunchStep::Pull, "", ""});
    CHECK_FALSE(h.has<act::ResolveSecrets>());
  }
  SECTION("a missing image during a kill: no pull, TASK_KILLED") {
    Harness k(cfg);
    reach(k, Phase::Launching);
    k.on(ev::StepDone{LaunchStep::Pull, "", ""});
    k.on(ev::StepDone{LaunchStep::Secrets, "", ""});
    k.on(ev::StepDone{LaunchStep::Seeds, "", ""});
    k.on(ev::Kill{"t1", std::nullopt});
    k.on(missing);
    CHECK_FALSE(k.has<act::PullImage>());
    CHECK(k.states() == std::vector{v1::TASK_KILLED});
  }
}

TEST_CASE("KILL during create waits for the container, removes it, then reports TASK_KILLED") {
  Harness h;
  reach(h, Phase::Launching);
  h.on(ev::StepDone{LaunchStep::Pull, "", ""});
  h.on(ev::StepDone{LaunchStep::Secrets, "", ""});
  h.on(ev::Kill{"t1", std::nullopt});
  CHECK(h.phase() == Phase::Killing);
  CHECK(h.all<act::SendUpdate>().empty());
  h.on(ev::StepDone{LaunchStep::Create, "fresh", ""});
  REQUIRE(h.has<act::RemoveContainer>());
  CHECK(h.all<act::RemoveContainer>()[0].container_id == "fresh");
  CHECK(h.states() == std::vector{v1::TASK_KILLED});
}

TEST_CASE("KILL during start stops the container once it has started") {
  Harness h;
  reach(h, Phase::Launching);
  h.on(ev::StepDone{LaunchStep::Pull, "", ""});
  h.on(ev::StepDone{LaunchStep::Secrets, "", ""});
  h.on(ev::StepDone{LaunchStep::Create, kContainer, ""});
  h.on(ev::Kill{"t1", std::nullopt});
  h.on(ev::StepDone{LaunchStep::Start, kContainer, ""});
  CHECK(h.has<act::WatchContainer>());
  CHECK(h.has<act::StopContainer>());
  h.on(ev::ContainerExited{137, false, "", ""});
  CHECK(h.states() == std::vector{v1::TASK_KILLED});
}

TEST_CASE("The executor exits when the terminal update is acknowledged, not before") {
  Harness h;
  reach(h, Phase::TerminalUpdateSent);
  h.on(ev::Acknowledged{"t1", "u", true, false});
  CHECK_FALSE(h.has<act::Exit>());
  h.on(ev::Acknowledged{"t1", "zz", false, false});
  CHECK_FALSE(h.has<act::Exit>());
  h.on(ev::Acknowledged{"t1", "u", true, true});
  CHECK(h.exit_code() == std::optional<int>(0));
}

TEST_CASE("Once the agent has the terminal update, the ACK wait is bounded") {
  MachineConfig cfg;
  cfg.terminal_ack_timeout = 3s;
  Harness h(cfg);
  reach(h, Phase::TerminalUpdateSent);
  h.on(ev::TimerFired{TimerId::TerminalAck});  // a stale timer before acceptance does nothing
  CHECK_FALSE(h.has<act::Exit>());
  h.on(ev::UpdateAccepted{"t1", true});
  REQUIRE(h.has<act::StartTimer>());
  CHECK(h.all<act::StartTimer>()[0].after == Duration(3s));
  h.on(ev::TimerFired{TimerId::TerminalAck});
  CHECK(h.exit_code() == std::optional<int>(0));
}

TEST_CASE("SHUTDOWN with no task exits 0 at once") {
  Harness h;
  h.on(ev::Subscribed{});
  h.on(ev::Shutdown{});
  CHECK(h.exit_code() == std::optional<int>(0));
}

TEST_CASE("SHUTDOWN of a running task: stopped and reported with the official 2 s of margin") {
  MachineConfig cfg;
  cfg.kill_grace = 30s;
  cfg.shutdown_grace = 5s;
  cfg.draining_duration = 10s;
  Harness h(cfg);
  reach(h, Phase::Running);
  h.on(ev::Shutdown{});
  CHECK_FALSE(h.has<act::Drain>());  // no time left for draining
  REQUIRE(h.has<act::StopContainer>());
  CHECK(h.all<act::StopContainer>()[0].grace == Duration(3s));  // grace - 1 s - 1 s
  std::optional<Duration> deadline;
  for (const auto& t : h.all<act::StartTimer>()) {
    if (t.id == TimerId::ShutdownDeadline) deadline = t.after;
  }
  CHECK(deadline == std::optional<Duration>(4s));  // gone 1 s before the agent's own deadline
  h.on(ev::ContainerExited{143, false, "", ""});
  CHECK(h.states() == std::vector{v1::TASK_KILLED});
  h.on(ev::Acknowledged{"t1", "u", true, true});
  CHECK(h.has<act::Exit>());
}

TEST_CASE("SHUTDOWN margins scale down with short grace periods") {
  for (auto [grace, stop, deadline] :
       std::vector<std::tuple<Duration, Duration, Duration>>{{Duration(4s), Duration(2s), Duration(3s)},
                                                             {Duration(2s), Duration(1s), Duration(1500ms)},
                                                             {Duration(0s), Duration(0s), Duration(0s)}}) {
    MachineConfig cfg;
    cfg.shutdown_grace = grace;
    Harness h(cfg);
    reach(h, Phase::Running);
    h.on(ev::Shutdown{});
    REQUIRE(h.has<act::StopContainer>());
    CHECK(h.all<act::StopContainer>()[0].grace == stop);
    bool armed = false;
    for (const auto& t : h.all<act::StartTimer>())
      armed = armed || (t.id == TimerId::ShutdownDeadline && t.after == deadline);
    CHECK(armed);
  }
}

TEST_CASE("SHUTDOWN after the terminal update waits for its ACK (bounded), never drops it") {
  MachineConfig cfg;
  cfg.shutdown_grace = 5s;
  Harness h(cfg);
  reach(h, Phase::TerminalUpdateSent);
  h.on(ev::Shutdown{});
  CHECK_FALSE(h.has<act::Exit>());
  bool armed = false;
  for (const auto& t : h.all<act::StartTimer>())
    armed = armed || (t.id == TimerId::ShutdownDeadline && t.after == Duration(4s));
  CHECK(armed);
  h.on(ev::Acknowledged{"t1", "u", true, true});
  CHECK(h.exit_code() == std::optional<int>(0));

  Harness late(cfg);
  reach(late, Phase::TerminalUpdateSent);
  late.on(ev::Shutdown{});
  late.on(ev::TimerFired{TimerId::ShutdownDeadline});
  CHECK(late.has<act::Exit>());
}

TEST_CASE("SIGTERM to the executor stops the container, reports TASK_KILLED, exits") {
  MachineConfig cfg;
  cfg.draining_duration = 0s;
  Harness h(cfg);
  reach(h, Phase::Running);
  h.on(ev::Signal{SIGTERM});
  REQUIRE(h.has<act::StopContainer>());
  h.on(ev::ContainerExited{143, false, "", ""});
  REQUIRE(h.states() == std::vector{v1::TASK_KILLED});
  CHECK_THAT(h.all<act::SendUpdate>()[0].message, Catch::Contains("SIGTERM"));
  h.on(ev::Acknowledged{"t1", "u", true, true});
  CHECK(h.has<act::Exit>());
}

TEST_CASE("Agent gone: an idle executor exits non-zero; a running task is stopped first") {
  Harness idle;
  idle.on(ev::Subscribed{});
  idle.on(ev::AgentGone{"recovery timeout"});
  CHECK(idle.exit_code() == std::optional<int>(1));

  Harness running;
  reach(running, Phase::Running);
  running.on(ev::AgentGone{"checkpointing off"});
  CHECK_FALSE(running.has<act::Drain>());
  REQUIRE(running.has<act::StopContainer>());
  running.on(ev::ContainerExited{143, false, "", ""});
  CHECK(running.exit_code() == std::optional<int>(1));
}

TEST_CASE("Watchdog kill ends the task TASK_FAILED naming Sidecar's verdict") {
  MachineConfig cfg;
  cfg.draining_duration = 0s;
  Harness h(cfg);
  reach(h, Phase::Running);
  h.on(ev::WatchdogKill{"UNHEALTHY 4 times in a row"});
  REQUIRE(h.has<act::StopContainer>());
  h.on(ev::ContainerExited{143, false, "", ""});
  REQUIRE(h.states() == std::vector{v1::TASK_FAILED});
  CHECK_THAT(h.all<act::SendUpdate>()[0].message, Catch::Contains("UNHEALTHY 4 times"));
}

TEST_CASE("Health changes become TASK_RUNNING updates with healthy set") {
  Harness h;
  reach(h, Phase::Running);
  h.on(ev::HealthChanged{false});
  REQUIRE(h.all<act::SendUpdate>().size() == 1);
  const auto u = h.all<act::SendUpdate>()[0];
  CHECK(u.state == v1::TASK_RUNNING);
  CHECK(u.healthy == std::optional<bool>(false));
  CHECK(u.reason == v1::TaskStatus::REASON_TASK_HEALTH_CHECK_STATUS_UPDATED);
}

TEST_CASE("SidecarDiscover label follows Go's ParseBool") {
  auto with_label = [](const std::string& v) {
    v1::TaskInfo t = docker_task();
    auto* p = t.mutable_container()->mutable_docker()->add_parameters();
    p->set_key("label");
    p->set_value("SidecarDiscover=" + v);
    return t;
  };
  CHECK(sidecar_discover(docker_task()));
  for (const char* f : {"0", "f", "F", "false", "FALSE", "False"}) CHECK_FALSE(sidecar_discover(with_label(f)));
  for (const char* t : {"1", "true", "yes", "", "garbage"}) CHECK(sidecar_discover(with_label(t)));
}

// Go's signal outcomes as data (main.go handleSignals; executor.go handleContainerExit): SIGTERM and
// SIGINT end the executor with 130; SIGUSR1 stops the container and reports its own exit code with
// Go's mapping (0 FINISHED, 129–165 KILLED, other FAILED), then the executor exits 0.
TEST_CASE("SIGTERM and SIGINT exit 130 as the Go executor does; SIGUSR1 reports the container's own exit") {
  for (int signo : {SIGTERM, SIGINT}) {
    Harness idle;
    idle.on(ev::Subscribed{});
    idle.on(ev::Signal{signo});
    CHECK(idle.exit_code() == std::optional<int>(130));

    Harness running;
    reach(running, Phase::Running);
    running.on(ev::Signal{signo});
    running.on(ev::ContainerExited{143, false, "", ""});
    CHECK(running.states() == std::vector{v1::TASK_KILLED});
    running.on(ev::Acknowledged{"t1", "u", true, true});
    CHECK(running.exit_code() == std::optional<int>(130));
  }
  struct Go {
    int container_exit;
    v1::TaskState state;
  };
  for (const Go& go :
       {Go{0, v1::TASK_FINISHED}, Go{137, v1::TASK_KILLED}, Go{143, v1::TASK_KILLED}, Go{129, v1::TASK_KILLED},
        Go{165, v1::TASK_KILLED}, Go{128, v1::TASK_FAILED}, Go{166, v1::TASK_FAILED}, Go{2, v1::TASK_FAILED}}) {
    MachineConfig cfg;
    cfg.draining_duration = 10s;
    cfg.kill_grace = 4s;
    Harness h(cfg);
    reach(h, Phase::Running);
    h.on(ev::Signal{SIGUSR1});
    CHECK_FALSE(h.has<act::Drain>());
    REQUIRE(h.all<act::StopContainer>().size() == 1);
    CHECK(h.all<act::StopContainer>()[0].grace == Duration(4s));
    CHECK(h.states().empty());  // no TASK_KILLING: nobody asked for a kill
    h.on(ev::ContainerExited{go.container_exit, false, "", ""});
    INFO("container exit " << go.container_exit);
    CHECK(h.states() == std::vector{go.state});
    CHECK_THAT(h.all<act::SendUpdate>()[0].message, Catch::Contains("SIGUSR1"));
    h.on(ev::Acknowledged{"t1", "u", true, true});
    CHECK(h.exit_code() == std::optional<int>(0));
  }
}

TEST_CASE("A terminal update the agent refuses for good ends the executor (exit 1) instead of waiting for ever") {
  Harness h;
  reach(h, Phase::TerminalUpdateSent);
  h.on(ev::UpdateRefused{"t1", false, "HTTP 400"});
  CHECK_FALSE(h.has<act::Exit>());
  h.on(ev::UpdateRefused{"t1", true, "HTTP 400: Failed to validate"});
  CHECK(h.exit_code() == std::optional<int>(1));
}

TEST_CASE("EXECUTOR_REMOVE_CONTAINER: the container is removed after the terminal ACK (or the ACK wait), then exit") {
  SECTION("off (the Go behaviour): exited containers stay") {
    Harness h;
    reach(h, Phase::TerminalUpdateSent);
    h.on(ev::Acknowledged{"t1", "u", true, true});
    CHECK(h.exit_code() == std::optional<int>(0));
    CHECK_FALSE(h.has<act::RemoveContainer>());
  }
  MachineConfig cfg;
  cfg.remove_container = true;
  SECTION("on: removed after the ACK, the removal before the Exit") {
    Harness h(cfg);
    reach(h, Phase::Running);
    h.on(ev::ContainerExited{3, false, "", ""});
    CHECK(h.has<act::CopyFailureLogs>());
    CHECK_FALSE(h.has<act::RemoveContainer>());  // not before the agent has the terminal update
    h.on(ev::UpdateAccepted{"t1", true});
    CHECK_FALSE(h.has<act::RemoveContainer>());
    h.on(ev::Acknowledged{"t1", "u", true, true});
    REQUIRE(h.all<act::RemoveContainer>().size() == 1);
    CHECK(h.all<act::RemoveContainer>()[0].container_id == kContainer);
    std::size_t remove_at = 0, exit_at = 0;
    for (std::size_t i = 0; i < h.last.size(); ++i) {
      if (std::holds_alternative<act::RemoveContainer>(h.last[i])) remove_at = i;
      if (std::holds_alternative<act::Exit>(h.last[i])) exit_at = i;
    }
    CHECK(remove_at < exit_at);
  }
  SECTION("on: an accepted update whose ACK never comes still removes it at the ACK timeout") {
    Harness h(cfg);
    reach(h, Phase::TerminalUpdateSent);
    h.on(ev::UpdateAccepted{"t1", true});
    h.on(ev::TimerFired{TimerId::TerminalAck});
    CHECK(h.has<act::RemoveContainer>());
    CHECK(h.exit_code() == std::optional<int>(0));
  }
  SECTION("on: no container was created (a failed pull): nothing to remove") {
    Harness h(cfg);
    h.on(ev::Subscribed{});
    h.on(ev::Launch{docker_task("t1")});
    h.on(ev::StepFailed{LaunchStep::Pull, "no such image", false});
    h.on(ev::Acknowledged{"t1", "u", true, true});
    CHECK(h.has<act::Exit>());
    CHECK_FALSE(h.has<act::RemoveContainer>());
  }
  SECTION("on: not once a SHUTDOWN started the agent's grace (what is left is for the exit)") {
    Harness h(cfg);
    reach(h, Phase::TerminalUpdateSent);
    h.on(ev::Shutdown{});
    h.on(ev::Acknowledged{"t1", "u", true, true});
    CHECK(h.has<act::Exit>());
    CHECK_FALSE(h.has<act::RemoveContainer>());
  }
  SECTION("on: not at the agent's shutdown deadline (no time left for Docker)") {
    Harness h(cfg);
    reach(h, Phase::TerminalUpdateSent);
    h.on(ev::Shutdown{});
    h.on(ev::TimerFired{TimerId::ShutdownDeadline});
    CHECK(h.has<act::Exit>());
    CHECK_FALSE(h.has<act::RemoveContainer>());
  }
}

namespace {
v1::TaskInfo task_with_max_completion(std::int64_t ns) {
  v1::TaskInfo t = docker_task("t1");
  t.mutable_max_completion_time()->set_nanoseconds(ns);
  return t;
}
}  // namespace

TEST_CASE("max_completion_time: counted from the launch; at expiry stopped at once, no TASK_KILLING, TASK_FAILED") {
  MachineConfig cfg;
  cfg.kill_grace = 7s;
  cfg.draining_duration = 10s;
  Harness h(cfg);
  h.on(ev::Subscribed{true, "agent"});  // the framework can take TASK_KILLING: still none is sent
  h.on(ev::Launch{task_with_max_completion(Duration(3s).count())});
  REQUIRE(h.all<act::StartTimer>().size() == 1);
  CHECK(h.all<act::StartTimer>()[0].id == TimerId::MaxCompletion);
  CHECK(h.all<act::StartTimer>()[0].after == Duration(3s));
  h.on(ev::StepDone{LaunchStep::Pull, "", ""});
  h.on(ev::StepDone{LaunchStep::Secrets, "", ""});
  h.on(ev::StepDone{LaunchStep::Create, kContainer, ""});
  h.on(ev::StepDone{LaunchStep::Start, kContainer, "172.17.0.2"});
  REQUIRE(h.phase() == Phase::Running);
  h.on(ev::TimerFired{TimerId::MaxCompletion});
  CHECK(h.states().empty());         // no TASK_KILLING
  CHECK_FALSE(h.has<act::Drain>());  // no Sidecar drain
  REQUIRE(h.all<act::StopContainer>().size() == 1);
  CHECK(h.all<act::StopContainer>()[0].grace == Duration{0});  // no grace
  CHECK(h.has<act::StopWatchdog>());
  h.on(ev::ContainerExited{137, false, "", ""});
  REQUIRE(h.all<act::SendUpdate>().size() == 1);
  const auto u = h.all<act::SendUpdate>()[0];
  CHECK(u.state == v1::TASK_FAILED);
  CHECK(u.reason == std::optional(v1::TaskStatus::REASON_MAX_COMPLETION_TIME_REACHED));
  CHECK_THAT(u.message, Catch::Contains("max_completion_time of 3s reached"));
  CHECK_THAT(u.message, Catch::Contains("137"));
}

TEST_CASE(
    "max_completion_time: none, zero or negative arms no timer; a task that ends first or is killed is not touched") {
  for (std::int64_t ns : {std::int64_t{0}, std::int64_t{-5}}) {
    Harness h;
    h.on(ev::Subscribed{});
    h.on(ev::Launch{task_with_max_completion(ns)});
    CHECK_FALSE(h.has<act::StartTimer>());
  }
  {
    Harness h;
    h.on(ev::Subscribed{});
    h.on(ev::Launch{docker_task("t1")});
    CHECK_FALSE(h.has<act::StartTimer>());
  }
  SECTION("the container ended by itself first: its own outcome, the late timer ignored") {
    Harness h;
    launch_to_running(h, task_with_max_completion(Duration(60s).count()));
    h.on(ev::ContainerExited{0, false, "", ""});
    CHECK(h.states() == std::vector{v1::TASK_FINISHED});
    h.on(ev::TimerFired{TimerId::MaxCompletion});
    CHECK(h.states().empty());
    CHECK_FALSE(h.has<act::StopContainer>());
  }
  SECTION("a KILL first: KILLED as any kill, the timer then changes nothing") {
    Harness h;
    launch_to_running(h, task_with_max_completion(Duration(60s).count()));
    h.on(ev::Kill{"t1", Duration(2s)});
    h.on(ev::TimerFired{TimerId::MaxCompletion});
    CHECK_FALSE(h.has<act::StopContainer>());
    h.on(ev::ContainerExited{143, false, "", ""});
    CHECK(h.states() == std::vector{v1::TASK_KILLED});
  }
  SECTION("expiry during the pull: nothing exists yet, FAILED at once") {
    Harness h;
    h.on(ev::Subscribed{});
    h.on(ev::Launch{task_with_max_completion(Duration(1s).count())});
    h.on(ev::TimerFired{TimerId::MaxCompletion});
    REQUIRE(h.all<act::SendUpdate>().size() == 1);
    CHECK(h.all<act::SendUpdate>()[0].state == v1::TASK_FAILED);
    CHECK(h.all<act::SendUpdate>()[0].reason == std::optional(v1::TaskStatus::REASON_MAX_COMPLETION_TIME_REACHED));
  }
  SECTION("expiry while the create is in flight: the container is removed once created, FAILED") {
    Harness h;
    h.on(ev::Subscribed{});
    h.on(ev::Launch{task_with_max_completion(Duration(1s).count())});
    h.on(ev::StepDone{LaunchStep::Pull, "", ""});
    h.on(ev::StepDone{LaunchStep::Secrets, "", ""});
    h.on(ev::TimerFired{TimerId::MaxCompletion});
    CHECK(h.states().empty());
    h.on(ev::StepDone{LaunchStep::Create, kContainer, ""});
    CHECK(h.has<act::RemoveContainer>());
    CHECK(h.states() == std::vector{v1::TASK_FAILED});
  }
  SECTION("a huge value is capped (no overflowing deadline)") {
    Harness h;
    h.on(ev::Subscribed{});
    h.on(ev::Launch{task_with_max_completion(std::numeric_limits<std::int64_t>::max())});
    REQUIRE(h.all<act::StartTimer>().size() == 1);
    CHECK(h.all<act::StartTimer>()[0].after <= Duration(std::chrono::hours(24 * 365 * 100)));
  }
}

namespace {
v1::TaskInfo task_with_health(std::uint32_t failures = 2, double grace = 10) {
  v1::TaskInfo t = docker_task("t1", /*sidecar=*/false);
  auto* hc = t.mutable_health_check();
  hc->set_type(v1::HealthCheck::HTTP);
  hc->mutable_http()->set_port(8080);
  hc->set_consecutive_failures(failures);
  hc->set_grace_period_seconds(grace);
  return t;
}
std::vector<std::optional<bool>> healthy_flags(const Harness& h) {
  std::vector<std::optional<bool>> out;
  for (const auto& u : h.all<act::SendUpdate>()) out.push_back(u.healthy);
  return out;
}
}  // namespace

TEST_CASE("Health checks start with the container, the grace timer with them") {
  Harness h;
  launch_to_running(h, task_with_health(2, 10), true);
  REQUIRE(h.all<act::StartHealthChecks>().size() == 1);
  CHECK(h.all<act::StartHealthChecks>()[0].container_id == kContainer);
  CHECK(h.all<act::StartHealthChecks>()[0].check.http().port() == 8080);
  bool grace_timer = false;
  for (const auto& t : h.all<act::StartTimer>())
    grace_timer |= t.id == TimerId::HealthGrace && t.after == Duration(10s);
  CHECK(grace_timer);
}

TEST_CASE("Health checks as Mesos counts them: grace, healthy once, unhealthy each time, killed at the limit") {
  Harness h;
  launch_to_running(h, task_with_health(2, 10), true);
  SECTION("failures before the first success are ignored while the grace runs") {
    h.on(ev::HealthResult{false, "connection refused"});
    CHECK(h.states().empty());
    h.on(ev::HealthResult{true, ""});
    REQUIRE(h.all<act::SendUpdate>().size() == 1);
    const auto u = h.all<act::SendUpdate>()[0];
    CHECK(u.state == v1::TASK_RUNNING);
    CHECK(u.healthy == std::optional<bool>(true));
    CHECK(u.reason == std::optional(v1::TaskStatus::REASON_TASK_HEALTH_CHECK_STATUS_UPDATED));
    h.on(ev::HealthResult{true, ""});
    CHECK(h.states().empty());  // healthy again: nothing new to say
    // After a success the grace no longer applies: each failure is counted and reported.
    h.on(ev::HealthResult{false, "HTTP 503"});
    CHECK(healthy_flags(h) == std::vector<std::optional<bool>>{false});
    CHECK_THAT(h.all<act::SendUpdate>()[0].message, Catch::Contains("HTTP 503"));
    CHECK_FALSE(h.has<act::StopContainer>());
    h.on(ev::HealthResult{true, ""});  // back: healthy=true again, the count restarts
    CHECK(healthy_flags(h) == std::vector<std::optional<bool>>{true});
    h.on(ev::HealthResult{false, "HTTP 503"});
    CHECK_FALSE(h.has<act::StopContainer>());
    h.on(ev::HealthResult{false, "HTTP 503"});  // the 2nd in a row: killed
    CHECK(h.states() == std::vector{v1::TASK_RUNNING, v1::TASK_KILLING});
    CHECK(healthy_flags(h)[0] == std::optional<bool>(false));
    CHECK(h.has<act::StopHealthChecks>());
    CHECK(h.has<act::StopContainer>());
    h.on(ev::ContainerExited{137, false, "", ""});
    REQUIRE(h.all<act::SendUpdate>().size() == 1);
    CHECK(h.all<act::SendUpdate>()[0].state == v1::TASK_KILLED);
    CHECK(h.all<act::SendUpdate>()[0].healthy == std::optional<bool>(false));
    CHECK_THAT(h.all<act::SendUpdate>()[0].message, Catch::Contains("2 consecutive failed health checks"));
  }
  SECTION("once the grace is over, failures count before any success") {
    h.on(ev::TimerFired{TimerId::HealthGrace});
    h.on(ev::HealthResult{false, "refused"});
    CHECK(healthy_flags(h) == std::vector<std::optional<bool>>{false});
    h.on(ev::HealthResult{false, "refused"});
    CHECK(h.has<act::StopContainer>());
  }
}

TEST_CASE("Health checks: consecutive_failures 0 kills at the first counted failure; no grace means none ignored") {
  Harness h;
  launch_to_running(h, task_with_health(0, 0), true);
  for (const auto& t : h.all<act::StartTimer>()) CHECK(t.id != TimerId::HealthGrace);
  h.on(ev::HealthResult{false, "refused"});
  CHECK(h.has<act::StopContainer>());
}

TEST_CASE("With a health check, Sidecar's verdict sends no update: the healthy flag is the health check's") {
  Harness h;
  v1::TaskInfo t = task_with_health();
  t.mutable_container()->mutable_docker()->clear_parameters();  // Sidecar watches it too
  launch_to_running(h, t, true);
  h.on(ev::HealthChanged{false});
  CHECK(h.states().empty());
  h.on(ev::WatchdogKill{"UNHEALTHY 3 times"});  // but either may kill (Sidecar's way: drain first)
  CHECK(h.phase() == Phase::Draining);
}

TEST_CASE("Health check results are ignored outside the running phase; the checks stop when the container ends") {
  Harness h;
  launch_to_running(h, task_with_health(), true);
  h.on(ev::ContainerExited{0, false, "", ""});
  CHECK(h.has<act::StopHealthChecks>());
  h.on(ev::HealthResult{true, ""});
  CHECK(h.states().empty());
}

TEST_CASE("An invalid health check is TASK_ERROR at the launch, naming the problem") {
  for (auto mutate : std::vector<std::function<void(v1::HealthCheck&)>>{
           [](v1::HealthCheck& c) { c.set_type(v1::HealthCheck::UNKNOWN); },
           [](v1::HealthCheck& c) { c.mutable_http()->clear_port(); },
           [](v1::HealthCheck& c) { c.mutable_http()->set_scheme("ftp"); },
           [](v1::HealthCheck& c) { c.mutable_http()->set_path("no-slash"); },
           [](v1::HealthCheck& c) { c.set_interval_seconds(-1); },
           [](v1::HealthCheck& c) {
             c.set_type(v1::HealthCheck::COMMAND);
             c.clear_command();
           },
           [](v1::HealthCheck& c) { c.set_type(v1::HealthCheck::TCP); }}) {
    v1::TaskInfo t = task_with_health();
    mutate(*t.mutable_health_check());
    Harness h;
    h.on(ev::Subscribed{});
    h.on(ev::Launch{t});
    REQUIRE(h.all<act::SendUpdate>().size() == 1);
    CHECK(h.all<act::SendUpdate>()[0].state == v1::TASK_ERROR);
    CHECK_THAT(h.all<act::SendUpdate>()[0].message, Catch::Contains("TaskInfo.health_check"));
  }
}
