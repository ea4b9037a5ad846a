// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// WriteCache: the pending writes of a KVault's write-back cache, ordered by
// key (so scans can merge them with the table and flushes insert in key
// order), with exact byte accounting (keys plus values; an overwrite
// replaces the old entry's size instead of adding to it).
//
// Thread safety: none; the KVault's mutex guards it.

#ifndef AMBERVAULT_SRC_KV_WRITE_CACHE_H_
#define AMBERVAULT_SRC_KV_WRITE_CACHE_H_

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace ambervault::kv {

class WriteCache {
 public:
  using Map = std::map<std::string, std::string, std::less<>>;
  using Clock = std::chrono::steady_clock;

  // The pending value of `key`, or null. Valid until the next change.
  const std::string* Find(std::string_view key) const;

  // Bytes the cache would hold after Put(key, value).
  size_t BytesAfterPut(std::string_view key, std::string_view value) const;

  void Put(std::string_view key, std::string_view value);
  // True if `key` was pending.
  bool Erase(std::string_view key);
  void Clear();

  size_t bytes() const { return bytes_; }
  size_t entries() const { return map_.size(); }
  bool empty() const { return map_.empty(); }
  // When the oldest pending write arrived (meaningful only if !empty()).
  Clock::time_point oldest() const { return oldest_; }

  const Map& map() const { return map_; }

  static size_t EntryBytes(std::string_view key, std::string_view value) {
    return key.size() + value.size();
  }

 private:
  Map map_;
  size_t bytes_ = 0;
  Clock::time_point oldest_{};
};

}  // namespace ambervault::kv

#endif  // AMBERVAULT_SRC_KV_WRITE_CACHE_H_
