// The sandbox log files: lines in order, rotation by size, appending after a restart, planted files.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "logs/sandbox_log.h"

namespace fs = std::filesystem;

namespace {

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/sce-sandbox-log-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return path + "/" + name; }
  std::string path;
};

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::unique_ptr<logs::SandboxLog> open_log(const TempDir& d, std::uint64_t max_size = 10 << 20, int keep = 2) {
  logs::SandboxLogOptions o;
  o.dir = d.path;
  o.max_size = max_size;
  o.keep = keep;
  auto log = logs::SandboxLog::open(o);
  REQUIRE(log);
  return std::move(*log);
}

}  // namespace

TEST_CASE("Lines go to container.stdout and container.stderr whole and in order, however the stream is cut") {
  TempDir d;
  auto log = open_log(d);
  log->feed(false, "one\ntw");
  log->feed(true, "err-1\r\n");
  log->feed(false, "o\nthree\n");
  log->feed(true, "err-2 without newline");
  log->flush();
  CHECK(slurp(d.file("container.stdout")) == "one\ntwo\nthree\n");
  CHECK(slurp(d.file("container.stderr")) == "err-1\nerr-2 without newline\n");
  CHECK(log->written() == 5);
  CHECK(log->dropped() == 0);
}

TEST_CASE("Rotation at 64 KiB keeping 2: no file passes the size, no line is lost or reordered, older ones go") {
  TempDir d;
  const std::uint64_t max = 64 * 1024;
  auto log = open_log(d, max, 2);
  // ~150 KiB: fits in the current file and two rotated ones.
  std::vector<std::string> sent;
  for (int i = 0; i < 3000; ++i) sent.push_back("line " + std::to_string(i) + " " + std::string(40, 'x'));
  std::string chunk;
  for (const auto& l : sent) chunk += l + "\n";
  // Fed in odd-sized pieces, as a stream arrives.
  for (std::size_t at = 0; at < chunk.size(); at += 4093) log->feed(false, std::string_view(chunk).substr(at, 4093));
  log->flush();
  for (const char* f : {"container.stdout", "container.stdout.1", "container.stdout.2"}) {
    INFO(f);
    REQUIRE(fs::exists(d.file(f)));
    CHECK(fs::file_size(d.file(f)) <= max);
    const std::string text = slurp(d.file(f));
    CHECK((text.empty() || text.back() == '\n'));  // whole lines only
  }
  CHECK_FALSE(fs::exists(d.file("container.stdout.3")));
  const auto kept = lines_of(slurp(d.file("container.stdout.2")) + slurp(d.file("container.stdout.1")) +
                             slurp(d.file("container.stdout")));
  CHECK(kept == sent);  // 150 KiB < 3 × 64 KiB: everything kept, in order

  // More output: the oldest file goes; what is kept is still the newest lines, contiguous.
  std::vector<std::string> more;
  for (int i = 3000; i < 6000; ++i) more.push_back("line " + std::to_string(i) + " " + std::string(40, 'x'));
  for (const auto& l : more) log->feed(false, l + "\n");
  log->flush();
  sent.insert(sent.end(), more.begin(), more.end());
  const auto now = lines_of(slurp(d.file("container.stdout.2")) + slurp(d.file("container.stdout.1")) +
                            slurp(d.file("container.stdout")));
  REQUIRE(now.size() < sent.size());
  CHECK(std::vector<std::string>(sent.end() - static_cast<std::ptrdiff_t>(now.size()), sent.end()) == now);
  CHECK_FALSE(fs::exists(d.file("container.stdout.3")));
}

TEST_CASE("Keep 0: the file starts over at the size, nothing rotated is kept") {
  TempDir d;
  auto log = open_log(d, 1024, 0);
  for (int i = 0; i < 100; ++i) log->feed(false, "0123456789012345678901234567890123456789\n");
  log->flush();
  CHECK(fs::file_size(d.file("container.stdout")) <= 1024);
  CHECK_FALSE(fs::exists(d.file("container.stdout.1")));
}

TEST_CASE("An executor started again appends to the files, never truncates them") {
  TempDir d;
  {
    auto log = open_log(d);
    log->feed(false, "before restart\n");
  }  // the destructor writes what is queued
  {
    auto log = open_log(d);
    log->feed(false, "after restart\n");
    log->flush();
  }
  CHECK(slurp(d.file("container.stdout")) == "before restart\nafter restart\n");
}

TEST_CASE("Files planted in the sandbox are replaced, their targets untouched: a symlink, a hard link, a FIFO") {
  TempDir d;
  TempDir elsewhere;
  const std::string victim = elsewhere.file("victim");
  std::ofstream(victim) << "victim\n";
  REQUIRE(::symlink(victim.c_str(), d.file("container.stdout").c_str()) == 0);
  REQUIRE(::link(victim.c_str(), d.file("container.stderr").c_str()) == 0);
  REQUIRE(::mkfifo(d.file("container.stdout.1").c_str(), 0644) == 0);
  auto log = open_log(d, 1024, 2);
  for (int i = 0; i < 60; ++i) log->feed(false, "0123456789012345678901234567890123456789\n");
  log->feed(true, "to stderr\n");
  log->flush();  // would hang on the FIFO if it were opened for writing
  CHECK(slurp(victim) == "victim\n");
  CHECK(fs::hard_link_count(victim) == 1);  // the hard link was removed, the file itself untouched
  struct stat st {};
  REQUIRE(::lstat(d.file("container.stdout").c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  REQUIRE(::lstat(d.file("container.stderr").c_str(), &st) == 0);
  CHECK(st.st_nlink == 1);
  CHECK(slurp(d.file("container.stderr")) == "to stderr\n");
  REQUIRE(::lstat(d.file("container.stdout.1").c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));  // the rotation renamed over the FIFO
  CHECK(log->dropped() == 0);
}

TEST_CASE("A full queue drops lines and counts them; it never blocks the reader") {
  TempDir d;
  logs::SandboxLogOptions o;
  o.dir = d.path;
  o.queue_bytes = 256;  // room for two of these lines at most (each costs its text and kEntryCost)
  auto opened = logs::SandboxLog::open(o);
  REQUIRE(opened);
  auto& log = **opened;
  for (int i = 0; i < 20000; ++i) log.feed(false, "0123456789012345678901234567\n");
  log.flush();
  CHECK(log.written() + log.dropped() == 20000);
  CHECK(log.dropped() > 0);
  CHECK(lines_of(slurp(d.file("container.stdout"))).size() == log.written());
}

TEST_CASE("A sandbox that is not a folder: open fails, naming it") {
  TempDir d;
  std::ofstream(d.file("plain")) << "x";
  logs::SandboxLogOptions o;
  o.dir = d.file("plain");
  auto log = logs::SandboxLog::open(o);
  REQUIRE_FALSE(log);
  CHECK_THAT(log.error().message, Catch::Contains(d.file("plain")));
}

TEST_CASE("Whatever is planted is looked at without being opened: a FIFO's reader never sees a writer come") {
  // A device node would have its driver's open() run as root; a FIFO with a reader shows the same
  // thing without a device: its reader gets POLLHUP only once a writer has opened and closed it.
  TempDir d;
  REQUIRE(::mkfifo(d.file("container.stdout").c_str(), 0644) == 0);
  const int reader = ::open(d.file("container.stdout").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  REQUIRE(reader >= 0);
  {
    auto log = open_log(d);
    log->feed(false, "line\n");
    log->flush();
  }
  pollfd p{reader, POLLIN, 0};
  CHECK(::poll(&p, 1, 0) == 0);  // no writer ever opened the FIFO
  ::close(reader);
  struct stat st {};
  REQUIRE(::lstat(d.file("container.stdout").c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK(slurp(d.file("container.stdout")) == "line\n");
}

TEST_CASE("A device node planted under a log name is replaced by a plain file") {
  TempDir d;
  REQUIRE(::mknod(d.file("container.stderr").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0);  // /dev/null's
  auto log = open_log(d);
  log->feed(true, "err\n");
  log->flush();
  struct stat st {};
  REQUIRE(::lstat(d.file("container.stderr").c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK(slurp(d.file("container.stderr")) == "err\n");
}
