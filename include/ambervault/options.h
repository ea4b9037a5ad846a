// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// Options are plain structs: construct one, change the fields you care
// about, pass it by const reference. Every field states its default.

#ifndef AMBERVAULT_INCLUDE_AMBERVAULT_OPTIONS_H_
#define AMBERVAULT_INCLUDE_AMBERVAULT_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "ambervault/export.h"

namespace ambervault {

// SQLite's `PRAGMA synchronous`.
enum class Synchronous : int {
  // No fsync at all: an OS crash or power loss may corrupt the file.
  kOff = 0,
  // Default. In WAL mode: a process crash loses nothing that was committed;
  // power loss may roll back the most recent commits, never corrupts.
  kNormal = 1,
  // fsync on every commit: committed data survives power loss.
  kFull = 2,
  kExtra = 3,
};

// How a vault opens its SQLite connection. The defaults are KohakuVault's.
struct AMBERVAULT_EXPORT OpenOptions {
  // Write-ahead logging: one writer and many concurrent readers, across
  // threads and processes. When false the rollback journal is used.
  bool enable_wal = true;

  Synchronous synchronous = Synchronous::kNormal;

  // Page size in bytes for a NEW database file (a power of two, 512..65536).
  // Ignored for an existing file, whose page size is fixed.
  int page_size = 32768;

  // Bytes of the file mapped into memory for reads (0 disables mmap).
  int64_t mmap_size = 256LL << 20;

  // SQLite page cache size in KiB per connection.
  int64_t cache_kb = 100000;

  // How long one SQLite call waits for a lock held by another connection
  // before it reports busy, in milliseconds.
  int busy_timeout_ms = 5000;

  // Create the file (and its parent folders) when it does not exist.
  bool create_if_missing = true;

  // Open read-only: every write then fails with Status::ReadOnly.
  bool read_only = false;

  // Name of a registered SQLite VFS to open the file with (empty: the
  // default VFS). Meant for tests that inject I/O faults.
  std::string vfs;
};

// How busy errors ("database is locked") are retried: up to `retries`
// attempts in all, sleeping backoff_base_seconds, then twice that, and so
// on, between attempts. Each attempt already waits up to busy_timeout_ms
// inside SQLite. After the last attempt the call returns Status::Busy.
struct AMBERVAULT_EXPORT RetryOptions {
  int retries = 4;
  double backoff_base_seconds = 0.02;
};

// The write-back cache of a KVault (off until KVault::EnableCache).
struct AMBERVAULT_EXPORT CacheOptions {
  // Most bytes (keys plus values) held before a write forces a flush.
  // A single entry larger than this bypasses the cache.
  size_t cap_bytes = 64u << 20;
  // After a write brings the cache to this many bytes it is flushed.
  size_t flush_threshold = 16u << 20;
  // When > 0, a background thread flushes pending writes once the oldest of
  // them is this many seconds old. 0 disables the background flush.
  double flush_interval_seconds = 0;
};

struct AMBERVAULT_EXPORT KVaultOptions {
  // Name of the key/value table. Identifier characters only
  // ([A-Za-z_][A-Za-z0-9_]*, not starting with "sqlite_"), at most 64 bytes.
  std::string table = "kv";

  // Bytes moved per step by the streaming calls (PutStream, GetStream).
  size_t chunk_size = 1u << 20;

  // Memory for values recently read (values up to 64 KiB), so repeated
  // gets skip SQLite. Always exactly fresh: emptied by any commit from any
  // connection or process (WAL files only). 0 disables it.
  size_t value_cache_bytes = 32u << 20;

  OpenOptions open;
  RetryOptions retry;
};

}  // namespace ambervault

#endif  // AMBERVAULT_INCLUDE_AMBERVAULT_OPTIONS_H_
