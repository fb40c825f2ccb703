#include "cramjet/status.h"

#include <cstring>

namespace cramjet {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kInvalidArgument: return "invalid argument";
    case StatusCode::kNotFound: return "not found";
    case StatusCode::kBadInput: return "bad input";
    case StatusCode::kIoError: return "I/O error";
    case StatusCode::kDataLoss: return "verification failed";
    case StatusCode::kFailedPrecondition: return "failed precondition";
    case StatusCode::kUnavailable: return "unavailable";
    case StatusCode::kAborted: return "aborted";
    case StatusCode::kUnimplemented: return "unimplemented";
    case StatusCode::kInternal: return "internal error";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(StatusCodeName(code_)) + ": " + message_;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  return Status(code_, std::string(context) + ": " + message_);
}

Status IoErrorFromErrno(std::string_view what, int errno_value) {
  return IoError(std::string(what) + ": " + std::strerror(errno_value));
}

}  // namespace cramjet
