// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// KVault: a persistent map from byte-string keys to byte-string values (up
// to SQLite's blob limit, 1,000,000,000 bytes by default), kept in one
// SQLite file.
//
// On disk the map is one table, KohakuVault's:
//   CREATE TABLE <table> (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL)
// so a file written by KohakuVault opens here and the other way round.
// Keys order by memcmp (SQLite's BLOB order).
//
// Thread safety: a KVault is safe for concurrent use by several threads
// without external synchronization; calls are serialized on one internal
// connection. Several KVault objects (in one or several processes) may open
// the same file; SQLite (WAL mode) then admits one writer at a time and any
// number of readers. A KVault must not be used after fork() in the child:
// calls there return Status::NotSupported, and the child never closes the
// parent's connection.
//
// Write-back cache: after EnableCache(), Put() stores into an in-memory,
// key-ordered buffer that is written to SQLite in one transaction per flush.
// Every read (Get, GetMany, Exists, Count, scans, GetStream, ValueSize,
// ReadInto, OpenValue) sees pending writes, and Delete() removes them. A
// failed flush keeps the pending data. Pending data is lost if the process
// dies before a flush: see docs/durability.md.
//
// Reads: consecutive reads share one SQLite read transaction (a "read
// lease"), renewed as soon as any connection in any process commits, so a
// read always sees every commit that finished before it started. Writes
// end the lease first; a helper thread ends it after 2 ms without reads so
// an idle vault never holds back checkpoints. That thread (one per KVault,
// started at the first read) and the optional background-flush thread are
// the only threads a KVault starts.
//
// Errors: every call returns a Status or Result<T>; see status.h. A busy
// database is retried per KVaultOptions::retry before Status::Busy.

#ifndef AMBERVAULT_INCLUDE_AMBERVAULT_KVAULT_H_
#define AMBERVAULT_INCLUDE_AMBERVAULT_KVAULT_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ambervault/export.h"
#include "ambervault/options.h"
#include "ambervault/status.h"
#include "ambervault/write_batch.h"

namespace ambervault {

// Supplies the bytes of a streamed value. Fill up to `capacity` bytes of
// `buffer` and set *produced to the count; *produced == 0 means end of
// stream. A non-OK Status aborts the write (nothing is stored).
using StreamReader =
    std::function<Status(char* buffer, size_t capacity, size_t* produced)>;

// Receives the bytes of a streamed value, in order. A non-OK Status aborts
// the read and is returned to the caller.
using StreamWriter = std::function<Status(std::string_view piece)>;

// Bounds and direction of an ordered range scan (KVault::NewRangeCursor).
// The range is half-open, [start, stop), in memcmp (byte) order; an empty
// optional leaves that side unbounded.
struct AMBERVAULT_EXPORT RangeOptions {
  std::optional<std::string> start;  // inclusive
  std::optional<std::string> stop;   // exclusive
  // false: ascending from start. true: descending from the largest key
  // below stop down to start (inclusive).
  bool reverse = false;
  bool with_values = true;
  // Keys per page (0 counts as 1); a page of values also stops early once
  // it holds 8 MiB.
  size_t page_size = 256;
};

// Reads one value in pieces, at any offset, without loading all of it
// (KVault::OpenValue).
//
// Snapshot semantics: a reader returns the bytes of the value as it was
// when it was opened, or fails; it never mixes two versions. A value that
// was pending in the write-back cache at open time is copied into the
// reader. A stored value is read straight from the file through SQLite's
// incremental blob I/O; each ReadAt holds a read transaction only while it
// runs (so a reader never holds back writers or checkpoints between
// calls), and first checks that the row is still the one opened:
//  - the key still maps to the same row, and this KVault has not written
//    that row since (tracked exactly, per row);
//  - no other connection (another KVault on the file, another process) has
//    committed anything since the open. Such a commit cannot be traced to
//    a row, so the reader conservatively stops.
// A failed check returns InvalidArgument("value changed since open"); open
// a new reader to see the new value. A write that is only pending in the
// cache does not change the stored bytes, so the reader keeps returning
// the value it opened until that write is flushed.
//
// Lifetime: a reader may outlive its KVault. Once the vault is closed (or
// destroyed), ReadAt returns Closed; in a forked child, NotSupported.
// Thread safety: ReadAt may be called from several threads; calls are
// serialized on the vault's connection.
class AMBERVAULT_EXPORT ValueReader {
 public:
  virtual ~ValueReader();
  // Size of the value in bytes.
  virtual uint64_t size() const = 0;
  // Copies up to `n` bytes at `offset` into `out` and sets *got to the
  // count (0 at or past the end; offset > size() is InvalidArgument).
  virtual Status ReadAt(uint64_t offset, size_t n, char* out,
                        size_t* got) = 0;
};

class AMBERVAULT_EXPORT KVault {
 public:
  class Cursor;

  // Opens (creating when allowed) the vault at `path` ("" or ":memory:" for
  // a private in-memory database). Parent folders are created. Fails with
  // Corruption if the file is not an SQLite database or is damaged,
  // InvalidArgument for bad options, IOError if it cannot be opened.
  static Result<std::unique_ptr<KVault>> Open(
      const std::string& path, const KVaultOptions& options = KVaultOptions());

  KVault(const KVault&) = delete;
  KVault& operator=(const KVault&) = delete;

  // Closes the vault, flushing the cache. Errors are reported on stderr;
  // call Close() first to handle them.
  ~KVault();

  // Stores `value` under `key`, replacing any old value. With the cache on,
  // the write is pending until the next flush.
  Status Put(std::string_view key, std::string_view value);

  // Sets *value to the value of `key`. NotFound if absent.
  Status Get(std::string_view key, std::string* value);
  // Get, but only when the value is already in memory (pending in the
  // write-back cache, or in the value cache: see KVaultOptions) and the
  // vault is not busy with another call. Returns false otherwise, having
  // done no I/O and not waited. For callers that must not block here (the
  // Python binding holds the GIL).
  bool TryGetCached(std::string_view key, std::string* value);
  Result<std::string> Get(std::string_view key);

  // Removes `key`; true if it existed (in the file or pending in the cache).
  Result<bool> Delete(std::string_view key);

  // Removes `key` and returns the value it had, atomically (one
  // transaction). NotFound if absent.
  Result<std::string> Take(std::string_view key);

  // Stores `value` under `key` only if the key is absent, atomically.
  // Returns the value the key had, or nullopt when `value` was stored.
  Result<std::optional<std::string>> PutIfAbsent(std::string_view key,
                                                 std::string_view value);

  // True if `key` exists (in the file or pending in the cache).
  Result<bool> Exists(std::string_view key);

  // Number of keys, pending cache entries included.
  Result<int64_t> Count();

  // Removes every key (and every pending cache entry) in one transaction.
  Status Clear();

  // ---- Batches (kv_batch.cc, kv_get_many.cc).

  // Applies every operation of `batch` atomically: afterwards all of them
  // are visible, or (on any error) none. Fails with InvalidArgument before
  // writing anything when a key plus value exceeds SQLite's limit.
  // Without the cache: one BEGIN IMMEDIATE transaction. With the cache: a
  // batch of puts that fits enters the cache as a whole; one that does not
  // fit is written together with the pending entries in ONE transaction
  // (Busy, with nothing added, when the cache is locked). A batch holding
  // deletes, or a value larger than the cache, is written through in one
  // transaction (pending entries of its keys are dropped, as for Delete).
  Status Write(const WriteBatch& batch);

  // The values of `keys`, in the same order; nullopt for a missing key.
  // Sees the cache; all keys are read from one snapshot of the file.
  Result<std::vector<std::optional<std::string>>> GetMany(
      const std::vector<std::string_view>& keys);

  // Removes `keys` in one transaction and returns how many distinct keys
  // existed (in the file or pending in the cache).
  Result<int64_t> DeleteMany(const std::vector<std::string_view>& keys);

  // ---- Partial reads (kv_value_read.cc, kv_value_reader.cc).

  // Size in bytes of the value of `key`. NotFound if absent.
  Result<size_t> ValueSize(std::string_view key);

  // Copies up to `capacity` bytes of the value of `key`, starting at byte
  // `offset`, into `buffer`, straight from SQLite's blob I/O (a pending
  // cached value is copied from the cache). Returns the bytes copied (0 at
  // the end). NotFound if absent; InvalidArgument if offset > size.
  Result<size_t> ReadInto(std::string_view key, char* buffer, size_t capacity,
                          size_t offset = 0);

  // A reader over the value of `key` as it is now (see ValueReader for its
  // snapshot semantics). NotFound if absent.
  Result<std::unique_ptr<ValueReader>> OpenValue(std::string_view key);

  // Ordered scans. The cursor pages through the keys that start with
  // `prefix` in key order, `page_size` keys at a time, so memory stays
  // bounded for any number of keys. Keys written or deleted during the scan
  // are seen or not depending on whether the cursor has passed them.
  // REQUIRES: the cursor does not outlive this KVault.
  std::unique_ptr<Cursor> NewCursor(std::string_view prefix = {},
                                    bool with_values = false,
                                    size_t page_size = 1024) const;

  // A paging cursor over the keys in [options.start, options.stop), in
  // ascending or (options.reverse) descending order, merged with the
  // pending cache entries. No transaction is held between pages.
  // REQUIRES: the cursor does not outlive this KVault.
  std::unique_ptr<Cursor> NewRangeCursor(const RangeOptions& options) const;

  // Streams `size` bytes (or, when size is empty, everything up to end of
  // stream, spooled through a temporary file) from `reader` into `key`
  // through SQLite's incremental blob I/O, `chunk_size` bytes at a time
  // (0: the vault's chunk_size). Atomic: a failing or short reader leaves
  // the old value (or no key). Bypasses and invalidates any pending cached
  // value for `key`.
  Status PutStream(std::string_view key, const StreamReader& reader,
                   std::optional<uint64_t> size, size_t chunk_size = 0);

  // Streams the value of `key` to `writer` in pieces of at most
  // `chunk_size` bytes (0: the vault's chunk_size). Returns the total size.
  Result<uint64_t> GetStream(std::string_view key, const StreamWriter& writer,
                             size_t chunk_size = 0);

  // Turns on the write-back cache. If a cache already holds pending data it
  // is flushed first (and on failure the old cache stays as it was).
  Status EnableCache(const CacheOptions& options);
  // Flushes and turns the cache off. Busy if the cache is locked; on any
  // failure the cache and its data stay.
  Status DisableCache();
  // Writes pending entries in one transaction; returns how many. Returns 0
  // without writing while the cache is locked.
  Result<size_t> FlushCache();
  // While locked (a counter: Lock twice, Unlock twice) no flush happens,
  // neither by threshold nor background thread nor FlushCache(). A write
  // that finds the cache full then fails with Busy instead of dropping data.
  void LockCache();
  void UnlockCache();
  bool cache_enabled() const;
  bool cache_locked() const;
  // Pending entries and bytes (keys plus values) in the cache.
  size_t cache_entries() const;
  size_t cache_bytes() const;

  // PRAGMA wal_checkpoint(PASSIVE).
  // KohakuVault's feature list (the kv_features row of the kohakuvault_meta
  // table, which this creates if needed): records that values in this file
  // use a format, e.g. "auto_pack_v1" or "headers_v1". Adding a listed
  // feature changes nothing. Names are non-empty and have no comma.
  Status AddFeature(std::string_view feature);
  // The listed features, in the order they were added (empty if none).
  Result<std::vector<std::string>> Features();

  Status Checkpoint();
  // Flushes, then PRAGMA optimize and VACUUM.
  Status Optimize();

  // Flushes the cache, stops the background flush and closes the file.
  // Idempotent. If the final flush fails, the vault stays open and the
  // error is returned so that no pending write is silently dropped.
  Status Close();
  bool closed() const;

  const std::string& path() const;
  const std::string& table() const;
  const KVaultOptions& options() const;

  // Implementation; defined in src/kv.
  struct Rep;

 private:
  explicit KVault(std::unique_ptr<Rep> rep);
  std::unique_ptr<Rep> rep_;
};

// A paging cursor over a KVault (see KVault::NewCursor and
// KVault::NewRangeCursor). Not thread-safe: use one cursor from one thread
// at a time.
class AMBERVAULT_EXPORT KVault::Cursor {
 public:
  // The keys starting with `prefix`, ascending.
  Cursor(const KVault* vault, std::string prefix, bool with_values,
         size_t page_size);
  // The keys of a range (see RangeOptions).
  Cursor(const KVault* vault, const RangeOptions& options);
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;

  // Replaces *keys (and *values when the cursor was made with_values) with
  // the next page. An empty page means the scan is over.
  Status NextPage(std::vector<std::string>* keys,
                  std::vector<std::string>* values);

  bool done() const { return done_; }

 private:
  const KVault* vault_;
  std::optional<std::string> start_;  // inclusive
  std::optional<std::string> stop_;   // exclusive
  bool reverse_ = false;
  bool with_values_;
  size_t page_size_;
  std::optional<std::string> last_key_;
  bool done_ = false;
};

}  // namespace ambervault

#endif  // AMBERVAULT_INCLUDE_AMBERVAULT_KVAULT_H_
