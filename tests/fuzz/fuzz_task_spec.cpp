// TaskInfo → Docker create body: any protobuf bytes parsed as a TaskInfo (labels, parameters, ports,
// volumes, resources, env with absurd values), translated with every option combination. The body
// must always be valid JSON that dumps without throwing (invalid UTF-8 is replaced).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "docker/image_ref.h"
#include "docker/task_spec.h"
#include "mesos/v1/mesos.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  mesos::v1::TaskInfo task;
  if (!task.ParseFromArray(data + 1, static_cast<int>(size - 1))) return 0;
  docker::SpecOptions o;
  o.force_cpu_limit = data[0] & 1;
  o.force_memory_limit = data[0] & 2;
  o.use_cpu_shares = data[0] & 4;
  auto spec = docker::build_container_spec(task, o);
  if (spec) {
    const std::string body = spec->body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (body.empty()) std::abort();
  }
  if (task.has_container() && task.container().has_docker())
    (void)docker::parse_image_ref(task.container().docker().image());
  (void)docker::container_name(task.task_id().value());
  return 0;
}
