// Site configuration loading and process hardening.
#include "app/site.h"

#include <openssl/crypto.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <cstdlib>

#include "settings/policy.h"
#include "util/env.h"

namespace app {

util::Result<Site> load_site(const std::string& config_path, const std::string& settings_path,
                             std::string_view os_hostname) {
  Site site;
  auto file = settings::load_config_file(config_path.empty() ? settings::kDefaultConfigPath : config_path,
                                         !config_path.empty());
  if (!file) return file.error();
  site.file = std::move(*file);
  settings::ConfigFile extra;
  if (!settings_path.empty()) {
    auto e = settings::load_config_file(settings_path, true, settings::FileRole::SettingsOnly);
    if (!e) return e.error();
    extra = std::move(*e);
  }
  // Locked names take the site's value before anything reads the environment; the settings-only
  // file may not set them either.
  site.locks = settings::apply_locks(site.file);
  site.ignored_token_file = restrict_vault_token_file(site.file.policy.vault_token_dirs);
  for (const auto& name : site.file.policy.locked) extra.values.erase(name);
  const util::EnvLookup raw = util::process_env();
  auto loaded = settings::load_settings(settings::layered(settings::layered(util::process_env(), extra), site.file),
                                        os_hostname, &raw, site.file.policy.locked);
  if (!loaded) return util::make_error("invalid setting " + loaded.error().message);
  site.settings = std::move(*loaded);
  return site;
}

std::string restrict_vault_token_file(const std::vector<std::string>& allowed) {
  const char* path = std::getenv("VAULT_TOKEN_FILE");
  if (path == nullptr || *path == '\0') return "";
  const std::string p = path;
  const auto slash = p.rfind('/');
  const std::string dir = slash == std::string::npos || slash == 0 ? (slash == 0 ? "/" : "") : p.substr(0, slash);
  // The folder must be listed exactly (after "." and ".." are resolved): not a prefix, so that a
  // site listing /var/lib/vault does not open every folder below it.
  for (const auto& a : allowed) {
    if (settings::path_under_prefixes(dir, {a}) && settings::path_under_prefixes(a, {dir})) return "";
  }
  ::unsetenv("VAULT_TOKEN_FILE");
  return p;
}

void drop_library_variables() {
  for (const char* name : {"OPENSSL_CONF", "OPENSSL_CONF_INCLUDE", "OPENSSL_MODULES", "OPENSSL_ENGINES",
                           "OPENSSL_ia32cap", "SSL_CERT_FILE", "SSL_CERT_DIR", "HOSTALIASES", "LOCALDOMAIN",
                           "RES_OPTIONS", "GCONV_PATH", "NLSPATH", "LOCPATH"}) {
    ::unsetenv(name);
  }
  // The C library opens the file TZ names at the first local time (a log line's): an absolute path or
  // one with "..", or another zone folder, could make root open a device. A zone name stays.
  ::unsetenv("TZDIR");
  if (const char* tz = std::getenv("TZ")) {
    const std::string_view v = tz[0] == ':' ? tz + 1 : tz;
    if (!v.empty() && (v[0] == '/' || v.find("..") != std::string_view::npos)) ::unsetenv("TZ");
  }
  OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, nullptr);
}

void harden_process(bool allow_core_dumps) {
  if (allow_core_dumps) {
    ::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    return;
  }
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  const rlimit none{0, 0};
  ::setrlimit(RLIMIT_CORE, &none);
}

}  // namespace app
