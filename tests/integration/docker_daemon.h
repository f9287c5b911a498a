// A private dockerd for one test program (its own socket, data root and exec root under /tmp), a
// busybox image made with `docker import`, and a real local registry with htpasswd auth. Docker
// tests are not run in parallel with each other: daemons share the docker0 bridge and iptables.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../free_port.h"  // free_tcp_port
#include "process.h"

namespace testing_support {

class DockerDaemon {
 public:
  // Started on first use, stopped (containers removed, daemon stopped, files deleted) at exit.
  static DockerDaemon& shared();
  ~DockerDaemon();

  const std::string& socket() const { return socket_; }
  std::string host() const { return "unix://" + socket_; }
  const std::string& dir() const { return dir_; }

  // Runs the docker CLI against this daemon; throws with its output when it fails.
  std::string cli(const std::vector<std::string>& args, const std::string& input = "",
                  const std::map<std::string, std::string>& extra_env = {}) const;

  // An image holding busybox (all applets, /tmp, /etc) with the given CMD (JSON array text), made
  // once per name.
  std::string image(const std::string& ref, const std::string& cmd_json = R"(["sh"])");
  // The busybox image with more Dockerfile instructions (e.g. "VOLUME /data"), imported once under `ref`.
  std::string image_with(const std::string& ref, const std::vector<std::string>& changes);

  // Stops the daemon (SIGTERM, as an operator's restart does), waits `downtime`, and starts it again on
  // the same socket and data root with `flags` added (e.g. "--live-restore"); returns when it answers.
  void restart(const std::vector<std::string>& flags, std::chrono::milliseconds downtime);

  // Ids of running containers.
  std::vector<std::string> running() const;
  void remove_all_containers() const;

 private:
  DockerDaemon();
  void launch(const std::vector<std::string>& flags);
  void wait_ready(std::chrono::milliseconds timeout);

  std::string dir_;
  std::string socket_;
  std::unique_ptr<Process> proc_;
  std::map<std::string, bool> images_;
  std::string rootfs_tar_;
};

// Debian's docker-registry on 127.0.0.1:<free port> with one htpasswd user.
class LocalRegistry {
 public:
  LocalRegistry(std::string user, std::string password);
  ~LocalRegistry();
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // Pushes a local image of `daemon` as <address>/<name>; the daemon's copy is then removed.
  std::string push(DockerDaemon& daemon, const std::string& local_ref, const std::string& name);
  // Pushes as push() does; returns the pushed manifest by digest: <address>/<name without tag>@sha256:….
  std::string push_by_digest(DockerDaemon& daemon, const std::string& local_ref, const std::string& name);
  // A DOCKER_CONFIG directory whose config.json holds these credentials for this registry.
  std::string config_dir(const std::string& user, const std::string& password) const;

 private:
  std::string dir_;
  int port_ = 0;
  std::string user_, password_;
  std::unique_ptr<Process> proc_;
};

std::string make_temp_dir(const std::string& prefix);
void remove_tree(const std::string& path);

}  // namespace testing_support
