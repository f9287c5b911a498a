// Reading members of JSON documents from other programs (Docker, Vault, Sidecar, credential helpers)
// without exceptions: a member that is absent, or of another type, or of a document that is not an
// object, gives the default (or nullptr, or nullopt).
#pragma once

#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace util {

// The member `key` of any type; nullptr when absent.
inline const nlohmann::json* json_member(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

// The member `key` when it is an object (an array); nullptr otherwise.
inline const nlohmann::json* json_object(const nlohmann::json& j, const char* key) {
  const auto* m = json_member(j, key);
  return m && m->is_object() ? m : nullptr;
}
inline const nlohmann::json* json_array(const nlohmann::json& j, const char* key) {
  const auto* m = json_member(j, key);
  return m && m->is_array() ? m : nullptr;
}

// The member `key` when it is a string, in place (no copy: it may be a secret); nullptr otherwise.
inline const std::string* json_string_ptr(const nlohmann::json& j, const char* key) {
  const auto* m = json_member(j, key);
  return m && m->is_string() ? m->get_ptr<const std::string*>() : nullptr;
}

inline std::string json_string(const nlohmann::json& j, const char* key, std::string def = "") {
  const auto* s = json_string_ptr(j, key);
  return s ? *s : def;
}

inline bool json_bool(const nlohmann::json& j, const char* key, bool def) {
  const auto* m = json_member(j, key);
  return m && m->is_boolean() ? m->get<bool>() : def;
}

// The member `key` when it is an integer that fits a long long; nullopt otherwise (a fraction, a
// string of digits, or a number past the range).
inline std::optional<long long> json_int(const nlohmann::json& j, const char* key) {
  const auto* m = json_member(j, key);
  if (!m) return std::nullopt;
  if (m->is_number_integer() && !m->is_number_unsigned()) return m->get<long long>();
  if (m->is_number_unsigned()) {
    const auto u = m->get<unsigned long long>();
    if (u > static_cast<unsigned long long>(std::numeric_limits<long long>::max())) return std::nullopt;
    return static_cast<long long>(u);
  }
  return std::nullopt;
}

}  // namespace util
