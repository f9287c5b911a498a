// Action dispatch: one action, one port call.
#include "shell/dispatcher.h"

#include <spdlog/spdlog.h>

#include <type_traits>

namespace shell {

namespace act = executor::act;

std::optional<act::Exit> Dispatcher::run(const executor::Action& action) {
  std::optional<act::Exit> ending;
  std::visit(
      [&](const auto& a) {
        using T = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<T, act::Log>) {
          switch (a.level) {
            case executor::LogLevel::Debug: spdlog::debug("{}", a.text); break;
            case executor::LogLevel::Info: spdlog::info("{}", a.text); break;
            case executor::LogLevel::Warn: spdlog::warn("{}", a.text); break;
            case executor::LogLevel::Error: spdlog::error("{}", a.text); break;
          }
        } else if constexpr (std::is_same_v<T, act::SendUpdate>) {
          ports_.agent.send_update(a);
        } else if constexpr (std::is_same_v<T, act::StartTimer>) {
          ports_.timers.start_timer(a.id, a.after);
        } else if constexpr (std::is_same_v<T, act::CancelTimer>) {
          ports_.timers.cancel_timer(a.id);
        } else if constexpr (std::is_same_v<T, act::Exit>) {
          ending = a;
        } else if constexpr (std::is_same_v<T, act::PullImage>) {
          ports_.containers.pull(a);
        } else if constexpr (std::is_same_v<T, act::ResolveSecrets>) {
          ports_.secrets.resolve(a);
        } else if constexpr (std::is_same_v<T, act::FetchSeeds>) {
          ports_.sidecar.fetch_seeds();
        } else if constexpr (std::is_same_v<T, act::CreateContainer>) {
          ports_.containers.create(a);
        } else if constexpr (std::is_same_v<T, act::StartContainer>) {
          ports_.process.container_starting(a.container_id, a.image);
          ports_.containers.start(a.container_id);
        } else if constexpr (std::is_same_v<T, act::WatchContainer>) {
          ports_.containers.watch(a.container_id);
          ports_.process.container_running();
        } else if constexpr (std::is_same_v<T, act::StopContainer>) {
          ports_.containers.stop(a.container_id, a.grace);
        } else if constexpr (std::is_same_v<T, act::RemoveContainer>) {
          ports_.containers.remove(a.container_id);
        } else if constexpr (std::is_same_v<T, act::CopyFailureLogs>) {
          ports_.containers.copy_failure_logs(a.container_id);
        } else if constexpr (std::is_same_v<T, act::Drain>) {
          ports_.sidecar.drain(a.container_id);
        } else if constexpr (std::is_same_v<T, act::StartWatchdog>) {
          ports_.sidecar.start_watchdog(a.container_id, a.host);
        } else if constexpr (std::is_same_v<T, act::StopWatchdog>) {
          ports_.sidecar.stop_watchdog();
        } else if constexpr (std::is_same_v<T, act::StartHealthChecks>) {
          ports_.health.start(a);
        } else if constexpr (std::is_same_v<T, act::StopHealthChecks>) {
          ports_.health.stop();
        } else {
          static_assert(std::is_same_v<T, void>, "an action without a port");
        }
      },
      action);
  return ending;
}

act::Exit run_machine(EventLoop& loop, executor::Machine& machine, Dispatcher& dispatcher,
                      const std::function<void(const executor::Event&)>& handled) {
  act::Exit ending;
  loop.run([&](const executor::Event& e) {
    for (const auto& action : machine.handle(e)) {
      if (auto done = dispatcher.run(action)) {
        ending = *done;
        return false;
      }
    }
    if (handled) handled(e);
    return true;
  });
  return ending;
}

}  // namespace shell
