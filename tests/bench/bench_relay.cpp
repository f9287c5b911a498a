// Benchmark: syslog relay throughput and the executor's memory during a burst. A real container
// prints N lines (default 1,000,000) as fast as it can; the real executor relays them to a UDP
// receiver on 127.0.0.1. Prints lines/s (first to last datagram), lines lost, the floor (the same
// number of datagrams from a plain sender, just before: udp_floor_rate, with the sender's CPU), the
// executor's CPU and peak RSS (VmHWM); writes the figures as JSON to the path given by BENCH_JSON (if set).
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "bench_common.h"

TEST_CASE("relay throughput and executor RSS during a burst") {
  const long lines = std::getenv("BENCH_LINES") ? std::atol(std::getenv("BENCH_LINES")) : 1000000;
  const auto floor = testing_support::udp_floor_rate(lines);  // the kernel's UDP path alone, just before
  const auto b =
      testing_support::relay_burst(lines, "bench-relay", testing_support::DockerDaemon::shared().image("test/bb:1"),
                                   {{"EXECUTOR_SIDECAR_BACKOFF", "1h"}});
  const std::string report = fmt::format(
      "{{\"lines\": {}, \"received\": {}, \"lost\": {}, \"seconds\": {:.3f}, \"lines_per_second\": {:.0f}, "
      "\"floor_lines_per_second\": {:.0f}, \"floor_sender_cpu_ms\": {:.0f}, \"executor_rss_before_kib\": {}, "
      "\"executor_peak_rss_kib\": {}, \"executor_cpu_ms\": {}}}",
      lines, b.received, lines - b.received, b.seconds, b.lines_per_second, floor.lines_per_second, floor.sender_cpu_ms,
      b.rss_before_kib, b.peak_rss_kib, b.cpu_ms);
  fmt::print("relay benchmark: {}\n", report);
  if (const char* out = std::getenv("BENCH_JSON")) std::ofstream(out) << report << "\n";
  std::istringstream log(b.executor_output);
  for (std::string l; std::getline(log, l);) {
    if (l.find("log relay") != std::string::npos) fmt::print("executor: {}\n", l);
  }
  CHECK(floor.lines_per_second > 0);  // every datagram of the floor's run came
  CHECK(b.finished);
  CHECK(b.received == lines);
}
