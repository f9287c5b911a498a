// The executor's own log: spdlog on stdout as the Go executor's logrus text lines
// (time="…" level=… msg=…, control characters always escaped), or JSON lines (EXECUTOR_JSON_LOGS);
// registered secrets scrubbed from every message either way.
#pragma once

#include <string>
#include <string_view>

#include "settings/settings.h"

namespace app {

void setup_logging(const settings::Settings& s);

// The pieces of a logrus line, exposed for tests: a UTC offset as RFC 3339 writes it ("Z", "+02:00"),
// a value as logrus's TextFormatter writes it (bare or Go-quoted), and Go's strconv.Quote.
std::string rfc3339_zone(long gmtoff_seconds);
std::string logrus_value(std::string_view text);
std::string go_quote(std::string_view text);

}  // namespace app
