// Sandbox log files: rotation, safe opening, the writer thread.
#include "logs/sandbox_log.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <numeric>

namespace logs {

namespace {

util::Error errno_error(const std::string& what) {
  return util::make_error(fmt::format("{}: {}", what, std::strerror(errno)));
}

}  // namespace

RotatingFile::RotatingFile(int dirfd, std::string name, std::uint64_t max_size, int keep)
    : dirfd_(dirfd), name_(std::move(name)), max_size_(max_size), keep_(keep) {}

RotatingFile::~RotatingFile() {
  if (fd_ >= 0) ::close(fd_);
}

// The file as it is when it is a plain file of ours (regular, one link); anything else planted under
// its name (a link, a FIFO, a device node, a hard link to a file elsewhere) is removed and a new file
// made. Whatever is there is first looked at through an O_PATH descriptor, which opens nothing: a
// device's driver or a FIFO's reader never sees an open from us. A regular file is then opened through
// that descriptor, so the file checked is the file written.
util::Result<void> RotatingFile::open_current() {
  for (int attempt = 0; attempt < 3; ++attempt) {
    const int path_fd = ::openat(dirfd_, name_.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (path_fd < 0 && errno == ENOENT) {
      const int fd =
          ::openat(dirfd_, name_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (fd >= 0) {
        fd_ = fd;
        size_ = 0;
        return {};
      }
      if (errno == EEXIST) continue;  // planted meanwhile: look again
      return errno_error(fmt::format("cannot create {}", name_));
    }
    if (path_fd < 0) return errno_error(fmt::format("cannot look at {}", name_));
    struct stat st {};
    if (::fstat(path_fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1) {
      const int fd = ::open(fmt::format("/proc/self/fd/{}", path_fd).c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
      ::close(path_fd);
      struct stat now {};
      if (fd >= 0 && ::fstat(fd, &now) == 0 && now.st_dev == st.st_dev && now.st_ino == st.st_ino) {
        fd_ = fd;
        size_ = static_cast<std::uint64_t>(now.st_size);
        return {};
      }
      if (fd >= 0) ::close(fd);
    } else {
      ::close(path_fd);
    }
    // Not a plain file of ours: removed (a link itself, never its target).
    if (::unlinkat(dirfd_, name_.c_str(), 0) != 0 && errno != ENOENT) {
      return errno_error(fmt::format("cannot replace {}", name_));
    }
  }
  return util::make_error(fmt::format("cannot open {} as a plain file", name_));
}

util::Result<void> RotatingFile::rotate() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  size_ = 0;
  if (keep_ <= 0) {
    if (::unlinkat(dirfd_, name_.c_str(), 0) != 0 && errno != ENOENT) return errno_error("rotate " + name_);
  } else {
    // rename() replaces the target and never follows a link in the last component.
    for (int i = keep_ - 1; i >= 1; --i) {
      const std::string from = fmt::format("{}.{}", name_, i), to = fmt::format("{}.{}", name_, i + 1);
      if (::renameat(dirfd_, from.c_str(), dirfd_, to.c_str()) != 0 && errno != ENOENT) {
        return errno_error("rotate " + from);
      }
    }
    const std::string first = name_ + ".1";
    if (::renameat(dirfd_, name_.c_str(), dirfd_, first.c_str()) != 0 && errno != ENOENT) {
      return errno_error("rotate " + name_);
    }
  }
  return open_current();
}

void RotatingFile::write_lines(std::string_view lines, Outcome& outcome) {
  const auto fail = [&](const util::Error& e) {
    // The line that failed is dropped and the next one tried, as write_line one by one would.
    const std::size_t end = lines.find('\n');
    lines.remove_prefix(end == std::string_view::npos ? lines.size() : end + 1);
    ++outcome.dropped;
    if (outcome.error.empty()) outcome.error = e.message;
  };
  while (!lines.empty()) {
    if (fd_ < 0) {
      if (auto r = open_current(); !r) {
        fail(r.error());
        continue;
      }
    }
    // The first line rotates the file if it would take it past max_size; those after it go in the
    // same write while they fit.
    std::size_t take = lines.find('\n');
    take = take == std::string_view::npos ? lines.size() : take + 1;
    if (size_ > 0 && size_ + take > max_size_) {
      if (auto r = rotate(); !r) {
        fail(r.error());
        continue;
      }
    }
    std::uint64_t count = 1;
    while (take < lines.size()) {
      std::size_t end = lines.find('\n', take);
      end = end == std::string_view::npos ? lines.size() : end + 1;
      if (size_ + end > max_size_) break;
      take = end;
      ++count;
    }
    std::string_view batch = lines.substr(0, take);
    while (!batch.empty()) {
      const ssize_t n = ::write(fd_, batch.data(), batch.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        break;
      }
      size_ += static_cast<std::uint64_t>(n);
      batch.remove_prefix(static_cast<std::size_t>(n));
    }
    if (batch.empty()) {
      outcome.written += count;
      lines.remove_prefix(take);
      continue;
    }
    // A write failed: the lines before it are written, the one it cut is dropped.
    const util::Error e = errno_error("write " + name_);
    const std::string_view done = lines.substr(0, take - batch.size());
    const auto whole = static_cast<std::uint64_t>(std::count(done.begin(), done.end(), '\n'));
    outcome.written += whole;
    lines.remove_prefix(done.size());
    const std::size_t cut = lines.find('\n');
    lines.remove_prefix(cut == std::string_view::npos ? lines.size() : cut + 1);
    ++outcome.dropped;
    if (outcome.error.empty()) outcome.error = e.message;
  }
}

util::Result<std::unique_ptr<SandboxLog>> SandboxLog::open(SandboxLogOptions opts) {
  const int dirfd = ::open(opts.dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dirfd < 0) return errno_error(fmt::format("sandbox folder {}", opts.dir));
  auto log = std::unique_ptr<SandboxLog>(new SandboxLog(std::move(opts), dirfd));
  return log;
}

SandboxLog::SandboxLog(SandboxLogOptions opts, int dirfd)
    : opts_(std::move(opts)),
      dirfd_(dirfd),
      out_file_(dirfd, "container.stdout", opts_.max_size, opts_.keep),
      err_file_(dirfd, "container.stderr", opts_.max_size, opts_.keep),
      out_([this](std::string_view l) { enqueue(false, l); }),
      err_([this](std::string_view l) { enqueue(true, l); }),
      wake_bytes_(std::min(kWakeBytes, opts_.queue_bytes / 4)) {
  writer_ = std::thread([this] { run(); });
}

SandboxLog::~SandboxLog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    stop_by_ = std::chrono::steady_clock::now() + kStopBudget;
  }
  cv_.notify_all();
  writer_.join();
  ::close(dirfd_);
}

void SandboxLog::feed(bool is_stderr, std::string_view data) { (is_stderr ? err_ : out_).feed(data); }

void SandboxLog::write_pending() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.empty() || wake_) return;
    wake_ = true;
  }
  cv_.notify_one();
}

void SandboxLog::flush() {
  out_.flush();
  err_.flush();
  write_pending();
  std::unique_lock<std::mutex> lock(mu_);
  drained_.wait_for(lock, kFlushBudget, [this] { return queue_.empty() && !writing_; });
}

std::uint64_t SandboxLog::written() const {
  std::lock_guard<std::mutex> lock(mu_);
  return written_;
}

std::uint64_t SandboxLog::dropped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dropped_;
}

void SandboxLog::enqueue(bool is_stderr, std::string_view line) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // What a queued line really costs: its text and its entry (a flood of empty lines is not free).
    if (queued_bytes_ + line.size() + 1 + kEntryCost > opts_.queue_bytes) {
      ++dropped_;
      return;
    }
    if (queue_.empty() || queue_.back().is_stderr != is_stderr || queue_.back().text.size() >= kBlockBytes) {
      // A block left with much unused room (the other stream came) gives it back: the bound on
      // queue_bytes is about memory.
      if (!queue_.empty() && queue_.back().text.capacity() - queue_.back().text.size() > 4096) {
        queue_.back().text.shrink_to_fit();
      }
      queue_.push_back(Block{is_stderr, {}, 0});
    }
    Block& b = queue_.back();
    // Grown by doubling up to kBlockBytes, so a full block has little unused room.
    const std::size_t need = b.text.size() + line.size() + 1;
    if (need > b.text.capacity()) b.text.reserve(std::max(need, std::min(2 * b.text.capacity(), kBlockBytes)));
    b.text.append(line);
    b.text.push_back('\n');
    ++b.lines;
    queued_bytes_ += line.size() + 1 + kEntryCost;
    if (!wake_ && queued_bytes_ >= wake_bytes_) wake = wake_ = true;
  }
  if (wake) cv_.notify_one();
}

bool SandboxLog::out_of_time() {
  std::lock_guard<std::mutex> lock(mu_);
  return stop_ && std::chrono::steady_clock::now() > stop_by_;
}

void SandboxLog::run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stop_ || (wake_ && !queue_.empty()); });
    wake_ = false;
    if (queue_.empty()) {
      if (stop_) return;  // everything written
      continue;
    }
    // Everything queued at once; its bytes stay counted until written, so the queue's bound holds.
    std::deque<Block> work;
    work.swap(queue_);
    writing_ = true;
    lock.unlock();
    RotatingFile::Outcome outcome;
    std::size_t done_bytes = 0;
    bool late = false;
    for (const Block& b : work) {
      done_bytes += b.text.size() + b.lines * kEntryCost;
      if (late || (late = out_of_time())) {
        outcome.dropped += b.lines;  // a disk this slow does not hold up the executor's exit
        continue;
      }
      (b.is_stderr ? err_file_ : out_file_).write_lines(b.text, outcome);
    }
    lock.lock();
    writing_ = false;
    queued_bytes_ -= done_bytes;
    written_ += outcome.written;
    dropped_ += outcome.dropped;
    if (!outcome.error.empty() && !warned_) {
      warned_ = true;
      spdlog::warn("sandbox log: {} (this line and later failures are dropped and counted)", outcome.error);
    }
    if (late) {
      dropped_ += std::accumulate(queue_.begin(), queue_.end(), std::uint64_t{0},
                                  [](std::uint64_t n, const Block& b) { return n + b.lines; });
      queue_.clear();
      queued_bytes_ = 0;
      return;
    }
    if (queue_.empty()) drained_.notify_all();
  }
}

}  // namespace logs
