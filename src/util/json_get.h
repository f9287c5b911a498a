// Reading members of JSON documents from other programs (Docker, credential helpers) without
// exceptions: a member that is absent or of another type gives the default.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace util {

inline std::string json_string(const nlohmann::json& j, const char* key, std::string def = "") {
  if (!j.is_object()) return def;
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : def;
}

inline bool json_bool(const nlohmann::json& j, const char* key, bool def) {
  if (!j.is_object()) return def;
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() ? it->get<bool>() : def;
}

}  // namespace util
