// packaging/executor.sh: copies the binary into the sandbox, runs it with padding, and stops the
// task's container when the executor dies without doing so.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

#include "executor_harness.h"
#include "task_builder.h"

using namespace std::chrono_literals;
using fake::FakeAgent;
using testing_support::DockerDaemon;
using testing_support::Process;
using testing_support::TaskBuilder;
namespace v1 = ::mesos::v1;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The wrapper's child: the executor copy.
pid_t child_of(pid_t parent) {
  std::istringstream in(slurp("/proc/" + std::to_string(parent) + "/task/" + std::to_string(parent) + "/children"));
  pid_t p = 0;
  in >> p;
  return p;
}

// The environment the agent gives the wrapper, for a task in `sandbox`.
std::map<std::string, std::string> wrapper_env(const FakeAgent& agent, const std::string& sandbox,
                                               const std::string& executor_path, const std::string& custom_env) {
  return {{"MESOS_FRAMEWORK_ID", "fw-0001"},
          {"MESOS_EXECUTOR_ID", "exec-1"},
          {"MESOS_AGENT_ENDPOINT", agent.endpoint()},
          {"MESOS_CHECKPOINT", "0"},
          {"MESOS_DIRECTORY", sandbox},
          {"MESOS_SANDBOX", sandbox},
          {"DOCKER_HOST", DockerDaemon::shared().host()},
          {"HOME", "/nonexistent"},
          {"PATH", "/usr/bin:/bin"},
          {"EXECUTOR_SIDECAR_DRAINING_DURATION", "0s"},
          {"SIDECAR_EXECUTOR_PATH", executor_path},
          {"SIDECAR_EXECUTOR_CUSTOM_ENV_PATH", custom_env}};
}

bool has_state(const FakeAgent& agent, v1::TaskState s) {
  for (const auto& u : agent.updates()) {
    if (u.status.state() == s) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("The wrapper runs a sandbox copy and stops the container of an executor killed with SIGKILL") {
  const char* wrapper = std::getenv("SIDECAR_EXECUTOR_WRAPPER");
  REQUIRE(wrapper != nullptr);
  auto& d = DockerDaemon::shared();
  const std::string image = d.image("test/bb:1");
  const std::string sandbox = testing_support::make_temp_dir("sce-sandbox.");
  const std::string custom_env = sandbox + "/custom-env.sh";
  std::ofstream(custom_env) << "export EXECUTOR_KILL_TASK_TIMEOUT=1\nexport EXECUTOR_SIDECAR_DRAINING_DURATION=0s\n";
  FakeAgent agent(fake::AgentOptions{});
  agent.start();
  Process sh({"/bin/sh", wrapper}, wrapper_env(agent, sandbox, testing_support::executor_binary(), custom_env));
  REQUIRE(FakeAgent::wait_until([&] { return agent.stream_open(); }, 10s));
  std::this_thread::sleep_for(100ms);
  agent.launch(TaskBuilder("wrapped-1", image).shell("sleep 600"));  // ignores SIGTERM: needs the SIGKILL
  REQUIRE(FakeAgent::wait_until([&] { return has_state(agent, v1::TASK_RUNNING); }, 30s));
  const pid_t exe = child_of(sh.pid());
  REQUIRE(exe > 0);
  const std::string cmdline = slurp("/proc/" + std::to_string(exe) + "/cmdline");
  CHECK(cmdline.rfind("sidecar-executor ", 0) == 0);  // the title, over the sandbox copy's argv
  CHECK(slurp("/proc/" + std::to_string(exe) + "/comm").rfind("sidecar-executo", 0) == 0);
  const std::string id = slurp(sandbox + "/sidecar-executor.container-id");
  REQUIRE(id.size() >= 64);
  CHECK(d.running().size() == 1);

  ::kill(exe, SIGKILL);  // no chance to stop anything itself
  auto code = sh.wait(30s);
  INFO(sh.output());
  REQUIRE(code.has_value());
  CHECK(*code == 128 + SIGKILL);
  CHECK_THAT(sh.output(), Catch::Contains("stopping it"));
  const auto running = d.running();
  CHECK(std::find(running.begin(), running.end(), id.substr(0, 64)) == running.end());
  testing_support::remove_tree(sandbox);
}

TEST_CASE("The sandbox copy is what runs: replacing the installed binary mid-task does not disturb the task") {
  const char* wrapper = std::getenv("SIDECAR_EXECUTOR_WRAPPER");
  REQUIRE(wrapper != nullptr);
  auto& d = DockerDaemon::shared();
  const std::string image = d.image("test/bb:1");
  const std::string sandbox = testing_support::make_temp_dir("sce-sandbox.");
  const std::string opt = testing_support::make_temp_dir("sce-opt.");
  const std::string installed = opt + "/sidecar-executor";
  {
    std::ifstream src(testing_support::executor_binary(), std::ios::binary);
    std::ofstream dst(installed, std::ios::binary);
    dst << src.rdbuf();
  }
  REQUIRE(::chmod(installed.c_str(), 0755) == 0);
  FakeAgent agent(fake::AgentOptions{});
  agent.start();
  Process sh({"/bin/sh", wrapper}, wrapper_env(agent, sandbox, installed, sandbox + "/none.sh"));
  REQUIRE(FakeAgent::wait_until([&] { return agent.stream_open(); }, 10s));
  std::this_thread::sleep_for(100ms);
  agent.launch(TaskBuilder("wrapped-2", image).shell("sh -c 'trap \"exit 0\" TERM; while :; do sleep 1; done'"));
  const bool running = FakeAgent::wait_until([&] { return has_state(agent, v1::TASK_RUNNING); }, 30s);
  INFO(sh.output());
  REQUIRE(running);
  const pid_t exe = child_of(sh.pid());
  REQUIRE(exe > 0);
  char target[4096] = {};
  const ssize_t n = ::readlink(("/proc/" + std::to_string(exe) + "/exe").c_str(), target, sizeof target - 1);
  REQUIRE(n > 0);
  CHECK(std::string(target, static_cast<size_t>(n)) == sandbox + "/sidecar-executor");

  // An upgrade replaces the installed binary (new inode, as dpkg does) and then a broken one
  // overwrites it in place: the running task's executor is neither.
  REQUIRE(::unlink(installed.c_str()) == 0);
  std::ofstream(installed) << "#!/bin/sh\nexit 99\n";
  REQUIRE(::chmod(installed.c_str(), 0755) == 0);

  agent.kill("wrapped-2");
  REQUIRE(FakeAgent::wait_until([&] { return has_state(agent, v1::TASK_KILLED); }, 30s));
  auto code = sh.wait(30s);
  INFO(sh.output());
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK(d.running().empty());
  testing_support::remove_tree(sandbox);
  testing_support::remove_tree(opt);
}

TEST_CASE("Orphans: the executor SIGKILLed 20 times at random moments of a launch leaves no container running") {
  const char* wrapper = std::getenv("SIDECAR_EXECUTOR_WRAPPER");
  REQUIRE(wrapper != nullptr);
  auto& d = DockerDaemon::shared();
  const std::string image = d.image("test/bb:1");
  const unsigned seed = std::random_device{}();
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  int after_running = 0;
  for (int i = 0; i < 20; ++i) {
    INFO("kill " << i);
    const std::string sandbox = testing_support::make_temp_dir("sce-sandbox.");
    FakeAgent agent(fake::AgentOptions{});
    agent.start();
    std::ofstream(sandbox + "/custom-env.sh") << "export EXECUTOR_KILL_TASK_TIMEOUT=1\n";
    Process sh({"/bin/sh", wrapper},
               wrapper_env(agent, sandbox, testing_support::executor_binary(), sandbox + "/custom-env.sh"));
    REQUIRE(FakeAgent::wait_until([&] { return agent.stream_open(); }, 10s));
    std::this_thread::sleep_for(50ms);
    agent.launch(TaskBuilder(fmt::format("orphan-{}", i), image).shell("sleep 600"));
    // From STARTING on, anywhere in pull, create, start or the running task.
    REQUIRE(FakeAgent::wait_until([&] { return has_state(agent, v1::TASK_STARTING); }, 30s));
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 600)(rng)));
    after_running += has_state(agent, v1::TASK_RUNNING);
    const pid_t exe = child_of(sh.pid());
    REQUIRE(exe > 0);
    ::kill(exe, SIGKILL);
    const auto code = sh.wait(30s);
    INFO(sh.output());
    REQUIRE(code.has_value());
    CHECK(d.running().empty());
    testing_support::remove_tree(sandbox);
  }
  std::printf("figure: 20 executor SIGKILLs through the wrapper (%d after RUNNING): %zu containers left running\n",
              after_running, d.running().size());
  d.remove_all_containers();  // the never-started ones the kills left behind
}
