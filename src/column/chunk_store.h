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
  int64_t bytes_used = 0;  // write cursor (var-size data chunks)
};

// One sqlite3_blob handle moved from row to row with sqlite3_blob_reopen
// (much cheaper than opening a handle per row). Closed on destruction.
class BlobCursor {
 public:
  BlobCursor(sqlite::Connection* conn, bool writable)
      : conn_(conn), writable_(writable) {}
  ~BlobCursor();
  BlobCursor(const BlobCursor&) = delete;
  BlobCursor& operator=(const BlobCursor&) = delete;

  Status Read(int64_t rowid, void* dst, int64_t n, int64_t offset);
  Status Write(int64_t rowid, const void* src, int64_t n, int64_t offset);
  void Close();

 private:
  Status Seek(int64_t rowid);
  sqlite::Connection* conn_;
  bool writable_;
  sqlite3_blob* blob_ = nullptr;
  int64_t rowid_ = -1;
};

class ChunkStore {
 public:
  ChunkStore(sqlite::Connection* conn, int64_t col_id)
      : conn_(conn), col_id_(col_id) {}

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
  Status SetBytesUsed(int64_t chunk_idx, int64_t bytes_used);
  // Deletes chunks with index >= first (all when first <= 0).
  Status DeleteFrom(int64_t first);
  // Every chunk: count, allocated bytes, sum of bytes_used.
  Status Totals(int64_t* chunks, int64_t* allocated, int64_t* used);

 private:
  sqlite::Connection* conn_;
  int64_t col_id_;
};

// A byte array over a ChunkStore at a fixed stride (see file comment).
class StrideArray {
 public:
  StrideArray(ChunkStore* store, ChunkSizes sizes)
      : store_(store), sizes_(sizes) {}

  // Reads [offset, offset + n) into dst. Corruption if a chunk is missing
  // or short.
  Status Read(int64_t offset, int64_t n, char* dst, BlobCursor* cursor);
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
