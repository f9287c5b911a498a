// Config files and credential helpers.
#include "docker/credentials.h"

#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "util/json_get.h"
#include "util/subprocess.h"

namespace docker {

std::vector<std::string> docker_config_paths(const util::EnvLookup& env) {
  std::vector<std::string> out;
  auto add = [&](const std::string& p) {
    for (const auto& q : out) {
      if (q == p) return;
    }
    out.push_back(p);
  };
  if (auto d = env("DOCKER_CONFIG"); d && !d->empty()) add(*d + "/config.json");
  if (auto h = env("HOME"); h && !h->empty()) add(*h + "/.docker/config.json");
  add("/root/.docker/config.json");
  return out;
}

util::Result<RegistryCredentials> run_credential_helper(const std::string& helper, const std::string& server,
                                                        std::chrono::milliseconds timeout) {
  const std::string program = "docker-credential-" + helper;
  auto r = util::run_program({program, "get"}, server, timeout);
  if (!r) return r.error();
  if (r->exit_code != 0) {
    std::string why = r->out.empty() ? r->err : r->out;  // helpers print their error on stdout
    while (!why.empty() && (why.back() == '\n' || why.back() == '\r')) why.pop_back();
    if (why.size() > 200) why.resize(200);
    return util::make_error(fmt::format("{} get for {} exited with {}: {}", program, server, r->exit_code, why));
  }
  auto j = nlohmann::json::parse(r->out, nullptr, false);
  if (!j.is_object() || !j.contains("Secret") || !j["Secret"].is_string()) {
    return util::make_error(fmt::format("{} get for {}: the answer is not a credentials object", program, server));
  }
  RegistryCredentials c;
  c.server_address = util::json_string(j, "ServerURL", server);
  const std::string user = j.contains("Username") && j["Username"].is_string() ? j["Username"].get<std::string>() : "";
  if (user == "<token>") {  // the helpers' convention for identity tokens
    c.identity_token = j["Secret"].get<std::string>();
  } else {
    c.username = user;
    c.password = j["Secret"].get<std::string>();
  }
  c.source = fmt::format("credential helper {}", program);
  return c;
}

PullAuth resolve_pull_auth(const util::EnvLookup& env, const std::string& repository_key,
                           const std::string& image_registry, std::chrono::milliseconds helper_timeout) {
  PullAuth out;
  for (const auto& path : docker_config_paths(env)) {
    std::ifstream f(path);
    if (!f) continue;
    std::stringstream ss;
    ss << f.rdbuf();
    auto found = find_registry_auth(ss.str(), repository_key, image_registry);
    if (!found) {
      out.notes.push_back(fmt::format("{}: {}", path, found.error().message));
      continue;
    }
    if (found->credentials) {
      out.header = registry_auth_header(*found->credentials);
      out.source = fmt::format("{} in {}", found->credentials->source, path);
      return out;
    }
    if (!found->helper.empty()) {
      auto creds = run_credential_helper(found->helper, found->helper_server, helper_timeout);
      if (creds) {
        out.header = registry_auth_header(*creds);
        out.source = fmt::format("{} (from {})", creds->source, path);
        return out;
      }
      out.notes.push_back(creds.error().message);
    }
  }
  out.source = "no credentials found";
  return out;
}

}  // namespace docker
