// Finding our service's status in Sidecar's state.json without building the document: one pass of a
// strict JSON reader that only remembers Servers[<host>].Services[<id12>].Status, and stops as soon
// as it has it. The document can be megabytes (every host of the cluster); the pass runs on every
// poll, so it is a short loop of its own rather than a general JSON library's parser.
#pragma once

#include <string>
#include <string_view>

namespace sidecar {

// Sidecar's service statuses (service/service.go).
enum class Status : int { Alive = 0, Tombstone = 1, Unhealthy = 2, Unknown = 3, Draining = 4 };
const char* to_string(Status s);

struct Lookup {
  enum class Kind : unsigned char { Found, NoHost, NoService, NoStatus, Invalid };
  Kind kind = Kind::Invalid;
  int status = -1;    // Found: Sidecar's Status number
  std::string error;  // Invalid: why ("not JSON at byte 12: expected ':'")
  // NoStatus: our service's Status is there but neither an integer nor null (a string, a fraction,
  // an object…). The Go executor's typed decoding refuses such a document; a missing or null Status
  // it reads as 0 (ALIVE).
  bool status_not_integer = false;
};

Lookup find_service_status(std::string_view document, std::string_view host, std::string_view service_id);

}  // namespace sidecar
