// Docker Engine API calls.
#include "docker/client.h"

#include <fmt/format.h>

#include <cstdlib>
#include <sstream>
#include <thread>

#include "util/http_safe.h"
#include "util/json_get.h"

namespace docker {
namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// The daemon's {"message": "..."} or the raw body.
std::string daemon_message(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("message") && j["message"].is_string()) return j["message"].get<std::string>();
  std::string raw = trim(body);
  if (raw.size() > 512) raw = raw.substr(0, 512) + "…";
  return raw.empty() ? "(empty answer)" : raw;
}

bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// Docker's container ids (hex, or a prefix) and names: [a-zA-Z0-9][a-zA-Z0-9_.-]*. Nothing else can
// name a container, and nothing else could then turn into "..", an empty segment or a query.
bool is_container_ref(std::string_view id) {
  if (id.empty() || !is_alnum(id.front())) return false;
  for (const char c : id) {
    if (!is_alnum(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

// A caller's text in an error: control characters escaped, long text cut.
std::string shown(std::string_view text) {
  constexpr std::size_t kMaxShown = 160;
  std::string out = util::escape_control_chars(text.substr(0, kMaxShown));
  if (text.size() > kMaxShown) out += "...";
  return out;
}

// An image name as the /images/{name}/json route takes it: no control character, '/' kept between
// segments, every segment non-empty and neither "." nor ".." (dockerd's router would clean such a
// path, which then names another endpoint), everything else outside the reference alphabet
// percent-escaped.
util::Result<std::string> image_segment(std::string_view image) {
  // No image name holds one; refusing beats escaping (the caller learns why at once).
  if (util::has_control_chars(image)) {
    return util::make_error(fmt::format("image name \"{}\" holds a control character: request refused", shown(image)));
  }
  std::size_t start = 0;
  while (true) {
    const auto slash = image.find('/', start);
    const auto seg = image.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (seg.empty() || seg == "." || seg == "..") {
      return util::make_error(
          fmt::format("image name \"{}\" has an empty, \".\" or \"..\" path segment: request refused", shown(image)));
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return path_escape(image, "/:@");
}

std::vector<int> version_parts(const std::string& v) {
  std::vector<int> out;
  std::stringstream ss(v);
  std::string part;
  while (std::getline(ss, part, '.')) out.push_back(std::atoi(part.c_str()));
  return out;
}

}  // namespace

int compare_api_versions(const std::string& a, const std::string& b) {
  const auto pa = version_parts(a);
  const auto pb = version_parts(b);
  for (std::size_t i = 0; i < std::max(pa.size(), pb.size()); ++i) {
    const int x = i < pa.size() ? pa[i] : 0;
    const int y = i < pb.size() ? pb[i] : 0;
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

std::string path_escape(std::string_view s, std::string_view keep) { return util::percent_escape(s, keep); }

std::string url_escape(std::string_view s) { return util::percent_escape(s); }

util::Result<Endpoint> endpoint_from_env(const util::EnvLookup& env) {
  std::string host = env("DOCKER_HOST").value_or("");
  if (host.empty()) host = "unix:///var/run/docker.sock";
  if (host.rfind("unix://", 0) == 0) {
    std::string path = host.substr(7);
    if (path.empty()) return util::make_error(fmt::format("DOCKER_HOST={}: no socket path", host));
    return Endpoint::unix_socket(path);
  }
  if (host.rfind("tcp://", 0) != 0) {
    return util::make_error(fmt::format("DOCKER_HOST={}: only unix:// and tcp:// are supported", host));
  }
  std::string rest = host.substr(6);
  if (auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  Endpoint ep;
  const std::string tls_verify = env("DOCKER_TLS_VERIFY").value_or("");
  ep.tls = !tls_verify.empty() && tls_verify != "0";
  std::string port_text;
  if (!rest.empty() && rest.front() == '[') {  // [v6]:port
    const auto close = rest.find(']');
    if (close == std::string::npos) return util::make_error(fmt::format("DOCKER_HOST={}: bad address", host));
    ep.host = rest.substr(1, close - 1);
    if (close + 1 < rest.size() && rest[close + 1] == ':') port_text = rest.substr(close + 2);
  } else if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    ep.host = rest.substr(0, colon);
    port_text = rest.substr(colon + 1);
  } else {
    ep.host = rest;
  }
  if (ep.host.empty()) return util::make_error(fmt::format("DOCKER_HOST={}: no host", host));
  if (port_text.empty()) {
    ep.port = ep.tls ? 2376 : 2375;
  } else {
    char* end = nullptr;
    const long p = std::strtol(port_text.c_str(), &end, 10);
    if (*end != '\0' || p <= 0 || p > 65535) return util::make_error(fmt::format("DOCKER_HOST={}: bad port", host));
    ep.port = static_cast<int>(p);
  }
  if (ep.tls) {
    std::string dir = env("DOCKER_CERT_PATH").value_or("");
    if (dir.empty()) dir = env("HOME").value_or("/root") + "/.docker";
    ep.ca_file = dir + "/ca.pem";
    ep.cert_file = dir + "/cert.pem";
    ep.key_file = dir + "/key.pem";
  }
  return ep;
}

Client::Client(Endpoint endpoint, std::chrono::milliseconds timeout) : http_(std::move(endpoint)), timeout_(timeout) {}

std::string Client::api_version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return version_;
}

std::string Client::path(const std::string& p) const {
  std::lock_guard<std::mutex> lock(mu_);
  return version_.empty() ? p : fmt::format("/v{}{}", version_, p);
}

util::Result<std::string> Client::container_path(const std::string& id, std::string_view rest) const {
  if (!is_container_ref(id)) {
    return util::make_error(
        fmt::format("container \"{}\" is not a Docker container id or name: request refused", shown(id)),
        util::ErrorKind::Refused);
  }
  return path(fmt::format("/containers/{}{}", path_escape(id), rest));
}

util::Error Client::fail(const HttpRequest& req, const util::Result<HttpResponse>& res) const {
  if (!res) {
    return util::make_error(fmt::format("Docker {}: {}", http_.endpoint().describe(), res.error().message),
                            util::ErrorKind::Unreachable);
  }
  return util::status_error(
      fmt::format("{} {}: HTTP {}: {}", req.method, req.path, res->status, daemon_message(res->body)), res->status);
}

util::Result<HttpResponse> Client::call(HttpRequest req, std::initializer_list<int> ok) const {
  auto res = http_.send(req);
  if (res) {
    for (int s : ok) {
      if (res->status == s) return res;
    }
  }
  return fail(req, res);
}

util::Result<std::string> Client::negotiate(std::optional<std::chrono::milliseconds> timeout,
                                            const util::CancelFlag* cancel) {
  HttpRequest req{"GET", "/_ping", {}, "", timeout.value_or(timeout_)};
  req.cancel = cancel;
  auto res = call(req, {200});
  if (!res) return res.error();
  std::string theirs = res->headers.count("api-version") ? res->headers["api-version"] : "";
  if (theirs.empty()) {  // very old daemons: ask /version
    HttpRequest vreq{"GET", "/version", {}, "", timeout.value_or(timeout_)};
    vreq.cancel = cancel;
    auto v = call(vreq, {200});
    if (!v) return v.error();
    auto j = nlohmann::json::parse(v->body, nullptr, false);
    if (j.is_object() && j.contains("ApiVersion") && j["ApiVersion"].is_string()) theirs = j["ApiVersion"];
  }
  if (theirs.empty()) return util::make_error("the Docker daemon did not say which API version it speaks");
  if (compare_api_versions(theirs, kMinApiVersion) < 0) {
    return util::make_error(
        fmt::format("the Docker daemon speaks API {}, older than the {} we need", theirs, kMinApiVersion));
  }
  const std::string use = compare_api_versions(theirs, kMaxApiVersion) < 0 ? theirs : kMaxApiVersion;
  std::lock_guard<std::mutex> lock(mu_);
  version_ = use;
  return use;
}

util::Result<bool> Client::image_present(const std::string& image) {
  auto segment = image_segment(image);
  if (!segment) return util::make_error(segment.error().message, util::ErrorKind::Refused);
  HttpRequest req{"GET", path(fmt::format("/images/{}/json", *segment)), {}, "", timeout_};
  auto res = http_.send(req);
  if (res && res->status == 200) return true;
  if (res && res->status == 404) return false;
  return fail(req, res);
}

util::Result<void> Client::pull(const ImageRef& ref, const std::string& auth_header,
                                const std::function<void(const std::string&)>& on_status,
                                std::chrono::milliseconds silence) {
  const std::string tag = ref.digest.empty() ? ref.pull_tag() : ref.digest;
  HttpRequest req{"POST",
                  path(fmt::format("/images/create?fromImage={}&tag={}", url_escape(ref.name()), url_escape(tag))),
                  {},
                  "",
                  silence};
  if (!auth_header.empty()) req.headers["X-Registry-Auth"] = auth_header;
  std::string pending;
  std::string stream_error;
  auto handle_line = [&](const std::string& line) {
    if (line.empty()) return;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object()) return;
    if (j.contains("error")) {
      stream_error = j["error"].is_string() ? j["error"].get<std::string>() : j["error"].dump();
      if (j.contains("errorDetail") && j["errorDetail"].is_object() && j["errorDetail"].contains("message") &&
          j["errorDetail"]["message"].is_string()) {
        stream_error = j["errorDetail"]["message"].get<std::string>();
      }
      return;
    }
    if (on_status && j.contains("status") && j["status"].is_string() && !j.contains("progressDetail")) {
      std::string s = j["status"];
      if (j.contains("id") && j["id"].is_string()) s = fmt::format("{}: {}", j["id"].get<std::string>(), s);
      on_status(s);
    }
  };
  auto res = http_.stream(req, [&](std::string_view piece) {
    pending.append(piece);
    std::size_t pos;
    while ((pos = pending.find('\n')) != std::string::npos) {
      handle_line(trim(pending.substr(0, pos)));
      pending.erase(0, pos + 1);
    }
    if (pending.size() > (1u << 20)) pending.clear();  // a progress line never gets this long
    return true;
  });
  if (!res || res->status != 200) return fail(req, res);
  handle_line(trim(pending));
  if (!stream_error.empty()) {
    return util::make_error(fmt::format("{} {}: {}", req.method, req.path, stream_error), util::ErrorKind::Stream);
  }
  return {};
}

util::Result<std::string> Client::create(const std::string& name, const nlohmann::json& body,
                                         std::vector<std::string>* warnings) {
  HttpRequest req{"POST",
                  path("/containers/create?name=" + url_escape(name)),
                  {{"Content-Type", "application/json"}},
                  body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  timeout_};
  auto res = call(req, {201});
  if (!res) return res.error();
  auto j = nlohmann::json::parse(res->body, nullptr, false);
  if (!j.is_object() || !j.contains("Id") || !j["Id"].is_string()) {
    return util::make_error(
        fmt::format("{} {}: answer without an Id: {}", req.method, req.path, daemon_message(res->body)));
  }
  if (warnings && j.contains("Warnings") && j["Warnings"].is_array()) {
    for (const auto& w : j["Warnings"]) {
      if (w.is_string()) warnings->push_back(w.get<std::string>());
    }
  }
  return j["Id"].get<std::string>();
}

util::Result<void> Client::start(const std::string& id) {
  auto p = container_path(id, "/start");
  if (!p) return p.error();
  auto res = call(HttpRequest{"POST", *p, {}, "", timeout_}, {204, 304});
  if (!res) return res.error();
  return {};
}

util::Result<void> Client::stop(const std::string& id, int timeout_s) {
  // The daemon answers once the container is gone: allow it the grace period and then some.
  auto p = container_path(id, fmt::format("/stop?t={}", timeout_s));
  if (!p) return p.error();
  HttpRequest req{"POST", *p, {}, "", timeout_ + std::chrono::seconds(timeout_s)};
  auto res = call(req, {204, 304});
  if (!res) return res.error();
  return {};
}

util::Result<void> Client::kill(const std::string& id, const std::string& signal) {
  auto p = container_path(id, "/kill?signal=" + url_escape(signal));
  if (!p) return p.error();
  auto res = call(HttpRequest{"POST", *p, {}, "", timeout_}, {204});
  if (!res) return res.error();
  return {};
}

util::Result<int> Client::wait(const std::string& id, const util::CancelFlag* cancel) {
  const bool has_condition = compare_api_versions(api_version().empty() ? kMaxApiVersion : api_version(), "1.30") >= 0;
  auto p = container_path(id, has_condition ? "/wait?condition=not-running" : "/wait");
  if (!p) return p.error();
  HttpRequest req{"POST", *p, {}, "", std::chrono::milliseconds(0), cancel};
  auto res = call(req, {200});
  if (!res) return res.error();
  auto j = nlohmann::json::parse(res->body, nullptr, false);
  if (!j.is_object() || !j.contains("StatusCode") || !j["StatusCode"].is_number_integer()) {
    return util::make_error(
        fmt::format("{} {}: unexpected answer: {}", req.method, req.path, daemon_message(res->body)));
  }
  if (j.contains("Error") && j["Error"].is_object() && j["Error"].contains("Message") &&
      j["Error"]["Message"].is_string() && !j["Error"]["Message"].get<std::string>().empty()) {
    return util::make_error(fmt::format("{} {}: {}", req.method, req.path, j["Error"]["Message"].get<std::string>()));
  }
  return j["StatusCode"].get<int>();
}

util::Result<void> Client::events(const std::string& id, const std::function<void(int status)>& on_open,
                                  const std::function<bool(const ContainerEvent&)>& on_event,
                                  const util::CancelFlag* cancel) {
  if (!is_container_ref(id)) {
    return util::make_error(
        fmt::format("container \"{}\" is not a Docker container id or name: request refused", shown(id)),
        util::ErrorKind::Refused);
  }
  const nlohmann::json filters = {{"container", {id}}, {"event", {"die", "oom"}}, {"type", {"container"}}};
  HttpRequest req{"GET", path("/events?filters=" + url_escape(filters.dump())), {}, "", std::chrono::milliseconds(0),
                  cancel};
  if (on_open) req.on_head = [&on_open](const HttpResponse& head) { on_open(head.status); };
  constexpr std::size_t kMaxEventLine = 1u << 20;
  std::string line, bad;
  auto res = http_.stream(req, [&](std::string_view piece) {
    // The daemon writes one JSON object per line (Go's json.Encoder), split anywhere by the transport.
    while (!piece.empty()) {
      const auto nl = piece.find('\n');
      line.append(piece.substr(0, nl));
      if (line.size() > kMaxEventLine) {
        bad = fmt::format("an event line over {} KiB", kMaxEventLine >> 10);
        return false;
      }
      if (nl == std::string_view::npos) return true;
      piece.remove_prefix(nl + 1);
      const auto j = nlohmann::json::parse(line, nullptr, false);
      line.clear();
      if (!j.is_object()) {
        bad = "an event that is not a JSON object";
        return false;
      }
      ContainerEvent e;
      e.action = util::json_string(j, "Action");
      if (e.action.empty()) e.action = util::json_string(j, "status");  // before API 1.22
      if (j.contains("Actor") && j["Actor"].is_object() && j["Actor"].contains("Attributes") &&
          j["Actor"]["Attributes"].is_object()) {
        for (const auto& [k, v] : j["Actor"]["Attributes"].items()) {
          if (v.is_string()) e.attributes[k] = v.get<std::string>();
        }
      }
      if (!on_event(e)) return false;
    }
    return true;
  });
  if (!res || res->status != 200) return fail(req, res);
  if (!bad.empty()) return util::make_error(fmt::format("{} {}: {}", req.method, req.path, bad));
  return {};
}

util::Result<ContainerState> Client::inspect(const std::string& id, std::optional<std::chrono::milliseconds> timeout,
                                             const util::CancelFlag* cancel) {
  auto p = container_path(id, "/json");
  if (!p) return p.error();
  HttpRequest req{"GET", *p, {}, "", timeout.value_or(timeout_), cancel};
  auto res = call(req, {200});
  if (!res) return res.error();
  auto j = nlohmann::json::parse(res->body, nullptr, false);
  if (!j.is_object() || !j.contains("State") || !j["State"].is_object()) {
    return util::make_error(fmt::format("{} {}: answer without State", req.method, req.path));
  }
  ContainerState st;
  st.id = util::json_string(j, "Id");
  st.name = util::json_string(j, "Name");
  st.created = util::json_string(j, "Created");
  const auto& s = j["State"];
  st.status = util::json_string(s, "Status");
  st.running = util::json_bool(s, "Running", false);
  if (s.contains("ExitCode") && s["ExitCode"].is_number_integer() && !st.running && st.status != "created") {
    st.exit_code = s["ExitCode"].get<int>();
  }
  st.oom_killed = util::json_bool(s, "OOMKilled", false);
  if (s.contains("Pid") && s["Pid"].is_number_integer()) st.pid = s["Pid"].get<long long>();
  st.error = util::json_string(s, "Error");
  if (j.contains("Config") && j["Config"].is_object()) {
    const auto& config = j["Config"];
    st.tty = util::json_bool(config, "Tty", false);
    st.image = util::json_string(config, "Image");
    if (config.contains("Labels") && config["Labels"].is_object()) {
      for (const auto& [k, v] : config["Labels"].items()) {
        if (v.is_string()) st.labels[k] = v.get<std::string>();
      }
    }
  }
  if (j.contains("NetworkSettings") && j["NetworkSettings"].is_object()) {
    const auto& ns = j["NetworkSettings"];
    st.ip_address = util::json_string(ns, "IPAddress");
    st.sandbox_key = util::json_string(ns, "SandboxKey");
    const std::string mode = j.contains("HostConfig") ? util::json_string(j["HostConfig"], "NetworkMode") : "";
    if (ns.contains("Networks") && ns["Networks"].is_object()) {
      for (const auto& [name, net] : ns["Networks"].items()) {  // nlohmann orders object keys
        if (!net.is_object()) continue;
        ContainerState::Network n{name, util::json_string(net, "IPAddress"),
                                  util::json_string(net, "GlobalIPv6Address")};
        if (n.ipv4.empty() && n.ipv6.empty()) continue;  // host, none: no address of its own
        if (name == mode || (mode == "default" && name == "bridge")) {
          st.networks.insert(st.networks.begin(), std::move(n));
        } else {
          st.networks.push_back(std::move(n));
        }
      }
    }
    if (st.ip_address.empty()) {
      for (const auto& n : st.networks) {
        if (!n.ipv4.empty()) {
          st.ip_address = n.ipv4;
          break;
        }
      }
    }
  }
  return st;
}

util::Result<void> Client::logs(const std::string& id, const LogsOptions& opts, bool tty,
                                const std::function<void(LogStream, std::string_view)>& sink,
                                const util::CancelFlag* cancel, std::function<void()> on_idle) {
  return read_logs(id, opts, false, tty, sink, nullptr, cancel, std::move(on_idle), nullptr);
}

util::Result<void> Client::stamped_logs(const std::string& id, const LogsOptions& opts, bool tty,
                                        StampedLogReader& reader, const util::CancelFlag* cancel,
                                        std::function<void()> on_idle, const std::function<bool()>& keep_reading) {
  auto r = read_logs(
      id, opts, true, tty, [&](LogStream s, std::string_view piece) { reader.feed(s, piece); },
      [&](LogStream s, std::uint32_t length) { reader.frame(s, length); }, cancel, std::move(on_idle), keep_reading);
  reader.end();
  return r;
}

util::Result<void> Client::read_logs(const std::string& id, const LogsOptions& opts, bool timestamps, bool tty,
                                     const std::function<void(LogStream, std::string_view)>& sink,
                                     const std::function<void(LogStream, std::uint32_t)>& on_frame,
                                     const util::CancelFlag* cancel, std::function<void()> on_idle,
                                     const std::function<bool()>& keep_reading) {
  std::string q = fmt::format("/logs?stdout={}&stderr={}&follow={}", opts.stdout_stream ? 1 : 0,
                              opts.stderr_stream ? 1 : 0, opts.follow ? 1 : 0);
  if (timestamps) q += "&timestamps=1";
  if (opts.since_time) {
    q += "&since=" + since_param(*opts.since_time);
  } else if (opts.since) {
    q += fmt::format("&since={}", *opts.since);
  }
  if (opts.tail) q += fmt::format("&tail={}", *opts.tail);
  auto p = container_path(id, q);
  if (!p) return p.error();
  const auto silence = opts.silence.value_or(opts.follow ? std::chrono::milliseconds(0) : timeout_);
  HttpRequest req{"GET", *p, {}, "", silence, cancel, std::move(on_idle)};
  req.idle_every = opts.idle_every;
  req.idle_every_while = opts.idle_every_while;
  return read_output(std::move(req), tty, sink, on_frame, keep_reading);
}

util::Result<void> Client::attach(const std::string& id, bool tty, const std::function<void(int status)>& on_open,
                                  const std::function<void(LogStream, std::string_view)>& sink,
                                  const util::CancelFlag* cancel, std::function<void()> on_idle) {
  auto p = container_path(id, "/attach?stream=1&stdout=1&stderr=1");
  if (!p) return p.error();
  // No Upgrade header: the daemon then answers 200 and the raw stream up to the connection's end.
  HttpRequest req{"POST", *p, {}, "", std::chrono::milliseconds(0), cancel, std::move(on_idle)};
  if (on_open) req.on_head = [&on_open](const HttpResponse& head) { on_open(head.status); };
  return read_output(req, tty, sink, nullptr, nullptr);
}

util::Result<void> Client::read_output(const HttpRequest& req, bool tty,
                                       const std::function<void(LogStream, std::string_view)>& sink,
                                       const std::function<void(LogStream, std::uint32_t)>& on_frame,
                                       const std::function<bool()>& keep_reading) {
  LogDemuxer demux(sink, on_frame);
  std::string demux_error;
  auto res = http_.stream(req, [&](std::string_view piece) {
    if (keep_reading && !keep_reading()) return false;
    if (tty) {
      sink(LogStream::Stdout, piece);
      return true;
    }
    if (auto r = demux.feed(piece); !r) {
      demux_error = r.error().message;
      return false;
    }
    return true;
  });
  if (!res || res->status != 200) return fail(req, res);
  if (!demux_error.empty()) return util::make_error(fmt::format("{} {}: {}", req.method, req.path, demux_error));
  return {};
}

util::Result<void> Client::connect_network(const std::string& network, const std::string& id) {
  if (util::has_control_chars(network) || network.empty()) {
    return util::make_error("network name is empty or holds control characters");
  }
  nlohmann::json body = {{"Container", id}};
  auto res = call(HttpRequest{"POST",
                              path("/networks/" + path_escape(network, "") + "/connect"),
                              {{"Content-Type", "application/json"}},
                              body.dump(),
                              timeout_},
                  {200});
  if (!res) return res.error();
  return {};
}

util::Result<int> Client::exec(const std::string& id, const std::vector<std::string>& cmd,
                               std::chrono::milliseconds timeout, const util::CancelFlag* cancel) {
  auto p = container_path(id, "/exec");
  if (!p) return p.error();
  const nlohmann::json body = {{"AttachStdin", false}, {"AttachStdout", false}, {"AttachStderr", false}, {"Cmd", cmd}};
  auto res = call(HttpRequest{"POST",
                              *p,
                              {{"Content-Type", "application/json"}},
                              body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                              timeout_},
                  {201});
  if (!res) return res.error();
  auto j = nlohmann::json::parse(res->body, nullptr, false);
  if (!j.is_object() || !j.contains("Id") || !j["Id"].is_string()) {
    return util::make_error(fmt::format("exec create: answer without an Id: {}", daemon_message(res->body)));
  }
  const std::string exec_id = j["Id"].get<std::string>();
  if (exec_id.empty() || exec_id.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return util::make_error("exec create: the daemon's exec id is not hex");
  }
  const std::string exec_path = path("/exec/" + exec_id);
  auto started = call(HttpRequest{"POST",
                                  exec_path + "/start",
                                  {{"Content-Type", "application/json"}},
                                  R"({"Detach":true,"Tty":false})",
                                  timeout_},
                      {200});
  if (!started) return started.error();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto st = call(HttpRequest{"GET", exec_path + "/json", {}, "", timeout_}, {200});
    if (!st) return st.error();
    auto s = nlohmann::json::parse(st->body, nullptr, false);
    if (s.is_object() && !util::json_bool(s, "Running", true) && s.contains("ExitCode") &&
        s["ExitCode"].is_number_integer()) {
      return s["ExitCode"].get<int>();
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return util::make_error(fmt::format("timed out after {} ms", timeout.count()));
    }
    if (cancel && cancel->is_set()) return util::make_error("cancelled");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

util::Result<void> Client::remove(const std::string& id, std::optional<std::chrono::milliseconds> timeout) {
  auto p = container_path(id, "?force=1&v=1");
  if (!p) return p.error();
  auto res = call(HttpRequest{"DELETE", *p, {}, "", timeout.value_or(timeout_)}, {204});
  if (!res) return res.error();
  return {};
}

}  // namespace docker
