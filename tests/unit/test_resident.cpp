// Releasing the start-up pages of the executable: code keeps running, written mappings are kept.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "shell/resident.h"
#include "util/utf8.h"

namespace {

// Resident KiB of this program's own read-only file mappings.
long own_text_rss_kib() {
  std::ifstream smaps("/proc/self/smaps");
  long total = 0;
  bool ours = false;
  for (std::string line; std::getline(smaps, line);) {
    if (line.find(" r-xp ") != std::string::npos || line.find(" r--p ") != std::string::npos ||
        line.find(" rw-p ") != std::string::npos) {
      ours = line.find(" r-xp ") != std::string::npos && line.find("test_resident") != std::string::npos;
    } else if (ours && line.rfind("Rss:", 0) == 0) {
      total += std::atol(line.c_str() + 4);
    }
  }
  return total;
}

// Pages of the executable's file in the page cache (mapped or not), by mincore on a mapping of it.
long cached_pages_of_executable() {
  const int fd = ::open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  struct stat st {};
  REQUIRE(::fstat(fd, &st) == 0);
  const auto len = static_cast<std::size_t>(st.st_size);
  void* p = ::mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  REQUIRE(p != MAP_FAILED);
  std::vector<unsigned char> vec((len + 4095) / 4096);
  REQUIRE(::mincore(p, len, vec.data()) == 0);
  ::munmap(p, len);
  long n = 0;
  for (unsigned char v : vec) n += v & 1;
  return n;
}

}  // namespace

TEST_CASE("After the release, the executable's unmapped pages leave the page cache") {
  {  // the whole file read into the cache, as the wrapper's copy leaves it
    std::ifstream exe("/proc/self/exe", std::ios::binary);
    std::vector<char> buf(1 << 16);
    while (exe.read(buf.data(), static_cast<std::streamsize>(buf.size())) || exe.gcount() > 0) {
    }
  }
  const long before = cached_pages_of_executable();
  REQUIRE(before > 0);
  REQUIRE(shell::release_startup_pages() > 0);
  REQUIRE(shell::drop_executable_cache());
  const long after = cached_pages_of_executable();
  INFO("cached pages before " << before << ", after " << after);
  CHECK(after < before / 2);  // what stays is what still runs (and what fault-around maps with it)
}

TEST_CASE("Start-up pages of the program text are released and code still runs") {
  const long before = own_text_rss_kib();
  REQUIRE(before > 0);
  const std::size_t released = shell::release_startup_pages();
  CHECK(released > 0);
  // Code and data are all there: a function from another object file, static data, exceptions.
  CHECK(util::valid_utf8("a\xFF") == "a\xEF\xBF\xBD");
  static const std::string kept = "static data survives";
  CHECK(kept.size() == 20);
  CHECK_THROWS_AS(throw std::runtime_error("unwinding works"), std::runtime_error);
  CHECK(own_text_rss_kib() <= before);
  CHECK(shell::release_startup_pages() > 0);  // again, harmless
}
