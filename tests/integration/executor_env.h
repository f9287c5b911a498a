// The environment a test starts the executor with: what a Mesos agent gives the executors it starts
// (MESOS_*), PATH, and what each test adds.
#pragma once

#include <map>
#include <string>

namespace testing_support {

class ExecutorEnv {
 public:
  // Framework fw-0001, executor exec-1, no checkpointing, /tmp as the sandbox.
  explicit ExecutorEnv(const std::string& agent_endpoint, const std::string& framework_id = "fw-0001",
                       const std::string& executor_id = "exec-1") {
    env_ = {{"MESOS_FRAMEWORK_ID", framework_id},
            {"MESOS_EXECUTOR_ID", executor_id},
            {"MESOS_AGENT_ENDPOINT", agent_endpoint},
            {"MESOS_CHECKPOINT", "0"},
            {"MESOS_DIRECTORY", "/tmp"},
            {"MESOS_SANDBOX", "/tmp"},
            {"PATH", "/usr/bin:/bin"}};
  }
  // A framework that checkpoints, with the tests' short recovery timeout and subscription backoff.
  ExecutorEnv& checkpoint(bool on = true) {
    env_["MESOS_CHECKPOINT"] = on ? "1" : "0";
    if (on) {
      env_["MESOS_RECOVERY_TIMEOUT"] = "20secs";
      env_["MESOS_SUBSCRIPTION_BACKOFF_MAX"] = "200ms";
    }
    return *this;
  }
  // MESOS_DIRECTORY and MESOS_SANDBOX.
  ExecutorEnv& sandbox(const std::string& dir) {
    env_["MESOS_DIRECTORY"] = dir;
    env_["MESOS_SANDBOX"] = dir;
    return *this;
  }
  ExecutorEnv& shutdown_grace(const std::string& period) { return set("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", period); }
  // Tasks in Docker at `host` (the tests' private dockerd), HOME without a Docker client configuration,
  // and no Sidecar: no drain wait before a kill (the Sidecar tests cover draining).
  ExecutorEnv& docker(const std::string& host) {
    set("DOCKER_HOST", host);
    set("HOME", "/nonexistent");
    return set("EXECUTOR_SIDECAR_DRAINING_DURATION", "0s");
  }
  ExecutorEnv& set(const std::string& name, const std::string& value) {
    env_[name] = value;
    return *this;
  }
  // Each of `vars`, over what is set.
  ExecutorEnv& set(const std::map<std::string, std::string>& vars) {
    for (const auto& [k, v] : vars) env_[k] = v;
    return *this;
  }

  const std::map<std::string, std::string>& map() const { return env_; }

 private:
  std::map<std::string, std::string> env_;
};

}  // namespace testing_support
