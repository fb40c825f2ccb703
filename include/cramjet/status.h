// cramjet/status.h — error values used by every cramjet function.
//
// Library code never exits or prints: a function that can fail returns Status (no value) or
// StatusOr<T> (a value or the error). Both are [[nodiscard]]. The message of an error names the
// file and, where there is one, the record or line, so the CLI can print it as is.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace cramjet {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,    // bad option or usage
  kNotFound,           // a file or object that must exist does not
  kBadInput,           // malformed input data (FASTQ/SAM/BAM/CRAM/config)
  kIoError,            // read/write/fsync/rename failed (disk full, permissions)
  kDataLoss,           // verification found a difference: output does not match input
  kFailedPrecondition, // state does not allow the operation (stale index, wrong reference)
  kUnavailable,        // a remote service or device is not reachable (retryable)
  kAborted,            // stopped on request (signal, drain)
  kUnimplemented,      // not available in this build or on this machine
  kInternal,           // a bug
};

// Name of a code, e.g. "bad input".
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "<code name>: <message>", or "ok".
  std::string ToString() const;
  // Returns a copy with "context: " put before the message (no-op on ok).
  Status WithContext(std::string_view context) const;
  // Explicitly discards a status where failure is acceptable (e.g. best-effort cleanup).
  void IgnoreError() const {}

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status BadInput(std::string m) { return {StatusCode::kBadInput, std::move(m)}; }
inline Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
inline Status DataLoss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
inline Status FailedPrecondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status Aborted(std::string m) { return {StatusCode::kAborted, std::move(m)}; }
inline Status Unimplemented(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
// An IoError whose message ends with strerror(errno_value).
Status IoErrorFromErrno(std::string_view what, int errno_value);

template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(Status status) : value_(std::move(status)) {}  // must not be ok
  StatusOr(T value) : value_(std::move(value)) {}

  bool ok() const { return std::holds_alternative<T>(value_); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(value_); }
  T& value() & { return std::get<T>(value_); }
  const T& value() const& { return std::get<T>(value_); }
  T&& value() && { return std::get<T>(std::move(value_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<Status, T> value_;
};

}  // namespace cramjet

#define CRAMJET_CONCAT_INNER_(a, b) a##b
#define CRAMJET_CONCAT_(a, b) CRAMJET_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function if `expr` is not ok.
#define CRAMJET_RETURN_IF_ERROR(expr)                      \
  do {                                                     \
    ::cramjet::Status cramjet_status_ = (expr);            \
    if (!cramjet_status_.ok()) return cramjet_status_;     \
  } while (0)

// `lhs = value of expr`, or returns its status from the enclosing function.
#define CRAMJET_ASSIGN_OR_RETURN(lhs, expr) \
  CRAMJET_ASSIGN_OR_RETURN_IMPL_(CRAMJET_CONCAT_(cramjet_statusor_, __LINE__), lhs, expr)
#define CRAMJET_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return tmp.status();                  \
  lhs = std::move(tmp).value()
