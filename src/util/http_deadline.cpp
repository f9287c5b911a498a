// Total request deadlines for httplib clients.
#include "util/http_deadline.h"

#include <httplib.h>
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <thread>

namespace util {

DeadlineOutcome run_with_deadline(httplib::Client& client, std::chrono::milliseconds total,
                                  const std::function<void()>& request, const CancelFlag* cancel) {
  DeadlineOutcome out;
  // The watcher sleeps in poll() on an eventfd that the request's end (or `cancel`) makes readable.
  CancelFlag done;
  std::thread watcher([&] {
    const auto until = std::chrono::steady_clock::now() + total;
    // stop() only shuts a socket the request already holds: one that is still being opened when the
    // deadline passes would escape it, so once cut, stop() is repeated until the request has ended.
    auto cut_until_done = [&] {
      do {
        client.stop();
        pollfd fd{done.fd(), POLLIN, 0};
        ::poll(&fd, done.fd() >= 0 ? 1 : 0, 20);
      } while (!done.is_set());
    };
    while (!done.is_set()) {
      if (cancel != nullptr && cancel->is_set()) {
        out.cancelled = true;
        cut_until_done();
        return;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        out.expired = true;
        cut_until_done();
        return;
      }
      pollfd fds[2] = {{done.fd(), POLLIN, 0}, {cancel != nullptr ? cancel->fd() : -1, POLLIN, 0}};
      // Without eventfds (none could be made) the flags are looked at every 50 ms.
      const bool have_fds = done.fd() >= 0 && (cancel == nullptr || cancel->fd() >= 0);
      const int wait_ms = static_cast<int>(have_fds ? left.count() : std::min<long long>(left.count(), 50));
      ::poll(fds, 2, wait_ms);
    }
  });
  request();
  done.set();
  watcher.join();
  return out;
}

void set_http_timeouts(httplib::Client& client, std::chrono::milliseconds each) {
  auto set = [](std::chrono::milliseconds d, auto setter) {
    setter(static_cast<time_t>(d.count() / 1000), static_cast<time_t>((d.count() % 1000) * 1000));
  };
  // stop() cannot cut a connect() in progress: a short connect timeout is what bounds a cancelled
  // request there (a peer that does not accept at all), whatever total the settings give.
  set(std::min(each, kMaxConnectTimeout), [&](time_t s, time_t us) { client.set_connection_timeout(s, us); });
  set(each, [&](time_t s, time_t us) { client.set_read_timeout(s, us); });
  set(each, [&](time_t s, time_t us) { client.set_write_timeout(s, us); });
}

std::string http_error_text(httplib::Error error) {
  switch (error) {
    case httplib::Error::Connection: return "could not connect";
    case httplib::Error::ConnectionTimeout: return "connection timed out";
    case httplib::Error::Read: return "no complete answer (the connection failed or went silent)";
    case httplib::Error::Write: return "could not send the request";
    case httplib::Error::Canceled: return "cancelled";
    case httplib::Error::SSLConnection: return "TLS handshake failed";
    case httplib::Error::SSLLoadingCerts: return "could not load the TLS certificates";
    case httplib::Error::SSLServerVerification: return "the server's TLS certificate did not verify";
    case httplib::Error::ExceedRedirectCount: return "too many redirects";
    case httplib::Error::Compression: return "could not decompress the answer";
    case httplib::Error::BindIPAddress: return "could not bind the local address";
    default: return "HTTP client error " + httplib::to_string(error);
  }
}

}  // namespace util
