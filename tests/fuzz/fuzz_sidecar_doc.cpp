// Sidecar's state.json lookup: any bytes as the document, with the host and service id either fixed
// or taken from the input, so both "not us" and "us" paths are explored.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sidecar/state_doc.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto a = sidecar::find_service_status(in, "host-a", "0123456789ab");
  if (a.kind == sidecar::Lookup::Kind::Found && a.status < 0) std::abort();
  if (size > 8) {
    const std::string_view host = in.substr(0, data[0] % 8);
    const std::string_view id = in.substr(1, data[1] % 8);
    (void)sidecar::find_service_status(in.substr(2), host, id);
  }
  return 0;
}
