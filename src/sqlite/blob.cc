// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.

#include "sqlite/blob.h"

#include "sqlite/sqlite_status.h"

namespace ambervault::sqlite {

Result<Blob> Blob::Open(Connection* conn, const std::string& table,
                        const std::string& column, int64_t rowid,
                        bool writable) {
  sqlite3_blob* blob = nullptr;
  int rc = sqlite3_blob_open(conn->db(), "main", table.c_str(), column.c_str(),
                             rowid, writable ? 1 : 0, &blob);
  if (rc != SQLITE_OK) {
    sqlite3_blob_close(blob);
    return FromSqlite(rc, conn->db(), "open blob");
  }
  return Blob(conn, blob);
}

Status Blob::Read(void* buffer, int n, int offset) {
  int rc = sqlite3_blob_read(blob_, buffer, n, offset);
  if (rc == SQLITE_OK) return Status::OK();
  return FromSqlite(rc, conn_->db(), "blob read");
}

Status Blob::Write(const void* data, int n, int offset) {
  int rc = sqlite3_blob_write(blob_, data, n, offset);
  if (rc == SQLITE_OK) return Status::OK();
  return FromSqlite(rc, conn_->db(), "blob write");
}

void Blob::Close() {
  if (blob_ != nullptr) {
    sqlite3_blob_close(blob_);
    blob_ = nullptr;
  }
}

}  // namespace ambervault::sqlite
