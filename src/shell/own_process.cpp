#include "shell/own_process.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "shell/proctitle.h"
#include "shell/resident.h"

namespace shell {

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
  spdlog::debug("released {} KiB of start-up pages", release_startup_pages() / 1024);
  if (later_.joinable()) return;  // one container per executor: once
  later_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    if (cv_.wait_for(lock, second_release_, [this] { return stopping_; })) return;
    lock.unlock();
    spdlog::debug("released {} KiB of pages again", release_startup_pages() / 1024);
  });
}

}  // namespace shell
