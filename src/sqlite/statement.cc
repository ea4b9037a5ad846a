// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.

#include "sqlite/statement.h"

#include <string>

#include "sqlite/sqlite_status.h"

namespace ambervault::sqlite {

namespace {
// A non-null pointer for empty values: sqlite3_bind_blob with a null
// pointer binds NULL, which NOT NULL columns reject.
constexpr char kEmpty[] = "";
}  // namespace

Status Statement::BindResult(int rc, int index) {
  if (rc == SQLITE_OK) return Status::OK();
  return FromSqlite(rc, db_, "bind parameter " + std::to_string(index));
}

Status Statement::BindBlob(int index, std::string_view value) {
  const char* data = value.data() != nullptr ? value.data() : kEmpty;
  return BindResult(sqlite3_bind_blob64(stmt_, index, data, value.size(),
                                        SQLITE_STATIC),
                    index);
}

Status Statement::BindText(int index, std::string_view value) {
  const char* data = value.data() != nullptr ? value.data() : kEmpty;
  return BindResult(sqlite3_bind_text64(stmt_, index, data, value.size(),
                                        SQLITE_STATIC, SQLITE_UTF8),
                    index);
}

Status Statement::BindInt64(int index, int64_t value) {
  return BindResult(sqlite3_bind_int64(stmt_, index, value), index);
}

Status Statement::BindZeroBlob(int index, int64_t size) {
  return BindResult(sqlite3_bind_zeroblob64(stmt_, index, size), index);
}

Result<bool> Statement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return FromSqlite(rc, db_, "");
}

Status Statement::Exec() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_DONE) return Status::OK();
  if (rc == SQLITE_ROW) {
    return Status::Internal(std::string("statement returned a row: ") + sql());
  }
  return FromSqlite(rc, db_, "");
}

std::string_view Statement::ColumnBlob(int index) const {
  const void* data = sqlite3_column_blob(stmt_, index);
  int size = sqlite3_column_bytes(stmt_, index);
  if (data == nullptr) return std::string_view();
  return std::string_view(static_cast<const char*>(data),
                          static_cast<size_t>(size));
}

int64_t Statement::ColumnInt64(int index) const {
  return sqlite3_column_int64(stmt_, index);
}

bool Statement::ColumnIsNull(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

}  // namespace ambervault::sqlite
