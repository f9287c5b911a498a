// The Secrets port over Vault: each resolve runs on a thread of its own and reports StepDone{Secrets}
// with what the container gets, or StepFailed{Secrets}. Every value read is registered as a secret
// first, so that no log line or status message can carry it.
#pragma once

#include <functional>
#include <list>
#include <mutex>
#include <thread>

#include "executor/events.h"
#include "executor/ports.h"
#include "vault/vault.h"

namespace vault {

class SecretsStep final : public executor::port::Secrets {
 public:
  using Sink = std::function<void(executor::Event)>;
  SecretsStep(vault::Secrets& secrets, Sink sink) : secrets_(secrets), sink_(std::move(sink)) {}
  ~SecretsStep() override { shutdown(); }
  SecretsStep(const SecretsStep&) = delete;
  SecretsStep& operator=(const SecretsStep&) = delete;

  void resolve(const executor::act::ResolveSecrets& request) override;
  // Cuts a resolve in flight (Secrets::cancel) and joins its thread. Idempotent.
  void shutdown();

 private:
  vault::Secrets& secrets_;
  Sink sink_;
  std::mutex mu_;
  bool stopped_ = false;
  std::list<std::thread> threads_;
};

}  // namespace vault
