// Builds the TaskStatus of an UPDATE call from what the state machine asked for, adding what the
// agent requires: a fresh 16-byte uuid, the timestamp, SOURCE_EXECUTOR and the executor/agent ids.
#pragma once

#include <cstddef>
#include <string>

#include "executor/actions.h"
#include "mesos/v1/executor/executor.pb.h"

namespace mesos {

struct StatusContext {
  std::string executor_id;
  std::string agent_id;
};

// The longest TaskStatus.message sent (longer ones are cut on a character boundary).
inline constexpr std::size_t kMaxMessageBytes = 16 * 1024;

// The message is made valid UTF-8 (bad bytes become U+FFFD) and cut to kMaxMessageBytes.
::mesos::v1::executor::Call::Update build_update(const executor::act::SendUpdate& u, const StatusContext& ctx,
                                                 const std::string& uuid_bytes, double timestamp);

}  // namespace mesos
