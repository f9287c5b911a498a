#include "shell/own_process.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "shell/proctitle.h"
#include "shell/resident.h"

namespace shell {

void OwnProcess::container_starting(const std::string& container_id, const std::string& image) {
  ProcessTitle::set(fmt::format("sidecar-executor {} ({})", container_id.substr(0, 12), image));
}

void OwnProcess::container_running() {
  spdlog::debug("released {} KiB of start-up pages", release_startup_pages() / 1024);
}

}  // namespace shell
