// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// KVault: open/close, point operations and the write-back cache.

#include "ambervault/kvault.h"

#include <chrono>
#include <cstdio>
#include <utility>

#include "kv/kvault_rep.h"
#include "sqlite/retry.h"
#include "sqlite/statement.h"
#include "sqlite/transaction.h"

namespace ambervault {

using sqlite::RetryOnBusy;
using sqlite::Statement;
using sqlite::StatementUse;
using sqlite::Transaction;

namespace {

constexpr size_t kMaxTableNameLength = 64;

Status ValidateTableName(const std::string& name) {
  auto bad = [&](const char* why) {
    return Status::InvalidArgument("invalid table name '" + name + "': " + why);
  };
  if (name.empty()) return bad("empty");
  if (name.size() > kMaxTableNameLength) return bad("longer than 64 bytes");
  for (size_t i = 0; i < name.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    bool digit = c >= '0' && c <= '9';
    if (!(alpha || (digit && i > 0))) {
      return bad("use letters, digits and '_' only, not starting with a digit");
    }
  }
  if (name.size() >= 7) {
    std::string head = name.substr(0, 7);
    for (char& c : head) c = static_cast<char>(std::tolower(c));
    if (head == "sqlite_") return bad("names starting with sqlite_ are reserved");
  }
  return Status::OK();
}

Status ValidateOptions(const KVaultOptions& o) {
  AMBERVAULT_RETURN_IF_ERROR(ValidateTableName(o.table));
  if (o.chunk_size == 0 || o.chunk_size > (1u << 30)) {
    return Status::InvalidArgument("chunk_size must be from 1 to 2**30 bytes");
  }
  if (o.retry.retries < 1) {
    return Status::InvalidArgument("retries must be >= 1");
  }
  if (!(o.retry.backoff_base_seconds >= 0) ||
      o.retry.backoff_base_seconds > 60) {
    return Status::InvalidArgument("backoff_base must be from 0 to 60 seconds");
  }
  return Status::OK();
}

Status ValidateCacheOptions(const CacheOptions& o) {
  if (o.cap_bytes == 0) return Status::InvalidArgument("cap_bytes must be > 0");
  if (!(o.flush_interval_seconds >= 0)) {
    return Status::InvalidArgument("flush_interval must be >= 0");
  }
  return Status::OK();
}

}  // namespace

// ---------------------------------------------------------------- Rep

KVault::Rep::~Rep() {
  // Detach any ValueReader still alive (it then reports Closed). Not in a
  // forked child: there readers never look at the anchor, and its lock may
  // have been held by a parent thread at the fork.
  if (reader_anchor != nullptr && !InForkedChild()) {
    std::unique_lock<std::shared_mutex> l(reader_anchor->mu);
    reader_anchor->rep = nullptr;
  }
}

Status KVault::Rep::CheckUsableLocked() const {
  if (conn == nullptr) return Status::Closed("Cannot operate on closed KVault");
  if (!conn->owned_by_this_process()) return ForkedChildError();
  return Status::OK();
}

Status KVault::Rep::CheckSizes(std::string_view key, size_t value_size) const {
  // SQLite limits every blob and every row to SQLITE_LIMIT_LENGTH bytes;
  // leave room for the record header.
  const uint64_t limit = static_cast<uint64_t>(max_length);
  const uint64_t total = key.size() + static_cast<uint64_t>(value_size) + 64;
  if (total > limit) {
    return Status::InvalidArgument(
        "key plus value too large (" + std::to_string(key.size()) + " + " +
        std::to_string(value_size) + " bytes; the limit is " +
        std::to_string(limit - 64) + " bytes)");
  }
  return Status::OK();
}

Status KVault::Rep::InitSchemaLocked() {
  if (!options.open.read_only) {
    AMBERVAULT_RETURN_IF_ERROR(conn->Exec(
        "CREATE TABLE IF NOT EXISTS " + quoted_table +
        " (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL)"));
  }
  // The table must have the two columns we use (it may predate us, or
  // belong to another application).
  AMBERVAULT_ASSIGN_OR_RETURN(
      Statement * info,
      conn->Prepare("SELECT name FROM pragma_table_info(?1)"));
  StatementUse use(info);
  AMBERVAULT_RETURN_IF_ERROR(info->BindText(1, options.table));
  bool has_key = false, has_value = false, any = false;
  for (;;) {
    AMBERVAULT_ASSIGN_OR_RETURN(bool row, info->Step());
    if (!row) break;
    any = true;
    std::string_view name = info->ColumnBlob(0);
    has_key |= name == "key";
    has_value |= name == "value";
  }
  if (!any) {
    return Status::NotFound("table '" + options.table +
                            "' does not exist (read-only open)");
  }
  if (!has_key || !has_value) {
    return Status::InvalidArgument("table '" + options.table +
                                   "' exists but has no key/value columns");
  }
  // Touch both ends of the table's b-tree: a truncated or damaged file
  // usually fails here, at open, instead of on some later call.
  for (const char* order : {"ASC", "DESC"}) {
    AMBERVAULT_ASSIGN_OR_RETURN(
        Statement * probe,
        conn->Prepare("SELECT key FROM " + quoted_table + " ORDER BY key " +
                      order + " LIMIT 1"));
    StatementUse probe_use(probe);
    AMBERVAULT_RETURN_IF_ERROR(probe->Step().status());
  }
  return Status::OK();
}

Status KVault::Rep::PutDirectLocked(std::string_view key,
                                    std::string_view value) {
  EndReadLeaseLocked();  // a write must never join the read lease
  AMBERVAULT_ASSIGN_OR_RETURN(Statement * stmt, conn->Prepare(sql_put));
  StatementUse use(stmt);
  AMBERVAULT_RETURN_IF_ERROR(stmt->BindBlob(1, key));
  AMBERVAULT_RETURN_IF_ERROR(stmt->BindBlob(2, value));
  return stmt->Exec();
}

Status KVault::Rep::PutLocked(std::string_view key, std::string_view value) {
  AMBERVAULT_RETURN_IF_ERROR(CheckUsableLocked());
  AMBERVAULT_RETURN_IF_ERROR(CheckSizes(key, value.size()));
  if (cache_draining) AMBERVAULT_RETURN_IF_ERROR(FlushLocked().status());
  if (!cache_on) return PutDirectLocked(key, value);

  const size_t entry = kv::WriteCache::EntryBytes(key, value);
  const bool locked = cache_locks.load() > 0;
  if (entry > cache_options.cap_bytes) {
    // Too big to cache: write through, and drop any older pending value so
    // that a later flush cannot overwrite this one.
    AMBERVAULT_RETURN_IF_ERROR(PutDirectLocked(key, value));
    cache.Erase(key);
    return Status::OK();
  }
  if (cache.BytesAfterPut(key, value) > cache_options.cap_bytes) {
    if (locked) {
      return Status::Busy(
          "write-back cache is full and locked (lock_cache); the value was "
          "not stored");
    }
    AMBERVAULT_RETURN_IF_ERROR(FlushLocked().status());
  }
  cache.Put(key, value);
  if (cache.bytes() >= cache_options.flush_threshold && !locked) {
    // The value is safely pending either way; a failed flush keeps it and
    // reports the error (a retry of this Put is harmless).
    AMBERVAULT_RETURN_IF_ERROR(FlushLocked().status());
  }
  return Status::OK();
}

Status KVault::Rep::GetFromTableLocked(std::string_view key,
                                       std::string* value, bool* found) {
  AMBERVAULT_RETURN_IF_ERROR(BeginReadLocked());
  AMBERVAULT_ASSIGN_OR_RETURN(Statement * stmt, conn->Prepare(sql_get));
  StatementUse use(stmt);
  AMBERVAULT_RETURN_IF_ERROR(stmt->BindBlob(1, key));
  AMBERVAULT_ASSIGN_OR_RETURN(bool row, stmt->Step());
  *found = row;
  if (row) value->assign(stmt->ColumnBlob(0));
  return Status::OK();
}

Result<bool> KVault::Rep::ExistsInTableLocked(std::string_view key) {
  AMBERVAULT_RETURN_IF_ERROR(BeginReadLocked());
  AMBERVAULT_ASSIGN_OR_RETURN(Statement * stmt, conn->Prepare(sql_exists));
  StatementUse use(stmt);
  AMBERVAULT_RETURN_IF_ERROR(stmt->BindBlob(1, key));
  return stmt->Step();
}

Result<size_t> KVault::Rep::FlushLocked() {
  if (cache.empty()) {
    if (cache_draining) cache_on = cache_draining = false;
    return size_t{0};
  }
  AMBERVAULT_ASSIGN_OR_RETURN(
      Transaction txn,
      Transaction::Begin(conn.get(), Transaction::Mode::kImmediate));
  // Entries stay in the cache until the commit succeeds: a failed flush
  // loses nothing.
  for (const auto& [key, value] : cache.map()) {
    AMBERVAULT_RETURN_IF_ERROR(PutDirectLocked(key, value));
  }
  AMBERVAULT_RETURN_IF_ERROR(txn.Commit());
  size_t n = cache.entries();
  cache.Clear();
  if (cache_draining) cache_on = cache_draining = false;
  return n;
}

Status KVault::Rep::BeginReadLocked() {
  const bool was_active = conn->read_lease_active();
  Status s = conn->BeginReadLease();
  if (!s.ok()) {
    conn->EndReadLease();
    return s;
  }
  if (!was_active && conn->read_lease_active()) lease_reaper.LeaseBeganLocked();
  return Status::OK();
}

Result<std::optional<Transaction>> KVault::Rep::BeginSnapshotReadLocked() {
  AMBERVAULT_RETURN_IF_ERROR(BeginReadLocked());
  if (conn->read_lease_active() || conn->in_transaction()) {
    return std::optional<Transaction>();
  }
  // No lease (rollback journal or in-memory database): autocommit would
  // give every statement its own snapshot.
  AMBERVAULT_ASSIGN_OR_RETURN(
      Transaction txn, Transaction::Begin(conn.get(),
                                          Transaction::Mode::kDeferred));
  return std::optional<Transaction>(std::move(txn));
}

void KVault::Rep::EndReadLeaseLocked() {
  if (conn != nullptr) conn->EndReadLease();
}

void KVault::Rep::StartFlusher(double interval_seconds) {
  {
    std::lock_guard<std::mutex> l(mu);
    flusher_stop = false;
  }
  flusher = std::thread([this, interval_seconds] {
    FlusherLoop(interval_seconds);
  });
}

void KVault::Rep::StopFlusher() {
  if (!flusher.joinable()) return;
  {
    std::lock_guard<std::mutex> l(mu);
    flusher_stop = true;
  }
  flusher_cv.notify_all();
  flusher.join();
}

void KVault::Rep::FlusherLoop(double interval_seconds) {
  using Clock = kv::WriteCache::Clock;
  const auto interval = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(interval_seconds));
  std::unique_lock<std::mutex> l(mu);
  Clock::time_point retry_after{};
  while (!flusher_stop) {
    Clock::time_point wake = Clock::now() + interval;
    if (conn != nullptr && cache_on && !cache.empty()) {
      Clock::time_point due = std::max(cache.oldest() + interval, retry_after);
      if (Clock::now() >= due && cache_locks.load() == 0 &&
          CheckUsableLocked().ok()) {
        // Errors keep the data pending; try again one interval later.
        if (!FlushLocked().ok()) retry_after = Clock::now() + interval;
        continue;
      }
      wake = std::min(wake, std::max(due, Clock::now() + interval / 16));
    }
    flusher_cv.wait_until(l, wake);
  }
}

void KVault::Rep::CloseConnectionLocked() {
  conn.reset();  // finalizes statements; leaks the handle in a forked child
  cache.Clear();
  cache_on = false;
}

std::optional<std::string> PrefixSuccessor(std::string_view prefix) {
  std::string s(prefix);
  while (!s.empty() && static_cast<unsigned char>(s.back()) == 0xFF) {
    s.pop_back();
  }
  if (s.empty()) return std::nullopt;
  s.back() = static_cast<char>(static_cast<unsigned char>(s.back()) + 1);
  return s;
}

// ---------------------------------------------------------------- KVault

KVault::KVault(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}

KVault::~KVault() {
  if (rep_->InForkedChild()) {
    // Close() only forgets the parent's threads and connection here. The
    // rest is leaked too: destroying a condition variable a parent thread
    // waited on would wait forever.
    (void)Close();
    (void)rep_.release();
    return;
  }
  Status s = Close();
  if (!s.ok()) {
    std::fprintf(stderr,
                 "ambervault: KVault '%s' destroyed with unflushed writes "
                 "(%zu entries lost): %s\n",
                 rep_->path.c_str(), rep_->cache.entries(),
                 s.ToString().c_str());
    std::lock_guard<std::mutex> fl(rep_->flusher_mu);
    rep_->StopFlusher();
    rep_->lease_reaper.Stop();
    std::lock_guard<std::mutex> l(rep_->mu);
    rep_->CloseConnectionLocked();
  }
}

Result<std::unique_ptr<KVault>> KVault::Open(const std::string& path,
                                             const KVaultOptions& options) {
  AMBERVAULT_RETURN_IF_ERROR(ValidateOptions(options));
  auto rep = std::make_unique<Rep>();
  rep->path = path;
  rep->options = options;
  rep->value_cache = kv::ValueCache(options.value_cache_bytes);
  const std::string t = "\"" + options.table + "\"";
  rep->quoted_table = t;
  rep->sql_get = "SELECT value FROM " + t + " WHERE key = ?1";
  rep->sql_put = "INSERT INTO " + t +
                 " (key, value) VALUES (?1, ?2) "
                 "ON CONFLICT(key) DO UPDATE SET value = excluded.value";
  rep->sql_put_zeroblob = "INSERT INTO " + t +
                          " (key, value) VALUES (?1, zeroblob(?2)) "
                          "ON CONFLICT(key) DO UPDATE SET value = excluded.value";
  rep->sql_rowid = "SELECT rowid FROM " + t + " WHERE key = ?1";
  rep->sql_delete = "DELETE FROM " + t + " WHERE key = ?1";
  rep->sql_exists = "SELECT 1 FROM " + t + " WHERE key = ?1";
  rep->sql_count = "SELECT COUNT(*) FROM " + t;
  rep->sql_clear = "DELETE FROM " + t;
  // length() of a blob reads no content; other types (written by foreign
  // code) are measured as the bytes Get returns.
  rep->sql_value_size =
      "SELECT CASE WHEN typeof(value) = 'blob' THEN length(value) "
      "ELSE length(CAST(value AS BLOB)) END FROM " + t + " WHERE key = ?1";

  rep->generation = sqlite::ForkGeneration();
  AMBERVAULT_ASSIGN_OR_RETURN(rep->conn,
                              sqlite::Connection::Open(path, options.open));
  rep->max_length = rep->conn->max_length();
  Rep* r = rep.get();
  Status s = RetryOnBusy(options.retry, [r] {
    std::lock_guard<std::mutex> l(r->mu);
    return r->InitSchemaLocked();
  });
  if (!s.ok()) return s.WithContext("cannot open '" + path + "'");
  return std::unique_ptr<KVault>(new KVault(std::move(rep)));
}

Status KVault::Put(std::string_view key, std::string_view value) {
  if (rep_->InForkedChild()) return Rep::ForkedChildError();
  return RetryOnBusy(rep_->options.retry, [&] {
    std::lock_guard<std::mutex> l(rep_->mu);
    return rep_->PutLocked(key, value);
  });
}

Status KVault::Get(std::string_view key, std::string* value) {
  if (rep_->InForkedChild()) return Rep::ForkedChildError();
  return RetryOnBusy(rep_->options.retry, [&]() -> Status {
    std::lock_guard<std::mutex> l(rep_->mu);
    AMBERVAULT_RETURN_IF_ERROR(rep_->CheckUsableLocked());
    if (rep_->cache_on) {
      if (const std::string* pending = rep_->cache.Find(key)) {
        *value = *pending;
        return Status::OK();
      }
    }
    const bool cached = rep_->value_cache.Usable(*rep_->conn);
    if (cached) {
      if (const std::string* hit = rep_->value_cache.Find(key)) {
        *value = *hit;
        return Status::OK();
      }
    }
    bool found = false;
    Status s = rep_->GetFromTableLocked(key, value, &found);
    if (!s.ok()) {
      rep_->EndReadLeaseLocked();  // a retry starts from a fresh snapshot
      return s;
    }
    if (!found) return Status::NotFound("key not found");
    if (cached) rep_->value_cache.Insert(key, *value);
    return Status::OK();
  });
}

bool KVault::TryGetCached(std::string_view key, std::string* value) {
  Rep* r = rep_.get();
  if (r->InForkedChild()) return false;
  std::unique_lock<std::mutex> l(r->mu, std::try_to_lock);
  if (!l.owns_lock() || r->conn == nullptr) return false;
  if (r->cache_on) {
    if (const std::string* pending = r->cache.Find(key)) {
      *value = *pending;
      return true;
    }
  }
  if (!r->value_cache.Usable(*r->conn)) return false;
  const std::string* hit = r->value_cache.Find(key);
  if (hit == nullptr) return false;
  *value = *hit;
  return true;
}

Result<std::string> KVault::Get(std::string_view key) {
  std::string value;
  AMBERVAULT_RETURN_IF_ERROR(Get(key, &value));
  return value;
}

Result<bool> KVault::Delete(std::string_view key) {
  if (rep_->InForkedChild()) return Rep::ForkedChildError();
  return RetryOnBusy(rep_->options.retry, [&]() -> Result<bool> {
    std::lock_guard<std::mutex> l(rep_->mu);
    AMBERVAULT_RETURN_IF_ERROR(rep_->CheckUsableLocked());
    rep_->EndReadLeaseLocked();
    AMBERVAULT_ASSIGN_OR_RETURN(Statement * stmt,
                                rep_->conn->Prepare(rep_->sql_delete));
    StatementUse use(stmt);
    AMBERVAULT_RETURN_IF_ERROR(stmt->BindBlob(1, key));
    AMBERVAULT_RETURN_IF_ERROR(stmt->Exec());
    bool in_table = rep_->conn->changes() > 0;
    // Only after the table delete succeeded, so a failure changes nothing.
    bool pending = rep_->cache.Erase(key);
    return in_table || pending;
  });
}

Result<std::string> KVault::Take(std::string_view key) {
  if (rep_->InForkedChild()) return Rep::ForkedChildError();
  return RetryOnBusy(rep_->options.retry, [&]() -> Result<std::string> {
    std::lock_guard<std::mutex> l(rep_->mu);
    AMBERVAULT_RETURN_IF_ERROR(rep_->CheckUsableLocked());
    std::string value;
    bool found = false;
    const std::string* pending = rep_->cache.Find(key);
    if (pending != nullptr) {
      value = *pending;
      found = true;
    }
    AMBERVAULT_ASSIGN_OR_RETURN(
        Transaction txn,
        Transaction::Begin(rep_->conn.get(), Transaction::Mode::kImmediate));
    if (!found) {
      AMBERVAULT_RETURN_IF_ERROR(rep_->GetFromTableLocked(key, &value, &found));
    }
    if (!found) return Status::NotFound("key not found");
    AMBERVAULT_ASSIGN_OR_RETURN(Statement * stmt,
                                rep_->conn->Prepare(rep_->sql_delete));
    {
      StatementUse use(stmt);
      AMBERVAULT_RETURN_IF_ERROR(stmt->BindBlob(1, key));
      AMBERVAULT_RETURN_IF_ERROR(stmt->Exec());
    }
    AMBERVAULT_RETURN_IF_ERROR(txn.Commit());
    rep_->cache.Erase(key);
    return value;
  });
}

Result<std::optional<std::string>> KVault::PutIfAbsent(std::string_view key,
                                                       std::string_view value) {
  if (rep_->InForkedChild()) return Rep::ForkedChildError();
  using Out = std::optional<std::string>;
  return RetryOnBusy(rep_->options.retry, [&]() -> Result<Out> {
    std::lock_guard<std::mutex> l(rep_->mu);
    AMBERVAULT_RETURN_IF_ERROR(rep_->CheckUsableLocked());
    AMBERVAULT_RETURN_IF_ERROR(rep_->CheckSizes(key, value.size()));
    if (const std::string* pending = rep_->cache.Find(key)) {
      return Out(*pending);
    }
    AMBERVAULT_ASSIGN_OR_RETURN(
        Transaction txn,
        Transaction::Begin(rep_->conn.get(), Transaction::Mode::kImmediate));
    std::string existing;
    bool found = false;
    AMBERVAULT_RETURN_IF_ERROR(
        rep_->GetFromTableLocked(key, &existing, &found));
    if (found) return Out(std::move(existing));
    AMBERVAULT_RETURN_IF_ERROR(rep_->PutDirectLocked(key, value));
    AMBERVAULT_RETURN_IF_ERROR(txn.Commit());
    return Out();
  });
}

Result<bool> KVault::Exists(std::string_view key) {
  if (rep_->InForkedChild()) return Rep::ForkedChildError();
  return RetryOnBusy(rep_->options.retry, [&]() -> Result<bool> {
    std::lock_guard<std::mutex> l(rep_->mu);
    AMBERVAULT_RETURN_IF_ERROR(rep_->CheckUsableLocked());
    if (rep_->cache.Find(key) != nullptr) return true;
    Result<bool> r = rep_->ExistsInTableLocked(key);
    if (!r.ok()) rep_->EndReadLeaseLocked();
    return r;
  });
}

Result<int64_t> KVault::Count() {
  if (rep_->InForkedChild()) return Rep::ForkedChildError();
  return RetryOnBusy(rep_->options.retry, [&]() -> Result<int64_t> {
    std::lock_guard<std::mutex> l(rep_->mu);
    AMBERVAULT_RETURN_IF_ERROR(rep_->CheckUsableLocked());
    // One read transaction so the count and the membership checks of the
    // pending keys see one snapshot.
    AMBERVAULT_ASSIGN_OR_RETURN(
        Transaction txn,
        Transaction::Begin(rep_->conn.get(), Transaction::Mode::kDeferred));
    AMBERVAULT_ASSIGN_OR_RETURN(int64_t n,
                                rep_->conn->QueryInt64(rep_->sql_count));
    for (const auto& entry : rep_->cache.map()) {
      AMBERVAULT_ASSIGN_OR_RETURN(bool present,
                                  rep_->ExistsInTableLocked(entry.first));
      if (!present) ++n;
    }
    AMBERVAULT_RETURN_IF_ERROR(txn.Commit());
    return n;
  });
}

Status KVault::Clear() {
  if (rep_->InForkedChild()) return Rep::ForkedChildError();
  return RetryOnBusy(rep_->options.retry, [&]() -> Status {
    std::lock_guard<std::mutex> l(rep_->mu);
    AMBERVAULT_RETURN_IF_ERROR(rep_->CheckUsableLocked());
    AMBERVAULT_ASSIGN_OR_RETURN(
        Transaction txn,
        Transaction::Begin(rep_->conn.get(), Transaction::Mode::kImmediate));
    AMBERVAULT_RETURN_IF_ERROR(rep_->conn->Exec(rep_->sql_clear));
    AMBERVAULT_RETURN_IF_ERROR(txn.Commit());
    rep_->cache.Clear();
    return Status::OK();
  });
}

Status KVault::EnableCache(const CacheOptions& options) {
  AMBERVAULT_RETURN_IF_ERROR(ValidateCacheOptions(options));
  if (rep_->InForkedChild()) return Rep::ForkedChildError();
  std::lock_guard<std::mutex> fl(rep_->flusher_mu);
  Status s = RetryOnBusy(rep_->options.retry, [&]() -> Status {
    std::lock_guard<std::mutex> l(rep_->mu);
    AMBERVAULT_RETURN_IF_ERROR(rep_->CheckUsableLocked());
    // Never drop what an earlier cache holds.
    AMBERVAULT_RETURN_IF_ERROR(rep_->FlushLocked().status());
    rep_->cache_options = options;
    rep_->cache_on = true;
    rep_->cache_draining = false;
    return Status::OK();
  });
  AMBERVAULT_RETURN_IF_ERROR(s);
  rep_->StopFlusher();
  if (options.flush_interval_seconds > 0) {
    rep_->StartFlusher(options.flush_interval_seconds);
  }
  return Status::OK();
}

Status KVault::DisableCache() {
  if (rep_->InForkedChild()) return Rep::ForkedChildError();
  std::lock_guard<std::mutex> fl(rep_->flusher_mu);
  {
    // A locked cache is not a transient condition: report it at once.
    std::lock_guard<std::mutex> l(rep_->mu);
    if (rep_->cache_locks.load() > 0 && !rep_->cache.empty()) {
      return Status::Busy(
          "cannot disable the write-back cache while it is locked "
          "(lock_cache) and holds pending writes");
    }
  }
  Status s = RetryOnBusy(rep_->options.retry, [&]() -> Status {
    std::lock_guard<std::mutex> l(rep_->mu);
    AMBERVAULT_RETURN_IF_ERROR(rep_->CheckUsableLocked());
    if (!rep_->cache_on) return Status::OK();
    Status flushed = rep_->FlushLocked().status();
    if (!flushed.ok()) {
      // Keep the pending writes, but take no new ones (see cache_draining).
      rep_->cache_draining = true;
      return flushed;
    }
    rep_->cache_on = false;
    rep_->cache_draining = false;
    return Status::OK();
  });
  AMBERVAULT_RETURN_IF_ERROR(s);
  rep_->StopFlusher();
  return Status::OK();
}

Result<size_t> KVault::FlushCache() {
  if (rep_->InForkedChild()) return Rep::ForkedChildError();
  return RetryOnBusy(rep_->options.retry, [&]() -> Result<size_t> {
    std::lock_guard<std::mutex> l(rep_->mu);
    AMBERVAULT_RETURN_IF_ERROR(rep_->CheckUsableLocked());
    if (rep_->cache_locks.load() > 0) return size_t{0};
    return rep_->FlushLocked();
  });
}

void KVault::LockCache() { rep_->cache_locks.fetch_add(1); }

void KVault::UnlockCache() {
  int now = rep_->cache_locks.load();
  while (now > 0 && !rep_->cache_locks.compare_exchange_weak(now, now - 1)) {
  }
  rep_->flusher_cv.notify_all();
}

bool KVault::cache_enabled() const {
  if (rep_->InForkedChild()) return false;
  std::lock_guard<std::mutex> l(rep_->mu);
  return rep_->cache_on && !rep_->cache_draining;
}

bool KVault::cache_locked() const { return rep_->cache_locks.load() > 0; }

size_t KVault::cache_entries() const {
  if (rep_->InForkedChild()) return 0;
  std::lock_guard<std::mutex> l(rep_->mu);
  return rep_->cache.entries();
}

size_t KVault::cache_bytes() const {
  if (rep_->InForkedChild()) return 0;
  std::lock_guard<std::mutex> l(rep_->mu);
  return rep_->cache.bytes();
}

Status KVault::Checkpoint() {
  if (rep_->InForkedChild()) return Rep::ForkedChildError();
  return RetryOnBusy(rep_->options.retry, [&]() -> Status {
    std::lock_guard<std::mutex> l(rep_->mu);
    AMBERVAULT_RETURN_IF_ERROR(rep_->CheckUsableLocked());
    return rep_->conn->Checkpoint();
  });
}

Status KVault::Optimize() {
  if (rep_->InForkedChild()) return Rep::ForkedChildError();
  return RetryOnBusy(rep_->options.retry, [&]() -> Status {
    std::lock_guard<std::mutex> l(rep_->mu);
    AMBERVAULT_RETURN_IF_ERROR(rep_->CheckUsableLocked());
    AMBERVAULT_RETURN_IF_ERROR(rep_->FlushLocked().status());
    rep_->EndReadLeaseLocked();
    AMBERVAULT_RETURN_IF_ERROR(rep_->conn->Exec("PRAGMA optimize"));
    return rep_->conn->Exec("VACUUM");
  });
}

Status KVault::Close() {
  if (rep_->InForkedChild()) {
    // A forked child: the parent's threads do not exist here and its locks
    // may be held forever, so take none. Forget the threads, and leak the
    // connection (closing it would release the parent's file locks).
    if (rep_->flusher.joinable()) rep_->flusher.detach();
    rep_->lease_reaper.Detach();
    (void)rep_->conn.release();
    rep_->cache_on = false;
    return Status::OK();
  }
  std::lock_guard<std::mutex> fl(rep_->flusher_mu);
  {
    std::lock_guard<std::mutex> l(rep_->mu);
    if (rep_->conn == nullptr) return Status::OK();
  }
  // Close ends any lock_cache() scope: pending writes are flushed, never
  // dropped.
  Status s = RetryOnBusy(rep_->options.retry, [&]() -> Status {
    std::lock_guard<std::mutex> l(rep_->mu);
    if (rep_->conn == nullptr) return Status::OK();
    return rep_->FlushLocked().status();
  });
  if (!s.ok()) return s.WithContext("close: flushing the write-back cache");
  rep_->StopFlusher();
  rep_->lease_reaper.Stop();
  std::lock_guard<std::mutex> l(rep_->mu);
  if (!rep_->cache.empty()) {
    // A writer slipped in between the flush and here; flush once more.
    AMBERVAULT_RETURN_IF_ERROR(rep_->FlushLocked().status());
  }
  rep_->CloseConnectionLocked();
  return Status::OK();
}

bool KVault::closed() const {
  if (rep_->InForkedChild()) return true;  // unusable here
  std::lock_guard<std::mutex> l(rep_->mu);
  return rep_->conn == nullptr;
}

const std::string& KVault::path() const { return rep_->path; }
const std::string& KVault::table() const { return rep_->options.table; }
const KVaultOptions& KVault::options() const { return rep_->options; }

}  // namespace ambervault
