// The secret registry.
#include "util/secrets.h"

#include "util/http_safe.h"

#include <algorithm>
#include <mutex>
#include <set>
#include <vector>

namespace util {
namespace {

struct Registry {
  std::mutex mu;
  std::vector<std::string> values;  // longest first; each spelling of each secret once
};

Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: log lines can be written during exit
  return *r;
}

std::string json_escaped(std::string_view v) {
  std::string out;
  for (const char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      static const char* hex = "0123456789abcdef";
      out += "\\u00";
      out += hex[u >> 4];
      out += hex[u & 15];
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

void register_secret(std::string_view value) {
  if (value.size() < kMinSecretLength) return;
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  for (std::string spelling : {std::string(value), json_escaped(value), percent_escape(value)}) {
    if (std::find(r.values.begin(), r.values.end(), spelling) == r.values.end()) {
      r.values.push_back(std::move(spelling));
    }
  }
  std::stable_sort(r.values.begin(), r.values.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string scrub_secrets(std::string_view text) {
  std::string out(text);
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  for (const auto& secret : r.values) {
    for (std::size_t at = out.find(secret); at != std::string::npos; at = out.find(secret, at + kSecretMarker.size())) {
      out.replace(at, secret.size(), kSecretMarker);
    }
  }
  return out;
}

bool contains_secret(std::string_view text) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  return std::any_of(r.values.begin(), r.values.end(),
                     [&](const std::string& s) { return text.find(s) != std::string_view::npos; });
}

void clear_secrets_for_tests() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.values.clear();
}

}  // namespace util
