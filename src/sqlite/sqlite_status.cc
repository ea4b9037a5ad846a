// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.

#include "sqlite/sqlite_status.h"

#include <string>

namespace ambervault::sqlite {

Status::Code CodeFor(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Code::kBusy;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::Code::kCorruption;
    case SQLITE_FULL:
      return Status::Code::kDiskFull;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
      return Status::Code::kIOError;
    case SQLITE_READONLY:
      return Status::Code::kReadOnly;
    case SQLITE_CONSTRAINT:
      return Status::Code::kConstraint;
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
      return Status::Code::kInvalidArgument;
    default:
      return Status::Code::kInternal;
  }
}

Status FromSqlite(int rc, sqlite3* db, std::string_view context) {
  std::string msg(context);
  if (!msg.empty()) msg += ": ";
  // sqlite3_errmsg describes the most recent failing call on db; when that
  // call's code differs (or there is no db) use the generic text for rc.
  if (db != nullptr && (sqlite3_extended_errcode(db) & 0xff) == (rc & 0xff)) {
    msg += sqlite3_errmsg(db);
  } else {
    msg += sqlite3_errstr(rc);
  }
  return Status(CodeFor(rc), msg, rc);
}

}  // namespace ambervault::sqlite
