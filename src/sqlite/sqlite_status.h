// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// Turns SQLite result codes into Status values.

#ifndef AMBERVAULT_SRC_SQLITE_SQLITE_STATUS_H_
#define AMBERVAULT_SRC_SQLITE_SQLITE_STATUS_H_

#include <sqlite3.h>

#include <string_view>

#include "ambervault/status.h"

namespace ambervault::sqlite {

// The Status code for an SQLite (extended) result code:
// BUSY/LOCKED -> kBusy, CORRUPT/NOTADB -> kCorruption, FULL -> kDiskFull,
// IOERR/CANTOPEN/PERM -> kIOError, READONLY -> kReadOnly,
// CONSTRAINT -> kConstraint, TOOBIG/RANGE/MISMATCH -> kInvalidArgument,
// anything else -> kInternal.
Status::Code CodeFor(int rc);

// An error Status for `rc`, with SQLite's message for `db` (or the generic
// text for rc when db is null) and `context` in front. REQUIRES: rc is an
// error code (not SQLITE_OK/ROW/DONE).
Status FromSqlite(int rc, sqlite3* db, std::string_view context);

}  // namespace ambervault::sqlite

#endif  // AMBERVAULT_SRC_SQLITE_SQLITE_STATUS_H_
