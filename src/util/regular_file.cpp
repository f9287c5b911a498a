#include "util/regular_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

namespace util {

RegularFile open_regular_file(const std::string& path) {
  RegularFile out;
  const int handle = ::open(path.c_str(), O_PATH | O_CLOEXEC);
  if (handle < 0) {
    out.error = errno;
    return out;
  }
  if (::fstat(handle, &out.st) != 0) {
    out.error = errno;
    ::close(handle);
    return out;
  }
  if (!S_ISREG(out.st.st_mode)) {
    out.not_regular = true;
    ::close(handle);
    return out;
  }
  // The very file checked: /proc/self/fd/N names the handle's file, whatever the path names now.
  out.fd = ::open(fmt::format("/proc/self/fd/{}", handle).c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (out.fd < 0) out.error = errno;
  ::close(handle);
  return out;
}

}  // namespace util
