// Event queue and timers.
#include "shell/event_loop.h"

#include <algorithm>

namespace shell {

void EventLoop::post(executor::Event e) {
  {
    std::lock_guard lk(mu_);
    queue_.push_back(std::move(e));
  }
  cv_.notify_one();
}

void EventLoop::start_timer(executor::TimerId id, executor::Duration after) {
  std::lock_guard lk(mu_);
  timers_[id] = Clock::now() + std::chrono::duration_cast<Clock::duration>(after);
}

void EventLoop::cancel_timer(executor::TimerId id) {
  std::lock_guard lk(mu_);
  timers_.erase(id);
}

void EventLoop::run(const std::function<bool(const executor::Event&)>& handle) {
  while (true) {
    executor::Event next;
    {
      std::unique_lock lk(mu_);
      while (true) {
        if (!queue_.empty()) {
          next = std::move(queue_.front());
          queue_.pop_front();
          break;
        }
        auto due = std::min_element(timers_.begin(), timers_.end(),
                                    [](const auto& a, const auto& b) { return a.second < b.second; });
        if (due != timers_.end() && due->second <= Clock::now()) {
          next = executor::ev::TimerFired{due->first};
          timers_.erase(due);
          break;
        }
        if (due != timers_.end()) {
          cv_.wait_until(lk, due->second);
        } else {
          cv_.wait(lk);
        }
      }
    }
    if (!handle(next)) return;
  }
}

}  // namespace shell
