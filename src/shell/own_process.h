// The executor's own process as the Process port: its title in `ps` while a container runs, and the
// start-up pages released once the launch is over — at once, and again a few seconds later, when the
// work that follows the launch (the RUNNING update and its acknowledgement, the log, exit and health
// threads starting) has faulted its code back in.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "executor/ports.h"

namespace shell {

class OwnProcess final : public executor::port::Process {
 public:
  explicit OwnProcess(std::chrono::milliseconds second_release = std::chrono::seconds(3))
      : second_release_(second_release) {}
  ~OwnProcess() override;
  OwnProcess(const OwnProcess&) = delete;
  OwnProcess& operator=(const OwnProcess&) = delete;

  void container_starting(const std::string& container_id, const std::string& image) override;
  void container_running() override;

 private:
  std::chrono::milliseconds second_release_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread later_;  // the second release; the destructor wakes and joins it
};

}  // namespace shell
