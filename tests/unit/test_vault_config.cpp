// Vault settings from the standard variables, and vault:// references.
#include <catch2/catch.hpp>

#include "vault/vault.h"

TEST_CASE("vault:// references: path, default field, ?key=") {
  auto r = vault::parse_reference("vault://secret/db/pass");
  REQUIRE(r);
  CHECK(r->path == "secret/db/pass");
  CHECK(r->key == "value");
  r = vault::parse_reference("vault://kv/app?key=password");
  REQUIRE(r);
  CHECK(r->path == "kv/app");
  CHECK(r->key == "password");
  r = vault::parse_reference("vault://secret/x/?other=1&key=k");
  REQUIRE(r);
  CHECK(r->path == "secret/x");
  CHECK(r->key == "k");
  CHECK_FALSE(vault::parse_reference("secret/db"));
  CHECK_FALSE(vault::parse_reference("https://vault/x"));
  CHECK_FALSE(vault::parse_reference(""));
}

TEST_CASE("Vault client settings: defaults, values, and errors naming the variable") {
  auto c = vault::config_from_env(util::map_env({}));
  REQUIRE(c);
  CHECK(c->addr == "https://127.0.0.1:8200");
  CHECK(c->max_retries == 2);
  CHECK(c->client_timeout == std::chrono::seconds(60));
  CHECK(c->ttl_s == 86400);
  CHECK_FALSE(c->skip_verify);

  c = vault::config_from_env(util::map_env({{"VAULT_ADDR", "http://vault:8200/"},
                                            {"VAULT_SKIP_VERIFY", "true"},
                                            {"VAULT_MAX_RETRIES", "5"},
                                            {"VAULT_CLIENT_TIMEOUT", "1m30s"},
                                            {"VAULT_TTL", "3600"},
                                            {"VAULT_NAMESPACE", "team"},
                                            {"VAULT_TOKEN_FILE", "/tmp/t"}}));
  REQUIRE(c);
  CHECK(c->addr == "http://vault:8200");
  CHECK(c->skip_verify);
  CHECK(c->max_retries == 5);
  CHECK(c->client_timeout == std::chrono::seconds(90));
  CHECK(c->ttl_s == 3600);
  CHECK(c->namespace_ == "team");
  CHECK(vault::config_from_env(util::map_env({{"VAULT_CLIENT_TIMEOUT", "45"}}))->client_timeout == std::chrono::seconds(45));

  struct Bad {
    const char* var;
    const char* value;
  };
  for (const Bad& b : {Bad{"VAULT_ADDR", "vault:8200"}, Bad{"VAULT_SKIP_VERIFY", "maybe"}, Bad{"VAULT_MAX_RETRIES", "-1"},
                       Bad{"VAULT_CLIENT_TIMEOUT", "soon"}, Bad{"VAULT_TTL", "1d"}}) {
    INFO(b.var << "=" << b.value);
    auto r = vault::config_from_env(util::map_env({{b.var, b.value}}));
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains(b.var));
  }
}

TEST_CASE("No token and no credentials: the Go executor's error, without touching the network") {
  vault::Config cfg;
  cfg.addr = "http://127.0.0.1:1";
  vault::Client client(cfg);
  auto t = vault::obtain_token(client);
  REQUIRE_FALSE(t);
  CHECK_THAT(t.error().message, Catch::Contains("Must set VAULT_USERNAME and VAULT_PASSWORD"));
}
