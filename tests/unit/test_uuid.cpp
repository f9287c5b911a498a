// UUID generation.
#include <catch2/catch.hpp>

#include <set>

#include "util/uuid.h"

TEST_CASE("UUIDv5 in the nil namespace matches the RFC 4122 construction") {
  // Reference values computed with Python's uuid.uuid5(uuid.UUID(int=0), name).
  const util::UuidBytes nil{};
  CHECK(util::uuid_to_string(util::uuid_v5(nil, "task-1")) == "491f4d69-d3cd-5c35-8b89-71bfec60409e");
  CHECK(util::uuid_to_string(util::uuid_v5(nil, "web.1700000000-1")) == "cee2a29c-9e77-5932-8968-962eadcacd4f");
}

TEST_CASE("Random UUIDs are version 4, variant 1, and distinct") {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto u = util::random_uuid();
    CHECK((u[6] >> 4) == 4);
    CHECK((u[8] & 0xC0) == 0x80);
    seen.insert(util::uuid_to_string(u));
  }
  CHECK(seen.size() == 1000);
}

TEST_CASE("Raw uuid bytes print in canonical form") {
  auto u = util::uuid_v5(util::UuidBytes{}, "task-1");
  CHECK(util::uuid_bytes_to_string(util::uuid_as_bytes(u)) == "491f4d69-d3cd-5c35-8b89-71bfec60409e");
  CHECK(util::uuid_bytes_to_string("\x01\xff") == "01ff");
}
