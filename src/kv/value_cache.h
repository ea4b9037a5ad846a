// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// ValueCache: values recently read from the table, kept in memory so a
// repeated get skips SQLite's two B-tree searches (key index, then row).
//
// Freshness: the cache is only used while the WAL-index header (WalWatch)
// is unchanged since the cache was last emptied. Every commit by any
// connection in any process, this one included, rewrites that header, so
// a cached value is exactly as fresh as a read from the table: the first
// lookup after any commit empties the cache. Files not in WAL mode get no
// cache. Entries are added only from reads that ran after the header copy
// was taken, so they never predate it.
//
// Size: at most `capacity` bytes of keys and values; values larger than
// kMaxValue are not cached. When full, the cache is emptied (no LRU
// bookkeeping on the hit path).
//
// Thread safety: none; the KVault mutex guards it.

#ifndef AMBERVAULT_SRC_KV_VALUE_CACHE_H_
#define AMBERVAULT_SRC_KV_VALUE_CACHE_H_

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "sqlite/connection.h"
#include "sqlite/wal_watch.h"

namespace ambervault::kv {

class ValueCache {
 public:
  static constexpr size_t kMaxValue = 64u << 10;
  static constexpr size_t kEntryOverhead = 64;  // map node, two strings

  explicit ValueCache(size_t capacity) : capacity_(capacity) {}

  // True when the cache may be used for reads on `conn` now (emptying it
  // first if anything committed since it was filled).
  bool Usable(const sqlite::Connection& conn);
  // REQUIRES: Usable() returned true with no commit by this connection since.
  const std::string* Find(std::string_view key) const {
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : &it->second;
  }
  void Insert(std::string_view key, std::string_view value);
  void Clear();
  size_t bytes() const { return bytes_; }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  size_t capacity_;
  size_t bytes_ = 0;
  bool valid_ = false;  // header_ is the state the entries belong to
  sqlite::WalWatch::Header header_{};
  std::unordered_map<std::string, std::string, Hash, std::equal_to<>> map_;
};

}  // namespace ambervault::kv

#endif  // AMBERVAULT_SRC_KV_VALUE_CACHE_H_
