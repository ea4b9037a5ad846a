// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// Status and Result<T>: how every fallible AmberVault call reports failure.
//
// No AmberVault function throws across the public API (std::bad_alloc aside).
// A call returns a Status (success or an error code plus a message) or a
// Result<T> (a value or an error Status). An OK Status holds no allocation,
// so success costs one pointer compare.
//
// Errors that come from SQLite keep SQLite's extended result code
// (sqlite_code()) and its message text, so "database is locked" or
// "file is not a database" reach the user verbatim.
//
// Thread safety: a Status or Result is a value type; distinct objects may be
// used from distinct threads, one object needs external synchronization.

#ifndef AMBERVAULT_INCLUDE_AMBERVAULT_STATUS_H_
#define AMBERVAULT_INCLUDE_AMBERVAULT_STATUS_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "ambervault/export.h"

namespace ambervault {

class AMBERVAULT_EXPORT Status {
 public:
  // The error categories. Bindings map each one to one exception type.
  enum class Code : int {
    kOk = 0,
    kNotFound = 1,         // a key (or other named object) does not exist
    kInvalidArgument = 2,  // the caller passed something unusable
    kBusy = 3,             // SQLITE_BUSY/LOCKED after all retries
    kIOError = 4,          // SQLITE_IOERR, SQLITE_CANTOPEN, a failing reader
    kCorruption = 5,       // SQLITE_CORRUPT, SQLITE_NOTADB
    kDiskFull = 6,         // SQLITE_FULL
    kReadOnly = 7,         // SQLITE_READONLY
    kConstraint = 8,       // SQLITE_CONSTRAINT
    kClosed = 9,           // the object was closed
    kNotSupported = 10,    // a feature this build or file does not offer
    kInternal = 11,        // anything else SQLite reports (SQLITE_ERROR, ...)
    kOutOfRange = 12,      // a number outside what the target type holds
  };

  // Creates an OK status.
  Status() noexcept = default;
  Status(const Status& other);
  Status& operator=(const Status& other);
  Status(Status&& other) noexcept = default;
  Status& operator=(Status&& other) noexcept = default;
  ~Status() = default;

  static Status OK() { return Status(); }
  static Status NotFound(std::string_view msg) {
    return Status(Code::kNotFound, msg);
  }
  static Status InvalidArgument(std::string_view msg) {
    return Status(Code::kInvalidArgument, msg);
  }
  static Status Busy(std::string_view msg) { return Status(Code::kBusy, msg); }
  static Status IOError(std::string_view msg) {
    return Status(Code::kIOError, msg);
  }
  static Status Corruption(std::string_view msg) {
    return Status(Code::kCorruption, msg);
  }
  static Status DiskFull(std::string_view msg) {
    return Status(Code::kDiskFull, msg);
  }
  static Status ReadOnly(std::string_view msg) {
    return Status(Code::kReadOnly, msg);
  }
  static Status Constraint(std::string_view msg) {
    return Status(Code::kConstraint, msg);
  }
  static Status Closed(std::string_view msg) {
    return Status(Code::kClosed, msg);
  }
  static Status NotSupported(std::string_view msg) {
    return Status(Code::kNotSupported, msg);
  }
  static Status OutOfRange(std::string_view msg) {
    return Status(Code::kOutOfRange, msg);
  }
  static Status Internal(std::string_view msg) {
    return Status(Code::kInternal, msg);
  }

  // An error with an explicit code and the SQLite extended result code that
  // caused it (0 when SQLite was not involved).
  Status(Code code, std::string_view msg, int sqlite_code = 0);

  bool ok() const { return state_ == nullptr; }
  Code code() const { return state_ ? state_->code : Code::kOk; }
  // The SQLite extended result code behind this error, or 0.
  int sqlite_code() const { return state_ ? state_->sqlite_code : 0; }
  // The message alone ("" for OK).
  const std::string& message() const;

  bool IsNotFound() const { return code() == Code::kNotFound; }
  bool IsInvalidArgument() const { return code() == Code::kInvalidArgument; }
  bool IsBusy() const { return code() == Code::kBusy; }
  bool IsIOError() const { return code() == Code::kIOError; }
  bool IsCorruption() const { return code() == Code::kCorruption; }
  bool IsDiskFull() const { return code() == Code::kDiskFull; }
  bool IsReadOnly() const { return code() == Code::kReadOnly; }
  bool IsConstraint() const { return code() == Code::kConstraint; }
  bool IsClosed() const { return code() == Code::kClosed; }
  bool IsNotSupported() const { return code() == Code::kNotSupported; }
  bool IsOutOfRange() const { return code() == Code::kOutOfRange; }

  // "OK", or "<Code name>: <message>".
  std::string ToString() const;

  // Returns a copy whose message is "<context>: <message>" (OK stays OK).
  Status WithContext(std::string_view context) const;

  static const char* CodeName(Code code);

 private:
  struct State {
    Code code;
    int sqlite_code;
    std::string message;
  };
  std::unique_ptr<State> state_;
};

// Either a value of type T or an error Status. Access the value only after
// checking ok(); value() on an error is a programming error (asserts).
template <typename T>
class Result {
 public:
  // Implicit so that functions can `return value;` or `return status;`.
  Result(T value) : value_(std::move(value)) {}  // NOLINT
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    // A Result built from a Status must carry an error.
    if (status_.ok()) status_ = Status::Internal("Result built from OK status");
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const& { return status_; }
  Status status() && { return std::move(status_); }

  // REQUIRES: ok()
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T&& operator*() && { return std::move(*value_); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace ambervault

// Returns early from the enclosing function when `expr` (a Status) is an
// error.
#define AMBERVAULT_RETURN_IF_ERROR(expr)              \
  do {                                                \
    ::ambervault::Status _av_status = (expr);         \
    if (!_av_status.ok()) return _av_status;          \
  } while (0)

#define AMBERVAULT_CONCAT_INNER_(a, b) a##b
#define AMBERVAULT_CONCAT_(a, b) AMBERVAULT_CONCAT_INNER_(a, b)

// `AMBERVAULT_ASSIGN_OR_RETURN(auto x, MakeX());` unpacks a Result or returns
// its error Status.
#define AMBERVAULT_ASSIGN_OR_RETURN(lhs, expr)                              \
  auto AMBERVAULT_CONCAT_(_av_result_, __LINE__) = (expr);                  \
  if (!AMBERVAULT_CONCAT_(_av_result_, __LINE__).ok())                      \
    return std::move(AMBERVAULT_CONCAT_(_av_result_, __LINE__)).status();   \
  lhs = std::move(AMBERVAULT_CONCAT_(_av_result_, __LINE__)).value()

#endif  // AMBERVAULT_INCLUDE_AMBERVAULT_STATUS_H_
