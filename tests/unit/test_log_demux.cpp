// The multiplexed log stream: stdout and stderr kept apart byte for byte at any chunking.
#include <catch2/catch.hpp>

#include "../log_frame.h"
#include "docker/log_demux.h"

using docker::LogDemuxer;
using docker::LogStream;

namespace {
std::string frame(LogStream s, const std::string& payload) { return testing_support::log_frame(s, payload); }
struct Collected {
  std::string out, err;
  LogDemuxer demuxer{[this](LogStream s, std::string_view d) { (s == LogStream::Stderr ? err : out).append(d); }};
};
}  // namespace

TEST_CASE("The fact sheet's example frame") {
  Collected c;
  REQUIRE(c.demuxer.feed(std::string("\x01\x00\x00\x00\x00\x00\x00\x09out-line\n", 17)).ok());
  CHECK(c.out == "out-line\n");
  CHECK(c.err.empty());
  CHECK_FALSE(c.demuxer.mid_frame());
}

TEST_CASE("Streams stay apart at every split point, with binary data and a line over 64 KiB") {
  std::string binary;
  for (int i = 0; i < 256; ++i) binary.push_back(static_cast<char>(i));
  const std::string long_line = std::string(70000, 'L') + "\n";
  const std::string stream = frame(LogStream::Stdout, "par") + frame(LogStream::Stderr, "ERROR: x\n") +
                             frame(LogStream::Stdout, "tial\n") + frame(LogStream::Stderr, binary) +
                             frame(LogStream::Stdout, "") + frame(LogStream::Stdout, long_line);
  const std::string want_out = "partial\n" + long_line;
  const std::string want_err = "ERROR: x\n" + binary;
  for (std::size_t cut = 0; cut <= 400; ++cut) {
    Collected c;
    REQUIRE(c.demuxer.feed(std::string_view(stream).substr(0, cut)).ok());
    REQUIRE(c.demuxer.feed(std::string_view(stream).substr(cut)).ok());
    REQUIRE(c.out == want_out);
    REQUIRE(c.err == want_err);
  }
  Collected bytewise;
  for (char ch : stream) REQUIRE(bytewise.demuxer.feed(std::string_view(&ch, 1)).ok());
  CHECK(bytewise.out == want_out);
  CHECK(bytewise.err == want_err);
}

TEST_CASE("A stream that is not multiplexed is an error, not garbage") {
  Collected c;
  auto r = c.demuxer.feed("hello world, raw TTY output\n");
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Contains("invalid frame header"));
  CHECK_FALSE(c.demuxer.feed(frame(LogStream::Stdout, "x")).ok());
}

TEST_CASE("A stream cut inside a frame is visible") {
  Collected c;
  REQUIRE(c.demuxer.feed(frame(LogStream::Stdout, "abcdef").substr(0, 11)).ok());
  CHECK(c.out == "abc");
  CHECK(c.demuxer.mid_frame());
}
