#include "vault/secrets_step.h"

#include "util/secrets.h"

namespace vault {

namespace ev = executor::ev;
using executor::LaunchStep;

void SecretsStep::resolve(const executor::act::ResolveSecrets& request) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) return;
  if (!secrets_.has_work(request.env)) {  // the usual task: done without a thread (off the launch's path)
    sink_(ev::StepDone{LaunchStep::Secrets, "", ""});
    return;
  }
  threads_.emplace_back([this, env = request.env] {
    auto resolved = secrets_.resolve(env);
    if (!resolved) {
      sink_(ev::StepFailed{LaunchStep::Secrets, resolved.error().message});
      return;
    }
    for (const auto& [ref, entry] : resolved->replacements) util::register_secret(entry.substr(entry.find('=') + 1));
    for (const auto& kv : resolved->extra) util::register_secret(kv.substr(kv.find('=') + 1));
    ev::StepDone done{LaunchStep::Secrets, "", ""};
    done.secrets = std::move(*resolved);
    sink_(std::move(done));
  });
}

void SecretsStep::shutdown() {
  std::list<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    threads.swap(threads_);
  }
  secrets_.cancel();
  for (auto& t : threads) t.join();
}

}  // namespace vault
