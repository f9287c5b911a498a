// The executor's own log: spdlog on stdout as the Go executor's logrus text lines
// (time="…" level=… msg=…, control characters always escaped), or JSON lines (EXECUTOR_JSON_LOGS);
// registered secrets scrubbed from every message either way.
#pragma once

#include <string>
#include <string_view>

#include "app/site.h"
#include "mesos/agent_env.h"
#include "settings/settings.h"

namespace app {

void setup_logging(const settings::Settings& s);

// The first lines of the log: who starts for which executor, the site file read, and what the
// operator should know about the settings (unprefixed names used, locked variables the task tried to
// set, a Vault token file ignored).
void log_startup(const Site& site, const mesos::AgentEnv& agent);

// The pieces of a logrus line, exposed for tests: a UTC offset as RFC 3339 writes it ("Z", "+02:00"),
// a value as logrus's TextFormatter writes it (bare or Go-quoted), and Go's strconv.Quote.
std::string rfc3339_zone(long gmtoff_seconds);
std::string logrus_value(std::string_view text);
std::string go_quote(std::string_view text);

}  // namespace app
