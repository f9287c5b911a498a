// HTTP/1.1 over a unix socket, against a canned server in the test; request checks; the response
// parser fed bytes directly.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <map>
#include <string>
#include <thread>

#include "canned_server.h"
#include "net/http_conn.h"
#include "util/http_safe.h"

using namespace std::chrono_literals;
using testing_support::CannedServer;

TEST_CASE("Content-Length body, and the request as written") {
  CannedServer srv(
      {"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n", "{\"Id\":\"abc\"}\n"});
  net::HttpClient cli(srv.path());
  net::HttpRequest req;
  req.method = "POST";
  req.path = "/v1.41/containers/create?name=mesos-x";
  req.headers["Content-Type"] = "application/json";
  req.body = "{\"Image\":\"i\"}";
  auto r = cli.send(req);
  REQUIRE(r.ok());
  CHECK(r->status == 201);
  CHECK(r->headers["content-type"] == "application/json");
  CHECK(r->body == "{\"Id\":\"abc\"}\n");
  const std::string head = srv.request();
  CHECK(head.rfind("POST /v1.41/containers/create?name=mesos-x HTTP/1.1\r\n", 0) == 0);
  CHECK_THAT(head, Catch::Contains("Content-Length: 13\r\n"));
  CHECK_THAT(head, Catch::Contains("Content-Type: application/json\r\n"));
}

TEST_CASE("Chunked body split across writes is de-chunked and streamed") {
  CannedServer srv(
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", "lo\r\n", "6\r\n world\r", "\n0\r\n\r\n"}, 5ms);
  net::HttpClient cli(srv.path());
  std::vector<std::string> pieces;
  auto r = cli.stream({"GET", "/x", {}, "", 2000ms}, [&](std::string_view p) {
    pieces.emplace_back(p);
    return true;
  });
  REQUIRE(r.ok());
  std::string all;
  for (const auto& p : pieces) all += p;
  CHECK(all == "hello world");
  CHECK(pieces.size() >= 2);
}

TEST_CASE("An error status keeps the daemon's message") {
  CannedServer srv({"HTTP/1.1 404 Not Found\r\nContent-Length: 37\r\n\r\n{\"message\":\"No such container: nope\"}"});
  net::HttpClient cli(srv.path());
  auto r = cli.send({"GET", "/containers/nope/json", {}, "", 2000ms});
  REQUIRE(r.ok());
  CHECK(r->status == 404);
  CHECK_THAT(r->body, Catch::Contains("No such container"));
}

TEST_CASE("204 has no body; a body up to EOF is read when there is no length") {
  CannedServer a({"HTTP/1.1 204 No Content\r\n\r\n"});
  auto r = net::HttpClient(a.path()).send({"POST", "/containers/x/start", {}, "", 2000ms});
  REQUIRE(r.ok());
  CHECK(r->status == 204);
  CannedServer b({"HTTP/1.0 200 OK\r\n\r\nraw ", "stream"});
  auto r2 = net::HttpClient(b.path()).send({"GET", "/logs", {}, "", 2000ms});
  REQUIRE(r2.ok());
  CHECK(r2->body == "raw stream");
}

TEST_CASE("Broken responses are errors naming the call") {
  SECTION("closed mid-chunk") {
    CannedServer s({"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nA\r\nabc"});
    auto r = net::HttpClient(s.path()).send({"GET", "/a", {}, "", 2000ms});
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("GET /a"));
  }
  SECTION("not HTTP") {
    CannedServer s({"SSH-2.0-OpenSSH\r\n"});
    auto r = net::HttpClient(s.path()).send({"GET", "/b", {}, "", 2000ms});
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("not an HTTP response"));
  }
  SECTION("silent daemon") {
    CannedServer s({"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"}, 1000ms);
    auto r = net::HttpClient(s.path()).send({"POST", "/wait", {}, "", 200ms});
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("no data for 200 ms"));
  }
  SECTION("nothing listening") {
    auto r = net::HttpClient("/tmp/sidecar-executor-no-such.sock").send({"GET", "/_ping", {}, "", 200ms});
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("connect to /tmp/sidecar-executor-no-such.sock"));
  }
}

// ---- Requests are checked before anything is written ----

namespace {

// A socket path nothing listens on: an error that says "connect to" means the request got that far.
const char* kNowhere = "/tmp/sidecar-executor-http-nowhere.sock";

util::Result<net::HttpResponse> send_nowhere(const net::HttpRequest& req) {
  return net::HttpClient(kNowhere).send(req);
}

}  // namespace

TEST_CASE("CR, LF and other control characters in the method, path or headers: refused before connecting") {
  SECTION("path with CR LF (a smuggled second request)") {
    auto r =
        send_nowhere({"GET", "/images/busybox\r\n\r\nPOST /containers/create HTTP/1.1\r\n\r\n/json", {}, "", 500ms});
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("request path"));
    CHECK_THAT(r.error().message, Catch::Contains("control character"));
    CHECK_THAT(r.error().message, Catch::Contains("busybox\\x0d\\x0a"));
    CHECK_THAT(r.error().message, !Catch::Contains("connect to"));
    CHECK_FALSE(util::has_control_chars(r.error().message));
  }
  SECTION("path with NUL, tab, DEL") {
    for (const std::string& path : {std::string("/a\0b", 4), std::string("/a\tb"), std::string("/a\x7f")}) {
      auto r = send_nowhere({"GET", path, {}, "", 500ms});
      REQUIRE_FALSE(r);
      CHECK_THAT(r.error().message, Catch::Contains("control character"));
      CHECK_THAT(r.error().message, !Catch::Contains("connect to"));
    }
  }
  SECTION("path with a space, a non-ASCII byte, or not starting with '/'") {
    for (const std::string path : {"/a b", "/caf\xc3\xa9", "images/x", ""}) {
      INFO(path);
      auto r = send_nowhere({"GET", path, {}, "", 500ms});
      REQUIRE_FALSE(r);
      CHECK_THAT(r.error().message, Catch::Contains("request refused"));
      CHECK_THAT(r.error().message, !Catch::Contains("connect to"));
    }
  }
  SECTION("method with CR LF or a space") {
    auto r = send_nowhere({"GET /x HTTP/1.1\r\nX:", "/y", {}, "", 500ms});
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("request method"));
    CHECK_THAT(r.error().message, !Catch::Contains("connect to"));
    auto sp = send_nowhere({"GET /x", "/y", {}, "", 500ms});
    REQUIRE_FALSE(sp);
    CHECK_THAT(sp.error().message, Catch::Contains("not an HTTP token"));
    auto empty = send_nowhere({"", "/y", {}, "", 500ms});
    REQUIRE_FALSE(empty);
    CHECK_THAT(empty.error().message, Catch::Contains("not an HTTP token"));
  }
  SECTION("header name with CR LF, ':' or a space") {
    for (const std::string name : {"X-A\r\nX-B", "X-A:", "X A"}) {
      net::HttpRequest req{"GET", "/x", {{name, "v"}}, "", 500ms};
      auto r = send_nowhere(req);
      REQUIRE_FALSE(r);
      CHECK_THAT(r.error().message, Catch::Contains("header name"));
      CHECK_THAT(r.error().message, !Catch::Contains("connect to"));
    }
  }
  SECTION("header value with CR LF: refused, and the value (maybe a credential) is not repeated") {
    net::HttpRequest req{
        "POST", "/images/create", {{"X-Registry-Auth", "c2VjcmV0LXBhc3N3b3Jk\r\nX-Evil: 1"}}, "", 500ms};
    auto r = send_nowhere(req);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("header X-Registry-Auth holds a control character"));
    CHECK_THAT(r.error().message, !Catch::Contains("c2VjcmV0"));
    CHECK_THAT(r.error().message, !Catch::Contains("X-Evil"));
    CHECK_THAT(r.error().message, !Catch::Contains("connect to"));
  }
  SECTION("framing headers the client writes itself") {
    for (const std::string name : {"Content-Length", "transfer-encoding", "Host", "Connection"}) {
      net::HttpRequest req{"POST", "/x", {{name, "5"}}, "", 500ms};
      auto r = send_nowhere(req);
      REQUIRE_FALSE(r);
      CHECK_THAT(r.error().message, Catch::Contains("written by the HTTP client itself"));
    }
  }
  SECTION("a clean request does get as far as connecting") {
    auto r = send_nowhere({"GET", "/images/busybox/json", {{"X-Registry-Auth", "abc"}}, "", 500ms});
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("connect to"));
  }
}

// ---- The response parser, fed bytes directly ----

namespace {

struct Parsed {
  bool ok = false;
  std::string error;
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;
  bool done = false;
};

// Feeds `wire` in pieces of `step` bytes (0: all at once), then EOF when `eof`.
Parsed parse(const std::string& wire, std::size_t step = 0, bool eof = true) {
  net::ResponseParser p;
  Parsed out;
  const auto sink = [&](std::string_view piece) {
    out.body.append(piece);
    return true;
  };
  std::string_view rest = wire;
  while (!rest.empty()) {
    const std::size_t n = step == 0 ? rest.size() : std::min(step, rest.size());
    auto r = p.feed(rest.substr(0, n), sink);
    rest.remove_prefix(n);
    if (!r) {
      out.error = r.error().message;
      return out;
    }
  }
  if (eof && !p.done()) {
    if (auto r = p.finish(); !r) {
      out.error = r.error().message;
      return out;
    }
  }
  out.ok = true;
  out.done = p.done();
  out.status = p.response().status;
  out.headers = p.response().headers;
  return out;
}

std::string error_of(const std::string& wire) {
  auto p = parse(wire);
  INFO(util::escape_control_chars(wire.substr(0, 200)));
  CHECK_FALSE(p.ok);
  return p.error;
}

}  // namespace

TEST_CASE("Parser: the same answer whatever way the bytes are split") {
  const std::string wire =
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nX-A: 1\r\nx-a: 2\r\n\r\n"
      "5;name=value\r\nhello\r\n1 \r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n";
  for (std::size_t step : {0, 1, 2, 3, 7, 64}) {
    INFO("step " << step);
    auto p = parse(wire, step, false);
    REQUIRE(p.ok);
    CHECK(p.done);
    CHECK(p.status == 200);
    CHECK(p.body == "hello 0123456789");
    CHECK(p.headers["x-a"] == "1, 2");
  }
}

TEST_CASE("Parser: framing by Content-Length, to EOF, none for 204/304; Transfer-Encoding wins over Content-Length") {
  auto cl = parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcEXTRA", 0, false);
  REQUIRE(cl.ok);
  CHECK(cl.done);
  CHECK(cl.body == "abc");
  auto eof = parse("HTTP/1.0 200 OK\r\n\r\nall of it", 4);
  REQUIRE(eof.ok);
  CHECK(eof.body == "all of it");
  auto nc = parse("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", 0, false);
  REQUIRE(nc.ok);
  CHECK(nc.done);
  CHECK(nc.body.empty());
  auto both = parse("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
                    0, false);
  REQUIRE(both.ok);
  CHECK(both.done);
  CHECK(both.body == "ok");
  // Chunked not last: the body runs to EOF, raw.
  auto raw = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n2\r\nok");
  REQUIRE(raw.ok);
  CHECK(raw.body == "2\r\nok");
  auto same = parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok");
  REQUIRE(same.ok);
  CHECK(same.body == "ok");
  auto bare = parse("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", 0, false);
  REQUIRE(bare.ok);
  CHECK(bare.done);
  CHECK(bare.status == 200);
}

TEST_CASE("Parser: header count and header size are bounded") {
  std::string hundred = "HTTP/1.1 200 OK\r\n";
  for (int i = 0; i < 100; ++i) hundred += "X-H" + std::to_string(i) + ": v\r\n";
  auto ok = parse(hundred + "Content-Length: 0\r\n\r\n");
  CHECK_FALSE(ok.ok);  // 101 header lines
  CHECK_THAT(ok.error, Catch::Contains("more than 100 header lines"));
  auto exactly = parse(hundred + "\r\n");
  CHECK(exactly.ok);

  const std::string big = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(70000, 'a') + "\r\n\r\n";
  CHECK_THAT(error_of(big), Catch::Contains("response header larger than 65536 bytes"));
  // No line end at all: refused once the limit is passed, not buffered forever.
  net::ResponseParser p;
  auto r = p.feed("HTTP/1.1 200 OK\r\nX: ", nullptr);
  REQUIRE(r);
  const std::string chunk(4096, 'b');
  bool refused = false;
  for (int i = 0; i < 100 && !refused; ++i) refused = !p.feed(chunk, nullptr);
  CHECK(refused);
  // An endless run of interim answers counts towards the same limit.
  std::string interim;
  for (int i = 0; i < 4000; ++i) interim += "HTTP/1.1 100 Continue\r\n\r\n";
  CHECK_THAT(error_of(interim), Catch::Contains("response header larger than"));
  std::string trailer = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n";
  for (int i = 0; i < 101; ++i) trailer += "T: v\r\n";
  CHECK_THAT(error_of(trailer + "\r\n"), Catch::Contains("more than 100 header lines in the chunked trailer"));
}

TEST_CASE("Parser: chunk sizes are hex, bounded, and never throw") {
  const std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  CHECK_THAT(error_of(head + "FFFFFFFFFFFFFFFFFFFFFFFF\r\n"), Catch::Contains("over the limit"));
  CHECK_THAT(error_of(head + "10000000001\r\n"), Catch::Contains("over the limit"));
  CHECK_THAT(error_of(head + "zz\r\n"), Catch::Contains("bad chunk size \"zz\""));
  CHECK_THAT(error_of(head + "-1\r\n"), Catch::Contains("bad chunk size"));
  CHECK_THAT(error_of(head + "0x5\r\n"), Catch::Contains("bad chunk size"));
  CHECK_THAT(error_of(head + "\r\n"), Catch::Contains("bad chunk size"));
  CHECK_THAT(error_of(head + "5\x01\r\n"), Catch::Contains("bad chunk size"));
  CHECK_THAT(error_of(head + std::string(5000, '0') + "1\r\n"), Catch::Contains("chunk size line longer than 4096"));
  CHECK_THAT(error_of(head + "3\r\nabcXY0\r\n\r\n"), Catch::Contains("chunk data not followed by CRLF"));
  CHECK_THAT(error_of(head + "3\r\nabc"), Catch::Contains("in the middle of a chunk"));
  auto big_ok = parse(head + "000000000000000000000000003\r\nabc\r\n0\r\n\r\n");
  REQUIRE(big_ok.ok);
  CHECK(big_ok.body == "abc");
  // The last chunk arrived: a cut trailer does not lose the body.
  auto cut = parse(head + "2\r\nhi\r\n0\r\n");
  REQUIRE(cut.ok);
  CHECK(cut.body == "hi");
}

TEST_CASE("Parser: Content-Length is digits, bounded, and one value") {
  for (const char* bad : {"abc", "-1", "+5", "1 2", "0x10", "5,5", ""}) {
    INFO(bad);
    CHECK_THAT(error_of(std::string("HTTP/1.1 200 OK\r\nContent-Length: ") + bad + "\r\n\r\n"),
               Catch::Contains("Content-Length"));
  }
  CHECK_THAT(error_of("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999999\r\n\r\n"),
             Catch::Contains("over the limit"));
  CHECK_THAT(error_of("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc"),
             Catch::Contains("conflicting Content-Length"));
  CHECK_THAT(error_of("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"),
             Catch::Contains("connection closed 7 bytes before the end of the body"));
}

TEST_CASE("Parser: status line and header lines are checked") {
  for (const char* bad :
       {"HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n", "HTTP/2 200 OK\r\n\r\n", "HTTP/1.1  200 OK\r\n\r\n",
        "HTTP/1.x 200 OK\r\n\r\n", "http/1.1 200 OK\r\n\r\n", "SSH-2.0-OpenSSH_9.2\r\n"}) {
    INFO(bad);
    CHECK_THAT(error_of(bad), Catch::Contains("not an HTTP response"));
  }
  CHECK_THAT(error_of("HTTP/1.1 099 Odd\r\n\r\n"), Catch::Contains("out of range"));
  CHECK_THAT(error_of("HTTP/1.1 600 Odd\r\n\r\n"), Catch::Contains("out of range"));
  CHECK_THAT(error_of(std::string("HTTP/1.1 200 O\0K\r\n\r\n", 20)), Catch::Contains("control character"));
  CHECK_THAT(error_of("HTTP/1.1 101 Switching Protocols\r\n\r\n"), Catch::Contains("101"));
  CHECK_THAT(error_of("HTTP/1.1 200 OK\nContent-Length: 0\n\n"), Catch::Contains("not ended by CRLF"));
  CHECK_THAT(error_of("HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n"), Catch::Contains("folded header line"));
  CHECK_THAT(error_of("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n"), Catch::Contains("without ':'"));
  CHECK_THAT(error_of("HTTP/1.1 200 OK\r\nBad Name: v\r\n\r\n"), Catch::Contains("malformed header name"));
  CHECK_THAT(error_of("HTTP/1.1 200 OK\r\n: v\r\n\r\n"), Catch::Contains("malformed header name"));
  CHECK_THAT(error_of(std::string("HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n", 27)), Catch::Contains("control character"));
  CHECK_THAT(error_of("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n"), Catch::Contains("control character"));
  CHECK_THAT(error_of("HTTP/1.1 200 OK\r\nX: 1\r\n"), Catch::Contains("in the middle of the response header"));
  CHECK_THAT(error_of(""), Catch::Contains("before any response"));
  // A peer that does not speak HTTP is refused from its first bytes.
  net::ResponseParser p;
  auto r = p.feed("SSH-2.0", nullptr);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message, Catch::Contains("not an HTTP response"));
  // Once failed, it stays failed.
  CHECK_FALSE(p.feed("HTTP/1.1 200 OK\r\n", nullptr));
  CHECK_FALSE(p.finish());
}

TEST_CASE("Parser: a sink that says stop ends the message") {
  net::ResponseParser p;
  int calls = 0;
  auto r = p.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n1\r\nb\r\n", [&](std::string_view) {
    ++calls;
    return false;
  });
  REQUIRE(r);
  CHECK(calls == 1);
  CHECK(p.done());
  CHECK(p.stopped());
}

TEST_CASE("The client reports a parser refusal with the call") {
  std::string head = "HTTP/1.1 200 OK\r\n";
  for (int i = 0; i < 150; ++i) head += "X-H: v\r\n";
  CannedServer srv({head + "\r\n"});
  auto r = net::HttpClient(srv.path()).send({"GET", "/many", {}, "", 2000ms});
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message, Catch::Contains("GET /many: more than 100 header lines"));
}

TEST_CASE(
    "A total deadline ends a call the peer keeps alive piece by piece; exchange() leaves the naming to the caller") {
  std::signal(SIGPIPE, SIG_IGN);  // the server writes on after the client has hung up
  CannedServer srv({"HTTP/1.1 200 OK\r\n", "Content-Length: 4\r\n", "\r\n", "a", "b", "c", "d"}, 150ms);
  net::HttpClient cli(srv.path());
  net::HttpRequest req{"GET", "/slow", {}, "", 2000ms};  // no silence ever lasts 2 s
  req.total = 400ms;
  const auto t0 = std::chrono::steady_clock::now();
  auto r = cli.exchange(req, [](std::string_view) { return true; });
  const auto took = std::chrono::steady_clock::now() - t0;
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "no complete answer within 400 ms");
  CHECK(took >= 350ms);
  CHECK(took < 1000ms);
}

TEST_CASE("idle_every: on_idle is also called while the peer is silent; without it only around receives") {
  const auto count_idles = [](std::chrono::milliseconds every, std::function<bool()> only_while = nullptr) {
    CannedServer srv({"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", "0\r\n\r\n"}, 400ms);
    net::HttpClient cli(srv.path());
    int idles = 0;
    net::HttpRequest req{"GET", "/logs", {}, "", 2000ms};
    req.on_idle = [&] { ++idles; };
    req.idle_every = every;
    req.idle_every_while = std::move(only_while);
    std::string body;
    auto r = cli.stream(req, [&](std::string_view p) {
      body.append(p);
      return true;
    });
    REQUIRE(r.ok());
    CHECK(body == "hello");
    return idles;
  };
  const int ticking = count_idles(50ms);
  const int plain = count_idles(0ms);
  const int switched_off = count_idles(50ms, [] { return false; });
  INFO("with idle_every 50 ms: " << ticking << ", without: " << plain << ", switched off: " << switched_off);
  CHECK(ticking >= plain + 5);  // 400 ms of silence
  CHECK(plain <= 4);
  CHECK(switched_off == plain);
}
