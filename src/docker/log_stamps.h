// Docker's log messages read with timestamps=1, and reading the log again without giving a line twice.
//
// With timestamps=1 every log message starts with its time (RFC 3339 with up to nine fraction digits,
// UTC: "2026-12-03T01:54:33.28321014Z") and one space. A message is a line with its newline, or a
// piece of a longer line: Docker's log copier cuts a line at 16 KiB (kPartialBytes), each piece a
// message of its own without a newline and all pieces with the first piece's time; a last line
// without a newline is a message without one. Multiplexed (no TTY), each message is one frame; a
// TTY's raw stream has no frames, so a message there ends at its newline or at kPartialBytes.
//
// Within one stream (stdout, stderr) the times never go down, and every read of the log gives a
// stream's messages in the same order; `since` (unix seconds and nine fraction digits) is inclusive:
// a message at exactly that time is given. So what a read gave is known by stream, last time and how
// many messages had that time (LogCursor), and a later read from that time can skip exactly that.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "docker/log_demux.h"

namespace docker {

// A log message's time: unix seconds and nanoseconds.
struct LogTime {
  std::int64_t seconds = 0;
  std::uint32_t nanos = 0;
  auto operator<=>(const LogTime&) const = default;
};

// "2026-12-03T01:54:33.28321014Z" (zero to nine fraction digits; "Z" or an offset "+05:30") → the time;
// nullopt for anything else.
std::optional<LogTime> parse_log_time(std::string_view text);
// The `since` value that includes `t`: "1796263024.283210140".
std::string since_param(LogTime t);
// `t` less `nanos` nanoseconds (not before the epoch).
LogTime earlier(LogTime t, std::int64_t nanos);

// Docker's log copier's buffer: a longer line comes in pieces of this size (the last one shorter).
inline constexpr std::size_t kPartialBytes = 16 * 1024;
// Longest time prefix taken (the longest RFC 3339 time with nanoseconds and an offset is 35 bytes).
inline constexpr std::size_t kMaxTimePrefix = 40;

// Cuts the time off each message of one read and hands out whole messages only: `on_message` gets
// a message's stream and time (nullopt when it does not start with a time and a space: then its bytes
// are all payload), then `on_payload` its bytes. A message the read ends inside is not handed out
// (multiplexed: its frame is not whole), so that the next read, which gives it again, hands it out
// whole; a TTY's last message is handed out at the end of the read (a TTY stream has no frames to tell
// a cut message from a last line without a newline). A message over kMaxMessage is handed out in
// pieces as it comes.
class StampedLogReader {
 public:
  using OnMessage = std::function<void(LogStream, std::optional<LogTime>)>;
  using OnPayload = std::function<void(LogStream, std::string_view)>;
  StampedLogReader(bool tty, OnMessage on_message, OnPayload on_payload)
      : tty_(tty), on_message_(std::move(on_message)), on_payload_(std::move(on_payload)), in_prefix_(tty) {}

  // Multiplexed: a frame of `s` with `length` payload bytes begins (the demuxer's frame header).
  void frame(LogStream s, std::uint32_t length);
  // The bytes that follow (multiplexed: of the current frame; TTY: the raw stream, `s` stdout).
  void feed(LogStream s, std::string_view bytes);
  // The read ended (see above). Ready for another read.
  void end();

  static constexpr std::size_t kMaxMessage = std::size_t{1} << 20;

  std::uint64_t messages() const { return messages_; }    // handed out
  std::uint64_t unstamped() const { return unstamped_; }  // handed out without a readable time
  std::uint64_t cut() const { return cut_; }              // left out: the read ended inside them

 private:
  void finish_prefix(bool complete);
  void payload(std::string_view bytes, bool last);
  void begin_message(std::optional<LogTime> t);

  bool tty_;
  OnMessage on_message_;
  OnPayload on_payload_;
  bool in_prefix_;           // reading a message's time
  bool in_message_ = false;  // past its time, reading its payload
  bool streaming_ = false;   // the message is over kMaxMessage: handed out as it comes
  LogStream stream_ = LogStream::Stdout;
  std::string prefix_;
  std::optional<LogTime> time_;
  std::string held_;              // the current message's payload so far
  std::uint64_t frame_left_ = 0;  // multiplexed: bytes of the current frame still to come
  std::size_t content_ = 0;       // TTY: the current message's payload bytes so far
  std::uint64_t messages_ = 0, unstamped_ = 0, cut_ = 0;
};

// What the reads of one container's log have handed out, per stream: the last message's time and how
// many messages had exactly that time. A new read is asked from since() and gives each message to
// take(), which says whether it is new.
class LogCursor {
 public:
  // A TTY's output is one stream (stdout): stderr is never waited for.
  explicit LogCursor(bool tty) : tty_(tty) {}

  // A read begins: in each stream, the messages before its first new one were handed out.
  void begin_read();
  // Another reader (the attached stream) handed out everything of both streams timed before `t`:
  // reads start at `t`, and a message timed `t` or later is new.
  void start_after(LogTime t);
  // True when the message was not handed out before (it now counts as handed out).
  bool take(LogStream s, LogTime t);
  // Where the next read starts; nullopt when nothing was handed out (read everything). A stream that
  // has handed out nothing yet may hold messages a little older than the last one handed out (the two
  // streams are timed and written by two copiers): kQuietMargin before it is read again.
  std::optional<LogTime> since() const;
  static constexpr std::int64_t kQuietMarginNanos = 1'000'000'000;

  std::uint64_t taken() const { return taken_; }      // new messages, all reads
  std::uint64_t skipped() const { return skipped_; }  // messages given again and skipped, all reads

 private:
  struct Stream {
    bool any = false;
    LogTime last;
    std::uint64_t at_last = 0;  // messages handed out with time `last`
    bool skipping = false;      // this read has not yet given a new message of the stream
    std::uint64_t skip_left = 0;
  };
  Stream& at(LogStream s) { return s == LogStream::Stderr ? err_ : out_; }

  bool tty_;
  Stream out_, err_;
  bool any_ = false;
  LogTime latest_;  // the last message handed out, either stream
  std::uint64_t taken_ = 0, skipped_ = 0;
};

// The last bytes the attached stream gave, per stream (kBytes each, at least: older bytes are let go
// in blocks, so the cost is one copy per byte).
class OutputTail {
 public:
  static constexpr std::size_t kBytes = 64 * 1024;
  void add(LogStream s, std::string_view bytes);
  std::string take(LogStream s);  // the tail (at most kBytes), and this one is emptied

 private:
  std::string out_, err_;
};

// After the attached stream was cut, Docker's log is read from the wall-clock time of its last piece
// (LogCursor::start_after). Docker's log copier stamps a line when it takes it from its own buffer,
// which can be after the attached stream has handed the same line out (moby container/stream/
// streams.go: the copier's input is a buffered pipe beside the attach in the output broadcaster), so
// that read can begin with lines the attached stream gave. Per stream, the read's first messages are
// held while they can still be the end of what the attached stream gave (its tail: at most as many
// bytes), and those that are its end, from a line's start, are dropped; the rest go to `give`, in
// order. What is held is decided once it is in the tail only as its end, or not in it; at the read's
// end; past the tail's size; when a message stamped kWindow after the cut comes (never held itself);
// or when the read has been quiet kQuiet (idle() from a quiet wait) once kWindow has passed by `now`.
// Lines equal to the tail's last ones within kWindow of the cut are taken as given: nothing else tells
// them apart. A tail that ends inside a line (the cut went through it) is continued by that line's
// rest when the log has it; else `end_line` is called for the stream first (the line's start goes out
// as a line of its own, never joined to another).
class CutOverlap {
 public:
  using Give = std::function<void(LogStream, std::string_view)>;
  using EndLine = std::function<void(LogStream)>;
  using Now = std::function<LogTime()>;  // the wall clock
  static constexpr std::int64_t kWindowNanos = 1'000'000'000;
  static constexpr std::int64_t kQuietNanos = 200'000'000;

  CutOverlap(std::string out_tail, std::string err_tail, LogTime cut, Give give, EndLine end_line, Now now);
  // A new message of `s` begins (`t`: its time, when it has one); its bytes follow through payload().
  void message(LogStream s, std::optional<LogTime> t);
  void payload(LogStream s, std::string_view bytes);
  // All that was received so far was handed in (after a receive, or a quiet wait).
  void idle();
  // The read ended: what is held is decided.
  void end();

  std::uint64_t dropped() const { return dropped_; }  // messages found at the end of the tail
  bool holding() const;                               // messages are held (idle() is then wanted in a quiet read too)

 private:
  struct Stream {
    std::string tail;
    std::vector<bool> line_start;            // tail positions where a line (or a 16 KiB piece of one) starts
    bool open = true;                        // still looking for the tail's end
    std::vector<std::size_t> ends;           // the held messages' ends in `held`
    std::string held;                        // their bytes
    bool holding = false;                    // the current message is held
    bool last_chance = false;                // the held message is stamped past the window: decided after it
    std::size_t checks = 0, checked_at = 0;  // idle checks so far; held's size at the last one
  };
  Stream& at(LogStream s) { return s == LogStream::Stderr ? err_ : out_; }
  // Idle: nothing more received for now; Final: decided now.
  enum class Settle { Idle, Final };
  void settle(LogStream s, Settle how);

  Stream out_, err_;
  LogTime until_;
  Give give_;
  EndLine end_line_;
  Now now_;
  LogTime last_at_;  // wall clock: the last message of the read, either stream
  std::uint64_t dropped_ = 0;
};

// Lengths L such that the first L bytes of `pattern` are the last L bytes of `text`, longest first
// (0 not included), and where the whole pattern is in `text`. Only matches that begin where
// `starts` says (nullptr: anywhere) count. Linear (Knuth-Morris-Pratt).
struct SuffixMatch {
  bool occurs = false;         // somewhere
  bool occurs_before = false;  // somewhere other than at the text's end
  std::vector<std::size_t> lengths;
};
SuffixMatch match_suffix(std::string_view text, std::string_view pattern, const std::vector<bool>* starts = nullptr);

}  // namespace docker
