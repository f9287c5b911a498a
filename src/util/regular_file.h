// Opening, as root, a file whose name a task may choose (a settings file, a Docker config file): its
// kind is checked before it is opened for reading. open(2) of a device, a FIFO or a socket has effects
// of its own (a watchdog device starts its countdown, a tape rewinds, a FIFO's writer is let go), and
// O_NONBLOCK does not prevent them. The path is opened with O_PATH, which opens nothing, checked to be a
// regular file, and only then opened for reading through /proc/self/fd.
#pragma once

#include <sys/stat.h>

#include <string>

namespace util {

struct RegularFile {
  int fd = -1;               // open for reading (the caller closes it); -1 on any failure
  int error = 0;             // errno of the failed open (ENOENT: no such file), 0 otherwise
  bool not_regular = false;  // the path names something else than a regular file: nothing opened
  struct stat st {};         // the file's (valid when fd >= 0 or not_regular)
};

RegularFile open_regular_file(const std::string& path);

}  // namespace util
