// Small helpers the Docker test programs share: a file's bytes, a root-owned site file, whether a
// task's container exists.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "docker/image_ref.h"
#include "docker_daemon.h"

namespace testing_support {

inline std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A site config file owned by root (the tests run as root), 0644: what the executor accepts.
struct SiteFile {
  explicit SiteFile(const std::string& text) {
    char tmpl[] = "/tmp/sce-site-XXXXXX";
    const int fd = ::mkstemp(tmpl);
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    ::fchmod(fd, 0644);
    ::close(fd);
    path = tmpl;
  }
  ~SiteFile() { ::unlink(path.c_str()); }
  SiteFile(const SiteFile&) = delete;
  SiteFile& operator=(const SiteFile&) = delete;
  std::string path;
};

// Whether the container of `task` exists (running or not).
inline bool container_exists(const DockerDaemon& d, const std::string& task) {
  return !d.cli({"ps", "-aq", "--filter", "name=" + docker::container_name(task)}).empty();
}

// The executor's log line of its catch-up read when it brought messages Docker's followed log stream
// had left out (a loaded daemon ends that stream at the exit before a burst's tail): shown as a
// warning, so that a run tells how often and how much. 0 when there was none.
inline std::uint64_t report_catch_up(const std::string& executor_output) {
  std::smatch m;
  static const std::regex line(R"(container log catch-up from [0-9.]+: (\d+) message\(s\))");
  if (!std::regex_search(executor_output, m, line)) return 0;
  const std::uint64_t n = std::stoull(m[1].str());
  WARN("Docker's followed log stream left out " << n << " message(s); the catch-up read brought them");
  return n;
}

}  // namespace testing_support
