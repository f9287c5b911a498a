// Log formatting.
#include "app/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <string_view>

#include "util/http_safe.h"
#include "util/secrets.h"

namespace app {
namespace {

// %j: the message as a JSON string (quotes included), escaped for any bytes, secrets scrubbed.
class JsonMessageFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const std::string text =
        nlohmann::json(util::scrub_secrets(std::string_view(msg.payload.data(), msg.payload.size())))
            .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonMessageFlag>(); }
};

// %q: the message on one line — control characters written as \xNN, so that a task id or image name
// holding CR/LF cannot forge a line — with secrets scrubbed.
class TextMessageFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const std::string text =
        util::escape_control_chars(util::scrub_secrets(std::string_view(msg.payload.data(), msg.payload.size())));
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<TextMessageFlag>(); }
};

}  // namespace

void setup_logging(const settings::Settings& s) {
  auto logger = spdlog::stderr_logger_mt("sidecar-executor");
  if (s.json_logs) {
    auto f = std::make_unique<spdlog::pattern_formatter>();
    f->add_flag<JsonMessageFlag>('j').set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","msg":%j})");
    logger->set_formatter(std::move(f));
  } else {
    auto f = std::make_unique<spdlog::pattern_formatter>();
    f->add_flag<TextMessageFlag>('q').set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %q");
    logger->set_formatter(std::move(f));
  }
  logger->set_level(s.debug ? spdlog::level::debug : spdlog::level::info);
  logger->flush_on(spdlog::level::debug);
  spdlog::set_default_logger(logger);
}

}  // namespace app
