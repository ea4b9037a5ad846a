// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// Randomized Write / GetMany / DeleteMany / range scans (both directions,
// random bounds and page sizes) checked against a std::map oracle, with the
// write-back cache on (small, so batches overflow it) and off, locks that
// make batches refuse, and reopen. Follows kvault_oracle_test.cc.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "ambervault/kvault.h"
#include "ambervault/write_batch.h"
#include "kv/test_util.h"

namespace ambervault {
namespace {

using testing::OpenOrDie;
using testing::TempDir;
using Oracle = std::map<std::string, std::string>;

class Driver {
 public:
  explicit Driver(uint32_t seed) : rng_(seed) {}
  // Keys over {a, b, 0x00, 0xFF}, 0..4 bytes (the empty key included).
  std::string Key() {
    static const char kAlphabet[] = {'a', 'b', '\x00', '\xff'};
    std::string k(rng_() % 5, 'a');
    for (char& c : k) c = kAlphabet[rng_() % 4];
    return k;
  }
  std::string Value() {
    size_t n = rng_() % 10 == 0 ? rng_() % 3000 : rng_() % 40;
    std::string v(n, '\0');
    for (char& c : v) c = static_cast<char>(rng_());
    return v;
  }
  std::optional<std::string> Bound() {
    if (rng_() % 4 == 0) return std::nullopt;
    return Key();
  }
  uint32_t Next() { return rng_(); }

 private:
  std::mt19937 rng_;
};

void ApplyToOracle(const WriteBatch& b, Oracle* oracle) {
  for (const WriteBatch::Op& op : b) {
    if (op.is_put()) {
      (*oracle)[op.key] = op.value;
    } else {
      oracle->erase(op.key);
    }
  }
}

void CheckRange(KVault* kv, const Oracle& oracle, const RangeOptions& o) {
  std::vector<std::pair<std::string, std::string>> expected;
  for (const auto& entry : oracle) {
    if (o.start && entry.first < *o.start) continue;
    if (o.stop && entry.first >= *o.stop) continue;
    expected.push_back(entry);
  }
  if (o.reverse) std::reverse(expected.begin(), expected.end());
  auto cursor = kv->NewRangeCursor(o);
  std::vector<std::string> keys, values;
  size_t i = 0;
  for (;;) {
    Status s = cursor->NextPage(&keys, &values);
    ASSERT_TRUE(s.ok()) << s.ToString();
    if (keys.empty()) break;
    ASSERT_LE(keys.size(), o.page_size);
    for (size_t j = 0; j < keys.size(); ++j, ++i) {
      ASSERT_LT(i, expected.size());
      ASSERT_EQ(keys[j], expected[i].first);
      if (o.with_values) ASSERT_EQ(values[j], expected[i].second);
    }
  }
  ASSERT_EQ(i, expected.size());
}

void RunRandomized(uint32_t seed, bool use_cache) {
  TempDir dir;
  const std::string path = dir.File("oracle.db");
  Driver d(seed);
  Oracle oracle;
  auto kv = OpenOrDie(path);
  ASSERT_TRUE(kv);
  CacheOptions cache;
  cache.cap_bytes = 4000;
  cache.flush_threshold = 2500;
  if (use_cache) ASSERT_AV_OK(kv->EnableCache(cache));

  for (int step = 0; step < 3000; ++step) {
    const uint32_t op = d.Next() % 100;
    if (op < 30) {
      WriteBatch b;
      const int n = 1 + d.Next() % 12;
      const bool puts_only = d.Next() % 2 == 0;  // may stay in the cache
      for (int i = 0; i < n; ++i) {
        if (!puts_only && d.Next() % 3 == 0) {
          b.Delete(d.Key());
        } else {
          b.Put(d.Key(), d.Value());
        }
      }
      const bool lock = use_cache && d.Next() % 5 == 0;
      if (lock) kv->LockCache();
      Status s = kv->Write(b);
      if (lock) kv->UnlockCache();
      if (s.ok()) {
        ApplyToOracle(b, &oracle);
      } else {
        // Only a locked, full cache may refuse, and then nothing changed.
        ASSERT_TRUE(lock && s.IsBusy()) << s.ToString();
      }
    } else if (op < 45) {
      std::vector<std::string> keys(d.Next() % 10);
      for (auto& k : keys) k = d.Key();
      std::vector<std::string_view> views(keys.begin(), keys.end());
      auto r = kv->GetMany(views);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ASSERT_EQ(r->size(), keys.size());
      for (size_t i = 0; i < keys.size(); ++i) {
        auto it = oracle.find(keys[i]);
        if (it == oracle.end()) {
          ASSERT_FALSE((*r)[i].has_value());
        } else {
          ASSERT_EQ((*r)[i], it->second);
        }
      }
    } else if (op < 55) {
      std::vector<std::string> keys(d.Next() % 8);
      for (auto& k : keys) k = d.Key();
      std::vector<std::string_view> views(keys.begin(), keys.end());
      auto r = kv->DeleteMany(views);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      int64_t existed = 0;
      for (const auto& k : keys) existed += oracle.erase(k);
      ASSERT_EQ(*r, existed);
    } else if (op < 65) {
      std::string k = d.Key(), v = d.Value();
      ASSERT_AV_OK(kv->Put(k, v));
      oracle[k] = v;
    } else if (op < 70) {
      std::string k = d.Key();
      auto r = kv->Delete(k);
      ASSERT_TRUE(r.ok());
      ASSERT_EQ(*r, oracle.erase(k) == 1);
    } else if (op < 92) {
      RangeOptions o;
      o.start = d.Bound();
      o.stop = d.Bound();
      o.reverse = d.Next() % 2 == 0;
      o.with_values = d.Next() % 2 == 0;
      o.page_size = 1 + d.Next() % 9;
      CheckRange(kv.get(), oracle, o);
    } else if (op < 95) {
      auto r = kv->Count();
      ASSERT_TRUE(r.ok());
      ASSERT_EQ(*r, static_cast<int64_t>(oracle.size()));
    } else if (op < 97) {
      ASSERT_AV_OK(kv->FlushCache().status());
    } else if (op < 99) {
      ASSERT_AV_OK(kv->Close());
      kv = OpenOrDie(path);
      ASSERT_TRUE(kv);
      if (use_cache) ASSERT_AV_OK(kv->EnableCache(cache));
    } else if (d.Next() % 10 == 0) {
      ASSERT_AV_OK(kv->Clear());
      oracle.clear();
    }
  }
  RangeOptions all;
  all.page_size = 1000;
  CheckRange(kv.get(), oracle, all);
  all.reverse = true;
  CheckRange(kv.get(), oracle, all);
}

TEST(KVaultBatchOracleTest, RandomizedWithoutCache) {
  for (uint32_t seed : {11u, 12u}) RunRandomized(seed, false);
}

TEST(KVaultBatchOracleTest, RandomizedWithSmallCache) {
  for (uint32_t seed : {13u, 14u, 15u}) RunRandomized(seed, true);
}

}  // namespace
}  // namespace ambervault
