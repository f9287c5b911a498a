// A total deadline for one cpp-httplib request. httplib's own timeouts apply to each read and write,
// so a peer that sends one byte a second keeps a request alive forever; here a watcher thread shuts
// the client's socket down (httplib::Client::stop, meant to be called from another thread) when the
// deadline passes or `cancel` is set, and the request then fails at once.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "util/cancel.h"

namespace httplib {
class Client;
enum class Error;
}  // namespace httplib

namespace util {

struct DeadlineOutcome {
  bool expired = false;    // the deadline cut the request short
  bool cancelled = false;  // `cancel` did
};

// Runs `request` (which sends one request through `client`) under a total deadline of `total`.
DeadlineOutcome run_with_deadline(httplib::Client& client, std::chrono::milliseconds total,
                                  const std::function<void()>& request, const CancelFlag* cancel = nullptr);

// A connect that takes longer than this fails (loopback and LAN peers answer in milliseconds).
inline constexpr std::chrono::milliseconds kMaxConnectTimeout{1500};

// Read and write timeouts of `each` on a client, and a connection timeout of at most
// kMaxConnectTimeout.
void set_http_timeouts(httplib::Client& client, std::chrono::milliseconds each);

// What a failed cpp-httplib request means, in words an operator reads in a log line or a status
// message ("could not connect" rather than the library's "Connection").
std::string http_error_text(httplib::Error error);

}  // namespace util
