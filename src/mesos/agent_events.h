// Turns a decoded agent Event into a state machine event, checking the fields Mesos marks required.
// ACKNOWLEDGED is returned with matched/terminal unset: the agent client fills them from its ledger.
#pragma once

#include <optional>
#include <string>

#include "executor/events.h"
#include "mesos/v1/executor/executor.pb.h"

namespace mesos {

// nullopt (with `problem` set) when a required field is missing: the event is dropped with a log line.
std::optional<executor::Event> translate_event(const ::mesos::v1::executor::Event& e, std::string& problem);

}  // namespace mesos
