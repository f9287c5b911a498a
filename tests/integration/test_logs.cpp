// The syslog relay end to end: a real container printing known lines, the real executor, and a UDP
// receiver on 127.0.0.1.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "executor_harness.h"
#include "udp_receiver.h"
#include "logs/relay.h"
#include "task_builder.h"

using namespace std::chrono_literals;
using fake::FakeAgent;
using testing_support::DockerDaemon;
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

}  // namespace

TEST_CASE("Every line arrives once, in order per stream, with level, hostname and label fields") {
  // Under a sanitizer the relay is several times slower: a smaller burst keeps it well inside the
  // 30 s the executor gives the relay after the container's exit.
  const char* sanitized = std::getenv("SCE_SANITIZED");
  const int burst = sanitized != nullptr && std::string(sanitized) == "1" ? 20000 : 100000;
  UdpReceiver rx;
  Harness h(relay_env(rx));
  h.agent.launch(TaskBuilder("relay-1", DockerDaemon::shared().image("test/bb:1"))
                     .param("label", "ServiceName=web")
                     .param("label", "Environment=test")
                     .shell("sh -c 'echo out-1; echo \"ERROR: failed thing\" >&2; echo \"warn: fine\" >&2; "
                            "head -c 100000 /dev/zero | tr \"\\000\" L; echo; echo \"h\303\251llo \342\234\223\"; "
                            "printf \"bad \\377 byte\\n\"; seq 1 " + std::to_string(burst) + "; echo end'"));
  h.wait_state("relay-1", v1::TASK_FINISHED, 60s);
  REQUIRE(h.exe->wait(15s) == std::optional<int>(0));
  // The relay finished before the executor exited: everything is in.
  const auto msgs = rx.messages();
  std::vector<std::string> out, err;
  for (const auto& m : msgs) {
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
      out.push_back(payload);
    }
  }
  CHECK(err == std::vector<std::string>{"ERROR: failed thing", "warn: fine"});
  std::vector<std::string> want = {"out-1"};
  const std::string big(100000, 'L');
  for (std::size_t off = 0; off < big.size(); off += logs::kMaxPayload) want.push_back(big.substr(off, logs::kMaxPayload));
  want.push_back("h\303\251llo \342\234\223");
  want.push_back("bad \357\277\275 byte");  // Docker's json-file log keeps lines as JSON strings: U+FFFD
  for (int i = 1; i <= burst; ++i) want.push_back(std::to_string(i));
  want.push_back("end");
  CHECK(out.size() == want.size());
  CHECK(out == want);
  CHECK_THAT(h.exe->output(), Catch::Contains("0 dropped"));
}

TEST_CASE("Startup-only relay stops after its time; with no receiver the task runs normally") {
  SECTION("startup only") {
    UdpReceiver rx;
    Harness h(relay_env(rx, {{"EXECUTOR_RELAY_SYSLOG_STARTUP_ONLY", "true"}, {"EXECUTOR_RELAY_SYSLOG_STARTUP_TIME", "1s"}}));
    h.agent.launch(TaskBuilder("relay-2", DockerDaemon::shared().image("test/bb:1"))
                       .shell("sh -c 'echo early; sleep 3; echo late'"));
    h.wait_state("relay-2", v1::TASK_FINISHED, 30s);
    REQUIRE(h.exe->wait(15s) == std::optional<int>(0));
    std::vector<std::string> payloads;
    for (const auto& m : rx.messages()) payloads.push_back(m["Payload"]);
    CHECK(payloads == std::vector<std::string>{"early"});
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
    h.agent.launch(TaskBuilder("relay-3", DockerDaemon::shared().image("test/bb:1")).shell("sh -c 'seq 1 20000; echo done'"));
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
  CHECK(rx.count() == 1);
}
