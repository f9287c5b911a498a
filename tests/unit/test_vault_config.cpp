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
  REQUIRE(*r);
  CHECK((*r)->path == "secret/db/pass");
  CHECK((*r)->key == "value");
  r = vault::parse_reference("vault://kv/app?key=password");
  REQUIRE((r && *r));
  CHECK((*r)->path == "kv/app");
  CHECK((*r)->key == "password");
  r = vault::parse_reference("vault://secret/x/?other=1&key=k");
  REQUIRE((r && *r));
  CHECK((*r)->path == "secret/x");
  CHECK((*r)->key == "k");
  for (const char* not_a_reference : {"secret/db", "https://vault/x", "", "VAULT://secret/x"}) {
    INFO(not_a_reference);
    auto n = vault::parse_reference(not_a_reference);
    REQUIRE(n);
    CHECK_FALSE(*n);
  }
}

// Issue 18 item 8, the differential data: how the Go executor reads a reference. ReadSecretValue
// (vault/vault.go, the AWS-role version) does url.Parse(ref) (:181), refuses what url.Parse refuses with
// "Unable to parse Vault URL: '<ref>'" (:182-183), reads path = parsed.Host + parsed.Path (:190; net/url
// percent-decodes Path), and the field q["key"][0] of parsed.Query() (:201-207; form-decoded, the first
// "key", pairs that do not decode or hold ';' dropped), "value" without one (:35, :203-205). Where ours
// differs on purpose, `ours_path` says what we do and `why` says why.
TEST_CASE("vault:// references read as the Go executor reads them (percent-decoded path, first key)") {
  struct Row {
    const char* ref;
    const char* go_path;  // nullptr: Go refuses the reference
    const char* go_key;
    const char* ours_path;  // nullptr: as Go
    const char* why;
  };
  const Row rows[] = {
      // Go: vault/vault.go:190 (Host + Path)
      {"vault://secret/db/pass", "secret/db/pass", "value", nullptr, ""},
      // Go: vault/vault.go:181,190 (net/url decodes the path)
      {"vault://secret/%61pp/db", "secret/app/db", "value", nullptr, ""},
      {"vault://secret/a%2Fb", "secret/a/b", "value", nullptr, ""},
      {"vault://secret/db%20pass?key=us%65r", "secret/db pass", "user", nullptr, ""},
      // Go: vault/vault.go:201-207 (Query(): form decoding, first value)
      {"vault://secret/db?key=a+b%21", "secret/db", "a b!", nullptr, ""},
      {"vault://secret/db?key=first&key=second", "secret/db", "first", nullptr, ""},
      {"vault://secret/db?key=", "secret/db", "", nullptr, ""},
      {"vault://secret/db?key=%zz", "secret/db", "value", nullptr, ""},
      {"vault://secret/db?a;b=1&key=k", "secret/db", "k", nullptr, ""},
      // Go: vault/vault.go:181 (url.Parse drops the fragment and the user information)
      {"vault://secret/db#frag?key=x", "secret/db", "value", nullptr, ""},
      {"vault://reader@secret/db", "secret/db", "value", nullptr, ""},
      // Go: vault/vault.go:182-183 (a malformed escape: "Unable to parse Vault URL")
      {"vault://secret/db%zz", nullptr, "", nullptr, ""},
      {"vault://secret/db%4", nullptr, "", nullptr, ""},
      // Go: vault/vault.go:182-183 (net/url refuses an escape of an ASCII byte in the host part)
      {"vault://%61uth/token/lookup-self", nullptr, "", "auth/token/lookup-self",
       "decoded like the rest; check_secret_path then refuses auth/"},
      // Go: vault/vault.go:190 keeps a trailing slash (GET /v1/secret/x/)
      {"vault://secret/x/", "secret/x/", "value", "secret/x", "trailing slashes dropped, as before"},
  };
  for (const auto& row : rows) {
    INFO(row.ref);
    auto r = vault::parse_reference(row.ref);
    const char* want = row.ours_path ? row.ours_path : row.go_path;
    if (!want) {
      REQUIRE_FALSE(r);
      CHECK_THAT(r.error().message, Catch::Contains("Unable to parse Vault URL"));
      CHECK_THAT(r.error().message, Catch::Contains(row.ref));
      continue;
    }
    REQUIRE(r);
    REQUIRE(*r);
    CHECK((*r)->path == want);
    if (row.go_path) CHECK((*r)->key == row.go_key);
  }
  // A decoded '/' is a separator on the wire too: what is sent is what was checked.
  CHECK(vault::wire_path("secret/a b/c?d#e") == "secret/a%20b/c%3Fd%23e");
  CHECK(vault::wire_path("secret//db/") == "secret/db");
  CHECK(vault::wire_path("kv/data/app") == "kv/data/app");
}

TEST_CASE("Percent-decoding cannot get around the path rules: they apply to the decoded path") {
  const std::optional<std::vector<std::string>> site = std::vector<std::string>{"secret/app"};
  struct Row {
    const char* ref;
    bool allowed;
    const char* why;
  };
  const Row rows[] = {
      {"vault://%61uth/token/lookup-self?key=id", false, "auth/ is Vault's own"},
      {"vault://%73ys/mounts", false, "sys/ is Vault's own"},
      {"vault://secret/app/..%2F..%2Fauth/token/lookup-self", false, "\"..\""},
      {"vault://secret/app/%2E%2E/other", false, "\"..\""},
      {"vault://secret/app%2F..%2Fother/x", false, "\"..\""},
      {"vault://secret/%2561pp/x", false, "'%'"},  // %25 decodes to a literal '%'
      {"vault://secret/other/x", false, "policy.vault_path_prefixes"},
      {"vault://secret/%61pp/db", true, ""},  // decoded, it is below secret/app
      {"vault://secret%2Fapp/db", true, ""},
  };
  for (const auto& row : rows) {
    INFO(row.ref);
    auto r = vault::parse_reference(row.ref);
    REQUIRE((r && *r));
    auto ok = vault::check_secret_path((*r)->path, site);
    CHECK(static_cast<bool>(ok) == row.allowed);
    if (!ok) CHECK_THAT(ok.error().message, Catch::Contains(row.why));
  }
  // Through Secrets::resolve: refused before any request (the address is a port nobody listens on,
  // so a request would fail with another message).
  vault::Secrets secrets(util::map_env({{"VAULT_ADDR", "http://127.0.0.1:1"}, {"VAULT_TOKEN", "hvs.unit"}}),
                         vault::AwsOptions{}, [](std::string) {});
  secrets.restrict_paths(site);
  auto res = secrets.resolve({"TOKEN=vault://%61uth/token/lookup-self?key=id"});
  REQUIRE_FALSE(res);
  CHECK_THAT(res.error().message, Catch::Contains("env TOKEN"));
  CHECK_THAT(res.error().message, Catch::Contains("auth/ is Vault's own"));
  res = secrets.resolve({"BAD=vault://secret/app/x%zz"});
  REQUIRE_FALSE(res);
  CHECK_THAT(res.error().message, Catch::Contains("env BAD: Unable to parse Vault URL"));
}

TEST_CASE("Secrets::has_work: only a Vault reference (or one that does not parse) or the AWS role needs Vault") {
  const auto env = util::map_env({{"VAULT_ADDR", "http://127.0.0.1:1"}, {"VAULT_TOKEN", "hvs.unit"}});
  vault::Secrets plain(env, vault::AwsOptions{}, [](std::string) {});
  CHECK_FALSE(plain.has_work({}));
  CHECK_FALSE(plain.has_work({"A=1", "B=", "C", "D=http://vault/x", "E= vault://secret/a?key=b"}));
  CHECK(plain.has_work({"A=1", "TOKEN=vault://secret/app/x?key=token"}));
  CHECK(plain.has_work({"BAD=vault://secret/app/x%zz"}));  // resolve() reports it
  vault::AwsOptions aws;
  aws.role = "app-role";
  vault::Secrets with_role(env, aws, [](std::string) {});
  CHECK(with_role.has_work({"A=1"}));
}

// Go: vault/vault_auth.go:20 (StartupGracePeriod = 600), :229 (Renew(token, ttl+StartupGracePeriod)),
// vault/vault.go:37 (DefaultAWSRoleTTL = 3600), :105-116 (the parent token's TTL: EXECUTOR_AWS_TTL,
// else 3600; Go never looks at EXECUTOR_AWS_ROLE_TTL for it).
TEST_CASE("The AWS role's parent token is renewed to its TTL + 600 s, as in Go (the role TTL when longer)") {
  using std::chrono::hours;
  using std::chrono::seconds;
  CHECK(vault::kStartupGraceS == 600);
  struct Row {
    vault::Duration role_ttl;
    std::optional<vault::Duration> executor_aws_ttl;
    long go_increment;  // what Go asks
    long ours;          // what we ask
  };
  const Row rows[] = {
      {seconds(0), std::nullopt, 3600 + 600, 3600 + 600},      // Go: vault/vault.go:105, vault_auth.go:229
      {seconds(0), hours(8), 8 * 3600 + 600, 8 * 3600 + 600},  // Go: vault/vault.go:111-116
      // Deliberate: Go's token (70 min) would take the 8 h lease down with it after 70 minutes.
      {hours(8), std::nullopt, 3600 + 600, 8 * 3600 + 600},
      {hours(8), hours(10), 10 * 3600 + 600, 10 * 3600 + 600},
      // Deliberate: never below the role's TTL (Go: 1800 + 600).
      {seconds(0), seconds(1800), 1800 + 600, 3600 + 600},
  };
  for (const auto& row : rows) {
    INFO(row.role_ttl.count() << " " << (row.executor_aws_ttl ? row.executor_aws_ttl->count() : -1));
    CHECK(vault::aws_parent_token_ttl_s(row.role_ttl, row.executor_aws_ttl) + vault::kStartupGraceS == row.ours);
  }
}

TEST_CASE("Token TTL in a login or renewal answer: auth.lease_duration, nothing else") {
  auto r = vault::response_from(200, R"({"auth":{"client_token":"t","lease_duration":4200},"lease_duration":0})");
  REQUIRE(vault::token_ttl_of(r));
  CHECK(*vault::token_ttl_of(r) == std::chrono::seconds(4200));
  for (const char* body : {R"({"lease_duration":4200})", R"({"auth":{"lease_duration":"4200"}})",
                           R"({"auth":{"lease_duration":-1}})", R"({"auth":null})", "[]", "garbage"}) {
    INFO(body);
    CHECK_FALSE(vault::token_ttl_of(vault::response_from(200, body)));
  }
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

TEST_CASE("AWS expiry jitter: the stop falls in the last part of the credentials' usable life") {
  using std::chrono::seconds;
  const vault::Duration margin = seconds(360);
  // A 1 h lease: 3240 s usable; 10 % jitter moves the stop up to 324 s earlier.
  CHECK(vault::aws_stop_after(seconds(3600), margin, 10, 0.0) == seconds(3240));
  CHECK(vault::aws_stop_after(seconds(3600), margin, 10, 0.5) == seconds(3240 - 162));
  CHECK(vault::aws_stop_after(seconds(3600), margin, 10, 0.999999) > seconds(3240 - 324));
  CHECK(vault::aws_stop_after(seconds(3600), margin, 10, 0.999999) < seconds(3240 - 323));
  // 0 %: every executor at the same point (the behaviour before the setting).
  CHECK(vault::aws_stop_after(seconds(3600), margin, 0, 0.7) == seconds(3240));
  // 100 %: anywhere in the usable life, never before the issue.
  CHECK(vault::aws_stop_after(seconds(3600), margin, 100, 0.25) == seconds(2430));
  // A lease shorter than the margin: at once, whatever the draw.
  CHECK(vault::aws_stop_after(seconds(300), margin, 10, 0.5) == seconds(0));
  // Out-of-range inputs are clamped, never a stop after the usable end or before now.
  CHECK(vault::aws_stop_after(seconds(3600), margin, 250, 2.0) == seconds(0));
  CHECK(vault::aws_stop_after(seconds(3600), margin, -5, 0.5) == seconds(3240));
}
