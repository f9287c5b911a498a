// Environment lookup as a value, so settings parsers can be tested with a table instead of setenv.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>

namespace util {

// Returns the variable's value, or nullopt when it is not set.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// Reads the real process environment.
EnvLookup process_env();

// Reads from a fixed map (tests, the local agent).
EnvLookup map_env(std::map<std::string, std::string> vars);

// This machine's hostname; "localhost" when it cannot be read.
std::string hostname();

// Every variable of the process environment, sorted by name.
std::map<std::string, std::string> process_env_snapshot();

// Removes `name` from the environment after overwriting its value's bytes where they lie, so that
// the value no longer shows in /proc/<pid>/environ (which reads the process's original
// environment block, not the environ array that unsetenv edits).
void wipe_env(const std::string& name);

}  // namespace util
