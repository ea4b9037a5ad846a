// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// Statement: an owned sqlite3_stmt with typed binds and reads.
//
// Thread safety: none; a Statement belongs to one Connection, which its
// owner serializes.

#ifndef AMBERVAULT_SRC_SQLITE_STATEMENT_H_
#define AMBERVAULT_SRC_SQLITE_STATEMENT_H_

#include <sqlite3.h>

#include <cstdint>
#include <string_view>

#include "ambervault/status.h"

namespace ambervault::sqlite {

class Statement {
 public:
  // Takes ownership of `stmt`, prepared on `db`.
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Binds (1-based index). Blob and text binds do NOT copy: the bytes must
  // stay valid until Reset(). An empty view binds a zero-length blob, never
  // NULL.
  Status BindBlob(int index, std::string_view value);
  Status BindText(int index, std::string_view value);
  Status BindInt64(int index, int64_t value);
  Status BindZeroBlob(int index, int64_t size);

  // Runs one step: true when a row is ready, false when done.
  Result<bool> Step();
  // Runs to completion; a returned row is an error.
  Status Exec();

  // Column reads of the current row (0-based). The view is valid until the
  // next Step() or Reset().
  std::string_view ColumnBlob(int index) const;
  int64_t ColumnInt64(int index) const;
  bool ColumnIsNull(int index) const;

  // Resets the statement and clears its bindings, ready for reuse.
  void Reset();

  const char* sql() const { return sqlite3_sql(stmt_); }
  sqlite3_stmt* raw() const { return stmt_; }

 private:
  Status BindResult(int rc, int index);

  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

// Resets a (cached) statement when the scope ends, so that its read
// transaction and bindings never outlive the use.
class StatementUse {
 public:
  explicit StatementUse(Statement* stmt) : stmt_(stmt) {}
  ~StatementUse() { stmt_->Reset(); }
  StatementUse(const StatementUse&) = delete;
  StatementUse& operator=(const StatementUse&) = delete;
  Statement* operator->() const { return stmt_; }
  Statement& operator*() const { return *stmt_; }

 private:
  Statement* stmt_;
};

}  // namespace ambervault::sqlite

#endif  // AMBERVAULT_SRC_SQLITE_STATEMENT_H_
