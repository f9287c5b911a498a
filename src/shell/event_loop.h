// The single thread that owns the state machine: a queue of events posted by adapters, plus the
// machine's named timers, delivered one at a time.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>

#include "executor/events.h"
#include "executor/ports.h"

namespace shell {

class EventLoop final : public executor::port::Timers {
 public:
  using Clock = std::chrono::steady_clock;

  // Thread-safe.
  void post(executor::Event e);

  // Loop thread only (called from action dispatch).
  void start_timer(executor::TimerId id, executor::Duration after) override;
  void cancel_timer(executor::TimerId id) override;

  // Delivers events and due timers to `handle` until it returns false.
  void run(const std::function<bool(const executor::Event&)>& handle);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<executor::Event> queue_;
  std::map<executor::TimerId, Clock::time_point> timers_;
};

}  // namespace shell
