// Releasing the start-up pages of the executable: code keeps running, written mappings are kept.
#include <catch2/catch.hpp>

#include <fstream>
#include <stdexcept>
#include <string>

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

}  // namespace

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
