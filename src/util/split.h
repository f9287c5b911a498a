// Splitting a list written as text ("tcp, udp", "a:b:c", an Accept header) at a separator.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace util {

struct SplitOptions {
  bool trim_spaces = false;  // strip ' ' from both ends of each part
  bool skip_empty = false;   // leave out the parts that are empty (after trimming)
};

// The parts of `text` between the separators `sep`, in order: n separators give n + 1 parts, so ""
// gives one empty part unless `skip_empty` is set.
std::vector<std::string> split(std::string_view text, char sep, SplitOptions opts = {});

}  // namespace util
