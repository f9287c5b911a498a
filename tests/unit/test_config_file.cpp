// The site config file: keys, lists, precedence, and errors naming file, line and key.
#include <catch2/catch.hpp>

#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "app/site.h"
#include "settings/config_file.h"
#include "settings/settings.h"

using settings::parse_config_text;

TEST_CASE("Keys with or without EXECUTOR_, any case; lists joined; the environment wins over the file") {
  auto f = parse_config_text(R"(# site defaults
kill_task_timeout: 10
EXECUTOR_SIDECAR_URL: http://sidecar.local:7777/state.json
Sidecar_Poll_Interval: 5s
send_docker_labels: [ServiceName, Environment]
relay_syslog: true
)",
                             "site.yaml");
  REQUIRE(f);
  auto s = settings::load_settings(
      settings::layered(util::map_env({{"EXECUTOR_KILL_TASK_TIMEOUT", "20"}, {"EXECUTOR_SIDECAR_POLL_INTERVAL", ""}}),
                        *f),
      "h");
  REQUIRE(s);
  CHECK(s->kill_task_timeout_s == 20);  // environment beats file
  CHECK(s->sidecar_url == "http://sidecar.local:7777/state.json");
  CHECK(s->sidecar_poll_interval == std::chrono::seconds(5));  // an empty variable counts as unset
  CHECK(s->send_docker_labels == std::vector<std::string>{"ServiceName", "Environment"});
  CHECK(s->relay_syslog);
  CHECK(s->sidecar_max_fails == 3);  // untouched default
}

TEST_CASE("Errors name the file, the line and the key") {
  struct Case {
    const char* text;
    const char* want;
  };
  const Case cases[] = {
      {"kill_task_timeout: 10\nno_such_thing: 1\n", "site.yaml:2: unknown setting \"no_such_thing\""},
      {"\n\nsidecar_poll_interval: 3x\n", "site.yaml:3: sidecar_poll_interval: EXECUTOR_SIDECAR_POLL_INTERVAL=\"3x\""},
      {"debug: maybe\n", "site.yaml:1: debug:"},
      {"kill_task_timeout: {a: 1}\n", "site.yaml:1: kill_task_timeout: must be a single value or a list"},
      {"debug: true\nDEBUG: false\n", "site.yaml:2: DEBUG is set twice"},
      {"- a\n- b\n", "site.yaml: must be a mapping"},
      {"debug: [unclosed\n", "site.yaml:"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto f = parse_config_text(c.text, "site.yaml");
    REQUIRE_FALSE(f);
    CHECK_THAT(f.error().message, Catch::Contains(c.want));
  }
}

TEST_CASE("A missing default file is no file; a missing named one is an error; an empty one is fine") {
  auto none = settings::load_config_file("/nonexistent/sidecar-executor.yaml", false);
  REQUIRE(none);
  CHECK(none->values.empty());
  auto named = settings::load_config_file("/nonexistent/sidecar-executor.yaml", true);
  REQUIRE_FALSE(named);
  CHECK_THAT(named.error().message, Catch::Contains("/nonexistent/sidecar-executor.yaml"));
  auto empty = parse_config_text("", "e.yaml");
  REQUIRE(empty);
  CHECK(empty->values.empty());
}

TEST_CASE("The policy: mapping: every key, lists, defaults kept for keys not given") {
  auto f = parse_config_text(R"(kill_task_timeout: 10
policy:
  allow_privileged: true
  allowed_devices: [/dev/fuse]
  allowed_security_opts: no-new-privileges
  allowed_capabilities: [NET_ADMIN]
  allowed_bind_prefixes: [/srv/tasks]
  allow_host_network: false
  allow_unlimited_pids: true
  allow_core_dumps: true
  env_dump_values: [TASK_ID, MESOS_PORT_*]
  locked: [docker_repository, EXECUTOR_SIDECAR_URL, VAULT_ADDR]
environment:
  VAULT_ADDR: https://vault.site:8200
)",
                             "site.yaml");
  REQUIRE(f);
  const auto& p = f->policy;
  CHECK(p.allow_privileged);
  CHECK(p.allowed_devices == std::vector<std::string>{"/dev/fuse"});
  CHECK(p.allowed_security_opts == std::vector<std::string>{"no-new-privileges"});
  CHECK(p.allowed_capabilities == std::vector<std::string>{"NET_ADMIN"});
  CHECK(p.allowed_bind_prefixes == std::vector<std::string>{"/srv/tasks"});
  CHECK_FALSE(p.allow_host_network);
  CHECK(p.allow_unlimited_pids);
  CHECK(p.allow_core_dumps);
  CHECK(p.env_dump_values == std::vector<std::string>{"TASK_ID", "MESOS_PORT_*"});
  CHECK(p.locked == std::vector<std::string>{"EXECUTOR_DOCKER_REPOSITORY", "EXECUTOR_SIDECAR_URL", "VAULT_ADDR"});
  CHECK(p.allowed_docker_parameters == settings::default_docker_parameters());  // not given: the default
  CHECK(f->environment.at("VAULT_ADDR") == "https://vault.site:8200");
  CHECK(f->values.at("EXECUTOR_KILL_TASK_TIMEOUT") == "10");

  auto none = parse_config_text("kill_task_timeout: 10\n", "site.yaml");
  REQUIRE(none);
  CHECK_FALSE(none->policy.allow_privileged);
  CHECK(none->policy.allowed_devices.empty());
  CHECK(none->policy.allowed_security_opts.empty());
  CHECK_FALSE(none->policy.allowed_capabilities.has_value());
  CHECK_FALSE(none->policy.allowed_bind_prefixes.has_value());
  CHECK(none->policy.locked.empty());
}

TEST_CASE("Policy errors name the file, the line and the key") {
  struct Case {
    const char* text;
    const char* want;
  };
  const Case cases[] = {
      {"policy:\n  allow_privilegd: true\n", "site.yaml:2: policy.allow_privilegd: unknown policy key"},
      {"policy:\n  allow_privileged: maybe\n", "site.yaml:2: policy.allow_privileged: not a boolean"},
      {"policy:\n  allowed_devices: {a: b}\n", "site.yaml:2: policy.allowed_devices: must be a list"},
      {"policy:\n  locked: [MESOS_SANDBOX]\n", "the agent's, not the site's"},
      {"policy:\n  locked: [\"A B\"]\n", "is not a variable name"},
      {"policy: [1]\n", "site.yaml:1: policy: must be a mapping"},
      {"environment:\n  EXECUTOR_DEBUG: 1\n", "EXECUTOR_ settings are top-level keys"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto f = parse_config_text(c.text, "site.yaml");
    REQUIRE_FALSE(f);
    CHECK_THAT(f.error().message, Catch::Contains(c.want));
  }
}

TEST_CASE("The site file is read only when root owns it and only root can write it") {
  CHECK(settings::check_site_file_owner("/etc/x.yaml", 0, 0644));
  CHECK(settings::check_site_file_owner("/etc/x.yaml", 0, 0600));
  auto other = settings::check_site_file_owner("/etc/x.yaml", 1000, 0644);
  REQUIRE_FALSE(other);
  CHECK_THAT(other.error().message, Catch::Contains("/etc/x.yaml") && Catch::Contains("not root"));
  auto group = settings::check_site_file_owner("/etc/x.yaml", 0, 0664);
  REQUIRE_FALSE(group);
  CHECK_THAT(group.error().message, Catch::Contains("writable by its group"));
  auto world = settings::check_site_file_owner("/etc/x.yaml", 0, 0646);
  REQUIRE_FALSE(world);
  CHECK_THAT(world.error().message, Catch::Contains("writable by others"));

  if (::geteuid() != 0) return;  // the real files below need root to own and chown them
  char dir[] = "/tmp/site-file-XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  const std::string path = std::string(dir) + "/config.yaml";
  std::ofstream(path) << "kill_task_timeout: 7\n";
  ::chmod(path.c_str(), 0644);
  CHECK(settings::load_config_file(path, true));
  ::chmod(path.c_str(), 0666);
  auto loose = settings::load_config_file(path, true);
  REQUIRE_FALSE(loose);
  CHECK_THAT(loose.error().message, Catch::Contains("writable by others"));
  ::chmod(path.c_str(), 0644);
  REQUIRE(::chown(path.c_str(), 65534, 65534) == 0);
  auto foreign = settings::load_config_file(path, true);
  REQUIRE_FALSE(foreign);
  CHECK_THAT(foreign.error().message, Catch::Contains("owned by uid 65534"));
  // A missing optional file is no file; a missing required one is an error.
  CHECK(settings::load_config_file(std::string(dir) + "/none.yaml", false)->path.empty());
  CHECK_FALSE(settings::load_config_file(std::string(dir) + "/none.yaml", true));
  ::unlink(path.c_str());
  ::rmdir(dir);
}

TEST_CASE("Locked names take the site's value or none, whatever the environment says") {
  auto f = parse_config_text(R"(sidecar_url: http://site:7777/state.json
policy:
  locked: [sidecar_url, EXECUTOR_DEBUG, VAULT_ADDR, DOCKER_HOST]
environment:
  VAULT_ADDR: https://vault.site:8200
)",
                             "site.yaml");
  REQUIRE(f);
  ::setenv("EXECUTOR_SIDECAR_URL", "http://attacker:7777/state.json", 1);
  ::setenv("EXECUTOR_DEBUG", "true", 1);
  ::setenv("VAULT_ADDR", "https://attacker:8200", 1);
  ::unsetenv("DOCKER_HOST");
  const auto notes = settings::apply_locks(*f);
  CHECK(std::string(std::getenv("EXECUTOR_SIDECAR_URL")) == "http://site:7777/state.json");
  CHECK(std::getenv("EXECUTOR_DEBUG") == nullptr);
  CHECK(std::string(std::getenv("VAULT_ADDR")) == "https://vault.site:8200");
  CHECK(std::getenv("DOCKER_HOST") == nullptr);
  std::vector<std::string> tried;
  for (const auto& n : notes) tried.push_back(n.name);
  CHECK(tried == std::vector<std::string>{"EXECUTOR_SIDECAR_URL", "EXECUTOR_DEBUG", "VAULT_ADDR"});
  auto s = settings::load_settings(settings::layered(util::process_env(), *f), "h");
  REQUIRE(s);
  CHECK(s->sidecar_url == "http://site:7777/state.json");
  CHECK_FALSE(s->debug);
  for (const char* v : {"EXECUTOR_SIDECAR_URL", "VAULT_ADDR"}) ::unsetenv(v);
}

namespace {
// In a child (the test program keeps its own settings): harden_process, then what the kernel says.
int hardened_child(bool allow_core_dumps) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    app::harden_process(allow_core_dumps);
    rlimit core{};
    ::getrlimit(RLIMIT_CORE, &core);
    const int dumpable = ::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
    _exit(dumpable * 10 + (core.rlim_cur == 0 && core.rlim_max == 0 ? 1 : 0));
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
}  // namespace

TEST_CASE("harden_process: not dumpable and no core file, unless the site allows core dumps") {
  CHECK(hardened_child(false) == 0 * 10 + 1);  // dumpable 0, RLIMIT_CORE 0/0
  CHECK(hardened_child(true) / 10 == 1);       // dumpable again (core limit left as it was)
}

TEST_CASE("A config file path naming a FIFO or a device is refused without being opened") {
  char dir[] = "/tmp/sce-cfg-fifo-XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  const std::string fifo = std::string(dir) + "/settings.yaml";
  REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
  const int watch = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  REQUIRE(watch >= 0);
  REQUIRE(::inotify_add_watch(watch, fifo.c_str(), IN_OPEN) >= 0);
  for (const std::string& path : {fifo, std::string("/dev/null")}) {
    INFO(path);
    auto r = settings::load_config_file(path, true, settings::FileRole::SettingsOnly);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("not a regular file"));
  }
  char events[4096];
  CHECK(::read(watch, events, sizeof events) < 0);  // EAGAIN: nothing opened the FIFO
  ::close(watch);
  ::unlink(fifo.c_str());
  ::rmdir(dir);
}

TEST_CASE("A TZ that names a file outside the zone database is dropped before the first log line; a zone name stays") {
  const char* tz_before = std::getenv("TZ");
  const std::string saved = tz_before ? tz_before : "";
  struct Case {
    const char* tz;
    bool kept;
  };
  for (const Case& c : {Case{"/dev/watchdog", false}, Case{":/dev/watchdog", false},
                        Case{"Europe/../../../dev/x", false}, Case{":Europe/Berlin", true}, Case{"Europe/Berlin", true},
                        Case{"UTC0", true}, Case{"EST5EDT,M3.2.0,M11.1.0", true}}) {
    INFO(c.tz);
    ::setenv("TZ", c.tz, 1);
    ::setenv("TZDIR", "/tmp", 1);
    app::drop_library_variables();
    CHECK((std::getenv("TZ") != nullptr) == c.kept);
    CHECK(std::getenv("TZDIR") == nullptr);
  }
  if (tz_before) {
    ::setenv("TZ", saved.c_str(), 1);
  } else {
    ::unsetenv("TZ");
  }
}
