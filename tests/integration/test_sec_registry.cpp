// Issue 16, item 2: the operator's registry credentials go only to the registry they belong to.
// The real executor, the private dockerd, a real local registry with htpasswd auth, and a fake
// registry on 127.0.0.1 that challenges with Basic auth and records what it is sent. The Docker
// config holds credentials for Docker Hub and for the local registry, none for the fake one.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

#include "docker_daemon.h"
#include "executor_harness.h"
#include "fake_registry.h"
#include "task_builder.h"
#include "util/base64.h"

using namespace std::chrono_literals;
using testing_support::DockerDaemon;
using testing_support::FakeRegistry;
using testing_support::Harness;
using testing_support::LocalRegistry;
using testing_support::TaskBuilder;
namespace v1 = ::mesos::v1;

namespace {

constexpr const char* kHubKey = "https://index.docker.io/v1/";
const std::string kHubUser = "hub-operator";
const std::string kHubPassword = "hub-pw-4f1c9a";
const std::string kLocalUser = "local-operator";
const std::string kLocalPassword = "local-pw-7d2e5b";

// Texts that would show a credential: the passwords and each "user:password" in base64.
std::vector<std::string> credential_texts() {
  return {kHubPassword, kLocalPassword, util::base64_encode(kHubUser + ":" + kHubPassword),
          util::base64_encode(kLocalUser + ":" + kLocalPassword)};
}

struct ConfigDir {
  std::string path = testing_support::make_temp_dir("sce-secreg.");
  explicit ConfigDir(const std::string& local_registry) {
    nlohmann::json j;
    j["auths"][kHubKey]["auth"] = util::base64_encode(kHubUser + ":" + kHubPassword);
    j["auths"][local_registry]["auth"] = util::base64_encode(kLocalUser + ":" + kLocalPassword);
    const std::string file = path + "/config.json";
    std::ofstream(file) << j.dump();
    ::chmod(file.c_str(), 0600);
  }
  ~ConfigDir() { testing_support::remove_tree(path); }
};

// What a Basic Authorization header carries, decoded; the header itself otherwise.
std::string decoded_authorization(const std::string& header) {
  if (header.rfind("Basic ", 0) == 0) {
    if (auto d = util::base64_decode(header.substr(6))) return *d;
  }
  return header;
}

// The executor's output with the quotes its log format escapes (logrus text: msg="… \"x\" …") put back.
std::string unquoted(std::string text) {
  for (auto at = text.find("\\\""); at != std::string::npos; at = text.find("\\\"", at + 1)) text.erase(at, 1);
  return text;
}

void check_no_credential_in(const std::string& what, const std::string& text) {
  for (const auto& c : credential_texts()) {
    INFO(what << " must not hold " << c);
    CHECK(text.find(c) == std::string::npos);
  }
}

}  // namespace

TEST_CASE("A registry of the task's choosing receives no credentials of another registry") {
  DockerDaemon& d = DockerDaemon::shared();
  (void)d.image("test/bb:1");
  LocalRegistry local(kLocalUser, kLocalPassword);
  FakeRegistry fake;
  ConfigDir config(local.address());
  const std::string image = fake.address() + "/app:1";

  // Unset, the setting is Docker Hub's key (the Go executor's default), where the old lookup sent the
  // hub password to every registry without an entry of its own.
  const std::vector<std::optional<std::string>> settings = {std::nullopt, local.address(), std::string(kHubKey)};
  int n = 0;
  for (const auto& setting : settings) {
    const std::string task = fmt::format("steal-{}", ++n);
    INFO("EXECUTOR_DOCKER_REPOSITORY " << setting.value_or("(unset)"));
    std::map<std::string, std::string> env = {{"DOCKER_CONFIG", config.path}};
    if (setting) env["EXECUTOR_DOCKER_REPOSITORY"] = *setting;
    fake.clear();
    Harness h(env);
    h.agent.launch(TaskBuilder(task, image).shell("true"));
    const auto failed = h.wait_state(task, v1::TASK_FAILED, 120s);
    INFO(h.exe->output());
    CHECK(failed.reason() == v1::TaskStatus::REASON_CONTAINER_LAUNCH_FAILED);
    CHECK_THAT(failed.message(), Catch::Contains("pull") && Catch::Contains(image));
    CHECK(h.container_stopped(task));
    REQUIRE(h.exe->wait(15s) == std::optional<int>(0));

    // The pull did reach the fake registry (so a credential sent would have been seen)…
    const auto requests = fake.requests();
    REQUIRE_FALSE(requests.empty());
    CHECK(std::any_of(requests.begin(), requests.end(), [](const auto& r) { return r.path.rfind("/v2/", 0) == 0; }));
    // …and no request carried a credential, in any form.
    for (const auto& r : requests) {
      INFO(r.method << " " << r.path << " Authorization: " << r.authorization);
      const std::string decoded = decoded_authorization(r.authorization);
      CHECK(decoded != kHubUser + ":" + kHubPassword);
      CHECK(decoded != kLocalUser + ":" + kLocalPassword);
      check_no_credential_in("the Authorization header", decoded + " " + r.authorization);
      CHECK(r.authorization.empty());  // the config has nothing for this registry
    }
    // Nothing the executor said or logged holds a credential.
    for (const auto& u : h.updates_of(task)) check_no_credential_in("a status message", u.message());
    const std::string out = h.exe->output();
    check_no_credential_in("the executor's output", out);
    CHECK_THAT(out, Catch::Contains("without registry credentials"));
    if (setting && *setting == local.address()) {
      // The task named the local registry's entry: the log says it was not used for this image.
      CHECK_THAT(out, Catch::Contains("EXECUTOR_DOCKER_REPOSITORY") && Catch::Contains("not used"));
    }
  }
}

TEST_CASE("The image's own registry still gets its credentials, whatever the setting names") {
  DockerDaemon& d = DockerDaemon::shared();
  LocalRegistry local(kLocalUser, kLocalPassword);
  const std::string remote = local.push(d, d.image("test/bb:1"), "sec/bb:1");
  ConfigDir config(local.address());
  // The Go executor would have sent the hub entry (the setting's) to the local registry: refused.
  Harness h({{"DOCKER_CONFIG", config.path}, {"EXECUTOR_DOCKER_REPOSITORY", kHubKey}});
  h.agent.launch(TaskBuilder("own-1", remote).shell("true"));
  h.wait_state("own-1", v1::TASK_FINISHED, 120s);
  const std::string out = unquoted(h.exe->output());
  INFO(out);
  CHECK_THAT(out, Catch::Contains(fmt::format("with registry credentials from auths[\"{}\"]", local.address())));
  check_no_credential_in("the executor's output", out);
  for (const auto& u : h.updates_of("own-1")) check_no_credential_in("a status message", u.message());
  REQUIRE(h.exe->wait(15s) == std::optional<int>(0));
  d.cli({"rmi", "-f", remote});
}

// Issue 18, item 9: the legacy ~/.dockercfg (registry → {auth, email}, no `auths` wrapper) is read as
// the Go executor reads it (go-dockerclient auth.go:60-70 cfgPaths, :120-124 the legacy layout), by the
// real binary with HOME pointing at it, under the same rules as config.json: only the image's own
// registry, and only a file nobody else can write.
TEST_CASE("~/.dockercfg credentials are used for a pull from a registry that asks for them") {
  DockerDaemon& d = DockerDaemon::shared();
  LocalRegistry local(kLocalUser, kLocalPassword);
  const std::string remote = local.push(d, d.image("test/bb:1"), "legacy/bb:1");
  const std::string home = testing_support::make_temp_dir("sce-home.");
  const std::string cfg = home + "/.dockercfg";
  nlohmann::json legacy;
  legacy[local.address()]["auth"] = util::base64_encode(kLocalUser + ":" + kLocalPassword);
  legacy[local.address()]["email"] = "ops@example.com";
  std::ofstream(cfg) << legacy.dump();
  ::chmod(cfg.c_str(), 0600);

  SECTION("a file only its owner can write: the pull uses its entry") {
    Harness h({{"HOME", home}});
    h.agent.launch(TaskBuilder("dockercfg-1", remote).shell("true"));
    h.wait_state("dockercfg-1", v1::TASK_FINISHED, 120s);
    const std::string out = unquoted(h.exe->output());
    INFO(out);
    CHECK_THAT(out, Catch::Contains(fmt::format("with registry credentials from \"{}\" (.dockercfg format) in {}",
                                                local.address(), cfg)));
    check_no_credential_in("the executor's output", out);
    for (const auto& u : h.updates_of("dockercfg-1")) check_no_credential_in("a status message", u.message());
    REQUIRE(h.exe->wait(15s) == std::optional<int>(0));
  }
  SECTION("a file others can write is not used: the registry refuses the pull") {
    ::chmod(cfg.c_str(), 0666);
    Harness h({{"HOME", home}});
    h.agent.launch(TaskBuilder("dockercfg-2", remote).shell("true"));
    const auto failed = h.wait_state("dockercfg-2", v1::TASK_FAILED, 120s);
    const std::string out = unquoted(h.exe->output());
    INFO(out);
    CHECK_THAT(failed.message(), Catch::Contains("pull") && Catch::Contains(remote));
    CHECK_THAT(out, Catch::Contains(cfg + ": writable by group or others: not used"));
    CHECK_THAT(out, Catch::Contains("without registry credentials"));
    check_no_credential_in("the executor's output", out);
    REQUIRE(h.exe->wait(15s) == std::optional<int>(0));
  }
  d.cli({"rmi", "-f", remote});
  testing_support::remove_tree(home);
}
