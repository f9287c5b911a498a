// Base64 (standard and URL-safe alphabets) for Docker auth headers and config entries.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace util {

std::string base64_encode(std::string_view data, bool url_safe = false);
// Accepts both alphabets, with or without padding; nullopt on any other character.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace util
