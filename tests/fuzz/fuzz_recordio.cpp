// RecordIO decoder: any bytes, fed in chunks whose sizes come from the input itself. Records must
// come out exactly as an encoder would frame them; after a failure the decoder stays failed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "mesos/recordio.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::size_t step = 1 + data[0] % 64;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  mesos::recordio::Decoder d(4096);
  std::vector<std::string> records;
  std::size_t consumed = 0;
  bool failed = false;
  for (std::size_t off = 0; off < in.size(); off += step) {
    auto r = d.feed(in.substr(off, step), records);
    if (!r) {
      failed = true;
      break;
    }
    consumed = off + std::min(step, in.size() - off);
  }
  if (failed != d.failed()) std::abort();
  if (failed && d.feed("1\nx", records)) std::abort();  // failure is final
  // Re-encoding the records gives a prefix of what was consumed.
  std::string again;
  for (const auto& r : records) {
    if (r.size() > 4096) std::abort();  // the bound holds
    again += mesos::recordio::encode(r);
  }
  if (!failed && again.size() > consumed) std::abort();
  return 0;
}
