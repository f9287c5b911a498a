// The local agent's YAML task file → TaskInfo, and its errors.
#include <catch2/catch.hpp>

#include "task_file.h"

namespace v1 = ::mesos::v1;

TEST_CASE("A full task file becomes the TaskInfo Singularity would send") {
  auto t = local_agent::parse_task_file(R"(
id: web-1
name: web
image: 127.0.0.1:5000/team/web:2
command: "sh -c 'echo hi'"
force_pull: true
network: host
cpus: 0.5
mem: 128
env: {TASK_HOST: box-1, A: "1"}
labels: {ServiceName: web}
ports: [{host: 31000, container: 8080, protocol: "tcp,udp"}]
volumes: [{host: /srv, container: /data, mode: ro}]
parameters: [{key: cap-drop, value: NET_RAW}]
)",
                                        "web.yaml", "x");
  REQUIRE(t);
  CHECK(t->task_id().value() == "web-1");
  CHECK(t->name() == "web");
  const auto& d = t->container().docker();
  CHECK(d.image() == "127.0.0.1:5000/team/web:2");
  CHECK(d.force_pull_image());
  CHECK(d.network() == v1::ContainerInfo::DockerInfo::HOST);
  REQUIRE(d.parameters_size() == 3);
  CHECK(d.parameters(0).key() == "label");
  CHECK(d.parameters(0).value() == "executor.ShellCommand=sh -c 'echo hi'");
  CHECK(d.parameters(1).value() == "ServiceName=web");
  CHECK(d.parameters(2).key() == "cap-drop");
  REQUIRE(d.port_mappings_size() == 1);
  CHECK(d.port_mappings(0).host_port() == 31000);
  CHECK(d.port_mappings(0).container_port() == 8080);
  CHECK(d.port_mappings(0).protocol() == "tcp,udp");
  REQUIRE(t->container().volumes_size() == 1);
  CHECK(t->container().volumes(0).mode() == v1::Volume::RO);
  REQUIRE(t->resources_size() == 2);
  CHECK(t->resources(0).name() == "cpus");
  CHECK(t->resources(0).scalar().value() == 0.5);
  CHECK(t->executor().command().environment().variables_size() == 2);
}

TEST_CASE("The id defaults to <name>-<suffix>") {
  auto t = local_agent::parse_task_file("image: bb:1\n", "t.yaml", "abc123");
  REQUIRE(t);
  CHECK(t->task_id().value() == "demo-abc123");
}

TEST_CASE("Bad task files are errors naming the file, line and key") {
  struct Case {
    const char* text;
    const char* want;
  };
  const Case cases[] = {
      {"image: x\nportz: []\n", "t.yaml:2: unknown key \"portz\""},
      {"image: x\ncpus: lots\n", "t.yaml:2: cpus must be a number"},
      {"image: x\nmem: -1\n", "t.yaml:2: mem must be a number"},
      {"command: true\n", "image is required"},
      {"image: x\nnetwork: overlay\n", "t.yaml:2: network must be bridge, host or none"},
      {"image: x\nports: [{container: 70000}]\n", "container must be a number from 1 to 65535"},
      {"image: x\nports: [{host: 1}]\n", "needs its container port"},
      {"image: x\nvolumes: [{host: /a, container: /b, mode: rx}]\n", "mode must be ro or rw"},
      {"image: x\nvolumes: [{host: /a}]\n", "needs host and container"},
      {"image: x\nparameters: [{kee: a}]\n", "unknown key \"kee\" in a parameter"},
      {"image: [x\n", "t.yaml:"},
      {"- just\n- a list\n", "the task must be a mapping"},
      {"image: {a: b}\n", "image must be a single value"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto t = local_agent::parse_task_file(c.text, "t.yaml", "x");
    REQUIRE_FALSE(t);
    CHECK_THAT(t.error().message, Catch::Contains(c.want));
  }
}
