// local-agent: plays the Mesos agent on 127.0.0.1 for one task, so the executor can be tried
// without Mesos. Starts sidecar-executor with the MESOS_* environment, sends it the TaskInfo of a
// YAML task file, prints each status update, acknowledges it, turns Ctrl-C into a KILL (a second
// one into SHUTDOWN), and exits with a code saying how the task ended.
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "docker/image_ref.h"
#include "fake_agent.h"
#include "task_file.h"
#include "util/env.h"
#include "util/uuid.h"

extern char** environ;

namespace {

namespace v1 = ::mesos::v1;
using namespace std::chrono_literals;

// Exit codes.
constexpr int kFinished = 0;
constexpr int kFailed = 1;  // FAILED, ERROR, LOST, DROPPED…
constexpr int kUsage = 2;
constexpr int kKilled = 3;
constexpr int kNoOutcome = 4;  // the executor ended (or the time ran out) without a terminal update

std::atomic<int> g_interrupts{0};
void on_sigint(int) { g_interrupts.fetch_add(1); }

void usage(FILE* to) {
  fmt::print(to,
             "Usage: local-agent [--executor PATH] [--verbose] [--timeout SECONDS] TASK.yaml\n\n"
             "Runs one task through sidecar-executor against the local Docker, playing the Mesos agent on\n"
             "127.0.0.1. Ctrl-C sends KILL; a second Ctrl-C sends SHUTDOWN.\n"
             "  --executor PATH   the executor binary (default: sidecar-executor next to this program)\n"
             "  --verbose         show the executor's own log (default: written to a file in the sandbox)\n"
             "  --timeout SECONDS KILL the task after this long (default: none)\n"
             "Exit code: 0 FINISHED, 1 FAILED/ERROR/LOST, 3 KILLED, 4 no terminal update, 2 bad usage.\n"
             "The executor gets this environment (EXECUTOR_*, DOCKER_HOST, VAULT_*…) plus MESOS_*.\n\n{}",
             local_agent::task_file_help());
}

bool terminal(v1::TaskState s) {
  return s != v1::TASK_STAGING && s != v1::TASK_STARTING && s != v1::TASK_RUNNING && s != v1::TASK_KILLING;
}

std::string self_dir() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string p(buf, static_cast<std::size_t>(n));
  return p.substr(0, p.rfind('/'));
}

std::string tail_lines(const std::string& path, int n) {
  std::ifstream f(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(f, l);) lines.push_back(l);
  std::string out;
  for (std::size_t i = lines.size() > static_cast<std::size_t>(n) ? lines.size() - static_cast<std::size_t>(n) : 0;
       i < lines.size(); ++i) {
    out += "  | " + lines[i] + "\n";
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string executor = self_dir() + "/../src/sidecar-executor";
  if (::access(executor.c_str(), X_OK) != 0) executor = self_dir() + "/sidecar-executor";
  bool verbose = false;
  long timeout_s = 0;
  std::string task_path;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else if (a == "--verbose") {
      verbose = true;
    } else if (a == "--executor" && i + 1 < argc) {
      executor = argv[++i];
    } else if (a == "--timeout" && i + 1 < argc) {
      timeout_s = std::strtol(argv[++i], nullptr, 10);
    } else if (!a.empty() && a[0] != '-' && task_path.empty()) {
      task_path = a;
    } else {
      fmt::print(stderr, "local-agent: unexpected argument {}\n", a);
      usage(stderr);
      return kUsage;
    }
  }
  if (task_path.empty()) {
    usage(stderr);
    return kUsage;
  }
  std::ifstream f(task_path);
  if (!f) {
    fmt::print(stderr, "local-agent: cannot read {}: {}\n", task_path, std::strerror(errno));
    return kUsage;
  }
  std::stringstream text;
  text << f.rdbuf();
  auto task =
      local_agent::parse_task_file(text.str(), task_path, util::uuid_to_string(util::random_uuid()).substr(0, 8));
  if (!task) {
    fmt::print(stderr, "local-agent: {}\n", task.error().message);
    return kUsage;
  }
  if (::access(executor.c_str(), X_OK) != 0) {
    fmt::print(stderr, "local-agent: no executor at {} (build it, or pass --executor)\n", executor);
    return kUsage;
  }
  if (char* abs = ::realpath(executor.c_str(), nullptr)) {  // it starts in the sandbox, not here
    executor = abs;
    std::free(abs);
  }
  const std::string host = util::hostname();
  {  // Singularity puts TASK_HOST in the task's environment; so do we.
    auto* env = task->mutable_executor()->mutable_command()->mutable_environment();
    bool has = false;
    for (const auto& v : env->variables()) has = has || v.name() == "TASK_HOST";
    if (!has) {
      auto* v = env->add_variables();
      v->set_name("TASK_HOST");
      v->set_value(host);
    }
  }
  const std::string task_id = task->task_id().value();

  fake::AgentOptions opts;
  opts.framework_id = "local-framework";
  opts.executor_id = "local-executor-" + task_id;
  opts.agent_id = "local-agent";
  opts.hostname = host;
  fake::FakeAgent agent(opts);
  agent.start();

  std::string sandbox = "/tmp/local-agent.XXXXXX";
  if (!::mkdtemp(sandbox.data())) {
    fmt::print(stderr, "local-agent: mkdtemp: {}\n", std::strerror(errno));
    return kUsage;
  }
  const std::string log_path = sandbox + "/executor.log";
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    const auto eq = kv.find('=');
    if (eq != std::string::npos && kv.rfind("MESOS_", 0) != 0) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  env["MESOS_FRAMEWORK_ID"] = opts.framework_id;
  env["MESOS_EXECUTOR_ID"] = opts.executor_id;
  env["MESOS_AGENT_ENDPOINT"] = agent.endpoint();
  env["MESOS_CHECKPOINT"] = "0";
  env["MESOS_DIRECTORY"] = sandbox;
  env["MESOS_SANDBOX"] = sandbox;
  env["MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"] = "30secs";
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> cenv;
  for (auto& s : env_strings) cenv.push_back(s.data());
  cenv.push_back(nullptr);
  const std::string padding(100, ' ');
  std::vector<char*> cargv = {executor.data(), const_cast<char*>(padding.c_str()), nullptr};

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  // As the Mesos agent does: the executor (or the wrapper, which takes its working folder for the
  // sandbox) starts in the sandbox.
  posix_spawn_file_actions_addchdir_np(&fa, sandbox.c_str());
  if (!verbose) {
    posix_spawn_file_actions_addopen(&fa, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
  }
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, executor.c_str(), &fa, nullptr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    fmt::print(stderr, "local-agent: cannot start {}: {}\n", executor, std::strerror(rc));
    return kUsage;
  }
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);

  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  fmt::print("local-agent: agent on {}, executor pid {}, sandbox {}\n", agent.endpoint(), pid, sandbox);
  if (!verbose) fmt::print("local-agent: executor log in {}\n", log_path);
  std::fflush(stdout);

  int status = 0;
  bool exited = false;
  auto reap = [&] {
    if (!exited && ::waitpid(pid, &status, WNOHANG) == pid) exited = true;
    return exited;
  };
  if (!fake::FakeAgent::wait_until([&] { return agent.stream_open() || reap(); }, 15s) || exited) {
    fmt::print(stderr, "local-agent: the executor did not subscribe\n{}", tail_lines(log_path, 30));
    if (!exited) ::kill(pid, SIGKILL);
    return kNoOutcome;
  }
  std::this_thread::sleep_for(50ms);
  agent.launch(*task);
  fmt::print("local-agent: launched task {} (image {})\n", task_id, task->container().docker().image());
  std::fflush(stdout);

  std::size_t printed = 0;
  std::optional<v1::TaskState> final_state;
  int handled_interrupts = 0;
  bool timed_out = false;
  while (!reap()) {
    const auto ups = agent.updates();
    for (; printed < ups.size(); ++printed) {
      const auto& s = ups[printed].status;
      std::string line = fmt::format("[{:7.3f}s] {:<14}", elapsed(), v1::TaskState_Name(s.state()));
      if (s.has_reason()) line += " reason=" + v1::TaskStatus::Reason_Name(s.reason());
      if (s.has_healthy()) line += fmt::format(" healthy={}", s.healthy());
      if (s.has_message()) line += " message=\"" + s.message() + "\"";
      if (ups[printed].via_subscribe) line += " (re-sent)";
      fmt::print("{}\n", line);
      std::fflush(stdout);
      if (s.task_id().value() == task_id && terminal(s.state())) final_state = s.state();
    }
    const int n = g_interrupts.load();
    if (n > handled_interrupts) {
      handled_interrupts = n;
      if (n == 1) {
        fmt::print("local-agent: KILL {} (Ctrl-C again for SHUTDOWN)\n", task_id);
        agent.kill(task_id);
      } else if (n == 2) {
        fmt::print("local-agent: SHUTDOWN\n");
        agent.shutdown();
      } else {
        fmt::print("local-agent: SIGKILL to the executor\n");
        ::kill(pid, SIGKILL);
      }
      std::fflush(stdout);
    }
    if (timeout_s > 0 && !timed_out && elapsed() > static_cast<double>(timeout_s)) {
      timed_out = true;
      fmt::print("local-agent: {} s passed: KILL {}\n", timeout_s, task_id);
      agent.kill(task_id);
    }
    std::this_thread::sleep_for(20ms);
  }
  const auto ups = agent.updates();  // anything that came in with the exit
  for (; printed < ups.size(); ++printed) {
    const auto& s = ups[printed].status;
    fmt::print("[{:7.3f}s] {:<14} {}\n", elapsed(), v1::TaskState_Name(s.state()), s.message());
    if (s.task_id().value() == task_id && terminal(s.state())) final_state = s.state();
  }
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  fmt::print("local-agent: executor exited with {}\n", code);
  int result = kNoOutcome;
  if (final_state == v1::TASK_FINISHED)
    result = kFinished;
  else if (final_state == v1::TASK_KILLED)
    result = kKilled;
  else if (final_state)
    result = kFailed;
  if (result != kFinished && !verbose)
    fmt::print(stderr, "local-agent: end of the executor log:\n{}", tail_lines(log_path, 25));
  fmt::print("local-agent: task {} ended {}\n", task_id,
             final_state ? v1::TaskState_Name(*final_state) : "without a terminal update");
  fmt::print("local-agent: the container's output: docker logs {}\n", docker::container_name(task_id));
  if (result == kFinished && !verbose) {
    ::unlink(log_path.c_str());
    ::rmdir(sandbox.c_str());
  } else {
    fmt::print("local-agent: sandbox kept: {}\n", sandbox);
  }
  return result;
}
