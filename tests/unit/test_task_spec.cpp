// TaskInfo → Docker create body: every Go rule, the extra docker parameters, bad values.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "docker/task_spec.h"
#include "settings/config_file.h"

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
      "TASK_HOST=host-a",      "TASK_ID=task-1",   "FROM_PARAM=1",     "SIDECAR_SEEDS=a,b",   "MESOS_PORT_8080=31000",
      "MESOS_HOSTNAME=host-a", "SERVICE_NAME=web", "ENVIRONMENT=prod", "SERVICE_VERSION=1.2",
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

// Go: container/container.go:388-394 — "web@sha256:<hex>" split on ':' gives the hex, last in the
// environment (issue 18, item 12; the whole table is in test_image_ref.cpp).
TEST_CASE("SERVICE_VERSION of a digest reference is the digest's hex, as the Go executor sets it") {
  const std::string hex = "9c1f2e3d4c5b6a798877665544332211ffeeddccbbaa00998877665544332211";
  auto digest = build_container_spec(base_task("127.0.0.1:5000/web@sha256:" + hex), {});
  REQUIRE(digest.ok());
  CHECK(docker::container_env(*digest) == std::vector<std::string>{"SERVICE_VERSION=" + hex});
  auto both = build_container_spec(base_task("127.0.0.1:5000/web:1.2@sha256:" + hex), {});
  REQUIRE(both.ok());
  CHECK(docker::container_env(*both) == std::vector<std::string>{"SERVICE_VERSION=1.2"});
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
  CHECK(s->body["ExposedPorts"] ==
        json({{"8080/tcp", json::object()}, {"8080/udp", json::object()}, {"9090/tcp", json::object()}}));
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
  SpecOptions o;  // NET_ADMIN in the host's network: a site that allows it
  o.policy.allowed_capabilities = std::vector<std::string>{"NET_ADMIN"};
  auto s = build_container_spec(t, o);
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
  SpecOptions o;  // a site that allows all of them
  o.policy.allowed_docker_parameters.insert(o.policy.allowed_docker_parameters.end(),
                                            {"ulimit", "log-driver", "log-opt"});
  o.policy.allow_privileged = true;
  o.policy.allowed_devices = {"/dev/fuse"};
  o.policy.allowed_security_opts = {"no-new-privileges"};
  for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{{"user", "nobody"},
                                                                             {"workdir", "/app"},
                                                                             {"entrypoint", "/bin/run"},
                                                                             {"hostname", "web-1"},
                                                                             {"dns", "1.1.1.1"},
                                                                             {"add-host", "db:10.0.0.9"},
                                                                             {"ulimit", "nofile=1024:2048"},
                                                                             {"ulimit", "nproc=64"},
                                                                             {"shm-size", "64m"},
                                                                             {"log-driver", "json-file"},
                                                                             {"log-opt", "max-size=10m"},
                                                                             {"privileged", "true"},
                                                                             {"device", "/dev/fuse"},
                                                                             {"memory-swap", "1g"},
                                                                             {"pids-limit", "100"},
                                                                             {"read-only", "true"},
                                                                             {"tmpfs", "/run:size=64k"},
                                                                             {"security-opt", "no-new-privileges"},
                                                                             {"init", "true"},
                                                                             {"frobnicate", "yes"}}) {
    param(t, k, v);
  }
  auto s = build_container_spec(t, o);
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
  CHECK(h["Devices"][0] ==
        json({{"PathOnHost", "/dev/fuse"}, {"PathInContainer", "/dev/fuse"}, {"CgroupPermissions", "rwm"}}));
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
  for (const auto& [k, v] :
       std::vector<std::pair<std::string, std::string>>{{"ulimit", "nofile"},
                                                        {"ulimit", "nofile=lots"},
                                                        {"shm-size", "big"},
                                                        {"shm-size", "64q"},
                                                        {"pids-limit", "many"},
                                                        {"privileged", "sure"},
                                                        {"log-opt", "novalue"},
                                                        {"memory-swap", "1t"},
                                                        {"device", ""},
                                                        {"label", "executor.ShellCommand=echo 'oops"}}) {
    v1::TaskInfo t = base_task();
    param(t, k, v);
    auto s = build_container_spec(t, {});
    INFO(k << "=" << v);
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.error().message, Catch::Contains(k == "label" ? "executor.ShellCommand" : k));
  }
}

TEST_CASE("Site policy: what can widen the container's access is refused by default, naming the key that allows it") {
  struct Case {
    const char* key;
    const char* value;
    const char* allow_with;
  };
  for (const Case& c :
       {Case{"privileged", "true", "policy.allow_privileged"}, Case{"privileged", "", "policy.allow_privileged"},
        Case{"device", "/dev/sda", "policy.allowed_devices"},
        Case{"security-opt", "seccomp=unconfined", "policy.allowed_security_opts"},
        Case{"security-opt", "apparmor=unconfined", "policy.allowed_security_opts"},
        Case{"ulimit", "memlock=-1:-1", "policy.allowed_docker_parameters"},
        Case{"log-driver", "syslog", "policy.allowed_docker_parameters"},
        Case{"log-opt", "syslog-address=udp://10.0.0.1:514", "policy.allowed_docker_parameters"},
        Case{"pids-limit", "0", "policy.allow_unlimited_pids"},
        Case{"pids-limit", "-1", "policy.allow_unlimited_pids"}}) {
    INFO(c.key << "=" << c.value);
    v1::TaskInfo t = base_task();
    param(t, c.key, c.value);
    auto s = build_container_spec(t, {});
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.error().message, Catch::Contains(std::string("docker parameter ") + c.key));
    CHECK_THAT(s.error().message, Catch::Contains("not allowed by the site policy"));
    CHECK_THAT(s.error().message, Catch::Contains(c.allow_with));
  }
  v1::TaskInfo t = base_task();
  t.mutable_container()->mutable_docker()->set_privileged(true);
  auto s = build_container_spec(t, {});
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.error().message, Catch::Contains("DockerInfo.privileged") && Catch::Contains("policy.allow_privileged"));
  // Narrowing values stay allowed.
  v1::TaskInfo narrow = base_task();
  param(narrow, "privileged", "false");
  param(narrow, "pids-limit", "50");
  param(narrow, "read-only", "true");
  auto n = build_container_spec(narrow, {});
  REQUIRE(n.ok());
  CHECK(n->body["HostConfig"]["Privileged"] == false);
  CHECK(n->body["HostConfig"]["PidsLimit"] == 50);
}

TEST_CASE("Site policy: what a site allows goes through, and only that") {
  SpecOptions o;
  o.policy.allow_privileged = true;
  o.policy.allowed_devices = {"/dev/fuse"};
  o.policy.allowed_security_opts = {"no-new-privileges"};
  o.policy.allowed_capabilities = std::vector<std::string>{"NET_ADMIN"};
  o.policy.allowed_bind_prefixes = std::vector<std::string>{"/srv/tasks", "/data/"};
  o.policy.allow_unlimited_pids = true;
  v1::TaskInfo t = base_task();
  t.mutable_container()->mutable_docker()->set_privileged(true);
  param(t, "device", "/dev/fuse:/dev/fuse:r");
  param(t, "security-opt", "no-new-privileges");
  param(t, "cap-add", "cap_net_admin");
  param(t, "pids-limit", "-1");
  for (const char* path : {"/srv/tasks", "/srv/tasks/a/b", "/data/x/../y"}) {
    auto* v = t.mutable_container()->add_volumes();
    v->set_host_path(path);
    v->set_container_path("/mnt");
  }
  auto s = build_container_spec(t, o);
  REQUIRE(s.ok());
  const auto& h = s->body["HostConfig"];
  CHECK(h["Privileged"] == true);
  CHECK(h["Devices"][0]["PathOnHost"] == "/dev/fuse");
  CHECK(h["SecurityOpt"] == json::array({"no-new-privileges"}));
  CHECK(h["CapAdd"] == json::array({"NET_ADMIN"}));  // the name checked is the name sent
  CHECK(h["PidsLimit"] == -1);
  CHECK(h["Binds"].size() == 3);

  struct Bad {
    const char* key;
    const char* value;
    const char* want;
  };
  for (const Bad& b : {Bad{"device", "/dev/sda", "policy.allowed_devices"},
                       Bad{"security-opt", "seccomp=unconfined", "policy.allowed_security_opts"},
                       Bad{"cap-add", "SYS_ADMIN", "policy.allowed_capabilities"},
                       Bad{"cap-add", "ALL", "policy.allowed_capabilities"}}) {
    INFO(b.key << "=" << b.value);
    v1::TaskInfo bad = base_task();
    param(bad, b.key, b.value);
    auto r = build_container_spec(bad, o);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains(b.want));
  }
  for (const char* path : {"/srv/tasksX", "/srv", "/etc", "/srv/tasks/../../etc", "relative", "/"}) {
    INFO(path);
    v1::TaskInfo bad = base_task();
    auto* v = bad.mutable_container()->add_volumes();
    v->set_host_path(path);
    v->set_container_path("/mnt");
    auto r = build_container_spec(bad, o);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("policy.allowed_bind_prefixes"));
  }
  // A pids-limit at or above the host's pid_max limits nothing: as unlimited.
  for (const auto& [value, allowed] : std::vector<std::pair<const char*, bool>>{
           {"4194304", false}, {"32768", false}, {"32767", true}, {"100", true}}) {
    INFO(value);
    SpecOptions strict;
    strict.host_pid_max = 32768;
    v1::TaskInfo pids = base_task();
    param(pids, "pids-limit", value);
    auto r = build_container_spec(pids, strict);
    CHECK(r.ok() == allowed);
    if (!r.ok()) CHECK_THAT(r.error().message, Catch::Contains("pid_max is 32768"));
    strict.policy.allow_unlimited_pids = true;
    CHECK(build_container_spec(pids, strict).ok());
  }
  // A site can forbid the host network (allowed by default, as in the Go executor).
  v1::TaskInfo host_net = base_task();
  host_net.mutable_container()->mutable_docker()->set_network(v1::ContainerInfo::DockerInfo::HOST);
  CHECK(build_container_spec(host_net, {}).ok());
  SpecOptions no_host;
  no_host.policy.allow_host_network = false;
  auto r = build_container_spec(host_net, no_host);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Contains("policy.allow_host_network"));
  // And can narrow the parameter list itself.
  SpecOptions go_only;
  go_only.policy.allowed_docker_parameters = {"env", "label"};
  v1::TaskInfo user = base_task();
  param(user, "user", "nobody");
  auto u = build_container_spec(user, go_only);
  REQUIRE_FALSE(u.ok());
  CHECK_THAT(u.error().message,
             Catch::Contains("docker parameter user=nobody") && Catch::Contains("policy.allowed_docker_parameters"));
}

TEST_CASE("An image that is not a reference fails the spec before anything else, control characters escaped") {
  for (const char* image : {"busybox\r\nGET /containers/json HTTP/1.1", "../../containers/json", "web%2f..", "web?x=1",
                            "web#frag", "UPPER/case", ""}) {
    INFO(image);
    auto s = build_container_spec(base_task(image), {});
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().message.find('\r') == std::string::npos);
    CHECK(s.error().message.find('\n') == std::string::npos);
  }
}

TEST_CASE("The executor's own labels win over the task's; its variables go in place (c) once the spec is built") {
  v1::TaskInfo t = base_task();
  env_var(t, "TASK_HOST", "host-a");
  param(t, "env", "FROM_PARAM=1");
  param(t, "env", "SECRET=vault://secret/x?key=k");
  param(t, "label", "sidecar-executor.executor-id=someone-else");
  SpecOptions o;
  o.own_labels = {{"sidecar-executor.executor-id", "exec-1"}};
  auto s = build_container_spec(t, o);
  REQUIRE(s.ok());
  CHECK(s->body["Labels"]["sidecar-executor.executor-id"] == "exec-1");
  const auto done = docker::with_executor_env(*s, {"SIDECAR_SEEDS=a"}, {{"SECRET=vault://secret/x?key=k", "SECRET=v"}});
  const std::vector<std::string> want = {"TASK_HOST=host-a", "FROM_PARAM=1",          "SECRET=v",
                                         "SIDECAR_SEEDS=a",  "MESOS_HOSTNAME=host-a", "SERVICE_VERSION=1.2"};
  CHECK(docker::container_env(done) == want);
  // The same as building with the extras from the start.
  SpecOptions direct = o;
  direct.extra_env = {"SIDECAR_SEEDS=a"};
  direct.env_replacements = {{"SECRET=vault://secret/x?key=k", "SECRET=v"}};
  CHECK(docker::container_env(*build_container_spec(t, direct)) == want);
}

TEST_CASE("Capabilities that reach past the container, and binds that say more than a path, are refused by default") {
  for (const char* cap : {"SYS_ADMIN", "cap_sys_module", "ALL", "DAC_READ_SEARCH", "sys_ptrace"}) {
    INFO(cap);
    v1::TaskInfo t = base_task();
    param(t, "cap-add", cap);
    auto s = build_container_spec(t, {});
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.error().message, Catch::Contains("policy.allowed_capabilities"));
  }
  // dockerd upper-cases with Go's strings.ToUpper, which folds U+017F (ſ) to S and U+0131 (ı) to I:
  // such names would pass a check of ASCII names and be granted. Only ASCII names are taken.
  // dockerd also keeps a name that already starts with CAP_: cap_cap_sys_admin would be SYS_ADMIN.
  for (const char* cap : {"\xC5\xBFys_admin", "net_adm\xC4\xB1n", "SYS_ADMIN ", "", "SYS-ADMIN", "CAP_SYS_ADMIN\n",
                          "cap_cap_sys_admin", "CAP_CAP_MKNOD", "NOT_A_CAPABILITY"}) {
    INFO(cap);
    for (const char* key : {"cap-add", "cap-drop"}) {
      v1::TaskInfo t = base_task();
      t.mutable_container()->mutable_docker()->set_network(v1::ContainerInfo::DockerInfo::BRIDGE);
      param(t, key, cap);
      SpecOptions any_cap;  // even where the site lists capabilities
      any_cap.policy.allowed_capabilities = std::vector<std::string>{"NET_ADMIN", "SYS_ADMIN"};
      auto s = build_container_spec(t, any_cap);
      REQUIRE_FALSE(s.ok());
      CHECK_THAT(s.error().message, Catch::Contains("not the name of a Linux capability"));
    }
  }
  v1::TaskInfo dropper = base_task();
  param(dropper, "cap-drop", "cap_chown");
  CHECK(build_container_spec(dropper, {})->body["HostConfig"]["CapDrop"] == json::array({"CHOWN"}));
  v1::TaskInfo bridge = base_task();
  bridge.mutable_container()->mutable_docker()->set_network(v1::ContainerInfo::DockerInfo::BRIDGE);
  param(bridge, "cap-add", "NET_ADMIN");
  CHECK(build_container_spec(bridge, {}).ok());  // its own network namespace only
  v1::TaskInfo host_net = base_task();
  param(host_net, "cap-add", "NET_ADMIN");
  auto h = build_container_spec(host_net, {});
  REQUIRE_FALSE(h.ok());
  CHECK_THAT(h.error().message, Catch::Contains("NET_ADMIN") && Catch::Contains("host's network"));

  SpecOptions o;
  o.policy.allowed_bind_prefixes = std::vector<std::string>{"/data"};
  for (const auto& [hostp, cont] : std::vector<std::pair<std::string, std::string>>{
           {"/:/../data", "rw"}, {"/data/x", "/mnt:rw,Z"}, {"/data,z", "/mnt"}, {"/data/x", "relative"}}) {
    INFO(hostp << " -> " << cont);
    v1::TaskInfo t = base_task();
    auto* v = t.mutable_container()->add_volumes();
    v->set_host_path(hostp);
    v->set_container_path(cont);
    CHECK_FALSE(build_container_spec(t, o).ok());
    CHECK_FALSE(build_container_spec(t, {}).ok());  // not even without prefixes
  }
  // A symlink under an allowed folder that leads out of it: the resolved path decides.
  o.resolve_host_path = [](const std::string& p) -> std::optional<std::string> {
    return p == "/data/esc" ? std::string("/") : p;
  };
  v1::TaskInfo link = base_task();
  auto* v = link.mutable_container()->add_volumes();
  v->set_host_path("/data/esc");
  v->set_container_path("/mnt");
  auto l = build_container_spec(link, o);
  REQUIRE_FALSE(l.ok());
  CHECK_THAT(l.error().message, Catch::Contains("policy.allowed_bind_prefixes"));
  v->set_host_path("/data/fine");
  CHECK(build_container_spec(link, o).ok());
}

TEST_CASE("Locked names: settings in any spelling, other variables as written") {
  auto ok =
      settings::parse_config_text("policy:\n  locked: [executor_sidecar_url, Sidecar_Url, VAULT_ADDR]\n", "s.yaml");
  REQUIRE(ok);
  CHECK(ok->policy.locked == std::vector<std::string>{"EXECUTOR_SIDECAR_URL", "EXECUTOR_SIDECAR_URL", "VAULT_ADDR"});
  for (const char* bad : {"policy:\n  locked: [vault_addr]\n", "policy:\n  locked: [EXECUTOR_NO_SUCH]\n"}) {
    INFO(bad);
    CHECK_FALSE(settings::parse_config_text(bad, "s.yaml"));
  }
}

TEST_CASE("EXECUTOR_MOUNT_SANDBOX: the sandbox at /mnt/mesos/sandbox, MESOS_SANDBOX naming it") {
  v1::TaskInfo t = base_task();
  env_var(t, "TASK_ID", "task-1");
  SECTION("off: no bind, MESOS_SANDBOX untouched") {
    env_var(t, "MESOS_SANDBOX", "/somewhere");
    auto s = build_container_spec(t, SpecOptions{});
    REQUIRE(s.ok());
    CHECK_FALSE(s->body["HostConfig"].contains("Binds"));
    CHECK(s->body["Env"].get<std::vector<std::string>>() ==
          std::vector<std::string>{"TASK_ID=task-1", "MESOS_SANDBOX=/somewhere", "SERVICE_VERSION=1.2"});
  }
  SpecOptions o;
  o.sandbox_mount = "/var/lib/mesos/slaves/s1/frameworks/f/executors/e/runs/r";
  SECTION("on: one bind, read-write; MESOS_SANDBOX added last") {
    auto s = build_container_spec(t, o);
    REQUIRE(s.ok());
    CHECK(s->body["HostConfig"]["Binds"] == json::array({o.sandbox_mount + ":/mnt/mesos/sandbox"}));
    CHECK(s->body["HostConfig"]["CapDrop"] == json::array({"MKNOD"}));  // no device nodes left in the sandbox
    CHECK(s->body["Env"].get<std::vector<std::string>>() ==
          std::vector<std::string>{"TASK_ID=task-1", "SERVICE_VERSION=1.2", "MESOS_SANDBOX=/mnt/mesos/sandbox"});
  }
  SECTION("on: MKNOD (or ALL) added back by the task is refused: Docker applies CapAdd after CapDrop") {
    for (const char* cap : {"MKNOD", "cap_mknod", "mknod", "ALL"}) {
      INFO(cap);
      v1::TaskInfo with_cap = t;
      param(with_cap, "cap-add", cap);
      SpecOptions all_allowed = o;  // refused even where the site allows the capability
      all_allowed.policy.allowed_capabilities = std::vector<std::string>{"MKNOD", "ALL"};
      auto s = build_container_spec(with_cap, all_allowed);
      REQUIRE_FALSE(s.ok());
      CHECK_THAT(s.error().message, Catch::Contains("EXECUTOR_MOUNT_SANDBOX") && Catch::Contains("device nodes"));
      all_allowed.sandbox_mount.clear();  // without the sandbox mount the site's word holds
      CHECK(build_container_spec(with_cap, all_allowed).ok());
    }
  }
  SECTION("on: a MESOS_SANDBOX the task set is rewritten in place (one value in the container)") {
    env_var(t, "MESOS_SANDBOX", "/etc");
    auto s = build_container_spec(t, o);
    REQUIRE(s.ok());
    CHECK(s->body["Env"].get<std::vector<std::string>>() ==
          std::vector<std::string>{"TASK_ID=task-1", "MESOS_SANDBOX=/mnt/mesos/sandbox", "SERVICE_VERSION=1.2"});
    CHECK(s->body["HostConfig"]["Binds"].size() == 1);
  }
  SECTION("on: a working directory that cannot be the sandbox fails the spec, saying why") {
    for (const char* bad : {"/", "relative/dir", "/a:b", "/a,ro", "(unknown)"}) {
      o.sandbox_mount = bad;
      auto s = build_container_spec(t, o);
      INFO(bad);
      REQUIRE_FALSE(s.ok());
      CHECK_THAT(s.error().message, Catch::Contains("EXECUTOR_MOUNT_SANDBOX"));
    }
  }
}

TEST_CASE("DockerInfo.network USER: the first named network is the network mode, the others are joined after") {
  v1::TaskInfo t = base_task();
  t.mutable_container()->mutable_docker()->set_network(v1::ContainerInfo::DockerInfo::USER);
  SECTION("no named network_infos: refused, saying what is missing") {
    auto s = build_container_spec(t, SpecOptions{});
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.error().message, Catch::Contains("network_infos"));
  }
  SpecOptions allowed;
  allowed.policy.allowed_networks = {"net-a", "net.b_2"};
  SECTION("one, two and a repeated name") {
    for (const char* n : {"net-a", "net.b_2", "net-a"}) t.mutable_container()->add_network_infos()->set_name(n);
    auto s = build_container_spec(t, allowed);
    REQUIRE(s.ok());
    CHECK(s->body["HostConfig"]["NetworkMode"] == "net-a");
    CHECK(s->extra_networks == std::vector<std::string>{"net.b_2"});
  }
  SECTION("names that would leave the container's own namespace or are not Docker names are refused") {
    for (const char* bad : {"host", "none", "default", "container:abc", "../x", "-lead", "a b", "net\r\nX"}) {
      v1::TaskInfo u = t;
      u.mutable_container()->add_network_infos()->set_name(bad);
      auto s = build_container_spec(u, allowed);
      INFO(bad);
      REQUIRE_FALSE(s.ok());
      CHECK_THAT(s.error().message, Catch::Contains("network_infos name"));
      CHECK(s.error().message.find('\r') == std::string::npos);
    }
  }
  SECTION("a network the site does not list is refused, naming the policy key (none is listed by default)") {
    t.mutable_container()->add_network_infos()->set_name("net-a");
    auto s = build_container_spec(t, SpecOptions{});
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.error().message, Catch::Contains("policy.allowed_networks"));
    v1::TaskInfo u = t;
    u.mutable_container()->add_network_infos()->set_name("3f");  // an id prefix dockerd would resolve
    auto p = build_container_spec(u, allowed);
    REQUIRE_FALSE(p.ok());
    CHECK_THAT(p.error().message, Catch::Contains("'3f'"));
  }
}

TEST_CASE(
    "With allowed bind prefixes a bind's host path must exist; its resolved path is checked, sent, and "
    "checked again before the create") {
  std::map<std::string, std::optional<std::string>> host = {{"/data/link", std::string("/data/real")},
                                                            {"/data/real", std::string("/data/real")},
                                                            {"/data/missing/x", std::nullopt},
                                                            {"/data/colon", std::string("/data/a:/etc")},
                                                            {"/data/out", std::string("/root/x")}};
  SpecOptions o;
  o.policy.allowed_bind_prefixes = std::vector<std::string>{"/data"};
  o.resolve_host_path = [&host](const std::string& p) -> std::optional<std::string> {
    auto it = host.find(p);
    return it == host.end() ? std::optional<std::string>(p) : it->second;
  };
  const auto with_volume = [](const std::string& path) {
    v1::TaskInfo t = base_task();
    auto* v = t.mutable_container()->add_volumes();
    v->set_host_path(path);
    v->set_container_path("/mnt");
    return t;
  };
  auto s = build_container_spec(with_volume("/data/link"), o);
  REQUIRE(s.ok());
  CHECK(s->body["HostConfig"]["Binds"] == json::array({"/data/real:/mnt"}));  // what was checked is what is sent
  CHECK(s->checked_binds == std::vector<std::string>{"/data/real"});
  CHECK(docker::recheck_binds(*s, o).ok());

  auto missing = build_container_spec(with_volume("/data/missing/x"), o);
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.error().message, Catch::Contains("does not exist") && Catch::Contains("allowed_bind_prefixes"));
  // Missing, leading outside, or to a path with ':' or ',': the same words, and the link's target not
  // told (the executor looks as root: the task must not learn what exists on the host).
  for (const std::string p : {"/data/colon", "/data/out"}) {
    INFO(p);
    auto r = build_container_spec(with_volume(p), o);
    REQUIRE_FALSE(r.ok());
    std::string same = missing.error().message;
    same.replace(same.find("/data/missing/x"), std::string("/data/missing/x").size(), p);
    CHECK(r.error().message == same);
    CHECK_THAT(r.error().message, !Catch::Contains("/etc") && !Catch::Contains("/root"));
  }

  // Between the pull and the create a part of the path became a link, or went.
  host["/data/real"] = std::string("/");
  auto swapped = docker::recheck_binds(*s, o);
  REQUIRE_FALSE(swapped.ok());
  CHECK_THAT(swapped.error().message, Catch::Contains("/data/real") && Catch::Contains("changed since it was checked"));
  host["/data/real"] = std::nullopt;
  auto gone = docker::recheck_binds(*s, o);
  REQUIRE_FALSE(gone.ok());
  CHECK(gone.error().message == swapped.error().message);  // the same words: nothing told of the host

  // Without prefixes (the Go executor's "any"): the path as written, nothing to check again.
  SpecOptions any = o;
  any.policy.allowed_bind_prefixes.reset();
  auto plain = build_container_spec(with_volume("/data/missing/x"), any);
  REQUIRE(plain.ok());
  CHECK(plain->body["HostConfig"]["Binds"] == json::array({"/data/missing/x:/mnt"}));
  CHECK(plain->checked_binds.empty());
}
