// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// Randomized operations on a KVault checked against a std::map oracle, with
// the write-back cache on and off, small caches that flush often, locks,
// reopen, and scans with random prefixes and page sizes.

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "ambervault/kvault.h"
#include "kv/test_util.h"

namespace ambervault {
namespace {

using testing::OpenOrDie;
using testing::TempDir;

class Driver {
 public:
  explicit Driver(uint32_t seed) : rng_(seed) {}

  // Keys from a small alphabet that includes 0x00 and 0xFF, so prefix
  // bounds and memcmp order are exercised.
  std::string Key() {
    static const char kAlphabet[] = {'a', 'b', '\x00', '\xff'};
    std::string k(1 + rng_() % 4, 'a');
    for (char& c : k) c = kAlphabet[rng_() % 4];
    return k;
  }
  std::string Value() {
    size_t n = rng_() % 10 == 0 ? rng_() % 5000 : rng_() % 40;
    std::string v(n, '\0');
    for (char& c : v) c = static_cast<char>(rng_());
    return v;
  }
  uint32_t Next() { return rng_(); }

 private:
  std::mt19937 rng_;
};

void CheckScan(KVault* kv, const std::map<std::string, std::string>& oracle,
               const std::string& prefix, size_t page, bool with_values) {
  std::vector<std::pair<std::string, std::string>> expected;
  for (auto it = oracle.lower_bound(prefix);
       it != oracle.end() && it->first.compare(0, prefix.size(), prefix) == 0;
       ++it) {
    expected.push_back(*it);
  }
  auto cursor = kv->NewCursor(prefix, with_values, page);
  std::vector<std::string> keys, values;
  size_t i = 0;
  for (;;) {
    Status s = cursor->NextPage(&keys, &values);
    ASSERT_TRUE(s.ok()) << s.ToString();
    if (keys.empty()) break;
    ASSERT_LE(keys.size(), page);
    for (size_t j = 0; j < keys.size(); ++j, ++i) {
      ASSERT_LT(i, expected.size());
      ASSERT_EQ(keys[j], expected[i].first);
      if (with_values) ASSERT_EQ(values[j], expected[i].second);
    }
  }
  ASSERT_EQ(i, expected.size());
}

void RunRandomized(uint32_t seed, bool use_cache) {
  TempDir dir;
  const std::string path = dir.File("oracle.db");
  Driver d(seed);
  std::map<std::string, std::string> oracle;
  auto kv = OpenOrDie(path);
  ASSERT_TRUE(kv);
  CacheOptions cache;
  cache.cap_bytes = 4000;
  cache.flush_threshold = 2500;
  if (use_cache) ASSERT_TRUE(kv->EnableCache(cache).ok());

  for (int step = 0; step < 4000; ++step) {
    uint32_t op = d.Next() % 100;
    std::string key = d.Key();
    if (op < 45) {
      std::string value = d.Value();
      Status s = kv->Put(key, value);
      ASSERT_TRUE(s.ok()) << s.ToString();
      oracle[key] = value;
    } else if (op < 65) {
      auto r = kv->Get(key);
      auto it = oracle.find(key);
      if (it == oracle.end()) {
        ASSERT_TRUE(r.status().IsNotFound());
      } else {
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        ASSERT_EQ(*r, it->second);
      }
    } else if (op < 78) {
      auto r = kv->Delete(key);
      ASSERT_TRUE(r.ok());
      ASSERT_EQ(*r, oracle.erase(key) == 1);
    } else if (op < 85) {
      auto r = kv->Exists(key);
      ASSERT_TRUE(r.ok());
      ASSERT_EQ(*r, oracle.count(key) == 1);
    } else if (op < 90) {
      auto r = kv->Count();
      ASSERT_TRUE(r.ok());
      ASSERT_EQ(*r, static_cast<int64_t>(oracle.size()));
    } else if (op < 96) {
      std::string prefix = d.Next() % 4 == 0 ? std::string() : key.substr(0, 1 + d.Next() % 2);
      CheckScan(kv.get(), oracle, prefix, 1 + d.Next() % 9, d.Next() % 2);
    } else if (op < 97 && use_cache) {
      kv->LockCache();
      // Writes while locked either go pending or are refused (Busy).
      for (int i = 0; i < 5; ++i) {
        std::string k = d.Key(), v = d.Value();
        Status s = kv->Put(k, v);
        if (s.ok()) {
          oracle[k] = v;
        } else {
          ASSERT_TRUE(s.IsBusy()) << s.ToString();
        }
      }
      kv->UnlockCache();
    } else if (op < 98) {
      ASSERT_TRUE(kv->FlushCache().ok());
    } else if (op < 99) {
      // Reopen: everything acknowledged (flushed or closed) is there.
      ASSERT_TRUE(kv->Close().ok());
      kv = OpenOrDie(path);
      ASSERT_TRUE(kv);
      if (use_cache) ASSERT_TRUE(kv->EnableCache(cache).ok());
    } else if (d.Next() % 20 == 0) {
      ASSERT_TRUE(kv->Clear().ok());
      oracle.clear();
    }
  }
  CheckScan(kv.get(), oracle, "", 1000, true);
}

TEST(KVaultOracleTest, RandomizedWithoutCache) {
  for (uint32_t seed : {1u, 2u}) RunRandomized(seed, false);
}

TEST(KVaultOracleTest, RandomizedWithSmallCache) {
  for (uint32_t seed : {3u, 4u, 5u}) RunRandomized(seed, true);
}

}  // namespace
}  // namespace ambervault
