// Sandbox log files: rotation, safe opening, the writer thread.
#include "logs/sandbox_log.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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

util::Result<void> RotatingFile::write_line(std::string_view line) {
  if (fd_ < 0) {
    if (auto r = open_current(); !r) return r;
  }
  if (size_ > 0 && size_ + line.size() > max_size_) {
    if (auto r = rotate(); !r) return r;
  }
  while (!line.empty()) {
    const ssize_t n = ::write(fd_, line.data(), line.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("write " + name_);
    }
    size_ += static_cast<std::uint64_t>(n);
    line.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
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
      err_([this](std::string_view l) { enqueue(true, l); }) {
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

void SandboxLog::flush() {
  out_.flush();
  err_.flush();
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
  {
    std::lock_guard<std::mutex> lock(mu_);
    // What a queued line really costs: its text and its entry (a flood of empty lines is not free).
    if (queued_bytes_ + line.size() + 1 + kEntryCost > opts_.queue_bytes) {
      ++dropped_;
      return;
    }
    std::string text;
    text.reserve(line.size() + 1);
    text.append(line);
    text.push_back('\n');
    queued_bytes_ += text.size() + kEntryCost;
    queue_.push_back(Line{is_stderr, std::move(text)});
  }
  cv_.notify_one();
}

void SandboxLog::run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stop_, and everything written
    if (stop_ && std::chrono::steady_clock::now() > stop_by_) {
      dropped_ += queue_.size();  // a disk this slow does not hold up the executor's exit
      queue_.clear();
      queued_bytes_ = 0;
      return;
    }
    Line line = std::move(queue_.front());
    queue_.pop_front();
    queued_bytes_ -= line.text.size() + kEntryCost;
    writing_ = true;
    lock.unlock();
    auto r = (line.is_stderr ? err_file_ : out_file_).write_line(line.text);
    lock.lock();
    writing_ = false;
    if (r) {
      ++written_;
    } else {
      ++dropped_;
      if (!warned_) {
        warned_ = true;
        spdlog::warn("sandbox log: {} (this line and later failures are dropped and counted)", r.error().message);
      }
    }
    if (queue_.empty()) drained_.notify_all();
  }
}

}  // namespace logs
