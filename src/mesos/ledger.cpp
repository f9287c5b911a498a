// Bookkeeping of unacknowledged updates and tasks.
#include "mesos/ledger.h"

#include <algorithm>

namespace mesos {

bool is_terminal(v1::TaskState s) {
  switch (s) {
    case v1::TASK_FINISHED:
    case v1::TASK_FAILED:
    case v1::TASK_KILLED:
    case v1::TASK_ERROR:
    case v1::TASK_LOST:
    case v1::TASK_DROPPED:
    case v1::TASK_GONE:
    case v1::TASK_GONE_BY_OPERATOR: return true;
    default: return false;
  }
}

void Ledger::add_task(const std::string& task_id, std::string raw) {
  for (auto& t : tasks_) {
    if (t.task_id == task_id) return;  // a re-delivered LAUNCH: keep the first copy
  }
  tasks_.push_back(PendingTask{task_id, std::move(raw)});
}

void Ledger::add_update(const v1::executor::Call::Update& update) {
  PendingUpdate p;
  p.uuid = update.status().uuid();
  p.task_id = update.status().task_id().value();
  p.state = update.status().state();
  p.update = update;
  updates_.push_back(std::move(p));
}

std::optional<PendingUpdate> Ledger::take_next() {
  for (auto& u : updates_) {
    if (u.delivery == PendingUpdate::Delivery::Sending) return std::nullopt;  // one in flight, keep order
    if (u.delivery == PendingUpdate::Delivery::Queued) {
      u.delivery = PendingUpdate::Delivery::Sending;
      return u;
    }
  }
  return std::nullopt;
}

bool Ledger::has_queued() const {
  return std::any_of(updates_.begin(), updates_.end(),
                     [](const PendingUpdate& u) { return u.delivery == PendingUpdate::Delivery::Queued; });
}

bool Ledger::has_unsent() const {
  return std::any_of(updates_.begin(), updates_.end(),
                     [](const PendingUpdate& u) { return u.delivery != PendingUpdate::Delivery::Accepted; });
}

void Ledger::mark_accepted(const std::string& uuid) {
  for (auto& u : updates_) {
    if (u.uuid == uuid) u.delivery = PendingUpdate::Delivery::Accepted;
  }
}

void Ledger::mark_queued(const std::string& uuid) {
  for (auto& u : updates_) {
    if (u.uuid == uuid && u.delivery == PendingUpdate::Delivery::Sending) u.delivery = PendingUpdate::Delivery::Queued;
  }
}

void Ledger::drop(const std::string& uuid) {
  updates_.erase(
      std::remove_if(updates_.begin(), updates_.end(), [&](const PendingUpdate& u) { return u.uuid == uuid; }),
      updates_.end());
}

std::vector<v1::executor::Call::Update> Ledger::unacked_updates() const {
  std::vector<v1::executor::Call::Update> out;
  out.reserve(updates_.size());
  for (const auto& u : updates_) out.push_back(u.update);
  return out;
}

std::vector<std::string> Ledger::unacked_task_raws() const {
  std::vector<std::string> out;
  out.reserve(tasks_.size());
  for (const auto& t : tasks_) out.push_back(t.raw);
  return out;
}

std::vector<PendingUpdate> Ledger::mark_accepted_by_subscribe(const std::vector<std::string>& uuids) {
  std::vector<PendingUpdate> newly;
  for (auto& u : updates_) {
    const bool listed = std::find(uuids.begin(), uuids.end(), u.uuid) != uuids.end();
    if (listed && u.delivery != PendingUpdate::Delivery::Accepted) {
      u.delivery = PendingUpdate::Delivery::Accepted;
      newly.push_back(u);
    }
  }
  return newly;
}

AckOutcome Ledger::acknowledge(const std::string& task_id, const std::string& uuid) {
  AckOutcome out;
  auto it = std::find_if(updates_.begin(), updates_.end(),
                         [&](const PendingUpdate& u) { return u.uuid == uuid && u.task_id == task_id; });
  if (it == updates_.end()) return out;
  out.matched = true;
  out.state = it->state;
  out.terminal = is_terminal(it->state);
  updates_.erase(it);
  auto t = std::find_if(tasks_.begin(), tasks_.end(), [&](const PendingTask& p) { return p.task_id == task_id; });
  if (t != tasks_.end()) {
    tasks_.erase(t);
    out.task_released = true;
  }
  return out;
}

}  // namespace mesos
