// Config files and credential helpers.
#include "docker/credentials.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "util/http_safe.h"
#include "util/json_get.h"
#include "util/regular_file.h"
#include "util/secrets.h"

namespace docker {
namespace {

constexpr std::size_t kMaxConfigSize = 1 << 20;

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Why a config file may not supply root's credentials; empty when it may.
std::string untrusted_because(const struct stat& st) {
  if (!S_ISREG(st.st_mode)) return "not a regular file";
  if (st.st_uid != 0 && st.st_uid != ::geteuid()) {
    return fmt::format("owned by uid {}, neither root nor the executor's user", st.st_uid);
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) return "writable by group or others";
  if (static_cast<std::size_t>(st.st_size) > kMaxConfigSize) return "larger than 1 MiB";
  return "";
}

std::string home_of_executor_user() {
  struct passwd pw {};
  struct passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (::getpwuid_r(::geteuid(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) return "";
  return found->pw_dir != nullptr ? found->pw_dir : "";
}

// A helper's answer may hold the secret even when it failed: registered before any text of it is used.
void register_answer_secret(const std::string& out) {
  auto j = nlohmann::json::parse(out, nullptr, false);
  if (const std::string* secret = util::json_string_ptr(j, "Secret")) util::register_secret(*secret);
}

std::string one_line(std::string text, std::size_t max) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text.size() > max) text.resize(max);
  return util::escape_control_chars(text);
}

}  // namespace

std::vector<std::string> docker_config_paths(const util::EnvLookup& env) {
  std::vector<std::string> out;
  auto add = [&](const std::string& p) {
    for (const auto& q : out) {
      if (q == p) return;
    }
    out.push_back(p);
  };
  auto add_home = [&](const std::string& home) {
    add(home + "/.docker/config.json");
    add(home + "/.dockercfg");  // the legacy file, still read by go-dockerclient
  };
  if (auto d = env("DOCKER_CONFIG"); d && !d->empty()) add(*d + "/config.json");
  if (auto h = env("HOME"); h && !h->empty()) add_home(*h);
  add_home("/root");  // the Go executor's second lookup, with HOME=/root
  return out;
}

util::Result<std::optional<std::string>> read_docker_config(const std::string& path) {
  const std::string shown = util::escape_control_chars(path);
  // The task chooses DOCKER_CONFIG and HOME: what the path names is checked to be a regular file before
  // it is opened (util::open_regular_file: opening a device or a FIFO as root has effects of its own).
  const util::RegularFile file = util::open_regular_file(path);
  if (file.not_regular) return util::make_error(fmt::format("{}: not a regular file: not used", shown));
  Fd f{file.fd};
  if (f.fd < 0) {
    if (file.error == ENOENT || file.error == ENOTDIR) return std::optional<std::string>();
    return util::make_error(fmt::format("{}: cannot open: {}", shown, std::strerror(file.error)));
  }
  const struct stat st = file.st;
  if (const std::string why = untrusted_because(st); !why.empty()) {
    return util::make_error(fmt::format("{}: {}: not used", shown, why));
  }
  std::string text;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(f.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return util::make_error(fmt::format("{}: cannot read: {}", shown, std::strerror(errno)));
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > kMaxConfigSize) return util::make_error(fmt::format("{}: larger than 1 MiB: not used", shown));
  }
  return std::optional<std::string>(std::move(text));
}

std::vector<std::string> helper_environment() {
  std::vector<std::string> env = {std::string("PATH=") + util::kSystemPath};
  if (const std::string home = home_of_executor_user(); !home.empty()) env.push_back("HOME=" + home);
  return env;
}

util::Result<RegistryCredentials> run_credential_helper(const std::string& helper, const std::string& server,
                                                        std::chrono::milliseconds timeout,
                                                        const std::string& helper_path) {
  if (!valid_helper_name(helper)) {
    return util::make_error(
        fmt::format("credential helper name \"{}\" is not a plain name: not run", util::escape_control_chars(helper)));
  }
  if (util::has_control_chars(server)) return util::make_error("credential helper server name has control characters");
  const std::string program = "docker-credential-" + helper;
  const std::string found = util::find_program(program, helper_path);
  if (found.empty()) return util::make_error(fmt::format("{} not found in {}", program, helper_path));
  auto r = util::run_program({found, "get"}, server, timeout, helper_environment());
  if (!r) return r.error();
  register_answer_secret(r->out);
  if (r->exit_code != 0) {
    const std::string why = one_line(r->out.empty() ? r->err : r->out, 200);  // helpers print their error on stdout
    return util::make_error(fmt::format("{} get for {} exited with {}: {}", program, server, r->exit_code, why));
  }
  auto j = nlohmann::json::parse(r->out, nullptr, false);
  const std::string* secret = util::json_string_ptr(j, "Secret");
  if (secret == nullptr) {
    return util::make_error(fmt::format("{} get for {}: the answer is not a credentials object", program, server));
  }
  RegistryCredentials c;
  c.server_address = server;
  const std::string user = util::json_string(j, "Username");
  if (user == "<token>") {  // the helpers' convention for identity tokens
    c.identity_token = *secret;
  } else {
    c.username = user;
    c.password = *secret;
  }
  c.source = fmt::format("credential helper {}", program);
  return c;
}

PullAuth resolve_pull_auth(const util::EnvLookup& env, const std::string& repository_key,
                           const std::string& image_registry, std::chrono::milliseconds helper_timeout) {
  AuthOptions options;
  options.helper_timeout = helper_timeout;
  return resolve_pull_auth(env, repository_key, image_registry, options);
}

PullAuth resolve_pull_auth(const util::EnvLookup& env, const std::string& repository_key,
                           const std::string& image_registry, const AuthOptions& options) {
  PullAuth out;
  // Whatever key or helper answered, the header names the image's registry.
  const std::string server_address = registry_config_key(image_registry);
  for (const auto& path : docker_config_paths(env)) {
    const std::string shown = util::escape_control_chars(path);
    auto text = read_docker_config(path);
    if (!text) {
      out.notes.push_back(text.error().message);
      continue;
    }
    if (!text->has_value()) continue;
    auto found = find_registry_auth(**text, repository_key, image_registry);
    if (!found) {
      out.notes.push_back(fmt::format("{}: {}", shown, found.error().message));
      continue;
    }
    for (const auto& note : found->notes) out.notes.push_back(fmt::format("{}: {}", shown, note));
    if (found->credentials) {
      found->credentials->server_address = server_address;
      out.header = registry_auth_header(*found->credentials);
      out.source = fmt::format("{} in {}", found->credentials->source, shown);
      return out;
    }
    if (!found->helper.empty()) {
      auto creds =
          run_credential_helper(found->helper, found->helper_server, options.helper_timeout, options.helper_path);
      if (creds) {
        creds->server_address = server_address;
        out.header = registry_auth_header(*creds);
        out.source = fmt::format("{} (from {})", creds->source, shown);
        return out;
      }
      out.notes.push_back(creds.error().message);
    }
  }
  out.source = "no credentials found";
  return out;
}

}  // namespace docker
