// The Sidecar adapter: the health watchdog (poll state.json, count failures the Go executor's way,
// report changes of verdict, ask for a kill), the drain request before a kill, and the seed list.
// Sidecar being down, slow or confused never kills a task: a doubt counts as healthy and leaves the
// failure count as it is, as in the Go executor. The log lines start with the Go executor's wording,
// which operators grep for.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "executor/events.h"
#include "executor/ports.h"
#include "util/cancel.h"
#include "util/result.h"

namespace sidecar {

using Duration = std::chrono::nanoseconds;

struct WatchdogOptions {
  std::string state_url = "http://localhost:7777/state.json";  // EXECUTOR_SIDECAR_URL
  Duration backoff = std::chrono::minutes(1);                  // EXECUTOR_SIDECAR_BACKOFF
  Duration poll_interval = std::chrono::seconds(30);           // EXECUTOR_SIDECAR_POLL_INTERVAL
  Duration http_timeout = std::chrono::seconds(2);             // EXECUTOR_HTTP_TIMEOUT (total, per request)
  int retry_count = 5;                                         // EXECUTOR_SIDECAR_RETRY_COUNT
  Duration retry_delay = std::chrono::seconds(3);              // EXECUTOR_SIDECAR_RETRY_DELAY
  int max_fails = 3;                                           // EXECUTOR_SIDECAR_MAX_FAILS
  bool health_updates = true;                                  // EXECUTOR_SIDECAR_HEALTH_UPDATES
  // EXECUTOR_SEED_SIDECAR's Seeds step: where the agent answers (host:port) and the master's port.
  std::string agent_endpoint;
  int master_port = 5050;  // EXECUTOR_MESOS_MASTER_PORT
};

// "http://host:7777/state.json" → {"http://host:7777", "/state.json"}. A URL holding a control
// character is refused (it would reach the request line or the Host header).
struct SplitUrl {
  std::string base;
  std::string path;
};
util::Result<SplitUrl> split_url(const std::string& url);

// The Go executor's failure counting (executor.go sidecarStatus): a failure when count < max_fails
// increments the count; a failure when count >= max_fails means kill (and the count restarts); a
// listed service with any other status resets it. Answers that are no verdict (Sidecar unreachable,
// an answer that is not a state document, our host or service not listed) are not observed at all.
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

// One GET of the state document: Sidecar's answer, or why none came.
struct Fetched {
  int http_status = 0;  // 0: no answer (`error` says why)
  std::string body;
  std::string error;
  bool too_big = false;    // an answer whose body was larger than we read
  bool cancelled = false;  // no answer because the watchdog is stopping: the check ends, unlogged
};
// Fetches the state document once. The adapter's own GETs EXECUTOR_SIDECAR_URL; tests pass theirs.
using StateFetcher = std::function<Fetched()>;
// One GET of `state_url` with a total deadline (for `sidecar-executor --check`).
Fetched fetch_state_once(const std::string& state_url, Duration timeout);

// What one check learned, told apart as the Go executor's sidecarStatus does.
struct CheckResult {
  enum class Kind : unsigned char {
    Unreachable,       // no answer on any attempt
    Unparsable,        // an answer that is not a state document (non-200, not JSON, too big…)
    HostNotListed,     // TASK_HOST is not among Sidecar's servers
    ServiceNotListed,  // our 12-character id is not under TASK_HOST
    Listed,            // our service, with `status`
  };
  Kind kind = Kind::Unreachable;
  std::optional<long long> status;  // Listed: Sidecar's Status; none when the service has no Status
  std::string detail;               // why, logged after Go's wording
};

// One answer read: the document's verdict on service `id12` under `host`. Only a 200 answer is read
// as the state document.
CheckResult read_answer(const Fetched& f, const std::string& host, const std::string& id12);

// One check: up to retry_count + 1 fetches while no answer comes (Go retries only when there is no
// answer: any HTTP answer ends the retries), each failed one logged and followed by `pause` (the
// retry delay; false: stopped). Returns nullopt when stopped.
std::optional<CheckResult> run_check(const StateFetcher& fetch, int retry_count, const std::function<bool()>& pause,
                                     const std::string& host, const std::string& id12);

// The watchdog's memory across checks: the failure count and the last health reported. after()
// logs the Go executor's lines for the check and says what to do.
class Watch {
 public:
  struct Actions {
    std::optional<bool> health;       // a health update to send
    std::optional<std::string> kill;  // the verdict, when the task must be killed
  };
  Watch(int max_fails, bool health_updates, std::string container_id, std::string host)
      : counter_(max_fails),
        max_fails_(max_fails),
        health_updates_(health_updates),
        container_id_(std::move(container_id)),
        host_(std::move(host)) {}
  Actions after(const CheckResult& r);
  int failures() const { return counter_.count(); }

 private:
  FailureCounter counter_;
  int max_fails_;
  bool health_updates_;
  std::string container_id_, host_;
  std::optional<bool> reported_;
};

// The Go executor's poll cadence (go-director's TimedLooper over time.Tick): ticks every poll
// interval from the end of the first check; a check that outlasts a tick is followed at once by the
// next (the ticker keeps one tick), and the ticks missed meanwhile are dropped.
class PollTicker {
 public:
  using Clock = std::chrono::steady_clock;
  explicit PollTicker(Duration interval) : interval_(std::max(interval, Duration(1))) {}
  // After a check that ended at `now`: when the next check starts (`now` or later).
  Clock::time_point next(Clock::time_point now);

 private:
  Duration interval_;
  std::optional<Clock::time_point> origin_;
  long long last_tick_ = 0;  // ticks taken since the origin
};

class Adapter final : public executor::port::Sidecar {
 public:
  using Sink = std::function<void(executor::Event)>;
  // `fetch`: how the state document is read (default: GET EXECUTOR_SIDECAR_URL).
  Adapter(WatchdogOptions opts, Sink sink, StateFetcher fetch = nullptr);
  ~Adapter() override;
  Adapter(const Adapter&) = delete;
  Adapter& operator=(const Adapter&) = delete;

  // Starts polling for the container (its first 12 characters are Sidecar's service id) on the host
  // Sidecar knows the task by (TASK_HOST).
  void start_watchdog(const std::string& container_id, const std::string& task_host) override;
  // Returns at once; a check in flight is cut short.
  void stop_watchdog() override;
  // POST /api/services/<id12>/drain on a thread of its own, retried until 202.
  void drain(const std::string& container_id) override;
  // The Seeds step on a thread of its own: StepDone{Seeds} with SIDECAR_SEEDS, or with nothing when the
  // seeds cannot be read (logged; the Go executor starts the container without them).
  void fetch_seeds() override;
  // Stops everything: requests in flight are cut, pauses end, and the threads are joined, so this
  // returns promptly whatever Sidecar does (each request also has the HTTP timeout as its total).
  void shutdown();

 private:
  void run_watchdog(std::string container_id, std::string host);
  StateFetcher http_fetcher(const SplitUrl& url);
  bool sleep_for(Duration d);                                 // false when the watchdog is stopped
  bool sleep_until(std::chrono::steady_clock::time_point t);  // false when the watchdog is stopped
  void do_drain(std::string id12);

  WatchdogOptions opts_;
  Sink sink_;
  StateFetcher fetch_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool watchdog_stop_ = false;
  bool shutdown_ = false;
  util::CancelFlag watchdog_cancel_;  // set by stop_watchdog() and shutdown(): cuts the poll in flight
  util::CancelFlag shutdown_cancel_;  // set by shutdown(): cuts a drain in flight
  std::thread watchdog_;
  std::vector<std::thread> drains_;  // drains and the seeds fetch
};

// EXECUTOR_SEED_SIDECAR: the agent's master (http://<agent>/state → master_hostname), then its agents
// (http://<master>:<port>/slaves → slaves[].hostname), joined with ','. Each of the two requests has
// `timeout` as its total deadline and is cut at once when `cancel` is set.
util::Result<std::string> fetch_seeds(const std::string& agent_endpoint, int master_port, Duration timeout,
                                      const util::CancelFlag* cancel = nullptr);

}  // namespace sidecar
