// TaskInfo → Docker create body: every Go rule, the extra docker parameters, bad values.
#include <catch2/catch.hpp>

#include <cmath>

#include "docker/task_spec.h"

using docker::build_container_spec;
using docker::SpecOptions;
using nlohmann::json;
namespace v1 = ::mesos::v1;

namespace {

void param(v1::TaskInfo& t, const std::string& k, const std::string& v) {
  auto* p = t.mutable_container()->mutable_docker()->add_parameters();
  p->set_key(k);
  p->set_value(v);
}

v1::TaskInfo base_task(const std::string& image = "127.0.0.1:5000/web:1.2") {
  v1::TaskInfo t;
  t.set_name("web");
  t.mutable_task_id()->set_value("task-1");
  t.mutable_container()->set_type(v1::ContainerInfo::DOCKER);
  t.mutable_container()->mutable_docker()->set_image(image);
  return t;
}

void env_var(v1::TaskInfo& t, const std::string& k, const std::string& v) {
  auto* e = t.mutable_executor()->mutable_command()->mutable_environment()->add_variables();
  e->set_name(k);
  e->set_value(v);
}

void resource(v1::TaskInfo& t, const std::string& name, double v) {
  auto* r = t.add_resources();
  r->set_name(name);
  r->set_type(v1::Value::SCALAR);
  r->mutable_scalar()->set_value(v);
}

}  // namespace

TEST_CASE("Name, image and the Go executor's environment order") {
  v1::TaskInfo t = base_task();
  env_var(t, "TASK_HOST", "host-a");
  env_var(t, "TASK_ID", "task-1");
  param(t, "env", "FROM_PARAM=1");
  param(t, "label", "ServiceName=web");
  param(t, "label", "Environment=prod");
  auto* pm = t.mutable_container()->mutable_docker()->add_port_mappings();
  pm->set_host_port(31000);
  pm->set_container_port(8080);
  SpecOptions o;
  o.extra_env = {"SIDECAR_SEEDS=a,b"};
  auto s = build_container_spec(t, o);
  REQUIRE(s.ok());
  CHECK(s->name == "mesos-491f4d69-d3cd-5c35-8b89-71bfec60409e");
  CHECK(s->body["Image"] == "127.0.0.1:5000/web:1.2");
  const std::vector<std::string> want = {
      "TASK_HOST=host-a",       "TASK_ID=task-1",           "FROM_PARAM=1",        "SIDECAR_SEEDS=a,b",
      "MESOS_PORT_8080=31000",  "MESOS_HOSTNAME=host-a",    "SERVICE_NAME=web",    "ENVIRONMENT=prod",
      "SERVICE_VERSION=1.2",
  };
  CHECK(s->body["Env"].get<std::vector<std::string>>() == want);
  CHECK(s->body["Labels"] == json({{"ServiceName", "web"}, {"Environment", "prod"}}));
  CHECK(s->warnings.empty());
}

TEST_CASE("SERVICE_VERSION is the tag after the last ':' following the last '/', and absent without a tag") {
  auto untagged = build_container_spec(base_task("127.0.0.1:5000/web"), {});
  for (const auto& e : untagged->body["Env"]) CHECK(e.get<std::string>().rfind("SERVICE_VERSION=", 0) != 0);
  auto hub = build_container_spec(base_task("busybox:1.35"), {});
  CHECK(hub->body["Env"].back() == "SERVICE_VERSION=1.35");
}

TEST_CASE("executor.ShellCommand becomes Cmd, split like a shell, and leaves the labels") {
  v1::TaskInfo t = base_task();
  param(t, "label", R"(executor.ShellCommand=sh -c 'echo "hello world"; exit 3')");
  param(t, "label", "team=core");
  param(t, "label", "novalue");
  auto s = build_container_spec(t, {});
  REQUIRE(s.ok());
  CHECK(s->body["Cmd"] == json::array({"sh", "-c", "echo \"hello world\"; exit 3"}));
  CHECK(s->body["Labels"] == json({{"team", "core"}}));
  CHECK(s->warnings.size() == 1);  // the label without '='
  auto none = build_container_spec(base_task(), {});
  CHECK_FALSE(none->body.contains("Cmd"));  // the image's own CMD
}

TEST_CASE("Shell words: quotes, escapes and errors") {
  CHECK(*docker::split_shell_words(R"(a  b\ c "d \"e\"" 'f\g' "")") ==
        std::vector<std::string>{"a", "b c", "d \"e\"", "f\\g", ""});
  CHECK_FALSE(docker::split_shell_words("echo 'unterminated").ok());
  CHECK_FALSE(docker::split_shell_words("trailing\\").ok());
}

TEST_CASE("Ports: protocol lists, exposed and published only when the port is set") {
  v1::TaskInfo t = base_task();
  t.mutable_container()->mutable_docker()->set_network(v1::ContainerInfo::DockerInfo::BRIDGE);
  auto* a = t.mutable_container()->mutable_docker()->add_port_mappings();
  a->set_host_port(31000);
  a->set_container_port(8080);
  a->set_protocol("tcp, udp");
  auto* b = t.mutable_container()->mutable_docker()->add_port_mappings();
  b->set_host_port(0);
  b->set_container_port(9090);
  auto s = build_container_spec(t, {});
  REQUIRE(s.ok());
  CHECK(s->body["ExposedPorts"] == json({{"8080/tcp", json::object()}, {"8080/udp", json::object()}, {"9090/tcp", json::object()}}));
  const auto& pb = s->body["HostConfig"]["PortBindings"];
  CHECK(pb.size() == 2);
  CHECK(pb["8080/udp"][0]["HostPort"] == "31000");
  CHECK(s->body["HostConfig"]["NetworkMode"] == "default");
}

TEST_CASE("Volumes, network modes, capabilities, volume driver") {
  v1::TaskInfo t = base_task();
  auto* ro = t.mutable_container()->add_volumes();
  ro->set_host_path("/srv/conf");
  ro->set_container_path("/conf");
  ro->set_mode(v1::Volume::RO);
  auto* rw = t.mutable_container()->add_volumes();
  rw->set_host_path("/srv/data");
  rw->set_container_path("/data");
  rw->set_mode(v1::Volume::RW);
  param(t, "cap-add", "NET_ADMIN");
  param(t, "cap-drop", "CHOWN");
  param(t, "cap-drop", "KILL");
  param(t, "volume-driver", "a");
  param(t, "volume-driver", "b");
  auto s = build_container_spec(t, {});
  REQUIRE(s.ok());
  const auto& h = s->body["HostConfig"];
  CHECK(h["Binds"] == json::array({"/srv/conf:/conf:ro", "/srv/data:/data"}));
  CHECK(h["NetworkMode"] == "host");  // Mesos's default network
  CHECK(h["CapAdd"] == json::array({"NET_ADMIN"}));
  CHECK(h["CapDrop"] == json::array({"CHOWN", "KILL"}));
  CHECK(h["VolumeDriver"] == "b");
  v1::TaskInfo none = base_task();
  none.mutable_container()->mutable_docker()->set_network(v1::ContainerInfo::DockerInfo::NONE);
  CHECK(build_container_spec(none, {})->body["HostConfig"]["NetworkMode"] == "none");
}

TEST_CASE("CPU and memory limits only when the settings force them") {
  v1::TaskInfo t = base_task();
  resource(t, "cpus", 0.5);
  resource(t, "mem", 128);
  auto plain = build_container_spec(t, {});
  CHECK_FALSE(plain->body["HostConfig"].contains("CpuQuota"));
  CHECK_FALSE(plain->body["HostConfig"].contains("Memory"));
  SpecOptions forced;
  forced.force_cpu_limit = true;
  forced.force_memory_limit = true;
  auto f = build_container_spec(t, forced);
  CHECK(f->body["HostConfig"]["CpuPeriod"] == 50000);
  CHECK(f->body["HostConfig"]["CpuQuota"] == 25000);
  CHECK(f->body["HostConfig"]["Memory"] == 128LL * 1048576);
  SpecOptions shares = forced;
  shares.use_cpu_shares = true;
  shares.host_cpus = 2;
  auto sh = build_container_spec(t, shares);
  CHECK(sh->body["HostConfig"]["CpuShares"] == 256);
  CHECK_FALSE(sh->body["HostConfig"].contains("CpuQuota"));
}

TEST_CASE("Absurd cpus or mem amounts fail the translation naming the resource (found by fuzzing)") {
  for (double bad : {-1.0, std::nan(""), HUGE_VAL, -HUGE_VAL, 1e300}) {
    for (const char* name : {"cpus", "mem"}) {
      v1::TaskInfo t = base_task();
      resource(t, name, bad);
      SpecOptions shares;
      shares.force_cpu_limit = shares.force_memory_limit = shares.use_cpu_shares = true;
      for (const SpecOptions& o : {SpecOptions{}, shares}) {
        auto spec = build_container_spec(t, o);
        REQUIRE_FALSE(spec);
        CHECK_THAT(spec.error().message, Catch::Contains(std::string("resource ") + name));
      }
    }
  }
  v1::TaskInfo zero = base_task();
  resource(zero, "cpus", 0);
  CHECK(build_container_spec(zero, {}));
}

TEST_CASE("Ports past 65535 fail the translation naming the mapping") {
  for (auto [host, container] : {std::pair{70000u, 80u}, std::pair{31000u, 65536u}, std::pair{4294967295u, 1u}}) {
    v1::TaskInfo t = base_task();
    auto* pm = t.mutable_container()->mutable_docker()->add_port_mappings();
    pm->set_host_port(host);
    pm->set_container_port(container);
    auto spec = build_container_spec(t, {});
    REQUIRE_FALSE(spec);
    CHECK_THAT(spec.error().message, Catch::Contains(std::to_string(host) + ":" + std::to_string(container)));
  }
  v1::TaskInfo edge = base_task();
  auto* pm = edge.mutable_container()->mutable_docker()->add_port_mappings();
  pm->set_host_port(65535);
  pm->set_container_port(65535);
  CHECK(build_container_spec(edge, {}));
}

TEST_CASE("The docker parameters users of other executors expect") {
  v1::TaskInfo t = base_task();
  for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
           {"user", "nobody"},          {"workdir", "/app"},          {"entrypoint", "/bin/run"},
           {"hostname", "web-1"},       {"dns", "1.1.1.1"},           {"add-host", "db:10.0.0.9"},
           {"ulimit", "nofile=1024:2048"}, {"ulimit", "nproc=64"},    {"shm-size", "64m"},
           {"log-driver", "json-file"}, {"log-opt", "max-size=10m"},  {"privileged", "true"},
           {"device", "/dev/fuse"},     {"memory-swap", "1g"},        {"pids-limit", "100"},
           {"read-only", "true"},       {"tmpfs", "/run:size=64k"},   {"security-opt", "no-new-privileges"},
           {"init", "true"},            {"frobnicate", "yes"}}) {
    param(t, k, v);
  }
  auto s = build_container_spec(t, {});
  REQUIRE(s.ok());
  const auto& b = s->body;
  const auto& h = b["HostConfig"];
  CHECK(b["User"] == "nobody");
  CHECK(b["WorkingDir"] == "/app");
  CHECK(b["Entrypoint"] == json::array({"/bin/run"}));
  CHECK(b["Hostname"] == "web-1");
  CHECK(h["Dns"] == json::array({"1.1.1.1"}));
  CHECK(h["ExtraHosts"] == json::array({"db:10.0.0.9"}));
  CHECK(h["Ulimits"] == json::array({{{"Name", "nofile"}, {"Soft", 1024}, {"Hard", 2048}},
                                     {{"Name", "nproc"}, {"Soft", 64}, {"Hard", 64}}}));
  CHECK(h["ShmSize"] == 64LL << 20);
  CHECK(h["LogConfig"] == json({{"Type", "json-file"}, {"Config", {{"max-size", "10m"}}}}));
  CHECK(h["Privileged"] == true);
  CHECK(h["Devices"][0] == json({{"PathOnHost", "/dev/fuse"}, {"PathInContainer", "/dev/fuse"}, {"CgroupPermissions", "rwm"}}));
  CHECK(h["MemorySwap"] == 1LL << 30);
  CHECK(h["PidsLimit"] == 100);
  CHECK(h["ReadonlyRootfs"] == true);
  CHECK(h["Tmpfs"] == json({{"/run", "size=64k"}}));
  CHECK(h["SecurityOpt"] == json::array({"no-new-privileges"}));
  CHECK(h["Init"] == true);
  REQUIRE(s->warnings.size() == 1);
  CHECK_THAT(s->warnings[0], Catch::Contains("frobnicate"));
}

TEST_CASE("Bad parameter values fail the translation with the parameter named") {
  for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
           {"ulimit", "nofile"}, {"ulimit", "nofile=lots"}, {"shm-size", "big"}, {"shm-size", "64q"},
           {"pids-limit", "many"}, {"privileged", "sure"}, {"log-opt", "novalue"}, {"memory-swap", "1t"},
           {"device", ""}, {"label", "executor.ShellCommand=echo 'oops"}}) {
    v1::TaskInfo t = base_task();
    param(t, k, v);
    auto s = build_container_spec(t, {});
    INFO(k << "=" << v);
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.error().message, Catch::Contains(k == "label" ? "executor.ShellCommand" : k));
  }
}
