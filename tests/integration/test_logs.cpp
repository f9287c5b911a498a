// The syslog relay end to end: a real container printing known lines, the real executor, and a UDP
// receiver on 127.0.0.1. Go's datagrams are data here (tests/unit/test_relay.cpp holds the full table):
// the executor's must equal them apart from the Timestamp value.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "../udp_receiver.h"
#include "docker_proxy.h"
#include "executor_harness.h"
#include "logs/relay.h"
#include "task_builder.h"
#include "test_files.h"

using namespace std::chrono_literals;
using fake::FakeAgent;
using testing_support::DockerDaemon;
using testing_support::DockerProxy;
using testing_support::Harness;
using testing_support::TaskBuilder;
using testing_support::UdpReceiver;
namespace v1 = ::mesos::v1;

namespace {

std::map<std::string, std::string> relay_env(const UdpReceiver& rx, std::map<std::string, std::string> more = {}) {
  std::map<std::string, std::string> env = {{"EXECUTOR_RELAY_SYSLOG", "true"},
                                            {"EXECUTOR_SYSLOG_ADDR", "127.0.0.1:" + std::to_string(rx.port())},
                                            {"EXECUTOR_SEND_DOCKER_LABELS", "ServiceName, Environment, Missing"},
                                            {"EXECUTOR_LOG_HOSTNAME", "relay-host"},
                                            {"EXECUTOR_SIDECAR_BACKOFF", "1h"}};
  for (auto& [k, v] : more) env[k] = v;
  return env;
}

// Go: log_relay.go:58, the first datagram of every relay.
bool is_marker(const nlohmann::json& m) {
  return m["Payload"].get<std::string>().rfind("sidecar-executor starting log pump for '", 0) == 0;
}

// The payloads in arrival order, the start marker left out.
std::vector<std::string> payloads(UdpReceiver& rx) {
  std::vector<std::string> out;
  for (const auto& m : rx.messages()) {
    if (!is_marker(m)) out.push_back(m["Payload"]);
  }
  return out;
}

// The datagram with its Timestamp value replaced by "T", after checking that it is Go's whole-second
// RFC 3339 (logrus json_formatter.go:93, time.RFC3339).
std::string mask_time(const std::string& d) {
  static const std::regex ts(R"re("Timestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)")re");
  CHECK(std::regex_search(d, ts));
  return std::regex_replace(d, ts, "\"Timestamp\":\"T\"");
}

}  // namespace

TEST_CASE("Every line arrives once, in order per stream, with level, hostname and label fields") {
  // The task exits right after its last line: Docker's followed log stream (json-file, 20.10) can end
  // at the container's exit before it has given out a burst's last lines when the daemon lags behind
  // on a loaded machine (seen losing up to 15,000 of 20,005 lines under ASan with four test programs
  // running); the executor's catch-up read after the exit brings them (README, Logs).
  // Under a sanitizer the relay is several times slower: a smaller burst keeps it well inside the
  // 30 s the executor gives the relay after the container's exit.
  const char* sanitized = std::getenv("SCE_SANITIZED");
  const int burst = sanitized != nullptr && std::string(sanitized) == "1" ? 20000 : 100000;
  UdpReceiver rx;
  const std::uint64_t kernel_drops_before = testing_support::kernel_udp_drops();
  Harness h(relay_env(rx));
  h.agent.launch(TaskBuilder("relay-1", DockerDaemon::shared().image("test/bb:1"))
                     .param("label", "ServiceName=web")
                     .param("label", "Environment=test")
                     .shell("sh -c 'echo out-1; echo \"ERROR: failed thing\" >&2; echo \"warn: fine\" >&2; "
                            "head -c 100000 /dev/zero | tr \"\\000\" L; echo; echo \"h\303\251llo \342\234\223\"; "
                            "printf \"bad \\377 byte\\n\"; seq 1 " +
                            std::to_string(burst) + "; echo end'"));
  h.wait_state("relay-1", v1::TASK_FINISHED, 60s);
  REQUIRE(h.exe->wait(15s) == std::optional<int>(0));
  // The relay finished before the executor exited: everything is in.
  const auto msgs = rx.messages();
  std::vector<std::string> out, err;
  for (const auto& m : msgs) {
    if (is_marker(m)) continue;
    CHECK(m["Hostname"] == "relay-host");
    CHECK(m["ServiceName"] == "web");
    CHECK(m["Environment"] == "test");
    CHECK_FALSE(m.contains("Missing"));
    CHECK(m["Timestamp"].get<std::string>().size() >= 20);
    const std::string level = m["Level"];
    const std::string payload = m["Payload"];
    if (payload == "ERROR: failed thing") {
      CHECK(level == "error");
      err.push_back(payload);
    } else if (payload == "warn: fine") {
      CHECK(level == "info");
      err.push_back(payload);
    } else {
      CHECK(level == "info");
      // The 100000-byte line comes in pieces (Go's scanner would stop the pump at 64 KiB): join them.
      const bool piece_of_big = !payload.empty() && payload.find_first_not_of('L') == std::string::npos;
      if (piece_of_big && !out.empty() && out.back().find_first_not_of('L') == std::string::npos) {
        out.back() += payload;
      } else {
        out.push_back(payload);
      }
    }
  }
  CHECK(err == std::vector<std::string>{"ERROR: failed thing", "warn: fine"});
  std::vector<std::string> want = {"out-1", std::string(100000, 'L')};
  want.push_back("h\303\251llo \342\234\223");
  want.push_back("bad \357\277\275 byte");  // Docker's json-file log keeps lines as JSON strings: U+FFFD
  for (int i = 1; i <= burst; ++i) want.push_back(std::to_string(i));
  want.push_back("end");
  // The executor's own account: every line went to the kernel, none dropped.
  std::smatch done;
  const std::string output = h.exe->output();
  testing_support::report_catch_up(output);
  REQUIRE(std::regex_search(output, done, std::regex(R"(log relay done: (\d+) line\(s\) sent, 0 dropped)")));
  const std::size_t sent = std::stoull(done[1].str());
  const std::uint64_t kernel_lost = testing_support::kernel_udp_drops() - kernel_drops_before;
  if (kernel_lost == 0) {
    CHECK(sent == msgs.size());
    CHECK(out.size() == want.size());
    CHECK(out == want);
  } else {
    // A loaded machine's loopback can drop a burst (the softirq backlog overflows); the kernel counts
    // it. Then what came is what was sent less at most what the kernel dropped, in order, unaltered.
    WARN("the kernel dropped " << kernel_lost << " datagram(s) during the test; " << sent - msgs.size()
                               << " of the relay's did not arrive");
    CHECK(msgs.size() <= sent);
    CHECK(sent - msgs.size() <= kernel_lost);
    const auto whole = [](const std::vector<std::string>& v) {
      std::vector<std::string> keep;  // the 100000-byte line's pieces left out: one may be lost
      for (const auto& l : v) {
        if (l.empty() || l.find_first_not_of('L') != std::string::npos) keep.push_back(l);
      }
      return keep;
    };
    const auto got = whole(out), wanted = whole(want);
    std::size_t at = 0;
    for (const auto& l : got) {
      while (at < wanted.size() && wanted[at] != l) ++at;
      REQUIRE(at < wanted.size());  // every line that came is one of the task's, in the task's order
      ++at;
    }
  }
}

TEST_CASE("Startup-only relay stops after its time; with no receiver the task runs normally") {
  SECTION("startup only") {
    UdpReceiver rx;
    Harness h(
        relay_env(rx, {{"EXECUTOR_RELAY_SYSLOG_STARTUP_ONLY", "true"}, {"EXECUTOR_RELAY_SYSLOG_STARTUP_TIME", "1s"}}));
    h.agent.launch(TaskBuilder("relay-2", DockerDaemon::shared().image("test/bb:1"))
                       .shell("sh -c 'echo early; sleep 3; echo late'"));
    h.wait_state("relay-2", v1::TASK_FINISHED, 30s);
    REQUIRE(h.exe->wait(15s) == std::optional<int>(0));
    CHECK(payloads(rx) == std::vector<std::string>{"early"});
  }
  SECTION("nobody listening") {
    int port = 0;
    {
      UdpReceiver gone;
      port = gone.port();
    }
    Harness h(std::map<std::string, std::string>{{"EXECUTOR_RELAY_SYSLOG", "true"},
                                                 {"EXECUTOR_SYSLOG_ADDR", "127.0.0.1:" + std::to_string(port)},
                                                 {"EXECUTOR_SIDECAR_BACKOFF", "1h"}});
    h.agent.launch(
        TaskBuilder("relay-3", DockerDaemon::shared().image("test/bb:1")).shell("sh -c 'seq 1 20000; echo done'"));
    h.wait_state("relay-3", v1::TASK_FINISHED, 30s);
    REQUIRE(h.exe->wait(15s) == std::optional<int>(0));
  }
}

TEST_CASE("EXECUTOR_CONTAINER_LOGS_STDOUT also prints the JSON lines on the executor's stdout") {
  UdpReceiver rx;
  Harness h(relay_env(rx, {{"EXECUTOR_CONTAINER_LOGS_STDOUT", "true"}}));
  h.agent.launch(TaskBuilder("relay-4", DockerDaemon::shared().image("test/bb:1")).shell("sh -c 'echo visible-line'"));
  h.wait_state("relay-4", v1::TASK_FINISHED, 30s);
  REQUIRE(h.exe->wait(15s) == std::optional<int>(0));
  CHECK_THAT(h.exe->output(), Catch::Contains("\"Payload\":\"visible-line\""));
  CHECK(payloads(rx) == std::vector<std::string>{"visible-line"});
}

// Go: executor_utils.go:35 relays when `RelaySyslog || RelaySyslogStartupOnly`, and log_relay.go:70-72
// stops after RelaySyslogStartupTime: EXECUTOR_RELAY_SYSLOG_STARTUP_ONLY=true alone relays the start.
TEST_CASE("EXECUTOR_RELAY_SYSLOG_STARTUP_ONLY alone relays the startup output") {
  UdpReceiver rx;
  auto env =
      relay_env(rx, {{"EXECUTOR_RELAY_SYSLOG_STARTUP_ONLY", "true"}, {"EXECUTOR_RELAY_SYSLOG_STARTUP_TIME", "1s"}});
  env.erase("EXECUTOR_RELAY_SYSLOG");
  Harness h(env);
  h.agent.launch(TaskBuilder("relay-5", DockerDaemon::shared().image("test/bb:1"))
                     .shell("sh -c 'echo early; sleep 3; echo late'"));
  h.wait_state("relay-5", v1::TASK_FINISHED, 30s);
  REQUIRE(h.exe->wait(15s) == std::optional<int>(0));
  CHECK(payloads(rx) == std::vector<std::string>{"early"});
}

// Go's datagram for a stdout line, as data (the issue's example; tests/unit/test_relay.cpp has it with
// its Go sources): log_relay.go:42-47 fields (present labels, Hostname = LogHostname), logrus
// JSONFormatter with sorted keys, Go's escaping and one trailing newline.
TEST_CASE("A datagram is byte for byte Go's apart from the time, EXECUTOR_LOG_HOSTNAME honoured") {
  UdpReceiver rx;
  Harness h(relay_env(rx, {{"EXECUTOR_LOG_HOSTNAME", "h"}, {"EXECUTOR_SEND_DOCKER_LABELS", "ServiceName,Missing"}}));
  h.agent.launch(TaskBuilder("relay-6", DockerDaemon::shared().image("test/bb:1"))
                     .param("label", "ServiceName=web")
                     .shell("sh -c 'echo hello-out; echo \"<b> & </b>\" >&2'"));
  h.wait_state("relay-6", v1::TASK_FINISHED, 30s);
  REQUIRE(h.exe->wait(15s) == std::optional<int>(0));
  std::vector<std::string> lines;
  for (const auto& d : rx.raw()) {
    if (!is_marker(nlohmann::json::parse(d))) lines.push_back(mask_time(d));
  }
  // Go: log_relay.go:107 (stdout: info) and :112-113 (stderr without "error": info); encoding/json
  // escapes < > & (logrus json_formatter.go:119). The two streams are pumped apart (log_relay.go:67-68):
  // their relative order is not kept, in Go either.
  std::sort(lines.begin(), lines.end());
  // Sorted, as `lines`.
  const std::vector<std::string> go = {
      "{\"Hostname\":\"h\",\"Level\":\"info\",\"Payload\":\"\\u003cb\\u003e \\u0026 \\u003c/b\\u003e\",\"ServiceName\":"
      "\"web\",\"Timestamp\":\"T\"}\n",
      "{\"Hostname\":\"h\",\"Level\":\"info\",\"Payload\":\"hello-out\",\"ServiceName\":\"web\",\"Timestamp\":\"T\"}"
      "\n"};
  CHECK(lines == go);
}

// Go: log_relay.go:58, logger.Infof("sidecar-executor starting log pump for '%s'", containerId[:12]) before
// the pump reads any output, with the same fields as every line.
TEST_CASE("The first datagram is the start marker naming the container") {
  UdpReceiver rx;
  Harness h(relay_env(rx, {{"EXECUTOR_LOG_HOSTNAME", "h"}, {"EXECUTOR_SEND_DOCKER_LABELS", "ServiceName"}}));
  h.agent.launch(TaskBuilder("relay-7", DockerDaemon::shared().image("test/bb:1"))
                     .param("label", "ServiceName=web")
                     .shell("sh -c 'echo first-line'"));
  const auto running = h.wait_state("relay-7", v1::TASK_RUNNING, 30s);
  const std::string id = Harness::container_id(running);
  REQUIRE(id.size() >= 12);
  h.wait_state("relay-7", v1::TASK_FINISHED, 30s);
  REQUIRE(h.exe->wait(15s) == std::optional<int>(0));
  const auto raw = rx.raw();
  REQUIRE(raw.size() == 2);
  CHECK(mask_time(raw[0]) ==
        "{\"Hostname\":\"h\",\"Level\":\"info\",\"Payload\":\"sidecar-executor starting log pump for '" +
            id.substr(0, 12) + "'\",\"ServiceName\":\"web\",\"Timestamp\":\"T\"}\n");
  CHECK(mask_time(raw[1]) ==
        "{\"Hostname\":\"h\",\"Level\":\"info\",\"Payload\":\"first-line\",\"ServiceName\":\"web\",\"Timestamp\":\"T\"}"
        "\n");
}

// Go: main.go init, envconfig.Process("executor", &config): LogHostname's alternate name LOG_HOSTNAME is
// read when EXECUTOR_LOG_HOSTNAME is absent (the Go README documents LOG_HOSTNAME); log_relay.go:42-47
// puts it in every datagram.
TEST_CASE("The unprefixed LOG_HOSTNAME names the datagrams' Hostname when EXECUTOR_LOG_HOSTNAME is absent") {
  UdpReceiver rx;
  auto env = relay_env(rx);
  env.erase("EXECUTOR_LOG_HOSTNAME");
  env["LOG_HOSTNAME"] = "go-style-host";
  Harness h(env);
  h.agent.launch(TaskBuilder("relay-unprefixed", DockerDaemon::shared().image("test/bb:1")).shell("echo hello"));
  h.wait_state("relay-unprefixed", v1::TASK_FINISHED, 30s);
  REQUIRE(h.exe->wait(15s) == std::optional<int>(0));
  REQUIRE(FakeAgent::wait_until([&] { return rx.messages().size() >= 2; }, 5s));
  for (const auto& m : rx.messages()) CHECK(m["Hostname"] == "go-style-host");
  CHECK_THAT(h.exe->output(), Catch::Contains("EXECUTOR_LOG_HOSTNAME is not set: LOG_HOSTNAME is used instead"));
}

// One reader of Docker's log stream feeds both the syslog relay and the sandbox files: the same task's
// lines reach both ends, the same and in the same order per stream (a datagram does not say its
// stream: each line here names its own). A few hundred lines, far below what the loopback could drop.
TEST_CASE("One task's output: the relay's datagrams and the sandbox files hold the same lines in the same order") {
  UdpReceiver rx;
  const std::uint64_t kernel_drops_before = testing_support::kernel_udp_drops();
  Harness h(relay_env(rx));
  // stdout and stderr interleaved, then an empty line, a CRLF line and a last line without a newline;
  // the task exits right after it.
  h.agent.launch(
      TaskBuilder("relay-both", DockerDaemon::shared().image("test/bb:1"))
          .shell("sh -c 'for i in $(seq 1 300); do echo \"out $i: h\303\251llo  world\"; "
                 "echo \"err $i: ERROR at $i\" >&2; done; echo; printf \"out crlf\\r\\n\"; printf \"out end\"'"));
  h.wait_state("relay-both", v1::TASK_FINISHED, 60s);
  REQUIRE(h.exe->wait(20s) == std::optional<int>(0));
  // Both ends are complete once the executor has exited; the receiver reads what is still queued.
  const auto msgs = rx.messages();
  std::vector<std::string> want_out, want_err;
  for (int i = 1; i <= 300; ++i) {
    want_out.push_back("out " + std::to_string(i) + ": h\303\251llo  world");
    want_err.push_back("err " + std::to_string(i) + ": ERROR at " + std::to_string(i));
  }
  want_out.insert(want_out.end(), {"", "out crlf", "out end"});

  std::vector<std::string> relayed_out, relayed_err;
  for (const auto& m : msgs) {
    if (is_marker(m)) continue;
    const std::string payload = m["Payload"];
    (payload.rfind("err ", 0) == 0 ? relayed_err : relayed_out).push_back(payload);
  }
  const auto file_lines = [](const std::string& path) {
    std::vector<std::string> lines;
    std::istringstream in(testing_support::read_file(path));
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    return lines;
  };
  const auto file_out = file_lines(h.sandbox + "/container.stdout");
  const auto file_err = file_lines(h.sandbox + "/container.stderr");

  // No datagram was lost on the way: a difference below is the executor's.
  REQUIRE(testing_support::kernel_udp_drops() - kernel_drops_before == 0);
  const std::string output = h.exe->output();
  testing_support::report_catch_up(output);
  CHECK_THAT(output, Catch::Contains(fmt::format("log relay done: {} line(s) sent, 0 dropped", msgs.size())));
  CHECK_THAT(output, Catch::Contains(fmt::format("sandbox logs done: {} line(s) written, 0 dropped",
                                                 want_out.size() + want_err.size())));
  CHECK(relayed_out == want_out);
  CHECK(relayed_err == want_err);
  CHECK(file_out == relayed_out);
  CHECK(file_err == relayed_err);
}

namespace {

// Each line of a sandbox file.
std::vector<std::string> lines_of(const std::string& path) {
  std::vector<std::string> lines;
  std::istringstream in(testing_support::read_file(path));
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

// The relayed payloads split by stream: a line of stderr starts with "err ".
void split_relayed(UdpReceiver& rx, std::vector<std::string>& out, std::vector<std::string>& err) {
  for (const auto& m : rx.messages()) {
    if (is_marker(m)) continue;
    const std::string payload = m["Payload"];
    (payload.rfind("err ", 0) == 0 ? err : out).push_back(payload);
  }
}

// Runs `shell` with the relay and the sandbox files, Docker reached through `proxy`; both ends must
// hold exactly `want_out` and `want_err`, in order. The executor's output, for more checks.
std::string run_and_compare(DockerProxy& proxy, const std::string& task, const std::string& shell,
                            const std::vector<std::string>& want_out, const std::vector<std::string>& want_err) {
  UdpReceiver rx;
  const std::uint64_t kernel_drops_before = testing_support::kernel_udp_drops();
  Harness h(relay_env(rx, {{"DOCKER_HOST", "unix://" + proxy.path()}}));
  h.agent.launch(TaskBuilder(task, DockerDaemon::shared().image("test/bb:1")).shell(shell));
  h.wait_state(task, v1::TASK_FINISHED, 60s);
  REQUIRE(h.exe->wait(40s) == std::optional<int>(0));
  CHECK(proxy.taken() >= 1);  // the first followed stream was cut
  const std::string output = h.exe->output();
  CHECK(proxy.refused() == 1);  // no attach: Docker's log is followed
  CHECK_THAT(output, Catch::Contains("could not attach to the container's output"));
  testing_support::report_catch_up(output);
  // The sandbox files lose nothing on the way: they must be exact.
  CHECK(lines_of(h.sandbox + "/container.stdout") == want_out);
  CHECK(lines_of(h.sandbox + "/container.stderr") == want_err);
  CHECK_THAT(output, Catch::Contains(fmt::format("sandbox logs done: {} line(s) written, 0 dropped",
                                                 want_out.size() + want_err.size())));
  std::vector<std::string> out, err;
  split_relayed(rx, out, err);
  const std::uint64_t kernel_lost = testing_support::kernel_udp_drops() - kernel_drops_before;
  // The start marker and each line.
  CHECK_THAT(output, Catch::Contains(fmt::format("log relay done: {} line(s) sent, 0 dropped",
                                                 1 + want_out.size() + want_err.size())));
  if (kernel_lost == 0) {
    CHECK(out == want_out);
    CHECK(err == want_err);
  } else {
    WARN("the kernel dropped " << kernel_lost << " datagram(s) during the test: the relay's order alone is checked");
    CHECK(out.size() + err.size() + kernel_lost >= want_out.size() + want_err.size());
    for (const auto* pair : {&out, &err}) {
      const auto& want = pair == &out ? want_out : want_err;
      std::size_t at = 0;
      for (const auto& l : *pair) {
        while (at < want.size() && want[at] != l) ++at;
        REQUIRE(at < want.size());  // each relayed line is the task's, once, in the task's order
        ++at;
      }
    }
  }
  return output;
}

// What a task run to its end left: the executor's output, both sandbox files, the relayed lines.
struct Ran {
  std::string output;
  std::vector<std::string> stdout_file, stderr_file, relayed_out, relayed_err;
};

// Runs `shell` with the relay and the sandbox files, Docker reached through `proxy` (and `more`
// settings), to the task's end and the executor's exit 0.
Ran run_through(DockerProxy& proxy, const std::string& task, const std::string& shell,
                std::map<std::string, std::string> more = {}) {
  UdpReceiver rx;
  more["DOCKER_HOST"] = "unix://" + proxy.path();
  Harness h(relay_env(rx, more));
  h.agent.launch(TaskBuilder(task, DockerDaemon::shared().image("test/bb:1")).shell(shell));
  h.wait_state(task, v1::TASK_FINISHED, 60s);
  REQUIRE(h.exe->wait(40s) == std::optional<int>(0));
  Ran r;
  r.output = h.exe->output();
  r.stdout_file = lines_of(h.sandbox + "/container.stdout");
  r.stderr_file = lines_of(h.sandbox + "/container.stderr");
  split_relayed(rx, r.relayed_out, r.relayed_err);
  return r;
}

}  // namespace

// The output comes through Docker's attach; where the daemon refuses it, Docker's log is followed.
// Docker 20.10's followed log stream can end cleanly at the container's exit before it has given out
// the last lines of a burst (a loaded daemon). A proxy plays that at once: it passes the first 16 KiB
// of the followed stream, then holds the rest back and ends the stream cleanly when Docker ends it (the
// exit). What the task wrote after that must come by the catch-up read, each line once, in order per
// stream, with a line over Docker's 16 KiB piece size and a last line without a newline.
TEST_CASE("A followed log stream ending before the burst's tail at the exit: the catch-up brings every line once") {
  DockerProxy proxy(DockerDaemon::shared().socket(), "follow=1", DockerProxy::Mode::cut_at_end, 16 * 1024, "/attach");
  std::vector<std::string> want_out, want_err;
  for (int i = 1; i <= 3000; ++i) {
    want_out.push_back(fmt::format("out {}", i));
    if (i % 10 == 0) want_err.push_back(fmt::format("err {}", i));
  }
  want_out.push_back(std::string(40000, 'L'));
  for (int i = 1; i <= 5000; ++i) want_out.push_back(fmt::format("tail {}", i));
  want_out.push_back("last without newline");
  const std::string output =
      run_and_compare(proxy, "catch-up-1",
                      "sh -c 'i=0; while [ $i -lt 3000 ]; do i=$((i+1)); echo \"out $i\"; "
                      "if [ $((i % 10)) = 0 ]; then echo \"err $i\" >&2; fi; done; "
                      "head -c 40000 /dev/zero | tr \"\\000\" L; echo; seq 1 5000 | sed \"s/^/tail /\"; "
                      "printf \"last without newline\"'",
                      want_out, want_err);
  CHECK_THAT(output, Catch::Contains("message(s) the followed stream had not given"));
}

// A followed stream that ends while the container still runs (a daemon restarted with live-restore, a
// lost rotation) is followed again from the last line handed out: nothing twice, nothing lost.
TEST_CASE("A followed log stream ending while the container runs is followed again without a line twice") {
  DockerProxy proxy(DockerDaemon::shared().socket(), "follow=1", DockerProxy::Mode::cut_now, 4 * 1024, "/attach");
  std::vector<std::string> want_out, want_err;
  for (int j = 1; j <= 20; ++j) {
    for (int i = j * 100 - 99; i <= j * 100; ++i) want_out.push_back(fmt::format("out {}", i));
    want_err.push_back(fmt::format("err {}", j));
  }
  const std::string output = run_and_compare(
      proxy, "catch-up-2",
      "sh -c 'for j in $(seq 1 20); do seq $((j*100-99)) $((j*100)) | sed \"s/^/out /\"; echo \"err $j\" >&2; "
      "sleep 0.1; done'",
      want_out, want_err);
  CHECK(proxy.taken() >= 2);
  CHECK_THAT(output, Catch::Contains("container log stream ended while the container runs: following it again from"));
}

// The lines "out 0001" … "out <last>" a task wrote, as a sandbox file has them: lines that are not the
// task's (the start of the line a cut went through), runs given again, the ones missing.
struct Numbered {
  int cut_lines = 0, rewinds = 0, rewound = 0, missing = 0, first_missing = 0, last_missing = 0;
  std::string where;  // the last run given again: where it began
  std::set<int> seen;
};
Numbered numbered(const std::vector<std::string>& got, int last) {
  Numbered r;
  std::vector<int> numbers;
  for (const auto& l : got) {
    if (l.size() != 8 || l.rfind("out ", 0) != 0 || l.find_first_not_of("0123456789", 4) != std::string::npos) {
      ++r.cut_lines;
      INFO("a line not the task's: \"" << l << "\"");
      CHECK(std::string("out 0000").size() > l.size());  // the start of one of them
      continue;
    }
    const int n = std::stoi(l.substr(4));
    if (!numbers.empty() && n <= numbers.back()) {
      ++r.rewinds;
      r.rewound = numbers.back() - n + 1;
      r.where = fmt::format("line {} after line {}", n, numbers.back());
    }
    numbers.push_back(n);
  }
  r.seen.insert(numbers.begin(), numbers.end());
  for (int i = 1; i <= last; ++i) {
    if (r.seen.count(i)) continue;
    if (r.missing++ == 0) r.first_missing = i;
    r.last_missing = i;
  }
  return r;
}

// 30 bursts of 100 lines of one width ("out 0001"), 0.1 s apart: a cut line is never one of the task's.
const char* const kBursts =
    R"(sh -c 'for j in $(seq 1 30); do seq $((j*100-99)) $((j*100)) | awk "{ printf \"out %04d\\n\", \$1 }"; sleep 0.1; done')";

// The attached stream cut while the container runs (the daemon restarted with live-restore): Docker's
// log takes over from the time of the last piece received. Docker's log times come from its own copier,
// not from that moment, so the lines of the batch being written at the cut may be lost; none comes
// twice (lines Docker's log gives again are the attached stream's last ones: found and skipped);
// everything else comes once, in order, up to the last line, and the start of the line the cut went
// through (its rest is older than the time Docker's log is read from) is a line of its own, never
// joined to another.
TEST_CASE("An attached output stream cut while the container runs: Docker's log takes over from the cut") {
  DockerProxy proxy(DockerDaemon::shared().socket(), "/attach", DockerProxy::Mode::cut_now, 3000);
  const Ran r = run_through(proxy, "attach-cut", kBursts);
  const std::string& output = r.output;
  INFO(output);
  CHECK(proxy.taken() == 1);
  CHECK_THAT(output, Catch::Contains("attached to the container's output"));
  CHECK_THAT(output,
             Catch::Contains("the container's attached output ended while the container runs: following Docker's log"));
  const Numbered n = numbered(r.stdout_file, 3000);
  INFO(n.where);
  CHECK(n.cut_lines <= 1);
  CHECK(n.rewinds == 0);  // nothing twice
  REQUIRE_FALSE(n.seen.empty());
  CHECK(*n.seen.rbegin() == 3000);  // the last line came
  CHECK(n.missing <= 100);          // lost: at most the batch written at the cut, in one run
  if (n.missing > 0) CHECK(n.last_missing - n.first_missing + 1 == n.missing);
  if (n.missing > 0) WARN(n.missing << " line(s) lost at the cut");
  CHECK(n.seen.size() > 2000);  // most came through Docker's log after the cut
}

// The same cut, with Docker's log stamping late: the proxy makes every time in Docker's log 500 ms
// later, so the read from the last piece's time begins with lines the attached stream gave already
// (what a loaded daemon's log copier does: it stamps a line when it takes it from its buffer, which
// can be after the attach handed it out; CI's TSan run of the live-restore test wrote a line twice that
// way). Those are found at the end of what the attached stream gave and skipped; the line the cut went
// through is completed by its rest; and the lines in flight at the cut, now stamped after it, come
// too: every line once, in order.
TEST_CASE(
    "An attached stream cut while Docker's log stamps late: the lines it gave are skipped, none twice, none lost") {
  DockerProxy proxy(DockerDaemon::shared().socket(), "/attach", DockerProxy::Mode::cut_now, 3000);
  proxy.stamp_late(500ms);
  const Ran r = run_through(proxy, "attach-late", kBursts);
  INFO(r.output);
  CHECK(proxy.restamped() > 0);
  CHECK_THAT(r.output, Catch::Contains("were the attached stream's last ones: skipped"));
  const Numbered n = numbered(r.stdout_file, 3000);
  INFO(n.where);
  CHECK(n.cut_lines == 0);
  CHECK(n.rewinds == 0);
  CHECK(n.missing == 0);
  CHECK(n.seen.size() == 3000);
}

// A daemon that never answers the attach: the container starts after 2 s anyway, and its output,
// from the first line, comes from Docker's log; the attach is given up (its late answer not taken).
TEST_CASE("An attach that never answers is given up after 2 s: the whole output comes from Docker's log") {
  DockerProxy proxy(DockerDaemon::shared().socket(), "/attach", DockerProxy::Mode::hang);
  std::vector<std::string> want_out, want_err;
  for (int i = 1; i <= 500; ++i) want_out.push_back(fmt::format("out {}", i));
  want_err.push_back("err 1");
  const Ran r = run_through(proxy, "attach-hang", "sh -c 'seq 1 500 | sed \"s/^/out /\"; echo \"err 1\" >&2'");
  CHECK(proxy.taken() == 1);
  CHECK_THAT(r.output, Catch::Contains("Docker's attach did not answer within 2 s"));
  CHECK_THAT(r.output, Catch::Contains("could not attach to the container's output (no answer within 2 s)"));
  CHECK(r.stdout_file == want_out);
  CHECK(r.stderr_file == want_err);
  CHECK(r.relayed_out == want_out);
  CHECK(r.relayed_err == want_err);
}

// EXECUTOR_ATTACH_OUTPUT=false: Docker's log is followed, as the Go executor does; no attach is asked.
TEST_CASE("EXECUTOR_ATTACH_OUTPUT=false follows Docker's log: every line, no attach asked") {
  DockerProxy proxy(DockerDaemon::shared().socket(), "/attach", DockerProxy::Mode::refuse);
  std::vector<std::string> want_out;
  for (int i = 1; i <= 300; ++i) want_out.push_back(fmt::format("out {}", i));
  const Ran r =
      run_through(proxy, "attach-off", "sh -c 'seq 1 300 | sed \"s/^/out /\"'", {{"EXECUTOR_ATTACH_OUTPUT", "false"}});
  CHECK(proxy.taken() == 0);
  CHECK_THAT(r.output, !Catch::Contains("could not attach") && !Catch::Contains("attached to the container's output"));
  CHECK(r.stdout_file == want_out);
  CHECK(r.relayed_out == want_out);
}

// The attach answered, then ended before the container started (the daemon restarted in between): it
// gave nothing, so Docker's log is read from the start, each line once.
TEST_CASE("An attach that ends before the container starts: Docker's log from the start, each line once") {
  DockerProxy proxy(DockerDaemon::shared().socket(), "/attach", DockerProxy::Mode::cut_now, 0);
  std::vector<std::string> want_out;
  for (int i = 1; i <= 400; ++i) want_out.push_back(fmt::format("out {}", i));
  const Ran r = run_through(proxy, "attach-early-end", "sh -c 'seq 1 400 | sed \"s/^/out /\"'");
  CHECK(proxy.taken() == 1);
  CHECK(r.stdout_file == want_out);
  CHECK(r.relayed_out == want_out);
}
