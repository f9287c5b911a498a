// RecordIO decoder: any bytes, fed in chunks whose sizes come from the input itself, in the strict form
// (an oversized record is an error) or the tolerant one (it is reported by its prefix and skipped).
// Records must come out exactly as an encoder would frame them; after a failure the decoder stays
// failed. The prefixes of oversized records then go through the LAUNCH peek in both encodings.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "mesos/launch_peek.h"
#include "mesos/recordio.h"

namespace {
constexpr std::size_t kMax = 4096;
constexpr std::size_t kPrefix = 256;

void peek_both(std::string_view bytes) {
  for (auto e : {mesos::Encoding::Protobuf, mesos::Encoding::Json}) {
    const auto p = mesos::peek_event(e, bytes);
    if (p.task_id && (p.task_id->empty() || p.type != "LAUNCH")) std::abort();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::size_t step = 1 + data[0] % 64;
  const bool tolerant = (data[0] & 0x80) != 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  mesos::recordio::Decoder d(kMax, kPrefix);
  std::vector<std::string> records;
  std::vector<mesos::recordio::Oversized> oversized;
  std::size_t consumed = 0;
  bool failed = false;
  for (std::size_t off = 0; off < in.size(); off += step) {
    auto r = tolerant ? d.feed(in.substr(off, step), records, oversized) : d.feed(in.substr(off, step), records);
    if (!r) {
      failed = true;
      break;
    }
    consumed = off + std::min(step, in.size() - off);
  }
  if (failed != d.failed()) std::abort();
  if (failed && d.feed("1\nx", records)) std::abort();  // failure is final
  if (!tolerant && !oversized.empty()) std::abort();
  // Re-encoding what came out (an oversized record up to its prefix) gives no more than was consumed.
  std::size_t framed = 0;
  std::size_t last_position = 0;
  for (const auto& o : oversized) {
    if (o.size <= kMax || o.prefix.size() != std::min<std::uint64_t>(o.size, kPrefix)) std::abort();
    if (o.position < last_position || o.position > records.size()) std::abort();  // stream order
    last_position = o.position;
    framed += std::to_string(o.size).size() + 1 + o.prefix.size();
    peek_both(o.prefix);
  }
  for (const auto& r : records) {
    if (r.size() > kMax) std::abort();  // the bound holds
    framed += mesos::recordio::encode(r).size();
  }
  if (!failed && framed > consumed) std::abort();
  if (!tolerant) peek_both(in);
  return 0;
}
