// Signal watcher: sigwaitinfo on a dedicated thread, with no timeout (an idle executor sleeps); the
// destructor wakes it with SIGUSR2, which is blocked and waited for only for that purpose.
#include "shell/signals.h"

#include <pthread.h>

#include <csignal>
#include <ctime>

namespace shell {
namespace {
sigset_t watched() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGQUIT);
  sigaddset(&set, SIGUSR1);  // the Go executor's "stop the task, report its exit" signal
  sigaddset(&set, SIGUSR2);  // the watcher's own wake-up
  return set;
}
}  // namespace

void SignalWatcher::block() {
  sigset_t set = watched();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a closed socket is an error value, not a death
}

SignalWatcher::SignalWatcher(std::function<void(int)> on_signal) {
  thread_ = std::thread([this, on_signal = std::move(on_signal)] {
    const sigset_t set = watched();
    while (!stop_.load()) {
      const int sig = sigwaitinfo(&set, nullptr);
      if (sig > 0 && sig != SIGUSR2) on_signal(sig);
    }
  });
}

SignalWatcher::~SignalWatcher() {
  stop_ = true;
  if (thread_.joinable()) {
    pthread_kill(thread_.native_handle(), SIGUSR2);
    thread_.join();
  }
}

}  // namespace shell
