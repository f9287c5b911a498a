// Registry credentials from Docker's config.json, matched as the Go executor does (the
// EXECUTOR_DOCKER_REPOSITORY key) and also against the image's own registry, and the
// X-Registry-Auth header built from them. Credentials never reach a log: only `source` may be logged.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "util/result.h"

namespace docker {

struct RegistryCredentials {
  std::string username;
  std::string password;
  std::string identity_token;
  std::string server_address;
  std::string source;  // which config key matched, for logs
};

struct AuthLookup {
  std::optional<RegistryCredentials> credentials;  // from `auths`
  std::string helper;                              // a credHelpers/credsStore helper to run instead
  std::string helper_server;                       // the registry to ask the helper about
};

// `config_json` is the text of config.json. `repository_key` is EXECUTOR_DOCKER_REPOSITORY;
// `image_registry` is the registry host of the image being pulled ("docker.io" for Docker Hub).
util::Result<AuthLookup> find_registry_auth(std::string_view config_json, std::string_view repository_key,
                                            std::string_view image_registry);

// base64url of {"username","password","serveraddress"} or {"identitytoken","serveraddress"}.
std::string registry_auth_header(const RegistryCredentials& c);

// "https://host:5000/v1/" → "host:5000"; Docker Hub's aliases → "docker.io".
std::string normalize_registry(std::string_view key);

}  // namespace docker
