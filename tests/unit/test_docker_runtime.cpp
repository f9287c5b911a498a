// The Docker runtime when the daemon is missing or the task is bad: every step ends in an event
// with a message saying what and where — never a hang.
#include <catch2/catch.hpp>

#include <climits>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

#include "../docker_steps.h"
#include "../event_log.h"
#include "app/options.h"
#include "docker/runtime.h"
#include "settings/settings.h"

using namespace std::chrono_literals;
namespace ev = executor::ev;

namespace {

using Events = testing_support::EventLog;

docker::RuntimeOptions no_daemon() {
  docker::RuntimeOptions o;
  o.endpoint = docker::Endpoint::unix_socket("/tmp/sidecar-executor-unit-no-daemon.sock");
  o.call_timeout = 500ms;
  o.pull_attempts = 2;
  o.pull_backoff = 50ms;
  o.daemon_retry = 1000ms;
  o.env = util::map_env({});
  return o;
}

mesos::v1::TaskInfo task(const std::string& image) {
  mesos::v1::TaskInfo t;
  t.mutable_task_id()->set_value("t-1");
  t.mutable_container()->mutable_docker()->set_image(image);
  return t;
}

}  // namespace

TEST_CASE("A pull with no daemon fails after its attempts, naming where Docker was looked for") {
  Events events;
  docker::Runtime rt(no_daemon(), [&](executor::Event e) { events.push(std::move(e)); });
  testing_support::pull_task(rt, task("bb:1"), "bb:1", false);
  auto e = events.next(10s);
  REQUIRE(e);
  REQUIRE(std::holds_alternative<ev::StepFailed>(*e));
  const auto& f = std::get<ev::StepFailed>(*e);
  CHECK(f.step == executor::LaunchStep::Pull);
  CHECK_THAT(f.message, Catch::Contains("bb:1"));
  CHECK_THAT(f.message, Catch::Contains("sidecar-executor-unit-no-daemon.sock"));
  rt.shutdown();
}

TEST_CASE("Watching a container when the daemon is gone for good ends with an unknown outcome, not a hang") {
  Events events;
  docker::Runtime rt(no_daemon(), [&](executor::Event e) { events.push(std::move(e)); });
  rt.watch("0123456789ab");
  auto e = events.next(10s);
  REQUIRE(e);
  REQUIRE(std::holds_alternative<ev::ContainerExited>(*e));
  const auto& x = std::get<ev::ContainerExited>(*e);
  CHECK_FALSE(x.exit_code.has_value());
  CHECK_THAT(x.error, Catch::Contains("lost the Docker daemon"));
  rt.shutdown();
}

TEST_CASE("A task with a bad docker parameter fails its first step, before Docker is asked, naming the parameter") {
  Events events;
  docker::Runtime rt(no_daemon(), [&](executor::Event e) { events.push(std::move(e)); });
  auto t = task("bb:1");
  auto* p = t.mutable_container()->mutable_docker()->add_parameters();
  p->set_key("shm-size");
  p->set_value("lots");
  testing_support::pull_task(rt, t, "bb:1", false);
  auto e = events.next(10s);
  REQUIRE(e);
  REQUIRE(std::holds_alternative<ev::StepFailed>(*e));
  CHECK(std::get<ev::StepFailed>(*e).step == executor::LaunchStep::Pull);
  CHECK(std::get<ev::StepFailed>(*e).task_invalid);
  CHECK_THAT(std::get<ev::StepFailed>(*e).message, Catch::Contains("shm-size"));
  CHECK_THAT(std::get<ev::StepFailed>(*e).message, !Catch::Contains("sidecar-executor-unit-no-daemon.sock"));
  // Its plan does not build, so there is nothing to create.
  CHECK_FALSE(testing_support::container_plan(t, no_daemon().spec));
  rt.shutdown();
}

TEST_CASE("A bind's host path that became a link since the pull fails the create, before Docker is asked") {
  Events events;
  std::map<std::string, std::optional<std::string>> host = {{"/data/app", std::string("/data/app")}};
  auto o = no_daemon();
  o.spec.policy.allowed_bind_prefixes = std::vector<std::string>{"/data"};
  o.spec.resolve_host_path = [&host](const std::string& p) { return host.at(p); };
  docker::Runtime rt(o, [&](executor::Event e) { events.push(std::move(e)); });
  auto t = task("127.0.0.1:1/bb:1");
  auto* v = t.mutable_container()->add_volumes();
  v->set_host_path("/data/app");
  v->set_container_path("/mnt");
  auto plan = testing_support::container_plan(t, o.spec);  // as the pull builds it
  REQUIRE(plan);
  host["/data/app"] = std::string("/");  // a container above it put a link there during the pull
  rt.create(executor::act::CreateContainer{std::move(*plan)});
  auto e = events.next(10s);
  REQUIRE(e);
  REQUIRE(std::holds_alternative<ev::StepFailed>(*e));
  const auto& f = std::get<ev::StepFailed>(*e);
  CHECK(f.step == executor::LaunchStep::Create);
  CHECK_THAT(f.message, Catch::Contains("/data/app") && Catch::Contains("changed since it was checked"));
  CHECK_THAT(f.message, !Catch::Contains("sidecar-executor-unit-no-daemon.sock"));  // Docker never asked
  rt.shutdown();
}

TEST_CASE("Without the wrapper the container-id file is in the working directory, never where MESOS_SANDBOX says") {
  char dir[] = "/tmp/sce-unit-cwd-XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  char before[PATH_MAX];
  REQUIRE(::getcwd(before, sizeof before) != nullptr);
  const char* sandbox_before = std::getenv("MESOS_SANDBOX");
  const std::string saved = sandbox_before ? sandbox_before : "";
  const char* id_file_before = std::getenv("SIDECAR_EXECUTOR_ID_FILE");
  REQUIRE(id_file_before == nullptr);  // the wrapper's variable: not set in the unit tests
  REQUIRE(::chdir(dir) == 0);
  ::setenv("MESOS_SANDBOX", "/etc", 1);  // the task's to change: root must not write there
  auto s = settings::load_settings(util::map_env({}), "h");
  REQUIRE(s);
  const auto ro = app::runtime_options(*s, mesos::AgentEnv{}, settings::SitePolicy{});
  REQUIRE(::chdir(before) == 0);
  if (sandbox_before) {
    ::setenv("MESOS_SANDBOX", saved.c_str(), 1);
  } else {
    ::unsetenv("MESOS_SANDBOX");
  }
  ::rmdir(dir);
  CHECK(ro.container_id_file == std::string(dir) + "/sidecar-executor.container-id");
}

TEST_CASE("shutdown abandons a watch in progress at once") {
  Events events;
  auto o = no_daemon();
  o.daemon_retry = 60s;
  docker::Runtime rt(o, [&](executor::Event e) { events.push(std::move(e)); });
  rt.watch("0123456789ab");
  std::this_thread::sleep_for(100ms);
  const auto t0 = std::chrono::steady_clock::now();
  rt.shutdown();
  CHECK(std::chrono::steady_clock::now() - t0 < 3s);
  CHECK_FALSE(events.next(100ms).has_value());
}

// Issue 18, item 7: does a launch pull an image Docker already has? Go's rule: pull unless some
// RepoTags entry of a local image equals the task's image string exactly, or when force_pull_image is
// set (Go: executor.go:417 `!container.CheckImage(...)`, :421 ForcePullImage, :429 PullImage;
// container/container.go:52-53 `tag == taskInfo.Container.Docker.Image`). dockerd lists RepoTags in
// the familiar form ("busybox:latest", never "docker.io/library/busybox:latest", never a digest), so
// Go pulled untagged, docker.io/-spelled and digest references at every launch. Ours: pull when forced
// or when the reference can move (no tag, or `latest`; no digest); any other present image is used.
TEST_CASE("Which launches pull an image Docker has: Go's outcome for each reference, and ours") {
  const std::string hex(64, 'e');
  struct Case {
    std::string image;
    std::vector<std::string> repo_tags;  // what dockerd lists for the image once it is present
    bool force;
    bool go_pulls;
    bool we_pull;
    const char* why;  // when we differ: why, on purpose
  };
  const std::vector<Case> cases = {
      // Go: container/container.go:53 ("busybox" is not "busybox:latest")
      {"busybox", {"busybox:latest"}, false, true, true, ""},
      // Go: container/container.go:53
      {"127.0.0.1:5000/web", {"127.0.0.1:5000/web:latest"}, false, true, true, ""},
      // Go: container/container.go:53 (exact match: used as it is)
      {"busybox:latest", {"busybox:latest"}, false, false, true, "`latest` moves like no tag (issue 18 item 7)"},
      // Go: container/container.go:53
      {"127.0.0.1:5000/web:latest",
       {"127.0.0.1:5000/web:latest"},
       false,
       false,
       true,
       "`latest` moves like no tag (issue 18 item 7)"},
      // Go: container/container.go:53
      {"busybox:1.35", {"busybox:1.35"}, false, false, false, ""},
      // Go: container/container.go:53
      {"127.0.0.1:5000/web:1.2", {"127.0.0.1:5000/web:1.2"}, false, false, false, ""},
      // Go: container/container.go:53 (the docker.io/ spelling never matches)
      {"docker.io/library/busybox:1.35",
       {"busybox:1.35"},
       false,
       true,
       false,
       "a fixed tag Docker has is used, however it is spelled"},
      // Go: container/container.go:53 (RepoTags hold no digests)
      {"127.0.0.1:5000/web@sha256:" + hex, {}, false, true, false, "a digest names one image for good"},
      // Go: executor.go:421
      {"127.0.0.1:5000/web:1.2", {"127.0.0.1:5000/web:1.2"}, true, true, true, ""},
      // Go: executor.go:421
      {"127.0.0.1:5000/web@sha256:" + hex, {}, true, true, true, ""},
  };
  for (const auto& c : cases) {
    INFO(c.image << (c.force ? " (force_pull_image)" : ""));
    // The Go column is a transcription of the rule above, checked so a typo in the data shows.
    bool listed = false;
    for (const auto& t : c.repo_tags) listed = listed || t == c.image;
    CHECK(c.go_pulls == (c.force || !listed));
    const std::string reason = docker::refresh_reason(docker::parse_image_ref(c.image), c.force);
    CHECK(!reason.empty() == c.we_pull);
    CHECK((c.go_pulls == c.we_pull) == std::string(c.why).empty());
  }
  CHECK(docker::refresh_reason(docker::parse_image_ref("busybox"), true) == "force_pull_image is set");
  CHECK_THAT(docker::refresh_reason(docker::parse_image_ref("busybox"), false), Catch::Contains("without a tag"));
  CHECK_THAT(docker::refresh_reason(docker::parse_image_ref("busybox:latest"), false), Catch::Contains("`latest`"));
}

TEST_CASE("What the log pump does once Docker's attached stream has ended, for each container state") {
  using C = docker::AttachEnd::Container;
  using A = docker::AfterAttach;
  struct Row {
    C container;
    bool stream_error, gave_bytes;
    A want;
  };
  const std::vector<Row> rows = {
      // Ended before the start (the daemon restarted between the attach and the start).
      {C::Created, false, false, A::FromStart},
      {C::Created, true, false, A::FromStart},
      {C::Created, false, true, A::FromStart},
      // Ended at the exit: whole, unless an error cut it (catch-up after the last piece) or nothing
      // came (a container that wrote nothing, or an attach that ended before a fast container ran).
      {C::Stopped, false, true, A::Whole},
      {C::Stopped, true, true, A::CatchUpAtExit},
      {C::Stopped, false, false, A::ReadLogOnce},
      {C::Stopped, true, false, A::ReadLogOnce},
      // Already removed: its log went with it.
      {C::Gone, false, true, A::Whole},
      {C::Gone, true, false, A::Whole},
      // Cut while it runs (a daemon restarted with live-restore) or with Docker silent.
      {C::Running, false, true, A::FollowAfterLastPiece},
      {C::Running, true, false, A::FollowAfterLastPiece},
      {C::NoAnswer, false, true, A::FollowAfterLastPiece},
      {C::NoAnswer, true, true, A::FollowAfterLastPiece},
  };
  for (const auto& r : rows) {
    INFO("container " << static_cast<int>(r.container) << " error " << r.stream_error << " bytes " << r.gave_bytes);
    CHECK(docker::after_attach({r.container, r.stream_error, r.gave_bytes}) == r.want);
  }
}
