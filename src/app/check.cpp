// The site check: each line asks one of the executor's own modules what a task would meet.
#include "app/check.h"

#include <fmt/format.h>
#include <netdb.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>

#include "app/options.h"
#include "docker/client.h"
#include "docker/credentials.h"
#include "docker/image_ref.h"
#include "docker/registry_auth.h"
#include "sidecar/state_doc.h"
#include "sidecar/watchdog.h"
#include "util/http_safe.h"
#include "vault/vault.h"
#include "version.h"

namespace app {
namespace {

using Verdict = CheckLine::Verdict;

CheckLine line(std::string name, Verdict v, std::string detail) {
  return CheckLine{std::move(name), v, util::escape_control_chars(detail)};
}

const char* verdict_text(Verdict v) {
  switch (v) {
    case Verdict::Ok: return "ok";
    case Verdict::Warn: return "warn";
    case Verdict::Fail: return "FAIL";
    case Verdict::Skip: return "skip";
  }
  return "?";
}

CheckLine check_docker(const util::EnvLookup& env) {
  auto endpoint = docker::endpoint_from_env(env);
  if (!endpoint) return line("docker", Verdict::Fail, endpoint.error().message);
  docker::Client client(*endpoint, std::chrono::seconds(5));
  auto v = client.negotiate();
  if (!v) return line("docker", Verdict::Fail, v.error().message);  // it names the endpoint
  return line("docker", Verdict::Ok,
              fmt::format("{} answers, Engine API {}", endpoint->describe(), client.api_version()));
}

CheckLine check_registry(const settings::Settings& cfg, const util::EnvLookup& env, const std::string& image) {
  if (image.empty())
    return line("registry", Verdict::Skip, "give --image REF to see the credentials a pull of it would use");
  auto ref = docker::validate_image_ref(image);
  if (!ref) return line("registry", Verdict::Fail, ref.error().message);
  const docker::PullAuth auth = docker::resolve_pull_auth(env, cfg.docker_repository, ref->registry);
  // `source` names where credentials were found (a file and an auths key, or a helper), never them.
  std::string detail = fmt::format("{} (registry {}): {}", image, ref->registry, auth.source);
  for (const auto& n : auth.notes) detail += "; " + n;
  if (!auth.notes.empty()) return line("registry", Verdict::Fail, detail);
  return line("registry", Verdict::Ok, detail);
}

CheckLine check_vault(const util::EnvLookup& env) {
  if (!env("VAULT_ADDR") || env("VAULT_ADDR")->empty()) {
    return line("vault", Verdict::Skip, "VAULT_ADDR is not set: tasks cannot use vault:// values or EXECUTOR_AWS_ROLE");
  }
  auto cfg = vault::config_from_env(env);
  if (!cfg) return line("vault", Verdict::Fail, cfg.error().message);
  cfg->max_retries = 0;
  cfg->client_timeout = std::min(cfg->client_timeout, vault::Duration(std::chrono::seconds(5)));
  vault::Client client(*cfg);
  const std::string addr = *env("VAULT_ADDR");
  auto health = client.call("GET", "/v1/sys/health", nullptr, "");
  if (!health) return line("vault", Verdict::Fail, fmt::format("{}: {}", addr, health.error().message));
  auto token = vault::obtain_token(client);
  if (!token) {
    return line("vault", Verdict::Fail,
                fmt::format("{} answers (HTTP {}); {}", addr, health->status, token.error().message));
  }
  auto self = client.call("GET", "/v1/auth/token/lookup-self", nullptr, token->value);
  if (!self) return line("vault", Verdict::Fail, fmt::format("{}: token lookup: {}", addr, self.error().message));
  if (self->status != 200) {
    return line("vault", Verdict::Fail,
                fmt::format("{}: the token from {} is refused (HTTP {})", addr, token->what, self->status));
  }
  long ttl = -1;
  if (self->body.is_object() && self->body.contains("data") && self->body["data"].is_object() &&
      self->body["data"].contains("ttl") && self->body["data"]["ttl"].is_number_integer()) {
    ttl = self->body["data"]["ttl"].get<long>();
  }
  const std::string what = fmt::format("{} answers; token from {}", addr, token->what);
  if (ttl < 0) return line("vault", Verdict::Warn, what + ", TTL not given");
  if (ttl == 0) return line("vault", Verdict::Ok, what + ", no expiry (TTL 0)");
  const Verdict v = ttl < 3600 ? Verdict::Warn : Verdict::Ok;
  return line("vault", v, fmt::format("{}, TTL {} s{}", what, ttl, v == Verdict::Warn ? " (less than an hour)" : ""));
}

CheckLine check_sidecar(const settings::Settings& cfg, const std::string& host) {
  const sidecar::Fetched f = sidecar::fetch_state_once(cfg.sidecar_url, cfg.http_timeout);
  if (f.http_status == 0) return line("sidecar", Verdict::Fail, f.error);
  if (f.http_status != 200 || !f.error.empty()) {
    return line("sidecar", Verdict::Fail,
                fmt::format("{}: HTTP {}{}", cfg.sidecar_url, f.http_status, f.error.empty() ? "" : "; " + f.error));
  }
  const auto found = sidecar::find_service_status(f.body, host, "");
  switch (found.kind) {
    case sidecar::Lookup::Kind::Invalid:
      return line("sidecar", Verdict::Fail, fmt::format("{}: not a Sidecar state document", cfg.sidecar_url));
    case sidecar::Lookup::Kind::NoHost:
      return line("sidecar", Verdict::Fail,
                  fmt::format("{} answers, but host {} is not in it (TASK_HOST or the hostname): the watchdog "
                              "would never find a service",
                              cfg.sidecar_url, host));
    default: break;
  }
  return line("sidecar", Verdict::Ok, fmt::format("{} answers and knows host {}", cfg.sidecar_url, host));
}

CheckLine check_syslog(const settings::Settings& cfg) {
  const bool on = cfg.relay_syslog || cfg.relay_syslog_startup_only;
  const auto colon = cfg.syslog_addr.rfind(':');
  const std::string host = cfg.syslog_addr.substr(0, colon);
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), cfg.syslog_addr.substr(colon + 1).c_str(), &hints, &res);
  if (res != nullptr) ::freeaddrinfo(res);
  if (rc != 0) {
    return line(
        "syslog", on ? Verdict::Fail : Verdict::Warn,
        fmt::format("{} does not resolve: {}{}", cfg.syslog_addr, ::gai_strerror(rc), on ? "" : " (the relay is off)"));
  }
  return line("syslog", Verdict::Ok,
              fmt::format("{} resolves{}", cfg.syslog_addr, on ? "" : " (the relay is off: EXECUTOR_RELAY_SYSLOG)"));
}

}  // namespace

std::string unsafe_executable(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return "missing";
  if (S_ISLNK(st.st_mode)) return "a symbolic link";
  if (!S_ISREG(st.st_mode)) return "not a regular file";
  if (st.st_uid != 0) return fmt::format("owned by uid {}, not root", st.st_uid);
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    return fmt::format("writable by group or others (mode {:o})", st.st_mode & 07777);
  if ((st.st_mode & S_IXUSR) == 0) return fmt::format("not executable (mode {:o})", st.st_mode & 07777);
  return "";
}

std::vector<CheckLine> run_site_check(const settings::Settings& cfg, const util::EnvLookup& env,
                                      const CheckOptions& opts) {
  std::vector<CheckLine> out;
  out.push_back(line("settings", Verdict::Ok,
                     opts.site_path.empty() ? "no site file: defaults and the environment"
                                            : fmt::format("site file {} read", opts.site_path)));
  out.push_back(check_docker(env));
  out.push_back(check_registry(cfg, env, opts.image));
  out.push_back(check_vault(env));
  out.push_back(check_sidecar(cfg, opts.host));
  out.push_back(check_syslog(cfg));
  for (const auto& [name, file] :
       {std::pair<std::string, std::string>{"wrapper", "executor.sh"}, {"binary", "sidecar-executor"}}) {
    const std::string path = opts.executor_dir + "/" + file;
    const std::string why = unsafe_executable(path);
    out.push_back(why.empty() ? line(name, Verdict::Ok, path + ": root's, not writable by others")
                              : line(name, Verdict::Fail, path + ": " + why));
  }
  struct stat st {};
  if (::stat(opts.executor_dir.c_str(), &st) == 0 && (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)) {
    out.push_back(
        line("folder", Verdict::Fail,
             fmt::format("{}: writable by others than root (anyone could replace the wrapper)", opts.executor_dir)));
  }
  return out;
}

std::string format_check_table(const std::vector<CheckLine>& lines) {
  std::string out = fmt::format("{:<9} {:<6} {}\n", "check", "result", "detail");
  for (const auto& l : lines) out += fmt::format("{:<9} {:<6} {}\n", l.name, verdict_text(l.verdict), l.detail);
  return out;
}

int check_exit_code(const std::vector<CheckLine>& lines) {
  return std::any_of(lines.begin(), lines.end(), [](const CheckLine& l) { return l.verdict == Verdict::Fail; }) ? 1 : 0;
}

int run_check(const CommandLine& cl, const util::Result<Site>& site) {
  if (!site) {
    const std::vector<CheckLine> bad{{"settings", Verdict::Fail, site.error().message}};
    fmt::print("{}", format_check_table(bad));
    return 1;
  }
  spdlog::set_level(spdlog::level::off);  // the table is the output
  const CheckOptions opts{cl.image, cl.executor_dir.empty() ? SIDECAR_EXECUTOR_DIR : cl.executor_dir, site->file.path,
                          task_host(util::process_env())};
  const auto lines = run_site_check(site->settings, util::process_env(), opts);
  fmt::print("{}", format_check_table(lines));
  return check_exit_code(lines);
}

}  // namespace app
