// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// WalWatch: tells, without taking any lock or making a system call, whether
// any connection (in any process) has committed to a WAL-mode database
// since a given moment.
//
// How: every commit in WAL mode rewrites the wal-index header at the start
// of the "<db>-shm" file (two 48-byte copies; the first copy is written
// last, and it holds a commit counter, the last frame number, salts and a
// checksum). The layout is part of SQLite's documented file format
// (walformat.html, "The WAL-Index Header"), shared by every SQLite version
// that opens the file. WalWatch reads that header through the mapping the
// connection's own VFS already holds (sqlite3_io_methods::xShmMap) and
// compares it with a copy taken earlier. Any difference means "maybe
// changed"; equal bytes mean no commit happened in between.
//
// It never opens the -shm file itself: closing any descriptor of a file
// drops every POSIX lock the process holds on it, SQLite's included.
//
// Lifetime: valid while the connection is open; destroy it before closing
// the connection. Thread safety: as the connection.

#ifndef AMBERVAULT_SRC_SQLITE_WAL_WATCH_H_
#define AMBERVAULT_SRC_SQLITE_WAL_WATCH_H_

#include <sqlite3.h>

#include <array>
#include <cstdint>
#include <memory>

namespace ambervault::sqlite {

class WalWatch {
 public:
  using Header = std::array<uint8_t, 48>;

  // The watch for the main database of `db`. Null when it has no shared
  // memory (not in WAL mode, in-memory, heap-memory locking mode) or the
  // VFS offers no xShmMap.
  static std::unique_ptr<WalWatch> Open(sqlite3* db);

  ~WalWatch() = default;
  WalWatch(const WalWatch&) = delete;
  WalWatch& operator=(const WalWatch&) = delete;

  // The current header bytes.
  Header Snapshot() const;
  // True unless the header still equals `before`.
  bool ChangedSince(const Header& before) const;

 private:
  explicit WalWatch(const volatile uint8_t* map) : map_(map) {}
  const volatile uint8_t* map_;
};

}  // namespace ambervault::sqlite

#endif  // AMBERVAULT_SRC_SQLITE_WAL_WATCH_H_
