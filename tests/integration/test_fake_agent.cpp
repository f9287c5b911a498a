// The fake agent must be as strict as the real one, or the protocol tests prove nothing.
#include <httplib.h>
#include <catch2/catch.hpp>

#include <memory>
#include <mutex>
#include <thread>

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
// 16 bytes with an RFC 4122 version nibble (4) in byte 6, as the agent's validation wants.
std::string v4(char fill) {
  std::string u(16, fill);
  u[6] = static_cast<char>(0x40 | (fill & 0x0F));
  u[8] = static_cast<char>(0x80 | (fill & 0x3F));
  return u;
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

  SECTION("UPDATE before SUBSCRIBE is 403") { CHECK(post(cli, update_call(v4('a'))) == 403); }
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
  v1::TaskInfo task;
  task.set_name("t");
  task.mutable_task_id()->set_value("t");
  agent.launch(task);
  CHECK(post(cli, update_call("short")) == 400);                    // uuid not 16 bytes
  CHECK(post(cli, update_call(std::string(16, 'd'))) == 400);       // 16 bytes, but version nibble 6
  CHECK(post(cli, update_call(std::string(16, '\0'))) == 400);      // version nibble 0
  CHECK(post(cli, update_call(v4('b'), v1::TASK_STAGING)) == 400);  // STAGING refused
  Call bad_source = update_call(v4('c'));
  bad_source.mutable_update()->mutable_status()->set_source(v1::TaskStatus::SOURCE_AGENT);
  CHECK(post(cli, bad_source) == 400);
  CHECK(post(cli, update_call(v4('d'))) == 202);
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

namespace {
// A SUBSCRIBE read on its own thread: the raw body bytes as they come, and whether it ended.
struct StreamReader {
  explicit StreamReader(int port, const std::string& body = "") : cli("127.0.0.1", port) {
    cli.set_read_timeout(10s);
    Call c = call(Call::SUBSCRIBE);
    c.mutable_subscribe();
    thread = std::thread([this, b = body.empty() ? c.SerializeAsString() : body] {
      httplib::Request req;
      req.method = "POST";
      req.path = "/api/v1/executor";
      req.headers = {{"Content-Type", "application/x-protobuf"}, {"Accept", "application/x-protobuf"}};
      req.body = b;
      req.response_handler = [this](const httplib::Response& r) {
        std::lock_guard lk(mu);
        status = r.status;
        return true;
      };
      req.content_receiver = [this](const char* d, std::size_t n, std::uint64_t, std::uint64_t) {
        std::lock_guard lk(mu);
        received.append(d, n);
        return true;
      };
      httplib::Response res;
      httplib::Error err;
      cli.send(req, res, err);
      std::lock_guard lk(mu);
      ended = true;
    });
  }
  ~StreamReader() {
    cli.stop();
    if (thread.joinable()) thread.join();
  }
  std::vector<v1::executor::Event> events() {
    std::lock_guard lk(mu);
    mesos::recordio::Decoder dec(1 << 20);
    std::vector<std::string> records;
    if (!dec.feed(received, records).ok()) return {};
    std::vector<v1::executor::Event> out;
    for (const auto& r : records) out.push_back(mesos::decode_event(Encoding::Protobuf, r)->event);
    return out;
  }
  bool done() {
    std::lock_guard lk(mu);
    return ended;
  }
  httplib::Client cli;
  std::mutex mu;
  std::string received;
  int status = 0;
  bool ended = false;
  std::thread thread;
};
}  // namespace

TEST_CASE("Fake agent: authentication is checked before anything else, with the agent's 401") {
  fake::AgentOptions o;
  o.auth_token = "tok";
  fake::FakeAgent agent(o);
  agent.start();
  httplib::Client cli("127.0.0.1", agent.port());
  auto r = cli.Get("/api/v1/executor");  // wrong method, no token: still 401, not 405
  REQUIRE(r);
  CHECK(r->status == 401);
  CHECK(r->get_header_value("WWW-Authenticate") == "Bearer realm=\"mesos-agent-executor\"");
  r = cli.Post("/api/v1/executor", httplib::Headers{{"Authorization", "Bearer nope"}}, "{junk", "application/json");
  REQUIRE(r);
  CHECK(r->status == 401);  // a bad token on an unparsable body: 401, not 400
  r = cli.Post("/api/v1/executor", httplib::Headers{{"Authorization", "Bearer tok"}}, "{junk", "application/json");
  REQUIRE(r);
  CHECK(r->status == 400);
}

TEST_CASE("Fake agent: SUBSCRIBED held back, slow 202 with the ACK first, refused re-SUBSCRIBE, ended stream") {
  fake::FakeAgent agent(fake::AgentOptions{});
  agent.start();
  v1::TaskInfo task;
  task.set_name("t");
  task.mutable_task_id()->set_value("t");

  agent.hold_subscribed(true);
  agent.launch(task);  // queued for the next stream
  auto reader = std::make_unique<StreamReader>(agent.port());
  REQUIRE(fake::FakeAgent::wait_until([&] { return agent.stream_open(); }, 5s));
  std::this_thread::sleep_for(300ms);
  CHECK(reader->events().empty());  // 200 is out, SUBSCRIBED is not
  agent.release_subscribed();
  REQUIRE(fake::FakeAgent::wait_until([&] { return reader->events().size() == 2; }, 5s));
  CHECK(reader->events()[0].type() == v1::executor::Event::SUBSCRIBED);
  CHECK(reader->events()[1].type() == v1::executor::Event::LAUNCH);

  // The UPDATE is ACKed on the stream before its 202 comes back.
  agent.set_update_delay(500ms);
  httplib::Client cli("127.0.0.1", agent.port());
  const auto sent = std::chrono::steady_clock::now();
  CHECK(post(cli, update_call(v4('e'))) == 202);
  CHECK(std::chrono::steady_clock::now() - sent >= 500ms);
  auto evs = reader->events();
  REQUIRE(evs.size() == 3);
  CHECK(evs[2].type() == v1::executor::Event::ACKNOWLEDGED);
  agent.set_update_delay(0ms);

  // What the real agent drops: a duplicate uuid (ACKed again), anything after a terminal update (ACKed),
  // an update for a task it never launched (never ACKed).
  CHECK(post(cli, update_call(v4('e'))) == 202);
  CHECK(post(cli, update_call(v4('f'), v1::TASK_FINISHED)) == 202);
  CHECK(post(cli, update_call(v4('g'), v1::TASK_KILLING)) == 202);
  Call stranger = update_call(v4('h'));
  stranger.mutable_update()->mutable_status()->mutable_task_id()->set_value("stranger");
  CHECK(post(cli, stranger) == 202);
  REQUIRE(fake::FakeAgent::wait_until([&] { return reader->events().size() == 6; }, 5s));
  std::this_thread::sleep_for(200ms);
  CHECK(reader->events().size() == 6);  // 3 more ACKs, none for the stranger
  CHECK(agent.task_states("t") == std::vector<v1::TaskState>{v1::TASK_RUNNING, v1::TASK_FINISHED});
  CHECK(agent.task_states("stranger").empty());

  // The stream ends with the terminating chunk; the connection stays up (the reader's send returns
  // because the chunked body is complete, not because the socket closed).
  agent.end_stream();
  REQUIRE(fake::FakeAgent::wait_until([&] { return reader->done(); }, 5s));
  CHECK_FALSE(agent.stream_open());

  agent.fail_subscribe(400, "Framework cannot be found");
  StreamReader refused(agent.port());
  REQUIRE(fake::FakeAgent::wait_until([&] { return refused.done(); }, 5s));
  CHECK(refused.status == 400);
  CHECK(agent.calls_of(Call::SUBSCRIBE).back().error == "Framework cannot be found");
}

TEST_CASE("Fake agent: what the real agent drops or decides by itself") {
  fake::FakeAgent agent(fake::AgentOptions{});
  agent.start();
  httplib::Client cli("127.0.0.1", agent.port());
  CHECK(post(cli, update_call(v4('a'))) == 403);  // never subscribed: REGISTERING
  v1::TaskInfo t;
  t.set_name("t");
  t.mutable_task_id()->set_value("t");
  v1::TaskInfo lost = t;
  lost.mutable_task_id()->set_value("never-listed");
  agent.launch(t);
  agent.launch(lost);
  {
    StreamReader first(agent.port());
    REQUIRE(fake::FakeAgent::wait_until([&] { return first.events().size() == 3; }, 5s));
    // An UPDATE naming another agent: 202, then dropped without an ACK.
    Call other = update_call(v4('b'));
    other.mutable_update()->mutable_status()->mutable_agent_id()->set_value("some-other-agent");
    CHECK(post(cli, other) == 202);
    std::this_thread::sleep_for(200ms);
    CHECK(first.events().size() == 3);
    CHECK(agent.task_states("t").empty());
    agent.drop_stream();
    REQUIRE(fake::FakeAgent::wait_until([&] { return first.done(); }, 5s));
  }
  // Disconnected after a subscription: the UPDATE is taken (202) and its ACK is lost.
  CHECK(post(cli, update_call(v4('c'))) == 202);
  CHECK(agent.task_states("t") == std::vector<v1::TaskState>{v1::TASK_RUNNING});
  // Re-SUBSCRIBE listing only "t": the unlisted STAGING task becomes TASK_LOST, by the agent.
  Call sub = call(Call::SUBSCRIBE);
  *sub.mutable_subscribe()->add_unacknowledged_tasks() = t;
  StreamReader second(agent.port(), sub.SerializeAsString());
  REQUIRE(fake::FakeAgent::wait_until([&] { return !second.events().empty(); }, 5s));
  CHECK(agent.task_states("never-listed") == std::vector<v1::TaskState>{v1::TASK_LOST});
  // A terminating executor: SHUTDOWN instead of SUBSCRIBED, then the end of the stream.
  agent.set_terminating(true);
  StreamReader third(agent.port());
  REQUIRE(fake::FakeAgent::wait_until([&] { return third.done(); }, 5s));
  REQUIRE(third.events().size() == 1);
  CHECK(third.events()[0].type() == v1::executor::Event::SHUTDOWN);
  // The replaced stream was ended with the terminating chunk, not cut.
  CHECK(fake::FakeAgent::wait_until([&] { return second.done(); }, 5s));
}
