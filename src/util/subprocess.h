// Runs a helper program (e.g. docker-credential-<name>) with input on stdin, collecting stdout and
// stderr, bounded in time: the program (and its process group) is killed when the time is up.
// The child gets descriptors 0-2 only: every other descriptor of the executor is closed in it,
// whether or not it was opened close-on-exec.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "util/result.h"

namespace util {

struct ProgramResult {
  int exit_code = -1;  // -1: killed by a signal
  std::string out;
  std::string err;
};

// Directories searched when an explicit environment has no PATH: system directories only.
inline constexpr const char* kSystemPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Inherits the executor's environment; argv[0] is looked up in the executor's PATH. For tools and
// tests: anything run on a task's behalf must use the overload below, since the executor's
// environment holds the agent's token and Vault settings and may be set by whoever deploys a task.
// Output beyond `max_output` bytes per stream is dropped.
Result<ProgramResult> run_program(const std::vector<std::string>& argv, const std::string& input,
                                  std::chrono::milliseconds timeout, std::size_t max_output = 1 << 20);

// The program gets exactly `env` ("NAME=value" entries). argv[0] without a '/' is looked up in the
// PATH entry of `env` (kSystemPath when it has none), never in the executor's PATH.
Result<ProgramResult> run_program(const std::vector<std::string>& argv, const std::string& input,
                                  std::chrono::milliseconds timeout, const std::vector<std::string>& env,
                                  std::size_t max_output = 1 << 20);

// The executable file `name` in the ':'-separated `search_path` (relative entries are skipped), or
// an empty string.
std::string find_program(const std::string& name, const std::string& search_path);

}  // namespace util
