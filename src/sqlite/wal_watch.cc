// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.

#include "sqlite/wal_watch.h"

#include <atomic>

namespace ambervault::sqlite {

namespace {
// SQLite maps the wal-index in regions of this size (WALINDEX_PGSZ).
constexpr int kShmRegionSize = 32768;
}  // namespace

std::unique_ptr<WalWatch> WalWatch::Open(sqlite3* db) {
  sqlite3_file* file = nullptr;
  if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &file) !=
          SQLITE_OK ||
      file == nullptr || file->pMethods == nullptr ||
      file->pMethods->iVersion < 2 || file->pMethods->xShmMap == nullptr) {
    return nullptr;
  }
  // bExtend = 0: only an existing mapping, never a new one.
  void volatile* region = nullptr;
  int rc = file->pMethods->xShmMap(file, 0, kShmRegionSize, 0, &region);
  if (rc != SQLITE_OK || region == nullptr) return nullptr;
  return std::unique_ptr<WalWatch>(
      new WalWatch(static_cast<const volatile uint8_t*>(region)));
}

WalWatch::Header WalWatch::Snapshot() const {
  Header h;
  // Pairs with the barrier SQLite places between its header writes.
  std::atomic_thread_fence(std::memory_order_acquire);
  for (size_t i = 0; i < h.size(); ++i) h[i] = map_[i];
  std::atomic_thread_fence(std::memory_order_acquire);
  return h;
}

bool WalWatch::ChangedSince(const Header& before) const {
  return Snapshot() != before;
}

}  // namespace ambervault::sqlite
