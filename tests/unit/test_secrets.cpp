// The secret registry and the control-character checks every HTTP client and log line relies on.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "util/env.h"
#include "util/http_safe.h"
#include "util/secrets.h"

TEST_CASE("Registered secrets are scrubbed in every spelling; short values are not registered") {
  util::clear_secrets_for_tests();
  util::register_secret("s3cr3t-value");
  util::register_secret("p\"w\\d/x y");
  util::register_secret("abc");  // too short to scrub safely
  CHECK(util::scrub_secrets("env FOO=s3cr3t-value rejected") == "env FOO=[secret] rejected");
  CHECK(util::scrub_secrets("twice s3cr3t-value.s3cr3t-value") == "twice [secret].[secret]");
  CHECK(util::scrub_secrets(R"({"m":"p\"w\\d/x y"})") == R"({"m":"[secret]"})");  // JSON-escaped
  CHECK(util::scrub_secrets("q=p%22w%5Cd%2Fx%20y&") == "q=[secret]&");            // percent-escaped
  CHECK(util::scrub_secrets("abc stays") == "abc stays");
  CHECK(util::contains_secret("x s3cr3t-value"));
  CHECK_FALSE(util::contains_secret("nothing here"));
  // A secret containing another is replaced whole.
  util::register_secret("s3cr3t-value-longer");
  CHECK(util::scrub_secrets("s3cr3t-value-longer") == "[secret]");
  util::clear_secrets_for_tests();
  CHECK(util::scrub_secrets("s3cr3t-value") == "s3cr3t-value");
}

TEST_CASE("Control characters are found and escaped; the check names what and hides header values") {
  CHECK_FALSE(util::has_control_chars("/v1.41/images/busybox:1/json"));
  CHECK(util::has_control_chars("busybox\r\nPOST /x"));
  CHECK(util::has_control_chars(std::string("a\0b", 3)));
  CHECK(util::has_control_chars("tab\there"));
  CHECK(util::has_control_chars("del\x7f"));
  CHECK(util::escape_control_chars("a\r\nb\x1b") == "a\\x0d\\x0ab\\x1b");
  CHECK(util::escape_control_chars("caf\xc3\xa9") == "caf\xc3\xa9");  // UTF-8 untouched
  auto path = util::check_http_text("request path", "/a\r\nb");
  REQUIRE_FALSE(path);
  CHECK(path.error().message == "request path \"/a\\x0d\\x0ab\" holds a control character: request refused");
  auto header = util::check_http_text("header X-Vault-Token", "tok\nen", false);
  REQUIRE_FALSE(header);
  CHECK(header.error().message.find("tok") == std::string::npos);
  CHECK(util::check_http_text("request path", "/fine"));
}

TEST_CASE("wipe_env overwrites the value where the process environment keeps it") {
  ::setenv("WIPE_ME_TEST", "canary-wipe-value", 1);
  // setenv's copy lives in the heap; the bytes are what wipe_env must clear.
  const char* before = std::getenv("WIPE_ME_TEST");
  REQUIRE(before != nullptr);
  const char* value = before;
  util::wipe_env("WIPE_ME_TEST");
  CHECK(std::getenv("WIPE_ME_TEST") == nullptr);
  CHECK(std::strlen(value) == 0);  // the bytes were cleared before the entry was dropped
}
