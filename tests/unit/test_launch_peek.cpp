// Reading the type and a LAUNCH's task id from the first bytes of a record too big to decode, in both
// encodings, from records made by our own codec (as the agent would write them).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "mesos/codec.h"
#include "mesos/launch_peek.h"
#include "mesos/recordio.h"

namespace v1 = ::mesos::v1;
using mesos::Encoding;
using mesos::peek_event;
using mesos::peek_launch_task_id;

namespace {
constexpr std::size_t kPrefix = mesos::recordio::Decoder::kDefaultPrefixSize;

v1::executor::Event big_launch(const std::string& id, std::size_t data_size, const std::string& name = "web") {
  v1::executor::Event e;
  e.set_type(v1::executor::Event::LAUNCH);
  auto* task = e.mutable_launch()->mutable_task();
  task->set_name(name);
  task->mutable_task_id()->set_value(id);
  task->mutable_agent_id()->set_value("agent-1");
  task->set_data(std::string(data_size, '\x5a'));
  task->mutable_labels()->add_labels()->set_key("after-the-data");
  return e;
}

std::string encoded(Encoding enc, const v1::executor::Event& e) {
  auto r = mesos::encode_event(enc, e);
  REQUIRE(r.ok());
  return *r;
}

const char* name_of(Encoding e) { return e == Encoding::Json ? "json" : "protobuf"; }
}  // namespace

TEST_CASE("A 12 MiB LAUNCH over an 8 MiB maximum: the decoder reports it and the peek names its task") {
  for (Encoding enc : {Encoding::Protobuf, Encoding::Json}) {
    INFO(name_of(enc));
    const std::string record = encoded(enc, big_launch("web.7f3a-42", std::size_t{12} << 20));
    REQUIRE(record.size() > (std::size_t{12} << 20));
    v1::executor::Event heartbeat;
    heartbeat.set_type(v1::executor::Event::HEARTBEAT);
    const std::string stream = mesos::recordio::encode(record) + mesos::recordio::encode(encoded(enc, heartbeat));

    mesos::recordio::Decoder d(std::size_t{8} << 20);
    std::vector<std::string> records;
    std::vector<mesos::recordio::Oversized> oversized;
    for (std::size_t off = 0; off < stream.size(); off += 65000) {
      REQUIRE(d.feed(std::string_view(stream).substr(off, 65000), records, oversized).ok());
    }
    REQUIRE(oversized.size() == 1);
    CHECK(oversized[0].size == record.size());
    CHECK(oversized[0].prefix.size() == kPrefix);
    const auto peek = peek_event(enc, oversized[0].prefix);
    CHECK(peek.type == "LAUNCH");
    CHECK(peek.task_id == "web.7f3a-42");
    // The stream went on: the heartbeat after it decodes.
    REQUIRE(records.size() == 1);
    auto hb = mesos::decode_event(enc, records[0]);
    REQUIRE(hb.ok());
    CHECK(hb->event.type() == v1::executor::Event::HEARTBEAT);
  }
}

TEST_CASE("Peek: the id is read at every cut past its end, and never from a cut inside it") {
  const std::string id = "svc_a.b-c:1";
  for (Encoding enc : {Encoding::Protobuf, Encoding::Json}) {
    INFO(name_of(enc));
    const std::string record = encoded(enc, big_launch(id, 300));
    // The id's bytes appear once in the record; its end is where the value is complete.
    const std::size_t at = record.find(id);
    REQUIRE(at != std::string::npos);
    const std::size_t complete = at + id.size() + (enc == Encoding::Json ? 1 : 0);  // JSON: the closing quote
    for (std::size_t cut = 0; cut <= record.size(); ++cut) {
      INFO("cut at " << cut);
      const auto got = peek_launch_task_id(enc, std::string_view(record).substr(0, cut));
      if (cut < complete) {
        CHECK_FALSE(got.has_value());
      } else {
        CHECK(got == id);
      }
    }
  }
}

TEST_CASE("Peek: events other than LAUNCH give their type and no task id") {
  for (Encoding enc : {Encoding::Protobuf, Encoding::Json}) {
    INFO(name_of(enc));
    v1::executor::Event kill;
    kill.set_type(v1::executor::Event::KILL);
    kill.mutable_kill()->mutable_task_id()->set_value("web.1");
    auto p = peek_event(enc, encoded(enc, kill));
    CHECK(p.type == "KILL");
    CHECK_FALSE(p.task_id.has_value());

    v1::executor::Event message;
    message.set_type(v1::executor::Event::MESSAGE);
    message.mutable_message()->set_data(std::string(std::size_t{1} << 20, 'm'));
    const std::string record = encoded(enc, message);
    p = peek_event(enc, std::string_view(record).substr(0, kPrefix));
    CHECK(p.type == "MESSAGE");
    CHECK_FALSE(p.task_id.has_value());

    // Nothing at all: nothing known.
    CHECK_FALSE(peek_event(enc, "").type.has_value());
  }
}

TEST_CASE("Peek: a task name longer than the prefix leaves the id unread") {
  for (Encoding enc : {Encoding::Protobuf, Encoding::Json}) {
    INFO(name_of(enc));
    const std::string record = encoded(enc, big_launch("web.1", 10, std::string(kPrefix, 'n')));
    const auto p = peek_event(enc, std::string_view(record).substr(0, kPrefix));
    CHECK(p.type == "LAUNCH");
    CHECK_FALSE(p.task_id.has_value());
    CHECK(peek_launch_task_id(enc, record) == "web.1");  // the whole record has it
  }
}

TEST_CASE("Peek: ids the agent would refuse are not returned") {
  for (Encoding enc : {Encoding::Protobuf, Encoding::Json}) {
    for (const std::string& bad : std::vector<std::string>{"", "a/b", "a\\b", "ctl\x01", "tab\there", "del\x7f"}) {
      INFO(name_of(enc) << " id " << bad);
      const std::string record = encoded(enc, big_launch(bad, 10));
      const auto p = peek_event(enc, record);
      CHECK(p.type == "LAUNCH");
      CHECK_FALSE(p.task_id.has_value());
    }
  }
}

TEST_CASE("Peek JSON: escapes in the id are decoded, members are found in any order") {
  // "a\"b é 😀!" written with escapes, a surrogate pair among them.
  const std::string escaped =
      R"({"type":"LAUNCH","launch":{"task":{"name":"x\/\"y","task_id":{"value":"a\"b \u00e9 \ud83d\ude00\t"}}}})";
  CHECK(peek_event(Encoding::Json, escaped).type == "LAUNCH");
  CHECK_FALSE(peek_launch_task_id(Encoding::Json, escaped).has_value());  // \t: a control character
  std::string fine = escaped;
  fine.replace(fine.find(R"(\t)"), 2, R"(\u0021)");
  CHECK(peek_launch_task_id(Encoding::Json, fine) == "a\"b \xc3\xa9 \xf0\x9f\x98\x80!");

  const std::string reordered =
      R"({ "launch" : { "task" : { "labels" : {"labels":[{"key":"k","value":"v"}]}, "data":"WlpaWg==",)"
      R"( "task_id" : { "value" : "late" } , "name" : "n" } } , "type" : "LAUNCH" })";
  CHECK(peek_launch_task_id(Encoding::Json, reordered) == "late");
  // Cut before the type: not known to be a LAUNCH.
  CHECK_FALSE(peek_launch_task_id(Encoding::Json, std::string_view(reordered).substr(0, reordered.size() - 12)));
}

TEST_CASE("Peek JSON: lookalikes outside launch.task.task_id are not taken") {
  const std::vector<std::string> records = {
      // "type":"LAUNCH" nested, the event itself a KILL.
      R"({"type":"KILL","kill":{"task_id":{"value":"k1"}},"launch":{"task":{"task_id":{"value":"x"},"type":"LAUNCH"}}})",
      // a task_id in the wrong place: directly under launch.
      R"({"type":"LAUNCH","launch":{"task_id":{"value":"wrong"},"task":{"name":"n"}}})",
      // the text of a field that merely contains the pattern.
      R"({"type":"LAUNCH","launch":{"task":{"name":"\"task_id\":{\"value\":\"evil\"}","data":"QQ=="}}})",
      // bad escapes and a lone surrogate in the id.
      R"({"type":"LAUNCH","launch":{"task":{"task_id":{"value":"a\qb"}}}})",
      R"({"type":"LAUNCH","launch":{"task":{"task_id":{"value":"a\udc00b"}}}})",
      R"({"type":"LAUNCH","launch":{"task":{"task_id":{"value":"a\ud800"}}}})",
      // a raw control character inside a string: not JSON.
      std::string(R"({"type":"LAUNCH","launch":{"task":{"task_id":{"value":"a)") + "\n" + R"(b"}}}})",
      // an unknown type name.
      R"({"type":"LAUNCHED","launch":{"task":{"task_id":{"value":"x"}}}})",
      // mismatched brackets before the id.
      R"({"type":"LAUNCH","launch":{"task":{"labels":[}],"task_id":{"value":"x"}}}})",
  };
  for (const auto& r : records) {
    INFO(r);
    CHECK_FALSE(peek_launch_task_id(Encoding::Json, r).has_value());
  }
  CHECK(peek_event(Encoding::Json, records[0]).type == "KILL");
  CHECK_FALSE(peek_event(Encoding::Json, records[7]).type.has_value());
}

TEST_CASE("Peek protobuf: fields in any order, repeated ones merged, garbage refused") {
  v1::executor::Event type_only;
  type_only.set_type(v1::executor::Event::LAUNCH);
  v1::executor::Event launch_only = big_launch("first", 5);
  launch_only.clear_type();
  // launch before type, as protobuf allows.
  CHECK(peek_launch_task_id(Encoding::Protobuf, launch_only.SerializeAsString() + type_only.SerializeAsString()) ==
        "first");
  // a second launch field merges into the first: its task id wins, as in a full parse.
  v1::executor::Event second = big_launch("second", 5);
  const std::string merged = launch_only.SerializeAsString() + second.SerializeAsString();
  v1::executor::Event full;
  REQUIRE(full.ParseFromString(merged));
  CHECK(peek_launch_task_id(Encoding::Protobuf, merged) == full.launch().task().task_id().value());
  // Not a LAUNCH without a type.
  CHECK_FALSE(peek_launch_task_id(Encoding::Protobuf, launch_only.SerializeAsString()));
  // An unknown type number leaves the type unread.
  CHECK_FALSE(peek_event(Encoding::Protobuf, std::string("\x08\x63", 2)).type.has_value());

  const std::vector<std::string> garbage = {
      std::string("\x08", 1),                                               // a key without its varint
      std::string("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12),  // an 11-byte varint
      std::string("\x00\x01", 2),                                           // field number 0
      std::string("\x0b\x0c", 2),                                           // a group
      std::string(64, '\xff'),
  };
  for (const auto& g : garbage) {
    const auto p = peek_event(Encoding::Protobuf, g);
    CHECK_FALSE(p.task_id.has_value());
  }
  // A length far past the prefix: the walk goes inside and stops at the end of the bytes.
  std::string lying = type_only.SerializeAsString() + std::string("\x22\xff\xff\xff\xff\x0f\x0a\x05", 8);
  CHECK_FALSE(peek_launch_task_id(Encoding::Protobuf, lying));
}
