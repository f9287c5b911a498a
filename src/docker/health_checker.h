// The task's own health checks (TaskInfo.health_check), as the Mesos Docker executor makes them:
// HTTP(S) and TCP from a thread that has entered the container's network namespace (so 127.0.0.1 is
// the container's own loopback; with the host's network it is the host's), COMMAND through docker exec
// in the container. One thread: the first check after delay_seconds, the next interval_seconds after
// each one ends; each result goes to the sink as ev::HealthResult. The counting is the state machine's.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "docker/client.h"
#include "executor/ports.h"
#include "util/cancel.h"

namespace docker {

// One HTTP(S) or TCP check against 127.0.0.1 in the calling thread's network namespace; empty when
// healthy, else why not. HTTP counts 200–399 as healthy (Mesos's rule), redirects not followed.
// Each bounded by `timeout` as a whole and ended at once by `cancel`. HTTP(S) reads the status line
// only (at most 1 KiB), never headers or body; TLS certificates are not verified (a check of the app).
std::string http_check(const ::mesos::v1::HealthCheck::HTTPCheckInfo& http, std::chrono::milliseconds timeout,
                       const util::CancelFlag* cancel = nullptr);
std::string tcp_check(unsigned port, bool v6, std::chrono::milliseconds timeout,
                      const util::CancelFlag* cancel = nullptr);

class HealthChecker final : public executor::port::HealthChecks {
 public:
  using Sink = std::function<void(executor::Event)>;
  HealthChecker(Endpoint endpoint, Sink sink);
  ~HealthChecker() override;
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  void start(const executor::act::StartHealthChecks& request) override;
  void stop() override;  // idempotent, never waits (the event loop calls it)
  void join();           // stop(), then waits for the checker thread (at exit)

 private:
  void run(executor::act::StartHealthChecks request);
  bool sleep_for(std::chrono::milliseconds d);  // false when stopped meanwhile
  std::string check_once(const executor::act::StartHealthChecks& request, std::chrono::milliseconds timeout);
  std::string enter_namespace(const std::string& container_id);

  Endpoint endpoint_;
  Sink sink_;
  util::CancelFlag cancel_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
};

}  // namespace docker
