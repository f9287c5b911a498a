// Throw-away keys and certificates made with the `openssl` command, for the TLS tests: a folder of
// CAs and certificates signed by them, removed at the end.
#pragma once

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

#include "util/subprocess.h"

namespace testing_support {

// Runs a command; fails the test (with its output) unless it exits 0.
inline void run_ok(const std::vector<std::string>& argv) {
  auto r = util::run_program(argv, "", std::chrono::seconds(60));
  REQUIRE(r);
  INFO(r->out << r->err);
  REQUIRE(r->exit_code == 0);
}

// In `dir`: <name>.pem, the certificate, and <name>-key.pem, its key (unencrypted), for each CA and
// certificate made.
class TestPki {
 public:
  enum class KeyType { rsa, ec };  // RSA 2048 or EC P-256

  explicit TestPki(const std::string& prefix, KeyType type = KeyType::rsa) : type_(type) {
    std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "XXXXXX")).string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    dir = tmpl;
  }
  ~TestPki() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  std::string path(const std::string& name) const { return dir + "/" + name; }
  std::string cert(const std::string& name) const { return path(name + ".pem"); }
  std::string key(const std::string& name) const { return path(name + "-key.pem"); }

  // A self-signed CA, valid for a day.
  void ca(const std::string& name, const std::string& common_name) {
    std::vector<std::string> argv = {"openssl", "req", "-x509"};
    add_new_key(argv);
    argv.insert(argv.end(),
                {"-nodes", "-days", "1", "-subj", "/CN=" + common_name, "-keyout", key(name), "-out", cert(name)});
    run_ok(argv);
  }

  // A certificate for `common_name` signed by the CA `issuer`, valid for a day, with one line of
  // X.509 v3 extensions ("subjectAltName=IP:127.0.0.1", "extendedKeyUsage=clientAuth").
  void sign(const std::string& name, const std::string& issuer, const std::string& common_name,
            const std::string& extension) {
    std::vector<std::string> argv = {"openssl", "req"};
    add_new_key(argv);
    argv.insert(argv.end(),
                {"-nodes", "-subj", "/CN=" + common_name, "-keyout", key(name), "-out", path(name + ".csr")});
    run_ok(argv);
    std::ofstream(path(name + ".ext")) << extension << "\n";
    run_ok({"openssl", "x509", "-req", "-in", path(name + ".csr"), "-CA", cert(issuer), "-CAkey", key(issuer),
            "-CAcreateserial", "-days", "1", "-extfile", path(name + ".ext"), "-out", cert(name)});
  }

  std::string dir;

 private:
  void add_new_key(std::vector<std::string>& argv) const {
    if (type_ == KeyType::rsa) {
      argv.insert(argv.end(), {"-newkey", "rsa:2048"});
    } else {
      argv.insert(argv.end(), {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"});
    }
  }

  KeyType type_;
};

}  // namespace testing_support
