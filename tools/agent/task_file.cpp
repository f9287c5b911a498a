// YAML task file → TaskInfo.
#include "task_file.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <set>

namespace local_agent {

namespace v1 = ::mesos::v1;

namespace {

struct Bad {
  std::string message;
};

std::string where(const std::string& source, const YAML::Node& n) {
  const auto m = n.Mark();
  if (m.line < 0) return source;
  return fmt::format("{}:{}", source, m.line + 1);
}

std::string scalar(const std::string& source, const YAML::Node& n, const std::string& key) {
  if (!n.IsScalar()) throw Bad{fmt::format("{}: {} must be a single value", where(source, n), key)};
  return n.Scalar();
}

double number(const std::string& source, const YAML::Node& n, const std::string& key, double min, double max) {
  const std::string s = scalar(source, n, key);
  try {
    std::size_t used = 0;
    const double v = std::stod(s, &used);
    if (used != s.size() || !(v >= min && v <= max)) throw std::invalid_argument("range");
    return v;
  } catch (const std::exception&) {
    throw Bad{fmt::format("{}: {} must be a number from {} to {}, not \"{}\"", where(source, n), key, min, max, s)};
  }
}

bool boolean(const std::string& source, const YAML::Node& n, const std::string& key) {
  const std::string s = scalar(source, n, key);
  if (s == "true" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "no" || s == "off") return false;
  throw Bad{fmt::format("{}: {} must be true or false, not \"{}\"", where(source, n), key, s)};
}

void check_keys(const std::string& source, const YAML::Node& map, const std::set<std::string>& allowed,
                const std::string& what) {
  if (!map.IsMap()) throw Bad{fmt::format("{}: {} must be a mapping", where(source, map), what)};
  for (const auto& kv : map) {
    const std::string k = kv.first.Scalar();
    if (!allowed.count(k)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      throw Bad{fmt::format("{}: unknown key \"{}\" in {} (known: {})", where(source, kv.first), k, what, list)};
    }
  }
}

}  // namespace

const char* task_file_help() {
  return R"(Task file (YAML):
  id: demo-1                      # task id (default: <name>-<random>)
  name: demo                      # task name (default: demo)
  image: busybox:1                # Docker image (required)
  command: "sh -c 'echo hi'"      # the executor.ShellCommand label; absent: the image's CMD
  force_pull: false
  network: bridge                 # bridge, host, none
  cpus: 0.1                       # resources (limits apply when EXECUTOR_FORCE_* say so)
  mem: 64                         # MB
  env: {NAME: value}              # the task's environment (TASK_HOST is set to this host)
  labels: {ServiceName: demo}     # Docker labels
  ports: [{host: 31000, container: 8080, protocol: tcp}]
  volumes: [{host: /srv/data, container: /data, mode: ro}]
  parameters: [{key: cap-drop, value: NET_RAW}]   # docker parameters, as Singularity passes them
)";
}

util::Result<v1::TaskInfo> parse_task_file(const std::string& text, const std::string& source,
                                           const std::string& default_id) {
  YAML::Node doc;
  try {
    doc = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return util::make_error(fmt::format("{}:{}: not YAML: {}", source, e.mark.line + 1, e.msg));
  }
  try {
    check_keys(source, doc,
               {"id", "name", "image", "command", "force_pull", "network", "cpus", "mem", "env", "labels", "ports",
                "volumes", "parameters"},
               "the task");
    v1::TaskInfo t;
    const std::string name = doc["name"] ? scalar(source, doc["name"], "name") : "demo";
    const std::string id = doc["id"] ? scalar(source, doc["id"], "id") : name + "-" + default_id;
    if (id.empty()) throw Bad{fmt::format("{}: id is empty", where(source, doc["id"]))};
    t.set_name(name);
    t.mutable_task_id()->set_value(id);
    t.mutable_agent_id()->set_value("local-agent");
    auto* c = t.mutable_container();
    c->set_type(v1::ContainerInfo::DOCKER);
    auto* d = c->mutable_docker();
    if (!doc["image"]) throw Bad{fmt::format("{}: image is required", source)};
    d->set_image(scalar(source, doc["image"], "image"));
    if (doc["force_pull"]) d->set_force_pull_image(boolean(source, doc["force_pull"], "force_pull"));
    d->set_network(v1::ContainerInfo::DockerInfo::BRIDGE);
    if (doc["network"]) {
      const std::string n = scalar(source, doc["network"], "network");
      if (n == "bridge")
        d->set_network(v1::ContainerInfo::DockerInfo::BRIDGE);
      else if (n == "host")
        d->set_network(v1::ContainerInfo::DockerInfo::HOST);
      else if (n == "none")
        d->set_network(v1::ContainerInfo::DockerInfo::NONE);
      else
        throw Bad{
            fmt::format("{}: network must be bridge, host or none, not \"{}\"", where(source, doc["network"]), n)};
    }
    auto add_param = [&](const std::string& k, const std::string& v) {
      auto* p = d->add_parameters();
      p->set_key(k);
      p->set_value(v);
    };
    if (doc["command"]) add_param("label", "executor.ShellCommand=" + scalar(source, doc["command"], "command"));
    if (doc["labels"]) {
      if (!doc["labels"].IsMap()) throw Bad{fmt::format("{}: labels must be a mapping", where(source, doc["labels"]))};
      for (const auto& kv : doc["labels"])
        add_param("label", kv.first.Scalar() + "=" + scalar(source, kv.second, kv.first.Scalar()));
    }
    if (doc["parameters"]) {
      if (!doc["parameters"].IsSequence()) {
        throw Bad{fmt::format("{}: parameters must be a list", where(source, doc["parameters"]))};
      }
      for (const auto& p : doc["parameters"]) {
        check_keys(source, p, {"key", "value"}, "a parameter");
        if (!p["key"]) throw Bad{fmt::format("{}: a parameter needs a key", where(source, p))};
        add_param(scalar(source, p["key"], "key"), p["value"] ? scalar(source, p["value"], "value") : "");
      }
    }
    auto* env = t.mutable_executor()->mutable_command()->mutable_environment();
    if (doc["env"]) {
      if (!doc["env"].IsMap()) throw Bad{fmt::format("{}: env must be a mapping", where(source, doc["env"]))};
      for (const auto& kv : doc["env"]) {
        auto* v = env->add_variables();
        v->set_name(kv.first.Scalar());
        v->set_value(scalar(source, kv.second, kv.first.Scalar()));
      }
    }
    if (doc["ports"]) {
      if (!doc["ports"].IsSequence()) throw Bad{fmt::format("{}: ports must be a list", where(source, doc["ports"]))};
      for (const auto& p : doc["ports"]) {
        check_keys(source, p, {"host", "container", "protocol"}, "a port");
        auto* pm = d->add_port_mappings();
        pm->set_host_port(p["host"] ? static_cast<unsigned>(number(source, p["host"], "host", 0, 65535)) : 0);
        pm->set_container_port(
            p["container"] ? static_cast<unsigned>(number(source, p["container"], "container", 1, 65535)) : 0);
        if (!p["container"]) throw Bad{fmt::format("{}: a port needs its container port", where(source, p))};
        if (p["protocol"]) pm->set_protocol(scalar(source, p["protocol"], "protocol"));
      }
    }
    if (doc["volumes"]) {
      if (!doc["volumes"].IsSequence())
        throw Bad{fmt::format("{}: volumes must be a list", where(source, doc["volumes"]))};
      for (const auto& v : doc["volumes"]) {
        check_keys(source, v, {"host", "container", "mode"}, "a volume");
        if (!v["host"] || !v["container"])
          throw Bad{fmt::format("{}: a volume needs host and container", where(source, v))};
        auto* vol = c->add_volumes();
        vol->set_host_path(scalar(source, v["host"], "host"));
        vol->set_container_path(scalar(source, v["container"], "container"));
        vol->set_mode(v1::Volume::RW);
        if (v["mode"]) {
          const std::string m = scalar(source, v["mode"], "mode");
          if (m == "ro")
            vol->set_mode(v1::Volume::RO);
          else if (m != "rw")
            throw Bad{fmt::format("{}: mode must be ro or rw, not \"{}\"", where(source, v["mode"]), m)};
        }
      }
    }
    for (const char* r : {"cpus", "mem"}) {
      if (!doc[r]) continue;
      auto* res = t.add_resources();
      res->set_name(r);
      res->set_type(v1::Value::SCALAR);
      res->mutable_scalar()->set_value(number(source, doc[r], r, 0, 1e9));
    }
    return t;
  } catch (const Bad& b) {
    return util::make_error(b.message);
  } catch (const YAML::Exception& e) {
    return util::make_error(fmt::format("{}:{}: {}", source, e.mark.line + 1, e.msg));
  }
}

}  // namespace local_agent
