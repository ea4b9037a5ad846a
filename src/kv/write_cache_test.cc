// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.

#include "kv/write_cache.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

namespace ambervault::kv {
namespace {

TEST(WriteCacheTest, AccountingReplacesOnOverwrite) {
  WriteCache c;
  EXPECT_TRUE(c.empty());
  c.Put("ab", "1234");
  EXPECT_EQ(c.bytes(), 6u);
  EXPECT_EQ(c.BytesAfterPut("ab", "1"), 3u);
  EXPECT_EQ(c.BytesAfterPut("zz", "1"), 9u);
  c.Put("ab", "1");  // overwrite: 2 + 1, not 6 + 3
  EXPECT_EQ(c.bytes(), 3u);
  EXPECT_EQ(c.entries(), 1u);
  ASSERT_NE(c.Find("ab"), nullptr);
  EXPECT_EQ(*c.Find("ab"), "1");
  EXPECT_TRUE(c.Erase("ab"));
  EXPECT_FALSE(c.Erase("ab"));
  EXPECT_EQ(c.bytes(), 0u);
  EXPECT_EQ(c.Find("ab"), nullptr);
}

TEST(WriteCacheTest, EmptyKeysAndValuesCount) {
  WriteCache c;
  c.Put("", "");
  EXPECT_EQ(c.entries(), 1u);
  EXPECT_EQ(c.bytes(), 0u);
  ASSERT_NE(c.Find(""), nullptr);
}

TEST(WriteCacheTest, RandomizedAgainstMapOracle) {
  std::mt19937 rng(7);
  WriteCache c;
  std::map<std::string, std::string> oracle;
  for (int step = 0; step < 20000; ++step) {
    std::string key(1 + rng() % 3, static_cast<char>('a' + rng() % 4));
    int op = rng() % 10;
    if (op < 6) {
      std::string value(rng() % 50, 'v');
      c.Put(key, value);
      oracle[key] = value;
    } else if (op < 9) {
      EXPECT_EQ(c.Erase(key), oracle.erase(key) == 1);
    } else if (step % 100 == 0) {
      c.Clear();
      oracle.clear();
    }
    size_t bytes = 0;
    for (const auto& [k, v] : oracle) bytes += k.size() + v.size();
    ASSERT_EQ(c.bytes(), bytes);
    ASSERT_EQ(c.entries(), oracle.size());
  }
  // Iteration order is key order.
  auto it = oracle.begin();
  for (const auto& [k, v] : c.map()) {
    ASSERT_EQ(k, it->first);
    ASSERT_EQ(v, it->second);
    ++it;
  }
}

}  // namespace
}  // namespace ambervault::kv
