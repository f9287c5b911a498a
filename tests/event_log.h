// The events a component (the Docker runtime, ...) hands the event loop, collected from its threads as
// the loop would get them, for a test to wait for one by one.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <utility>

#include "executor/events.h"

namespace testing_support {

class EventLog {
 public:
  void push(executor::Event e) {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(std::move(e));
    cv_.notify_all();
  }
  // What a component takes as its event sink: push().
  std::function<void(executor::Event)> sink() {
    return [this](executor::Event e) { push(std::move(e)); };
  }
  // The next event, within `timeout`.
  std::optional<executor::Event> next(std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return !events_.empty(); })) return std::nullopt;
    auto e = std::move(events_.front());
    events_.pop_front();
    return e;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<executor::Event> events_;
};

}  // namespace testing_support
