// Action dispatch.
#include "runtime/dispatcher.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdlib>

#include "runtime/proctitle.h"
#include "runtime/resident.h"

namespace runtime {

namespace act = executor::act;

const ::mesos::v1::TaskInfo& Dispatcher::task() const {
  static const ::mesos::v1::TaskInfo empty;
  const auto& t = machine_.state().task;
  return t ? *t : empty;
}

void Dispatcher::no_runtime(executor::LaunchStep step) {
  loop_.post(executor::ev::StepFailed{step, "no container runtime is available"});
}

std::string task_host(const ::mesos::v1::TaskInfo& task) {
  for (const auto& v : task.executor().command().environment().variables()) {
    if (v.name() == "TASK_HOST" && !v.value().empty()) return v.value();
  }
  if (const char* h = std::getenv("TASK_HOST"); h && *h) return h;
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

std::optional<executor::act::Exit> Dispatcher::run(const executor::Action& action) {
  std::optional<executor::act::Exit> ending;
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
          agent_.send_update(a);
        } else if constexpr (std::is_same_v<T, act::StartTimer>) {
          loop_.start_timer(a.id, a.after);
        } else if constexpr (std::is_same_v<T, act::CancelTimer>) {
          loop_.cancel_timer(a.id);
        } else if constexpr (std::is_same_v<T, act::Exit>) {
          ending = a;
        } else if constexpr (std::is_same_v<T, act::PullImage>) {
          if (containers_)
            containers_->pull(task(), a.image, a.force);
          else
            no_runtime(executor::LaunchStep::Pull);
        } else if constexpr (std::is_same_v<T, act::ResolveSecrets>) {
          if (containers_)
            containers_->resolve_secrets(task());
          else
            no_runtime(executor::LaunchStep::Secrets);
        } else if constexpr (std::is_same_v<T, act::CreateContainer>) {
          if (containers_)
            containers_->create(task());
          else
            no_runtime(executor::LaunchStep::Create);
        } else if constexpr (std::is_same_v<T, act::StartContainer>) {
          ProcessTitle::set(fmt::format("sidecar-executor {} ({})", a.container_id.substr(0, 12),
                                        task().container().docker().image()));
          if (containers_)
            containers_->start(a.container_id);
          else
            no_runtime(executor::LaunchStep::Start);
        } else if constexpr (std::is_same_v<T, act::WatchContainer>) {
          if (containers_) containers_->watch(a.container_id);
          // The task runs: the code of start-up and launch need not stay mapped.
          spdlog::debug("released {} KiB of start-up pages", release_startup_pages() / 1024);
        } else if constexpr (std::is_same_v<T, act::StopContainer>) {
          if (containers_) containers_->stop(a.container_id, a.grace);
        } else if constexpr (std::is_same_v<T, act::RemoveContainer>) {
          if (containers_) containers_->remove(a.container_id);
        } else if constexpr (std::is_same_v<T, act::CopyFailureLogs>) {
          if (containers_) containers_->copy_failure_logs(a.container_id);
        } else if constexpr (std::is_same_v<T, act::Drain>) {
          if (sidecar_) sidecar_->drain(a.container_id);
        } else if constexpr (std::is_same_v<T, act::StartWatchdog>) {
          if (sidecar_) sidecar_->start_watchdog(a.container_id, task_host(task()));
        } else if constexpr (std::is_same_v<T, act::StopWatchdog>) {
          if (sidecar_) sidecar_->stop_watchdog();
        }
      },
      action);
  return ending;
}

}  // namespace runtime
