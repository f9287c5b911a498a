// The real executor binary started against the fake agent and the private dockerd, with helpers to
// read the status updates it sent.
#pragma once

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "docker/image_ref.h"
#include "docker_daemon.h"
#include "executor_env.h"
#include "fake_agent.h"
#include "process.h"

namespace testing_support {

namespace v1 = ::mesos::v1;
using namespace std::chrono_literals;
using fake::FakeAgent;

inline const std::string kPadding(120, ' ');  // room for the process title, as the wrapper script gives

struct Harness {
  explicit Harness(std::map<std::string, std::string> extra = {}, bool checkpoint = false,
                   fake::AgentOptions agent_options = {}, std::vector<std::string> extra_args = {})
      : daemon(DockerDaemon::shared()), agent(std::move(agent_options)) {
    agent.start();
    // The executor starts in its sandbox, as the agent starts executors: a fresh folder unless the
    // test gives one (MESOS_SANDBOX in `extra`).
    if (!extra.count("MESOS_SANDBOX")) {
      own_sandbox = make_temp_dir("sce-sandbox.");
      extra["MESOS_SANDBOX"] = own_sandbox;
      extra["MESOS_DIRECTORY"] = own_sandbox;
    }
    sandbox = extra.at("MESOS_SANDBOX");
    std::map<std::string, std::string> env = ExecutorEnv(agent.endpoint())
                                                 .checkpoint(checkpoint)
                                                 .shutdown_grace("10secs")
                                                 .docker(daemon.host())
                                                 .set("EXECUTOR_KILL_TASK_TIMEOUT", "2")
                                                 .set("EXECUTOR_TERMINAL_ACK_TIMEOUT", "3s")
                                                 .set(extra)
                                                 .map();
    std::vector<std::string> argv{testing_support::executor_binary(), kPadding};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    // A token file is used only in a folder the site lists: the tests that give one play the operator.
    if (auto it = env.find("VAULT_TOKEN_FILE");
        it != env.end() && std::find(extra_args.begin(), extra_args.end(), "--config") == extra_args.end()) {
      const std::string dir = it->second.substr(0, it->second.rfind('/'));
      char tmpl[] = "/tmp/sce-harness-site-XXXXXX";
      const int fd = ::mkstemp(tmpl);
      REQUIRE(fd >= 0);
      const std::string text = "policy:\n  vault_token_dirs: [\"" + dir + "\"]\n";
      REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
      ::fchmod(fd, 0644);
      ::close(fd);
      site_file = tmpl;
      argv.push_back("--config");
      argv.push_back(site_file);
    }
    // A test that gives a sandbox gets the executor started in it, as the agent starts executors.
    exe = std::make_unique<Process>(argv, env, sandbox);
    REQUIRE(FakeAgent::wait_until([&] { return agent.stream_open(); }, 10s));
    std::this_thread::sleep_for(100ms);  // let SUBSCRIBED reach the executor
  }
  ~Harness() {
    exe.reset();
    if (!site_file.empty()) ::unlink(site_file.c_str());
    if (!own_sandbox.empty()) remove_tree(own_sandbox);
  }

  std::vector<v1::TaskStatus> updates_of(const std::string& task) const {
    std::vector<v1::TaskStatus> out;
    for (const auto& u : agent.updates()) {
      if (u.status.task_id().value() == task && !u.via_subscribe) out.push_back(u.status);
    }
    return out;
  }
  std::vector<v1::TaskState> states(const std::string& task) const {
    std::vector<v1::TaskState> out;
    for (const auto& s : updates_of(task)) out.push_back(s.state());
    return out;
  }
  // Waits for an update of `task` in `state`; returns it.
  v1::TaskStatus wait_state(const std::string& task, v1::TaskState state, std::chrono::milliseconds timeout = 30s) {
    const bool seen = FakeAgent::wait_until(
        [&] {
          for (const auto& s : updates_of(task)) {
            if (s.state() == state) return true;
          }
          return false;
        },
        timeout);
    INFO(exe->output());
    INFO("states so far: " << describe_states(task));
    REQUIRE(seen);
    for (const auto& s : updates_of(task)) {
      if (s.state() == state) return s;
    }
    return {};
  }
  std::string describe_states(const std::string& task) const {
    std::string out;
    for (const auto& s : updates_of(task)) out += v1::TaskState_Name(s.state()) + " ";
    return out;
  }
  // The Docker container id an update reports (the status label DockerContainerId).
  static std::string container_id(const v1::TaskStatus& s) {
    for (const auto& l : s.labels().labels()) {
      if (l.key() == "DockerContainerId") return l.value();
    }
    return "";
  }
  static std::string ip_address(const v1::TaskStatus& s) {
    for (const auto& net : s.container_status().network_infos()) {
      for (const auto& ip : net.ip_addresses()) return ip.ip_address();
    }
    return "";
  }
  bool container_running(const std::string& task) const {
    const std::string name = docker::container_name(task);
    const std::string out = daemon.cli({"ps", "-q", "--filter", "name=" + name});
    return !out.empty();
  }
  // Not running, or no longer within 1 s: the executor reports an exit on Docker's `die` event, which
  // the daemon sends before its own clean-up marks the container stopped (tens of milliseconds).
  bool container_stopped(const std::string& task) const {
    return FakeAgent::wait_until([&] { return !container_running(task); }, 1s);
  }
  // The host pid of the task container's first process (0 when it has none).
  long container_pid(const std::string& task) const {
    const std::string out = daemon.cli({"inspect", "-f", "{{.State.Pid}}", docker::container_name(task)});
    return out.empty() ? 0 : std::stol(out);
  }

  DockerDaemon& daemon;
  FakeAgent agent;
  std::unique_ptr<Process> exe;
  std::string site_file;    // written for VAULT_TOKEN_FILE (see the constructor)
  std::string sandbox;      // the executor's working directory and MESOS_SANDBOX
  std::string own_sandbox;  // made by the harness (removed with it)
};

}  // namespace testing_support
