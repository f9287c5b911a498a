// Image references (split, and checked against Docker's grammar) and container names.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "docker/image_ref.h"
#include "util/http_safe.h"

using docker::parse_image_ref;

TEST_CASE("Image references split into registry, repository, tag and digest") {
  struct Case {
    const char* ref;
    const char* registry;
    const char* repository;
    const char* tag;
    const char* name;
    const char* pull_tag;
  };
  const Case cases[] = {
      {"busybox", "docker.io", "busybox", "", "busybox", "latest"},
      {"busybox:1.35", "docker.io", "busybox", "1.35", "busybox", "1.35"},
      {"team/app:2", "docker.io", "team/app", "2", "team/app", "2"},
      // The Go executor splits on the first ':' and gets these wrong.
      {"127.0.0.1:5000/web:1.2", "127.0.0.1:5000", "web", "1.2", "127.0.0.1:5000/web", "1.2"},
      {"127.0.0.1:5000/web", "127.0.0.1:5000", "web", "", "127.0.0.1:5000/web", "latest"},
      {"registry.example.com/team/app:v3", "registry.example.com", "team/app", "v3", "registry.example.com/team/app",
       "v3"},
      {"localhost/app:dev", "localhost", "app", "dev", "localhost/app", "dev"},
  };
  for (const auto& c : cases) {
    INFO(c.ref);
    auto r = parse_image_ref(c.ref);
    CHECK(r.registry == c.registry);
    CHECK(r.repository == c.repository);
    CHECK(r.tag == c.tag);
    CHECK(r.name() == c.name);
    CHECK(r.pull_tag() == c.pull_tag);
  }
}

TEST_CASE("Digest references pull by digest") {
  auto r = parse_image_ref("127.0.0.1:5000/web@sha256:abcd");
  CHECK(r.registry == "127.0.0.1:5000");
  CHECK(r.repository == "web");
  CHECK(r.tag.empty());
  CHECK(r.digest == "sha256:abcd");
  CHECK(r.pull_tag() == "sha256:abcd");
}

TEST_CASE("Container name is mesos- plus the UUIDv5 of the task id in the nil namespace") {
  // Reference computed with Python: uuid.uuid5(uuid.UUID(int=0), "task-1").
  CHECK(docker::container_name("task-1") == "mesos-491f4d69-d3cd-5c35-8b89-71bfec60409e");
  CHECK(docker::container_name("task-1") != docker::container_name("task-2"));
}

TEST_CASE("Docker's reference grammar: valid references pass and split as parse_image_ref does") {
  const std::string hex64(64, 'a');
  const std::string tag128 = "T" + std::string(127, 'x');
  // "a/" * 127 + "b": 255 characters, Docker's longest name.
  std::string name255;
  for (int i = 0; i < 127; ++i) name255 += "a/";
  name255 += "b";
  REQUIRE(name255.size() == 255);
  const std::vector<std::string> good = {
      "busybox",
      "busybox:1.35",
      "library/busybox:latest",
      "team/app:2",
      "127.0.0.1:5000/web:1.2",
      "registry.example.com/team/app:v3",
      "Registry.Example.COM:443/team/app",  // upper case is fine in the registry host
      "localhost/app:dev",
      "localhost:5000/a/b/c",
      "[::1]:5000/app:1",
      "[fe80::1]/app",
      "a__b/c.d/e_f/g---h/i0",
      "busybox@sha256:" + hex64,
      "reg.example.com:5000/app:1.0@sha256:" + hex64,
      "app@sha512:" + std::string(128, '0'),
      "app:" + tag128,
      "app:_private.1-2",
      name255,
  };
  for (const auto& ref : good) {
    INFO(ref);
    auto v = docker::validate_image_ref(ref);
    REQUIRE(v);
    const auto p = parse_image_ref(ref);
    CHECK(v->registry == p.registry);
    CHECK(v->repository == p.repository);
    CHECK(v->tag == p.tag);
    CHECK(v->digest == p.digest);
  }
  auto v = docker::validate_image_ref("127.0.0.1:5000/team/app:1@sha256:" + hex64);
  REQUIRE(v);
  CHECK(v->registry == "127.0.0.1:5000");
  CHECK(v->repository == "team/app");
  CHECK(v->tag == "1");
  CHECK(v->digest == "sha256:" + hex64);
}

TEST_CASE("Invalid references are refused, naming the image and the part that is wrong") {
  std::string name256;
  for (int i = 0; i < 127; ++i) name256 += "a/";
  name256 += "bc";
  REQUIRE(name256.size() == 256);
  struct Case {
    std::string ref;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"", "it is empty"},
      {"busybox\r\n\r\nPOST /containers/create HTTP/1.1", "control character (0x0d)"},
      {std::string("busy\0box", 8), "control character (0x00)"},
      {"busy box", "it holds ' '"},
      {"busybox%2f..", "it holds '%'"},
      {"busybox?all=1", "it holds '?'"},
      {"busybox#x", "it holds '#'"},
      {"busyb\xc3\xb6x", "non-ASCII byte 0xc3"},
      {"../../containers/json", "registry host \"..\" has an empty label"},
      {"team/../../containers/json", "path component \"..\""},
      {"a/./b", "path component \".\""},
      {"Busybox", "upper case"},
      {"team/App:1", "upper case"},
      {"a..b", "path component \"a..b\""},
      {"a___b", "path component \"a___b\""},
      {"-a", "path component \"-a\""},
      {"a-", "path component \"a-\""},
      {"a._b", "path component \"a._b\""},
      {"a//b", "empty component"},
      {"a/", "empty component"},
      {"busybox:", "tag after ':' is empty"},
      {"busybox:.x", "the tag \".x\""},
      {"busybox:" + std::string(129, 'x'), "129 characters long"},
      {"reg:5000x/a", "port \"5000x\""},
      {"reg:0/a", "port 0 is out of range"},
      {"reg:70000/a", "port 70000 is out of range"},
      {"-reg.com/a", "label \"-reg\""},
      {"reg..com/a", "registry host \"reg..com\" has an empty label"},
      {"re_g.com/a", "label \"re_g\""},
      {"[zz::1]/a", "IPv6 address \"zz::1\""},
      {"[::1/a", "no closing ']'"},
      {"[::1]x/a", "only ':port'"},
      {"a@sha256:abc", "64 lower-case hex digits"},
      {"a@sha256:" + std::string(64, 'A'), "64 lower-case hex digits"},
      {"a@md5:" + std::string(32, 'a'), "\"md5\" is not supported"},
      {"a@sha256", "must be algorithm:hex"},
      {"a@1sha:" + std::string(64, 'a'), "algorithm \"1sha\" is malformed"},
      {"a@sha256:" + std::string(64, 'a') + "@x", "64 lower-case hex digits"},
      {std::string(64, 'f'), "64-hex image id"},
      {name256, "256 characters long, more than Docker's 255"},
      {":tag", "repository name is empty"},
  };
  for (const auto& c : cases) {
    INFO(util::escape_control_chars(c.ref));
    auto v = docker::validate_image_ref(c.ref);
    REQUIRE_FALSE(v);
    CHECK_THAT(v.error().message, Catch::StartsWith("invalid image reference \""));
    CHECK_THAT(v.error().message, Catch::Contains(c.says));
    CHECK_FALSE(util::has_control_chars(v.error().message));
  }
  // The image is named with its control characters escaped, so the message cannot forge a line.
  auto crlf = docker::validate_image_ref("busybox\r\nPOST /x");
  REQUIRE_FALSE(crlf);
  CHECK_THAT(crlf.error().message, Catch::Contains("\"busybox\\x0d\\x0aPOST /x\""));
  // A huge reference is cut in the message.
  auto huge = docker::validate_image_ref(std::string(100000, 'a') + "\n");
  REQUIRE_FALSE(huge);
  CHECK(huge.error().message.size() < 400);
  CHECK_THAT(huge.error().message, Catch::Contains("...\""));
}
