// The site config file: keys, lists, precedence, and errors naming file, line and key.
#include <catch2/catch.hpp>

#include <fstream>

#include "settings/config_file.h"
#include "settings/settings.h"

using settings::parse_config_text;

TEST_CASE("Keys with or without EXECUTOR_, any case; lists joined; the environment wins over the file") {
  auto f = parse_config_text(R"(# site defaults
kill_task_timeout: 10
EXECUTOR_SIDECAR_URL: http://sidecar.local:7777/state.json
Sidecar_Poll_Interval: 5s
send_docker_labels: [ServiceName, Environment]
relay_syslog: true
)",
                             "site.yaml");
  REQUIRE(f);
  auto s = settings::load_settings(
      settings::layered(util::map_env({{"EXECUTOR_KILL_TASK_TIMEOUT", "20"}, {"EXECUTOR_SIDECAR_POLL_INTERVAL", ""}}), *f),
      "h");
  REQUIRE(s);
  CHECK(s->kill_task_timeout_s == 20);  // environment beats file
  CHECK(s->sidecar_url == "http://sidecar.local:7777/state.json");
  CHECK(s->sidecar_poll_interval == std::chrono::seconds(5));  // an empty variable counts as unset
  CHECK(s->send_docker_labels == std::vector<std::string>{"ServiceName", "Environment"});
  CHECK(s->relay_syslog);
  CHECK(s->sidecar_max_fails == 3);  // untouched default
}

TEST_CASE("Errors name the file, the line and the key") {
  struct Case {
    const char* text;
    const char* want;
  };
  const Case cases[] = {
      {"kill_task_timeout: 10\nno_such_thing: 1\n", "site.yaml:2: unknown setting \"no_such_thing\""},
      {"\n\nsidecar_poll_interval: 3x\n", "site.yaml:3: sidecar_poll_interval: EXECUTOR_SIDECAR_POLL_INTERVAL=\"3x\""},
      {"debug: maybe\n", "site.yaml:1: debug:"},
      {"kill_task_timeout: {a: 1}\n", "site.yaml:1: kill_task_timeout: must be a single value or a list"},
      {"debug: true\nDEBUG: false\n", "site.yaml:2: DEBUG is set twice"},
      {"- a\n- b\n", "site.yaml: must be a mapping"},
      {"debug: [unclosed\n", "site.yaml:"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto f = parse_config_text(c.text, "site.yaml");
    REQUIRE_FALSE(f);
    CHECK_THAT(f.error().message, Catch::Contains(c.want));
  }
}

TEST_CASE("A missing default file is no file; a missing named one is an error; an empty one is fine") {
  auto none = settings::load_config_file("/nonexistent/sidecar-executor.yaml", false);
  REQUIRE(none);
  CHECK(none->values.empty());
  auto named = settings::load_config_file("/nonexistent/sidecar-executor.yaml", true);
  REQUIRE_FALSE(named);
  CHECK_THAT(named.error().message, Catch::Contains("/nonexistent/sidecar-executor.yaml"));
  auto empty = parse_config_text("", "e.yaml");
  REQUIRE(empty);
  CHECK(empty->values.empty());
}
