// Docker config.json credential lookup.
#include "docker/registry_auth.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "util/base64.h"

namespace docker {

std::string normalize_registry(std::string_view key) {
  std::string_view k = key;
  for (std::string_view scheme : {"https://", "http://"}) {
    if (k.substr(0, scheme.size()) == scheme) k.remove_prefix(scheme.size());
  }
  if (auto slash = k.find('/'); slash != std::string_view::npos) k = k.substr(0, slash);
  std::string host(k);
  if (host == "index.docker.io" || host == "registry-1.docker.io" || host == "registry.hub.docker.com") {
    return "docker.io";
  }
  return host;
}

util::Result<AuthLookup> find_registry_auth(std::string_view config_json, std::string_view repository_key,
                                            std::string_view image_registry) {
  auto doc = nlohmann::json::parse(config_json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return util::make_error("Docker config is not a JSON object");
  AuthLookup out;
  const std::string wanted_repo = normalize_registry(repository_key);
  const std::string wanted_image = normalize_registry(image_registry);

  if (doc.contains("auths") && doc["auths"].is_object()) {
    // The Go executor's rule first: the EXECUTOR_DOCKER_REPOSITORY key, exactly, then normalized;
    // then the image's own registry.
    const nlohmann::json* match = nullptr;
    std::string matched_key;
    auto& auths = doc["auths"];
    if (auto it = auths.find(std::string(repository_key)); it != auths.end()) {
      match = &*it;
      matched_key = it.key();
    }
    for (const std::string* wanted : {&wanted_repo, &wanted_image}) {
      for (auto it = auths.begin(); match == nullptr && it != auths.end(); ++it) {
        if (normalize_registry(it.key()) == *wanted) {
          match = &*it;
          matched_key = it.key();
        }
      }
    }
    if (match != nullptr && match->is_object()) {
      RegistryCredentials c;
      c.server_address = matched_key;
      c.source = fmt::format("auths[\"{}\"]", matched_key);
      if (match->contains("auth") && (*match)["auth"].is_string()) {
        auto decoded = util::base64_decode((*match)["auth"].get<std::string>());
        if (!decoded) return util::make_error(fmt::format("Docker config {}: auth is not base64", c.source));
        const auto colon = decoded->find(':');
        if (colon == std::string::npos) {
          return util::make_error(fmt::format("Docker config {}: auth is not user:password", c.source));
        }
        c.username = decoded->substr(0, colon);
        c.password = decoded->substr(colon + 1);
      }
      if (match->contains("identitytoken") && (*match)["identitytoken"].is_string()) {
        c.identity_token = (*match)["identitytoken"].get<std::string>();
      }
      if (!c.username.empty() || !c.identity_token.empty()) {
        out.credentials = std::move(c);
        return out;
      }
    }
  }
  if (doc.contains("credHelpers") && doc["credHelpers"].is_object()) {
    for (auto it = doc["credHelpers"].begin(); it != doc["credHelpers"].end(); ++it) {
      const std::string host = normalize_registry(it.key());
      if ((host == wanted_image || host == wanted_repo) && it->is_string()) {
        out.helper = it->get<std::string>();
        out.helper_server = it.key();
        return out;
      }
    }
  }
  if (doc.contains("credsStore") && doc["credsStore"].is_string()) {
    out.helper = doc["credsStore"].get<std::string>();
    out.helper_server = wanted_image == "docker.io" ? std::string(repository_key) : wanted_image;
  }
  return out;
}

std::string registry_auth_header(const RegistryCredentials& c) {
  nlohmann::json j;
  if (!c.identity_token.empty()) {
    j["identitytoken"] = c.identity_token;
  } else {
    j["username"] = c.username;
    j["password"] = c.password;
  }
  j["serveraddress"] = c.server_address;
  return util::base64_encode(j.dump(), /*url_safe=*/true);
}

}  // namespace docker
