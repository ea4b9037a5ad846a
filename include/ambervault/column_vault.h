// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// ColumnVault: typed, append-mostly columns kept as chunked BLOBs in one
// SQLite file (which a KVault may share).
//
// A column holds a sequence of packed elements (see packer.h: DataPacker
// turns values into element bytes and back). A fixed-size dtype ("i64",
// "bytes:32", "vec:f32:384", ...) gives elements of elem_size bytes; a
// variable-size dtype ("bytes", "str:utf8", "msgpack", ...) gives elements
// of any length. This API moves packed bytes; it never interprets them.
//
// On disk the format is KohakuVault's (releases 0.6 to 0.9), so files open
// in either library:
//   kohakuvault_meta(key, value)  with ('schema_version', '2')
//   col_meta(col_id, name, dtype, elem_size, length, chunk_bytes,
//            min_chunk_bytes, max_chunk_bytes)
//   col_chunks(col_id, chunk_idx, data BLOB, actual_size, bytes_used, ...)
// A fixed-size column is one col_meta row; element i lives at byte i*e of
// the concatenation of its chunks, and every chunk but the last is exactly
// max_chunk_bytes long (aligned down to a multiple of e). A variable-size
// column "x" is two rows: "x_data" (the element bytes, packed into chunks,
// an element never split) and "x_idx" (a fixed-size column of 12-byte
// entries: int32 chunk_idx, int32 start, int32 end, little-endian).
//
// Atomicity: every call that changes a column is one SQLite transaction
// (BEGIN IMMEDIATE): after a crash or an error the column is as it was
// before the call. Appends are placed at the length stored in the file at
// commit time, so several writers (threads, objects, processes) never
// overwrite each other.
//
// Freshness: Length() and every read see every commit that finished before
// the call started, from any connection or process.
//
// Write-back cache (off by default): after EnableCache(), Append and
// AppendMany collect elements in memory and write them in one transaction
// per flush. Length() and reads include pending elements; any other change
// (Write, Insert, Delete, Clear) flushes first. A failed flush keeps the
// pending elements. Pending elements are lost if the process dies before a
// flush, and are placed at the file's length at flush time.
//
// Thread safety: a ColumnVault and its Column handles are safe for
// concurrent use by several threads; calls are serialized on one internal
// connection. A Column handle stays valid after the vault is closed (calls
// then return Status::Closed). Not usable in a child process after fork()
// (calls return Status::NotSupported).
//
// Errors: Status / Result<T> (status.h). NotFound for an unknown column,
// InvalidArgument for bad indices, sizes or dtypes, Busy after retries.

#ifndef AMBERVAULT_INCLUDE_AMBERVAULT_COLUMN_VAULT_H_
#define AMBERVAULT_INCLUDE_AMBERVAULT_COLUMN_VAULT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ambervault/export.h"
#include "ambervault/options.h"
#include "ambervault/status.h"

namespace ambervault {

struct AMBERVAULT_EXPORT ColumnVaultOptions {
  // Connection settings, with one change from OpenOptions' defaults: a
  // file created here gets 4 KiB pages (as KohakuVault's ColumnVault), so
  // a small append commits a few KiB of WAL instead of several 32 KiB
  // pages. A file created by a KVault keeps its 32 KiB pages.
  OpenOptions open = [] {
    OpenOptions o;
    o.page_size = 4096;
    return o;
  }();
  RetryOptions retry;
  // Chunk sizes given to columns created by this vault (stored per column;
  // a column keeps its own sizes when reopened). A new chunk starts at
  // min_chunk_bytes and doubles as it fills, up to max_chunk_bytes. For a
  // fixed-size column both are aligned to the element size (min up, max
  // down). Requires 1 <= min_chunk_bytes <= max_chunk_bytes < 2^31.
  int64_t min_chunk_bytes = 128 << 10;
  int64_t max_chunk_bytes = 16 << 20;
};

// The write-back cache of a column (see the file comment).
struct AMBERVAULT_EXPORT ColumnCacheOptions {
  // Most pending bytes held; an append that would pass it flushes first,
  // and a batch larger than it is written straight through.
  size_t cap_bytes = 64u << 20;
  // Once pending bytes reach this, the cache is flushed.
  size_t flush_threshold = 16u << 20;
  // When > 0 (vault-level caches only), a background thread flushes a
  // column whose oldest pending element is this many seconds old, unless
  // the cache is locked (ColumnVault::LockCache).
  double flush_interval_seconds = 0;
};

struct AMBERVAULT_EXPORT ColumnInfo {
  std::string name;   // logical name ("x", not "x_data")
  std::string dtype;  // as given at creation
  int64_t length = 0;
  size_t elem_size = 0;  // 0 for a variable-size column
};

class ColumnVault;
namespace column {
struct VaultState;   // src/column/vault_state.h
class VaultAccess;   // the same: tests and fuzz targets reach the state
}

// A handle to one column. Cheap to copy (shared state lives in the vault).
class AMBERVAULT_EXPORT Column {
 public:
  const std::string& name() const { return name_; }
  const std::string& dtype() const { return dtype_; }
  // Bytes per element; 0 for a variable-size column.
  size_t elem_size() const { return elem_size_; }
  bool is_var_size() const { return elem_size_ == 0; }

  // Element count, pending cached appends included.
  Result<int64_t> Length() const;

  // Reads elements [start, start + count) into *data, back to back. For a
  // variable-size column `ends` receives where each element ends in *data
  // (may be null for a fixed-size column). The range must lie within
  // Length(). Reads only the bytes needed (incremental BLOB I/O).
  Status Read(int64_t start, int64_t count, std::string* data,
              std::vector<uint64_t>* ends) const;
  // Fixed-size columns: reads count * elem_size() bytes into `dst`.
  Status ReadInto(int64_t start, int64_t count, char* dst) const;

  // Appends one packed element (exactly elem_size() bytes when fixed).
  Status Append(std::string_view element);
  // Appends packed elements back to back in `data`. Fixed-size: `ends` is
  // ignored and data.size() must be a multiple of elem_size(). Var-size:
  // ends[i] is where element i ends (non-decreasing, last == data.size()).
  Status AppendMany(std::string_view data, std::span<const uint64_t> ends);
  // AppendMany, but only when it can finish at once without SQLite: the
  // cache is on, the vault is not busy with another call, and no flush is
  // due. Returns false (and does nothing) otherwise. For callers that must
  // not wait here (the Python binding holds the GIL).
  bool TryAppendToCache(std::string_view data, std::span<const uint64_t> ends);
  // Replaces elements [start, start + n) with the n given (same layout
  // rules as AppendMany). The range must lie within Length().
  Status Write(int64_t start, std::string_view data,
               std::span<const uint64_t> ends);
  // Inserts one element before `index` (0 <= index <= Length()).
  Status Insert(int64_t index, std::string_view element);
  // Removes elements [start, start + count).
  Status Delete(int64_t start, int64_t count);
  // Removes every element and frees the column's chunks.
  Status Clear();

  // The column's write-back cache. Enabling an enabled cache changes its
  // options and keeps pending data.
  Status EnableCache(const ColumnCacheOptions& options);
  // Flushes, then disables. On a failed flush the cache stays on, with
  // its data, and the error is returned.
  Status DisableCache();
  // Writes pending elements; returns the bytes written.
  Result<size_t> FlushCache();
  bool cache_enabled() const;
  // The cache's options while it is enabled.
  std::optional<ColumnCacheOptions> cache_options() const;

  // Bytes allocated in chunks, and bytes no longer referenced (var-size
  // columns: left behind by updates and deletes; Compact() reclaims them).
  struct Storage {
    int64_t chunks = 0;
    int64_t allocated_bytes = 0;
    int64_t garbage_bytes = 0;
  };
  Result<Storage> StorageInfo() const;
  // Var-size columns: rewrites the data so no garbage is left. One
  // transaction. A no-op for fixed-size columns.
  Status Compact();

  Column(std::shared_ptr<column::VaultState> vault, int64_t col_id, uint64_t serial,
         std::string name, std::string dtype, size_t elem_size);

 private:
  std::shared_ptr<column::VaultState> vault_;
  int64_t col_id_;
  uint64_t serial_;  // which column col_id_ held when the handle was made
  std::string name_;
  std::string dtype_;
  size_t elem_size_;
};

class AMBERVAULT_EXPORT ColumnVault {
 public:
  // Opens (creating when allowed) the column tables in the file at `path`
  // ("" or ":memory:" for a private in-memory database).
  static Result<std::unique_ptr<ColumnVault>> Open(
      const std::string& path, const ColumnVaultOptions& options = {});

  // Flushes caches and closes. Errors go to stderr; call Close() to see them.
  ~ColumnVault();
  ColumnVault(const ColumnVault&) = delete;
  ColumnVault& operator=(const ColumnVault&) = delete;

  // Creates a column. `dtype` is any DataPacker dtype. A name already in
  // use (also as "<name>_data" / "<name>_idx") gives InvalidArgument.
  Result<Column> CreateColumn(std::string_view name, std::string_view dtype);
  // The column named `name`, or NotFound.
  Result<Column> GetColumn(std::string_view name);
  // GetColumn, or CreateColumn when missing. An existing column with
  // another dtype gives InvalidArgument.
  Result<Column> Ensure(std::string_view name, std::string_view dtype);
  // Every column by logical name, in creation order.
  Result<std::vector<ColumnInfo>> ListColumns();
  // Deletes a column and its chunks (pending cached data is discarded).
  // Returns false when there is no such column.
  Result<bool> DeleteColumn(std::string_view name);

  // Vault-wide cache: applies to every column, also those opened later.
  Status EnableCache(const ColumnCacheOptions& options);
  Status DisableCache();
  Result<size_t> FlushCache();
  // While locked (nestable), the background flusher does not flush.
  // Explicit and threshold flushes still happen.
  void LockCache();
  void UnlockCache();

  // Flushes caches, then PRAGMA wal_checkpoint(PASSIVE).
  Status Checkpoint();
  // Flushes caches and closes. If a flush fails the vault stays open, with
  // its pending data, and the error is returned.
  Status Close();
  bool closed() const;
  const std::string& path() const;

  explicit ColumnVault(std::shared_ptr<column::VaultState> state);

 private:
  friend class column::VaultAccess;
  std::shared_ptr<column::VaultState> state_;
};

}  // namespace ambervault

#endif  // AMBERVAULT_INCLUDE_AMBERVAULT_COLUMN_VAULT_H_
