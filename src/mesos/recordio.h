// RecordIO framing of the agent's event stream: "<decimal length>\n<bytes>", repeated. The decoder
// takes the stream in arbitrary chunks and bounds the record size; after an error it stays failed.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace mesos::recordio {

std::string encode(std::string_view record);

class Decoder {
 public:
  explicit Decoder(std::size_t max_record_size) : max_(max_record_size) {}

  // Appends every record completed by `chunk` to `out`. An error (non-digit in a length, a length
  // over the maximum, an empty length) is final: the stream cannot be resynchronised.
  util::Result<void> feed(std::string_view chunk, std::vector<std::string>& out);

  // True when the stream ended in the middle of a record (or its length).
  bool mid_record() const { return state_ == State::Data || !digits_.empty(); }
  bool failed() const { return state_ == State::Failed; }

 private:
  enum class State : unsigned char { Length, Data, Failed };
  util::Result<void> fail(std::string message);

  std::size_t max_;
  State state_ = State::Length;
  std::string digits_;
  std::size_t expected_ = 0;
  std::string record_;
  std::string error_;
};

}  // namespace mesos::recordio
