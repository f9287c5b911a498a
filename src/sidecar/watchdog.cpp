// Sidecar watchdog, drain and seeds over HTTP (cpp-httplib).
#include "sidecar/watchdog.h"

#include <fmt/format.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "sidecar/state_doc.h"

namespace sidecar {

namespace ev = executor::ev;

namespace {

void set_timeouts(httplib::Client& c, Duration timeout) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(timeout).count();
  const time_t sec = static_cast<time_t>(us / 1000000);
  const time_t usec = static_cast<time_t>(us % 1000000);
  c.set_connection_timeout(sec, usec);
  c.set_read_timeout(sec, usec);
  c.set_write_timeout(sec, usec);
}

// The largest state document read; a larger one is not read and the check counts as healthy.
constexpr std::size_t kMaxStateBytes = std::size_t{512} << 20;

std::string ms(Duration d) { return fmt::format("{} ms", std::chrono::duration_cast<std::chrono::milliseconds>(d).count()); }

}  // namespace

util::Result<SplitUrl> split_url(const std::string& url) {
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
  httplib::Client client(url->base);
  set_timeouts(client, opts_.http_timeout);
  FailureCounter counter(opts_.max_fails);
  int consecutive = 0;
  std::optional<bool> reported;
  while (true) {
    // One check: up to RETRY_COUNT + 1 attempts, RETRY_DELAY apart.
    std::optional<int> status;
    std::string doubt;
    for (int attempt = 0; attempt <= opts_.retry_count; ++attempt) {
      if (attempt > 0 && !sleep_for(opts_.retry_delay)) return;
      // The body goes into one buffer sized from Content-Length: a cluster's document can be tens of
      // megabytes, and growing a string to that size copies it over and over.
      std::string body;
      bool too_big = false;
      auto res = client.Get(
          url->path,
          [&](const httplib::Response& r) {
            if (r.status == 200 && r.has_header("Content-Length")) {
              const auto n = std::strtoull(r.get_header_value("Content-Length").c_str(), nullptr, 10);
              if (n <= kMaxStateBytes) body.reserve(static_cast<std::size_t>(n));
            }
            return true;
          },
          [&](const char* data, std::size_t n) {
            too_big = body.size() + n > kMaxStateBytes;
            if (!too_big) body.append(data, n);
            return !too_big;
          });
      if (too_big) {
        doubt = fmt::format("Sidecar's state document at {} is larger than {} MiB", opts_.state_url,
                            kMaxStateBytes >> 20);
        break;
      }
      if (!res) {
        doubt = fmt::format("Sidecar unreachable at {}: {}", opts_.state_url, httplib::to_string(res.error()));
        continue;
      }
      if (res->status != 200) {
        doubt = fmt::format("Sidecar answered HTTP {} at {}", res->status, opts_.state_url);
        continue;
      }
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
  httplib::Client client(url->base);
  set_timeouts(client, opts_.http_timeout);
  const std::string path = fmt::format("/api/services/{}/drain", id12);
  std::string last;
  for (int attempt = 0; attempt <= opts_.retry_count; ++attempt) {
    if (attempt > 0) {
      std::unique_lock<std::mutex> lock(mu_);
      // A drain is worth finishing even while stopping: only the pause between attempts is cut short.
      cv_.wait_for(lock, opts_.retry_delay, [this] { return shutdown_; });
      if (shutdown_) break;
    }
    auto res = client.Post(path.c_str(), "", "application/json");
    if (res && res->status == 202) {
      spdlog::info("Sidecar is draining service {}", id12);
      return;
    }
    last = res ? fmt::format("HTTP {}", res->status) : httplib::to_string(res.error());
    spdlog::warn("drain request for service {} to {}{}: {}", id12, url->base, path, last);
  }
  spdlog::error("Sidecar did not accept the drain of service {} ({}); the task is stopped anyway", id12, last);
}

util::Result<std::string> fetch_seeds(const std::string& agent_endpoint, int master_port, Duration timeout) {
  httplib::Client agent("http://" + agent_endpoint);
  set_timeouts(agent, timeout);
  auto st = agent.Get("/state");
  if (!st) return util::make_error(fmt::format("GET http://{}/state: {}", agent_endpoint, httplib::to_string(st.error())));
  if (st->status != 200) return util::make_error(fmt::format("GET http://{}/state: HTTP {}", agent_endpoint, st->status));
  auto sj = nlohmann::json::parse(st->body, nullptr, false);
  if (!sj.is_object() || !sj.contains("master_hostname") || !sj["master_hostname"].is_string() ||
      sj["master_hostname"].get<std::string>().empty()) {
    return util::make_error(fmt::format("GET http://{}/state: no master_hostname", agent_endpoint));
  }
  const std::string master = sj["master_hostname"];
  const std::string base = fmt::format("http://{}:{}", master, master_port);
  httplib::Client m(base);
  set_timeouts(m, timeout);
  auto sl = m.Get("/slaves");
  if (!sl) return util::make_error(fmt::format("GET {}/slaves: {}", base, httplib::to_string(sl.error())));
  if (sl->status != 200) return util::make_error(fmt::format("GET {}/slaves: HTTP {}", base, sl->status));
  auto lj = nlohmann::json::parse(sl->body, nullptr, false);
  if (!lj.is_object() || !lj.contains("slaves") || !lj["slaves"].is_array()) {
    return util::make_error(fmt::format("GET {}/slaves: no slaves list", base));
  }
  std::string seeds;
  for (const auto& s : lj["slaves"]) {
    if (s.is_object() && s.contains("hostname") && s["hostname"].is_string()) {
      seeds += (seeds.empty() ? "" : ",") + s["hostname"].get<std::string>();
    }
  }
  if (seeds.empty()) return util::make_error(fmt::format("GET {}/slaves: no agent hostnames", base));
  return seeds;
}

}  // namespace sidecar
