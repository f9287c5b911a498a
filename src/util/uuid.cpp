// UUID generation; SHA-1 comes from OpenSSL's libcrypto.
#include "util/uuid.h"

#include <openssl/evp.h>

#include <random>
#include <stdexcept>

namespace util {

UuidBytes random_uuid() {
  UuidBytes u{};
  // std::random_device reads the kernel's random source on Linux/glibc.
  std::random_device rd;
  for (std::size_t i = 0; i < u.size(); i += 4) {
    std::uint32_t r = rd();
    for (std::size_t j = 0; j < 4; ++j) u[i + j] = static_cast<std::uint8_t>(r >> (8 * j));
  }
  u[6] = static_cast<std::uint8_t>((u[6] & 0x0F) | 0x40);
  u[8] = static_cast<std::uint8_t>((u[8] & 0x3F) | 0x80);
  return u;
}

UuidBytes uuid_v5(const UuidBytes& ns, std::string_view name) {
  std::string input(reinterpret_cast<const char*>(ns.data()), ns.size());
  input.append(name);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int len = 0;
  if (EVP_Digest(input.data(), input.size(), digest.data(), &len, EVP_sha1(), nullptr) != 1 || len < 16) {
    throw std::runtime_error("uuid_v5: SHA-1 digest failed");
  }
  UuidBytes u{};
  for (std::size_t i = 0; i < u.size(); ++i) u[i] = digest[i];
  u[6] = static_cast<std::uint8_t>((u[6] & 0x0F) | 0x50);
  u[8] = static_cast<std::uint8_t>((u[8] & 0x3F) | 0x80);
  return u;
}

std::string uuid_to_string(const UuidBytes& u) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string s;
  s.reserve(36);
  for (std::size_t i = 0; i < u.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(hex[u[i] >> 4]);
    s.push_back(hex[u[i] & 0x0F]);
  }
  return s;
}

std::string uuid_bytes_to_string(std::string_view raw) {
  if (raw.size() == 16) {
    UuidBytes u{};
    for (std::size_t i = 0; i < 16; ++i) u[i] = static_cast<std::uint8_t>(raw[i]);
    return uuid_to_string(u);
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string s;
  for (unsigned char c : raw) {
    s.push_back(hex[c >> 4]);
    s.push_back(hex[c & 0x0F]);
  }
  return s;
}

}  // namespace util
