// The syslog relay's parts: line splitting, levels, datagram JSON for any bytes, and real UDP
// datagrams to a receiver on 127.0.0.1 (and none listening: no error, no wait).
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <random>

#include "logs/relay.h"

namespace {

std::vector<std::string> split(const std::vector<std::string>& chunks, bool flush = true) {
  std::vector<std::string> lines;
  logs::LineSplitter s([&](std::string_view l) { lines.emplace_back(l); });
  for (const auto& c : chunks) s.feed(c);
  if (flush) s.flush();
  return lines;
}

struct Receiver {
  int fd = -1;
  int port = 0;
  Receiver() {
    fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~Receiver() { ::close(fd); }
  std::optional<std::string> next(int timeout_ms = 2000) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) != 1) return std::nullopt;
    std::string buf(70000, '\0');
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n < 0) return std::nullopt;
    buf.resize(static_cast<std::size_t>(n));
    return buf;
  }
};

}  // namespace

TEST_CASE("Lines: split across chunks, CRLF, many per chunk, a last line without newline") {
  CHECK(split({"a\nb", "c\n", "d\r\ne\n\n"}) == std::vector<std::string>{"a", "bc", "d", "e", ""});
  CHECK(split({"tail without newline"}) == std::vector<std::string>{"tail without newline"});
  CHECK(split({"held"}, false).empty());
  CHECK(split({}).empty());
}

TEST_CASE("Long lines are cut into kMaxPayload pieces, in order, nothing lost") {
  const std::string big(logs::kMaxPayload * 2 + 100, 'x');
  auto lines = split({big.substr(0, 5000), big.substr(5000), "\nnext\n"});
  REQUIRE(lines.size() == 4);
  CHECK(lines[0].size() == logs::kMaxPayload);
  CHECK(lines[1].size() == logs::kMaxPayload);
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

TEST_CASE("Datagrams are valid JSON for any bytes, with the label fields") {
  logs::RelayOptions o;
  o.hostname = "host-1";
  o.labels = {{"ServiceName", "web"}, {"Environment", "prod"}};
  const std::string payload = std::string("quote \" backslash \\ tab \t nul ") + std::string(1, '\0') +
                              " utf8 h\303\251 bad \xff\xfe end";
  const std::string d = logs::datagram("2026-11-25T10:00:00.000000Z", "error", payload, o);
  auto j = nlohmann::json::parse(d);
  CHECK(j["Timestamp"] == "2026-11-25T10:00:00.000000Z");
  CHECK(j["Level"] == "error");
  CHECK(j["Hostname"] == "host-1");
  CHECK(j["ServiceName"] == "web");
  CHECK(j["Environment"] == "prod");
  const std::string got = j["Payload"];
  CHECK(got.find("quote \" backslash \\ tab \t nul ") == 0);
  CHECK(got.find("h\303\251") != std::string::npos);
  CHECK(got.find("\357\277\275\357\277\275 end") != std::string::npos);  // U+FFFD for each bad byte
  // The worst case fits a UDP datagram.
  const std::string worst(logs::kMaxPayload, '\x01');
  CHECK(logs::datagram("t", "info", worst, o).size() < 65507);
}

TEST_CASE("Relay: one datagram per line to the receiver, in order; none listening costs nothing") {
  Receiver rx;
  logs::RelayOptions o;
  o.address = "127.0.0.1:" + std::to_string(rx.port);
  o.hostname = "h";
  auto relay = logs::Relay::open(o);
  REQUIRE(relay);
  (*relay)->feed(false, "one\ntw");
  (*relay)->feed(true, "ERROR: bad\n");
  (*relay)->feed(false, "o\n");
  (*relay)->feed(false, "last");
  (*relay)->flush();
  std::vector<std::pair<std::string, std::string>> got;
  for (int i = 0; i < 4; ++i) {
    auto d = rx.next();
    REQUIRE(d);
    auto j = nlohmann::json::parse(*d);
    got.emplace_back(j["Payload"], j["Level"]);
  }
  CHECK(got == std::vector<std::pair<std::string, std::string>>{
                   {"one", "info"}, {"ERROR: bad", "error"}, {"two", "info"}, {"last", "info"}});
  CHECK((*relay)->sent() == 4);

  // Nobody on the port: sends still return at once.
  int closed_port = 0;
  {
    Receiver gone;
    closed_port = gone.port;
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
      switch (rng() % 6) {
        case 0: s += static_cast<char>(rng() % 0x20); break;                 // control
        case 1: s += "\"\\/"[rng() % 3]; break;                               // specials
        case 2: s += static_cast<char>(0x20 + rng() % 0x5F); break;           // ASCII
        case 3: s += "\303\251"; break;                                       // é
        case 4: s += "\360\237\230\200"; break;                               // 😀
        default:
          if (!valid_only) s += static_cast<char>(0x80 + rng() % 0x80);     // stray byte
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
  }
}
