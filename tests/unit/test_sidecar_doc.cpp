// Our service's status in Sidecar's state.json: the fixtures, the large document, and every way a
// document can fail to tell us.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "sidecar/state_doc.h"

using sidecar::find_service_status;
using sidecar::Lookup;

namespace {

std::string fixture(const std::string& name) {
  const char* dir = std::getenv("SIDECAR_FIXTURES");
  REQUIRE(dir != nullptr);
  std::ifstream f(std::string(dir) + "/" + name);
  REQUIRE(f.good());
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A state document as a 200-host cluster serves it, 20 services a host (about 1.2 MB). Ids are
// 12 hex digits from a fixed sequence; statuses cycle so that the last service is ALIVE.
struct LargeDoc {
  std::string json;
  std::string last_id;
};

LargeDoc large_state_document() {
  static const char* const names[] = {"billing", "indexer", "mailer", "search", "auth"};
  static const int statuses[] = {2, 1, 4, 0};
  LargeDoc d;
  std::uint64_t seed = 0x9e3779b97f4a7c15ULL;
  d.json = R"({"ClusterName": "test-cluster", "Hostname": "host-000", "Servers": {)";
  for (int h = 0; h < 200; ++h) {
    char host[16];
    std::snprintf(host, sizeof host, "host-%03d", h);
    if (h > 0) d.json += ", ";
    d.json += std::string("\"") + host + R"(": {"Name": ")" + host + R"(", "Services": {)";
    for (int s = 0; s < 20; ++s) {
      seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
      char id[16];
      std::snprintf(id, sizeof id, "%012llx", static_cast<unsigned long long>(seed >> 16) & 0xffffffffffffULL);
      const char* name = names[(h + s) % 5];
      if (s > 0) d.json += ", ";
      d.json += std::string("\"") + id + R"(": {"ID": ")" + id + R"(", "Name": ")" + name +
                R"(", "Image": "127.0.0.1:5000/)" + name + ":" + std::to_string(s) + R"(", "Hostname": ")" + host +
                R"(", "Ports": [{"Type": "tcp", "Port": )" + std::to_string(31000 + s) + R"(, "ServicePort": )" +
                std::to_string(8000 + s) +
                R"(, "IP": "127.0.0.1"}], "Updated": "2026-12-01T12:00:00Z", "ProxyMode": "http", "Status": )" +
                std::to_string(statuses[s % 4]) + "}";
      d.last_id = id;
    }
    d.json += "}}";
  }
  d.json += "}}";
  return d;
}

}  // namespace

TEST_CASE("The small fixture: each service's status under its host") {
  const std::string doc = fixture("state-small.json");
  struct Case {
    const char* host;
    const char* id;
    int status;
  };
  for (const Case& c : {Case{"host-a", "4f1c2a9b7d3e", 0}, Case{"host-a", "9e8d7c6b5a41", 2},
                        Case{"host-a", "77aa88bb99cc", 4}, Case{"host-b", "0a1b2c3d4e5f", 1}}) {
    INFO(c.host << " " << c.id);
    const Lookup l = find_service_status(doc, c.host, c.id);
    REQUIRE(l.kind == Lookup::Kind::Found);
    CHECK(l.status == c.status);
  }
  // A service of another host is not ours.
  CHECK(find_service_status(doc, "host-b", "4f1c2a9b7d3e").kind == Lookup::Kind::NoService);
  CHECK(find_service_status(doc, "host-z", "4f1c2a9b7d3e").kind == Lookup::Kind::NoHost);
}

TEST_CASE("The large fixture: the last service of the last host") {
  const LargeDoc large = large_state_document();
  const std::string& doc = large.json;
  REQUIRE(doc.size() > 1000000);
  const Lookup l = find_service_status(doc, "host-199", large.last_id);
  REQUIRE(l.kind == Lookup::Kind::Found);
  CHECK(l.status == 0);
  CHECK(find_service_status(doc, "host-199", "000000000000").kind == Lookup::Kind::NoService);
}

TEST_CASE("Keys named like ours elsewhere in the document do not confuse the lookup") {
  const std::string doc = R"({"Status": 2, "Hostname": "h",
    "Other": {"Servers": {"h": {"Services": {"abc": {"Status": 2}}}}},
    "Servers": {"x": {"Services": {"abc": {"Status": 1}}},
                "h": {"Name": "h", "Services": {"abd": {"Status": 2},
                                                 "abc": {"Ports": [{"Status": 9}], "Extra": {"Status": 7}, "Status": 0}}}}})";
  const Lookup l = find_service_status(doc, "h", "abc");
  REQUIRE(l.kind == Lookup::Kind::Found);
  CHECK(l.status == 0);
}

TEST_CASE("Documents that cannot tell us: invalid JSON, truncated, wrong shapes, no Status") {
  CHECK(find_service_status("<html>502 Bad Gateway</html>", "h", "abc").kind == Lookup::Kind::Invalid);
  CHECK_FALSE(find_service_status("<html>", "h", "abc").error.empty());
  CHECK(find_service_status("", "h", "abc").kind == Lookup::Kind::Invalid);
  CHECK(find_service_status(R"({"Servers": {"h": {"Services": {"abc": {"Name": "web")", "h", "abc").kind ==
        Lookup::Kind::Invalid);
  CHECK(find_service_status(R"({"Servers": []})", "h", "abc").kind == Lookup::Kind::NoHost);
  CHECK(find_service_status(R"({"Servers": {"h": {"Services": null}}})", "h", "abc").kind == Lookup::Kind::NoService);
  CHECK(find_service_status(R"({"Servers": {"h": {"Services": {"abc": {"Status": "0"}}}}})", "h", "abc").kind ==
        Lookup::Kind::NoStatus);
  CHECK(find_service_status(R"([1, 2, 3])", "h", "abc").kind == Lookup::Kind::NoHost);
  // Found before the garbage that follows: the answer stands (the lookup stops once it has it).
  const Lookup early =
      find_service_status(R"({"Servers": {"h": {"Services": {"abc": {"Status": 2}}}}} trailing)", "h", "abc");
  CHECK(early.kind == Lookup::Kind::Found);
  CHECK(early.status == 2);
}

TEST_CASE("A deeply nested or huge document ends with an answer") {
  std::string deep(100000, '[');
  CHECK(find_service_status(deep, "h", "abc").kind == Lookup::Kind::Invalid);
  std::string big = R"({"Servers": {)";
  for (int i = 0; i < 20000; ++i) big += "\"host-" + std::to_string(i) + R"(": {"Services": {"x": {"Status": 0}}},)";
  big += R"("h": {"Services": {"abc": {"Status": 1}}}}})";
  const Lookup l = find_service_status(big, "h", "abc");
  REQUIRE(l.kind == Lookup::Kind::Found);
  CHECK(l.status == 1);
}

TEST_CASE("A Status outside int's range is no status: the document is refused (found by fuzzing)") {
  for (const char* status : {"277777777777777777", "-1", "18446744073709551615", "2147483648"}) {
    INFO(status);
    const std::string doc =
        std::string(R"({"Servers":{"host-a":{"Services":{"0123456789ab":{"Status":)") + status + "}}}}}";
    const auto l = sidecar::find_service_status(doc, "host-a", "0123456789ab");
    CHECK(l.kind == sidecar::Lookup::Kind::Invalid);
    CHECK_THAT(l.error, Catch::Contains("out of range"));
  }
  const auto ok = sidecar::find_service_status(
      R"({"Servers":{"host-a":{"Services":{"0123456789ab":{"Status":2147483647}}}}})", "host-a", "0123456789ab");
  CHECK(ok.kind == sidecar::Lookup::Kind::Found);
  CHECK(ok.status == 2147483647);
}

TEST_CASE("The reader is strict JSON: escapes and UTF-8 checked, keys decoded, integers told from fractions") {
  const auto lookup = [](const std::string& doc) { return find_service_status(doc, "h", "abc"); };
  const auto with_status = [](const std::string& status) {
    return R"({"Servers": {"h": {"Services": {"abc": {"Status": )" + status + "}}}}}";
  };
  // Keys are compared decoded; a BOM may open the document.
  auto l = lookup(R"({"Serv\u0065rs": {"h": {"Services": {"a\u0062c": {"Status": 1}}}}})");
  CHECK(l.kind == Lookup::Kind::Found);
  CHECK(l.status == 1);
  CHECK(lookup("\xEF\xBB\xBF" + with_status("2")).status == 2);
  CHECK(lookup("\xEF\xBB" + with_status("2")).kind == Lookup::Kind::Invalid);
  // Numbers: -0 is an integer; fractions and exponents are not; bare signs and dots are not JSON.
  // ("01" reads as 0 followed by garbage: the lookup has its answer at the 0 and stops there.)
  CHECK(lookup(with_status("-0")).kind == Lookup::Kind::Found);
  for (const char* fraction : {"1.0", "1e2", "2E-1", "99999999999999999999"}) {
    INFO(fraction);
    l = lookup(with_status(fraction));
    CHECK(l.kind == Lookup::Kind::NoStatus);
    CHECK(l.status_not_integer);
  }
  for (const char* bad : {"-", "1.", ".5", "1e", "+1", "tru", "nul"}) {
    INFO(bad);
    CHECK(lookup(with_status(bad)).kind == Lookup::Kind::Invalid);
  }
  // Not JSON anywhere before our Status: trailing commas, comments, bad escapes or UTF-8, control
  // characters, unpaired surrogates.
  for (const std::string bad : {R"({"a": [1, 2,], "Servers": {}})", R"({"a": 1,})", R"(// c
{"Servers": {}})",
                                R"({"a": "\x"})", R"({"a": "\ud800"})", R"({"a": "\udc00"})", "{\"a\": \"\xC0\x80\"}",
                                "{\"a\": \"\xED\xA0\x80\"}", "{\"a\": \"\xF4\x90\x80\x80\"}", "{\"a\": \"\x01\"}",
                                R"({"a" 1})", R"({"a": 1 "b": 2})", R"({"a": 1}})", R"({"a": 1} x)"}) {
    INFO(bad);
    l = lookup(bad);
    CHECK(l.kind == Lookup::Kind::Invalid);
    CHECK_THAT(l.error, Catch::StartsWith("not JSON at byte "));
  }
  // Valid oddities: escapes, a surrogate pair, multi-byte UTF-8, nested arrays, white space.
  l = lookup(
      " {\"x\": \"\\\"\\\\\\/\\b\\f\\n\\r\\t\\ud83d\\ude00 \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\", \"y\": [[], {}, "
      "[true, false, null, -1.5e+3]],\r\n\t\"Servers\": {\"h\": {\"Services\": {}}}} ");
  CHECK(l.kind == Lookup::Kind::NoService);
}
