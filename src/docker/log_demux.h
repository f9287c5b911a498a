// Docker's multiplexed log stream (no TTY): frames of an 8-byte header — stream byte (0 stdin,
// 1 stdout, 2 stderr), three zero bytes, big-endian uint32 length — then the payload. Frames do not
// align with lines. The demuxer takes the stream in arbitrary chunks.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "util/result.h"

namespace docker {

enum class LogStream : std::uint8_t { Stdin = 0, Stdout = 1, Stderr = 2 };

class LogDemuxer {
 public:
  // `sink` receives payload pieces as they arrive (a frame may come in several pieces); `on_frame`, when
  // set, each frame's stream and payload length as its header is read (before its payload; an empty
  // frame too).
  explicit LogDemuxer(std::function<void(LogStream, std::string_view)> sink,
                      std::function<void(LogStream, std::uint32_t)> on_frame = nullptr)
      : sink_(std::move(sink)), on_frame_(std::move(on_frame)) {}

  // An error (unknown stream byte, non-zero padding) is final: the stream is not multiplexed.
  util::Result<void> feed(std::string_view chunk);
  bool mid_frame() const { return header_len_ > 0 || remaining_ > 0; }

 private:
  std::function<void(LogStream, std::string_view)> sink_;
  std::function<void(LogStream, std::uint32_t)> on_frame_;
  unsigned char header_[8] = {};
  std::size_t header_len_ = 0;
  std::uint32_t remaining_ = 0;
  LogStream stream_ = LogStream::Stdout;
  std::string error_;
};

}  // namespace docker
