// Docker config.json credential lookup, bound to the image's registry; config files, credential
// helpers and the X-Registry-Auth header.
#include <catch2/catch.hpp>

#include <sys/inotify.h>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <vector>

#include "docker/credentials.h"
#include "docker/registry_auth.h"
#include "util/base64.h"
#include "util/secrets.h"
#include "util/subprocess.h"

using docker::find_registry_auth;
using docker::normalize_registry;

namespace {

constexpr const char* kHubKey = "https://index.docker.io/v1/";

std::string config_with(const std::string& key, const std::string& user, const std::string& password) {
  nlohmann::json j;
  j["auths"][key]["auth"] = util::base64_encode(user + ":" + password);
  return j.dump();
}

// The user name of the credentials chosen for `image_registry`, "" when none.
std::string chosen_user(const std::string& config, const std::string& repository_key,
                        const std::string& image_registry) {
  auto r = find_registry_auth(config, repository_key, image_registry);
  REQUIRE(r.ok());
  return r->credentials ? r->credentials->username : "";
}

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/sce-regauth.XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::system(("rm -rf " + path).c_str()); }
  std::string write(const std::string& name, const std::string& text, mode_t mode = 0600) const {
    const std::string p = path + "/" + name;
    {
      std::ofstream f(p, std::ios::binary | std::ios::trunc);
      f << text;
    }
    ::chmod(p.c_str(), mode);
    return p;
  }
};

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("Base64 round trips in both alphabets") {
  CHECK(util::base64_encode("user:pass") == "dXNlcjpwYXNz");
  CHECK(util::base64_encode("\xfb\xff", true) == "-_8=");
  CHECK(util::base64_decode("dXNlcjpwYXNz") == std::optional<std::string>("user:pass"));
  CHECK(util::base64_decode("-_8=") == std::optional<std::string>("\xfb\xff"));
  CHECK_FALSE(util::base64_decode("not base64!").has_value());
}

TEST_CASE("Registry names are normalised as Docker reads config keys") {
  for (const char* hub : {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com",
                          "https://index.docker.io/v1/", "http://index.docker.io/v1/", "https://docker.io",
                          "https://registry-1.docker.io/v2/", "registry.hub.docker.com/v1/",
                          "HTTPS://Index.Docker.IO/v1/", "https://registry-1.docker.io/v2/?x#y"}) {
    INFO(hub);
    CHECK(normalize_registry(hub) == "docker.io");
  }
  CHECK(normalize_registry("https://127.0.0.1:5000/v2/") == "127.0.0.1:5000");
  CHECK(normalize_registry("127.0.0.1:5000/v1/") == "127.0.0.1:5000");
  CHECK(normalize_registry("Registry.Example.COM:443") == "registry.example.com:443");
  CHECK(normalize_registry("https://user@registry.example.com/") == "registry.example.com");
  // Look-alikes stay what they are.
  CHECK(normalize_registry("docker.io.evil.example") == "docker.io.evil.example");
  CHECK(normalize_registry("evil.example/registry-1.docker.io") == "evil.example");
  CHECK(normalize_registry("docker.io:5000") == "docker.io:5000");
  // Control characters and spaces name nothing.
  CHECK(normalize_registry("docker.io\r\nX: y") == "");
  CHECK(normalize_registry("docker.io ") == "");
  CHECK(normalize_registry("https:///v1/") == "");
  CHECK(docker::registry_config_key("registry-1.docker.io") == kHubKey);
  CHECK(docker::registry_config_key("Reg.Example:5000") == "reg.example:5000");
}

TEST_CASE("Docker Hub: every spelling of a config key serves every spelling of the image's registry") {
  const std::vector<std::string> keys = {"https://index.docker.io/v1/",
                                         "index.docker.io",
                                         "docker.io",
                                         "https://docker.io",
                                         "registry-1.docker.io",
                                         "https://registry-1.docker.io/v2/",
                                         "registry.hub.docker.com",
                                         "http://registry.hub.docker.com/v1/"};
  const std::vector<std::string> images = {"docker.io", "index.docker.io", "registry-1.docker.io",
                                           "registry.hub.docker.com"};
  for (const auto& key : keys) {
    for (const auto& image : images) {
      INFO(key << " for image on " << image);
      auto r = find_registry_auth(config_with(key, "hub", "hub-password"), "", image);
      REQUIRE(r.ok());
      REQUIRE(r->credentials);
      CHECK(r->credentials->username == "hub");
      CHECK(r->credentials->server_address == kHubKey);  // the image's registry, in Docker's spelling
    }
    INFO(key << " for images elsewhere");
    for (const char* other : {"127.0.0.1:5000", "docker.io.evil.example", "docker.io:5000", "quay.io"}) {
      CHECK(chosen_user(config_with(key, "hub", "hub-password"), kHubKey, other) == "");
    }
  }
}

TEST_CASE("Private registries: scheme and path ignored, host case-insensitive, port significant") {
  for (const char* key :
       {"127.0.0.1:5000", "http://127.0.0.1:5000", "https://127.0.0.1:5000/v2/", "127.0.0.1:5000/v1/"}) {
    INFO(key);
    const std::string config = config_with(key, "local", "local-password");
    CHECK(chosen_user(config, "", "127.0.0.1:5000") == "local");
    CHECK(chosen_user(config, "", "127.0.0.1:5001") == "");
    CHECK(chosen_user(config, "", "127.0.0.1") == "");
    CHECK(chosen_user(config, "", "docker.io") == "");
  }
  const std::string named = config_with("Registry.Example.COM:443", "ex", "ex-password");
  CHECK(chosen_user(named, "", "registry.example.com:443") == "ex");
  CHECK(chosen_user(named, "", "REGISTRY.example.com:443") == "ex");
  CHECK(chosen_user(named, "", "registry.example.com") == "");
  CHECK(chosen_user(named, "", "registry.example.com:4430") == "");
}

TEST_CASE("EXECUTOR_DOCKER_REPOSITORY naming another registry yields no credentials") {
  const std::string config = R"({"auths":{
    "https://index.docker.io/v1/":{"auth":"aHViOmh1YnBhc3M="},
    "127.0.0.1:5000":{"auth":"bG9jYWw6bG9jYWxwYXNz"}}})";  // hub:hubpass, local:localpass
  // The image is on a registry the file has nothing for: neither key is used, whichever the task names.
  for (const char* key :
       {"https://index.docker.io/v1/", "127.0.0.1:5000", "http://127.0.0.1:5000/v2/", "docker.io", ""}) {
    INFO(key);
    auto r = find_registry_auth(config, key, "127.0.0.1:6000");
    REQUIRE(r.ok());
    CHECK_FALSE(r->credentials);
    CHECK(r->helper.empty());
  }
  // Naming an entry of another registry is said (the Go executor would have sent it).
  auto noted = find_registry_auth(config, "127.0.0.1:5000", "docker.io");
  REQUIRE(noted.ok());
  REQUIRE(noted->credentials);
  CHECK(noted->credentials->username == "hub");  // the image's own registry
  REQUIRE(noted->notes.size() == 1);
  CHECK_THAT(noted->notes[0], Catch::Contains("EXECUTOR_DOCKER_REPOSITORY") && Catch::Contains("127.0.0.1:5000") &&
                                  Catch::Contains("not used"));
  CHECK_THAT(noted->notes[0], !Catch::Contains("localpass") && !Catch::Contains("bG9jYWw6bG9jYWxwYXNz"));
  // The image's own registry wins over the setting, on either side.
  CHECK(chosen_user(config, "https://index.docker.io/v1/", "127.0.0.1:5000") == "local");
  // A control character in the setting makes it name nothing.
  CHECK(chosen_user(config, "127.0.0.1:5000\r\n", "127.0.0.1:6000") == "");
}

TEST_CASE("EXECUTOR_DOCKER_REPOSITORY picks among the spellings of the image's registry (the Go rule)") {
  const std::string config = R"({"auths":{
    "https://index.docker.io/v1/":{"auth":"aHViOmh1YnBhc3M="},
    "registry-1.docker.io":{"auth":"b3RoZXI6b3RoZXJwYXNz"}}})";  // hub:hubpass, other:otherpass
  CHECK(chosen_user(config, "registry-1.docker.io", "docker.io") == "other");
  CHECK(chosen_user(config, "https://index.docker.io/v1/", "docker.io") == "hub");
  // Without the setting, Docker's own key for the registry comes first.
  CHECK(chosen_user(config, "", "docker.io") == "hub");
  auto r = find_registry_auth(config, "registry-1.docker.io", "index.docker.io");
  REQUIRE(r->credentials);
  CHECK(r->credentials->source == "auths[\"registry-1.docker.io\"]");
  CHECK(r->credentials->server_address == kHubKey);
}

TEST_CASE("An empty auths entry (credsStore's placeholder) does not stop the search") {
  const std::string config =
      R"({"auths":{"127.0.0.1:5000":{},"http://127.0.0.1:5000":{"auth":"bG9jYWw6bG9jYWxwYXNz"}}})";
  CHECK(chosen_user(config, "", "127.0.0.1:5000") == "local");
  auto store = find_registry_auth(R"({"auths":{"127.0.0.1:5000":{}},"credsStore":"pass"})", "", "127.0.0.1:5000");
  REQUIRE(store.ok());
  CHECK_FALSE(store->credentials);
  CHECK(store->helper == "pass");
}

TEST_CASE("credHelpers only for the image's registry; credsStore asked only about the image's registry") {
  const std::string config =
      R"({"credHelpers":{"registry.example.com":"ecr-login","https://Other.Example:5000/v2/":"gcr"},
                                 "credsStore":"pass"})";
  auto h = find_registry_auth(config, kHubKey, "registry.example.com");
  REQUIRE(h.ok());
  CHECK(h->helper == "ecr-login");
  CHECK(h->helper_server == "registry.example.com");
  auto o = find_registry_auth(config, "", "other.example:5000");
  CHECK(o->helper == "gcr");
  CHECK(o->helper_server == "other.example:5000");
  // Elsewhere, the store is asked about the image's registry, never about the setting's.
  auto s = find_registry_auth(config, "registry.example.com", "127.0.0.1:5000");
  CHECK(s->helper == "pass");
  CHECK(s->helper_server == "127.0.0.1:5000");
  auto hub = find_registry_auth(config, "registry.example.com", "docker.io");
  CHECK(hub->helper == "pass");
  CHECK(hub->helper_server == kHubKey);
  // The setting names the image's registry: the helper is asked with its spelling (Go rule).
  auto go = find_registry_auth(R"({"credsStore":"pass"})", "index.docker.io", "docker.io");
  CHECK(go->helper_server == "index.docker.io");
  // No store, no helper for this registry: nothing to run.
  auto none =
      find_registry_auth(R"({"credHelpers":{"registry.example.com":"ecr-login"}})", "registry.example.com", "quay.io");
  CHECK(none->helper.empty());
}

TEST_CASE("Helper names that are not plain words are never run") {
  for (const char* name : {"../../tmp/evil", "/bin/sh", "a b", "", ".hidden", "x\ny"}) {
    INFO(name);
    nlohmann::json j;
    j["credsStore"] = name;
    auto r = find_registry_auth(j.dump(), "", "127.0.0.1:5000");
    REQUIRE(r.ok());
    CHECK(r->helper.empty());
  }
  CHECK(docker::valid_helper_name("ecr-login"));
  CHECK(docker::valid_helper_name("pass"));
  CHECK(docker::valid_helper_name("desktop.exe"));
}

TEST_CASE("Bad config entries are errors, not crashes, and never quote the secret") {
  CHECK_FALSE(find_registry_auth("not json", "x", "y").ok());
  CHECK_FALSE(find_registry_auth("[]", "x", "y").ok());
  auto bad = find_registry_auth(R"({"auths":{"r":{"auth":"***sekret***"}}})", "r", "r");
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message, !Catch::Contains("sekret"));
  auto nocolon = find_registry_auth(R"({"auths":{"r":{"auth":"bm9jb2xvbg=="}}})", "r", "r");  // "nocolon"
  REQUIRE_FALSE(nocolon.ok());
  CHECK_THAT(nocolon.error().message, !Catch::Contains("nocolon"));
  // Odd types are ignored.
  auto odd = find_registry_auth(R"({"auths":{"r":[1]},"credHelpers":{"r":5},"credsStore":7})", "r", "r");
  REQUIRE(odd.ok());
  CHECK_FALSE(odd->credentials);
  CHECK(odd->helper.empty());
}

TEST_CASE("Passwords, identity tokens and headers are registered as secrets when read") {
  util::clear_secrets_for_tests();
  auto r = find_registry_auth(config_with("127.0.0.1:5000", "user", "pw-registered-1"), "", "127.0.0.1:5000");
  REQUIRE(r->credentials);
  CHECK(util::contains_secret("x pw-registered-1 x"));
  CHECK(util::contains_secret(util::base64_encode("user:pw-registered-1")));
  auto t = find_registry_auth(R"({"auths":{"q.example":{"identitytoken":"idtok-registered-2"}}})", "", "q.example");
  REQUIRE(t->credentials);
  CHECK(util::contains_secret("idtok-registered-2"));
  const std::string header = docker::registry_auth_header(*r->credentials);
  CHECK(util::contains_secret(header));
  CHECK(util::scrub_secrets("X-Registry-Auth: " + header).find(header) == std::string::npos);
  // An entry for another registry is not even read.
  CHECK_FALSE(util::contains_secret("pw-unread-3"));
  (void)find_registry_auth(config_with("other.example", "u", "pw-unread-3"), "other.example", "127.0.0.1:5000");
  CHECK_FALSE(util::contains_secret("pw-unread-3"));
}

TEST_CASE("X-Registry-Auth is base64url JSON of the credentials") {
  docker::RegistryCredentials c;
  c.username = "u";
  c.password = "p?>";
  c.server_address = "127.0.0.1:5000";
  const std::string header = docker::registry_auth_header(c);
  CHECK(header.find('+') == std::string::npos);
  CHECK(header.find('/') == std::string::npos);
  auto json = nlohmann::json::parse(*util::base64_decode(header));
  CHECK(json["username"] == "u");
  CHECK(json["password"] == "p?>");
  CHECK(json["serveraddress"] == "127.0.0.1:5000");
  c.identity_token = "idtok";
  auto json2 = nlohmann::json::parse(*util::base64_decode(docker::registry_auth_header(c)));
  CHECK(json2["identitytoken"] == "idtok");
  CHECK_FALSE(json2.contains("password"));
  c.identity_token.clear();
  c.password = "\xff\xfe";  // not UTF-8: no exception
  CHECK_FALSE(docker::registry_auth_header(c).empty());
}

TEST_CASE("resolve_pull_auth: the file's entry for the image's registry, serveraddress the image's registry") {
  TempDir d;
  d.write("config.json", R"({"auths":{"https://index.docker.io/v1/":{"auth":"aHViOmh1YnBhc3M="},
                                      "http://127.0.0.1:5000/v2/":{"auth":"bG9jYWw6bG9jYWxwYXNz"}}})");
  auto env = util::map_env({{"DOCKER_CONFIG", d.path}, {"HOME", "/nonexistent"}});
  auto local = docker::resolve_pull_auth(env, kHubKey, "127.0.0.1:5000");
  REQUIRE_FALSE(local.header.empty());
  auto j = nlohmann::json::parse(*util::base64_decode(local.header));
  CHECK(j["username"] == "local");
  CHECK(j["serveraddress"] == "127.0.0.1:5000");
  CHECK_THAT(local.source, Catch::Contains("auths[\"http://127.0.0.1:5000/v2/\"]"));
  CHECK_THAT(local.source, !Catch::Contains("localpass"));
  // The attack: a registry of the task's choosing, the setting naming each entry in turn.
  for (const char* key : {kHubKey, "127.0.0.1:5000", "http://127.0.0.1:5000/v2/"}) {
    INFO(key);
    auto stolen = docker::resolve_pull_auth(env, key, "127.0.0.1:6000");
    CHECK(stolen.header.empty());
    CHECK(stolen.source == "no credentials found");
  }
}

TEST_CASE("Config files root's credentials may not come from are refused, without blocking") {
  TempDir d;
  const std::string good = d.write("good.json", R"({"auths":{}})", 0644);
  auto ok = docker::read_docker_config(good);
  REQUIRE(ok.ok());
  REQUIRE(ok->has_value());
  CHECK(**ok == R"({"auths":{}})");
  auto missing = docker::read_docker_config(d.path + "/absent.json");
  REQUIRE(missing.ok());
  CHECK_FALSE(missing->has_value());

  const std::string writable = d.write("writable.json", R"({"auths":{}})", 0666);
  auto w = docker::read_docker_config(writable);
  REQUIRE_FALSE(w.ok());
  CHECK_THAT(w.error().message, Catch::Contains("writable by group or others"));

  const std::string fifo = d.path + "/fifo.json";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // Not even opened: opening a device or a FIFO has effects of its own (inotify sees no open).
  const int watch = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  REQUIRE(watch >= 0);
  REQUIRE(::inotify_add_watch(watch, fifo.c_str(), IN_OPEN) >= 0);
  auto f = docker::read_docker_config(fifo);  // would block forever if opened for a blocking read
  REQUIRE_FALSE(f.ok());
  CHECK_THAT(f.error().message, Catch::Contains("not a regular file"));
  char events[4096];
  CHECK(::read(watch, events, sizeof events) < 0);  // EAGAIN: no open event
  ::close(watch);
  auto dir = docker::read_docker_config(d.path);
  REQUIRE_FALSE(dir.ok());

  if (::geteuid() == 0) {  // only root can give a file away
    const std::string foreign = d.write("foreign.json", R"({"auths":{}})", 0600);
    REQUIRE(::chown(foreign.c_str(), 65534, 65534) == 0);
    auto o = docker::read_docker_config(foreign);
    REQUIRE_FALSE(o.ok());
    CHECK_THAT(o.error().message, Catch::Contains("owned by uid 65534"));
    // In resolve_pull_auth, such a file is skipped with a note.
    d.write("config.json", config_with("127.0.0.1:5000", "local", "localpass"), 0600);
    REQUIRE(::chown((d.path + "/config.json").c_str(), 65534, 65534) == 0);
    auto r = docker::resolve_pull_auth(util::map_env({{"DOCKER_CONFIG", d.path}, {"HOME", "/nonexistent"}}), "",
                                       "127.0.0.1:5000");
    CHECK(r.header.empty());
    REQUIRE_FALSE(r.notes.empty());
    CHECK_THAT(r.notes[0], Catch::Contains("owned by uid 65534"));
  }
}

// A fake docker-credential-fake in a temporary directory: it records its environment and answers for
// reg.example.com:5000 only.
struct FakeHelper {
  TempDir dir;
  FakeHelper() {
    dir.write("docker-credential-fake",
              "#!/bin/sh\nread server\n"
              "env > \"$(dirname \"$0\")/env.txt\"\n"
              "echo \"$server\" > \"$(dirname \"$0\")/asked.txt\"\n"
              "if [ \"$1\" != get ]; then exit 9; fi\n"
              "case \"$server\" in\n"
              "  reg.example.com:5000) echo "
              "'{\"ServerURL\":\"elsewhere.example\",\"Username\":\"bob\",\"Secret\":\"helper-pw-1\"}' ;;\n"
              "  tok.example.com) echo "
              "'{\"ServerURL\":\"tok.example.com\",\"Username\":\"<token>\",\"Secret\":\"helper-tok-2\"}' ;;\n"
              "  *) echo 'credentials not found in native keychain'; exit 1 ;;\n"
              "esac\n",
              0755);
  }
};

TEST_CASE("Credential helpers: run from a fixed search path with a minimal environment") {
  FakeHelper h;
  h.dir.write("config.json", R"({"credHelpers":{"reg.example.com:5000":"fake","tok.example.com":"fake"}})");
  docker::AuthOptions opts;
  opts.helper_path = h.dir.path;
  auto env = util::map_env({{"DOCKER_CONFIG", h.dir.path}, {"HOME", "/nonexistent"}});
  ::setenv("MESOS_EXECUTOR_AUTHENTICATION_TOKEN", "agent-token-not-for-helpers", 1);
  ::setenv("VAULT_TOKEN_FILE", "/tmp/vault-token-not-for-helpers", 1);

  util::clear_secrets_for_tests();
  auto found = docker::resolve_pull_auth(env, kHubKey, "reg.example.com:5000", opts);
  REQUIRE_FALSE(found.header.empty());
  CHECK_THAT(found.source, Catch::Contains("docker-credential-fake") && !Catch::Contains("helper-pw-1"));
  auto decoded = nlohmann::json::parse(*util::base64_decode(found.header));
  CHECK(decoded["username"] == "bob");
  CHECK(decoded["password"] == "helper-pw-1");
  CHECK(decoded["serveraddress"] == "reg.example.com:5000");  // not the helper's ServerURL
  CHECK(util::contains_secret("helper-pw-1"));
  CHECK(util::contains_secret(found.header));

  const std::string helper_env = read_file(h.dir.path + "/env.txt");
  CHECK_THAT(helper_env, Catch::Contains(std::string("PATH=") + util::kSystemPath));
  CHECK_THAT(helper_env, !Catch::Contains("MESOS_") && !Catch::Contains("VAULT_") && !Catch::Contains("DOCKER_CONFIG"));

  auto tok = docker::resolve_pull_auth(env, "", "tok.example.com", opts);
  REQUIRE_FALSE(tok.header.empty());
  CHECK(nlohmann::json::parse(*util::base64_decode(tok.header))["identitytoken"] == "helper-tok-2");
  CHECK(util::contains_secret("helper-tok-2"));

  // Another registry: the helper is not asked.
  ::unlink((h.dir.path + "/asked.txt").c_str());
  auto none = docker::resolve_pull_auth(env, "reg.example.com:5000", "other.example.com", opts);
  CHECK(none.header.empty());
  CHECK(none.source == "no credentials found");
  CHECK(::access((h.dir.path + "/asked.txt").c_str(), F_OK) != 0);

  // credsStore: asked about the image's registry; its failure is a note.
  h.dir.write("config.json", R"({"credsStore":"fake"})");
  auto miss = docker::resolve_pull_auth(env, "reg.example.com:5000", "other.example.com", opts);
  CHECK(miss.header.empty());
  REQUIRE(miss.notes.size() == 1);
  CHECK_THAT(miss.notes[0], Catch::Contains("credentials not found"));
  CHECK(read_file(h.dir.path + "/asked.txt") == "other.example.com\n");
  ::unsetenv("MESOS_EXECUTOR_AUTHENTICATION_TOKEN");
  ::unsetenv("VAULT_TOKEN_FILE");
}

TEST_CASE("Credential helpers are never looked up in the environment's PATH") {
  FakeHelper h;
  h.dir.write("config.json", R"({"credsStore":"fake"})");
  const std::string old_path = std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin";
  ::setenv("PATH", (h.dir.path + ":" + old_path).c_str(), 1);  // what a task could set
  auto r = docker::resolve_pull_auth(util::map_env({{"DOCKER_CONFIG", h.dir.path}, {"HOME", "/nonexistent"}}), "",
                                     "reg.example.com:5000");
  ::setenv("PATH", old_path.c_str(), 1);
  CHECK(r.header.empty());
  CHECK(::access((h.dir.path + "/env.txt").c_str(), F_OK) != 0);  // never ran
  REQUIRE(r.notes.size() == 1);
  CHECK_THAT(r.notes[0], Catch::Contains("docker-credential-fake") && Catch::Contains("not found"));
}

TEST_CASE("Helper programs get descriptors 0-2 only and an explicit environment") {
  // A descriptor opened without O_CLOEXEC (as a library might) must not reach the child.
  const int leaky = ::open("/dev/null", O_RDONLY);
  REQUIRE(leaky > 2);
  const std::string probe = fmt::format("if [ -e /proc/$$/fd/{} ]; then echo leaked; else echo closed; fi; env", leaky);
  auto inherited = util::run_program({"sh", "-c", probe}, "", std::chrono::seconds(5));
  REQUIRE(inherited.ok());
  CHECK_THAT(inherited->out, Catch::StartsWith("closed\n"));
  auto explicit_env = util::run_program({"sh", "-c", probe}, "", std::chrono::seconds(5), {"ONLY=this"});
  ::close(leaky);
  REQUIRE(explicit_env.ok());
  CHECK_THAT(explicit_env->out, Catch::StartsWith("closed\n"));
  CHECK_THAT(explicit_env->out, Catch::Contains("ONLY=this"));
  CHECK_THAT(explicit_env->out, !Catch::Contains("HOME="));
  // Without PATH in the environment, system directories; a relative PATH entry is not searched.
  CHECK(util::find_program("sh", util::kSystemPath).find("/sh") != std::string::npos);
  CHECK(util::find_program("sh", ".:bin").empty());
  auto missing = util::run_program({"no-such-helper-here"}, "", std::chrono::seconds(1), {"PATH=/nonexistent"});
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.error().message, Catch::Contains("not found"));
}

// True when process `pid` is gone or a zombie.
bool process_dead(const std::string& pid) {
  const std::string stat = read_file("/proc/" + pid + "/stat");
  if (stat.empty()) return true;
  const auto close_paren = stat.rfind(')');
  return close_paren != std::string::npos && close_paren + 2 < stat.size() && stat[close_paren + 2] == 'Z';
}

TEST_CASE("A helper that does not finish is killed with what it started") {
  TempDir d;
  const auto t0 = std::chrono::steady_clock::now();
  auto r = util::run_program({"sh", "-c", "sleep 30 & echo $! > " + d.path + "/bg.pid; sleep 30"}, "",
                             std::chrono::milliseconds(500), {"PATH=/usr/bin:/bin"});
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Contains("did not finish"));
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
  std::string bg = read_file(d.path + "/bg.pid");
  while (!bg.empty() && bg.back() == '\n') bg.pop_back();
  REQUIRE_FALSE(bg.empty());
  bool dead = false;
  for (int i = 0; i < 50 && !dead; ++i) {
    dead = process_dead(bg);
    if (!dead) ::usleep(20000);
  }
  CHECK(dead);
}

TEST_CASE("A helper that closes its output but does not exit is killed at the time limit") {
  const auto t0 = std::chrono::steady_clock::now();
  auto r = util::run_program({"sh", "-c", "exec >&- 2>&-; sleep 30"}, "", std::chrono::milliseconds(300),
                             {"PATH=/usr/bin:/bin"});
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Contains("did not finish"));
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
}

// Issue 18, item 9. The files the Go executor reads credentials from, in its order: go-dockerclient's
// NewAuthConfigurationsFromDockerCfg (auth.go:77-89, v1.3.x, pinned by sidecar-executor's go.mod)
// tries cfgPaths (auth.go:60-70): $DOCKER_CONFIG/config.json when DOCKER_CONFIG is set, then, when HOME
// is set, $HOME/.docker/config.json and $HOME/.dockercfg. Go: main.go:140-171 getDockerAuthConfig
// looks once, then sets HOME=/root (main.go:161) and looks again. Ours: both lookups, in that order,
// each file once.
TEST_CASE("Config files: Go's two lookups, ~/.dockercfg included, in order") {
  struct Case {
    std::optional<std::string> docker_config, home;
    std::vector<std::string> go_first, go_second;  // Go: auth.go:60-70, the lookup, then HOME=/root
  };
  const std::vector<Case> cases = {
      {"/etc/dc",
       "/home/ops",
       {"/etc/dc/config.json", "/home/ops/.docker/config.json", "/home/ops/.dockercfg"},
       {"/etc/dc/config.json", "/root/.docker/config.json", "/root/.dockercfg"}},
      {std::nullopt,
       "/home/ops",
       {"/home/ops/.docker/config.json", "/home/ops/.dockercfg"},
       {"/root/.docker/config.json", "/root/.dockercfg"}},
      {std::nullopt,
       "/root",
       {"/root/.docker/config.json", "/root/.dockercfg"},
       {"/root/.docker/config.json", "/root/.dockercfg"}},
      {"/etc/dc",
       std::nullopt,  // no HOME: only DOCKER_CONFIG, then /root
       {"/etc/dc/config.json"},
       {"/etc/dc/config.json", "/root/.docker/config.json", "/root/.dockercfg"}},
      {std::nullopt, std::nullopt, {}, {"/root/.docker/config.json", "/root/.dockercfg"}},
  };
  for (const auto& c : cases) {
    INFO("DOCKER_CONFIG " << c.docker_config.value_or("(unset)") << ", HOME " << c.home.value_or("(unset)"));
    std::map<std::string, std::string> vars;
    if (c.docker_config) vars["DOCKER_CONFIG"] = *c.docker_config;
    if (c.home) vars["HOME"] = *c.home;
    std::vector<std::string> want;
    for (const auto* lookup : {&c.go_first, &c.go_second}) {
      for (const auto& p : *lookup) {
        if (std::find(want.begin(), want.end(), p) == want.end()) want.push_back(p);
      }
    }
    CHECK(docker::docker_config_paths(util::map_env(vars)) == want);
  }
}

// Go: auth.go:106-125 parseDockerConfig reads any of the files as {"auths": {...}} when that object
// has entries (:114-117), else as the legacy object of registry → {auth, email} (:120-124); auth.go:
// 128-140 decodes `auth` as base64 user:password. Go then takes the entry whose key is exactly
// EXECUTOR_DOCKER_REPOSITORY (main.go:145). Ours reads both layouts the same way and takes the entry
// of the image's registry.
TEST_CASE("The legacy .dockercfg layout, read as go-dockerclient reads it") {
  const std::string reg = "127.0.0.1:5000";
  auto entry = [](const std::string& user) {
    return nlohmann::json{{"auth", util::base64_encode(user + ":pw-" + user)}, {"email", user + "@example.com"}};
  };
  struct Case {
    const char* what;
    nlohmann::json doc;
    std::string go_user;  // the user Go's lookup of EXECUTOR_DOCKER_REPOSITORY = reg finds
    std::string our_user;
    const char* why = "";  // when they differ: why, on purpose
  };
  const std::vector<Case> cases = {
      // Go: auth.go:120-124 (no auths wrapper)
      {"legacy layout", {{reg, entry("legacy")}}, "legacy", "legacy"},
      // Go: auth.go:114-116
      {"config.json layout", {{"auths", {{reg, entry("wrapped")}}}}, "wrapped", "wrapped"},
      // Go: auth.go:115-116 (auths with entries wins over members of the legacy layout)
      {"both layouts", {{"auths", {{reg, entry("wrapped")}}}, {reg, entry("legacy")}}, "wrapped", "wrapped"},
      // Go: auth.go:115 (an empty auths falls through to the legacy layout)
      {"empty auths", {{"auths", nlohmann::json::object()}, {reg, entry("legacy")}}, "legacy", "legacy"},
      // Go: auth.go:120-124 and main.go:145 (the exact key)
      {"legacy, Docker Hub's key", {{kHubKey, entry("hub")}, {reg, entry("legacy")}}, "legacy", "legacy"},
      // Go: main.go:145 (only the exact key; ours normalises the spelling, see the tests above)
      {"legacy, URL spelling",
       {{"http://" + reg + "/v1/", entry("legacy")}},
       "",
       "legacy",
       "a key's spellings of the image's registry are one registry (README, Differences)"},
  };
  for (const auto& c : cases) {
    INFO(c.what << ": " << c.doc.dump());
    CHECK(chosen_user(c.doc.dump(), reg, reg) == c.our_user);
    CHECK((c.go_user == c.our_user) == std::string(c.why).empty());
  }
  // The legacy layout still gives credentials only to the image's own registry.
  const std::string legacy = nlohmann::json{{reg, entry("legacy")}, {kHubKey, entry("hub")}}.dump();
  CHECK(chosen_user(legacy, reg, "127.0.0.1:6000").empty());
  CHECK(chosen_user(legacy, "", "docker.io") == "hub");
  // Its source names the layout; a bad entry is an error that does not quote the secret.
  auto found = find_registry_auth(legacy, "", reg);
  REQUIRE(found.ok());
  REQUIRE(found->credentials);
  CHECK(found->credentials->source == "\"127.0.0.1:5000\" (.dockercfg format)");
  CHECK(found->credentials->password == "pw-legacy");
  auto bad = find_registry_auth(R"({"127.0.0.1:5000":{"auth":"bm9jb2xvbg=="}})", "", reg);  // "nocolon"
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message, Catch::Contains("not user:password"));
  CHECK_THAT(bad.error().message, !Catch::Contains("nocolon"));
  // config.json's other sections are not registry entries.
  auto other = find_registry_auth(R"({"HttpHeaders":{"User-Agent":"x"},"psFormat":"table"})", "", reg);
  REQUIRE(other.ok());
  CHECK_FALSE(other->credentials);
}

TEST_CASE("resolve_pull_auth reads $HOME/.dockercfg, under the same file rules as config.json") {
  TempDir home;
  const std::string legacy =
      R"({"127.0.0.1:5000":{"auth":")" + util::base64_encode("cfg-user:cfg-pass") + R"(","email":"ops@example.com"}})";
  const std::string path = home.write(".dockercfg", legacy, 0600);
  auto env = util::map_env({{"HOME", home.path}});
  auto r = docker::resolve_pull_auth(env, kHubKey, "127.0.0.1:5000");
  REQUIRE_FALSE(r.header.empty());
  auto j = nlohmann::json::parse(*util::base64_decode(r.header));
  CHECK(j["username"] == "cfg-user");
  CHECK(j["serveraddress"] == "127.0.0.1:5000");
  CHECK(r.source == "\"127.0.0.1:5000\" (.dockercfg format) in " + path);

  // A config.json before it without this registry's entry does not hide it (Go stops at the first
  // file that parses, main.go:143 + auth.go:84-85, and then retries only with HOME=/root).
  ::mkdir((home.path + "/.docker").c_str(), 0700);
  home.write(".docker/config.json", config_with("other.example.com", "o", "op"), 0600);
  auto behind = docker::resolve_pull_auth(env, kHubKey, "127.0.0.1:5000");
  CHECK(behind.source == "\"127.0.0.1:5000\" (.dockercfg format) in " + path);
  // …but one with the entry comes first.
  home.write(".docker/config.json", config_with("127.0.0.1:5000", "first", "fp"), 0600);
  auto first = docker::resolve_pull_auth(env, kHubKey, "127.0.0.1:5000");
  CHECK_THAT(first.source, Catch::EndsWith(home.path + "/.docker/config.json"));
  ::unlink((home.path + "/.docker/config.json").c_str());

  // Writable by group or others: not used, and the note says why.
  ::chmod(path.c_str(), 0620);
  auto refused = docker::resolve_pull_auth(env, kHubKey, "127.0.0.1:5000");
  CHECK(refused.header.empty());
  REQUIRE_FALSE(refused.notes.empty());
  CHECK_THAT(refused.notes[0], Catch::Contains(path) && Catch::Contains("writable by group or others"));
  for (const auto& n : refused.notes) CHECK_THAT(n, !Catch::Contains("cfg-pass"));
}
