// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// ColumnVault: opening, the column catalog (col_meta), vault-wide caches
// and the background flusher. Element operations are in column.cc.

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "ambervault/column_vault.h"
#include "ambervault/packer.h"
#include "column/locked.h"
#include "column/var_data.h"
#include "column/vault_state.h"
#include "sqlite/statement.h"
#include "sqlite/transaction.h"

namespace ambervault {

using column::ChunkStore;
using column::ColumnState;
using column::VaultState;
using sqlite::Statement;
using sqlite::StatementUse;
using sqlite::Transaction;

namespace column {

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS kohakuvault_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS col_meta (
  col_id INTEGER PRIMARY KEY,
  name TEXT UNIQUE NOT NULL,
  dtype TEXT NOT NULL,
  elem_size INTEGER NOT NULL,
  length INTEGER NOT NULL,
  chunk_bytes INTEGER NOT NULL,
  min_chunk_bytes INTEGER DEFAULT 131072,
  max_chunk_bytes INTEGER DEFAULT 16777216
);
CREATE INDEX IF NOT EXISTS col_meta_name_idx ON col_meta(name);
CREATE TABLE IF NOT EXISTS col_chunks (
  col_id INTEGER NOT NULL,
  chunk_idx INTEGER NOT NULL,
  data BLOB NOT NULL,
  actual_size INTEGER NOT NULL,
  bytes_used INTEGER NOT NULL DEFAULT 0,
  has_deleted INTEGER NOT NULL DEFAULT 0,
  start_elem_idx INTEGER DEFAULT 0,
  end_elem_idx INTEGER DEFAULT 0,
  PRIMARY KEY (col_id, chunk_idx),
  FOREIGN KEY (col_id) REFERENCES col_meta(col_id) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS ambervault_col_cursor (
  col_id INTEGER NOT NULL,
  chunk_idx INTEGER NOT NULL,
  used INTEGER NOT NULL,
  claimed INTEGER NOT NULL,
  PRIMARY KEY (col_id, chunk_idx)
) WITHOUT ROWID;
)sql";

constexpr int kSchemaVersion = 2;
constexpr const char* kIndexDtype = "adaptive_idx";

struct MetaRow {
  int64_t col_id = 0;
  std::string dtype;
  int64_t elem_size = 0;
  int64_t min_chunk = 0;
  int64_t max_chunk = 0;
};

Result<std::optional<MetaRow>> FindRow(sqlite::Connection* conn,
                                       std::string_view name) {
  AMBERVAULT_ASSIGN_OR_RETURN(
      Statement * st,
      conn->Prepare("SELECT col_id, dtype, elem_size, min_chunk_bytes, "
                    "max_chunk_bytes FROM col_meta WHERE name = ?1"));
  StatementUse use(st);
  AMBERVAULT_RETURN_IF_ERROR(st->BindText(1, name));
  AMBERVAULT_ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return std::optional<MetaRow>();
  MetaRow m;
  m.col_id = st->ColumnInt64(0);
  auto dtype = st->ColumnBlob(1);
  m.dtype.assign(dtype.data(), dtype.size());
  m.elem_size = st->ColumnInt64(2);
  m.min_chunk = st->ColumnInt64(3);
  m.max_chunk = st->ColumnInt64(4);
  return std::optional<MetaRow>(std::move(m));
}

Result<ChunkSizes> StoredSizes(const MetaRow& m, std::string_view name) {
  if (m.min_chunk < 1 || m.max_chunk < m.min_chunk ||
      m.max_chunk < std::max<int64_t>(m.elem_size, 1) || m.max_chunk > INT32_MAX) {
    return Status::Corruption("column '" + std::string(name) +
                              "' has invalid chunk sizes in col_meta");
  }
  return ChunkSizes{m.min_chunk, m.max_chunk};
}

// A col_id never used before in this file. SQLite would hand out the id
// of the most recently deleted column again (max(col_id) + 1), and a
// handle to the deleted column would then reach the new one; so the
// highest id ever given is kept in kohakuvault_meta.
Result<int64_t> NewColumnId(sqlite::Connection* conn) {
  AMBERVAULT_ASSIGN_OR_RETURN(
      int64_t next,
      conn->QueryInt64("SELECT max(coalesce((SELECT max(col_id) FROM col_meta), 0), "
                       "coalesce((SELECT CAST(value AS INTEGER) FROM kohakuvault_meta "
                       "WHERE key = 'ambervault_last_col_id'), 0)) + 1"));
  AMBERVAULT_ASSIGN_OR_RETURN(
      Statement * st,
      conn->Prepare("INSERT OR REPLACE INTO kohakuvault_meta (key, value) "
                    "VALUES ('ambervault_last_col_id', ?1)"));
  StatementUse use(st);
  const std::string text = std::to_string(next);  // bound without a copy
  AMBERVAULT_RETURN_IF_ERROR(st->BindText(1, text));
  AMBERVAULT_RETURN_IF_ERROR(st->Exec());
  return next;
}

Result<int64_t> InsertRow(sqlite::Connection* conn, std::string_view name,
                          std::string_view dtype, int64_t elem_size,
                          const ChunkSizes& sizes) {
  AMBERVAULT_ASSIGN_OR_RETURN(int64_t col_id, NewColumnId(conn));
  AMBERVAULT_ASSIGN_OR_RETURN(
      Statement * st,
      conn->Prepare("INSERT INTO col_meta (name, dtype, elem_size, length, "
                    "chunk_bytes, min_chunk_bytes, max_chunk_bytes, col_id) "
                    "VALUES (?1, ?2, ?3, 0, ?4, ?4, ?5, ?6)"));
  StatementUse use(st);
  AMBERVAULT_RETURN_IF_ERROR(st->BindInt64(6, col_id));
  AMBERVAULT_RETURN_IF_ERROR(st->BindText(1, name));
  AMBERVAULT_RETURN_IF_ERROR(st->BindText(2, dtype));
  AMBERVAULT_RETURN_IF_ERROR(st->BindInt64(3, elem_size));
  AMBERVAULT_RETURN_IF_ERROR(st->BindInt64(4, sizes.min));
  AMBERVAULT_RETURN_IF_ERROR(st->BindInt64(5, sizes.max));
  AMBERVAULT_RETURN_IF_ERROR(st->Exec());
  return col_id;
}

Status DeleteRow(sqlite::Connection* conn, int64_t col_id) {
  AMBERVAULT_RETURN_IF_ERROR(ChunkStore(conn, col_id).DeleteFrom(0));
  AMBERVAULT_ASSIGN_OR_RETURN(
      Statement * st, conn->Prepare("DELETE FROM col_meta WHERE col_id = ?1"));
  StatementUse use(st);
  AMBERVAULT_RETURN_IF_ERROR(st->BindInt64(1, col_id));
  return st->Exec();
}

std::string DataName(std::string_view name) { return std::string(name) + "_data"; }
std::string IdxName(std::string_view name) { return std::string(name) + "_idx"; }

// True for the rows that make up a var-size column ("x_data", "x_idx"):
// they are not columns by themselves.
Result<bool> IsInternalRow(sqlite::Connection* conn, std::string_view name,
                           const MetaRow& row) {
  if (row.dtype == kIndexDtype) return true;
  constexpr std::string_view kSuffix = "_data";
  if (name.size() <= kSuffix.size() || !name.ends_with(kSuffix)) return false;
  AMBERVAULT_ASSIGN_OR_RETURN(
      auto idx, FindRow(conn, IdxName(name.substr(0, name.size() - kSuffix.size()))));
  return idx.has_value() && idx->dtype == kIndexDtype;
}

Status InitSchema(sqlite::Connection* conn, bool read_only) {
  // Tables of the same names from another application: refuse clearly
  // rather than fail later on a missing column.
  const std::pair<const char*, std::vector<const char*>> kNeeded[] = {
      {"kohakuvault_meta", {"key", "value"}},
      {"col_meta", {"col_id", "name", "dtype", "elem_size", "length", "chunk_bytes",
                    "min_chunk_bytes", "max_chunk_bytes"}},
      {"col_chunks", {"col_id", "chunk_idx", "data", "actual_size", "bytes_used"}}};
  for (const auto& [table, columns] : kNeeded) {
    AMBERVAULT_ASSIGN_OR_RETURN(
        int64_t exists,
        conn->QueryInt64(std::string("SELECT count(*) FROM pragma_table_info('") + table + "')"));
    if (exists == 0) continue;  // created below
    for (const char* column : columns) {
      AMBERVAULT_ASSIGN_OR_RETURN(
          int64_t found,
          conn->QueryInt64(std::string("SELECT count(*) FROM pragma_table_info('") + table +
                           "') WHERE name = '" + column + "'"));
      if (found == 0) {
        return Status::InvalidArgument(std::string("table '") + table +
                                       "' exists but is not KohakuVault's (it has no column '" +
                                       column + "'); the file belongs to another application");
      }
    }
  }
  AMBERVAULT_ASSIGN_OR_RETURN(
      int64_t tables,
      conn->QueryInt64("SELECT count(*) FROM sqlite_master WHERE type = "
                       "'table' AND name IN ('kohakuvault_meta', 'col_meta', "
                       "'col_chunks', 'ambervault_col_cursor')"));
  if (tables < 4 && !(read_only && tables == 3)) {
    if (read_only) {
      return Status::NotFound("the file has no column tables (opened "
                              "read-only, so they cannot be created)");
    }
    AMBERVAULT_ASSIGN_OR_RETURN(
        Transaction txn, Transaction::Begin(conn, Transaction::Mode::kImmediate));
    AMBERVAULT_RETURN_IF_ERROR(conn->Exec(kSchema));
    AMBERVAULT_RETURN_IF_ERROR(conn->Exec(
        "INSERT OR IGNORE INTO kohakuvault_meta (key, value) "
        "VALUES ('schema_version', '2')"));
    AMBERVAULT_RETURN_IF_ERROR(txn.Commit());
  }
  AMBERVAULT_ASSIGN_OR_RETURN(
      std::string version,
      conn->QueryText("SELECT value FROM kohakuvault_meta WHERE key = "
                      "'schema_version'"));
  if (!version.empty() && version != std::to_string(kSchemaVersion)) {
    return Status::NotSupported(
        "the file's column schema_version is " + version +
        "; this version of AmberVault reads version 2 (KohakuVault 0.6 to "
        "0.9). Files of KohakuVault 1.0+ keep columns in other tables.");
  }
  return Status::OK();
}

}  // namespace

// ------------------------------------------------------------ VaultState

VaultState::~VaultState() {  // never in a forked child (see DeleteVaultState)
  {
    std::lock_guard<std::mutex> f(flusher_mu);
    StopFlusher();
  }
  lease_reaper.Stop();
  std::lock_guard<std::mutex> l(mu);
  if (conn != nullptr) {
    Result<size_t> r = FlushAllLocked();
    if (!r.ok()) {
      std::fprintf(stderr, "ambervault: ColumnVault closed without writing "
                           "its cache: %s\n", r.status().ToString().c_str());
    }
  }
  conn.reset();
}

bool VaultState::InForkedChild() const {
  return sqlite::ForkGeneration() != generation;
}

Status VaultState::ForkedChildError() {
  return Status::NotSupported(
      "this ColumnVault was opened in another process (before fork()); open "
      "a new ColumnVault in this process");
}

Status VaultState::CheckUsableLocked() const {
  if (InForkedChild()) return ForkedChildError();
  if (conn == nullptr) return Status::Closed("ColumnVault is closed");
  return Status::OK();
}

ColumnState* VaultState::FindLocked(int64_t col_id, uint64_t serial) {
  auto it = columns.find(col_id);
  if (it == columns.end() || it->second.serial != serial) return nullptr;
  return &it->second;
}

Result<ColumnState*> VaultState::StateLocked(int64_t col_id, uint64_t serial) {
  ColumnState* c = FindLocked(col_id, serial);
  if (c == nullptr) return Status::NotFound("the column was deleted");
  return c;
}

Result<std::optional<Transaction>> VaultState::BeginReadLocked(bool* cached) {
  *cached = false;
  const bool was_active = conn->read_lease_active();
  Status s = conn->BeginReadLease();
  if (!s.ok()) {
    conn->EndReadLease();
    return s;
  }
  if (conn->read_lease_active()) {
    *cached = true;
    if (!was_active) lease_reaper.LeaseBeganLocked();
    return std::optional<Transaction>();
  }
  if (conn->in_transaction()) return std::optional<Transaction>();
  AMBERVAULT_ASSIGN_OR_RETURN(
      Transaction txn, Transaction::Begin(conn.get(), Transaction::Mode::kDeferred));
  return std::optional<Transaction>(std::move(txn));
}

Result<int64_t> VaultState::StoredLengthLocked(const ColumnState& c) {
  const bool cached = conn->read_lease_active();
  if (cached) {
    auto it = lease_lengths.find(c.length_col());
    if (it != lease_lengths.end()) return it->second;
  }
  AMBERVAULT_ASSIGN_OR_RETURN(
      Statement * st,
      conn->Prepare("SELECT length, name, dtype FROM col_meta WHERE col_id = ?1"));
  StatementUse use(st);
  AMBERVAULT_RETURN_IF_ERROR(st->BindInt64(1, c.length_col()));
  AMBERVAULT_ASSIGN_OR_RETURN(bool row, st->Step());
  // The row must still be this column's: a column deleted elsewhere may
  // have left its id to a new one (KohakuVault reuses ids).
  if (!row || st->ColumnBlob(1) != (c.var_size() ? column::IdxName(c.name) : c.name) ||
      (!c.var_size() && st->ColumnBlob(2) != c.dtype)) {
    return Status::NotFound("column '" + c.name + "' was deleted");
  }
  const int64_t n = st->ColumnInt64(0);
  // A length whose bytes would not fit in an int64 (with room for the
  // arithmetic on it) can only come from a damaged file.
  const int64_t unit = c.var_size() ? column::kIndexEntryBytes : static_cast<int64_t>(c.elem_size);
  if (n < 0 || n > INT64_MAX / unit / 4) {
    return Status::Corruption("column '" + c.name + "' has an impossible length (" +
                              std::to_string(n) + ")");
  }
  if (cached) lease_lengths[c.length_col()] = n;
  return n;
}

Status VaultState::SetStoredLengthLocked(const ColumnState& c, int64_t length) {
  AMBERVAULT_ASSIGN_OR_RETURN(
      Statement * st,
      conn->Prepare("UPDATE col_meta SET length = ?1 WHERE col_id = ?2"));
  StatementUse use(st);
  AMBERVAULT_RETURN_IF_ERROR(st->BindInt64(1, length));
  AMBERVAULT_RETURN_IF_ERROR(st->BindInt64(2, c.length_col()));
  AMBERVAULT_RETURN_IF_ERROR(st->Exec());
  if (conn->changes() != 1) {
    return Status::NotFound("column '" + c.name + "' was deleted");
  }
  return Status::OK();
}

Result<size_t> VaultState::FlushLocked(ColumnState* c) {
  size_t bytes = 0;
  if (!c->cache.empty()) {
    AMBERVAULT_RETURN_IF_ERROR(AppendLocked(c, c->cache.data, c->cache.ends));
    bytes = c->cache.bytes();
    c->cache.Clear();
  }
  if (c->cache.draining) c->cache.enabled = c->cache.draining = false;
  return bytes;
}

Result<size_t> VaultState::FlushAllLocked() {
  size_t total = 0;
  for (auto& [id, c] : columns) {
    AMBERVAULT_ASSIGN_OR_RETURN(size_t n, FlushLocked(&c));
    total += n;
  }
  return total;
}

void VaultState::StartFlusher(double interval_seconds) {
  {
    std::lock_guard<std::mutex> l(mu);
    flusher_stop = false;
  }
  flusher = std::thread([this, interval_seconds] { FlusherLoop(interval_seconds); });
}

void VaultState::StopFlusher() {
  if (!flusher.joinable()) return;
  {
    std::lock_guard<std::mutex> l(mu);
    flusher_stop = true;
  }
  flusher_cv.notify_all();
  flusher.join();
}

void VaultState::FlusherLoop(double interval_seconds) {
  using Clock = std::chrono::steady_clock;
  const auto interval = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(interval_seconds));
  const auto tick = std::clamp<Clock::duration>(
      interval / 4, std::chrono::milliseconds(5), std::chrono::milliseconds(500));
  std::unique_lock<std::mutex> l(mu);
  while (!flusher_stop) {
    flusher_cv.wait_for(l, tick);
    if (flusher_stop || conn == nullptr) break;
    if (cache_locks.load() > 0) continue;
    const auto now = Clock::now();
    for (auto& [id, c] : columns) {
      if (c.cache.empty() || now - c.cache.oldest < interval) continue;
      // A failed flush keeps the data; the next tick (or an explicit
      // flush, which reports the error) tries again.
      (void)FlushLocked(&c);
    }
  }
}

}  // namespace column

// ------------------------------------------------------------ ColumnVault

ColumnVault::ColumnVault(std::shared_ptr<VaultState> state)
    : state_(std::move(state)) {}

ColumnVault::~ColumnVault() = default;  // VaultState flushes and closes

namespace {

// Frees a vault's state when its last handle goes, except in a forked
// child, which leaks it: there the parent's threads do not exist (joining
// them, or destroying a condition variable they wait on, would wait
// forever), the parent may have held its mutexes at the fork, and closing
// the connection could checkpoint or delete the parent's WAL.
void DeleteVaultState(VaultState* v) {
  if (v->InForkedChild()) return;
  delete v;
}

}  // namespace

Result<std::unique_ptr<ColumnVault>> ColumnVault::Open(
    const std::string& path, const ColumnVaultOptions& options) {
  AMBERVAULT_RETURN_IF_ERROR(
      column::AlignChunkSizes(1, options.min_chunk_bytes, options.max_chunk_bytes)
          .status());
  std::shared_ptr<VaultState> state(new VaultState, DeleteVaultState);
  state->path = path;
  state->options = options;
  state->generation = sqlite::ForkGeneration();
  AMBERVAULT_ASSIGN_OR_RETURN(state->conn,
                              sqlite::Connection::Open(path, options.open));
  VaultState* v = state.get();
  v->lease_blobs = std::make_unique<column::BlobPool>(v->conn.get());
  v->conn->set_lease_end_hook([v] {
    v->lease_blobs->Clear();
    v->lease_rows.clear();
    v->lease_lengths.clear();
  });
  Status s = sqlite::RetryOnBusy(options.retry, [v] {
    std::lock_guard<std::mutex> l(v->mu);
    return column::InitSchema(v->conn.get(), v->options.open.read_only);
  });
  if (!s.ok()) return s.WithContext("cannot open '" + path + "'");
  return std::unique_ptr<ColumnVault>(new ColumnVault(std::move(state)));
}

namespace {

// Loads the state of the column named `name` (logical name) into the
// vault, or NotFound.
Result<Column> LoadColumnLocked(const std::shared_ptr<VaultState>& v,
                                std::string_view name) {
  sqlite::Connection* conn = v->conn.get();
  ColumnState c;
  c.name = std::string(name);
  AMBERVAULT_ASSIGN_OR_RETURN(auto data, column::FindRow(conn, column::DataName(name)));
  AMBERVAULT_ASSIGN_OR_RETURN(auto idx, column::FindRow(conn, column::IdxName(name)));
  if (data && idx && idx->dtype == column::kIndexDtype) {
    if (idx->elem_size != column::kIndexEntryBytes) {
      return Status::Corruption("column '" + c.name + "' has a bad index row");
    }
    c.col_id = data->col_id;
    c.idx_col_id = idx->col_id;
    c.dtype = data->dtype;
    c.elem_size = 0;
    AMBERVAULT_ASSIGN_OR_RETURN(c.sizes, column::StoredSizes(*data, name));
    AMBERVAULT_ASSIGN_OR_RETURN(c.idx_sizes, column::StoredSizes(*idx, name));
  } else {
    AMBERVAULT_ASSIGN_OR_RETURN(auto row, column::FindRow(conn, name));
    bool internal = false;
    if (row) {
      AMBERVAULT_ASSIGN_OR_RETURN(internal, column::IsInternalRow(conn, name, *row));
    }
    if (!row || internal) {
      return Status::NotFound("no column named '" + c.name + "'");
    }
    Result<DataPacker> packer = DataPacker::Create(row->dtype);
    if (packer.ok() && packer->is_varsize()) {
      return Status::Corruption("column '" + c.name + "' has variable-size dtype '" +
                                row->dtype + "' but no index");
    }
    if (row->elem_size < 1 ||
        (packer.ok() && packer->elem_size() != static_cast<size_t>(row->elem_size))) {
      return Status::Corruption("column '" + c.name + "' has element size " +
                                std::to_string(row->elem_size) + " for dtype '" +
                                row->dtype + "'");
    }
    c.col_id = row->col_id;
    c.dtype = row->dtype;
    c.elem_size = static_cast<size_t>(row->elem_size);
    AMBERVAULT_ASSIGN_OR_RETURN(c.sizes, column::StoredSizes(*row, name));
    if (c.sizes.max % row->elem_size != 0) {
      return Status::Corruption("column '" + c.name +
                                "' has a chunk size that is not a multiple of "
                                "its element size");
    }
  }
  auto [it, inserted] = v->columns.try_emplace(c.col_id);
  const ColumnState& known = it->second;
  if (!inserted && (known.name != c.name || known.dtype != c.dtype ||
                    known.elem_size != c.elem_size || known.idx_col_id != c.idx_col_id)) {
    inserted = true;  // the id now belongs to another column
  }
  if (inserted) {
    // A replaced column's pending appends go with it: its rows are gone
    // from the file, so they have nowhere to be written (its handles get
    // NotFound, as after DeleteColumn).
    c.serial = ++v->last_serial;
    it->second = std::move(c);
    if (v->vault_cache) {
      it->second.cache.enabled = true;
      it->second.cache.options = *v->vault_cache;
    }
  }
  const ColumnState& s = it->second;
  return Column(v, s.col_id, s.serial, s.name, s.dtype, s.elem_size);
}

// A damaged length must not overflow when pending appends are added.
int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t out;
  return __builtin_add_overflow(a, b, &out) ? (a < 0 ? INT64_MIN : INT64_MAX) : out;
}

Status CheckName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("column name must not be empty");
  if (name.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("column name must not contain NUL");
  }
  return Status::OK();
}

}  // namespace

Result<Column> ColumnVault::CreateColumn(std::string_view name,
                                         std::string_view dtype) {
  AMBERVAULT_RETURN_IF_ERROR(CheckName(name));
  AMBERVAULT_ASSIGN_OR_RETURN(DataPacker packer, DataPacker::Create(dtype));
  const int64_t elem = static_cast<int64_t>(packer.elem_size());
  AMBERVAULT_ASSIGN_OR_RETURN(
      column::ChunkSizes sizes,
      column::AlignChunkSizes(elem == 0 ? 1 : elem, state_->options.min_chunk_bytes,
                              state_->options.max_chunk_bytes));
  const std::shared_ptr<VaultState>& v = state_;
  return column::Locked(v.get(), [&]() -> Result<Column> {
    sqlite::Connection* conn = v->conn.get();
    AMBERVAULT_ASSIGN_OR_RETURN(
        Transaction txn, Transaction::Begin(conn, Transaction::Mode::kImmediate));
    for (const std::string& taken :
         {std::string(name), column::DataName(name), column::IdxName(name)}) {
      AMBERVAULT_ASSIGN_OR_RETURN(auto row, column::FindRow(conn, taken));
      if (row) {
        return Status::InvalidArgument("column name '" + std::string(name) +
                                       "' is already in use ('" + taken +
                                       "' exists)");
      }
    }
    if (elem > 0) {
      AMBERVAULT_RETURN_IF_ERROR(
          column::InsertRow(conn, name, dtype, elem, sizes).status());
    } else {
      AMBERVAULT_RETURN_IF_ERROR(
          column::InsertRow(conn, column::DataName(name), dtype, 1, sizes).status());
      AMBERVAULT_ASSIGN_OR_RETURN(
          column::ChunkSizes idx_sizes,
          column::AlignChunkSizes(column::kIndexEntryBytes,
                                  v->options.min_chunk_bytes,
                                  v->options.max_chunk_bytes));
      AMBERVAULT_RETURN_IF_ERROR(column::InsertRow(conn, column::IdxName(name),
                                                   column::kIndexDtype,
                                                   column::kIndexEntryBytes, idx_sizes)
                                     .status());
    }
    AMBERVAULT_RETURN_IF_ERROR(txn.Commit());
    return LoadColumnLocked(v, name);
  });
}

Result<Column> ColumnVault::GetColumn(std::string_view name) {
  const std::shared_ptr<VaultState>& v = state_;
  return column::Locked(v.get(), [&]() -> Result<Column> {
    AMBERVAULT_ASSIGN_OR_RETURN(
        Transaction txn, Transaction::Begin(v->conn.get(), Transaction::Mode::kDeferred));
    AMBERVAULT_ASSIGN_OR_RETURN(Column c, LoadColumnLocked(v, name));
    AMBERVAULT_RETURN_IF_ERROR(txn.Commit());
    return c;
  });
}

Result<Column> ColumnVault::Ensure(std::string_view name, std::string_view dtype) {
  for (int attempt = 0;; ++attempt) {
    Result<Column> got = GetColumn(name);
    if (got.ok()) {
      AMBERVAULT_ASSIGN_OR_RETURN(DataPacker want, DataPacker::Create(dtype));
      Result<DataPacker> have = DataPacker::Create(got->dtype());
      if (!have.ok() || have->ToString() != want.ToString()) {
        return Status::InvalidArgument("column '" + std::string(name) +
                                       "' exists with dtype '" + got->dtype() +
                                       "', not '" + std::string(dtype) + "'");
      }
      return got;
    }
    if (!got.status().IsNotFound()) return got.status();
    Result<Column> made = CreateColumn(name, dtype);
    // Another writer may have created it in between: look again, once.
    if (made.ok() || attempt > 0 ||
        made.status().code() != Status::Code::kInvalidArgument) {
      return made;
    }
  }
}

Result<std::vector<ColumnInfo>> ColumnVault::ListColumns() {
  VaultState* v = state_.get();
  return column::Locked(v, [&]() -> Result<std::vector<ColumnInfo>> {
    AMBERVAULT_ASSIGN_OR_RETURN(
        Statement * st,
        v->conn->Prepare("SELECT name, dtype, elem_size, length FROM col_meta "
                         "ORDER BY col_id"));
    StatementUse use(st);
    struct Row {
      std::string name, dtype;
      int64_t elem_size, length;
    };
    std::vector<Row> rows;
    std::map<std::string, size_t> by_name;
    for (;;) {
      AMBERVAULT_ASSIGN_OR_RETURN(bool more, st->Step());
      if (!more) break;
      auto n = st->ColumnBlob(0);
      auto d = st->ColumnBlob(1);
      rows.push_back(Row{std::string(n), std::string(d), st->ColumnInt64(2),
                         st->ColumnInt64(3)});
      by_name[rows.back().name] = rows.size() - 1;
    }
    auto ends_with = [](const std::string& s, std::string_view suffix) {
      return s.size() > suffix.size() &&
             s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    std::vector<ColumnInfo> out;
    for (const Row& r : rows) {
      if (ends_with(r.name, "_idx") && r.dtype == column::kIndexDtype) {
        if (by_name.count(r.name.substr(0, r.name.size() - 4) + "_data")) continue;
      }
      if (ends_with(r.name, "_data")) {
        const std::string base = r.name.substr(0, r.name.size() - 5);
        auto idx = by_name.find(base + "_idx");
        if (idx != by_name.end() && rows[idx->second].dtype == column::kIndexDtype) {
          int64_t pending = 0;
          for (const auto& [id, c] : v->columns) {
            if (c.name == base && c.var_size()) pending = c.cache.count;
          }
          out.push_back(ColumnInfo{base, r.dtype, SaturatingAdd(rows[idx->second].length, pending), 0});
          continue;
        }
      }
      int64_t pending = 0;
      for (const auto& [id, c] : v->columns) {
        if (c.name == r.name && !c.var_size()) pending = c.cache.count;
      }
      out.push_back(ColumnInfo{r.name, r.dtype, SaturatingAdd(r.length, pending),
                               static_cast<size_t>(std::max<int64_t>(r.elem_size, 0))});
    }
    return out;
  });
}

Result<bool> ColumnVault::DeleteColumn(std::string_view name) {
  VaultState* v = state_.get();
  return column::Locked(v, [&]() -> Result<bool> {
    sqlite::Connection* conn = v->conn.get();
    AMBERVAULT_ASSIGN_OR_RETURN(
        Transaction txn, Transaction::Begin(conn, Transaction::Mode::kImmediate));
    std::vector<int64_t> ids;
    AMBERVAULT_ASSIGN_OR_RETURN(auto data, column::FindRow(conn, column::DataName(name)));
    AMBERVAULT_ASSIGN_OR_RETURN(auto idx, column::FindRow(conn, column::IdxName(name)));
    if (data && idx && idx->dtype == column::kIndexDtype) {
      ids = {data->col_id, idx->col_id};
    } else {
      AMBERVAULT_ASSIGN_OR_RETURN(auto row, column::FindRow(conn, name));
      if (!row) return false;
      AMBERVAULT_ASSIGN_OR_RETURN(bool internal, column::IsInternalRow(conn, name, *row));
      if (internal) return false;
      ids = {row->col_id};
    }
    for (int64_t id : ids) AMBERVAULT_RETURN_IF_ERROR(column::DeleteRow(conn, id));
    AMBERVAULT_RETURN_IF_ERROR(txn.Commit());
    v->columns.erase(ids[0]);
    return true;
  });
}

Status ColumnVault::EnableCache(const ColumnCacheOptions& options) {
  if (options.cap_bytes == 0 || options.flush_threshold == 0 ||
      options.flush_interval_seconds < 0) {
    return Status::InvalidArgument("cache sizes must be positive");
  }
  VaultState* v = state_.get();
  if (v->InForkedChild()) return VaultState::ForkedChildError();
  std::lock_guard<std::mutex> f(v->flusher_mu);
  v->StopFlusher();
  AMBERVAULT_RETURN_IF_ERROR(column::Locked(v, [&]() -> Status {
    v->vault_cache = options;
    for (auto& [id, c] : v->columns) {
      c.cache.enabled = true;
      c.cache.draining = false;
      c.cache.options = options;
    }
    return Status::OK();
  }));
  if (options.flush_interval_seconds > 0) v->StartFlusher(options.flush_interval_seconds);
  return Status::OK();
}

Status ColumnVault::DisableCache() {
  VaultState* v = state_.get();
  if (v->InForkedChild()) return VaultState::ForkedChildError();
  std::lock_guard<std::mutex> f(v->flusher_mu);
  v->StopFlusher();
  return column::Locked(v, [&]() -> Status {
    v->vault_cache.reset();
    Status first;
    for (auto& [id, c] : v->columns) {
      Status s = v->FlushLocked(&c).status();
      if (s.ok()) {
        c.cache.enabled = false;
        c.cache.draining = false;
      } else {
        c.cache.draining = c.cache.enabled;  // keep the data, cache nothing new
        if (first.ok()) first = s;
      }
    }
    return first;
  });
}

Result<size_t> ColumnVault::FlushCache() {
  VaultState* v = state_.get();
  return column::Locked(v, [&] { return v->FlushAllLocked(); });
}

void ColumnVault::LockCache() { state_->cache_locks.fetch_add(1); }
void ColumnVault::UnlockCache() {
  int n = state_->cache_locks.load();
  while (n > 0 && !state_->cache_locks.compare_exchange_weak(n, n - 1)) {
  }
}

Status ColumnVault::Checkpoint() {
  VaultState* v = state_.get();
  return column::Locked(v, [&]() -> Status {
    AMBERVAULT_RETURN_IF_ERROR(v->FlushAllLocked().status());
    return v->conn->Checkpoint();
  });
}

Status ColumnVault::Close() {
  VaultState* v = state_.get();
  if (v->InForkedChild()) return VaultState::ForkedChildError();
  {
    std::lock_guard<std::mutex> f(v->flusher_mu);
    v->StopFlusher();
  }
  v->lease_reaper.Stop();
  Status s = sqlite::RetryOnBusy(v->options.retry, [&]() -> Status {
    std::lock_guard<std::mutex> l(v->mu);
    if (v->conn == nullptr) return Status::OK();
    return v->FlushAllLocked().status();
  });
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> l(v->mu);
  v->conn.reset();
  v->columns.clear();
  return Status::OK();
}

bool ColumnVault::closed() const {
  std::lock_guard<std::mutex> l(state_->mu);
  return state_->conn == nullptr;
}

const std::string& ColumnVault::path() const { return state_->path; }

}  // namespace ambervault
