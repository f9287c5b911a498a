// HTTP/1.1 over a unix socket, against a canned server in the test.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "canned_server.h"
#include "docker/http_conn.h"

using namespace std::chrono_literals;
using testing_support::CannedServer;


TEST_CASE("Content-Length body, and the request as written") {
  CannedServer srv({"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n", "{\"Id\":\"abc\"}\n"});
  docker::HttpClient cli(srv.path());
  docker::HttpRequest req;
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
  CannedServer srv({"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", "lo\r\n", "6\r\n world\r", "\n0\r\n\r\n"},
                   5ms);
  docker::HttpClient cli(srv.path());
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
  docker::HttpClient cli(srv.path());
  auto r = cli.send({"GET", "/containers/nope/json", {}, "", 2000ms});
  REQUIRE(r.ok());
  CHECK(r->status == 404);
  CHECK_THAT(r->body, Catch::Contains("No such container"));
}

TEST_CASE("204 has no body; a body up to EOF is read when there is no length") {
  CannedServer a({"HTTP/1.1 204 No Content\r\n\r\n"});
  auto r = docker::HttpClient(a.path()).send({"POST", "/containers/x/start", {}, "", 2000ms});
  REQUIRE(r.ok());
  CHECK(r->status == 204);
  CannedServer b({"HTTP/1.0 200 OK\r\n\r\nraw ", "stream"});
  auto r2 = docker::HttpClient(b.path()).send({"GET", "/logs", {}, "", 2000ms});
  REQUIRE(r2.ok());
  CHECK(r2->body == "raw stream");
}

TEST_CASE("Broken responses are errors naming the call") {
  SECTION("closed mid-chunk") {
    CannedServer s({"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nA\r\nabc"});
    auto r = docker::HttpClient(s.path()).send({"GET", "/a", {}, "", 2000ms});
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("GET /a"));
  }
  SECTION("not HTTP") {
    CannedServer s({"SSH-2.0-OpenSSH\r\n"});
    auto r = docker::HttpClient(s.path()).send({"GET", "/b", {}, "", 2000ms});
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("not an HTTP response"));
  }
  SECTION("silent daemon") {
    CannedServer s({"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"}, 1000ms);
    auto r = docker::HttpClient(s.path()).send({"POST", "/wait", {}, "", 200ms});
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("no data for 200 ms"));
  }
  SECTION("nothing listening") {
    auto r = docker::HttpClient("/tmp/sidecar-executor-no-such.sock").send({"GET", "/_ping", {}, "", 200ms});
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("connect to /tmp/sidecar-executor-no-such.sock"));
  }
}
