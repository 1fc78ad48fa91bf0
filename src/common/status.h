// Errors are values on every boundary: bursar::Status and bursar::StatusOr<T>.
//
// The API mirrors absl::Status / absl::StatusOr. It is written here (about 100 lines) because
// Debian 12's Abseil is built with its own string_view/optional types (ABSL_OPTION_USE_STD_*
// = 0), which do not mix with std::string_view in C++20 code.
//
// No exception crosses an area's boundary. Library return codes (libgit2, SQLite, libpq) are
// turned into a Status in one adapter each. Codes and what they map to:
//   kInvalidArgument    bad input from a user (YAML, HTTP body, CSV row)  -> exit 2 / HTTP 400
//   kNotFound           a named thing is missing (revision, route, key)   -> exit 2 / HTTP 404
//   kFailedPrecondition the state forbids it (circuit open, dirty repo)
//   kResourceExhausted  a limit was hit (rate limit, budget, size)        -> HTTP 429 / 413
//   kUnauthenticated    unknown or missing credentials                    -> HTTP 401
//   kUnavailable        an upstream or server could not be reached        -> HTTP 502
//   kDeadlineExceeded   timed out                                         -> HTTP 504
//   kInternal           a bug or a library failure that should not happen -> HTTP 500
// Thread safety: values; copy freely.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace bursar {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kFailedPrecondition,
  kResourceExhausted,
  kUnauthenticated,
  kPermissionDenied,
  kUnavailable,
  kDeadlineExceeded,
  kUnimplemented,
  kInternal,
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "INVALID_ARGUMENT: message", or "OK".
  std::string ToString() const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status OkStatus() { return Status(); }
inline Status InvalidArgumentError(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status NotFoundError(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status AlreadyExistsError(std::string m) {
  return {StatusCode::kAlreadyExists, std::move(m)};
}
inline Status FailedPreconditionError(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}
inline Status ResourceExhaustedError(std::string m) {
  return {StatusCode::kResourceExhausted, std::move(m)};
}
inline Status UnauthenticatedError(std::string m) {
  return {StatusCode::kUnauthenticated, std::move(m)};
}
inline Status PermissionDeniedError(std::string m) {
  return {StatusCode::kPermissionDenied, std::move(m)};
}
inline Status UnavailableError(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status DeadlineExceededError(std::string m) {
  return {StatusCode::kDeadlineExceeded, std::move(m)};
}
inline Status UnimplementedError(std::string m) {
  return {StatusCode::kUnimplemented, std::move(m)};
}
inline Status InternalError(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// Either a T or a non-OK Status. REQUIRES: value() only when ok().
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(const Status& status) : v_(status) { assert(!status.ok()); }  // NOLINT
  StatusOr(Status&& status) : v_(std::move(status)) {}                   // NOLINT
  StatusOr(const T& value) : v_(value) {}                                // NOLINT
  StatusOr(T&& value) : v_(std::move(value)) {}                          // NOLINT
  template <typename U, typename = std::enable_if_t<std::is_constructible_v<T, U&&> &&
                                                    !std::is_same_v<std::decay_t<U>, T> &&
                                                    !std::is_same_v<std::decay_t<U>, Status> &&
                                                    !std::is_same_v<std::decay_t<U>, StatusOr<T>>>>
  StatusOr(U&& value) : v_(T(std::forward<U>(value))) {}  // NOLINT

  bool ok() const { return v_.index() == 1; }
  Status status() const { return ok() ? Status() : std::get<0>(v_); }

  T& value() & { return std::get<1>(v_); }
  const T& value() const& { return std::get<1>(v_); }
  T&& value() && { return std::get<1>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<Status, T> v_;
};

}  // namespace bursar

// Returns the Status of `expr` from the enclosing function when it is not OK.
#define BURSAR_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::bursar::Status bursar_status_ = (expr);        \
    if (!bursar_status_.ok()) return bursar_status_; \
  } while (0)

#define BURSAR_CONCAT_INNER_(a, b) a##b
#define BURSAR_CONCAT_(a, b) BURSAR_CONCAT_INNER_(a, b)
// Assigns the value of StatusOr `rexpr` to `lhs`, or returns its error.
#define BURSAR_ASSIGN_OR_RETURN(lhs, rexpr) \
  BURSAR_ASSIGN_OR_RETURN_IMPL_(BURSAR_CONCAT_(bursar_statusor_, __LINE__), lhs, rexpr)
// `lhs` may be a declaration (`Statement* insert`) and `tmp` is a name, so neither can be put in
// parentheses.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define BURSAR_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                  \
  if (!tmp.ok()) return tmp.status();                  \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)
