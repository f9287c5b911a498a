// What the benchmark programs share: /proc readings of the executor, and one burst through the syslog
// relay (bench_relay alone, and tools/bench's relay row).
#pragma once

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include "../udp_receiver.h"
#include "executor_harness.h"
#include "task_builder.h"

namespace testing_support {

// A field of /proc/<pid>/status ("VmRSS:", "VmHWM:"…), in KiB; -1 when absent.
inline long status_kib(pid_t pid, const char* field) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  const std::size_t n = std::strlen(field);
  for (std::string line; std::getline(f, line);) {
    if (line.compare(0, n, field) == 0) return std::atol(line.c_str() + n + 1);
  }
  return -1;
}

// User and system CPU of the process so far, in ms; -1 when it is gone.
inline long cpu_ms(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string s = ss.str();
  if (s.rfind(')') == std::string::npos) return -1;
  std::istringstream in(s.substr(s.rfind(')') + 2));
  std::string field;
  long ut = 0, st = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) ut = std::atol(field.c_str());
    if (i == 15) st = std::atol(field.c_str());
  }
  return (ut + st) * 1000 / ::sysconf(_SC_CLK_TCK);
}

struct RelayBurst {
  long received = 0;   // the container's lines that came (the start marker not counted)
  double seconds = 0;  // first line to last
  double lines_per_second = 0;
  bool finished = false;  // the agent got TASK_FINISHED
  long rss_before_kib = 0, peak_rss_kib = 0, cpu_ms = 0;
  std::string executor_output;
};

// One burst: a container of `image` prints `lines` lines (`seq`) as fast as it can; the real executor
// (with `env` besides the relay's own settings) relays them to a UdpReceiver on 127.0.0.1. The
// executor's peak RSS (VmHWM) and CPU are read every 20 ms until it exits.
inline RelayBurst relay_burst(long lines, const std::string& task, const std::string& image,
                              std::map<std::string, std::string> env = {}) {
  using namespace std::chrono_literals;
  // The relay's first datagram is its start marker ("sidecar-executor starting log pump for ..."), as
  // the Go executor's, sent before the container starts: only the container's lines count and are
  // timed (the receiver's clock starts at the first line: clock_from 1).
  UdpReceiver rx(UdpReceiver::Keep::count, 512 << 20, 1);
  env["EXECUTOR_RELAY_SYSLOG"] = "true";
  env["EXECUTOR_SYSLOG_ADDR"] = fmt::format("127.0.0.1:{}", rx.port());
  Harness h(env);
  const pid_t pid = h.exe->pid();
  RelayBurst out;
  out.rss_before_kib = status_kib(pid, "VmRSS:");
  h.agent.launch(
      TaskBuilder(task, image).param("label", "SidecarDiscover=false").shell(fmt::format("seq 1 {}", lines)));
  const auto deadline = std::chrono::steady_clock::now() + 10min;
  while (!h.exe->wait(0ms) && std::chrono::steady_clock::now() < deadline) {
    out.peak_rss_kib = std::max(out.peak_rss_kib, status_kib(pid, "VmHWM:"));
    out.cpu_ms = std::max(out.cpu_ms, cpu_ms(pid));
    std::this_thread::sleep_for(20ms);
  }
  for (int i = 0; i < 100 && static_cast<long>(rx.count()) - 1 < lines; ++i) std::this_thread::sleep_for(50ms);
  out.received = static_cast<long>(rx.count()) - 1;
  out.seconds = std::chrono::duration<double>(rx.last() - rx.first()).count();
  out.lines_per_second = out.seconds > 0 ? static_cast<double>(out.received) / out.seconds : 0;
  for (const auto& s : h.updates_of(task)) out.finished = out.finished || s.state() == ::mesos::v1::TASK_FINISHED;
  out.executor_output = h.exe->output();
  return out;
}

}  // namespace testing_support
