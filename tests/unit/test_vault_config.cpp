// Vault settings from the standard variables, and vault:// references.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "util/http_safe.h"
#include "util/secrets.h"
#include "vault/vault.h"

TEST_CASE("vault:// references: path, default field, ?key=") {
  auto r = vault::parse_reference("vault://secret/db/pass");
  REQUIRE(r);
  CHECK(r->path == "secret/db/pass");
  CHECK(r->key == "value");
  r = vault::parse_reference("vault://kv/app?key=password");
  REQUIRE(r);
  CHECK(r->path == "kv/app");
  CHECK(r->key == "password");
  r = vault::parse_reference("vault://secret/x/?other=1&key=k");
  REQUIRE(r);
  CHECK(r->path == "secret/x");
  CHECK(r->key == "k");
  CHECK_FALSE(vault::parse_reference("secret/db"));
  CHECK_FALSE(vault::parse_reference("https://vault/x"));
  CHECK_FALSE(vault::parse_reference(""));
}

TEST_CASE("Vault client settings: defaults, values, and errors naming the variable") {
  auto c = vault::config_from_env(util::map_env({}));
  REQUIRE(c);
  CHECK(c->addr == "https://127.0.0.1:8200");
  CHECK(c->max_retries == 2);
  CHECK(c->client_timeout == std::chrono::seconds(60));
  CHECK(c->ttl_s == 86400);
  CHECK_FALSE(c->skip_verify);

  c = vault::config_from_env(util::map_env({{"VAULT_ADDR", "http://vault:8200/"},
                                            {"VAULT_SKIP_VERIFY", "true"},
                                            {"VAULT_MAX_RETRIES", "5"},
                                            {"VAULT_CLIENT_TIMEOUT", "1m30s"},
                                            {"VAULT_TTL", "3600"},
                                            {"VAULT_NAMESPACE", "team"},
                                            {"VAULT_TOKEN_FILE", "/tmp/t"}}));
  REQUIRE(c);
  CHECK(c->addr == "http://vault:8200");
  CHECK(c->skip_verify);
  CHECK(c->max_retries == 5);
  CHECK(c->client_timeout == std::chrono::seconds(90));
  CHECK(c->ttl_s == 3600);
  CHECK(c->namespace_ == "team");
  CHECK(vault::config_from_env(util::map_env({{"VAULT_CLIENT_TIMEOUT", "45"}}))->client_timeout ==
        std::chrono::seconds(45));

  struct Bad {
    const char* var;
    const char* value;
  };
  for (const Bad& b : {Bad{"VAULT_ADDR", "vault:8200"}, Bad{"VAULT_SKIP_VERIFY", "maybe"},
                       Bad{"VAULT_MAX_RETRIES", "-1"}, Bad{"VAULT_CLIENT_TIMEOUT", "soon"}, Bad{"VAULT_TTL", "1d"}}) {
    INFO(b.var << "=" << b.value);
    auto r = vault::config_from_env(util::map_env({{b.var, b.value}}));
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains(b.var));
  }
}

TEST_CASE("No token and no credentials: the Go executor's error, without touching the network") {
  vault::Config cfg;
  cfg.addr = "http://127.0.0.1:1";
  vault::Client client(cfg);
  auto t = vault::obtain_token(client);
  REQUIRE_FALSE(t);
  CHECK_THAT(t.error().message, Catch::Contains("Must set VAULT_USERNAME and VAULT_PASSWORD"));
}

// ---- Token files, control characters, deadlines, registered secrets (issue 16) ----

namespace {

using namespace std::chrono_literals;

// A private directory for one test, removed at the end.
struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/sce-vault-unit.XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string operator/(const std::string& name) const { return path + "/" + name; }
  std::set<std::string> entries() const {
    std::set<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(path)) out.insert(e.path().filename().string());
    return out;
  }
  std::string path;
};

void put(const std::string& path, const std::string& content, mode_t mode) {
  { std::ofstream(path, std::ios::trunc) << content; }
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A TCP listener that never accepts: the kernel completes the handshake, the request is sent, and no
// answer ever comes (only a deadline or a cancellation ends the request).
struct SilentServer {
  SilentServer() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd, 8) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port = ntohs(a.sin_port);
  }
  ~SilentServer() { ::close(fd); }
  std::string addr() const { return "http://127.0.0.1:" + std::to_string(port); }
  int fd = -1;
  int port = 0;
};

}  // namespace

TEST_CASE("Token text: one line of visible ASCII, one trailing newline allowed") {
  CHECK_FALSE(vault::token_text_problem("hvs.CAESIabc-_x"));
  CHECK_FALSE(vault::token_text_problem("hvs.CAESIabc-_x\n"));
  struct Bad {
    std::string text;
    const char* want;
  };
  for (const Bad& b : {Bad{"", "empty"}, Bad{"\n", "empty"}, Bad{"tok\nsecond", "more than one line"},
                       Bad{"tok\n\n", "more than one line"}, Bad{"tok\r\n", "carriage return"},
                       Bad{"tok\r\nX-Evil: 1", "more than one line"}, Bad{std::string("t\0k", 3), "control character"},
                       Bad{"to\tk", "control character"}, Bad{"to k", "space"}, Bad{"tok\xc3\xa9", "non-ASCII"}}) {
    INFO(util::escape_control_chars(b.text));
    auto p = vault::token_text_problem(b.text);
    REQUIRE(p);
    CHECK_THAT(*p, Catch::Contains(b.want));
  }
}

TEST_CASE("Token file read: absent is no token; a proper file gives its line, registered as a secret") {
  util::clear_secrets_for_tests();
  TempDir d;
  const std::string f = d / "token";
  const std::string content = "hvs.unit-token-content";
  SECTION("absent: no token, no error") {
    auto r = vault::read_token_file(f);
    REQUIRE(r);
    CHECK_FALSE(*r);
  }
  SECTION("a proper file: its line, registered as a secret") {
    put(f, content + "\n", 0600);
    auto r = vault::read_token_file(f);
    REQUIRE(r);
    REQUIRE(*r);
    CHECK((*r)->value == content);
    CHECK(util::contains_secret(content));
    put(f, content, 0400);  // no newline, read-only: fine too
    CHECK(vault::read_token_file(f));
  }
}

TEST_CASE("Token file read: each check refuses, naming the path and the check, never the content") {
  util::clear_secrets_for_tests();
  TempDir d;
  const std::string f = d / "token";
  const std::string content = "hvs.unit-token-content";
  struct Case {
    const char* name;
    const char* want;
  };
  const auto c =
      GENERATE(Case{"0644", "mode 0644"}, Case{"0640", "mode 0640"}, Case{"0604", "mode 0604"},
               Case{"two-lines", "more than one line"}, Case{"crlf", "carriage return"},
               Case{"symlink", "symbolic link"}, Case{"directory", "not a regular file"},
               Case{"fifo", "not a regular file"}, Case{"big", "larger than 4096 bytes"},
               Case{"hardlink", "2 hard links"}, Case{"empty", "empty"}, Case{"foreign", "owned by uid 65534"});
  const std::string name = c.name;
  INFO(name);
  if (name == "foreign" && ::geteuid() != 0) {
    WARN("not root: cannot give a file away, the owner check is not exercised");
    return;
  }
  if (name == "0644") put(f, content + "\n", 0644);
  if (name == "0640") put(f, content + "\n", 0640);
  if (name == "0604") put(f, content + "\n", 0604);
  if (name == "two-lines") put(f, content + "\nmore\n", 0600);
  if (name == "crlf") put(f, content + "\r\n", 0600);
  if (name == "symlink") {
    put(d / "real", content + "\n", 0600);
    REQUIRE(::symlink((d / "real").c_str(), f.c_str()) == 0);
  }
  if (name == "directory") REQUIRE(::mkdir(f.c_str(), 0700) == 0);
  if (name == "fifo") REQUIRE(::mkfifo(f.c_str(), 0600) == 0);
  if (name == "big") put(f, std::string(5000, 'a'), 0600);
  if (name == "hardlink") {
    put(d / "other", content + "\n", 0600);
    REQUIRE(::link((d / "other").c_str(), f.c_str()) == 0);
  }
  if (name == "empty") put(f, "", 0600);
  if (name == "foreign") {
    put(f, content + "\n", 0600);
    REQUIRE(::chown(f.c_str(), 65534, 65534) == 0);
  }
  auto r = vault::read_token_file(f);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message, Catch::Contains(f));
  CHECK_THAT(r.error().message, Catch::Contains(c.want));
  CHECK_THAT(r.error().message, !Catch::Contains(content));
  CHECK_FALSE(util::contains_secret(content));
}

TEST_CASE("Token file write: mkstemp + rename, 0600, only over a file we would read, nothing left behind") {
  TempDir d;
  const std::string f = d / "token";
  REQUIRE(vault::write_token_file(f, "hvs.first"));
  CHECK(slurp(f) == "hvs.first");
  struct stat st {};
  REQUIRE(::lstat(f.c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK((st.st_mode & 07777) == 0600);
  CHECK(st.st_uid == ::geteuid());
  // An accepted (e.g. expired) cache is replaced.
  REQUIRE(vault::write_token_file(f, "hvs.second"));
  CHECK(slurp(f) == "hvs.second");
  CHECK(d.entries() == std::set<std::string>{"token"});
  // What the task could have named instead of a cache is left alone.
  put(d / "world-readable", "hvs.x\n", 0644);
  put(d / "key", "-----BEGIN KEY-----\nabc\n-----END KEY-----\n", 0600);
  put(d / "target", "untouched\n", 0600);
  REQUIRE(::symlink((d / "target").c_str(), (d / "link").c_str()) == 0);
  for (const char* name : {"world-readable", "key", "link"}) {
    INFO(name);
    const std::string before = slurp(d / name);
    auto w = vault::write_token_file(d / name, "hvs.third");
    REQUIRE_FALSE(w);
    CHECK_THAT(w.error().message, Catch::Contains("not replaced"));
    CHECK(slurp(d / name) == before);
  }
  CHECK(slurp(d / "target") == "untouched\n");
  // A token that is not one clean line is never written.
  auto bad = vault::write_token_file(d / "fresh", "hvs.a\n* * * * * root sh");
  REQUIRE_FALSE(bad);
  CHECK_FALSE(std::filesystem::exists(d / "fresh"));
  CHECK(d.entries() == std::set<std::string>{"token", "world-readable", "key", "target", "link"});
}

TEST_CASE("Control characters: a token, path, address or namespace holding one is refused before any request") {
  util::clear_secrets_for_tests();
  const std::string evil = "hvs.tok\r\nX-Injected: 1";
  auto c = vault::config_from_env(util::map_env({{"VAULT_TOKEN", evil}}));
  REQUIRE_FALSE(c);
  CHECK_THAT(c.error().message, Catch::Contains("VAULT_TOKEN"));
  CHECK_THAT(c.error().message, Catch::Contains("control character"));
  CHECK_THAT(c.error().message, !Catch::Contains("hvs.tok"));
  CHECK(util::contains_secret(evil));  // registered all the same
  c = vault::config_from_env(util::map_env({{"VAULT_ADDR", "http://vault:8200\r\nX: y"}}));
  REQUIRE_FALSE(c);
  CHECK_THAT(c.error().message, Catch::Contains("\\x0d\\x0a"));
  c = vault::config_from_env(util::map_env({{"VAULT_NAMESPACE", "team\nX: y"}}));
  REQUIRE_FALSE(c);
  CHECK_THAT(c.error().message, Catch::Contains("VAULT_NAMESPACE"));
  c = vault::config_from_env(
      util::map_env({{"VAULT_USERNAME", "user\r\nname-canary"}, {"VAULT_PASSWORD", "pw-canary-x"}}));
  REQUIRE_FALSE(c);
  CHECK_THAT(c.error().message, Catch::Contains("VAULT_USERNAME"));
  CHECK_THAT(c.error().message, !Catch::Contains("name-canary"));
  CHECK(util::contains_secret("pw-canary-x"));

  // The client itself refuses them too (defence in depth): a silent server would hang any request sent.
  SilentServer server;
  vault::Config cfg;
  cfg.addr = server.addr();
  cfg.max_retries = 0;
  cfg.client_timeout = 30s;
  vault::Client client(cfg);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = client.call("GET", "/v1/secret/x", nullptr, evil);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message, Catch::Contains("X-Vault-Token holds a control character"));
  CHECK_THAT(r.error().message, !Catch::Contains("hvs.tok"));
  r = client.call("GET", "/v1/secret/x\r\nGET /v1/sys/seal HTTP/1.1", nullptr, "hvs.ok");
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message, Catch::Contains("control character"));
  auto s = vault::read_secret(client, "hvs.ok", vault::Reference{"secret/a\r\nb", "value"});
  REQUIRE_FALSE(s);
  CHECK_THAT(s.error().message, Catch::Contains("Vault path \"secret/a\\x0d\\x0ab\" holds a control character"));
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);  // nothing waited on the server
}

TEST_CASE("Deadlines: a request to a server that never answers ends at the deadline or on cancel") {
  SilentServer server;
  vault::Config cfg;
  cfg.addr = server.addr();
  cfg.max_retries = 0;
  cfg.client_timeout = 60s;  // per read: would wait a minute
  SECTION("the caller's deadline") {
    vault::Client client(cfg);
    const auto t0 = std::chrono::steady_clock::now();
    client.set_deadline(t0 + 300ms);
    auto r = client.call("GET", "/v1/secret/x", nullptr, "hvs.ok");
    const auto took = std::chrono::steady_clock::now() - t0;
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("deadline"));
    CHECK(took >= 250ms);
    CHECK(took < 2s);
    // Past the deadline, no request starts at all (retries included). (The first call may end a
    // millisecond before the deadline, its own bound being cut to whole milliseconds.)
    std::this_thread::sleep_until(t0 + 310ms);
    auto late = client.call("GET", "/v1/secret/x", nullptr, "hvs.ok");
    REQUIRE_FALSE(late);
    CHECK_THAT(late.error().message, Catch::Contains("no time left"));
  }
  SECTION("the configured timeout is a total, retries each get their own") {
    cfg.client_timeout = 400ms;
    cfg.max_retries = 1;
    vault::Client client(cfg);
    client.set_backoff(10ms);
    const auto t0 = std::chrono::steady_clock::now();
    auto r = client.call("GET", "/v1/secret/x", nullptr, "hvs.ok");
    const auto took = std::chrono::steady_clock::now() - t0;
    REQUIRE_FALSE(r);
    CHECK(took >= 750ms);
    CHECK(took < 3s);
  }
  SECTION("cancellation from another thread") {
    util::CancelFlag cancel;
    vault::Client client(cfg);
    client.set_cancel(&cancel);
    std::thread stopper([&] {
      std::this_thread::sleep_for(200ms);
      cancel.set();
    });
    const auto t0 = std::chrono::steady_clock::now();
    auto r = client.call("GET", "/v1/secret/x", nullptr, "hvs.ok");
    const auto took = std::chrono::steady_clock::now() - t0;
    stopper.join();
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("cancelled"));
    CHECK(took < 2s);
  }
}

TEST_CASE("Secrets: cancel() and cleanup() end a resolve blocked on a silent Vault promptly") {
  SilentServer server;
  vault::Secrets secrets(util::map_env({{"VAULT_ADDR", server.addr()},
                                        {"VAULT_TOKEN", "hvs.unit-secrets"},
                                        {"VAULT_MAX_RETRIES", "5"},
                                        {"VAULT_CLIENT_TIMEOUT", "60s"}}),
                         {}, [](std::string) {});
  util::Result<vault::SecretEnv> result = util::make_error("not run");
  std::thread resolver([&] { result = secrets.resolve({"DB=vault://secret/db"}); });
  std::this_thread::sleep_for(300ms);
  const auto t0 = std::chrono::steady_clock::now();
  secrets.cleanup();
  resolver.join();
  CHECK(std::chrono::steady_clock::now() - t0 < 1500ms);
  REQUIRE_FALSE(result);
  CHECK_THAT(result.error().message, Catch::Contains("DB"));
  CHECK_THAT(result.error().message, Catch::Contains("cancelled"));
  auto again = secrets.resolve({"DB=vault://secret/db"});
  REQUIRE_FALSE(again);
  CHECK_THAT(again.error().message, Catch::Contains("cancelled"));
}

TEST_CASE("Secret paths: Vault's own endpoints and dot segments never, the site's prefixes when set") {
  for (const char* bad : {"auth/token/lookup-self", "/sys/mounts", "identity/entity", "cubbyhole/x", "secret/../auth/x",
                          "secret/./x", "secret/%2e%2e/x", ""}) {
    INFO(bad);
    CHECK_FALSE(vault::check_secret_path(bad, std::nullopt));
  }
  CHECK(vault::check_secret_path("secret/app/db", std::nullopt));
  CHECK(vault::check_secret_path("kv/data/app", std::nullopt));
  const std::optional<std::vector<std::string>> site = std::vector<std::string>{"secret/app", "kv/team/"};
  CHECK(vault::check_secret_path("secret/app/db", site));
  CHECK(vault::check_secret_path("kv/team/x", site));
  auto out = vault::check_secret_path("secret/application", site);  // whole segments only
  REQUIRE_FALSE(out);
  CHECK_THAT(out.error().message, Catch::Contains("policy.vault_path_prefixes"));
  CHECK_FALSE(vault::check_secret_path("kv/other", site));
}
