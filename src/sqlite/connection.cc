// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.

#include "sqlite/connection.h"

#include <pthread.h>

#include <atomic>

#include <filesystem>
#include <system_error>
#include <thread>
#include <algorithm>
#include <chrono>

#include "sqlite/sqlite_status.h"

namespace ambervault::sqlite {

namespace {

// Incremented in every child after fork(): a Connection made in an earlier
// generation belongs to another process. Cheaper than getpid() per call,
// which is a system call in current glibc.
std::atomic<uint64_t> fork_generation{0};

}  // namespace

uint64_t ForkGeneration() {
  static const bool registered = [] {
    pthread_atfork(nullptr, nullptr, [] { fork_generation.fetch_add(1); });
    return true;
  }();
  (void)registered;
  return fork_generation.load(std::memory_order_relaxed);
}

namespace {

bool IsMemoryPath(const std::string& path) {
  return path.empty() || path == ":memory:";
}

Status ValidateOptions(const OpenOptions& o) {
  if (o.page_size < 512 || o.page_size > 65536 ||
      (o.page_size & (o.page_size - 1)) != 0) {
    return Status::InvalidArgument(
        "page_size must be a power of two from 512 to 65536, got " +
        std::to_string(o.page_size));
  }
  if (o.mmap_size < 0) {
    return Status::InvalidArgument("mmap_size must be >= 0");
  }
  if (o.cache_kb < 0) return Status::InvalidArgument("cache_kb must be >= 0");
  if (o.busy_timeout_ms < 0) {
    return Status::InvalidArgument("busy_timeout must be >= 0");
  }
  return Status::OK();
}

const char* SynchronousName(Synchronous s) {
  switch (s) {
    case Synchronous::kOff: return "OFF";
    case Synchronous::kNormal: return "NORMAL";
    case Synchronous::kFull: return "FULL";
    case Synchronous::kExtra: return "EXTRA";
  }
  return "NORMAL";
}

}  // namespace

Connection::Connection(sqlite3* db, std::string path)
    : db_(db), path_(std::move(path)), generation_(ForkGeneration()) {}

Connection::~Connection() {
  if (owned_by_this_process()) EndReadLease();
  wal_watch_.reset();   // points into SQLite's own mapping
  statements_.clear();  // finalize before closing
  if (owned_by_this_process()) {
    sqlite3_close_v2(db_);
  }
  // In a forked child the handle is deliberately leaked: closing it would
  // drop the POSIX locks the parent holds on the same file.
}

bool Connection::owned_by_this_process() const {
  return ForkGeneration() == generation_;
}

Result<std::unique_ptr<Connection>> Connection::Open(
    const std::string& path, const OpenOptions& options) {
  AMBERVAULT_RETURN_IF_ERROR(ValidateOptions(options));
  const bool is_memory = IsMemoryPath(path);
  if (!is_memory) {
    std::error_code ec;
    auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty() && options.create_if_missing && !options.read_only) {
      std::filesystem::create_directories(parent, ec);
      if (ec) {
        return Status::IOError("cannot create folder '" + parent.string() +
                               "': " + ec.message());
      }
    }
    if (std::filesystem::is_directory(path, ec)) {
      return Status::IOError("cannot open '" + path + "': it is a directory");
    }
  }
  int flags = SQLITE_OPEN_NOMUTEX;
  if (options.read_only) {
    flags |= SQLITE_OPEN_READONLY;
  } else {
    flags |= SQLITE_OPEN_READWRITE;
    if (options.create_if_missing) flags |= SQLITE_OPEN_CREATE;
  }
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(is_memory ? ":memory:" : path.c_str(), &db, flags,
                           options.vfs.empty() ? nullptr : options.vfs.c_str());
  if (rc != SQLITE_OK) {
    Status s = FromSqlite(rc, db, "cannot open '" + path + "'");
    sqlite3_close_v2(db);
    return s;
  }
  std::unique_ptr<Connection> conn(new Connection(db, path));
  sqlite3_extended_result_codes(db, 1);
  // Switching a new file to WAL takes an exclusive lock, and SQLite does
  // not wait for it (its busy handler is not called there): processes
  // opening one fresh file at the same moment would see "database is
  // locked". The pragmas are idempotent, so wait and configure again, up
  // to the busy timeout.
  Status s = conn->Configure(options, is_memory);
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(options.busy_timeout_ms);
  for (int pause_ms = 1; s.IsBusy() && std::chrono::steady_clock::now() < deadline;
       pause_ms = std::min(pause_ms * 2, 50)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
    s = conn->Configure(options, is_memory);
  }
  if (s.IsCorruption()) {
    return Status(Status::Code::kCorruption,
                  "cannot open '" + path +
                      "': not an SQLite database, or a damaged one (" +
                      s.message() + ")",
                  s.sqlite_code());
  }
  if (!s.ok()) return s.WithContext("cannot open '" + path + "'");
  if (!is_memory) {
    auto mode = conn->QueryText("PRAGMA journal_mode");
    conn->wal_mode_ = mode.ok() && *mode == "wal";
  }
  return conn;
}

Status Connection::Configure(const OpenOptions& o, bool is_memory) {
  sqlite3_busy_timeout(db_, o.busy_timeout_ms);
  // Probe: reading the schema cookie reads the file header, so a file that
  // is not an SQLite database (or has a damaged header) fails now and not
  // on some later call.
  AMBERVAULT_ASSIGN_OR_RETURN(int64_t page_count,
                              QueryInt64("PRAGMA page_count"));
  AMBERVAULT_RETURN_IF_ERROR(QueryInt64("PRAGMA schema_version").status());
  if (page_count == 0 && !o.read_only) {
    // A new file: the page size can still be chosen (before WAL is on).
    AMBERVAULT_RETURN_IF_ERROR(
        Exec("PRAGMA page_size=" + std::to_string(o.page_size)));
  }
  if (o.enable_wal && !o.read_only && !is_memory) {
    AMBERVAULT_ASSIGN_OR_RETURN(std::string mode,
                                QueryText("PRAGMA journal_mode=WAL"));
    if (mode != "wal") {
      return Status::IOError("cannot enable WAL mode (journal_mode is '" +
                             mode + "')");
    }
    AMBERVAULT_RETURN_IF_ERROR(Exec("PRAGMA wal_autocheckpoint=1000"));
  }
  AMBERVAULT_RETURN_IF_ERROR(Exec(std::string("PRAGMA synchronous=") +
                                  SynchronousName(o.synchronous)));
  AMBERVAULT_RETURN_IF_ERROR(
      QueryText("PRAGMA mmap_size=" + std::to_string(o.mmap_size)).status());
  AMBERVAULT_RETURN_IF_ERROR(
      Exec("PRAGMA cache_size=-" + std::to_string(o.cache_kb)));
  AMBERVAULT_RETURN_IF_ERROR(Exec("PRAGMA temp_store=MEMORY"));
  return Status::OK();
}

Status Connection::Checkpoint() {
  EndReadLease();  // a lease would hold the checkpoint back
  return Exec("PRAGMA wal_checkpoint(PASSIVE)");
}

Status Connection::BeginReadLease() {
  if (wal_watch_ == nullptr) {
    // Not in WAL mode (or no shared memory): reads run in autocommit.
    if (!wal_mode_) return Status::OK();
    // The watch maps the wal-index only once SQLite's WAL has, which a
    // read does. The unix VFS creates its shared-memory state on any
    // xShmMap and only the WAL frees it, so a watch opened without a WAL
    // would leak it and keep the -shm file open. And there may be no WAL
    // even though journal_mode=WAL succeeded at open: a read of an empty
    // file (its first write failed) or of a file another program turned
    // back to a rollback journal puts SQLite back in rollback mode; reads
    // then run in autocommit.
    AMBERVAULT_RETURN_IF_ERROR(QueryInt64("PRAGMA schema_version").status());
    AMBERVAULT_ASSIGN_OR_RETURN(std::string mode, QueryText("PRAGMA main.journal_mode"));
    if (mode != "wal") {
      wal_mode_ = false;
      return Status::OK();
    }
    wal_watch_ = WalWatch::Open(db_);
    if (wal_watch_ == nullptr) return Status::OK();
  }
  // Already inside an explicit transaction: reads use it.
  if (!lease_active_ && !sqlite3_get_autocommit(db_)) return Status::OK();
  const auto now = std::chrono::steady_clock::now();
  if (lease_active_) {
    if (!sqlite3_get_autocommit(db_) && now - lease_start_ < kMaxLeaseAge &&
        !wal_watch_->ChangedSince(lease_header_)) {
      lease_last_use_ = now;
      return Status::OK();
    }
    EndReadLease();
  }
  // The header is copied BEFORE the transaction takes its snapshot: a
  // commit in between makes the copy older than the snapshot, which only
  // causes one needless renewal, never a stale read.
  lease_header_ = wal_watch_->Snapshot();
  AMBERVAULT_ASSIGN_OR_RETURN(Statement * begin, Prepare("BEGIN"));
  StatementUse use(begin);
  AMBERVAULT_RETURN_IF_ERROR(begin->Exec());
  lease_active_ = true;
  lease_start_ = lease_last_use_ = now;
  return Status::OK();
}

void Connection::EndReadLease() {
  if (!lease_active_) return;
  if (lease_end_hook_) lease_end_hook_();
  lease_active_ = false;
  if (!sqlite3_get_autocommit(db_)) {
    // Ending a read-only transaction cannot fail in a way that matters;
    // ROLLBACK also covers the case where a statement error ended it.
    auto stmt = Prepare("ROLLBACK");
    if (stmt.ok()) {
      StatementUse use(*stmt);
      (*stmt)->Exec();
    }
  }
}

Status Connection::Exec(std::string_view sql) {
  std::string text(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::OK();
  std::string msg = err != nullptr ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  return Status(CodeFor(rc), msg, rc);
}

Result<Statement*> Connection::Prepare(std::string_view sql) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) return it->second.get();
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return FromSqlite(rc, db_, "prepare");
  }
  auto owned = std::make_unique<Statement>(db_, stmt);
  Statement* raw = owned.get();
  statements_.emplace(std::string(sql), std::move(owned));
  return raw;
}

Result<std::string> Connection::QueryText(std::string_view sql) {
  AMBERVAULT_ASSIGN_OR_RETURN(Statement * stmt, Prepare(sql));
  StatementUse use(stmt);
  AMBERVAULT_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return std::string();
  return std::string(stmt->ColumnBlob(0));
}

Result<int64_t> Connection::QueryInt64(std::string_view sql) {
  AMBERVAULT_ASSIGN_OR_RETURN(Statement * stmt, Prepare(sql));
  StatementUse use(stmt);
  AMBERVAULT_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return Status::Internal("no row from: " + std::string(sql));
  return stmt->ColumnInt64(0);
}

int64_t Connection::max_length() const {
  return sqlite3_limit(db_, SQLITE_LIMIT_LENGTH, -1);
}

}  // namespace ambervault::sqlite
