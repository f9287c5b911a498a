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
  // As the Mesos Docker executor (src/docker/executor.cpp): a network_infos entry only when the
  // container has an address. Without one (host networking) the agent adds its own IP, which is the
  // task's address then. container_status.container_id is left to the agent: it names Mesos
  // containers, not Docker's.
  // One entry per network the container joined (user-defined networks by name; Docker's default
  // bridge unnamed, as the Mesos Docker executor reports it), each with its IPv4 and IPv6 addresses.
  bool any = false;
  for (const auto& n : u.networks) {
    if (n.ip_addresses.empty()) continue;
    v1::NetworkInfo* net = s->mutable_container_status()->add_network_infos();
    if (!n.name.empty() && n.name != "bridge") net->set_name(n.name);
    for (const auto& ip : n.ip_addresses) {
      v1::NetworkInfo::IPAddress* a = net->add_ip_addresses();
      a->set_ip_address(ip);
      if (ip.find(':') != std::string::npos) a->set_protocol(v1::NetworkInfo::IPv6);
    }
    any = true;
  }
  if (!any && !u.ip_address.empty()) {
    v1::NetworkInfo* net = s->mutable_container_status()->add_network_infos();
    net->add_ip_addresses()->set_ip_address(u.ip_address);
  }
  // The Docker container, for operators and tools: a label of the status (our convention; the Mesos
  // Docker executor puts it only inside its `docker inspect` data).
  if (!u.container_id.empty()) {
    v1::Label* l = s->mutable_labels()->add_labels();
    l->set_key("DockerContainerId");
    l->set_value(u.container_id);
  }
  return update;
}

}  // namespace mesos
