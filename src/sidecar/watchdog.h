// The Sidecar adapter: the health watchdog (poll state.json, count failures the Go executor's way,
// report changes of verdict, ask for a kill), the drain request before a kill, and the seed list.
// Sidecar being down, slow or confused never kills a task: every doubt counts as healthy.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "executor/events.h"
#include "util/cancel.h"
#include "util/result.h"

namespace sidecar {

using Duration = std::chrono::nanoseconds;

struct WatchdogOptions {
  std::string state_url = "http://localhost:7777/state.json";  // EXECUTOR_SIDECAR_URL
  Duration backoff = std::chrono::minutes(1);                   // EXECUTOR_SIDECAR_BACKOFF
  Duration poll_interval = std::chrono::seconds(30);            // EXECUTOR_SIDECAR_POLL_INTERVAL
  Duration http_timeout = std::chrono::seconds(2);              // EXECUTOR_HTTP_TIMEOUT (total, per request)
  int retry_count = 5;                                          // EXECUTOR_SIDECAR_RETRY_COUNT
  Duration retry_delay = std::chrono::seconds(3);               // EXECUTOR_SIDECAR_RETRY_DELAY
  int max_fails = 3;                                            // EXECUTOR_SIDECAR_MAX_FAILS
  bool health_updates = true;                                   // EXECUTOR_SIDECAR_HEALTH_UPDATES
};

// "http://host:7777/state.json" → {"http://host:7777", "/state.json"}. A URL holding a control
// character is refused (it would reach the request line or the Host header).
struct SplitUrl {
  std::string base;
  std::string path;
};
util::Result<SplitUrl> split_url(const std::string& url);

// The Go executor's failure counting: a failure when count < max_fails increments the count; a
// failure when count >= max_fails means kill (and the count restarts); anything else resets it.
class FailureCounter {
 public:
  explicit FailureCounter(int max_fails) : max_(max_fails) {}
  // Returns true when this check must kill the task.
  bool observe(bool failed);
  int count() const { return count_; }

 private:
  int max_;
  int count_ = 0;
};

class Adapter {
 public:
  using Sink = std::function<void(executor::Event)>;
  Adapter(WatchdogOptions opts, Sink sink);
  ~Adapter();
  Adapter(const Adapter&) = delete;
  Adapter& operator=(const Adapter&) = delete;

  // Starts polling for the container (its first 12 characters are Sidecar's service id) on the host
  // Sidecar knows the task by (TASK_HOST).
  void start_watchdog(const std::string& container_id, const std::string& task_host);
  // Returns at once; a check in flight is cut short.
  void stop_watchdog();
  // POST /api/services/<id12>/drain on a thread of its own, retried until 202.
  void drain(const std::string& container_id);
  // Stops everything: requests in flight are cut, pauses end, and the threads are joined, so this
  // returns promptly whatever Sidecar does (each request also has the HTTP timeout as its total).
  void shutdown();

 private:
  void run_watchdog(std::string id12, std::string host);
  bool sleep_for(Duration d);  // false when the watchdog is stopped
  void do_drain(std::string id12);

  WatchdogOptions opts_;
  Sink sink_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool watchdog_stop_ = false;
  bool shutdown_ = false;
  util::CancelFlag watchdog_cancel_;  // set by stop_watchdog() and shutdown(): cuts the poll in flight
  util::CancelFlag shutdown_cancel_;  // set by shutdown(): cuts a drain in flight
  std::thread watchdog_;
  std::vector<std::thread> drains_;
};

// EXECUTOR_SEED_SIDECAR: the agent's master (http://<agent>/state → master_hostname), then its agents
// (http://<master>:<port>/slaves → slaves[].hostname), joined with ','. Each of the two requests has
// `timeout` as its total deadline and is cut at once when `cancel` is set.
util::Result<std::string> fetch_seeds(const std::string& agent_endpoint, int master_port, Duration timeout,
                                      const util::CancelFlag* cancel = nullptr);

}  // namespace sidecar
