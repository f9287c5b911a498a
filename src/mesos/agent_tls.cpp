// The agent connection's TLS, set up as libprocess sets up its client sockets. Sources (apache/mesos):
// 3rdparty/libprocess/src/openssl.cpp `reinitialize` (context), `configure_socket` (the openssl scheme)
// and `verify` (the legacy scheme). httplib 0.11's SSLClient would verify by itself when asked
// (`server_certificate_verification_`: chain result, then its own RFC 2818 host match with wildcards and
// a common-name fallback, and only the CA file *or* the folder); that is switched off and the checks
// below run inside OpenSSL's handshake instead, so each one happens once and as libprocess does it.
#include "mesos/agent_tls.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <httplib.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>
#include <sys/param.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>

#include "util/http_safe.h"

namespace mesos {
namespace {

using util::make_error;

// What the verification callback needs, hung on the SSL_CTX (freed with it).
struct VerifyState {
  bool legacy = false;                  // run libprocess' legacy name check on the server certificate
  std::optional<std::string> hostname;  // the endpoint's name; none for an IP endpoint
  bool verify_ipadd = false;
  bool require_client_cert = false;
  std::mutex mu;
  std::string refusal;  // why the last handshake was refused
};

void free_state(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/, long /*argl*/, void* /*argp*/) {
  delete static_cast<VerifyState*>(ptr);
}

int state_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_state);
  return index;
}

VerifyState* state_of(const SSL_CTX* ctx) { return static_cast<VerifyState*>(SSL_CTX_get_ex_data(ctx, state_index())); }

std::string openssl_errors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "no detail from OpenSSL" : out;
}

// An encrypted key would make OpenSSL ask for its passphrase on the terminal; libprocess has no
// passphrase setting either, so such a key fails to load instead.
int no_passphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*userdata*/) { return -1; }

int refuse_all(int /*ok*/, X509_STORE_CTX* store) {
  X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
  return 0;
}

bool is_ip(const std::string& host) {
  in6_addr a6{};
  in_addr a4{};
  return inet_pton(AF_INET6, host.c_str(), &a6) == 1 || inet_pton(AF_INET, host.c_str(), &a4) == 1;
}

struct Peer {
  sockaddr_storage addr{};
  socklen_t len = 0;
  std::string text;
};

std::optional<Peer> peer_of(const SSL* ssl) {
  const int fd = SSL_get_fd(ssl);
  if (fd < 0) return std::nullopt;
  Peer p;
  p.len = sizeof p.addr;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&p.addr), &p.len) != 0) return std::nullopt;
  char text[NI_MAXHOST];
  if (getnameinfo(reinterpret_cast<sockaddr*>(&p.addr), p.len, text, sizeof text, nullptr, 0, NI_NUMERICHOST) != 0) {
    return std::nullopt;
  }
  p.text = text;
  return p;
}

// net::getHostname in stout: the name the resolver gives for the address, or none.
std::optional<std::string> reverse_dns(const Peer& peer) {
  char name[NI_MAXHOST];
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&peer.addr), peer.len, name, sizeof name, nullptr, 0,
                  NI_NAMEREQD) != 0) {
    spdlog::warn("agent TLS: no reverse DNS name for {}", peer.text);
    return std::nullopt;
  }
  return std::string(name);
}

bool same_ipv4(const ASN1_OCTET_STRING* san, const Peer& peer) {
  if (peer.addr.ss_family != AF_INET || san == nullptr || san->data == nullptr || san->length != 4) return false;
  const auto* v4 = reinterpret_cast<const sockaddr_in*>(&peer.addr);
  return std::memcmp(san->data, &v4->sin_addr, 4) == 0;
}

// libprocess' `verify` for a client under the legacy scheme (openssl.cpp, after "NOTE: For backwards
// compatibility, we ignore the passed hostname"): the name is the reverse-DNS name of the peer's IP,
// else the endpoint's own name; subjectAltName DNS entries must equal it exactly (no wildcards), IPv4
// entries match the peer when VERIFY_IPADD is on; else the common name must equal it. With no name and
// no VERIFY_IPADD nothing is compared and the certificate passes unless REQUIRE_CLIENT_CERT is on.
util::Result<void> legacy_check(X509* cert, const VerifyState& st, const std::optional<Peer>& peer) {
  std::optional<std::string> hostname = st.hostname;
  if (peer) {
    if (auto name = reverse_dns(*peer)) hostname = std::move(name);
  }
  if (!st.verify_ipadd && !hostname) {
    if (st.require_client_cert) return make_error("cannot verify the agent's certificate: its hostname is unknown");
    return {};
  }
  using Names = std::unique_ptr<GENERAL_NAMES, decltype(&GENERAL_NAMES_free)>;
  const Names names(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)),
                    &GENERAL_NAMES_free);
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_DNS && hostname) {
      const auto* data = reinterpret_cast<const char*>(ASN1_STRING_get0_data(name->d.dNSName));
      const auto length = static_cast<std::size_t>(ASN1_STRING_length(name->d.dNSName));
      if (strnlen(data, length) != length) return make_error("malformed agent certificate: NUL inside a DNS name");
      if (std::string_view(data, length) == *hostname) return {};
    } else if (name->type == GEN_IPADD && st.verify_ipadd && peer && same_ipv4(name->d.iPAddress, *peer)) {
      return {};
    }
  }
  if (hostname) {
    // libprocess reads the common name into a MAXHOSTNAMELEN buffer; so does this.
    char common_name[MAXHOSTNAMELEN] = {};
    X509_NAME* subject = X509_get_subject_name(cert);
    if (subject != nullptr && X509_NAME_get_text_by_NID(subject, NID_commonName, common_name, sizeof common_name) > 0) {
      if (*hostname != common_name) {
        return make_error(fmt::format("the agent's certificate is for {}, not {}",
                                      util::escape_control_chars(common_name), *hostname));
      }
      return {};
    }
  }
  std::string with = hostname ? "hostname " + *hostname : "";
  if (peer) with += (with.empty() ? "IP " : ", IP ") + peer->text;
  return make_error(fmt::format("the agent's certificate does not name {}", with));
}

std::string subject_of(X509* cert) {
  if (cert == nullptr) return "none";
  char buf[256] = {};
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf - 1);
  return util::escape_control_chars(buf);
}

void record_refusal(VerifyState* st, const std::string& why) {
  spdlog::warn("agent TLS: {}", why);
  if (st == nullptr) return;
  std::lock_guard lk(st->mu);
  st->refusal = why;
}

// OpenSSL calls this for each certificate of the chain, the server's own last (depth 0).
int verify_peer(int ok, X509_STORE_CTX* store) {
  auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  VerifyState* st = ssl != nullptr ? state_of(SSL_get_SSL_CTX(ssl)) : nullptr;
  X509* cert = X509_STORE_CTX_get_current_cert(store);
  const int depth = X509_STORE_CTX_get_error_depth(store);
  if (ok != 1) {
    record_refusal(st, fmt::format("the agent's certificate (depth {}, subject {}) is refused: {}", depth,
                                   subject_of(cert), X509_verify_cert_error_string(X509_STORE_CTX_get_error(store))));
    return 0;
  }
  if (depth != 0 || st == nullptr || !st->legacy) return 1;
  auto checked = legacy_check(cert, *st, peer_of(ssl));
  if (!checked) {
    record_refusal(st, checked.error().message);
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  return 1;
}

// Protocol versions as libprocess sets them: all cleared, then each one not enabled switched off.
void set_protocols(SSL_CTX* ctx, const AgentTls& tls) {
  const std::uint64_t all =
      SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 | SSL_OP_NO_TLSv1_2 | SSL_OP_NO_TLSv1_3;
  SSL_CTX_clear_options(ctx, all);
  std::uint64_t off = SSL_OP_NO_SSLv2;
  if (!tls.enable_ssl_v3) off |= SSL_OP_NO_SSLv3;
  if (!tls.enable_tls_v1_0) off |= SSL_OP_NO_TLSv1;
  if (!tls.enable_tls_v1_1) off |= SSL_OP_NO_TLSv1_1;
  if (!tls.enable_tls_v1_2) off |= SSL_OP_NO_TLSv1_2;
  if (!tls.enable_tls_v1_3) off |= SSL_OP_NO_TLSv1_3;
  SSL_CTX_set_options(ctx, off);
}

util::Result<void> set_algorithms(SSL_CTX* ctx, const AgentTls& tls) {
  if (!tls.ciphers.empty() && SSL_CTX_set_cipher_list(ctx, tls.ciphers.c_str()) != 1) {
    return make_error(fmt::format("{}=\"{}\": no usable cipher: {}", tls.variable("ciphers"),
                                  util::escape_control_chars(tls.ciphers), openssl_errors()));
  }
  if (tls.ecdh_curves != "auto" && SSL_CTX_set1_groups_list(ctx, tls.ecdh_curves.c_str()) != 1) {
    return make_error(fmt::format("{}=\"{}\": unknown curve: {}", tls.variable("ecdh_curves"),
                                  util::escape_control_chars(tls.ecdh_curves), openssl_errors()));
  }
  return {};
}

util::Result<void> load_client_certificate(SSL_CTX* ctx, const AgentTls& tls) {
  if (!tls.cert_file.empty() && SSL_CTX_use_certificate_chain_file(ctx, tls.cert_file.c_str()) != 1) {
    return make_error(fmt::format("{}={}: cannot load the client certificate (PEM): {}", tls.variable("cert_file"),
                                  util::escape_control_chars(tls.cert_file), openssl_errors()));
  }
  if (!tls.key_file.empty() && SSL_CTX_use_PrivateKey_file(ctx, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return make_error(fmt::format("{}={}: cannot load the private key of {} (PEM, not encrypted): {}",
                                  tls.variable("key_file"), util::escape_control_chars(tls.key_file),
                                  tls.variable("cert_file"), openssl_errors()));
  }
  if (!tls.cert_file.empty() && !tls.key_file.empty() && SSL_CTX_check_private_key(ctx) != 1) {
    return make_error(fmt::format("{} is not the key of {}: {}", tls.variable("key_file"), tls.variable("cert_file"),
                                  openssl_errors()));
  }
  return {};
}

// libprocess loads the CA file and the folder together, or OpenSSL's default paths when neither is set.
util::Result<void> load_cas(SSL_CTX* ctx, const AgentTls& tls) {
  if (!tls.ca_file.empty() && SSL_CTX_load_verify_locations(ctx, tls.ca_file.c_str(), nullptr) != 1) {
    return make_error(fmt::format("{}={}: cannot load CA certificates (PEM): {}", tls.variable("ca_file"),
                                  util::escape_control_chars(tls.ca_file), openssl_errors()));
  }
  if (!tls.ca_dir.empty()) {
    // OpenSSL only looks into the folder while verifying, so a wrong path would show as "unable to get
    // local issuer certificate" on every connection: refuse it now.
    struct stat st {};
    if (stat(tls.ca_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) ||
        SSL_CTX_load_verify_locations(ctx, nullptr, tls.ca_dir.c_str()) != 1) {
      return make_error(fmt::format("{}={}: not a readable folder of CA certificates", tls.variable("ca_dir"),
                                    util::escape_control_chars(tls.ca_dir)));
    }
  }
  if (tls.ca_file.empty() && tls.ca_dir.empty() && SSL_CTX_set_default_verify_paths(ctx) != 1) {
    return make_error(fmt::format("cannot load OpenSSL's default CA paths: {}", openssl_errors()));
  }
  return {};
}

// libprocess' `configure_socket` for a client under the openssl scheme: OpenSSL matches the endpoint's
// name (X509_VERIFY_PARAM_set1_host, flags 0: wildcards, common name only without DNS subjectAltNames),
// or, for an IP endpoint, its IP against the IP subjectAltNames, which libprocess allows only with
// VERIFY_IPADD (else every connection fails: "No DNS name given and IP address verification is disabled").
util::Result<void> expect_name(SSL_CTX* ctx, const AgentTls& tls, const std::string& host) {
  X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ctx);
  if (!is_ip(host)) {
    if (X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0) != 1) {
      return make_error(
          fmt::format("cannot check the agent's certificate against \"{}\"", util::escape_control_chars(host)));
    }
    return {};
  }
  if (!tls.verify_ipadd) {
    return make_error(
        fmt::format("{}=openssl with the IP endpoint {} needs {}=true: libprocess validates an IP "
                    "endpoint only against the certificate's IP addresses",
                    tls.variable("hostname_validation_scheme"), host, tls.variable("verify_ipadd")));
  }
  if (X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1) {
    return make_error(fmt::format("cannot check the agent's certificate against {}", host));
  }
  return {};
}

util::Result<void> apply(SSL_CTX* ctx, const AgentTls& tls, const std::string& host) {
  if (!tls.enabled) return make_error("agent TLS is off (LIBPROCESS_SSL_ENABLED)");
  ERR_clear_error();
  SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
  set_protocols(ctx, tls);
  if (auto r = set_algorithms(ctx, tls); !r) return r;
  if (auto r = load_client_certificate(ctx, tls); !r) return r;

  auto state = std::make_unique<VerifyState>();
  if (tls.verify_server_cert) {
    if (auto r = load_cas(ctx, tls); !r) return r;
    if (tls.hostname_validation == HostnameValidation::kOpenssl) {
      if (auto r = expect_name(ctx, tls, host); !r) return r;
    }
    SSL_CTX_set_verify_depth(ctx, tls.verification_depth);
    state->legacy = tls.hostname_validation == HostnameValidation::kLegacy;
    if (!is_ip(host)) state->hostname = host;
    state->verify_ipadd = tls.verify_ipadd;
    state->require_client_cert = tls.require_client_cert;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_peer);
  } else {
    // libprocess without VERIFY_SERVER_CERT: any certificate, no name check.
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  delete state_of(ctx);
  SSL_CTX_set_ex_data(ctx, state_index(), state.release());
  return {};
}

}  // namespace

util::Result<void> configure_agent_tls(httplib::Client& cli, const AgentTls& tls, const std::string& agent_host) {
  SSL_CTX* ctx = cli.ssl_context();
  if (ctx == nullptr) return make_error("agent TLS: the client is not an https client");
  // httplib's own check would run after ours with other rules (see the top of this file).
  cli.enable_server_certificate_verification(false);
  auto r = apply(ctx, tls, agent_host);
  if (!r) SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, refuse_all);
  return r;
}

util::Result<void> check_agent_tls(const AgentTls& tls, const std::string& agent_host) {
  const std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()), &SSL_CTX_free);
  if (!ctx) return make_error(fmt::format("agent TLS: {}", openssl_errors()));
  return apply(ctx.get(), tls, agent_host);
}

std::string agent_tls_refusal(const httplib::Client& cli) {
  SSL_CTX* ctx = cli.ssl_context();
  VerifyState* st = ctx != nullptr ? state_of(ctx) : nullptr;
  if (st == nullptr) return "";
  std::lock_guard lk(st->mu);
  return st->refusal;
}

}  // namespace mesos
