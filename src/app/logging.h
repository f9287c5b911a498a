// The executor's own log: spdlog on stderr, text (control characters escaped) or JSON lines
// (EXECUTOR_JSON_LOGS), registered secrets scrubbed from every message either way.
#pragma once

#include "settings/settings.h"

namespace app {

void setup_logging(const settings::Settings& s);

}  // namespace app
