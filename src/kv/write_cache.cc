// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.

#include "kv/write_cache.h"

namespace ambervault::kv {

const std::string* WriteCache::Find(std::string_view key) const {
  auto it = map_.find(key);
  return it == map_.end() ? nullptr : &it->second;
}

size_t WriteCache::BytesAfterPut(std::string_view key,
                                 std::string_view value) const {
  size_t total = bytes_ + EntryBytes(key, value);
  auto it = map_.find(key);
  if (it != map_.end()) total -= EntryBytes(it->first, it->second);
  return total;
}

void WriteCache::Put(std::string_view key, std::string_view value) {
  if (map_.empty()) oldest_ = Clock::now();
  auto it = map_.find(key);
  if (it != map_.end()) {
    bytes_ -= EntryBytes(it->first, it->second);
    it->second.assign(value.data(), value.size());
  } else {
    it = map_.emplace_hint(it, std::string(key), std::string(value));
  }
  bytes_ += EntryBytes(key, value);
}

bool WriteCache::Erase(std::string_view key) {
  auto it = map_.find(key);
  if (it == map_.end()) return false;
  bytes_ -= EntryBytes(it->first, it->second);
  map_.erase(it);
  return true;
}

void WriteCache::Clear() {
  map_.clear();
  bytes_ = 0;
}

}  // namespace ambervault::kv
