// argv rewriting.
#include "shell/proctitle.h"

#include <cstring>

namespace shell {
namespace {
char* g_start = nullptr;
std::size_t g_size = 0;
}  // namespace

void ProcessTitle::init(int argc, char** argv) {
  if (argc <= 0 || argv == nullptr || argv[0] == nullptr) return;
  // The argv strings are contiguous: the room is from argv[0] to the end of the last argument
  // that directly follows its predecessor.
  char* end = argv[0] + std::strlen(argv[0]);
  for (int i = 1; i < argc; ++i) {
    if (argv[i] != end + 1) break;
    end = argv[i] + std::strlen(argv[i]);
  }
  g_start = argv[0];
  g_size = static_cast<std::size_t>(end - argv[0]);
}

std::size_t ProcessTitle::capacity() { return g_size; }

void ProcessTitle::set(const std::string& title) {
  if (g_start == nullptr || g_size == 0) return;
  const std::size_t n = std::min(title.size(), g_size);
  std::memcpy(g_start, title.data(), n);
  std::memset(g_start + n, 0, g_size - n + 1);  // the terminating NUL of the last argument is ours too
}

}  // namespace shell
