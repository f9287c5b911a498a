// Runs the state machine's actions against the ports (src/executor/ports.h), one by one, on the
// event loop's thread. Knows no adapter: each action goes to one port with the data it carries.
#pragma once

#include <functional>
#include <optional>

#include "executor/actions.h"
#include "executor/machine.h"
#include "executor/ports.h"
#include "shell/event_loop.h"

namespace shell {

class Dispatcher {
 public:
  explicit Dispatcher(executor::port::Ports ports) : ports_(ports) {}

  // nullopt: keep going; a value: the executor exits.
  std::optional<executor::act::Exit> run(const executor::Action& action);

 private:
  executor::port::Ports ports_;
};

// The executor's run, on the calling thread: each event of `loop` to the state machine, each action
// the machine returns to `dispatcher`, until an action ends the run; returns that Exit. `handled`, when
// given, sees each event once its actions have run (not the one that ends the run).
executor::act::Exit run_machine(EventLoop& loop, executor::Machine& machine, Dispatcher& dispatcher,
                                const std::function<void(const executor::Event&)>& handled = nullptr);

}  // namespace shell
