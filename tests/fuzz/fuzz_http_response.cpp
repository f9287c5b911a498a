// HTTP/1.1 response parser (the Docker client's): any bytes, fed whole and again in pieces whose
// sizes come from the input, then EOF. Both runs must agree (failed or not, status, headers, body),
// the body never holds more than was fed, header names and values are what the parser promises,
// a failure is final, and a sink that says stop ends the message.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "net/http_conn.h"

namespace {

struct Outcome {
  bool failed = false;
  bool done = false;
  net::HttpResponse res;
  std::string body;
  std::size_t pieces = 0;
};

// Piece sizes from a small LCG seeded by the first byte: 1..2*`step` bytes, or the whole input.
Outcome run(std::string_view in, std::uint32_t seed, std::size_t step, std::size_t stop_after) {
  net::ResponseParser p;
  Outcome out;
  const net::ResponseParser::BodySink sink = [&](std::string_view piece) {
    if (piece.empty()) std::abort();  // never an empty piece
    out.body.append(piece);
    return ++out.pieces < stop_after;
  };
  std::uint32_t state = seed;
  std::size_t off = 0;
  while (off < in.size() && !p.done()) {
    std::size_t n = in.size() - off;
    if (step > 0) {
      state = state * 1664525u + 1013904223u;
      n = std::min<std::size_t>(n, 1 + (state >> 16) % (2 * step));
    }
    if (!p.feed(in.substr(off, n), sink)) {
      out.failed = true;
      break;
    }
    off += n;
  }
  if (!out.failed && !p.done() && !p.finish()) out.failed = true;
  if (out.failed) {
    if (p.done() || p.feed("HTTP/1.1 200 OK\r\n\r\n", sink) || p.finish()) std::abort();  // failure is final
  } else {
    if (!p.done() || !p.head_done()) std::abort();
    if (p.stopped() && out.pieces != stop_after) std::abort();
    out.done = true;
    out.res = p.response();
  }
  return out;
}

void check_head(const net::HttpResponse& res) {
  if (res.status < 200 || res.status > 599) std::abort();
  for (const auto& [name, value] : res.headers) {
    if (name.empty()) std::abort();
    for (const char c : name) {
      if (c >= 'A' && c <= 'Z') std::abort();  // lower-cased
      if (static_cast<unsigned char>(c) <= 0x20 || c == ':' || c == 0x7f) std::abort();
    }
    for (const char c : value) {
      const auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7f) std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::uint32_t seed = data[0];
  const std::size_t step = 1 + (data[0] & 31);
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t never = static_cast<std::size_t>(-1);

  const Outcome whole = run(in, seed, 0, never);
  const Outcome split = run(in, seed, step, never);
  if (whole.failed != split.failed || whole.body != split.body) std::abort();
  if (whole.body.size() > in.size()) std::abort();
  if (!whole.failed) {
    check_head(whole.res);
    if (whole.res.status != split.res.status || whole.res.headers != split.res.headers) std::abort();
  }
  // A sink that stops after a few pieces: a prefix of the same body, and no crash.
  const Outcome stopped = run(in, seed, step, 1 + (seed >> 5));
  if (split.body.compare(0, stopped.body.size(), stopped.body) != 0) std::abort();
  return 0;
}
