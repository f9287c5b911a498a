// UTF-8 validation shared by the log relay and status messages, and its use in build_update.
#include <catch2/catch.hpp>

#include <string>

#include "mesos/status.h"
#include "util/utf8.h"

namespace {

std::size_t seq(const std::string& s) {
  return util::utf8_sequence_length(reinterpret_cast<const unsigned char*>(s.data()), s.size());
}

}  // namespace

TEST_CASE("Well-formed sequences are recognised by their length") {
  CHECK(seq("a") == 1);
  CHECK(seq("\xC3\xA9") == 2);          // é
  CHECK(seq("\xE2\x82\xAC") == 3);      // €
  CHECK(seq("\xF0\x9F\x98\x80") == 4);  // 😀
  CHECK(seq("\xF4\x8F\xBF\xBF") == 4);  // U+10FFFF
}

TEST_CASE("Malformed sequences are length 0") {
  CHECK(seq("") == 0);
  CHECK(seq("\x80") == 0);              // stray continuation
  CHECK(seq("\xC0\xAF") == 0);          // overlong '/'
  CHECK(seq("\xC1\xBF") == 0);          // overlong
  CHECK(seq("\xE0\x80\xAF") == 0);      // overlong 3-byte
  CHECK(seq("\xF0\x80\x80\xAF") == 0);  // overlong 4-byte
  CHECK(seq("\xED\xA0\x80") == 0);      // surrogate U+D800
  CHECK(seq("\xF4\x90\x80\x80") == 0);  // past U+10FFFF
  CHECK(seq("\xF5\x80\x80\x80") == 0);
  CHECK(seq("\xE2\x82") == 0);      // cut short
  CHECK(seq("\xE2\x28\xA1") == 0);  // bad continuation
  CHECK(seq("\xFF") == 0);
}

TEST_CASE("valid_utf8 replaces each bad byte and keeps good text as it is") {
  CHECK(util::valid_utf8("plain text") == "plain text");
  CHECK(util::valid_utf8("caf\xC3\xA9") == "caf\xC3\xA9");
  CHECK(util::valid_utf8("a\xFF"
                         "b") ==
        "a\xEF\xBF\xBD"
        "b");
  CHECK(util::valid_utf8("\xE2\x82") == "\xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(util::valid_utf8(std::string("nul\0byte", 8)) == std::string("nul\0byte", 8));
}

TEST_CASE("valid_utf8 cuts on a character boundary and marks the cut") {
  const std::string euros = "\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC";  // 4 × 3 bytes
  CHECK(util::valid_utf8(euros, 12) == euros);
  const std::string cut = util::valid_utf8(euros, 10);
  CHECK(cut == "\xE2\x82\xAC\xE2\x82\xAC\xE2\x80\xA6");  // two euros and "…" (9 bytes)
  CHECK(util::valid_utf8(std::string(100, 'x'), 10) == std::string(7, 'x') + "\xE2\x80\xA6");
  CHECK(util::valid_utf8("abcdef", 2).empty());  // no room even for the mark
  for (std::size_t max = 0; max < 20; ++max) {
    const std::string r = util::valid_utf8(
        "a\xFF\xC3\xA9"
        "bc\xE2\x82\xAC"
        "d",
        max);
    INFO("max " << max);
    CHECK(r.size() <= max);
    CHECK(util::valid_utf8(r) == r);  // always well formed
  }
}

TEST_CASE("Status messages are sent as valid, bounded UTF-8") {
  executor::act::SendUpdate u;
  u.task_id = "t1";
  u.state = ::mesos::v1::TASK_FAILED;
  u.message = "exit 1: \xFF\xFE bad bytes";
  mesos::StatusContext ctx{"exec-1", "agent-1"};
  const auto up = mesos::build_update(u, ctx, std::string(16, 'u'), 1.0);
  CHECK(up.status().message() == "exit 1: \xEF\xBF\xBD\xEF\xBF\xBD bad bytes");

  u.message = std::string(1 << 20, 'm');
  const auto big = mesos::build_update(u, ctx, std::string(16, 'u'), 1.0);
  CHECK(big.status().message().size() <= mesos::kMaxMessageBytes);
  CHECK(big.status().message().size() > mesos::kMaxMessageBytes - 8);
}
