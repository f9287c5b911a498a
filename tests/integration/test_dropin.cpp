// Drop-in behaviours of the Go executor that operators rely on, checked against Go's behaviour written
// down as data (the Go binary cannot live in this repository): signals and exit codes, settings read
// from their unprefixed names, the log lines on stdout in logrus's text format. Real executor binary,
// fake agent, real dockerd.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <signal.h>

#include <chrono>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

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
using testing_support::Process;
using testing_support::TaskBuilder;
namespace v1 = ::mesos::v1;

namespace {

std::string image() { return DockerDaemon::shared().image("test/bb:1"); }

// A container that exits with `code` on SIGTERM.
std::string exits_on_term(int code) {
  return fmt::format("sh -c 'trap \"exit {}\" TERM; while :; do sleep 1; done'", code);
}

}  // namespace

// Go: main.go handleSignals (SIGINT/SIGTERM: clean shutdown, os.Exit(130)); SIGUSR1 with the watch loop
// running: the container is stopped and its own exit reported with executor.go handleContainerExit's
// mapping (0 FINISHED, 137 KILLED, other FAILED), executor exit 0.
TEST_CASE("SIGUSR1 stops the container and reports its own exit; the executor exits 0 (Go's outcome)") {
  struct Go {
    int container_exit_on_term;
    v1::TaskState state;
  };
  for (const Go& go : {Go{0, v1::TASK_FINISHED}, Go{3, v1::TASK_FAILED}}) {
    Harness h;
    const std::string task = fmt::format("usr1-{}", go.container_exit_on_term);
    h.agent.launch(TaskBuilder(task, image()).shell(exits_on_term(go.container_exit_on_term)));
    h.wait_state(task, v1::TASK_RUNNING);
    h.exe->signal(SIGUSR1);
    const auto last = h.wait_state(task, go.state, 20s);
    CHECK_THAT(last.message(), Catch::Contains("SIGUSR1"));
    CHECK(h.exe->wait(15s) == std::optional<int>(0));
    CHECK(h.container_stopped(task));
    CHECK_THAT(h.exe->output(), Catch::Contains("Received signal 'user defined signal 1', attempting clean shutdown"));
  }
}

TEST_CASE("SIGTERM: TASK_KILLED, then the executor exits 130 as the Go executor does") {
  Harness h;
  h.agent.launch(TaskBuilder("term-130", image()).shell(exits_on_term(0)));
  h.wait_state("term-130", v1::TASK_RUNNING);
  h.exe->signal(SIGTERM);
  h.wait_state("term-130", v1::TASK_KILLED, 20s);
  CHECK(h.exe->wait(15s) == std::optional<int>(130));
  CHECK_THAT(h.exe->output(), Catch::Contains("Received signal 'terminated', attempting clean shutdown"));
}

// Go: main.go init, envconfig.Process("executor", &config) with `envconfig:"NAME"` tags: NAME is read
// when EXECUTOR_NAME is absent from the environment (an empty EXECUTOR_NAME is not absent).
TEST_CASE("Settings are read from their unprefixed names when the EXECUTOR_ name is absent") {
  struct Go {
    std::map<std::string, std::string> env;
    std::vector<std::string> lines;  // in --print-config's output
  };
  const std::vector<Go> go = {
      {{{"KILL_TASK_TIMEOUT", "1"}, {"LOG_HOSTNAME", "relay-7"}, {"DEBUG", "true"}},
       {"EXECUTOR_KILL_TASK_TIMEOUT=1\n", "EXECUTOR_LOG_HOSTNAME=relay-7\n", "EXECUTOR_DEBUG=true\n"}},
      {{{"KILL_TASK_TIMEOUT", "1"}, {"EXECUTOR_KILL_TASK_TIMEOUT", "9"}}, {"EXECUTOR_KILL_TASK_TIMEOUT=9\n"}},
      {{{"KILL_TASK_TIMEOUT", "1"}, {"EXECUTOR_KILL_TASK_TIMEOUT", ""}}, {"EXECUTOR_KILL_TASK_TIMEOUT=5\n"}},
  };
  for (const auto& c : go) {
    auto env = c.env;
    env["PATH"] = "/usr/bin:/bin";
    Process exe({testing_support::executor_binary(), "--print-config"}, env);
    REQUIRE(exe.wait(10s) == std::optional<int>(0));
    for (const auto& line : c.lines) CHECK_THAT(exe.output(), Catch::Contains(line));
  }
}

// Go: main.go init, log.SetOutput(os.Stdout); logrus TextFormatter without a terminal; callbacks.go
// LaunchTask "Starting container with ID " + id[:12].
TEST_CASE("The executor's log lines go to stdout in logrus's text format, with Go's launch line") {
  AgentOptions o;
  FakeAgent agent(o);
  agent.start();
  const std::string err_file = testing_support::make_temp_dir("sce-dropin.") + "/stderr";
  const auto env = testing_support::ExecutorEnv(agent.endpoint())
                       .shutdown_grace("5secs")
                       .docker(DockerDaemon::shared().host())
                       .map();
  // stderr goes to a file: what Process captures is stdout alone.
  Process exe({"/bin/sh", "-c", "exec \"$0\" 2>\"$1\"", testing_support::executor_binary(), err_file}, env);
  REQUIRE(FakeAgent::wait_until([&] { return agent.stream_open(); }, 10s));
  agent.launch(TaskBuilder("stdout-1", image()).shell("true"));
  REQUIRE(FakeAgent::wait_until(
      [&] {
        return !agent.task_states("stdout-1").empty() && agent.task_states("stdout-1").back() == v1::TASK_FINISHED;
      },
      30s));
  REQUIRE(exe.wait(15s) == std::optional<int>(0));
  const std::string out = exe.output();
  INFO(out);
  const std::regex launch_line(
      R"re(^time="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)" level=info msg="Starting container with ID [0-9a-f]{12}"$)re");
  const std::regex any_line(R"re(^time="[^"]+" level=(debug|info|warning|error) msg=.*$)re");
  bool launch = false;
  std::istringstream lines(out);
  int log_lines = 0;
  for (std::string line; std::getline(lines, line);) {
    if (std::regex_match(line, launch_line)) launch = true;
    if (std::regex_match(line, any_line)) ++log_lines;
  }
  CHECK(launch);
  CHECK(log_lines > 10);
  for (const char* go_line :
       {"msg=\"Launching task stdout-1 with command ''\"", "msg=\"Task ID stdout-1\"",
        "msg=\"Task completed: stdout-1\"", "msg=\"Launched Sidecar tasks... ready for Mesos instructions\"",
        "msg=\"Executor process has started\"", "msg=\"Sidecar Executor exiting (exit code 0)\""}) {
    CHECK_THAT(out, Catch::Contains(go_line));
  }
  // Go's lines of a launch with the image present, once each and in its order (callbacks.go LaunchTask).
  std::size_t at = 0;
  const std::vector<std::string> go_lines = {"msg=\"Launching task stdout-1 with command ''\"",
                                             "msg=\"Task ID stdout-1\"", "msg=\"Using image '" + image() + "'\"",
                                             "msg=\"Re-using existing image... already present\""};
  for (const auto& go_line : go_lines) {
    INFO(go_line);
    const auto found = out.find(go_line, at);
    REQUIRE(found != std::string::npos);
    CHECK(out.find(go_line, found + 1) == std::string::npos);
    at = found + go_line.size();
  }
  testing_support::remove_tree(err_file.substr(0, err_file.rfind('/')));
}
