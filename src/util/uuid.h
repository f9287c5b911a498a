// UUIDs: random (v4) for status update ids, name-based (v5, SHA-1) for container names.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace util {

using UuidBytes = std::array<std::uint8_t, 16>;

// A fresh random version-4 UUID from the OS's random source.
UuidBytes random_uuid();

// Version-5 UUID of `name` in `ns` (RFC 4122 §4.3).
UuidBytes uuid_v5(const UuidBytes& ns, std::string_view name);

// Canonical lower-case text form: 8-4-4-4-12 hex digits.
std::string uuid_to_string(const UuidBytes& u);

// Text form of 16 raw bytes held in a string (TaskStatus.uuid); hex of the bytes otherwise.
std::string uuid_bytes_to_string(std::string_view raw);

inline std::string uuid_as_bytes(const UuidBytes& u) {
  return std::string(reinterpret_cast<const char*>(u.data()), u.size());
}

}  // namespace util
