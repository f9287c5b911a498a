// RecordIO framing of the agent's event stream: "<decimal length>\n<bytes>", repeated. The decoder
// takes the stream in arbitrary chunks and bounds the memory a record may take. A bad length line is
// corruption and final; a valid length over the maximum is not: the agent has no cap (a LAUNCH with a
// large TaskInfo.data), so such a record is reported by its first bytes and skipped, and the stream
// stays in sync.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace mesos::recordio {

std::string encode(std::string_view record);

// A record longer than the decoder's maximum, reported once its first bytes are in (before the rest
// has been skipped, so that a stream broken during the skip still lets the caller act on it).
struct Oversized {
  std::uint64_t size = 0;  // the record's length as announced
  std::string prefix;      // its first min(size, prefix size) bytes
  // How many records the caller's `out` held when this one was reported: it comes after out[position - 1]
  // and before out[position] in the stream.
  std::size_t position = 0;
};

class Decoder {
 public:
  // Enough for the start of any LAUNCH: only TaskInfo.name comes before TaskInfo.task_id.
  static constexpr std::size_t kDefaultPrefixSize = std::size_t{64} << 10;
  // No agent writes a longer record (protobuf caps a message at 2 GiB; base64 makes its bytes 4/3 as
  // long in JSON): a longer length is corruption, not a record to skip for ever.
  static constexpr std::uint64_t kMaxPlausibleSize = std::uint64_t{1} << 32;

  explicit Decoder(std::size_t max_record_size, std::size_t prefix_size = kDefaultPrefixSize)
      : max_(max_record_size), prefix_max_(prefix_size) {}

  // Appends every record completed by `chunk` to `out`, and reports each record over the maximum in
  // `oversized` (its bytes past the prefix are dropped as they arrive, never buffered). An error (a
  // non-digit in a length, an empty length, more than 20 digits, a length that overflows uint64 or is
  // over kMaxPlausibleSize) is final: the stream cannot be resynchronised.
  util::Result<void> feed(std::string_view chunk, std::vector<std::string>& out, std::vector<Oversized>& oversized);

  // Strict form: a length over the maximum is one more final error. Use one form per decoder.
  util::Result<void> feed(std::string_view chunk, std::vector<std::string>& out);

  // True when the stream ended in the middle of a record (or its length), a skipped one included.
  bool mid_record() const {
    return state_ == State::Data || state_ == State::Prefix || state_ == State::Skip || !digits_.empty();
  }
  bool failed() const { return state_ == State::Failed; }

 private:
  enum class State : unsigned char { Length, Data, Prefix, Skip, Failed };
  util::Result<void> fail(std::string message);
  util::Result<void> end_length(std::vector<std::string>& out, std::vector<Oversized>* oversized);
  util::Result<void> take_prefix(std::string_view& chunk, std::vector<std::string>& out,
                                 std::vector<Oversized>* oversized);
  util::Result<void> feed_impl(std::string_view chunk, std::vector<std::string>& out,
                               std::vector<Oversized>* oversized);

  std::size_t max_;
  std::size_t prefix_max_;
  State state_ = State::Length;
  std::string digits_;
  std::size_t expected_ = 0;
  std::string record_;
  std::uint64_t oversize_ = 0;  // length of the record being skipped
  std::uint64_t to_skip_ = 0;   // its bytes still to drop after the prefix
  std::string error_;
};

}  // namespace mesos::recordio
