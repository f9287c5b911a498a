// RecordIO framing: encoding, incremental decoding at any chunk boundary, and bad prefixes.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "mesos/recordio.h"

using mesos::recordio::Decoder;
using mesos::recordio::encode;

TEST_CASE("RecordIO encodes length, newline, bytes") {
  CHECK(encode(R"({"type":"HEARTBEAT"})") == "20\n{\"type\":\"HEARTBEAT\"}");
  CHECK(encode("") == "0\n");
}

TEST_CASE("RecordIO decodes the fact sheet's two-record example") {
  Decoder d(1024);
  std::vector<std::string> out;
  REQUIRE(d.feed("20\n{\"type\":\"HEARTBEAT\"}19\n{\"type\":\"SHUTDOWN\"}", out).ok());
  REQUIRE(out.size() == 2);
  CHECK(out[0] == R"({"type":"HEARTBEAT"})");
  CHECK(out[1] == R"({"type":"SHUTDOWN"})");
  CHECK_FALSE(d.mid_record());
}

TEST_CASE("RecordIO stream split at every byte boundary decodes to the same records") {
  std::vector<std::string> records = {"a", "", std::string(300, 'x'), std::string("bin\0\n\xff", 6), "12\n"};
  std::string stream;
  for (const auto& r : records) stream += encode(r);

  SECTION("two chunks, every split point") {
    for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
      Decoder d(4096);
      std::vector<std::string> out;
      REQUIRE(d.feed(std::string_view(stream).substr(0, cut), out).ok());
      REQUIRE(d.feed(std::string_view(stream).substr(cut), out).ok());
      INFO("cut at " << cut);
      REQUIRE(out == records);
    }
  }
  SECTION("three chunks, every pair of split points") {
    for (std::size_t a = 0; a <= stream.size(); a += 3) {
      for (std::size_t b = a; b <= stream.size(); b += 7) {
        Decoder d(4096);
        std::vector<std::string> out;
        const std::string_view s(stream);
        REQUIRE(d.feed(s.substr(0, a), out).ok());
        REQUIRE(d.feed(s.substr(a, b - a), out).ok());
        REQUIRE(d.feed(s.substr(b), out).ok());
        REQUIRE(out == records);
      }
    }
  }
  SECTION("one byte at a time") {
    Decoder d(4096);
    std::vector<std::string> out;
    for (char c : stream) REQUIRE(d.feed(std::string_view(&c, 1), out).ok());
    CHECK(out == records);
  }
}

TEST_CASE("RecordIO reports a stream that ends inside a record") {
  Decoder d(1024);
  std::vector<std::string> out;
  REQUIRE(d.feed("5\nab", out).ok());
  CHECK(out.empty());
  CHECK(d.mid_record());
  Decoder d2(1024);
  REQUIRE(d2.feed("12", out).ok());
  CHECK(d2.mid_record());
}

TEST_CASE("RecordIO rejects malformed and oversize prefixes, and stays failed") {
  struct Case {
    std::string input;
    std::string error_part;
  };
  const std::vector<Case> cases = {
      {"x\n", "invalid byte 0x78"},
      {"-1\nx", "invalid byte 0x2d"},
      {" 5\nhello", "invalid byte 0x20"},
      {"\nabc", "empty record length"},
      {"1025\n", "exceeds the maximum of 1024"},
      {"99999999999999999999\n", "overflows"},
      {"123456789012345678901\n", "too many digits"},
      {"3\nabc4x\n", "invalid byte 0x78"},
  };
  for (const auto& c : cases) {
    Decoder d(1024);
    std::vector<std::string> out;
    auto r = d.feed(c.input, out);
    INFO(c.input);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains(c.error_part));
    CHECK(d.failed());
    auto again = d.feed("3\nabc", out);
    CHECK_FALSE(again.ok());
  }
}

TEST_CASE("RecordIO accepts a record exactly at the maximum size") {
  Decoder d(16);
  std::vector<std::string> out;
  REQUIRE(d.feed(encode(std::string(16, 'z')), out).ok());
  REQUIRE(out.size() == 1);
  CHECK(out[0].size() == 16);
}
