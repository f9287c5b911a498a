#include "shell/own_process.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <variant>

#include "shell/proctitle.h"
#include "shell/resident.h"

namespace shell {

bool UpdateRoundTrips::completes(const executor::Event& e) {
  if (const auto* a = std::get_if<executor::ev::UpdateAccepted>(&e)) {
    if (a->terminal) return false;
    accepted_ = true;
  } else if (const auto* k = std::get_if<executor::ev::Acknowledged>(&e)) {
    if (!k->matched || k->terminal) return false;
    acked_ = true;
  } else {
    return false;
  }
  if (!accepted_ || !acked_) return false;
  accepted_ = acked_ = false;
  return true;
}

OwnProcess::OwnProcess(std::chrono::milliseconds second_release, std::chrono::milliseconds settle, Release release)
    : second_release_(second_release),
      settle_(settle),
      release_(release ? std::move(release) : Release(&release_startup_pages)) {}

void OwnProcess::container_starting(const std::string& container_id, const std::string& image) {
  ProcessTitle::set(fmt::format("sidecar-executor {} ({})", container_id.substr(0, 12), image));
}

OwnProcess::~OwnProcess() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (later_.joinable()) later_.join();
}

void OwnProcess::container_running() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (later_.joinable()) return;  // one container per executor: once
    running_at_ = std::chrono::steady_clock::now();
    armed_ = true;  // RUNNING's round trip is the first release's moment
  }
  later_ = std::thread([this] { run_releases(); });
}

void OwnProcess::event_handled(const executor::Event& e) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!armed_ || !trips_.completes(e)) return;
    pending_ = true;
  }
  cv_.notify_all();
}

void OwnProcess::run_releases() {
  std::unique_lock<std::mutex> lock(mu_);
  // The first release: once the RUNNING update's round trip is over and its threads have settled (not
  // beside the update on its way out), at the latest when the second is due.
  const auto second_at = running_at_ + second_release_;
  cv_.wait_until(lock, second_at, [this] { return stopping_ || pending_; });
  if (stopping_) return;
  if (pending_ && cv_.wait_for(lock, settle_, [this] { return stopping_; })) return;
  pending_ = false;
  lock.unlock();
  spdlog::debug("released {} KiB of start-up pages", release_() / 1024);
  lock.lock();
  if (cv_.wait_until(lock, second_at, [this] { return stopping_; })) return;
  pending_ = false;  // round trips completed meanwhile are covered by this release
  lock.unlock();
  spdlog::debug("released {} KiB of pages again", release_() / 1024);
  lock.lock();
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || pending_; });
    if (stopping_) return;
    if (cv_.wait_for(lock, settle_, [this] { return stopping_; })) return;
    pending_ = false;  // round trips completed meanwhile are covered by this release
    lock.unlock();
    spdlog::debug("released {} KiB of pages after a status update's round trip", release_() / 1024);
    lock.lock();
  }
}

}  // namespace shell
