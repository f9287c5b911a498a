// What the generated JSON mapping of the agent API (tools/gen-proto-json → proto_json.h/.cc in the
// build folder) calls for each value: protobuf's JSON rules for scalars, and the path of the field
// being read for the error message ("task.container.docker.network: expected a string or a number").
#pragma once

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/base64.h"

namespace proto_json::support {

class Path {
 public:
  // Names one more field for as long as it lives.
  class Enter {
   public:
    Enter(Path& path, const char* field) : path_(path) { path_.names_.push_back(field); }
    ~Enter() {
      if (!path_.failed_) path_.names_.pop_back();
    }
    Enter(const Enter&) = delete;
    Enter& operator=(const Enter&) = delete;

   private:
    Path& path_;
  };

  // Records what the field should have held; always false, for `return path.fail(...)`.
  bool fail(const char* expected) {
    if (!failed_) {
      failed_ = true;
      expected_ = expected;
    }
    return false;
  }

  // protobuf's parsers stop at 100 nested messages; so does this one (ContainerID.parent nests).
  bool too_deep() const { return names_.size() > 100; }

  std::string error() const {
    std::string out;
    for (const char* n : names_) {
      if (!out.empty()) out += '.';
      out += n;
    }
    return (out.empty() ? std::string("the message") : out) + ": expected " + expected_;
  }

 private:
  std::vector<const char*> names_;
  bool failed_ = false;
  const char* expected_ = "";
};

inline nlohmann::ordered_json print_string(const std::string& v) { return v; }
inline nlohmann::ordered_json print_bytes(const std::string& v) { return util::base64_encode(v); }
inline nlohmann::ordered_json print_double(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return v;
}

inline bool parse_string(const nlohmann::json& in, std::string& out, Path& path) {
  if (!in.is_string()) return path.fail("a string");
  out = in.get<std::string>();
  return true;
}

inline bool parse_bytes(const nlohmann::json& in, std::string& out, Path& path) {
  if (!in.is_string()) return path.fail("a base64 string");
  auto decoded = util::base64_decode(in.get_ref<const std::string&>());
  if (!decoded) return path.fail("a base64 string");
  out = std::move(*decoded);
  return true;
}

inline bool parse_bool(const nlohmann::json& in, bool& out, Path& path) {
  if (!in.is_boolean()) return path.fail("true or false");
  out = in.get<bool>();
  return true;
}

inline bool parse_double(const nlohmann::json& in, double& out, Path& path) {
  if (in.is_number()) {
    out = in.get<double>();
    return true;
  }
  if (in.is_string()) {
    const auto& s = in.get_ref<const std::string&>();
    if (s == "NaN") {
      out = std::numeric_limits<double>::quiet_NaN();
      return true;
    }
    if (s == "Infinity" || s == "-Infinity") {
      out = s[0] == '-' ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
      return true;
    }
    if (!s.empty() && s.find_first_not_of("0123456789+-.eE") == std::string::npos) {
      char* end = nullptr;
      out = std::strtod(s.c_str(), &end);
      if (end == s.c_str() + s.size() && std::isfinite(out)) return true;
    }
  }
  return path.fail("a number");
}

// An integer of type T from a JSON number (an integral value in range) or a decimal string.
template <class T>
bool parse_integer(const nlohmann::json& in, T& out, Path& path) {
  constexpr const char* kWhat = std::is_signed_v<T> ? "an integer in range" : "a non-negative integer in range";
  if (in.is_number_unsigned()) {
    const auto v = in.get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) return path.fail(kWhat);
    out = static_cast<T>(v);
    return true;
  }
  if (in.is_number_integer()) {
    const auto v = in.get<std::int64_t>();
    if (v < 0 && !std::is_signed_v<T>) return path.fail(kWhat);
    if (std::is_signed_v<T> && (v < static_cast<std::int64_t>(std::numeric_limits<T>::min()) ||
                                v > static_cast<std::int64_t>(std::numeric_limits<T>::max()))) {
      return path.fail(kWhat);
    }
    out = static_cast<T>(v);
    return true;
  }
  if (in.is_number_float()) {
    // 1.0 or 1e3 name an integer; 1.5 does not. Bounds through long double keep 2^63 and 2^64 exact.
    const long double v = in.get<double>();
    if (std::floor(v) != v || v < static_cast<long double>(std::numeric_limits<T>::min()) ||
        v > static_cast<long double>(std::numeric_limits<T>::max())) {
      return path.fail(kWhat);
    }
    out = static_cast<T>(v);
    return true;
  }
  if (in.is_string()) {
    const auto& s = in.get_ref<const std::string&>();
    const bool negative = !s.empty() && s[0] == '-';
    const std::size_t start = negative ? 1 : 0;
    if (s.size() == start || s.size() - start > 20 || s.find_first_not_of("0123456789", start) != std::string::npos) {
      return path.fail(kWhat);
    }
    if (negative && !std::is_signed_v<T>) return path.fail(kWhat);
    errno = 0;
    char* end = nullptr;
    if (negative) {
      const long long v = std::strtoll(s.c_str(), &end, 10);
      if (errno != 0 || v < static_cast<long long>(std::numeric_limits<T>::min())) return path.fail(kWhat);
      out = static_cast<T>(v);
    } else {
      const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
      if (errno != 0 || v > static_cast<unsigned long long>(std::numeric_limits<T>::max())) return path.fail(kWhat);
      out = static_cast<T>(v);
    }
    return true;
  }
  return path.fail(kWhat);
}

inline bool parse_int32(const nlohmann::json& in, std::int32_t& out, Path& path) {
  return parse_integer(in, out, path);
}
inline bool parse_uint32(const nlohmann::json& in, std::uint32_t& out, Path& path) {
  return parse_integer(in, out, path);
}
inline bool parse_int64(const nlohmann::json& in, std::int64_t& out, Path& path) {
  return parse_integer(in, out, path);
}
inline bool parse_uint64(const nlohmann::json& in, std::uint64_t& out, Path& path) {
  return parse_integer(in, out, path);
}

// An enum value by name or number. Unknown: a name this build does not know, skipped as protobuf's
// parser skips it with ignore_unknown_fields (a newer agent may send newer values).
enum class EnumValue { Known, Unknown, Bad };

template <class Lookup>
EnumValue parse_enum(const nlohmann::json& in, Path& path, int& number, Lookup lookup) {
  if (in.is_string()) return lookup(in.get_ref<const std::string&>(), number) ? EnumValue::Known : EnumValue::Unknown;
  if (in.is_number_integer() || in.is_number_unsigned()) {
    std::int32_t n = 0;
    if (!parse_integer(in, n, path)) return EnumValue::Bad;
    number = n;
    return EnumValue::Known;
  }
  path.fail("an enum name or number");
  return EnumValue::Bad;
}

}  // namespace proto_json::support
