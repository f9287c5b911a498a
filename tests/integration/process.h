// A child process for integration tests: started with a chosen environment, output captured to a
// file, waited for with a deadline, killed (with its process group) when the test ends.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace testing_support {

class Process {
 public:
  // `cwd`: the working directory of the child (empty: the test's own), as the agent starts an executor
  // in its sandbox.
  Process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
          const std::string& cwd = "");
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // The moment just before the fork: where a start-up time is measured from.
  std::chrono::steady_clock::time_point started_at() const { return started_at_; }
  // The exit code (or 128+signal) if the process ended within `timeout`.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  void signal(int signo);
  std::string output() const;  // stdout and stderr, interleaved

 private:
  pid_t pid_ = -1;
  std::chrono::steady_clock::time_point started_at_;
  std::optional<int> status_;
  std::string log_path_;
};

// Path of the executor under test (SIDECAR_EXECUTOR_BIN, set by meson).
std::string executor_binary();

}  // namespace testing_support
