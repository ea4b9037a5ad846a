// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// KVault::Write, GetMany and DeleteMany, with and without the write-back
// cache: atomicity under injected failures and busy locks, the cache's
// all-or-nothing admission, closed vaults and forked children.

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ambervault/kvault.h"
#include "ambervault/write_batch.h"
#include "kv/test_util.h"

namespace ambervault {
namespace {

using testing::OpenOrDie;
using testing::TempDir;
using Values = std::vector<std::optional<std::string>>;

KVaultOptions FastBusyOptions() {
  KVaultOptions o;
  o.open.busy_timeout_ms = 10;
  o.retry.retries = 2;
  o.retry.backoff_base_seconds = 0.001;
  return o;
}

// A second, raw SQLite connection to the file: what is committed, and a
// way to hold the write lock or install a failing trigger.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
    sqlite3_busy_timeout(db_, 2000);
  }
  ~RawDb() {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(db_);
  }
  void Exec(const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "") << " in " << sql;
    sqlite3_free(err);
  }
  // Committed rows, key -> value.
  std::map<std::string, std::string> Rows() {
    std::map<std::string, std::string> out;
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, "SELECT key, value FROM kv", -1, &st,
                                 nullptr),
              SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
      auto col = [&](int i) {
        return std::string(static_cast<const char*>(sqlite3_column_blob(st, i)),
                           sqlite3_column_bytes(st, i));
      };
      out[col(0)] = col(1);
    }
    sqlite3_finalize(st);
    return out;
  }
  sqlite3* db() { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

Values Get(KVault* kv, const std::vector<std::string_view>& keys) {
  auto r = kv->GetMany(keys);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : Values();
}

TEST(KVaultBatchTest, WriteAppliesInOrderLaterOperationsWin) {
  for (bool cached : {false, true}) {
    SCOPED_TRACE(cached ? "cache" : "no cache");
    auto kv = OpenOrDie(":memory:");
    if (cached) ASSERT_AV_OK(kv->EnableCache(CacheOptions()));
    ASSERT_AV_OK(kv->Put("old", "1"));
    ASSERT_AV_OK(kv->Put("gone", "x"));
    WriteBatch b;
    b.Put("a", "1");
    b.Put("a", "2");        // later put wins
    b.Put("b", "1");
    b.Delete("b");          // later delete wins
    b.Delete("c");
    b.Put("c", "3");        // put after delete wins
    b.Delete("gone");
    b.Put("", "empty key");
    b.Put("z", "");
    ASSERT_AV_OK(kv->Write(b));
    EXPECT_EQ(Get(kv.get(), {"a", "b", "c", "gone", "old", "", "z", "nope"}),
              (Values{"2", std::nullopt, "3", std::nullopt, "1", "empty key",
                      "", std::nullopt}));
    EXPECT_EQ(*kv->Count(), 5);
    ASSERT_AV_OK(kv->Write(WriteBatch()));  // empty batch: a no-op
    EXPECT_EQ(*kv->Count(), 5);
  }
}

TEST(KVaultBatchTest, FailureMidBatchWritesNothing) {
  for (bool cached : {false, true}) {
    SCOPED_TRACE(cached ? "cache" : "no cache");
    TempDir dir;
    const std::string path = dir.File("kv.db");
    auto kv = OpenOrDie(path);
    ASSERT_AV_OK(kv->Put("keep", "old"));
    if (cached) ASSERT_AV_OK(kv->EnableCache(CacheOptions()));
    RawDb raw(path);
    // Any insert of "poison" fails inside the transaction.
    raw.Exec(
        "CREATE TRIGGER poison BEFORE INSERT ON kv "
        "WHEN NEW.key = CAST('poison' AS BLOB) "
        "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
    WriteBatch b;
    b.Put("a", "1");
    b.Put("keep", "new");
    b.Delete("x");  // with the cache: forces the write-through path
    b.Put("poison", "p");
    b.Put("zz", "after");
    Status s = kv->Write(b);
    EXPECT_TRUE(s.IsConstraint()) << s.ToString();
    EXPECT_EQ(Get(kv.get(), {"a", "keep", "poison", "zz"}),
              (Values{std::nullopt, "old", std::nullopt, std::nullopt}));
    EXPECT_EQ(raw.Rows(),
              (std::map<std::string, std::string>{{"keep", "old"}}));
    EXPECT_EQ(kv->cache_entries(), 0u);

    if (cached) {
      // A batch of puts too big for the cache is flushed together with the
      // pending entries; a failure keeps both out of the file, and the
      // pending entries stay pending.
      CacheOptions small;
      small.cap_bytes = 64;
      small.flush_threshold = 1000;
      ASSERT_AV_OK(kv->EnableCache(small));
      ASSERT_AV_OK(kv->Put("p1", "pending"));
      WriteBatch puts;
      puts.Put("a", std::string(30, 'a'));
      puts.Put("poison", std::string(30, 'p'));
      EXPECT_TRUE(kv->Write(puts).IsConstraint());
      EXPECT_EQ(kv->cache_entries(), 1u);
      EXPECT_EQ(Get(kv.get(), {"p1", "a"}), (Values{"pending", std::nullopt}));
      EXPECT_EQ(raw.Rows(),
                (std::map<std::string, std::string>{{"keep", "old"}}));
    }

    // DeleteMany is one transaction too: a failing delete undoes the others.
    raw.Exec(
        "CREATE TRIGGER guard BEFORE DELETE ON kv "
        "WHEN OLD.key = CAST('guarded' AS BLOB) "
        "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
    ASSERT_AV_OK(kv->Put("guarded", "g"));
    ASSERT_AV_OK(kv->FlushCache().status());
    auto r = kv->DeleteMany({"keep", "guarded"});
    EXPECT_TRUE(r.status().IsConstraint()) << r.status().ToString();
    EXPECT_EQ(Get(kv.get(), {"keep", "guarded"}), (Values{"old", "g"}));
  }
}

TEST(KVaultBatchTest, OversizedValueIsRejectedBeforeWriting) {
  WriteBatch b;
  b.Put("a", "1");
  // Over SQLite's default limit of 1,000,000,000 bytes per row (moved in:
  // one allocation).
  b.Put("huge", std::string(1'000'000'000, 'h'));
  b.Put("b", "2");
  for (bool cached : {false, true}) {
    SCOPED_TRACE(cached ? "cache" : "no cache");
    auto kv = OpenOrDie(":memory:");
    if (cached) ASSERT_AV_OK(kv->EnableCache(CacheOptions()));
    Status s = kv->Write(b);
    EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
    EXPECT_EQ(*kv->Count(), 0);
    EXPECT_EQ(kv->cache_entries(), 0u);
  }
}

TEST(KVaultBatchTest, WriteLockHeldElsewhereIsBusyAndWritesNothing) {
  TempDir dir;
  const std::string path = dir.File("kv.db");
  auto kv = OpenOrDie(path, FastBusyOptions());
  ASSERT_AV_OK(kv->Put("a", "old"));
  WriteBatch puts;
  puts.Put("a", "new");
  puts.Put("b", "new");
  WriteBatch with_delete = puts;
  with_delete.Delete("c");
  {
    RawDb raw(path);
    raw.Exec("BEGIN IMMEDIATE");
    // No cache.
    EXPECT_TRUE(kv->Write(puts).IsBusy());
    EXPECT_TRUE(kv->DeleteMany({"a"}).status().IsBusy());
    // Cache: a batch with a delete is written through, so it is busy too.
    CacheOptions small;
    small.cap_bytes = 20;
    small.flush_threshold = 1000;
    ASSERT_AV_OK(kv->EnableCache(small));
    EXPECT_TRUE(kv->Write(with_delete).IsBusy());
    EXPECT_EQ(kv->cache_entries(), 0u);
    // A batch of puts that fits goes pending without touching the file.
    ASSERT_AV_OK(kv->Write(puts));
    EXPECT_EQ(kv->cache_entries(), 2u);
    // One that does not fit must flush with the pending entries in one
    // transaction: busy, and neither the cache nor the file changes.
    WriteBatch big;
    big.Put("c", std::string(10, 'c'));
    big.Put("d", std::string(5, 'd'));
    EXPECT_TRUE(kv->Write(big).IsBusy());
    EXPECT_EQ(kv->cache_entries(), 2u);
    EXPECT_EQ(Get(kv.get(), {"a", "b", "c", "d"}),
              (Values{"new", "new", std::nullopt, std::nullopt}));
    raw.Exec("ROLLBACK");
    EXPECT_EQ(raw.Rows(), (std::map<std::string, std::string>{{"a", "old"}}));
    // Lock released: the same batch now commits together with the
    // pending entries, and the cache is empty afterwards.
    ASSERT_AV_OK(kv->Write(big));
    EXPECT_EQ(kv->cache_entries(), 0u);
    EXPECT_EQ(raw.Rows(), (std::map<std::string, std::string>{
                              {"a", "new"},
                              {"b", "new"},
                              {"c", std::string(10, 'c')},
                              {"d", std::string(5, 'd')}}));
  }
}

TEST(KVaultBatchTest, CacheAdmitsABatchWholeOrNotAtAll) {
  auto kv = OpenOrDie(":memory:");
  CacheOptions o;
  o.cap_bytes = 100;
  o.flush_threshold = 1000;  // no threshold flushes
  ASSERT_AV_OK(kv->EnableCache(o));
  WriteBatch b;
  for (int i = 0; i < 5; ++i) b.Put("k" + std::to_string(i), "0123456789");
  ASSERT_AV_OK(kv->Write(b));  // 5 * 12 = 60 bytes
  EXPECT_EQ(kv->cache_entries(), 5u);
  EXPECT_EQ(kv->cache_bytes(), 60u);

  // Locked and the batch does not fit: Busy, nothing added.
  kv->LockCache();
  WriteBatch more;
  more.Put("k0", "overwrite!");  // replaces 12 bytes with 12
  for (int i = 5; i < 9; ++i) more.Put("k" + std::to_string(i), "0123456789");
  EXPECT_TRUE(kv->Write(more).IsBusy());
  EXPECT_EQ(kv->cache_entries(), 5u);
  EXPECT_EQ(kv->cache_bytes(), 60u);
  EXPECT_EQ(*kv->Get("k0"), "0123456789");
  EXPECT_TRUE(kv->Get("k5").status().IsNotFound());
  // An overwrite that fits is admitted while locked.
  WriteBatch fits;
  fits.Put("k0", "overwrite!");
  fits.Put("k9", "0123456789");
  ASSERT_AV_OK(kv->Write(fits));
  EXPECT_EQ(kv->cache_entries(), 6u);
  kv->UnlockCache();

  // Unlocked and too big: one transaction with everything pending.
  ASSERT_AV_OK(kv->Write(more));
  EXPECT_EQ(kv->cache_entries(), 0u);
  EXPECT_EQ(*kv->Count(), 10);
  EXPECT_EQ(*kv->Get("k0"), "overwrite!");

  // An entry larger than the whole cache is written through, and drops
  // older pending values of the batch's keys.
  ASSERT_AV_OK(kv->Put("k1", "pending"));
  ASSERT_AV_OK(kv->Put("k2", "pending"));
  WriteBatch huge;
  huge.Put("k1", std::string(200, 'x'));
  ASSERT_AV_OK(kv->Write(huge));
  EXPECT_EQ(kv->cache_entries(), 1u);  // k2 still pending
  EXPECT_EQ(*kv->Get("k1"), std::string(200, 'x'));
  EXPECT_EQ(*kv->Get("k2"), "pending");
  ASSERT_AV_OK(kv->FlushCache().status());
  EXPECT_EQ(*kv->Get("k1"), std::string(200, 'x'));  // not overwritten

  // A delete in a batch hides a pending value, and is written through.
  ASSERT_AV_OK(kv->Put("k3", "pending"));
  WriteBatch del;
  del.Delete("k3");
  del.Put("k4", "v");
  ASSERT_AV_OK(kv->Write(del));
  EXPECT_TRUE(kv->Get("k3").status().IsNotFound());
  EXPECT_EQ(*kv->Get("k4"), "v");
  ASSERT_AV_OK(kv->FlushCache().status());
  EXPECT_TRUE(kv->Get("k3").status().IsNotFound());
}

TEST(KVaultBatchTest, ThresholdFlushAfterABatch) {
  TempDir dir;
  const std::string path = dir.File("kv.db");
  auto kv = OpenOrDie(path);
  CacheOptions o;
  o.cap_bytes = 1000;
  o.flush_threshold = 30;
  ASSERT_AV_OK(kv->EnableCache(o));
  WriteBatch b;
  b.Put("a", std::string(10, 'a'));
  ASSERT_AV_OK(kv->Write(b));
  EXPECT_EQ(kv->cache_entries(), 1u);
  b.Clear();
  b.Put("b", std::string(10, 'b'));
  b.Put("c", std::string(10, 'c'));
  ASSERT_AV_OK(kv->Write(b));  // 33 bytes >= threshold: flushed
  EXPECT_EQ(kv->cache_entries(), 0u);
  RawDb raw(path);
  EXPECT_EQ(raw.Rows().size(), 3u);
}

TEST(KVaultBatchTest, GetManySeesCacheAndKeepsOrder) {
  for (bool cached : {false, true}) {
    SCOPED_TRACE(cached ? "cache" : "no cache");
    TempDir dir;
    auto kv = OpenOrDie(dir.File("kv.db"));
    ASSERT_AV_OK(kv->Put("a", "table"));
    ASSERT_AV_OK(kv->Put("b", "table"));
    if (cached) ASSERT_AV_OK(kv->EnableCache(CacheOptions()));
    ASSERT_AV_OK(kv->Put("b", "newer"));
    ASSERT_AV_OK(kv->Put("c", std::string("\0\xff", 2)));
    EXPECT_EQ(Get(kv.get(), {}), Values{});
    EXPECT_EQ(Get(kv.get(), {"c", "missing", "a", "b", "a", ""}),
              (Values{std::string("\0\xff", 2), std::nullopt, "table",
                      "newer", "table", std::nullopt}));
    // Only pending keys: no table read at all.
    if (cached) EXPECT_EQ(Get(kv.get(), {"b", "c"}).size(), 2u);
  }
}

TEST(KVaultBatchTest, GetManyReadsOneSnapshot) {
  // Many keys, with another connection committing meanwhile: each call
  // returns either all-old or all-new values, never a mix.
  TempDir dir;
  const std::string path = dir.File("kv.db");
  auto kv = OpenOrDie(path);
  std::vector<std::string> keys;
  WriteBatch b;
  for (int i = 0; i < 200; ++i) {
    keys.push_back("k" + std::to_string(i));
    b.Put(keys.back(), "0");
  }
  ASSERT_AV_OK(kv->Write(b));
  std::vector<std::string_view> views(keys.begin(), keys.end());
  auto other = OpenOrDie(path);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int gen = 1; !stop.load(); ++gen) {
      WriteBatch w;
      for (const auto& k : keys) w.Put(k, std::to_string(gen));
      if (!other->Write(w).ok()) break;
    }
  });
  for (int round = 0; round < 200; ++round) {
    Values v = Get(kv.get(), views);
    ASSERT_EQ(v.size(), keys.size());
    for (const auto& x : v) ASSERT_EQ(x, v[0]);
  }
  stop = true;
  writer.join();
}

TEST(KVaultBatchTest, DeleteManyCountsDistinctExistingKeys) {
  for (bool cached : {false, true}) {
    SCOPED_TRACE(cached ? "cache" : "no cache");
    TempDir dir;
    const std::string path = dir.File("kv.db");
    auto kv = OpenOrDie(path);
    ASSERT_AV_OK(kv->Put("table", "1"));
    ASSERT_AV_OK(kv->Put("both", "1"));
    ASSERT_AV_OK(kv->Put("keep", "1"));
    if (cached) ASSERT_AV_OK(kv->EnableCache(CacheOptions()));
    ASSERT_AV_OK(kv->Put("both", "2"));
    ASSERT_AV_OK(kv->Put("pending", "2"));
    auto n = kv->DeleteMany(
        {"table", "both", "pending", "missing", "table", "pending", "both"});
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(*n, 3);
    EXPECT_EQ(*kv->Count(), 1);
    EXPECT_EQ(kv->cache_entries(), 0u);
    EXPECT_EQ(*kv->DeleteMany({}), 0);
    EXPECT_EQ(*kv->DeleteMany({"table"}), 0);
    ASSERT_AV_OK(kv->FlushCache().status());
    RawDb raw(path);
    EXPECT_EQ(raw.Rows(), (std::map<std::string, std::string>{{"keep", "1"}}));
  }
}

TEST(KVaultBatchTest, ClosedVaultReportsClosed) {
  auto kv = OpenOrDie(":memory:");
  ASSERT_AV_OK(kv->Close());
  WriteBatch b;
  b.Put("a", "b");
  EXPECT_TRUE(kv->Write(b).IsClosed());
  EXPECT_TRUE(kv->Write(WriteBatch()).IsClosed());
  EXPECT_TRUE(kv->GetMany({"a"}).status().IsClosed());
  EXPECT_TRUE(kv->GetMany({}).status().IsClosed());
  EXPECT_TRUE(kv->DeleteMany({"a"}).status().IsClosed());
  EXPECT_TRUE(kv->DeleteMany({}).status().IsClosed());
}

TEST(KVaultBatchTest, ForkedChildRefuses) {
  TempDir dir;
  auto kv = OpenOrDie(dir.File("kv.db"));
  ASSERT_AV_OK(kv->Put("parent", "1"));
  EXPECT_EQ(Get(kv.get(), {"parent"}), (Values{"1"}));  // a lease exists
  pid_t pid = fork();
  if (pid == 0) {
    WriteBatch b;
    b.Put("child", "1");
    bool ok = kv->Write(b).IsNotSupported() &&
              kv->GetMany({"parent"}).status().IsNotSupported() &&
              kv->DeleteMany({"parent"}).status().IsNotSupported();
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(Get(kv.get(), {"parent", "child"}), (Values{"1", std::nullopt}));
}

}  // namespace
}  // namespace ambervault
