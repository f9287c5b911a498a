// Splitting a list written as text.
#include "util/split.h"

namespace util {

std::vector<std::string> split(std::string_view text, char sep, SplitOptions opts) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t at = text.find(sep, start);
    if (at == std::string_view::npos) at = text.size();
    std::string_view part = text.substr(start, at - start);
    start = at + 1;
    if (opts.trim_spaces) {
      while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
      while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    }
    if (opts.skip_empty && part.empty()) continue;
    parts.emplace_back(part);
  }
  return parts;
}

}  // namespace util
