// The syslog relay's parts: line splitting, levels, the datagram bytes against the Go executor's (as
// data), local RFC 3339 time, item 2's settings, and real UDP datagrams to a receiver on 127.0.0.1
// (and none listening: no error, no wait).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>

#include "../udp_receiver.h"
#include "app/options.h"
#include "logs/relay.h"
#include "util/env.h"

using namespace std::chrono_literals;
using testing_support::UdpReceiver;

namespace {

std::vector<std::string> split(const std::vector<std::string>& chunks, bool flush = true) {
  std::vector<std::string> lines;
  logs::LineSplitter s([&](std::string_view l) { lines.emplace_back(l); });
  for (const auto& c : chunks) s.feed(c);
  if (flush) s.flush();
  return lines;
}

// The datagram with its Timestamp value replaced by "T" (the one thing that may differ from Go's).
std::string mask_time(const std::string& d) {
  static const std::regex ts("\"Timestamp\":\"[^\"]*\"");
  return std::regex_replace(d, ts, "\"Timestamp\":\"T\"");
}

// Sets TZ for the scope (glibc reads it again at tzset()).
class ScopedTz {
 public:
  explicit ScopedTz(const char* tz) {
    if (const char* old = std::getenv("TZ")) old_ = old;
    ::setenv("TZ", tz, 1);
    ::tzset();
  }
  ~ScopedTz() {
    if (old_) {
      ::setenv("TZ", old_->c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }

 private:
  std::optional<std::string> old_;
};

struct GoDatagram {
  const char* name;
  bool is_stderr;
  std::string hostname;
  std::map<std::string, std::string> labels;  // those of EXECUTOR_SEND_DOCKER_LABELS the container has
  std::string payload;
  std::string go;  // what the Go executor sends, its time being 2026-12-02T03:42:27Z
};

}  // namespace

// Go's datagrams as data. The Go executor formats each line with logrus's JSONFormatter as
// log_relay.go:27-47 configures it (FieldMap Timestamp/Level/Payload, the present labels and Hostname as
// fields) and sends entry.String() as one datagram (loghooks/udp.go Fire). The expected bytes below are
// that formatter's output (logrus 1.8/1.9 JSONFormatter, Go 1.19 encoding/json: the Go executor's go.mod
// names logrus v1.8.1 and go 1.12, its releases predate Go 1.22) for the same fields and an entry time
// of 2026-12-02T03:42:27Z; we give ours the same time, the one value allowed to differ.
TEST_CASE("Datagrams are byte for byte the Go executor's (time given)") {
  const std::vector<GoDatagram> cases = {
      // Go: log_relay.go:42-47,107; logrus json_formatter.go:93-96,123; encoding/json encode.go:805 (sorted keys),
      // stream.go:217 (newline)
      {"the issue's example",
       false,
       "h",
       {{"ServiceName", "web"}},
       std::string("hello-out", 9),
       "{\"Hostname\":\"h\",\"Level\":\"info\",\"Payload\":\"hello-out\",\"ServiceName\":\"web\",\"Timestamp"
       "\":\"2026-12-02T03:42:27Z\"}\n"},
      // Go: log_relay.go:110-111
      {"stderr saying error",
       true,
       "h",
       {{"ServiceName", "web"}},
       std::string("ERROR: failed thing", 19),
       "{\"Hostname\":\"h\",\"Level\":\"error\",\"Payload\":\"ERROR: failed thing\",\"ServiceName\":\"web\","
       "\"Timestamp\":\"2026-12-02T03:42:27Z\"}\n"},
      // Go: log_relay.go:112-113
      {"stderr without error",
       true,
       "h",
       {{"ServiceName", "web"}},
       std::string("warn: fine", 10),
       "{\"Hostname\":\"h\",\"Level\":\"info\",\"Payload\":\"warn: fine\",\"ServiceName\":\"web\",\"Timestam"
       "p\":\"2026-12-02T03:42:27Z\"}\n"},
      // Go: log_relay.go:110 (strings.ToLower)
      {"stderr, error in other case",
       true,
       "h",
       {{"ServiceName", "web"}},
       std::string("an Error happened", 17),
       "{\"Hostname\":\"h\",\"Level\":\"error\",\"Payload\":\"an Error happened\",\"ServiceName\":\"web\",\""
       "Timestamp\":\"2026-12-02T03:42:27Z\"}\n"},
      // Go: logrus json_formatter.go:119 (SetEscapeHTML(true)); encoding/json encode.go:1035
      {"HTML characters",
       false,
       "h",
       {{"ServiceName", "web"}},
       std::string("<script>alert(\"x\") && 'y'</script>", 34),
       "{\"Hostname\":\"h\",\"Level\":\"info\",\"Payload\":\"\\u003cscript\\u003ealert(\\\"x\\\") \\u0026\\u"
       "0026 'y'\\u003c/script\\u003e\",\"ServiceName\":\"web\",\"Timestamp\":\"2026-12-02T03:42:27Z\"}\n"},
      // Go: encoding/json encode.go:1042-1060 (before Go 1.22, \b and \f as \u0008, \u000c; DEL as is)
      {"control bytes",
       false,
       "h",
       {},
       std::string("\x08\x0c\x00\x01\x1f\x7f tab\t cr\r nl\n end", 23),
       "{\"Hostname\":\"h\",\"Level\":\"info\",\"Payload\":\"\\u0008\\u000c\\u0000\\u0001\\u001f\x7f tab\\t "
       "cr\\r nl\\n end\",\"Timestamp\":\"2026-12-02T03:42:27Z\"}\n"},
      // Go: encoding/json encode.go:1042-1045
      {"quotes, backslash, slash",
       false,
       "h",
       {},
       std::string("a\\b/c \"q\"", 9),
       "{\"Hostname\":\"h\",\"Level\":\"info\",\"Payload\":\"a\\\\b/c \\\"q\\\"\",\"Timestamp\":\"2026-12-02"
       "T03:42:27Z\"}\n"},
      // Go: encoding/json encode.go:1083-1091
      {"U+2028 and U+2029",
       false,
       "h",
       {},
       std::string("x\xe2\x80\xa8y\xe2\x80\xa9z", 9),
       "{\"Hostname\":\"h\",\"Level\":\"info\",\"Payload\":\"x\\u2028y\\u2029z\",\"Timestamp\":\"2026-12-02T"
       "03:42:27Z\"}\n"},
      // Go: encoding/json encode.go:1092 (i += size: copied as is)
      {"valid UTF-8 kept as is",
       false,
       "h",
       {},
       std::string("h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80 \xef\xbf\xbd \xef\xbf\xbe", 23),
       "{\"Hostname\":\"h\",\"Level\":\"info\",\"Payload\":\"h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80 \xef"
       "\xbf\xbd \xef\xbf\xbe\",\"Timestamp\":\"2026-12-02T03:42:27Z\"}\n"},
      // Go: encoding/json encode.go:1066-1073 (utf8.DecodeRuneInString gives size 1)
      {"invalid UTF-8: one \\ufffd per bad byte",
       false,
       "h",
       {},
       std::string("bad \xff\xfe | overlong \xc0\x80 | surrogate \xed\xa0\x80 | cut \xe2\x82x | big \xf4\x90\x80\x80 | "
                   "lone \x80",
                   66),
       "{\"Hostname\":\"h\",\"Level\":\"info\",\"Payload\":\"bad \\ufffd\\ufffd | overlong \\ufffd\\ufffd | "
       "surrogate \\ufffd\\ufffd\\ufffd | cut \\ufffd\\ufffdx | big \\ufffd\\ufffd\\ufffd\\ufffd | lone \\uf"
       "ffd\",\"Timestamp\":\"2026-12-02T03:42:27Z\"}\n"},
      // Go: log_relay.go:42-46
      {"requested labels the container lacks left out",
       false,
       "relay-host",
       {{"ServiceName", "web"}, {"Environment", "prod"}},
       std::string("line", 4),
       "{\"Environment\":\"prod\",\"Hostname\":\"relay-host\",\"Level\":\"info\",\"Payload\":\"line\",\"Serv"
       "iceName\":\"web\",\"Timestamp\":\"2026-12-02T03:42:27Z\"}\n"},
      // Go: log_relay.go:47 (Hostname set last); logrus formatter.go:42-66 (prefixFieldClashes)
      {"labels clashing with the fixed keys",
       false,
       "h",
       {{"Timestamp", "t1"},
        {"Payload", "p1"},
        {"Level", "l1"},
        {"Hostname", "evil"},
        {"logrus_error", "e1"},
        {"fields.Level", "fl"}},
       std::string("msg", 3),
       "{\"Hostname\":\"h\",\"Level\":\"info\",\"Payload\":\"msg\",\"Timestamp\":\"2026-12-02T03:42:27Z\",\""
       "fields.Level\":\"l1\",\"fields.Payload\":\"p1\",\"fields.Timestamp\":\"t1\",\"fields.logrus_error\":"
       "\"e1\"}\n"},
      // Go: encoding/json encode.go:805 (keys sorted as raw strings, then escaped)
      {"label names and values needing escapes, sorted bytewise",
       false,
       "h&h",
       {{"a<b", "v&1"},
        {"Zeta", "z\nz"},
        {"alpha", "\xe2\x80\xa8"},
        {"\xc3\x89moji", "\xf0\x9f\x98\x80"},
        {"q\"k", "\\"}},
       std::string("x", 1),
       "{\"Hostname\":\"h\\u0026h\",\"Level\":\"info\",\"Payload\":\"x\",\"Timestamp\":\"2026-12-02T03:42:27"
       "Z\",\"Zeta\":\"z\\nz\",\"a\\u003cb\":\"v\\u00261\",\"alpha\":\"\\u2028\",\"q\\\"k\":\"\\\\\",\"\xc3"
       "\x89moji\":\"\xf0\x9f\x98\x80\"}\n"},
      // Go: logrus json_formatter.go:93-96
      {"empty payload and hostname",
       false,
       "",
       {},
       std::string("", 0),
       "{\"Hostname\":\"\",\"Level\":\"info\",\"Payload\":\"\",\"Timestamp\":\"2026-12-02T03:42:27Z\"}\n"},
      // Go: log_relay.go:58
      {"the start marker",
       false,
       "h",
       {{"ServiceName", "web"}},
       logs::start_marker("0123456789abcdef0123456789abcdef"),
       "{\"Hostname\":\"h\",\"Level\":\"info\",\"Payload\":\"sidecar-executor starting log pump for '0123456"
       "789ab'\",\"ServiceName\":\"web\",\"Timestamp\":\"2026-12-02T03:42:27Z\"}\n"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    logs::RelayOptions o;
    o.hostname = c.hostname;
    o.labels = c.labels;
    const std::string got =
        logs::datagram("2026-12-02T03:42:27Z", logs::level_for(c.is_stderr, c.payload), c.payload, o);
    CHECK(got == c.go);
    // Always one JSON object that parses, then exactly one newline.
    CHECK_FALSE(nlohmann::json::parse(got, nullptr, false).is_discarded());
    CHECK(got.find('\n') == got.size() - 1);
  }
}

// Go: time/format.go RFC3339 = "2006-01-02T15:04:05Z07:00" (:111), "Z07:00" prints Z for a zero offset
// and otherwise the offset in minutes, truncated, as ±hh:mm (:149); logrus json_formatter.go:93 formats
// entry.Time = time.Now() (local). Go's outputs for 1796182947 (2026-12-02T03:42:27Z) in fixed zones:
TEST_CASE("Timestamps: whole-second RFC 3339 in the local zone, as Go formats them") {
  const std::time_t t = 1796182947;
  const std::vector<std::pair<const char*, const char*>> go = {
      {"UTC0", "2026-12-02T03:42:27Z"},                // Go: offset 0
      {"<+0530>-5:30", "2026-12-02T09:12:27+05:30"},   // Go: offset 19800
      {"<-03>3", "2026-12-02T00:42:27-03:00"},         // Go: offset -10800
      {"<+0045>-0:45", "2026-12-02T04:27:27+00:45"},   // Go: offset 2700
      {"<-0930>9:30", "2026-12-01T18:12:27-09:30"},    // Go: offset -34200 (the day before)
      {"<+00>-0:00:30", "2026-12-02T03:42:57+00:00"},  // Go: offset 30 s: not zero, so no Z
      {"<-00>0:00:30", "2026-12-02T03:41:57+00:00"},   // Go: offset -30 s: 0 minutes, sign +
  };
  for (const auto& [tz, want] : go) {
    INFO(tz);
    ScopedTz scoped(tz);
    CHECK(logs::rfc3339_local(t) == want);
  }
}

TEST_CASE("Lines: split across chunks, CRLF, many per chunk, a last line without newline") {
  CHECK(split({"a\nb", "c\n", "d\r\ne\n\n"}) == std::vector<std::string>{"a", "bc", "d", "e", ""});
  CHECK(split({"tail without newline"}) == std::vector<std::string>{"tail without newline"});
  // Go: bufio/scan.go:360, ScanLines drops the \r of a last line without newline too.
  CHECK(split({"last\r"}) == std::vector<std::string>{"last"});
  CHECK(split({"held"}, false).empty());
  CHECK(split({}).empty());
}

TEST_CASE("Lines up to Go's scanner limit come out whole; longer ones in kMaxLine pieces, in order") {
  // Go: bufio/scan.go:80 MaxScanTokenSize = 64 * 1024 (Go's pump stops at a longer line; we cut it).
  const std::string whole(logs::kMaxLine - 1, 'w');
  CHECK(split({whole.substr(0, 1000), whole.substr(1000) + "\n"}) == std::vector<std::string>{whole});
  const std::string big(logs::kMaxLine * 2 + 100, 'x');
  auto lines = split({big.substr(0, 5000), big.substr(5000), "\nnext\n"});
  REQUIRE(lines.size() == 4);
  CHECK(lines[0].size() == logs::kMaxLine);
  CHECK(lines[1].size() == logs::kMaxLine);
  CHECK(lines[2].size() == 100);
  CHECK(lines[0] + lines[1] + lines[2] == big);
  CHECK(lines[3] == "next");
}

TEST_CASE("Levels: stdout info; stderr error when it says error in any case") {
  CHECK(std::string(logs::level_for(false, "ERROR: boom")) == "info");
  CHECK(std::string(logs::level_for(true, "ERROR: boom")) == "error");
  CHECK(std::string(logs::level_for(true, "an Error happened")) == "error");
  CHECK(std::string(logs::level_for(true, "errors: 0")) == "error");
  CHECK(std::string(logs::level_for(true, "warning: err")) == "info");
}

TEST_CASE("escaped_prefix: whole characters that fit the budget once escaped, at least one") {
  CHECK(logs::escaped_prefix("abcdef", 4) == 4);
  CHECK(logs::escaped_prefix("<<<", 12) == 2);               // 6 bytes each
  CHECK(logs::escaped_prefix("\xc3\xa9\xc3\xa9", 3) == 2);   // é is 2 bytes, never cut
  CHECK(logs::escaped_prefix("\xff\xff", 6) == 1);           // \ufffd
  CHECK(logs::escaped_prefix("\xf0\x9f\x98\x80z", 1) == 4);  // too big alone: still taken
  CHECK(logs::escaped_prefix("", 10) == 0);
}

// Go: executor_utils.go:35 handleContainerLogs relays when `RelaySyslog || RelaySyslogStartupOnly`;
// log_relay.go:70-72 stops the pump after RelaySyslogStartupTime whenever RelaySyslogStartupOnly is set;
// main.go:63-65 defaults false, false, 1m.
TEST_CASE("EXECUTOR_RELAY_SYSLOG_STARTUP_ONLY alone turns the relay on, for the startup time") {
  struct Row {
    std::map<std::string, std::string> env;
    bool relays;
    std::chrono::milliseconds relay_for;
  };
  const std::vector<Row> go = {
      {{}, false, std::chrono::milliseconds(0)},
      {{{"EXECUTOR_RELAY_SYSLOG", "true"}}, true, std::chrono::milliseconds(0)},
      {{{"EXECUTOR_RELAY_SYSLOG_STARTUP_ONLY", "true"}}, true, std::chrono::minutes(1)},
      {{{"EXECUTOR_RELAY_SYSLOG_STARTUP_ONLY", "true"}, {"EXECUTOR_RELAY_SYSLOG_STARTUP_TIME", "5s"}},
       true,
       std::chrono::seconds(5)},
      {{{"EXECUTOR_RELAY_SYSLOG", "true"}, {"EXECUTOR_RELAY_SYSLOG_STARTUP_ONLY", "true"}},
       true,
       std::chrono::minutes(1)},
      {{{"EXECUTOR_RELAY_SYSLOG", "false"}, {"EXECUTOR_RELAY_SYSLOG_STARTUP_ONLY", "false"}},
       false,
       std::chrono::milliseconds(0)},
  };
  for (const auto& row : go) {
    auto s = settings::load_settings(util::map_env(row.env), "os-host");
    REQUIRE(s);
    const auto ro = app::runtime_options(*s, mesos::AgentEnv{}, settings::SitePolicy{});
    CHECK(ro.relay.has_value() == row.relays);
    if (ro.relay) {
      CHECK(ro.relay->hostname == "os-host");  // Go: main.go initConfig, LogHostname defaults to os.Hostname()
      CHECK(ro.relay_for == row.relay_for);
    }
  }
}

TEST_CASE("Relay: the start marker first, then one datagram per line, in order, Go's bytes") {
  UdpReceiver rx;
  logs::RelayOptions o;
  o.address = "127.0.0.1:" + std::to_string(rx.port());
  o.hostname = "h";
  o.labels = {{"ServiceName", "web"}};
  o.container_id = "0123456789abcdef0123456789abcdef";
  auto relay = logs::Relay::open(o);
  REQUIRE(relay);
  // Sent at open, before any output: Go logs it before it starts reading (log_relay.go:58).
  auto marker = rx.next();
  REQUIRE(marker);
  CHECK(mask_time(*marker) ==
        mask_time(logs::datagram("T", "info", "sidecar-executor starting log pump for '0123456789ab'", o)));
  (*relay)->feed(false, "one\ntw");
  (*relay)->feed(true, "ERROR: bad\n");
  (*relay)->feed(false, "o\n");
  (*relay)->feed(false, "last");
  (*relay)->flush();
  const std::vector<std::pair<const char*, const char*>> want = {
      {"info", "one"}, {"error", "ERROR: bad"}, {"info", "two"}, {"info", "last"}};
  static const std::regex whole_second(R"re("Timestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)")re");
  for (const auto& [level, payload] : want) {
    auto d = rx.next();
    REQUIRE(d);
    CHECK(mask_time(*d) == mask_time(logs::datagram("T", level, payload, o)));
    CHECK(std::regex_search(*d, whole_second));
  }
  CHECK((*relay)->sent() == 5);
  CHECK((*relay)->dropped() == 0);
}

TEST_CASE("Relay: a datagram too big for UDP goes in pieces that fit; a big one that fits goes whole") {
  UdpReceiver rx;
  logs::RelayOptions o;
  o.address = "127.0.0.1:" + std::to_string(rx.port());
  o.hostname = "h";
  auto relay = logs::Relay::open(o);
  REQUIRE(relay);
  // 60000 bytes: one datagram, as in Go (under the scanner's limit, and it fits).
  const std::string fits(60000, 'a');
  (*relay)->feed(false, fits + "\n");
  (*relay)->flush();
  auto d = rx.next();
  REQUIRE(d);
  CHECK(nlohmann::json::parse(*d)["Payload"] == fits);
  // 60000 '<' escape to 360000 bytes: Go's write fails (EMSGSIZE) and the line is lost; we cut it.
  const std::string huge = std::string(30000, '<') + std::string(30000, '\xc3') + "\xc3\xa9";
  (*relay)->feed(true, huge + "\n");
  (*relay)->flush();
  std::string joined;
  int pieces = 0;
  while (auto piece = rx.next(500ms)) {
    CHECK(piece->size() <= logs::kMaxDatagram);
    auto j = nlohmann::json::parse(*piece);
    CHECK(j["Level"] == "info");
    joined += j["Payload"].get<std::string>();
    ++pieces;
  }
  CHECK(pieces > 1);
  // Stray \xc3 bytes come back as U+FFFD each; the final é whole.
  std::string expected(30000, '<');
  for (int i = 0; i < 30000; ++i) expected += "\xef\xbf\xbd";
  expected += "\xc3\xa9";
  CHECK(joined == expected);
  CHECK((*relay)->dropped() == 0);
}

TEST_CASE("Relay: EXECUTOR_CONTAINER_LOGS_STDOUT prints the same bytes, one newline each") {
  int p[2];
  REQUIRE(::pipe(p) == 0);
  logs::RelayOptions o;
  o.address = "127.0.0.1:9";  // discard port: nobody need listen
  o.hostname = "h";
  o.copy_to_stdout = true;
  o.stdout_fd = p[1];
  auto relay = logs::Relay::open(o);
  REQUIRE(relay);
  (*relay)->feed(false, "a<b\nc\n");
  (*relay)->flush();
  ::close(p[1]);
  std::string got;
  char buf[4096];
  for (ssize_t n; (n = ::read(p[0], buf, sizeof buf)) > 0;) got.append(buf, static_cast<std::size_t>(n));
  ::close(p[0]);
  CHECK(mask_time(got) == mask_time(logs::datagram("T", "info", "a<b", o) + logs::datagram("T", "info", "c", o)));
}

TEST_CASE("Relay: none listening costs nothing; a bad address is an error") {
  logs::RelayOptions o;
  int closed_port = 0;
  {
    UdpReceiver gone;
    closed_port = gone.port();
  }
  o.address = "127.0.0.1:" + std::to_string(closed_port);
  auto lonely = logs::Relay::open(o);
  REQUIRE(lonely);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 10000; ++i) (*lonely)->feed(false, "line\n");
  (*lonely)->flush();
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
  CHECK((*lonely)->sent() + (*lonely)->dropped() == 10000);

  o.address = "no-port";
  CHECK_FALSE(logs::Relay::open(o));
}

TEST_CASE("The escaper agrees with a JSON library on valid UTF-8 and always yields valid JSON") {
  std::mt19937 rng(12345);
  auto random_text = [&](bool valid_only) {
    std::string s;
    const int n = static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) {
      switch (rng() % 7) {
        case 0: s += static_cast<char>(rng() % 0x20); break;              // control
        case 1: s += "\"\\/<>&"[rng() % 6]; break;                        // specials
        case 2: s += static_cast<char>(0x20 + rng() % 0x60); break;       // ASCII
        case 3: s += "\303\251"; break;                                   // é
        case 4: s += "\360\237\230\200"; break;                           // 😀
        case 5: s += rng() % 2 ? "\342\200\250" : "\342\200\251"; break;  // U+2028, U+2029
        default:
          if (!valid_only) s += static_cast<char>(0x80 + rng() % 0x80);  // stray byte
      }
    }
    return s;
  };
  for (int round = 0; round < 20000; ++round) {
    const bool valid_only = round % 2 == 0;
    const std::string text = random_text(valid_only);
    std::string ours = "\"";
    logs::append_json_escaped(ours, text);
    ours += "\"";
    auto parsed = nlohmann::json::parse(ours, nullptr, false);
    INFO(nlohmann::json(text).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace));
    REQUIRE_FALSE(parsed.is_discarded());
    if (valid_only) CHECK(parsed.get<std::string>() == text);
    // Nothing Go escapes is left as is.
    CHECK(ours.find_first_of("<>&") == std::string::npos);
    CHECK(ours.find("\342\200\250") == std::string::npos);
  }
}
