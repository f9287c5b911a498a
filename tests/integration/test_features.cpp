// What the Go executor does not have (README "Beyond the Go executor"), against a real dockerd: the
// container removed after the terminal ACK, the sandbox mounted in the container, max_completion_time,
// every user-defined network's address in TASK_RUNNING, jittered AWS expiry.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "docker/image_ref.h"
#include "docker_daemon.h"
#include "executor_harness.h"
#include "fake_vault.h"
#include "mesos/codec.h"
#include "task_builder.h"
#include "test_files.h"

using namespace std::chrono_literals;
using testing_support::container_exists;
using testing_support::DockerDaemon;
using testing_support::FakeVault;
using testing_support::Harness;
using testing_support::read_file;
using testing_support::SiteFile;
using testing_support::TaskBuilder;
namespace v1 = ::mesos::v1;

namespace {

std::string image() { return DockerDaemon::shared().image("test/bb:1"); }

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

struct TempDir {
  TempDir() : path(testing_support::make_temp_dir("sce-features-")) {}
  ~TempDir() { testing_support::remove_tree(path); }
  std::string path;
};

}  // namespace

TEST_CASE("EXECUTOR_REMOVE_CONTAINER: the container and its anonymous volume go after the ACK; without it they stay") {
  auto& d = DockerDaemon::shared();
  const std::string img = d.image_with("test/bb-volume:1", {"VOLUME /data"});
  for (const bool remove : {false, true}) {
    const std::string task = remove ? "rm-on-1" : "rm-off-1";
    Harness h(remove ? std::map<std::string, std::string>{{"EXECUTOR_REMOVE_CONTAINER", "true"}}
                     : std::map<std::string, std::string>{});
    h.agent.launch(TaskBuilder(task, img).shell("sh -c 'echo kept > /data/f; echo some output; sleep 3; exit 3'"));
    const auto running = h.wait_state(task, v1::TASK_RUNNING);
    const std::string id = Harness::container_id(running);
    REQUIRE(id.size() == 64);
    const std::string volume = trimmed(d.cli({"inspect", "--format", "{{range .Mounts}}{{.Name}}{{end}}", id}));
    REQUIRE_FALSE(volume.empty());
    h.wait_state(task, v1::TASK_FAILED);
    const auto code = h.exe->wait(20s);
    INFO(h.exe->output());
    REQUIRE(code == std::optional<int>(0));
    // The failure logs were copied before the removal.
    CHECK_THAT(h.exe->output(), Catch::Contains("some output"));
    INFO("remove=" << remove);
    CHECK(container_exists(d, task) == !remove);
    const std::string volumes = d.cli({"volume", "ls", "-q"});
    CHECK((volumes.find(volume) != std::string::npos) == !remove);
    if (remove) CHECK_THAT(h.exe->output(), Catch::Contains("removed container " + id.substr(0, 12)));
  }
}

TEST_CASE("EXECUTOR_MOUNT_SANDBOX: the app reads and writes the sandbox at /mnt/mesos/sandbox, MESOS_SANDBOX says so") {
  TempDir sandbox;
  std::ofstream(sandbox.path + "/fetched.txt") << "fetched by the agent\n";
  Harness h({{"MESOS_SANDBOX", sandbox.path}, {"MESOS_DIRECTORY", sandbox.path}, {"EXECUTOR_MOUNT_SANDBOX", "true"}});
  h.agent.launch(TaskBuilder("mount-1", image())
                     .env("MESOS_SANDBOX", "/etc")  // the task's value: replaced, never mounted
                     .shell("sh -c 'cat $MESOS_SANDBOX/fetched.txt > /mnt/mesos/sandbox/out.txt; echo "
                            "$MESOS_SANDBOX >> /mnt/mesos/sandbox/out.txt'"));
  h.wait_state("mount-1", v1::TASK_FINISHED);
  REQUIRE(h.exe->wait(15s) == std::optional<int>(0));
  INFO(h.exe->output());
  CHECK(read_file(sandbox.path + "/out.txt") == "fetched by the agent\n/mnt/mesos/sandbox\n");
  const std::string binds =
      trimmed(h.daemon.cli({"inspect", "--format", "{{json .HostConfig.Binds}}", docker::container_name("mount-1")}));
  CHECK(binds == "[\"" + sandbox.path + ":/mnt/mesos/sandbox\"]");
}

TEST_CASE("EXECUTOR_MOUNT_SANDBOX off (the default): no bind, the task's own MESOS_SANDBOX") {
  Harness h;
  h.agent.launch(TaskBuilder("mount-2", image()).shell("sh -c 'test ! -e /mnt/mesos/sandbox'"));
  h.wait_state("mount-2", v1::TASK_FINISHED);
  REQUIRE(h.exe->wait(15s) == std::optional<int>(0));
}

TEST_CASE("max_completion_time: the container is stopped at once when it passes: TASK_FAILED, no TASK_KILLING") {
  fake::AgentOptions ao;
  ao.task_killing_state = true;  // the framework takes TASK_KILLING: still none for this stop
  Harness h({{"EXECUTOR_KILL_TASK_TIMEOUT", "30"}}, false, ao);
  const auto t0 = std::chrono::steady_clock::now();
  // Ignores SIGTERM: only a stop without grace ends it quickly.
  h.agent.launch(TaskBuilder("maxc-1", image())
                     .max_completion_time(3s)
                     .shell("sh -c 'trap \"\" TERM; while true; do sleep 1; done'"));
  h.wait_state("maxc-1", v1::TASK_RUNNING);
  const auto failed = h.wait_state("maxc-1", v1::TASK_FAILED, 30s);
  const auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took >= 3s);
  CHECK(took < 10s);  // not the 30 s grace
  CHECK(failed.reason() == v1::TaskStatus::REASON_MAX_COMPLETION_TIME_REACHED);
  CHECK_THAT(failed.message(), Catch::Contains("max_completion_time of 3s reached"));
  CHECK(h.states("maxc-1") == std::vector<v1::TaskState>{v1::TASK_STARTING, v1::TASK_RUNNING, v1::TASK_FAILED});
  REQUIRE(h.exe->wait(15s) == std::optional<int>(0));
}

TEST_CASE("max_completion_time: a task that ends before it is FINISHED as usual") {
  Harness h;
  h.agent.launch(TaskBuilder("maxc-2", image()).max_completion_time(60s).shell("true"));
  const auto done = h.wait_state("maxc-2", v1::TASK_FINISHED);
  CHECK_FALSE(done.has_reason());
  REQUIRE(h.exe->wait(15s) == std::optional<int>(0));
}

// A site that lets tasks join these networks.
struct NetworkSite : SiteFile {
  NetworkSite() : SiteFile("policy:\n  allowed_networks: [sce-net-a, sce-net-b, sce-no-such-net]\n") {}
};

TEST_CASE("User-defined networks: TASK_RUNNING names every network joined with the container's address in each") {
  auto& d = DockerDaemon::shared();
  NetworkSite site;
  const std::string a = "sce-net-a", b = "sce-net-b";
  for (const auto& n : {a, b}) {
    try {
      d.cli({"network", "rm", n});  // a leftover of an earlier run
    } catch (const std::exception&) {
    }
    d.cli({"network", "create", n});
  }
  {
    Harness h({}, false, {}, {"--config", site.path});
    h.agent.launch(
        TaskBuilder("net-1", image()).user_networks({a, b}).shell("sh -c 'trap \"exit 0\" TERM; sleep 600 & wait'"));
    const auto running = h.wait_state("net-1", v1::TASK_RUNNING);
    const std::string name = docker::container_name("net-1");
    const auto ip_in = [&](const std::string& net) {
      return trimmed(
          d.cli({"inspect", "--format", "{{(index .NetworkSettings.Networks \"" + net + "\").IPAddress}}", name}));
    };
    const std::string ip_a = ip_in(a), ip_b = ip_in(b);
    REQUIRE_FALSE(ip_a.empty());
    REQUIRE_FALSE(ip_b.empty());
    CHECK(trimmed(d.cli({"inspect", "--format", "{{.HostConfig.NetworkMode}}", name})) == a);
    const auto& nets = running.container_status().network_infos();
    INFO(*mesos::to_json(running));
    REQUIRE(nets.size() == 2);
    CHECK(nets[0].name() == a);  // the network mode first
    REQUIRE(nets[0].ip_addresses_size() >= 1);
    CHECK(nets[0].ip_addresses(0).ip_address() == ip_a);
    CHECK(nets[1].name() == b);
    REQUIRE(nets[1].ip_addresses_size() >= 1);
    CHECK(nets[1].ip_addresses(0).ip_address() == ip_b);
    h.agent.kill("net-1");
    h.wait_state("net-1", v1::TASK_KILLED);
    REQUIRE(h.exe->wait(15s) == std::optional<int>(0));
  }
  d.remove_all_containers();
  for (const auto& n : {a, b}) d.cli({"network", "rm", n});
}

TEST_CASE("User-defined networks: a network that does not exist fails the task, naming it; no container is left") {
  NetworkSite site;
  Harness h({}, false, {}, {"--config", site.path});
  h.agent.launch(TaskBuilder("net-2", image()).user_networks({"sce-no-such-net"}).shell("true"));
  const auto failed = h.wait_state("net-2", v1::TASK_FAILED);
  CHECK_THAT(failed.message(), Catch::Contains("sce-no-such-net"));
  REQUIRE(h.exe->wait(15s) == std::optional<int>(0));
  CHECK_FALSE(container_exists(h.daemon, "net-2"));
}

TEST_CASE("User-defined networks: none is allowed by default (the site lists them)") {
  Harness h;
  h.agent.launch(TaskBuilder("net-4", image()).user_networks({"sce-net-a"}).shell("true"));
  const auto refused = h.wait_state("net-4", v1::TASK_ERROR);
  CHECK(refused.reason() == v1::TaskStatus::REASON_TASK_INVALID);
  CHECK_THAT(refused.message(), Catch::Contains("policy.allowed_networks"));
  REQUIRE(h.exe->wait(15s) == std::optional<int>(0));
}

TEST_CASE("Host networking: no network_infos in TASK_RUNNING (the agent adds its own address)") {
  Harness h;
  h.agent.launch(TaskBuilder("net-3", image()).host_network().shell("sh -c 'trap \"exit 0\" TERM; sleep 600 & wait'"));
  const auto running = h.wait_state("net-3", v1::TASK_RUNNING);
  CHECK(running.container_status().network_infos_size() == 0);
  h.agent.kill("net-3");
  h.wait_state("net-3", v1::TASK_KILLED);
  REQUIRE(h.exe->wait(15s) == std::optional<int>(0));
}

TEST_CASE("AWS expiry jitter: the task stops at a logged random point inside the last part of the lease") {
  FakeVault vault;
  vault.add_user("exec-user", "pw");
  // 370 s lease, less the 360 s margin: 10 s usable; 50 % jitter: the stop falls 5 to 10 s after issue.
  vault.set_aws_role("jitter", "AKIA-j", "secret-j", "", 370);
  Harness h({{"VAULT_ADDR", vault.addr()},
             {"VAULT_MAX_RETRIES", "0"},
             {"VAULT_CLIENT_TIMEOUT", "3s"},
             {"EXECUTOR_SIDECAR_BACKOFF", "1h"},
             {"VAULT_USERNAME", "exec-user"},
             {"VAULT_PASSWORD", "pw"},
             {"EXECUTOR_AWS_ROLE", "jitter"},
             {"EXECUTOR_AWS_ROLE_EXPIRY_JITTER", "50%"}});
  const auto t0 = std::chrono::steady_clock::now();
  h.agent.launch(TaskBuilder("jitter-1", image()).shell("sh -c 'trap \"exit 0\" TERM; sleep 600 & wait'"));
  h.wait_state("jitter-1", v1::TASK_RUNNING);
  const auto ended = h.wait_state("jitter-1", v1::TASK_KILLED, 30s);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK_THAT(ended.message(), Catch::Contains("AWS credentials"));
  REQUIRE(h.exe->wait(15s) == std::optional<int>(0));
  const std::string out = h.exe->output();
  INFO(out);
  std::smatch m;
  REQUIRE(std::regex_search(out, m, std::regex(R"(the task stops in ([0-9.]+) s, at )")));
  const double chosen = std::stod(m[1].str());
  CHECK(chosen >= 5.0);
  CHECK(chosen <= 10.0);
  CHECK_THAT(out, Catch::Contains("EXECUTOR_AWS_ROLE_EXPIRY_JITTER"));
  // The stop came when the log said (issued a little after t0; the kill takes a moment).
  CHECK(took >= chosen);
  CHECK(took < chosen + 6.0);
}

namespace {
std::vector<std::string> file_lines(const std::string& path) {
  std::vector<std::string> out;
  std::istringstream in(read_file(path));
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}
}  // namespace

TEST_CASE("Sandbox logs: the container's stdout and stderr appear in the sandbox while the task runs") {
  Harness h;
  h.agent.launch(TaskBuilder("slog-1", image())
                     .shell("sh -c 'echo out-1; echo err-1 >&2; echo out-2; trap \"exit 0\" TERM; sleep 600 & wait'"));
  h.wait_state("slog-1", v1::TASK_RUNNING);
  const std::string out = h.sandbox + "/container.stdout", err = h.sandbox + "/container.stderr";
  const bool seen = fake::FakeAgent::wait_until(
      [&] { return read_file(out) == "out-1\nout-2\n" && read_file(err) == "err-1\n"; }, 15s);
  INFO("stdout: " << read_file(out) << "stderr: " << read_file(err));
  CHECK(seen);
  CHECK(h.container_running("slog-1"));  // while it runs
  h.agent.kill("slog-1");
  h.wait_state("slog-1", v1::TASK_KILLED);
  REQUIRE(h.exe->wait(15s) == std::optional<int>(0));
  CHECK_THAT(h.exe->output(), Catch::Contains("sandbox logs done: 3 line(s) written, 0 dropped"));
}

TEST_CASE("Sandbox logs: rotation at 64 KiB keeping 2, no line lost or reordered across the rotations") {
  Harness h({{"EXECUTOR_SANDBOX_LOGS_MAX_SIZE", "64KiB"}, {"EXECUTOR_SANDBOX_LOGS_KEEP", "2"}});
  // 3000 lines of 51 bytes: about 150 KiB, two rotations; all of it fits in the three files. The task
  // exits right after its last line (what Docker's followed stream leaves out then comes by the
  // catch-up read: see test_logs).
  h.agent.launch(TaskBuilder("slog-2", image())
                     .shell("sh -c 'for i in $(seq 1000 3999); do echo \"line $i "
                            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"; done'"));
  h.wait_state("slog-2", v1::TASK_FINISHED);
  REQUIRE(h.exe->wait(20s) == std::optional<int>(0));
  testing_support::report_catch_up(h.exe->output());
  const std::string base = h.sandbox + "/container.stdout";
  std::vector<std::string> all;
  for (const std::string& f : {base + ".2", base + ".1", base}) {
    INFO(f);
    struct stat st {};
    REQUIRE(::stat(f.c_str(), &st) == 0);
    CHECK(st.st_size <= 64 * 1024);
    CHECK(st.st_size > 0);
    for (auto& l : file_lines(f)) all.push_back(std::move(l));
  }
  CHECK_FALSE(std::ifstream(base + ".3").good());
  REQUIRE(all.size() == 3000);
  for (int i = 0; i < 3000; ++i) {
    if (all[static_cast<std::size_t>(i)] != fmt::format("line {} {}", 1000 + i, std::string(40, 'x'))) {
      FAIL("line " << i << " is " << all[static_cast<std::size_t>(i)]);
    }
  }
}

TEST_CASE("Sandbox logs off (EXECUTOR_SANDBOX_LOGS=false): no files") {
  Harness h(std::map<std::string, std::string>{{"EXECUTOR_SANDBOX_LOGS", "false"}});
  h.agent.launch(TaskBuilder("slog-3", image()).shell("sh -c 'echo hello'"));
  h.wait_state("slog-3", v1::TASK_FINISHED);
  REQUIRE(h.exe->wait(15s) == std::optional<int>(0));
  CHECK_FALSE(std::ifstream(h.sandbox + "/container.stdout").good());
  CHECK_FALSE(std::ifstream(h.sandbox + "/container.stderr").good());
}

TEST_CASE("Mesos health checks (HTTP, TCP, COMMAND): healthy, then unhealthy at each failure, then killed") {
  struct Case {
    const char* name;
    v1::HealthCheck::Type type;
    std::string shell;  // healthy for about 4 s, then not
  };
  const std::string web =
      "mkdir -p /www && echo ok > /www/index.html && httpd -p 8080 -h /www && sleep 4 && killall httpd";
  for (const Case& c : {Case{"http", v1::HealthCheck::HTTP, web}, Case{"tcp", v1::HealthCheck::TCP, web},
                        Case{"command", v1::HealthCheck::COMMAND, "touch /tmp/ok && sleep 4 && rm /tmp/ok"}}) {
    INFO(c.name);
    v1::HealthCheck hc;
    hc.set_type(c.type);
    if (c.type == v1::HealthCheck::HTTP) {
      hc.mutable_http()->set_port(8080);
      hc.mutable_http()->set_path("/index.html");
    } else if (c.type == v1::HealthCheck::TCP) {
      hc.mutable_tcp()->set_port(8080);
    } else {
      hc.mutable_command()->set_value("test -f /tmp/ok");
    }
    hc.set_delay_seconds(0.5);
    hc.set_interval_seconds(1);
    hc.set_timeout_seconds(2);
    hc.set_grace_period_seconds(0);
    hc.set_consecutive_failures(2);
    const std::string task = std::string("health-") + c.name;
    Harness h;
    h.agent.launch(TaskBuilder(task, image()).health_check(hc).shell("sh -c '" + c.shell + "; sleep 600'"));
    const auto killed = h.wait_state(task, v1::TASK_KILLED, 40s);
    REQUIRE(h.exe->wait(15s) == std::optional<int>(0));
    // RUNNING, RUNNING healthy, RUNNING unhealthy ×2, KILLED unhealthy.
    std::vector<std::string> seen;
    for (const auto& s : h.updates_of(task)) {
      std::string x = v1::TaskState_Name(s.state());
      if (s.has_healthy()) x += s.healthy() ? " healthy" : " unhealthy";
      seen.push_back(x);
    }
    INFO(h.exe->output());
    CHECK(seen == std::vector<std::string>{"TASK_STARTING", "TASK_RUNNING", "TASK_RUNNING healthy",
                                           "TASK_RUNNING unhealthy", "TASK_RUNNING unhealthy",
                                           "TASK_KILLED unhealthy"});
    for (const auto& s : h.updates_of(task)) {
      if (s.state() == v1::TASK_RUNNING && s.has_healthy()) {
        CHECK(s.reason() == v1::TaskStatus::REASON_TASK_HEALTH_CHECK_STATUS_UPDATED);
      }
    }
    CHECK_THAT(killed.message(), Catch::Contains("2 consecutive failed health checks"));
  }
}
