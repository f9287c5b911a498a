// Site configuration loading and process hardening.
#include "app/site.h"

#include <sys/prctl.h>
#include <sys/resource.h>

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
  for (const auto& name : site.file.policy.locked) extra.values.erase(name);
  auto loaded = settings::load_settings(settings::layered(settings::layered(util::process_env(), extra), site.file),
                                        os_hostname);
  if (!loaded) return util::make_error("invalid setting " + loaded.error().message);
  site.settings = std::move(*loaded);
  return site;
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
