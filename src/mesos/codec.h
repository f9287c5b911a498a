// Encoding of executor Calls and decoding of Events in the two media types the agent speaks.
// In JSON mode a launched TaskInfo is kept as the raw JSON object it arrived as, because only that
// form carries back the fields our proto subset does not model.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mesos/encoding.h"
#include "mesos/v1/executor/executor.pb.h"
#include "util/result.h"

namespace mesos {

const char* media_type(Encoding e);

struct DecodedEvent {
  v1::executor::Event event;
  // For LAUNCH: the TaskInfo exactly as received (protobuf bytes or JSON text), for re-sending in
  // SUBSCRIBE.unacknowledged_tasks.
  std::string raw_task;
};

util::Result<DecodedEvent> decode_event(Encoding e, std::string_view record);

// For a JSON record that decode_event refused: when it is a LAUNCH naming its task, that task's id
// and the TaskInfo's JSON text (so the task can be failed instead of never answered).
struct UndecodableLaunch {
  std::string task_id;
  std::string raw_task;
};
std::optional<UndecodableLaunch> undecodable_json_launch(std::string_view record);

// Serialises a Call. `raw_tasks` are TaskInfos in the same encoding (from DecodedEvent::raw_task),
// appended to subscribe.unacknowledged_tasks as they are.
util::Result<std::string> encode_call(Encoding e, const v1::executor::Call& call,
                                      const std::vector<std::string>& raw_tasks = {});

// The inverse operations, for the agent emulator: Calls in, Events out.
util::Result<v1::executor::Call> decode_call(Encoding e, std::string_view body);
util::Result<std::string> encode_event(Encoding e, const v1::executor::Event& event);

// JSON text of a message as the agent writes it (protobuf's JSON mapping: proto field names, enum
// names, base64 bytes), and back. For Event, Call, TaskInfo and TaskStatus (codec.cpp instantiates them).
template <class M>
util::Result<std::string> to_json(const M& m);
template <class M>
util::Result<void> from_json(std::string_view json, M& m);

}  // namespace mesos
