// The watchdog's pure parts: the Go executor's failure count, and URL splitting.
#include <catch2/catch.hpp>

#include "sidecar/watchdog.h"

namespace {

// Index (1-based) of the observation that kills, or 0.
int kill_at(int max_fails, const std::string& seq) {
  sidecar::FailureCounter c(max_fails);
  for (std::size_t i = 0; i < seq.size(); ++i) {
    if (c.observe(seq[i] == 'F')) return static_cast<int>(i) + 1;
  }
  return 0;
}

}  // namespace

TEST_CASE("Failures kill on the (MAX_FAILS+1)th in a row; a success resets the count") {
  CHECK(kill_at(3, "FFFF") == 4);
  CHECK(kill_at(3, "FFF") == 0);
  CHECK(kill_at(3, "FFFAFFFF") == 8);
  CHECK(kill_at(3, "AFAFAFAFAF") == 0);
  CHECK(kill_at(1, "FF") == 2);
  CHECK(kill_at(0, "F") == 1);
  CHECK(kill_at(2, "FFAFFF") == 6);
}

TEST_CASE("After a kill the count starts again") {
  sidecar::FailureCounter c(1);
  CHECK_FALSE(c.observe(true));
  CHECK(c.observe(true));
  CHECK(c.count() == 0);
  CHECK_FALSE(c.observe(true));
  CHECK(c.observe(true));
}

TEST_CASE("Sidecar URLs split into base and path") {
  auto u = sidecar::split_url("http://localhost:7777/state.json");
  REQUIRE(u);
  CHECK(u->base == "http://localhost:7777");
  CHECK(u->path == "/state.json");
  u = sidecar::split_url("https://sidecar.example.com/api/state.json?x=1");
  REQUIRE(u);
  CHECK(u->base == "https://sidecar.example.com");
  CHECK(u->path == "/api/state.json?x=1");
  u = sidecar::split_url("http://h:1");
  REQUIRE(u);
  CHECK(u->path == "/");
  for (const char* bad : {"localhost:7777/state.json", "ftp://h/x", "http://", "http:///state.json", ""}) {
    INFO(bad);
    CHECK_FALSE(sidecar::split_url(bad));
  }
}
