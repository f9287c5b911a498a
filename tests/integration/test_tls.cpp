// The Docker client's TLS transport (DOCKER_TLS_VERIFY) against `openssl s_server` on 127.0.0.1: a
// daemon certificate signed by the given CA is accepted, any other is refused with the reason.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "docker/http_conn.h"
#include "docker_daemon.h"
#include "process.h"
#include "util/subprocess.h"
#include "vault/vault.h"

using namespace std::chrono_literals;

namespace {

void run_ok(const std::vector<std::string>& argv) {
  auto r = util::run_program(argv, "", 60s);
  REQUIRE(r);
  INFO(r->out << r->err);
  REQUIRE(r->exit_code == 0);
}

}  // namespace

TEST_CASE("TLS: the daemon's certificate is verified against DOCKER_CERT_PATH/ca.pem") {
  const std::string dir = testing_support::make_temp_dir("sce-tls.");
  // A CA, a server certificate for 127.0.0.1 signed by it, and an unrelated CA.
  run_ok({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test-ca", "-keyout",
          dir + "/ca-key.pem", "-out", dir + "/ca.pem"});
  run_ok({"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout",
          dir + "/server-key.pem", "-out", dir + "/server.csr"});
  run_ok({"sh", "-c",
          "printf 'subjectAltName=IP:127.0.0.1\\n' > " + dir + "/ext.cnf && openssl x509 -req -in " + dir +
              "/server.csr -CA " + dir + "/ca.pem -CAkey " + dir + "/ca-key.pem -CAcreateserial -days 1 -extfile " +
              dir + "/ext.cnf -out " + dir + "/server.pem"});
  run_ok({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=other-ca", "-keyout",
          dir + "/other-key.pem", "-out", dir + "/other.pem"});

  const int port = testing_support::free_tcp_port();
  testing_support::Process server(
      {"/usr/bin/openssl", "s_server", "-quiet", "-accept", "127.0.0.1:" + std::to_string(port), "-cert",
       dir + "/server.pem", "-key", dir + "/server-key.pem", "-www"},
      {{"PATH", "/usr/bin:/bin"}});
  docker::Endpoint ep;
  ep.host = "127.0.0.1";
  ep.port = port;
  ep.tls = true;
  ep.ca_file = dir + "/ca.pem";
  docker::HttpClient good(ep);
  REQUIRE(good.setup_error().empty());
  util::Result<docker::HttpResponse> r = util::make_error("not tried");
  for (int i = 0; i < 100; ++i) {
    r = good.send({"GET", "/", {}, "", 2000ms});
    if (r) break;
    std::this_thread::sleep_for(50ms);
  }
  INFO((r ? "" : r.error().message));
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(ep.describe() == "tcp://127.0.0.1:" + std::to_string(port) + " (TLS)");

  ep.ca_file = dir + "/other.pem";
  docker::HttpClient wrong(ep);
  auto refused = wrong.send({"GET", "/", {}, "", 2000ms});
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().message, Catch::Contains("TLS handshake"));
  CHECK_THAT(refused.error().message, Catch::Contains("certificate"));

  // The Vault client over HTTPS (OpenSSL through cpp-httplib): VAULT_CACERT verifies, a wrong CA is
  // refused, VAULT_SKIP_VERIFY accepts anything.
  const std::string addr = "https://127.0.0.1:" + std::to_string(port);
  {
    auto cfg = vault::config_from_env(
        util::map_env({{"VAULT_ADDR", addr}, {"VAULT_CACERT", dir + "/ca.pem"}, {"VAULT_MAX_RETRIES", "0"}}));
    REQUIRE(cfg);
    vault::Client v(*cfg);
    auto answer = v.call("GET", "/v1/sys/health", nullptr, "");
    INFO((answer ? "" : answer.error().message));
    REQUIRE(answer);
    CHECK(answer->status == 200);
  }
  {
    auto cfg = vault::config_from_env(
        util::map_env({{"VAULT_ADDR", addr}, {"VAULT_CACERT", dir + "/other.pem"}, {"VAULT_MAX_RETRIES", "0"}}));
    REQUIRE(cfg);
    vault::Client v(*cfg);
    CHECK_FALSE(v.call("GET", "/v1/sys/health", nullptr, ""));
  }
  {
    auto cfg = vault::config_from_env(util::map_env({{"VAULT_ADDR", addr},
                                                     {"VAULT_CACERT", dir + "/other.pem"},
                                                     {"VAULT_SKIP_VERIFY", "true"},
                                                     {"VAULT_MAX_RETRIES", "0"}}));
    REQUIRE(cfg);
    vault::Client v(*cfg);
    auto answer = v.call("GET", "/v1/sys/health", nullptr, "");
    REQUIRE(answer);
    CHECK(answer->status == 200);
  }

  ep.ca_file = dir + "/missing.pem";
  docker::HttpClient missing(ep);
  CHECK_THAT(missing.setup_error(), Catch::Contains("missing.pem"));
  auto no_ca = missing.send({"GET", "/", {}, "", 2000ms});
  REQUIRE_FALSE(no_ca);
  CHECK_THAT(no_ca.error().message, Catch::Contains("missing.pem"));
  testing_support::remove_tree(dir);
}
