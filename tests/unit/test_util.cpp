// The shared helpers of src/util without a module of their own: util::split, the one splitter of text
// lists (ports' protocols, docker parameters, the labels setting, PATH, the agent emulator's Accept).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "util/split.h"

using Parts = std::vector<std::string>;

TEST_CASE("Every separator makes a part, empty ones included") {
  CHECK(util::split("a:b:c", ':') == Parts{"a", "b", "c"});
  CHECK(util::split("", ':') == Parts{""});
  CHECK(util::split(":", ':') == Parts{"", ""});
  CHECK(util::split("a::b:", ':') == Parts{"a", "", "b", ""});
  CHECK(util::split(" a , b ", ',') == Parts{" a ", " b "});
  CHECK(util::split("no separator", ',') == Parts{"no separator"});
}

TEST_CASE("Trimming strips spaces only, at both ends of each part") {
  const util::SplitOptions trim{.trim_spaces = true};
  CHECK(util::split(" a , b c ,c", ',', trim) == Parts{"a", "b c", "c"});
  CHECK(util::split("a, ,b", ',', trim) == Parts{"a", "", "b"});
  CHECK(util::split("\ta ,b\n", ',', trim) == Parts{"\ta", "b\n"});
}

TEST_CASE("Empty parts can be left out, after trimming") {
  const util::SplitOptions skip{.skip_empty = true};
  CHECK(util::split("", ',', skip).empty());
  CHECK(util::split(",,a,,b,", ',', skip) == Parts{"a", "b"});
  CHECK(util::split("a, ,b", ',', skip) == Parts{"a", " ", "b"});
  const util::SplitOptions both{.trim_spaces = true, .skip_empty = true};
  CHECK(util::split(" tcp , , udp,", ',', both) == Parts{"tcp", "udp"});
  CHECK(util::split("  ", ',', both).empty());
}
