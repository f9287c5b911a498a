// posix_spawn with three pipes and a poll loop. Callers ignore SIGPIPE (a helper that exits without
// reading its input must not kill us).
#include "util/subprocess.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "util/split.h"

extern char** environ;

namespace util {
namespace {

struct Pipe {
  int fd[2] = {-1, -1};
  ~Pipe() {
    for (int& f : fd) {
      if (f >= 0) ::close(f);
    }
  }
  void close_end(int i) {
    if (fd[i] >= 0) ::close(fd[i]);
    fd[i] = -1;
  }
};

// Owns the spawn attributes and file actions for one child.
class SpawnSetup {
 public:
  SpawnSetup(int in_fd, int out_fd, int err_fd) {
    posix_spawn_file_actions_init(&fa_);
    posix_spawn_file_actions_adddup2(&fa_, in_fd, 0);
    posix_spawn_file_actions_adddup2(&fa_, out_fd, 1);
    posix_spawn_file_actions_adddup2(&fa_, err_fd, 2);
    // Whatever the executor holds (config files, sockets, a descriptor some library opened without
    // O_CLOEXEC) stays out of the helper.
    posix_spawn_file_actions_addclosefrom_np(&fa_, 3);
    posix_spawnattr_init(&attr_);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr_, &none);  // our blocked signals must not be inherited
    sigset_t defaults;                          // SIGPIPE is ignored in the executor; the helper gets the default back
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigdefault(&attr_, &defaults);
    // A process group of its own, so that a timeout also kills whatever the helper started.
    posix_spawnattr_setpgroup(&attr_, 0);
    posix_spawnattr_setflags(&attr_, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&fa_);
    posix_spawnattr_destroy(&attr_);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
  const posix_spawn_file_actions_t* actions() const { return &fa_; }
  const posix_spawnattr_t* attr() const { return &attr_; }

 private:
  posix_spawn_file_actions_t fa_;
  posix_spawnattr_t attr_;
};

std::vector<char*> c_strings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

using Clock = std::chrono::steady_clock;

// Feeds `input` and collects both outputs until the program closes them or `deadline` passes.
// Returns false at the deadline (or when poll fails).
bool exchange(Pipe& in, Pipe& out, Pipe& err, const std::string& input, Clock::time_point deadline,
              std::size_t max_output, ProgramResult& res) {
  std::size_t written = 0;
  if (input.empty()) in.close_end(1);
  if (in.fd[1] >= 0) ::fcntl(in.fd[1], F_SETFL, O_NONBLOCK);
  while (out.fd[0] >= 0 || err.fd[0] >= 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p[3] = {{out.fd[0], POLLIN, 0}, {err.fd[0], POLLIN, 0}, {in.fd[1], POLLOUT, 0}};
    const int n = ::poll(p, 3, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (in.fd[1] >= 0 && (p[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
      const ssize_t w = ::write(in.fd[1], input.data() + written, input.size() - written);
      if (w > 0) written += static_cast<std::size_t>(w);
      if (w < 0 || written == input.size()) in.close_end(1);
    }
    for (int i = 0; i < 2; ++i) {
      Pipe& pp = i == 0 ? out : err;
      std::string& dst = i == 0 ? res.out : res.err;
      if (pp.fd[0] >= 0 && (p[i].revents & (POLLIN | POLLHUP | POLLERR))) {
        char buf[4096];
        const ssize_t r = ::read(pp.fd[0], buf, sizeof buf);
        if (r <= 0) {
          pp.close_end(0);
        } else if (dst.size() < max_output) {
          dst.append(buf, std::min(static_cast<std::size_t>(r), max_output - dst.size()));
        }
      }
    }
  }
  return true;
}

// Waits for the program's exit until `deadline`: one that closed its output but lives on must not
// hold the caller forever. False when it is still running.
bool reap(pid_t pid, Clock::time_point deadline, int& status) {
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return true;
    if (r < 0 && errno != EINTR) {  // reaped elsewhere (SIGCHLD ignored): its exit code is unknown
      status = -1;
      return true;
    }
    if (Clock::now() >= deadline) return false;
    ::usleep(2000);
  }
}

// `program` is a path, or a name looked up in the caller's PATH when `env` is null.
Result<ProgramResult> spawn_and_collect(const std::string& program, const std::vector<std::string>& argv,
                                        const std::vector<std::string>* env, const std::string& input,
                                        std::chrono::milliseconds timeout, std::size_t max_output) {
  Pipe in, out, err;
  if (::pipe2(in.fd, O_CLOEXEC) != 0 || ::pipe2(out.fd, O_CLOEXEC) != 0 || ::pipe2(err.fd, O_CLOEXEC) != 0) {
    return make_error(fmt::format("pipe: {}", std::strerror(errno)));
  }
  std::vector<char*> args = c_strings(argv);
  std::vector<char*> envp = env != nullptr ? c_strings(*env) : std::vector<char*>{};
  pid_t pid = 0;
  int rc = 0;
  {
    SpawnSetup setup(in.fd[0], out.fd[1], err.fd[1]);
    rc = env != nullptr ? ::posix_spawn(&pid, program.c_str(), setup.actions(), setup.attr(), args.data(), envp.data())
                        : ::posix_spawnp(&pid, program.c_str(), setup.actions(), setup.attr(), args.data(), environ);
  }
  if (rc != 0) return make_error(fmt::format("cannot run {}: {}", argv[0], std::strerror(rc)));
  in.close_end(0);
  out.close_end(1);
  err.close_end(1);

  ProgramResult res;
  const auto deadline = Clock::now() + timeout;
  int status = 0;
  const bool finished = exchange(in, out, err, input, deadline, max_output, res) && reap(pid, deadline, status);
  if (!finished) {
    ::kill(-pid, SIGKILL);  // the whole group: the helper and anything it started
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return make_error(fmt::format("{} did not finish within {} ms", argv[0], timeout.count()));
  }
  res.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return res;
}

std::optional<std::string> env_value(const std::vector<std::string>& env, std::string_view name) {
  for (const auto& kv : env) {
    if (kv.size() > name.size() && kv.compare(0, name.size(), name) == 0 && kv[name.size()] == '=') {
      return kv.substr(name.size() + 1);
    }
  }
  return std::nullopt;
}

}  // namespace

std::string find_program(const std::string& name, const std::string& search_path) {
  if (name.empty()) return "";
  for (const std::string& dir : split(search_path, ':')) {
    if (dir.empty() || dir[0] != '/') continue;  // "" and relative entries mean the working directory
    const std::string candidate = dir + "/" + name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return "";
}

Result<ProgramResult> run_program(const std::vector<std::string>& argv, const std::string& input,
                                  std::chrono::milliseconds timeout, std::size_t max_output) {
  if (argv.empty()) return make_error("no program to run");
  return spawn_and_collect(argv[0], argv, nullptr, input, timeout, max_output);
}

Result<ProgramResult> run_program(const std::vector<std::string>& argv, const std::string& input,
                                  std::chrono::milliseconds timeout, const std::vector<std::string>& env,
                                  std::size_t max_output) {
  if (argv.empty() || argv[0].empty()) return make_error("no program to run");
  std::string program = argv[0];
  if (program.find('/') == std::string::npos) {
    const std::string search = env_value(env, "PATH").value_or(kSystemPath);
    program = find_program(argv[0], search);
    if (program.empty()) return make_error(fmt::format("cannot run {}: not found in {}", argv[0], search));
  }
  return spawn_and_collect(program, argv, &env, input, timeout, max_output);
}

}  // namespace util
