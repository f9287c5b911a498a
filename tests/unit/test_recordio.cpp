// RecordIO framing: encoding, incremental decoding at any chunk boundary, and bad prefixes.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <fstream>
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

// ---- records over the maximum: reported by their first bytes, skipped, the stream stays in sync ----

using mesos::recordio::Oversized;

namespace {
struct Decoded {
  std::vector<std::string> records;
  std::vector<Oversized> oversized;
};

Decoded feed_in_chunks(Decoder& d, std::string_view stream, std::size_t chunk) {
  Decoded out;
  for (std::size_t off = 0; off < stream.size(); off += chunk) {
    auto r = d.feed(stream.substr(off, chunk), out.records, out.oversized);
    REQUIRE(r.ok());
  }
  return out;
}

// The process's peak resident memory (VmHWM), in KiB; 0 when unknown.
std::size_t peak_rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return static_cast<std::size_t>(std::stoul(line.substr(6)));
  }
  return 0;
}

std::string big_record(std::size_t n) {
  std::string r(n, 'x');
  for (std::size_t i = 0; i < n; ++i) r[i] = static_cast<char>('a' + i % 26);
  return r;
}
}  // namespace

TEST_CASE("RecordIO: an oversized record in one chunk is reported and skipped, the next one decodes") {
  Decoder d(16, 4);
  const std::string stream = encode("before") + encode(big_record(100)) + encode("after");
  Decoded out;
  REQUIRE(d.feed(stream, out.records, out.oversized).ok());
  CHECK(out.records == std::vector<std::string>{"before", "after"});
  REQUIRE(out.oversized.size() == 1);
  CHECK(out.oversized[0].size == 100);
  CHECK(out.oversized[0].prefix == "abcd");
  CHECK(out.oversized[0].position == 1);  // between "before" and "after"
  CHECK_FALSE(d.failed());
  CHECK_FALSE(d.mid_record());
}

TEST_CASE("RecordIO: an oversized record split at any byte gives the same result") {
  const std::string stream =
      encode("one") + encode(big_record(300)) + encode("") + encode(big_record(17)) + encode(std::string(16, 'z'));
  const std::vector<std::string> want_records = {"one", "", std::string(16, 'z')};
  const auto check = [&](const Decoded& out) {
    REQUIRE(out.records == want_records);
    REQUIRE(out.oversized.size() == 2);
    CHECK(out.oversized[0].size == 300);
    CHECK(out.oversized[0].prefix == "abcdefgh");
    CHECK(out.oversized[0].position == 1);
    CHECK(out.oversized[1].size == 17);
    CHECK(out.oversized[1].prefix == "abcdefgh");
    CHECK(out.oversized[1].position == 2);
  };
  SECTION("one byte at a time") {
    Decoder d(16, 8);
    check(feed_in_chunks(d, stream, 1));
  }
  SECTION("two chunks, every split point") {
    for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
      INFO("cut at " << cut);
      Decoder d(16, 8);
      Decoded out;
      REQUIRE(d.feed(std::string_view(stream).substr(0, cut), out.records, out.oversized).ok());
      REQUIRE(d.feed(std::string_view(stream).substr(cut), out.records, out.oversized).ok());
      check(out);
    }
  }
  SECTION("chunks of every size") {
    for (std::size_t chunk = 1; chunk <= stream.size(); ++chunk) {
      INFO("chunk " << chunk);
      Decoder d(16, 8);
      check(feed_in_chunks(d, stream, chunk));
    }
  }
}

TEST_CASE("RecordIO: an oversized record is reported as soon as its prefix is in") {
  Decoder d(16, 4);
  Decoded out;
  // The rest of the record never comes (the stream breaks): the caller still learns of it.
  REQUIRE(d.feed("1000\nabcdefg", out.records, out.oversized).ok());
  REQUIRE(out.oversized.size() == 1);
  CHECK(out.oversized[0].size == 1000);
  CHECK(out.oversized[0].prefix == "abcd");
  CHECK(d.mid_record());
  // Before the prefix is complete, nothing is reported, and the stream is mid-record.
  Decoder d2(16, 4);
  Decoded out2;
  REQUIRE(d2.feed("1000\nab", out2.records, out2.oversized).ok());
  CHECK(out2.oversized.empty());
  CHECK(d2.mid_record());
}

TEST_CASE("RecordIO: the skipped part of a record is never buffered") {
  // 512 MiB announced and streamed through a 1 MiB buffer: the process's peak memory must not grow by
  // anything near that. The next record then decodes.
  constexpr std::uint64_t kSize = std::uint64_t{512} << 20;
  const std::size_t peak_before = peak_rss_kib();
  REQUIRE(peak_before > 0);
  Decoder d(1024);
  Decoded out;
  REQUIRE(d.feed(std::to_string(kSize) + "\n", out.records, out.oversized).ok());
  const std::string block(std::size_t{1} << 20, 'q');
  std::uint64_t left = kSize;
  while (left > 0) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, block.size()));
    REQUIRE(d.feed(std::string_view(block).substr(0, n), out.records, out.oversized).ok());
    left -= n;
  }
  CHECK_FALSE(d.mid_record());
  REQUIRE(d.feed(encode("after"), out.records, out.oversized).ok());
  CHECK(out.records == std::vector<std::string>{"after"});
  REQUIRE(out.oversized.size() == 1);
  CHECK(out.oversized[0].size == kSize);
  CHECK(out.oversized[0].prefix == std::string(Decoder::kDefaultPrefixSize, 'q'));
  CHECK(out.oversized[0].position == 0);
  CHECK(peak_rss_kib() - peak_before < 32 * 1024);
}

TEST_CASE("RecordIO: a prefix size over the record's keeps the whole record") {
  Decoder d(16, 1024);
  Decoded out;
  REQUIRE(d.feed(encode(big_record(40)) + encode("next"), out.records, out.oversized).ok());
  REQUIRE(out.oversized.size() == 1);
  CHECK(out.oversized[0].prefix == big_record(40));
  CHECK(out.records == std::vector<std::string>{"next"});
}

TEST_CASE("RecordIO: with oversized records reported, corruption is still a final error") {
  struct Case {
    std::string input;
    std::string error_part;
  };
  const std::vector<Case> cases = {
      {"x\n", "invalid byte 0x78"},
      {"\nabc", "empty record length"},
      {"99999999999999999999\n", "overflows"},
      {"123456789012345678901\n", "too many digits"},
      {"4294967297\n", "beyond any event"},                                      // 4 GiB + 1: no agent writes that
      {"20\n" + std::string(20, 'y') + "3\nab\x01" + "x", "invalid byte 0x78"},  // after a skipped record
  };
  for (const auto& c : cases) {
    Decoder d(16);
    Decoded out;
    auto r = d.feed(c.input, out.records, out.oversized);
    INFO(c.input);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains(c.error_part));
    CHECK(d.failed());
    CHECK_FALSE(d.feed("3\nabc", out.records, out.oversized).ok());
  }
  // Exactly 4 GiB is still a record to skip.
  Decoder d(16);
  Decoded out;
  REQUIRE(d.feed("4294967296\nab", out.records, out.oversized).ok());
  CHECK(d.mid_record());
}

TEST_CASE("RecordIO: a record at the maximum is a normal record, one byte more is oversized") {
  Decoder d(16, 4);
  Decoded out;
  REQUIRE(d.feed(encode(std::string(16, 'z')) + encode(std::string(17, 'w')), out.records, out.oversized).ok());
  CHECK(out.records == std::vector<std::string>{std::string(16, 'z')});
  REQUIRE(out.oversized.size() == 1);
  CHECK(out.oversized[0].size == 17);
}
