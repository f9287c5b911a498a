// Vault's answers: any bytes as the body of an answer with a status chosen by the input, read by
// every answer parser; any text as a vault:// reference (its decoded path escaped again for the
// wire) and as a token file's content (the checks that keep a planted file out of X-Vault-Token).
// Nothing may throw; an accepted token text is one header-safe line.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

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
  (void)vault::token_ttl_of(r);
  // A reference's decoded path, sent again: never a byte outside the unreserved set but '/' and the
  // escapes, so no decoded '?', '#', '%' or dot segment can reach Vault as syntax.
  if (auto parsed = vault::parse_reference(body); parsed && *parsed) {
    for (const char c : vault::wire_path((*parsed)->path)) {
      const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == '~' ||
                      c == '/' || c == '%';
      if (!ok) __builtin_trap();
    }
  }
  if (!vault::token_text_problem(body)) {
    std::string_view line(body);
    if (line.back() == '\n') line.remove_suffix(1);
    for (const char c : line) {
      if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) > 0x7e) __builtin_trap();
    }
  }
  return 0;
}
