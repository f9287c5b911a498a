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

TEST_CASE("Every network the container joined: one network_infos entry each, user networks by name, IPv6 marked") {
  executor::act::SendUpdate u;
  u.task_id = "t1";
  u.state = v1::TASK_RUNNING;
  u.ip_address = "10.10.0.2";
  u.networks = {{"net-a", {"10.10.0.2", "fd00::2"}}, {"net-b", {"10.20.0.2"}}, {"empty-one", {}}};
  const auto s = status_of(u);
  REQUIRE(s.container_status().network_infos_size() == 2);  // the network without an address is left out
  const auto& a = s.container_status().network_infos(0);
  CHECK(a.name() == "net-a");
  REQUIRE(a.ip_addresses_size() == 2);
  CHECK(a.ip_addresses(0).ip_address() == "10.10.0.2");
  CHECK_FALSE(a.ip_addresses(0).has_protocol());  // IPv4, the default
  CHECK(a.ip_addresses(1).ip_address() == "fd00::2");
  CHECK(a.ip_addresses(1).protocol() == v1::NetworkInfo::IPv6);
  const auto& b = s.container_status().network_infos(1);
  CHECK(b.name() == "net-b");
  REQUIRE(b.ip_addresses_size() == 1);
  CHECK(b.ip_addresses(0).ip_address() == "10.20.0.2");
}

TEST_CASE("Docker's default bridge stays unnamed, as the Mesos Docker executor reports it") {
  executor::act::SendUpdate u;
  u.task_id = "t1";
  u.state = v1::TASK_RUNNING;
  u.ip_address = "172.17.0.2";
  u.networks = {{"bridge", {"172.17.0.2"}}};
  const auto s = status_of(u);
  REQUIRE(s.container_status().network_infos_size() == 1);
  CHECK_FALSE(s.container_status().network_infos(0).has_name());
  CHECK(s.container_status().network_infos(0).ip_addresses(0).ip_address() == "172.17.0.2");
}
