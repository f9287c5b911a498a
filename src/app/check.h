// `sidecar-executor --check`: a site check for operators rolling the executor out on a cluster. No agent
// needed: it reads the effective settings and the site file, then checks what a task will need and
// prints one table, a line per check with ok / warn / fail / skip and the reason. Never prints a secret
// (registry and Vault answers are named, their credentials never shown).
#pragma once

#include <string>
#include <vector>

#include "app/cli.h"
#include "app/site.h"
#include "settings/settings.h"
#include "util/env.h"
#include "util/result.h"

namespace app {

struct CheckLine {
  enum class Verdict : unsigned char { Ok, Warn, Fail, Skip };
  std::string name;
  Verdict verdict = Verdict::Ok;
  std::string detail;
};

struct CheckOptions {
  std::string image;         // --image: the registry credentials it would use
  std::string executor_dir;  // where the wrapper and the binary should be (--executor-dir, else the build's)
  std::string site_path;     // the site file read ("" when none)
  std::string host;          // the host Sidecar knows this agent by (TASK_HOST, else the hostname)
};

std::vector<CheckLine> run_site_check(const settings::Settings& cfg, const util::EnvLookup& env,
                                      const CheckOptions& opts);

// The table as printed, and the exit code: 0 only when no line failed.
std::string format_check_table(const std::vector<CheckLine>& lines);
int check_exit_code(const std::vector<CheckLine>& lines);

// The whole of `sidecar-executor --check` once the site is read (or failed to be): the table on stdout
// (nothing else is logged), and the process's exit code.
int run_check(const CommandLine& cl, const util::Result<Site>& site);

// A file an operator installs for root to run: regular, owned by root, not writable by group or others,
// executable. Empty when it is; else why not.
std::string unsafe_executable(const std::string& path);

}  // namespace app
