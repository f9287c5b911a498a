// The Docker adapter against a real dockerd (private to this test program): translation effects seen
// by the container and by inspect, pulls from a real registry with htpasswd auth, exit detection,
// SIGTERM-ignoring containers, and the multiplexed log stream kept byte for byte.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <ctime>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../docker_steps.h"
#include "../event_log.h"
#include "docker/client.h"
#include "docker/runtime.h"
#include "docker/task_spec.h"
#include "docker_daemon.h"
#include "docker_proxy.h"
#include "task_builder.h"

using namespace std::chrono_literals;
using testing_support::DockerDaemon;
using testing_support::DockerProxy;
using testing_support::EventLog;
using testing_support::TaskBuilder;
namespace ev = executor::ev;

namespace {

template <typename T>
T expect(EventLog& log, std::chrono::milliseconds timeout = 60s) {
  auto e = log.next(timeout);
  REQUIRE(e.has_value());
  INFO("got " << executor::describe(*e));
  if (auto* failed = std::get_if<ev::StepFailed>(&*e)) INFO("step failed: " << failed->message);
  REQUIRE(std::holds_alternative<T>(*e));
  return std::get<T>(*e);
}

docker::RuntimeOptions options(const DockerDaemon& d) {
  docker::RuntimeOptions o;
  o.endpoint = docker::Endpoint::unix_socket(d.socket());
  o.pull_backoff = 200ms;
  o.env = util::map_env({{"HOME", "/nonexistent"}});
  // The demultiplexing test chooses each container's log driver: a site that allows it.
  o.spec.policy.allowed_docker_parameters.push_back("log-driver");
  return o;
}

nlohmann::json inspect_raw(const DockerDaemon& d, const std::string& id) {
  net::HttpClient http(d.socket());
  auto r = http.send({"GET", "/containers/" + id + "/json", {}, "", 10000ms});
  REQUIRE(r);
  REQUIRE(r->status == 200);
  return nlohmann::json::parse(r->body);
}

std::string logs_of(docker::Client& c, const std::string& id, docker::LogStream which) {
  std::string out;
  auto r = c.logs(id, {}, false, [&](docker::LogStream s, std::string_view piece) {
    if (s == which) out.append(piece);
  });
  REQUIRE(r);
  return out;
}

// Creates and starts the task's container through the runtime (made with the spec options `spec`);
// returns its id.
std::string launch(docker::Runtime& rt, EventLog& log, const mesos::v1::TaskInfo& task,
                   const docker::SpecOptions& spec) {
  testing_support::pull_task(rt, task, task.container().docker().image(), false);
  expect<ev::StepDone>(log);
  REQUIRE(testing_support::create_task(rt, task, spec));
  const auto created = expect<ev::StepDone>(log);
  REQUIRE(!created.container_id.empty());
  rt.start(created.container_id);
  const auto started = expect<ev::StepDone>(log);
  CHECK(started.step == executor::LaunchStep::Start);
  return created.container_id;
}

// Where two byte strings first differ, for a readable failure.
std::string first_difference(const std::string& got, const std::string& want) {
  std::size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
  if (i == got.size() && i == want.size()) return "equal";
  auto around = [&](const std::string& s) {
    const std::size_t from = i >= 16 ? i - 16 : 0;
    std::string out;
    for (std::size_t k = from; k < std::min(s.size(), i + 16); ++k)
      out += fmt::format("{:02x}", static_cast<unsigned char>(s[k]));
    return out;
  };
  return fmt::format("at byte {} of {} (want {}): got {} want {}", i, got.size(), want.size(), around(got),
                     around(want));
}

// "2026-11-25T08:49:50.458123456Z" → a system_clock time point.
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(const std::string& s) {
  std::tm tm{};
  if (s.size() < 20 || !strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return std::nullopt;
  auto tp = std::chrono::system_clock::from_time_t(timegm(&tm));
  if (s[19] == '.') {
    std::string frac;
    for (std::size_t i = 20; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i) frac += s[i];
    frac = (frac + "000000000").substr(0, 9);
    tp += std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(std::stoll(frac)));
  }
  return tp;
}

bool tcp_connect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

TEST_CASE("API version negotiation with the real daemon") {
  auto& d = DockerDaemon::shared();
  docker::Client c(docker::Endpoint::unix_socket(d.socket()));
  auto v = c.negotiate();
  REQUIRE(v);
  CHECK(docker::compare_api_versions(*v, docker::kMinApiVersion) >= 0);
  CHECK(docker::compare_api_versions(*v, docker::kMaxApiVersion) <= 0);
  CHECK(c.api_version() == *v);

  docker::Client nowhere(docker::Endpoint::unix_socket(d.dir() + "/no-such.sock"), 1000ms);
  auto bad = nowhere.negotiate();
  REQUIRE(!bad);
  CHECK_THAT(bad.error().message, Catch::Contains("no-such.sock"));
}

TEST_CASE("create+start: env, labels, a published port, a read-only bind, cap-drop, memory and CPU limits") {
  auto& d = DockerDaemon::shared();
  const std::string image = d.image("test/bb:1");
  const std::string host_dir = testing_support::make_temp_dir("sce-bind.");
  { std::ofstream(host_dir + "/kept") << "original\n"; }
  const int port = testing_support::free_tcp_port();

  EventLog log;
  auto opts = options(d);
  opts.spec.force_cpu_limit = true;
  opts.spec.force_memory_limit = true;
  docker::Runtime rt(opts, log.sink());
  TaskBuilder task("translate-1", image);
  task.env("TASK_HOST", "agent-7.example.com")
      .env("FROM_TASK", "one two")
      .param("env", "FROM_PARAM=3")
      .param("label", "ServiceName=web")
      .param("label", "Environment=test")
      .param("cap-drop", "CHOWN")
      .port(static_cast<unsigned>(port), 8080)
      .volume(host_dir, "/data", true)
      .scalar("cpus", 0.5)
      .scalar("mem", 64)
      .shell(
          "sh -c 'env; echo hello > /tmp/page; touch /data/new-file; echo touch=$?; "
          "touch /tmp/f; chown 65534 /tmp/f; echo chown=$?; exec httpd -f -p 8080 -h /tmp'");
  const std::string id = launch(rt, log, task, opts.spec);

  // Inspect: what the daemon recorded.
  const auto j = inspect_raw(d, id);
  CHECK(j["Name"] == "/" + docker::container_name("translate-1"));
  CHECK(j["HostConfig"]["Memory"] == 64LL * 1024 * 1024);
  CHECK(j["HostConfig"]["CpuPeriod"] == 50000);
  CHECK(j["HostConfig"]["CpuQuota"] == 25000);
  CHECK(j["HostConfig"]["CapDrop"][0] == "CHOWN");
  CHECK(j["Config"]["Labels"]["ServiceName"] == "web");
  CHECK(j["Config"]["Labels"]["Environment"] == "test");
  CHECK(!j["Config"]["Labels"].contains("executor.ShellCommand"));

  // The container itself: the port answers through 127.0.0.1, the bind is read-only, CHOWN is gone.
  bool reached = false;
  for (int i = 0; i < 100 && !reached; ++i) {
    reached = tcp_connect(port);
    if (!reached) std::this_thread::sleep_for(50ms);
  }
  CHECK(reached);
  // docker-proxy accepts on the host port before the container listens: wait for the last line too.
  docker::Client c(docker::Endpoint::unix_socket(d.socket()));
  std::string out;
  for (int i = 0; i < 200 && out.find("chown=") == std::string::npos; ++i) {
    if (i > 0) std::this_thread::sleep_for(50ms);
    out = logs_of(c, id, docker::LogStream::Stdout);
  }
  CHECK_THAT(out, Catch::Contains("FROM_TASK=one two\n"));
  CHECK_THAT(out, Catch::Contains("FROM_PARAM=3\n"));
  CHECK_THAT(out, Catch::Contains(fmt::format("MESOS_PORT_8080={}\n", port)));
  CHECK_THAT(out, Catch::Contains("MESOS_HOSTNAME=agent-7.example.com\n"));
  CHECK_THAT(out, Catch::Contains("SERVICE_NAME=web\n"));
  CHECK_THAT(out, Catch::Contains("ENVIRONMENT=test\n"));
  CHECK_THAT(out, Catch::Contains("touch=1\n"));
  CHECK_THAT(out, Catch::Contains("chown=1\n"));
  struct stat st {};
  CHECK(::stat((host_dir + "/new-file").c_str(), &st) != 0);

  rt.watch(id);
  rt.stop(id, 2s);
  const auto exited = expect<ev::ContainerExited>(log, 30s);
  REQUIRE(exited.exit_code.has_value());
  rt.remove(id);
  rt.shutdown();
  testing_support::remove_tree(host_dir);
}

TEST_CASE("Exit detection by /wait, exit code and the stderr tail") {
  auto& d = DockerDaemon::shared();
  const std::string image = d.image("test/bb:1");
  EventLog log;
  docker::Runtime rt(options(d), log.sink());
  const std::string id =
      launch(rt, log,
             TaskBuilder("exit-3", image)
                 .shell("sh -c 'echo to-stdout; echo first-err >&2; sleep 0.3; echo last words >&2; exit 3'"),
             options(d).spec);
  rt.watch(id);
  const auto exited = expect<ev::ContainerExited>(log, 30s);
  const auto seen_at = std::chrono::system_clock::now();
  REQUIRE(exited.exit_code == 3);
  CHECK(!exited.oom_killed);
  CHECK_THAT(exited.stderr_tail, Catch::Contains("first-err | last words"));
  CHECK_THAT(exited.stderr_tail, !Catch::Contains("to-stdout"));

  // How late the exit was seen (stderr tail included), against the daemon's own FinishedAt: a
  // figure for the log, not an assert.
  const auto j = inspect_raw(d, id);
  const auto finished = parse_rfc3339(j["State"]["FinishedAt"].get<std::string>());
  REQUIRE(finished.has_value());
  WARN("exit seen " << std::chrono::duration_cast<std::chrono::milliseconds>(seen_at - *finished).count()
                    << " ms after the container's FinishedAt");
  rt.remove(id);
  rt.shutdown();
}

TEST_CASE("The exit comes from Docker's die event, with /wait unanswered; an exit before watch() is held for it") {
  auto& d = DockerDaemon::shared();
  const std::string image = d.image("test/bb:1");
  DockerProxy proxy(d.socket(), "/wait", DockerProxy::Mode::hang);  // /wait never answers
  auto opts = options(d);
  opts.endpoint = docker::Endpoint::unix_socket(proxy.path());
  EventLog log;
  docker::Runtime rt(opts, log.sink());
  const std::string id =
      launch(rt, log, TaskBuilder("die-event-1", image).shell("sh -c 'echo bye >&2; exit 7'"), opts.spec);
  // Exited by now, but the machine has not asked to watch: nothing is reported yet.
  CHECK_FALSE(log.next(1500ms).has_value());
  rt.watch(id);
  const auto exited = expect<ev::ContainerExited>(log, 10s);
  CHECK(exited.exit_code == 7);
  CHECK(!exited.oom_killed);
  CHECK_THAT(exited.stderr_tail, Catch::Contains("bye"));
  CHECK(proxy.taken() == 0);  // held: no /wait was needed
  rt.remove(id);
  rt.shutdown();
}

TEST_CASE("The die event beats /wait and the exit is reported once") {
  auto& d = DockerDaemon::shared();
  const std::string image = d.image("test/bb:1");
  DockerProxy proxy(d.socket(), "/wait", DockerProxy::Mode::hang);
  auto opts = options(d);
  opts.endpoint = docker::Endpoint::unix_socket(proxy.path());
  EventLog log;
  docker::Runtime rt(opts, log.sink());
  const std::string id = launch(rt, log, TaskBuilder("die-event-3", image).shell("sh -c 'sleep 1; exit 0'"), opts.spec);
  rt.watch(id);
  const auto exited = expect<ev::ContainerExited>(log, 15s);
  CHECK(exited.exit_code == 0);
  CHECK(exited.stderr_tail.empty());
  CHECK(proxy.taken() == 1);  // the /wait was asked for and is still hanging: the event answered
  rt.remove(id);
  rt.shutdown();

  // Both paths answer against the daemon itself: still one exit.
  EventLog log2;
  docker::Runtime rt2(options(d), log2.sink());
  const std::string id2 =
      launch(rt2, log2, TaskBuilder("die-event-4", image).shell("sh -c 'sleep 0.5; exit 0'"), options(d).spec);
  rt2.watch(id2);
  CHECK(expect<ev::ContainerExited>(log2, 15s).exit_code == 0);
  CHECK_FALSE(log2.next(1500ms).has_value());
  rt2.remove(id2);
  rt2.shutdown();
}

TEST_CASE("Without Docker's event stream the exit is seen by /wait") {
  auto& d = DockerDaemon::shared();
  const std::string image = d.image("test/bb:1");
  DockerProxy proxy(d.socket(), "/events", DockerProxy::Mode::refuse);
  auto opts = options(d);
  opts.endpoint = docker::Endpoint::unix_socket(proxy.path());
  EventLog log;
  docker::Runtime rt(opts, log.sink());
  const std::string id =
      launch(rt, log, TaskBuilder("no-events-1", image).shell("sh -c 'echo late >&2; exit 5'"), opts.spec);
  CHECK(proxy.taken() == 1);
  rt.watch(id);
  const auto exited = expect<ev::ContainerExited>(log, 15s);
  CHECK(exited.exit_code == 5);
  CHECK_THAT(exited.stderr_tail, Catch::Contains("late"));
  CHECK_FALSE(log.next(1000ms).has_value());
  rt.remove(id);
  rt.shutdown();
}

TEST_CASE("A container that ignores SIGTERM is SIGKILLed after the grace period and is no longer running") {
  auto& d = DockerDaemon::shared();
  const std::string image = d.image("test/bb:1");
  EventLog log;
  docker::Runtime rt(options(d), log.sink());
  // PID 1 without a TERM handler ignores SIGTERM.
  const std::string id = launch(rt, log, TaskBuilder("stubborn", image).shell("sleep 600"), options(d).spec);
  rt.watch(id);
  const auto t0 = std::chrono::steady_clock::now();
  rt.stop(id, 1s);
  const auto exited = expect<ev::ContainerExited>(log, 30s);
  const auto took = std::chrono::steady_clock::now() - t0;
  REQUIRE(exited.exit_code == 137);  // SIGKILL
  CHECK(took >= 900ms);              // it had its grace period
  const auto running = d.running();
  CHECK(std::find(running.begin(), running.end(), id) == running.end());
  rt.shutdown();
}

TEST_CASE("Log demux keeps stdout and stderr apart byte for byte (lines over 64 KiB, binary bytes)") {
  auto& d = DockerDaemon::shared();
  const std::string image = d.image("test/bb:1");
  EventLog log;
  docker::Runtime rt(options(d), log.sink());
  docker::Client c(docker::Endpoint::unix_socket(d.socket()));

  // Docker's log drivers shape what the daemon gives back: json-file (the default) stores lines as
  // JSON strings, so invalid UTF-8 comes back as U+FFFD; the local driver keeps bytes but drops the
  // newline that ends a line longer than its 16 KiB buffer. So long lines go through json-file and
  // binary bytes through local; both must come back exactly as written, each on its own stream.
  struct Case {
    const char* name;
    const char* driver;
    std::string command;
    std::string want_out, want_err;
  };
  std::vector<Case> cases;
  {
    Case long_lines{
        "long-lines", "json-file",
        "sh -c 'head -c 70000 /dev/zero | tr \"\\000\" a; echo; seq 1 3000; echo \"h\303\251llo \342\234\223\"; "
        "head -c 100000 /dev/zero | tr \"\\000\" e >&2; echo >&2; echo err-end >&2; echo out-end'",
        "", ""};
    long_lines.want_out = std::string(70000, 'a') + "\n";
    for (int i = 1; i <= 3000; ++i) long_lines.want_out += std::to_string(i) + "\n";
    long_lines.want_out += "h\303\251llo \342\234\223\nout-end\n";
    long_lines.want_err = std::string(100000, 'e') + "\nerr-end\n";
    cases.push_back(long_lines);
    Case binary{"binary", "local",
                "sh -c 'printf \"\\000\\001\\377\\376bin\\n\"; printf \"err\\377\\000\\n\" >&2; "
                "printf \"\\200\\201 tail\\n\"; printf \"x\\033[0m\\r\\n\" >&2'",
                std::string("\0\1\377\376bin\n", 8) + "\200\201 tail\n",
                std::string("err\377\0\n", 6) + "x\033[0m\r\n"};
    cases.push_back(binary);
  }
  for (const auto& k : cases) {
    INFO("case " << k.name);
    const std::string id = launch(
        rt, log, TaskBuilder(std::string("demux-") + k.name, image).param("log-driver", k.driver).shell(k.command),
        options(d).spec);
    rt.watch(id);
    REQUIRE(expect<ev::ContainerExited>(log, 30s).exit_code == 0);
    CHECK(first_difference(logs_of(c, id, docker::LogStream::Stdout), k.want_out) == "equal");
    CHECK(first_difference(logs_of(c, id, docker::LogStream::Stderr), k.want_err) == "equal");

    // The failure-log copy writes the same bytes to the executor's stdout and stderr.
    char out_tmpl[] = "/tmp/sce-out.XXXXXX";
    char err_tmpl[] = "/tmp/sce-err.XXXXXX";
    const int out_fd = ::mkstemp(out_tmpl);
    const int err_fd = ::mkstemp(err_tmpl);
    auto opts = options(d);
    opts.stdout_fd = out_fd;
    opts.stderr_fd = err_fd;
    {
      docker::Runtime copier(opts, [](executor::Event) {});
      copier.copy_failure_logs(id);
      copier.shutdown();
    }
    auto slurp = [](const char* p) {
      std::ifstream f(p, std::ios::binary);
      std::stringstream ss;
      ss << f.rdbuf();
      return ss.str();
    };
    CHECK(first_difference(slurp(out_tmpl), k.want_out) == "equal");
    CHECK(first_difference(slurp(err_tmpl), k.want_err) == "equal");
    ::close(out_fd);
    ::close(err_fd);
    ::unlink(out_tmpl);
    ::unlink(err_tmpl);
    rt.remove(id);
  }
  rt.shutdown();
}

// The log pump's source: the attach opened on the created container, before its start. No log driver
// in between, so binary bytes and long lines come as written (json-file would have changed both).
TEST_CASE("Attach before the start: all of the output, stdout and stderr apart byte for byte, ended at the exit") {
  auto& d = DockerDaemon::shared();
  const std::string image = d.image("test/bb:1");
  docker::Client c(docker::Endpoint::unix_socket(d.socket()));
  REQUIRE(c.negotiate());
  const nlohmann::json body = {
      {"Image", image},
      {"Cmd",
       {"sh", "-c",
        "printf \"\\000\\001\\377\\376bin\\n\"; head -c 70000 /dev/zero | tr \"\\000\" a; echo; seq 1 3000; "
        "printf \"err\\377\\000\\n\" >&2; head -c 100000 /dev/zero | tr \"\\000\" e >&2; "
        "printf \"last without newline\""}}};
  auto id = c.create("attach-bytes", body);
  REQUIRE(id);
  std::string want_out = std::string("\0\1\377\376bin\n", 8) + std::string(70000, 'a') + "\n";
  for (int i = 1; i <= 3000; ++i) want_out += std::to_string(i) + "\n";
  want_out += "last without newline";
  const std::string want_err = std::string("err\377\0\n", 6) + std::string(100000, 'e');

  std::mutex mu;
  std::condition_variable cv;
  std::optional<int> status;
  std::string out, err;
  util::Result<void> r = util::make_error("not run");
  std::thread reader([&] {
    r = c.attach(
        *id, false,
        [&](int st) {
          std::lock_guard<std::mutex> lock(mu);
          status = st;
          cv.notify_all();
        },
        [&](docker::LogStream s, std::string_view piece) {
          (s == docker::LogStream::Stderr ? err : out).append(piece);
        });
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    REQUIRE(cv.wait_for(lock, 10s, [&] { return status.has_value(); }));
  }
  CHECK(*status == 200);
  REQUIRE(c.start(*id));
  reader.join();  // the daemon ends the answer at the exit
  CHECK(r);
  auto st = c.inspect(*id);
  REQUIRE(st);
  CHECK_FALSE(st->running);
  CHECK(first_difference(out, want_out) == "equal");
  CHECK(first_difference(err, want_err) == "equal");

  // A container that is not there: the daemon's refusal, no stream.
  auto gone = c.attach("no-such-container-here", false, nullptr, [](docker::LogStream, std::string_view) {});
  REQUIRE_FALSE(gone);
  CHECK(gone.error().not_found());
  CHECK(c.remove(*id));
}

TEST_CASE("Pull from a real registry: right credentials, wrong ones, an absent image") {
  auto& d = DockerDaemon::shared();
  testing_support::LocalRegistry registry("tester", "s3cret-pw");
  const std::string remote = registry.push(d, d.image("test/bb:1"), "team/bb:2");

  SECTION("right credentials pull the image") {
    EventLog log;
    auto opts = options(d);
    opts.env = util::map_env({{"DOCKER_CONFIG", registry.config_dir("tester", "s3cret-pw")}});
    docker::Runtime rt(opts, log.sink());
    testing_support::pull_task(rt, TaskBuilder("p1", remote), remote, false);
    expect<ev::StepDone>(log);
    docker::Client c(docker::Endpoint::unix_socket(d.socket()));
    auto present = c.image_present(remote);
    REQUIRE(present);
    CHECK(*present);
    d.cli({"rmi", remote});
    rt.shutdown();
  }
  SECTION("wrong credentials fail with the registry's message, without five attempts") {
    EventLog log;
    auto opts = options(d);
    opts.pull_backoff = 3s;
    opts.env = util::map_env({{"DOCKER_CONFIG", registry.config_dir("tester", "wrong-pw")}});
    docker::Runtime rt(opts, log.sink());
    testing_support::pull_task(rt, TaskBuilder("p2", remote), remote, false);
    const auto failed = expect<ev::StepFailed>(log, 2500ms);  // a retry would have waited 3 s
    CHECK_THAT(failed.message, Catch::Contains("unauthorized"));
    CHECK_THAT(failed.message, !Catch::Contains("wrong-pw"));
    rt.shutdown();
  }
  SECTION("an absent image fails fast with the daemon's message") {
    EventLog log;
    auto opts = options(d);
    opts.pull_backoff = 3s;
    opts.env = util::map_env({{"DOCKER_CONFIG", registry.config_dir("tester", "s3cret-pw")}});
    docker::Runtime rt(opts, log.sink());
    const std::string absent = registry.address() + "/team/nope:1";
    testing_support::pull_task(rt, TaskBuilder("p3", absent), absent, false);
    const auto failed = expect<ev::StepFailed>(log, 2500ms);
    CHECK_THAT(failed.message, Catch::Contains("team/nope"));
    CHECK_THAT(failed.message, Catch::Contains("not found") || Catch::Contains("unknown"));
    rt.shutdown();
  }
}

// RuntimeOptions::image_check_by_create, against the real daemon and registry: which requests each
// launch makes, in order, through a proxy that notes them.
TEST_CASE(
    "The image check left to the create: no request for a present image, an absent one pulled after "
    "the create's 404; asked first with Vault work or an image pulled at every launch") {
  auto& d = DockerDaemon::shared();
  testing_support::LocalRegistry registry("tester", "s3cret-pw");
  const std::string remote = registry.push(d, d.image("test/bb:1"), "fold/bb:3");
  const std::string latest = registry.push(d, d.image("test/bb:1"), "fold/bb:latest");
  // The pushes leave the daemon without those names: `remote` is absent until a section tags it.
  DockerProxy proxy(d.socket(), "", DockerProxy::Mode::pass);
  auto opts = options(d);
  opts.endpoint = docker::Endpoint::unix_socket(proxy.path());
  opts.env = util::map_env({{"DOCKER_CONFIG", registry.config_dir("tester", "s3cret-pw")}, {"HOME", "/nonexistent"}});
  std::vector<std::string> seen;  // the environments the runtime asked about, one line each
  opts.image_check_by_create = [&seen](const std::vector<std::string>& env) {
    std::string all;
    for (const auto& kv : env) all += kv + ";";
    seen.push_back(all);
    return all.find("NEEDS_VAULT=") == std::string::npos;
  };
  EventLog log;
  docker::Runtime rt(opts, log.sink());
  // The requests since the last call, as "METHOD /path" without the API version and query.
  std::size_t from = 0;
  const auto requests = [&] {
    std::vector<std::string> out;
    const auto all = proxy.exchanges();
    for (std::size_t i = from; i < all.size(); ++i) {
      std::string l = all[i].line.substr(0, all[i].line.find(' ', all[i].line.find(' ') + 1));
      if (const auto v = l.find(" /v1."); v != std::string::npos) l.erase(v + 1, l.find('/', v + 2) - (v + 1));
      if (const auto q = l.find('?'); q != std::string::npos) l.erase(q);
      if (l.find("/_ping") == std::string::npos) out.push_back(l);
    }
    from = all.size();
    return out;
  };
  const auto pull_step = [&](const mesos::v1::TaskInfo& task, bool after_create = false) {
    rt.pull(executor::act::PullImage{task.container().docker().image(), task.container().docker().force_pull_image(),
                                     task, after_create});
    return expect<ev::StepDone>(log).plan;
  };
  std::vector<std::string> created;
  const auto create_step = [&](const executor::PlanPtr& plan) -> executor::Event {
    rt.create(executor::act::CreateContainer{plan});
    auto e = log.next(60s);
    REQUIRE(e.has_value());
    if (auto* done = std::get_if<ev::StepDone>(&*e)) created.push_back(done->container_id);
    return *e;
  };
  const std::string image_json = "GET /images/" + remote + "/json";

  SECTION("absent: nothing asked at the pull; the create's 404 is image_unconfirmed; the pull after it; the create") {
    const auto plan = pull_step(TaskBuilder("fold-1", remote));
    REQUIRE(plan);
    CHECK(requests().empty());
    CHECK(seen.size() == 1);
    const auto first = create_step(plan);
    REQUIRE(std::holds_alternative<ev::StepFailed>(first));
    const auto& failed = std::get<ev::StepFailed>(first);
    CHECK(failed.step == executor::LaunchStep::Create);
    CHECK(failed.image_unconfirmed);
    CHECK_THAT(failed.message, Catch::Contains("No such image"));
    CHECK(requests() == std::vector<std::string>{"POST /containers/create"});
    // The machine goes back to the pull (after_create): asked, then pulled, whatever the predicate says.
    const auto plan2 = pull_step(TaskBuilder("fold-1", remote), true);
    CHECK(requests() == std::vector<std::string>{image_json, "POST /images/create"});
    CHECK(seen.size() == 1);
    const auto second = create_step(plan2);
    REQUIRE(std::holds_alternative<ev::StepDone>(second));
    CHECK(requests() == std::vector<std::string>{"POST /containers/create"});
  }
  SECTION("present: nothing asked before the create, which works") {
    d.cli({"tag", d.image("test/bb:1"), remote});
    const auto plan = pull_step(TaskBuilder("fold-2", remote));
    CHECK(requests().empty());
    REQUIRE(std::holds_alternative<ev::StepDone>(create_step(plan)));
    CHECK(requests() == std::vector<std::string>{"POST /containers/create"});
  }
  SECTION("an absent image when the check was asked first: a 404 at the create is a plain failure") {
    d.cli({"tag", d.image("test/bb:1"), remote});
    const auto plan = pull_step(TaskBuilder("fold-3", remote).env("NEEDS_VAULT", "vault://secret/x"));
    CHECK(requests() == std::vector<std::string>{image_json});
    d.cli({"rmi", remote});
    const auto e = create_step(plan);
    REQUIRE(std::holds_alternative<ev::StepFailed>(e));
    CHECK_FALSE(std::get<ev::StepFailed>(e).image_unconfirmed);
    CHECK_THAT(std::get<ev::StepFailed>(e).message, Catch::Contains("No such image"));
  }
  SECTION("Vault work in the environment: asked (and pulled) before the create") {
    const auto plan = pull_step(TaskBuilder("fold-4", remote).env("NEEDS_VAULT", "vault://secret/x"));
    CHECK(requests() == std::vector<std::string>{image_json, "POST /images/create"});
    REQUIRE(std::holds_alternative<ev::StepDone>(create_step(plan)));
  }
  SECTION("`latest` (pulled at every launch): pulled at the pull step, as before") {
    const auto plan = pull_step(TaskBuilder("fold-5", latest));
    const auto r = requests();
    CHECK(std::find(r.begin(), r.end(), "POST /images/create") != r.end());
    CHECK(seen.empty());  // not even asked: the reference decides
    REQUIRE(std::holds_alternative<ev::StepDone>(create_step(plan)));
  }
  for (const auto& id : created) rt.remove(id);
  rt.shutdown();
}

TEST_CASE("An image check left to a create that has no answer goes back to the pull, which retries and fails") {
  auto& d = DockerDaemon::shared();
  auto opts = options(d);
  opts.endpoint = docker::Endpoint::unix_socket("/nonexistent/docker.sock");
  opts.pull_attempts = 2;
  opts.pull_backoff = 50ms;
  opts.image_check_by_create = [](const std::vector<std::string>&) { return true; };
  EventLog log;
  docker::Runtime rt(opts, log.sink());
  const std::string image = "127.0.0.1:9/never/there:1";
  testing_support::pull_task(rt, TaskBuilder("fold-dead", image), image, false);
  const auto plan = expect<ev::StepDone>(log, 5s).plan;  // nothing asked: no error yet
  rt.create(executor::act::CreateContainer{plan});
  const auto failed = expect<ev::StepFailed>(log, 10s);
  CHECK(failed.step == executor::LaunchStep::Create);
  CHECK(failed.image_unconfirmed);
  rt.pull(executor::act::PullImage{image, false, TaskBuilder("fold-dead", image), true});
  const auto pull_failed = expect<ev::StepFailed>(log, 10s);
  CHECK(pull_failed.step == executor::LaunchStep::Pull);
  CHECK_THAT(pull_failed.message, Catch::Contains(image));
  rt.shutdown();
}

// A create whose answer is lost (the daemon made the container; the connection ended before its
// answer, as at a timeout) is answered by Docker's container of that name when it is this launch's:
// this executor's labels, never started, made after the create was sent. Anything else named so is
// left alone and the create fails as before.
TEST_CASE("A create whose answer is lost takes the container Docker made for it, and only that one") {
  auto& d = DockerDaemon::shared();
  DockerProxy proxy(d.socket(), "/containers/create", DockerProxy::Mode::lose_answer);
  auto opts = options(d);
  opts.endpoint = docker::Endpoint::unix_socket(proxy.path());
  opts.spec.own_labels = {{"sidecar-executor.executor-id", "lost-exec"},
                          {"sidecar-executor.framework-id", "lost-fw"},
                          {"sidecar-executor.wrapper-nonce", "0123456789abcdef0123456789abcdef"}};
  EventLog log;
  docker::Runtime rt(opts, log.sink());
  const std::string image = d.image("test/bb:1");
  // The container Docker has under `name`, asked directly, not through the proxy (nullopt: none).
  docker::Client direct(docker::Endpoint::unix_socket(d.socket()));
  const auto named = [&](const std::string& name) -> std::optional<docker::ContainerState> {
    auto st = direct.inspect(name);
    if (!st) return std::nullopt;
    return *st;
  };
  // A container named `name` made beside the runtime, with these labels, from `from`.
  const auto make_named = [&](const std::string& name, const std::map<std::string, std::string>& labels,
                              const std::string& from) {
    std::vector<std::string> args{"create", "--name", name};
    for (const auto& [k, v] : labels) args.insert(args.end(), {"--label", k + "=" + v});
    args.insert(args.end(), {from, "true"});
    d.cli(args);
    return named(name)->id;
  };
  const auto create_of = [&](const mesos::v1::TaskInfo& task) {
    testing_support::pull_task(rt, task, image, false);
    const auto plan = expect<ev::StepDone>(log).plan;
    rt.create(executor::act::CreateContainer{plan});
    auto e = log.next(60s);
    REQUIRE(e.has_value());
    return *e;
  };
  std::vector<std::string> names;
  const auto failure = [](const executor::Event& e) {
    REQUIRE(std::holds_alternative<ev::StepFailed>(e));
    CHECK(std::get<ev::StepFailed>(e).step == executor::LaunchStep::Create);
    return std::get<ev::StepFailed>(e).message;
  };

  SECTION("made by the lost create: taken, no second create") {
    const mesos::v1::TaskInfo task = TaskBuilder("lost-1", image);
    names.push_back(docker::container_name("lost-1"));
    const auto e = create_of(task);
    INFO(executor::describe(e));
    REQUIRE(std::holds_alternative<ev::StepDone>(e));
    const auto theirs = named(names.back());
    REQUIRE(theirs);
    CHECK(std::get<ev::StepDone>(e).container_id == theirs->id);
    CHECK(theirs->status == "created");
    CHECK(proxy.taken() == 1);
  }
  SECTION("the image check left to the create: taken as well, the image confirmed") {
    rt.shutdown();
    auto folded = opts;
    folded.image_check_by_create = [](const std::vector<std::string>&) { return true; };
    EventLog log2;
    docker::Runtime rt2(folded, log2.sink());
    names.push_back(docker::container_name("lost-2"));
    testing_support::pull_task(rt2, TaskBuilder("lost-2", image), image, false);
    const auto plan = expect<ev::StepDone>(log2).plan;
    rt2.create(executor::act::CreateContainer{plan});
    const auto done = expect<ev::StepDone>(log2);
    CHECK(done.container_id == named(names.back())->id);
    CHECK(proxy.taken() == 1);
    rt2.shutdown();
  }
  SECTION("a container of that name with another wrapper's nonce: left alone, the create fails") {
    names.push_back(docker::container_name("lost-3"));
    auto labels = opts.spec.own_labels;
    labels["sidecar-executor.wrapper-nonce"] = "fedcba9876543210fedcba9876543210";
    const std::string other = make_named(names.back(), labels, image);
    CHECK_THAT(failure(create_of(TaskBuilder("lost-3", image))),
               Catch::Contains("not taken: its label sidecar-executor.wrapper-nonce is not this executor's"));
    CHECK(named(names.back())->id == other);
    rt.shutdown();
    rt.remove_unanswered_create();  // nor removed at the exit
    CHECK(named(names.back()));
  }
  SECTION("a container of that name with another framework's id (a task id two frameworks share): left alone") {
    names.push_back(docker::container_name("lost-8"));
    auto labels = opts.spec.own_labels;
    labels["sidecar-executor.framework-id"] = "other-fw";
    const std::string other = make_named(names.back(), labels, d.image("test/bb-other:1", R"(["true"])"));
    const auto message = failure(create_of(TaskBuilder("lost-8", image)));
    CHECK_THAT(message, Catch::Contains("not taken: its label sidecar-executor.framework-id is not this executor's"));
    CHECK_THAT(message, !Catch::Contains("bb-other"));  // nothing of another's container is told
    CHECK(named(names.back())->id == other);
  }
  SECTION("one with this executor's labels made before the create (an earlier run's): left alone") {
    names.push_back(docker::container_name("lost-4"));
    const std::string earlier = make_named(names.back(), opts.spec.own_labels, image);
    std::this_thread::sleep_for(2500ms);
    CHECK_THAT(failure(create_of(TaskBuilder("lost-4", image))), Catch::Contains("before this launch's create"));
    CHECK(named(names.back())->id == earlier);
  }
  SECTION("one with this executor's labels that was started: left alone") {
    names.push_back(docker::container_name("lost-5"));
    const std::string started = make_named(names.back(), opts.spec.own_labels, image);
    d.cli({"start", started});
    CHECK_THAT(failure(create_of(TaskBuilder("lost-5", image))), Catch::Contains("not newly created"));
    CHECK(named(names.back())->id == started);
  }
  SECTION("one with this executor's labels, newly made, from another image: left alone") {
    names.push_back(docker::container_name("lost-7"));
    const std::string other_image = d.image("test/bb-other:1", R"(["true"])");
    const std::string foreign = make_named(names.back(), opts.spec.own_labels, other_image);
    CHECK_THAT(failure(create_of(TaskBuilder("lost-7", image))), Catch::Contains("created from another image"));
    CHECK(named(names.back())->id == foreign);
  }
  SECTION("a 409 with no create that got no answer before it: nothing looked for, left alone") {
    rt.shutdown();
    auto direct_opts = opts;
    direct_opts.endpoint = docker::Endpoint::unix_socket(d.socket());
    EventLog log2;
    docker::Runtime rt2(direct_opts, log2.sink());
    names.push_back(docker::container_name("lost-9"));
    const std::string mine = make_named(names.back(), opts.spec.own_labels, image);
    testing_support::pull_task(rt2, TaskBuilder("lost-9", image), image, false);
    rt2.create(executor::act::CreateContainer{expect<ev::StepDone>(log2).plan});
    const auto failed = expect<ev::StepFailed>(log2);
    CHECK_THAT(failed.message, Catch::Contains("409"));
    CHECK_THAT(failed.message, !Catch::Contains("not taken"));
    CHECK(named(names.back())->id == mine);
    rt2.shutdown();
  }
  SECTION("a create that got no answer and left nothing (an absent image), the container made after the look") {
    // The first create's answer is lost and Docker has nothing of that name (the image is absent:
    // Docker answered 404); the launch goes back to the pull; the daemon's late create is stood for by
    // the test's container, made after the pull.
    testing_support::LocalRegistry registry("tester", "s3cret-pw");
    const std::string remote = registry.push(d, image, "lost/bb:6");
    rt.shutdown();
    auto folded = opts;
    folded.env =
        util::map_env({{"DOCKER_CONFIG", registry.config_dir("tester", "s3cret-pw")}, {"HOME", "/nonexistent"}});
    folded.image_check_by_create = [](const std::vector<std::string>&) { return true; };
    EventLog log2;
    docker::Runtime rt2(folded, log2.sink());
    names.push_back(docker::container_name("lost-6"));
    testing_support::pull_task(rt2, TaskBuilder("lost-6", remote), remote, false);
    rt2.create(executor::act::CreateContainer{expect<ev::StepDone>(log2).plan});
    CHECK(expect<ev::StepFailed>(log2).image_unconfirmed);
    CHECK_FALSE(named(names.back()));
    rt2.pull(executor::act::PullImage{remote, false, TaskBuilder("lost-6", remote), true});
    const auto plan = expect<ev::StepDone>(log2).plan;
    const std::string late = make_named(names.back(), opts.spec.own_labels, remote);
    SECTION("the create after the pull gets 409 and takes it") {
      rt2.create(executor::act::CreateContainer{plan});
      CHECK(expect<ev::StepDone>(log2).container_id == late);
      CHECK(proxy.taken() == 2);
      rt2.shutdown();
      rt2.remove_unanswered_create();
      CHECK(named(names.back()));  // the launch's own now: not removed at the exit
    }
    SECTION("the launch ends before another create: removed at the exit") {
      rt2.shutdown();
      CHECK(named(names.back()));  // not by the shutdown: after the rest of the exit
      rt2.remove_unanswered_create();
      CHECK_FALSE(named(names.back()));
    }
    rt2.shutdown();
  }
  for (const auto& n : names) d.cli({"rm", "-f", n});
  rt.shutdown();
}

namespace {

std::string image_id(const DockerDaemon& d, const std::string& ref) {
  std::string id = d.cli({"image", "inspect", "--format", "{{.Id}}", ref});
  while (!id.empty() && (id.back() == '\n' || id.back() == '\r')) id.pop_back();
  return id;
}

// One launch as the executor makes it: pull (force_pull_image from the task), create, start, wait
// for the exit; the container is removed after.
struct Launch {
  std::string pull_error;  // set when the pull failed (nothing else was done)
  std::string image_id;    // the image the container ran
  std::optional<int> exit_code;
  std::string stdout_text;
  std::vector<std::string> env;  // the container's environment, as the daemon recorded it
};

Launch run_task(DockerDaemon& d, const std::string& docker_config, const mesos::v1::TaskInfo& task) {
  EventLog log;
  auto opts = options(d);
  opts.pull_attempts = 1;
  opts.env = util::map_env({{"DOCKER_CONFIG", docker_config}, {"HOME", "/nonexistent"}});
  docker::Runtime rt(opts, log.sink());
  Launch out;
  testing_support::pull_task(rt, task, task.container().docker().image(), task.container().docker().force_pull_image());
  auto pulled = log.next(60s);
  REQUIRE(pulled.has_value());
  if (auto* failed = std::get_if<ev::StepFailed>(&*pulled)) {
    out.pull_error = failed->message;
    rt.shutdown();
    return out;
  }
  REQUIRE(std::holds_alternative<ev::StepDone>(*pulled));
  REQUIRE(testing_support::create_task(rt, task, opts.spec));
  const std::string id = expect<ev::StepDone>(log).container_id;
  rt.start(id);
  expect<ev::StepDone>(log);
  rt.watch(id);
  out.exit_code = expect<ev::ContainerExited>(log, 30s).exit_code;
  const auto j = inspect_raw(d, id);
  out.image_id = j["Image"].get<std::string>();
  for (const auto& e : j["Config"]["Env"]) out.env.push_back(e.get<std::string>());
  docker::Client c(docker::Endpoint::unix_socket(d.socket()));
  out.stdout_text = logs_of(c, id, docker::LogStream::Stdout);
  rt.remove(id);
  rt.shutdown();
  return out;
}

}  // namespace

// Issue 18, item 7, against a real registry: the Go executor pulled untagged references at every
// launch (its exact RepoTags match never finds "app" among "app:latest": container/container.go:53,
// executor.go:417); we pull references with no tag or the tag `latest` at every launch, and use a
// present image with any other tag or a digest as it is. Two images that differ only in their CMD
// stand for two builds pushed under one name.
TEST_CASE("An untagged or `latest` image is pulled again when the registry's tag moved; a fixed tag or digest is not") {
  auto& d = DockerDaemon::shared();
  const std::string a = d.image("test/refresh-a:1", R"(["sh","-c","echo build-A"])");
  const std::string b = d.image("test/refresh-b:1", R"(["sh","-c","echo build-B"])");
  const std::string id_a = image_id(d, a);
  const std::string id_b = image_id(d, b);
  REQUIRE(id_a != id_b);
  auto registry = std::make_unique<testing_support::LocalRegistry>("tester", "s3cret-pw");
  const std::string config = registry->config_dir("tester", "s3cret-pw");
  const std::string bare = registry->push(d, a, "refresh/app");     // the registry's `latest`: A
  const std::string fixed = registry->push(d, a, "refresh/app:7");  // its `7`: A
  const std::string pinned = registry->push_by_digest(d, b, "refresh/pinned:1");
  REQUIRE(bare == registry->address() + "/refresh/app");

  // First launch: the daemon has no such image; the pull brings the registry's `latest` (A).
  auto first = run_task(d, config, TaskBuilder("refresh-1", bare));
  INFO(first.pull_error);
  CHECK(first.image_id == id_a);
  CHECK_THAT(first.stdout_text, Catch::Contains("build-A"));

  // The registry's tag moves to B while the daemon keeps A under the same name.
  registry->push(d, b, "refresh/app");
  d.cli({"tag", a, bare});
  REQUIRE(image_id(d, bare) == id_a);
  auto again = run_task(d, config, TaskBuilder("refresh-2", bare));
  INFO(again.pull_error);
  CHECK(again.image_id == id_b);  // pulled again: the container runs the new build
  CHECK_THAT(again.stdout_text, Catch::Contains("build-B"));
  CHECK(image_id(d, bare) == id_b);

  // The same with the tag `latest` spelled out.
  d.cli({"tag", a, bare + ":latest"});
  auto latest = run_task(d, config, TaskBuilder("refresh-3", bare + ":latest"));
  INFO(latest.pull_error);
  CHECK(latest.image_id == id_b);

  // A fixed tag the daemon has is used as it is, though the registry's `7` is B now.
  registry->push(d, b, "refresh/app:7");
  d.cli({"tag", a, fixed});
  auto kept = run_task(d, config, TaskBuilder("refresh-4", fixed));
  INFO(kept.pull_error);
  CHECK(kept.image_id == id_a);
  // …unless the task asks for force_pull_image.
  auto forced = run_task(d, config, TaskBuilder("refresh-5", fixed).force_pull());
  INFO(forced.pull_error);
  CHECK(forced.image_id == id_b);

  // A digest: pulled once, then used as it is, even with the registry gone; with the registry gone an
  // untagged image cannot be launched, which shows it really is pulled at every launch.
  auto by_digest = run_task(d, config, TaskBuilder("refresh-6", pinned));
  INFO(by_digest.pull_error);
  CHECK(by_digest.image_id == id_b);
  registry.reset();
  auto offline_digest = run_task(d, config, TaskBuilder("refresh-7", pinned));
  CHECK(offline_digest.pull_error.empty());
  CHECK(offline_digest.image_id == id_b);
  auto offline_fixed = run_task(d, config, TaskBuilder("refresh-8", fixed));
  CHECK(offline_fixed.pull_error.empty());
  auto offline_bare = run_task(d, config, TaskBuilder("refresh-9", bare));
  CHECK_THAT(offline_bare.pull_error, Catch::Contains(bare));
  CHECK(offline_bare.image_id.empty());
  for (const auto& ref : {bare, fixed, pinned}) d.cli({"rmi", "-f", ref});
}

// Issue 18, item 12: SERVICE_VERSION for a digest reference is the digest's hex, without "sha256:"
// (Go: container/container.go:388-394 splits the image on ':'), and reaches the process.
TEST_CASE("SERVICE_VERSION of a digest reference reaches the container as the digest's hex") {
  auto& d = DockerDaemon::shared();
  testing_support::LocalRegistry registry("tester", "s3cret-pw");
  const std::string pinned = registry.push_by_digest(d, d.image("test/bb:1"), "version/app:3");
  const std::string hex = pinned.substr(pinned.rfind(':') + 1);
  REQUIRE(hex.size() == 64);
  const auto run =
      run_task(d, registry.config_dir("tester", "s3cret-pw"),
               TaskBuilder("version-1", pinned)
                   .shell("sh -c 'echo \"version=$SERVICE_VERSION\"; test \"$SERVICE_VERSION\" = " + hex + "'"));
  INFO(run.pull_error);
  CHECK(run.exit_code == std::optional<int>(0));
  CHECK_THAT(run.stdout_text, Catch::Contains("version=" + hex + "\n"));
  CHECK(std::count(run.env.begin(), run.env.end(), "SERVICE_VERSION=" + hex) == 1);
  d.cli({"rmi", "-f", pinned});
}
