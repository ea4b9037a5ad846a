// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.

#include "ambervault/write_batch.h"

#include <utility>

namespace ambervault {

void WriteBatch::Put(std::string_view key, std::string_view value) {
  ops_.push_back(Op{OpType::kPut, std::string(key), std::string(value)});
  bytes_ += key.size() + value.size() + kOpOverhead;
}

void WriteBatch::PutOwned(std::string_view key, std::string value) {
  bytes_ += key.size() + value.size() + kOpOverhead;
  ops_.push_back(Op{OpType::kPut, std::string(key), std::move(value)});
}

void WriteBatch::Delete(std::string_view key) {
  ops_.push_back(Op{OpType::kDelete, std::string(key), std::string()});
  bytes_ += key.size() + kOpOverhead;
}

void WriteBatch::Clear() {
  ops_.clear();
  bytes_ = 0;
}

}  // namespace ambervault
