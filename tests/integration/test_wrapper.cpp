// packaging/executor.sh: copies the binary into the sandbox, runs it with padding, and stops the
// task's container when the executor dies without doing so.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
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

namespace {

// A container of another tenant, started straight through Docker (not by any executor), named as
// an executor names its containers; `labels` as "key=value".
struct Victim {
  std::string id, name;
};

Victim start_victim(DockerDaemon& d, const std::vector<std::string>& labels = {}) {
  static std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> hex(0, 15);
  std::string uuid;
  for (const int len : {8, 4, 4, 4, 12}) {
    if (!uuid.empty()) uuid += '-';
    for (int i = 0; i < len; ++i) uuid += "0123456789abcdef"[hex(rng)];
  }
  Victim v{"", "mesos-" + uuid};
  std::vector<std::string> args = {"run", "-d", "--name", v.name};
  for (const auto& l : labels) {
    args.push_back("--label");
    args.push_back(l);
  }
  for (const std::string& a : {d.image("test/bb:1"), std::string("sleep"), std::string("600")}) args.push_back(a);
  v.id = d.cli(args);
  while (!v.id.empty() && (v.id.back() == '\n' || v.id.back() == '\r')) v.id.pop_back();
  REQUIRE(v.id.size() == 64);
  return v;
}

bool is_running(const DockerDaemon& d, const std::string& id) {
  const auto r = d.running();
  return std::find(r.begin(), r.end(), id) != r.end();
}

// The wrapper started with the fake agent; returns once the executor copy has subscribed.
struct Wrapped {
  Wrapped(const std::string& sandbox, const std::string& executor_path, const std::string& custom_env)
      : agent(fake::AgentOptions{}) {
    const char* wrapper = std::getenv("SIDECAR_EXECUTOR_WRAPPER");
    REQUIRE(wrapper != nullptr);
    agent.start();
    sh = std::make_unique<Process>(std::vector<std::string>{"/bin/sh", wrapper},
                                   wrapper_env(agent, sandbox, executor_path, custom_env));
  }
  bool subscribed() {
    return FakeAgent::wait_until([&] { return agent.stream_open(); }, 10s);
  }
  // Ends the executor with the agent's SHUTDOWN; the wrapper's exit code.
  std::optional<int> shut_down() {
    agent.shutdown();
    return sh->wait(30s);
  }
  FakeAgent agent;
  std::unique_ptr<Process> sh;
};

}  // namespace

TEST_CASE("A planted container-id file does not make the wrapper touch another tenant's container") {
  auto& d = DockerDaemon::shared();
  const std::string kind = GENERATE(std::string("short id prefix"), std::string("full id and name, no labels"),
                                    std::string("another executor's labels"), std::string("symlink"));
  INFO("planted: " << kind);
  const std::string sandbox = testing_support::make_temp_dir("sce-sandbox.");
  const std::string elsewhere = testing_support::make_temp_dir("sce-elsewhere.");
  // The last two victims carry labels, the symlink's even ours: only the symlink rule saves it.
  Victim v = kind == "another executor's labels"
                 ? start_victim(d, {"sidecar-executor.executor-id=exec-2", "sidecar-executor.framework-id=fw-0001"})
             : kind == "symlink"
                 ? start_victim(d, {"sidecar-executor.executor-id=exec-1", "sidecar-executor.framework-id=fw-0001"})
                 : start_victim(d);
  Wrapped w(sandbox, testing_support::executor_binary(), sandbox + "/none.sh");
  REQUIRE(w.subscribed());
  const std::string id_file = sandbox + "/sidecar-executor.container-id";
  if (kind == "short id prefix") std::ofstream(id_file) << v.id.substr(0, 12) << "\n";
  if (kind == "full id and name, no labels" || kind == "another executor's labels") {
    std::ofstream(id_file) << v.id << "\n" << v.name << "\n";
  }
  if (kind == "symlink") {
    std::ofstream(elsewhere + "/id") << v.id << "\n" << v.name << "\n";
    REQUIRE(::symlink((elsewhere + "/id").c_str(), id_file.c_str()) == 0);
  }
  const pid_t exe = child_of(w.sh->pid());
  REQUIRE(exe > 0);
  ::kill(exe, SIGKILL);
  const auto code = w.sh->wait(30s);
  INFO(w.sh->output());
  REQUIRE(code.has_value());
  CHECK(*code == 128 + SIGKILL);
  CHECK(is_running(d, v.id));
  CHECK_THAT(w.sh->output(), Catch::Contains("not acted on, no container touched"));
  CHECK_THAT(w.sh->output(), !Catch::Contains("stopping it") && !Catch::Contains("removing it"));
  if (kind == "short id prefix") CHECK_THAT(w.sh->output(), Catch::Contains("full 64-hex container id"));
  if (kind == "symlink") CHECK_THAT(w.sh->output(), Catch::Contains("is a symlink"));
  if (kind != "short id prefix" && kind != "symlink") {
    CHECK_THAT(w.sh->output(), Catch::Contains("not this executor's"));
  }
  d.cli({"rm", "-f", v.id});
  testing_support::remove_tree(sandbox);
  testing_support::remove_tree(elsewhere);
}

TEST_CASE("A container-id file left in the sandbox before the wrapper starts is removed, never acted on") {
  auto& d = DockerDaemon::shared();
  const std::string sandbox = testing_support::make_temp_dir("sce-sandbox.");
  // Even a container that carries this executor's labels and name: the file predates the executor.
  const Victim v = start_victim(d, {"sidecar-executor.executor-id=exec-1", "sidecar-executor.framework-id=fw-0001"});
  std::ofstream(sandbox + "/sidecar-executor.container-id") << v.id << "\n" << v.name << "\n";
  Wrapped w(sandbox, testing_support::executor_binary(), sandbox + "/none.sh");
  REQUIRE(w.subscribed());
  struct stat st {};
  CHECK(::lstat((sandbox + "/sidecar-executor.container-id").c_str(), &st) != 0);  // gone before the start
  const pid_t exe = child_of(w.sh->pid());
  REQUIRE(exe > 0);
  ::kill(exe, SIGKILL);
  const auto code = w.sh->wait(30s);
  INFO(w.sh->output());
  REQUIRE(code.has_value());
  CHECK(is_running(d, v.id));
  CHECK_THAT(w.sh->output(), !Catch::Contains("stopping it"));
  d.cli({"rm", "-f", v.id});
  testing_support::remove_tree(sandbox);
}

TEST_CASE("A symlink planted where the binary copy goes is replaced, not written through") {
  const std::string sandbox = testing_support::make_temp_dir("sce-sandbox.");
  const std::string elsewhere = testing_support::make_temp_dir("sce-elsewhere.");
  const std::string precious = elsewhere + "/precious";
  std::ofstream(precious) << "root's file\n";
  REQUIRE(::chmod(precious.c_str(), 0600) == 0);
  REQUIRE(::symlink(precious.c_str(), (sandbox + "/sidecar-executor").c_str()) == 0);
  Wrapped w(sandbox, testing_support::executor_binary(), sandbox + "/none.sh");
  const bool subscribed = w.subscribed();
  INFO(w.sh->output());
  REQUIRE(subscribed);
  const auto code = w.shut_down();
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  const bool unchanged = slurp(precious) == "root's file\n";
  CHECK(unchanged);
  struct stat st {};
  REQUIRE(::stat(precious.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  REQUIRE(::lstat((sandbox + "/sidecar-executor").c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));  // the copy, in the link's place
  CHECK((st.st_mode & 07777) == 0755);
  testing_support::remove_tree(sandbox);
  testing_support::remove_tree(elsewhere);
}

TEST_CASE("The environment file is sourced only when root owns it and neither group nor others may write it") {
  struct Case {
    mode_t mode;
    uid_t owner;
    bool via_symlink;
    bool sourced;
    const char* problem;
  };
  const Case c = GENERATE(Case{0644, 0, false, true, ""}, Case{0644, 0, true, true, ""},
                          Case{0664, 0, false, false, "writable by group or others"},
                          Case{0646, 0, false, false, "writable by group or others"},
                          Case{0664, 0, true, false, "writable by group or others"},
                          Case{0644, 1000, false, false, "owned by uid 1000, not root"});
  INFO("mode " << std::oct << c.mode << std::dec << " owner " << c.owner << (c.via_symlink ? " via a symlink" : ""));
  const std::string sandbox = testing_support::make_temp_dir("sce-sandbox.");
  const std::string file = sandbox + "/custom-env.sh";
  const std::string env_file = c.via_symlink ? sandbox + "/link-to-env.sh" : file;
  const std::string marker = sandbox + "/sourced";
  std::ofstream(file) << "touch '" << marker << "'\n";
  REQUIRE(::chmod(file.c_str(), c.mode) == 0);
  REQUIRE(::chown(file.c_str(), c.owner, 0) == 0);
  if (c.via_symlink) REQUIRE(::symlink(file.c_str(), env_file.c_str()) == 0);
  Wrapped w(sandbox, testing_support::executor_binary(), env_file);
  const bool subscribed = w.subscribed();
  INFO(w.sh->output());
  REQUIRE(subscribed);
  const auto code = w.shut_down();
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  struct stat st {};
  CHECK((::stat(marker.c_str(), &st) == 0) == c.sourced);
  if (!c.sourced) {
    CHECK_THAT(w.sh->output(), Catch::Contains("environment file " + env_file) && Catch::Contains(c.problem) &&
                                   Catch::Contains("not sourced"));
  }
  testing_support::remove_tree(sandbox);
}

TEST_CASE("SIDECAR_EXECUTOR_PATH naming a file others may write is not run: the installed binary is used") {
  struct stat st {};
  if (::stat("/opt/mesos/sidecar-executor", &st) == 0) {
    WARN("an executor is installed at /opt/mesos/sidecar-executor: this test needs it absent");
    return;
  }
  const std::string sandbox = testing_support::make_temp_dir("sce-sandbox.");
  const std::string elsewhere = testing_support::make_temp_dir("sce-elsewhere.");
  const std::string fake_exe = elsewhere + "/sidecar-executor";
  const std::string marker = elsewhere + "/ran";
  std::ofstream(fake_exe) << "#!/bin/sh\ntouch '" << marker << "'\n";
  REQUIRE(::chmod(fake_exe.c_str(), 0775) == 0);
  Wrapped w(sandbox, fake_exe, sandbox + "/none.sh");
  const auto code = w.sh->wait(30s);
  INFO(w.sh->output());
  REQUIRE(code.has_value());
  CHECK(*code == 1);  // the installed binary is missing here
  CHECK(::stat(marker.c_str(), &st) != 0);
  CHECK_THAT(w.sh->output(), Catch::Contains("SIDECAR_EXECUTOR_PATH " + fake_exe) &&
                                 Catch::Contains("writable by group or others") &&
                                 Catch::Contains("using /opt/mesos/sidecar-executor"));
  testing_support::remove_tree(sandbox);
  testing_support::remove_tree(elsewhere);
}
