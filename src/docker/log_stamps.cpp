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

void StampedLogReader::frame(LogStream s, std::uint32_t length) {
  if (in_prefix_ || in_message_) end();  // cannot happen: the demuxer starts a frame after the last one
  stream_ = s;
  frame_left_ = length;
  in_prefix_ = length > 0;
}

void StampedLogReader::begin_message(std::optional<LogTime> t) {
  in_message_ = true;
  streaming_ = false;
  time_ = t;
  held_.clear();
  content_ = 0;
}

// Payload bytes of the current message; `last`: the message ends with them.
void StampedLogReader::payload(std::string_view bytes, bool last) {
  if (!streaming_ && held_.empty() && last) {
    // Whole in one piece (the usual case): handed out without a copy.
    ++messages_;
    on_message_(stream_, time_);
    if (!bytes.empty()) on_payload_(stream_, bytes);
  } else if (!streaming_ && held_.size() + bytes.size() <= kMaxMessage && !last) {
    held_.append(bytes);
    return;
  } else {
    if (!streaming_) {
      ++messages_;
      on_message_(stream_, time_);
      streaming_ = true;
      if (!held_.empty()) on_payload_(stream_, held_);
      held_.clear();
    }
    if (!bytes.empty()) on_payload_(stream_, bytes);
  }
  if (last) {
    in_message_ = false;
    streaming_ = false;
  }
}

// The time prefix is over: `complete` when it ended with its space (prefix_ holds it without the
// space), else it was cut short (a newline or too many bytes came first, or its frame ended).
void StampedLogReader::finish_prefix(bool complete) {
  in_prefix_ = false;
  std::optional<LogTime> t;
  if (complete) t = parse_log_time(prefix_);
  begin_message(t);
  if (!t) {
    ++unstamped_;
    if (complete) prefix_.push_back(' ');
    held_ = prefix_;  // the bytes are the message's
    content_ = held_.size();
  }
  prefix_.clear();
}

void StampedLogReader::feed(LogStream s, std::string_view bytes) {
  if (tty_) stream_ = s;
  if (!tty_) frame_left_ -= std::min<std::uint64_t>(frame_left_, bytes.size());
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
        // A newline before any space: not a time.
        prefix_.append(bytes.substr(0, stop + 1));
        bytes.remove_prefix(stop + 1);
        finish_prefix(false);
        if (tty_) {  // and the message's end
          payload({}, true);
          in_prefix_ = true;
        }
      } else if (bytes.size() <= room) {
        prefix_.append(bytes);
        bytes = {};
      } else {
        prefix_.append(bytes.substr(0, room));
        bytes.remove_prefix(room);
        finish_prefix(false);  // too long for a time: payload
      }
      continue;
    }
    if (!in_message_) return;  // bytes outside any frame: cannot happen with the demuxer
    if (!tty_) {
      payload(bytes, frame_left_ == 0);
      return;
    }
    // TTY: the message ends after its newline or at kPartialBytes.
    const std::size_t room = kPartialBytes > content_ ? kPartialBytes - content_ : 0;
    const std::size_t nl = bytes.substr(0, room).find('\n');
    const std::size_t take = nl == std::string_view::npos ? std::min(room, bytes.size()) : nl + 1;
    content_ += take;
    const bool last = nl != std::string_view::npos || content_ >= kPartialBytes;
    payload(bytes.substr(0, take), last);
    bytes.remove_prefix(take);
    if (last) in_prefix_ = true;
  }
  // Multiplexed: a frame that ends inside or right after the time prefix is a whole message too.
  if (!tty_ && frame_left_ == 0) {
    if (in_prefix_) finish_prefix(false);
    if (in_message_) payload({}, true);
  }
}

void StampedLogReader::end() {
  if (tty_) {
    // The raw stream's last message (a last line without a newline, or a cut one: no frame tells).
    if (in_prefix_ && !prefix_.empty()) finish_prefix(false);
    if (in_message_) payload({}, true);
  } else if (in_message_ || in_prefix_) {
    ++cut_;  // the next read gives it whole (one over kMaxMessage was partly handed out already)
  }
  in_prefix_ = tty_;  // a TTY's next read starts with a message; a multiplexed one with a frame
  in_message_ = false;
  streaming_ = false;
  prefix_.clear();
  held_.clear();
  content_ = 0;
  frame_left_ = 0;
}

void LogCursor::begin_read() {
  for (Stream* st : {&out_, &err_}) {
    st->skipping = st->any;
    st->skip_left = st->at_last;
  }
}

void LogCursor::start_after(LogTime t) {
  for (Stream* st : {&out_, &err_}) {
    st->any = true;
    st->last = t;
    st->at_last = 0;
  }
  any_ = true;
  latest_ = t;
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

void OutputTail::add(LogStream s, std::string_view bytes) {
  std::string& t = s == LogStream::Stderr ? err_ : out_;
  if (bytes.size() >= kBytes) {
    t.assign(bytes.substr(bytes.size() - kBytes));
    return;
  }
  t.append(bytes);
  if (t.size() > 2 * kBytes) t.erase(0, t.size() - kBytes);
}

std::string OutputTail::take(LogStream s) {
  std::string& t = s == LogStream::Stderr ? err_ : out_;
  std::string r = t.size() > kBytes ? t.substr(t.size() - kBytes) : std::move(t);
  t.clear();
  return r;
}

SuffixMatch match_suffix(std::string_view text, std::string_view pattern, const std::vector<bool>* starts) {
  SuffixMatch r;
  const std::size_t m = pattern.size();
  const auto ok = [&](std::size_t pos) { return !starts || (pos < starts->size() && (*starts)[pos]); };
  if (m == 0) {
    r.occurs = true;
    return r;
  }
  // border[i]: the longest proper prefix of pattern[0..i] that is also its suffix.
  std::vector<std::size_t> border(m, 0);
  for (std::size_t i = 1, k = 0; i < m; ++i) {
    while (k > 0 && pattern[i] != pattern[k]) k = border[k - 1];
    if (pattern[i] == pattern[k]) ++k;
    border[i] = k;
  }
  std::size_t q = 0;  // the longest prefix of the pattern that ends here in the text
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (q == m) q = border[q - 1];
    while (q > 0 && text[i] != pattern[q]) q = border[q - 1];
    if (text[i] == pattern[q]) ++q;
    if (q == m && ok(i + 1 - m)) {
      r.occurs = true;
      if (i + 1 < text.size()) r.occurs_before = true;
    }
  }
  for (std::size_t l = q; l > 0; l = border[l - 1]) {
    if (ok(text.size() - l)) r.lengths.push_back(l);
  }
  return r;
}

CutOverlap::CutOverlap(std::string out_tail, std::string err_tail, LogTime cut, Give give, EndLine end_line, Now now)
    : until_(earlier(cut, -kWindowNanos)),
      give_(std::move(give)),
      end_line_(std::move(end_line)),
      now_(std::move(now)) {
  out_.tail = std::move(out_tail);
  err_.tail = std::move(err_tail);
  for (Stream* st : {&out_, &err_}) {
    st->open = !st->tail.empty();
    // The tail begins somewhere in a line: its first position counts as a start (and its 16 KiB
    // pieces are counted from there: arbitrary, but a line that began before the tail is longer than
    // the tail when the log gives it again, so it is never matched anyway).
    st->line_start.assign(st->tail.size(), false);
    std::size_t line = 0;  // where the current line starts
    for (std::size_t p = 0; p < st->tail.size(); ++p) {
      if (p > 0 && st->tail[p - 1] == '\n') line = p;
      st->line_start[p] = (p - line) % kPartialBytes == 0;
    }
  }
}

void CutOverlap::message(LogStream s, std::optional<LogTime> t) {
  if (out_.open || err_.open) last_at_ = now_();  // the read is not quiet, whichever stream
  Stream& st = at(s);
  if (!st.open) return;
  if (st.last_chance) settle(s, Settle::Final);
  if (!st.open) return;
  if (t && *t >= until_) {
    // Past the window: not the attached stream's. Only the rest of a line the cut went through is
    // still looked for in it (a slow writer's line).
    const bool cut_in_line = st.tail.back() != '\n';
    if (!(cut_in_line && st.ends.empty())) {
      settle(s, Settle::Final);
      return;
    }
    st.last_chance = true;
  }
  st.ends.push_back(st.held.size());
  st.holding = true;
}

bool CutOverlap::holding() const { return (out_.open && !out_.ends.empty()) || (err_.open && !err_.ends.empty()); }

void CutOverlap::payload(LogStream s, std::string_view bytes) {
  Stream& st = at(s);
  if (!st.open || !st.holding) {
    give_(s, bytes);
    return;
  }
  st.held.append(bytes);
  st.ends.back() = st.held.size();
  if (st.held.size() > st.tail.size()) settle(s, Settle::Final);  // cannot be in the tail any more
}

void CutOverlap::idle() {
  for (LogStream s : {LogStream::Stdout, LogStream::Stderr}) {
    if (at(s).open && !at(s).ends.empty()) settle(s, Settle::Idle);
  }
}

void CutOverlap::end() {
  for (LogStream s : {LogStream::Stdout, LogStream::Stderr}) {
    Stream& st = at(s);
    if (st.open && !st.ends.empty()) settle(s, Settle::Final);
    st.holding = false;
  }
}

void CutOverlap::settle(LogStream s, Settle how) {
  Stream& st = at(s);
  if (how == Settle::Idle) {
    // Quiet past the window: decided. Else a look at most 32 times, then each time held has doubled
    // (a flood of tiny messages costs a bounded number of passes over the tail).
    const LogTime now = now_();
    const bool quiet = now >= until_ && now >= earlier(last_at_, -kQuietNanos);
    if (!quiet && st.checks >= 32 && st.held.size() < 2 * st.checked_at) return;
    if (quiet) how = Settle::Final;
  }
  const SuffixMatch m = match_suffix(st.tail, st.held, &st.line_start);
  if (how == Settle::Idle) {
    ++st.checks;
    st.checked_at = st.held.size();
    // In the tail, but not only as its end: more may come that makes it the end (or shows it new).
    if (m.occurs && (m.occurs_before || m.lengths.empty() || m.lengths.front() != st.held.size())) return;
  }
  // The longest run of whole held messages that is the tail's end is what the attached stream gave.
  // A tail that ends inside a line (the cut went through it) can end inside a message: the messages
  // before it were given, and so was that one's start; its rest goes on and completes the line.
  std::size_t given = 0;  // held messages dropped
  std::size_t from = 0;   // where what goes on begins in `held`
  bool continued = false;
  const bool cut_in_line = st.tail.back() != '\n';
  for (const std::size_t len : m.lengths) {
    const auto it = std::lower_bound(st.ends.begin(), st.ends.end(), len);
    if (it == st.ends.end()) continue;
    if (*it == len) {
      given = static_cast<std::size_t>(it - st.ends.begin()) + 1;
      from = len;
      continued = cut_in_line;  // a piece of a long line: the next piece continues it
      break;
    }
    if (cut_in_line && len == m.lengths.front()) {
      given = static_cast<std::size_t>(it - st.ends.begin());
      from = len;
      continued = true;
      break;
    }
  }
  dropped_ += given;
  if (cut_in_line && !continued) end_line_(s);
  if (from < st.held.size()) give_(s, std::string_view(st.held).substr(from));
  st.open = false;
  st.holding = false;
  st.held.clear();
  st.held.shrink_to_fit();
  st.ends.clear();
  st.tail.clear();
  st.tail.shrink_to_fit();
  st.line_start.clear();
  st.line_start.shrink_to_fit();
}

}  // namespace docker
