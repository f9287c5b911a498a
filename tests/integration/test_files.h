// Small helpers the Docker test programs share: a file's bytes, a root-owned site file, whether a
// task's container exists.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
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

}  // namespace testing_support
