// Vault's answers: any bytes as the body of an answer with a status chosen by the input, read by
// every answer parser; and any text as a vault:// reference. Nothing may throw.
#include <cstddef>
#include <cstdint>
#include <string>

#include "vault/vault.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const int kStatuses[] = {200, 204, 400, 403, 404, 412, 429, 500, 503, 200};
  const int status = kStatuses[data[0] % 10];
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const vault::Response r = vault::response_from(status, body);
  vault::Reference ref;
  ref.path = "secret/app/db";
  ref.key = (data[0] & 0x80) ? "password" : "value";
  (void)vault::kv2_read_path(r, ref.path);
  (void)vault::secret_from_answer(r, ref, data[0] & 0x40);
  (void)vault::token_from_login(r);
  (void)vault::aws_from_answer(r);
  (void)vault::lease_duration_of(r);
  if (auto parsed = vault::parse_reference(body)) (void)parsed->key.size();
  return 0;
}
