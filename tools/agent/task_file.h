// The local agent's task file: a small YAML description of one Docker task, turned into the
// TaskInfo a Singularity-run Mesos agent would send. Unknown keys and bad values are errors naming
// the file, line and key.
#pragma once

#include <string>

#include "mesos/v1/mesos.pb.h"
#include "util/result.h"

namespace local_agent {

// `text` is the YAML; `source` names it in errors. `default_id` is used when the file has no id.
util::Result<::mesos::v1::TaskInfo> parse_task_file(const std::string& text, const std::string& source,
                                                    const std::string& default_id);

// What the task file accepts, for --help.
const char* task_file_help();

}  // namespace local_agent
