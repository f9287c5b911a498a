// The process's list of secret values (resolved Vault values, tokens, registry passwords, the
// agent's token), so that every status message and log line can be scrubbed of them on its way out.
// Adapters register a value as soon as they hold it; scrub() replaces each registered value found in
// a text with kSecretMarker. Thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace util {

inline constexpr std::string_view kSecretMarker = "[secret]";

// Values shorter than this are not registered (scrubbing "1" or "on" would mangle every message);
// such values are kept out of messages by the code that handles them.
inline constexpr std::size_t kMinSecretLength = 4;

void register_secret(std::string_view value);

// `text` with every registered secret replaced by kSecretMarker (longest first, so a secret that
// contains another is replaced whole). Also catches a secret's JSON-escaped and percent-escaped
// spellings where they differ from the value.
std::string scrub_secrets(std::string_view text);

// True when `text` holds a registered secret (tests and assertions).
bool contains_secret(std::string_view text);

// Forget every registered value (tests).
void clear_secrets_for_tests();

}  // namespace util
