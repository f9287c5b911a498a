// Docker config.json credential lookup and the X-Registry-Auth header.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "docker/registry_auth.h"
#include "util/base64.h"

using docker::find_registry_auth;

TEST_CASE("Base64 round trips in both alphabets") {
  CHECK(util::base64_encode("user:pass") == "dXNlcjpwYXNz");
  CHECK(util::base64_encode("\xfb\xff", true) == "-_8=");
  CHECK(util::base64_decode("dXNlcjpwYXNz") == std::optional<std::string>("user:pass"));
  CHECK(util::base64_decode("-_8=") == std::optional<std::string>("\xfb\xff"));
  CHECK_FALSE(util::base64_decode("not base64!").has_value());
}

TEST_CASE("auths: EXECUTOR_DOCKER_REPOSITORY's key wins, as in the Go executor") {
  const std::string config = R"({"auths":{
    "https://index.docker.io/v1/":{"auth":"aHViOmh1YnBhc3M="},
    "127.0.0.1:5000":{"auth":"bG9jYWw6bG9jYWxwYXNz"}}})";
  auto hub = find_registry_auth(config, "https://index.docker.io/v1/", "docker.io");
  REQUIRE(hub.ok());
  REQUIRE(hub->credentials);
  CHECK(hub->credentials->username == "hub");
  CHECK(hub->credentials->password == "hubpass");

  // Setting names the local registry in another spelling: matched after normalising.
  auto local = find_registry_auth(config, "http://127.0.0.1:5000/v2/", "docker.io");
  REQUIRE(local->credentials);
  CHECK(local->credentials->username == "local");
}

TEST_CASE("auths: the image's own registry is matched when the setting names none in the file") {
  const std::string config = R"({"auths":{"127.0.0.1:5000":{"auth":"bG9jYWw6bG9jYWxwYXNz"}}})";
  auto r = find_registry_auth(config, "https://index.docker.io/v1/", "127.0.0.1:5000");
  REQUIRE(r.ok());
  REQUIRE(r->credentials);
  CHECK(r->credentials->password == "localpass");
  CHECK(r->credentials->source == "auths[\"127.0.0.1:5000\"]");
  auto none = find_registry_auth(config, "https://index.docker.io/v1/", "other.example.com");
  REQUIRE(none.ok());
  CHECK_FALSE(none->credentials);
  CHECK(none->helper.empty());
}

TEST_CASE("credHelpers and credsStore name a helper instead") {
  auto h = find_registry_auth(R"({"credHelpers":{"registry.example.com":"ecr-login"},"credsStore":"pass"})",
                              "https://index.docker.io/v1/", "registry.example.com");
  REQUIRE(h.ok());
  CHECK(h->helper == "ecr-login");
  CHECK(h->helper_server == "registry.example.com");
  auto s = find_registry_auth(R"({"credsStore":"pass"})", "https://index.docker.io/v1/", "127.0.0.1:5000");
  CHECK(s->helper == "pass");
  CHECK(s->helper_server == "127.0.0.1:5000");
}

TEST_CASE("Bad config entries are errors, not crashes") {
  CHECK_FALSE(find_registry_auth("not json", "x", "y").ok());
  CHECK_FALSE(find_registry_auth(R"({"auths":{"r":{"auth":"***"}}})", "r", "r").ok());
  CHECK_FALSE(find_registry_auth(R"({"auths":{"r":{"auth":"bm9jb2xvbg=="}}})", "r", "r").ok());  // "nocolon"
}

TEST_CASE("X-Registry-Auth is base64url JSON of the credentials") {
  docker::RegistryCredentials c;
  c.username = "u";
  c.password = "p?>";
  c.server_address = "127.0.0.1:5000";
  const std::string header = docker::registry_auth_header(c);
  CHECK(header.find('+') == std::string::npos);
  CHECK(header.find('/') == std::string::npos);
  auto json = nlohmann::json::parse(*util::base64_decode(header));
  CHECK(json["username"] == "u");
  CHECK(json["password"] == "p?>");
  CHECK(json["serveraddress"] == "127.0.0.1:5000");
  c.identity_token = "idtok";
  auto json2 = nlohmann::json::parse(*util::base64_decode(docker::registry_auth_header(c)));
  CHECK(json2["identitytoken"] == "idtok");
  CHECK_FALSE(json2.contains("password"));
}
