// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// ColumnVault: the catalog, errors, reopening, several vaults on one file,
// caches, and atomicity of failed changes.

#include "ambervault/column_vault.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "kv/test_util.h"
#include "sqlite/connection.h"

namespace ambervault {
namespace {

using testing::TempDir;

std::unique_ptr<ColumnVault> OpenVault(const std::string& path,
                                       ColumnVaultOptions o = {}) {
  auto v = ColumnVault::Open(path, o);
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return v.ok() ? std::move(v).value() : nullptr;
}

std::string I64(int64_t v) { return std::string(reinterpret_cast<char*>(&v), 8); }

TEST(ColumnVaultTest, CatalogCreateGetEnsureListDelete) {
  TempDir dir;
  auto v = OpenVault(dir.File("c.db"));
  auto a = v->CreateColumn("a", "i64");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->elem_size(), 8u);
  auto b = v->CreateColumn("b", "str:utf8");
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->is_var_size());
  ASSERT_AV_OK(b->Append("hello"));
  // Names are taken by either form of a column.
  EXPECT_EQ(v->CreateColumn("a", "f64").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(v->CreateColumn("b_data", "i64").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(v->CreateColumn("x", "nope").status().code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(v->GetColumn("missing").status().IsNotFound());
  EXPECT_TRUE(v->GetColumn("b_idx").status().IsNotFound());
  EXPECT_TRUE(v->Ensure("a", "i64").ok());
  EXPECT_TRUE(v->Ensure("b", "string").ok());  // same dtype, other spelling
  EXPECT_EQ(v->Ensure("a", "f64").status().code(), Status::Code::kInvalidArgument);
  auto list = v->ListColumns();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "a");
  EXPECT_EQ((*list)[1].name, "b");
  EXPECT_EQ((*list)[1].dtype, "str:utf8");
  EXPECT_EQ((*list)[1].length, 1);
  auto deleted = v->DeleteColumn("b");
  ASSERT_TRUE(deleted.ok());
  EXPECT_TRUE(*deleted);
  EXPECT_FALSE(*v->DeleteColumn("b"));
  EXPECT_TRUE(b->Length().status().IsNotFound());
  // Its chunks are gone too, and the name can be used again.
  EXPECT_TRUE(v->CreateColumn("b", "bytes").ok());
}

TEST(ColumnVaultTest, BadInputLeavesTheColumnUnchanged) {
  TempDir dir;
  auto v = OpenVault(dir.File("c.db"));
  auto a = v->CreateColumn("a", "i64");
  ASSERT_TRUE(a.ok());
  ASSERT_AV_OK(a->AppendMany(I64(1) + I64(2), {}));
  EXPECT_EQ(a->Append("abc").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(a->Write(1, I64(5) + I64(6), {}).code(), Status::Code::kOutOfRange);
  EXPECT_EQ(a->Delete(1, 5).code(), Status::Code::kOutOfRange);
  EXPECT_EQ(a->Insert(3, I64(1)).code(), Status::Code::kOutOfRange);
  std::string data;
  EXPECT_EQ(a->Read(0, 3, &data, nullptr).code(), Status::Code::kOutOfRange);
  ASSERT_AV_OK(a->Read(0, 2, &data, nullptr));
  EXPECT_EQ(data, I64(1) + I64(2));
  auto b = v->CreateColumn("b", "bytes");
  const std::vector<uint64_t> bad_ends = {3, 2};
  EXPECT_EQ(b->AppendMany("abc", bad_ends).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(*b->Length(), 0);
}

TEST(ColumnVaultTest, TwoVaultsOnOneFileSeeEachOtherAndNeverOverwrite) {
  TempDir dir;
  auto v1 = OpenVault(dir.File("c.db"));
  auto v2 = OpenVault(dir.File("c.db"));
  auto a1 = v1->CreateColumn("a", "bytes");
  ASSERT_TRUE(a1.ok());
  auto a2 = v2->GetColumn("a");
  ASSERT_TRUE(a2.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      Column c = t == 0 ? *a1 : *a2;
      for (int i = 0; i < 200; ++i) {
        EXPECT_AV_OK(c.Append(std::to_string(t) + ":" + std::to_string(i)));
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(*a1->Length(), 400);
  EXPECT_EQ(*a2->Length(), 400);
  std::string data;
  std::vector<uint64_t> ends;
  ASSERT_AV_OK(a2->Read(0, 400, &data, &ends));
  std::set<std::string> seen;
  uint64_t prev = 0;
  for (uint64_t e : ends) {
    seen.insert(data.substr(prev, e - prev));
    prev = e;
  }
  EXPECT_EQ(seen.size(), 400u);
}

TEST(ColumnVaultTest, CacheIsReadableAndFlushedOnClose) {
  TempDir dir;
  {
    auto v = OpenVault(dir.File("c.db"));
    ColumnCacheOptions c;
    c.cap_bytes = 1 << 20;
    c.flush_threshold = 1 << 20;
    ASSERT_AV_OK(v->EnableCache(c));
    auto a = v->CreateColumn("a", "i64");  // opened after: cached too
    ASSERT_TRUE(a->cache_enabled());
    for (int64_t i = 0; i < 100; ++i) ASSERT_AV_OK(a->Append(I64(i)));
    EXPECT_EQ(*a->Length(), 100);
    std::string data;
    ASSERT_AV_OK(a->Read(98, 2, &data, nullptr));
    EXPECT_EQ(data, I64(98) + I64(99));
    // Another vault does not see pending data.
    auto other = OpenVault(dir.File("c.db"));
    EXPECT_EQ(*other->GetColumn("a")->Length(), 0);
    // A write to a pending element flushes first.
    ASSERT_AV_OK(a->Write(99, I64(-1), {}));
    EXPECT_EQ(*other->GetColumn("a")->Length(), 100);
    ASSERT_AV_OK(a->Append(I64(100)));
    ASSERT_AV_OK(v->Close());
    EXPECT_EQ(a->Length().status().code(), Status::Code::kClosed);
  }
  auto v = OpenVault(dir.File("c.db"));
  auto a = v->GetColumn("a");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a->Length(), 101);
}

TEST(ColumnVaultTest, BackgroundFlushWritesOldPendingData) {
  TempDir dir;
  auto v = OpenVault(dir.File("c.db"));
  auto a = v->CreateColumn("a", "i64");
  ColumnCacheOptions c;
  c.flush_interval_seconds = 0.02;
  ASSERT_AV_OK(v->EnableCache(c));
  ASSERT_AV_OK(a->Append(I64(7)));
  auto other = OpenVault(dir.File("c.db"));
  Column seen = *other->GetColumn("a");
  for (int i = 0; i < 500 && *seen.Length() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(*seen.Length(), 1);
  ASSERT_AV_OK(v->DisableCache());
}

TEST(ColumnVaultTest, VarSizeExtendFillsTheLastChunkFirst) {
  TempDir dir;
  ColumnVaultOptions o;
  o.min_chunk_bytes = 64;
  o.max_chunk_bytes = 1024;
  auto v = OpenVault(dir.File("c.db"), o);
  auto b = v->CreateColumn("b", "bytes");
  ASSERT_AV_OK(b->Append("first"));
  // Ten small batches: KohakuVault started a new chunk for each extend.
  for (int i = 0; i < 10; ++i) {
    const std::vector<uint64_t> ends = {10, 20};
    ASSERT_AV_OK(b->AppendMany(std::string(20, static_cast<char>('a' + i)), ends));
  }
  auto s = b->StorageInfo();
  ASSERT_TRUE(s.ok());
  // One data chunk (grown to 256 bytes) and one index chunk.
  EXPECT_EQ(s->chunks, 2);
  EXPECT_EQ(s->garbage_bytes, 0);
  // Growing an element stores it elsewhere; compacting reclaims the old bytes.
  ASSERT_AV_OK(b->Write(0, std::string(50, 'z'), std::vector<uint64_t>{50}));
  EXPECT_EQ(b->StorageInfo()->garbage_bytes, 5);
  ASSERT_AV_OK(b->Compact());
  EXPECT_EQ(b->StorageInfo()->garbage_bytes, 0);
  std::string data;
  std::vector<uint64_t> ends;
  ASSERT_AV_OK(b->Read(0, 2, &data, &ends));
  EXPECT_EQ(data, std::string(50, 'z') + std::string(10, 'a'));
}

TEST(ColumnVaultTest, NewerSchemaVersionIsRefused) {
  TempDir dir;
  {
    auto v = OpenVault(dir.File("c.db"));
  }
  {
    auto conn = sqlite::Connection::Open(dir.File("c.db"), OpenOptions());
    ASSERT_TRUE(conn.ok());
    ASSERT_AV_OK((*conn)->Exec(
        "UPDATE kohakuvault_meta SET value = '3' WHERE key = 'schema_version'"));
  }
  auto v = ColumnVault::Open(dir.File("c.db"));
  EXPECT_EQ(v.status().code(), Status::Code::kNotSupported);
}

// A KohakuVault (which reuses col_ids) deleted column "f" and created a
// var-size "v" under f's col_id: the old "f" handle must not reach "v"
// through f's fixed-size layout.
TEST(ColumnVaultTest, HandleOfAReplacedColumnIsNotFound) {
  TempDir dir;
  auto v = OpenVault(dir.File("c.db"));
  auto f = v->CreateColumn("f", "i64");
  ASSERT_TRUE(f.ok());
  ASSERT_AV_OK(f->Append(I64(7)));
  ASSERT_AV_OK(f->EnableCache(ColumnCacheOptions()));
  ASSERT_AV_OK(f->Append(I64(8)));  // pending when the column goes away
  int64_t f_id = 0;
  {
    auto conn = sqlite::Connection::Open(dir.File("c.db"), OpenOptions());
    ASSERT_TRUE(conn.ok());
    auto id = (*conn)->QueryInt64("SELECT col_id FROM col_meta WHERE name = 'f'");
    ASSERT_TRUE(id.ok());
    f_id = *id;
    ASSERT_AV_OK((*conn)->Exec("BEGIN IMMEDIATE"));
    ASSERT_AV_OK((*conn)->Exec("DELETE FROM col_chunks"));
    ASSERT_AV_OK((*conn)->Exec("DELETE FROM col_meta"));
    ASSERT_AV_OK((*conn)->Exec(
        "INSERT INTO col_meta (col_id, name, dtype, elem_size, length, chunk_bytes, "
        "min_chunk_bytes, max_chunk_bytes) VALUES "
        "(" + std::to_string(f_id) + ", 'v_data', 'bytes', 1, 0, 16, 16, 64), "
        "(" + std::to_string(f_id + 1) + ", 'v_idx', 'adaptive_idx', 12, 0, 48, 48, 192)"));
    ASSERT_AV_OK((*conn)->Exec("COMMIT"));
  }
  auto var = v->GetColumn("v");
  ASSERT_TRUE(var.ok()) << var.status().ToString();
  ASSERT_AV_OK(var->Append("hello"));
  EXPECT_TRUE(f->Length().status().IsNotFound());
  EXPECT_TRUE(f->Append(I64(9)).IsNotFound());
  std::string data;
  EXPECT_TRUE(f->Read(0, 1, &data, nullptr).IsNotFound());
  EXPECT_FALSE(f->cache_enabled());
  EXPECT_EQ(*var->Length(), 1);
  std::vector<uint64_t> ends;
  ASSERT_AV_OK(var->Read(0, 1, &data, &ends));
  EXPECT_EQ(data, "hello");
  // Getting "v" again keeps its handle valid.
  auto again = v->GetColumn("v");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*var->Length(), 1);
}

}  // namespace
}  // namespace ambervault
