// Private dockerd and local registry for integration tests.
#include "docker_daemon.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "net/http_conn.h"
#include "util/base64.h"
#include "util/subprocess.h"

namespace testing_support {

using namespace std::chrono_literals;

namespace {

std::string run(const std::vector<std::string>& argv, const std::string& input = "",
                std::chrono::milliseconds timeout = 120s) {
  auto r = util::run_program(argv, input, timeout);
  std::string cmd;
  for (const auto& a : argv) cmd += a + " ";
  if (!r) throw std::runtime_error(fmt::format("{}: {}", cmd, r.error().message));
  if (r->exit_code != 0) throw std::runtime_error(fmt::format("{}exited {}: {}{}", cmd, r->exit_code, r->out, r->err));
  return r->out;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  if (!f) throw std::runtime_error("cannot write " + path);
}

}  // namespace

std::string make_temp_dir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

void remove_tree(const std::string& path) {
  if (path.size() < 8 || path.rfind("/tmp/", 0) != 0) return;  // never anything outside /tmp
  // Unmount whatever a killed daemon left mounted below it, deepest first.
  std::ifstream mounts("/proc/mounts");
  std::vector<std::string> below;
  std::string dev, mnt, rest;
  while (mounts >> dev >> mnt && std::getline(mounts, rest)) {
    if (mnt.rfind(path + "/", 0) == 0) below.push_back(mnt);
  }
  for (auto it = below.rbegin(); it != below.rend(); ++it) ::umount2(it->c_str(), MNT_DETACH);
  auto r = util::run_program({"rm", "-rf", path}, "", 120s);
  (void)r;
}

DockerDaemon& DockerDaemon::shared() {
  static std::unique_ptr<DockerDaemon> d(new DockerDaemon());
  return *d;
}

DockerDaemon::DockerDaemon() {
  if (::geteuid() != 0) throw std::runtime_error("Docker integration tests need root to run a private dockerd");
  dir_ = make_temp_dir("sce-docker.");
  socket_ = dir_ + "/docker.sock";
  launch({});

  // A root filesystem with busybox and its applets.
  const std::string root = dir_ + "/rootfs";
  for (const char* d : {"", "/bin", "/tmp", "/etc", "/proc", "/sys", "/dev", "/data"}) {
    ::mkdir((root + d).c_str(), 0755);
  }
  ::chmod((root + "/tmp").c_str(), 01777);
  run({"cp", "/bin/busybox", root + "/bin/busybox"});
  std::istringstream applets(run({"/bin/busybox", "--list"}));
  for (std::string a; std::getline(applets, a);) {
    if (!a.empty() && a != "busybox") {
      if (::symlink("busybox", (root + "/bin/" + a).c_str()) != 0 && errno != EEXIST) {
        throw std::runtime_error("symlink " + a);
      }
    }
  }
  write_file(root + "/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n");
  write_file(root + "/etc/group", "root:x:0:\nnogroup:x:65534:\n");
  rootfs_tar_ = dir_ + "/rootfs.tar";
  run({"tar", "-C", root, "-cf", rootfs_tar_, "."});
}

DockerDaemon::~DockerDaemon() {
  try {
    remove_all_containers();
  } catch (...) {
  }
  if (proc_) {
    proc_->signal(SIGTERM);
    if (!proc_->wait(30s)) proc_.reset();  // SIGKILLs the process group
  }
  remove_tree(dir_);
}

void DockerDaemon::launch(const std::vector<std::string>& flags) {
  std::vector<std::string> argv{
      "/usr/sbin/dockerd", "--host",    "unix://" + socket_, "--data-root", dir_ + "/root", "--exec-root",
      dir_ + "/exec",      "--pidfile", dir_ + "/pid",       "--log-level", "warn"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  proc_ =
      std::make_unique<Process>(argv, std::map<std::string, std::string>{{"PATH", "/usr/sbin:/usr/bin:/sbin:/bin"}});
  wait_ready(60s);
}

void DockerDaemon::restart(const std::vector<std::string>& flags, std::chrono::milliseconds downtime) {
  proc_->signal(SIGTERM);
  if (!proc_->wait(60s)) throw std::runtime_error("dockerd did not stop within 60 s of SIGTERM");
  proc_.reset();
  std::this_thread::sleep_for(downtime);
  launch(flags);
}

void DockerDaemon::wait_ready(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  net::HttpClient http(socket_);
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = http.send(net::HttpRequest{"GET", "/_ping", {}, "", 2000ms});
    if (r && r->status == 200) return;
    if (proc_->wait(0ms)) throw std::runtime_error("dockerd exited: " + proc_->output());
    std::this_thread::sleep_for(50ms);
  }
  throw std::runtime_error("dockerd did not answer within the time: " + proc_->output());
}

std::string DockerDaemon::cli(const std::vector<std::string>& args, const std::string& input,
                              const std::map<std::string, std::string>& extra_env) const {
  std::vector<std::string> argv = {"env", "DOCKER_HOST=" + host()};
  for (const auto& [k, v] : extra_env) argv.push_back(k + "=" + v);
  argv.push_back("/usr/bin/docker");
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, input);
}

std::string DockerDaemon::image(const std::string& ref, const std::string& cmd_json) {
  if (images_.count(ref)) return ref;
  cli({"import", "--change", "CMD " + cmd_json, rootfs_tar_, ref});
  images_[ref] = true;
  return ref;
}

std::string DockerDaemon::image_with(const std::string& ref, const std::vector<std::string>& changes) {
  if (images_.count(ref)) return ref;
  std::vector<std::string> args = {"import", "--change", R"(CMD ["sh"])"};
  for (const auto& c : changes) {
    args.push_back("--change");
    args.push_back(c);
  }
  args.push_back(rootfs_tar_);
  args.push_back(ref);
  cli(args);
  images_[ref] = true;
  return ref;
}

std::vector<std::string> DockerDaemon::running() const {
  std::istringstream ids(cli({"ps", "-q", "--no-trunc"}));
  std::vector<std::string> out;
  for (std::string id; std::getline(ids, id);) {
    if (!id.empty()) out.push_back(id);
  }
  return out;
}

void DockerDaemon::remove_all_containers() const {
  std::istringstream ids(cli({"ps", "-aq"}));
  std::vector<std::string> args = {"rm", "-f"};
  for (std::string id; std::getline(ids, id);) {
    if (!id.empty()) args.push_back(id);
  }
  if (args.size() > 2) cli(args);
}

LocalRegistry::LocalRegistry(std::string user, std::string password)
    : user_(std::move(user)), password_(std::move(password)) {
  dir_ = make_temp_dir("sce-registry.");
  port_ = free_tcp_port();
  write_file(dir_ + "/htpasswd", run({"htpasswd", "-Bbn", user_, password_}));
  write_file(dir_ + "/config.yml", fmt::format(R"(version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: {0}/data
http:
  addr: 127.0.0.1:{1}
auth:
  htpasswd:
    realm: sidecar-executor-tests
    path: {0}/htpasswd
)",
                                               dir_, port_));
  proc_ = std::make_unique<Process>(std::vector<std::string>{"/usr/bin/docker-registry", "serve", dir_ + "/config.yml"},
                                    std::map<std::string, std::string>{{"PATH", "/usr/bin:/bin"}});
  net::Endpoint ep;
  ep.host = "127.0.0.1";
  ep.port = port_;
  net::HttpClient http(ep);
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = http.send(net::HttpRequest{"GET", "/v2/", {}, "", 1000ms});
    if (r && r->status == 401) return;
    if (proc_->wait(0ms)) throw std::runtime_error("docker-registry exited: " + proc_->output());
    std::this_thread::sleep_for(50ms);
  }
  throw std::runtime_error("docker-registry did not answer: " + proc_->output());
}

LocalRegistry::~LocalRegistry() {
  proc_.reset();
  remove_tree(dir_);
}

std::string LocalRegistry::config_dir(const std::string& user, const std::string& password) const {
  const std::string d = dir_ + "/config-" + user + "-" + std::to_string(password.size());
  ::mkdir(d.c_str(), 0700);
  write_file(d + "/config.json", fmt::format(R"({{"auths":{{"{}":{{"auth":"{}"}}}}}})", address(),
                                             util::base64_encode(user + ":" + password)));
  return d;
}

std::string LocalRegistry::push(DockerDaemon& daemon, const std::string& local_ref, const std::string& name) {
  const std::string remote = address() + "/" + name;
  const std::map<std::string, std::string> env = {{"DOCKER_CONFIG", config_dir(user_, password_)}};
  daemon.cli({"tag", local_ref, remote});
  daemon.cli({"push", remote}, "", env);
  daemon.cli({"rmi", remote});
  return remote;
}

std::string LocalRegistry::push_by_digest(DockerDaemon& daemon, const std::string& local_ref, const std::string& name) {
  const std::string remote = address() + "/" + name;
  const std::map<std::string, std::string> env = {{"DOCKER_CONFIG", config_dir(user_, password_)}};
  daemon.cli({"tag", local_ref, remote});
  const std::string out = daemon.cli({"push", remote}, "", env);  // "<tag>: digest: sha256:<hex> size: <n>"
  daemon.cli({"rmi", remote});
  const auto at = out.find("digest: sha256:");
  if (at == std::string::npos) throw std::runtime_error("docker push printed no digest: " + out);
  const std::string digest = out.substr(at + 8, 7 + 64);
  const auto slash = remote.rfind('/');
  const auto colon = remote.rfind(':');
  const std::string repository = colon != std::string::npos && colon > slash ? remote.substr(0, colon) : remote;
  return repository + "@" + digest;
}

}  // namespace testing_support
