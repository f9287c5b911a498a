// The agent connection's TLS as libprocess sets up its client sockets (3rdparty/libprocess/src/openssl.cpp):
// client certificate, CAs, protocol versions, server-certificate verification and hostname validation.
#pragma once

#include <string>

#include "mesos/agent_env.h"
#include "util/result.h"

namespace httplib {
class Client;
}

namespace mesos {

// Applies `tls` to `cli`, an https client made with httplib::Client("https://host:port") and no
// certificate arguments; `agent_host` is MESOS_AGENT_ENDPOINT's host (a name, or an IP without brackets).
// httplib's own verification is switched off: OpenSSL does it during the handshake with what is set
// here, so the name is checked exactly once, by the configured scheme. On error the client is left
// refusing every handshake, never connecting unverified.
util::Result<void> configure_agent_tls(httplib::Client& cli, const AgentTls& tls, const std::string& agent_host);

// The same work on a throw-away context, for start-up: an unreadable certificate, key or CA, a key that
// does not match, or an IP endpoint that the openssl scheme cannot validate is an error naming the
// variable before any connection is tried.
util::Result<void> check_agent_tls(const AgentTls& tls, const std::string& agent_host);

// Why the last handshake of `cli` refused the agent's certificate ("" when none did), for messages.
std::string agent_tls_refusal(const httplib::Client& cli);

}  // namespace mesos
