// Image references (split, and checked against Docker's grammar) and container names.
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <utility>
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

// Issue 18, item 12. The Go executor's SERVICE_VERSION is the second field of the image split on ':'
// (Go: container/container.go:388 `strings.Split(image, ":")`; :389 fewer than 2 fields → none;
// :394 `SERVICE_VERSION=` + field 1). For "app@sha256:<hex>" that is the digest's hex, without
// "sha256:". Ours is the tag, else the digest's hex; where Go's split reads a registry port or a
// digest algorithm as the version, we differ on purpose (README, "Differences from the Go executor").
TEST_CASE("SERVICE_VERSION: Go's value for each reference, and ours") {
  const std::string hex64 = "3f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8";
  const std::string hex128 = hex64 + hex64;
  struct Case {
    std::string image;
    std::optional<std::string> go;    // what the Go executor sets (nullopt: no SERVICE_VERSION)
    std::optional<std::string> ours;  // what we set
    const char* why;                  // when they differ: why, on purpose
  };
  const std::vector<Case> cases = {
      // Go: container/container.go:389 (one field: no version)
      {"busybox", std::nullopt, std::nullopt, ""},
      // Go: container/container.go:394
      {"busybox:1.35", "1.35", "1.35", ""},
      // Go: container/container.go:394
      {"team/web:2024.06.1", "2024.06.1", "2024.06.1", ""},
      // Go: container/container.go:394
      {"localhost/web:dev", "dev", "dev", ""},
      // Go: container/container.go:394 (the digest's hex, no algorithm)
      {"web@sha256:" + hex64, hex64, hex64, ""},
      // Go: container/container.go:394
      {"team/web@sha256:" + hex64, hex64, hex64, ""},
      // Go: container/container.go:394
      {"registry.example.com/team/web@sha256:" + hex64, hex64, hex64, ""},
      // Go: container/container.go:394
      {"web@sha512:" + hex128, hex128, hex128, ""},
      // Go: container/container.go:394 (field 1 runs from the tag to the algorithm)
      {"web:1.2@sha256:" + hex64, "1.2@sha256", "1.2", "the tag, without Go's \"@sha256\" tail"},
      // Go: container/container.go:394 (field 1 is the registry port and the path)
      {"127.0.0.1:5000/web:1.2", "5000/web", "1.2", "the tag, not the registry's port"},
      // Go: container/container.go:394
      {"127.0.0.1:5000/web", "5000/web", std::nullopt, "no tag, no version"},
      // Go: container/container.go:394
      {"127.0.0.1:5000/web@sha256:" + hex64, "5000/web@sha256", hex64, "the digest's hex, not the registry's port"},
  };
  // The Go column is a transcription of container.go:388-394, checked here so a typo in the data shows.
  auto go_rule = [](const std::string& image) -> std::optional<std::string> {
    const auto first = image.find(':');
    if (first == std::string::npos) return std::nullopt;
    return image.substr(first + 1, image.find(':', first + 1) - first - 1);
  };
  for (const auto& c : cases) {
    INFO(c.image);
    CHECK(go_rule(c.image) == c.go);
    auto ref = docker::validate_image_ref(c.image);
    REQUIRE(ref);
    CHECK(docker::service_version(*ref) == c.ours);
    // Same as Go unless the row says why not.
    CHECK((c.go == c.ours) == std::string(c.why).empty());
  }
}

// Issue 18, item 7. Which references are pulled at every launch even when Docker has the image.
TEST_CASE("Only references a registry moves are pulled at every launch") {
  const std::string hex64(64, 'c');
  const std::vector<std::pair<std::string, bool>> cases = {
      {"busybox", true},
      {"busybox:latest", true},
      {"127.0.0.1:5000/team/web", true},
      {"127.0.0.1:5000/team/web:latest", true},
      {"busybox:1.35", false},
      {"busybox:Latest", false},  // tags are case-sensitive: not Docker's default tag
      {"busybox:latest-alpine", false},
      {"busybox@sha256:" + hex64, false},
      {"busybox:latest@sha256:" + hex64, false},  // Docker pulls the digest: the tag moves nothing
  };
  for (const auto& [image, refreshed] : cases) {
    INFO(image);
    auto ref = docker::validate_image_ref(image);
    REQUIRE(ref);
    CHECK(docker::refreshed_on_launch(*ref) == refreshed);
  }
}
