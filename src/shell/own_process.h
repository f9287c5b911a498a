// The executor's own process as the Process port: its title in `ps` while a container runs, and the
// start-up pages released once the launch is over — when the RUNNING update's round trip (its 202 and
// its ACK) is over, so that the release does not run beside the update on its way out (at the latest
// when the second release is due), and again a few seconds after the container started, when the
// work that follows the launch (the log, exit and health threads starting) has faulted its code back
// in. After that second release, each status update's
// round trip (its 202 and its ACK, in either order) triggers one release more: a health update (the
// first Sidecar verdict comes EXECUTOR_SIDECAR_BACKOFF after the start, 1m by default; each change of
// verdict after it) runs the update path, which would otherwise stay mapped for the task's life. That
// release waits a moment (`settle`) for the threads of the round trip to finish what follows their
// events (the stream's reader frees the decoded ACK, the sender its request) and go back to sleep.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "executor/events.h"
#include "executor/ports.h"

namespace shell {

// A status update's round trip seen in the events the state machine has handled: the agent took it
// (UpdateAccepted) and acknowledged it (a matched Acknowledged), in either order (an agent may ACK on
// the stream before its 202 arrives). Terminal updates do not count: the executor exits after them.
class UpdateRoundTrips {
 public:
  // True when `e` completes a round trip; the next one needs both again.
  bool completes(const executor::Event& e);

 private:
  bool accepted_ = false;
  bool acked_ = false;
};

class OwnProcess final : public executor::port::Process {
 public:
  using Release = std::function<std::size_t()>;  // returns the bytes released
  // `release`: how pages are released (tests count the calls); by default release_startup_pages.
  explicit OwnProcess(std::chrono::milliseconds second_release = std::chrono::seconds(3),
                      std::chrono::milliseconds settle = std::chrono::milliseconds(250), Release release = nullptr);
  ~OwnProcess() override;
  OwnProcess(const OwnProcess&) = delete;
  OwnProcess& operator=(const OwnProcess&) = delete;

  void container_starting(const std::string& container_id, const std::string& image) override;
  void container_running() override;
  // After the state machine has handled `e` (the event loop's thread): an update's round trip
  // completed after the container started wakes the release thread. Returns at once.
  void event_handled(const executor::Event& e);

 private:
  void run_releases();

  std::chrono::milliseconds second_release_;
  std::chrono::milliseconds settle_;
  Release release_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool armed_ = false;  // the container runs: round trips count from here
  std::chrono::steady_clock::time_point running_at_;
  bool pending_ = false;  // a round trip completed: release once more
  UpdateRoundTrips trips_;
  std::thread later_;  // the first and second releases, then one per round trip; the destructor wakes and joins it
};

}  // namespace shell
