// What the agent has not acknowledged yet: status updates (until ACKNOWLEDGED names their uuid) and
// launched TaskInfos (until the first update of that task is acknowledged). Both go into every
// SUBSCRIBE; queued updates are also sent one by one, in order, as UPDATE calls. Not thread-safe:
// the agent client guards it.
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "mesos/v1/executor/executor.pb.h"

namespace mesos {

bool is_terminal(::mesos::v1::TaskState s);

struct PendingUpdate {
  enum class Delivery : unsigned char { Queued, Sending, Accepted };
  std::string uuid;  // 16 raw bytes
  std::string task_id;
  ::mesos::v1::TaskState state = ::mesos::v1::TASK_STARTING;
  ::mesos::v1::executor::Call::Update update;
  Delivery delivery = Delivery::Queued;
};

struct AckOutcome {
  bool matched = false;  // the uuid named a pending update
  bool terminal = false;
  ::mesos::v1::TaskState state = ::mesos::v1::TASK_STARTING;
  bool task_released = false;  // the task's TaskInfo left unacknowledged_tasks
};

class Ledger {
 public:
  void add_task(const std::string& task_id, std::string raw);
  void add_update(const ::mesos::v1::executor::Call::Update& update);

  // The oldest Queued update, now marked Sending; nullopt when none is queued.
  std::optional<PendingUpdate> take_next();
  void mark_accepted(const std::string& uuid);
  void mark_queued(const std::string& uuid);
  void drop(const std::string& uuid);

  std::vector<::mesos::v1::executor::Call::Update> unacked_updates() const;
  std::vector<std::string> unacked_task_raws() const;
  // After SUBSCRIBED answered a SUBSCRIBE: the agent has processed the updates that call listed (their
  // uuids), and only those — one made while the call was in flight is still to be sent as an UPDATE.
  // Returns the updates this newly marks accepted.
  std::vector<PendingUpdate> mark_accepted_by_subscribe(const std::vector<std::string>& uuids);

  AckOutcome acknowledge(const std::string& task_id, const std::string& uuid);

  std::size_t pending_updates() const { return updates_.size(); }
  std::size_t pending_tasks() const { return tasks_.size(); }
  bool has_queued() const;
  // An update the agent has not taken yet (queued or being sent).
  bool has_unsent() const;

 private:
  struct PendingTask {
    std::string task_id;
    std::string raw;
  };
  std::deque<PendingUpdate> updates_;
  std::vector<PendingTask> tasks_;
};

}  // namespace mesos
