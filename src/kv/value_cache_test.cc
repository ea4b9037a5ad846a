// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// The value cache never serves a stale value: random puts, deletes, batches
// and cached writes through two KVaults on one file (and a plain SQLite
// connection writing behind both), gets through either, checked against a
// std::map oracle.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <map>
#include <random>
#include <string>

#include "ambervault/kvault.h"
#include "ambervault/write_batch.h"
#include "kv/test_util.h"

namespace ambervault {
namespace {

using testing::OpenOrDie;
using testing::TempDir;

TEST(ValueCacheTest, TwoVaultsAndAForeignWriterNeverSeeStaleValues) {
  TempDir dir;
  const std::string path = dir.File("v.db");
  KVaultOptions small;
  small.value_cache_bytes = 4096;  // fills and empties often
  auto a = OpenOrDie(path);
  auto b = OpenOrDie(path, small);
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  sqlite3_busy_timeout(raw, 5000);
  std::map<std::string, std::string> oracle;
  std::mt19937 rng(7);
  auto key = [&] { return "k" + std::to_string(rng() % 40); };
  auto value = [&] { return std::string(1 + rng() % (rng() % 8 == 0 ? 70000 : 200), 'a' + rng() % 26); };
  for (int step = 0; step < 6000; ++step) {
    KVault* kv = rng() % 2 ? a.get() : b.get();
    KVault* other = kv == a.get() ? b.get() : a.get();
    const uint32_t op = rng() % 100;
    // Pending cached writes take effect at their flush: flush the other
    // vault's cache before a write, so the oracle's order is the file's.
    // (Also before a read: another vault's pending writes are not visible.)
    ASSERT_AV_OK(other->FlushCache().status());
    if (op >= 37 && op < 42) ASSERT_AV_OK(kv->FlushCache().status());
    if (op < 25) {
      std::string k = key(), v = value();
      ASSERT_AV_OK(kv->Put(k, v));
      oracle[k] = v;
    } else if (op < 32) {
      std::string k = key();
      ASSERT_TRUE(kv->Delete(k).ok());
      oracle.erase(k);
    } else if (op < 37) {
      WriteBatch batch;
      for (int i = 0; i < 3; ++i) {
        std::string k = key(), v = value();
        batch.Put(k, v);
        oracle[k] = v;
      }
      ASSERT_AV_OK(kv->Write(batch));
    } else if (op < 42) {  // a writer that is not a KVault
      std::string k = key(), v = value();
      sqlite3_stmt* st = nullptr;
      ASSERT_EQ(sqlite3_prepare_v2(raw, "INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", -1, &st, nullptr),
                SQLITE_OK);
      sqlite3_bind_blob(st, 1, k.data(), static_cast<int>(k.size()), SQLITE_TRANSIENT);
      sqlite3_bind_blob(st, 2, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
      ASSERT_EQ(sqlite3_step(st), SQLITE_DONE);
      sqlite3_finalize(st);
      oracle[k] = v;
    } else if (op < 44) {
      if (kv->cache_enabled()) {
        ASSERT_AV_OK(kv->DisableCache());
      } else {
        ASSERT_AV_OK(kv->EnableCache(CacheOptions()));
      }
    } else {
      std::string k = key();
      std::string got;
      Status s = kv->Get(k, &got);
      auto it = oracle.find(k);
      if (it == oracle.end()) {
        ASSERT_TRUE(s.IsNotFound()) << "step " << step << " " << k;
      } else {
        ASSERT_TRUE(s.ok()) << s.ToString();
        ASSERT_EQ(got, it->second) << "step " << step << " " << k;
      }
      std::string fast;
      if (kv->TryGetCached(k, &fast)) {
        ASSERT_TRUE(it != oracle.end());
        ASSERT_EQ(fast, it->second) << "step " << step;
      }
    }
  }
  sqlite3_close(raw);
}

}  // namespace
}  // namespace ambervault
