// Image reference parsing and validation, and container naming.
//
// The grammar is Docker's (distribution's reference package): a registry host (DNS labels or an IPv6
// address in brackets) with an optional port, then path components of lower-case letters and digits
// joined by '.', '_', '__' or runs of '-', an optional tag [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} and an
// optional digest algorithm:hex. The first component names a registry only when it holds '.' or ':'
// or is "localhost", which is how dockerd splits it too.
#include "docker/image_ref.h"

#include <fmt/format.h>

#include <optional>

#include "util/http_safe.h"
#include "util/uuid.h"

namespace docker {

namespace {

using Problem = std::optional<std::string>;

constexpr std::size_t kMaxTagLength = 128;
constexpr std::size_t kMaxShown = 160;

bool looks_like_registry(std::string_view component) {
  return component.find('.') != std::string_view::npos || component.find(':') != std::string_view::npos ||
         component == "localhost";
}

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || is_upper(c); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_lower_alnum(c) || is_upper(c); }
bool is_word(char c) { return is_alnum(c) || c == '_'; }
bool is_lower_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }
bool is_hex(char c) { return is_lower_hex(c) || (c >= 'A' && c <= 'F'); }

// Every character some part of a reference allows. Anything else ('%', '?', '#', space, control
// characters, non-ASCII) is refused before the parts are looked at.
bool is_reference_char(char c) {
  return is_alnum(c) || c == '.' || c == '_' || c == '-' || c == '/' || c == ':' || c == '@' || c == '[' || c == ']';
}

template <typename Pred>
bool all_of(std::string_view s, Pred pred) {
  for (const char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}

// The reference as an error shows it: control characters escaped, long text cut.
std::string shown(std::string_view text) {
  std::string out = util::escape_control_chars(text.substr(0, kMaxShown));
  if (text.size() > kMaxShown) out += "...";
  return out;
}

std::string char_problem(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u < 0x20 || u == 0x7f) return fmt::format("it holds a control character (0x{:02x})", u);
  if (u >= 0x80) return fmt::format("it holds the non-ASCII byte 0x{:02x}", u);
  return fmt::format("it holds '{}', which no part of an image reference allows", c);
}

// A DNS label of the registry host: letters, digits and inner '-'.
Problem host_label_problem(std::string_view host, std::string_view label) {
  if (label.empty()) return fmt::format("the registry host \"{}\" has an empty label", host);
  if (!all_of(label, [](char c) { return is_alnum(c) || c == '-'; })) {
    return fmt::format("the registry host label \"{}\" may hold only letters, digits and '-'", label);
  }
  if (label.front() == '-' || label.back() == '-') {
    return fmt::format("the registry host label \"{}\" must start and end with a letter or digit", label);
  }
  return std::nullopt;
}

Problem port_problem(std::string_view port) {
  if (port.empty() || !all_of(port, is_digit)) {
    return fmt::format("the registry port \"{}\" must be a number", port);
  }
  if (port.size() > 5 || std::stoul(std::string(port)) == 0 || std::stoul(std::string(port)) > 65535) {
    return fmt::format("the registry port {} is out of range", port);
  }
  return std::nullopt;
}

// host[:port], the host a DNS name (labels joined by '.') or an IPv6 address in brackets.
Problem registry_problem(std::string_view domain) {
  std::string_view host = domain;
  std::optional<std::string_view> port;
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    if (close == std::string_view::npos) return std::string("the registry's IPv6 address has no closing ']'");
    const std::string_view address = host.substr(1, close - 1);
    if (address.empty() || !all_of(address, [](char c) { return is_hex(c) || c == ':'; })) {
      return fmt::format("the registry's IPv6 address \"{}\" may hold only hex digits and ':'", address);
    }
    const std::string_view after = host.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::string("only ':port' may follow the registry's IPv6 address");
      port = after.substr(1);
    }
  } else {
    if (const auto colon = host.find(':'); colon != std::string_view::npos) {
      port = host.substr(colon + 1);
      host = host.substr(0, colon);
    }
    if (host.empty()) return std::string("the registry host is empty");
    std::size_t start = 0;
    while (true) {
      const auto dot = host.find('.', start);
      if (auto p = host_label_problem(host, host.substr(start, dot == std::string_view::npos ? dot : dot - start)))
        return p;
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
  }
  if (port) return port_problem(*port);
  return std::nullopt;
}

// A path component: runs of [a-z0-9] joined by one '.', one or two '_', or any number of '-'.
Problem component_problem(std::string_view c) {
  if (c.empty()) return std::string("the repository path has an empty component");
  if (!all_of(c, [](char ch) { return !is_upper(ch); })) {
    return fmt::format("the repository path component \"{}\" has upper case, which only the registry host may have", c);
  }
  const auto bad = [&] {
    return fmt::format(
        "the repository path component \"{}\" must be lower-case letters and digits joined by '.', '_', '__' or '-'",
        c);
  };
  std::size_t i = 0;
  while (true) {
    if (i == c.size() || !is_lower_alnum(c[i])) return bad();
    while (i < c.size() && is_lower_alnum(c[i])) ++i;
    if (i == c.size()) return std::nullopt;
    if (c[i] == '.') {
      ++i;
    } else if (c[i] == '_') {
      ++i;
      if (i < c.size() && c[i] == '_') ++i;
    } else if (c[i] == '-') {
      while (i < c.size() && c[i] == '-') ++i;
    } else {
      return bad();
    }
  }
}

Problem path_problem(std::string_view path) {
  std::size_t start = 0;
  while (true) {
    const auto slash = path.find('/', start);
    if (auto p = component_problem(path.substr(start, slash == std::string_view::npos ? slash : slash - start)))
      return p;
    if (slash == std::string_view::npos) return std::nullopt;
    start = slash + 1;
  }
}

Problem tag_problem(std::string_view tag) {
  if (tag.empty()) return std::string("the tag after ':' is empty");
  if (tag.size() > kMaxTagLength) {
    return fmt::format("the tag is {} characters long, more than {}", tag.size(), kMaxTagLength);
  }
  if (!is_word(tag.front()) || !all_of(tag, [](char c) { return is_word(c) || c == '.' || c == '-'; })) {
    return fmt::format("the tag \"{}\" must be letters, digits, '_', '.' and '-', not starting with '.' or '-'", tag);
  }
  return std::nullopt;
}

// Components [A-Za-z][A-Za-z0-9]* joined by one of "-_+.".
bool algorithm_well_formed(std::string_view algorithm) {
  bool at_start = true;
  for (const char c : algorithm) {
    if (at_start) {
      if (!is_alpha(c)) return false;
      at_start = false;
    } else if (c == '-' || c == '_' || c == '+' || c == '.') {
      at_start = true;
    } else if (!is_alnum(c)) {
      return false;
    }
  }
  return !at_start;
}

// algorithm:hex, with the lengths of the algorithms Docker can verify (lower-case hex only).
Problem digest_problem(std::string_view digest) {
  const auto colon = digest.find(':');
  if (colon == std::string_view::npos) {
    return fmt::format("the digest \"{}\" must be algorithm:hex, e.g. sha256:<64 hex digits>", digest);
  }
  const std::string_view algorithm = digest.substr(0, colon);
  const std::string_view hex = digest.substr(colon + 1);
  if (!algorithm_well_formed(algorithm)) return fmt::format("the digest algorithm \"{}\" is malformed", algorithm);
  std::size_t want = 0;
  if (algorithm == "sha256") want = 64;
  if (algorithm == "sha384") want = 96;
  if (algorithm == "sha512") want = 128;
  if (want == 0) return fmt::format("the digest algorithm \"{}\" is not supported (sha256, sha384, sha512)", algorithm);
  if (hex.size() != want || !all_of(hex, is_lower_hex)) {
    return fmt::format("a {} digest must be {} lower-case hex digits", algorithm, want);
  }
  return std::nullopt;
}

// The name (without tag and digest): length, registry when there is one, path.
Problem name_problem(std::string_view name) {
  if (name.empty()) return std::string("the repository name is empty");
  if (name.size() > kMaxImageNameLength) {
    return fmt::format("the name is {} characters long, more than Docker's {}", name.size(), kMaxImageNameLength);
  }
  const auto slash = name.find('/');
  if (slash != std::string_view::npos && looks_like_registry(name.substr(0, slash))) {
    if (auto p = registry_problem(name.substr(0, slash))) return p;
    return path_problem(name.substr(slash + 1));
  }
  return path_problem(name);
}

Problem reference_problem(std::string_view ref) {
  if (ref.empty()) return std::string("it is empty");
  // Control characters first: they are what an attack needs, so the message says so.
  for (const char c : ref) {
    if (util::has_control_chars(std::string_view(&c, 1))) return char_problem(c);
  }
  for (const char c : ref) {
    if (!is_reference_char(c)) return char_problem(c);
  }
  if (ref.size() == 64 && all_of(ref, is_lower_hex)) {
    return std::string("a 64-hex image id is not a reference Docker accepts for a task's image");
  }
  std::string_view rest = ref;
  if (const auto at = rest.find('@'); at != std::string_view::npos) {
    if (auto p = digest_problem(rest.substr(at + 1))) return p;
    rest = rest.substr(0, at);
  }
  const auto last_slash = rest.rfind('/');
  const auto last_colon = rest.rfind(':');
  if (last_colon != std::string_view::npos && (last_slash == std::string_view::npos || last_colon > last_slash)) {
    if (auto p = tag_problem(rest.substr(last_colon + 1))) return p;
    rest = rest.substr(0, last_colon);
  }
  return name_problem(rest);
}

}  // namespace

std::string ImageRef::name() const {
  if (registry == "docker.io") return repository;
  return registry + "/" + repository;
}

std::string ImageRef::pull_tag() const {
  if (!digest.empty()) return digest;
  return tag.empty() ? "latest" : tag;
}

ImageRef parse_image_ref(std::string_view ref) {
  ImageRef out;
  if (auto at = ref.find('@'); at != std::string_view::npos) {
    out.digest = std::string(ref.substr(at + 1));
    ref = ref.substr(0, at);
  }
  const auto last_slash = ref.rfind('/');
  const auto last_colon = ref.rfind(':');
  if (last_colon != std::string_view::npos && (last_slash == std::string_view::npos || last_colon > last_slash)) {
    out.tag = std::string(ref.substr(last_colon + 1));
    ref = ref.substr(0, last_colon);
  }
  const auto first_slash = ref.find('/');
  if (first_slash != std::string_view::npos && looks_like_registry(ref.substr(0, first_slash))) {
    out.registry = std::string(ref.substr(0, first_slash));
    out.repository = std::string(ref.substr(first_slash + 1));
  } else {
    out.registry = "docker.io";
    out.repository = std::string(ref);
  }
  return out;
}

util::Result<ImageRef> validate_image_ref(std::string_view ref) {
  if (auto problem = reference_problem(ref)) {
    return util::make_error(fmt::format("invalid image reference \"{}\": {}", shown(ref), *problem));
  }
  return parse_image_ref(ref);
}

bool refreshed_on_launch(const ImageRef& ref) { return ref.digest.empty() && (ref.tag.empty() || ref.tag == "latest"); }

std::optional<std::string> service_version(const ImageRef& ref) {
  if (!ref.tag.empty()) return ref.tag;
  if (const auto colon = ref.digest.find(':'); colon != std::string::npos && colon + 1 < ref.digest.size()) {
    return ref.digest.substr(colon + 1);
  }
  return std::nullopt;
}

std::string container_name(std::string_view task_id) {
  return "mesos-" + util::uuid_to_string(util::uuid_v5(util::UuidBytes{}, task_id));
}

}  // namespace docker
