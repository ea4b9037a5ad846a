// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.

#include "ambervault/status.h"

namespace ambervault {

namespace {
const std::string& EmptyString() {
  static const std::string* empty = new std::string();
  return *empty;
}
}  // namespace

Status::Status(Code code, std::string_view msg, int sqlite_code) {
  if (code != Code::kOk) {
    state_ = std::make_unique<State>(State{code, sqlite_code, std::string(msg)});
  }
}

Status::Status(const Status& other)
    : state_(other.state_ ? std::make_unique<State>(*other.state_) : nullptr) {}

Status& Status::operator=(const Status& other) {
  if (this != &other) {
    state_ = other.state_ ? std::make_unique<State>(*other.state_) : nullptr;
  }
  return *this;
}

const std::string& Status::message() const {
  return state_ ? state_->message : EmptyString();
}

const char* Status::CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "OK";
    case Code::kNotFound: return "NotFound";
    case Code::kInvalidArgument: return "InvalidArgument";
    case Code::kBusy: return "Busy";
    case Code::kIOError: return "IOError";
    case Code::kCorruption: return "Corruption";
    case Code::kDiskFull: return "DiskFull";
    case Code::kReadOnly: return "ReadOnly";
    case Code::kConstraint: return "Constraint";
    case Code::kClosed: return "Closed";
    case Code::kNotSupported: return "NotSupported";
    case Code::kInternal: return "Internal";
    case Code::kOutOfRange: return "OutOfRange";
  }
  return "Unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out = CodeName(state_->code);
  out += ": ";
  out += state_->message;
  return out;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return Status();
  std::string msg(context);
  msg += ": ";
  msg += state_->message;
  return Status(state_->code, msg, state_->sqlite_code);
}

}  // namespace ambervault
