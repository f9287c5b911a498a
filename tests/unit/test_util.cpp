// The shared helpers of src/util without a module of their own: util::split, the one splitter of text
// lists (ports' protocols, docker parameters, the labels setting, PATH, the agent emulator's Accept),
// and the JSON getters of json_get.h that read other programs' answers.
#include <httplib.h>
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "../free_port.h"
#include "util/http_deadline.h"
#include "util/json_get.h"
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

TEST_CASE("JSON getters give the member only when it is there with the asked type") {
  const auto doc = nlohmann::json::parse(R"({"s": "text", "e": "", "b": true, "o": {"k": 1}, "a": [1, 2],
                                             "i": -3, "u": 42, "big": 18446744073709551615, "f": 1.5,
                                             "digits": "12", "n": null})");
  CHECK(util::json_member(doc, "n") != nullptr);
  CHECK(util::json_member(doc, "absent") == nullptr);
  CHECK(util::json_member(nlohmann::json::array({1}), "s") == nullptr);

  const nlohmann::json* object = util::json_object(doc, "o");
  REQUIRE(object != nullptr);
  CHECK(object->at("k") == 1);
  CHECK(util::json_object(doc, "a") == nullptr);
  const nlohmann::json* array = util::json_array(doc, "a");
  REQUIRE(array != nullptr);
  CHECK(array->size() == 2);
  CHECK(util::json_array(doc, "o") == nullptr);

  const std::string* text = util::json_string_ptr(doc, "s");
  REQUIRE(text != nullptr);
  CHECK(*text == "text");
  CHECK(text == &doc.at("s").get_ref<const std::string&>());  // in place, not a copy
  CHECK(util::json_string_ptr(doc, "e") != nullptr);          // an empty string is there
  CHECK(util::json_string_ptr(doc, "b") == nullptr);
  CHECK(util::json_string_ptr(doc, "absent") == nullptr);
  CHECK(util::json_string(doc, "s") == "text");
  CHECK(util::json_string(doc, "i", "def") == "def");
  CHECK(util::json_string(nlohmann::json("text"), "s", "def") == "def");

  CHECK(util::json_bool(doc, "b", false));
  CHECK(util::json_bool(doc, "s", true));
  CHECK_FALSE(util::json_bool(doc, "absent", false));

  CHECK(util::json_int(doc, "i") == -3);
  CHECK(util::json_int(doc, "u") == 42);
  CHECK(util::json_int(doc, "big") == std::nullopt);  // past the range of long long
  CHECK(util::json_int(doc, "f") == std::nullopt);
  CHECK(util::json_int(doc, "digits") == std::nullopt);
  CHECK(util::json_int(doc, "absent") == std::nullopt);
}

TEST_CASE("A failed HTTP request reads as words: a refused connection is \"could not connect\"") {
  httplib::Client client("127.0.0.1", testing_support::free_tcp_port());  // refused
  util::set_http_timeouts(client, std::chrono::milliseconds(1000));
  auto res = client.Get("/");
  REQUIRE_FALSE(res);
  CHECK(util::http_error_text(res.error()) == "could not connect");
  CHECK(util::http_error_text(httplib::Error::Read) == "no complete answer (the connection failed or went silent)");
  CHECK(util::http_error_text(httplib::Error::Unknown) == "HTTP client error Unknown");
}
