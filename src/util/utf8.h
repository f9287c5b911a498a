// UTF-8 checks shared by everything that puts outside bytes into JSON (log datagrams, status
// messages): a sequence is well formed when it is the shortest form of a code point up to U+10FFFF
// that is not a surrogate.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace util {

// Length (1 to 4) of the well-formed UTF-8 sequence at the start of `p[0..n)`; 0 when it is not one
// (a stray continuation byte, an overlong form, a surrogate, past U+10FFFF, or cut short).
std::size_t utf8_sequence_length(const unsigned char* p, std::size_t n);

// `text` with every byte that does not start a well-formed sequence replaced by U+FFFD, cut (on a
// character boundary, with "…" added) so that the result holds at most `max_bytes` bytes.
std::string valid_utf8(std::string_view text, std::size_t max_bytes = std::string::npos);

}  // namespace util
