// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// Transaction: a scoped SQLite transaction. Begin() with kImmediate takes
// the write lock up front (BEGIN IMMEDIATE), so a writer never upgrades a
// read snapshot (which could fail with SQLITE_BUSY_SNAPSHOT half way).
// Destroying an uncommitted Transaction rolls it back.
//
// Thread safety: as the Connection.

#ifndef AMBERVAULT_SRC_SQLITE_TRANSACTION_H_
#define AMBERVAULT_SRC_SQLITE_TRANSACTION_H_

#include "ambervault/status.h"
#include "sqlite/connection.h"

namespace ambervault::sqlite {

class Transaction {
 public:
  enum class Mode { kDeferred, kImmediate };

  // Starts a transaction. REQUIRES: no transaction is open on `conn`.
  static Result<Transaction> Begin(Connection* conn, Mode mode);

  Transaction(Transaction&& other) noexcept
      : conn_(other.conn_), open_(other.open_) {
    other.open_ = false;
  }
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  ~Transaction() { Rollback(); }

  // Commits. On failure the transaction is rolled back.
  Status Commit();
  // Rolls back if still open; idempotent.
  void Rollback();

 private:
  explicit Transaction(Connection* conn) : conn_(conn), open_(true) {}
  Connection* conn_;
  bool open_;
};

}  // namespace ambervault::sqlite

#endif  // AMBERVAULT_SRC_SQLITE_TRANSACTION_H_
