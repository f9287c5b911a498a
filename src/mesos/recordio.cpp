// RecordIO encoder and incremental decoder (Mesos docs/recordio.md).
#include "mesos/recordio.h"

#include <fmt/format.h>

#include <algorithm>
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

util::Result<void> Decoder::feed(std::string_view chunk, std::vector<std::string>& out,
                                 std::vector<Oversized>& oversized) {
  return feed_impl(chunk, out, &oversized);
}

util::Result<void> Decoder::feed(std::string_view chunk, std::vector<std::string>& out) {
  return feed_impl(chunk, out, nullptr);
}

// The length line is complete: check it and start reading (or skipping) the record.
util::Result<void> Decoder::end_length(std::vector<std::string>& out, std::vector<Oversized>* oversized) {
  if (digits_.empty()) return fail("RecordIO: empty record length");
  std::uint64_t n = 0;
  for (char d : digits_) {
    const auto digit = static_cast<std::uint64_t>(d - '0');
    if (n > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
      return fail(fmt::format("RecordIO: record length {} overflows", digits_));
    }
    n = n * 10 + digit;
  }
  if (n > max_ && oversized == nullptr) {
    return fail(fmt::format("RecordIO: record of {} bytes exceeds the maximum of {} bytes", digits_, max_));
  }
  if (n > kMaxPlausibleSize) {
    return fail(fmt::format("RecordIO: record length {} is beyond any event an agent writes", digits_));
  }
  digits_.clear();
  record_.clear();
  if (n > max_) {
    oversize_ = n;
    record_.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(n, prefix_max_)));
    state_ = State::Prefix;
    // A zero-byte prefix is complete at once.
    std::string_view none;
    return take_prefix(none, out, oversized);
  }
  expected_ = static_cast<std::size_t>(n);
  if (expected_ == 0) {
    out.emplace_back();
  } else {
    record_.reserve(expected_);
    state_ = State::Data;
  }
  return {};
}

// Collects the oversized record's first bytes; once they are in, reports the record and skips the rest.
util::Result<void> Decoder::take_prefix(std::string_view& chunk, std::vector<std::string>& out,
                                        std::vector<Oversized>* oversized) {
  const auto target = static_cast<std::size_t>(std::min<std::uint64_t>(oversize_, prefix_max_));
  const std::size_t take = std::min(target - record_.size(), chunk.size());
  record_.append(chunk.data(), take);
  chunk.remove_prefix(take);
  if (record_.size() < target) return {};
  if (oversized == nullptr) {
    return fail(fmt::format("RecordIO: record of {} bytes exceeds the maximum of {} bytes", oversize_, max_));
  }
  oversized->push_back(Oversized{oversize_, std::move(record_), out.size()});
  record_ = std::string();
  to_skip_ = oversize_ - target;
  state_ = to_skip_ == 0 ? State::Length : State::Skip;
  return {};
}

util::Result<void> Decoder::feed_impl(std::string_view chunk, std::vector<std::string>& out,
                                      std::vector<Oversized>* oversized) {
  if (state_ == State::Failed) return util::make_error(error_);
  // Bytes that follow the longest valid length (20 digits for uint64) cannot be a length.
  constexpr std::size_t kMaxDigits = 20;
  while (!chunk.empty()) {
    switch (state_) {
      case State::Length: {
        const char c = chunk.front();
        chunk.remove_prefix(1);
        if (c == '\n') {
          if (auto r = end_length(out, oversized); !r) return r;
        } else if (c < '0' || c > '9') {
          return fail(fmt::format("RecordIO: invalid byte 0x{:02x} in a record length", static_cast<unsigned char>(c)));
        } else if (digits_.size() >= kMaxDigits) {
          return fail("RecordIO: record length has too many digits");
        } else {
          digits_.push_back(c);
        }
        break;
      }
      case State::Data: {
        const std::size_t take = std::min(expected_ - record_.size(), chunk.size());
        record_.append(chunk.data(), take);
        chunk.remove_prefix(take);
        if (record_.size() == expected_) {
          out.push_back(std::move(record_));
          record_ = std::string();
          state_ = State::Length;
        }
        break;
      }
      case State::Prefix:
        if (auto r = take_prefix(chunk, out, oversized); !r) return r;
        break;
      case State::Skip: {
        const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(to_skip_, chunk.size()));
        chunk.remove_prefix(take);
        to_skip_ -= take;
        if (to_skip_ == 0) state_ = State::Length;
        break;
      }
      case State::Failed: return util::make_error(error_);
    }
  }
  return {};
}

}  // namespace mesos::recordio
