// The process title seen by `ps`: rewritten in place over argv (and the environment block right
// after it is left alone, so the title is bounded by the argv area). The wrapper script passes a
// long blank padding argument to make room.
#pragma once

#include <string>

namespace shell {

class ProcessTitle {
 public:
  // Call once from main, before anything reads argv.
  static void init(int argc, char** argv);
  // Writes `title`, cut to the room available and padded with NULs. No-op before init.
  static void set(const std::string& title);
  static std::size_t capacity();
};

}  // namespace shell
