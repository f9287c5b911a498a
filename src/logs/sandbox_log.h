// The container's output, live, in the sandbox (EXECUTOR_SANDBOX_LOGS): container.stdout and
// container.stderr, each line once and in order, rotated by size into container.stdout.1 … .<keep>
// (the highest the oldest). Never blocks the log reader: lines go through a bounded queue to a writer
// thread; a line the queue cannot take (a slow disk) is dropped and counted, as the relay drops a
// datagram. The files are opened in the sandbox folder without following links, appended to (an
// executor started again never truncates), and a planted non-regular or hard-linked file is replaced.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "logs/relay.h"
#include "util/result.h"

namespace logs {

struct SandboxLogOptions {
  std::string dir;                                   // the sandbox folder
  std::uint64_t max_size = std::uint64_t{10} << 20;  // EXECUTOR_SANDBOX_LOGS_MAX_SIZE
  int keep = 2;                                      // EXECUTOR_SANDBOX_LOGS_KEEP
  std::size_t queue_bytes = std::size_t{8} << 20;    // lines waiting for the disk, at most
};

// One file of the sandbox folder and its rotations. Used by one thread.
class RotatingFile {
 public:
  RotatingFile(int dirfd, std::string name, std::uint64_t max_size, int keep);
  ~RotatingFile();
  RotatingFile(const RotatingFile&) = delete;
  RotatingFile& operator=(const RotatingFile&) = delete;

  // Appends `lines` (whole lines, each with its newline), as many in one write as fit. Before a line
  // that would take a non-empty file past max_size the file is rotated: a line is never split
  // between two files. Counts the lines written and the lines dropped (each line a write, an open or
  // a rotation failed for; the next line is tried again); `error` is the first failure.
  struct Outcome {
    std::uint64_t written = 0, dropped = 0;
    std::string error;
  };
  void write_lines(std::string_view lines, Outcome& outcome);

 private:
  util::Result<void> open_current();
  util::Result<void> rotate();

  int dirfd_;
  std::string name_;
  std::uint64_t max_size_;
  int keep_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

class SandboxLog {
 public:
  // Opens the sandbox folder (a folder, not a link) and both files; starts the writer.
  static util::Result<std::unique_ptr<SandboxLog>> open(SandboxLogOptions opts);
  ~SandboxLog();  // what is queued is written, then the writer stops
  SandboxLog(const SandboxLog&) = delete;
  SandboxLog& operator=(const SandboxLog&) = delete;

  // The container's output as it comes, per stream (the reader's thread). The writer is woken once
  // kWakeBytes are queued (a quarter of queue_bytes when that is less), or by write_pending.
  void feed(bool is_stderr, std::string_view data);
  // Wakes the writer for what is queued (call when no more input is at hand).
  void write_pending();
  static constexpr std::size_t kWakeBytes = 64 * 1024;
  // Gives out partial last lines (with a newline added) and waits until the queue is written.
  // Bounded: after kFlushBudget it returns with what is still queued (the destructor then has
  // kStopBudget to write it; what is left after that is dropped and counted).
  void flush();
  // Gives out the stream's partial last line as a line of its own (it is not going to be continued).
  void end_line(bool is_stderr) { (is_stderr ? err_ : out_).flush(); }
  static constexpr std::chrono::seconds kFlushBudget{5};
  static constexpr std::chrono::seconds kStopBudget{1};
  static constexpr std::size_t kEntryCost = 64;  // a queued line's bookkeeping, counted in queue_bytes

  std::uint64_t written() const;  // lines
  std::uint64_t dropped() const;  // lines

 private:
  SandboxLog(SandboxLogOptions opts, int dirfd);
  void enqueue(bool is_stderr, std::string_view line);
  void run();
  bool out_of_time();

  SandboxLogOptions opts_;
  int dirfd_;
  RotatingFile out_file_, err_file_;
  LineSplitter out_, err_;
  mutable std::mutex mu_;
  std::condition_variable cv_, drained_;
  // Consecutive lines of one stream, each with its newline.
  struct Block {
    bool is_stderr;
    std::string text;
    std::uint64_t lines = 0;
  };
  static constexpr std::size_t kBlockBytes = 64 * 1024;
  std::deque<Block> queue_;
  std::size_t queued_bytes_ = 0;  // the queue's and the writer's lines, kEntryCost each included
  std::size_t wake_bytes_;
  bool wake_ = false;  // the writer may take the queue
  bool writing_ = false;
  bool stop_ = false;
  std::chrono::steady_clock::time_point stop_by_{};
  std::uint64_t written_ = 0, dropped_ = 0;
  bool warned_ = false;
  std::thread writer_;
};

}  // namespace logs
