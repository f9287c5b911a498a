// The lookup in state.json: one pass of a JSON reader of its own over the document.
#include "sidecar/state_doc.h"

#include <climits>
#include <initializer_list>
#include <string>
#include <vector>

#include "util/hot_path.h"

namespace sidecar {

HOT_PATH const char* to_string(Status s) {
  switch (s) {
    case Status::Alive: return "ALIVE";
    case Status::Tombstone: return "TOMBSTONE";
    case Status::Unhealthy: return "UNHEALTHY";
    case Status::Unknown: return "UNKNOWN";
    case Status::Draining: return "DRAINING";
  }
  return "?";
}

namespace {

// The names compared on every poll, made once at start-up: the program's string literals are merged
// across the whole binary ("Status" is the tail of a TLS library's message), so a literal read on
// every poll keeps a 64 KiB window of read-only data resident of its own.
const std::string kServers = "Servers", kServices = "Services", kStatus = "Status";

// Path of object keys from the root; arrays push an empty key so depths stay aligned. Told each
// piece of the document in order, as a JSON parser's events; a call returning false ends the pass.
class Finder {
 public:
  Finder(std::string_view host, std::string_view id) : host_(host), id_(id) {}

  bool null() { return true; }
  bool boolean() { return not_integer(); }
  // Statuses are small numbers: anything outside int's range is no status at all (found by fuzzing).
  bool number_integer(long long v) { return number(v >= 0 && v <= INT_MAX ? static_cast<int>(v) : -1); }
  bool number_unsigned(unsigned long long v) { return number(v <= INT_MAX ? static_cast<int>(v) : -1); }
  bool number_float() { return not_integer(); }
  bool string() { return not_integer(); }
  HOT_PATH bool start_object() {
    not_integer();
    path_.push_back(pending_key_);
    pending_key_.clear();
    if (at({kServers, host_})) host_seen_ = true;
    if (at({kServers, host_, kServices, id_})) service_seen_ = true;
    return true;
  }
  HOT_PATH bool end_object() {
    path_.pop_back();
    return true;
  }
  HOT_PATH bool start_array() {
    not_integer();
    path_.push_back(pending_key_);
    pending_key_.clear();
    return true;
  }
  HOT_PATH bool end_array() {
    path_.pop_back();
    return true;
  }
  HOT_PATH bool key(const std::string& k) {
    pending_key_ = k;
    return true;
  }

  bool found() const { return found_; }
  int status() const { return status_; }
  bool host_seen() const { return host_seen_; }
  bool service_seen() const { return service_seen_; }
  bool status_not_integer() const { return status_not_integer_; }
  const std::string& error() const { return error_; }

 private:
  // path_ = [root "", "Servers", host, "Services", id] for the service object.
  HOT_PATH bool at(std::initializer_list<std::string_view> want) const {
    if (path_.size() != want.size() + 1) return false;
    std::size_t i = 1;
    for (auto w : want) {
      if (path_[i++] != w) return false;
    }
    return true;
  }
  HOT_PATH bool at_our_status() const { return pending_key_ == kStatus && at({kServers, host_, kServices, id_}); }
  // A value of another type than integer at our Status: noted, and the pass goes on.
  HOT_PATH bool not_integer() {
    if (at_our_status()) status_not_integer_ = true;
    return true;
  }
  HOT_PATH bool number(int v) {  // v < 0: out of range
    if (at_our_status()) {
      if (v < 0) {
        error_ = "our service's Status is out of range";
        return false;  // stop: the document says nothing usable about us
      }
      status_ = v;
      found_ = true;
      return false;  // all we need: stop here
    }
    return true;
  }

  std::string_view host_, id_;
  std::vector<std::string> path_;
  std::string pending_key_;
  bool found_ = false, host_seen_ = false, service_seen_ = false, status_not_integer_ = false;
  int status_ = -1;
  std::string error_;
};

// A strict JSON reader (RFC 8259, as the JSON library the executor uses elsewhere reads it: UTF-8
// checked, surrogate pairs checked, no comments, no trailing commas, a UTF-8 BOM allowed at the
// start, nothing but white space after the document), without recursion, that tells a Finder what
// it reads and decodes only the object keys. Written for the Sidecar poll: it runs every second on
// a task's whole life, and this short loop is all the code it brings into memory.
class Reader {
 public:
  explicit Reader(std::string_view doc) : s_(doc) {}

  // True when the whole document was read; false when it is not JSON (error() says why) or the
  // Finder ended the pass.
  HOT_PATH bool read(Finder& f) {
    if (s_.size() >= 1 && static_cast<unsigned char>(s_[0]) == 0xEF) {
      if (s_.size() < 3 || static_cast<unsigned char>(s_[1]) != 0xBB || static_cast<unsigned char>(s_[2]) != 0xBF) {
        return fail("a byte order mark must be EF BB BF");
      }
      i_ = 3;
    }
    std::string stack;  // 'o' or 'a' per open container
    while (true) {
      // A value.
      skip_ws();
      if (i_ >= s_.size()) return fail("the document ends where a value should be");
      const char c = s_[i_];
      bool more = true;
      bool opened = false;
      if (c == '{') {
        ++i_;
        if (!f.start_object()) return false;
        stack.push_back('o');
        skip_ws();
        if (i_ < s_.size() && s_[i_] == '}') {
          ++i_;
          stack.pop_back();
          more = f.end_object();
        } else {
          if (!key(f)) return false;
          opened = true;
        }
      } else if (c == '[') {
        ++i_;
        if (!f.start_array()) return false;
        stack.push_back('a');
        skip_ws();
        if (i_ < s_.size() && s_[i_] == ']') {
          ++i_;
          stack.pop_back();
          more = f.end_array();
        } else {
          opened = true;
        }
      } else if (c == '"') {
        ++i_;
        if (!string(nullptr)) return false;
        more = f.string();
      } else if (c == 't' || c == 'f' || c == 'n') {
        const std::string_view word = c == 't' ? "true" : c == 'f' ? "false" : "null";
        if (s_.substr(i_, word.size()) != word) return fail("not a JSON value");
        i_ += word.size();
        more = c == 'n' ? f.null() : f.boolean();
      } else if (c == '-' || (c >= '0' && c <= '9')) {
        if (!number(f, more)) return false;
      } else {
        return fail("not a JSON value");
      }
      if (!more) return false;
      if (opened) continue;
      // What follows a value: the end of its containers, then a comma (and, in an object, a key).
      while (true) {
        skip_ws();
        if (stack.empty()) {
          if (i_ != s_.size()) return fail("more after the end of the document");
          return true;
        }
        if (i_ >= s_.size()) return fail("the document ends inside an object or array");
        const char d = s_[i_++];
        const bool object = stack.back() == 'o';
        if (d == ',') {
          if (object && !key(f)) return false;
          break;
        }
        if (d != (object ? '}' : ']')) return fail(object ? "expected ',' or '}'" : "expected ',' or ']'");
        stack.pop_back();
        if (!(object ? f.end_object() : f.end_array())) return false;
      }
    }
  }

  const std::string& error() const { return error_; }

 private:
  HOT_PATH bool fail(const char* what) {
    error_ = std::string("not JSON at byte ") + std::to_string(i_) + ": " + what;
    return false;
  }

  HOT_PATH void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }

  // An object key and its colon, told to the Finder.
  HOT_PATH bool key(Finder& f) {
    skip_ws();
    if (i_ >= s_.size() || s_[i_] != '"') return fail("expected a key");
    ++i_;
    key_.clear();
    if (!string(&key_)) return false;
    skip_ws();
    if (i_ >= s_.size() || s_[i_] != ':') return fail("expected ':'");
    ++i_;
    return f.key(key_);
  }

  HOT_PATH int hex4() {
    if (s_.size() - i_ < 4) return -1;
    int v = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s_[i_ + static_cast<std::size_t>(k)];
      const int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
      if (d < 0) return -1;
      v = v * 16 + d;
    }
    i_ += 4;
    return v;
  }

  static void put_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  // The rest of a string after its opening quote; decoded into `out` when given.
  HOT_PATH bool string(std::string* out) {
    while (true) {
      if (i_ >= s_.size()) return fail("the document ends inside a string");
      const auto c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') {
        ++i_;
        return true;
      }
      if (c < 0x20) return fail("a control character inside a string");
      if (c == '\\') {
        if (++i_ >= s_.size()) return fail("the document ends inside a string");
        const char e = s_[i_++];
        char plain = 0;
        switch (e) {
          case '"': plain = '"'; break;
          case '\\': plain = '\\'; break;
          case '/': plain = '/'; break;
          case 'b': plain = '\b'; break;
          case 'f': plain = '\f'; break;
          case 'n': plain = '\n'; break;
          case 'r': plain = '\r'; break;
          case 't': plain = '\t'; break;
          case 'u': {
            int cp = hex4();
            if (cp < 0) return fail("a \\u escape without four hex digits");
            if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("a low surrogate without a high one");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
              if (s_.size() - i_ < 2 || s_[i_] != '\\' || s_[i_ + 1] != 'u') {
                return fail("a high surrogate without a low one");
              }
              i_ += 2;
              const int low = hex4();
              if (low < 0xDC00 || low > 0xDFFF) return fail("a high surrogate without a low one");
              cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            }
            if (out) put_utf8(*out, static_cast<unsigned>(cp));
            continue;
          }
          default: return fail("an unknown escape in a string");
        }
        if (out) out->push_back(plain);
        continue;
      }
      if (c < 0x80) {
        if (out) out->push_back(static_cast<char>(c));
        ++i_;
        continue;
      }
      // UTF-8 (RFC 3629): the first byte says how many continuation bytes follow and the range of
      // the first of them (no overlong forms, no surrogates, nothing above U+10FFFF).
      unsigned char lo = 0x80, hi = 0xBF;
      std::size_t n = 0;
      if (c >= 0xC2 && c <= 0xDF) {
        n = 1;
      } else if (c >= 0xE0 && c <= 0xEF) {
        n = 2;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
      } else if (c >= 0xF0 && c <= 0xF4) {
        n = 3;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
      } else {
        return fail("a string that is not UTF-8");
      }
      if (s_.size() - i_ <= n) return fail("a string that is not UTF-8");
      for (std::size_t k = 1; k <= n; ++k) {
        const auto b = static_cast<unsigned char>(s_[i_ + k]);
        if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return fail("a string that is not UTF-8");
      }
      if (out) out->append(s_.substr(i_, n + 1));
      i_ += n + 1;
    }
  }

  // -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?: an integer that fits 64 bits is told as one (signed
  // when negative), anything else as a fraction.
  HOT_PATH bool number(Finder& f, bool& more) {
    const bool negative = s_[i_] == '-';
    if (negative) ++i_;
    const auto digits = [&] {
      const std::size_t from = i_;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
      return i_ - from;
    };
    if (i_ >= s_.size() || s_[i_] < '0' || s_[i_] > '9') return fail("a number without digits");
    const std::size_t int_start = i_;
    if (s_[i_] == '0') {
      ++i_;
    } else {
      digits();
    }
    const std::size_t int_end = i_;
    bool fraction = false;
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      if (digits() == 0) return fail("a number without digits after '.'");
      fraction = true;
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (digits() == 0) return fail("a number without digits in its exponent");
      fraction = true;
    }
    if (!fraction) {
      unsigned long long v = 0;
      bool fits = true;
      for (std::size_t k = int_start; k < int_end && fits; ++k) {
        const auto d = static_cast<unsigned long long>(s_[k] - '0');
        if (v > (ULLONG_MAX - d) / 10) fits = false;
        v = v * 10 + d;
      }
      if (fits && !negative) {
        more = f.number_unsigned(v);
        return true;
      }
      if (fits && v <= static_cast<unsigned long long>(LLONG_MAX) + 1) {
        more = f.number_integer(v == static_cast<unsigned long long>(LLONG_MAX) + 1 ? LLONG_MIN
                                                                                    : -static_cast<long long>(v));
        return true;
      }
    }
    more = f.number_float();
    return true;
  }

  std::string_view s_;
  std::size_t i_ = 0;
  std::string key_;
  std::string error_;
};

}  // namespace

HOT_PATH Lookup find_service_status(std::string_view document, std::string_view host, std::string_view service_id) {
  Finder f(host, service_id);
  Lookup out;
  Reader reader(document);
  const bool complete = reader.read(f);
  if (f.found()) {
    out.kind = Lookup::Kind::Found;
    out.status = f.status();
    return out;
  }
  if (!complete) {
    out.kind = Lookup::Kind::Invalid;
    out.error = !f.error().empty() ? f.error() : !reader.error().empty() ? reader.error() : "not a JSON document";
    return out;
  }
  out.kind = !f.host_seen()      ? Lookup::Kind::NoHost
             : !f.service_seen() ? Lookup::Kind::NoService
                                 : Lookup::Kind::NoStatus;
  out.status_not_integer = out.kind == Lookup::Kind::NoStatus && f.status_not_integer();
  return out;
}

}  // namespace sidecar
