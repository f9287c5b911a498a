// Registry credentials for a pull, from Docker's config files and credential helpers: the
// X-Registry-Auth header (never logged) and a description of where it came from (safe to log).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "docker/registry_auth.h"
#include "util/env.h"
#include "util/result.h"

namespace docker {

struct PullAuth {
  std::string header;  // X-Registry-Auth; empty: pull without credentials
  std::string source;  // "auths[\"127.0.0.1:5000\"] in /root/.docker/config.json", "no credentials found"
  std::vector<std::string> notes;  // things worth a warning (unreadable file, helper failure)
};

// Config files in the Go executor's order: $DOCKER_CONFIG/config.json, $HOME/.docker/config.json,
// /root/.docker/config.json. The first file with a match wins.
std::vector<std::string> docker_config_paths(const util::EnvLookup& env);

// Runs `docker-credential-<helper> get` with the server on stdin.
util::Result<RegistryCredentials> run_credential_helper(const std::string& helper, const std::string& server,
                                                        std::chrono::milliseconds timeout);

PullAuth resolve_pull_auth(const util::EnvLookup& env, const std::string& repository_key,
                           const std::string& image_registry,
                           std::chrono::milliseconds helper_timeout = std::chrono::seconds(10));

}  // namespace docker
