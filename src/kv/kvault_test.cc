// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.

#include "ambervault/kvault.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "kv/kvault_rep.h"
#include "kv/test_util.h"

namespace ambervault {
namespace {

using testing::OpenOrDie;
using testing::TempDir;

std::vector<std::string> AllKeys(KVault* kv, std::string_view prefix = {},
                                 size_t page = 1024) {
  std::vector<std::string> out, page_keys;
  auto cursor = kv->NewCursor(prefix, false, page);
  for (;;) {
    Status s = cursor->NextPage(&page_keys, nullptr);
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (!s.ok() || page_keys.empty()) break;
    out.insert(out.end(), page_keys.begin(), page_keys.end());
  }
  return out;
}

// Holds the write lock of `path` through a second, raw SQLite connection.
class WriteLockHolder {
 public:
  explicit WriteLockHolder(const std::string& path) {
    sqlite3_open(path.c_str(), &db_);
    int rc = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    EXPECT_EQ(rc, SQLITE_OK);
  }
  ~WriteLockHolder() { Release(); }
  void Release() {
    if (db_ != nullptr) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      sqlite3_close(db_);
      db_ = nullptr;
    }
  }

 private:
  sqlite3* db_ = nullptr;
};

KVaultOptions FastBusyOptions() {
  KVaultOptions o;
  o.open.busy_timeout_ms = 10;
  o.retry.retries = 2;
  o.retry.backoff_base_seconds = 0.001;
  return o;
}

TEST(KVaultTest, PutGetDeleteExists) {
  TempDir dir;
  auto kv = OpenOrDie(dir.File("a/b/kv.db"));  // parent folders created
  ASSERT_TRUE(kv);
  ASSERT_AV_OK(kv->Put("k1", "v1"));
  ASSERT_AV_OK(kv->Put("k1", "v1b"));
  ASSERT_AV_OK(kv->Put(std::string("\0\xff", 2), std::string("\0x\0", 3)));
  ASSERT_AV_OK(kv->Put("", ""));  // empty key and value are real values
  EXPECT_EQ(*kv->Get("k1"), "v1b");
  EXPECT_EQ(*kv->Get(std::string("\0\xff", 2)), std::string("\0x\0", 3));
  EXPECT_EQ(*kv->Get(""), "");
  EXPECT_TRUE(kv->Get("missing").status().IsNotFound());
  EXPECT_TRUE(*kv->Exists("k1"));
  EXPECT_FALSE(*kv->Exists("missing"));
  EXPECT_EQ(*kv->Count(), 3);
  EXPECT_TRUE(*kv->Delete("k1"));
  EXPECT_FALSE(*kv->Delete("k1"));
  EXPECT_EQ(*kv->Count(), 2);
  ASSERT_AV_OK(kv->Clear());
  EXPECT_EQ(*kv->Count(), 0);
  ASSERT_AV_OK(kv->Close());
}

TEST(KVaultTest, TakeAndPutIfAbsentAreAtomicAndSeeTheCache) {
  TempDir dir;
  auto kv = OpenOrDie(dir.File("kv.db"));
  ASSERT_AV_OK(kv->Put("t", "table"));
  EXPECT_EQ(*kv->Take("t"), "table");
  EXPECT_TRUE(kv->Take("t").status().IsNotFound());
  EXPECT_EQ(*kv->PutIfAbsent("p", "first"), std::nullopt);
  EXPECT_EQ(**kv->PutIfAbsent("p", "second"), "first");
  EXPECT_EQ(*kv->Get("p"), "first");

  ASSERT_AV_OK(kv->EnableCache(CacheOptions()));
  ASSERT_AV_OK(kv->Put("p", "pending"));   // shadows the table's "first"
  EXPECT_EQ(**kv->PutIfAbsent("p", "x"), "pending");
  EXPECT_EQ(*kv->Take("p"), "pending");    // removes both copies
  EXPECT_TRUE(kv->Get("p").status().IsNotFound());
  ASSERT_AV_OK(kv->FlushCache().status());
  EXPECT_TRUE(kv->Get("p").status().IsNotFound());

  // Threads racing to pop one key: exactly one wins each value.
  ASSERT_AV_OK(kv->DisableCache());
  for (int round = 0; round < 50; ++round) {
    ASSERT_AV_OK(kv->Put("race", std::to_string(round)));
    std::atomic<int> winners{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        if (kv->Take("race").ok()) ++winners;
      });
    }
    for (auto& th : threads) th.join();
    ASSERT_EQ(winners.load(), 1);
  }
}

TEST(KVaultTest, PersistsAcrossReopenAndInMemoryIsPrivate) {
  TempDir dir;
  {
    auto kv = OpenOrDie(dir.File("kv.db"));
    ASSERT_AV_OK(kv->Put("x", "1"));
  }  // destructor closes
  auto kv = OpenOrDie(dir.File("kv.db"));
  EXPECT_EQ(*kv->Get("x"), "1");

  auto m1 = OpenOrDie(":memory:");
  auto m2 = OpenOrDie(":memory:");
  ASSERT_AV_OK(m1->Put("x", "1"));
  EXPECT_TRUE(m2->Get("x").status().IsNotFound());
}

TEST(KVaultTest, ValidatesOptions) {
  TempDir dir;
  for (const char* bad :
       {"", "1kv", "kv; DROP TABLE x", "k-v", "sqlite_master", "SQLITE_x",
        "k\"v"}) {
    KVaultOptions o;
    o.table = bad;
    auto r = KVault::Open(dir.File("kv.db"), o);
    EXPECT_TRUE(r.status().IsInvalidArgument()) << bad;
  }
  KVaultOptions o;
  o.open.page_size = 1000;
  EXPECT_TRUE(KVault::Open(dir.File("kv.db"), o).status().IsInvalidArgument());
  o = KVaultOptions();
  o.retry.retries = 0;
  EXPECT_TRUE(KVault::Open(dir.File("kv.db"), o).status().IsInvalidArgument());
  o = KVaultOptions();
  o.chunk_size = 0;
  EXPECT_TRUE(KVault::Open(dir.File("kv.db"), o).status().IsInvalidArgument());
  // Nothing was created by the failed opens but the folder itself.
  o = KVaultOptions();
  o.table = "runs_2026";
  EXPECT_TRUE(KVault::Open(dir.File("kv.db"), o).ok());
}

TEST(KVaultTest, ForeignAndDamagedFilesFailAtOpen) {
  TempDir dir;
  {
    std::ofstream f(dir.File("text.db"));
    f << std::string(10000, 'x');
  }
  auto r = KVault::Open(dir.File("text.db"));
  EXPECT_TRUE(r.status().IsCorruption()) << r.status().ToString();

  // A directory is not a database.
  auto d = KVault::Open(dir.path());
  EXPECT_TRUE(d.status().IsIOError()) << d.status().ToString();

  // A table of the same name without key/value columns.
  {
    sqlite3* db;
    sqlite3_open(dir.File("other.db").c_str(), &db);
    sqlite3_exec(db, "CREATE TABLE kv (a INTEGER, b TEXT)", nullptr, nullptr,
                 nullptr);
    sqlite3_close(db);
  }
  auto o = KVault::Open(dir.File("other.db"));
  EXPECT_TRUE(o.status().IsInvalidArgument()) << o.status().ToString();

  // A truncated vault.
  {
    KVaultOptions opts;
    opts.open.enable_wal = false;
    opts.open.page_size = 4096;
    auto kv = OpenOrDie(dir.File("trunc.db"), opts);
    for (int i = 0; i < 2000; ++i) {
      ASSERT_AV_OK(kv->Put("key" + std::to_string(i), std::string(500, 'v')));
    }
  }
  auto size = std::filesystem::file_size(dir.File("trunc.db"));
  std::filesystem::resize_file(dir.File("trunc.db"), size / 2);
  auto t = KVault::Open(dir.File("trunc.db"));
  EXPECT_TRUE(t.status().IsCorruption()) << t.status().ToString();
}

TEST(KVaultTest, ClosedVaultReportsClosed) {
  auto kv = OpenOrDie(":memory:");
  ASSERT_AV_OK(kv->Close());
  ASSERT_AV_OK(kv->Close());  // idempotent
  EXPECT_TRUE(kv->closed());
  EXPECT_TRUE(kv->Put("a", "b").IsClosed());
  EXPECT_TRUE(kv->Get("a").status().IsClosed());
  EXPECT_TRUE(kv->Count().status().IsClosed());
  EXPECT_TRUE(kv->Exists("a").status().IsClosed());
  EXPECT_TRUE(kv->FlushCache().status().IsClosed());
  std::vector<std::string> keys;
  EXPECT_TRUE(kv->NewCursor()->NextPage(&keys, nullptr).IsClosed());
}

TEST(KVaultTest, ScansAreOrderedCompleteAndPaged) {
  auto kv = OpenOrDie(":memory:");
  std::map<std::string, std::string> oracle;
  for (int i = 0; i < 25000; ++i) {
    std::string k = "k" + std::to_string(i * 7919 % 25000);
    oracle[k] = std::to_string(i);
  }
  {
    // Bulk load through the cache (one transaction per flush).
    CacheOptions c;
    ASSERT_AV_OK(kv->EnableCache(c));
    for (const auto& [k, v] : oracle) ASSERT_AV_OK(kv->Put(k, v));
    ASSERT_AV_OK(kv->DisableCache());
  }
  for (size_t page : {1u, 7u, 1024u, 100000u}) {
    auto keys = AllKeys(kv.get(), {}, page);
    ASSERT_EQ(keys.size(), oracle.size()) << page;
    size_t i = 0;
    for (const auto& [k, v] : oracle) ASSERT_EQ(keys[i++], k);
  }
  // Values come with their keys.
  auto cursor = kv->NewCursor("k1", true, 333);
  std::vector<std::string> keys, values;
  size_t n = 0;
  while (cursor->NextPage(&keys, &values).ok() && !keys.empty()) {
    ASSERT_EQ(keys.size(), values.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      ASSERT_EQ(values[i], oracle[keys[i]]);
      ASSERT_EQ(keys[i].rfind("k1", 0), 0u);
      ++n;
    }
  }
  size_t expected = 0;
  for (const auto& [k, v] : oracle) expected += k.rfind("k1", 0) == 0;
  EXPECT_EQ(n, expected);
}

TEST(KVaultTest, PrefixScanIncludesKeysAfter0xFF) {
  auto kv = OpenOrDie(":memory:");
  const std::vector<std::string> inside = {
      "a", std::string("a\x00", 2), "a\xff", "a\xff\x01", "a\xff\xff\x00",
      "a\xff\xff\xff\xff"};
  const std::vector<std::string> outside = {"", "`", "b", "b\x00"};
  for (const auto& k : inside) ASSERT_AV_OK(kv->Put(k, "in"));
  for (const auto& k : outside) ASSERT_AV_OK(kv->Put(k, "out"));
  EXPECT_EQ(AllKeys(kv.get(), "a"), inside);
  // A prefix of only 0xFF bytes has no upper bound.
  ASSERT_AV_OK(kv->Put("\xff\xff\x01", "x"));
  EXPECT_EQ(AllKeys(kv.get(), "\xff").size(), 1u);
  EXPECT_EQ(PrefixSuccessor("a\xff\xff"), std::optional<std::string>("b"));
  EXPECT_EQ(PrefixSuccessor("\xff"), std::nullopt);
  EXPECT_EQ(PrefixSuccessor(""), std::nullopt);
}

TEST(KVaultTest, CacheIsVisibleToEveryRead) {
  TempDir dir;
  auto kv = OpenOrDie(dir.File("kv.db"));
  ASSERT_AV_OK(kv->Put("b", "table"));
  ASSERT_AV_OK(kv->Put("d", "table"));
  CacheOptions c;
  c.cap_bytes = 1 << 20;
  c.flush_threshold = 1 << 20;
  ASSERT_AV_OK(kv->EnableCache(c));
  ASSERT_AV_OK(kv->Put("a", "pending"));
  ASSERT_AV_OK(kv->Put("b", "pending"));
  ASSERT_AV_OK(kv->Put("c", "pending"));
  EXPECT_EQ(kv->cache_entries(), 3u);
  EXPECT_EQ(*kv->Get("b"), "pending");
  EXPECT_TRUE(*kv->Exists("a"));
  EXPECT_EQ(*kv->Count(), 4);
  EXPECT_EQ(AllKeys(kv.get()), (std::vector<std::string>{"a", "b", "c", "d"}));
  std::string streamed;
  auto n = kv->GetStream("c", [&](std::string_view p) {
    streamed.append(p);
    return Status::OK();
  });
  EXPECT_EQ(*n, 7u);
  EXPECT_EQ(streamed, "pending");
  // Deleting a pending key removes it for good.
  EXPECT_TRUE(*kv->Delete("a"));
  EXPECT_TRUE(*kv->Delete("b"));
  EXPECT_EQ(*kv->FlushCache(), 1u);
  EXPECT_TRUE(kv->Get("a").status().IsNotFound());
  EXPECT_TRUE(kv->Get("b").status().IsNotFound());
  EXPECT_EQ(*kv->Get("c"), "pending");
  EXPECT_EQ(*kv->Count(), 2);
}

TEST(KVaultTest, CacheThresholdCapAndBypass) {
  auto kv = OpenOrDie(":memory:");
  CacheOptions c;
  c.cap_bytes = 1000;
  c.flush_threshold = 500;
  ASSERT_AV_OK(kv->EnableCache(c));
  ASSERT_AV_OK(kv->Put("k1", std::string(300, 'x')));
  EXPECT_EQ(kv->cache_entries(), 1u);
  ASSERT_AV_OK(kv->Put("k2", std::string(300, 'x')));  // crosses threshold
  EXPECT_EQ(kv->cache_entries(), 0u);
  // Overwrites are accounted once.
  for (int i = 0; i < 10; ++i) ASSERT_AV_OK(kv->Put("k3", std::string(100, 'y')));
  EXPECT_EQ(kv->cache_bytes(), 102u);
  // A value larger than the cap bypasses the cache and drops the pending
  // older value of that key.
  ASSERT_AV_OK(kv->Put("k3", std::string(2000, 'z')));
  EXPECT_EQ(kv->cache_entries(), 0u);
  EXPECT_EQ(kv->Get("k3")->size(), 2000u);
  EXPECT_EQ(*kv->FlushCache(), 0u);
  EXPECT_EQ(kv->Get("k3")->size(), 2000u);
}

TEST(KVaultTest, LockedFullCacheRefusesInsteadOfDropping) {
  auto kv = OpenOrDie(":memory:");
  CacheOptions c;
  c.cap_bytes = 1024;
  c.flush_threshold = 1024;
  ASSERT_AV_OK(kv->EnableCache(c));
  kv->LockCache();
  ASSERT_AV_OK(kv->Put("a", std::string(600, 'a')));
  EXPECT_TRUE(kv->Put("b", std::string(600, 'b')).IsBusy());
  EXPECT_EQ(*kv->FlushCache(), 0u);  // no flush while locked
  EXPECT_TRUE(kv->DisableCache().IsBusy());
  EXPECT_EQ(kv->Get("a")->size(), 600u);
  kv->UnlockCache();
  EXPECT_EQ(*kv->FlushCache(), 1u);
  ASSERT_AV_OK(kv->Put("b", std::string(600, 'b')));
  ASSERT_AV_OK(kv->DisableCache());
  EXPECT_EQ(*kv->Count(), 2);
}

TEST(KVaultTest, FailedFlushKeepsPendingData) {
  TempDir dir;
  auto kv = OpenOrDie(dir.File("kv.db"), FastBusyOptions());
  CacheOptions c;
  ASSERT_AV_OK(kv->EnableCache(c));
  ASSERT_AV_OK(kv->Put("a", "1"));
  ASSERT_AV_OK(kv->Put("b", "2"));
  WriteLockHolder lock(dir.File("kv.db"));
  EXPECT_TRUE(kv->FlushCache().status().IsBusy());
  EXPECT_TRUE(kv->Close().IsBusy());  // close refuses to drop data
  EXPECT_FALSE(kv->closed());
  EXPECT_EQ(kv->cache_entries(), 2u);
  lock.Release();
  EXPECT_EQ(*kv->FlushCache(), 2u);
  ASSERT_AV_OK(kv->Close());
  auto again = OpenOrDie(dir.File("kv.db"));
  EXPECT_EQ(*again->Get("b"), "2");
}

TEST(KVaultTest, EnableCacheTwiceAndCloseFlush) {
  TempDir dir;
  {
    auto kv = OpenOrDie(dir.File("kv.db"));
    ASSERT_AV_OK(kv->EnableCache(CacheOptions()));
    ASSERT_AV_OK(kv->Put("a", "1"));
    ASSERT_AV_OK(kv->EnableCache(CacheOptions()));  // flushes "a" first
    EXPECT_EQ(kv->cache_entries(), 0u);
    ASSERT_AV_OK(kv->Put("b", "2"));
    ASSERT_AV_OK(kv->Close());  // flushes "b"
  }
  auto kv = OpenOrDie(dir.File("kv.db"));
  EXPECT_EQ(*kv->Count(), 2);
}

TEST(KVaultTest, BackgroundFlush) {
  TempDir dir;
  auto kv = OpenOrDie(dir.File("kv.db"));
  CacheOptions c;
  c.flush_interval_seconds = 0.05;
  ASSERT_AV_OK(kv->EnableCache(c));
  ASSERT_AV_OK(kv->Put("a", "1"));
  auto reader = OpenOrDie(dir.File("kv.db"));
  bool seen = false;
  for (int i = 0; i < 200 && !seen; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    seen = reader->Exists("a").ok() && *reader->Exists("a");
  }
  EXPECT_TRUE(seen);
  EXPECT_EQ(kv->cache_entries(), 0u);
  ASSERT_AV_OK(kv->DisableCache());
}

TEST(KVaultTest, BusyIsRetriedThenReported) {
  TempDir dir;
  auto kv = OpenOrDie(dir.File("kv.db"), FastBusyOptions());
  {
    WriteLockHolder lock(dir.File("kv.db"));
    Status s = kv->Put("a", "1");
    EXPECT_TRUE(s.IsBusy()) << s.ToString();
    EXPECT_NE(s.message().find("locked"), std::string::npos) << s.message();
    // Readers are not blocked by a writer in WAL mode.
    EXPECT_TRUE(kv->Get("a").status().IsNotFound());
  }
  ASSERT_AV_OK(kv->Put("a", "1"));
}

TEST(KVaultTest, StreamsRoundTripAtomically) {
  TempDir dir;
  auto kv = OpenOrDie(dir.File("kv.db"));
  const uint64_t size = 5'000'003;
  auto make_reader = [](uint64_t limit, uint64_t* produced) {
    return [limit, produced](char* buf, size_t cap, size_t* got) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(cap, limit - *produced));
      for (size_t i = 0; i < n; ++i) {
        buf[i] = static_cast<char>((*produced + i) % 251);
      }
      *produced += n;
      *got = n;
      return Status::OK();
    };
  };
  uint64_t produced = 0;
  ASSERT_AV_OK(kv->PutStream("big", make_reader(size, &produced), size, 65536));
  uint64_t pos = 0;
  bool ok = true;
  auto n = kv->GetStream(
      "big",
      [&](std::string_view piece) {
        EXPECT_LE(piece.size(), 100000u);
        for (char c : piece) ok &= c == static_cast<char>(pos++ % 251);
        return Status::OK();
      },
      100000);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, size);
  EXPECT_TRUE(ok);

  // Unknown size: spooled, same bytes.
  produced = 0;
  ASSERT_AV_OK(kv->PutStream("spooled", make_reader(size, &produced),
                             std::nullopt, 4096));
  EXPECT_EQ(kv->Get("spooled")->size(), size);

  // A short reader leaves the old value.
  ASSERT_AV_OK(kv->Put("k", "old"));
  produced = 0;
  Status s = kv->PutStream("k", make_reader(10, &produced), 100, 4);
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_EQ(*kv->Get("k"), "old");
  // A failing reader leaves no key.
  s = kv->PutStream(
      "new",
      [](char*, size_t, size_t*) { return Status::IOError("boom"); }, 10);
  EXPECT_TRUE(s.IsIOError());
  EXPECT_TRUE(kv->Get("new").status().IsNotFound());
  // A failing writer stops the read.
  auto w = kv->GetStream(
      "big", [](std::string_view) { return Status::IOError("full"); });
  EXPECT_TRUE(w.status().IsIOError());
  EXPECT_TRUE(kv->GetStream("nope", [](std::string_view) {
                   return Status::OK();
                 }).status().IsNotFound());
  // Zero-length values stream too.
  produced = 0;
  ASSERT_AV_OK(kv->PutStream("empty", make_reader(0, &produced), 0));
  EXPECT_EQ(*kv->Get("empty"), "");
}

TEST(KVaultTest, StreamWriteOverridesPendingCacheValue) {
  auto kv = OpenOrDie(":memory:");
  ASSERT_AV_OK(kv->EnableCache(CacheOptions()));
  ASSERT_AV_OK(kv->Put("k", "cached"));
  std::string src = "streamed";
  size_t off = 0;
  ASSERT_AV_OK(kv->PutStream(
      "k",
      [&](char* buf, size_t cap, size_t* got) {
        *got = std::min(cap, src.size() - off);
        memcpy(buf, src.data() + off, *got);
        off += *got;
        return Status::OK();
      },
      src.size()));
  ASSERT_AV_OK(kv->FlushCache().status());
  EXPECT_EQ(*kv->Get("k"), "streamed");
}

TEST(KVaultTest, ThreadsShareOneVault) {
  TempDir dir;
  for (bool cached : {false, true}) {
    auto kv = OpenOrDie(dir.File(cached ? "c.db" : "n.db"));
    if (cached) {
      CacheOptions c;
      c.cap_bytes = 4096;
      c.flush_threshold = 2048;
      ASSERT_AV_OK(kv->EnableCache(c));
    }
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 500; ++i) {
          std::string k = "t" + std::to_string(t) + ":" + std::to_string(i);
          if (!kv->Put(k, k).ok()) ++failures;
          if (i % 50 == 0) {
            std::vector<std::string> keys;
            if (!kv->NewCursor("t", false, 64)->NextPage(&keys, nullptr).ok()) {
              ++failures;
            }
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures.load(), 0);
    ASSERT_AV_OK(kv->FlushCache().status());
    EXPECT_EQ(*kv->Count(), 4000);
    EXPECT_EQ(*kv->Get("t7:499"), "t7:499");
  }
}

TEST(KVaultTest, ForkedChildRefusesInheritedVault) {
  TempDir dir;
  auto kv = OpenOrDie(dir.File("kv.db"));
  ASSERT_AV_OK(kv->Put("parent", "1"));
  EXPECT_EQ(*kv->Get("parent"), "1");  // the read lease and its thread exist
  CacheOptions background;
  background.flush_interval_seconds = 10;  // so does a flusher thread
  ASSERT_AV_OK(kv->EnableCache(background));
  pid_t pid = fork();
  if (pid == 0) {
    Status s = kv->Put("child", "1");
    Status c = kv->Close();  // must not close the parent's handle
    _exit(s.IsNotSupported() && c.ok() ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  ASSERT_AV_OK(kv->Put("after", "1"));
  ASSERT_AV_OK(kv->DisableCache());
  EXPECT_TRUE(kv->Get("child").status().IsNotFound());
  EXPECT_EQ(*kv->Count(), 2);
}

TEST(KVaultTest, OversizedValueIsRejectedBeforeWriting) {
  auto kv = OpenOrDie(":memory:");
  // Pretend a value of 2 GB: PutStream checks the declared size first.
  uint64_t calls = 0;
  Status s = kv->PutStream(
      "huge",
      [&](char*, size_t, size_t* got) {
        ++calls;
        *got = 0;
        return Status::OK();
      },
      2'000'000'000ULL);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_EQ(calls, 0u);
}

}  // namespace
}  // namespace ambervault
