// Go and Mesos duration syntaxes, written from their specifications.
#include "util/values.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>

namespace util {
namespace {

constexpr std::uint64_t kMaxMagnitude = std::uint64_t{1} << 63;  // |INT64_MIN|

util::Error go_error(std::string_view text, std::string_view why) {
  return util::make_error(
      fmt::format("invalid duration \"{}\": {} (Go syntax, e.g. 30s, 1m30s, 500ms, 2h)", text, why));
}

std::uint64_t go_unit(std::string_view u) {
  if (u == "ns") return 1;
  if (u == "us" || u == "\xC2\xB5s" || u == "\xCE\xBCs") return 1'000;  // us, µs (U+00B5), μs (U+03BC)
  if (u == "ms") return 1'000'000;
  if (u == "s") return 1'000'000'000;
  if (u == "m") return 60'000'000'000;
  if (u == "h") return 3'600'000'000'000;
  return 0;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

util::Result<Duration> parse_go_duration(std::string_view text) {
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return Duration{0};
  if (s.empty()) return go_error(text, "empty");

  std::uint64_t total = 0;
  while (!s.empty()) {
    if (!(s[0] == '.' || is_digit(s[0]))) return go_error(text, "expected a number");
    // Integer part.
    std::uint64_t whole = 0;
    std::size_t i = 0;
    for (; i < s.size() && is_digit(s[i]); ++i) {
      if (whole > (kMaxMagnitude - 1) / 10) return go_error(text, "out of range");
      whole = whole * 10 + static_cast<std::uint64_t>(s[i] - '0');
      if (whole > kMaxMagnitude) return go_error(text, "out of range");
    }
    const bool pre = i > 0;
    s.remove_prefix(i);
    // Fraction: keep digits while they fit, ignore the rest (as Go does).
    std::uint64_t frac = 0;
    double scale = 1;
    bool post = false;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      std::size_t j = 0;
      bool overflow = false;
      for (; j < s.size() && is_digit(s[j]); ++j) {
        if (overflow) continue;
        if (frac > (std::numeric_limits<std::uint64_t>::max() >> 1) / 10) {
          overflow = true;
          continue;
        }
        frac = frac * 10 + static_cast<std::uint64_t>(s[j] - '0');
        scale *= 10;
      }
      post = j > 0;
      s.remove_prefix(j);
    }
    if (!pre && !post) return go_error(text, "expected a number");
    std::size_t u = 0;
    while (u < s.size() && s[u] != '.' && !is_digit(s[u])) ++u;
    if (u == 0) return go_error(text, "missing unit");
    const std::uint64_t unit = go_unit(s.substr(0, u));
    if (unit == 0) return go_error(text, fmt::format("unknown unit \"{}\"", s.substr(0, u)));
    s.remove_prefix(u);
    if (whole > kMaxMagnitude / unit) return go_error(text, "out of range");
    std::uint64_t v = whole * unit;
    if (frac > 0) {
      v += static_cast<std::uint64_t>(static_cast<double>(frac) * (static_cast<double>(unit) / scale));
      if (v > kMaxMagnitude) return go_error(text, "out of range");
    }
    total += v;
    if (total > kMaxMagnitude) return go_error(text, "out of range");
  }
  if (negative) {
    if (total == kMaxMagnitude) return Duration{std::numeric_limits<std::int64_t>::min()};
    return Duration{-static_cast<std::int64_t>(total)};
  }
  if (total > kMaxMagnitude - 1) return go_error(text, "out of range");
  return Duration{static_cast<std::int64_t>(total)};
}

namespace {

// Go's fmtFrac: writes the fraction of v/10^prec without trailing zeros; returns v/10^prec.
std::uint64_t frac_part(std::string& out, std::uint64_t v, int prec) {
  std::string digits;
  bool print = false;
  for (int i = 0; i < prec; ++i) {
    const auto digit = static_cast<char>('0' + v % 10);
    print = print || digit != '0';
    if (print) digits.insert(digits.begin(), digit);
    v /= 10;
  }
  if (print) out = "." + digits + out;
  return v;
}

}  // namespace

std::string format_go_duration(Duration d) {
  const std::int64_t n = d.count();
  if (n == 0) return "0s";
  std::uint64_t u = n < 0 ? static_cast<std::uint64_t>(-(n + 1)) + 1 : static_cast<std::uint64_t>(n);
  std::string tail;
  if (u < 1'000'000'000) {
    std::string unit;
    int prec = 0;
    if (u < 1'000) {
      return fmt::format("{}{}ns", n < 0 ? "-" : "", u);
    } else if (u < 1'000'000) {
      prec = 3;
      unit = "\xC2\xB5s";
    } else {
      prec = 6;
      unit = "ms";
    }
    tail = unit;
    std::string frac;
    u = frac_part(frac, u, prec);
    return fmt::format("{}{}{}{}", n < 0 ? "-" : "", u, frac, tail);
  }
  std::string frac;
  u = frac_part(frac, u, 9);
  std::string out = fmt::format("{}{}s", u % 60, frac);
  u /= 60;
  if (u > 0) {
    out = fmt::format("{}m", u % 60) + out;
    u /= 60;
    if (u > 0) out = fmt::format("{}h", u) + out;
  }
  return (n < 0 ? "-" : "") + out;
}

util::Result<Duration> parse_mesos_duration(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && (is_digit(text[i]) || text[i] == '.')) ++i;
  auto fail = [&](std::string_view why) {
    return util::make_error(
        fmt::format("invalid duration \"{}\": {} (Mesos syntax, e.g. 15mins, 2secs, 100ms, 1.5hrs)", text, why));
  };
  if (i == 0) return fail("expected a number");
  const std::string number(text.substr(0, i));
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(number, &used);
  } catch (...) {
    return fail("bad number");
  }
  if (used != number.size()) return fail("bad number");
  const std::string_view unit = text.substr(i);
  double ns_per_unit = 0;
  if (unit == "ns")
    ns_per_unit = 1;
  else if (unit == "us")
    ns_per_unit = 1e3;
  else if (unit == "ms")
    ns_per_unit = 1e6;
  else if (unit == "secs")
    ns_per_unit = 1e9;
  else if (unit == "mins")
    ns_per_unit = 60e9;
  else if (unit == "hrs")
    ns_per_unit = 3600e9;
  else if (unit == "days")
    ns_per_unit = 86400e9;
  else if (unit == "weeks")
    ns_per_unit = 7 * 86400e9;
  else
    return fail(unit.empty() ? "missing unit" : fmt::format("unknown unit \"{}\"", unit));
  const double ns = value * ns_per_unit;
  if (!std::isfinite(ns) || ns >= 9.2e18) return fail("out of range");
  return Duration{static_cast<std::int64_t>(ns)};
}

Result<bool> parse_go_bool(std::string_view t) {
  if (t == "1" || t == "t" || t == "T" || t == "TRUE" || t == "true" || t == "True") return true;
  if (t == "0" || t == "f" || t == "F" || t == "FALSE" || t == "false" || t == "False") return false;
  return make_error("not a boolean (1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False)");
}

}  // namespace util
