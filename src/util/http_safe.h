// Defence in depth for every HTTP client of the program (Docker, Vault, Sidecar, the agent, the
// master): a request line or header value holding CR, LF or another control character would let
// whoever chose that text write a second request or header. Such a request is refused before
// anything is sent.
#pragma once

#include <string>
#include <string_view>

#include "util/result.h"

namespace util {

// True when `text` has a byte below 0x20 or 0x7f (tab included: none of our request lines or
// header values needs one).
bool has_control_chars(std::string_view text);

// `text` with each control character written as \xNN, for error messages and log lines.
std::string escape_control_chars(std::string_view text);

// `text` with every byte but RFC 3986's unreserved characters (letters, digits, - . _ ~) and those in
// `keep` written as %XX (upper-case hex): for URL path segments and query values.
std::string percent_escape(std::string_view text, std::string_view keep = {});

// Error naming `what` (e.g. "request path", "header X-Vault-Token") when `text` has a control
// character; the text itself is not repeated for headers (it may be a secret).
Result<void> check_http_text(std::string_view what, std::string_view text, bool show_text = true);

}  // namespace util
