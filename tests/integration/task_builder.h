// TaskInfos for integration tests, built the way Singularity builds them: a Docker container,
// docker parameters (label, env, cap-drop…), port mappings, volumes, cpus and mem resources.
#pragma once

#include <chrono>

#include <string>
#include <vector>

#include "mesos/v1/mesos.pb.h"

namespace testing_support {

class TaskBuilder {
 public:
  TaskBuilder(const std::string& id, const std::string& image) {
    t_.set_name(id);
    t_.mutable_task_id()->set_value(id);
    t_.mutable_agent_id()->set_value("agent-0001");
    t_.mutable_container()->set_type(::mesos::v1::ContainerInfo::DOCKER);
    t_.mutable_container()->mutable_docker()->set_image(image);
    t_.mutable_container()->mutable_docker()->set_network(::mesos::v1::ContainerInfo::DockerInfo::BRIDGE);
  }
  // The command, through the executor.ShellCommand label (split like a POSIX shell).
  TaskBuilder& shell(const std::string& words) { return param("label", "executor.ShellCommand=" + words); }
  TaskBuilder& param(const std::string& key, const std::string& value) {
    auto* p = t_.mutable_container()->mutable_docker()->add_parameters();
    p->set_key(key);
    p->set_value(value);
    return *this;
  }
  TaskBuilder& env(const std::string& name, const std::string& value) {
    auto* v = t_.mutable_executor()->mutable_command()->mutable_environment()->add_variables();
    v->set_name(name);
    v->set_value(value);
    return *this;
  }
  TaskBuilder& port(unsigned host, unsigned container, const std::string& protocol = "tcp") {
    auto* pm = t_.mutable_container()->mutable_docker()->add_port_mappings();
    pm->set_host_port(host);
    pm->set_container_port(container);
    pm->set_protocol(protocol);
    return *this;
  }
  TaskBuilder& volume(const std::string& host, const std::string& container, bool read_only) {
    auto* v = t_.mutable_container()->add_volumes();
    v->set_host_path(host);
    v->set_container_path(container);
    v->set_mode(read_only ? ::mesos::v1::Volume::RO : ::mesos::v1::Volume::RW);
    return *this;
  }
  TaskBuilder& scalar(const std::string& name, double value) {
    auto* r = t_.add_resources();
    r->set_name(name);
    r->set_type(::mesos::v1::Value::SCALAR);
    r->mutable_scalar()->set_value(value);
    return *this;
  }
  TaskBuilder& force_pull() {
    t_.mutable_container()->mutable_docker()->set_force_pull_image(true);
    return *this;
  }
  TaskBuilder& kill_policy(std::chrono::nanoseconds grace) {
    t_.mutable_kill_policy()->mutable_grace_period()->set_nanoseconds(grace.count());
    return *this;
  }
  TaskBuilder& host_network() {
    t_.mutable_container()->mutable_docker()->set_network(::mesos::v1::ContainerInfo::DockerInfo::HOST);
    return *this;
  }
  TaskBuilder& max_completion_time(std::chrono::nanoseconds d) {
    t_.mutable_max_completion_time()->set_nanoseconds(d.count());
    return *this;
  }
  // DockerInfo.network USER on these networks (the first is the container's network mode).
  TaskBuilder& user_networks(const std::vector<std::string>& names) {
    t_.mutable_container()->mutable_docker()->set_network(::mesos::v1::ContainerInfo::DockerInfo::USER);
    for (const auto& n : names) t_.mutable_container()->add_network_infos()->set_name(n);
    return *this;
  }
  TaskBuilder& health_check(const ::mesos::v1::HealthCheck& check) {
    *t_.mutable_health_check() = check;
    return *this;
  }
  TaskBuilder& data(std::string bytes) {
    t_.set_data(std::move(bytes));
    return *this;
  }
  const ::mesos::v1::TaskInfo& build() const { return t_; }
  operator const ::mesos::v1::TaskInfo&() const { return t_; }  // NOLINT: convenience

 private:
  ::mesos::v1::TaskInfo t_;
};

}  // namespace testing_support
