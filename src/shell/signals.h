// Turns SIGTERM, SIGINT, SIGHUP and SIGQUIT into events. block() must run in main before any thread
// starts, so that only the watcher thread receives them.
#pragma once

#include <atomic>
#include <functional>
#include <thread>

namespace shell {

class SignalWatcher {
 public:
  static void block();

  explicit SignalWatcher(std::function<void(int)> on_signal);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace shell
