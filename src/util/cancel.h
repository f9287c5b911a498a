// A cancellation flag that a blocked poll() can wait on: set() stores true and makes the flag's
// eventfd readable, so a thread blocked reading a socket wakes at once instead of polling the flag
// on a timer (an idle executor must not wake up several times a second).
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

namespace util {

class CancelFlag {
 public:
  CancelFlag() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  ~CancelFlag() {
    if (fd_ >= 0) ::close(fd_);
  }
  CancelFlag(const CancelFlag&) = delete;
  CancelFlag& operator=(const CancelFlag&) = delete;

  void set() {
    flag_.store(true);
    const std::uint64_t one = 1;
    if (fd_ >= 0) {
      [[maybe_unused]] const auto n = ::write(fd_, &one, sizeof one);
    }
  }
  bool is_set() const { return flag_.load(); }
  explicit operator bool() const { return is_set(); }
  // Readable once set(); -1 if no eventfd could be made (callers then poll the flag on a timer).
  int fd() const { return fd_; }

 private:
  std::atomic<bool> flag_{false};
  int fd_ = -1;
};

}  // namespace util
