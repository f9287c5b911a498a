#include "util/utf8.h"

namespace util {

std::size_t utf8_sequence_length(const unsigned char* p, std::size_t n) {
  if (n == 0) return 0;
  const unsigned char c = p[0];
  if (c < 0x80) return 1;
  std::size_t len = 0;
  unsigned min = 0;
  unsigned cp = 0;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2, min = 0x80, cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3, min = 0x800, cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4, min = 0x10000, cp = c & 0x07;
  } else {
    return 0;
  }
  if (len > n) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    if ((p[k] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (p[k] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

std::string valid_utf8(std::string_view text, std::size_t max_bytes) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  static constexpr std::string_view kEllipsis = "\xE2\x80\xA6";
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::string out;
  out.reserve(n < max_bytes ? n : max_bytes);
  for (std::size_t i = 0; i < n;) {
    const std::size_t len = utf8_sequence_length(p + i, n - i);
    const std::string_view piece = len ? text.substr(i, len) : kReplacement;
    if (max_bytes != std::string::npos && out.size() + piece.size() > max_bytes) {
      while (!out.empty() && out.size() + kEllipsis.size() > max_bytes) {
        // drop whole characters: continuation bytes first, then the lead byte
        while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
        if (!out.empty()) out.pop_back();
      }
      if (out.size() + kEllipsis.size() <= max_bytes) out += kEllipsis;
      return out;
    }
    out += piece;
    i += len ? len : 1;
  }
  return out;
}

}  // namespace util
