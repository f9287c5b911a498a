// Multiplexed log stream demuxing.
#include "docker/log_demux.h"

#include <fmt/format.h>

#include <algorithm>

namespace docker {

util::Result<void> LogDemuxer::feed(std::string_view chunk) {
  if (!error_.empty()) return util::make_error(error_);
  while (!chunk.empty()) {
    if (remaining_ == 0) {
      const std::size_t take = std::min(chunk.size(), sizeof header_ - header_len_);
      std::copy_n(chunk.data(), take, header_ + header_len_);
      header_len_ += take;
      chunk.remove_prefix(take);
      if (header_len_ < sizeof header_) return {};
      header_len_ = 0;
      if (header_[0] > 2 || header_[1] != 0 || header_[2] != 0 || header_[3] != 0) {
        error_ = fmt::format("log stream: invalid frame header {:02x} {:02x} {:02x} {:02x}", header_[0], header_[1],
                             header_[2], header_[3]);
        return util::make_error(error_);
      }
      stream_ = static_cast<LogStream>(header_[0]);
      remaining_ = (std::uint32_t{header_[4]} << 24) | (std::uint32_t{header_[5]} << 16) |
                   (std::uint32_t{header_[6]} << 8) | std::uint32_t{header_[7]};
      if (on_frame_) on_frame_(stream_, remaining_);
      continue;
    }
    const std::size_t take = std::min<std::size_t>(chunk.size(), remaining_);
    sink_(stream_, chunk.substr(0, take));
    remaining_ -= static_cast<std::uint32_t>(take);
    chunk.remove_prefix(take);
  }
  return {};
}

}  // namespace docker
