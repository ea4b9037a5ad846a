// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// KVault::OpenValue and its ValueReader (see kvault.h for the semantics).
//
// How a reader knows its stored value is unchanged, without holding a
// transaction between calls:
//  - Writes by this KVault: an SQLite update hook on the connection counts
//    the writes to every row an open reader watches (Rep::watched_rows).
//    Every way this KVault changes a row runs an INSERT, UPDATE or DELETE
//    through SQLite, which calls the hook, except Clear()'s whole-table
//    DELETE (the truncate optimization); that removes the row, so the
//    key's rowid lookup fails, and a new row for the key is an INSERT,
//    which the hook sees. The hook may also count writes that are later
//    rolled back: a false alarm, never a missed change.
//  - Commits by other connections: PRAGMA data_version changes. They cannot
//    be traced to a row, so any of them ends the reader.
// Both checks and the read run in one snapshot (the read lease, or a
// deferred transaction where there is none).

#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <shared_mutex>

#include "ambervault/kvault.h"
#include "kv/kvault_rep.h"
#include "sqlite/blob.h"
#include "sqlite/retry.h"
#include "sqlite/statement.h"
#include "sqlite/transaction.h"

namespace ambervault {

using sqlite::Blob;
using sqlite::Transaction;

ValueReader::~ValueReader() = default;

namespace {

constexpr char kDataVersionSql[] = "PRAGMA data_version";

// sqlite3_update_hook callback; runs inside SQLite calls made under mu.
void CountRowWrite(void* arg, int /*op*/, const char* db, const char* table,
                   sqlite3_int64 rowid) {
  auto* rep = static_cast<KVault::Rep*>(arg);
  if (rep->watched_rows.empty()) return;
  if (std::strcmp(db, "main") != 0 ||
      sqlite3_stricmp(table, rep->options.table.c_str()) != 0) {
    return;
  }
  auto it = rep->watched_rows.find(rowid);
  if (it != rep->watched_rows.end()) ++it->second.writes;
}

Status ValueChanged(std::string_view why) {
  return Status::InvalidArgument("value changed since open (" +
                                 std::string(why) +
                                 "); open it again to read the new value");
}

// What a reader knows about the row it opened.
struct RowState {
  int64_t rowid = 0;
  uint64_t size = 0;
  int64_t data_version = 0;
  uint64_t writes = 0;  // Rep::watched_rows[rowid].writes at open
};

class VaultValueReader final : public ValueReader {
 public:
  // A value copied from the cache.
  VaultValueReader(std::shared_ptr<kv::ReaderAnchor> anchor,
                   uint64_t generation, std::string snapshot)
      : anchor_(std::move(anchor)),
        generation_(generation),
        size_(snapshot.size()),
        snapshot_(std::move(snapshot)) {}
  // A value in the table; its row is watched (see Watch).
  VaultValueReader(std::shared_ptr<kv::ReaderAnchor> anchor,
                   uint64_t generation, std::string key, const RowState& row)
      : anchor_(std::move(anchor)),
        generation_(generation),
        size_(row.size),
        key_(std::move(key)),
        row_(row) {}

  ~VaultValueReader() override {
    if (snapshot_ || sqlite::ForkGeneration() != generation_) return;
    std::shared_lock<std::shared_mutex> a(anchor_->mu);
    KVault::Rep* rep = anchor_->rep;
    if (rep == nullptr) return;
    std::lock_guard<std::mutex> l(rep->mu);
    auto it = rep->watched_rows.find(row_.rowid);
    if (it != rep->watched_rows.end() && --it->second.readers == 0) {
      rep->watched_rows.erase(it);
    }
  }

  uint64_t size() const override { return size_; }

  Status ReadAt(uint64_t offset, size_t n, char* out, size_t* got) override {
    *got = 0;
    if (sqlite::ForkGeneration() != generation_) {
      return KVault::Rep::ForkedChildError();
    }
    if (out == nullptr && n > 0) {
      return Status::InvalidArgument("ReadAt: null buffer");
    }
    std::shared_lock<std::shared_mutex> a(anchor_->mu);
    KVault::Rep* rep = anchor_->rep;
    if (rep == nullptr) {
      return Status::Closed("Cannot operate on closed KVault");
    }
    if (offset > size_) {
      return Status::InvalidArgument(
          "offset " + std::to_string(offset) + " is past the end of the " +
          "value (" + std::to_string(size_) + " bytes)");
    }
    const size_t want =
        static_cast<size_t>(std::min<uint64_t>(n, size_ - offset));
    return sqlite::RetryOnBusy(rep->options.retry, [&]() -> Status {
      std::lock_guard<std::mutex> l(rep->mu);
      AMBERVAULT_RETURN_IF_ERROR(rep->CheckUsableLocked());
      if (snapshot_) {
        if (want > 0) std::memcpy(out, snapshot_->data() + offset, want);
        *got = want;
        return Status::OK();
      }
      Status s = ReadStoredLocked(rep, offset, want, out);
      if (s.ok()) {
        *got = want;
      } else if (!s.IsInvalidArgument()) {
        rep->EndReadLeaseLocked();  // a retry starts from a fresh snapshot
      }
      return s;
    });
  }

 private:
  Status ReadStoredLocked(KVault::Rep* rep, uint64_t offset, size_t n,
                          char* out) {
    auto begun = rep->BeginSnapshotReadLocked();
    if (!begun.ok()) return begun.status();
    std::optional<Transaction> txn;
    if (begun->has_value()) txn.emplace(std::move(**begun));
    AMBERVAULT_ASSIGN_OR_RETURN(int64_t version,
                                rep->conn->QueryInt64(kDataVersionSql));
    if (version != row_.data_version) {
      return ValueChanged("another connection committed");
    }
    auto watch = rep->watched_rows.find(row_.rowid);
    if (watch == rep->watched_rows.end() ||
        watch->second.writes != row_.writes) {
      return ValueChanged("rewritten");
    }
    AMBERVAULT_ASSIGN_OR_RETURN(std::optional<int64_t> rowid,
                                rep->RowidLocked(key_));
    if (!rowid) return ValueChanged("deleted");
    if (*rowid != row_.rowid) return ValueChanged("rewritten");
    if (n > 0) {
      AMBERVAULT_ASSIGN_OR_RETURN(
          Blob blob, Blob::Open(rep->conn.get(), rep->options.table, "value",
                                row_.rowid, /*writable=*/false));
      if (static_cast<uint64_t>(blob.size()) != size_) {
        return ValueChanged("resized");  // cannot happen unnoticed; cheap
      }
      AMBERVAULT_RETURN_IF_ERROR(blob.Read(out, static_cast<int>(n),
                                           static_cast<int>(offset)));
    }
    if (txn) AMBERVAULT_RETURN_IF_ERROR(txn->Commit());
    return Status::OK();
  }

  const std::shared_ptr<kv::ReaderAnchor> anchor_;
  const uint64_t generation_;
  const uint64_t size_;
  const std::optional<std::string> snapshot_;  // set: a copied cache value
  const std::string key_;
  const RowState row_;
};

// Looks up the row of `key` for a new reader. REQUIRES: mu held, usable.
Status OpenRowLocked(KVault::Rep* rep, std::string_view key, RowState* row) {
  auto begun = rep->BeginSnapshotReadLocked();
  if (!begun.ok()) return begun.status();
  std::optional<Transaction> txn;
  if (begun->has_value()) txn.emplace(std::move(**begun));
  AMBERVAULT_ASSIGN_OR_RETURN(row->data_version,
                              rep->conn->QueryInt64(kDataVersionSql));
  AMBERVAULT_ASSIGN_OR_RETURN(std::optional<int64_t> rowid,
                              rep->RowidLocked(key));
  if (!rowid) return Status::NotFound("key not found");
  row->rowid = *rowid;
  {
    AMBERVAULT_ASSIGN_OR_RETURN(
        Blob blob, Blob::Open(rep->conn.get(), rep->options.table, "value",
                              *rowid, /*writable=*/false));
    row->size = static_cast<uint64_t>(blob.size());
  }
  if (txn) AMBERVAULT_RETURN_IF_ERROR(txn->Commit());
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<ValueReader>> KVault::OpenValue(std::string_view key) {
  Rep* rep = rep_.get();
  if (rep->InForkedChild()) return Rep::ForkedChildError();
  using Out = std::unique_ptr<ValueReader>;
  return sqlite::RetryOnBusy(rep->options.retry, [&]() -> Result<Out> {
    std::lock_guard<std::mutex> l(rep->mu);
    AMBERVAULT_RETURN_IF_ERROR(rep->CheckUsableLocked());
    if (rep->reader_anchor == nullptr) {
      rep->reader_anchor = std::make_shared<kv::ReaderAnchor>(rep);
    }
    if (const std::string* pending = rep->cache.Find(key)) {
      return Out(std::make_unique<VaultValueReader>(
          rep->reader_anchor, rep->generation, *pending));
    }
    RowState row;
    Status s = OpenRowLocked(rep, key, &row);
    if (!s.ok()) {
      if (!s.IsNotFound()) rep->EndReadLeaseLocked();
      return s;
    }
    if (!rep->update_hook_installed) {
      sqlite3_update_hook(rep->conn->db(), &CountRowWrite, rep);
      rep->update_hook_installed = true;
    }
    // Nothing below fails: the watch is never left behind by an error.
    Rep::RowWatch& watch = rep->watched_rows[row.rowid];
    ++watch.readers;
    row.writes = watch.writes;
    return Out(std::make_unique<VaultValueReader>(
        rep->reader_anchor, rep->generation, std::string(key), row));
  });
}

}  // namespace ambervault
