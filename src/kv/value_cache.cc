// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.

#include "kv/value_cache.h"

namespace ambervault::kv {

bool ValueCache::Usable(const sqlite::Connection& conn) {
  if (capacity_ == 0) return false;
  const sqlite::WalWatch* watch = conn.wal_watch();
  if (watch == nullptr) return false;  // not WAL (yet): no way to validate
  // A write transaction of this connection may hold uncommitted rows.
  if (conn.in_transaction() && !conn.read_lease_active()) return false;
  if (valid_ && !watch->ChangedSince(header_)) return true;
  Clear();
  // Copied before any read that fills the cache takes its snapshot.
  header_ = watch->Snapshot();
  valid_ = true;
  return true;
}

void ValueCache::Insert(std::string_view key, std::string_view value) {
  if (!valid_ || value.size() > kMaxValue) return;
  const size_t cost = key.size() + value.size() + kEntryOverhead;
  if (cost > capacity_) return;
  if (bytes_ + cost > capacity_) {
    const bool valid = valid_;
    const sqlite::WalWatch::Header header = header_;
    Clear();
    valid_ = valid;
    header_ = header;
  }
  auto [it, inserted] = map_.try_emplace(std::string(key), value);
  if (inserted) bytes_ += cost;
}

void ValueCache::Clear() {
  map_.clear();
  bytes_ = 0;
  valid_ = false;
}

}  // namespace ambervault::kv
