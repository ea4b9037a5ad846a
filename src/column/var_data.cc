// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.

#include "column/var_data.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <numeric>
#include <optional>
#include <unordered_map>

#include "packer/byte_order.h"

namespace ambervault::column {

namespace {
// Elements of one chunk closer than this are read with one BLOB read.
constexpr int64_t kMergeGap = 512;
}  // namespace

void EncodeEntry(const IndexEntry& e, char* dst) {
  StoreLE<int32_t>(static_cast<int32_t>(e.chunk), dst);
  StoreLE<int32_t>(static_cast<int32_t>(e.start), dst + 4);
  StoreLE<int32_t>(static_cast<int32_t>(e.end), dst + 8);
}

IndexEntry DecodeEntry(const char* src) {
  return IndexEntry{LoadLE<int32_t>(src), LoadLE<int32_t>(src + 4),
                    LoadLE<int32_t>(src + 8)};
}

Status CheckEnds(std::string_view data, std::span<const uint64_t> ends) {
  uint64_t prev = 0;
  for (uint64_t e : ends) {
    if (e < prev || e > data.size()) {
      return Status::InvalidArgument("element ends must be non-decreasing "
                                     "offsets within the data");
    }
    if (e - prev > INT32_MAX) {
      return Status::InvalidArgument("an element of a variable-size column "
                                     "must be smaller than 2 GiB");
    }
    prev = e;
  }
  if (prev != data.size()) {
    return Status::InvalidArgument("the last element end must equal the data "
                                   "size");
  }
  return Status::OK();
}

Status VarData::Place(std::string_view data, std::span<const uint64_t> ends,
                      std::vector<IndexEntry>* entries, bool new_chunk) {
  if (ends.empty()) return Status::OK();
  // A run of bytes written into one chunk by this call.
  struct Segment {
    int64_t chunk;
    std::optional<ChunkRow> row;  // set for a chunk that already exists
    bool claimed;                 // (existing chunk) see DataCursor
    int64_t start;                // where this call's bytes begin
    int64_t end;                  // write cursor
    std::string bytes;
  };
  std::vector<Segment> segments;
  AMBERVAULT_ASSIGN_OR_RETURN(auto last, store_->Last());
  int64_t next_chunk = 0;
  size_t fill = SIZE_MAX;  // index in `segments` of the chunk being filled
  if (last) {
    // Index entries hold an int32 chunk number.
    if (last->first < 0 || last->first >= INT32_MAX) {
      return Status::Corruption("variable-size data has an impossible chunk number");
    }
    next_chunk = last->first + 1;
  }
  if (last && !new_chunk) {
    const ChunkRow& row = last->second;
    AMBERVAULT_ASSIGN_OR_RETURN(DataCursor cur, store_->Cursor(last->first, row));
    segments.push_back(Segment{last->first, row, cur.claimed, cur.used, cur.used, {}});
    fill = 0;
  }
  const int64_t max = sizes_.max;
  auto limit = [&](const Segment& s) {
    return s.row ? std::max(s.row->size, max) : max;
  };
  uint64_t prev = 0;
  for (uint64_t e : ends) {
    const std::string_view elem = data.substr(prev, e - prev);
    prev = e;
    const int64_t n = static_cast<int64_t>(elem.size());
    size_t target;
    if (n > max) {  // a chunk of its own
      segments.push_back(Segment{next_chunk++, std::nullopt, false, 0, 0, {}});
      target = segments.size() - 1;
    } else {
      if (fill == SIZE_MAX || segments[fill].end + n > limit(segments[fill])) {
        segments.push_back(Segment{next_chunk++, std::nullopt, false, 0, 0, {}});
        fill = segments.size() - 1;
      }
      target = fill;
    }
    Segment& s = segments[target];
    if (next_chunk > INT32_MAX) {
      return Status::NotSupported("variable-size column has too many chunks");
    }
    entries->push_back(IndexEntry{s.chunk, s.end, s.end + n});
    s.bytes.append(elem);
    s.end += n;
  }
  BlobCursor cursor(store_->conn(), /*writable=*/true);
  for (Segment& s : segments) {
    if (s.bytes.empty() && s.row) continue;
    if (!s.row) {
      const int64_t size = sizes_.SizeFor(s.end);
      AMBERVAULT_ASSIGN_OR_RETURN(ChunkRow row,
                                  store_->Create(s.chunk, size, s.bytes, 0, size));
      AMBERVAULT_RETURN_IF_ERROR(store_->SetCursor(s.chunk, &row, true, s.end));
      continue;
    }
    if (s.row->size < s.end) {
      cursor.Close();
      AMBERVAULT_RETURN_IF_ERROR(
          store_->Grow(s.chunk, &*s.row, sizes_.SizeFor(s.end)));
      s.claimed = false;  // the claim must cover the new size
    }
    AMBERVAULT_RETURN_IF_ERROR(cursor.Write(
        s.row->rowid, s.bytes.data(), static_cast<int64_t>(s.bytes.size()),
        s.start));
    cursor.Close();  // claiming may update the row
    AMBERVAULT_RETURN_IF_ERROR(store_->SetCursor(s.chunk, &*s.row, s.claimed, s.end));
  }
  return Status::OK();
}

Status VarData::Overwrite(const IndexEntry& at, std::string_view bytes) {
  if (bytes.empty()) return Status::OK();
  AMBERVAULT_ASSIGN_OR_RETURN(std::optional<ChunkRow> row,
                              store_->Find(at.chunk));
  if (!row) return Status::Corruption("variable-size chunk is missing");
  BlobCursor cursor(store_->conn(), /*writable=*/true);
  return cursor.Write(row->rowid, bytes.data(),
                      static_cast<int64_t>(bytes.size()), at.start);
}

Status VarData::Gather(std::span<const IndexEntry> entries, std::string* data,
                       std::vector<uint64_t>* ends, BlobSource* cursor) {
  // Visit in (chunk, start) order so that neighbours share one read.
  std::vector<uint32_t> order(entries.size());
  std::iota(order.begin(), order.end(), 0u);
  auto before = [&](uint32_t a, uint32_t b) {
    return entries[a].chunk != entries[b].chunk ? entries[a].chunk < entries[b].chunk
                                                : entries[a].start < entries[b].start;
  };
  if (!std::is_sorted(order.begin(), order.end(), before)) {
    std::sort(order.begin(), order.end(), before);
  }
  // Check every entry against its chunk before allocating anything: a
  // damaged index must give Corruption, never a huge allocation.
  std::vector<ChunkRow> rows;  // per distinct chunk, in visiting order
  size_t total = 0;
  std::optional<int64_t> row_chunk;
  for (uint32_t i : order) {
    const IndexEntry& e = entries[i];
    if (e.chunk != row_chunk) {
      AMBERVAULT_ASSIGN_OR_RETURN(std::optional<ChunkRow> r, store_->Find(e.chunk));
      if (!r) {
        return Status::Corruption("variable-size chunk " + std::to_string(e.chunk) + " is missing");
      }
      rows.push_back(*r);
      row_chunk = e.chunk;
    }
    if (e.start < 0 || e.end < e.start || e.end > rows.back().size) {
      return Status::Corruption("variable-size index entry points outside its chunk");
    }
    total += static_cast<size_t>(e.size());
  }
  const size_t base = data->size();
  data->resize(base + total);
  char* out = data->data() + base;
  // Where each element goes in the output.
  std::vector<size_t> pos(entries.size());
  size_t at = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    pos[i] = at;
    at += static_cast<size_t>(entries[i].size());
    ends->push_back(base + at);
  }
  std::string span;
  size_t row_index = 0;
  size_t i = 0;
  while (i < order.size()) {
    const IndexEntry& first = entries[order[i]];
    if (i > 0 && first.chunk != entries[order[i - 1]].chunk) ++row_index;
    const ChunkRow& row = rows[row_index];
    // Extend the run while the next element is in this chunk and near.
    size_t j = i + 1;
    int64_t lo = first.start, hi = first.end;
    while (j < order.size()) {
      const IndexEntry& e = entries[order[j]];
      if (e.chunk != first.chunk || e.start > hi + kMergeGap) break;
      hi = std::max(hi, e.end);
      ++j;
    }
    if (j == i + 1) {
      AMBERVAULT_RETURN_IF_ERROR(cursor->Read(row.rowid, out + pos[order[i]], first.size(), lo));
    } else {
      span.resize(static_cast<size_t>(hi - lo));
      AMBERVAULT_RETURN_IF_ERROR(cursor->Read(row.rowid, span.data(), hi - lo, lo));
      for (size_t k = i; k < j; ++k) {
        const IndexEntry& e = entries[order[k]];
        std::memcpy(out + pos[order[k]], span.data() + (e.start - lo), static_cast<size_t>(e.size()));
      }
    }
    i = j;
  }
  return Status::OK();
}

}  // namespace ambervault::column
