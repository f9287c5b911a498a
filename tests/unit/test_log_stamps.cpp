// Docker's timestamped log messages: the time cut off each message (multiplexed frames and a TTY's raw
// stream, lines over Docker's 16 KiB piece size, a last line without a newline), and a second read from
// the cursor giving each message exactly once.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "../log_frame.h"
#include "docker/log_demux.h"
#include "docker/log_stamps.h"

using docker::LogCursor;
using docker::LogDemuxer;
using docker::LogStream;
using docker::LogTime;
using docker::parse_log_time;
using docker::StampedLogReader;

namespace {

std::string frame(LogStream s, const std::string& payload) { return testing_support::log_frame(s, payload); }

// A message as Docker keeps it: stream, time, bytes (a line with its newline or a piece of one).
struct Message {
  LogStream stream;
  LogTime time;
  std::string bytes;
};

// The time as Docker writes it: RFC 3339 with the fraction's trailing zeros dropped.
std::string docker_time(LogTime t) {
  const std::time_t secs = t.seconds;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  std::string s = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                              tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (t.nanos != 0) {
    std::string frac = fmt::format("{:09}", t.nanos);
    while (frac.back() == '0') frac.pop_back();
    s += "." + frac;
  }
  return s + "Z";
}

std::string multiplexed(const std::vector<Message>& msgs) {
  std::string out;
  for (const auto& m : msgs) out += frame(m.stream, docker_time(m.time) + " " + m.bytes);
  return out;
}

std::string raw_tty(const std::vector<Message>& msgs) {
  std::string out;
  for (const auto& m : msgs) out += docker_time(m.time) + " " + m.bytes;
  return out;
}

// What one read hands out per stream, and the times it saw.
struct Collected {
  std::map<LogStream, std::string> text;
  std::vector<std::optional<LogTime>> times;
  StampedLogReader reader;
  explicit Collected(bool tty)
      : reader(
            tty, [this](LogStream, std::optional<LogTime> t) { times.push_back(t); },
            [this](LogStream s, std::string_view piece) { text[s].append(piece); }) {}
};

// Feeds `bytes` to a demuxer in front of `reader` in two pieces cut at `cut`.
void feed_multiplexed(StampedLogReader& reader, std::string_view bytes, std::size_t cut) {
  LogDemuxer demux([&](LogStream s, std::string_view p) { reader.feed(s, p); },
                   [&](LogStream s, std::uint32_t n) { reader.frame(s, n); });
  REQUIRE(demux.feed(bytes.substr(0, cut)).ok());
  REQUIRE(demux.feed(bytes.substr(cut)).ok());
  reader.end();
}

const LogTime T0{1796263024, 999180721};
LogTime at(std::int64_t plus_nanos) {
  const std::int64_t n = T0.nanos + plus_nanos;
  return LogTime{T0.seconds + n / 1'000'000'000, static_cast<std::uint32_t>(n % 1'000'000'000)};
}

}  // namespace

TEST_CASE("Docker's times: nine, fewer or no fraction digits, Z or an offset; anything else refused") {
  // Read on this machine's dockerd (20.10): `date -u -d 2026-12-03T01:57:04Z +%s` is 1796263024.
  CHECK(parse_log_time("2026-12-03T01:57:04.999180721Z") == LogTime{1796263024, 999180721});
  CHECK(parse_log_time("2026-12-03T01:54:33.28321014Z") == LogTime{1796262873, 283210140});
  CHECK(parse_log_time("2026-12-03T01:57:04Z") == LogTime{1796263024, 0});
  CHECK(parse_log_time("2026-12-03T03:57:04.5+02:00") == LogTime{1796263024, 500000000});
  CHECK(parse_log_time("2026-12-02T23:27:04-02:30") == LogTime{1796263024, 0});
  CHECK(parse_log_time("1970-01-01T00:00:00Z") == LogTime{0, 0});
  CHECK(parse_log_time("2024-02-29T12:00:00Z") == LogTime{1709208000, 0});
  for (const char* bad :
       {"", "hello", "2026-12-03T01:57:04", "2026-12-03T01:57:04.Z", "2026-12-03T01:57:04.1234567890Z",
        "2026-12-03 01:57:04Z", "2026-13-03T01:57:04Z", "2026-12-03T24:57:04Z", "2026-12-03T01:57:04ZZ",
        "2026-12-03T01:57:04+0200", "2026-12-03T01:57:04.5x", "x026-12-03T01:57:04Z"}) {
    INFO(bad);
    CHECK_FALSE(parse_log_time(bad).has_value());
  }
  CHECK(docker::since_param(LogTime{1796263024, 999180721}) == "1796263024.999180721");
  CHECK(docker::since_param(LogTime{1796263024, 5}) == "1796263024.000000005");
  CHECK(docker::earlier(LogTime{10, 100}, 200) == LogTime{9, 999999900});
  CHECK(docker::earlier(LogTime{0, 100}, 200) == LogTime{0, 0});
}

TEST_CASE("Multiplexed: the time is cut off each frame at every split point; pieces of a long line, no newline last") {
  // As dockerd 20.10 sends them: a 40000-byte line in pieces of 16 KiB, each with the first piece's time.
  const std::string big(40000, 'L');
  const std::vector<Message> msgs = {
      {LogStream::Stderr, at(0), "b\n"},
      {LogStream::Stdout, at(35132), "a\n"},
      {LogStream::Stdout, at(40000), big.substr(0, 16384)},
      {LogStream::Stdout, at(40000), big.substr(16384, 16384)},
      {LogStream::Stdout, at(40000), big.substr(32768) + "\n"},
      {LogStream::Stdout, at(999999000), "no-newline"},
  };
  const std::string bytes = multiplexed(msgs);
  for (std::size_t cut = 0; cut <= bytes.size(); cut += (cut < 200 || bytes.size() - cut < 200) ? 1 : 997) {
    Collected c(false);
    feed_multiplexed(c.reader, bytes, cut);
    REQUIRE(c.text[LogStream::Stdout] == "a\n" + big + "\nno-newline");
    REQUIRE(c.text[LogStream::Stderr] == "b\n");
    REQUIRE(c.times.size() == msgs.size());
    for (std::size_t i = 0; i < msgs.size(); ++i) REQUIRE(c.times[i] == msgs[i].time);
    REQUIRE(c.reader.unstamped() == 0);
  }
}

TEST_CASE("Multiplexed: a frame without a time is handed out whole; an empty frame is no message") {
  Collected c(false);
  const std::string bytes = frame(LogStream::Stdout, "") + frame(LogStream::Stdout, "plain line\n") +
                            frame(LogStream::Stderr, docker_time(T0) + " err\n") +
                            frame(LogStream::Stdout, std::string(60, 'x') + " y\n") + frame(LogStream::Stdout, "2026");
  feed_multiplexed(c.reader, bytes, 13);
  CHECK(c.text[LogStream::Stdout] == "plain line\n" + std::string(60, 'x') + " y\n2026");
  CHECK(c.text[LogStream::Stderr] == "err\n");
  CHECK(c.reader.messages() == 4);
  CHECK(c.reader.unstamped() == 3);
}

TEST_CASE("TTY: messages end at a newline or at 16 KiB, at every chunking, the last one without a newline") {
  // A TTY's raw stream as dockerd 20.10 sends it: "\r\n" line ends, a 40000-byte line's pieces back to
  // back (16384 bytes each, no newline between), each with its time.
  const std::string big(40000, 'L');
  const std::vector<Message> msgs = {
      {LogStream::Stdout, at(0), "a\r\n"},
      {LogStream::Stdout, at(52429), "b with spaces \r\n"},
      {LogStream::Stdout, at(60000), big.substr(0, 16384)},
      {LogStream::Stdout, at(60000), big.substr(16384, 16384)},
      {LogStream::Stdout, at(60000), big.substr(32768) + "\r\n"},
      {LogStream::Stdout, at(70000), std::string(16384, 'M')},  // exactly 16 KiB, then its newline alone
      {LogStream::Stdout, at(70000), "\n"},
      {LogStream::Stdout, at(80000), "no-newline"},
  };
  const std::string bytes = raw_tty(msgs);
  const std::string want = "a\r\nb with spaces \r\n" + big + "\r\n" + std::string(16384, 'M') + "\nno-newline";
  for (std::size_t step : {std::size_t{1}, std::size_t{7}, std::size_t{4096}, bytes.size()}) {
    INFO("pieces of " << step);
    Collected c(true);
    for (std::size_t i = 0; i < bytes.size(); i += step) {
      c.reader.feed(LogStream::Stdout, std::string_view(bytes).substr(i, step));
    }
    c.reader.end();
    REQUIRE(c.text[LogStream::Stdout] == want);
    REQUIRE(c.times.size() == msgs.size());
    for (std::size_t i = 0; i < msgs.size(); ++i) REQUIRE(c.times[i] == msgs[i].time);
    REQUIRE(c.reader.unstamped() == 0);
  }
}

TEST_CASE("Cursor: nothing handed out reads everything; a read from since() skips exactly what was given") {
  LogCursor cursor(false);
  CHECK_FALSE(cursor.since().has_value());
  cursor.begin_read();
  CHECK(cursor.take(LogStream::Stdout, at(0)));
  CHECK(cursor.take(LogStream::Stderr, at(10)));
  CHECK(cursor.take(LogStream::Stdout, at(20)));
  CHECK(cursor.take(LogStream::Stdout, at(20)));  // a long line's second piece: the same time
  CHECK(cursor.since() == at(10));                // the older of the two streams' last times
  // Docker from since (inclusive): both streams again from at(10), then what is new.
  cursor.begin_read();
  CHECK_FALSE(cursor.take(LogStream::Stderr, at(10)));
  CHECK_FALSE(cursor.take(LogStream::Stdout, at(20)));
  CHECK_FALSE(cursor.take(LogStream::Stdout, at(20)));
  CHECK(cursor.take(LogStream::Stdout, at(20)));  // the third piece: the followed stream had not given it
  CHECK(cursor.take(LogStream::Stderr, at(25)));
  CHECK(cursor.take(LogStream::Stdout, at(30)));
  CHECK(cursor.skipped() == 3);
  CHECK(cursor.taken() == 7);

  SECTION("a quiet stream: a margin before the last message") {
    LogCursor c(false);
    c.take(LogStream::Stdout, LogTime{100, 5});
    CHECK(c.since() == LogTime{99, 5});
  }
  SECTION("a TTY has no stderr to wait for") {
    LogCursor c(true);
    c.take(LogStream::Stdout, LogTime{100, 5});
    CHECK(c.since() == LogTime{100, 5});
  }
}

TEST_CASE("Cursor: after another reader (the attached stream), reads start at its end, older messages skipped") {
  LogCursor cursor(false);
  cursor.start_after(at(50));
  CHECK(cursor.since() == at(50));  // no quiet margin: both streams were read up to there
  cursor.begin_read();
  CHECK_FALSE(cursor.take(LogStream::Stdout, at(40)));
  CHECK_FALSE(cursor.take(LogStream::Stderr, at(49)));
  CHECK(cursor.take(LogStream::Stdout, at(50)));  // timed at the end itself: not given by the other reader
  CHECK(cursor.take(LogStream::Stderr, at(60)));
  CHECK(cursor.take(LogStream::Stdout, at(60)));
  CHECK(cursor.taken() == 3);
  CHECK(cursor.skipped() == 2);
  CHECK(cursor.since() == at(60));
}

// The property: whatever prefix of the log the followed stream gave before it ended, a second read
// from since() (Docker: the messages at or after it, in the log's order) completes each stream exactly
// once and in order. The log: two streams written by two copiers (each stream's times never go down,
// but a stream's message can be written after a newer one of the other), long lines in pieces with one
// time, and messages sharing a time.
TEST_CASE("Any cut of the followed stream, then the catch-up from since(): each stream whole, nothing twice") {
  std::vector<Message> log;
  std::int64_t t_out = 0, t_err = 0;
  for (int i = 0; i < 60; ++i) {
    if (i % 7 == 3) {  // a long line: three pieces with its first piece's time
      for (int p = 0; p < 3; ++p) {
        log.push_back({LogStream::Stdout, at(t_out), fmt::format("long {} piece {}{}", i, p, p == 2 ? "\n" : "")});
      }
    } else {
      log.push_back({LogStream::Stdout, at(t_out), fmt::format("out {}\n", i)});
    }
    if (i % 5 != 4) t_out += 1000;  // every fifth line shares the next one's time
    if (i % 3 == 0) {
      // stderr timed before the stdout line just written, but written after it
      log.push_back({LogStream::Stderr, at(t_out - 1500 > t_err ? t_out - 1500 : t_err), fmt::format("err {}\n", i)});
      t_err = t_out - 1500 > t_err ? t_out - 1500 : t_err;
    }
  }
  std::map<LogStream, std::string> want;
  for (const auto& m : log) want[m.stream] += m.bytes;

  for (bool quiet_stderr : {false, true}) {
    std::vector<Message> full;
    for (const auto& m : log) {
      if (!quiet_stderr || m.stream == LogStream::Stdout || m.time > log[log.size() / 2].time) full.push_back(m);
    }
    std::map<LogStream, std::string> want_here;
    for (const auto& m : full) want_here[m.stream] += m.bytes;
    const std::string stream = multiplexed(full);
    // The followed stream ends after any byte: at a frame's end (Docker's clean early end) or inside
    // one (a connection lost).
    for (std::size_t given = 0; given <= stream.size(); ++given) {
      INFO("quiet stderr " << quiet_stderr << ", the followed stream gave " << given << " byte(s)");
      LogCursor cursor(false);
      std::map<LogStream, std::string> got;
      bool keep = true;
      StampedLogReader reader(
          false, [&](LogStream s, std::optional<LogTime> t) { keep = !t || cursor.take(s, *t); },
          [&](LogStream s, std::string_view piece) {
            if (keep) got[s].append(piece);
          });
      feed_multiplexed(reader, std::string_view(stream).substr(0, given), given / 2);
      std::vector<Message> again;
      const auto since = cursor.since();
      for (const auto& m : full) {
        if (!since || m.time >= *since) again.push_back(m);
      }
      cursor.begin_read();
      feed_multiplexed(reader, multiplexed(again), 0);
      REQUIRE(got[LogStream::Stdout] == want_here[LogStream::Stdout]);
      REQUIRE(got[LogStream::Stderr] == want_here[LogStream::Stderr]);
    }
  }
  CHECK_FALSE(want[LogStream::Stderr].empty());
}

TEST_CASE("match_suffix: where the pattern's start is the text's end, and whether it is in the text at all") {
  using docker::match_suffix;
  struct Row {
    std::string text, pattern;
    bool occurs;
    std::vector<std::size_t> lengths;
  };
  const std::vector<Row> rows = {
      {"line 1\nline 2\n", "line 2\nline 3\n", false, {7}},
      {"line 1\nline 2\n", "line 1\n", true, {}},
      {"line 1\nline 2\n", "line 1\nline 2\n", true, {14}},
      {"aaaa", "aa", true, {2, 1}},
      {"abab", "ababx", false, {4, 2}},
      {"", "a", false, {}},
      {"abc", "", true, {}},
      {"xyz", "q", false, {}},
  };
  for (const auto& r : rows) {
    INFO("text '" << r.text << "', pattern '" << r.pattern << "'");
    const auto m = match_suffix(r.text, r.pattern);
    CHECK(m.occurs == r.occurs);
    CHECK(m.lengths == r.lengths);
  }
  // Against the plain definition, every text and pattern of up to 6 letters over {a, b}.
  const auto all = [](std::size_t n) {
    std::vector<std::string> v;
    for (std::size_t len = 0; len <= n; ++len) {
      for (std::size_t bits = 0; bits < (std::size_t{1} << len); ++bits) {
        std::string s;
        for (std::size_t i = 0; i < len; ++i) s += (bits >> i) & 1 ? 'b' : 'a';
        v.push_back(s);
      }
    }
    return v;
  };
  for (const auto& text : all(6)) {
    for (const auto& pattern : all(4)) {
      std::vector<std::size_t> want;
      for (std::size_t l = std::min(text.size(), pattern.size()); l > 0; --l) {
        if (text.compare(text.size() - l, l, pattern, 0, l) == 0) want.push_back(l);
      }
      const auto m = match_suffix(text, pattern);
      REQUIRE(m.occurs == (text.find(pattern) != std::string::npos));
      REQUIRE(m.lengths == want);
    }
  }
}

TEST_CASE("Output tail: the last 64 KiB of each stream, whatever the pieces") {
  docker::OutputTail tail;
  std::string out;
  for (int i = 0; i < 20000; ++i) {
    const std::string line = fmt::format("line {}\n", i);
    tail.add(LogStream::Stdout, line);
    out += line;
  }
  tail.add(LogStream::Stderr, "oops\n");
  CHECK(tail.take(LogStream::Stdout) == out.substr(out.size() - docker::OutputTail::kBytes));
  CHECK(tail.take(LogStream::Stderr) == "oops\n");
  CHECK(tail.take(LogStream::Stdout).empty());
  const std::string big(docker::OutputTail::kBytes + 10, 'x');
  tail.add(LogStream::Stdout, "y");
  tail.add(LogStream::Stdout, big);
  CHECK(tail.take(LogStream::Stdout) == big.substr(10));
}

namespace {

// The attached stream gave out lines 1..given of stdout (with `err` on stderr), the last at `cut`; the
// read of Docker's log from `cut` gives `log` (each message: stream, time, bytes). Returns what goes on
// per stream ("|" where the tail's cut line is ended as it is), with idle() after the messages whose
// index is in `idle_after`.
std::map<LogStream, std::string> through_overlap(const std::string& out_tail, const std::string& err_tail,
                                                 const std::vector<Message>& log, LogTime cut,
                                                 const std::vector<std::size_t>& idle_after, bool end = true,
                                                 std::uint64_t* dropped = nullptr) {
  std::map<LogStream, std::string> got;
  docker::CutOverlap overlap(
      out_tail, err_tail, cut, [&](LogStream s, std::string_view b) { got[s].append(b); },
      [&](LogStream s) { got[s].append("|"); }, [] { return at(0); });
  for (std::size_t i = 0; i < log.size(); ++i) {
    overlap.message(log[i].stream, log[i].time);
    // a message may come in pieces
    const std::string& b = log[i].bytes;
    overlap.payload(log[i].stream, std::string_view(b).substr(0, b.size() / 2));
    overlap.payload(log[i].stream, std::string_view(b).substr(b.size() / 2));
    if (std::find(idle_after.begin(), idle_after.end(), i) != idle_after.end()) overlap.idle();
  }
  if (end) overlap.end();
  if (dropped) *dropped = overlap.dropped();
  return got;
}

}  // namespace

// The property: Docker stamps a line when its log copier takes it, which can be after the attached
// stream handed the same line out; so the read from the last piece's time can begin with up to a few
// lines the attached stream gave. Whatever their number, wherever the reads go idle, each line is
// given out once, in order.
TEST_CASE(
    "After a cut, the lines the attached stream gave again at the start of Docker's log are skipped, at every idle "
    "point") {
  const int lines = 12;
  std::vector<std::string> text;
  for (int i = 1; i <= lines; ++i) text.push_back(fmt::format("line {}\n", i));
  for (int given = 1; given <= lines; ++given) {
    for (bool cut_in_line : {false, true}) {
      if (cut_in_line && given == lines) continue;
      std::string tail;
      for (int i = 0; i < given; ++i) tail += text[i];
      if (cut_in_line) tail += text[given].substr(0, 3);  // the next line's start
      for (int lagged = 0; lagged <= std::min(given, 3); ++lagged) {
        // Docker's log from the cut: the `lagged` last given lines (stamped after it), then the rest.
        std::vector<Message> log;
        for (int i = given - lagged; i < lines; ++i) log.push_back({LogStream::Stdout, at(1000 * (i + 1)), text[i]});
        std::string want;
        for (int i = given; i < lines; ++i) want += text[i];
        if (cut_in_line) want.erase(0, 3);  // the cut line's rest completes it
        for (std::size_t idle = 0; idle <= log.size(); ++idle) {
          INFO(given << " given" << (cut_in_line ? " and a line's start" : "") << ", " << lagged
                     << " of them again in the log, idle after message " << idle);
          std::uint64_t dropped = 0;
          auto got = through_overlap(tail, "", log, at(0), {idle}, true, &dropped);
          REQUIRE(got[LogStream::Stdout] == want);
          REQUIRE(dropped == static_cast<std::uint64_t>(lagged));
        }
        // Idle after every message.
        std::vector<std::size_t> every(log.size());
        for (std::size_t i = 0; i < every.size(); ++i) every[i] = i;
        REQUIRE(through_overlap(tail, "", log, at(0), every)[LogStream::Stdout] == want);
      }
    }
  }
}

TEST_CASE("After a cut: new lines that only look like older ones, late lines, other streams and long runs go on") {
  const std::string tail = "a\nb\nc\n";
  SECTION("a new line equal to a line before the tail's end is held until the next one shows it is new") {
    const std::vector<Message> log = {{LogStream::Stdout, at(10), "a\n"}, {LogStream::Stdout, at(20), "d\n"}};
    CHECK(through_overlap(tail, "", log, at(0), {0})[LogStream::Stdout] == "a\nd\n");
    // no next one: the read's end gives it
    CHECK(through_overlap(tail, "", {log[0]}, at(0), {0})[LogStream::Stdout] == "a\n");
    // the read has not ended: still held
    CHECK(through_overlap(tail, "", {log[0]}, at(0), {0}, false)[LogStream::Stdout].empty());
  }
  SECTION("a message stamped 2 s after the cut is never held, nor compared") {
    const LogTime cut = at(0);
    const std::vector<Message> log = {{LogStream::Stdout, docker::earlier(cut, -2'000'000'000), "c\n"}};
    CHECK(through_overlap(tail, "", log, cut, {}, false)[LogStream::Stdout] == "c\n");
    const std::vector<Message> late = {{LogStream::Stdout, at(5), "c\n"},
                                       {LogStream::Stdout, docker::earlier(cut, -2'000'000'000), "c\n"}};
    CHECK(through_overlap(tail, "", late, cut, {}, false)[LogStream::Stdout] == "c\n");
  }
  SECTION("each stream against its own tail; a stream the attached stream gave nothing on is never held") {
    const std::vector<Message> log = {{LogStream::Stderr, at(5), "e2\n"},
                                      {LogStream::Stdout, at(6), "c\n"},
                                      {LogStream::Stderr, at(7), "e3\n"},
                                      {LogStream::Stdout, at(8), "d\n"}};
    auto got = through_overlap(tail, "e1\ne2\n", log, at(0), {});
    CHECK(got[LogStream::Stdout] == "d\n");
    CHECK(got[LogStream::Stderr] == "e3\n");
    got = through_overlap(tail, "", log, at(0), {}, false);
    CHECK(got[LogStream::Stderr] == "e2\ne3\n");
  }
  SECTION("more bytes held than the tail has: decided at once, the message goes on as it comes") {
    std::vector<Message> log = {{LogStream::Stdout, at(5), "c\n"}, {LogStream::Stdout, at(6), std::string(20, 'x')}};
    CHECK(through_overlap(tail, "", log, at(0), {}, false)[LogStream::Stdout] == std::string(20, 'x'));
  }
  SECTION("many messages held: the longest run of them that is the tail's end, however long") {
    std::string tail_lines;
    std::vector<Message> log;
    for (int i = 0; i < 3000; ++i) {
      const std::string line = fmt::format("n {}\n", i);
      tail_lines += line;
      if (i >= 1000) log.push_back({LogStream::Stdout, at(i), line});
    }
    for (int i = 3000; i < 3010; ++i) log.push_back({LogStream::Stdout, at(i), fmt::format("n {}\n", i)});
    std::uint64_t dropped = 0;
    const auto got = through_overlap(tail_lines, "", log, at(0), {}, true, &dropped);
    CHECK(dropped == 2000);
    CHECK(got.at(LogStream::Stdout).rfind("n 3000\n", 0) == 0);
  }
  SECTION("a tail that ends inside a line (the cut went through it): the line's rest goes on, or the start is ended") {
    const std::vector<Message> log = {
        {LogStream::Stdout, at(5), "b\n"}, {LogStream::Stdout, at(6), "line c\n"}, {LogStream::Stdout, at(7), "d\n"}};
    for (std::size_t idle = 0; idle < log.size(); ++idle) {
      INFO("idle after message " << idle);
      std::uint64_t dropped = 0;
      CHECK(through_overlap("a\nb\nlin", "", log, at(0), {idle}, true, &dropped)[LogStream::Stdout] == "e c\nd\n");
      CHECK(dropped == 1);
      // only the newline was missing
      CHECK(through_overlap("a\nb\nline c", "", log, at(0), {idle})[LogStream::Stdout] == "\nd\n");
    }
    // A tail that ends with a line's end never matches inside a message.
    CHECK(through_overlap("a\nb\nlin\n", "", log, at(0), {})[LogStream::Stdout] == "b\nline c\nd\n");
    // The log does not have the cut line's rest: its start is ended as a line of its own, first.
    CHECK(through_overlap("a\nb\nlin", "", {{LogStream::Stdout, at(5), "x\n"}}, at(0), {})[LogStream::Stdout] ==
          "|x\n");
    // ... also when the first message is stamped after the window (looked at as the rest first).
    const std::vector<Message> late = {{LogStream::Stdout, docker::earlier(at(0), -3'000'000'000), "x\n"}};
    CHECK(through_overlap("a\nb\nlin", "", late, at(0), {0}, false)[LogStream::Stdout] == "|x\n");
  }
  SECTION("lines equal to the tail's last ones right after the cut are taken as given (nothing tells them apart)") {
    const std::vector<Message> log = {{LogStream::Stdout, at(5), "c\n"}};
    std::uint64_t dropped = 0;
    CHECK(through_overlap(tail, "", log, at(0), {}, true, &dropped)[LogStream::Stdout].empty());
    CHECK(dropped == 1);
  }
}

TEST_CASE("After a cut: repeated lines, a line's end, blank lines, a slow writer's cut line, a quiet stream") {
  using docker::CutOverlap;
  SECTION("a run that is in the tail twice waits until it is only its end") {
    const std::vector<Message> log = {{LogStream::Stdout, at(1), "ok\n"},
                                      {LogStream::Stdout, at(2), "y\n"},
                                      {LogStream::Stdout, at(3), "ok\n"},
                                      {LogStream::Stdout, at(4), "z\n"}};
    for (std::size_t idle = 0; idle < log.size(); ++idle) {
      INFO("idle after message " << idle);
      std::uint64_t dropped = 0;
      CHECK(through_overlap("x\nok\ny\nok\n", "", log, at(0), {idle}, true, &dropped)[LogStream::Stdout] == "z\n");
      CHECK(dropped == 3);
    }
    CHECK(through_overlap("x\nok\ny\nok\n", "", log, at(0), {0, 1, 2, 3})[LogStream::Stdout] == "z\n");
  }
  SECTION("a match counts only from a line's start in the tail") {
    CHECK(through_overlap("x\nab\n", "", {{LogStream::Stdout, at(1), "b\n"}}, at(0), {0})[LogStream::Stdout] == "b\n");
    CHECK(through_overlap("a\n", "", {{LogStream::Stdout, at(1), "\n"}}, at(0), {0})[LogStream::Stdout] == "\n");
    // a cut line's end that looks like a new line is not taken for it
    CHECK(through_overlap("x\nfoo ab", "", {{LogStream::Stdout, at(1), "ab\n"}}, at(0), {0})[LogStream::Stdout] ==
          "|ab\n");
  }
  SECTION("a piece of a long line that is the tail's end: the next piece continues the line") {
    const std::vector<Message> log = {{LogStream::Stdout, at(1), "p1"}, {LogStream::Stdout, at(1), "p2\n"}};
    std::uint64_t dropped = 0;
    CHECK(through_overlap("a\np1", "", log, at(0), {0}, true, &dropped)[LogStream::Stdout] == "p2\n");
    CHECK(dropped == 1);
  }
  SECTION("a slow writer's cut line, its rest stamped past the window, is continued") {
    const std::vector<Message> log = {{LogStream::Stdout, docker::earlier(at(0), -3'000'000'000), "loading.. done\n"},
                                      {LogStream::Stdout, docker::earlier(at(0), -4'000'000'000), "next\n"}};
    CHECK(through_overlap("a\nloading..", "", log, at(0), {})[LogStream::Stdout] == " done\nnext\n");
    CHECK(through_overlap("a\nloading..", "", log, at(0), {0})[LogStream::Stdout] == " done\nnext\n");
  }
  SECTION("held lines are decided once the stream is quiet past the window") {
    LogTime clock = at(0);
    std::string got;
    CutOverlap overlap(
        "a\nb\nc\n", "", at(0), [&](LogStream, std::string_view b) { got.append(b); }, [&](LogStream) { got += "|"; },
        [&] { return clock; });
    overlap.message(LogStream::Stdout, at(10));
    overlap.payload(LogStream::Stdout, "a\n");  // new, but also in the tail: held
    overlap.idle();
    CHECK(got.empty());
    clock = docker::earlier(at(0), -900'000'000);  // quiet, but within the window
    overlap.idle();
    CHECK(got.empty());
    clock = docker::earlier(at(0), -1'100'000'000);  // past it
    overlap.idle();
    CHECK(got == "a\n");
    CHECK(overlap.dropped() == 0);
    CHECK_FALSE(overlap.holding());
  }
  SECTION("a read busy with the other stream is not quiet") {
    LogTime clock = docker::earlier(at(0), -1'500'000'000);  // past the window
    std::string out, err;
    CutOverlap overlap(
        "A\nB\n", "", at(0), [&](LogStream s, std::string_view b) { (s == LogStream::Stderr ? err : out).append(b); },
        [&](LogStream) { out += "|"; }, [&] { return clock; });
    overlap.message(LogStream::Stdout, at(1));
    overlap.payload(LogStream::Stdout, "A\n");
    overlap.idle();
    CHECK(overlap.holding());
    clock = docker::earlier(clock, -250'000'000);
    overlap.message(LogStream::Stderr, at(2));
    overlap.payload(LogStream::Stderr, "e\n");
    clock = docker::earlier(clock, -50'000'000);
    overlap.idle();  // stdout has been quiet 0.3 s, the read only 0.05 s
    CHECK(out.empty());
    overlap.message(LogStream::Stdout, at(3));
    overlap.payload(LogStream::Stdout, "B\n");
    overlap.idle();
    CHECK(out.empty());
    CHECK(err == "e\n");
    CHECK(overlap.dropped() == 2);
    CHECK_FALSE(overlap.holding());
  }
}
