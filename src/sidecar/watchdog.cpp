// Sidecar watchdog, drain and seeds over HTTP (the executor's own client, src/net). Every request
// has the HTTP timeout as its total deadline, not only per read (a peer sending one byte a second
// would otherwise hold it forever), and is cut at once when the adapter stops: the executor's exit
// never waits on Sidecar. The poll runs once a second on a task's whole life, so its path is kept
// short: no thread per request, no regex, the state document read without building it.
#include "sidecar/watchdog.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "net/http_conn.h"
#include "sidecar/state_doc.h"
#include "util/hot_path.h"
#include "util/http_safe.h"
#include "util/json_get.h"

namespace sidecar {

namespace ev = executor::ev;

namespace {

// The largest state document read; a larger one is not read and the check counts as healthy.
constexpr std::size_t kMaxStateBytes = std::size_t{512} << 20;
// The largest agent /state or master /slaves answer read for the seed list.
constexpr std::size_t kMaxSeedsBytes = std::size_t{64} << 20;

std::string ms(Duration d) {
  return fmt::format("{} ms", std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

HOT_PATH std::chrono::milliseconds to_ms(Duration d) {
  return std::max(std::chrono::milliseconds(1), std::chrono::duration_cast<std::chrono::milliseconds>(d));
}

// The text the poll reads every second, made once at start-up: the program's string literals are
// merged across the whole binary, so each literal the poll reads can keep a 64 KiB window of
// read-only data resident of its own.
const std::string kGet = "GET", kPost = "POST", kJsonSpace = " \t\r\n", kNull = "null";
const std::string kStatusNames[] = {to_string(Status::Alive), to_string(Status::Tombstone),
                                    to_string(Status::Unhealthy), to_string(Status::Unknown),
                                    to_string(Status::Draining)};

// "http://host:port" (split_url's base) as the client's endpoint: https is TLS, verified against the
// system's CAs and the host name; the port defaults to the scheme's; an IPv6 address is in brackets.
util::Result<net::Endpoint> endpoint_of(const std::string& base) {
  net::Endpoint ep;
  const auto scheme_end = base.find("://");
  if (scheme_end == std::string::npos) return util::make_error(fmt::format("\"{}\" is not an http(s) URL", base));
  ep.tls = base.compare(0, scheme_end, "https") == 0;
  std::string_view authority = std::string_view(base).substr(scheme_end + 3);
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return util::make_error(fmt::format("\"{}\": unclosed '['", base));
    ep.host = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    if (!authority.empty() && authority.front() != ':') {
      return util::make_error(fmt::format("\"{}\": no port after ']'", base));
    }
    if (!authority.empty()) port = authority.substr(1);
  } else {
    const auto colon = authority.rfind(':');
    ep.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (ep.host.empty()) return util::make_error(fmt::format("\"{}\" has no host", base));
  ep.port = ep.tls ? 443 : 80;
  if (!port.empty()) {
    int n = 0;
    for (const char c : port) {
      if (c < '0' || c > '9' || n > 65535) break;
      n = n * 10 + (c - '0');
    }
    if (n < 1 || n > 65535 || port.find_first_not_of("0123456789") != std::string_view::npos) {
      return util::make_error(fmt::format("\"{}\" has no valid port", base));
    }
    ep.port = n;
  }
  return ep;
}

// The client for one base URL, or why there is none (a URL it cannot reach: every request then fails
// with that reason).
struct Client {
  explicit Client(const std::string& base) {
    auto ep = endpoint_of(base);
    if (!ep) {
      error = ep.error().message;
      return;
    }
    http = std::make_unique<net::HttpClient>(std::move(*ep));
  }
  std::unique_ptr<net::HttpClient> http;
  std::string error;
};

// Sends `method path` under the total deadline `total`, cut at once when `cancel` is set. A 200
// answer's body is kept up to `max_bytes` (reserved at once from Content-Length: a cluster's document
// can be tens of megabytes, and growing a string to that size copies it over and over); `too_big`
// tells a refused body apart from a failed request. Errors say what went wrong, the caller names the
// request.
HOT_PATH util::Result<net::HttpResponse> send(const Client& client, const std::string& method, const std::string& path,
                                              std::size_t max_bytes, Duration total, const util::CancelFlag* cancel,
                                              bool& too_big) {
  too_big = false;
  if (cancel != nullptr && cancel->is_set()) return util::make_error("cancelled: the executor is stopping");
  if (!client.http) return util::make_error(client.error);
  net::HttpRequest req;
  req.method = method;
  req.path = path;
  if (req.method == kPost) req.headers.emplace("Content-Type", "application/json");
  req.timeout = to_ms(total);
  req.total = to_ms(total);
  req.cancel = cancel;
  std::string body;
  req.on_head = [&](const net::HttpResponse& head) {
    if (head.status != 200) return;
    if (const auto cl = head.headers.find("content-length"); cl != head.headers.end()) {
      // Digits only: the parser has checked them (and their bound) already.
      std::size_t n = 0;
      for (const char c : cl->second) {
        n = n * 10 + static_cast<std::size_t>(c - '0');
        if (n > max_bytes) return;
      }
      body.reserve(n);
    }
  };
  auto res = client.http->exchange(req, [&](std::string_view piece) {
    too_big = body.size() + piece.size() > max_bytes;
    if (!too_big) body.append(piece);
    return !too_big;
  });
  // A request cut short is a failure even if an answer was coming: the cancel says why.
  if (cancel != nullptr && cancel->is_set()) return util::make_error("cancelled: the executor is stopping");
  if (!res) return res.error();
  if (res->status < 300) res->body = std::move(body);
  return res;
}

// One GET of the state document at `url` (`path` on `client`).
HOT_PATH Fetched fetch_state(const Client& client, const std::string& path, const std::string& url, Duration timeout,
                             const util::CancelFlag* cancel) {
  Fetched f;
  auto res = send(client, kGet, path, kMaxStateBytes, timeout, cancel, f.too_big);
  if (f.too_big) {
    f.http_status = 200;
    f.error = fmt::format("the state document at {} is larger than {} MiB", url, kMaxStateBytes >> 20);
  } else if (!res) {
    f.cancelled = cancel != nullptr && cancel->is_set();
    f.error = fmt::format("GET {}: {}", url, res.error().message);
  } else {
    f.http_status = res->status;
    f.body = std::move(res->body);
  }
  return f;
}

// The Go executor's wording of a failed seed lookup (executor_utils.go:65, :78, :103, :116): one for
// no answer, one for an answer that cannot be read.
struct SeedWording {
  const char* unreachable;
  const char* unreadable;
};
constexpr SeedWording kAgentWording{"Unable to fetch Mesos master info from worker endpoint: {}",
                                    "Error parsing response body from Mesos worker! '{}'"};
constexpr SeedWording kMasterWording{"Unable to fetch info from master endpoint: {}",
                                     "Error parsing response body from Mesos master! '{}'"};

// The seed lookups' GET: a JSON object, or why not.
util::Result<nlohmann::json> get_json(const std::string& base, const std::string& path, Duration timeout,
                                      const util::CancelFlag* cancel, const SeedWording& wording) {
  const std::string what = "GET " + util::escape_control_chars(base + path);
  const auto unreachable = [&](const std::string& why) {
    return util::make_error(fmt::format(fmt::runtime(wording.unreachable), fmt::format("{}: {}", what, why)));
  };
  const auto unreadable = [&](const std::string& why) {
    return util::make_error(fmt::format(fmt::runtime(wording.unreadable), fmt::format("{}: {}", what, why)));
  };
  if (auto ok = util::check_http_text("URL", base + path); !ok) return unreachable(ok.error().message);
  const Client client(base);
  bool too_big = false;
  auto res = send(client, kGet, path, kMaxSeedsBytes, timeout, cancel, too_big);
  if (too_big) return unreadable(fmt::format("answer larger than {} MiB", kMaxSeedsBytes >> 20));
  if (!res) return unreachable(res.error().message);
  if (res->status != 200) return unreadable(fmt::format("HTTP {}", res->status));
  auto j = nlohmann::json::parse(res->body, nullptr, false);
  if (!j.is_object()) return unreadable("not a JSON object");
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

HOT_PATH bool FailureCounter::observe(bool failed) {
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

HOT_PATH CheckResult read_answer(const Fetched& f, const std::string& host, const std::string& id12) {
  using Kind = CheckResult::Kind;
  if (f.http_status == 0) return {Kind::Unreachable, std::nullopt, f.error};
  if (f.too_big) return {Kind::Unparsable, std::nullopt, f.error};
  // Go parses any answer's body; a non-200 answer is an error page here, never the state.
  if (f.http_status != 200) return {Kind::Unparsable, std::nullopt, fmt::format("HTTP {}", f.http_status)};
  // Go decodes into a struct: a document that is not an object (or null) does not decode.
  const auto first = f.body.find_first_not_of(kJsonSpace);
  if (first != std::string::npos && f.body[first] != '{' && f.body.compare(first, 4, kNull) != 0) {
    return {Kind::Unparsable, std::nullopt, "not a JSON object"};
  }
  const Lookup l = find_service_status(f.body, host, id12);
  switch (l.kind) {
    case Lookup::Kind::Found: return {Kind::Listed, l.status, {}};
    case Lookup::Kind::Invalid: return {Kind::Unparsable, std::nullopt, l.error};
    case Lookup::Kind::NoHost: return {Kind::HostNotListed, std::nullopt, ""};
    case Lookup::Kind::NoService: return {Kind::ServiceNotListed, std::nullopt, fmt::format("service {}", id12)};
    case Lookup::Kind::NoStatus:
      // Go's typed decoding: a Status of another type fails the whole document; none, or null, is 0.
      if (l.status_not_integer) return {Kind::Unparsable, std::nullopt, "our service's Status is not an integer"};
      return {Kind::Listed, std::nullopt, "listed without a Status"};
  }
  return {Kind::Unparsable, std::nullopt, "unknown lookup result"};
}

HOT_PATH std::optional<CheckResult> run_check(const StateFetcher& fetch, int retry_count,
                                              const std::function<bool()>& pause, const std::string& host,
                                              const std::string& id12) {
  Fetched f;
  // Go: executor.go:200-208, a failed fetch is logged and followed by the retry delay, the last too.
  for (int attempt = 0; attempt <= retry_count; ++attempt) {
    f = fetch();
    if (f.cancelled) return std::nullopt;
    if (f.http_status != 0) break;
    spdlog::warn("Failed {} attempts to fetch state from Sidecar! ({})", attempt + 1, f.error);
    if (!pause()) return std::nullopt;
  }
  return read_answer(f, host, id12);
}

namespace {

HOT_PATH bool is_failure(const std::optional<long long>& status) {
  return status && (*status == static_cast<int>(Status::Unhealthy) || *status == static_cast<int>(Status::Tombstone));
}

HOT_PATH std::string status_name(const std::optional<long long>& status) {
  if (!status) return "without a Status";
  if (*status >= 0 && *status <= static_cast<int>(Status::Draining)) return kStatusNames[*status];
  return fmt::format("status {}", *status);
}

std::string with_detail(const std::string& detail) { return detail.empty() ? "" : " (" + detail + ")"; }

}  // namespace

HOT_PATH Watch::Actions Watch::after(const CheckResult& r) {
  using Kind = CheckResult::Kind;
  Actions out;
  // No verdict: Go logs, assumes healthy and leaves the count as it is (executor.go:214-231).
  switch (r.kind) {
    case Kind::Unreachable:
      spdlog::error("Can't contact Sidecar! Assuming healthy...{}", with_detail(r.detail));
      return out;
    case Kind::Unparsable:
      spdlog::error("Can't parse Sidecar results! Assuming healthy...{}", with_detail(r.detail));
      return out;
    case Kind::HostNotListed:
      spdlog::warn("Host not found in Sidecar, can't manage this container! ({})", host_);
      spdlog::error("Can't find this service in Sidecar yet! Assuming healthy...{}", with_detail(r.detail));
      return out;
    case Kind::ServiceNotListed:
      spdlog::error("Can't find this service in Sidecar yet! Assuming healthy...{}", with_detail(r.detail));
      return out;
    case Kind::Listed: break;
  }
  const std::string id12 = container_id_.substr(0, 12);
  const std::string name = status_name(r.status);
  const bool failed = is_failure(r.status);
  std::optional<bool> health;
  if (failed) health = false;
  if (r.status && *r.status == static_cast<int>(Status::Alive)) health = true;
  if (health_updates_ && health && health != reported_) {
    reported_ = health;
    out.health = health;
  }
  if (!failed) {
    spdlog::debug("Sidecar reports service {} {}", id12, name);
    counter_.observe(false);
    return out;
  }
  if (!counter_.observe(true)) {
    spdlog::warn(
        "Failed Sidecar health check, but below fail limit: service {} is {} (failure {}; the task is "
        "killed at failure {})",
        id12, name, counter_.count(), max_fails_ + 1);
    return out;
  }
  spdlog::error("Health failure count exceeded {}: service {} is {}", max_fails_, id12, name);
  spdlog::error("Error! Unhealthy container: {} failing task!", container_id_);
  out.kill = fmt::format(
      "Sidecar reported the service {} on {} checks with no healthy answer between; health "
      "failure count exceeded {}",
      name, max_fails_ + 1, max_fails_);
  return out;
}

HOT_PATH PollTicker::Clock::time_point PollTicker::next(Clock::time_point now) {
  if (!origin_) origin_ = now;  // Go starts the ticker once the first check is over
  const long long passed = (now - *origin_) / interval_;
  if (passed > last_tick_) {  // a tick came during the check: taken now, the others dropped
    last_tick_ = passed;
    return now;
  }
  ++last_tick_;
  return *origin_ + last_tick_ * interval_;
}

Adapter::Adapter(WatchdogOptions opts, Sink sink, StateFetcher fetch)
    : opts_(std::move(opts)), sink_(std::move(sink)), fetch_(std::move(fetch)) {}

Adapter::~Adapter() { shutdown(); }

bool Adapter::sleep_for(Duration d) {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return watchdog_stop_ || shutdown_; });
}

HOT_PATH bool Adapter::sleep_until(std::chrono::steady_clock::time_point t) {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_until(lock, t, [this] { return watchdog_stop_ || shutdown_; });
}

void Adapter::start_watchdog(const std::string& container_id, const std::string& task_host) {
  std::lock_guard<std::mutex> lock(mu_);
  if (watchdog_.joinable() || watchdog_stop_ || shutdown_) return;
  watchdog_ = std::thread([this, container_id, task_host] { run_watchdog(container_id, task_host); });
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

Fetched fetch_state_once(const std::string& state_url, Duration timeout) {
  Fetched f;
  auto url = split_url(state_url);
  if (!url) {
    f.error = url.error().message;
    return f;
  }
  return fetch_state(Client(url->base), url->path, state_url, timeout, nullptr);
}

StateFetcher Adapter::http_fetcher(const SplitUrl& url) {
  auto client = std::make_shared<const Client>(url.base);
  // Resolved now, as the task starts running: the executor then drops the pages its start-up used,
  // the name lookup's (in a static executable, /etc/hosts and the resolver) among them. Resolved at
  // the first check instead, after the backoff, they would stay resident for the task's life.
  if (client->http) client->http->resolve();
  return [this, client, path = url.path] {
    return fetch_state(*client, path, opts_.state_url, opts_.http_timeout, &watchdog_cancel_);
  };
}

HOT_PATH void Adapter::run_watchdog(std::string container_id, std::string host) {
  StateFetcher fetch = fetch_;
  if (!fetch) {
    auto url = split_url(opts_.state_url);
    if (!url) {
      spdlog::error("Sidecar watchdog off: EXECUTOR_SIDECAR_URL {}", url.error().message);
      return;
    }
    fetch = http_fetcher(*url);
  }
  const std::string id12 = container_id.substr(0, 12);
  spdlog::info("Sidecar watchdog for service {} on host {}: first check in {}, then every {}", id12, host,
               ms(opts_.backoff), ms(opts_.poll_interval));
  // Go: executor.go:263-264, the backoff, then the first check at once (an immediate timed looper).
  if (!sleep_for(opts_.backoff)) return;
  Watch watch(opts_.max_fails, opts_.health_updates, container_id, host);
  const auto pause = [this] { return sleep_for(opts_.retry_delay); };
  PollTicker ticker(opts_.poll_interval);
  while (true) {
    const auto result = run_check(fetch, opts_.retry_count, pause, host, id12);
    if (!result || watchdog_cancel_.is_set()) return;  // stopped, perhaps while a request was in flight
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (watchdog_stop_ || shutdown_) return;
    }
    const Watch::Actions actions = watch.after(*result);
    if (actions.health) sink_(ev::HealthChanged{*actions.health});
    if (actions.kill) {
      sink_(ev::WatchdogKill{*actions.kill});
      return;
    }
    if (!sleep_until(ticker.next(std::chrono::steady_clock::now()))) return;
  }
}

void Adapter::drain(const std::string& container_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (shutdown_) return;
  drains_.emplace_back([this, id = container_id.substr(0, 12)] { do_drain(id); });
}

void Adapter::fetch_seeds() {
  std::lock_guard<std::mutex> lock(mu_);
  if (shutdown_) return;
  drains_.emplace_back([this] {
    executor::ev::StepDone done{executor::LaunchStep::Seeds, "", ""};
    auto seeds = sidecar::fetch_seeds(opts_.agent_endpoint, opts_.master_port, opts_.http_timeout, &shutdown_cancel_);
    if (seeds) {
      spdlog::info("SIDECAR_SEEDS={}", *seeds);
      done.env.push_back("SIDECAR_SEEDS=" + *seeds);
    } else if (!shutdown_cancel_.is_set()) {       // cut short by the exit: nothing to report
      spdlog::error("{}", seeds.error().message);  // the Go executor's line, alone (executor_utils.go)
    }
    sink_(std::move(done));
  });
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
  const Client client(url->base);
  // Go: executor_utils.go:185 and :203, the lines logged around the drain calls.
  spdlog::warn("Setting service ID \"{}\" status to DRAINING in Sidecar", id12);
  std::string last;
  for (int attempt = 0; attempt <= opts_.retry_count; ++attempt) {
    if (attempt > 0) {
      std::unique_lock<std::mutex> lock(mu_);
      // A drain is worth finishing even while stopping the watchdog: only shutdown cuts it short.
      cv_.wait_for(lock, opts_.retry_delay, [this] { return shutdown_; });
      if (shutdown_) break;
    }
    bool too_big = false;  // the answer's body is not kept
    auto res = send(client, kPost, path, 0, opts_.http_timeout, &shutdown_cancel_, too_big);
    if (res && res->status == 202) {
      spdlog::info("Sidecar is draining service {}", id12);
      return;
    }
    last = res ? fmt::format("HTTP {}", res->status) : res.error().message;
    spdlog::warn("Failed {} attempts to set service to DRAINING in Sidecar! (POST {}{}: {})", attempt + 1, url->base,
                 path, last);
    if (shutdown_cancel_.is_set()) break;
  }
  spdlog::error("Sidecar did not accept the drain of service {} ({}); the task is stopped anyway", id12, last);
}

util::Result<std::string> fetch_seeds(const std::string& agent_endpoint, int master_port, Duration timeout,
                                      const util::CancelFlag* cancel) {
  auto sj = get_json("http://" + agent_endpoint, "/state", timeout, cancel, kAgentWording);
  if (!sj) return sj.error();
  const std::string agent_state = "GET http://" + util::escape_control_chars(agent_endpoint) + "/state";
  const std::string master = util::json_string(*sj, "master_hostname");
  if (master.empty()) {
    return util::make_error(
        fmt::format(fmt::runtime(kAgentWording.unreadable), fmt::format("{}: no master_hostname", agent_state)));
  }
  const std::string base = fmt::format("http://{}:{}", master, master_port);
  auto lj = get_json(base, "/slaves", timeout, cancel, kMasterWording);
  if (!lj) return lj.error();
  const std::string slaves = "GET " + util::escape_control_chars(base) + "/slaves";
  const nlohmann::json* agents = util::json_array(*lj, "slaves");
  if (agents == nullptr) {
    return util::make_error(
        fmt::format(fmt::runtime(kMasterWording.unreadable), fmt::format("{}: no slaves list", slaves)));
  }
  std::string seeds;
  for (const auto& s : *agents) {
    const std::string* hostname = util::json_string_ptr(s, "hostname");
    if (hostname == nullptr) continue;
    const std::string& host = *hostname;
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
