// SAX lookup in state.json.
#include "sidecar/state_doc.h"

#include <climits>

#include <nlohmann/json.hpp>

#include <vector>

namespace sidecar {

const char* to_string(Status s) {
  switch (s) {
    case Status::Alive: return "ALIVE";
    case Status::Tombstone: return "TOMBSTONE";
    case Status::Unhealthy: return "UNHEALTHY";
    case Status::Unknown: return "UNKNOWN";
    case Status::Draining: return "DRAINING";
  }
  return "?";
}

namespace {

// Path of object keys from the root; arrays push an empty key so depths stay aligned.
class Finder : public nlohmann::json::json_sax_t {
 public:
  Finder(std::string_view host, std::string_view id) : host_(host), id_(id) {}

  bool null() override { return true; }
  bool boolean(bool) override { return not_integer(); }
  // Statuses are small numbers: anything outside int's range is no status at all (found by fuzzing).
  bool number_integer(number_integer_t v) override { return number(v >= 0 && v <= INT_MAX ? static_cast<int>(v) : -1); }
  bool number_unsigned(number_unsigned_t v) override { return number(v <= INT_MAX ? static_cast<int>(v) : -1); }
  bool number_float(number_float_t, const string_t&) override { return not_integer(); }
  bool string(string_t&) override { return not_integer(); }
  bool binary(binary_t&) override { return not_integer(); }
  bool start_object(std::size_t) override {
    not_integer();
    path_.push_back(pending_key_);
    pending_key_.clear();
    if (at({"Servers", host_})) host_seen_ = true;
    if (at({"Servers", host_, "Services", id_})) service_seen_ = true;
    return true;
  }
  bool end_object() override {
    path_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override {
    not_integer();
    path_.push_back(pending_key_);
    pending_key_.clear();
    return true;
  }
  bool end_array() override {
    path_.pop_back();
    return true;
  }
  bool key(string_t& k) override {
    pending_key_ = k;
    return true;
  }
  bool parse_error(std::size_t pos, const std::string&, const nlohmann::detail::exception& e) override {
    error_ = e.what();
    (void)pos;
    return false;
  }

  bool found() const { return found_; }
  int status() const { return status_; }
  bool host_seen() const { return host_seen_; }
  bool service_seen() const { return service_seen_; }
  bool status_not_integer() const { return status_not_integer_; }
  const std::string& error() const { return error_; }

 private:
  // path_ = [root "", "Servers", host, "Services", id] for the service object.
  bool at(std::initializer_list<std::string_view> want) const {
    if (path_.size() != want.size() + 1) return false;
    std::size_t i = 1;
    for (auto w : want) {
      if (path_[i++] != w) return false;
    }
    return true;
  }
  bool at_our_status() const { return pending_key_ == "Status" && at({"Servers", host_, "Services", id_}); }
  // A value of another type than integer at our Status: noted, and the pass goes on.
  bool not_integer() {
    if (at_our_status()) status_not_integer_ = true;
    return true;
  }
  bool number(int v) {  // v < 0: out of range
    if (at_our_status()) {
      if (v < 0) {
        error_ = "our service's Status is out of range";
        return false;  // stop: the document says nothing usable about us
      }
      status_ = v;
      found_ = true;
      return false;  // all we need: stop here
    }
    return true;
  }

  std::string_view host_, id_;
  std::vector<std::string> path_;
  std::string pending_key_;
  bool found_ = false, host_seen_ = false, service_seen_ = false, status_not_integer_ = false;
  int status_ = -1;
  std::string error_;
};

}  // namespace

Lookup find_service_status(std::string_view document, std::string_view host, std::string_view service_id) {
  Finder f(host, service_id);
  Lookup out;
  const bool complete = nlohmann::json::sax_parse(document, &f);
  if (f.found()) {
    out.kind = Lookup::Kind::Found;
    out.status = f.status();
    return out;
  }
  if (!complete) {
    out.kind = Lookup::Kind::Invalid;
    out.error = f.error().empty() ? "not a JSON document" : f.error();
    return out;
  }
  out.kind = !f.host_seen()      ? Lookup::Kind::NoHost
             : !f.service_seen() ? Lookup::Kind::NoService
                                 : Lookup::Kind::NoStatus;
  out.status_not_integer = out.kind == Lookup::Kind::NoStatus && f.status_not_integer();
  return out;
}

}  // namespace sidecar
