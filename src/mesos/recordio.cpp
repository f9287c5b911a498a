// RecordIO encoder and incremental decoder (Mesos docs/recordio.md).
#include "mesos/recordio.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <limits>

namespace mesos::recordio {

std::string encode(std::string_view record) {
  std::string out = fmt::format("{}\n", record.size());
  out.append(record);
  return out;
}

util::Result<void> Decoder::fail(std::string message) {
  state_ = State::Failed;
  error_ = std::move(message);
  return util::make_error(error_);
}

util::Result<void> Decoder::feed(std::string_view chunk, std::vector<std::string>& out) {
  if (state_ == State::Failed) return util::make_error(error_);
  // Bytes that follow the longest valid length (20 digits for uint64) cannot be a length.
  constexpr std::size_t kMaxDigits = 20;
  while (!chunk.empty()) {
    if (state_ == State::Length) {
      const char c = chunk.front();
      chunk.remove_prefix(1);
      if (c == '\n') {
        if (digits_.empty()) return fail("RecordIO: empty record length");
        std::uint64_t n = 0;
        for (char d : digits_) {
          const auto digit = static_cast<std::uint64_t>(d - '0');
          if (n > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
            return fail(fmt::format("RecordIO: record length {} overflows", digits_));
          }
          n = n * 10 + digit;
        }
        if (n > max_) {
          return fail(fmt::format("RecordIO: record of {} bytes exceeds the maximum of {} bytes", digits_, max_));
        }
        digits_.clear();
        expected_ = static_cast<std::size_t>(n);
        record_.clear();
        if (expected_ == 0) {
          out.emplace_back();
        } else {
          record_.reserve(expected_);
          state_ = State::Data;
        }
        continue;
      }
      if (c < '0' || c > '9') {
        return fail(fmt::format("RecordIO: invalid byte 0x{:02x} in a record length", static_cast<unsigned char>(c)));
      }
      if (digits_.size() >= kMaxDigits) return fail("RecordIO: record length has too many digits");
      digits_.push_back(c);
      continue;
    }
    // State::Data
    const std::size_t take = std::min(expected_ - record_.size(), chunk.size());
    record_.append(chunk.data(), take);
    chunk.remove_prefix(take);
    if (record_.size() == expected_) {
      out.push_back(std::move(record_));
      record_ = std::string();
      state_ = State::Length;
    }
  }
  return {};
}

}  // namespace mesos::recordio
