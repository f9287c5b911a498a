// The fake agent must be as strict as the real one, or the protocol tests prove nothing.
#include <catch2/catch.hpp>
#include <httplib.h>

#include "fake_agent.h"
#include "mesos/codec.h"
#include "mesos/recordio.h"

using namespace std::chrono_literals;
namespace v1 = ::mesos::v1;
using Call = v1::executor::Call;
using mesos::Encoding;

namespace {
Call call(Call::Type type, const std::string& fw = "fw-0001", const std::string& ex = "exec-1") {
  Call c;
  c.mutable_framework_id()->set_value(fw);
  c.mutable_executor_id()->set_value(ex);
  c.set_type(type);
  return c;
}
Call update_call(const std::string& uuid, v1::TaskState state = v1::TASK_RUNNING) {
  Call c = call(Call::UPDATE);
  auto* s = c.mutable_update()->mutable_status();
  s->mutable_task_id()->set_value("t");
  s->set_state(state);
  s->set_source(v1::TaskStatus::SOURCE_EXECUTOR);
  s->set_uuid(uuid);
  return c;
}
int post(httplib::Client& cli, const Call& c, const std::string& content_type = "application/x-protobuf",
         const std::string& accept = "") {
  httplib::Headers h;
  if (!accept.empty()) h.emplace("Accept", accept);
  auto body = *mesos::encode_call(content_type == "application/json" ? Encoding::Json : Encoding::Protobuf, c);
  auto r = cli.Post("/api/v1/executor", h, body, content_type.c_str());
  return r ? r->status : -1;
}
}  // namespace

TEST_CASE("Fake agent refuses what the real agent refuses") {
  fake::FakeAgent agent(fake::AgentOptions{});
  agent.start();
  httplib::Client cli("127.0.0.1", agent.port());
  cli.set_read_timeout(2s);

  SECTION("UPDATE before SUBSCRIBE is 403") { CHECK(post(cli, update_call(std::string(16, 'a'))) == 403); }
  SECTION("wrong framework or executor is 400") {
    CHECK(post(cli, call(Call::HEARTBEAT, "other")) == 400);
    CHECK(post(cli, call(Call::HEARTBEAT, "fw-0001", "other")) == 400);
  }
  SECTION("missing or unsupported Content-Type") {
    auto r = cli.Post("/api/v1/executor", "x", "text/plain");
    REQUIRE(r);
    CHECK(r->status == 415);
  }
  SECTION("other methods are 405") {
    auto r = cli.Get("/api/v1/executor");
    REQUIRE(r);
    CHECK(r->status == 405);
  }
  SECTION("an undecodable body is 400") {
    auto r = cli.Post("/api/v1/executor", "{nope", "application/json");
    REQUIRE(r);
    CHECK(r->status == 400);
  }
  SECTION("a call without type is 400, type UNKNOWN is 501") {
    Call c = call(Call::HEARTBEAT);
    c.clear_type();
    CHECK(post(cli, c) == 400);
    CHECK(post(cli, call(Call::UNKNOWN)) == 501);
  }
  SECTION("SUBSCRIBE whose Accept allows neither encoding is 406") {
    Call c = call(Call::SUBSCRIBE);
    c.mutable_subscribe();
    CHECK(post(cli, c, "application/x-protobuf", "text/html") == 406);
  }
  SECTION("HEARTBEAT calls are accepted") { CHECK(post(cli, call(Call::HEARTBEAT)) == 202); }
}

TEST_CASE("Fake agent: stream encoding follows Accept with JSON checked first; UPDATE rules once subscribed") {
  fake::AgentOptions o;
  o.heartbeat_interval = 50ms;
  fake::FakeAgent agent(o);
  agent.start();
  const std::string accept = GENERATE(std::string("*/*"), std::string("application/x-protobuf"),
                                      std::string("application/x-protobuf, application/json"));
  const bool want_json = accept != "application/x-protobuf";
  httplib::Client stream_cli("127.0.0.1", agent.port());
  std::string received;
  std::thread reader([&] {
    Call c = call(Call::SUBSCRIBE);
    c.mutable_subscribe();
    httplib::Request req;
    req.method = "POST";
    req.path = "/api/v1/executor";
    req.headers = {{"Content-Type", "application/x-protobuf"}, {"Accept", accept}};
    req.body = c.SerializeAsString();
    req.content_receiver = [&](const char* d, std::size_t n, std::uint64_t, std::uint64_t) {
      received.append(d, n);
      return received.size() < 100000;
    };
    httplib::Response res;
    httplib::Error err;
    stream_cli.send(req, res, err);
  });
  REQUIRE(fake::FakeAgent::wait_until([&] { return agent.stream_open(); }, 5s));
  httplib::Client cli("127.0.0.1", agent.port());
  CHECK(post(cli, update_call("short")) == 400);                                   // uuid not 16 bytes
  CHECK(post(cli, update_call(std::string(16, 'b'), v1::TASK_STAGING)) == 400);    // STAGING refused
  Call bad_source = update_call(std::string(16, 'c'));
  bad_source.mutable_update()->mutable_status()->set_source(v1::TaskStatus::SOURCE_AGENT);
  CHECK(post(cli, bad_source) == 400);
  CHECK(post(cli, update_call(std::string(16, 'd'))) == 202);
  std::this_thread::sleep_for(200ms);  // an ACK and a few heartbeats
  agent.stop();
  reader.join();

  mesos::recordio::Decoder dec(1 << 20);
  std::vector<std::string> records;
  REQUIRE(dec.feed(received, records).ok());
  REQUIRE(records.size() >= 3);
  int heartbeats = 0;
  int acks = 0;
  for (const auto& r : records) {
    auto e = mesos::decode_event(want_json ? Encoding::Json : Encoding::Protobuf, r);
    REQUIRE(e.ok());
    if (want_json) CHECK(r.front() == '{');
    if (e->event.type() == v1::executor::Event::HEARTBEAT) ++heartbeats;
    if (e->event.type() == v1::executor::Event::ACKNOWLEDGED) ++acks;
  }
  CHECK(mesos::decode_event(want_json ? Encoding::Json : Encoding::Protobuf, records[0])->event.type() ==
        v1::executor::Event::SUBSCRIBED);
  CHECK(acks == 1);  // only the valid update was taken and acknowledged
  CHECK(heartbeats >= 1);
  CHECK(agent.updates().size() == 1);
}
