// Docker config.json credential lookup, bound to the image's registry.
#include "docker/registry_auth.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "util/base64.h"
#include "util/http_safe.h"
#include "util/json_get.h"
#include "util/secrets.h"

namespace docker {
namespace {

using Json = nlohmann::json;

bool is_docker_hub(std::string_view host) {
  return host == "docker.io" || host == "index.docker.io" || host == "registry-1.docker.io" ||
         host == "registry.hub.docker.com";
}

std::string in_quotes(std::string_view text) { return "\"" + util::escape_control_chars(text) + "\""; }

// Keys of `obj` that name registry `wanted`: the `exact` keys first (in their order, when present),
// then every other key that normalises to it (in the object's sorted order).
std::vector<std::string> matching_keys(const Json& obj, const std::vector<std::string>& exact,
                                       const std::string& wanted) {
  std::vector<std::string> out;
  auto add = [&](const std::string& k) {
    if (std::find(out.begin(), out.end(), k) == out.end()) out.push_back(k);
  };
  if (!obj.is_object()) return out;
  for (const auto& k : exact) {
    if (obj.contains(k) && normalize_registry(k) == wanted) add(k);
  }
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (normalize_registry(it.key()) == wanted) add(it.key());
  }
  return out;
}

// The credentials an auths entry holds (none: username and token empty); `source` names the entry.
// Secrets are registered before anything else is done with them.
util::Result<RegistryCredentials> entry_credentials(const Json& entry, std::string source) {
  RegistryCredentials c;
  c.source = std::move(source);
  if (!entry.is_object()) return c;
  if (const std::string auth = util::json_string(entry, "auth"); !auth.empty()) {
    util::register_secret(auth);
    auto decoded = util::base64_decode(auth);
    if (!decoded) return util::make_error(fmt::format("Docker config {}: auth is not base64", c.source));
    const auto colon = decoded->find(':');
    if (colon == std::string::npos) {
      return util::make_error(fmt::format("Docker config {}: auth is not user:password", c.source));
    }
    c.password = decoded->substr(colon + 1);
    util::register_secret(c.password);
    c.username = decoded->substr(0, colon);
  } else if (const std::string password = util::json_string(entry, "password"); !password.empty()) {
    util::register_secret(password);  // the older layout: username and password in the clear
    c.password = password;
    c.username = util::json_string(entry, "username");
  }
  c.identity_token = util::json_string(entry, "identitytoken");
  util::register_secret(c.identity_token);
  return c;
}

// The registry entries of the legacy ~/.dockercfg format, a JSON object of registry → {auth, email}
// without the `auths` wrapper. As go-dockerclient reads any of its files (parseDockerConfig): the
// `auths` object when it has entries, else the document's own members; only those holding an `auth`
// string are taken, so config.json's other sections (credHelpers, HttpHeaders…) are never entries.
Json legacy_entries(const Json& doc) {
  Json out = Json::object();
  if (const Json* auths = util::json_object(doc, "auths"); auths != nullptr && !auths->empty()) return out;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    if (util::json_string_ptr(*it, "auth") != nullptr) out[it.key()] = *it;
  }
  return out;
}

// Whether EXECUTOR_DOCKER_REPOSITORY names the image's registry. When it names an entry of another
// registry (where the Go executor would have sent that entry), a note says it is not used.
bool repository_key_applies(const Json& doc, std::string_view key, const std::string& wanted,
                            std::vector<std::string>& notes) {
  if (key.empty()) return false;
  const std::string named = normalize_registry(key);
  if (named == wanted) return true;
  const std::string k(key);
  for (const char* section : {"auths", "credHelpers"}) {
    const Json* s = util::json_object(doc, section);
    if (s != nullptr && s->contains(k)) {
      notes.push_back(
          fmt::format("EXECUTOR_DOCKER_REPOSITORY names {}[{}], which is for registry {}, not the image's registry {}: "
                      "not used for this image",
                      section, in_quotes(key), in_quotes(named), in_quotes(wanted)));
      break;
    }
  }
  return false;
}

}  // namespace

std::string normalize_registry(std::string_view key) {
  for (const unsigned char c : key) {
    if (c <= 0x20 || c == 0x7f) return "";
  }
  std::string_view k = key;
  if (const auto scheme = k.find("://"); scheme != std::string_view::npos) {
    // A URL, read as Docker's ConvertToHostname reads it: the authority, without user info.
    k.remove_prefix(scheme + 3);
    k = k.substr(0, k.find_first_of("/?#"));
    if (const auto at = k.rfind('@'); at != std::string_view::npos) k.remove_prefix(at + 1);
  } else {
    k = k.substr(0, k.find('/'));
  }
  std::string host(k);
  std::transform(host.begin(), host.end(), host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (is_docker_hub(host)) return "docker.io";
  return host;
}

std::string registry_config_key(std::string_view registry) {
  const std::string host = normalize_registry(registry);
  return host == "docker.io" ? std::string(kDockerHubConfigKey) : host;
}

bool valid_helper_name(std::string_view name) {
  if (name.empty() || name.size() > 100 || name.front() == '.') return false;
  return std::all_of(name.begin(), name.end(),
                     [](unsigned char c) { return std::isalnum(c) != 0 || c == '.' || c == '_' || c == '-'; });
}

util::Result<AuthLookup> find_registry_auth(std::string_view config_json, std::string_view repository_key,
                                            std::string_view image_registry) {
  auto doc = Json::parse(config_json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return util::make_error("Docker config is not a JSON object");
  AuthLookup out;
  const std::string wanted = normalize_registry(image_registry);
  if (wanted.empty()) {
    out.notes.push_back(fmt::format("image registry {} names no registry: no credentials", in_quotes(image_registry)));
    return out;
  }
  const bool key_applies = repository_key_applies(doc, repository_key, wanted, out.notes);
  // Exact keys first: the Go executor's EXECUTOR_DOCKER_REPOSITORY (only when it is this
  // registry), Docker's own key for the registry, the image's spelling.
  std::vector<std::string> exact;
  if (key_applies) exact.emplace_back(repository_key);
  exact.push_back(registry_config_key(wanted));
  exact.emplace_back(image_registry);

  const Json legacy = legacy_entries(doc);
  const Json* auths = legacy.empty() ? util::json_member(doc, "auths") : &legacy;
  if (auths != nullptr) {
    for (const auto& key : matching_keys(*auths, exact, wanted)) {
      auto c = entry_credentials((*auths)[key], legacy.empty() ? fmt::format("auths[{}]", in_quotes(key))
                                                               : fmt::format("{} (.dockercfg format)", in_quotes(key)));
      if (!c) return c.error();
      if (c->username.empty() && c->identity_token.empty()) continue;  // a placeholder (credsStore keeps the secret)
      c->server_address = registry_config_key(wanted);
      out.credentials = std::move(*c);
      return out;
    }
  }
  const std::string helper_server = key_applies ? std::string(repository_key) : registry_config_key(wanted);
  auto use_helper = [&](const std::string& name, const std::string& where) {
    if (!valid_helper_name(name)) {
      out.notes.push_back(
          fmt::format("Docker config {}: helper name {} is not a plain name: not run", where, in_quotes(name)));
      return false;
    }
    out.helper = name;
    out.helper_server = helper_server;
    return true;
  };
  if (const Json* helpers = util::json_member(doc, "credHelpers")) {
    for (const auto& key : matching_keys(*helpers, exact, wanted)) {
      const Json& v = (*helpers)[key];
      if (v.is_string() && use_helper(v.get<std::string>(), fmt::format("credHelpers[{}]", in_quotes(key)))) return out;
    }
  }
  if (const std::string store = util::json_string(doc, "credsStore"); !store.empty()) {
    use_helper(store, "credsStore");
  }
  return out;
}

std::string registry_auth_header(const RegistryCredentials& c) {
  Json j;
  if (!c.identity_token.empty()) {
    j["identitytoken"] = c.identity_token;
  } else {
    j["username"] = c.username;
    j["password"] = c.password;
  }
  j["serveraddress"] = c.server_address;
  // A password that is not UTF-8 must not throw here; it is sent with U+FFFD and fails at the registry.
  std::string header = util::base64_encode(j.dump(-1, ' ', false, Json::error_handler_t::replace), /*url_safe=*/true);
  util::register_secret(header);
  return header;
}

}  // namespace docker
