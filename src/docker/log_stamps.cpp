// Timestamped log messages and the cursor of what was handed out.
#include "docker/log_stamps.h"

#include <fmt/format.h>

#include <algorithm>

namespace docker {

namespace {

// `n` decimal digits at `at`; -1 when one is not a digit.
int digits(std::string_view s, std::size_t at, std::size_t n) {
  int v = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

// Days from 1970-01-01 to the proleptic Gregorian date y-m-d.
std::int64_t days_since_epoch(std::int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

}  // namespace

std::optional<LogTime> parse_log_time(std::string_view s) {
  // 2026-12-03T01:54:33
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':') return std::nullopt;
  const int year = digits(s, 0, 4), month = digits(s, 5, 2), day = digits(s, 8, 2);
  const int hour = digits(s, 11, 2), minute = digits(s, 14, 2), second = digits(s, 17, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 || minute < 0 ||
      minute > 59 || second < 0 || second > 60) {
    return std::nullopt;
  }
  std::size_t at = 19;
  std::uint32_t nanos = 0;
  if (s[at] == '.') {
    ++at;
    std::size_t n = 0;
    while (at < s.size() && s[at] >= '0' && s[at] <= '9') {
      if (++n > 9) return std::nullopt;
      nanos = nanos * 10 + static_cast<std::uint32_t>(s[at] - '0');
      ++at;
    }
    if (n == 0) return std::nullopt;
    for (; n < 9; ++n) nanos *= 10;
  }
  std::int64_t offset = 0;  // seconds east of UTC
  if (at < s.size() && s[at] == 'Z' && at + 1 == s.size()) {
    // UTC
  } else if (at + 6 == s.size() && (s[at] == '+' || s[at] == '-') && s[at + 3] == ':') {
    const int oh = digits(s, at + 1, 2), om = digits(s, at + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return std::nullopt;
    offset = (s[at] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
  } else {
    return std::nullopt;
  }
  const std::int64_t secs = days_since_epoch(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
  if (secs < 0) return std::nullopt;
  return LogTime{secs, nanos};
}

std::string since_param(LogTime t) { return fmt::format("{}.{:09}", t.seconds, t.nanos); }

LogTime earlier(LogTime t, std::int64_t nanos) {
  const std::int64_t total = t.seconds * 1'000'000'000 + t.nanos - nanos;
  if (total <= 0) return LogTime{};
  return LogTime{total / 1'000'000'000, static_cast<std::uint32_t>(total % 1'000'000'000)};
}

void StampedLogReader::frame(LogStream s) {
  if (in_prefix_) finish_prefix(false);
  stream_ = s;
  in_prefix_ = true;
  content_ = 0;
}

// The time prefix is over: `complete` when it ended with its space (prefix_ holds it without the
// space), else it was cut short (the frame or the read ended, or it grew too long).
void StampedLogReader::finish_prefix(bool complete) {
  in_prefix_ = false;
  content_ = 0;
  std::optional<LogTime> t;
  if (complete) t = parse_log_time(prefix_);
  if (!complete && prefix_.empty()) return;  // no message at all (an empty frame)
  ++messages_;
  if (t) {
    on_message_(stream_, t);
  } else {
    ++unstamped_;
    on_message_(stream_, std::nullopt);
    if (complete) prefix_.push_back(' ');
    content_ = prefix_.size();
    on_payload_(stream_, prefix_);
  }
  prefix_.clear();
}

void StampedLogReader::feed(LogStream s, std::string_view bytes) {
  if (tty_) stream_ = s;
  while (!bytes.empty()) {
    if (in_prefix_) {
      // The space may be the byte after a prefix of full length.
      const std::size_t room = kMaxTimePrefix - prefix_.size();
      const std::string_view window = bytes.substr(0, room + 1);
      const std::size_t stop = window.find_first_of(" \n");
      if (stop != std::string_view::npos && window[stop] == ' ') {
        prefix_.append(bytes.substr(0, stop));
        bytes.remove_prefix(stop + 1);
        finish_prefix(true);
      } else if (stop != std::string_view::npos) {
        // A newline before any space: not a time, and (TTY) the message's end.
        prefix_.append(bytes.substr(0, stop + 1));
        bytes.remove_prefix(stop + 1);
        finish_prefix(false);
        if (tty_) in_prefix_ = true;
      } else if (bytes.size() <= room) {
        prefix_.append(bytes);
        return;
      } else {
        prefix_.append(bytes.substr(0, room));
        bytes.remove_prefix(room);
        finish_prefix(false);  // too long for a time: payload
      }
      continue;
    }
    if (!tty_) {
      content_ += bytes.size();
      on_payload_(stream_, bytes);
      return;
    }
    // TTY: the message ends after its newline or at kPartialBytes.
    const std::size_t room = kPartialBytes > content_ ? kPartialBytes - content_ : 0;
    const std::size_t nl = bytes.substr(0, room).find('\n');
    const std::size_t take = nl == std::string_view::npos ? std::min(room, bytes.size()) : nl + 1;
    if (take > 0) on_payload_(stream_, bytes.substr(0, take));
    content_ += take;
    bytes.remove_prefix(take);
    if (nl != std::string_view::npos || content_ >= kPartialBytes) {
      in_prefix_ = true;
      content_ = 0;
    }
  }
}

void StampedLogReader::end() {
  if (in_prefix_) finish_prefix(false);
  in_prefix_ = tty_;  // a TTY's next read starts with a message; a multiplexed one with a frame
  content_ = 0;
  prefix_.clear();
}

void LogCursor::begin_read() {
  for (Stream* st : {&out_, &err_}) {
    st->skipping = st->any;
    st->skip_left = st->at_last;
  }
}

bool LogCursor::take(LogStream s, LogTime t) {
  Stream& st = at(s);
  if (st.skipping) {
    if (t < st.last || (t == st.last && st.skip_left > 0)) {
      if (t == st.last) --st.skip_left;
      ++skipped_;
      return false;
    }
    st.skipping = false;
  }
  if (st.any && t == st.last) {
    ++st.at_last;
  } else {
    st.last = t;
    st.at_last = 1;
  }
  st.any = true;
  any_ = true;
  latest_ = t;
  ++taken_;
  return true;
}

std::optional<LogTime> LogCursor::since() const {
  if (!any_) return std::nullopt;
  std::optional<LogTime> from;
  bool quiet = false;
  for (const Stream* st : {&out_, &err_}) {
    if (st == &err_ && tty_) continue;
    if (!st->any) {
      quiet = true;
      continue;
    }
    if (!from || st->last < *from) from = st->last;
  }
  if (quiet) {
    const LogTime q = earlier(latest_, kQuietMarginNanos);
    if (!from || q < *from) from = q;
  }
  return from;
}

}  // namespace docker
