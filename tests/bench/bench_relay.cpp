// Benchmark: syslog relay throughput and the executor's memory during a burst. A real container
// prints N lines (default 1,000,000) as fast as it can; the real executor relays them to a UDP
// receiver on 127.0.0.1. Prints lines/s (first to last datagram), lines lost, the floor (the same
// number of datagrams from a plain sender, just before: udp_floor_rate) and the executor's peak RSS
// (VmHWM); writes the figures as JSON to the path given by BENCH_JSON (if set).
#include <fmt/format.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "../udp_receiver.h"
#include "executor_harness.h"
#include "task_builder.h"

using namespace std::chrono_literals;
namespace v1 = ::mesos::v1;

namespace {

long status_kib(pid_t pid, const char* field) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(f, line);) {
    if (line.rfind(field, 0) == 0) return std::atol(line.c_str() + std::strlen(field) + 1);
  }
  return -1;
}

}  // namespace

TEST_CASE("relay throughput and executor RSS during a burst") {
  const long lines = std::getenv("BENCH_LINES") ? std::atol(std::getenv("BENCH_LINES")) : 1000000;
  const double floor = testing_support::udp_floor_rate(lines);  // the kernel's UDP path alone, just before
  testing_support::UdpReceiver rx(testing_support::UdpReceiver::Keep::count, 512 << 20, 1);

  testing_support::Harness h({{"EXECUTOR_RELAY_SYSLOG", "true"},
                              {"EXECUTOR_SYSLOG_ADDR", fmt::format("127.0.0.1:{}", rx.port())},
                              {"EXECUTOR_SIDECAR_BACKOFF", "1h"}});
  const pid_t pid = h.exe->pid();
  const long rss_before = status_kib(pid, "VmRSS:");
  const auto cpu = [pid] {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::stringstream ss;
    ss << f.rdbuf();
    const std::string s = ss.str();
    std::istringstream in(s.substr(s.rfind(')') + 2));
    std::string field;
    long ut = 0, st = 0;
    for (int i = 3; i <= 15 && in >> field; ++i) {
      if (i == 14) ut = std::atol(field.c_str());
      if (i == 15) st = std::atol(field.c_str());
    }
    return (ut + st) * 1000 / sysconf(_SC_CLK_TCK);
  };
  long cpu_ms = 0;
  h.agent.launch(testing_support::TaskBuilder("bench-relay", testing_support::DockerDaemon::shared().image("test/bb:1"))
                     .shell(fmt::format("seq 1 {}", lines)));
  long hwm = 0;
  const auto deadline = std::chrono::steady_clock::now() + 10min;
  while (!h.exe->wait(0ms) && std::chrono::steady_clock::now() < deadline) {
    hwm = std::max(hwm, status_kib(pid, "VmHWM:"));
    cpu_ms = std::max(cpu_ms, cpu());
    std::this_thread::sleep_for(20ms);
  }
  std::this_thread::sleep_for(300ms);
  // The relay's first datagram is its start marker ("sidecar-executor starting log pump for ..."), as
  // the Go executor's, sent before the container starts; only the container's lines count and are timed
  // (the receiver's clock starts at the first line: clock_from 1).
  const long received = static_cast<long>(rx.count()) - 1;
  const double secs = std::chrono::duration<double>(rx.last() - rx.first()).count();
  const double rate = secs > 0 ? static_cast<double>(received) / secs : 0;
  const std::string report = fmt::format(
      "{{\"lines\": {}, \"received\": {}, \"lost\": {}, \"seconds\": {:.3f}, \"lines_per_second\": {:.0f}, "
      "\"floor_lines_per_second\": {:.0f}, \"executor_rss_before_kib\": {}, \"executor_peak_rss_kib\": {}, "
      "\"executor_cpu_ms\": {}}}",
      lines, received, lines - received, secs, rate, floor, rss_before, hwm, cpu_ms);
  fmt::print("relay benchmark: {}\n", report);
  if (const char* out = std::getenv("BENCH_JSON")) std::ofstream(out) << report << "\n";
  std::istringstream log(h.exe->output());
  for (std::string l; std::getline(log, l);) {
    if (l.find("log relay") != std::string::npos) fmt::print("executor: {}\n", l);
  }
  CHECK(received == lines);
}
