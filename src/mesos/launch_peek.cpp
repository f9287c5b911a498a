// Reads an event's type and a LAUNCH's task id from the first bytes of a record, by walking the
// protobuf wire format or the JSON text by hand: the record is too big to decode (or even to hold).
#include "mesos/launch_peek.h"

#include <algorithm>
#include <cstdint>
#include <limits>

namespace mesos {
namespace {

using v1::executor::Event;

// The Mesos rules for an id (src/common/validation.cpp, validateID): an id the agent would refuse
// cannot be a real task's.
bool valid_mesos_id(std::string_view id) {
  if (id.empty()) return false;
  return std::none_of(id.begin(), id.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f || c == '/' || c == '\\';
  });
}

std::optional<std::string> known_type_name(std::uint64_t number) {
  if (number > static_cast<std::uint64_t>(std::numeric_limits<int>::max())) return std::nullopt;
  const auto n = static_cast<int>(number);
  if (!Event::Type_IsValid(n)) return std::nullopt;
  return Event::Type_Name(static_cast<Event::Type>(n));
}

// ---- protobuf -------------------------------------------------------------------------------

// One field of a message; a length-delimited value may go on past the prefix (`cut`).
struct Field {
  std::uint64_t number = 0;
  std::uint64_t wire = 0;
  std::uint64_t varint = 0;
  std::string_view bytes;
  bool cut = false;
};

bool read_varint(std::string_view& in, std::uint64_t& v) {
  v = 0;
  for (unsigned shift = 0; shift < 64 && !in.empty(); shift += 7) {
    const auto b = static_cast<unsigned char>(in.front());
    in.remove_prefix(1);
    v |= std::uint64_t{b & 0x7fu} << shift;
    if ((b & 0x80u) == 0) return true;
  }
  return false;  // cut short, or longer than the 10 bytes of a 64-bit varint
}

// False at the end of `in` and on anything unreadable (cut short, a group, a bad key): the walk stops.
bool next_field(std::string_view& in, Field& f) {
  constexpr std::uint64_t kMaxFieldNumber = (std::uint64_t{1} << 29) - 1;
  std::uint64_t key = 0;
  if (in.empty() || !read_varint(in, key)) return false;
  f = Field{};
  f.number = key >> 3;
  f.wire = key & 7;
  if (f.number == 0 || f.number > kMaxFieldNumber) return false;
  switch (f.wire) {
    case 0: return read_varint(in, f.varint);
    case 1:
    case 5: {
      const std::size_t n = f.wire == 1 ? 8 : 4;
      if (in.size() < n) return false;
      in.remove_prefix(n);
      return true;
    }
    case 2: {
      std::uint64_t len = 0;
      if (!read_varint(in, len)) return false;
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(len, in.size()));
      f.bytes = in.substr(0, n);
      f.cut = len > in.size();
      in.remove_prefix(n);
      return true;
    }
    default: return false;  // groups (3, 4) and the undefined 6, 7: none in these messages
  }
}

// Calls on_field for each field of `message` until one runs past the prefix.
template <typename Fn>
void walk(std::string_view message, Fn on_field) {
  Field f;
  while (next_field(message, f)) {
    on_field(f);
    if (f.cut) return;
  }
}

constexpr std::uint64_t kLengthDelimited = 2;

// TaskID.value (field 1), complete. Later occurrences win, as when protobuf merges them.
std::optional<std::string> proto_task_id_value(std::string_view task_id) {
  std::optional<std::string> value;
  walk(task_id, [&](const Field& f) {
    if (f.number == 1 && f.wire == kLengthDelimited && !f.cut) value = std::string(f.bytes);
  });
  return value;
}

// TaskInfo.task_id (field 2); TaskInfo.name (field 1) comes before it.
std::optional<std::string> proto_task_info_id(std::string_view task) {
  std::optional<std::string> id;
  walk(task, [&](const Field& f) {
    if (f.number != 2 || f.wire != kLengthDelimited) return;
    if (auto v = proto_task_id_value(f.bytes)) id = std::move(v);
  });
  return id;
}

// Event.Launch.task (field 1).
std::optional<std::string> proto_launch_task_id(std::string_view launch) {
  std::optional<std::string> id;
  walk(launch, [&](const Field& f) {
    if (f.number != 1 || f.wire != kLengthDelimited) return;
    if (auto v = proto_task_info_id(f.bytes)) id = std::move(v);
  });
  return id;
}

// Event.type (field 1, enum) and Event.launch (field 4).
EventPeek peek_protobuf(std::string_view record) {
  EventPeek out;
  std::optional<std::string> id;
  walk(record, [&](const Field& f) {
    if (f.number == 1 && f.wire == 0) {
      // proto2 keeps the last known value; an unknown one goes to the unknown fields.
      if (auto name = known_type_name(f.varint)) out.type = std::move(name);
    } else if (f.number == 4 && f.wire == kLengthDelimited) {
      if (auto v = proto_launch_task_id(f.bytes)) id = std::move(v);
    }
  });
  if (out.type == "LAUNCH" && id && valid_mesos_id(*id)) out.task_id = std::move(id);
  return out;
}

// ---- JSON -----------------------------------------------------------------------------------

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

// A cursor over JSON text that may end anywhere: every reader returns false when the text is cut
// short or malformed, and the walk stops there with what it has found so far.
class Json {
 public:
  explicit Json(std::string_view text) : s_(text) {}

  bool at(char c) {
    skip_ws();
    return pos_ < s_.size() && s_[pos_] == c;
  }
  bool eat(char c) {
    if (!at(c)) return false;
    ++pos_;
    return true;
  }

  // A string value, unescaped into `out` (nullptr: skipped).
  bool string(std::string* out) {
    if (!eat('"')) return false;
    while (pos_ < s_.size()) {
      const char c = s_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        if (out) out->push_back(c);
        continue;
      }
      if (!escape(out)) return false;
    }
    return false;
  }

  // Any value, skipped; brackets must match.
  bool skip_value() {
    skip_ws();
    if (pos_ >= s_.size()) return false;
    const char c = s_[pos_];
    if (c == '"') return string(nullptr);
    if (c == '{' || c == '[') return skip_nested();
    const std::size_t start = pos_;
    while (pos_ < s_.size() && scalar_char(s_[pos_])) ++pos_;
    return pos_ > start && pos_ < s_.size();  // a number at the very end may be cut
  }

  // An object whose members on_member(key) reads (it must consume the value).
  template <typename Fn>
  bool object(Fn on_member) {
    if (!eat('{')) return false;
    if (eat('}')) return true;
    for (;;) {
      std::string key;
      if (!string(&key) || !eat(':') || !on_member(key)) return false;
      if (eat(',')) continue;
      return eat('}');
    }
  }

 private:
  static bool scalar_char(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-' || c == '+' || c == '.' || c == 'E';
  }

  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }

  static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  bool hex4(std::uint32_t& v) {
    if (s_.size() - pos_ < 4) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) {
      const int d = hex_digit(s_[pos_++]);
      if (d < 0) return false;
      v = (v << 4) | static_cast<std::uint32_t>(d);
    }
    return true;
  }

  // After a backslash: one escape, a surrogate pair as one code point.
  bool escape(std::string* out) {
    if (pos_ >= s_.size()) return false;
    const char c = s_[pos_++];
    char plain = 0;
    switch (c) {
      case '"':
      case '\\':
      case '/': plain = c; break;
      case 'b': plain = '\b'; break;
      case 'f': plain = '\f'; break;
      case 'n': plain = '\n'; break;
      case 'r': plain = '\r'; break;
      case 't': plain = '\t'; break;
      case 'u': return unicode_escape(out);
      default: return false;
    }
    if (out) out->push_back(plain);
    return true;
  }

  bool unicode_escape(std::string* out) {
    std::uint32_t cp = 0;
    if (!hex4(cp)) return false;
    if (cp >= 0xdc00 && cp <= 0xdfff) return false;  // a low surrogate alone
    if (cp >= 0xd800 && cp <= 0xdbff) {
      std::uint32_t low = 0;
      if (s_.size() - pos_ < 2 || s_[pos_] != '\\' || s_[pos_ + 1] != 'u') return false;
      pos_ += 2;
      if (!hex4(low) || low < 0xdc00 || low > 0xdfff) return false;
      cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
    }
    if (out) append_utf8(*out, cp);
    return true;
  }

  bool skip_nested() {
    std::string closers;
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (c == '"') {
        if (!string(nullptr)) return false;
        continue;
      }
      ++pos_;
      if (c == '{' || c == '[') {
        closers.push_back(c == '{' ? '}' : ']');
      } else if (c == '}' || c == ']') {
        if (closers.empty() || closers.back() != c) return false;
        closers.pop_back();
        if (closers.empty()) return true;
      }
    }
    return false;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

// The agent writes {"type":"LAUNCH","launch":{"task":{"name":…,"task_id":{"value":…},…}}}; members
// are found wherever they stand in their object.
EventPeek peek_json(std::string_view record) {
  EventPeek out;
  std::optional<std::string> id;
  Json j(record);

  const auto task_id_member = [&](const std::string& key) {
    if (key != "value" || !j.at('"')) return j.skip_value();
    std::string v;
    if (!j.string(&v)) return false;
    id = std::move(v);
    return true;
  };
  const auto task_member = [&](const std::string& key) {
    if (key != "task_id" || !j.at('{')) return j.skip_value();
    return j.object(task_id_member);
  };
  const auto launch_member = [&](const std::string& key) {
    if (key != "task" || !j.at('{')) return j.skip_value();
    return j.object(task_member);
  };
  const auto event_member = [&](const std::string& key) {
    if (key == "type" && j.at('"')) {
      std::string name;
      if (!j.string(&name)) return false;
      Event::Type t{};
      out.type = Event::Type_Parse(name, &t) ? std::optional<std::string>(name) : std::nullopt;
      return true;
    }
    if (key != "launch" || !j.at('{')) return j.skip_value();
    return j.object(launch_member);
  };
  (void)j.object(event_member);  // a cut record ends the walk; what was found stands

  if (out.type == "LAUNCH" && id && valid_mesos_id(*id)) out.task_id = std::move(id);
  return out;
}

}  // namespace

EventPeek peek_event(Encoding e, std::string_view prefix) {
  return e == Encoding::Json ? peek_json(prefix) : peek_protobuf(prefix);
}

}  // namespace mesos
