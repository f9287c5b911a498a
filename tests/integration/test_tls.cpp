// The Docker client's TLS transport (DOCKER_TLS_VERIFY) against `openssl s_server` on 127.0.0.1: a
// daemon certificate signed by the given CA is accepted, any other is refused with the reason.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "../test_pki.h"
#include "docker_daemon.h"
#include "net/http_conn.h"
#include "process.h"
#include "vault/vault.h"

using namespace std::chrono_literals;

TEST_CASE("TLS: the daemon's certificate is verified against DOCKER_CERT_PATH/ca.pem") {
  // A CA, a server certificate for 127.0.0.1 signed by it, and an unrelated CA.
  testing_support::TestPki pki("sce-tls.");
  pki.ca("ca", "test-ca");
  pki.sign("server", "ca", "127.0.0.1", "subjectAltName=IP:127.0.0.1");
  pki.ca("other", "other-ca");
  const std::string& dir = pki.dir;

  const int port = testing_support::free_tcp_port();
  testing_support::Process server(
      {"/usr/bin/openssl", "s_server", "-quiet", "-accept", "127.0.0.1:" + std::to_string(port), "-cert",
       dir + "/server.pem", "-key", dir + "/server-key.pem", "-www"},
      {{"PATH", "/usr/bin:/bin"}});
  net::Endpoint ep;
  ep.host = "127.0.0.1";
  ep.port = port;
  ep.tls = true;
  ep.ca_file = dir + "/ca.pem";
  net::HttpClient good(ep);
  REQUIRE(good.setup_error().empty());
  util::Result<net::HttpResponse> r = util::make_error("not tried");
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
  net::HttpClient wrong(ep);
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
  net::HttpClient missing(ep);
  CHECK_THAT(missing.setup_error(), Catch::Contains("missing.pem"));
  auto no_ca = missing.send({"GET", "/", {}, "", 2000ms});
  REQUIRE_FALSE(no_ca);
  CHECK_THAT(no_ca.error().message, Catch::Contains("missing.pem"));
}
