// Protobuf and JSON codecs, including fields our proto subset does not model.
#include <catch2/catch.hpp>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <nlohmann/json.hpp>

#include "mesos/codec.h"

namespace v1 = ::mesos::v1;
using mesos::Encoding;

namespace {
// A TaskInfo as the agent sends it, with a HealthCheck (field 8) and a CheckInfo (field 13) that our
// subset does not model: written field by field, as a newer Mesos would.
std::string task_with_unknown_fields() {
  v1::TaskInfo t;
  t.set_name("web");
  t.mutable_task_id()->set_value("web.1");
  t.mutable_agent_id()->set_value("agent-1");
  std::string bytes = t.SerializeAsString();
  google::protobuf::io::StringOutputStream sos(&bytes);
  {
    google::protobuf::io::CodedOutputStream out(&sos);
    out.WriteTag((8 << 3) | 2);             // health_check, length-delimited
    const std::string health = "\x08\x01";  // an opaque HealthCheck body
    out.WriteVarint32(static_cast<std::uint32_t>(health.size()));
    out.WriteString(health);
    out.WriteTag((13 << 3) | 2);  // check
    out.WriteVarint32(3);
    out.WriteString("abc");
  }
  return bytes;
}
}  // namespace

TEST_CASE("Protobuf: a LAUNCH's unmodelled TaskInfo fields survive into SUBSCRIBE") {
  const std::string raw_task = task_with_unknown_fields();
  v1::executor::Event e;
  e.set_type(v1::executor::Event::LAUNCH);
  REQUIRE(e.mutable_launch()->mutable_task()->ParseFromString(raw_task));
  auto decoded = mesos::decode_event(Encoding::Protobuf, e.SerializeAsString());
  REQUIRE(decoded.ok());
  CHECK(decoded->event.launch().task().task_id().value() == "web.1");

  v1::executor::Call sub;
  sub.set_type(v1::executor::Call::SUBSCRIBE);
  auto body = mesos::encode_call(Encoding::Protobuf, sub, {decoded->raw_task});
  REQUIRE(body.ok());
  v1::executor::Call back;
  REQUIRE(back.ParseFromString(*body));
  REQUIRE(back.subscribe().unacknowledged_tasks_size() == 1);
  // Re-serialised, the task is byte-identical to what the agent sent, unknown fields included.
  CHECK(back.subscribe().unacknowledged_tasks(0).SerializeAsString() == raw_task);
}

TEST_CASE("JSON: events use proto field names, enum names and base64 bytes") {
  const std::string record =
      R"({"type":"ACKNOWLEDGED","acknowledged":{"task_id":{"value":"t1"},"uuid":"AAECAwQFBgcICQoLDA0ODw=="}})";
  auto d = mesos::decode_event(Encoding::Json, record);
  REQUIRE(d.ok());
  CHECK(d->event.type() == v1::executor::Event::ACKNOWLEDGED);
  CHECK(d->event.acknowledged().uuid() ==
        std::string("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f", 16));
}

TEST_CASE("JSON: a LAUNCH's TaskInfo is re-sent exactly as received, unknown fields included") {
  const std::string record =
      R"({"type":"LAUNCH","launch":{"task":{"name":"web","task_id":{"value":"web.1"},"agent_id":{"value":"a"},)"
      R"("health_check":{"type":"HTTP","http":{"port":8080}},"container":{"type":"DOCKER","docker":{"image":"x:1"}}}}})";
  auto d = mesos::decode_event(Encoding::Json, record);
  REQUIRE(d.ok());
  CHECK(d->event.launch().task().container().docker().image() == "x:1");
  v1::executor::Call sub;
  sub.mutable_executor_id()->set_value("e");
  sub.mutable_framework_id()->set_value("f");
  sub.set_type(v1::executor::Call::SUBSCRIBE);
  sub.mutable_subscribe();
  auto body = mesos::encode_call(Encoding::Json, sub, {d->raw_task});
  REQUIRE(body.ok());
  auto doc = nlohmann::json::parse(*body);
  CHECK(doc["type"] == "SUBSCRIBE");
  CHECK(doc["executor_id"]["value"] == "e");
  REQUIRE(doc["subscribe"]["unacknowledged_tasks"].size() == 1);
  CHECK(doc["subscribe"]["unacknowledged_tasks"][0]["health_check"]["http"]["port"] == 8080);
}

TEST_CASE("JSON: calls carry snake_case names and enum names") {
  v1::executor::Call c;
  c.mutable_executor_id()->set_value("e");
  c.mutable_framework_id()->set_value("f");
  c.set_type(v1::executor::Call::UPDATE);
  auto* s = c.mutable_update()->mutable_status();
  s->mutable_task_id()->set_value("t");
  s->set_state(v1::TASK_RUNNING);
  s->set_source(v1::TaskStatus::SOURCE_EXECUTOR);
  s->set_uuid(std::string(16, '\x01'));
  auto body = mesos::encode_call(Encoding::Json, c);
  REQUIRE(body.ok());
  auto doc = nlohmann::json::parse(*body);
  CHECK(doc["update"]["status"]["state"] == "TASK_RUNNING");
  CHECK(doc["update"]["status"]["source"] == "SOURCE_EXECUTOR");
  CHECK(doc["update"]["status"]["uuid"] == "AQEBAQEBAQEBAQEBAQEBAQ==");
  CHECK(doc["update"]["status"]["task_id"]["value"] == "t");
  auto back = mesos::decode_call(Encoding::Json, *body);
  REQUIRE(back.ok());
  CHECK(back->update().status().uuid() == std::string(16, '\x01'));
}

TEST_CASE("Undecodable records are errors, not crashes") {
  CHECK_FALSE(mesos::decode_event(Encoding::Json, "{not json").ok());
  CHECK_FALSE(mesos::decode_event(Encoding::Json, R"({"type":42.5})").ok());
  CHECK_FALSE(mesos::decode_event(Encoding::Protobuf, std::string("\xff\xff\xff\xff\xff", 5)).ok());
  // An unknown event type decodes: the executor must ignore it, not fail.
  auto unknown = mesos::decode_event(Encoding::Json, R"({"type":"SOMETHING_NEW"})");
  REQUIRE(unknown.ok());
  CHECK(unknown->event.type() == v1::executor::Event::UNKNOWN);
}

TEST_CASE("JSON: an undecodable LAUNCH still yields its task id and TaskInfo text") {
  const std::string bad =
      R"({"type":"LAUNCH","launch":{"task":{"name":"web","task_id":{"value":"web.7"},"agent_id":{"value":"a"},)"
      R"("container":{"type":"DOCKER","docker":{"image":"x","port_mappings":[{"host_port":-1,"container_port":80}]}}}}})";
  REQUIRE_FALSE(mesos::decode_event(Encoding::Json, bad).ok());  // a negative uint32
  const auto u = mesos::undecodable_json_launch(bad);
  REQUIRE(u.has_value());
  CHECK(u->task_id == "web.7");
  const auto task = nlohmann::json::parse(u->raw_task);
  CHECK(task["container"]["docker"]["port_mappings"][0]["host_port"] == -1);

  // Anything that does not name a task gives nothing.
  for (const char* r :
       {"{not json", R"({"type":"KILL","launch":{"task":{"task_id":{"value":"x"}}}})", R"({"type":"LAUNCH"})",
        R"({"type":"LAUNCH","launch":{"task":{}}})", R"({"type":"LAUNCH","launch":{"task":{"task_id":{"value":""}}}})",
        R"({"type":"LAUNCH","launch":{"task":{"task_id":{"value":7}}}})", "[1,2]"}) {
    INFO(r);
    CHECK_FALSE(mesos::undecodable_json_launch(r).has_value());
  }
}
