// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// Connection: the pragmas OpenOptions asks for are the ones in force.

#include "sqlite/connection.h"

#include <gtest/gtest.h>

#include "kv/test_util.h"

namespace ambervault::sqlite {
namespace {

TEST(ConnectionTest, SynchronousLevelIsApplied) {
  testing::TempDir dir;
  const std::pair<Synchronous, int64_t> levels[] = {
      {Synchronous::kOff, 0}, {Synchronous::kNormal, 1},
      {Synchronous::kFull, 2}, {Synchronous::kExtra, 3}};
  for (auto [level, want] : levels) {
    OpenOptions o;
    o.synchronous = level;
    auto conn = Connection::Open(dir.File("s.db"), o);
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    auto got = (*conn)->QueryInt64("PRAGMA synchronous");
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, want);
  }
}

TEST(ConnectionTest, NewFileGetsThePageSizeAndWal) {
  testing::TempDir dir;
  OpenOptions o;
  o.page_size = 4096;
  auto conn = Connection::Open(dir.File("p.db"), o);
  ASSERT_TRUE(conn.ok());
  EXPECT_EQ(*(*conn)->QueryInt64("PRAGMA page_size"), 4096);
  EXPECT_EQ(*(*conn)->QueryText("PRAGMA journal_mode"), "wal");
}

TEST(ConnectionTest, UnknownVfsIsAnError) {
  testing::TempDir dir;
  OpenOptions o;
  o.vfs = "no-such-vfs";
  auto conn = Connection::Open(dir.File("v.db"), o);
  EXPECT_FALSE(conn.ok());
}

}  // namespace
}  // namespace ambervault::sqlite
