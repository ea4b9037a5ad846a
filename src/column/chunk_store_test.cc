// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// Chunk sizing and the StrideArray layout against a std::string oracle.

#include "column/chunk_store.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "column/var_data.h"
#include "kv/test_util.h"
#include "sqlite/connection.h"
#include "sqlite/transaction.h"

namespace ambervault::column {
namespace {

TEST(ChunkSizesTest, KohakuVaultAlignment) {
  auto s = AlignChunkSizes(12, 128 << 10, 16 << 20);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->min, 131076);
  EXPECT_EQ(s->max, 16777212);
  s = AlignChunkSizes(8, 100, 1000);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->min, 104);
  EXPECT_EQ(s->max, 1000);
  // An element larger than max: one element per chunk.
  s = AlignChunkSizes(100, 16, 64);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->min, 100);
  EXPECT_EQ(s->max, 100);
  EXPECT_FALSE(AlignChunkSizes(1, 0, 10).ok());
  EXPECT_FALSE(AlignChunkSizes(1, 20, 10).ok());
  EXPECT_FALSE(AlignChunkSizes(1, 1, int64_t{1} << 31).ok());
}

TEST(ChunkSizesTest, GrowsByDoublingToMax) {
  ChunkSizes s{16, 100};
  EXPECT_EQ(s.SizeFor(1), 16);
  EXPECT_EQ(s.SizeFor(16), 16);
  EXPECT_EQ(s.SizeFor(17), 32);
  EXPECT_EQ(s.SizeFor(65), 100);
  EXPECT_EQ(s.SizeFor(100), 100);
  EXPECT_EQ(s.SizeFor(150), 150);  // oversized: exact
}

TEST(IndexEntryTest, LittleEndianInt32Triples) {
  char raw[12];
  EncodeEntry(IndexEntry{1, 2, 0x01020304}, raw);
  const unsigned char want[12] = {1, 0, 0, 0, 2, 0, 0, 0, 4, 3, 2, 1};
  EXPECT_EQ(std::string(raw, 12), std::string(reinterpret_cast<const char*>(want), 12));
  IndexEntry e = DecodeEntry(raw);
  EXPECT_EQ(e.chunk, 1);
  EXPECT_EQ(e.start, 2);
  EXPECT_EQ(e.end, 0x01020304);
}

TEST(StrideArrayTest, RandomWritesAndMovesMatchAString) {
  testing::TempDir dir;
  auto conn = sqlite::Connection::Open(dir.File("s.db"), OpenOptions());
  ASSERT_TRUE(conn.ok());
  sqlite::Connection* c = conn->get();
  ASSERT_AV_OK(c->Exec(
      "CREATE TABLE col_chunks (col_id INTEGER NOT NULL, chunk_idx INTEGER NOT "
      "NULL, data BLOB NOT NULL, actual_size INTEGER NOT NULL, bytes_used "
      "INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (col_id, chunk_idx))"));
  ChunkStore store(c, 7);
  StrideArray array(&store, ChunkSizes{8, 40});
  std::string oracle;
  std::mt19937 rng(11);
  for (int step = 0; step < 2000; ++step) {
    auto txn = sqlite::Transaction::Begin(c, sqlite::Transaction::Mode::kImmediate);
    ASSERT_TRUE(txn.ok());
    const uint32_t op = rng() % 3;
    if (op == 0 || oracle.empty()) {  // write at or just past the end
      const size_t at = rng() % (oracle.size() + 1);
      std::string bytes(rng() % 90, '\0');
      for (char& ch : bytes) ch = static_cast<char>(rng());
      ASSERT_AV_OK(array.Write(static_cast<int64_t>(at), bytes));
      if (oracle.size() < at + bytes.size()) oracle.resize(at + bytes.size());
      oracle.replace(at, bytes.size(), bytes);
    } else if (op == 1) {
      const size_t from = rng() % oracle.size();
      const size_t n = rng() % (oracle.size() - from + 1);
      const size_t to = rng() % (oracle.size() - n + 1);
      ASSERT_AV_OK(array.Move(from, to, n));
      std::string part = oracle.substr(from, n);
      oracle.replace(to, n, part);
    } else {
      const size_t from = rng() % oracle.size();
      const size_t n = rng() % (oracle.size() - from + 1);
      std::string got(n, '\0');
      BlobCursor cursor(c, false);
      ASSERT_AV_OK(array.Read(from, n, got.data(), &cursor));
      ASSERT_EQ(got, oracle.substr(from, n)) << "step " << step;
    }
    ASSERT_AV_OK(txn->Commit());
  }
  // Every chunk but the last is exactly the stride.
  auto last = store.Last();
  ASSERT_TRUE(last.ok() && last->has_value());
  for (int64_t i = 0; i < (*last)->first; ++i) {
    auto row = store.Find(i);
    ASSERT_TRUE(row.ok() && row->has_value());
    EXPECT_EQ((*row)->size, 40);
  }
}

}  // namespace
}  // namespace ambervault::column
