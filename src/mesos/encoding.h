// The two media types the agent speaks (EXECUTOR_AGENT_ENCODING chooses one).
#pragma once

namespace mesos {

enum class Encoding : unsigned char { Protobuf, Json };

}  // namespace mesos
