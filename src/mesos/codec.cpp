// Protobuf and JSON codecs for executor Calls and Events.
#include "mesos/codec.h"

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

#include <nlohmann/json.hpp>

namespace mesos {

const char* media_type(Encoding e) { return e == Encoding::Json ? "application/json" : "application/x-protobuf"; }

util::Result<std::string> to_json(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  std::string out;
  auto status = google::protobuf::util::MessageToJsonString(m, &out, opts);
  if (!status.ok()) return util::make_error(fmt::format("JSON encoding: {}", status.ToString()));
  return out;
}

util::Result<void> from_json(std::string_view json, google::protobuf::Message& m) {
  google::protobuf::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = true;
  auto status =
      google::protobuf::util::JsonStringToMessage(google::protobuf::StringPiece(json.data(), json.size()), &m, opts);
  if (!status.ok()) return util::make_error(fmt::format("JSON decoding: {}", status.ToString()));
  return {};
}

util::Result<DecodedEvent> decode_event(Encoding e, std::string_view record) {
  DecodedEvent out;
  if (e == Encoding::Protobuf) {
    if (!out.event.ParseFromArray(record.data(), static_cast<int>(record.size()))) {
      return util::make_error(fmt::format("undecodable protobuf Event ({} bytes)", record.size()));
    }
    if (out.event.has_launch() && out.event.launch().has_task()) {
      out.raw_task = out.event.launch().task().SerializeAsString();
    }
    return out;
  }
  if (auto r = from_json(record, out.event); !r) return r.error();
  if (out.event.has_launch()) {
    // Keep the TaskInfo object verbatim: JSON has no unknown-field preservation.
    auto doc = nlohmann::json::parse(record, nullptr, /*allow_exceptions=*/false);
    if (doc.is_object() && doc.contains("launch") && doc["launch"].is_object() && doc["launch"].contains("task")) {
      out.raw_task = doc["launch"]["task"].dump();
    }
  }
  return out;
}

std::optional<UndecodableLaunch> undecodable_json_launch(std::string_view record) {
  const auto doc = nlohmann::json::parse(record, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return std::nullopt;
  const auto type = doc.find("type");
  const auto launch = doc.find("launch");
  if (type == doc.end() || *type != "LAUNCH" || launch == doc.end() || !launch->is_object()) return std::nullopt;
  const auto task = launch->find("task");
  if (task == launch->end() || !task->is_object()) return std::nullopt;
  const auto id = task->find("task_id");
  if (id == task->end() || !id->is_object()) return std::nullopt;
  const auto value = id->find("value");
  if (value == id->end() || !value->is_string() || value->get_ref<const std::string&>().empty()) return std::nullopt;
  return UndecodableLaunch{value->get<std::string>(),
                           task->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

util::Result<std::string> encode_call(Encoding e, const v1::executor::Call& call,
                                      const std::vector<std::string>& raw_tasks) {
  if (e == Encoding::Protobuf) {
    v1::executor::Call copy = call;
    for (const auto& raw : raw_tasks) {
      if (!copy.mutable_subscribe()->add_unacknowledged_tasks()->ParseFromString(raw)) {
        return util::make_error("unacknowledged task is not a protobuf TaskInfo");
      }
    }
    return copy.SerializeAsString();
  }
  auto text = to_json(call);
  if (!text) return text.error();
  if (raw_tasks.empty()) return *text;
  auto doc = nlohmann::json::parse(*text, nullptr, false);
  if (doc.is_discarded()) return util::make_error("JSON encoding of Call produced invalid JSON");
  auto& tasks = doc["subscribe"]["unacknowledged_tasks"];
  if (!tasks.is_array()) tasks = nlohmann::json::array();
  for (const auto& raw : raw_tasks) {
    auto task = nlohmann::json::parse(raw, nullptr, false);
    if (task.is_discarded()) return util::make_error("unacknowledged task is not JSON");
    tasks.push_back(std::move(task));
  }
  return doc.dump();
}

util::Result<v1::executor::Call> decode_call(Encoding e, std::string_view body) {
  v1::executor::Call call;
  if (e == Encoding::Protobuf) {
    if (!call.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
      return util::make_error("Failed to parse body into Call protobuf");
    }
    return call;
  }
  if (auto r = from_json(body, call); !r) return r.error();
  return call;
}

util::Result<std::string> encode_event(Encoding e, const v1::executor::Event& event) {
  if (e == Encoding::Protobuf) return event.SerializeAsString();
  return to_json(event);
}

}  // namespace mesos
