// Duration parsers: Go's time.ParseDuration syntax (EXECUTOR_* settings: "1m40s", "500ms") and
// Mesos/stout's Duration syntax (MESOS_* variables: "15mins", "2secs"). They differ on purpose.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "util/result.h"

namespace settings {

using Duration = std::chrono::nanoseconds;

// Exactly Go's time.ParseDuration: optional sign, then one or more <decimal><unit> with units
// ns, us (µs, μs), ms, s, m, h; "0" alone is zero; overflow of int64 nanoseconds is an error.
util::Result<Duration> parse_go_duration(std::string_view text);

// Go's Duration.String(): "1m40s", "3m0s", "500ms", "1h0m0s", "0s".
std::string format_go_duration(Duration d);

// stout's Duration::parse: <number, may have a fraction><unit> with units ns, us, ms, secs, mins,
// hrs, days, weeks.
util::Result<Duration> parse_mesos_duration(std::string_view text);

}  // namespace settings
