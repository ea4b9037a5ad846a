// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// VaultState: everything behind a ColumnVault and its Column handles: the
// connection, what is known of each open column, and the write-back caches.
// column_vault.cc opens and catalogs; column.cc does element operations.
//
// Locking: `mu` guards everything below it; every public call takes it for
// its whole SQLite work (busy retries sleep outside it). `flusher_mu`
// serializes starting and stopping the background flusher and is taken
// before `mu`, never while holding it.

#ifndef AMBERVAULT_SRC_COLUMN_VAULT_STATE_H_
#define AMBERVAULT_SRC_COLUMN_VAULT_STATE_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "ambervault/column_vault.h"
#include "column/chunk_store.h"
#include "sqlite/connection.h"
#include "sqlite/lease_reaper.h"
#include "sqlite/transaction.h"

namespace ambervault::column {

// The write-back cache of one column: packed elements not yet in the file.
struct PendingAppends {
  bool enabled = false;
  // DisableCache() could not flush: the pending appends stay (readable,
  // and written by the next flush of any kind), but no new append is
  // cached: the next append writes them and itself in one transaction, or
  // fails. The first successful flush turns the cache off.
  bool draining = false;
  ColumnCacheOptions options;
  std::string data;
  std::vector<uint64_t> ends;  // var-size: where each element ends in data
  int64_t count = 0;
  std::chrono::steady_clock::time_point oldest{};

  size_t bytes() const { return data.size(); }
  bool empty() const { return count == 0; }
  void Clear() {
    data.clear();
    ends.clear();
    count = 0;
  }
};

// What does not change while a column exists (read once from col_meta).
struct ColumnState {
  // Tells apart the columns that held col_id over time (unique within the
  // vault): a Column handle keeps it, and is NotFound once col_id has been
  // loaded as another column (a KohakuVault deleted and recreated columns,
  // or col_meta changed), instead of reaching that column with its own
  // layout.
  uint64_t serial = 0;
  int64_t col_id = 0;      // the column (fixed) or "<name>_data" (var-size)
  int64_t idx_col_id = 0;  // "<name>_idx" (var-size only)
  std::string name;        // logical name
  std::string dtype;
  size_t elem_size = 0;    // 0: var-size
  ChunkSizes sizes;        // of col_id
  ChunkSizes idx_sizes;    // of idx_col_id
  PendingAppends cache;

  bool var_size() const { return elem_size == 0; }
  // The col_meta row whose `length` is the element count.
  int64_t length_col() const { return var_size() ? idx_col_id : col_id; }
};

struct VaultState {
  ~VaultState();

  std::string path;
  ColumnVaultOptions options;
  uint64_t generation = 0;  // fork generation at open

  mutable std::mutex mu;
  std::unique_ptr<sqlite::Connection> conn;  // null once closed
  std::map<int64_t, ColumnState> columns;    // by col_id
  uint64_t last_serial = 0;                  // of ColumnState::serial
  std::optional<ColumnCacheOptions> vault_cache;  // applies to new columns
  std::atomic<int> cache_locks{0};

  // Reads run inside the connection's read lease (see
  // Connection::BeginReadLease), and keep, for as long as it lasts, the
  // chunk rows they looked up, the lengths they read, and open BLOB
  // handles. The connection's lease-end hook clears them. The reaper ends
  // the lease once reads have been idle for a moment, so an idle vault
  // never holds back checkpoints.
  std::unique_ptr<BlobPool> lease_blobs;
  ChunkRowCache lease_rows;
  std::map<int64_t, int64_t> lease_lengths;  // by length_col()
  sqlite::LeaseReaper lease_reaper{&mu, &conn};

  std::mutex flusher_mu;
  std::thread flusher;
  std::condition_variable flusher_cv;  // waits on mu
  bool flusher_stop = false;           // guarded by mu

  // Closed or forked: the error; else OK. REQUIRES: mu held (except the
  // fork check, which must come before taking mu).
  Status CheckUsableLocked() const;
  bool InForkedChild() const;
  static Status ForkedChildError();

  // The state of the column a handle was made for; NotFound when it no
  // longer exists (deleted, or its col_id now holds another column).
  Result<ColumnState*> StateLocked(int64_t col_id, uint64_t serial);
  // The same, or null.
  ColumnState* FindLocked(int64_t col_id, uint64_t serial);
  // Element count stored in the file.
  Result<int64_t> StoredLengthLocked(const ColumnState& c);
  Status SetStoredLengthLocked(const ColumnState& c, int64_t length);

  // Starts a read: inside the read lease when there is one (returns no
  // transaction; `*cached` = true: the lease caches may be used), else in
  // a deferred transaction for the caller to commit.
  Result<std::optional<sqlite::Transaction>> BeginReadLocked(bool* cached);

  // Writes a column's pending appends in one transaction (no retry).
  Result<size_t> FlushLocked(ColumnState* c);
  Result<size_t> FlushAllLocked();
  // Appends packed elements in one transaction (no retry).
  Status AppendLocked(ColumnState* c, std::string_view data,
                      std::span<const uint64_t> ends);

  void StartFlusher(double interval_seconds);  // REQUIRES: flusher_mu held
  void StopFlusher();                          // REQUIRES: flusher_mu held
  void FlusherLoop(double interval_seconds);
};

// For tests and fuzz targets only: the state behind a vault.
class VaultAccess {
 public:
  static VaultState* StateOf(ColumnVault* vault) { return vault->state_.get(); }
};

}  // namespace ambervault::column

#endif  // AMBERVAULT_SRC_COLUMN_VAULT_STATE_H_
