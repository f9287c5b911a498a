// The executor's own process as the Process port: its title in `ps` while a container runs, and the
// start-up pages released once the launch is over.
#pragma once

#include <string>

#include "executor/ports.h"

namespace shell {

class OwnProcess final : public executor::port::Process {
 public:
  void container_starting(const std::string& container_id, const std::string& image) override;
  void container_running() override;
};

}  // namespace shell
