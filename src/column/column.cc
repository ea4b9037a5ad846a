// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// Column: element operations on one column. Every change is one
// transaction; every read runs in one snapshot.

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "ambervault/column_vault.h"
#include "column/locked.h"
#include "column/var_data.h"
#include "column/vault_state.h"
#include "sqlite/transaction.h"

namespace ambervault {

using column::BlobCursor;
using column::ChunkStore;
using column::ColumnState;
using column::IndexEntry;
using column::StrideArray;
using column::VarData;
using column::VaultState;
using sqlite::Transaction;

namespace column {

namespace {

constexpr int64_t kEntry = kIndexEntryBytes;

// Number of elements in packed input, checked against the column's layout.
Result<int64_t> CountElements(const ColumnState& c, std::string_view data,
                              std::span<const uint64_t> ends) {
  if (c.var_size()) {
    AMBERVAULT_RETURN_IF_ERROR(CheckEnds(data, ends));
    return static_cast<int64_t>(ends.size());
  }
  if (data.size() % c.elem_size != 0) {
    return Status::InvalidArgument(
        "column '" + c.name + "' takes elements of " +
        std::to_string(c.elem_size) + " bytes; got " +
        std::to_string(data.size()) + " bytes");
  }
  return static_cast<int64_t>(data.size() / c.elem_size);
}

Status CheckRange(const ColumnState& c, int64_t start, int64_t count,
                  int64_t length) {
  if (start < 0 || count < 0 || start > length || count > length - start) {
    // (start + count may overflow: print both.)
    return Status::OutOfRange(std::to_string(count) + " elements at " +
                              std::to_string(start) + " are outside column '" +
                              c.name + "' of length " + std::to_string(length));
  }
  return Status::OK();
}

Status WriteEntries(sqlite::Connection* conn, const ColumnState& c,
                    int64_t start, std::span<const IndexEntry> entries) {
  std::string raw(entries.size() * kEntry, '\0');
  for (size_t i = 0; i < entries.size(); ++i) {
    EncodeEntry(entries[i], raw.data() + i * kEntry);
  }
  ChunkStore store(conn, c.idx_col_id);
  return StrideArray(&store, c.idx_sizes).Write(start * kEntry, raw);
}

// Where a read gets chunk rows and bytes: the lease caches, or a plain
// cursor for this call.
struct ReadSource {
  ReadSource(VaultState* v, bool cached)
      : conn(v->conn.get()),
        rows(cached ? &v->lease_rows : nullptr),
        cursor(conn, /*writable=*/false),
        blobs(cached ? static_cast<BlobSource*>(v->lease_blobs.get()) : &cursor) {}
  sqlite::Connection* conn;
  ChunkRowCache* rows;
  BlobCursor cursor;
  BlobSource* blobs;
};

// Reads the index entries [start, start + count) of a var-size column.
Status ReadEntries(ReadSource* src, const ColumnState& c, int64_t start,
                   int64_t count, std::vector<IndexEntry>* out) {
  if (start > INT64_MAX / kEntry - count) {
    return Status::Corruption("column '" + c.name + "': length out of range");
  }
  ChunkStore store(src->conn, c.idx_col_id, src->rows);
  StrideArray array(&store, c.idx_sizes);
  AMBERVAULT_RETURN_IF_ERROR(array.CheckBacked(start * kEntry, count * kEntry));
  std::string raw(static_cast<size_t>(count * kEntry), '\0');
  AMBERVAULT_RETURN_IF_ERROR(array.Read(start * kEntry, count * kEntry,
                                        raw.data(), src->blobs));
  out->resize(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    (*out)[static_cast<size_t>(i)] = DecodeEntry(raw.data() + i * kEntry);
  }
  return Status::OK();
}

// Reads stored elements [start, start + count) (all on disk).
Status ReadStored(ReadSource* src, const ColumnState& c, int64_t start,
                  int64_t count, std::string* data,
                  std::vector<uint64_t>* ends) {
  if (count == 0) return Status::OK();
  if (!c.var_size()) {
    const int64_t e = static_cast<int64_t>(c.elem_size);
    if (start > INT64_MAX / e - count) {
      return Status::Corruption("column '" + c.name + "': length out of range");
    }
    ChunkStore store(src->conn, c.col_id, src->rows);
    StrideArray array(&store, c.sizes);
    AMBERVAULT_RETURN_IF_ERROR(array.CheckBacked(start * e, count * e));
    const size_t base = data->size();
    data->resize(base + static_cast<size_t>(count * e));
    return array.Read(start * e, count * e, data->data() + base, src->blobs);
  }
  std::vector<IndexEntry> entries;
  AMBERVAULT_RETURN_IF_ERROR(ReadEntries(src, c, start, count, &entries));
  ChunkStore store(src->conn, c.col_id, src->rows);
  std::vector<uint64_t> local;
  return VarData(&store, c.sizes)
      .Gather(entries, data, ends != nullptr ? ends : &local, src->blobs);
}

}  // namespace

Status VaultState::AppendLocked(ColumnState* c, std::string_view data,
                                std::span<const uint64_t> ends) {
  AMBERVAULT_ASSIGN_OR_RETURN(int64_t n, CountElements(*c, data, ends));
  if (n == 0) return Status::OK();
  AMBERVAULT_ASSIGN_OR_RETURN(
      Transaction txn, Transaction::Begin(conn.get(), Transaction::Mode::kImmediate));
  AMBERVAULT_ASSIGN_OR_RETURN(int64_t length, StoredLengthLocked(*c));
  if (!c->var_size()) {
    ChunkStore store(conn.get(), c->col_id);
    AMBERVAULT_RETURN_IF_ERROR(StrideArray(&store, c->sizes)
                                   .Write(length * static_cast<int64_t>(c->elem_size), data));
  } else {
    ChunkStore store(conn.get(), c->col_id);
    std::vector<IndexEntry> entries;
    entries.reserve(static_cast<size_t>(n));
    AMBERVAULT_RETURN_IF_ERROR(VarData(&store, c->sizes).Place(data, ends, &entries));
    AMBERVAULT_RETURN_IF_ERROR(WriteEntries(conn.get(), *c, length, entries));
  }
  AMBERVAULT_RETURN_IF_ERROR(SetStoredLengthLocked(*c, length + n));
  return txn.Commit();
}

}  // namespace column

// ------------------------------------------------------------ Column

Column::Column(std::shared_ptr<column::VaultState> vault, int64_t col_id,
               uint64_t serial, std::string name, std::string dtype, size_t elem_size)
    : vault_(std::move(vault)),
      col_id_(col_id),
      serial_(serial),
      name_(std::move(name)),
      dtype_(std::move(dtype)),
      elem_size_(elem_size) {}

namespace {

// Runs fn(state, connection) under the vault lock with retries.
template <typename Fn>
auto WithColumn(VaultState* v, int64_t col_id, uint64_t serial, Fn&& fn) {
  using Out = decltype(fn(static_cast<ColumnState*>(nullptr)));
  return column::Locked(v, [&]() -> Out {
    AMBERVAULT_ASSIGN_OR_RETURN(ColumnState * c, v->StateLocked(col_id, serial));
    return fn(c);
  });
}

// Begins the snapshot a multi-statement read runs in.
#define AMBERVAULT_BEGIN_READ(v, txn, cached)                       \
  bool cached = false;                                              \
  AMBERVAULT_ASSIGN_OR_RETURN(std::optional<Transaction> txn,       \
                              (v)->BeginReadLocked(&cached))
// Ends it (a no-op inside the lease).
Status EndRead(std::optional<Transaction>* txn) {
  return *txn ? (*txn)->Commit() : Status::OK();
}

}  // namespace

Result<int64_t> Column::Length() const {
  VaultState* v = vault_.get();
  return WithColumn(v, col_id_, serial_, [&](ColumnState* c) -> Result<int64_t> {
    AMBERVAULT_BEGIN_READ(v, txn, cached);
    (void)cached;
    AMBERVAULT_ASSIGN_OR_RETURN(int64_t n, v->StoredLengthLocked(*c));
    AMBERVAULT_RETURN_IF_ERROR(EndRead(&txn));
    return n + c->cache.count;
  });
}

Status Column::Read(int64_t start, int64_t count, std::string* data,
                    std::vector<uint64_t>* ends) const {
  VaultState* v = vault_.get();
  return WithColumn(v, col_id_, serial_, [&](ColumnState* c) -> Status {
    data->clear();
    if (ends != nullptr) ends->clear();
    AMBERVAULT_BEGIN_READ(v, txn, cached);
    AMBERVAULT_ASSIGN_OR_RETURN(int64_t stored, v->StoredLengthLocked(*c));
    AMBERVAULT_RETURN_IF_ERROR(
        column::CheckRange(*c, start, count, stored + c->cache.count));
    const int64_t on_disk = std::clamp<int64_t>(stored - start, 0, count);
    column::ReadSource src(v, cached);
    AMBERVAULT_RETURN_IF_ERROR(
        column::ReadStored(&src, *c, start, on_disk, data, ends));
    AMBERVAULT_RETURN_IF_ERROR(EndRead(&txn));
    // The rest comes from pending appends.
    const int64_t first = std::max<int64_t>(start - stored, 0);
    const int64_t rest = count - on_disk;
    if (rest > 0) {
      const auto& p = c->cache;
      if (!c->var_size()) {
        const size_t e = c->elem_size;
        data->append(p.data, static_cast<size_t>(first) * e,
                     static_cast<size_t>(rest) * e);
      } else {
        const uint64_t from = first == 0 ? 0 : p.ends[static_cast<size_t>(first - 1)];
        const uint64_t to = p.ends[static_cast<size_t>(first + rest - 1)];
        const uint64_t base = data->size();
        data->append(p.data, from, to - from);
        if (ends != nullptr) {
          for (int64_t i = first; i < first + rest; ++i) {
            ends->push_back(base + p.ends[static_cast<size_t>(i)] - from);
          }
        }
      }
    }
    return Status::OK();
  });
}

Status Column::ReadInto(int64_t start, int64_t count, char* dst) const {
  if (is_var_size()) {
    return Status::InvalidArgument("ReadInto needs a fixed-size column");
  }
  std::string data;
  // Reading straight into dst when nothing is pending saves a copy.
  VaultState* v = vault_.get();
  bool done = false;
  AMBERVAULT_RETURN_IF_ERROR(WithColumn(v, col_id_, serial_, [&](ColumnState* c) -> Status {
    if (!c->cache.empty()) return Status::OK();
    AMBERVAULT_BEGIN_READ(v, txn, cached);
    AMBERVAULT_ASSIGN_OR_RETURN(int64_t stored, v->StoredLengthLocked(*c));
    AMBERVAULT_RETURN_IF_ERROR(column::CheckRange(*c, start, count, stored));
    if (count > 0) {
      const int64_t e = static_cast<int64_t>(c->elem_size);
      column::ReadSource src(v, cached);
      ChunkStore store(src.conn, c->col_id, src.rows);
      AMBERVAULT_RETURN_IF_ERROR(
          StrideArray(&store, c->sizes).Read(start * e, count * e, dst, src.blobs));
    }
    done = true;
    return EndRead(&txn);
  }));
  if (done) return Status::OK();
  AMBERVAULT_RETURN_IF_ERROR(Read(start, count, &data, nullptr));
  std::memcpy(dst, data.data(), data.size());
  return Status::OK();
}

Status Column::Append(std::string_view element) {
  const uint64_t end = element.size();
  return AppendMany(element, is_var_size() ? std::span<const uint64_t>(&end, 1)
                                           : std::span<const uint64_t>());
}

Status Column::AppendMany(std::string_view data, std::span<const uint64_t> ends) {
  VaultState* v = vault_.get();
  return WithColumn(v, col_id_, serial_, [&](ColumnState* c) -> Status {
    AMBERVAULT_ASSIGN_OR_RETURN(int64_t n, column::CountElements(*c, data, ends));
    if (n == 0) return Status::OK();
    auto& p = c->cache;
    if (v->options.open.read_only) {
      // Refused now rather than cached and refused at the flush.
      return Status::ReadOnly("the ColumnVault was opened read-only");
    }
    if (!p.enabled) return v->AppendLocked(c, data, ends);
    const size_t after = p.bytes() + data.size();
    if (p.draining || after >= p.options.flush_threshold || after > p.options.cap_bytes) {
      // Pending and new elements go to the file in one transaction; if it
      // fails, neither is lost and the new ones are not half-accepted.
      if (p.empty()) {
        AMBERVAULT_RETURN_IF_ERROR(v->AppendLocked(c, data, ends));
      } else {
        std::string all = p.data;
        all.append(data);
        std::vector<uint64_t> all_ends = p.ends;
        if (c->var_size()) {
          for (uint64_t e : ends) all_ends.push_back(p.bytes() + e);
        }
        AMBERVAULT_RETURN_IF_ERROR(v->AppendLocked(c, all, all_ends));
        p.Clear();
      }
      if (p.draining) p.enabled = p.draining = false;
      return Status::OK();
    }
    if (p.empty()) p.oldest = std::chrono::steady_clock::now();
    const uint64_t base = p.bytes();
    p.data.append(data);
    if (c->var_size()) {
      for (uint64_t e : ends) p.ends.push_back(base + e);
    }
    p.count += n;
    return Status::OK();
  });
}

bool Column::TryAppendToCache(std::string_view data, std::span<const uint64_t> ends) {
  VaultState* v = vault_.get();
  if (v->InForkedChild()) return false;
  std::unique_lock<std::mutex> l(v->mu, std::try_to_lock);
  if (!l.owns_lock() || v->conn == nullptr) return false;
  ColumnState* c = v->FindLocked(col_id_, serial_);
  if (c == nullptr) return false;
  auto& p = c->cache;
  if (!p.enabled || p.draining || v->options.open.read_only) return false;
  const size_t after = p.bytes() + data.size();
  if (after >= p.options.flush_threshold || after > p.options.cap_bytes) return false;
  Result<int64_t> n = column::CountElements(*c, data, ends);
  if (!n.ok() || *n == 0) return false;
  if (p.empty()) p.oldest = std::chrono::steady_clock::now();
  const uint64_t base = p.bytes();
  p.data.append(data);
  if (c->var_size()) {
    for (uint64_t e : ends) p.ends.push_back(base + e);
  }
  p.count += *n;
  return true;
}

Status Column::Write(int64_t start, std::string_view data,
                     std::span<const uint64_t> ends) {
  VaultState* v = vault_.get();
  return WithColumn(v, col_id_, serial_, [&](ColumnState* c) -> Status {
    AMBERVAULT_ASSIGN_OR_RETURN(int64_t n, column::CountElements(*c, data, ends));
    AMBERVAULT_RETURN_IF_ERROR(v->FlushLocked(c).status());
    if (n == 0) return Status::OK();
    sqlite::Connection* conn = v->conn.get();
    AMBERVAULT_ASSIGN_OR_RETURN(
        Transaction txn, Transaction::Begin(conn, Transaction::Mode::kImmediate));
    AMBERVAULT_ASSIGN_OR_RETURN(int64_t length, v->StoredLengthLocked(*c));
    AMBERVAULT_RETURN_IF_ERROR(column::CheckRange(*c, start, n, length));
    ChunkStore store(conn, c->col_id);
    if (!c->var_size()) {
      AMBERVAULT_RETURN_IF_ERROR(StrideArray(&store, c->sizes)
                                     .Write(start * static_cast<int64_t>(c->elem_size), data));
      return txn.Commit();
    }
    std::vector<IndexEntry> entries;
    {
      column::ReadSource src(v, /*cached=*/false);
      AMBERVAULT_RETURN_IF_ERROR(column::ReadEntries(&src, *c, start, n, &entries));
    }
    VarData var(&store, c->sizes);
    // Elements that fit in their old place are overwritten there; the
    // others are placed like appends and their entries repointed.
    std::string grown;
    std::vector<uint64_t> grown_ends;
    std::vector<size_t> grown_at;
    uint64_t prev = 0;
    for (size_t i = 0; i < ends.size(); ++i) {
      const std::string_view elem = data.substr(prev, ends[i] - prev);
      prev = ends[i];
      IndexEntry& e = entries[i];
      if (static_cast<int64_t>(elem.size()) <= e.size()) {
        AMBERVAULT_RETURN_IF_ERROR(var.Overwrite(e, elem));
        e.end = e.start + static_cast<int64_t>(elem.size());
      } else {
        grown.append(elem);
        grown_ends.push_back(grown.size());
        grown_at.push_back(i);
      }
    }
    if (!grown_at.empty()) {
      std::vector<IndexEntry> placed;
      AMBERVAULT_RETURN_IF_ERROR(var.Place(grown, grown_ends, &placed));
      for (size_t k = 0; k < grown_at.size(); ++k) entries[grown_at[k]] = placed[k];
    }
    AMBERVAULT_RETURN_IF_ERROR(column::WriteEntries(conn, *c, start, entries));
    return txn.Commit();
  });
}

Status Column::Insert(int64_t index, std::string_view element) {
  VaultState* v = vault_.get();
  return WithColumn(v, col_id_, serial_, [&](ColumnState* c) -> Status {
    const uint64_t end = element.size();
    std::span<const uint64_t> ends =
        c->var_size() ? std::span<const uint64_t>(&end, 1) : std::span<const uint64_t>();
    AMBERVAULT_ASSIGN_OR_RETURN(int64_t n, column::CountElements(*c, element, ends));
    if (n != 1) return Status::InvalidArgument("Insert takes exactly one element");
    AMBERVAULT_RETURN_IF_ERROR(v->FlushLocked(c).status());
    sqlite::Connection* conn = v->conn.get();
    AMBERVAULT_ASSIGN_OR_RETURN(
        Transaction txn, Transaction::Begin(conn, Transaction::Mode::kImmediate));
    AMBERVAULT_ASSIGN_OR_RETURN(int64_t length, v->StoredLengthLocked(*c));
    AMBERVAULT_RETURN_IF_ERROR(column::CheckRange(*c, index, 0, length));
    if (!c->var_size()) {
      const int64_t e = static_cast<int64_t>(c->elem_size);
      ChunkStore store(conn, c->col_id);
      StrideArray array(&store, c->sizes);
      AMBERVAULT_RETURN_IF_ERROR(array.Move(index * e, (index + 1) * e, (length - index) * e));
      AMBERVAULT_RETURN_IF_ERROR(array.Write(index * e, element));
    } else {
      ChunkStore store(conn, c->col_id);
      std::vector<IndexEntry> placed;
      AMBERVAULT_RETURN_IF_ERROR(VarData(&store, c->sizes).Place(element, ends, &placed));
      ChunkStore idx(conn, c->idx_col_id);
      AMBERVAULT_RETURN_IF_ERROR(StrideArray(&idx, c->idx_sizes)
                                     .Move(index * column::kIndexEntryBytes,
                                           (index + 1) * column::kIndexEntryBytes,
                                           (length - index) * column::kIndexEntryBytes));
      AMBERVAULT_RETURN_IF_ERROR(column::WriteEntries(conn, *c, index, placed));
    }
    AMBERVAULT_RETURN_IF_ERROR(v->SetStoredLengthLocked(*c, length + 1));
    return txn.Commit();
  });
}

Status Column::Delete(int64_t start, int64_t count) {
  VaultState* v = vault_.get();
  return WithColumn(v, col_id_, serial_, [&](ColumnState* c) -> Status {
    AMBERVAULT_RETURN_IF_ERROR(v->FlushLocked(c).status());
    sqlite::Connection* conn = v->conn.get();
    AMBERVAULT_ASSIGN_OR_RETURN(
        Transaction txn, Transaction::Begin(conn, Transaction::Mode::kImmediate));
    AMBERVAULT_ASSIGN_OR_RETURN(int64_t length, v->StoredLengthLocked(*c));
    AMBERVAULT_RETURN_IF_ERROR(column::CheckRange(*c, start, count, length));
    if (count == 0) return Status::OK();
    const int64_t e = c->var_size() ? column::kIndexEntryBytes
                                    : static_cast<int64_t>(c->elem_size);
    ChunkStore store(conn, c->var_size() ? c->idx_col_id : c->col_id);
    StrideArray array(&store, c->var_size() ? c->idx_sizes : c->sizes);
    AMBERVAULT_RETURN_IF_ERROR(
        array.Move((start + count) * e, start * e, (length - start - count) * e));
    const int64_t left = length - count;
    AMBERVAULT_RETURN_IF_ERROR(array.Truncate(left * e));
    if (c->var_size() && left == 0) {
      AMBERVAULT_RETURN_IF_ERROR(ChunkStore(conn, c->col_id).DeleteFrom(0));
    }
    AMBERVAULT_RETURN_IF_ERROR(v->SetStoredLengthLocked(*c, left));
    return txn.Commit();
  });
}

Status Column::Clear() {
  VaultState* v = vault_.get();
  return WithColumn(v, col_id_, serial_, [&](ColumnState* c) -> Status {
    sqlite::Connection* conn = v->conn.get();
    AMBERVAULT_ASSIGN_OR_RETURN(
        Transaction txn, Transaction::Begin(conn, Transaction::Mode::kImmediate));
    AMBERVAULT_RETURN_IF_ERROR(v->StoredLengthLocked(*c).status());
    AMBERVAULT_RETURN_IF_ERROR(ChunkStore(conn, c->col_id).DeleteFrom(0));
    if (c->var_size()) {
      AMBERVAULT_RETURN_IF_ERROR(ChunkStore(conn, c->idx_col_id).DeleteFrom(0));
    }
    AMBERVAULT_RETURN_IF_ERROR(v->SetStoredLengthLocked(*c, 0));
    AMBERVAULT_RETURN_IF_ERROR(txn.Commit());
    c->cache.Clear();
    return Status::OK();
  });
}

Status Column::EnableCache(const ColumnCacheOptions& options) {
  if (options.cap_bytes == 0 || options.flush_threshold == 0) {
    return Status::InvalidArgument("cache sizes must be positive");
  }
  VaultState* v = vault_.get();
  return WithColumn(v, col_id_, serial_, [&](ColumnState* c) -> Status {
    if (c->cache.bytes() >= options.flush_threshold ||
        c->cache.bytes() > options.cap_bytes) {
      AMBERVAULT_RETURN_IF_ERROR(v->FlushLocked(c).status());
    }
    c->cache.enabled = true;
    c->cache.draining = false;
    c->cache.options = options;
    return Status::OK();
  });
}

Status Column::DisableCache() {
  VaultState* v = vault_.get();
  return WithColumn(v, col_id_, serial_, [&](ColumnState* c) -> Status {
    Status s = v->FlushLocked(c).status();
    if (!s.ok()) {
      c->cache.draining = c->cache.enabled;  // keep the data, cache nothing new
      return s;
    }
    c->cache.enabled = false;
    c->cache.draining = false;
    return Status::OK();
  });
}

Result<size_t> Column::FlushCache() {
  VaultState* v = vault_.get();
  return WithColumn(v, col_id_, serial_, [&](ColumnState* c) { return v->FlushLocked(c); });
}

bool Column::cache_enabled() const {
  VaultState* v = vault_.get();
  std::lock_guard<std::mutex> l(v->mu);
  const ColumnState* c = v->FindLocked(col_id_, serial_);
  return c != nullptr && c->cache.enabled && !c->cache.draining;
}

std::optional<ColumnCacheOptions> Column::cache_options() const {
  VaultState* v = vault_.get();
  std::lock_guard<std::mutex> l(v->mu);
  const ColumnState* c = v->FindLocked(col_id_, serial_);
  if (c == nullptr || !c->cache.enabled || c->cache.draining) return std::nullopt;
  return c->cache.options;
}

Result<Column::Storage> Column::StorageInfo() const {
  VaultState* v = vault_.get();
  return WithColumn(v, col_id_, serial_, [&](ColumnState* c) -> Result<Storage> {
    sqlite::Connection* conn = v->conn.get();
    AMBERVAULT_BEGIN_READ(v, txn, cached);
    (void)cached;
    Storage s;
    int64_t used = 0;
    AMBERVAULT_RETURN_IF_ERROR(
        ChunkStore(conn, c->col_id).Totals(&s.chunks, &s.allocated_bytes, &used));
    if (c->var_size()) {
      int64_t chunks = 0, allocated = 0, unused = 0;
      AMBERVAULT_RETURN_IF_ERROR(
          ChunkStore(conn, c->idx_col_id).Totals(&chunks, &allocated, &unused));
      s.chunks += chunks;
      s.allocated_bytes += allocated;
      AMBERVAULT_ASSIGN_OR_RETURN(int64_t length, v->StoredLengthLocked(*c));
      __int128 live = 0;
      column::ReadSource src(v, /*cached=*/false);
      constexpr int64_t kBatch = 1 << 16;
      std::vector<IndexEntry> entries;
      for (int64_t at = 0; at < length; at += kBatch) {
        const int64_t n = std::min(kBatch, length - at);
        AMBERVAULT_RETURN_IF_ERROR(column::ReadEntries(&src, *c, at, n, &entries));
        for (const IndexEntry& e : entries) live += e.size();
      }
      const __int128 garbage = static_cast<__int128>(used) - live;
      s.garbage_bytes = garbage < 0 ? 0 : garbage > INT64_MAX ? INT64_MAX : static_cast<int64_t>(garbage);
    }
    AMBERVAULT_RETURN_IF_ERROR(EndRead(&txn));
    return s;
  });
}

Status Column::Compact() {
  if (!is_var_size()) return Status::OK();
  VaultState* v = vault_.get();
  return WithColumn(v, col_id_, serial_, [&](ColumnState* c) -> Status {
    AMBERVAULT_RETURN_IF_ERROR(v->FlushLocked(c).status());
    sqlite::Connection* conn = v->conn.get();
    AMBERVAULT_ASSIGN_OR_RETURN(
        Transaction txn, Transaction::Begin(conn, Transaction::Mode::kImmediate));
    AMBERVAULT_ASSIGN_OR_RETURN(int64_t length, v->StoredLengthLocked(*c));
    ChunkStore store(conn, c->col_id);
    AMBERVAULT_ASSIGN_OR_RETURN(auto last, store.Last());
    if (!last) return Status::OK();
    // Copy every live element into new chunks numbered past the old
    // ones, in batches, repointing the entries; then drop the old chunks.
    if (last->first < 0 || last->first >= INT32_MAX) {
      return Status::Corruption("column '" + c->name + "' has an impossible chunk number");
    }
    const int64_t first_new = last->first + 1;
    constexpr int64_t kBatch = 1 << 14;
    std::vector<IndexEntry> entries, placed;
    std::string data;
    std::vector<uint64_t> ends;
    for (int64_t at = 0; at < length; at += kBatch) {
      const int64_t n = std::min(kBatch, length - at);
      data.clear();
      ends.clear();
      {
        column::ReadSource src(v, /*cached=*/false);
        AMBERVAULT_RETURN_IF_ERROR(column::ReadEntries(&src, *c, at, n, &entries));
        AMBERVAULT_RETURN_IF_ERROR(
            VarData(&store, c->sizes).Gather(entries, &data, &ends, src.blobs));
      }
      placed.clear();
      AMBERVAULT_RETURN_IF_ERROR(VarData(&store, c->sizes)
                                     .Place(data, ends, &placed, /*new_chunk=*/at == 0));
      AMBERVAULT_RETURN_IF_ERROR(column::WriteEntries(conn, *c, at, placed));
    }
    AMBERVAULT_RETURN_IF_ERROR(store.DeleteBelow(first_new));
    return txn.Commit();
  });
}

}  // namespace ambervault
