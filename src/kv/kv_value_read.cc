// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// Partial reads without an intermediate copy: KVault::ValueSize and
// KVault::ReadInto (incremental blob I/O straight into the caller's
// buffer).

#include <algorithm>
#include <cstring>

#include "ambervault/kvault.h"
#include "kv/kvault_rep.h"
#include "sqlite/blob.h"
#include "sqlite/retry.h"
#include "sqlite/statement.h"

namespace ambervault {

using sqlite::Blob;
using sqlite::Statement;
using sqlite::StatementUse;

namespace {

Status OffsetPastEnd(uint64_t offset, uint64_t size) {
  return Status::InvalidArgument("offset " + std::to_string(offset) +
                                 " is past the end of the value (" +
                                 std::to_string(size) + " bytes)");
}

// REQUIRES: mu held, vault usable.
Result<size_t> ValueSizeLocked(KVault::Rep* rep, std::string_view key) {
  if (const std::string* pending = rep->cache.Find(key)) {
    return pending->size();
  }
  AMBERVAULT_RETURN_IF_ERROR(rep->BeginReadLocked());
  AMBERVAULT_ASSIGN_OR_RETURN(Statement * stmt,
                              rep->conn->Prepare(rep->sql_value_size));
  StatementUse use(stmt);
  AMBERVAULT_RETURN_IF_ERROR(stmt->BindBlob(1, key));
  AMBERVAULT_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return Status::NotFound("key not found");
  return static_cast<size_t>(stmt->ColumnInt64(0));
}

// REQUIRES: mu held, vault usable.
Result<size_t> ReadIntoLocked(KVault::Rep* rep, std::string_view key,
                              char* buffer, size_t capacity, size_t offset) {
  if (const std::string* pending = rep->cache.Find(key)) {
    if (offset > pending->size()) return OffsetPastEnd(offset, pending->size());
    const size_t n = std::min(capacity, pending->size() - offset);
    if (n > 0) std::memcpy(buffer, pending->data() + offset, n);
    return n;
  }
  AMBERVAULT_RETURN_IF_ERROR(rep->BeginReadLocked());
  AMBERVAULT_ASSIGN_OR_RETURN(std::optional<int64_t> rowid,
                              rep->RowidLocked(key));
  if (!rowid) return Status::NotFound("key not found");
  AMBERVAULT_ASSIGN_OR_RETURN(
      Blob blob, Blob::Open(rep->conn.get(), rep->options.table, "value",
                            *rowid, /*writable=*/false));
  const uint64_t size = static_cast<uint64_t>(blob.size());
  if (offset > size) return OffsetPastEnd(offset, size);
  const size_t n =
      static_cast<size_t>(std::min<uint64_t>(capacity, size - offset));
  // A blob is at most SQLITE_LIMIT_LENGTH (< 2**31) bytes: ints suffice.
  if (n > 0) {
    AMBERVAULT_RETURN_IF_ERROR(blob.Read(buffer, static_cast<int>(n),
                                         static_cast<int>(offset)));
  }
  return n;
}

}  // namespace

Result<size_t> KVault::ValueSize(std::string_view key) {
  Rep* rep = rep_.get();
  if (rep->InForkedChild()) return Rep::ForkedChildError();
  return sqlite::RetryOnBusy(rep->options.retry, [&]() -> Result<size_t> {
    std::lock_guard<std::mutex> l(rep->mu);
    AMBERVAULT_RETURN_IF_ERROR(rep->CheckUsableLocked());
    Result<size_t> r = ValueSizeLocked(rep, key);
    if (!r.ok() && !r.status().IsNotFound()) rep->EndReadLeaseLocked();
    return r;
  });
}

Result<size_t> KVault::ReadInto(std::string_view key, char* buffer,
                                size_t capacity, size_t offset) {
  Rep* rep = rep_.get();
  if (rep->InForkedChild()) return Rep::ForkedChildError();
  if (buffer == nullptr && capacity > 0) {
    return Status::InvalidArgument("ReadInto: null buffer");
  }
  return sqlite::RetryOnBusy(rep->options.retry, [&]() -> Result<size_t> {
    std::lock_guard<std::mutex> l(rep->mu);
    AMBERVAULT_RETURN_IF_ERROR(rep->CheckUsableLocked());
    Result<size_t> r = ReadIntoLocked(rep, key, buffer, capacity, offset);
    if (!r.ok() && !r.status().IsNotFound() &&
        !r.status().IsInvalidArgument()) {
      rep->EndReadLeaseLocked();  // a retry starts from a fresh snapshot
    }
    return r;
  });
}

}  // namespace ambervault
