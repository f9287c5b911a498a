// The executor's own log lines as the Go executor's logrus writes them (TextFormatter, no terminal):
// time="<RFC 3339>" level=<level> msg=<value>. Go's behaviour as data.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "app/logging.h"

TEST_CASE("Values are written as logrus's TextFormatter writes them") {
  struct Go {
    std::string in;
    std::string out;
  };
  // logrus text_formatter.go needsQuoting: bare only for [a-zA-Z0-9-._/@^+]; else fmt's %q.
  const std::vector<Go> go = {
      {"Executor", "Executor"},
      {"a-b.c_d/e@f^g+h", "a-b.c_d/e@f^g+h"},
      {"Starting container with ID 0123456789ab", "\"Starting container with ID 0123456789ab\""},
      {"Task failed, notifying Mesos", "\"Task failed, notifying Mesos\""},
      {"Using image 'web:1'", "\"Using image 'web:1'\""},
      {"say \"hi\"", "\"say \\\"hi\\\"\""},
      {"a\\b", "\"a\\\\b\""},
      {"line\nforged level=error", "\"line\\nforged level=error\""},  // one line, always
      {"tab\there\r", "\"tab\\there\\r\""},
      {std::string("nul\0byte", 8), "\"nul\\x00byte\""},
      {"esc\x1b[31m", "\"esc\\x1b[31m\""},
      {"del\x7f", "\"del\\x7f\""},
      {"caf\xc3\xa9", "\"caf\xc3\xa9\""},  // printable UTF-8 stays
      {"bad\xff", "\"bad\\xff\""},         // invalid UTF-8: the byte
      {"c1\xc2\x85", "\"c1\\u0085\""},     // a C1 control: not printable in Go
      {"", "\"\""},
  };
  for (const auto& c : go) {
    INFO(c.in);
    CHECK(app::logrus_value(c.in) == c.out);
  }
}

TEST_CASE("RFC 3339 zones as Go's time.Format writes them") {
  CHECK(app::rfc3339_zone(0) == "Z");
  CHECK(app::rfc3339_zone(3600) == "+01:00");
  CHECK(app::rfc3339_zone(-(5 * 3600 + 30 * 60)) == "-05:30");
  CHECK(app::rfc3339_zone(20700) == "+05:45");
}
