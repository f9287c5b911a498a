// One frame of Docker's multiplexed log stream as the daemon writes it: stream byte, three zero bytes,
// the payload's length big-endian, the payload. Header-only: the demuxer and log-time tests share it.
#pragma once

#include <cstdint>
#include <string>

#include "docker/log_demux.h"

namespace testing_support {

inline std::string log_frame(docker::LogStream s, const std::string& payload) {
  std::string h(8, '\0');
  h[0] = static_cast<char>(s);
  const auto n = static_cast<std::uint32_t>(payload.size());
  h[4] = static_cast<char>(n >> 24);
  h[5] = static_cast<char>(n >> 16);
  h[6] = static_cast<char>(n >> 8);
  h[7] = static_cast<char>(n);
  return h + payload;
}

}  // namespace testing_support
