// `sidecar-executor --check` against a healthy site (a real dockerd, a fake Vault and Sidecar, a root-owned
// wrapper folder) and a broken one (Docker down, Vault down, a credentials file anyone can write, one
// that is not JSON, a syslog address that does not resolve, a missing wrapper, a group-writable binary).
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "docker_daemon.h"
#include "fake_sidecar.h"
#include "fake_vault.h"
#include "process.h"

using namespace std::chrono_literals;
using testing_support::DockerDaemon;
using testing_support::FakeSidecar;
using testing_support::FakeVault;
using testing_support::Process;

namespace {

const std::string kRegistryPassword = "check-canary-registry-password";

struct Site {
  Site() : dir(testing_support::make_temp_dir("sce-check.")) {
    ::chmod(dir.c_str(), 0755);
    executor_dir = dir + "/opt-mesos";
    ::mkdir(executor_dir.c_str(), 0755);
    for (const char* f : {"executor.sh", "sidecar-executor"}) {
      const std::string p = executor_dir + "/" + f;
      std::ofstream(p) << "#!/bin/sh\n";
      ::chmod(p.c_str(), 0755);
    }
    docker_config = dir + "/docker";
    ::mkdir(docker_config.c_str(), 0700);
    // auth: base64("user:<password>")
    const std::string auth = "dXNlcjpjaGVjay1jYW5hcnktcmVnaXN0cnktcGFzc3dvcmQ=";
    std::ofstream(docker_config + "/config.json") << R"({"auths":{"127.0.0.1:5000":{"auth":")" << auth << R"("}}})";
    ::chmod((docker_config + "/config.json").c_str(), 0600);
  }
  ~Site() { testing_support::remove_tree(dir); }
  std::string dir, executor_dir, docker_config;
};

struct Run {
  int code = -1;
  std::string out;
};

Run check(const std::map<std::string, std::string>& env, const std::vector<std::string>& args) {
  std::vector<std::string> argv{testing_support::executor_binary(), "--check"};
  argv.insert(argv.end(), args.begin(), args.end());
  Process p(argv, env);
  const auto code = p.wait(60s);
  return Run{code.value_or(-1), p.output()};
}

std::string line_of(const std::string& out, const std::string& name) {
  const auto at = out.find("\n" + name + " ");
  if (at == std::string::npos) return "";
  return out.substr(at + 1, out.find('\n', at + 1) - at - 1);
}

}  // namespace

TEST_CASE("--check on a healthy site: every line ok, exit 0, no secret printed") {
  auto& d = DockerDaemon::shared();
  Site site;
  FakeVault vault;
  const std::string token = vault.add_token();
  FakeSidecar sidecar;
  sidecar.set_service("check-host", "0123456789ab", 0);
  const auto r = check({{"PATH", "/usr/bin:/bin"},
                        {"DOCKER_HOST", d.host()},
                        {"DOCKER_CONFIG", site.docker_config},
                        {"HOME", "/nonexistent"},
                        {"VAULT_ADDR", vault.addr()},
                        {"VAULT_TOKEN", token},
                        {"EXECUTOR_SIDECAR_URL", sidecar.url()},
                        {"TASK_HOST", "check-host"},
                        {"EXECUTOR_SYSLOG_ADDR", "127.0.0.1:514"}},
                       {"--image", "127.0.0.1:5000/app:1", "--executor-dir", site.executor_dir});
  INFO(r.out);
  CHECK(r.code == 0);
  for (const char* name : {"settings", "docker", "registry", "vault", "sidecar", "syslog", "wrapper", "binary"}) {
    INFO(name);
    CHECK(line_of(r.out, name).find(" ok ") != std::string::npos);
  }
  CHECK_THAT(line_of(r.out, "docker"), Catch::Contains("Engine API"));
  CHECK_THAT(line_of(r.out, "registry"), Catch::Contains("127.0.0.1:5000"));
  CHECK_THAT(line_of(r.out, "registry"), Catch::Contains("config.json"));
  CHECK_THAT(line_of(r.out, "vault"), Catch::Contains("TTL"));
  CHECK_THAT(line_of(r.out, "sidecar"), Catch::Contains("check-host"));
  CHECK(r.out.find(kRegistryPassword) == std::string::npos);
  CHECK(r.out.find(token) == std::string::npos);
}

TEST_CASE("--check on a broken site: each broken part a failed line with its reason, exit 1, no secret printed") {
  Site site;
  const std::string unsafe_config = site.docker_config + "/config.json";
  ::chmod(unsafe_config.c_str(), 0666);  // anyone could change the credentials
  // The next config file looked at ($HOME/.docker/config.json) is not JSON.
  const std::string home = site.dir + "/home";
  ::mkdir(home.c_str(), 0700);
  ::mkdir((home + "/.docker").c_str(), 0700);
  const std::string malformed_config = home + "/.docker/config.json";
  std::ofstream(malformed_config) << R"({"auths":{"127.0.0.1:5000":{"auth":)";
  ::chmod(malformed_config.c_str(), 0600);
  // The wrapper is gone and the binary is writable by its group.
  ::unlink((site.executor_dir + "/executor.sh").c_str());
  ::chmod((site.executor_dir + "/sidecar-executor").c_str(), 0775);
  FakeSidecar sidecar;
  sidecar.set_service("another-host", "0123456789ab", 0);
  const int closed_port = testing_support::free_tcp_port();
  const std::string vault_addr = fmt::format("http://127.0.0.1:{}", closed_port);
  const auto r = check({{"PATH", "/usr/bin:/bin"},
                        {"DOCKER_HOST", "unix:///tmp/sce-check-no-such.sock"},
                        {"DOCKER_CONFIG", site.docker_config},
                        {"HOME", home},
                        {"VAULT_ADDR", vault_addr},
                        {"VAULT_TOKEN", "check-canary-vault-token"},
                        {"EXECUTOR_SIDECAR_URL", sidecar.url()},
                        {"TASK_HOST", "check-host"},
                        // The relay is on, so an address that does not resolve fails the check (a
                        // warning only when the relay is off). .invalid never resolves (RFC 6761).
                        {"EXECUTOR_RELAY_SYSLOG", "true"},
                        {"EXECUTOR_SYSLOG_ADDR", "no-such-host.invalid:514"}},
                       {"--image", "127.0.0.1:5000/app:1", "--executor-dir", site.executor_dir});
  INFO(r.out);
  CHECK(r.code == 1);
  CHECK_THAT(line_of(r.out, "docker"), Catch::Contains("FAIL") && Catch::Contains("sce-check-no-such.sock"));
  // The request that failed, at the address given, and why (the HTTP client's name for a connection
  // that could not be made).
  CHECK_THAT(line_of(r.out, "vault"),
             Catch::StartsWith("vault     FAIL") && Catch::Contains(vault_addr + "/v1/sys/health: could not connect"));
  const std::string registry = line_of(r.out, "registry");
  CHECK_THAT(registry, Catch::StartsWith("registry  FAIL") && Catch::Contains("no credentials found"));
  CHECK_THAT(registry, Catch::Contains(unsafe_config + ": writable by group or others: not used"));
  CHECK_THAT(registry, Catch::Contains(malformed_config + ": Docker config is not a JSON object"));
  CHECK_THAT(line_of(r.out, "sidecar"), Catch::Contains("FAIL") && Catch::Contains("check-host"));
  CHECK_THAT(line_of(r.out, "syslog"),
             Catch::StartsWith("syslog    FAIL") && Catch::Contains("no-such-host.invalid:514 does not resolve"));
  CHECK(line_of(r.out, "wrapper") == "wrapper   FAIL   " + site.executor_dir + "/executor.sh: missing");
  CHECK(line_of(r.out, "binary") ==
        "binary    FAIL   " + site.executor_dir + "/sidecar-executor: writable by group or others (mode 775)");
  CHECK(line_of(r.out, "folder").empty());  // the folder itself is root's and 0755
  CHECK(r.out.find("check-canary-vault-token") == std::string::npos);
  CHECK(r.out.find(kRegistryPassword) == std::string::npos);
}

TEST_CASE("--check with a site file that does not load: one failed line naming the problem, exit 1") {
  Site site;
  const std::string bad = site.dir + "/config.yaml";
  std::ofstream(bad) << "no_such_setting: 1\n";
  ::chmod(bad.c_str(), 0644);
  const auto r = check({{"PATH", "/usr/bin:/bin"}}, {"--config", bad});
  INFO(r.out);
  CHECK(r.code == 1);
  CHECK_THAT(line_of(r.out, "settings"), Catch::Contains("FAIL") && Catch::Contains("no_such_setting"));
}
