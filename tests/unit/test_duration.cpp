// Go and Mesos duration syntaxes.
#include <catch2/catch.hpp>

#include "settings/settings.h"

using namespace std::chrono_literals;
using settings::format_go_duration;
using settings::parse_go_duration;
using settings::parse_mesos_duration;

TEST_CASE("Go durations parse as time.ParseDuration does") {
  struct Case {
    const char* text;
    std::chrono::nanoseconds want;
  };
  const Case cases[] = {
      {"0", 0ns},
      {"1m40s", 100s},
      {"3m", 180s},
      {"2s", 2s},
      {"500ms", 500ms},
      {"1h", 1h},
      {"1.5h", 90min},
      {"+5s", 5s},
      {"-5s", -5s},
      {".5s", 500ms},
      {"1.s", 1s},
      {"10us", 10us},
      {"10\xC2\xB5s", 10us},
      {"10\xCE\xBCs", 10us},
      {"7ns", 7ns},
      {"1h2m3s4ms5us6ns", 1h + 2min + 3s + 4ms + 5us + 6ns},
      {"2562047h47m16.854775807s", std::chrono::nanoseconds(INT64_MAX)},
  };
  for (const auto& c : cases) {
    auto d = parse_go_duration(c.text);
    INFO(c.text);
    REQUIRE(d.ok());
    CHECK(d->count() == c.want.count());
  }
}

TEST_CASE("Go durations reject what time.ParseDuration rejects") {
  for (const char* bad : {"", "3", "1x", "s", "-", ".", "1..5s", "5 s", "1m 40s", "3d", "2562047h47m16.854775808s",
                          "9999999999999999999h"}) {
    INFO(bad);
    auto d = parse_go_duration(bad);
    CHECK_FALSE(d.ok());
  }
}

TEST_CASE("Go durations format as Duration.String does") {
  CHECK(format_go_duration(0s) == "0s");
  CHECK(format_go_duration(100s) == "1m40s");
  CHECK(format_go_duration(180s) == "3m0s");
  CHECK(format_go_duration(1h) == "1h0m0s");
  CHECK(format_go_duration(500ms) == "500ms");
  CHECK(format_go_duration(1500ms) == "1.5s");
  CHECK(format_go_duration(744h) == "744h0m0s");
  CHECK(format_go_duration(-2s) == "-2s");
  CHECK(format_go_duration(7ns) == "7ns");
}

TEST_CASE("Mesos durations parse as stout's Duration::parse does") {
  CHECK(parse_mesos_duration("15mins")->count() == std::chrono::nanoseconds(15min).count());
  CHECK(parse_mesos_duration("2secs")->count() == std::chrono::nanoseconds(2s).count());
  CHECK(parse_mesos_duration("100ms")->count() == std::chrono::nanoseconds(100ms).count());
  CHECK(parse_mesos_duration("1.5hrs")->count() == std::chrono::nanoseconds(90min).count());
  CHECK(parse_mesos_duration("3days")->count() == std::chrono::nanoseconds(72h).count());
  CHECK(parse_mesos_duration("1weeks")->count() == std::chrono::nanoseconds(168h).count());
  CHECK(parse_mesos_duration("250us")->count() == 250'000);
  CHECK(parse_mesos_duration("9ns")->count() == 9);
  for (const char* bad : {"", "15", "15m", "1m30s", "secs", "2 secs", "1.2.3secs", "-1secs"}) {
    INFO(bad);
    CHECK_FALSE(parse_mesos_duration(bad).ok());
  }
}
