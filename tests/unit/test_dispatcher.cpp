// The dispatcher against fake ports: each action reaches one port with the data it carries, and the
// two walks of the README (LAUNCH → create request, container exit → terminal update) pass through
// the state machine and the dispatcher with nothing read back from anywhere else.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "executor/machine.h"
#include "executor/ports.h"
#include "shell/dispatcher.h"

using namespace executor;
namespace v1 = ::mesos::v1;
using namespace std::chrono_literals;

namespace {

// Every port call, as one line of text, in order; the data the calls carried, kept whole.
struct Calls {
  std::vector<std::string> log;
  std::vector<act::SendUpdate> updates;
  std::vector<act::PullImage> pulls;
  std::vector<act::ResolveSecrets> resolves;
  std::vector<act::CreateContainer> creates;
};

struct FakeAgent final : port::Agent {
  explicit FakeAgent(Calls& c) : calls(c) {}
  void send_update(const act::SendUpdate& u) override {
    calls.log.push_back("agent.update " + v1::TaskState_Name(u.state));
    calls.updates.push_back(u);
  }
  Calls& calls;
};
struct FakeTimers final : port::Timers {
  explicit FakeTimers(Calls& c) : calls(c) {}
  void start_timer(TimerId id, Duration after) override {
    calls.log.push_back(std::string("timers.start ") + to_string(id) + " " +
                        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(after).count()));
  }
  void cancel_timer(TimerId id) override { calls.log.push_back(std::string("timers.cancel ") + to_string(id)); }
  Calls& calls;
};
struct FakeContainers final : port::Containers {
  explicit FakeContainers(Calls& c) : calls(c) {}
  void pull(const act::PullImage& p) override {
    calls.log.push_back("containers.pull " + p.image);
    calls.pulls.push_back(p);
  }
  void create(const act::CreateContainer& c) override {
    calls.log.push_back("containers.create");
    calls.creates.push_back(c);
  }
  void start(const std::string& id) override { calls.log.push_back("containers.start " + id); }
  void watch(const std::string& id) override { calls.log.push_back("containers.watch " + id); }
  void stop(const std::string& id, Duration grace) override {
    calls.log.push_back("containers.stop " + id + " " +
                        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(grace).count()));
  }
  void remove(const std::string& id) override { calls.log.push_back("containers.remove " + id); }
  void copy_failure_logs(const std::string& id) override { calls.log.push_back("containers.copy_logs " + id); }
  void shutdown(bool at_deadline) override {
    calls.log.push_back(std::string("containers.shutdown ") + (at_deadline ? "deadline" : "normal"));
  }
  Calls& calls;
};
struct FakeSecrets final : port::Secrets {
  explicit FakeSecrets(Calls& c) : calls(c) {}
  void resolve(const act::ResolveSecrets& r) override {
    calls.log.push_back("secrets.resolve");
    calls.resolves.push_back(r);
  }
  Calls& calls;
};
struct FakeSidecar final : port::Sidecar {
  explicit FakeSidecar(Calls& c) : calls(c) {}
  void drain(const std::string& id) override { calls.log.push_back("sidecar.drain " + id); }
  void start_watchdog(const std::string& id, const std::string& host) override {
    calls.log.push_back("sidecar.watchdog " + id + " on " + host);
  }
  void stop_watchdog() override { calls.log.push_back("sidecar.stop_watchdog"); }
  void fetch_seeds() override { calls.log.push_back("sidecar.seeds"); }
  Calls& calls;
};
struct FakeProcess final : port::Process {
  explicit FakeProcess(Calls& c) : calls(c) {}
  void container_starting(const std::string& id, const std::string& image) override {
    calls.log.push_back("process.starting " + id + " " + image);
  }
  void container_running() override { calls.log.push_back("process.running"); }
  Calls& calls;
};

struct FakeHealth final : port::HealthChecks {
  explicit FakeHealth(Calls& c) : calls(c) {}
  void start(const act::StartHealthChecks& r) override {
    calls.log.push_back("health.start " + r.container_id + " " + v1::HealthCheck::Type_Name(r.check.type()));
  }
  void stop() override { calls.log.push_back("health.stop"); }
  Calls& calls;
};

struct World {
  Calls calls;
  FakeAgent agent{calls};
  FakeTimers timers{calls};
  FakeContainers containers{calls};
  FakeSecrets secrets{calls};
  FakeSidecar sidecar{calls};
  FakeProcess process{calls};
  FakeHealth health{calls};
  shell::Dispatcher dispatcher{{agent, timers, containers, secrets, sidecar, process, health}};

  // Runs every action; the Exit, if one came.
  std::optional<act::Exit> run(const std::vector<Action>& actions) {
    std::optional<act::Exit> exit;
    for (const auto& a : actions) {
      if (auto e = dispatcher.run(a)) exit = e;
    }
    return exit;
  }
  // The port calls since the last take, without the log lines.
  std::vector<std::string> take() {
    auto out = std::move(calls.log);
    calls.log.clear();
    return out;
  }
};

// A plan as an engine adapter would build it: the core only hands it on.
struct TestPlan final : ContainerPlan {
  std::vector<std::string> env() const override { return {"A=1", "DB_PASSWORD=vault://secret/db?key=password"}; }
};

v1::TaskInfo task_with_host() {
  v1::TaskInfo t;
  t.set_name("web");
  t.mutable_task_id()->set_value("t1");
  t.mutable_agent_id()->set_value("agent-1");
  t.mutable_container()->set_type(v1::ContainerInfo::DOCKER);
  t.mutable_container()->mutable_docker()->set_image("127.0.0.1:5000/web:1");
  auto* v = t.mutable_executor()->mutable_command()->mutable_environment()->add_variables();
  v->set_name("TASK_HOST");
  v->set_value("task-host.example");
  return t;
}

}  // namespace

TEST_CASE("Each action reaches one port with its data") {
  World w;
  auto plan = std::make_shared<const TestPlan>();
  SecretEnv secrets{{{"DB_PASSWORD=vault://secret/db?key=password", "DB_PASSWORD=s3cr3t"}}, {"AWS_ACCESS_KEY_ID=AK"}};
  const auto exit = w.run({
      act::SendUpdate{"t1", v1::TASK_RUNNING, "", std::nullopt, true, "c1", "10.0.0.2"},
      act::PullImage{"reg/img:1", true, task_with_host()},
      act::ResolveSecrets{{"X=vault://a"}},
      act::FetchSeeds{},
      act::CreateContainer{plan, secrets, {"SIDECAR_SEEDS=h1,h2"}},
      act::StartContainer{"c1", "reg/img:1"},
      act::WatchContainer{"c1"},
      act::StopContainer{"c1", 1500ms},
      act::RemoveContainer{"c1"},
      act::CopyFailureLogs{"c1"},
      act::Drain{"c1"},
      act::StartWatchdog{"c1", "h"},
      act::StopWatchdog{},
      act::StartTimer{TimerId::DrainWait, 2s},
      act::CancelTimer{TimerId::DrainWait},
      act::Log{LogLevel::Debug, "a line for the log only"},
  });
  CHECK_FALSE(exit);
  CHECK(w.take() == std::vector<std::string>{
                        "agent.update TASK_RUNNING",
                        "containers.pull reg/img:1",
                        "secrets.resolve",
                        "sidecar.seeds",
                        "containers.create",
                        "process.starting c1 reg/img:1",
                        "containers.start c1",
                        "containers.watch c1",
                        "process.running",
                        "containers.stop c1 1500",
                        "containers.remove c1",
                        "containers.copy_logs c1",
                        "sidecar.drain c1",
                        "sidecar.watchdog c1 on h",
                        "sidecar.stop_watchdog",
                        std::string("timers.start ") + to_string(TimerId::DrainWait) + " 2000",
                        std::string("timers.cancel ") + to_string(TimerId::DrainWait),
                    });
  // The data, whole: nothing was read back from elsewhere.
  REQUIRE(w.calls.updates.size() == 1);
  CHECK(w.calls.updates[0].ip_address == "10.0.0.2");
  CHECK(w.calls.updates[0].healthy == true);
  REQUIRE(w.calls.pulls.size() == 1);
  CHECK(w.calls.pulls[0].force);
  CHECK(w.calls.pulls[0].task.task_id().value() == "t1");
  REQUIRE(w.calls.resolves.size() == 1);
  CHECK(w.calls.resolves[0].env == std::vector<std::string>{"X=vault://a"});
  REQUIRE(w.calls.creates.size() == 1);
  CHECK(w.calls.creates[0].plan == plan);
  CHECK(w.calls.creates[0].secrets.replacements == secrets.replacements);
  CHECK(w.calls.creates[0].secrets.extra == secrets.extra);
  CHECK(w.calls.creates[0].extra_env == std::vector<std::string>{"SIDECAR_SEEDS=h1,h2"});
}

TEST_CASE("An Exit action ends the dispatch with its code") {
  World w;
  auto exit = w.run({act::Log{LogLevel::Info, "bye"}, act::Exit{3, true}});
  REQUIRE(exit);
  CHECK(exit->code == 3);
  CHECK(exit->at_deadline);
  CHECK(w.take().empty());
}

TEST_CASE("Walk 1: LAUNCH to the create request, every step's data carried by events and actions") {
  MachineConfig cfg;
  cfg.seed_sidecar = true;
  cfg.host = "executor-host";
  Machine m(cfg);
  World w;
  w.run(m.handle(ev::Subscribed{}));
  w.take();

  w.run(m.handle(ev::Launch{task_with_host()}));
  CHECK(w.take() == std::vector<std::string>{"agent.update TASK_STARTING", "containers.pull 127.0.0.1:5000/web:1"});
  REQUIRE(w.calls.pulls.size() == 1);
  CHECK(w.calls.pulls[0].task.task_id().value() == "t1");  // the task travels with the action

  // The pull's result carries the plan; the secrets step gets the plan's environment.
  auto plan = std::make_shared<const TestPlan>();
  ev::StepDone pulled{LaunchStep::Pull, "", ""};
  pulled.plan = plan;
  w.run(m.handle(pulled));
  CHECK(w.take() == std::vector<std::string>{"secrets.resolve"});
  REQUIRE(w.calls.resolves.size() == 1);
  CHECK(w.calls.resolves[0].env == plan->env());

  ev::StepDone resolved{LaunchStep::Secrets, "", ""};
  resolved.secrets.replacements["DB_PASSWORD=vault://secret/db?key=password"] = "DB_PASSWORD=s3cr3t";
  w.run(m.handle(resolved));
  CHECK(w.take() == std::vector<std::string>{"sidecar.seeds"});

  ev::StepDone seeded{LaunchStep::Seeds, "", ""};
  seeded.env = {"SIDECAR_SEEDS=a,b"};
  w.run(m.handle(seeded));
  CHECK(w.take() == std::vector<std::string>{"containers.create"});
  REQUIRE(w.calls.creates.size() == 1);
  const auto& create = w.calls.creates[0];
  CHECK(create.plan == plan);  // built once, handed on
  CHECK(create.secrets.replacements.at("DB_PASSWORD=vault://secret/db?key=password") == "DB_PASSWORD=s3cr3t");
  CHECK(create.extra_env == std::vector<std::string>{"SIDECAR_SEEDS=a,b"});
  // Handed on, not kept: the state holds no secret once the create is asked for.
  CHECK(m.state().secrets.replacements.empty());

  w.run(m.handle(ev::StepDone{LaunchStep::Create, "c0ffee0123456789", ""}));
  CHECK(w.take() == std::vector<std::string>{"process.starting c0ffee0123456789 127.0.0.1:5000/web:1",
                                             "containers.start c0ffee0123456789"});

  w.run(m.handle(ev::StepDone{LaunchStep::Start, "c0ffee0123456789", "172.17.0.9"}));
  CHECK(w.take() == std::vector<std::string>{"agent.update TASK_RUNNING", "containers.watch c0ffee0123456789",
                                             "process.running",
                                             "sidecar.watchdog c0ffee0123456789 on task-host.example"});
  REQUIRE_FALSE(w.calls.updates.empty());
  CHECK(w.calls.updates.back().ip_address == "172.17.0.9");
}

TEST_CASE("Without EXECUTOR_SEED_SIDECAR the create follows the secrets; the executor's host stands in for TASK_HOST") {
  MachineConfig cfg;
  cfg.host = "executor-host";
  Machine m(cfg);
  World w;
  auto task = task_with_host();
  task.mutable_executor()->clear_command();
  w.run(m.handle(ev::Subscribed{}));
  w.run(m.handle(ev::Launch{task}));
  w.run(m.handle(ev::StepDone{LaunchStep::Pull, "", ""}));
  w.take();
  w.run(m.handle(ev::StepDone{LaunchStep::Secrets, "", ""}));
  CHECK(w.take() == std::vector<std::string>{"containers.create"});
  w.run(m.handle(ev::StepDone{LaunchStep::Create, "c1", ""}));
  w.run(m.handle(ev::StepDone{LaunchStep::Start, "c1", ""}));
  const auto calls = w.take();
  CHECK(calls.back() == "sidecar.watchdog c1 on executor-host");
}

TEST_CASE("Walk 2: the container's exit to the terminal update, then the exit once acknowledged") {
  Machine m(MachineConfig{});
  World w;
  auto task = task_with_host();
  w.run(m.handle(ev::Subscribed{}));
  w.run(m.handle(ev::Launch{task}));
  w.run(m.handle(ev::StepDone{LaunchStep::Pull, "", ""}));
  w.run(m.handle(ev::StepDone{LaunchStep::Secrets, "", ""}));
  w.run(m.handle(ev::StepDone{LaunchStep::Create, "c1", ""}));
  w.run(m.handle(ev::StepDone{LaunchStep::Start, "c1", "172.17.0.9"}));
  w.take();
  w.calls.updates.clear();

  CHECK_FALSE(w.run(m.handle(ev::ContainerExited{0, false, "", ""})));
  const auto calls = w.take();
  REQUIRE(w.calls.updates.size() == 1);
  CHECK(w.calls.updates[0].state == v1::TASK_FINISHED);
  CHECK(w.calls.updates[0].task_id == "t1");
  CHECK(std::find(calls.begin(), calls.end(), "sidecar.stop_watchdog") != calls.end());
  CHECK(std::find(calls.begin(), calls.end(), "agent.update TASK_FINISHED") != calls.end());

  auto exit = w.run(m.handle(ev::Acknowledged{"t1", "u", true, true}));
  REQUIRE(exit);
  CHECK(exit->code == 0);
}

TEST_CASE("The health-check actions reach the health port with the task's check") {
  World w;
  v1::HealthCheck hc;
  hc.set_type(v1::HealthCheck::HTTP);
  hc.mutable_http()->set_port(8080);
  const auto exit = w.run({act::StartHealthChecks{"c1", hc}, act::StopHealthChecks{}});
  CHECK_FALSE(exit);
  CHECK(w.take() == std::vector<std::string>{"health.start c1 HTTP", "health.stop"});
}
