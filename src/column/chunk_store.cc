// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.

#include "column/chunk_store.h"

#include <algorithm>
#include <climits>
#include <memory>
#include <string>
#include <vector>

#include "sqlite/sqlite_status.h"
#include "sqlite/statement.h"

namespace ambervault::column {

using sqlite::Statement;
using sqlite::StatementUse;

// The byte size of a chunk. KohakuVault grows chunks with `data ||
// zeroblob(n)`, which makes them TEXT, where length() counts characters up
// to the first NUL; blobs are measured without reading their content.
#define SIZE_OF_DATA                                                   \
  "(CASE WHEN typeof(data) = 'blob' THEN length(data) "               \
  "ELSE length(CAST(data AS BLOB)) END)"

namespace {
constexpr int64_t kMaxChunk = INT32_MAX;  // index entries hold int32 offsets
// Move() copies through a buffer of at most this many bytes.
constexpr int64_t kMoveBlock = 4 << 20;
}  // namespace

int64_t ChunkSizes::SizeFor(int64_t needed) const {
  if (needed > max) return needed;
  int64_t s = min;
  while (s < needed && s < max) s *= 2;
  return std::min(s, max);
}

Result<ChunkSizes> AlignChunkSizes(int64_t elem_size, int64_t min_bytes,
                                   int64_t max_bytes) {
  if (min_bytes < 1 || max_bytes < 1 || min_bytes > kMaxChunk ||
      max_bytes > kMaxChunk) {
    return Status::InvalidArgument(
        "chunk sizes must be between 1 and 2^31-1 bytes, got min=" +
        std::to_string(min_bytes) + " max=" + std::to_string(max_bytes));
  }
  if (min_bytes > max_bytes) {
    return Status::InvalidArgument(
        "min_chunk_bytes (" + std::to_string(min_bytes) +
        ") is larger than max_chunk_bytes (" + std::to_string(max_bytes) + ")");
  }
  if (elem_size <= 1) return ChunkSizes{min_bytes, max_bytes};
  if (elem_size > kMaxChunk) {
    return Status::InvalidArgument("element size too large for a chunk");
  }
  ChunkSizes s;
  s.max = std::max(elem_size, max_bytes / elem_size * elem_size);
  s.min = std::min(s.max, (min_bytes + elem_size - 1) / elem_size * elem_size);
  return s;
}

// ------------------------------------------------------------ BlobCursor

BlobCursor::~BlobCursor() { Close(); }

void BlobCursor::Close() {
  if (blob_ != nullptr) sqlite3_blob_close(blob_);
  blob_ = nullptr;
  rowid_ = -1;
}

Status BlobCursor::Seek(int64_t rowid) {
  if (blob_ != nullptr && rowid == rowid_) return Status::OK();
  int rc;
  if (blob_ != nullptr) {
    rc = sqlite3_blob_reopen(blob_, rowid);
  } else {
    rc = sqlite3_blob_open(conn_->db(), "main", "col_chunks", "data", rowid,
                           writable_ ? 1 : 0, &blob_);
  }
  if (rc != SQLITE_OK) {
    Close();
    return sqlite::FromSqlite(rc, conn_->db(), "open column chunk");
  }
  rowid_ = rowid;
  return Status::OK();
}

Status BlobCursor::Read(int64_t rowid, void* dst, int64_t n, int64_t offset) {
  if (n == 0) return Status::OK();
  AMBERVAULT_RETURN_IF_ERROR(Seek(rowid));
  if (offset < 0 || offset + n > sqlite3_blob_bytes(blob_)) {
    return Status::Corruption("column chunk is shorter than its index says");
  }
  int rc = sqlite3_blob_read(blob_, dst, static_cast<int>(n),
                             static_cast<int>(offset));
  if (rc != SQLITE_OK) {
    Close();
    return sqlite::FromSqlite(rc, conn_->db(), "read column chunk");
  }
  return Status::OK();
}

Status BlobCursor::Write(int64_t rowid, const void* src, int64_t n,
                         int64_t offset) {
  if (n == 0) return Status::OK();
  AMBERVAULT_RETURN_IF_ERROR(Seek(rowid));
  int rc = sqlite3_blob_write(blob_, src, static_cast<int>(n),
                              static_cast<int>(offset));
  if (rc != SQLITE_OK) {
    Close();
    return sqlite::FromSqlite(rc, conn_->db(), "write column chunk");
  }
  return Status::OK();
}

// ------------------------------------------------------------ BlobPool

Status BlobPool::Read(int64_t rowid, void* dst, int64_t n, int64_t offset) {
  if (n == 0) return Status::OK();
  auto it = handles_.find(rowid);
  if (it == handles_.end()) {
    if (handles_.size() >= kMaxHandles) Clear();
    sqlite3_blob* blob = nullptr;
    int rc = sqlite3_blob_open(conn_->db(), "main", "col_chunks", "data", rowid,
                               0, &blob);
    if (rc != SQLITE_OK) {
      sqlite3_blob_close(blob);
      return sqlite::FromSqlite(rc, conn_->db(), "open column chunk");
    }
    it = handles_.emplace(rowid, blob).first;
  }
  if (offset < 0 || offset + n > sqlite3_blob_bytes(it->second)) {
    return Status::Corruption("column chunk is shorter than its index says");
  }
  int rc = sqlite3_blob_read(it->second, dst, static_cast<int>(n),
                             static_cast<int>(offset));
  if (rc != SQLITE_OK) {
    sqlite3_blob_close(it->second);
    handles_.erase(it);
    return sqlite::FromSqlite(rc, conn_->db(), "read column chunk");
  }
  return Status::OK();
}

void BlobPool::Clear() {
  for (auto& [rowid, blob] : handles_) sqlite3_blob_close(blob);
  handles_.clear();
}

// ------------------------------------------------------------ ChunkStore

Result<std::optional<ChunkRow>> ChunkStore::Find(int64_t chunk_idx) {
  if (cache_ != nullptr) {
    auto& rows = (*cache_)[col_id_];
    auto it = rows.find(chunk_idx);
    if (it != rows.end()) return std::optional<ChunkRow>(it->second);
  }
  AMBERVAULT_ASSIGN_OR_RETURN(
      Statement * st,
      conn_->Prepare("SELECT rowid, " SIZE_OF_DATA ", bytes_used FROM col_chunks "
                     "WHERE col_id = ?1 AND chunk_idx = ?2"));
  StatementUse use(st);
  AMBERVAULT_RETURN_IF_ERROR(st->BindInt64(1, col_id_));
  AMBERVAULT_RETURN_IF_ERROR(st->BindInt64(2, chunk_idx));
  AMBERVAULT_ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return std::optional<ChunkRow>();
  const ChunkRow found{st->ColumnInt64(0), st->ColumnInt64(1), st->ColumnInt64(2)};
  if (cache_ != nullptr) (*cache_)[col_id_][chunk_idx] = found;
  return std::optional<ChunkRow>(found);
}

Result<std::optional<std::pair<int64_t, ChunkRow>>> ChunkStore::Last() {
  AMBERVAULT_ASSIGN_OR_RETURN(
      Statement * st,
      conn_->Prepare("SELECT chunk_idx, rowid, " SIZE_OF_DATA ", bytes_used "
                     "FROM col_chunks WHERE col_id = ?1 "
                     "ORDER BY chunk_idx DESC LIMIT 1"));
  StatementUse use(st);
  AMBERVAULT_RETURN_IF_ERROR(st->BindInt64(1, col_id_));
  AMBERVAULT_ASSIGN_OR_RETURN(bool row, st->Step());
  using Out = std::optional<std::pair<int64_t, ChunkRow>>;
  if (!row) return Out();
  return Out(std::pair<int64_t, ChunkRow>(
      st->ColumnInt64(0),
      ChunkRow{st->ColumnInt64(1), st->ColumnInt64(2), st->ColumnInt64(3)}));
}

Result<ChunkRow> ChunkStore::Create(int64_t chunk_idx, int64_t size,
                                    std::string_view bytes, int64_t offset,
                                    int64_t bytes_used) {
  AMBERVAULT_ASSIGN_OR_RETURN(
      Statement * st,
      conn_->Prepare("INSERT INTO col_chunks "
                     "(col_id, chunk_idx, data, actual_size, bytes_used) "
                     "VALUES (?1, ?2, ?3, ?4, ?5)"));
  StatementUse use(st);
  AMBERVAULT_RETURN_IF_ERROR(st->BindInt64(1, col_id_));
  AMBERVAULT_RETURN_IF_ERROR(st->BindInt64(2, chunk_idx));
  std::string buffer;
  if (offset == 0 && static_cast<int64_t>(bytes.size()) == size) {
    AMBERVAULT_RETURN_IF_ERROR(st->BindBlob(3, bytes));
  } else {
    buffer.assign(static_cast<size_t>(size), '\0');
    std::copy(bytes.begin(), bytes.end(), buffer.begin() + offset);
    AMBERVAULT_RETURN_IF_ERROR(st->BindBlob(3, buffer));
  }
  AMBERVAULT_RETURN_IF_ERROR(st->BindInt64(4, size));
  AMBERVAULT_RETURN_IF_ERROR(st->BindInt64(5, bytes_used));
  AMBERVAULT_RETURN_IF_ERROR(st->Exec());
  return ChunkRow{sqlite3_last_insert_rowid(conn_->db()), size, bytes_used};
}

Status ChunkStore::Grow(int64_t chunk_idx, ChunkRow* row, int64_t size) {
  if (size <= row->size) return Status::OK();
  AMBERVAULT_ASSIGN_OR_RETURN(
      Statement * st,
      conn_->Prepare("UPDATE col_chunks SET data = CAST(data || zeroblob(?1 - "
                     "?4) AS BLOB), actual_size = ?1 "
                     "WHERE col_id = ?2 AND chunk_idx = ?3"));
  StatementUse use(st);
  AMBERVAULT_RETURN_IF_ERROR(st->BindInt64(1, size));
  AMBERVAULT_RETURN_IF_ERROR(st->BindInt64(2, col_id_));
  AMBERVAULT_RETURN_IF_ERROR(st->BindInt64(3, chunk_idx));
  AMBERVAULT_RETURN_IF_ERROR(st->BindInt64(4, row->size));
  AMBERVAULT_RETURN_IF_ERROR(st->Exec());
  row->size = size;
  return Status::OK();
}

Result<DataCursor> ChunkStore::Cursor(int64_t chunk_idx, const ChunkRow& row) {
  AMBERVAULT_ASSIGN_OR_RETURN(
      Statement * st,
      conn_->Prepare("SELECT used, claimed FROM ambervault_col_cursor "
                     "WHERE col_id = ?1 AND chunk_idx = ?2"));
  StatementUse use(st);
  AMBERVAULT_RETURN_IF_ERROR(st->BindInt64(1, col_id_));
  AMBERVAULT_RETURN_IF_ERROR(st->BindInt64(2, chunk_idx));
  AMBERVAULT_ASSIGN_OR_RETURN(bool found, st->Step());
  DataCursor c;
  if (found && st->ColumnInt64(1) == row.bytes_used) {
    c.used = st->ColumnInt64(0);
  } else {
    c.used = row.bytes_used;  // KohakuVault's cursor (or none of ours)
  }
  c.used = std::clamp<int64_t>(c.used, 0, row.size);
  c.claimed = row.bytes_used == row.size;
  return c;
}

Status ChunkStore::SetCursor(int64_t chunk_idx, ChunkRow* row, bool claimed,
                             int64_t used) {
  if (!claimed || row->bytes_used != row->size) {
    AMBERVAULT_ASSIGN_OR_RETURN(
        Statement * st,
        conn_->Prepare("UPDATE col_chunks SET bytes_used = ?1 "
                       "WHERE col_id = ?2 AND chunk_idx = ?3"));
    StatementUse use(st);
    AMBERVAULT_RETURN_IF_ERROR(st->BindInt64(1, row->size));
    AMBERVAULT_RETURN_IF_ERROR(st->BindInt64(2, col_id_));
    AMBERVAULT_RETURN_IF_ERROR(st->BindInt64(3, chunk_idx));
    AMBERVAULT_RETURN_IF_ERROR(st->Exec());
    row->bytes_used = row->size;
  }
  AMBERVAULT_ASSIGN_OR_RETURN(
      Statement * st,
      conn_->Prepare("INSERT OR REPLACE INTO ambervault_col_cursor "
                     "(col_id, chunk_idx, used, claimed) VALUES (?1, ?2, ?3, ?4)"));
  StatementUse use(st);
  AMBERVAULT_RETURN_IF_ERROR(st->BindInt64(1, col_id_));
  AMBERVAULT_RETURN_IF_ERROR(st->BindInt64(2, chunk_idx));
  AMBERVAULT_RETURN_IF_ERROR(st->BindInt64(3, used));
  AMBERVAULT_RETURN_IF_ERROR(st->BindInt64(4, row->bytes_used));
  return st->Exec();
}

Status ChunkStore::DeleteFrom(int64_t first) {
  for (const char* sql :
       {"DELETE FROM col_chunks WHERE col_id = ?1 AND chunk_idx >= ?2",
        "DELETE FROM ambervault_col_cursor WHERE col_id = ?1 AND chunk_idx >= ?2"}) {
    AMBERVAULT_ASSIGN_OR_RETURN(Statement * st, conn_->Prepare(sql));
    StatementUse use(st);
    AMBERVAULT_RETURN_IF_ERROR(st->BindInt64(1, col_id_));
    AMBERVAULT_RETURN_IF_ERROR(st->BindInt64(2, first > 0 ? first : INT64_MIN));
    AMBERVAULT_RETURN_IF_ERROR(st->Exec());
  }
  return Status::OK();
}

Status ChunkStore::DeleteBelow(int64_t first) {
  for (const char* sql :
       {"DELETE FROM col_chunks WHERE col_id = ?1 AND chunk_idx < ?2",
        "DELETE FROM ambervault_col_cursor WHERE col_id = ?1 AND chunk_idx < ?2"}) {
    AMBERVAULT_ASSIGN_OR_RETURN(Statement * st, conn_->Prepare(sql));
    StatementUse use(st);
    AMBERVAULT_RETURN_IF_ERROR(st->BindInt64(1, col_id_));
    AMBERVAULT_RETURN_IF_ERROR(st->BindInt64(2, first));
    AMBERVAULT_RETURN_IF_ERROR(st->Exec());
  }
  return Status::OK();
}

Status ChunkStore::Totals(int64_t* chunks, int64_t* allocated, int64_t* used) {
  AMBERVAULT_ASSIGN_OR_RETURN(
      Statement * st,
      conn_->Prepare("SELECT count(*), total(" SIZE_OF_DATA "), "
                     "total(CASE WHEN s.claimed = c.bytes_used THEN s.used "
                     "ELSE c.bytes_used END) FROM col_chunks c "
                     "LEFT JOIN ambervault_col_cursor s USING (col_id, chunk_idx) "
                     "WHERE c.col_id = ?1"));
  StatementUse use(st);
  AMBERVAULT_RETURN_IF_ERROR(st->BindInt64(1, col_id_));
  AMBERVAULT_ASSIGN_OR_RETURN(bool row, st->Step());
  (void)row;  // an aggregate always returns a row
  *chunks = st->ColumnInt64(0);
  *allocated = st->ColumnInt64(1);
  *used = st->ColumnInt64(2);
  return Status::OK();
}

// ------------------------------------------------------------ StrideArray

Status StrideArray::Read(int64_t offset, int64_t n, char* dst,
                         BlobSource* cursor) {
  const int64_t stride = sizes_.max;
  while (n > 0) {
    const int64_t chunk = offset / stride;
    const int64_t at = offset % stride;
    const int64_t take = std::min(n, stride - at);
    AMBERVAULT_ASSIGN_OR_RETURN(std::optional<ChunkRow> row,
                                store_->Find(chunk));
    if (!row || row->size < at + take) {
      return Status::Corruption("column " + std::to_string(store_->col_id()) +
                                ": chunk " + std::to_string(chunk) +
                                " is missing or too short");
    }
    AMBERVAULT_RETURN_IF_ERROR(cursor->Read(row->rowid, dst, take, at));
    dst += take;
    offset += take;
    n -= take;
  }
  return Status::OK();
}

Status StrideArray::CheckBacked(int64_t offset, int64_t n) {
  if (n <= 0) return Status::OK();
  if (offset < 0 || n > INT64_MAX - offset) {
    return Status::Corruption("column " + std::to_string(store_->col_id()) +
                              ": length out of range");
  }
  const int64_t last = offset + n - 1;
  AMBERVAULT_ASSIGN_OR_RETURN(std::optional<ChunkRow> row, store_->Find(last / sizes_.max));
  if (!row || row->size <= last % sizes_.max) {
    return Status::Corruption("column " + std::to_string(store_->col_id()) +
                              ": its length reaches past its chunks");
  }
  if (n > (int64_t{16} << 20)) {  // large: every byte must be allocated
    int64_t chunks = 0, allocated = 0, used = 0;
    AMBERVAULT_RETURN_IF_ERROR(store_->Totals(&chunks, &allocated, &used));
    if (allocated < n) {
      return Status::Corruption("column " + std::to_string(store_->col_id()) +
                                ": its length reaches past its chunks");
    }
  }
  return Status::OK();
}

Status StrideArray::Write(int64_t offset, std::string_view src) {
  const int64_t stride = sizes_.max;
  BlobCursor cursor(store_->conn(), /*writable=*/true);
  while (!src.empty()) {
    const int64_t chunk = offset / stride;
    const int64_t at = offset % stride;
    const int64_t take =
        std::min<int64_t>(static_cast<int64_t>(src.size()), stride - at);
    const std::string_view part = src.substr(0, static_cast<size_t>(take));
    AMBERVAULT_ASSIGN_OR_RETURN(std::optional<ChunkRow> row,
                                store_->Find(chunk));
    if (!row) {
      cursor.Close();  // an open handle on the table blocks no insert, but
                       // keep the handle count low
      AMBERVAULT_RETURN_IF_ERROR(
          store_->Create(chunk, sizes_.SizeFor(at + take), part, at, 0)
              .status());
    } else {
      if (row->size < at + take) {
        cursor.Close();  // growing rewrites the row under the handle
        AMBERVAULT_RETURN_IF_ERROR(
            store_->Grow(chunk, &*row, sizes_.SizeFor(at + take)));
      }
      AMBERVAULT_RETURN_IF_ERROR(
          cursor.Write(row->rowid, part.data(), take, at));
    }
    src.remove_prefix(static_cast<size_t>(take));
    offset += take;
  }
  return Status::OK();
}

Status StrideArray::Move(int64_t from, int64_t to, int64_t n) {
  if (n <= 0 || from == to) return Status::OK();
  // Not zero-filled: every byte is read before it is written out.
  const auto buffer = std::make_unique_for_overwrite<char[]>(
      static_cast<size_t>(std::min(kMoveBlock, n)));
  BlobCursor reader(store_->conn(), /*writable=*/false);
  // Copy in blocks, walking away from the overlap: forwards when moving
  // left, backwards when moving right.
  const int64_t blocks = (n + kMoveBlock - 1) / kMoveBlock;
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t k = to < from ? b : blocks - 1 - b;
    const int64_t start = k * kMoveBlock;
    const int64_t len = std::min(kMoveBlock, n - start);
    AMBERVAULT_RETURN_IF_ERROR(Read(from + start, len, buffer.get(), &reader));
    reader.Close();
    AMBERVAULT_RETURN_IF_ERROR(
        Write(to + start, std::string_view(buffer.get(), static_cast<size_t>(len))));
  }
  return Status::OK();
}

Status StrideArray::Truncate(int64_t bytes) {
  const int64_t keep = (bytes + sizes_.max - 1) / sizes_.max;  // chunks
  return store_->DeleteFrom(keep);
}

}  // namespace ambervault::column
