// The ledger of unacknowledged updates and tasks.
#include <catch2/catch.hpp>

#include "mesos/ledger.h"

namespace v1 = ::mesos::v1;
using mesos::Ledger;

namespace {
v1::executor::Call::Update make_update(const std::string& task, v1::TaskState state, char uuid_byte) {
  v1::executor::Call::Update u;
  u.mutable_status()->mutable_task_id()->set_value(task);
  u.mutable_status()->set_state(state);
  u.mutable_status()->set_uuid(std::string(16, uuid_byte));
  return u;
}
}  // namespace

TEST_CASE("Updates are sent one at a time, in order") {
  Ledger l;
  l.add_update(make_update("t", v1::TASK_STARTING, 'a'));
  l.add_update(make_update("t", v1::TASK_RUNNING, 'b'));
  auto first = l.take_next();
  REQUIRE(first);
  CHECK(first->state == v1::TASK_STARTING);
  CHECK_FALSE(l.take_next());  // 'a' in flight: 'b' waits
  l.mark_queued(first->uuid);  // the send failed
  auto again = l.take_next();
  REQUIRE(again);
  CHECK(again->uuid == first->uuid);
  l.mark_accepted(again->uuid);
  auto second = l.take_next();
  REQUIRE(second);
  CHECK(second->state == v1::TASK_RUNNING);
}

TEST_CASE("An acknowledged update is not re-sent; an unacknowledged one is") {
  Ledger l;
  l.add_task("t", "raw-task");
  l.add_update(make_update("t", v1::TASK_STARTING, 'a'));
  l.add_update(make_update("t", v1::TASK_FINISHED, 'b'));
  CHECK(l.unacked_updates().size() == 2);
  CHECK(l.unacked_task_raws() == std::vector<std::string>{"raw-task"});

  auto ack = l.acknowledge("t", std::string(16, 'a'));
  CHECK(ack.matched);
  CHECK_FALSE(ack.terminal);
  CHECK(ack.task_released);  // first update of the task acknowledged: the TaskInfo goes
  REQUIRE(l.unacked_updates().size() == 1);
  CHECK(l.unacked_updates()[0].status().state() == v1::TASK_FINISHED);
  CHECK(l.unacked_task_raws().empty());

  auto fin = l.acknowledge("t", std::string(16, 'b'));
  CHECK(fin.matched);
  CHECK(fin.terminal);
  CHECK(l.unacked_updates().empty());
}

TEST_CASE("An ACK for an unknown uuid or another task matches nothing") {
  Ledger l;
  l.add_update(make_update("t", v1::TASK_RUNNING, 'a'));
  CHECK_FALSE(l.acknowledge("t", std::string(16, 'z')).matched);
  CHECK_FALSE(l.acknowledge("other", std::string(16, 'a')).matched);
  CHECK(l.pending_updates() == 1);
}

TEST_CASE("A SUBSCRIBE that carried the updates marks them accepted; none is sent again as UPDATE") {
  Ledger l;
  l.add_update(make_update("t", v1::TASK_RUNNING, 'a'));
  l.add_update(make_update("t", v1::TASK_FAILED, 'b'));
  auto newly = l.mark_accepted_by_subscribe({std::string(16, 'a'), std::string(16, 'b')});
  CHECK(newly.size() == 2);
  CHECK_FALSE(l.has_queued());
  CHECK_FALSE(l.take_next());
  CHECK(l.mark_accepted_by_subscribe({std::string(16, 'a'), std::string(16, 'b')}).empty());
  CHECK(l.unacked_updates().size() == 2);  // still until ACKed
}

TEST_CASE("An update made while the SUBSCRIBE was in flight is not taken as delivered by it") {
  Ledger l;
  l.add_update(make_update("t", v1::TASK_RUNNING, 'a'));
  std::vector<std::string> listed;
  for (const auto& u : l.unacked_updates()) listed.push_back(u.status().uuid());  // the SUBSCRIBE is built
  l.add_update(make_update("t", v1::TASK_FINISHED, 'b'));                         // the task ends meanwhile
  auto newly = l.mark_accepted_by_subscribe(listed);                              // SUBSCRIBED arrives
  REQUIRE(newly.size() == 1);
  CHECK(newly[0].uuid == std::string(16, 'a'));
  REQUIRE(l.has_queued());
  auto next = l.take_next();
  REQUIRE(next);
  CHECK(next->state == v1::TASK_FINISHED);  // it goes out as an UPDATE
}

TEST_CASE("A re-delivered LAUNCH keeps one copy of the task") {
  Ledger l;
  l.add_task("t", "first");
  l.add_task("t", "second");
  CHECK(l.unacked_task_raws() == std::vector<std::string>{"first"});
}

TEST_CASE("Terminal states") {
  for (auto s : {v1::TASK_FINISHED, v1::TASK_FAILED, v1::TASK_KILLED, v1::TASK_ERROR, v1::TASK_LOST, v1::TASK_DROPPED,
                 v1::TASK_GONE, v1::TASK_GONE_BY_OPERATOR})
    CHECK(mesos::is_terminal(s));
  for (auto s : {v1::TASK_STAGING, v1::TASK_STARTING, v1::TASK_RUNNING, v1::TASK_KILLING, v1::TASK_UNREACHABLE,
                 v1::TASK_UNKNOWN})
    CHECK_FALSE(mesos::is_terminal(s));
}
