// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// Connection: one owned sqlite3 handle opened with OpenOptions, plus a
// cache of prepared statements keyed by SQL text.
//
// Thread safety: none. The owner (a vault) serializes every use, which is
// why the handle is opened with SQLITE_OPEN_NOMUTEX.
//
// fork(): a Connection remembers the process that opened it. In any other
// process Close() leaks the handle instead of closing it, because closing
// an inherited handle would release the parent's POSIX locks.

#ifndef AMBERVAULT_SRC_SQLITE_CONNECTION_H_
#define AMBERVAULT_SRC_SQLITE_CONNECTION_H_

#include <sqlite3.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "ambervault/options.h"
#include "ambervault/status.h"
#include "sqlite/statement.h"
#include "sqlite/wal_watch.h"

namespace ambervault::sqlite {

// Incremented in the child after every fork(): objects made in an earlier
// generation belong to another process. Lock-free, no system call.
uint64_t ForkGeneration();

class Connection {
 public:
  // Opens `path` (":memory:" or "" for a private in-memory database),
  // applies the pragmas of `options`, and probes the file so that a file
  // that is not a database fails here with Corruption.
  static Result<std::unique_ptr<Connection>> Open(const std::string& path,
                                                  const OpenOptions& options);

  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one or more statements that return no rows of interest.
  Status Exec(std::string_view sql);

  // A cached prepared statement for `sql`, reset and ready to bind. The
  // pointer stays valid for the life of the connection. Wrap uses in a
  // StatementUse so the statement is reset afterwards.
  Result<Statement*> Prepare(std::string_view sql);

  // Runs a query that returns one row with one column and gives back that
  // column as text (e.g. a PRAGMA). Empty when it returns no rows.
  Result<std::string> QueryText(std::string_view sql);
  Result<int64_t> QueryInt64(std::string_view sql);

  // ---- Read lease (WAL-mode files only; a no-op otherwise).
  // Autocommit reads pay for a read transaction each: lock and unlock a
  // read mark in the -shm file and stat the database (three system calls,
  // most of a point read's cost). A lease instead keeps one read
  // transaction open across consecutive reads, and is renewed as soon as
  // the WAL-index header shows that anyone committed since it began, so
  // reads are exactly as fresh as autocommit reads. A lease is also renewed
  // after kMaxLeaseAge, and the owner ends it when idle (EndReadLease) so it
  // never pins the WAL for long.
  static constexpr std::chrono::milliseconds kMaxLeaseAge{100};

  // Makes sure the next statements run inside a current read lease.
  // REQUIRES: no other transaction is open.
  Status BeginReadLease();
  // Ends the lease, if any. Every write and every explicit transaction must
  // call this first (Transaction::Begin does).
  void EndReadLease();
  bool read_lease_active() const { return lease_active_; }
  // The WAL-index watch, once the first read transaction mapped it; null
  // before that and outside WAL mode.
  const WalWatch* wal_watch() const { return wal_watch_.get(); }
  // Called whenever a lease is about to end (before its transaction
  // closes): owners drop what is only valid inside one snapshot, such as
  // open BLOB handles and cached rows.
  void set_lease_end_hook(std::function<void()> hook) {
    lease_end_hook_ = std::move(hook);
  }
  std::chrono::steady_clock::time_point read_lease_last_use() const {
    return lease_last_use_;
  }

  // PRAGMA wal_checkpoint(PASSIVE) (a no-op outside WAL mode).
  Status Checkpoint();

  // Rows changed by the most recent INSERT/UPDATE/DELETE.
  int64_t changes() const { return sqlite3_changes64(db_); }
  bool in_transaction() const { return !sqlite3_get_autocommit(db_); }
  // SQLITE_LIMIT_LENGTH: the largest string or blob (and row) in bytes.
  int64_t max_length() const;
  // True when the calling process is the one that opened the connection.
  bool owned_by_this_process() const;

  sqlite3* db() const { return db_; }
  const std::string& path() const { return path_; }

 private:
  Connection(sqlite3* db, std::string path);
  Status Configure(const OpenOptions& options, bool is_memory);

  sqlite3* db_;
  std::string path_;
  uint64_t generation_;  // fork generation that opened it
  // Looked up by std::string_view without building a std::string (every
  // get and put looks its statement up here).
  struct SqlHash {
    using is_transparent = void;
    size_t operator()(std::string_view sql) const { return std::hash<std::string_view>()(sql); }
  };
  std::unordered_map<std::string, std::unique_ptr<Statement>, SqlHash, std::equal_to<>> statements_;

  bool wal_mode_ = false;  // journal_mode=WAL took effect (see BeginReadLease)
  std::unique_ptr<WalWatch> wal_watch_;  // null: no lease (yet)
  bool lease_active_ = false;
  WalWatch::Header lease_header_{};
  std::chrono::steady_clock::time_point lease_start_{};
  std::chrono::steady_clock::time_point lease_last_use_{};
  std::function<void()> lease_end_hook_;
};

}  // namespace ambervault::sqlite

#endif  // AMBERVAULT_SRC_SQLITE_CONNECTION_H_
