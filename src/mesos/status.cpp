// TaskStatus construction for UPDATE calls.
#include "mesos/status.h"

#include "util/secrets.h"
#include "util/utf8.h"

namespace mesos {


v1::executor::Call::Update build_update(const executor::act::SendUpdate& u, const StatusContext& ctx,
                                        const std::string& uuid_bytes, double timestamp) {
  v1::executor::Call::Update update;
  v1::TaskStatus* s = update.mutable_status();
  s->mutable_task_id()->set_value(u.task_id);
  s->set_state(u.state);
  s->set_source(v1::TaskStatus::SOURCE_EXECUTOR);
  s->set_uuid(uuid_bytes);
  s->set_timestamp(timestamp);
  s->mutable_executor_id()->set_value(ctx.executor_id);
  if (!ctx.agent_id.empty()) s->mutable_agent_id()->set_value(ctx.agent_id);
  // Messages carry outside text (Docker errors, the container's stderr): valid UTF-8, so that the JSON
  // encoding cannot fail, and bounded.
  // A message can quote a peer's error that echoes a secret (Docker repeating a rejected Env entry):
  // registered secrets never leave in a status update.
  if (!u.message.empty()) s->set_message(util::valid_utf8(util::scrub_secrets(u.message), kMaxMessageBytes));
  if (u.reason) s->set_reason(*u.reason);
  if (u.healthy) s->set_healthy(*u.healthy);
  if (!u.container_id.empty() || !u.ip_address.empty() || !ctx.mesos_container_id.empty()) {
    v1::ContainerStatus* cs = s->mutable_container_status();
    if (!ctx.mesos_container_id.empty()) cs->mutable_container_id()->set_value(ctx.mesos_container_id);
    if (!u.container_id.empty() || !u.ip_address.empty()) {
      v1::NetworkInfo* net = cs->add_network_infos();
      if (!u.ip_address.empty()) net->add_ip_addresses()->set_ip_address(u.ip_address);
      if (!u.container_id.empty()) {
        v1::Label* l = net->mutable_labels()->add_labels();
        l->set_key("DockerContainerId");
        l->set_value(u.container_id);
      }
    }
  }
  return update;
}

}  // namespace mesos
