// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// Atomic multi-key writes: KVault::Write (a WriteBatch) and
// KVault::DeleteMany.
//
// The write-back cache holds pending puts only (a Delete writes through and
// drops the pending entry), so a batch is atomic in one of two ways:
//  - a batch of puts that fits the cache enters it whole (its entries are
//    then flushed together with the rest, in one transaction);
//  - anything else is one BEGIN IMMEDIATE transaction, after which the
//    pending entries of the batch's keys are dropped (they are older). When
//    a batch of puts does not fit, that transaction also carries every
//    pending entry, i.e. it IS the flush, so the batch is never split over
//    two commits.

#include <algorithm>
#include <set>
#include <utility>
#include <vector>

#include "ambervault/kvault.h"
#include "kv/kvault_rep.h"
#include "sqlite/retry.h"
#include "sqlite/statement.h"
#include "sqlite/transaction.h"

namespace ambervault {

using sqlite::RetryOnBusy;
using sqlite::Statement;
using sqlite::StatementUse;
using sqlite::Transaction;

namespace {

// The last operation of a batch on each key, in key order: one sorted
// vector (a std::map cost a node allocation per key, a tenth of put_many's
// time for 100-byte values).
class LastOps {
 public:
  using Entry = std::pair<std::string_view, const WriteBatch::Op*>;

  explicit LastOps(const WriteBatch& batch) {
    entries_.reserve(batch.size());
    for (const WriteBatch::Op& op : batch) entries_.emplace_back(op.key, &op);
    // Stable: among equal keys the batch order stays, and the last wins.
    std::stable_sort(entries_.begin(), entries_.end(),
                     [](const Entry& a, const Entry& b) { return a.first < b.first; });
    size_t out = 0;
    for (size_t i = 0; i < entries_.size(); ++i) {
      if (i + 1 < entries_.size() && entries_[i + 1].first == entries_[i].first) continue;
      entries_[out++] = entries_[i];
    }
    entries_.resize(out);
  }
  std::vector<Entry>::const_iterator begin() const { return entries_.begin(); }
  std::vector<Entry>::const_iterator end() const { return entries_.end(); }
  bool empty() const { return entries_.empty(); }
  size_t count(std::string_view key) const {
    auto it = std::lower_bound(entries_.begin(), entries_.end(), key,
                               [](const Entry& e, std::string_view k) { return e.first < k; });
    return it != entries_.end() && it->first == key ? 1 : 0;
  }

 private:
  std::vector<Entry> entries_;
};

// Deletes `key` from the table; *existed tells whether a row went.
// REQUIRES: mu held, inside a write transaction.
Status DeleteFromTableLocked(KVault::Rep* rep, std::string_view key,
                             bool* existed) {
  AMBERVAULT_ASSIGN_OR_RETURN(Statement * stmt,
                              rep->conn->Prepare(rep->sql_delete));
  StatementUse use(stmt);
  AMBERVAULT_RETURN_IF_ERROR(stmt->BindBlob(1, key));
  AMBERVAULT_RETURN_IF_ERROR(stmt->Exec());
  *existed = rep->conn->changes() > 0;
  return Status::OK();
}

// Applies `ops` to the table in one transaction. With `with_pending`, the
// pending cache entries go first in the same transaction and the cache is
// cleared after the commit; without, only the pending entries of the
// batch's keys are dropped. On failure nothing changes, table or cache.
Status ApplyLocked(KVault::Rep* rep, const LastOps& ops, bool with_pending) {
  AMBERVAULT_ASSIGN_OR_RETURN(
      Transaction txn,
      Transaction::Begin(rep->conn.get(), Transaction::Mode::kImmediate));
  if (with_pending) {
    for (const auto& [key, value] : rep->cache.map()) {
      if (ops.count(key) != 0) continue;  // the batch is newer
      AMBERVAULT_RETURN_IF_ERROR(rep->PutDirectLocked(key, value));
    }
  }
  for (const auto& [key, op] : ops) {
    if (op->is_put()) {
      AMBERVAULT_RETURN_IF_ERROR(rep->PutDirectLocked(key, op->value));
    } else {
      bool existed = false;
      AMBERVAULT_RETURN_IF_ERROR(DeleteFromTableLocked(rep, key, &existed));
    }
  }
  AMBERVAULT_RETURN_IF_ERROR(txn.Commit());
  if (with_pending) {
    rep->cache.Clear();
  } else {
    for (const auto& entry : ops) rep->cache.Erase(entry.first);
  }
  return Status::OK();
}

// Write() with the cache on. REQUIRES: mu held, cache_on.
Status WriteCachedLocked(KVault::Rep* rep, const LastOps& ops) {
  const size_t cap = rep->cache_options.cap_bytes;
  const bool locked = rep->cache_locks.load() > 0;
  bool write_through = false;
  size_t bytes_after = rep->cache.bytes();
  for (const auto& [key, op] : ops) {
    if (!op->is_put()) {
      write_through = true;  // the cache cannot hold a delete
      break;
    }
    const size_t entry = kv::WriteCache::EntryBytes(key, op->value);
    if (entry > cap) {
      write_through = true;  // too big to cache, as in Put
      break;
    }
    bytes_after += entry;
    if (const std::string* old = rep->cache.Find(key)) {
      bytes_after -= kv::WriteCache::EntryBytes(key, *old);
    }
  }
  if (write_through) return ApplyLocked(rep, ops, /*with_pending=*/false);
  if (bytes_after > cap) {
    if (locked) {
      return Status::Busy(
          "write-back cache is full and locked (lock_cache); no operation "
          "of the batch was stored");
    }
    // Flush and batch in ONE transaction.
    return ApplyLocked(rep, ops, /*with_pending=*/true);
  }
  for (const auto& [key, op] : ops) rep->cache.Put(key, op->value);
  if (rep->cache.bytes() >= rep->cache_options.flush_threshold && !locked) {
    // The batch is pending either way; a failed flush keeps it and reports
    // the error (a retry of this Write is harmless).
    AMBERVAULT_RETURN_IF_ERROR(rep->FlushLocked().status());
  }
  return Status::OK();
}

}  // namespace

Status KVault::Write(const WriteBatch& batch) {
  Rep* rep = rep_.get();
  if (rep->InForkedChild()) return Rep::ForkedChildError();
  const LastOps ops(batch);
  return RetryOnBusy(rep->options.retry, [&]() -> Status {
    std::lock_guard<std::mutex> l(rep->mu);
    AMBERVAULT_RETURN_IF_ERROR(rep->CheckUsableLocked());
    // Every operation, even one a later operation overrides, is checked
    // before anything is written.
    for (const WriteBatch::Op& op : batch) {
      AMBERVAULT_RETURN_IF_ERROR(rep->CheckSizes(op.key, op.value.size()));
    }
    if (ops.empty()) return Status::OK();
    if (rep->cache_draining) AMBERVAULT_RETURN_IF_ERROR(rep->FlushLocked().status());
    if (rep->cache_on) return WriteCachedLocked(rep, ops);
    return ApplyLocked(rep, ops, /*with_pending=*/false);
  });
}

Result<int64_t> KVault::DeleteMany(const std::vector<std::string_view>& keys) {
  Rep* rep = rep_.get();
  if (rep->InForkedChild()) return Rep::ForkedChildError();
  // Distinct keys, in key order (each counts once).
  const std::set<std::string_view> distinct(keys.begin(), keys.end());
  return RetryOnBusy(rep->options.retry, [&]() -> Result<int64_t> {
    std::lock_guard<std::mutex> l(rep->mu);
    AMBERVAULT_RETURN_IF_ERROR(rep->CheckUsableLocked());
    for (std::string_view key : distinct) {
      AMBERVAULT_RETURN_IF_ERROR(rep->CheckSizes(key, 0));
    }
    if (distinct.empty()) return int64_t{0};
    AMBERVAULT_ASSIGN_OR_RETURN(
        Transaction txn,
        Transaction::Begin(rep->conn.get(), Transaction::Mode::kImmediate));
    int64_t existed = 0;
    for (std::string_view key : distinct) {
      bool in_table = false;
      AMBERVAULT_RETURN_IF_ERROR(DeleteFromTableLocked(rep, key, &in_table));
      if (in_table || rep->cache.Find(key) != nullptr) ++existed;
    }
    AMBERVAULT_RETURN_IF_ERROR(txn.Commit());
    // Only after the commit, so that a failure changes nothing.
    for (std::string_view key : distinct) rep->cache.Erase(key);
    return existed;
  });
}

}  // namespace ambervault
