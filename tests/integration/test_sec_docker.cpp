// Attacks on the Docker wire through a task's image, against a real (private) dockerd: a CR/LF image
// that embeds a second request, and images with '%', '?', '#' or '..' that would otherwise reach
// another name or endpoint. Each case first shows, with raw bytes, that the daemon would act on the
// attack, then that the validator refuses the image and the client neither smuggles nor strays; the
// last case launches such images as tasks through the executor.
#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "docker/client.h"
#include "docker/image_ref.h"
#include "docker_daemon.h"
#include "docker_proxy.h"
#include "executor_harness.h"
#include "task_builder.h"
#include "util/http_safe.h"

using namespace std::chrono_literals;
using testing_support::DockerDaemon;
using testing_support::DockerProxy;
using testing_support::Harness;
using testing_support::TaskBuilder;
namespace v1 = ::mesos::v1;

namespace {

// Writes `bytes` on a fresh connection to the daemon and reads until it closes (or 10 s pass): what a
// client that writes its request line unchecked would do.
std::string raw_exchange(const DockerDaemon& d, const std::string& bytes) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, d.socket().c_str(), d.socket().size() + 1);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
  std::string answer;
  char buf[4096];
  while (true) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10000) <= 0) break;
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    answer.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return answer;
}

// Names of every container on the daemon, asked through the API.
std::vector<std::string> container_names(const DockerDaemon& d) {
  net::HttpClient http(d.socket());
  auto r = http.send({"GET", "/containers/json?all=1", {}, "", 10000ms});
  REQUIRE(r);
  REQUIRE(r->status == 200);
  std::vector<std::string> names;
  for (const auto& c : nlohmann::json::parse(r->body)) {
    for (const auto& n : c["Names"]) names.push_back(n.get<std::string>());
  }
  return names;
}

bool has_container(const DockerDaemon& d, const std::string& name) {
  const auto names = container_names(d);
  return std::find(names.begin(), names.end(), "/" + name) != names.end();
}

// An image that ends the image request early and appends a privileged container create named
// `name`: the request an unchecked client writes for it is two requests.
std::string smuggling_image(const std::string& base, const std::string& name) {
  const std::string body = fmt::format(R"({{"Image":"{}","HostConfig":{{"Privileged":true,"PidMode":"host"}}}})", base);
  return fmt::format(
      "{}/json HTTP/1.1\r\nHost: docker\r\n\r\n"
      "POST /containers/create?name={} HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n"
      "Content-Length: {}\r\n\r\n{}",
      base, name, body.size(), body);
}

// What the executor wrote for GET /images/{image}/json before the fix.
std::string unchecked_request(const std::string& image) {
  return fmt::format("GET /images/{}/json HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n", image);
}

}  // namespace

TEST_CASE("A CR/LF image cannot smuggle a second request: no container of the smuggled name exists") {
  auto& d = DockerDaemon::shared();
  const std::string base = d.image("sce-sec:latest");
  docker::Client c(docker::Endpoint::unix_socket(d.socket()), 10000ms);
  REQUIRE(c.negotiate());

  // The attack is live: written unchecked, the daemon does create the smuggled container.
  raw_exchange(d, unchecked_request(smuggling_image(base, "smuggled-probe")));
  REQUIRE(has_container(d, "smuggled-probe"));
  REQUIRE(c.remove("smuggled-probe"));
  REQUIRE_FALSE(has_container(d, "smuggled-probe"));

  const std::string image = smuggling_image(base, "smuggled");
  // The validator refuses it, naming the image with its control characters escaped.
  auto v = docker::validate_image_ref(image);
  REQUIRE_FALSE(v);
  CHECK_THAT(v.error().message, Catch::Contains("control character"));
  CHECK_THAT(v.error().message, Catch::Contains("HTTP/1.1\\x0d\\x0aHost: docker"));
  CHECK_FALSE(util::has_control_chars(v.error().message));

  // The client, given it anyway, refuses before writing anything.
  auto present = c.image_present(image);
  REQUIRE_FALSE(present);
  CHECK_THAT(present.error().message, Catch::Contains("control character: request refused"));
  CHECK_FALSE(util::has_control_chars(present.error().message));

  // So does the HTTP layer, for a path built without the client.
  net::HttpClient http(d.socket());
  auto sent = http.send({"GET", "/images/" + image + "/json", {}, "", 10000ms});
  REQUIRE_FALSE(sent);
  CHECK_THAT(sent.error().message, Catch::Contains("request path"));
  CHECK_THAT(sent.error().message, Catch::Contains("control character"));

  // Same through a header value (X-Registry-Auth is the one a pull sends).
  auto pulled = http.send({"POST",
                           "/images/create?fromImage=none&tag=x",
                           {{"X-Registry-Auth", "e30=\r\n\r\n" + unchecked_request("x")}},
                           "",
                           10000ms});
  REQUIRE_FALSE(pulled);
  CHECK_THAT(pulled.error().message, Catch::Contains("header X-Registry-Auth holds a control character"));

  CHECK_FALSE(has_container(d, "smuggled"));
}

TEST_CASE("'%', '?', '#' and '../' images are refused, and fed to the client stay on their own image") {
  auto& d = DockerDaemon::shared();
  const std::string base = d.image("sce-sec:latest");
  docker::Client c(docker::Endpoint::unix_socket(d.socket()), 10000ms);
  REQUIRE(c.negotiate());
  net::HttpClient http(d.socket());

  // Written unchecked, these name the existing image (the daemon decodes %3a; '?' starts a query)
  // although the text is no such image: the answer would be about another image than the task's.
  for (const std::string& image : {std::string("sce-sec%3alatest"), base + "/json?x="}) {
    INFO(image);
    const std::string answer = raw_exchange(d, unchecked_request(image));
    REQUIRE_THAT(answer, Catch::StartsWith("HTTP/1.1 200"));
  }

  struct Case {
    std::string image;
    bool refused_by_client;  // else sent escaped: the daemon's answer is a 404 or 400
  };
  const std::vector<Case> cases = {
      {"sce-sec%3alatest", false},
      {base + "/json?x=", false},
      {"sce-sec:latest#x", false},
      {"a%2f..", false},
      {"a%2f..%2f..%2fcontainers%2fjson", false},
      {"busybox?all=1", false},
      {"../../containers/json", true},
      {"sce-sec/../../containers/json?all=1&x=", true},
  };
  for (const auto& k : cases) {
    INFO(k.image);
    auto v = docker::validate_image_ref(k.image);
    REQUIRE_FALSE(v);
    CHECK_THAT(v.error().message, Catch::StartsWith("invalid image reference"));

    auto r = c.image_present(k.image);
    CHECK_FALSE((r && *r));  // never "present": no listing, no other image
    if (k.refused_by_client) {
      REQUIRE_FALSE(r);
      CHECK_THAT(r.error().message, Catch::Contains("path segment: request refused"));
      CHECK(r.error().kind == util::ErrorKind::Refused);
    } else if (r) {
      CHECK_FALSE(*r);  // 404: no such image
    } else {
      CHECK(r.error().is_status(400));
      CHECK_THAT(r.error().message, Catch::Contains("HTTP 400"));
    }
  }
  // The real image is still found by its real name.
  auto real = c.image_present(base);
  REQUIRE(real);
  CHECK(*real);
}

TEST_CASE("Tasks with a smuggling, '%', '?', '#' or '../' image end TASK_ERROR before Docker hears of the image") {
  auto& d = DockerDaemon::shared();
  const std::string base = d.image("sce-sec:latest");
  const std::vector<std::string> images = {
      smuggling_image(base, "smuggled-by-task"),
      "sce-sec%3alatest",
      base + "/json?x=",
      "sce-sec:latest#x",
      "../../containers/json",
  };
  int n = 0;
  for (const auto& image : images) {
    INFO(image);
    // The executor talks to the daemon through a proxy that counts image requests (and refuses them):
    // none may come, so not even the image lookup carried the task's text.
    DockerProxy proxy(d.socket(), "/images/", DockerProxy::Mode::refuse);
    Harness h({{"DOCKER_HOST", "unix://" + proxy.path()}});
    const std::string task = fmt::format("sec-image-{}", n++);
    h.agent.launch(TaskBuilder(task, image).shell("true"));
    const auto s = h.wait_state(task, v1::TASK_ERROR);
    CHECK(s.reason() == v1::TaskStatus::REASON_TASK_INVALID);
    CHECK_THAT(s.message(), Catch::Contains("invalid image reference"));
    CHECK_FALSE(util::has_control_chars(s.message()));
    REQUIRE(h.exe->wait(15s).has_value());
    CHECK(proxy.taken() == 0);
    CHECK_FALSE(has_container(d, docker::container_name(task)));
  }
  CHECK_FALSE(has_container(d, "smuggled-by-task"));
}
