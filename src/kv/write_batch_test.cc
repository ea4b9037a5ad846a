// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.

#include "ambervault/write_batch.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ambervault {
namespace {

TEST(WriteBatchTest, RecordsOperationsInOrder) {
  WriteBatch b;
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.ApproximateBytes(), 0u);
  b.Put("k1", "value");
  b.Delete("k2");
  b.Put(std::string("\0\xff", 2), std::string(3, '\0'));
  ASSERT_EQ(b.size(), 3u);
  std::vector<std::string> seen;
  for (const WriteBatch::Op& op : b) {
    seen.push_back((op.is_put() ? "put:" : "del:") + op.key);
  }
  const std::string odd("\0\xff", 2);
  EXPECT_EQ(seen,
            (std::vector<std::string>{"put:k1", "del:k2", "put:" + odd}));
  EXPECT_EQ(b.ops()[2].value, std::string(3, '\0'));
  EXPECT_EQ(b.ApproximateBytes(),
            (2 + 5) + 2 + (2 + 3) + 3 * WriteBatch::kOpOverhead);
}

TEST(WriteBatchTest, CopiesItsInputAndIsAValue) {
  WriteBatch b;
  {
    std::string key = "temp", value = "v";
    b.Put(key, value);
    key.assign("XXXX");
    value.assign("Y");
  }
  WriteBatch copy = b;
  b.Clear();
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.ApproximateBytes(), 0u);
  ASSERT_EQ(copy.size(), 1u);
  EXPECT_EQ(copy.ops()[0].key, "temp");
  EXPECT_EQ(copy.ops()[0].value, "v");
  WriteBatch moved = std::move(copy);
  EXPECT_EQ(moved.size(), 1u);
}

}  // namespace
}  // namespace ambervault
