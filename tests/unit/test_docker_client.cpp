// The Docker client against canned daemon answers: paths with the negotiated version, errors that
// carry endpoint, status and the daemon's message, a pull error inside a 200 stream, wait, inspect;
// DOCKER_HOST parsing; credential helpers; the helper-program runner; path escaping and the refusal
// of ids and image names that could leave their route.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <sys/stat.h>

#include <fstream>

#include "canned_server.h"
#include "docker/client.h"
#include "docker/credentials.h"
#include "util/base64.h"
#include "util/http_safe.h"
#include "util/subprocess.h"

using namespace std::chrono_literals;
using testing_support::CannedServer;

namespace {

std::string json_answer(int status, const std::string& reason, const std::string& body) {
  return fmt::format("HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}", status, reason,
                     body.size(), body);
}

std::string chunk(const std::string& data) { return fmt::format("{:x}\r\n{}\r\n", data.size(), data); }

std::string first_line(const std::string& request) { return request.substr(0, request.find("\r\n")); }

}  // namespace

TEST_CASE("DOCKER_HOST: unix default, unix path, tcp, tcp with TLS files; bad values are errors") {
  auto e = docker::endpoint_from_env(util::map_env({}));
  REQUIRE(e);
  CHECK(e->unix_path == "/var/run/docker.sock");
  e = docker::endpoint_from_env(util::map_env({{"DOCKER_HOST", "unix:///run/d.sock"}}));
  REQUIRE(e);
  CHECK(e->unix_path == "/run/d.sock");
  e = docker::endpoint_from_env(util::map_env({{"DOCKER_HOST", "tcp://10.0.0.1:2375"}}));
  REQUIRE(e);
  CHECK(e->host == "10.0.0.1");
  CHECK(e->port == 2375);
  CHECK_FALSE(e->tls);
  e = docker::endpoint_from_env(util::map_env(
      {{"DOCKER_HOST", "tcp://docker.example.com"}, {"DOCKER_TLS_VERIFY", "1"}, {"DOCKER_CERT_PATH", "/etc/dc"}}));
  REQUIRE(e);
  CHECK(e->port == 2376);
  CHECK(e->tls);
  CHECK(e->ca_file == "/etc/dc/ca.pem");
  CHECK(e->cert_file == "/etc/dc/cert.pem");
  CHECK(e->key_file == "/etc/dc/key.pem");
  e = docker::endpoint_from_env(util::map_env({{"DOCKER_HOST", "tcp://[::1]:2375"}}));
  REQUIRE(e);
  CHECK(e->host == "::1");
  e = docker::endpoint_from_env(
      util::map_env({{"DOCKER_HOST", "tcp://h"}, {"DOCKER_TLS_VERIFY", "1"}, {"HOME", "/home/u"}}));
  REQUIRE(e);
  CHECK(e->ca_file == "/home/u/.docker/ca.pem");
  for (const char* bad : {"ssh://host", "tcp://h:0", "tcp://h:99999", "tcp://h:x", "unix://", "tcp://:2375"}) {
    INFO(bad);
    CHECK_FALSE(docker::endpoint_from_env(util::map_env({{"DOCKER_HOST", bad}})));
  }
}

TEST_CASE("API versions compare by number; URL escaping") {
  CHECK(docker::compare_api_versions("1.41", "1.9") > 0);
  CHECK(docker::compare_api_versions("1.24", "1.24") == 0);
  CHECK(docker::compare_api_versions("1.24", "1.30") < 0);
  CHECK(docker::url_escape("127.0.0.1:5000/a/b") == "127.0.0.1%3A5000%2Fa%2Fb");
  CHECK(docker::url_escape("sha256:ab") == "sha256%3Aab");
}

TEST_CASE("Negotiation takes the lower version and prefixes later paths") {
  CannedServer ping({"HTTP/1.1 200 OK\r\nApi-Version: 1.43\r\nContent-Length: 2\r\n\r\nOK"});
  docker::Client c(docker::Endpoint::unix_socket(ping.path()), 2000ms);
  auto v = c.negotiate();
  REQUIRE(v);
  CHECK(*v == "1.41");
  CHECK(first_line(ping.request()) == "GET /_ping HTTP/1.1");

  CannedServer old({"HTTP/1.1 200 OK\r\nApi-Version: 1.12\r\nContent-Length: 2\r\n\r\nOK"});
  docker::Client c2(docker::Endpoint::unix_socket(old.path()), 2000ms);
  auto v2 = c2.negotiate();
  REQUIRE_FALSE(v2);
  CHECK_THAT(v2.error().message, Catch::Contains("1.12"));
}

TEST_CASE("Errors carry the endpoint, the status and the daemon's message") {
  CannedServer srv(
      {json_answer(409, "Conflict", R"({"message":"Conflict. The container name \"/mesos-x\" is already in use"})")});
  docker::Client c(docker::Endpoint::unix_socket(srv.path()), 2000ms);
  auto id = c.create("mesos-x", {{"Image", "bb"}});
  REQUIRE_FALSE(id);
  CHECK(id.error().is_status(409));
  CHECK_THAT(id.error().message, Catch::Contains("POST /containers/create?name=mesos-x"));
  CHECK_THAT(id.error().message, Catch::Contains("HTTP 409"));
  CHECK_THAT(id.error().message, Catch::Contains("already in use"));

  docker::Client gone(docker::Endpoint::unix_socket("/tmp/sidecar-executor-none.sock"), 500ms);
  auto st = gone.inspect("abc");
  REQUIRE_FALSE(st);
  CHECK(st.error().kind == util::ErrorKind::Unreachable);
  CHECK(st.error().status == 0);
  CHECK_THAT(st.error().message, Catch::Contains("unix:///tmp/sidecar-executor-none.sock"));
}

TEST_CASE("Create sends the body and returns the id and warnings") {
  CannedServer srv({json_answer(201, "Created", R"({"Id":"0123456789abcdef","Warnings":["low memory"]})")});
  docker::Client c(docker::Endpoint::unix_socket(srv.path()), 2000ms);
  std::vector<std::string> warnings;
  auto id = c.create("mesos-y", {{"Image", "bb"}, {"Env", {"A=1"}}}, &warnings);
  REQUIRE(id);
  CHECK(*id == "0123456789abcdef");
  CHECK(warnings == std::vector<std::string>{"low memory"});
  const std::string req = srv.request();
  CHECK(first_line(req) == "POST /containers/create?name=mesos-y HTTP/1.1");
  CHECK_THAT(req, Catch::Contains("Content-Type: application/json"));
  CHECK_THAT(req, Catch::EndsWith(R"({"Env":["A=1"],"Image":"bb"})"));
}

TEST_CASE("A pull error inside a 200 progress stream is a failure; a clean stream is a success") {
  SECTION("error object in the stream") {
    CannedServer srv({"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
                      chunk("{\"status\":\"Pulling from team/app\",\"id\":\"1\"}\n"),
                      chunk("{\"errorDetail\":{\"message\":\"manifest for x:1 not found\"},\"error\":\"manifest for "
                            "x:1 not found\"}\n"),
                      "0\r\n\r\n"});
    docker::Client c(docker::Endpoint::unix_socket(srv.path()), 2000ms);
    std::vector<std::string> progress;
    auto r = c.pull(docker::parse_image_ref("reg:5000/team/app:1"), "AUTHHEADER",
                    [&](const std::string& s) { progress.push_back(s); });
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("manifest for x:1 not found"));
    CHECK(progress == std::vector<std::string>{"1: Pulling from team/app"});
    const std::string req = srv.request();
    CHECK(first_line(req) == "POST /images/create?fromImage=reg%3A5000%2Fteam%2Fapp&tag=1 HTTP/1.1");
    CHECK_THAT(req, Catch::Contains("X-Registry-Auth: AUTHHEADER\r\n"));
  }
  SECTION("clean stream, no auth header") {
    CannedServer srv({"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n",
                      "{\"status\":\"Pulling from library/bb\"}\r\n{\"status\":\"Digest: sha256:00\"}\r\n",
                      "{\"status\":\"Status: Downloaded newer image for bb:latest\"}\r\n"});
    docker::Client c(docker::Endpoint::unix_socket(srv.path()), 2000ms);
    auto r = c.pull(docker::parse_image_ref("bb"), "", nullptr);
    REQUIRE(r);
    const std::string req = srv.request();
    CHECK(first_line(req) == "POST /images/create?fromImage=bb&tag=latest HTTP/1.1");
    CHECK_THAT(req, !Catch::Contains("X-Registry-Auth"));
  }
  SECTION("the daemon refuses outright (wrong credentials: HTTP 500)") {
    CannedServer srv(
        {json_answer(500, "Internal Server Error", R"({"message":"unauthorized: authentication required"})")});
    docker::Client c(docker::Endpoint::unix_socket(srv.path()), 2000ms);
    auto r = c.pull(docker::parse_image_ref("reg:5000/a:1"), "X", nullptr);
    REQUIRE_FALSE(r);
    CHECK(r.error().is_status(500));
    CHECK_THAT(r.error().message, Catch::Contains("unauthorized: authentication required"));
  }
}

TEST_CASE("wait and inspect read what the daemon says") {
  CannedServer w({json_answer(200, "OK", R"({"Error":null,"StatusCode":137})")});
  docker::Client c(docker::Endpoint::unix_socket(w.path()), 2000ms);
  auto code = c.wait("abc");
  REQUIRE(code);
  CHECK(*code == 137);
  CHECK(first_line(w.request()) == "POST /containers/abc/wait?condition=not-running HTTP/1.1");

  CannedServer i({json_answer(
      200, "OK",
      R"({"State":{"Status":"exited","Running":false,"ExitCode":1,"OOMKilled":true,"Error":""},)"
      R"("Config":{"Tty":true},"NetworkSettings":{"IPAddress":"","Networks":{"n":{"IPAddress":"10.1.2.3"}}}})")});
  docker::Client c2(docker::Endpoint::unix_socket(i.path()), 2000ms);
  auto st = c2.inspect("abc");
  REQUIRE(st);
  CHECK(st->status == "exited");
  CHECK(st->exit_code == 1);
  CHECK(st->oom_killed);
  CHECK(st->tty);
  CHECK(st->ip_address == "10.1.2.3");
}

TEST_CASE("A wait is abandoned when cancelled") {
  CannedServer srv({"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"}, 3000ms);
  docker::Client c(docker::Endpoint::unix_socket(srv.path()), 2000ms);
  util::CancelFlag cancel;
  std::thread t([&] {
    std::this_thread::sleep_for(200ms);
    cancel.set();
  });
  const auto t0 = std::chrono::steady_clock::now();
  auto r = c.wait("abc", &cancel);
  t.join();
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message, Catch::Contains("cancelled"));
  CHECK(std::chrono::steady_clock::now() - t0 < 2500ms);
}

TEST_CASE("The event stream: filtered to one container's die and oom, opened before any event, lines split anywhere") {
  const std::string oom = R"({"status":"oom","id":"abc","Type":"container","Action":"oom","Actor":{"ID":"abc",)"
                          R"("Attributes":{"image":"bb:1","name":"n"}},"time":1,"timeNano":1})"
                          "\n";
  const std::string die = R"({"status":"die","id":"abc","Type":"container","Action":"die","Actor":{"ID":"abc",)"
                          R"("Attributes":{"exitCode":"137","image":"bb:1","name":"n"}},"time":1,"timeNano":2})"
                          "\n";
  const std::string body = oom + die;
  // The head alone first, then the two lines cut in three pieces across chunk boundaries.
  CannedServer srv({"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
                    chunk(body.substr(0, 30)), chunk(body.substr(30, oom.size())),
                    chunk(body.substr(30 + oom.size())) + "0\r\n\r\n"},
                   50ms);
  docker::Client c(docker::Endpoint::unix_socket(srv.path()), 2000ms);
  std::vector<std::string> seen;
  int opened = 0;
  auto r = c.events(
      "abc",
      [&](int status) {
        CHECK(seen.empty());  // told before the first event
        opened = status;
      },
      [&](const docker::ContainerEvent& e) {
        seen.push_back(e.action + (e.attributes.count("exitCode") ? ":" + e.attributes.at("exitCode") : ""));
        CHECK(e.attributes.at("image") == "bb:1");
        return e.action != "die";
      });
  REQUIRE(r);
  CHECK(opened == 200);
  CHECK(seen == std::vector<std::string>{"oom", "die:137"});
  const std::string line = first_line(srv.request());
  CHECK(line == "GET /events?filters=" +
                    docker::url_escape(R"({"container":["abc"],"event":["die","oom"],"type":["container"]})") +
                    " HTTP/1.1");
}

TEST_CASE("The event stream: an error answer, a line that is not JSON, a refused id") {
  CannedServer err({json_answer(500, "Internal Server Error", R"({"message":"no events today"})")});
  docker::Client c(docker::Endpoint::unix_socket(err.path()), 2000ms);
  int opened = 0;
  int events = 0;
  auto r = c.events(
      "abc", [&](int status) { opened = status; },
      [&](const docker::ContainerEvent&) {
        ++events;
        return true;
      });
  REQUIRE_FALSE(r);
  CHECK(opened == 500);
  CHECK(events == 0);
  CHECK_THAT(r.error().message, Catch::Contains("no events today"));

  CannedServer junk({"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
                     chunk("[1,2]\n") + "0\r\n\r\n"});
  docker::Client c2(docker::Endpoint::unix_socket(junk.path()), 2000ms);
  r = c2.events(
      "abc", [](int) {},
      [&](const docker::ContainerEvent&) {
        ++events;
        return true;
      });
  REQUIRE_FALSE(r);
  CHECK(events == 0);
  CHECK_THAT(r.error().message, Catch::Contains("not a JSON object"));

  r = c2.events(
      "../x", [](int) {}, [](const docker::ContainerEvent&) { return true; });
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message, Catch::Contains("request refused"));
}

TEST_CASE("Helper programs: output, exit code, input, and a time limit") {
  auto r = util::run_program({"sh", "-c", "read x; echo got:$x; echo err >&2; exit 3"}, "hello\n", 5000ms);
  REQUIRE(r);
  CHECK(r->exit_code == 3);
  CHECK(r->out == "got:hello\n");
  CHECK(r->err == "err\n");
  auto slow = util::run_program({"sleep", "10"}, "", 200ms);
  REQUIRE_FALSE(slow);
  CHECK_THAT(slow.error().message, Catch::Contains("did not finish"));
  auto missing = util::run_program({"no-such-program-here"}, "", 1000ms);
  REQUIRE_FALSE(missing);
}

TEST_CASE("Credential helpers: docker-credential-<name> get, from credsStore or credHelpers") {
  char tmpl[] = "/tmp/sce-cred.XXXXXX";
  REQUIRE(::mkdtemp(tmpl));
  const std::string dir = tmpl;
  {
    std::ofstream h(dir + "/docker-credential-fake");
    h << "#!/bin/sh\nread server\n"
         "if [ \"$1\" != get ]; then exit 9; fi\n"
         "case \"$server\" in\n"
         "  reg.example.com:5000) echo "
         "'{\"ServerURL\":\"reg.example.com:5000\",\"Username\":\"bob\",\"Secret\":\"pw\"}' ;;\n"
         "  *) echo 'credentials not found in native keychain'; exit 1 ;;\n"
         "esac\n";
  }
  ::chmod((dir + "/docker-credential-fake").c_str(), 0755);
  {
    std::ofstream cfg(dir + "/config.json");
    cfg << R"({"credHelpers":{"reg.example.com:5000":"fake"}})";
  }
  // Helpers are looked for in the given directories (system ones by default), not in PATH.
  docker::AuthOptions in_dir;
  in_dir.helper_path = dir;

  auto env = util::map_env({{"DOCKER_CONFIG", dir}, {"HOME", "/nonexistent"}});
  auto found = docker::resolve_pull_auth(env, "https://index.docker.io/v1/", "reg.example.com:5000", in_dir);
  CHECK_THAT(found.source, Catch::Contains("docker-credential-fake"));
  REQUIRE_FALSE(found.header.empty());
  auto decoded = util::base64_decode(found.header);
  REQUIRE(decoded);
  CHECK_THAT(*decoded, Catch::Contains("\"username\":\"bob\""));
  CHECK_THAT(*decoded, Catch::Contains("\"password\":\"pw\""));
  CHECK_THAT(found.source, !Catch::Contains("pw"));

  auto none = docker::resolve_pull_auth(env, "https://index.docker.io/v1/", "other.example.com", in_dir);
  CHECK(none.header.empty());
  CHECK(none.source == "no credentials found");

  {
    std::ofstream cfg(dir + "/config.json");
    cfg << R"({"credsStore":"fake"})";
  }
  auto miss = docker::resolve_pull_auth(env, "https://index.docker.io/v1/", "other.example.com", in_dir);
  CHECK(miss.header.empty());
  REQUIRE(miss.notes.size() == 1);
  CHECK_THAT(miss.notes[0], Catch::Contains("credentials not found"));

  std::system(("rm -rf " + dir).c_str());
}

TEST_CASE("Path escaping keeps unreserved characters and those asked for, escapes the rest") {
  CHECK(docker::path_escape("abc-1.2_x~") == "abc-1.2_x~");
  CHECK(docker::path_escape("a/b:c@d") == "a%2Fb%3Ac%40d");
  CHECK(docker::path_escape("a/b:c@d", "/:@") == "a/b:c@d");
  CHECK(docker::path_escape("%?# \r\n\x7f\xc3", "/:@") == "%25%3F%23%20%0D%0A%7F%C3");
}

TEST_CASE("Image names are percent-escaped on the image route; '/' ':' '@' stay") {
  const std::string hex64(64, 'a');
  SECTION("a registry, a path and a digest") {
    CannedServer srv({json_answer(200, "OK", R"({"Id":"sha256:x"})")});
    docker::Client c(docker::Endpoint::unix_socket(srv.path()), 2000ms);
    auto r = c.image_present("reg:5000/team/app@sha256:" + hex64);
    REQUIRE(r);
    CHECK(*r);
    CHECK(first_line(srv.request()) == "GET /images/reg:5000/team/app@sha256:" + hex64 + "/json HTTP/1.1");
  }
  SECTION("'%', '?', '#', '=', space and non-ASCII cannot end the path, add a query or decode to another name") {
    CannedServer srv({json_answer(404, "Not Found", R"({"message":"No such image"})")});
    docker::Client c(docker::Endpoint::unix_socket(srv.path()), 2000ms);
    auto r = c.image_present("a%2f..?all=1#x y/caf\xc3\xa9 HTTP/1.1");
    REQUIRE(r);
    CHECK_FALSE(*r);
    CHECK(first_line(srv.request()) == "GET /images/a%252f..%3Fall%3D1%23x%20y/caf%C3%A9%20HTTP/1.1/json HTTP/1.1");
  }
  SECTION("control characters are refused without a request") {
    docker::Client c(docker::Endpoint::unix_socket("/tmp/sidecar-executor-none.sock"), 500ms);
    auto r = c.image_present("busybox/json HTTP/1.1\r\nHost: docker\r\n\r\nPOST /containers/create HTTP/1.1");
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("holds a control character: request refused"));
    CHECK_THAT(r.error().message, Catch::Contains("busybox/json HTTP/1.1\\x0d\\x0aHost"));
    CHECK_THAT(r.error().message, !Catch::Contains("connect to"));
    CHECK_FALSE(util::has_control_chars(r.error().message));
  }
  SECTION("empty, '.' and '..' segments are refused without a request") {
    docker::Client c(docker::Endpoint::unix_socket("/tmp/sidecar-executor-none.sock"), 500ms);
    for (const char* bad : {"../../containers/json", "a/../b", "./a", "a//b", "/a", "a/", ""}) {
      INFO(bad);
      auto r = c.image_present(bad);
      REQUIRE_FALSE(r);
      CHECK_THAT(r.error().message, Catch::Contains("path segment: request refused"));
      CHECK_THAT(r.error().message, !Catch::Contains("connect to"));
      CHECK(r.error().kind == util::ErrorKind::Refused);
    }
  }
}

TEST_CASE("Container calls refuse anything that is not a container id or name, without a request") {
  docker::Client c(docker::Endpoint::unix_socket("/tmp/sidecar-executor-none.sock"), 500ms);
  const std::vector<std::string> bad = {"",
                                        "abc/../../images/x",
                                        "../x",
                                        "abc?force=1",
                                        "abc#x",
                                        "a b",
                                        "abc\r\nDELETE /containers/victim",
                                        "-abc",
                                        ".abc",
                                        "/abc",
                                        "abc%2f"};
  for (const auto& id : bad) {
    INFO(util::escape_control_chars(id));
    std::vector<util::Error> errors;
    auto keep = [&](auto r) {
      REQUIRE_FALSE(r);
      errors.push_back(r.error());
    };
    keep(c.start(id));
    keep(c.stop(id, 1));
    keep(c.kill(id));
    keep(c.wait(id));
    keep(c.inspect(id));
    keep(c.logs(id, {}, false, [](docker::LogStream, std::string_view) {}));
    keep(c.remove(id));
    for (const auto& e : errors) {
      CHECK_THAT(e.message, Catch::Contains("is not a Docker container id or name: request refused"));
      CHECK_THAT(e.message, !Catch::Contains("connect to"));
      CHECK_FALSE(util::has_control_chars(e.message));
    }
  }
  // Ids and names Docker gives still reach the daemon (here: nobody listening).
  for (const std::string& id :
       {std::string(64, 'f'), std::string("mesos-491f4d69-d3cd-5c35-8b89-71bfec60409e"), std::string("a_b.c-d")}) {
    auto r = c.inspect(id);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("unix:///tmp/sidecar-executor-none.sock"));
  }
}

// The catch-up's read: timestamps=1 and since to the nanosecond in the query, each frame's time cut off
// (the reader), and a read that `keep_reading` ends is no error.
TEST_CASE("Timestamped logs: the query, the times cut off, a read ended by keep_reading") {
  const auto framed = [](char stream, const std::string& payload) {
    std::string h(8, '\0');
    h[0] = stream;
    h[7] = static_cast<char>(payload.size());
    return h + payload;
  };
  const std::vector<std::string> answer = {
      "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\nTransfer-Encoding: chunked\r\n\r\n",
      chunk(framed(1, "2026-12-03T01:57:04.999180721Z out\n")), chunk(framed(2, "2026-12-03T01:57:05Z err\n")),
      chunk(framed(1, "2026-12-03T01:57:06.1Z late\n")), "0\r\n\r\n"};
  std::string out, err;
  std::vector<std::optional<docker::LogTime>> times;
  docker::StampedLogReader reader(
      false, [&](docker::LogStream, std::optional<docker::LogTime> t) { times.push_back(t); },
      [&](docker::LogStream s, std::string_view p) { (s == docker::LogStream::Stderr ? err : out).append(p); });
  docker::LogsOptions lo;
  lo.since_time = docker::LogTime{1796263024, 5};
  {
    CannedServer srv(answer);
    docker::Client c(docker::Endpoint::unix_socket(srv.path()), 2000ms);
    REQUIRE(c.stamped_logs("abc", lo, false, reader));
    CHECK(first_line(srv.request()) ==
          "GET /containers/abc/logs?stdout=1&stderr=1&follow=0&timestamps=1&since=1796263024.000000005 HTTP/1.1");
  }
  CHECK(out == "out\nlate\n");
  CHECK(err == "err\n");
  REQUIRE(times.size() == 3);
  CHECK(times[1] == docker::LogTime{1796263025, 0});
  {
    // One write, done before the client stops reading: no broken pipe.
    std::string whole;
    for (const auto& piece : answer) whole += piece;
    CannedServer srv({whole});
    docker::Client c(docker::Endpoint::unix_socket(srv.path()), 2000ms);
    int pieces = 0;
    REQUIRE(c.stamped_logs("abc", lo, false, reader, nullptr, nullptr, [&] { return ++pieces < 2; }));
  }
  CHECK(out == "out\nlate\nout\n");  // the second piece was not read
}
