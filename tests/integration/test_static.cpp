// The shipped artifacts: the static binary (packaging/build-static) and the Debian package
// (packaging/build-deb). SIDECAR_EXECUTOR_STATIC_DIR names the static build folder; without it these
// tests are skipped (exit code 77), and tools/test-all always sets it.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "docker_daemon.h"
#include "fake_agent.h"
#include "task_builder.h"

using namespace std::chrono_literals;
using fake::FakeAgent;
using testing_support::DockerDaemon;
using testing_support::Process;
using testing_support::TaskBuilder;
namespace v1 = ::mesos::v1;
namespace fs = std::filesystem;

namespace {

std::string static_dir() {
  const char* d = std::getenv("SIDECAR_EXECUTOR_STATIC_DIR");
  return d ? d : "";
}

struct Ran {
  int code = -1;
  std::string output;
};

Ran run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = 60s) {
  Process p(argv, {{"PATH", "/usr/sbin:/usr/bin:/sbin:/bin"}, {"LANG", "C"}});
  auto code = p.wait(timeout);
  return Ran{code.value_or(-1), p.output()};
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

bool has_state(const FakeAgent& agent, v1::TaskState s) {
  for (const auto& u : agent.updates()) {
    if (u.status.state() == s) return true;
  }
  return false;
}

// The Debian mirror this machine's apt uses (deb822 URIs: or a one-line "deb" entry); empty: none
// found, and debootstrap uses its own default.
std::string debian_mirror() {
  std::ifstream deb822("/etc/apt/sources.list.d/debian.sources");
  for (std::string line; std::getline(deb822, line);) {
    if (line.rfind("URIs:", 0) == 0) {
      std::istringstream words(line.substr(5));
      std::string uri;
      if (words >> uri) return uri;
    }
  }
  std::ifstream list("/etc/apt/sources.list");
  for (std::string line; std::getline(list, line);) {
    std::istringstream words(line);
    std::string kind, uri;
    if (words >> kind >> uri && kind == "deb" && uri.rfind("http", 0) == 0) return uri;
  }
  return "";
}

// A clean Debian 12 root filesystem (debootstrap --variant=minbase), as a tarball kept in the user's
// cache for a week so that repeated runs do not download it again.
std::string debian_rootfs_tar() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  const fs::path cache = xdg && *xdg ? fs::path(xdg) : fs::path(home && *home ? home : "/tmp") / ".cache";
  const fs::path dir = cache / "sidecar-executor-tests";
  const fs::path tar = dir / "debian-bookworm-minbase.tar";
  std::error_code ec;
  if (fs::exists(tar, ec)) {
    const auto age = fs::file_time_type::clock::now() - fs::last_write_time(tar, ec);
    if (!ec && age < std::chrono::hours(24 * 7)) return tar.string();
  }
  fs::create_directories(dir);
  const std::string root = testing_support::make_temp_dir("sce-debian.");
  std::vector<std::string> argv = {"/usr/sbin/debootstrap", "--variant=minbase", "bookworm", root};
  if (const std::string mirror = debian_mirror(); !mirror.empty()) argv.push_back(mirror);
  auto boot = run(argv, 600s);
  INFO(boot.output.substr(boot.output.size() > 4000 ? boot.output.size() - 4000 : 0));
  REQUIRE(boot.code == 0);
  const std::string partial = tar.string() + ".partial";
  REQUIRE(run({"/bin/tar", "-C", root, "-cf", partial, "."}, 300s).code == 0);
  fs::rename(partial, tar);
  testing_support::remove_tree(root);
  return tar.string();
}

}  // namespace

TEST_CASE("The static binary is fully static and runs a task from an empty container") {
  const std::string dir = static_dir();
  if (dir.empty()) {
    WARN("SIDECAR_EXECUTOR_STATIC_DIR is not set: skipped");
    std::exit(77);
  }
  const std::string bin = dir + "/src/sidecar-executor";
  REQUIRE(fs::exists(bin));
  const auto file = run({"/usr/bin/file", "-L", bin});
  CHECK_THAT(file.output, Catch::Contains("statically linked"));
  const auto ldd = run({"/usr/bin/ldd", bin});
  CHECK_THAT(ldd.output, Catch::Contains("not a dynamic executable"));

  // An image holding nothing but the binary, an /etc/hosts placeholder and /tmp.
  auto& d = DockerDaemon::shared();
  const std::string task_image = d.image("test/bb:1");
  const std::string root = testing_support::make_temp_dir("sce-static-root.");
  fs::copy_file(bin, root + "/sidecar-executor");
  fs::create_directories(root + "/etc");
  fs::create_directories(root + "/tmp");
  std::ofstream(root + "/etc/hosts") << "127.0.0.1 localhost\n";
  REQUIRE(run({"/bin/tar", "-C", root, "-cf", root + ".tar", "."}).code == 0);
  d.cli({"import", "--change", R"(ENTRYPOINT ["/sidecar-executor"])", root + ".tar", "sce-static:1"});
  testing_support::remove_tree(root);
  ::unlink((root + ".tar").c_str());

  FakeAgent agent(fake::AgentOptions{});
  agent.start();
  const std::string port = agent.endpoint().substr(agent.endpoint().rfind(':') + 1);
  // The agent is named through /etc/hosts (Docker writes --add-host entries there): the static
  // binary resolves it with no NSS library in the image.
  const std::string exec_id = trim(d.cli({"run",          "-d",
                                          "--network",    "host",
                                          "--add-host",   "agent.test:127.0.0.1",
                                          "-v",           d.socket() + ":/var/run/docker.sock",
                                          "-e",           "MESOS_FRAMEWORK_ID=fw-0001",
                                          "-e",           "MESOS_EXECUTOR_ID=exec-1",
                                          "-e",           "MESOS_AGENT_ENDPOINT=agent.test:" + port,
                                          "-e",           "MESOS_CHECKPOINT=0",
                                          "-e",           "MESOS_DIRECTORY=/tmp",
                                          "-e",           "MESOS_SANDBOX=/tmp",
                                          "-e",           "DOCKER_HOST=unix:///var/run/docker.sock",
                                          "-e",           "EXECUTOR_SIDECAR_DRAINING_DURATION=0s",
                                          "sce-static:1", "padding-for-the-title"}));
  const bool subscribed = FakeAgent::wait_until([&] { return agent.stream_open(); }, 20s);
  INFO(d.cli({"logs", exec_id}));
  REQUIRE(subscribed);
  std::this_thread::sleep_for(100ms);
  agent.launch(TaskBuilder("static-1", task_image).shell("sh -c 'echo from the task; exit 0'"));
  const bool finished = FakeAgent::wait_until([&] { return has_state(agent, v1::TASK_FINISHED); }, 60s);
  const std::string code = trim(d.cli({"wait", exec_id}));
  const std::string logs = d.cli({"logs", exec_id});
  INFO(logs);
  CHECK(finished);
  CHECK(has_state(agent, v1::TASK_RUNNING));
  CHECK(code == "0");
  CHECK_THAT(logs, Catch::Contains("EXECUTOR_SIDECAR_DRAINING_DURATION=0s"));  // its startup dump
  d.remove_all_containers();
}

TEST_CASE("The .deb installs on a clean Debian rootfs and runs the demo task there") {
  const std::string dir = static_dir();
  if (dir.empty()) {
    WARN("SIDECAR_EXECUTOR_STATIC_DIR is not set: skipped");
    std::exit(77);
  }
  std::string deb;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".deb") deb = e.path().string();
  }
  REQUIRE_FALSE(deb.empty());
  auto& d = DockerDaemon::shared();
  d.image("sidecar-executor-demo/busybox:1");  // the demo task's image, as tools/demo imports it
  if (d.cli({"images", "-q", "sce-debian:12"}).empty()) {
    d.cli({"import", debian_rootfs_tar(), "sce-debian:12"});
  }
  // Inside the container: install, check the documented paths, validate the example config, run the
  // demo task through the wrapper with the packaged local agent, against the host's dockerd.
  const std::string script = R"(set -e
dpkg -i /pkg/sidecar-executor.deb
dpkg -s sidecar-executor | grep -q '^Status: install ok installed'
for f in /opt/mesos/sidecar-executor /opt/mesos/executor.sh /usr/libexec/sidecar-executor/local-agent; do
  test -x "$f" || { echo "missing $f"; exit 1; }
done
for f in README.md copyright examples/config.example.yaml examples/singularity-deploy.json \
         examples/singularity-request.json examples/executor-environment.sh.example examples/demo-task.yaml; do
  test -f "/usr/share/doc/sidecar-executor/$f" || { echo "missing doc $f"; exit 1; }
done
/opt/mesos/sidecar-executor --version
MESOS_FRAMEWORK_ID=f MESOS_EXECUTOR_ID=e MESOS_AGENT_ENDPOINT=localhost:1 \
  /opt/mesos/sidecar-executor --config /usr/share/doc/sidecar-executor/examples/config.example.yaml --print-config \
  | grep -q '^EXECUTOR_SEND_DOCKER_LABELS=ServiceName,Environment$'
EXECUTOR_SIDECAR_DRAINING_DURATION=0s DOCKER_HOST=unix:///var/run/docker.sock \
  /usr/libexec/sidecar-executor/local-agent --executor /opt/mesos/executor.sh --timeout 60 \
  /usr/share/doc/sidecar-executor/examples/demo-task.yaml
echo DEB-DEMO-OK
)";
  const auto out = d.cli({"run", "--rm", "--network", "host", "-v", d.socket() + ":/var/run/docker.sock", "-v",
                          deb + ":/pkg/sidecar-executor.deb:ro", "sce-debian:12", "sh", "-c", script});
  INFO(out);
  CHECK_THAT(out, Catch::Contains("sidecar-executor 0."));
  CHECK_THAT(out, Catch::Contains("TASK_FINISHED"));
  CHECK_THAT(out, Catch::Contains("DEB-DEMO-OK"));
  d.remove_all_containers();
}
