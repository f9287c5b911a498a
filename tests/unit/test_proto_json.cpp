// The generated JSON mapping of the agent API (tools/gen-proto-json): protobuf's canonical JSON rules,
// as the full protobuf runtime applied them (proto names out, both names in, unknown names skipped).
#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "mesos/codec.h"
#include "proto_json.h"

namespace v1 = ::mesos::v1;
using nlohmann::json;

namespace {
// The printed object as a plain (unordered) JSON value, to compare with expected text.
template <class M>
json printed(const M& m) {
  return json::parse(proto_json::print(m).dump());
}

template <class M>
std::string parse_error(const json& in) {
  M m;
  std::string error;
  REQUIRE_FALSE(proto_json::parse(in, m, error));
  return error;
}
}  // namespace

TEST_CASE("Printed: set fields only, proto names, enum names, 64-bit integers as strings, base64 bytes") {
  v1::TaskStatus s;
  s.mutable_task_id()->set_value("web.1");
  s.set_state(v1::TASK_RUNNING);
  s.set_uuid(std::string("\x00\x01\xfe\xff", 4));
  s.set_timestamp(1.5);
  s.set_healthy(false);
  s.mutable_container_status()->set_executor_pid(42);
  s.mutable_unreachable_time()->set_nanoseconds(-9007199254740993);  // not exact as a double
  const json out = printed(s);
  // Fields come out in field-number order, as protobuf's printer (and the agent) writes them.
  CHECK(proto_json::print(s).dump().rfind(R"({"task_id":{"value":"web.1"},"state":"TASK_RUNNING","timestamp":1.5,)",
                                          0) == 0);
  CHECK(out == json::parse(R"({"task_id":{"value":"web.1"},"state":"TASK_RUNNING","uuid":"AAH+/w==",
    "timestamp":1.5,"healthy":false,"container_status":{"executor_pid":42},
    "unreachable_time":{"nanoseconds":"-9007199254740993"}})"));
  // Unset optional fields and empty lists are left out, defaults included.
  CHECK_FALSE(out.contains("message"));
  CHECK_FALSE(out.contains("labels"));
  CHECK(printed(v1::CommandInfo{}) == json::object());

  v1::Value_Range r;
  r.set_begin(0);
  r.set_end(18446744073709551615u);
  CHECK(printed(r) == json::parse(R"({"begin":"0","end":"18446744073709551615"})"));

  v1::Value_Scalar nan, inf;
  nan.set_value(std::nan(""));
  inf.set_value(-HUGE_VAL);
  CHECK(proto_json::print(nan)["value"] == "NaN");
  CHECK(proto_json::print(inf)["value"] == "-Infinity");
}

TEST_CASE("Printed and parsed back: every kind of field round-trips") {
  v1::TaskInfo t;
  t.set_name("web");
  t.mutable_task_id()->set_value("web.1");
  auto* docker = t.mutable_container()->mutable_docker();
  docker->set_image("127.0.0.1:5000/app:1");
  docker->set_network(v1::ContainerInfo_DockerInfo::BRIDGE);
  auto* pm = docker->add_port_mappings();
  pm->set_host_port(31000);
  pm->set_container_port(80);
  docker->add_parameters()->set_key("label");
  t.mutable_command()->add_arguments("a");
  t.mutable_command()->add_arguments("b");
  t.mutable_command()->set_shell(false);
  auto* r = t.add_resources();
  r->set_name("ports");
  r->set_type(v1::Value::RANGES);
  auto* range = r->mutable_ranges()->add_range();
  range->set_begin(31000);
  range->set_end(31001);
  t.mutable_health_check()->mutable_http()->add_statuses(200);
  t.mutable_health_check()->set_interval_seconds(0.25);
  t.set_data("\x01\x02 binary");
  t.mutable_kill_policy()->mutable_grace_period()->set_nanoseconds(5000000000);
  t.mutable_executor()->mutable_container()->mutable_docker();  // an empty message is still set

  v1::TaskInfo back;
  std::string error;
  REQUIRE(proto_json::parse(printed(t), back, error));
  CHECK(back.SerializeAsString() == t.SerializeAsString());
  CHECK(back.executor().container().has_docker());
}

TEST_CASE("Parsed: JSON names too, unknown names and enum names skipped, null is unset") {
  const json in = json::parse(R"({
    "taskId": {"value": "t1"}, "name": "n", "agent_id": null, "not_a_field": {"deep": [1, 2]},
    "container": {"type": "DOCKER", "docker": {"image": "i", "network": "A_NETWORK_FROM_THE_FUTURE",
      "forcePullImage": true, "portMappings": [{"hostPort": 1, "container_port": "2"}]}},
    "kill_policy": {"grace_period": {"nanoseconds": 3}},
    "health_check": {"type": 2, "delay_seconds": "1.5", "timeout_seconds": "Infinity"}
  })");
  v1::TaskInfo t;
  std::string error;
  REQUIRE(proto_json::parse(in, t, error));
  CHECK(t.task_id().value() == "t1");
  CHECK_FALSE(t.has_agent_id());
  CHECK(t.container().type() == v1::ContainerInfo::DOCKER);
  CHECK_FALSE(t.container().docker().has_network());  // unknown enum name: as if absent
  CHECK(t.container().docker().force_pull_image());
  REQUIRE(t.container().docker().port_mappings_size() == 1);
  CHECK(t.container().docker().port_mappings(0).container_port() == 2);
  CHECK(t.kill_policy().grace_period().nanoseconds() == 3);
  CHECK(t.health_check().type() == v1::HealthCheck::HTTP);  // an enum by number
  CHECK(t.health_check().delay_seconds() == 1.5);
  CHECK(std::isinf(t.health_check().timeout_seconds()));

  v1::Value_Range r;
  REQUIRE(proto_json::parse(json::parse(R"({"begin": 1e3, "end": "18446744073709551615"})"), r, error));
  CHECK(r.begin() == 1000);
  CHECK(r.end() == 18446744073709551615u);

  v1::CommandInfo c;
  REQUIRE(proto_json::parse(json::parse(R"({"uris": [{"value": "u"}], "environment": {"variables": []}})"), c, error));
  CHECK(c.uris_size() == 1);
  CHECK(c.has_environment());

  v1::TaskStatus s;
  REQUIRE(proto_json::parse(json::parse(R"({"uuid": "AAH-_w", "data": ""})"), s, error));  // URL-safe, no padding
  CHECK(s.uuid() == std::string("\x00\x01\xfe\xff", 4));
  CHECK(s.has_data());
}

TEST_CASE("Parsed: a wrong type is an error naming the field") {
  CHECK(parse_error<v1::TaskInfo>(json::parse(R"({"name": 5})")) == "name: expected a string");
  CHECK(
      parse_error<v1::TaskInfo>(json::parse(R"({"container": {"docker": {"port_mappings": [{"host_port": -1}]}}})")) ==
      "container.docker.port_mappings.host_port: expected a non-negative integer in range");
  CHECK(parse_error<v1::AgentInfo>(json::parse(R"({"port": 2147483648})")) == "port: expected an integer in range");
  CHECK(parse_error<v1::AgentInfo>(json::parse(R"({"port": 1.5})")) == "port: expected an integer in range");
  CHECK(parse_error<v1::AgentInfo>(json::parse(R"({"port": "12a"})")) == "port: expected an integer in range");
  CHECK(parse_error<v1::Value_Range>(json::parse(R"({"end": "18446744073709551616"})")) ==
        "end: expected a non-negative integer in range");
  CHECK(parse_error<v1::TaskStatus>(json::parse(R"({"uuid": "not base64!"})")) == "uuid: expected a base64 string");
  CHECK(parse_error<v1::TaskStatus>(json::parse(R"({"healthy": "true"})")) == "healthy: expected true or false");
  CHECK(parse_error<v1::TaskStatus>(json::parse(R"({"state": {}})")) == "state: expected an enum name or number");
  CHECK(parse_error<v1::CommandInfo>(json::parse(R"({"arguments": "a"})")) == "arguments: expected an array");
  CHECK(parse_error<v1::CommandInfo>(json::parse(R"({"arguments": ["a", null]})")) ==
        "arguments: expected no null in a list");
  CHECK(parse_error<v1::TaskInfo>(json::parse(R"([])")) == "the message: expected an object");
  CHECK(parse_error<v1::Value_Scalar>(json::parse(R"({"value": "fast"})")) == "value: expected a number");
}

TEST_CASE("Parsed: nesting is bounded as protobuf's parsers bound it") {
  const auto nested = [](int depth) {
    json in = json::object();
    for (int i = 0; i < depth; ++i) in = json{{"parent", std::move(in)}, {"value", "c"}};
    return in;
  };
  v1::ContainerID ok;
  std::string error;
  CHECK(proto_json::parse(nested(90), ok, error));
  const std::string deep = parse_error<v1::ContainerID>(nested(1000));
  CHECK(deep.find("expected at most 100 nested messages") != std::string::npos);
}

TEST_CASE("The codec's JSON: text that is not JSON, and strings that are not UTF-8") {
  v1::executor::Event e;
  const auto bad = mesos::from_json("{\"type\":", e);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message == "JSON decoding: the text is not JSON");

  v1::TaskStatus s;
  s.set_message(std::string("caf\xc3", 4));  // cut inside a character
  const auto text = mesos::to_json(s);
  REQUIRE(text.ok());
  CHECK(*text == "{\"message\":\"caf\xef\xbf\xbd\"}");
}
