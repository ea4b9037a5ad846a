// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// KVault::Rep: the state behind a KVault, shared by kvault.cc (open, point
// operations, cache), kv_scan.cc (ordered scans) and kv_stream.cc
// (streaming). Methods named *Locked require `mu` to be held.
//
// Locking: `mu` guards the connection and the write cache; every public
// call takes it for its whole SQLite work. Busy retries sleep outside it.
// `flusher_mu` serializes starting and stopping the background flusher and
// is always taken before `mu`, never while holding it.

#ifndef AMBERVAULT_SRC_KV_KVAULT_REP_H_
#define AMBERVAULT_SRC_KV_KVAULT_REP_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "ambervault/kvault.h"
#include "kv/value_cache.h"
#include "kv/write_cache.h"
#include "sqlite/connection.h"
#include "sqlite/lease_reaper.h"
#include "sqlite/transaction.h"

namespace ambervault {

namespace kv {
// What a ValueReader holds on to instead of the Rep, so that it may outlive
// the KVault: the Rep clears `rep` (under the exclusive lock) when it is
// destroyed; readers use `rep` under the shared lock.
struct ReaderAnchor {
  explicit ReaderAnchor(KVault::Rep* r) : rep(r) {}
  std::shared_mutex mu;
  KVault::Rep* rep;
};
}  // namespace kv

struct KVault::Rep {
  ~Rep();

  std::string path;
  KVaultOptions options;
  std::string quoted_table;  // "\"kv\""

  // SQL texts, built once from the table name.
  std::string sql_get;
  std::string sql_put;
  std::string sql_put_zeroblob;
  std::string sql_rowid;
  std::string sql_delete;
  std::string sql_exists;
  std::string sql_count;
  std::string sql_clear;
  std::string sql_value_size;

  // Fork generation at open. In a forked child every entry point returns
  // before touching `mu`: another thread of the parent may have held it at
  // the fork, and the child's copy would then stay locked forever.
  uint64_t generation = 0;
  bool InForkedChild() const { return sqlite::ForkGeneration() != generation; }

  mutable std::mutex mu;
  std::unique_ptr<sqlite::Connection> conn;  // null once closed
  int64_t max_length = 0;                    // SQLITE_LIMIT_LENGTH

  bool cache_on = false;
  // DisableCache() could not flush: pending writes stay (readable, and
  // flushed by the next flush of any kind), but the cache takes no new
  // writes. A write first flushes the leftovers, and fails if it cannot,
  // so nothing is ever written out of order. The first successful flush
  // turns the cache off.
  bool cache_draining = false;
  CacheOptions cache_options;
  kv::WriteCache cache;
  kv::ValueCache value_cache{0};  // sized from options at open
  std::atomic<int> cache_locks{0};

  // Ends the connection's read lease once it is idle, so an idle vault
  // never pins the WAL (see Connection::BeginReadLease).
  sqlite::LeaseReaper lease_reaper{&mu, &conn};

  // ValueReader support (kv_value_reader.cc): the anchor readers hold
  // (made by the first OpenValue), and the rows open readers watch, with
  // how often this connection has written each (an SQLite update hook
  // counts them). Guarded by mu.
  std::shared_ptr<kv::ReaderAnchor> reader_anchor;
  struct RowWatch {
    int readers = 0;
    uint64_t writes = 0;
  };
  std::unordered_map<int64_t, RowWatch> watched_rows;
  bool update_hook_installed = false;

  std::mutex flusher_mu;
  std::thread flusher;
  std::condition_variable flusher_cv;  // waits on mu
  bool flusher_stop = false;           // guarded by mu

  static Status ForkedChildError() {
    return Status::NotSupported(
        "this KVault was opened in another process (before fork()); open a "
        "new KVault in this process");
  }

  // Closed, or used in a forked child: the error to return; else OK.
  Status CheckUsableLocked() const;
  Status CheckSizes(std::string_view key, size_t value_size) const;

  Status InitSchemaLocked();

  Status PutDirectLocked(std::string_view key, std::string_view value);
  Status PutLocked(std::string_view key, std::string_view value);
  // OK with *found=false when absent from the table.
  Status GetFromTableLocked(std::string_view key, std::string* value,
                            bool* found);
  Result<bool> ExistsInTableLocked(std::string_view key);
  // The rowid of `key` in the table (for blob I/O), or nullopt.
  Result<std::optional<int64_t>> RowidLocked(std::string_view key);
  // Writes every pending entry in one transaction; ignores the lock.
  Result<size_t> FlushLocked();

  // One page of a scan over [start, stop) (unbounded where empty),
  // ascending, or descending when `reverse`; resumed past `after` (the last
  // key of the previous page). See KVault::Cursor::NextPage.
  Status ScanPageLocked(const std::optional<std::string>& start,
                        const std::optional<std::string>& stop, bool reverse,
                        const std::optional<std::string>& after,
                        size_t limit, bool with_values,
                        std::vector<std::string>* keys,
                        std::vector<std::string>* values);

  // Starts a read that must see ONE snapshot across several statements:
  // the read lease where there is one (WAL files), else an explicit
  // deferred transaction, returned for the caller to commit.
  Result<std::optional<sqlite::Transaction>> BeginSnapshotReadLocked();

  // A read lease for the statements that follow (and the reaper thread that
  // ends it when idle). Reads call this; writes call EndReadLeaseLocked.
  Status BeginReadLocked();
  void EndReadLeaseLocked();

  void StartFlusher(double interval_seconds);  // REQUIRES: flusher_mu held
  void StopFlusher();                          // REQUIRES: flusher_mu held
  void FlusherLoop(double interval_seconds);

  // Closes the connection; REQUIRES: mu held, flusher stopped.
  void CloseConnectionLocked();
};

// The smallest key greater than every key starting with `prefix`, or
// nullopt when there is none (prefix empty or all 0xFF bytes).
std::optional<std::string> PrefixSuccessor(std::string_view prefix);

}  // namespace ambervault

#endif  // AMBERVAULT_SRC_KV_KVAULT_REP_H_
