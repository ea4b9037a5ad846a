// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// FaultVfs: a test-only SQLite VFS shim that injects I/O errors.
//
// Registered under kName ("ambervault_fault"), it wraps the default VFS
// (sqlite3_vfs_find(nullptr) at the time of Register()) and every file it
// opens: the main database, the -wal file, rollback journals and temporary
// files. The wrapped files keep the iVersion of the real io_methods; every
// method forwards to the real one with the real file object (xShmMap,
// xShmLock, xFetch, ... included, so the WAL index and memory-mapped reads
// work as usual). The calls of the kinds below are counted across all
// files, and one kind can be armed to fail:
//
//   FaultVfs::Register();                       // once per process
//   FaultVfs::Arm(FaultVfs::kWrite, 7, SQLITE_FULL, /*sticky=*/false);
//   ... open with OpenOptions::vfs = FaultVfs::kName, run a workload ...
//   FaultVfs::Disarm();
//
// Arm() resets the counters: the n-th call of `kind` made after it (1 is
// the first) returns `error` without touching the file (a failed xWrite
// writes nothing, a failed xSync does not sync, ...); with `sticky` every
// later call of that kind fails too. With `torn`, a failed xWrite first
// writes the first half of its buffer (a disk that fills up mid-write). Count(kind) is the number of calls
// since the last Arm() or ResetCounts(), whether they failed or not.
//
// Only compiled into the test binary. Thread safe (the counters are shared
// by every connection and thread that uses the VFS).

#ifndef AMBERVAULT_SRC_SQLITE_FAULT_VFS_H_
#define AMBERVAULT_SRC_SQLITE_FAULT_VFS_H_

#include <cstdint>

namespace ambervault::sqlite {

class FaultVfs {
 public:
  // The calls that are counted (and can fail).
  enum Kind : int {
    kRead = 0,      // xRead
    kWrite,         // xWrite
    kSync,          // xSync
    kTruncate,      // xTruncate
    kFileSize,      // xFileSize
    kLock,          // xLock
    kShmMap,        // xShmMap
    kNumKinds
  };

  static constexpr const char* kName = "ambervault_fault";

  // Registers the VFS (not as the default) on first use; later calls do
  // nothing. Returns SQLITE_OK or the error of sqlite3_vfs_register.
  static int Register();

  // Resets the counters and arms one fault (see the file comment).
  // REQUIRES: n >= 1; error is an SQLite (extended) result code.
  static void Arm(Kind kind, int64_t n, int error, bool sticky,
                  bool torn = false);
  // No call fails any more; counting goes on.
  static void Disarm();
  static bool armed();

  // Calls of `kind` since the last Arm() or ResetCounts().
  static int64_t Count(Kind kind);
  // Calls that were failed since the last Arm() or ResetCounts().
  static int64_t Injected();
  // Calls that were failed since the process started.
  static int64_t TotalInjected();
  static void ResetCounts();

  static const char* KindName(Kind kind);
};

}  // namespace ambervault::sqlite

#endif  // AMBERVAULT_SRC_SQLITE_FAULT_VFS_H_
