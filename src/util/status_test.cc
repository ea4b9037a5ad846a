// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.

#include "ambervault/status.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>

#include "sqlite/sqlite_status.h"

namespace ambervault {
namespace {

TEST(StatusTest, OkIsEmpty) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kOk);
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.sqlite_code(), 0);
}

TEST(StatusTest, NamedConstructorsAndPredicates) {
  EXPECT_TRUE(Status::NotFound("k").IsNotFound());
  EXPECT_TRUE(Status::InvalidArgument("x").IsInvalidArgument());
  EXPECT_TRUE(Status::Busy("x").IsBusy());
  EXPECT_TRUE(Status::IOError("x").IsIOError());
  EXPECT_TRUE(Status::Corruption("x").IsCorruption());
  EXPECT_TRUE(Status::DiskFull("x").IsDiskFull());
  EXPECT_TRUE(Status::ReadOnly("x").IsReadOnly());
  EXPECT_TRUE(Status::Constraint("x").IsConstraint());
  EXPECT_TRUE(Status::Closed("x").IsClosed());
  EXPECT_TRUE(Status::NotSupported("x").IsNotSupported());
  EXPECT_FALSE(Status::Busy("x").IsNotFound());
  EXPECT_EQ(Status::Busy("database is locked").ToString(),
            "Busy: database is locked");
}

TEST(StatusTest, CopyMoveAndContext) {
  Status a(Status::Code::kIOError, "disk I/O error", SQLITE_IOERR_WRITE);
  Status b = a;
  EXPECT_EQ(b.code(), Status::Code::kIOError);
  EXPECT_EQ(b.sqlite_code(), SQLITE_IOERR_WRITE);
  Status c = std::move(b);
  EXPECT_EQ(c.message(), "disk I/O error");
  Status d = c.WithContext("put 'k'");
  EXPECT_EQ(d.message(), "put 'k': disk I/O error");
  EXPECT_EQ(d.sqlite_code(), SQLITE_IOERR_WRITE);
  EXPECT_TRUE(Status().WithContext("x").ok());
  b = a;
  a = Status();
  EXPECT_TRUE(a.ok());
  EXPECT_FALSE(b.ok());
}

Result<int> Half(int x) {
  if (x % 2 != 0) return Status::InvalidArgument("odd");
  return x / 2;
}

Status Quarter(int x, int* out) {
  AMBERVAULT_ASSIGN_OR_RETURN(int h, Half(x));
  AMBERVAULT_ASSIGN_OR_RETURN(*out, Half(h));
  return Status::OK();
}

TEST(ResultTest, ValueOrStatus) {
  Result<int> r = Half(8);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 4);
  Result<int> bad = Half(3);
  EXPECT_TRUE(bad.status().IsInvalidArgument());
  int q = 0;
  EXPECT_TRUE(Quarter(8, &q).ok());
  EXPECT_EQ(q, 2);
  EXPECT_TRUE(Quarter(6, &q).IsInvalidArgument());
  // A Result built from an OK status is not silently "ok without value".
  Result<int> wrong = Status::OK();
  EXPECT_FALSE(wrong.ok());
}

TEST(SqliteStatusTest, MapsResultCodes) {
  using sqlite::CodeFor;
  EXPECT_EQ(CodeFor(SQLITE_BUSY), Status::Code::kBusy);
  EXPECT_EQ(CodeFor(SQLITE_BUSY_SNAPSHOT), Status::Code::kBusy);
  EXPECT_EQ(CodeFor(SQLITE_LOCKED), Status::Code::kBusy);
  EXPECT_EQ(CodeFor(SQLITE_CORRUPT), Status::Code::kCorruption);
  EXPECT_EQ(CodeFor(SQLITE_NOTADB), Status::Code::kCorruption);
  EXPECT_EQ(CodeFor(SQLITE_FULL), Status::Code::kDiskFull);
  EXPECT_EQ(CodeFor(SQLITE_IOERR_FSYNC), Status::Code::kIOError);
  EXPECT_EQ(CodeFor(SQLITE_CANTOPEN), Status::Code::kIOError);
  EXPECT_EQ(CodeFor(SQLITE_READONLY), Status::Code::kReadOnly);
  EXPECT_EQ(CodeFor(SQLITE_CONSTRAINT_UNIQUE), Status::Code::kConstraint);
  EXPECT_EQ(CodeFor(SQLITE_TOOBIG), Status::Code::kInvalidArgument);
  EXPECT_EQ(CodeFor(SQLITE_ERROR), Status::Code::kInternal);
  Status s = sqlite::FromSqlite(SQLITE_FULL, nullptr, "flush");
  EXPECT_TRUE(s.IsDiskFull());
  EXPECT_EQ(s.sqlite_code(), SQLITE_FULL);
  EXPECT_EQ(s.message(), std::string("flush: ") + sqlite3_errstr(SQLITE_FULL));
}

}  // namespace
}  // namespace ambervault
