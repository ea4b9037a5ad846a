// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// WriteBatch: an ordered list of Put and Delete operations that
// KVault::Write applies atomically (all of them or none). When one batch
// names a key more than once, the last operation on it wins.
//
//   WriteBatch batch;
//   batch.Put("a", "1");
//   batch.Delete("b");
//   Status s = vault->Write(batch);
//
// A WriteBatch is a plain value: copyable, movable, and it copies the keys
// and values it is given, so they need not outlive the call.
//
// Thread safety: none; one object needs external synchronization.

#ifndef AMBERVAULT_INCLUDE_AMBERVAULT_WRITE_BATCH_H_
#define AMBERVAULT_INCLUDE_AMBERVAULT_WRITE_BATCH_H_

#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>
#include <string_view>
#include <vector>

#include "ambervault/export.h"

namespace ambervault {

class AMBERVAULT_EXPORT WriteBatch {
 public:
  enum class OpType { kPut, kDelete };

  // One operation; `value` is empty for a delete.
  struct Op {
    OpType type;
    std::string key;
    std::string value;

    bool is_put() const { return type == OpType::kPut; }
  };
  using const_iterator = std::vector<Op>::const_iterator;

  WriteBatch() = default;

  // Appends "store `value` under `key`" (copies both).
  void Put(std::string_view key, std::string_view value);
  // The same, taking ownership of a std::string rvalue (no copy of a large
  // value). A template so that string literals still pick the overload above.
  template <typename S, typename = std::enable_if_t<std::is_same_v<S, std::string>>>
  void Put(std::string_view key, S&& value) {
    PutOwned(key, std::move(value));
  }
  // Appends "remove `key`" (not an error when the key is absent).
  void Delete(std::string_view key);
  // Removes every operation.
  void Clear();

  // Number of operations (a key named twice counts twice).
  size_t size() const { return ops_.size(); }
  bool empty() const { return ops_.empty(); }
  // Bytes of the keys and values held, plus a small per-operation overhead.
  size_t ApproximateBytes() const { return bytes_; }

  // The operations in the order they were added.
  const std::vector<Op>& ops() const { return ops_; }
  const_iterator begin() const { return ops_.begin(); }
  const_iterator end() const { return ops_.end(); }

  // Per-operation overhead counted by ApproximateBytes().
  static constexpr size_t kOpOverhead = 16;

 private:
  void PutOwned(std::string_view key, std::string value);

  std::vector<Op> ops_;
  size_t bytes_ = 0;
};

}  // namespace ambervault

#endif  // AMBERVAULT_INCLUDE_AMBERVAULT_WRITE_BATCH_H_
