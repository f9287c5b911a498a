// What an event record too big to decode was, from its first bytes only (recordio::Oversized's
// prefix): its type and, for a LAUNCH, the task's id, so that the task can be failed rather than
// never answered. Nothing here needs the record to be complete; the outer messages (Event, Launch,
// TaskInfo) may be cut anywhere, but an id is only returned when all of it is in the prefix.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "mesos/codec.h"

namespace mesos {

struct EventPeek {
  // Event.type's name ("LAUNCH", "KILL", ...) when the prefix holds a known type.
  std::optional<std::string> type;
  // For a LAUNCH: launch.task.task_id.value, when complete in the prefix and a valid Mesos id
  // (non-empty, no control character, no slash or backslash: the agent refuses others).
  std::optional<std::string> task_id;
};

EventPeek peek_event(Encoding e, std::string_view prefix);

// The id of the task an event record launches; nullopt when the record is not a LAUNCH or its task
// id cannot be read from `prefix`.
inline std::optional<std::string> peek_launch_task_id(Encoding e, std::string_view prefix) {
  return peek_event(e, prefix).task_id;
}

}  // namespace mesos
