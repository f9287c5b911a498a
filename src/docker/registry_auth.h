// Registry credentials from Docker's config.json (or the legacy ~/.dockercfg: registry → {auth, email}
// without the `auths` wrapper, read as go-dockerclient reads either file) and the X-Registry-Auth
// header built from them.
//
// A credential is used only for the registry it belongs to: an `auths` entry, a `credHelpers` entry
// or the `credsStore` is consulted only when its registry, normalised, is the image's registry.
// EXECUTOR_DOCKER_REPOSITORY (which whoever deploys a task can set) picks among the spellings of
// that one registry, as the Go executor's exact-key lookup did; naming another registry has no
// effect. Every password, identity token and header is registered with util::register_secret as
// soon as it is read; only `source` and `notes` may be logged.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace docker {

// Docker Hub's key in config.json (docker/cli cli/command/registry.go, authConfigKey).
inline constexpr std::string_view kDockerHubConfigKey = "https://index.docker.io/v1/";

struct RegistryCredentials {
  std::string username;
  std::string password;
  std::string identity_token;
  std::string server_address;  // the image's registry (registry_config_key), whatever key matched
  std::string source;          // which config key matched, for logs
};

struct AuthLookup {
  std::optional<RegistryCredentials> credentials;  // from `auths`
  std::string helper;                              // a credHelpers/credsStore helper to run instead
  std::string helper_server;                       // the registry to ask the helper about
  std::vector<std::string> notes;                  // worth a warning; no secret, control characters escaped
};

// `config_json` is the text of config.json or .dockercfg (either layout in either file, as Go reads
// them). `repository_key` is EXECUTOR_DOCKER_REPOSITORY; `image_registry` is the registry host of the
// image being pulled ("docker.io" for Docker Hub).
util::Result<AuthLookup> find_registry_auth(std::string_view config_json, std::string_view repository_key,
                                            std::string_view image_registry);

// base64url of {"username","password","serveraddress"} or {"identitytoken","serveraddress"}; the
// result is registered as a secret.
std::string registry_auth_header(const RegistryCredentials& c);

// The registry a config key or image registry names, in one spelling: scheme, path, query and
// user info dropped, host lower-cased, port kept ("https://Host:5000/v1/" → "host:5000"), and
// Docker Hub's names (docker.io, index.docker.io, registry-1.docker.io, registry.hub.docker.com) →
// "docker.io". Empty when `key` holds a control character or a space, or names no host.
std::string normalize_registry(std::string_view key);

// The key Docker keeps a registry's credentials under: kDockerHubConfigKey for Docker Hub, else
// the normalised host[:port].
std::string registry_config_key(std::string_view registry);

// A credential helper name is a plain word ([A-Za-z0-9._-], not starting with '.'): it becomes
// part of a program name, so a '/' would name any file.
bool valid_helper_name(std::string_view name);

}  // namespace docker
