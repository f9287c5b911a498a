// Image references and container names.
#include <catch2/catch.hpp>

#include "docker/image_ref.h"

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
      {"registry.example.com/team/app:v3", "registry.example.com", "team/app", "v3", "registry.example.com/team/app", "v3"},
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
