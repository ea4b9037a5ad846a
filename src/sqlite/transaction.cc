// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.

#include "sqlite/transaction.h"

namespace ambervault::sqlite {

Result<Transaction> Transaction::Begin(Connection* conn, Mode mode) {
  conn->EndReadLease();
  AMBERVAULT_ASSIGN_OR_RETURN(
      Statement * stmt,
      conn->Prepare(mode == Mode::kImmediate ? "BEGIN IMMEDIATE" : "BEGIN"));
  StatementUse use(stmt);
  AMBERVAULT_RETURN_IF_ERROR(stmt->Exec());
  return Transaction(conn);
}

Status Transaction::Commit() {
  if (!open_) return Status::Internal("commit of a closed transaction");
  AMBERVAULT_ASSIGN_OR_RETURN(Statement * stmt, conn_->Prepare("COMMIT"));
  StatementUse use(stmt);
  Status s = stmt->Exec();
  if (!s.ok()) {
    Rollback();
    return s;
  }
  open_ = false;
  return Status::OK();
}

void Transaction::Rollback() {
  if (!open_) return;
  open_ = false;
  // A failed COMMIT or an I/O error may already have ended the transaction;
  // ROLLBACK is then a harmless error.
  if (conn_->in_transaction()) {
    auto stmt = conn_->Prepare("ROLLBACK");
    if (stmt.ok()) {
      StatementUse use(*stmt);
      (*stmt)->Exec();
    }
  }
}

}  // namespace ambervault::sqlite
