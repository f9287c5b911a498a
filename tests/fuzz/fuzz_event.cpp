// Agent events: the input as one record (protobuf and JSON), and as a RecordIO stream of records that
// one state machine receives in order, so malformed fields and odd sequences meet every transition.
// What decodes must encode again.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "executor/machine.h"
#include "mesos/agent_events.h"
#include "mesos/codec.h"
#include "mesos/encoding.h"
#include "mesos/recordio.h"

namespace {

void feed(executor::Machine& m, mesos::Encoding enc, std::string_view record) {
  auto decoded = mesos::decode_event(enc, record);
  if (!decoded) return;
  (void)mesos::encode_event(enc, decoded->event);
  std::string problem;
  auto translated = mesos::translate_event(decoded->event, problem);
  if (translated) (void)m.handle(*translated);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  for (auto enc : {mesos::Encoding::Protobuf, mesos::Encoding::Json}) {
    executor::Machine m(executor::MachineConfig{});
    feed(m, enc, in);
  }
  if (size > 0) {
    const auto enc = (data[0] & 1) ? mesos::Encoding::Json : mesos::Encoding::Protobuf;
    mesos::recordio::Decoder d(1 << 20);
    std::vector<std::string> records;
    (void)d.feed(in.substr(1), records);
    executor::Machine m(executor::MachineConfig{});
    for (const auto& r : records) feed(m, enc, r);
  }
  return 0;
}
