// configure_agent_tls against an httplib::SSLServer on 127.0.0.1, with throw-away certificates made by
// `openssl`: what is accepted and refused under each libprocess setting, and bad files as errors.
#include <arpa/inet.h>
#include <httplib.h>
#include <netdb.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

#include "../test_pki.h"
#include "mesos/agent_tls.h"

using namespace std::chrono_literals;

namespace {

// The name the resolver gives 127.0.0.1: what libprocess' legacy scheme compares certificates with.
std::string reverse_dns_of_loopback() {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  char name[NI_MAXHOST];
  if (getnameinfo(reinterpret_cast<sockaddr*>(&a), sizeof a, name, sizeof name, nullptr, 0, NI_NAMEREQD) != 0) {
    return "";
  }
  return name;
}

// Two CAs and the certificates the cases need, made once.
struct Pki : testing_support::TestPki {
  std::string rdns = reverse_dns_of_loopback();

  Pki() : TestPki("sce-agent-tls.", KeyType::ec) {
    REQUIRE_FALSE(rdns.empty());
    ca("ca", "ca");
    ca("other-ca", "other-ca");
    leaf("good", "ca", rdns, "DNS:" + rdns + ",DNS:localhost,IP:127.0.0.1");
    leaf("wrong", "ca", "other.invalid", "DNS:other.invalid");
    leaf("ip-only", "ca", "ip-only.invalid", "IP:127.0.0.1");
    leaf("dns-only", "ca", rdns, "DNS:" + rdns);
    leaf("stranger", "other-ca", rdns, "DNS:" + rdns + ",DNS:localhost,IP:127.0.0.1");
    leaf("client", "ca", "executor", "DNS:executor");
    testing_support::run_ok({"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                             "-aes-128-cbc", "-pass", "pass:not-asked", "-out", path("encrypted-key.pem")});
    std::filesystem::create_directory(path("cas"));
    std::filesystem::copy_file(path("ca.pem"), path("cas/ca.pem"));
    testing_support::run_ok({"openssl", "rehash", path("cas")});
  }

  void leaf(const std::string& name, const std::string& issuer, const std::string& cn, const std::string& san) {
    sign(name, issuer, cn, "subjectAltName=" + san);
  }
};

const Pki& pki() {
  static const Pki p;
  return p;
}

// An https "agent" answering GET / with "agent", presenting `name`'s certificate; with `client_ca` it
// requires a client certificate signed by that CA.
struct Agent {
  httplib::SSLServer srv;
  std::thread thread;
  int port = 0;

  explicit Agent(const std::string& name, const char* client_ca = nullptr)
      : srv(pki().cert(name).c_str(), pki().key(name).c_str(), client_ca) {
    REQUIRE(srv.is_valid());
    srv.Get("/", [](const httplib::Request&, httplib::Response& res) { res.set_content("agent", "text/plain"); });
  }
  void start() {
    port = srv.bind_to_any_port("127.0.0.1");
    REQUIRE(port > 0);
    thread = std::thread([this] { srv.listen_after_bind(); });
    // stop() before the loop runs would be lost, and the destructor would wait forever.
    for (int i = 0; i < 500 && !srv.is_running(); ++i) std::this_thread::sleep_for(10ms);
    REQUIRE(srv.is_running());
  }
  ~Agent() {
    srv.stop();
    if (thread.joinable()) thread.join();
  }
};

struct Outcome {
  bool reached = false;      // the TLS handshake passed and the agent answered
  std::string refusal;       // agent_tls_refusal
  std::string config_error;  // configure_agent_tls' error
};

Outcome call(Agent& agent, const mesos::AgentTls& tls, const std::string& host = "127.0.0.1") {
  if (agent.port == 0) agent.start();
  httplib::Client cli("https://" + host + ":" + std::to_string(agent.port));
  cli.set_connection_timeout(5s);
  cli.set_read_timeout(5s);
  Outcome out;
  if (auto r = mesos::configure_agent_tls(cli, tls, host); !r) out.config_error = r.error().message;
  auto res = cli.Get("/");
  out.reached = res && res->status == 200 && res->body == "agent";
  out.refusal = mesos::agent_tls_refusal(cli);
  return out;
}

// TLS on with the executor's certificate, nothing verified (libprocess' defaults).
mesos::AgentTls tls_on() {
  mesos::AgentTls t;
  t.enabled = true;
  t.cert_file = pki().cert("client");
  t.key_file = pki().key("client");
  return t;
}

mesos::AgentTls verifying(mesos::HostnameValidation scheme, bool verify_ipadd = false) {
  auto t = tls_on();
  t.verify_server_cert = true;
  t.ca_file = pki().cert("ca");
  t.hostname_validation = scheme;
  t.verify_ipadd = verify_ipadd;
  return t;
}

}  // namespace

TEST_CASE("Agent TLS: without verification any certificate is accepted (libprocess' default)") {
  Agent stranger("stranger");
  CHECK(call(stranger, tls_on()).reached);
  Agent wrong("wrong");
  const auto o = call(wrong, tls_on());
  CHECK(o.reached);
  CHECK(o.config_error.empty());
}

TEST_CASE("Agent TLS: verification refuses a certificate from an unknown CA, and says why") {
  for (const auto scheme : {mesos::HostnameValidation::kLegacy, mesos::HostnameValidation::kOpenssl}) {
    Agent stranger("stranger");
    const auto o = call(stranger, verifying(scheme, true));
    CHECK(o.config_error.empty());
    CHECK_FALSE(o.reached);
    CHECK_THAT(o.refusal, Catch::Contains("refused") && Catch::Contains("issuer"));
  }
}

TEST_CASE("Agent TLS: openssl scheme, IP endpoint: the IP is matched against IP subjectAltNames") {
  const auto tls = verifying(mesos::HostnameValidation::kOpenssl, true);
  Agent good("good");
  CHECK(call(good, tls).reached);
  Agent ip_only("ip-only");
  CHECK(call(ip_only, tls).reached);
  // A DNS name, even the right one, does not stand for the IP.
  Agent dns_only("dns-only");
  auto o = call(dns_only, tls);
  CHECK_FALSE(o.reached);
  CHECK_THAT(o.refusal, Catch::Contains("IP address mismatch"));
  Agent wrong("wrong");
  o = call(wrong, tls);
  CHECK_FALSE(o.reached);
  CHECK_THAT(o.refusal, Catch::Contains("IP address mismatch"));
}

TEST_CASE("Agent TLS: openssl scheme, IP endpoint without VERIFY_IPADD: an error, and no connection") {
  Agent good("good");
  const auto o = call(good, verifying(mesos::HostnameValidation::kOpenssl, false));
  CHECK_THAT(o.config_error, Catch::Contains("LIBPROCESS_SSL_VERIFY_IPADD") && Catch::Contains("127.0.0.1"));
  CHECK_FALSE(o.reached);
  CHECK_THAT(mesos::check_agent_tls(verifying(mesos::HostnameValidation::kOpenssl, false), "127.0.0.1").error().message,
             Catch::Contains("LIBPROCESS_SSL_VERIFY_IPADD"));
  // A named endpoint needs no VERIFY_IPADD.
  CHECK(mesos::check_agent_tls(verifying(mesos::HostnameValidation::kOpenssl, false), "localhost"));
}

TEST_CASE("Agent TLS: openssl scheme, named endpoint: the name we connected to") {
  const auto tls = verifying(mesos::HostnameValidation::kOpenssl);
  Agent good("good");
  CHECK(call(good, tls, "localhost").reached);
  Agent wrong("wrong");
  auto o = call(wrong, tls, "localhost");
  CHECK_FALSE(o.reached);
  CHECK_THAT(o.refusal, Catch::Contains("hostname mismatch"));
  Agent ip_only("ip-only");
  o = call(ip_only, tls, "localhost");
  CHECK_FALSE(o.reached);
  CHECK_THAT(o.refusal, Catch::Contains("hostname mismatch"));
}

TEST_CASE("Agent TLS: legacy scheme: the reverse-DNS name of the agent's IP") {
  INFO("127.0.0.1 resolves back to " << pki().rdns);
  const auto tls = verifying(mesos::HostnameValidation::kLegacy);
  Agent good("good");
  CHECK(call(good, tls).reached);
  // Only a DNS name: httplib's own check would refuse it for an IP endpoint; libprocess accepts it.
  Agent dns_only("dns-only");
  CHECK(call(dns_only, tls).reached);
  Agent wrong("wrong");
  auto o = call(wrong, tls);
  CHECK_FALSE(o.reached);
  CHECK_THAT(o.refusal, Catch::Contains("other.invalid") && Catch::Contains(pki().rdns));
  // An IP subjectAltName counts only with VERIFY_IPADD; the common name does not match.
  Agent ip_only("ip-only");
  o = call(ip_only, tls);
  CHECK_FALSE(o.reached);
  CHECK_THAT(o.refusal, Catch::Contains("ip-only.invalid"));
  Agent ip_only2("ip-only");
  CHECK(call(ip_only2, verifying(mesos::HostnameValidation::kLegacy, true)).reached);
}

TEST_CASE("Agent TLS: the executor presents its certificate") {
  Agent agent("good", pki().cert("ca").c_str());
  CHECK(call(agent, tls_on()).reached);
  auto anonymous = tls_on();
  anonymous.cert_file.clear();
  anonymous.key_file.clear();
  Agent agent2("good", pki().cert("ca").c_str());
  CHECK_FALSE(call(agent2, anonymous).reached);
}

TEST_CASE("Agent TLS: CA file and CA folder are both used") {
  auto tls = verifying(mesos::HostnameValidation::kLegacy);
  tls.ca_file.clear();
  tls.ca_dir = pki().path("cas");
  Agent good("good");
  CHECK(call(good, tls).reached);
  Agent stranger("stranger");
  CHECK_FALSE(call(stranger, tls).reached);
  // httplib alone would read only the file when both are given.
  tls.ca_file = pki().cert("other-ca");
  Agent good2("good");
  CHECK(call(good2, tls).reached);
  Agent stranger2("stranger");
  CHECK(call(stranger2, tls).reached);
}

TEST_CASE("Agent TLS: protocol versions as libprocess offers them (TLS 1.2 unless told)") {
  Agent only13("good");
  REQUIRE(SSL_CTX_set_min_proto_version(only13.srv.ssl_context(), TLS1_3_VERSION) == 1);
  CHECK_FALSE(call(only13, tls_on()).reached);
  auto with13 = tls_on();
  with13.enable_tls_v1_3 = true;
  Agent only13b("good");
  REQUIRE(SSL_CTX_set_min_proto_version(only13b.srv.ssl_context(), TLS1_3_VERSION) == 1);
  CHECK(call(only13b, with13).reached);
  with13.enable_tls_v1_2 = false;
  Agent only12("good");
  REQUIRE(SSL_CTX_set_max_proto_version(only12.srv.ssl_context(), TLS1_2_VERSION) == 1);
  CHECK_FALSE(call(only12, with13).reached);
}

TEST_CASE("Agent TLS: bad files and values are errors naming the variable; the client then refuses") {
  CHECK(mesos::check_agent_tls(verifying(mesos::HostnameValidation::kLegacy), "127.0.0.1"));
  using Edit = std::function<void(mesos::AgentTls&)>;
  const std::vector<std::pair<Edit, std::string>> bad = {
      {[](mesos::AgentTls& t) { t.cert_file = pki().path("missing.pem"); }, "LIBPROCESS_SSL_CERT_FILE"},
      {[](mesos::AgentTls& t) { t.cert_file = pki().key("client"); }, "LIBPROCESS_SSL_CERT_FILE"},
      {[](mesos::AgentTls& t) { t.key_file = pki().key("good"); }, "LIBPROCESS_SSL_KEY_FILE="},
      {[](mesos::AgentTls& t) { t.key_file = pki().path("encrypted-key.pem"); }, "LIBPROCESS_SSL_KEY_FILE"},
      {[](mesos::AgentTls& t) { t.ca_file = pki().path("missing.pem"); }, "LIBPROCESS_SSL_CA_FILE"},
      {[](mesos::AgentTls& t) { t.ca_dir = pki().cert("ca"); }, "LIBPROCESS_SSL_CA_DIR"},
      {[](mesos::AgentTls& t) { t.ca_dir = pki().path("missing"); }, "LIBPROCESS_SSL_CA_DIR"},
      {[](mesos::AgentTls& t) { t.ciphers = "NO-SUCH-CIPHER"; }, "LIBPROCESS_SSL_CIPHERS"},
      {[](mesos::AgentTls& t) { t.ecdh_curves = "no-such-curve"; }, "LIBPROCESS_SSL_ECDH_CURVES"},
      {[](mesos::AgentTls& t) {
         t.cert_file = pki().path("missing.pem");
         t.set_by["cert_file"] = "SSL_CERT_FILE";
       },
       "SSL_CERT_FILE="},
      {[](mesos::AgentTls& t) { t.enabled = false; }, "LIBPROCESS_SSL_ENABLED"},
  };
  for (const auto& [edit, name] : bad) {
    auto tls = verifying(mesos::HostnameValidation::kLegacy);
    edit(tls);
    auto checked = mesos::check_agent_tls(tls, "127.0.0.1");
    REQUIRE_FALSE(checked);
    INFO(checked.error().message);
    CHECK_THAT(checked.error().message, Catch::Contains(name));
    if (name == "LIBPROCESS_SSL_KEY_FILE=") CHECK_THAT(checked.error().message, Catch::Contains("mismatch"));
    // The client then never completes a handshake, even with verification off.
    if (name.find("_CA_") == std::string::npos) tls.verify_server_cert = false;
    Agent good("good");
    const auto o = call(good, tls);
    CHECK_THAT(o.config_error, Catch::Contains(name));
    CHECK_FALSE(o.reached);
  }
  httplib::Client plain("http://127.0.0.1:1");
  CHECK_FALSE(mesos::configure_agent_tls(plain, tls_on(), "127.0.0.1"));
}
