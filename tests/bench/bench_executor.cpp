// The executor benchmark suite (issue "Benchmarks"): the real binary against the fake agent and a
// private dockerd, beside the floor set by Docker itself — the same create/start/stop/wait calls made
// directly by this program through our Docker client, in the same run. Prints a table (medians and
// ratios; these machines are noisy) and writes the figures as JSON to BENCH_JSON (if set).
//
//   SIDECAR_EXECUTOR_BIN  the executor under test (tools/bench passes the static release binary)
//   BENCH_STATIC_BIN      the stripped static binary whose size is reported (optional)
//   BENCH_QUICK=1         fewer repetitions, 10 s idle window, 20 executors at scale (a smoke run)
//   BENCH_ONLY=a,b        only those parts: launch, rss, size, relay, scale
//   BENCH_TRACE=1         prints each launch's Docker requests (the timing proxy's times from the
//                         LAUNCH, ms) and its updates: where the executor's own time goes
//
// Correctness is checked (every line relayed, no update lost); no timing is asserted.
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "bench_common.h"
#include "docker/client.h"
#include "docker/task_spec.h"
#include "docker_proxy.h"
#include "executor_harness.h"
#include "fake_sidecar.h"
#include "task_builder.h"

using namespace std::chrono_literals;
using testing_support::cpu_ms;
using testing_support::DockerDaemon;
using testing_support::Harness;
using testing_support::status_kib;
using testing_support::TaskBuilder;
namespace v1 = ::mesos::v1;
using Clock = std::chrono::steady_clock;

namespace {

bool quick() { return std::getenv("BENCH_QUICK") && std::string(std::getenv("BENCH_QUICK")) == "1"; }

// BENCH_ONLY=launch,rss,size,relay,scale runs those parts alone (the inner loop of a change); unset: all.
bool part(const char* name) {
  const char* only = std::getenv("BENCH_ONLY");
  if (!only || !*only) return true;
  const std::string list = std::string(",") + only + ",";
  return list.find(std::string(",") + name + ",") != std::string::npos;
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

// When Docker saw the container die (`docker events`, nanoseconds), as a system_clock time point.
std::chrono::system_clock::time_point die_time(DockerDaemon& d, const std::string& container) {
  const std::string ns = trim(d.cli({"events", "--since", std::to_string(std::time(nullptr) - 300), "--until",
                                     std::to_string(std::time(nullptr) + 1), "--filter", "event=die", "--filter",
                                     "container=" + container, "--format", "{{.TimeNano}}"}));
  const long long v = std::atoll(ns.substr(0, ns.find('\n')).c_str());
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(v)));
}

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const double rank = p / 100.0 * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(rank));
  const auto hi = static_cast<std::size_t>(std::ceil(rank));
  return v[lo] + (v[hi] - v[lo]) * (rank - static_cast<double>(lo));
}
double median(const std::vector<double>& v) { return percentile(v, 50); }

// A field of /proc/<pid>/smaps_rollup, in KiB (Pss: the proportional share of shared pages).
long rollup_kib(pid_t pid, const char* field) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/smaps_rollup");
  const std::size_t n = std::strlen(field);
  for (std::string line; std::getline(f, line);) {
    if (line.compare(0, n, field) == 0) return std::atol(line.c_str() + n + 1);
  }
  return -1;
}

// steady_clock (the fake agent's receive times) → system_clock (Docker's timestamps).
std::chrono::system_clock::time_point to_system(Clock::time_point t) {
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(t - Clock::now());
}

std::optional<Clock::time_point> update_at(const fake::FakeAgent& agent, const std::string& task, v1::TaskState s) {
  for (const auto& u : agent.updates()) {
    if (!u.via_subscribe && u.status.task_id().value() == task && u.status.state() == s) return u.at;
  }
  return std::nullopt;
}

// Docker's own share of a launch as a timing proxy saw it: from each request's head to the start of
// its answer, for the create (request line `create_mark`) and the start (`start_mark`). Also when the
// create came in and when the start was answered. nullopt when either is missing.
struct DockerShare {
  double ms;
  Clock::time_point create_in, create_answered, start_in, start_answered;
};
std::optional<DockerShare> docker_share(const std::vector<testing_support::DockerProxy::Exchange>& xs,
                                        const std::string& create_mark, const std::string& start_mark) {
  const testing_support::DockerProxy::Exchange *c = nullptr, *s = nullptr;
  for (const auto& x : xs) {
    if (x.line.rfind("POST ", 0) != 0) continue;
    if (x.line.find(create_mark) != std::string::npos) c = &x;
    if (x.line.find(start_mark) != std::string::npos) s = &x;
  }
  if (!c || !s) return std::nullopt;
  return DockerShare{ms(c->answer_at - c->request_at) + ms(s->answer_at - s->request_at), c->request_at, c->answer_at,
                     s->request_at, s->answer_at};
}

struct Row {
  std::string metric;
  std::string floor;
  std::string ours;
  std::string target;
  std::string verdict;  // "met", "missed", or "-"
};

std::string verdict(bool met) { return met ? "met" : "missed"; }

// The executor as deployed: the wrapper (packaging/executor.sh) copies the binary into each task's
// sandbox with cp and runs that copy, so no two executors share program text. A `Deployed` is such a
// copy (removed with it); `start_deployed` starts a Harness whose executor runs it.
struct Deployed {
  std::string dir, path;
  Deployed() {
    dir = testing_support::make_temp_dir("sce-bench-copy.");
    path = dir + "/sidecar-executor";
    REQUIRE(std::system(fmt::format("cp '{}' '{}'", testing_support::executor_binary(), path).c_str()) == 0);
  }
  ~Deployed() {
    ::unlink(path.c_str());
    ::rmdir(dir.c_str());
  }
  Deployed(const Deployed&) = delete;
  Deployed& operator=(const Deployed&) = delete;
};

std::unique_ptr<Harness> start_deployed(const Deployed& copy, std::map<std::string, std::string> extra = {}) {
  const std::string shipped = testing_support::executor_binary();
  ::setenv("SIDECAR_EXECUTOR_BIN", copy.path.c_str(), 1);  // what the Harness starts
  auto h = std::make_unique<Harness>(std::move(extra));
  ::setenv("SIDECAR_EXECUTOR_BIN", shipped.c_str(), 1);
  return h;
}

const char* kTrapCmd = "sh -c 'trap \"exit 0\" TERM; while :; do sleep 0.1; done'";

}  // namespace

TEST_CASE("executor benchmarks") {
  auto& d = DockerDaemon::shared();
  const std::string image = d.image("test/bb:1");
  const int reps = quick() ? 3 : 10;
  nlohmann::json results = nlohmann::json::object();
  std::vector<Row> rows;
  const auto bench_start = Clock::now();

  if (part("launch")) {
    // ---- Floor: the same container bodies the executor would send, straight to the daemon. ----
    docker::Client docker_client(docker::Endpoint::unix_socket(d.socket()));
    REQUIRE(docker_client.negotiate());
    std::vector<double> floor_create_start, floor_stop, floor_exit;
    for (int i = 0; i < reps; ++i) {
      const std::string task_id = fmt::format("floor-{}", i);
      auto spec = docker::build_container_spec(TaskBuilder(task_id, image).shell(kTrapCmd), docker::SpecOptions{});
      REQUIRE(spec);
      auto id = docker_client.create(spec->name, spec->body);
      REQUIRE(id);
      REQUIRE(docker_client.start(*id));
      std::this_thread::sleep_for(300ms);
      const auto t2 = Clock::now();
      REQUIRE(docker_client.stop(*id, 10));
      floor_stop.push_back(ms(Clock::now() - t2));
      REQUIRE(docker_client.remove(*id));

      // Exit seen through /wait, measured from the instant Docker saw the container die.
      auto spec2 =
          docker::build_container_spec(TaskBuilder(task_id + "-exit", image).shell("sleep 1"), docker::SpecOptions{});
      REQUIRE(spec2);
      auto id2 = docker_client.create(spec2->name, spec2->body);
      REQUIRE(id2);
      REQUIRE(docker_client.start(*id2));
      REQUIRE(docker_client.wait(*id2));
      const auto seen = std::chrono::system_clock::now();
      floor_exit.push_back(std::chrono::duration<double, std::milli>(seen - die_time(d, *id2)).count());
      REQUIRE(docker_client.remove(*id2));
    }

    // ---- LAUNCH → TASK_RUNNING and container exit → terminal update, through the executor. ----
    // Both sides' create and start go through one timing proxy: what each side adds to Docker's own
    // create and start is its time minus what the daemon took to begin answering those two requests.
    // That difference does not carry Docker's spread (±25 ms per start), which the plain pairs do.
    // The proxy's hop is counted against the executor (it makes more requests than the floor).
    testing_support::DockerProxy timing(d.socket(), "", testing_support::DockerProxy::Mode::pass);
    docker::Client timed_client(docker::Endpoint::unix_socket(timing.path()));
    REQUIRE(timed_client.negotiate());
    // The proxy's own cost per request: the same request (the version ping) through it and straight
    // to the daemon, interleaved. The executor makes three requests on the launch's path that the
    // floor does not (the image check, the two streams together, the inspect): each pays it.
    std::vector<double> hop;
    for (int i = 0; i < 40; ++i) {
      const auto p0 = Clock::now();
      REQUIRE(timed_client.negotiate());
      const auto p1 = Clock::now();
      REQUIRE(docker_client.negotiate());
      hop.push_back(ms(p1 - p0) - ms(Clock::now() - p1));
    }
    std::vector<double> launch_running, exit_terminal, exec_subscribe;
    std::vector<double> exec_docker, floor_docker;  // Docker's share of each launch, of each floor pair
    std::vector<double> exec_before_create, exec_between, exec_after_start;
    // Of every five launches, three go through the timing proxy (the LAUNCH pairs) and two straight to
    // the daemon: the exit and the start-up are measured on those, with nothing in between.
    for (int i = 0; i < reps * 5; ++i) {
      const bool timed = i % 5 < 3;
      Harness h(timed ? std::map<std::string, std::string>{{"DOCKER_HOST", "unix://" + timing.path()}}
                      : std::map<std::string, std::string>{});
      const std::string task = fmt::format("bench-run-{}", i);
      const auto t0 = Clock::now();
      h.agent.launch(TaskBuilder(task, image).param("label", "SidecarDiscover=false").shell("sleep 1"));
      const auto fin = h.wait_state(task, v1::TASK_FINISHED, 60s);
      const auto running = update_at(h.agent, task, v1::TASK_RUNNING);
      const auto finished_at = update_at(h.agent, task, v1::TASK_FINISHED);
      REQUIRE(running);
      REQUIRE(finished_at);
      if (!timed) {
        // Start-up: from the fork of the executor to its SUBSCRIBE call received by the agent.
        const auto subscribes = h.agent.calls_of(v1::executor::Call::SUBSCRIBE);
        REQUIRE(!subscribes.empty());
        exec_subscribe.push_back(ms(subscribes.front().at - h.exe->started_at()));
        // The container's exit instant is Docker's `die` event (the executor has removed it by now).
        const auto died = die_time(d, docker::container_name(task));
        exit_terminal.push_back(std::chrono::duration<double, std::milli>(to_system(*finished_at) - died).count());
        REQUIRE(h.exe->wait(15s).has_value());
        REQUIRE(h.container_stopped(task));
        continue;
      }
      launch_running.push_back(ms(*running - t0));
      const auto share = docker_share(timing.exchanges(), "/containers/create?name=" + docker::container_name(task),
                                      "/" + Harness::container_id(fin) + "/start");
      REQUIRE(share);
      if (std::getenv("BENCH_TRACE")) {
        for (const auto& x : timing.exchanges()) {
          if (x.request_at < t0) continue;
          fmt::print("  {:8.2f} {:8.2f}  {}\n", ms(x.request_at - t0), ms(x.answer_at - t0), x.line.substr(0, 90));
        }
        for (const auto& u : h.agent.updates()) {
          if (!u.via_subscribe)
            fmt::print("  update {} at {:.2f}\n", v1::TaskState_Name(u.status.state()), ms(u.at - t0));
        }
      }
      exec_docker.push_back(share->ms);
      exec_before_create.push_back(ms(share->create_in - t0));
      exec_between.push_back(ms(share->start_in - share->create_answered));
      exec_after_start.push_back(ms(*running - share->start_answered));
      REQUIRE(h.exe->wait(15s).has_value());
      // The executor reports on the die event, before Docker's own clean-up of the container ends: let
      // that finish before the next launch, as the floor's remove does, so no start runs beside it.
      REQUIRE(h.container_stopped(task));

      // The floor's create+start, taken between the executor's launches: Docker's pace drifts over a
      // run by more than the margin the row allows, and interleaving gives both sides the same drift.
      auto spec = docker::build_container_spec(TaskBuilder(fmt::format("floor-run-{}", i), image).shell(kTrapCmd),
                                               docker::SpecOptions{});
      REQUIRE(spec);
      const auto f0 = Clock::now();
      auto id = timed_client.create(spec->name, spec->body);
      REQUIRE(id);
      REQUIRE(timed_client.start(*id));
      floor_create_start.push_back(ms(Clock::now() - f0));
      const auto floor_share =
          docker_share(timing.exchanges(), "/containers/create?name=" + spec->name, "/" + *id + "/start");
      REQUIRE(floor_share);
      floor_docker.push_back(floor_share->ms);
      REQUIRE(docker_client.kill(*id));
      REQUIRE(docker_client.wait(*id));
      REQUIRE(docker_client.remove(*id));
    }

    // ---- KILL → TASK_KILLED with a SIGTERM-obeying container, no drain. ----
    std::vector<double> kill_killed;
    for (int i = 0; i < reps; ++i) {
      Harness h;
      const std::string task = fmt::format("bench-kill-{}", i);
      h.agent.launch(TaskBuilder(task, image).param("label", "SidecarDiscover=false").shell(kTrapCmd));
      h.wait_state(task, v1::TASK_RUNNING, 60s);
      std::this_thread::sleep_for(300ms);
      const auto t0 = Clock::now();
      h.agent.kill(task);
      h.wait_state(task, v1::TASK_KILLED, 60s);
      kill_killed.push_back(ms(*update_at(h.agent, task, v1::TASK_KILLED) - t0));
      REQUIRE(h.exe->wait(15s).has_value());
    }

    // Each launch is paired with the floor's create+start taken right after it. What the executor
    // adds is, per pair, its time beyond Docker's share (the proxy's figures) minus the floor client's
    // time beyond Docker's share, and its ratio is the floor's create+start with that added, over the
    // floor's. The plain difference and ratio of each pair are kept beside them: Docker's spread of
    // ±25 ms per start is in those, so their medians move by ±10 ms and ±0.05 between runs.
    const double fcs = median(floor_create_start), lr = median(launch_running);
    std::vector<double> added, ratio, plain, plain_ratio, exec_own, floor_own;
    for (std::size_t i = 0; i < launch_running.size() && i < floor_create_start.size(); ++i) {
      exec_own.push_back(launch_running[i] - exec_docker[i]);
      floor_own.push_back(floor_create_start[i] - floor_docker[i]);
      added.push_back(exec_own.back() - floor_own.back());
      ratio.push_back((floor_create_start[i] + added.back()) / floor_create_start[i]);
      plain.push_back(launch_running[i] - floor_create_start[i]);
      plain_ratio.push_back(launch_running[i] / floor_create_start[i]);
    }
    const double add = median(added), rat = median(ratio);
    rows.push_back({"LAUNCH → TASK_RUNNING (image present)", fmt::format("{:.1f} ms create+start", fcs),
                    fmt::format("{:.1f} ms; adds {:+.1f} ms, {:.3f}× per pair beyond Docker's create+start ({:.1f} ms "
                                "own, the floor client's {:.1f}); plain pairs {:+.1f} ms, {:.2f}×",
                                lr, add, rat, median(exec_own), median(floor_own), median(plain), median(plain_ratio)),
                    "≤ +5 ms, ≤ 1.05×", verdict(add <= 5 && rat <= 1.05)});
    results["launch_plain_ms_per_pair"] = plain;
    results["launch_split_ms"] = {{"before_create", exec_before_create},
                                  {"create_answer_to_start", exec_between},
                                  {"start_answer_to_running", exec_after_start},
                                  {"executor_docker_share", exec_docker},
                                  {"floor_docker_share", floor_docker}};
    fmt::print(
        "LAUNCH split (medians): LAUNCH → create request {:.2f} ms, create's answer → start request {:.2f} ms, "
        "start's answer → RUNNING at the agent {:.2f} ms; the floor client's own {:.2f} ms; the proxy's hop "
        "{:.2f} ms per request\n",
        median(exec_before_create), median(exec_between), median(exec_after_start), median(floor_own), median(hop));
    results["launch_proxy_hop_ms"] = hop;
    results["launch_added_ms_per_pair"] = added;
    const double e50 = median(exit_terminal), e99 = percentile(exit_terminal, 99), fw = median(floor_exit);
    rows.push_back({"container exit → terminal update", fmt::format("{:.1f} ms /wait (p50)", fw),
                    fmt::format("p50 {:.1f} ms, p99 {:.1f} ms", e50, e99), "p99 ≤ /wait p50", verdict(e99 <= fw)});
    const double s50 = median(exec_subscribe);
    rows.push_back({"exec → SUBSCRIBE on the wire", "-",
                    fmt::format("p50 {:.2f} ms, p99 {:.2f} ms", s50, percentile(exec_subscribe, 99)), "p50 ≤ 5 ms",
                    verdict(s50 <= 5)});
    const double fs = median(floor_stop), kk = median(kill_killed);
    rows.push_back({"KILL → TASK_KILLED (SIGTERM obeyed, no drain)", fmt::format("{:.1f} ms stop", fs),
                    fmt::format("{:.1f} ms ({:.2f}×)", kk, kk / fs), "≤ 1.05×", verdict(kk / fs <= 1.05)});
    results["floor"] = {{"create_start_ms", floor_create_start}, {"stop_ms", floor_stop}, {"wait_exit_ms", floor_exit}};
    results["launch_to_running_ms"] = launch_running;
    results["exit_to_terminal_ms"] = exit_terminal;
    results["exec_to_subscribe_ms"] = exec_subscribe;
    results["kill_to_killed_ms"] = kill_killed;
  }

  // ---- Memory and CPU with a running task: one executor polling Sidecar every second, one without
  // Sidecar checks (the baseline), side by side. As deployed, the first check comes after a backoff
  // (default 1m), after the executor's releases of its start-up pages (3 s after RUNNING): the first
  // verdict and its health update run then. Both are measured once that first verdict is reported. ----
  if (part("rss")) {
    const auto idle_window = quick() ? 10s : 60s;
    testing_support::FakeSidecar sidecar;
    // Each executor runs its own copy, as the wrapper deploys it.
    Deployed polling_copy, quiet_copy;
    auto polling_h = start_deployed(polling_copy, {{"EXECUTOR_SIDECAR_URL", sidecar.url()},
                                                   {"EXECUTOR_SIDECAR_BACKOFF", "5s"},
                                                   {"EXECUTOR_SIDECAR_POLL_INTERVAL", "1s"}});
    auto quiet_h = start_deployed(quiet_copy);
    Harness& polling = *polling_h;
    Harness& quiet = *quiet_h;
    polling.agent.launch(TaskBuilder("bench-poll", image).env("TASK_HOST", "bench-host").shell("sleep 600"));
    quiet.agent.launch(TaskBuilder("bench-quiet", image).param("label", "SidecarDiscover=false").shell("sleep 600"));
    const auto running = polling.wait_state("bench-poll", v1::TASK_RUNNING, 60s);
    quiet.wait_state("bench-quiet", v1::TASK_RUNNING, 60s);
    sidecar.set_service("bench-host", Harness::container_id(running).substr(0, 12), 0 /* ALIVE */);
    // The first verdict: its TASK_RUNNING update with healthy set, then two polls more.
    const bool verdict_seen = fake::FakeAgent::wait_until(
        [&] {
          for (const auto& u : polling.agent.updates()) {
            if (u.status.state() == v1::TASK_RUNNING && u.status.has_healthy()) return true;
          }
          return false;
        },
        30s);
    CHECK(verdict_seen);
    std::this_thread::sleep_for(2s);
    const pid_t pp = polling.exe->pid(), qp = quiet.exe->pid();
    const long p0 = cpu_ms(pp), q0 = cpu_ms(qp);
    const std::size_t polls0 = sidecar.polls();
    std::this_thread::sleep_for(idle_window);
    const long p1 = cpu_ms(pp), q1 = cpu_ms(qp);
    const std::size_t polls = sidecar.polls() - polls0;
    const double minutes = std::chrono::duration<double>(idle_window).count() / 60.0;
    const double quiet_per_min = static_cast<double>(q1 - q0) / minutes;
    const double poll_per_min = static_cast<double>(p1 - p0) / minutes;
    const double per_poll = polls ? static_cast<double>((p1 - p0) - (q1 - q0)) / static_cast<double>(polls) : NAN;
    const double at_30s = quiet_per_min + 2 * std::max(per_poll, 0.0);
    const long rss_steady = status_kib(pp, "VmRSS:"), rss_peak = status_kib(pp, "VmHWM:");
    const long rss_quiet = status_kib(qp, "VmRSS:");
    const long rss_anon = status_kib(pp, "RssAnon:");  // private memory; the rest is clean program text
    const long pss = rollup_kib(pp, "Pss:");
    rows.push_back(
        {"executor RSS, task running (poll 1 s, first check after 5 s)", "-",
         fmt::format("steady {:.2f} MiB (PSS {:.2f} MiB, private {:.2f} MiB), peak {:.2f} MiB (no Sidecar: {:.2f} MiB)",
                     rss_steady / 1024.0, pss / 1024.0, rss_anon / 1024.0, rss_peak / 1024.0, rss_quiet / 1024.0),
         "≤ 3 MiB steady", verdict(rss_steady <= 3 * 1024)});
    rows.push_back(
        {"executor CPU, idle task", "-",
         fmt::format("{:.1f} ms/min at 1 s poll ({} polls), {:.1f} ms/min without; ≈ {:.1f} ms/min at 30 s poll",
                     poll_per_min, polls, quiet_per_min, at_30s),
         "≤ 10 ms/min at 30 s poll", verdict(at_30s <= 10)});
    results["rss_kib"] = {{"steady", rss_steady},    {"pss", pss},
                          {"private", rss_anon},     {"peak", rss_peak},
                          {"no_sidecar", rss_quiet}, {"sidecar_backoff_s", 5}};
    results["cpu"] = {{"window_s", std::chrono::duration<double>(idle_window).count()},
                      {"polls", polls},
                      {"ms_per_min_poll_1s", poll_per_min},
                      {"ms_per_min_no_sidecar", quiet_per_min},
                      {"ms_per_poll", per_poll},
                      {"ms_per_min_at_30s_estimate", at_30s}};
    polling.agent.kill("bench-poll");
    quiet.agent.kill("bench-quiet");
    polling.wait_state("bench-poll", v1::TASK_KILLED, 30s);
    quiet.wait_state("bench-quiet", v1::TASK_KILLED, 30s);
  }

  // ---- Binary size. ----
  if (part("size")) {
    const char* s = std::getenv("BENCH_STATIC_BIN");
    struct stat st {};
    if (s && *s && ::stat(s, &st) == 0) {
      const double mib = static_cast<double>(st.st_size) / (1024.0 * 1024.0);
      rows.push_back({"static binary, stripped", "-", fmt::format("{:.2f} MiB", mib), "≤ 6 MiB", verdict(mib <= 6)});
      results["static_binary_bytes"] = st.st_size;
    } else {
      rows.push_back({"static binary, stripped", "-", "not measured (no BENCH_STATIC_BIN)", "≤ 6 MiB", "-"});
    }
  }

  // ---- Syslog relay throughput. ----
  // One run is a few seconds of a chain of hand-overs (container, dockerd, executor, receiver) whose
  // speed moves by ±10 % from one run to the next on this machine: three runs, the median reported.
  // Its floor, measured before each run: the same number of datagrams of the same shape sent by a
  // plain sender to the same kind of receiver (the kernel's UDP path alone, udp_floor_rate); the
  // executor's whole CPU over the run is set against that sender's (one datagram per line costs the
  // same kernel work whoever sends it: the ratio says what the executor adds, whatever the hour).
  if (part("relay")) {
    const long lines = quick() ? 200000 : 1000000;
    const int runs = quick() ? 1 : 3;
    std::vector<double> rates, floors, cpu_ratios;  // cpu_ratios: the executor's CPU over the plain sender's
    long lost = 0;
    long hwm = 0;
    for (int run = 0; run < runs; ++run) {
      const auto f = testing_support::udp_floor_rate(lines);
      floors.push_back(f.lines_per_second);
      CHECK(floors.back() > 0);  // every datagram of the floor's run came
      const auto b = testing_support::relay_burst(lines, fmt::format("bench-relay-{}", run), image);
      hwm = std::max(hwm, b.peak_rss_kib);
      rates.push_back(b.lines_per_second);
      cpu_ratios.push_back(f.sender_cpu_ms > 0 ? static_cast<double>(b.cpu_ms) / f.sender_cpu_ms : 0.0);
      CHECK(b.finished);
      CHECK(b.received == lines);
      lost += lines - b.received;
    }
    const auto listed = [](const std::vector<double>& v) {
      std::string out;
      for (double r : v) out += fmt::format("{}{:.0f}", out.empty() ? "" : ", ", r);
      return out;
    };
    const double rate = median(rates);
    const double floor = median(floors);
    rows.push_back(
        {fmt::format("syslog relay, {} lines", lines),
         fmt::format("{:.0f} lines/s, the kernel's UDP path alone (median of {}: {})", floor, runs, listed(floors)),
         fmt::format("{:.0f} lines/s, {:.2f}× the floor (median of {} runs: {}), {} lost, peak RSS {:.1f} MiB; "
                     "CPU {:.2f}× the plain sender's",
                     rate, floor > 0 ? rate / floor : 0.0, runs, listed(rates), lost, hwm / 1024.0, median(cpu_ratios)),
         "≥ 200k lines/s", verdict(rate >= 200000)});
    results["relay"] = {
        {"lines", lines},           {"runs", rates}, {"floor_runs", floors},         {"floor_lines_per_second", floor},
        {"lines_per_second", rate}, {"lost", lost},  {"executor_peak_rss_kib", hwm}, {"cpu_vs_sender", cpu_ratios}};
  }

  // ---- Scale: N executors with one task each at the same time. ----
  if (part("scale")) {
    const int n = quick() ? 20 : 100;
    const std::string gate = testing_support::make_temp_dir("sce-bench-gate.");
    std::vector<std::unique_ptr<Deployed>> copies;  // each its own copy, as the wrapper deploys it
    std::vector<std::unique_ptr<Harness>> hs;
    for (int i = 0; i < n; ++i) {
      copies.push_back(std::make_unique<Deployed>());
      hs.push_back(start_deployed(*copies.back()));
    }
    const auto t0 = Clock::now();
    for (int i = 0; i < n; ++i) {
      hs[i]->agent.launch(TaskBuilder(fmt::format("scale-{}", i), image)
                              .param("label", "SidecarDiscover=false")
                              .volume(gate, "/gate", true)
                              .shell("sh -c 'while [ ! -e /gate/go ]; do sleep 0.2; done'"));
    }
    auto all = [&](v1::TaskState s) {
      for (int i = 0; i < n; ++i) {
        if (!update_at(hs[i]->agent, fmt::format("scale-{}", i), s)) return false;
      }
      return true;
    };
    const bool all_running = fake::FakeAgent::wait_until([&] { return all(v1::TASK_RUNNING); }, 300s);
    const double secs_running = std::chrono::duration<double>(Clock::now() - t0).count();
    std::this_thread::sleep_for(5s);  // steady: past the executors' second release (3 s after RUNNING)
    long total_rss = 0, max_rss = 0;
    for (auto& h : hs) {
      const long r = status_kib(h->exe->pid(), "VmRSS:");
      total_rss += r;
      max_rss = std::max(max_rss, r);
    }
    std::ofstream(gate + "/go") << "go\n";
    const bool all_finished = fake::FakeAgent::wait_until([&] { return all(v1::TASK_FINISHED); }, 300s);
    int lost = 0;
    for (int i = 0; i < n; ++i) {
      for (auto s : {v1::TASK_STARTING, v1::TASK_RUNNING, v1::TASK_FINISHED}) {
        if (!update_at(hs[i]->agent, fmt::format("scale-{}", i), s)) ++lost;
      }
    }
    for (auto& h : hs) h->exe->wait(30s);
    hs.clear();
    testing_support::remove_tree(gate);
    CHECK(all_running);
    CHECK(all_finished);
    CHECK(lost == 0);
    rows.push_back(
        {fmt::format("{} executors at once", n), "-",
         fmt::format("total RSS {:.1f} MiB (max {:.2f} MiB each), all RUNNING in {:.1f} s: {}, all FINISHED: {}, "
                     "{} lost updates",
                     total_rss / 1024.0, max_rss / 1024.0, secs_running, all_running ? "yes" : "no",
                     all_finished ? "yes" : "no", lost),
         "≤ 400 MiB total, 0 lost", verdict(total_rss <= 400 * 1024 && lost == 0 && all_finished)});
    results["scale"] = {{"executors", n},
                        {"total_rss_kib", total_rss},
                        {"max_rss_kib", max_rss},
                        {"seconds_to_all_running", secs_running},
                        {"all_running", all_running},
                        {"all_finished", all_finished},
                        {"lost_updates", lost}};
  }

  // ---- Report. ----
  std::string table =
      "| metric | floor (same run: Docker itself; the kernel alone) | sidecar-executor | target | "
      "|\n|---|---|---|---|---|\n";
  for (const auto& r : rows)
    table += fmt::format("| {} | {} | {} | {} | {} |\n", r.metric, r.floor, r.ours, r.target, r.verdict);
  fmt::print("\n{}\n", table);
  fmt::print("benchmark run took {:.0f} s\n", std::chrono::duration<double>(Clock::now() - bench_start).count());
  results["table_markdown"] = table;
  if (const char* out = std::getenv("BENCH_JSON")) std::ofstream(out) << results.dump(2) << "\n";
}
