// Docker Engine API client: the endpoints the executor uses, each with a timeout and errors that
// carry the endpoint, the HTTP status and the daemon's message. Synchronous and thread-safe: the
// runtime calls it from its worker threads.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "docker/image_ref.h"
#include "docker/log_demux.h"
#include "docker/log_stamps.h"
#include "net/http_conn.h"
#include "util/env.h"
#include "util/result.h"

namespace docker {

// The daemon's address, and the HTTP client the Engine API calls go through (src/net).
using net::Endpoint;
using net::HttpClient;
using net::HttpRequest;
using net::HttpResponse;

// DOCKER_HOST (unix:// default /var/run/docker.sock, or tcp://host:port), DOCKER_TLS_VERIFY and
// DOCKER_CERT_PATH (default ~/.docker: ca.pem, cert.pem, key.pem).
util::Result<Endpoint> endpoint_from_env(const util::EnvLookup& env);

// The oldest and newest Engine API versions we speak.
inline constexpr const char* kMinApiVersion = "1.24";
inline constexpr const char* kMaxApiVersion = "1.41";

// "1.41" < "1.9"? No: compared as numbers per component.
int compare_api_versions(const std::string& a, const std::string& b);

struct ContainerState {
  std::string id;                             // Id
  std::string name;                           // Name, with Docker's leading '/'
  std::string created;                        // Created: RFC 3339 with nanoseconds, the daemon's clock
  std::string image;                          // Config.Image: the reference it was created from
  std::map<std::string, std::string> labels;  // Config.Labels (the image's with the container's own)
  std::string status;                         // created, running, exited…
  bool running = false;
  std::optional<int> exit_code;
  bool oom_killed = false;
  std::string error;        // State.Error
  long long pid = 0;        // State.Pid: the container's first process on the host (0: not running)
  std::string sandbox_key;  // NetworkSettings.SandboxKey: the file of its network namespace
  std::string ip_address;
  // NetworkSettings.Networks with an address, HostConfig.NetworkMode's first, then by name.
  struct Network {
    std::string name;
    std::string ipv4, ipv6;  // IPAddress, GlobalIPv6Address
  };
  std::vector<Network> networks;
  bool tty = false;
};

// One event of GET /events: its Action ("die", "oom"…) and the Actor's attributes ("exitCode"…).
struct ContainerEvent {
  std::string action;
  std::map<std::string, std::string> attributes;
};

struct LogsOptions {
  bool stdout_stream = true;
  bool stderr_stream = true;
  bool follow = false;
  std::optional<long long> since;     // unix seconds
  std::optional<LogTime> since_time;  // to the nanosecond (Docker: inclusive); wins over `since`
  std::optional<int> tail;            // lines per stream
  // Longest silence allowed from the daemon; unset: none when following, else the client's timeout.
  std::optional<std::chrono::milliseconds> silence;
  // While the daemon is silent, the read's on_idle is also called this often (when set, only while
  // idle_every_while() says so); zero: not.
  std::chrono::milliseconds idle_every{0};
  std::function<bool()> idle_every_while = nullptr;
};

class Client {
 public:
  explicit Client(Endpoint endpoint, std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // GET /_ping; picks min(ours, daemon's) API version and prefixes every later path with it. Each
  // request waits at most `timeout` (unset: the client's) and ends at once when `cancel` is set.
  util::Result<std::string> negotiate(std::optional<std::chrono::milliseconds> timeout = std::nullopt,
                                      const util::CancelFlag* cancel = nullptr);
  std::string api_version() const;

  // GET /images/{image}/json. The name is percent-escaped ('/', ':' and '@' kept); one with a control
  // character or an empty, "." or ".." segment is refused without a request. Callers validate a task's image first
  // (validate_image_ref); this keeps even an unchecked string on the image route.
  util::Result<bool> image_present(const std::string& image);
  // POST /images/create; an error inside the 200 progress stream is a failure. `on_status` gets the
  // progress lines ("Pulling from …", "Digest: …") for logs. `auth_header` is X-Registry-Auth or empty.
  util::Result<void> pull(const ImageRef& ref, const std::string& auth_header,
                          const std::function<void(const std::string&)>& on_status,
                          std::chrono::milliseconds silence = std::chrono::minutes(2));
  // 201: the container id; `warnings` gets the daemon's warnings.
  util::Result<std::string> create(const std::string& name, const nlohmann::json& body,
                                   std::vector<std::string>* warnings = nullptr);
  // Container calls: `id` must be a container id or name ([a-zA-Z0-9][a-zA-Z0-9_.-]*), else the call
  // fails without a request.
  util::Result<void> start(const std::string& id);
  util::Result<void> stop(const std::string& id, int timeout_s);
  util::Result<void> kill(const std::string& id, const std::string& signal = "SIGKILL");
  // Blocks until the container is not running; its exit code. Abandoned when `cancel` turns true.
  util::Result<int> wait(const std::string& id, const util::CancelFlag* cancel = nullptr);
  // Within `timeout` (unset: the client's); abandoned when `cancel` is set.
  util::Result<ContainerState> inspect(const std::string& id, std::optional<std::chrono::milliseconds> timeout = {},
                                       const util::CancelFlag* cancel = nullptr);
  // GET /events for one container's die and oom events, from the moment the daemon answers on: that
  // moment is `on_open` (with the HTTP status), each event then goes to `on_event`, which returns
  // false to end the stream. Abandoned when `cancel` turns true. An event line over 1 MiB or not a
  // JSON object ends the stream with an error.
  util::Result<void> events(const std::string& id, const std::function<void(int status)>& on_open,
                            const std::function<bool(const ContainerEvent&)>& on_event,
                            const util::CancelFlag* cancel = nullptr);
  // Log pieces to `sink` (stdout and stderr apart; a TTY container's raw stream comes as stdout).
  // `on_idle` is called whenever the pieces received so far have all been given to `sink`.
  util::Result<void> logs(const std::string& id, const LogsOptions& opts, bool tty,
                          const std::function<void(LogStream, std::string_view)>& sink,
                          const util::CancelFlag* cancel = nullptr, std::function<void()> on_idle = nullptr);
  // The log read with timestamps=1: `reader` cuts each message's time off and hands it out
  // (log_stamps.h). `keep_reading`, when set, is asked at each piece: false ends the read (no error).
  util::Result<void> stamped_logs(const std::string& id, const LogsOptions& opts, bool tty, StampedLogReader& reader,
                                  const util::CancelFlag* cancel = nullptr, std::function<void()> on_idle = nullptr,
                                  const std::function<bool()>& keep_reading = nullptr);
  // POST /containers/{id}/attach (stream, stdout, stderr): the container's output as the daemon copies
  // it from the container, from the moment it answers (`on_open`, with the HTTP status; before the
  // start: all of it) until the daemon closes the container's streams after its exit, which ends the
  // answer. Pieces as logs() gives them, in the daemon's chunks rather than per line. Nothing is
  // read from the log driver, so it works with any; a reader that stops reading holds the container's
  // writes up after about 1 MB, as `docker run` does.
  util::Result<void> attach(const std::string& id, bool tty, const std::function<void(int status)>& on_open,
                            const std::function<void(LogStream, std::string_view)>& sink,
                            const util::CancelFlag* cancel = nullptr, std::function<void()> on_idle = nullptr);
  util::Result<void> remove(const std::string& id, std::optional<std::chrono::milliseconds> timeout = {});
  // docker exec, detached: runs `cmd` in the running container and polls until it ends (its exit code)
  // or `timeout` passes (an error; the process in the container is left to end by itself, as the
  // Mesos Docker executor leaves it).
  util::Result<int> exec(const std::string& id, const std::vector<std::string>& cmd, std::chrono::milliseconds timeout,
                         const util::CancelFlag* cancel = nullptr);
  // POST /networks/{network}/connect: the created container joins one more network.
  util::Result<void> connect_network(const std::string& network, const std::string& id);

  const Endpoint& endpoint() const { return http_.endpoint(); }

 private:
  std::string path(const std::string& p) const;
  // "/containers/{id}" + rest, versioned; refused (no request) when `id` cannot name a container.
  util::Result<std::string> container_path(const std::string& id, std::string_view rest) const;
  util::Result<HttpResponse> call(HttpRequest req, std::initializer_list<int> ok) const;
  util::Error fail(const HttpRequest& req, const util::Result<HttpResponse>& res) const;
  // GET /containers/{id}/logs: payload pieces to `sink`, frame headers (multiplexed) to `on_frame`.
  util::Result<void> read_logs(const std::string& id, const LogsOptions& opts, bool timestamps, bool tty,
                               const std::function<void(LogStream, std::string_view)>& sink,
                               const std::function<void(LogStream, std::uint32_t)>& on_frame,
                               const util::CancelFlag* cancel, std::function<void()> on_idle,
                               const std::function<bool()>& keep_reading);
  // The container's output stream of `req` (logs or attach): demultiplexed unless `tty`.
  util::Result<void> read_output(const HttpRequest& req, bool tty,
                                 const std::function<void(LogStream, std::string_view)>& sink,
                                 const std::function<void(LogStream, std::uint32_t)>& on_frame,
                                 const std::function<bool()>& keep_reading);

  HttpClient http_;
  std::chrono::milliseconds timeout_;
  mutable std::mutex mu_;
  std::string version_;  // empty until negotiated
};

// URL query escaping (RFC 3986 unreserved kept).
std::string url_escape(std::string_view s);

// Path segment escaping: RFC 3986 unreserved characters and those in `keep` stay, every other byte
// ('%', '?', '#', space, control characters, non-ASCII...) becomes %XX.
std::string path_escape(std::string_view s, std::string_view keep = "");

}  // namespace docker
