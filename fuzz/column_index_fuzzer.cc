// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// Fuzz target: a ColumnVault reading and changing columns whose file was
// damaged: var-size index entries (int32 chunk, start, end), chunk bytes,
// chunk sizes and storage classes, col_meta lengths, chunk sizes, names and
// dtypes, bytes_used and AmberVault's data cursors, rows deleted or added.
//
// Setup (once): a small vault in SQLite's in-process "memdb" VFS, with tiny
// chunks (16..64 bytes) so a few elements spread over several chunks:
//   v: bytes  (8 elements, one rewritten larger and one deleted: garbage)
//   w: bytes  (3 elements)
//   f: i32    (10 elements)
// (the col_meta rows are written with SQL as KohakuVault writes them; the
// elements go in through the Column API).
// Per input: the template is copied (backup API) into a fresh shared memdb
// database, damaged through plain SQL on a second sqlite3 connection, then
// a ColumnVault opens it and runs a sequence of calls: Length, Read of
// various ranges, ReadInto, Append(Many), Write, Insert, Delete, Compact,
// StorageInfo, Clear, caches, GetColumn, ListColumns, and more damage while
// the vault is open. memdb keeps each run in memory; it has no WAL, so
// reads run without the read lease.
//
// Input: byte 0 = number of damage commands (low 4 bits) and whether to
// open the vault afresh (bits 0x70 all set; else the vault of the last run
// is reused, with what it learned cleared); the damage commands; then
// calls until the input ends (at most kMaxCalls).
//
// Checks: every call returns OK or a Status; nothing crashes, hangs, reads
// out of bounds or leaks (ASan/UBSan); reads that succeed return exactly
// the requested number of elements, consistently laid out; reads commit
// nothing, and a change that fails commits nothing (every change is one
// transaction); no call leaves a transaction open; the undamaged template
// reads back as written.
//
// Set AVFUZZ_LOG=1 to print every damage, call and status. The inputs in
// fuzz/crashes/column_index-* reproduce the engine bugs this target found
// (B to G fixed in 25ccd4c and 2d31fbd, H and I in e2bf630, J by giving
// each loaded column a serial that its handles check; all are in the corpus
// or fuzz/crashes).

#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ambervault/column_vault.h"
#include "column/vault_state.h"

namespace {

using ambervault::Column;
using ambervault::ColumnVault;
using ambervault::ColumnVaultOptions;
using ambervault::Result;
using ambervault::Status;
using ambervault::column::VaultState;

constexpr const char* kTemplatePath = "/avfuzz_column_template";
constexpr const char* kWorkPath = "/avfuzz_column_work";
constexpr int kMaxCalls = 24;
constexpr size_t kMaxElement = 160;

bool g_log = false;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "column_index_fuzzer: check failed: %s\n", what);
    std::abort();
  }
}

void MustOk(const Status& s, const char* what) {
  if (!s.ok()) std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
  Check(s.ok(), what);
}

void Log(const char* what, const Status& s) {
  if (g_log) std::fprintf(stderr, "  %-14s %s\n", what, s.ToString().c_str());
}

ColumnVaultOptions Options() {
  ColumnVaultOptions o;
  o.open.vfs = "memdb";
  o.open.enable_wal = false;  // memdb has no WAL
  o.open.mmap_size = 0;
  o.open.cache_kb = 256;
  o.open.busy_timeout_ms = 0;
  o.retry.retries = 1;
  o.retry.backoff_base_seconds = 0;
  o.min_chunk_bytes = 16;
  o.max_chunk_bytes = 64;
  return o;
}

// ---------------------------------------------------------------- input

class Input {
 public:
  Input(const uint8_t* data, size_t size) : p_(data), n_(data == nullptr ? 0 : size) {}
  bool empty() const { return n_ == 0; }
  uint8_t Byte() {
    if (n_ == 0) return 0;
    --n_;
    return *p_++;
  }
  uint64_t Raw(int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= uint64_t{Byte()} << (8 * i);
    return v;
  }
  std::string Bytes(size_t n) {
    std::string out;
    while (n-- > 0 && n_ > 0) out.push_back(static_cast<char>(Byte()));
    return out;
  }
  // A number: mostly small, else an edge value or raw bytes.
  int64_t Number() {
    const uint8_t b = Byte();
    if (b < 160) return static_cast<int64_t>(b % 40) - 4;  // -4 .. 35
    switch (b % 24) {
      case 0: return INT32_MAX;
      case 1: return INT32_MIN;
      case 2: return int64_t{INT32_MAX} + 1;
      case 3: return int64_t{1} << 40;
      case 4: return INT64_MAX;
      case 5: return INT64_MIN;
      case 6: return INT64_MAX / 12 + 1;
      case 7: return 12;
      case 8: return 16;
      case 9: return 24;
      case 10: return 60;
      case 11: return 64;
      case 12: return 128;
      case 13: return -1;
      case 14: return static_cast<int16_t>(Raw(2));
      case 15: return static_cast<int32_t>(Raw(4));
      case 16: return static_cast<int64_t>(Raw(8));
      case 17: return int64_t{1} << 32;
      case 18: return 1000;
      case 19: return 65536;
      default: return static_cast<int64_t>(Raw(1)) * 4;
    }
  }

 private:
  const uint8_t* p_;
  size_t n_;
};

// ---------------------------------------------------------------- raw SQL

// A plain sqlite3 connection (the "second connection" that damages the
// file) with its prepared statements kept for the life of the run.
class RawDb {
 public:
  explicit RawDb(const char* path) {
    Check(sqlite3_open_v2(path, &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "memdb") ==
              SQLITE_OK,
          "opening a memdb connection");
  }
  ~RawDb() {
    for (auto& [sql, st] : statements_) sqlite3_finalize(st);
    sqlite3_close(db_);
  }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  sqlite3* db() const { return db_; }
  sqlite3_stmt* Prepare(const char* sql) {
    auto it = statements_.find(sql);
    if (it != statements_.end()) return it->second;
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &st, nullptr) != SQLITE_OK) {
      std::fprintf(stderr, "prepare failed: %s: %s\n", sql, sqlite3_errmsg(db_));
      Check(false, "a raw statement does not prepare");
    }
    statements_.emplace(sql, st);
    return st;
  }

 private:
  sqlite3* db_ = nullptr;
  std::map<std::string, sqlite3_stmt*> statements_;
};

struct Param {
  enum Kind { kInt, kBlob, kText } kind;
  int64_t i = 0;
  std::string s;
};
Param P(int64_t v) { return Param{Param::kInt, v, {}}; }
Param B(std::string v) { return Param{Param::kBlob, 0, std::move(v)}; }
Param T(std::string v) { return Param{Param::kText, 0, std::move(v)}; }

// One use of a cached statement; reset on destruction (so it never holds a
// lock the vault would wait for).
class Query {
 public:
  Query(RawDb& db, const char* sql, std::initializer_list<Param> params)
      : st_(db.Prepare(sql)) {
    int at = 1;
    for (const Param& p : params) {
      if (p.kind == Param::kInt) sqlite3_bind_int64(st_, at, p.i);
      if (p.kind == Param::kBlob)
        sqlite3_bind_blob(st_, at, p.s.data(), static_cast<int>(p.s.size()), SQLITE_TRANSIENT);
      if (p.kind == Param::kText)
        sqlite3_bind_text(st_, at, p.s.data(), static_cast<int>(p.s.size()), SQLITE_TRANSIENT);
      ++at;
    }
  }
  ~Query() {
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
  }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  bool Next() { return (rc_ = sqlite3_step(st_)) == SQLITE_ROW; }
  int64_t Int(int col) const { return sqlite3_column_int64(st_, col); }
  std::string Blob(int col) const {
    const void* b = sqlite3_column_blob(st_, col);
    const int n = sqlite3_column_bytes(st_, col);
    return b == nullptr ? std::string() : std::string(static_cast<const char*>(b), static_cast<size_t>(n));
  }

 private:
  sqlite3_stmt* st_;
  int rc_ = SQLITE_OK;
};

// Runs a statement to its end; errors are part of damaging (a constraint
// may refuse a change) and are ignored.
void Exec(RawDb& db, const char* sql, std::initializer_list<Param> params) {
  Query q(db, sql, params);
  while (q.Next()) {
  }
}

// Changes whenever another connection (the vault) commits.
int64_t DataVersion(RawDb& db) {
  Query q(db, "PRAGMA data_version", {});
  Check(q.Next(), "PRAGMA data_version");
  return q.Int(0);
}

// ---------------------------------------------------------------- template

struct Ids {
  int64_t v_data = 1, v_idx = 2, w_data = 3, w_idx = 4, f = 5;
  int64_t Target(uint8_t b) const {
    switch (b % 6) {
      case 0:
      case 5: return v_idx;  // the index, most often
      case 1: return v_data;
      case 2: return w_idx;
      case 3: return w_data;
      default: return f;
    }
  }
};

std::vector<std::string> TemplateV() {
  return {"",
          "A",
          "hello, world",
          std::string(30, 'b'),
          std::string(80, 'C'),  // larger than a chunk: a chunk of its own
          "tail",
          "0123456789",
          std::string(40, 'd')};
}

// What column v holds once the template is built.
std::vector<std::string> ExpectedV() {
  std::vector<std::string> v = TemplateV();
  v[2] = "HELLO, WORLD, BIGGER NOW";  // rewritten larger: garbage left behind
  v.erase(v.begin() + 6);             // deleted
  return v;
}

// The column rows, as KohakuVault (and ColumnVault::CreateColumn) write
// them. CreateColumn itself is not called: it binds a destroyed temporary
// (NewColumnId in column_vault.cc), which ASan reports on every call.
constexpr const char* kColumnRows =
    "INSERT INTO col_meta (col_id, name, dtype, elem_size, length, chunk_bytes, "
    "min_chunk_bytes, max_chunk_bytes) VALUES "
    "(1, 'v_data', 'bytes', 1, 0, 16, 16, 64),"
    "(2, 'v_idx', 'adaptive_idx', 12, 0, 24, 24, 60),"
    "(3, 'w_data', 'bytes', 1, 0, 16, 16, 64),"
    "(4, 'w_idx', 'adaptive_idx', 12, 0, 24, 24, 60),"
    "(5, 'f', 'i32', 4, 0, 16, 16, 64);"
    "INSERT OR REPLACE INTO kohakuvault_meta (key, value) "
    "VALUES ('ambervault_last_col_id', '5');";

// The template database; the connection keeps the memdb alive.
RawDb& Template() {
  static RawDb* t = [] {
    auto* db = new RawDb(kTemplatePath);
    {  // the tables
      Result<std::unique_ptr<ColumnVault>> vr = ColumnVault::Open(kTemplatePath, Options());
      MustOk(vr.status(), "open template vault");
      MustOk((*vr)->Close(), "close template vault");
    }
    Check(sqlite3_exec(db->db(), kColumnRows, nullptr, nullptr, nullptr) == SQLITE_OK,
          "writing the template's column rows");
    Result<std::unique_ptr<ColumnVault>> vr = ColumnVault::Open(kTemplatePath, Options());
    MustOk(vr.status(), "open template vault");
    ColumnVault& vault = **vr;
    Result<Column> v = vault.GetColumn("v");
    MustOk(v.status(), "get v");
    for (const std::string& e : TemplateV()) MustOk(v->Append(e), "append v");
    const std::string bigger = ExpectedV()[2];
    const uint64_t end = bigger.size();
    MustOk(v->Write(2, bigger, {&end, 1}), "write v");
    MustOk(v->Delete(6, 1), "delete v");
    Result<Column> w = vault.GetColumn("w");
    MustOk(w.status(), "get w");
    for (const char* e : {"w0", "w-one", "w2w2w2"}) MustOk(w->Append(e), "append w");
    Result<Column> f = vault.GetColumn("f");
    MustOk(f.status(), "get f");
    for (int32_t i = 0; i < 10; ++i) {
      MustOk(f->Append(std::string_view(reinterpret_cast<const char*>(&i), 4)), "append f");
    }
    MustOk(vault.Close(), "close template vault");
    return db;
  }();
  return *t;
}

// ---------------------------------------------------------------- damage

std::optional<std::string> ChunkData(RawDb& db, int64_t col, int64_t chunk) {
  Query q(db, "SELECT CAST(data AS BLOB) FROM col_chunks WHERE col_id = ?1 AND chunk_idx = ?2",
          {P(col), P(chunk)});
  if (!q.Next()) return std::nullopt;
  return q.Blob(0);
}

void SetChunkData(RawDb& db, int64_t col, int64_t chunk, const std::string& data) {
  Exec(db, "UPDATE col_chunks SET data = ?1 WHERE col_id = ?2 AND chunk_idx = ?3",
       {B(data), P(col), P(chunk)});
}

// Overwrites bytes at `offset` of a chunk (growing it with zeros if needed).
void Patch(RawDb& db, int64_t col, int64_t chunk, size_t offset, const std::string& bytes) {
  std::optional<std::string> data = ChunkData(db, col, chunk);
  if (!data) return;
  if (data->size() < offset + bytes.size()) data->resize(offset + bytes.size(), '\0');
  data->replace(offset, bytes.size(), bytes);
  SetChunkData(db, col, chunk, *data);
}

std::string Le32(int64_t v) {
  const uint32_t u = static_cast<uint32_t>(v);
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[static_cast<size_t>(i)] = static_cast<char>(u >> (8 * i));
  return s;
}

void Damage(RawDb& db, const Ids& ids, Input* in) {
  const uint8_t op = in->Byte();
  const int64_t col = ids.Target(in->Byte());
  if (g_log) {
    std::fprintf(stderr, "damage %d on col_id %lld\n", op % 12, static_cast<long long>(col));
  }
  switch (op % 12) {
    case 0:
    case 1: {  // one field of an index entry of v or w (their stride is 60)
      const int64_t idx = (op & 0x10) ? ids.w_idx : ids.v_idx;
      const int64_t entry = in->Byte() % 12;
      const int field = in->Byte() % 3;
      const int64_t value = in->Number();
      const int64_t at = entry * 12 + field * 4;
      Patch(db, idx, at / 60, static_cast<size_t>(at % 60), Le32(value));
      if (g_log) {
        std::fprintf(stderr, "damage: idx %lld entry %lld field %d = %lld\n",
                     static_cast<long long>(idx), static_cast<long long>(entry), field,
                     static_cast<long long>(value));
      }
      return;
    }
    case 2: {  // raw bytes of a chunk
      const int64_t chunk = in->Byte() % 8;
      const size_t offset = in->Byte() % 96;
      const std::string bytes = in->Bytes(1 + in->Byte() % 12);
      Patch(db, col, chunk, offset, bytes);
      if (g_log) {
        std::fprintf(stderr, "damage: col %lld chunk %lld bytes at %zu\n",
                     static_cast<long long>(col), static_cast<long long>(chunk), offset);
      }
      return;
    }
    case 3: {  // a col_meta number
      static const char* const kSql[] = {
          "UPDATE col_meta SET length = ?1 WHERE col_id = ?2",
          "UPDATE col_meta SET min_chunk_bytes = ?1 WHERE col_id = ?2",
          "UPDATE col_meta SET max_chunk_bytes = ?1 WHERE col_id = ?2",
          "UPDATE col_meta SET elem_size = ?1 WHERE col_id = ?2",
          "UPDATE col_meta SET chunk_bytes = ?1 WHERE col_id = ?2",
          "UPDATE col_meta SET col_id = ?1 WHERE col_id = ?2",
      };
      const uint8_t which = in->Byte() % 8;
      int64_t value = in->Number();
      // Chunk sizes the engine accepts are the column's own setting, and it
      // creates chunks that large (a 1 GB one is legal): above 16 MiB they
      // are lowered to 16 MiB so the in-memory database stays small (see
      // fuzz/crashes/README.md). Larger invalid ones (> INT32_MAX) stay.
      if ((which == 1 || which == 2) && value > (int64_t{1} << 24) && value <= INT32_MAX) {
        value = int64_t{1} << 24;
      }
      // The element count is the index row's length: damage it most.
      const int64_t target = which >= 6 ? ((which & 1) ? ids.w_idx : ids.v_idx) : col;
      Exec(db, kSql[which >= 6 ? 0 : which], {P(value), P(target)});
      if (g_log) {
        std::fprintf(stderr, "damage: col_meta %d of %lld = %lld\n", which,
                     static_cast<long long>(target), static_cast<long long>(value));
      }
      return;
    }
    case 4: {  // a col_meta name or dtype
      static const char* const kTexts[] = {"bytes",  "adaptive_idx", "i32",   "str", "msgpack",
                                           "vec:f32", "v",           "v_data", "v_idx", "w_idx",
                                           "w",      "f",            "x",     "",    "i64"};
      const bool name = in->Byte() & 1;
      const char* text = kTexts[in->Byte() % 15];
      if (g_log) std::fprintf(stderr, "damage: %s = '%s'\n", name ? "name" : "dtype", text);
      Exec(db,
           name ? "UPDATE col_meta SET name = ?1 WHERE col_id = ?2"
                : "UPDATE col_meta SET dtype = ?1 WHERE col_id = ?2",
           {T(text), P(col)});
      return;
    }
    case 5: {  // a col_chunks number
      static const char* const kSql[] = {
          "UPDATE col_chunks SET bytes_used = ?1 WHERE col_id = ?2 AND chunk_idx = ?3",
          "UPDATE col_chunks SET actual_size = ?1 WHERE col_id = ?2 AND chunk_idx = ?3",
          "UPDATE col_chunks SET chunk_idx = ?1 WHERE col_id = ?2 AND chunk_idx = ?3",
          "UPDATE col_chunks SET col_id = ?1 WHERE col_id = ?2 AND chunk_idx = ?3",
      };
      const uint8_t which = in->Byte() % 4;
      const int64_t chunk = in->Byte() % 8;
      int64_t value = in->Number();
      if (which == 3) value = ids.Target(static_cast<uint8_t>(value));
      Exec(db, kSql[which], {P(value), P(col), P(chunk)});
      return;
    }
    case 6: {  // AmberVault's data cursor of a chunk
      const int64_t chunk = in->Byte() % 8;
      const int64_t used = in->Number();
      const int64_t claimed = in->Number();
      Exec(db,
           "INSERT OR REPLACE INTO ambervault_col_cursor (col_id, chunk_idx, used, claimed) "
           "VALUES (?1, ?2, ?3, ?4)",
           {P(col), P(chunk), P(used), P(claimed)});
      return;
    }
    case 7: {  // resize a chunk (cut, or grow with zeros)
      const int64_t chunk = in->Byte() % 8;
      const size_t size = in->Byte() % 200;
      std::optional<std::string> data = ChunkData(db, col, chunk);
      if (!data) return;
      data->resize(size, '\0');
      SetChunkData(db, col, chunk, *data);
      return;
    }
    case 8: {  // delete a chunk
      const int64_t chunk = in->Byte() % 8;
      Exec(db, "DELETE FROM col_chunks WHERE col_id = ?1 AND chunk_idx = ?2", {P(col), P(chunk)});
      return;
    }
    case 9: {  // add (or replace) a chunk
      const int64_t chunk = in->Number();
      const size_t size = in->Byte() % 160;
      const std::string fill(size, static_cast<char>(in->Byte()));
      const int64_t used = in->Number();
      Exec(db,
           "INSERT OR REPLACE INTO col_chunks (col_id, chunk_idx, data, actual_size, bytes_used) "
           "VALUES (?1, ?2, ?3, ?4, ?5)",
           {P(col), P(chunk), B(fill), P(static_cast<int64_t>(size)), P(used)});
      return;
    }
    case 10: {  // change the storage class of a chunk's data
      static const char* const kSql[] = {
          "UPDATE col_chunks SET data = CAST(data AS TEXT) WHERE col_id = ?1 AND chunk_idx = ?2",
          "UPDATE col_chunks SET data = data || zeroblob(8) WHERE col_id = ?1 AND chunk_idx = ?2",
          "UPDATE col_chunks SET data = 7 WHERE col_id = ?1 AND chunk_idx = ?2",
          "UPDATE col_chunks SET data = 2.5 WHERE col_id = ?1 AND chunk_idx = ?2",
          "UPDATE col_chunks SET data = 'text' WHERE col_id = ?1 AND chunk_idx = ?2",
          "UPDATE col_chunks SET data = x'' WHERE col_id = ?1 AND chunk_idx = ?2",
      };
      const uint8_t which = in->Byte() % 6;
      const int64_t chunk = in->Byte() % 8;
      Exec(db, kSql[which], {P(col), P(chunk)});
      return;
    }
    default: {  // delete rows
      static const char* const kSql[] = {
          "DELETE FROM col_meta WHERE col_id = ?1",
          "DELETE FROM ambervault_col_cursor WHERE col_id = ?1",
          "DELETE FROM col_chunks WHERE col_id = ?1",
          "DELETE FROM kohakuvault_meta WHERE ?1 = ?1",
      };
      Exec(db, kSql[in->Byte() % 4], {P(col)});
      return;
    }
  }
}

// ---------------------------------------------------------------- state

VaultState* StateOf(ColumnVault* vault) {
  return ambervault::column::VaultAccess::StateOf(vault);
}

// ---------------------------------------------------------------- calls

// Elements for Append/Write: each element's length, then its bytes.
struct Elements {
  std::string data;
  std::vector<uint64_t> ends;
};

Elements ReadElements(Input* in, size_t count, size_t fixed) {
  Elements e;
  for (size_t i = 0; i < count; ++i) {
    const size_t n = fixed != 0 ? fixed : in->Byte() % kMaxElement;
    std::string bytes = in->Bytes(n);
    bytes.resize(n, 'e');
    e.data += bytes;
    e.ends.push_back(e.data.size());
  }
  return e;
}

void CheckRead(const Column& c, const Status& s, int64_t count, const std::string& data,
               const std::vector<uint64_t>* ends) {
  if (!s.ok()) return;
  Check(count >= 0, "a read of a negative count succeeded");
  if (c.is_var_size()) {
    Check(ends->size() == static_cast<size_t>(count), "read returned another element count");
    uint64_t prev = 0;
    for (uint64_t e : *ends) {
      Check(e >= prev, "read ends decrease");
      prev = e;
    }
    Check(prev == data.size(), "read ends do not cover the data");
  } else {
    Check(data.size() == static_cast<size_t>(count) * c.elem_size(),
          "fixed read returned another size");
  }
}

struct Run {
  RawDb& raw;
  Input* in;
  std::unique_ptr<ColumnVault>& vault;  // null when (re)opening failed
  std::optional<Column> cols[3];        // v, w, f
  bool cache_on = false;                // some cache may hold pending appends
  Ids ids;
};

void LoadColumns(Run* r) {
  static const char* const kNames[] = {"v", "w", "f"};
  if (r->vault == nullptr) return;
  for (int i = 0; i < 3; ++i) {
    Result<Column> c = r->vault->GetColumn(kNames[i]);
    Log("GetColumn", c.status());
    if (g_log && c.ok()) {
      std::fprintf(stderr, "    '%s': dtype %s, elem_size %zu\n", kNames[i], c->dtype().c_str(),
                   c->elem_size());
    }
    if (c.ok()) r->cols[i].emplace(std::move(*c));
  }
}

// Closes the vault (if open) and opens it again on the damaged file.
void Reopen(Run* r) {
  if (r->vault != nullptr) {
    Status s = r->vault->Close();
    Log("Close", s);
    if (s.ok()) {
      for (auto& c : r->cols) {
        if (c) Check(c->Length().status().IsClosed(), "a column of a closed vault is usable");
      }
    }
  }
  for (auto& c : r->cols) c.reset();
  r->vault.reset();
  r->cache_on = false;
  Result<std::unique_ptr<ColumnVault>> vault = ColumnVault::Open(kWorkPath, Options());
  Log("Open", vault.status());
  if (vault.ok()) r->vault = std::move(*vault);
}

// No call may leave the vault's connection inside a transaction (memdb has
// no read lease that would).
void CheckNoTransaction(const Run& r) {
  if (r.vault == nullptr) return;
  VaultState* v = StateOf(r.vault.get());
  std::lock_guard<std::mutex> l(v->mu);
  if (v->conn != nullptr) Check(!v->conn->in_transaction(), "a call left a transaction open");
}

// A read commits nothing, whatever it returns.
template <typename Fn>
Status ReadCall(Run* r, const char* what, Fn&& fn) {
  const int64_t before = DataVersion(r->raw);
  Status s = fn();
  Log(what, s);
  Check(DataVersion(r->raw) == before, "a read committed a change");
  return s;
}

// A change that fails commits nothing (with a cache on, a flush before the
// change is its own transaction, so this is checked only without one).
template <typename Fn>
void ChangeCall(Run* r, const char* what, Fn&& fn) {
  const int64_t before = DataVersion(r->raw);
  Status s = fn();
  Log(what, s);
  if (!s.ok() && !r->cache_on) {
    Check(DataVersion(r->raw) == before, "a failed change committed something");
  }
}

void Call(Run* r) {
  Input* in = r->in;
  const uint8_t op = in->Byte();
  std::optional<Column>& slot = r->cols[(op >> 5) % 3];
  switch (op % 20) {
    case 17:  // more damage, with the vault open
      Damage(r->raw, r->ids, in);
      return;
    case 18:
      LoadColumns(r);
      return;
    case 19:
      if (r->vault == nullptr) return;
      ReadCall(r, "ListColumns", [&] { return r->vault->ListColumns().status(); });
      return;
    default:
      break;
  }
  if (!slot) return;
  Column& c = *slot;
  const size_t fixed = c.elem_size();
  switch (op % 20) {
    case 0:
      ReadCall(r, "Length", [&] {
        Result<int64_t> n = c.Length();
        if (n.ok()) Check(*n >= 0, "negative length");
        return n.status();
      });
      return;
    case 1:
    case 2: {
      const int64_t start = in->Number();
      const int64_t count = in->Number();
      std::string data;
      std::vector<uint64_t> ends;
      std::vector<uint64_t>* e = c.is_var_size() || (op & 1) ? &ends : nullptr;
      Status s = ReadCall(r, "Read", [&] { return c.Read(start, count, &data, e); });
      CheckRead(c, s, count, data, e);
      return;
    }
    case 3: {  // everything, or the last three
      Result<int64_t> n = c.Length();
      if (!n.ok()) return;
      const int64_t start = op & 0x80 ? 0 : std::max<int64_t>(*n - 3, 0);
      std::string data;
      std::vector<uint64_t> ends;
      Status s = ReadCall(r, "ReadAll", [&] { return c.Read(start, *n - start, &data, &ends); });
      CheckRead(c, s, *n - start, data, &ends);
      return;
    }
    case 4: {
      if (c.is_var_size()) {
        Check(!c.ReadInto(0, 1, nullptr).ok(), "ReadInto on a var-size column succeeded");
        return;
      }
      const int64_t start = in->Number();
      const int64_t count = in->Byte() % 16;
      std::string buf(static_cast<size_t>(count) * fixed, '\0');
      ReadCall(r, "ReadInto", [&] { return c.ReadInto(start, count, buf.data()); });
      return;
    }
    case 5:
    case 6: {
      Elements e = ReadElements(in, 1, fixed);
      ChangeCall(r, "Append", [&] { return c.Append(e.data); });
      return;
    }
    case 7: {
      Elements e = ReadElements(in, 1 + in->Byte() % 6, fixed);
      ChangeCall(r, "AppendMany", [&] { return c.AppendMany(e.data, e.ends); });
      return;
    }
    case 8:
    case 9: {
      const int64_t start = in->Number();
      Elements e = ReadElements(in, 1 + in->Byte() % 4, fixed);
      ChangeCall(r, "Write", [&] { return c.Write(start, e.data, e.ends); });
      return;
    }
    case 10: {
      const int64_t index = in->Number();
      Elements e = ReadElements(in, 1, fixed);
      ChangeCall(r, "Insert", [&] { return c.Insert(index, e.data); });
      return;
    }
    case 11: {
      const int64_t start = in->Number();
      const int64_t count = in->Number();
      ChangeCall(r, "Delete", [&] { return c.Delete(start, count); });
      return;
    }
    case 12:
      ChangeCall(r, "Compact", [&] { return c.Compact(); });
      return;
    case 13:
    case 14:
      ReadCall(r, "StorageInfo", [&] {
        Result<Column::Storage> s = c.StorageInfo();
        if (s.ok()) {
          Check(s->chunks >= 0 && s->allocated_bytes >= 0 && s->garbage_bytes >= 0,
                "negative storage numbers");
        }
        return s.status();
      });
      return;
    case 15:
      ChangeCall(r, "Clear", [&] { return c.Clear(); });
      return;
    default: {  // caches and the vault
      ambervault::ColumnCacheOptions o;
      o.cap_bytes = 1 + in->Byte() % 200;
      o.flush_threshold = 1 + in->Byte() % 200;
      switch (in->Byte() % 7) {
        case 0:
          Log("EnableCache", c.EnableCache(o));
          r->cache_on = true;
          return;
        case 1:
          Log("DisableCache", c.DisableCache());
          return;
        case 2:
          Log("FlushCache", c.FlushCache().status());
          return;
        case 3:
          Log("VaultCache", r->vault->EnableCache(o));
          r->cache_on = true;
          return;
        case 4:
          Log("VaultFlush", r->vault->FlushCache().status());
          return;
        case 5:
          Log("Checkpoint", r->vault->Checkpoint());
          return;
        default:
          Reopen(r);
          LoadColumns(r);
          return;
      }
    }
  }
}

// Without damage the vault reads back the template.
void CheckTemplate(Run* r) {
  const std::vector<std::string> want = ExpectedV();
  Check(r->cols[0].has_value(), "template column v does not load");
  std::string data;
  std::vector<uint64_t> ends;
  MustOk(r->cols[0]->Read(0, static_cast<int64_t>(want.size()), &data, &ends), "template read");
  std::string all;
  for (const std::string& e : want) all += e;
  Check(data == all && ends.size() == want.size(), "template reads back differently");
}

// The database the runs damage, restored from the template before each
// run through plain SQL (the schema never changes, so neither connection
// parses it again and every statement stays prepared).
RawDb& Work() {
  static RawDb* w = [] {
    RawDb& tmpl = Template();
    auto* db = new RawDb(kWorkPath);
    sqlite3_backup* b = sqlite3_backup_init(db->db(), "main", tmpl.db(), "main");
    Check(b != nullptr, "backup init");
    Check(sqlite3_backup_step(b, -1) == SQLITE_DONE, "backup step");
    Check(sqlite3_backup_finish(b) == SQLITE_OK, "backup finish");
    const std::string attach =
        std::string("ATTACH DATABASE 'file:") + kTemplatePath + "?vfs=memdb' AS t";
    Check(sqlite3_exec(db->db(), attach.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK,
          "attaching the template");
    return db;
  }();
  return *w;
}

void Restore(RawDb& db) {
  static const char* const kSql[] = {
      "BEGIN IMMEDIATE",
      "DELETE FROM main.col_meta",
      "DELETE FROM main.col_chunks",
      "DELETE FROM main.ambervault_col_cursor",
      "DELETE FROM main.kohakuvault_meta",
      "INSERT INTO main.col_meta SELECT * FROM t.col_meta",
      "INSERT INTO main.col_chunks (rowid, col_id, chunk_idx, data, actual_size, bytes_used, "
      "has_deleted, start_elem_idx, end_elem_idx) SELECT rowid, * FROM t.col_chunks",
      "INSERT INTO main.ambervault_col_cursor SELECT * FROM t.ambervault_col_cursor",
      "INSERT INTO main.kohakuvault_meta SELECT * FROM t.kohakuvault_meta",
      "COMMIT",
  };
  for (const char* sql : kSql) {
    Query q(db, sql, {});
    q.Next();
    Check(sqlite3_errcode(db.db()) == SQLITE_OK || sqlite3_errcode(db.db()) == SQLITE_DONE,
          "restoring the template");
  }
}

// Forgets what the vault learned in the last run (its columns and their
// pending appends, the vault-wide cache options), as a fresh ColumnVault
// on the same connection.
void ResetVault(ColumnVault* vault) {
  VaultState* v = StateOf(vault);
  std::lock_guard<std::mutex> l(v->mu);
  v->columns.clear();
  v->vault_cache.reset();
  v->cache_locks = 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool init = [] {
    g_log = std::getenv("AVFUZZ_LOG") != nullptr;
    return true;
  }();
  (void)init;
  // One vault for all runs (opening one costs more than a run); byte 0
  // with bits 0x70 all set, and the Reopen call, open it again on the
  // damaged file.
  static std::unique_ptr<ColumnVault>* vault = new std::unique_ptr<ColumnVault>;
  RawDb& raw = Work();
  Restore(raw);
  Input in(data, size);
  Run r{raw, &in, *vault, {}, false, Ids{}};
  const uint8_t first = in.Byte();
  const int damage = first & 15;
  for (int i = 0; i < damage && !in.empty(); ++i) Damage(raw, r.ids, &in);

  if (*vault == nullptr || (first & 0x70) == 0x70) Reopen(&r);
  LoadColumns(&r);
  if (r.vault != nullptr) {
    if (damage == 0) CheckTemplate(&r);
    for (int i = 0; i < kMaxCalls && !in.empty() && r.vault != nullptr; ++i) {
      Call(&r);
      CheckNoTransaction(r);
    }
  }
  // What the next run must not see: this run's columns and caches.
  for (auto& c : r.cols) c.reset();
  if (r.vault != nullptr) ResetVault(r.vault.get());
  return 0;
}
