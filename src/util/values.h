// The value syntaxes the settings and the agent's variables are written in: Go's time.ParseDuration
// (EXECUTOR_* settings: "1m40s", "500ms"), Mesos/stout's Duration (MESOS_* variables: "15mins",
// "2secs") -- they differ on purpose -- and Go's strconv.ParseBool.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "util/result.h"

namespace util {

using Duration = std::chrono::nanoseconds;

// Exactly Go's time.ParseDuration: optional sign, then one or more <decimal><unit> with units
// ns, us (µs, μs), ms, s, m, h; "0" alone is zero; overflow of int64 nanoseconds is an error.
util::Result<Duration> parse_go_duration(std::string_view text);

// Go's Duration.String(): "1m40s", "3m0s", "500ms", "1h0m0s", "0s".
std::string format_go_duration(Duration d);

// stout's Duration::parse: <number, may have a fraction><unit> with units ns, us, ms, secs, mins,
// hrs, days, weeks.
util::Result<Duration> parse_mesos_duration(std::string_view text);

// Go's strconv.ParseBool: 1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False.
util::Result<bool> parse_go_bool(std::string_view text);

}  // namespace util
