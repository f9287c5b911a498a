// Registry credentials for a pull, from Docker's config files and credential helpers: the
// X-Registry-Auth header (never logged, registered as a secret) and a description of where it came
// from (safe to log). Only credentials of the image's own registry are ever used (registry_auth.h).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "docker/registry_auth.h"
#include "util/env.h"
#include "util/result.h"
#include "util/subprocess.h"

namespace docker {

struct PullAuth {
  std::string header;              // X-Registry-Auth; empty: pull without credentials
  std::string source;              // "auths[\"127.0.0.1:5000\"] in /root/.docker/config.json", "no credentials found"
  std::vector<std::string> notes;  // things worth a warning (unusable file, helper failure)
};

struct AuthOptions {
  std::chrono::milliseconds helper_timeout = std::chrono::seconds(10);
  // Where docker-credential-<name> is looked for: system directories, not the environment's PATH,
  // which whoever deploys a task can set.
  std::string helper_path = util::kSystemPath;
};

// Config files in the Go executor's order (go-dockerclient's NewAuthConfigurationsFromDockerCfg, then
// again with HOME=/root): $DOCKER_CONFIG/config.json, $HOME/.docker/config.json, $HOME/.dockercfg,
// /root/.docker/config.json, /root/.dockercfg, each once. Any of them may be in either format
// (registry_auth.h). The first file with credentials for the image's registry wins.
std::vector<std::string> docker_config_paths(const util::EnvLookup& env);

// The text of a config file; nullopt when there is none. An error when the file exists but is not
// to be trusted with root's credentials: not a regular file, owned by neither root nor the
// executor's user, writable by group or others, larger than 1 MiB. Opened close-on-exec.
util::Result<std::optional<std::string>> read_docker_config(const std::string& path);

// A credential helper's whole environment: PATH of the system directories (a helper may run pass,
// gpg…) and HOME of the executor's user. Nothing of the executor's own environment (agent token,
// Vault settings, a PATH the task chose) reaches it.
std::vector<std::string> helper_environment();

// Runs `docker-credential-<helper> get`, found in `helper_path`, with the server on stdin. The
// secret it answers is registered before anything else is done with it.
util::Result<RegistryCredentials> run_credential_helper(const std::string& helper, const std::string& server,
                                                        std::chrono::milliseconds timeout,
                                                        const std::string& helper_path = util::kSystemPath);

PullAuth resolve_pull_auth(const util::EnvLookup& env, const std::string& repository_key,
                           const std::string& image_registry,
                           std::chrono::milliseconds helper_timeout = std::chrono::seconds(10));
PullAuth resolve_pull_auth(const util::EnvLookup& env, const std::string& repository_key,
                           const std::string& image_registry, const AuthOptions& options);

}  // namespace docker
