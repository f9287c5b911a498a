// Runs a helper program (e.g. docker-credential-<name>) with input on stdin, collecting stdout and
// stderr, bounded in time: the program is killed when the time is up.
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

// argv[0] is looked up in PATH. Output beyond `max_output` bytes per stream is dropped.
Result<ProgramResult> run_program(const std::vector<std::string>& argv, const std::string& input,
                                  std::chrono::milliseconds timeout, std::size_t max_output = 1 << 20);

}  // namespace util
