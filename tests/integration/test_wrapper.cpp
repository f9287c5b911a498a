// packaging/executor.sh: sources the operator's env file with bash, copies the binary into the sandbox
// under its own name, runs it with padding, prints the Go wrapper's progress lines, and stops the
// task's container when the executor dies without doing so; refuses what a task may set to get
// root (files outside the wrapper's folder, loader and bash variables, exported functions, MESOS_*
// overrides, planted files).
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>

#include "executor_env.h"
#include "executor_harness.h"
#include "task_builder.h"

using namespace std::chrono_literals;
using fake::FakeAgent;
using testing_support::DockerDaemon;
using testing_support::Process;
using testing_support::TaskBuilder;
namespace v1 = ::mesos::v1;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

bool copy_file(const std::string& from, const std::string& to, mode_t mode) {
  {
    std::ifstream src(from, std::ios::binary);
    std::ofstream dst(to, std::ios::binary | std::ios::trunc);
    dst << src.rdbuf();
    if (!src || !dst) return false;
  }
  return ::chmod(to.c_str(), mode) == 0;
}

// The wrapper's child: the executor copy.
pid_t child_of(pid_t parent) {
  std::istringstream in(slurp("/proc/" + std::to_string(parent) + "/task/" + std::to_string(parent) + "/children"));
  pid_t p = 0;
  in >> p;
  return p;
}

// The environment a process started with.
std::map<std::string, std::string> environ_of(pid_t pid) {
  const std::string raw = slurp("/proc/" + std::to_string(pid) + "/environ");
  std::map<std::string, std::string> env;
  size_t start = 0;
  while (start < raw.size()) {
    size_t end = raw.find('\0', start);
    if (end == std::string::npos) end = raw.size();
    const std::string kv = raw.substr(start, end - start);
    if (const auto eq = kv.find('='); eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
    start = end + 1;
  }
  return env;
}

// The executor binary, copied once per test program; every Install links it into its own folder.
const std::string& pristine_binary() {
  struct Copy {
    Copy() : dir(testing_support::make_temp_dir("sce-bin.")), path(dir + "/sidecar-executor") {
      if (!copy_file(testing_support::executor_binary(), path, 0755)) throw std::runtime_error("cannot copy " + path);
    }
    ~Copy() { testing_support::remove_tree(dir); }
    std::string dir, path;
  };
  static const Copy copy;
  return copy.path;
}

// The wrapper as installed (executor.sh beside sidecar-executor in a folder of root's that only root
// may write, /opt/mesos in production), in a fresh folder: the only place the wrapper takes
// SIDECAR_EXECUTOR_PATH and the environment file from, and where its defaults are.
struct Install {
  Install() : dir(testing_support::make_temp_dir("sce-opt.")) {
    REQUIRE(::chmod(dir.c_str(), 0755) == 0);
    const char* source = std::getenv("SIDECAR_EXECUTOR_WRAPPER");
    REQUIRE(source != nullptr);
    REQUIRE(copy_file(source, wrapper(), 0755));
    if (::link(pristine_binary().c_str(), binary().c_str()) != 0) REQUIRE(copy_file(pristine_binary(), binary(), 0755));
  }
  ~Install() { testing_support::remove_tree(dir); }
  Install(const Install&) = delete;
  Install& operator=(const Install&) = delete;

  std::string wrapper() const { return dir + "/executor.sh"; }
  std::string binary() const { return dir + "/sidecar-executor"; }
  std::string default_env() const { return dir + "/executor-environment.sh"; }
  // A file of root's in the folder.
  std::string put(const std::string& name, const std::string& text, mode_t mode = 0644) const {
    const std::string p = dir + "/" + name;
    std::ofstream(p) << text;
    REQUIRE(::chmod(p.c_str(), mode) == 0);
    return p;
  }

  std::string dir;
};

// The environment the agent gives the wrapper, for a task in `sandbox` (an empty path: variable unset).
std::map<std::string, std::string> wrapper_env(const FakeAgent& agent, const std::string& sandbox,
                                               const std::string& executor_path, const std::string& custom_env) {
  auto env =
      testing_support::ExecutorEnv(agent.endpoint()).sandbox(sandbox).docker(DockerDaemon::shared().host()).map();
  if (!executor_path.empty()) env["SIDECAR_EXECUTOR_PATH"] = executor_path;
  if (!custom_env.empty()) env["SIDECAR_EXECUTOR_CUSTOM_ENV_PATH"] = custom_env;
  return env;
}

// As the agent starts it: in the sandbox, by its path (the kernel runs its `#!/bin/bash -p`), or by
// `shell` when one is named. With `err_file` (and no shell), the wrapper's stderr goes to that file,
// so that the process's output() is its stdout alone.
std::vector<std::string> wrapper_argv(const Install& inst, const std::string& sandbox, const std::string& shell = "",
                                      const std::string& err_file = "") {
  if (!shell.empty()) return {"/usr/bin/env", "-C", sandbox, shell, inst.wrapper()};
  if (err_file.empty()) return {"/usr/bin/env", "-C", sandbox, inst.wrapper()};
  return {"/usr/bin/env", "-C", sandbox, "/bin/sh", "-c", R"(exec "$0" 2>>"$1")", inst.wrapper(), err_file};
}

bool has_state(const FakeAgent& agent, v1::TaskState s) {
  for (const auto& u : agent.updates()) {
    if (u.status.state() == s) return true;
  }
  return false;
}

bool is_hex(const std::string& s, size_t len) {
  return s.size() == len &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

TEST_CASE("The wrapper runs a sandbox copy and stops the container of an executor killed with SIGKILL") {
  auto& d = DockerDaemon::shared();
  const std::string image = d.image("test/bb:1");
  const Install inst;
  const std::string sandbox = testing_support::make_temp_dir("sce-sandbox.");
  // Both variables name files of the wrapper's folder: honoured.
  const std::string custom_env =
      inst.put("custom-env.sh", "export EXECUTOR_KILL_TASK_TIMEOUT=1\nexport EXECUTOR_SIDECAR_DRAINING_DURATION=0s\n");
  FakeAgent agent(fake::AgentOptions{});
  agent.start();
  auto env = wrapper_env(agent, sandbox, inst.binary(), custom_env);
  // Docker client settings of the task's choosing: an API version the daemon refuses would make every
  // docker command fail, and a config folder of the task's could steer the client run as root. The
  // wrapper's docker commands see neither.
  env["DOCKER_API_VERSION"] = "1.0";
  env["DOCKER_CONFIG"] = sandbox + "/docker-config";
  Process sh(wrapper_argv(inst, sandbox), env);
  REQUIRE(FakeAgent::wait_until([&] { return agent.stream_open(); }, 10s));
  std::this_thread::sleep_for(100ms);
  agent.launch(TaskBuilder("wrapped-1", image).shell("sleep 600"));  // ignores SIGTERM: needs the SIGKILL
  const bool running = FakeAgent::wait_until([&] { return has_state(agent, v1::TASK_RUNNING); }, 30s);
  INFO(sh.output());
  REQUIRE(running);
  const pid_t exe = child_of(sh.pid());
  REQUIRE(exe > 0);
  const std::string cmdline = slurp("/proc/" + std::to_string(exe) + "/cmdline");
  CHECK(cmdline.rfind("sidecar-executor ", 0) == 0);  // the title, over the sandbox copy's argv
  CHECK(slurp("/proc/" + std::to_string(exe) + "/comm").rfind("sidecar-executo", 0) == 0);
  const std::string id = slurp(sandbox + "/sidecar-executor.container-id");
  REQUIRE(id.size() >= 64);
  CHECK(d.running().size() == 1);
  // The wrapper's nonce, on the container as its label.
  const std::string nonce = environ_of(exe)["SIDECAR_EXECUTOR_WRAPPER_NONCE"];
  CHECK(is_hex(nonce, 32));
  CHECK(d.cli({"container", "inspect", "--format", R"({{index .Config.Labels "sidecar-executor.wrapper-nonce"}})",
               id.substr(0, 64)}) == nonce + "\n");

  ::kill(exe, SIGKILL);  // no chance to stop anything itself
  auto code = sh.wait(30s);
  INFO(sh.output());
  REQUIRE(code.has_value());
  CHECK(*code == 128 + SIGKILL);
  CHECK_THAT(sh.output(), Catch::Contains("stopping it"));
  // Go: executor.sh:49, the line operators alert on, with the full id ({{$.ID}}).
  CHECK_THAT(sh.output(), Catch::Contains("Orphan container detected! Stopping " + id.substr(0, 64) + "\n"));
  const auto left = d.running();
  CHECK(std::find(left.begin(), left.end(), id.substr(0, 64)) == left.end());
  testing_support::remove_tree(sandbox);
}

TEST_CASE("The sandbox copy is what runs: replacing the installed binary mid-task does not disturb the task") {
  auto& d = DockerDaemon::shared();
  const std::string image = d.image("test/bb:1");
  const Install inst;
  const std::string sandbox = testing_support::make_temp_dir("sce-sandbox.");
  const std::string installed = inst.binary();
  FakeAgent agent(fake::AgentOptions{});
  agent.start();
  Process sh(wrapper_argv(inst, sandbox), wrapper_env(agent, sandbox, "", sandbox + "/none.sh"));
  REQUIRE(FakeAgent::wait_until([&] { return agent.stream_open(); }, 10s));
  std::this_thread::sleep_for(100ms);
  agent.launch(TaskBuilder("wrapped-2", image).shell("sh -c 'trap \"exit 0\" TERM; while :; do sleep 1; done'"));
  const bool running = FakeAgent::wait_until([&] { return has_state(agent, v1::TASK_RUNNING); }, 30s);
  INFO(sh.output());
  REQUIRE(running);
  const pid_t exe = child_of(sh.pid());
  REQUIRE(exe > 0);
  char target[4096] = {};
  const ssize_t n = ::readlink(("/proc/" + std::to_string(exe) + "/exe").c_str(), target, sizeof target - 1);
  REQUIRE(n > 0);
  CHECK(std::string(target, static_cast<size_t>(n)) == sandbox + "/sidecar-executor");

  // An upgrade replaces the installed binary (new inode, as dpkg does) and then a broken one
  // overwrites it in place: the running task's executor is neither.
  REQUIRE(::unlink(installed.c_str()) == 0);
  std::ofstream(installed) << "#!/bin/sh\nexit 99\n";
  REQUIRE(::chmod(installed.c_str(), 0755) == 0);

  agent.kill("wrapped-2");
  REQUIRE(FakeAgent::wait_until([&] { return has_state(agent, v1::TASK_KILLED); }, 30s));
  auto code = sh.wait(30s);
  INFO(sh.output());
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK(d.running().empty());
  testing_support::remove_tree(sandbox);
}

TEST_CASE("Orphans: the executor SIGKILLed 20 times at random moments of a launch leaves no container running") {
  auto& d = DockerDaemon::shared();
  const std::string image = d.image("test/bb:1");
  const Install inst;
  const unsigned seed = std::random_device{}();
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  int after_running = 0;
  for (int i = 0; i < 20; ++i) {
    INFO("kill " << i);
    const std::string sandbox = testing_support::make_temp_dir("sce-sandbox.");
    FakeAgent agent(fake::AgentOptions{});
    agent.start();
    auto env = wrapper_env(agent, sandbox, inst.binary(), "");
    env["EXECUTOR_KILL_TASK_TIMEOUT"] = "1";
    Process sh(wrapper_argv(inst, sandbox), env);
    REQUIRE(FakeAgent::wait_until([&] { return agent.stream_open(); }, 10s));
    std::this_thread::sleep_for(50ms);
    agent.launch(TaskBuilder(fmt::format("orphan-{}", i), image).shell("sleep 600"));
    // From STARTING on, anywhere in pull, create, start or the running task.
    REQUIRE(FakeAgent::wait_until([&] { return has_state(agent, v1::TASK_STARTING); }, 30s));
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 600)(rng)));
    after_running += has_state(agent, v1::TASK_RUNNING);
    const pid_t exe = child_of(sh.pid());
    REQUIRE(exe > 0);
    ::kill(exe, SIGKILL);
    const auto code = sh.wait(30s);
    INFO(sh.output());
    REQUIRE(code.has_value());
    CHECK(d.running().empty());
    testing_support::remove_tree(sandbox);
  }
  std::printf("figure: 20 executor SIGKILLs through the wrapper (%d after RUNNING): %zu containers left running\n",
              after_running, d.running().size());
  d.remove_all_containers();  // the never-started ones the kills left behind
}

namespace {

// A container of another tenant, started straight through Docker (not by any executor), named as
// an executor names its containers; `labels` as "key=value".
struct Victim {
  std::string id, name;
};

Victim start_victim(DockerDaemon& d, const std::vector<std::string>& labels = {}) {
  static std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> hex(0, 15);
  std::string uuid;
  for (const int len : {8, 4, 4, 4, 12}) {
    if (!uuid.empty()) uuid += '-';
    for (int i = 0; i < len; ++i) uuid += "0123456789abcdef"[hex(rng)];
  }
  Victim v{"", "mesos-" + uuid};
  std::vector<std::string> args = {"run", "-d", "--name", v.name};
  for (const auto& l : labels) {
    args.push_back("--label");
    args.push_back(l);
  }
  for (const std::string& a : {d.image("test/bb:1"), std::string("sleep"), std::string("600")}) args.push_back(a);
  v.id = d.cli(args);
  while (!v.id.empty() && (v.id.back() == '\n' || v.id.back() == '\r')) v.id.pop_back();
  REQUIRE(v.id.size() == 64);
  return v;
}

bool is_running(const DockerDaemon& d, const std::string& id) {
  const auto r = d.running();
  return std::find(r.begin(), r.end(), id) != r.end();
}

// The wrapper started with the fake agent; returns once the executor copy has subscribed.
struct Wrapped {
  Wrapped(const Install& inst, const std::string& sandbox, const std::string& executor_path,
          const std::string& custom_env, const std::map<std::string, std::string>& extra_env = {},
          const std::string& shell = "", const std::string& err_file = "")
      : agent(fake::AgentOptions{}) {
    agent.start();
    auto env = wrapper_env(agent, sandbox, executor_path, custom_env);
    for (const auto& [k, v] : extra_env) env[k] = v;
    sh = std::make_unique<Process>(wrapper_argv(inst, sandbox, shell, err_file), env);
  }
  bool subscribed() {
    return FakeAgent::wait_until([&] { return agent.stream_open(); }, 10s);
  }
  // Ends the executor with the agent's SHUTDOWN; the wrapper's exit code.
  std::optional<int> shut_down() {
    agent.shutdown();
    return sh->wait(30s);
  }
  FakeAgent agent;
  std::unique_ptr<Process> sh;
};

// The setting of a security case: the wrapper installed in a fresh folder, a fresh sandbox, scratch
// folders made on demand (all removed at the end), and the wrapper started in the sandbox as the agent
// starts it.
struct WrapperCase {
  WrapperCase() : sandbox(scratch("sce-sandbox.")) {}
  ~WrapperCase() {
    w.reset();
    for (const auto& dir : scratch_) testing_support::remove_tree(dir);
  }
  WrapperCase(const WrapperCase&) = delete;
  WrapperCase& operator=(const WrapperCase&) = delete;

  // A fresh folder, removed at the end.
  std::string scratch(const std::string& prefix) {
    scratch_.push_back(testing_support::make_temp_dir(prefix));
    return scratch_.back();
  }
  // The shell `how` names for starting the wrapper: "by its path" (none: the kernel runs its #!),
  // "/bin/sh", or "bash as sh" (bash through a link named sh).
  std::string shell_for(const std::string& how) {
    if (how == "/bin/sh") return "/bin/sh";
    if (how != "bash as sh") return "";
    const std::string link = scratch("sce-shells.") + "/sh";
    REQUIRE(::symlink("/bin/bash", link.c_str()) == 0);
    return link;
  }
  // Starts the wrapper (see Wrapped), without waiting for anything.
  void launch(const std::string& executor_path, const std::string& custom_env,
              const std::map<std::string, std::string>& task = {}, const std::string& shell = "",
              const std::string& err_file = "") {
    w.emplace(inst, sandbox, executor_path, custom_env, task, shell, err_file);
  }
  // Starts the wrapper and requires that the executor copy subscribes.
  void start(const std::string& executor_path, const std::string& custom_env,
             const std::map<std::string, std::string>& task = {}, const std::string& shell = "") {
    launch(executor_path, custom_env, task, shell);
    const bool subscribed = w->subscribed();
    INFO(w->sh->output());
    REQUIRE(subscribed);
  }
  // The executor copy: the wrapper's child.
  pid_t executor() const {
    const pid_t exe = child_of(w->sh->pid());
    REQUIRE(exe > 0);
    return exe;
  }
  // Ends the executor with the agent's SHUTDOWN; requires that the wrapper exits 0.
  void shut_down() {
    const auto code = w->shut_down();
    INFO(w->sh->output());
    REQUIRE(code.has_value());
    CHECK(*code == 0);
  }

  std::vector<std::string> scratch_;  // made before the sandbox
  const Install inst;
  const std::string sandbox;
  std::optional<Wrapped> w;
};

// Each victim carries all the marks of this executor's container but the one whose rule alone must
// save it; the control carries all of them and is the executor's own case: stopped.
std::vector<std::string> victim_labels(const std::string& kind, const std::string& nonce) {
  const std::string exec = "sidecar-executor.executor-id=exec-1";
  const std::string fw = "sidecar-executor.framework-id=fw-0001";
  const std::string ours = "sidecar-executor.wrapper-nonce=" + nonce;
  if (kind == "short id prefix" || kind == "full id and name, no labels") return {};
  if (kind == "another executor's labels") return {"sidecar-executor.executor-id=exec-2", fw, ours};
  if (kind == "our labels, no nonce") return {exec, fw};
  if (kind == "our labels, another nonce") {
    return {exec, fw, "sidecar-executor.wrapper-nonce=0123456789abcdef0123456789abcdef"};
  }
  return {exec, fw, ours};  // symlink, the task's MESOS_SANDBOX, control
}

}  // namespace

TEST_CASE_METHOD(WrapperCase,
                 "A planted container-id file does not make the wrapper touch another tenant's container") {
  auto& d = DockerDaemon::shared();
  const std::string kind =
      GENERATE(std::string("short id prefix"), std::string("full id and name, no labels"),
               std::string("another executor's labels"), std::string("symlink"), std::string("our labels, no nonce"),
               std::string("our labels, another nonce"), std::string("task's MESOS_SANDBOX"), std::string("control"));
  INFO("planted: " << kind);
  const std::string elsewhere = scratch("sce-elsewhere.");
  // The task may set MESOS_SANDBOX (the agent merges its environment last): the wrapper must not
  // look for the id file there.
  std::map<std::string, std::string> extra;
  if (kind == "task's MESOS_SANDBOX") extra = {{"MESOS_SANDBOX", elsewhere}, {"MESOS_DIRECTORY", elsewhere}};
  start("", sandbox + "/none.sh", extra);
  const pid_t exe = executor();
  const std::string nonce = environ_of(exe)["SIDECAR_EXECUTOR_WRAPPER_NONCE"];
  REQUIRE(is_hex(nonce, 32));
  const Victim v = start_victim(d, victim_labels(kind, nonce));
  const std::string id_file = sandbox + "/sidecar-executor.container-id";
  if (kind == "short id prefix") std::ofstream(id_file) << v.id.substr(0, 12) << "\n";
  if (kind == "symlink") {
    std::ofstream(elsewhere + "/id") << v.id << "\n" << v.name << "\n";
    REQUIRE(::symlink((elsewhere + "/id").c_str(), id_file.c_str()) == 0);
  } else if (kind == "task's MESOS_SANDBOX") {
    std::ofstream(elsewhere + "/sidecar-executor.container-id") << v.id << "\n" << v.name << "\n";
  } else if (kind != "short id prefix") {
    std::ofstream(id_file) << v.id << "\n" << v.name << "\n";
  }
  ::kill(exe, SIGKILL);
  const auto code = w->sh->wait(30s);
  INFO(w->sh->output());
  REQUIRE(code.has_value());
  CHECK(*code == 128 + SIGKILL);
  if (kind == "control") {
    CHECK_FALSE(is_running(d, v.id));
    CHECK_THAT(w->sh->output(),
               Catch::Contains("stopping it") && Catch::Contains("Orphan container detected! Stopping " + v.id + "\n"));
  } else {
    CHECK(is_running(d, v.id));
    CHECK_THAT(w->sh->output(), !Catch::Contains("stopping it") && !Catch::Contains("removing it") &&
                                    !Catch::Contains("Orphan container detected"));
  }
  if (kind == "short id prefix") CHECK_THAT(w->sh->output(), Catch::Contains("full 64-hex container id"));
  if (kind == "symlink") CHECK_THAT(w->sh->output(), Catch::Contains("is a symlink"));
  if (kind == "full id and name, no labels" || kind == "another executor's labels" || kind == "our labels, no nonce" ||
      kind == "our labels, another nonce") {
    CHECK_THAT(w->sh->output(),
               Catch::Contains("not acted on, no container touched") && Catch::Contains("not this executor's"));
  }
  if (kind == "task's MESOS_SANDBOX") CHECK_THAT(w->sh->output(), !Catch::Contains("not acted on"));
  d.cli({"rm", "-f", v.id});
}

TEST_CASE_METHOD(WrapperCase,
                 "A container-id file left in the sandbox before the wrapper starts is removed, never acted on") {
  auto& d = DockerDaemon::shared();
  // Even a container that carries this executor's labels and name: the file predates the executor.
  const Victim v = start_victim(d, {"sidecar-executor.executor-id=exec-1", "sidecar-executor.framework-id=fw-0001"});
  std::ofstream(sandbox + "/sidecar-executor.container-id") << v.id << "\n" << v.name << "\n";
  start(inst.binary(), sandbox + "/none.sh");
  CHECK_FALSE(exists(sandbox + "/sidecar-executor.container-id"));  // gone before the start
  const pid_t exe = executor();
  ::kill(exe, SIGKILL);
  const auto code = w->sh->wait(30s);
  INFO(w->sh->output());
  REQUIRE(code.has_value());
  CHECK(is_running(d, v.id));
  CHECK_THAT(w->sh->output(), !Catch::Contains("stopping it"));
  d.cli({"rm", "-f", v.id});
}

TEST_CASE_METHOD(WrapperCase, "A symlink planted where the binary copy goes is replaced, not written through") {
  const std::string elsewhere = scratch("sce-elsewhere.");
  const std::string precious = elsewhere + "/precious";
  std::ofstream(precious) << "root's file\n";
  REQUIRE(::chmod(precious.c_str(), 0600) == 0);
  REQUIRE(::symlink(precious.c_str(), (sandbox + "/sidecar-executor").c_str()) == 0);
  start(inst.binary(), sandbox + "/none.sh");
  shut_down();
  INFO(w->sh->output());
  const bool unchanged = slurp(precious) == "root's file\n";
  CHECK(unchanged);
  struct stat st {};
  REQUIRE(::stat(precious.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  REQUIRE(::lstat((sandbox + "/sidecar-executor").c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));  // the copy, in the link's place
  CHECK((st.st_mode & 07777) == 0755);
}

TEST_CASE_METHOD(
    WrapperCase,
    "The environment file is sourced only from the wrapper's folder, root's, and writable by no one else") {
  enum class Where { kFolder, kFolderLink, kSandbox, kLinkToSandbox };
  struct Case {
    mode_t mode;
    uid_t owner;
    Where where;
    bool sourced;
    const char* problem;
  };
  const Case c = GENERATE(Case{0644, 0, Where::kFolder, true, ""}, Case{0644, 0, Where::kFolderLink, true, ""},
                          Case{0664, 0, Where::kFolder, false, "writable by group or others"},
                          Case{0646, 0, Where::kFolder, false, "writable by group or others"},
                          Case{0664, 0, Where::kFolderLink, false, "writable by group or others"},
                          Case{0644, 1000, Where::kFolder, false, "owned by uid 1000, not root"},
                          Case{0644, 0, Where::kSandbox, false, "lies outside the wrapper's folder"},
                          Case{0644, 0, Where::kLinkToSandbox, false, "outside the wrapper's folder"});
  INFO("mode " << std::oct << c.mode << std::dec << " owner " << c.owner << " where " << static_cast<int>(c.where));
  const bool in_folder = c.where == Where::kFolder || c.where == Where::kFolderLink;
  const std::string file = (in_folder ? inst.dir : sandbox) + "/custom-env.sh";
  const std::string env_file =
      c.where == Where::kFolderLink || c.where == Where::kLinkToSandbox ? inst.dir + "/link-to-env.sh" : file;
  const std::string marker = sandbox + "/sourced";
  const std::string default_marker = sandbox + "/default-sourced";
  std::ofstream(file) << "touch '" << marker << "'\n";
  REQUIRE(::chmod(file.c_str(), c.mode) == 0);
  REQUIRE(::chown(file.c_str(), c.owner, 0) == 0);
  if (env_file != file) REQUIRE(::symlink(file.c_str(), env_file.c_str()) == 0);
  inst.put("executor-environment.sh", "touch '" + default_marker + "'\n");
  start("", env_file);
  shut_down();
  INFO(w->sh->output());
  CHECK(exists(marker) == c.sourced);
  CHECK(exists(default_marker) == !c.sourced);  // the operator's default stands in for a refused file
  if (!c.sourced) {
    CHECK_THAT(w->sh->output(), Catch::Contains("environment file " + env_file) && Catch::Contains(c.problem) &&
                                    Catch::Contains("not sourced"));
  }
}

TEST_CASE_METHOD(
    WrapperCase,
    "A custom environment file that is missing or outside the wrapper's folder leaves the default in force") {
  const std::string kind = GENERATE(std::string("root's 0600 token file"), std::string("missing, in the folder"),
                                    std::string("missing, in the sandbox"));
  INFO(kind);
  const std::string elsewhere = scratch("sce-elsewhere.");
  // A secret of root's, one line that is no shell command: sourcing it would make sh print it in
  // its "not found" error.
  const std::string token = "hvs.sce-secret-token-4711";
  const std::string token_file = elsewhere + "/vault-token";
  std::ofstream(token_file) << token << "\n";
  REQUIRE(::chmod(token_file.c_str(), 0600) == 0);
  const std::string custom = kind == "root's 0600 token file"   ? token_file
                             : kind == "missing, in the folder" ? inst.dir + "/missing.sh"
                                                                : sandbox + "/missing.sh";
  const std::string default_marker = sandbox + "/default-sourced";
  inst.put("executor-environment.sh", "touch '" + default_marker + "'\nexport SCE_OPERATOR_SETTING=from-default\n");
  start("", custom);
  const pid_t exe = executor();
  const auto exe_env = environ_of(exe);
  shut_down();
  INFO(w->sh->output());
  CHECK(exists(default_marker));
  CHECK(exe_env.count("SCE_OPERATOR_SETTING") == 1);
  CHECK_THAT(w->sh->output(), Catch::Contains("environment file " + custom) && Catch::Contains("not sourced") &&
                                  Catch::Contains("the default " + inst.default_env() + " is used instead"));
  CHECK_THAT(w->sh->output(), !Catch::Contains("sce-secret-token"));
  if (kind == "root's 0600 token file") CHECK_THAT(w->sh->output(), Catch::Contains("outside the wrapper's folder"));
  if (kind == "missing, in the folder") CHECK_THAT(w->sh->output(), Catch::Contains("does not exist"));
}

TEST_CASE_METHOD(WrapperCase,
                 "SIDECAR_EXECUTOR_PATH naming a file others may write is not run: the installed binary is used") {
  const bool others_write = GENERATE(true, false);
  const std::string marker = sandbox + "/ran";
  const std::string fake_exe = inst.put("other-executor", "#!/bin/sh\ntouch '" + marker + "'\n", 0755);
  if (others_write) {
    REQUIRE(::chmod(fake_exe.c_str(), 0775) == 0);
  } else {
    REQUIRE(::chown(fake_exe.c_str(), 1000, 1000) == 0);
  }
  start(fake_exe, "");  // the real executor, from the folder's default
  shut_down();
  INFO(w->sh->output());
  CHECK_FALSE(exists(marker));
  CHECK_THAT(w->sh->output(), Catch::Contains("SIDECAR_EXECUTOR_PATH " + fake_exe) &&
                                  Catch::Contains(others_write ? "writable by group or others" : "owned by uid 1000") &&
                                  Catch::Contains("using " + inst.binary()));
}

TEST_CASE_METHOD(WrapperCase,
                 "SIDECAR_EXECUTOR_PATH=/bin/sh with a script named like the padding does not run the task's script") {
  // Root's /bin/sh passes the ownership checks; run with the padding it would run the sandbox file
  // of that name as root. Under bash as sh the task also tries an imported function over `cp`.
  const bool bash = GENERATE(false, true);
  INFO((bash ? "bash as sh, with BASH_FUNC_cp" : "/bin/sh"));
  const std::string marker = sandbox + "/pwned";
  std::ofstream(sandbox + "/" + std::string(100, ' ')) << "touch '" << marker << "'\n";
  const std::string shell = shell_for(bash ? "bash as sh" : "/bin/sh");
  std::map<std::string, std::string> extra;
  if (bash) extra["BASH_FUNC_cp%%"] = "() { /bin/cat /bin/sh > \"$3\"; }";
  start("/bin/sh", "", extra, shell);  // the real executor, from the folder's default
  shut_down();
  INFO(w->sh->output());
  CHECK_FALSE(exists(marker));
  CHECK_THAT(w->sh->output(), Catch::Contains("SIDECAR_EXECUTOR_PATH /bin/sh") &&
                                  Catch::Contains("outside the wrapper's folder " + inst.dir) &&
                                  Catch::Contains("using " + inst.binary()));
}

TEST_CASE_METHOD(WrapperCase,
                 "Loader, libc and OpenSSL variables from the task's environment never reach the executor") {
  // The operator may set some on purpose: those stay.
  inst.put("executor-environment.sh", "export OPENSSL_CONF=/etc/ssl/operator.cnf\nexport MALLOC_ARENA_MAX=4\n");
  const std::map<std::string, std::string> task = {
      {"OPENSSL_CONF", sandbox + "/evil.cnf"},
      {"OPENSSL_MODULES", sandbox},
      {"OPENSSL_ENGINES", sandbox},
      {"SSL_CERT_FILE", sandbox + "/ca.pem"},
      {"SSL_CERT_DIR", sandbox},
      {"LD_PRELOAD", sandbox + "/libevil.so"},
      {"LD_LIBRARY_PATH", sandbox},
      {"LD_AUDIT", sandbox + "/libaudit.so"},
      {"LD_BIND_NOW", "1"},
      {"GCONV_PATH", sandbox},
      {"GLIBC_TUNABLES", "glibc.malloc.check=0"},
      {"MALLOC_ARENA_MAX", "1"},
      {"MALLOC_CHECK_", "0"},
      {"RES_OPTIONS", "ndots:9"},
      {"LOCALDOMAIN", "evil.invalid"},
      {"HOSTALIASES", sandbox + "/hosts"},
      {"NLSPATH", sandbox + "/%N"},
      {"LOCPATH", sandbox},
      {"TMPDIR", sandbox},
      {"TZ", "/dev/watchdog"},  // the C library (and Go's, in docker) open the file TZ names
      {"TZDIR", sandbox},
      {"ZONEINFO", sandbox + "/zones.zip"},
      // Ours to set, whatever the task says.
      {"SIDECAR_EXECUTOR_WRAPPER_NONCE", "0123456789abcdef0123456789abcdef"},
      {"SIDECAR_EXECUTOR_ID_FILE", sandbox + "/elsewhere.id"},
      // Kept: a task variable like any other, and one whose value holds a line that looks like LD_*.
      {"SCE_TASK_SETTING", "kept"},
      {"SCE_TASK_NOTE", "first line\nLD_NOT_A_VARIABLE=1"}};
  start("", "", task);
  const pid_t exe = executor();
  const auto env = environ_of(exe);
  shut_down();
  INFO(w->sh->output());
  for (const char* gone :
       {"OPENSSL_MODULES", "OPENSSL_ENGINES", "SSL_CERT_FILE", "SSL_CERT_DIR",   "LD_PRELOAD",    "LD_LIBRARY_PATH",
        "LD_AUDIT",        "LD_BIND_NOW",     "GCONV_PATH",    "GLIBC_TUNABLES", "MALLOC_CHECK_", "RES_OPTIONS",
        "LOCALDOMAIN",     "HOSTALIASES",     "NLSPATH",       "LOCPATH",        "TMPDIR",        "TZ",
        "TZDIR",           "ZONEINFO"}) {
    INFO(gone);
    CHECK(env.count(gone) == 0);
  }
  CHECK(env.count("OPENSSL_CONF") == 1);
  if (env.count("OPENSSL_CONF")) CHECK(env.at("OPENSSL_CONF") == "/etc/ssl/operator.cnf");
  CHECK(env.count("MALLOC_ARENA_MAX") == 1);
  if (env.count("MALLOC_ARENA_MAX")) CHECK(env.at("MALLOC_ARENA_MAX") == "4");
  CHECK(env.count("SCE_TASK_SETTING") == 1);
  CHECK(env.count("SCE_TASK_NOTE") == 1);
  if (env.count("SCE_TASK_NOTE")) CHECK(env.at("SCE_TASK_NOTE") == "first line\nLD_NOT_A_VARIABLE=1");
  CHECK(env.count("SIDECAR_EXECUTOR_WRAPPER_NONCE") == 1);
  if (env.count("SIDECAR_EXECUTOR_WRAPPER_NONCE")) {
    CHECK(is_hex(env.at("SIDECAR_EXECUTOR_WRAPPER_NONCE"), 32));
    CHECK(env.at("SIDECAR_EXECUTOR_WRAPPER_NONCE") != "0123456789abcdef0123456789abcdef");
  }
  CHECK(env.count("SIDECAR_EXECUTOR_ID_FILE") == 1);
  if (env.count("SIDECAR_EXECUTOR_ID_FILE")) {
    CHECK(env.at("SIDECAR_EXECUTOR_ID_FILE") == sandbox + "/sidecar-executor.container-id");
  }
}

TEST_CASE_METHOD(WrapperCase, "A wrapper whose own folder someone else may change refuses to run anything") {
  const bool others_write = GENERATE(true, false);
  if (others_write) {
    REQUIRE(::chmod(inst.dir.c_str(), 0777) == 0);
  } else {
    REQUIRE(::chown(inst.dir.c_str(), 1000, 1000) == 0);
  }
  launch("", "");
  const auto code = w->sh->wait(30s);
  INFO(w->sh->output());
  REQUIRE(code.has_value());
  CHECK(*code == 1);
  CHECK_FALSE(exists(sandbox + "/sidecar-executor"));
  CHECK_THAT(w->sh->output(), Catch::Contains("its folder " + inst.dir) &&
                                  Catch::Contains(others_write ? "writable by group or others" : "owned by uid 1000") &&
                                  Catch::Contains("not running anything from it"));
}

namespace {

// Go's wrapper as data: executor.sh of NinesStack/sidecar-executor (its newest stored version, the one
// that passes the padding argument), the lines it prints on stdout for one configuration. In the
// patterns {folder} is /opt/mesos, Go's fixed folder (executor.sh:10, :14) and ours the wrapper's own
// folder, which is /opt/mesos in production; {sandbox} is the folder the agent starts the wrapper in,
// which the agent also gives as MESOS_SANDBOX; {elsewhere} is a folder of the task's.
struct GoWrapperCase {
  std::string name;
  std::string default_env;                // the text of {folder}/executor-environment.sh; empty: no such file
  std::optional<std::string> custom_env;  // SIDECAR_EXECUTOR_CUSTOM_ENV_PATH; nullopt: unset
  std::string custom_text;                // written at custom_env when not empty
  std::string executor_path;              // SIDECAR_EXECUTOR_PATH, a copy of the binary put there; empty: unset
  std::string mesos_sandbox;              // MESOS_SANDBOX; empty: {sandbox}
  std::vector<std::string> go;            // Go's stdout lines
  std::vector<std::string> ours;          // ours where we differ on purpose (`why`); empty: Go's
  std::string why;
  std::optional<int> exit_before_start;  // Go and ours exit with it before the executor starts
};

const std::string kGoStarting = "--> Executor wrapper starting up...";  // Go: executor.sh:7

std::vector<GoWrapperCase> go_wrapper_cases() {
  const std::string bash_env = "sizes=(small medium large)\nexport SCE_BASH_ARRAY=\"${sizes[1]}/${#sizes[@]}\"\n";
  return {
      {"the default env file",
       bash_env,
       std::nullopt,
       "",
       "",
       "",
       {kGoStarting,
        "--> Procesing custom environment at {folder}/executor-environment.sh...",  // Go: executor.sh:19
        "--> Copying {folder}/sidecar-executor to sandbox {sandbox}",               // Go: executor.sh:25
        "--> Starting {sandbox}/sidecar-executor"},                                 // Go: executor.sh:26, :28
       {},
       "",
       std::nullopt},
      {"no env file",
       "",
       std::nullopt,
       "",
       "",
       "",
       {kGoStarting,
        "--> No custom environment found at {folder}/executor-environment.sh",  // Go: executor.sh:22
        "--> Copying {folder}/sidecar-executor to sandbox {sandbox}",           // Go: executor.sh:25
        "--> Starting {sandbox}/sidecar-executor"},                             // Go: executor.sh:28
       {},
       "",
       std::nullopt},
      {"an empty SIDECAR_EXECUTOR_CUSTOM_ENV_PATH is unset",  // Go: executor.sh:13 ([[ -z ]])
       bash_env,
       "",
       "",
       "",
       "",
       {kGoStarting, "--> Procesing custom environment at {folder}/executor-environment.sh...",
        "--> Copying {folder}/sidecar-executor to sandbox {sandbox}", "--> Starting {sandbox}/sidecar-executor"},
       {},
       "",
       std::nullopt},
      {"a custom env file",
       bash_env,
       "{folder}/site-env.sh",
       "export SCE_SITE=1\n",
       "",
       "",
       {kGoStarting, "--> Procesing custom environment at {folder}/site-env.sh...",  // Go: executor.sh:19
        "--> Copying {folder}/sidecar-executor to sandbox {sandbox}", "--> Starting {sandbox}/sidecar-executor"},
       {},
       "",
       std::nullopt},
      {"a missing custom env file, no default",
       "",
       "{folder}/missing.sh",
       "",
       "",
       "",
       {kGoStarting, "--> No custom environment found at {folder}/missing.sh",  // Go: executor.sh:17, :22
        "--> Copying {folder}/sidecar-executor to sandbox {sandbox}", "--> Starting {sandbox}/sidecar-executor"},
       {},
       "",
       std::nullopt},
      {"a missing custom env file, the default present",
       bash_env,
       "{folder}/missing.sh",
       "",
       "",
       "",
       {kGoStarting, "--> No custom environment found at {folder}/missing.sh",  // Go: executor.sh:17, :22
        "--> Copying {folder}/sidecar-executor to sandbox {sandbox}", "--> Starting {sandbox}/sidecar-executor"},
       {kGoStarting, "--> Procesing custom environment at {folder}/executor-environment.sh...",
        "--> Copying {folder}/sidecar-executor to sandbox {sandbox}", "--> Starting {sandbox}/sidecar-executor"},
       "a task naming a missing file never makes us skip the operator's default one",
       std::nullopt},
      {"SIDECAR_EXECUTOR_PATH names another binary: the copy takes its name",
       "",
       std::nullopt,
       "",
       "{folder}/sidecar-executor-1.2",
       "",
       {kGoStarting, "--> No custom environment found at {folder}/executor-environment.sh",
        "--> Copying {folder}/sidecar-executor-1.2 to sandbox {sandbox}",  // Go: executor.sh:25
        "--> Starting {sandbox}/sidecar-executor-1.2"},                    // Go: executor.sh:26 (basename), :28
       {},
       "",
       std::nullopt},
      {"SIDECAR_EXECUTOR_PATH outside the wrapper's folder",
       "",
       std::nullopt,
       "",
       "{elsewhere}/sidecar-executor-9",
       "",
       {kGoStarting, "--> No custom environment found at {folder}/executor-environment.sh",
        "--> Copying {elsewhere}/sidecar-executor-9 to sandbox {sandbox}",  // Go: executor.sh:25, :27 copies it
        "--> Starting {sandbox}/sidecar-executor-9"},
       {kGoStarting, "--> No custom environment found at {folder}/executor-environment.sh",
        "--> Copying {folder}/sidecar-executor to sandbox {sandbox}", "--> Starting {sandbox}/sidecar-executor"},
       "a binary the task chose is never run as root: the installed one is",
       std::nullopt},
      {"the task's MESOS_SANDBOX",
       "",
       std::nullopt,
       "",
       "",
       "{elsewhere}",
       {kGoStarting, "--> No custom environment found at {folder}/executor-environment.sh",
        "--> Copying {folder}/sidecar-executor to sandbox {elsewhere}",  // Go: executor.sh:25-27
        "--> Starting {elsewhere}/sidecar-executor"},
       {kGoStarting, "--> No custom environment found at {folder}/executor-environment.sh",
        "--> Copying {folder}/sidecar-executor to sandbox {sandbox}", "--> Starting {sandbox}/sidecar-executor"},
       "the sandbox is the folder the agent starts us in, not a variable the task may set",
       std::nullopt},
      {"SIDECAR_EXECUTOR_PATH named like the agent's stdout",
       "",
       std::nullopt,
       "",
       "{folder}/stdout",
       "",
       {kGoStarting, "--> No custom environment found at {folder}/executor-environment.sh",
        "--> Copying {folder}/stdout to sandbox {sandbox}",  // Go: executor.sh:25
        "--> Starting {sandbox}/stdout"},                    // Go: executor.sh:26-28, over the agent's log file
       {kGoStarting, "--> No custom environment found at {folder}/executor-environment.sh",
        "--> Copying {folder}/stdout to sandbox {sandbox}", "--> Starting {sandbox}/sidecar-executor"},
       "the copy never takes the name of the sandbox's own files (stdout, stderr, our id file)",
       std::nullopt},
      // Go: executor.sh:1 (`bash -e`): a command of the sourced file that fails ends the wrapper with
      // its status, before the copy (executor.sh:20, :25).
      {"a command of the env file fails",
       "export SCE_BEFORE=1\nfalse\nexport SCE_AFTER=1\n",
       std::nullopt,
       "",
       "",
       "",
       {kGoStarting, "--> Procesing custom environment at {folder}/executor-environment.sh..."},
       {},
       "",
       1},
  };
}

std::string expand(const std::string& pattern, const std::string& folder, const std::string& sandbox,
                   const std::string& elsewhere) {
  return fmt::format(fmt::runtime(pattern), fmt::arg("folder", folder), fmt::arg("sandbox", sandbox),
                     fmt::arg("elsewhere", elsewhere));
}

// The lines of `text` that are the Go wrapper's (the executor's own log lines are on stdout too).
std::vector<std::string> go_style_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("--> ", 0) == 0 || line.rfind("Orphan container detected!", 0) == 0) lines.push_back(line);
  }
  return lines;
}

}  // namespace

TEST_CASE_METHOD(
    WrapperCase,
    "Differential: the wrapper prints the Go wrapper's progress lines on stdout and names the copy as it does") {
  const auto cases = go_wrapper_cases();
  const auto c = cases[GENERATE(range(size_t{0}, go_wrapper_cases().size()))];
  INFO(c.name);
  const std::string elsewhere = scratch("sce-elsewhere.");
  const std::string err_file = elsewhere + "/wrapper.stderr";
  const auto x = [&](const std::string& p) { return expand(p, inst.dir, sandbox, elsewhere); };
  if (!c.default_env.empty()) inst.put("executor-environment.sh", c.default_env);
  if (!c.custom_text.empty()) {
    std::ofstream(x(*c.custom_env)) << c.custom_text;
    REQUIRE(::chmod(x(*c.custom_env).c_str(), 0644) == 0);
  }
  if (!c.executor_path.empty()) REQUIRE(copy_file(pristine_binary(), x(c.executor_path), 0755));
  std::map<std::string, std::string> extra;
  if (!c.mesos_sandbox.empty()) extra["MESOS_SANDBOX"] = x(c.mesos_sandbox);
  if (c.custom_env) extra["SIDECAR_EXECUTOR_CUSTOM_ENV_PATH"] = x(*c.custom_env);
  launch(c.executor_path.empty() ? "" : x(c.executor_path), "", extra, "", err_file);
  std::string copy_exe;
  if (c.exit_before_start) {
    const auto code = w->sh->wait(30s);
    REQUIRE(code.has_value());
    CHECK(*code == *c.exit_before_start);
    CHECK_FALSE(w->agent.stream_open());
  } else {
    const bool subscribed = w->subscribed();
    INFO(w->sh->output() << slurp(err_file));
    REQUIRE(subscribed);
    const pid_t exe = executor();
    char target[4096] = {};
    const ssize_t n = ::readlink(("/proc/" + std::to_string(exe) + "/exe").c_str(), target, sizeof target - 1);
    if (n > 0) copy_exe = std::string(target, static_cast<size_t>(n));
    shut_down();
  }
  const std::string out = w->sh->output();
  const std::string err = slurp(err_file);
  INFO("stdout:\n" << out << "\nstderr:\n" << err);
  std::vector<std::string> expected;
  for (const auto& line : c.ours.empty() ? c.go : c.ours) expected.push_back(x(line));
  if (!c.ours.empty()) INFO("differs from Go on purpose: " << c.why);
  CHECK(go_style_lines(out) == expected);
  CHECK(go_style_lines(err).empty());  // Go's lines are on stdout only
  if (!c.exit_before_start) {
    // The copy that runs is the one the "--> Starting" line names (Go: executor.sh:26, :57).
    const std::string starting = expected.back().substr(std::string("--> Starting ").size());
    CHECK(copy_exe == starting);
  } else {
    CHECK_THAT(err, Catch::Contains("stopped while sourcing the environment file " + inst.default_env()) &&
                        Catch::Contains("exit status 1"));
    CHECK_FALSE(exists(sandbox + "/sidecar-executor"));
  }
}

TEST_CASE_METHOD(WrapperCase, "The env file is sourced by bash ([[ ]], arrays), however the wrapper is started") {
  const std::string how = GENERATE(std::string("by its path"), std::string("/bin/sh"), std::string("bash as sh"));
  INFO(how);
  const std::string shell = shell_for(how);
  // Bash only: a POSIX sh stops at the array (a syntax error) and has no [[ ]].
  inst.put("executor-environment.sh",
           "if [[ ${MESOS_FRAMEWORK_ID-} == fw-* && -n $MESOS_EXECUTOR_ID ]]; then export SCE_BASH_TEST=matched; fi\n"
           "sizes=(small medium large)\n"
           "export SCE_BASH_ARRAY=\"${sizes[1]}/${#sizes[@]}\"\n"
           "declare -A site=([zone]=eu-1)\n"
           "export SCE_BASH_ASSOC=${site[zone]}\n"
           "export SCE_BASH_SOURCE=${BASH_SOURCE[0]}\n"
           "cd /\n");  // the executor still starts in the sandbox
  start("", "", {}, shell);
  const pid_t exe = executor();
  auto env = environ_of(exe);
  char cwd[4096] = {};
  const ssize_t n = ::readlink(("/proc/" + std::to_string(exe) + "/cwd").c_str(), cwd, sizeof cwd - 1);
  shut_down();
  INFO(w->sh->output());
  CHECK(env["SCE_BASH_TEST"] == "matched");
  CHECK(env["SCE_BASH_ARRAY"] == "medium/3");
  CHECK(env["SCE_BASH_ASSOC"] == "eu-1");
  CHECK(env["SCE_BASH_SOURCE"] == inst.default_env());
  CHECK(std::string(cwd, n > 0 ? static_cast<size_t>(n) : 0) == sandbox);
  CHECK_THAT(w->sh->output(), !Catch::Contains("not found") && !Catch::Contains("syntax error"));
}

TEST_CASE_METHOD(WrapperCase, "Bash variables and exported functions from the task's environment run nowhere") {
  const std::string how = GENERATE(std::string("by its path"), std::string("/bin/sh"), std::string("bash as sh"));
  INFO(how);
  const std::string shell = shell_for(how);
  const std::string marker = sandbox + "/pwned";
  const std::string touch = "/usr/bin/touch '" + marker + "'";
  std::ofstream(sandbox + "/evil.sh") << touch << "\n";
  // What the task sets: a file for bash and sh to run first, functions over commands the wrapper and
  // the operator's file use, options (xtrace with a PS4 that runs a command, errexit), bash's
  // compatibility level.
  std::map<std::string, std::string> task = {{"BASH_ENV", sandbox + "/evil.sh"},
                                             {"ENV", sandbox + "/evil.sh"},
                                             {"BASH_FUNC_cp%%", "() { " + touch + "; }"},
                                             {"BASH_FUNC_readlink%%", "() { " + touch + "; }"},
                                             {"BASH_FUNC_date%%", "() { " + touch + "; }"},
                                             {"BASH_FUNC_source%%", "() { " + touch + "; }"},
                                             {"SHELLOPTS", "xtrace:errexit"},
                                             {"BASHOPTS", "extdebug:nullglob"},
                                             {"PS4", "$(" + touch + ")+ "},
                                             {"BASH_COMPAT", "3.1"},
                                             {"CDPATH", sandbox},
                                             {"POSIXLY_CORRECT", "1"}};
  // A bash in POSIX mode that is not privileged (bash as sh) refuses to start at all with a function
  // named like a special builtin (`source`) in its environment: the task would only stop its own launch.
  if (how == "bash as sh") task.erase("POSIXLY_CORRECT");
  // The operator's file starts bash and sh children, which would read BASH_ENV and import the
  // functions if they were still in the environment.
  inst.put("executor-environment.sh",
           "date >/dev/null\n/bin/bash -c 'cp /dev/null /dev/null; date >/dev/null'\n/bin/sh -c true\n"
           "export SCE_OPERATOR=1\n");
  start("", "", task, shell);
  const pid_t exe = executor();
  const auto env = environ_of(exe);
  shut_down();
  INFO(w->sh->output());
  CHECK_FALSE(exists(marker));
  for (const auto& [k, v] : env) {
    INFO(k);
    CHECK(k.rfind("BASH", 0) != 0);
    CHECK(k != "ENV");
    CHECK(k != "SHELLOPTS");
    CHECK(k != "PS4");
    CHECK(k != "CDPATH");
    CHECK(k != "POSIXLY_CORRECT");
  }
  CHECK(env.count("SCE_OPERATOR") == 1);
  // Under bash as sh, SHELLOPTS's xtrace is on until the first line turns it off: nothing after it is traced.
  CHECK_THAT(w->sh->output(), !Catch::Contains("+ unset") && !Catch::Contains("+ exec") &&
                                  !Catch::Contains("+ source") && Catch::Contains("--> Starting " + sandbox));
}

TEST_CASE_METHOD(WrapperCase,
                 "SIDECAR_EXECUTOR_PATH naming the wrapper or a root-only file of its folder runs neither") {
  const std::string kind = GENERATE(std::string("the wrapper itself"), std::string("a 0600 token file"));
  INFO(kind);
  // Fetched into the sandbox by the task: a copy of the wrapper run there would source the first and
  // fall back on the second, as root.
  const std::string marker = sandbox + "/pwned";
  std::ofstream(sandbox + "/executor-environment.sh") << "touch '" << marker << "'\n";
  std::ofstream(sandbox + "/sidecar-executor") << "#!/bin/sh\ntouch '" << marker << "'\n";
  const std::string token = "hvs.sce-root-only-4711";
  const std::string path = kind == "a 0600 token file" ? inst.put("vault-token", token + "\n", 0600) : inst.wrapper();
  start(path, "");  // the real executor, from the folder's default
  shut_down();
  INFO(w->sh->output());
  CHECK_FALSE(exists(marker));
  CHECK_FALSE(exists(sandbox + "/executor.sh"));
  CHECK_FALSE(exists(sandbox + "/vault-token"));  // never copied, world-readable, into the sandbox
  CHECK_THAT(w->sh->output(), !Catch::Contains(token));
  CHECK_THAT(w->sh->output(),
             Catch::Contains("SIDECAR_EXECUTOR_PATH " + path) &&
                 Catch::Contains(kind == "a 0600 token file" ? "is not an ELF executable" : "is the wrapper itself") &&
                 Catch::Contains("using " + inst.binary()));
}

TEST_CASE_METHOD(WrapperCase,
                 "A copy of the wrapper run in its own folder (a sandbox) runs nothing; nor is the wrapper sourced") {
  const bool as_env_file = GENERATE(false, true);
  if (!as_env_file) {
    // The agent starting the wrapper's copy in the folder it lies in, as a copy in a sandbox would be.
    inst.put("executor-environment.sh", "touch '" + sandbox + "/sourced'\n");
    Process sh(wrapper_argv(inst, inst.dir), std::map<std::string, std::string>{{"PATH", "/usr/bin:/bin"}});
    const auto code = sh.wait(30s);
    INFO(sh.output());
    REQUIRE(code.has_value());
    CHECK(*code == 1);
    CHECK_FALSE(exists(sandbox + "/sourced"));
    CHECK_THAT(sh.output(), Catch::Contains("is the working folder (the sandbox): not running anything from it"));
  } else {
    // SIDECAR_EXECUTOR_CUSTOM_ENV_PATH naming the wrapper made it source itself, over and over.
    start("", inst.wrapper());
    shut_down();
    INFO(w->sh->output());
    CHECK_THAT(w->sh->output(), Catch::Contains("environment file " + inst.wrapper()) &&
                                    Catch::Contains("is the wrapper itself: not sourced"));
  }
}

TEST_CASE_METHOD(
    WrapperCase,
    "An invalid UTF-8 byte in a value does not keep bash's or the libraries' variables in the environment") {
  const std::string marker = sandbox + "/pwned";
  // Under a UTF-8 locale, a regex `.` does not match the \xff byte: a drop list read with one would
  // miss these. The operator's file starts a bash child, which would run BASH_ENV and the function.
  const std::map<std::string, std::string> task = {
      {"LC_ALL", "C.UTF-8"},
      {"BASH_ENV", "$(/usr/bin/touch '" + marker + "')\xff"},
      {"BASH_FUNC_date%%", "() { /usr/bin/touch '" + marker + "'; : \xff; }"},
      {"GCONV_PATH", sandbox + "/\xff"},
      {"LD_LIBRARY_PATH", sandbox + "\xff="},
      {"\xff", "name not a shell identifier"},
      {"SCE_TASK_SETTING", "kept\xff"}};
  inst.put("executor-environment.sh", "/bin/bash -c 'date >/dev/null'\nexport SCE_OPERATOR=1\n");
  start("", "", task);
  const pid_t exe = executor();
  const auto env = environ_of(exe);
  shut_down();
  INFO(w->sh->output());
  CHECK_FALSE(exists(marker));
  for (const char* gone : {"BASH_ENV", "BASH_FUNC_date%%", "GCONV_PATH", "LD_LIBRARY_PATH", "\xff", "LC_ALL"}) {
    INFO(gone);
    CHECK(env.count(gone) == 0);
  }
  CHECK(env.count("SCE_OPERATOR") == 1);
  CHECK(env.count("SCE_TASK_SETTING") == 1);
}

TEST_CASE_METHOD(
    WrapperCase,
    "Locale, FUNCNEST and tool-steering variables of the task reach neither the env file nor the executor") {
  // FUNCNEST=1 made the wrapper skip the operator's file; LANGUAGE and LC_* load translations (format
  // strings) from the task's files into root's tools; the others steer tools the file may run.
  const std::map<std::string, std::string> task = {{"FUNCNEST", "1"},
                                                   {"LANGUAGE", "../../../../proc/self/cwd/yy"},
                                                   {"LANG", "C.UTF-8"},
                                                   {"LC_MESSAGES", "C.UTF-8"},
                                                   {"CURL_HOME", sandbox},
                                                   {"WGETRC", sandbox + "/wgetrc"},
                                                   {"PYTHONPATH", sandbox},
                                                   {"PYTHONSTARTUP", sandbox + "/s.py"},
                                                   {"PERL5OPT", "-Mevil"},
                                                   {"NODE_OPTIONS", "--require=/x"},
                                                   {"GIT_SSH_COMMAND", "touch /x"},
                                                   {"http_proxy", "http://127.0.0.1:9"},
                                                   {"HTTPS_PROXY", "http://127.0.0.1:9"},
                                                   {"GNUPGHOME", sandbox},
                                                   {"HOME", sandbox}};
  inst.put("executor-environment.sh",
           "export SCE_OPERATOR=1\nexport SCE_HOME_SEEN=\"$HOME\"\n"
           "export SCE_SEEN=\"${FUNCNEST-}${LANGUAGE-}${LANG-}${LC_ALL-}${CURL_HOME-}${PYTHONPATH-}${http_proxy-}\"\n");
  start("", "", task);
  const pid_t exe = executor();
  auto env = environ_of(exe);
  shut_down();
  INFO(w->sh->output());
  CHECK_THAT(w->sh->output(), Catch::Contains("--> Procesing custom environment at " + inst.default_env()));
  CHECK(env["SCE_OPERATOR"] == "1");
  CHECK(env["SCE_HOME_SEEN"] == "/root");  // root's HOME while the file runs
  CHECK(env["SCE_SEEN"].empty());
  CHECK(env["HOME"] == sandbox);  // the task's again for the executor, as before
  for (const auto& [k, v] : task) {
    INFO(k);
    if (k != "HOME") CHECK(env.count(k) == 0);
  }
  CHECK(env.count("LC_ALL") == 0);  // the wrapper's own LC_ALL=C stays its own
}

TEST_CASE_METHOD(WrapperCase, "The env file cannot change the wrapper's variables, options or aliases") {
  const std::string kind = GENERATE(std::string("sandbox="), std::string("options, aliases, functions"));
  INFO(kind);
  const std::string elsewhere = scratch("sce-elsewhere.");
  if (kind == "sandbox=") {
    // An assignment that moved the copy and the id file elsewhere: now it stops the launch.
    inst.put("executor-environment.sh", "sandbox='" + elsewhere + "'\nexport SCE_OPERATOR=1\n");
    launch("", "");
    const auto code = w->sh->wait(30s);
    INFO(w->sh->output());
    REQUIRE(code.has_value());
    CHECK(*code == 1);
    CHECK_FALSE(w->agent.stream_open());
    CHECK_FALSE(exists(elsewhere + "/sidecar-executor"));
    CHECK_FALSE(exists(sandbox + "/sidecar-executor"));
    CHECK_THAT(w->sh->output(), Catch::Contains("stopped while sourcing the environment file " + inst.default_env()) &&
                                    Catch::Contains("the executor is not started"));
  } else {
    // xpg_echo made `echo` turn the task's "\n" into a line of its own (a forged alert line); the
    // aliases and functions would replace the wrapper's reset and its commands.
    inst.put("executor-environment.sh",
             "shopt -s xpg_echo expand_aliases\nset -o pipefail -T -E\nalias printf=false unalias=true\n"
             "set() { :; }\nunset() { :; }\nbuiltin() { :; }\nhash -p /bin/false cp\nexport SCE_OPERATOR=1\n");
    start(inst.dir + "/missing\\nOrphan container detected! Stopping forged", "");
    shut_down();
    INFO(w->sh->output());
    CHECK_THAT(w->sh->output(), !Catch::Contains("\nOrphan container detected!") &&
                                    Catch::Contains("--> Starting " + sandbox + "/sidecar-executor"));
  }
}
