// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// Blob: an open handle for SQLite's incremental BLOB I/O, to read or write
// one cell in pieces without holding the whole value in memory.
//
// Thread safety: as the Connection.

#ifndef AMBERVAULT_SRC_SQLITE_BLOB_H_
#define AMBERVAULT_SRC_SQLITE_BLOB_H_

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "ambervault/status.h"
#include "sqlite/connection.h"

namespace ambervault::sqlite {

class Blob {
 public:
  // Opens column `column` of row `rowid` in `table` of the main database.
  static Result<Blob> Open(Connection* conn, const std::string& table,
                           const std::string& column, int64_t rowid,
                           bool writable);

  Blob(Blob&& other) noexcept : conn_(other.conn_), blob_(other.blob_) {
    other.blob_ = nullptr;
  }
  Blob& operator=(Blob&&) = delete;
  Blob(const Blob&) = delete;
  ~Blob() { Close(); }

  int64_t size() const { return sqlite3_blob_bytes(blob_); }
  Status Read(void* buffer, int n, int offset);
  Status Write(const void* data, int n, int offset);
  void Close();

 private:
  Blob(Connection* conn, sqlite3_blob* blob) : conn_(conn), blob_(blob) {}
  Connection* conn_;
  sqlite3_blob* blob_;
};

}  // namespace ambervault::sqlite

#endif  // AMBERVAULT_SRC_SQLITE_BLOB_H_
