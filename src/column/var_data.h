// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// VarData: the element bytes of a variable-size column ("<name>_data"),
// and the 12-byte index entries ("<name>_idx") that locate them.
//
// Placement: new elements go into the free tail of the last chunk (grown
// geometrically up to the max chunk size), then into new chunks; an element
// never spans chunks, and one larger than the max chunk size gets a chunk
// of its own exact size. Bytes of replaced or deleted elements stay where
// they are until Compact (column.cc) rewrites the column.
//
// Thread safety: none; see chunk_store.h.

#ifndef AMBERVAULT_SRC_COLUMN_VAR_DATA_H_
#define AMBERVAULT_SRC_COLUMN_VAR_DATA_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ambervault/status.h"
#include "column/chunk_store.h"

namespace ambervault::column {

struct IndexEntry {
  int64_t chunk = 0;
  int64_t start = 0;
  int64_t end = 0;
  int64_t size() const { return end - start; }
};

constexpr int64_t kIndexEntryBytes = 12;
void EncodeEntry(const IndexEntry& e, char* dst);
IndexEntry DecodeEntry(const char* src);

// Splits `data` into elements at `ends` (checked: non-decreasing, last ==
// data.size()). InvalidArgument otherwise.
Status CheckEnds(std::string_view data, std::span<const uint64_t> ends);

class VarData {
 public:
  VarData(ChunkStore* store, ChunkSizes sizes) : store_(store), sizes_(sizes) {}

  // Stores the elements of `data` (split at `ends`) and appends one entry
  // per element to *entries. With `new_chunk`, starts in a new chunk
  // instead of the free tail of the last one. REQUIRES: a write
  // transaction.
  Status Place(std::string_view data, std::span<const uint64_t> ends,
               std::vector<IndexEntry>* entries, bool new_chunk = false);
  // Overwrites the bytes of `at` (bytes.size() <= at.size()) in place.
  Status Overwrite(const IndexEntry& at, std::string_view bytes);
  // Reads the elements at `entries` back to back into *data (appending),
  // and their ends (offsets in *data) into *ends. Neighbouring elements of
  // one chunk are read with one BLOB read.
  Status Gather(std::span<const IndexEntry> entries, std::string* data,
                std::vector<uint64_t>* ends, BlobSource* source);

 private:
  ChunkStore* store_;
  ChunkSizes sizes_;
};

}  // namespace ambervault::column

#endif  // AMBERVAULT_SRC_COLUMN_VAR_DATA_H_
