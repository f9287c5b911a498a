// Log formatting.
#include "app/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>

#include "util/http_safe.h"
#include "util/secrets.h"
#include "util/utf8.h"
#include "version.h"

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

// %Z: the zone of an RFC 3339 time as Go writes it: "Z" for UTC, else "+hh:mm".
class Rfc3339ZoneFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm& tm, spdlog::memory_buf_t& dest) override {
    const std::string zone = rfc3339_zone(tm.tm_gmtoff);
    dest.append(zone.data(), zone.data() + zone.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<Rfc3339ZoneFlag>(); }
};

// %Q: the message as logrus's TextFormatter writes a value: bare when it holds only [A-Za-z0-9-._/@^+],
// else quoted as Go's %q; secrets scrubbed first.
class LogrusMessageFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const std::string text =
        logrus_value(util::scrub_secrets(std::string_view(msg.payload.data(), msg.payload.size())));
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<LogrusMessageFlag>(); }
};

}  // namespace

std::string rfc3339_zone(long gmtoff_seconds) {
  if (gmtoff_seconds == 0) return "Z";
  const char sign = gmtoff_seconds < 0 ? '-' : '+';
  const long minutes = (gmtoff_seconds < 0 ? -gmtoff_seconds : gmtoff_seconds) / 60;
  return fmt::format("{}{:02}:{:02}", sign, minutes / 60, minutes % 60);
}

std::string logrus_value(std::string_view text) {
  const bool bare = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '/' || c == '@' || c == '^' || c == '+';
  });
  if (bare) return std::string(text);
  return go_quote(text);
}

// Go's strconv.Quote: printable runes as they are, \a \b \f \n \r \t \v \\ \" escaped, other
// control bytes as \xNN, invalid UTF-8 bytes as \xNN, non-printable runes as \uNNNN.
std::string go_quote(std::string_view text) {
  std::string out = "\"";
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      switch (c) {
        case '\a': out += "\\a"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\v': out += "\\v"; break;
        case '\\': out += "\\\\"; break;
        case '"': out += "\\\""; break;
        default:
          if (c < 0x20 || c == 0x7f) {
            out += fmt::format("\\x{:02x}", c);
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    const std::size_t len = util::utf8_sequence_length(p + i, n - i);
    if (len == 0) {
      out += fmt::format("\\x{:02x}", c);
      ++i;
      continue;
    }
    // C1 controls (U+0080..U+009F) are not printable in Go either.
    if (len == 2 && c == 0xC2 && p[i + 1] < 0xA0) {
      out += fmt::format("\\u{:04x}", p[i + 1]);
    } else {
      out.append(text.substr(i, len));
    }
    i += len;
  }
  out += '"';
  return out;
}

void setup_logging(const settings::Settings& s) {
  // stdout, as the Go executor logs (logrus with SetOutput(os.Stdout)); the container's copied failure
  // logs keep going to stdout and stderr as they came.
  auto logger = spdlog::stdout_logger_mt("sidecar-executor");
  if (s.json_logs) {
    auto f = std::make_unique<spdlog::pattern_formatter>();
    f->add_flag<JsonMessageFlag>('j').set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","msg":%j})");
    logger->set_formatter(std::move(f));
  } else {
    // logrus's TextFormatter without a terminal: time="<RFC 3339, seconds>" level=<name> msg=<value>.
    auto f = std::make_unique<spdlog::pattern_formatter>();
    f->add_flag<Rfc3339ZoneFlag>('Z').add_flag<LogrusMessageFlag>('Q').set_pattern(
        R"(time="%Y-%m-%dT%H:%M:%S%Z" level=%l msg=%Q)");
    logger->set_formatter(std::move(f));
  }
  logger->set_level(s.debug ? spdlog::level::debug : spdlog::level::info);
  logger->flush_on(spdlog::level::debug);
  spdlog::set_default_logger(logger);
}

void log_startup(const Site& site, const mesos::AgentEnv& agent) {
  spdlog::info("sidecar-executor {} starting for executor {} of framework {}", SIDECAR_EXECUTOR_VERSION,
               agent.executor_id, agent.framework_id);
  if (!site.file.path.empty()) spdlog::info("site config file {}", site.file.path);
  for (const auto& name : site.settings.from_unprefixed) {
    spdlog::info("EXECUTOR_{} is not set: {} is used instead, as the Go executor does", name, name);
  }
  for (const auto& note : site.locks) {
    spdlog::warn("{} is locked by the site config file: the value in the task's environment is ignored", note.name);
  }
  if (!site.ignored_token_file.empty()) {
    spdlog::warn(
        "VAULT_TOKEN_FILE={} ignored: its folder is not in policy.vault_token_dirs of the site config file "
        "(no Vault token is read from or cached there)",
        site.ignored_token_file);
  }
}

}  // namespace app
