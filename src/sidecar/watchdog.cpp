// Sidecar watchdog, drain and seeds over HTTP (cpp-httplib). Every request has the HTTP timeout as
// its total deadline, not only per read (a peer sending one byte a second would otherwise hold it
// forever), and is cut at once when the adapter stops: the executor's exit never waits on Sidecar.
#include "sidecar/watchdog.h"

#include <fmt/format.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "sidecar/state_doc.h"
#include "util/http_deadline.h"
#include "util/http_safe.h"

namespace sidecar {

namespace ev = executor::ev;

namespace {

// The largest state document read; a larger one is not read and the check counts as healthy.
constexpr std::size_t kMaxStateBytes = std::size_t{512} << 20;
// The largest agent /state or master /slaves answer read for the seed list.
constexpr std::size_t kMaxSeedsBytes = std::size_t{64} << 20;

std::string ms(Duration d) { return fmt::format("{} ms", std::chrono::duration_cast<std::chrono::milliseconds>(d).count()); }

std::chrono::milliseconds to_ms(Duration d) {
  return std::max(std::chrono::milliseconds(1), std::chrono::duration_cast<std::chrono::milliseconds>(d));
}

// A client whose connect/read/write timeouts are the total (the deadline below bounds the whole).
std::unique_ptr<httplib::Client> make_client(const std::string& base, Duration total) {
  auto client = std::make_unique<httplib::Client>(base);
  util::set_http_timeouts(*client, to_ms(total));
  return client;
}

// Sends one request (`send` calls `client`) under the total deadline `total`, cut at once when
// `cancel` is set. A request cut short is a failure even if httplib saw a response: a body that ends
// at EOF would look complete after the socket was shut down.
util::Result<httplib::Response> send_bounded(httplib::Client& client, Duration total, const util::CancelFlag* cancel,
                                             const std::function<httplib::Result()>& send) {
  if (cancel != nullptr && cancel->is_set()) return util::make_error("cancelled: the executor is stopping");
  std::optional<httplib::Result> res;
  const auto outcome = util::run_with_deadline(client, to_ms(total), [&] { res.emplace(send()); }, cancel);
  if (outcome.cancelled) return util::make_error("cancelled: the executor is stopping");
  if (outcome.expired) return util::make_error(fmt::format("no complete answer within {}", ms(total)));
  if (!res) return util::make_error("no request sent");
  if (!*res) return util::make_error(httplib::to_string(res->error()));
  return std::move(res->value());
}

// GET `path` from `base`, the body capped at `max_bytes` (reserved at once from Content-Length: a
// cluster's document can be tens of megabytes, and growing a string to that size copies it over and
// over). `too_big` tells a refused body apart from a failed request.
util::Result<httplib::Response> get_capped(httplib::Client& client, const std::string& path, std::size_t max_bytes,
                                           Duration total, const util::CancelFlag* cancel, bool& too_big) {
  std::string body;
  too_big = false;
  auto res = send_bounded(client, total, cancel, [&] {
    return client.Get(
        path,
        [&](const httplib::Response& r) {
          if (r.status == 200 && r.has_header("Content-Length")) {
            const auto n = std::strtoull(r.get_header_value("Content-Length").c_str(), nullptr, 10);
            if (n <= max_bytes) body.reserve(static_cast<std::size_t>(n));
          }
          return true;
        },
        [&](const char* data, std::size_t n) {
          too_big = body.size() + n > max_bytes;
          if (!too_big) body.append(data, n);
          return !too_big;
        });
  });
  if (res) res->body = std::move(body);
  return res;
}

// The seed lookups' GET: a JSON object, or why not.
util::Result<nlohmann::json> get_json(const std::string& base, const std::string& path, Duration timeout,
                                      const util::CancelFlag* cancel) {
  const std::string what = "GET " + util::escape_control_chars(base + path);
  if (auto ok = util::check_http_text("URL", base + path); !ok) return util::make_error(ok.error().message);
  auto client = make_client(base, timeout);
  bool too_big = false;
  auto res = get_capped(*client, path, kMaxSeedsBytes, timeout, cancel, too_big);
  if (too_big) return util::make_error(fmt::format("{}: answer larger than {} MiB", what, kMaxSeedsBytes >> 20));
  if (!res) return util::make_error(fmt::format("{}: {}", what, res.error().message));
  if (res->status != 200) return util::make_error(fmt::format("{}: HTTP {}", what, res->status));
  auto j = nlohmann::json::parse(res->body, nullptr, false);
  if (!j.is_object()) return util::make_error(fmt::format("{}: not a JSON object", what));
  return j;
}

}  // namespace

util::Result<SplitUrl> split_url(const std::string& url) {
  // CR/LF in the URL would end up in the request line or the Host header: a second request.
  if (auto ok = util::check_http_text("URL", url); !ok) return util::make_error(ok.error().message);
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return util::make_error(fmt::format("\"{}\" is not an http(s) URL", url));
  const std::string scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return util::make_error(fmt::format("\"{}\" is not an http(s) URL", url));
  const auto path_start = url.find('/', scheme_end + 3);
  SplitUrl out;
  out.base = url.substr(0, path_start);
  out.path = path_start == std::string::npos ? "/" : url.substr(path_start);
  if (out.base.size() <= scheme_end + 3) return util::make_error(fmt::format("\"{}\" has no host", url));
  return out;
}

bool FailureCounter::observe(bool failed) {
  if (!failed) {
    count_ = 0;
    return false;
  }
  if (count_ < max_) {
    ++count_;
    return false;
  }
  count_ = 0;
  return true;
}

Adapter::Adapter(WatchdogOptions opts, Sink sink) : opts_(std::move(opts)), sink_(std::move(sink)) {}

Adapter::~Adapter() { shutdown(); }

bool Adapter::sleep_for(Duration d) {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return watchdog_stop_ || shutdown_; });
}

void Adapter::start_watchdog(const std::string& container_id, const std::string& task_host) {
  std::lock_guard<std::mutex> lock(mu_);
  if (watchdog_.joinable() || watchdog_stop_ || shutdown_) return;
  watchdog_ = std::thread([this, id = container_id.substr(0, 12), task_host] { run_watchdog(id, task_host); });
}

void Adapter::stop_watchdog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    watchdog_stop_ = true;
  }
  watchdog_cancel_.set();
  cv_.notify_all();
}

void Adapter::shutdown() {
  std::thread t;
  std::vector<std::thread> drains;
  {
    std::lock_guard<std::mutex> lock(mu_);
    watchdog_stop_ = true;
    shutdown_ = true;
    t.swap(watchdog_);
    drains.swap(drains_);
  }
  // Requests in flight are cut and every pause ends, so the joins below wait for no peer.
  watchdog_cancel_.set();
  shutdown_cancel_.set();
  cv_.notify_all();
  if (t.joinable()) t.join();
  for (auto& d : drains) d.join();
}

void Adapter::run_watchdog(std::string id12, std::string host) {
  auto url = split_url(opts_.state_url);
  if (!url) {
    spdlog::error("Sidecar watchdog off: EXECUTOR_SIDECAR_URL {}", url.error().message);
    return;
  }
  spdlog::info("Sidecar watchdog for service {} on host {}: first check in {}, then every {}", id12, host,
               ms(opts_.backoff), ms(opts_.poll_interval));
  if (!sleep_for(opts_.backoff)) return;
  auto client = make_client(url->base, opts_.http_timeout);
  FailureCounter counter(opts_.max_fails);
  int consecutive = 0;
  std::optional<bool> reported;
  while (true) {
    // One check: up to RETRY_COUNT + 1 attempts, RETRY_DELAY apart.
    std::optional<int> status;
    std::string doubt;
    for (int attempt = 0; attempt <= opts_.retry_count; ++attempt) {
      if (attempt > 0 && !sleep_for(opts_.retry_delay)) return;
      bool too_big = false;
      auto res = get_capped(*client, url->path, kMaxStateBytes, opts_.http_timeout, &watchdog_cancel_, too_big);
      if (watchdog_cancel_.is_set()) return;  // stopped while the request was in flight
      if (too_big) {
        doubt = fmt::format("Sidecar's state document at {} is larger than {} MiB", opts_.state_url,
                            kMaxStateBytes >> 20);
        break;
      }
      if (!res) {
        doubt = fmt::format("Sidecar unreachable at {}: {}", opts_.state_url, res.error().message);
        continue;
      }
      if (res->status != 200) {
        doubt = fmt::format("Sidecar answered HTTP {} at {}", res->status, opts_.state_url);
        continue;
      }
      const std::string& body = res->body;
      const Lookup l = find_service_status(body, host, id12);
      switch (l.kind) {
        case Lookup::Kind::Found: status = l.status; doubt.clear(); break;
        case Lookup::Kind::Invalid: doubt = fmt::format("Sidecar's state document is not valid: {}", l.error); break;
        case Lookup::Kind::NoHost: doubt = fmt::format("Sidecar does not list host {}", host); break;
        case Lookup::Kind::NoService:
          doubt = fmt::format("Sidecar does not list service {} on host {}", id12, host);
          break;
        case Lookup::Kind::NoStatus: doubt = fmt::format("Sidecar gives service {} no status", id12); break;
      }
      break;  // an answer, even a useless one, ends the retries
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (watchdog_stop_ || shutdown_) return;
    }
    const bool failed = status && (*status == static_cast<int>(Status::Unhealthy) ||
                                   *status == static_cast<int>(Status::Tombstone));
    const char* name = status ? to_string(static_cast<Status>(*status)) : "?";
    if (!status) {
      spdlog::warn("{}: assuming healthy", doubt);
    } else if (failed) {
      spdlog::warn("Sidecar reports service {} {} ({} failed check(s) in a row, kill after {})", id12, name,
                   consecutive + 1, opts_.max_fails + 1);
    } else {
      spdlog::debug("Sidecar reports service {} {}", id12, name);
    }
    consecutive = failed ? consecutive + 1 : 0;
    std::optional<bool> health;
    if (status && *status == static_cast<int>(Status::Alive)) health = true;
    if (failed) health = false;
    if (opts_.health_updates && health && health != reported) {
      reported = health;
      sink_(ev::HealthChanged{*health});
    }
    if (counter.observe(failed)) {
      sink_(ev::WatchdogKill{fmt::format("Sidecar reported the service {} on {} checks in a row", name, consecutive)});
      return;
    }
    if (!sleep_for(opts_.poll_interval)) return;
  }
}

void Adapter::drain(const std::string& container_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (shutdown_) return;
  drains_.emplace_back([this, id = container_id.substr(0, 12)] { do_drain(id); });
}

void Adapter::do_drain(std::string id12) {
  auto url = split_url(opts_.state_url);
  if (!url) {
    spdlog::error("no drain: EXECUTOR_SIDECAR_URL {}", url.error().message);
    return;
  }
  const std::string path = fmt::format("/api/services/{}/drain", id12);
  if (auto ok = util::check_http_text("drain path", path); !ok) {
    spdlog::error("no drain: {}", ok.error().message);
    return;
  }
  auto client = make_client(url->base, opts_.http_timeout);
  std::string last;
  for (int attempt = 0; attempt <= opts_.retry_count; ++attempt) {
    if (attempt > 0) {
      std::unique_lock<std::mutex> lock(mu_);
      // A drain is worth finishing even while stopping the watchdog: only shutdown cuts it short.
      cv_.wait_for(lock, opts_.retry_delay, [this] { return shutdown_; });
      if (shutdown_) break;
    }
    auto res = send_bounded(*client, opts_.http_timeout, &shutdown_cancel_,
                            [&] { return client->Post(path.c_str(), "", "application/json"); });
    if (res && res->status == 202) {
      spdlog::info("Sidecar is draining service {}", id12);
      return;
    }
    last = res ? fmt::format("HTTP {}", res->status) : res.error().message;
    spdlog::warn("drain request for service {} to {}{}: {}", id12, url->base, path, last);
    if (shutdown_cancel_.is_set()) break;
  }
  spdlog::error("Sidecar did not accept the drain of service {} ({}); the task is stopped anyway", id12, last);
}

util::Result<std::string> fetch_seeds(const std::string& agent_endpoint, int master_port, Duration timeout,
                                      const util::CancelFlag* cancel) {
  auto sj = get_json("http://" + agent_endpoint, "/state", timeout, cancel);
  if (!sj) return sj.error();
  const std::string agent_state = "GET http://" + util::escape_control_chars(agent_endpoint) + "/state";
  if (!sj->contains("master_hostname") || !(*sj)["master_hostname"].is_string() ||
      (*sj)["master_hostname"].get<std::string>().empty()) {
    return util::make_error(fmt::format("{}: no master_hostname", agent_state));
  }
  const std::string master = (*sj)["master_hostname"];
  const std::string base = fmt::format("http://{}:{}", master, master_port);
  auto lj = get_json(base, "/slaves", timeout, cancel);
  if (!lj) return lj.error();
  const std::string slaves = "GET " + util::escape_control_chars(base) + "/slaves";
  if (!lj->contains("slaves") || !(*lj)["slaves"].is_array()) {
    return util::make_error(fmt::format("{}: no slaves list", slaves));
  }
  std::string seeds;
  for (const auto& s : (*lj)["slaves"]) {
    if (!s.is_object() || !s.contains("hostname") || !s["hostname"].is_string()) continue;
    const std::string host = s["hostname"];
    // A hostname with control characters or a comma would forge the list (or a log line): left out.
    if (host.empty() || util::has_control_chars(host) || host.find(',') != std::string::npos) {
      spdlog::warn("{}: agent hostname \"{}\" left out of the seeds", slaves, util::escape_control_chars(host));
      continue;
    }
    seeds += (seeds.empty() ? "" : ",") + host;
  }
  if (seeds.empty()) return util::make_error(fmt::format("{}: no agent hostnames", slaves));
  return seeds;
}

}  // namespace sidecar
