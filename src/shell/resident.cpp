#include "shell/resident.h"

#include <sys/mman.h>
#include <unistd.h>

#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace shell {

namespace {

struct Mapping {
  std::uintptr_t start = 0, end = 0;
  bool read_only = false;   // r--p or r-xp
  bool ours = false;        // backed by the executable's file
  long anonymous_kib = -1;  // private pages written since the mapping was made (COW copies)
};

}  // namespace

std::size_t release_startup_pages() {
  char exe[PATH_MAX] = {};
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return 0;
  const std::string self(exe, static_cast<std::size_t>(n));

  // "e": close-on-exec, as every descriptor of the executor (a credential helper may start meanwhile).
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> smaps(std::fopen("/proc/self/smaps", "re"), &std::fclose);
  if (!smaps) return 0;
  std::vector<Mapping> maps;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, smaps.get()) != nullptr) {
    std::string line(buf);
    if (!line.empty() && line.back() == '\n') line.pop_back();
    unsigned long lo = 0, hi = 0;
    char perms[5] = {};
    int path_at = 0;
    // A mapping's header: "start-end perms offset dev inode [path]".
    if (std::sscanf(line.c_str(), "%lx-%lx %4s %*s %*s %*s %n", &lo, &hi, perms, &path_at) >= 3 && path_at > 0 &&
        std::strchr(line.c_str(), ':') != nullptr && line.find(" kB") == std::string::npos) {
      Mapping m;
      m.start = lo;
      m.end = hi;
      m.read_only = perms[0] == 'r' && perms[1] == '-' && perms[3] == 'p';
      m.ours = line.compare(static_cast<std::size_t>(path_at), std::string::npos, self) == 0;
      maps.push_back(m);
    } else if (!maps.empty() && line.rfind("Anonymous:", 0) == 0) {
      maps.back().anonymous_kib = std::atol(line.c_str() + 10);
    }
  }
  std::size_t released = 0;
  for (const auto& m : maps) {
    if (!m.ours || !m.read_only || m.anonymous_kib != 0) continue;
    const std::size_t len = m.end - m.start;
    if (::madvise(reinterpret_cast<void*>(m.start), len, MADV_DONTNEED) == 0) released += len;
  }
  return released;
}

}  // namespace shell
