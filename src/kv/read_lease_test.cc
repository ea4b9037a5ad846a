// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// The read lease (Connection::BeginReadLease) must never make a read stale:
// a commit by any other connection or process is visible to the very next
// read. And an idle lease must not pin the WAL.

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "ambervault/kvault.h"
#include "kv/test_util.h"

namespace ambervault {
namespace {

using testing::OpenOrDie;
using testing::TempDir;

TEST(ReadLeaseTest, OtherConnectionsCommitsAreSeenAtOnce) {
  TempDir dir;
  auto reader = OpenOrDie(dir.File("kv.db"));
  auto writer = OpenOrDie(dir.File("kv.db"));
  ASSERT_AV_OK(writer->Put("x", "0"));
  for (int i = 1; i <= 3000; ++i) {
    // Several reads keep the reader's lease alive between commits.
    EXPECT_EQ(*reader->Get("x"), std::to_string(i - 1));
    EXPECT_EQ(*reader->Get("x"), std::to_string(i - 1));
    ASSERT_AV_OK(writer->Put("x", std::to_string(i)));
    ASSERT_EQ(*reader->Get("x"), std::to_string(i)) << "stale read at " << i;
    if (i % 100 == 0) {
      ASSERT_TRUE(*writer->Delete("x"));
      ASSERT_FALSE(*reader->Exists("x"));
      ASSERT_AV_OK(writer->Put("x", std::to_string(i)));
    }
  }
}

TEST(ReadLeaseTest, RawSqliteCommitsAreSeenAtOnce) {
  TempDir dir;
  auto reader = OpenOrDie(dir.File("kv.db"));
  ASSERT_AV_OK(reader->Put("k", "start"));
  sqlite3* db;
  ASSERT_EQ(sqlite3_open(dir.File("kv.db").c_str(), &db), SQLITE_OK);
  for (int i = 0; i < 500; ++i) {
    EXPECT_TRUE(reader->Get("k").ok());
    std::string sql = "UPDATE kv SET value = CAST('" + std::to_string(i) +
                      "' AS BLOB) WHERE key = CAST('k' AS BLOB)";
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr),
              SQLITE_OK);
    ASSERT_EQ(*reader->Get("k"), std::to_string(i));
  }
  sqlite3_close(db);
}

TEST(ReadLeaseTest, OtherProcessesCommitsAreSeenAtOnce) {
  TempDir dir;
  const std::string path = dir.File("kv.db");
  {
    auto kv = OpenOrDie(path);
    ASSERT_AV_OK(kv->Put("n", "0"));
  }
  int to_child[2], to_parent[2];
  ASSERT_EQ(pipe(to_child), 0);
  ASSERT_EQ(pipe(to_parent), 0);
  pid_t pid = fork();
  if (pid == 0) {
    auto kv = KVault::Open(path);
    if (!kv.ok()) _exit(2);
    char c;
    for (int i = 1; i <= 300; ++i) {
      if (read(to_child[0], &c, 1) != 1) _exit(3);
      if (!(*kv)->Put("n", std::to_string(i)).ok()) _exit(4);
      if (write(to_parent[1], "w", 1) != 1) _exit(5);
    }
    _exit(0);
  }
  auto kv = OpenOrDie(path);
  int stale = 0;
  char c;
  for (int i = 1; i <= 300; ++i) {
    EXPECT_TRUE(kv->Get("n").ok());  // lease held across the child's commit
    ASSERT_EQ(write(to_child[1], "g", 1), 1);
    ASSERT_EQ(read(to_parent[0], &c, 1), 1);
    stale += *kv->Get("n") != std::to_string(i);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(stale, 0);
}

TEST(ReadLeaseTest, IdleLeaseDoesNotPinTheWal) {
  TempDir dir;
  auto reader = OpenOrDie(dir.File("kv.db"));
  ASSERT_AV_OK(reader->Put("k", "v"));
  sqlite3* db;
  ASSERT_EQ(sqlite3_open(dir.File("kv.db").c_str(), &db), SQLITE_OK);
  auto truncate_checkpoint_busy = [&] {
    sqlite3_stmt* stmt;
    sqlite3_prepare_v2(db, "PRAGMA wal_checkpoint(TRUNCATE)", -1, &stmt,
                       nullptr);
    int busy = -1;
    if (sqlite3_step(stmt) == SQLITE_ROW) busy = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    return busy;
  };
  EXPECT_EQ(*reader->Get("k"), "v");
  // After a moment of idleness the reader holds no read transaction, so a
  // TRUNCATE checkpoint (which needs every reader gone) completes.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(truncate_checkpoint_busy(), 0);
  sqlite3_close(db);
}

}  // namespace
}  // namespace ambervault
