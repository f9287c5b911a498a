// What a TaskStatus carries besides its state: the network and container reporting of build_update.
#include <catch2/catch.hpp>

#include "mesos/status.h"

namespace v1 = ::mesos::v1;

namespace {
v1::TaskStatus status_of(const executor::act::SendUpdate& u) {
  return mesos::build_update(u, mesos::StatusContext{"exec-1", "agent-1"}, std::string(16, 'u'), 1.0).status();
}
std::string label(const v1::TaskStatus& s, const std::string& key) {
  for (const auto& l : s.labels().labels()) {
    if (l.key() == key) return l.value();
  }
  return "";
}
}  // namespace

TEST_CASE("A container with an address: one network_infos entry with it, the Docker id as a status label") {
  executor::act::SendUpdate u;
  u.task_id = "t1";
  u.state = v1::TASK_RUNNING;
  u.container_id = "c0ffee";
  u.ip_address = "172.17.0.2";
  const auto s = status_of(u);
  REQUIRE(s.container_status().network_infos_size() == 1);
  REQUIRE(s.container_status().network_infos(0).ip_addresses_size() == 1);
  CHECK(s.container_status().network_infos(0).ip_addresses(0).ip_address() == "172.17.0.2");
  CHECK(label(s, "DockerContainerId") == "c0ffee");
  CHECK_FALSE(s.container_status().has_container_id());  // the agent's business
  CHECK(s.source() == v1::TaskStatus::SOURCE_EXECUTOR);
  CHECK(s.executor_id().value() == "exec-1");
}

TEST_CASE("Host networking (no address): no network_infos, so the agent adds its own IP; the id is still there") {
  executor::act::SendUpdate u;
  u.task_id = "t1";
  u.state = v1::TASK_RUNNING;
  u.container_id = "c0ffee";
  const auto s = status_of(u);
  CHECK(s.container_status().network_infos_size() == 0);
  CHECK_FALSE(s.has_container_status());
  CHECK(label(s, "DockerContainerId") == "c0ffee");
}

TEST_CASE("An update of a task with no container yet carries neither") {
  executor::act::SendUpdate u;
  u.task_id = "t1";
  u.state = v1::TASK_STARTING;
  const auto s = status_of(u);
  CHECK_FALSE(s.has_container_status());
  CHECK(s.labels().labels_size() == 0);
}
