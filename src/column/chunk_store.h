// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// ChunkStore: the chunks (rows of col_chunks) of one col_meta row, and the
// two layouts built on them.
//
//  - StrideArray: a byte array split at a fixed stride (the column's
//    aligned max_chunk_bytes): byte b lives in chunk b / stride at offset
//    b % stride. Fixed-size columns and var-size index columns use it.
//    Chunks grow geometrically (min * 2^k, capped at the stride).
//  - VarData (var_data.h): element bytes packed into chunks.
//
// Every read and write goes through incremental BLOB I/O on the needed
// byte ranges only. Callers hold the vault mutex and, for writes, an open
// write transaction. Thread safety: none.

#ifndef AMBERVAULT_SRC_COLUMN_CHUNK_STORE_H_
#define AMBERVAULT_SRC_COLUMN_CHUNK_STORE_H_

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <string_view>

#include "ambervault/status.h"
#include "sqlite/connection.h"

namespace ambervault::column {

// Chunk sizing shared by both layouts.
struct ChunkSizes {
  int64_t min = 0;  // first size of a new chunk
  int64_t max = 0;  // largest size a chunk grows to (the stride)

  // The size a chunk needing `needed` bytes gets: the smallest min * 2^k
  // that holds it, capped at max; `needed` itself when it exceeds max.
  int64_t SizeFor(int64_t needed) const;
};

// KohakuVault's alignment of a column's chunk sizes to its element size:
// min rounded up, max rounded down to multiples of elem_size (an element
// larger than max gets chunks of one element). InvalidArgument for sizes
// outside 1 .. 2^31-1 or min > max.
Result<ChunkSizes> AlignChunkSizes(int64_t elem_size, int64_t min_bytes,
                                   int64_t max_bytes);

struct ChunkRow {
  int64_t rowid = 0;
  int64_t size = 0;        // length(data)
  int64_t bytes_used = 0;  // KohakuVault's write cursor (var-size data)
};

// Var-size data chunks: where AmberVault's next element goes.
//
// KohakuVault keeps its write cursor in col_chunks.bytes_used, but
// updating any column of a chunk row makes SQLite rebuild the whole row,
// blob included (O(chunk size) per append). So AmberVault marks a data
// chunk it writes as full for KohakuVault (bytes_used = its size, set once
// per chunk) and keeps its own cursor in a small side table:
//   ambervault_col_cursor(col_id, chunk_idx, used, claimed)
// A cursor row is trusted only while the chunk's bytes_used still equals
// `claimed`; if KohakuVault wrote to the chunk since (it appends past
// bytes_used, growing the chunk), bytes_used is the cursor.
struct DataCursor {
  int64_t used = 0;       // next free byte
  bool claimed = false;   // bytes_used == size: KohakuVault will not write here
};

// Reads byte ranges of chunk rows.
class BlobSource {
 public:
  virtual ~BlobSource() = default;
  virtual Status Read(int64_t rowid, void* dst, int64_t n, int64_t offset) = 0;
};

// One sqlite3_blob handle moved from row to row with sqlite3_blob_reopen
// (much cheaper than opening a handle per row). Closed on destruction.
class BlobCursor : public BlobSource {
 public:
  BlobCursor(sqlite::Connection* conn, bool writable)
      : conn_(conn), writable_(writable) {}
  ~BlobCursor() override;
  BlobCursor(const BlobCursor&) = delete;
  BlobCursor& operator=(const BlobCursor&) = delete;

  Status Read(int64_t rowid, void* dst, int64_t n, int64_t offset) override;
  Status Write(int64_t rowid, const void* src, int64_t n, int64_t offset);
  void Close();

 private:
  Status Seek(int64_t rowid);
  sqlite::Connection* conn_;
  bool writable_;
  sqlite3_blob* blob_ = nullptr;
  int64_t rowid_ = -1;
};

// Read-only handles kept open on several rows for the life of one read
// snapshot. A handle remembers where a row's overflow pages are, so
// repeated reads deep inside a large chunk skip walking the page chain.
// Clear() before the snapshot ends.
class BlobPool : public BlobSource {
 public:
  explicit BlobPool(sqlite::Connection* conn) : conn_(conn) {}
  ~BlobPool() override { Clear(); }
  BlobPool(const BlobPool&) = delete;
  BlobPool& operator=(const BlobPool&) = delete;

  Status Read(int64_t rowid, void* dst, int64_t n, int64_t offset) override;
  void Clear();

 private:
  static constexpr size_t kMaxHandles = 16;
  sqlite::Connection* conn_;
  std::unordered_map<int64_t, sqlite3_blob*> handles_;
};

// Rows of col_chunks already looked up in the current read snapshot,
// by (col_id, chunk_idx).
using ChunkRowCache = std::unordered_map<int64_t, std::unordered_map<int64_t, ChunkRow>>;

class ChunkStore {
 public:
  // With `cache`, Find() remembers rows (only valid within one snapshot
  // and without writes).
  ChunkStore(sqlite::Connection* conn, int64_t col_id,
             ChunkRowCache* cache = nullptr)
      : conn_(conn), col_id_(col_id), cache_(cache) {}

  int64_t col_id() const { return col_id_; }
  sqlite::Connection* conn() const { return conn_; }

  Result<std::optional<ChunkRow>> Find(int64_t chunk_idx);
  // The chunk with the largest index, if any.
  Result<std::optional<std::pair<int64_t, ChunkRow>>> Last();
  // Inserts chunk `chunk_idx` of `size` bytes holding `bytes` at `offset`
  // (zeros elsewhere).
  Result<ChunkRow> Create(int64_t chunk_idx, int64_t size,
                          std::string_view bytes, int64_t offset,
                          int64_t bytes_used);
  // Extends a chunk with zeros to `size` bytes (rowid unchanged).
  Status Grow(int64_t chunk_idx, ChunkRow* row, int64_t size);
  // Var-size data chunks (see DataCursor).
  Result<DataCursor> Cursor(int64_t chunk_idx, const ChunkRow& row);
  // Records that `used` bytes of the chunk are taken, claiming the whole
  // chunk from KohakuVault first when it is not claimed yet.
  Status SetCursor(int64_t chunk_idx, ChunkRow* row, bool claimed, int64_t used);
  // Deletes chunks with index >= first (all when first <= 0).
  Status DeleteFrom(int64_t first);
  // Deletes chunks with index < first.
  Status DeleteBelow(int64_t first);
  // Every chunk: count, allocated bytes, bytes taken by elements (live or
  // not).
  Status Totals(int64_t* chunks, int64_t* allocated, int64_t* used);

 private:
  sqlite::Connection* conn_;
  int64_t col_id_;
  ChunkRowCache* cache_;
};

// A byte array over a ChunkStore at a fixed stride (see file comment).
class StrideArray {
 public:
  StrideArray(ChunkStore* store, ChunkSizes sizes)
      : store_(store), sizes_(sizes) {}

  // Reads [offset, offset + n) into dst. Corruption if a chunk is missing
  // or short.
  Status Read(int64_t offset, int64_t n, char* dst, BlobSource* source);
  // Corruption unless the chunks could hold [offset, offset + n): called
  // before allocating n bytes for a read, so that a damaged length never
  // becomes a huge allocation.
  Status CheckBacked(int64_t offset, int64_t n);
  // Writes `src` at `offset`, creating and growing chunks as needed.
  Status Write(int64_t offset, std::string_view src);
  // Moves [from, from + n) to [to, to + n) (the ranges may overlap), in
  // bounded memory.
  Status Move(int64_t from, int64_t to, int64_t n);
  // Frees chunks wholly past the first `bytes` bytes.
  Status Truncate(int64_t bytes);

 private:
  ChunkStore* store_;
  ChunkSizes sizes_;
};

}  // namespace ambervault::column

#endif  // AMBERVAULT_SRC_COLUMN_CHUNK_STORE_H_
