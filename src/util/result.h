// Errors as values: Result<T> holds either a T or an Error: a human-readable message that carries
// its context ("create container mesos-…: 409 Conflict: name already in use") and a kind, so that a
// caller can tell "the server said 404" from "no answer at all" without parsing the message.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace util {

enum class ErrorKind : unsigned char {
  Failed,       // anything else (bad input, a local failure)
  Refused,      // refused here, before any request (a name or id that cannot be sent)
  Unreachable,  // no answer: connection refused or lost, timeout
  Status,       // the server answered with a status the call does not accept (`status` holds it)
  Stream,       // the server accepted the call, then reported an error inside its answer (a pull)
};

struct Error {
  std::string message;
  ErrorKind kind = ErrorKind::Failed;
  int status = 0;  // the HTTP status when kind == Status

  bool is_status(int s) const { return kind == ErrorKind::Status && status == s; }
  bool not_found() const { return is_status(404); }
  // Worth another attempt later: no answer, or the server failing (5xx).
  bool transient() const { return kind == ErrorKind::Unreachable || (kind == ErrorKind::Status && status >= 500); }
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<Error>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit by design

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

inline Error make_error(std::string message, ErrorKind kind = ErrorKind::Failed) {
  return Error{std::move(message), kind, 0};
}
inline Error status_error(std::string message, int status) {
  return Error{std::move(message), ErrorKind::Status, status};
}

}  // namespace util
