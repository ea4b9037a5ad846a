// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// KVault::ValueSize, ReadInto and OpenValue: values of 0 bytes, a few bytes
// and over 1 MiB, partial reads at odd offsets, the cache, the reader's
// snapshot checks, closed vaults and forked children.

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ambervault/kvault.h"
#include "kv/test_util.h"

namespace ambervault {
namespace {

using testing::OpenOrDie;
using testing::TempDir;

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// Every value kind: empty, small, and over 1 MiB.
std::vector<std::pair<std::string, std::string>> Samples() {
  return {{"empty", ""},
          {"small", "hello, world"},
          {"large", RandomBytes((1u << 20) + 12345, 7)}};
}

// Reads a value through ReadInto in pieces of `piece` bytes from `start`.
std::string ReadAllInto(KVault* kv, std::string_view key, size_t start,
                        size_t piece) {
  std::string out;
  std::vector<char> buf(piece);
  for (size_t off = start;;) {
    auto r = kv->ReadInto(key, buf.data(), buf.size(), off);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok() || *r == 0) break;
    EXPECT_LE(*r, piece);
    out.append(buf.data(), *r);
    off += *r;
  }
  return out;
}

TEST(KVaultValueReadTest, ValueSizeAndReadIntoWithAndWithoutCache) {
  for (bool cached : {false, true}) {
    SCOPED_TRACE(cached ? "cache" : "no cache");
    TempDir dir;
    auto kv = OpenOrDie(dir.File("kv.db"));
    CacheOptions o;
    o.cap_bytes = 4u << 20;
    o.flush_threshold = 4u << 20;
    if (cached) ASSERT_AV_OK(kv->EnableCache(o));
    for (const auto& [key, value] : Samples()) {
      SCOPED_TRACE(key);
      ASSERT_AV_OK(kv->Put(key, value));
      if (cached) ASSERT_GT(kv->cache_entries(), 0u);  // read from the cache
      for (int pass = 0; pass < 2; ++pass) {  // pending, then flushed
        ASSERT_EQ(*kv->ValueSize(key), value.size());
        EXPECT_EQ(ReadAllInto(kv.get(), key, 0, 4096), value);
        EXPECT_EQ(ReadAllInto(kv.get(), key, 0, 1u << 21), value);
        if (value.size() > 3) {
          EXPECT_EQ(ReadAllInto(kv.get(), key, 3, 1000), value.substr(3));
          EXPECT_EQ(ReadAllInto(kv.get(), key, value.size() - 1, 7),
                    value.substr(value.size() - 1));
        }
        // Odd offsets and lengths.
        std::mt19937 rng(42);
        for (int i = 0; i < 20 && !value.empty(); ++i) {
          size_t off = rng() % value.size();
          size_t cap = 1 + rng() % 70001;
          std::string buf(cap, '\0');
          auto r = kv->ReadInto(key, buf.data(), cap, off);
          ASSERT_TRUE(r.ok()) << r.status().ToString();
          ASSERT_EQ(*r, std::min(cap, value.size() - off));
          ASSERT_EQ(buf.substr(0, *r), value.substr(off, *r));
        }
        // At the end: 0 bytes; past it: InvalidArgument.
        char c;
        EXPECT_EQ(*kv->ReadInto(key, &c, 1, value.size()), 0u);
        EXPECT_EQ(*kv->ReadInto(key, nullptr, 0, 0), 0u);
        EXPECT_TRUE(
            kv->ReadInto(key, &c, 1, value.size() + 1).status()
                .IsInvalidArgument());
        ASSERT_AV_OK(kv->FlushCache().status());
      }
    }
    EXPECT_TRUE(kv->ValueSize("missing").status().IsNotFound());
    char c;
    EXPECT_TRUE(kv->ReadInto("missing", &c, 1).status().IsNotFound());
  }
}

TEST(KVaultValueReadTest, ValueSizeCountsBytesOfForeignTextValues) {
  TempDir dir;
  const std::string path = dir.File("kv.db");
  auto kv = OpenOrDie(path);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  // "é" is one character and two bytes.
  ASSERT_EQ(sqlite3_exec(db,
                         "INSERT INTO kv VALUES (CAST('t' AS BLOB), "
                         "'caf\xc3\xa9')",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  EXPECT_EQ(*kv->ValueSize("t"), 5u);
  EXPECT_EQ(kv->Get("t")->size(), 5u);
}

std::string ReadAllFrom(ValueReader* r, uint64_t start, size_t piece) {
  std::string out;
  std::vector<char> buf(piece);
  for (uint64_t off = start;;) {
    size_t got = 0;
    Status s = r->ReadAt(off, piece, buf.data(), &got);
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (!s.ok() || got == 0) break;
    out.append(buf.data(), got);
    off += got;
  }
  return out;
}

TEST(KVaultValueReadTest, OpenValueReadsAnyPieceWithAndWithoutCache) {
  for (bool cached : {false, true}) {
    SCOPED_TRACE(cached ? "cache" : "no cache");
    TempDir dir;
    auto kv = OpenOrDie(dir.File("kv.db"));
    CacheOptions o;
    o.cap_bytes = 4u << 20;
    o.flush_threshold = 4u << 20;
    if (cached) ASSERT_AV_OK(kv->EnableCache(o));
    for (const auto& [key, value] : Samples()) {
      SCOPED_TRACE(key);
      ASSERT_AV_OK(kv->Put(key, value));
      for (int pass = 0; pass < 2; ++pass) {  // pending, then flushed
        auto opened = kv->OpenValue(key);
        ASSERT_TRUE(opened.ok()) << opened.status().ToString();
        ValueReader* r = opened->get();
        ASSERT_EQ(r->size(), value.size());
        EXPECT_EQ(ReadAllFrom(r, 0, 65536), value);
        if (value.size() < 100000) EXPECT_EQ(ReadAllFrom(r, 0, 3), value);
        if (value.size() > 3) {
          EXPECT_EQ(ReadAllFrom(r, 3, 4097), value.substr(3));
        }
        std::mt19937 rng(5);
        for (int i = 0; i < 20 && !value.empty(); ++i) {
          uint64_t off = rng() % value.size();
          size_t n = 1 + rng() % 99991;
          std::string buf(n, '\0');
          size_t got = 0;
          ASSERT_AV_OK(r->ReadAt(off, n, buf.data(), &got));
          ASSERT_EQ(got, std::min<uint64_t>(n, value.size() - off));
          ASSERT_EQ(buf.substr(0, got), value.substr(off, got));
        }
        size_t got = 7;
        char c;
        ASSERT_AV_OK(r->ReadAt(value.size(), 1, &c, &got));
        EXPECT_EQ(got, 0u);
        EXPECT_TRUE(r->ReadAt(value.size() + 1, 1, &c, &got)
                        .IsInvalidArgument());
        ASSERT_AV_OK(kv->FlushCache().status());
      }
    }
    EXPECT_TRUE(kv->OpenValue("missing").status().IsNotFound());
  }
}

// Reads byte 0 through `r`: OK, or the status.
Status ReadFirstByte(ValueReader* r) {
  char c;
  size_t got = 0;
  return r->ReadAt(0, 1, &c, &got);
}

TEST(KVaultValueReadTest, OpenValueIsASnapshotOrFails) {
  TempDir dir;
  const std::string path = dir.File("kv.db");
  auto kv = OpenOrDie(path);
  ASSERT_AV_OK(kv->Put("k", "AAAA"));
  ASSERT_AV_OK(kv->Put("other", "x"));

  // Same-size overwrite of the same row (UPSERT keeps the rowid).
  auto r = std::move(kv->OpenValue("k")).value();
  ASSERT_AV_OK(kv->Put("other", "y"));  // other rows do not matter
  ASSERT_AV_OK(ReadFirstByte(r.get()));
  ASSERT_AV_OK(kv->Put("k", "BBBB"));
  EXPECT_TRUE(ReadFirstByte(r.get()).IsInvalidArgument());

  // Delete, and Clear followed by a new value under the same key.
  r = std::move(kv->OpenValue("k")).value();
  ASSERT_AV_OK(kv->Delete("k").status());
  EXPECT_TRUE(ReadFirstByte(r.get()).IsInvalidArgument());
  ASSERT_AV_OK(kv->Put("k", "CCCC"));
  r = std::move(kv->OpenValue("k")).value();
  ASSERT_AV_OK(kv->Clear());
  ASSERT_AV_OK(kv->Put("k", "DDDD"));
  EXPECT_TRUE(ReadFirstByte(r.get()).IsInvalidArgument());

  // Batches and streams.
  r = std::move(kv->OpenValue("k")).value();
  WriteBatch b;
  b.Put("k", "EEEE");
  ASSERT_AV_OK(kv->Write(b));
  EXPECT_TRUE(ReadFirstByte(r.get()).IsInvalidArgument());
  r = std::move(kv->OpenValue("k")).value();
  ASSERT_AV_OK(kv->PutStream(
      "k",
      [](char* buf, size_t cap, size_t* got) {
        std::memset(buf, 'F', cap);
        *got = cap;
        return Status::OK();
      },
      4));
  EXPECT_TRUE(ReadFirstByte(r.get()).IsInvalidArgument());

  // A write pending in the cache leaves the stored bytes alone: the reader
  // still returns the value it opened, until the flush rewrites the row.
  r = std::move(kv->OpenValue("k")).value();
  ASSERT_AV_OK(kv->EnableCache(CacheOptions()));
  ASSERT_AV_OK(kv->Put("k", "GGGG"));
  char buf[4];
  size_t got = 0;
  ASSERT_AV_OK(r->ReadAt(0, 4, buf, &got));
  EXPECT_EQ(std::string(buf, got), "FFFF");
  // A reader opened now copies the pending value.
  auto pending = std::move(kv->OpenValue("k")).value();
  ASSERT_AV_OK(kv->FlushCache().status());
  EXPECT_TRUE(ReadFirstByte(r.get()).IsInvalidArgument());
  ASSERT_AV_OK(kv->Put("k", "HHHH"));
  ASSERT_AV_OK(pending->ReadAt(0, 4, buf, &got));
  EXPECT_EQ(std::string(buf, got), "GGGG");
  ASSERT_AV_OK(kv->DisableCache());

  // Two readers of one row; dropping one keeps the other's watch.
  auto r1 = std::move(kv->OpenValue("k")).value();
  {
    auto r2 = std::move(kv->OpenValue("k")).value();
    ASSERT_AV_OK(ReadFirstByte(r2.get()));
  }
  ASSERT_AV_OK(kv->Put("k", "IIII"));
  EXPECT_TRUE(ReadFirstByte(r1.get()).IsInvalidArgument());

  // A commit by another connection ends every reader (conservatively).
  r = std::move(kv->OpenValue("k")).value();
  ASSERT_AV_OK(ReadFirstByte(r.get()));
  {
    auto other = OpenOrDie(path);
    ASSERT_AV_OK(other->Put("unrelated", "1"));
  }
  EXPECT_TRUE(ReadFirstByte(r.get()).IsInvalidArgument());
}

TEST(KVaultValueReadTest, ReaderDoesNotBlockWriters) {
  TempDir dir;
  const std::string path = dir.File("kv.db");
  KVaultOptions fast;
  fast.open.busy_timeout_ms = 10;
  fast.retry.retries = 1;
  auto kv = OpenOrDie(path, fast);
  ASSERT_AV_OK(kv->Put("big", RandomBytes(3u << 20, 3)));
  auto r = std::move(kv->OpenValue("big")).value();
  ASSERT_AV_OK(ReadFirstByte(r.get()));
  // Between ReadAt calls no transaction is held: another connection can
  // write and checkpoint the whole WAL.
  auto other = OpenOrDie(path, fast);
  ASSERT_AV_OK(other->Put("x", "y"));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // lease idle
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  int log = -1, done = -1;
  ASSERT_EQ(sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_TRUNCATE,
                                      &log, &done),
            SQLITE_OK);
  sqlite3_close(db);
  ASSERT_AV_OK(kv->Put("big", "own write"));
}

TEST(KVaultValueReadTest, ReadersOutliveCloseAndTheVault) {
  auto kv = OpenOrDie(":memory:");
  ASSERT_AV_OK(kv->Put("stored", "value"));
  ASSERT_AV_OK(kv->EnableCache(CacheOptions()));
  ASSERT_AV_OK(kv->Put("pending", "value"));
  auto stored = std::move(kv->OpenValue("stored")).value();
  auto pending = std::move(kv->OpenValue("pending")).value();
  auto doomed = std::move(kv->OpenValue("stored")).value();
  ASSERT_AV_OK(kv->Close());
  EXPECT_TRUE(ReadFirstByte(stored.get()).IsClosed());
  EXPECT_TRUE(ReadFirstByte(pending.get()).IsClosed());
  EXPECT_EQ(stored->size(), 5u);
  doomed.reset();  // destroyed after close: fine
  EXPECT_TRUE(kv->OpenValue("stored").status().IsClosed());
  EXPECT_TRUE(kv->ValueSize("stored").status().IsClosed());
  char c;
  EXPECT_TRUE(kv->ReadInto("stored", &c, 1).status().IsClosed());
  kv.reset();  // the vault goes; the readers stay usable (Closed)
  EXPECT_TRUE(ReadFirstByte(stored.get()).IsClosed());
  EXPECT_TRUE(ReadFirstByte(pending.get()).IsClosed());
}

TEST(KVaultValueReadTest, ForkedChildRefuses) {
  TempDir dir;
  auto kv = OpenOrDie(dir.File("kv.db"));
  ASSERT_AV_OK(kv->Put("k", "value"));
  auto r = std::move(kv->OpenValue("k")).value();
  ASSERT_AV_OK(ReadFirstByte(r.get()));
  pid_t pid = fork();
  if (pid == 0) {
    char c;
    bool ok = kv->ValueSize("k").status().IsNotSupported() &&
              kv->ReadInto("k", &c, 1).status().IsNotSupported() &&
              kv->OpenValue("k").status().IsNotSupported() &&
              ReadFirstByte(r.get()).IsNotSupported();
    r.reset();  // must not touch the parent's locks
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  ASSERT_AV_OK(ReadFirstByte(r.get()));
}

}  // namespace
}  // namespace ambervault
