// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// Streaming values in and out through SQLite's incremental blob I/O, with
// memory bounded by the chunk size whatever the value size.

#include <cstdio>
#include <memory>
#include <vector>

#include "ambervault/kvault.h"
#include "kv/kvault_rep.h"
#include "sqlite/blob.h"
#include "sqlite/retry.h"
#include "sqlite/statement.h"
#include "sqlite/transaction.h"

namespace ambervault {

using sqlite::Blob;
using sqlite::Statement;
using sqlite::StatementUse;
using sqlite::Transaction;

namespace {

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
using TempFile = std::unique_ptr<FILE, FileCloser>;

// Reads `reader` to its end into an anonymous temporary file (so that a
// stream of unknown length needs no memory beyond one chunk). Fails with
// InvalidArgument once it passes `limit` bytes.
Status SpoolToTempFile(const StreamReader& reader, std::vector<char>* buffer,
                       uint64_t limit, TempFile* file, uint64_t* total) {
  TempFile tmp(std::tmpfile());
  if (!tmp) return Status::IOError("cannot create a temporary spool file");
  *total = 0;
  for (;;) {
    size_t got = 0;
    AMBERVAULT_RETURN_IF_ERROR(reader(buffer->data(), buffer->size(), &got));
    if (got == 0) break;
    if (got > buffer->size()) {
      return Status::InvalidArgument("reader produced more bytes than asked");
    }
    *total += got;
    if (*total > limit) {
      return Status::InvalidArgument("streamed value exceeds the limit of " +
                                     std::to_string(limit) + " bytes");
    }
    if (std::fwrite(buffer->data(), 1, got, tmp.get()) != got) {
      return Status::IOError("cannot write the temporary spool file");
    }
  }
  if (std::fflush(tmp.get()) != 0 || std::fseek(tmp.get(), 0, SEEK_SET) != 0) {
    return Status::IOError("cannot rewind the temporary spool file");
  }
  *file = std::move(tmp);
  return Status::OK();
}

}  // namespace

Result<std::optional<int64_t>> KVault::Rep::RowidLocked(std::string_view key) {
  AMBERVAULT_ASSIGN_OR_RETURN(Statement * find, conn->Prepare(sql_rowid));
  StatementUse use(find);
  AMBERVAULT_RETURN_IF_ERROR(find->BindBlob(1, key));
  AMBERVAULT_ASSIGN_OR_RETURN(bool row, find->Step());
  if (!row) return std::optional<int64_t>();
  return std::optional<int64_t>(find->ColumnInt64(0));
}

Status KVault::PutStream(std::string_view key, const StreamReader& reader,
                         std::optional<uint64_t> size, size_t chunk_size) {
  Rep* rep = rep_.get();
  if (rep->InForkedChild()) return Rep::ForkedChildError();
  if (chunk_size == 0) chunk_size = rep->options.chunk_size;
  if (chunk_size > (1u << 30)) {
    return Status::InvalidArgument("chunk_size must be at most 2**30 bytes");
  }
  int64_t max_length;
  {
    std::lock_guard<std::mutex> l(rep->mu);
    AMBERVAULT_RETURN_IF_ERROR(rep->CheckUsableLocked());
    max_length = rep->max_length;
  }
  std::vector<char> buffer(chunk_size);

  // A stream of unknown length is spooled first: the blob must be sized
  // before it is written.
  TempFile spool;
  StreamReader spool_reader;
  const StreamReader* source = &reader;
  if (!size) {
    uint64_t total = 0;
    AMBERVAULT_RETURN_IF_ERROR(SpoolToTempFile(
        reader, &buffer, static_cast<uint64_t>(max_length), &spool, &total));
    size = total;
    spool_reader = [f = spool.get()](char* buf, size_t cap, size_t* got) {
      *got = std::fread(buf, 1, cap, f);
      if (*got == 0 && std::ferror(f)) {
        return Status::IOError("cannot read the temporary spool file");
      }
      return Status::OK();
    };
    source = &spool_reader;
  }
  const uint64_t total = *size;
  {
    std::lock_guard<std::mutex> l(rep->mu);
    AMBERVAULT_RETURN_IF_ERROR(rep->CheckSizes(key, total));
  }

  bool consumed = false;  // the reader cannot be replayed by a retry
  return sqlite::RetryOnBusy(
      rep->options.retry,
      [&]() -> Status {
        std::lock_guard<std::mutex> l(rep->mu);
        AMBERVAULT_RETURN_IF_ERROR(rep->CheckUsableLocked());
        sqlite::Connection* conn = rep->conn.get();
        AMBERVAULT_ASSIGN_OR_RETURN(
            Transaction txn,
            Transaction::Begin(conn, Transaction::Mode::kImmediate));
        int64_t rowid;
        {
          AMBERVAULT_ASSIGN_OR_RETURN(Statement * put,
                                      conn->Prepare(rep->sql_put_zeroblob));
          StatementUse use(put);
          AMBERVAULT_RETURN_IF_ERROR(put->BindBlob(1, key));
          AMBERVAULT_RETURN_IF_ERROR(
              put->BindInt64(2, static_cast<int64_t>(total)));
          AMBERVAULT_RETURN_IF_ERROR(put->Exec());
        }
        AMBERVAULT_ASSIGN_OR_RETURN(std::optional<int64_t> found,
                                    rep->RowidLocked(key));
        if (!found) return Status::Internal("streamed row vanished");
        rowid = *found;
        if (total > 0) {
          AMBERVAULT_ASSIGN_OR_RETURN(
              Blob blob, Blob::Open(conn, rep->options.table, "value", rowid,
                                    /*writable=*/true));
          uint64_t done = 0;
          consumed = true;
          while (done < total) {
            size_t want = static_cast<size_t>(
                std::min<uint64_t>(buffer.size(), total - done));
            size_t got = 0;
            AMBERVAULT_RETURN_IF_ERROR((*source)(buffer.data(), want, &got));
            if (got == 0) {
              return Status::IOError(
                  "short read: the reader ended after " +
                  std::to_string(done) + " of " + std::to_string(total) +
                  " bytes; nothing was stored");
            }
            if (got > want) {
              return Status::InvalidArgument(
                  "reader produced more bytes than asked");
            }
            AMBERVAULT_RETURN_IF_ERROR(blob.Write(
                buffer.data(), static_cast<int>(got), static_cast<int>(done)));
            done += got;
          }
        }
        AMBERVAULT_RETURN_IF_ERROR(txn.Commit());
        // The streamed value is newer than anything pending for this key.
        rep->cache.Erase(key);
        return Status::OK();
      },
      &consumed);
}

Result<uint64_t> KVault::GetStream(std::string_view key,
                                   const StreamWriter& writer,
                                   size_t chunk_size) {
  Rep* rep = rep_.get();
  if (rep->InForkedChild()) return Rep::ForkedChildError();
  if (chunk_size == 0) chunk_size = rep->options.chunk_size;
  if (chunk_size > (1u << 30)) {
    return Status::InvalidArgument("chunk_size must be at most 2**30 bytes");
  }
  bool started = false;  // the writer has seen bytes: no retry
  return sqlite::RetryOnBusy(
      rep->options.retry,
      [&]() -> Result<uint64_t> {
        std::lock_guard<std::mutex> l(rep->mu);
        AMBERVAULT_RETURN_IF_ERROR(rep->CheckUsableLocked());
        if (const std::string* pending = rep->cache.Find(key)) {
          std::string_view v(*pending);
          started = true;
          for (size_t off = 0; off < v.size(); off += chunk_size) {
            AMBERVAULT_RETURN_IF_ERROR(writer(v.substr(off, chunk_size)));
          }
          return static_cast<uint64_t>(v.size());
        }
        sqlite::Connection* conn = rep->conn.get();
        // One read transaction keeps the row stable while it is streamed.
        AMBERVAULT_ASSIGN_OR_RETURN(
            Transaction txn,
            Transaction::Begin(conn, Transaction::Mode::kDeferred));
        AMBERVAULT_ASSIGN_OR_RETURN(std::optional<int64_t> rowid,
                                    rep->RowidLocked(key));
        if (!rowid) return Status::NotFound("key not found");
        AMBERVAULT_ASSIGN_OR_RETURN(
            Blob blob, Blob::Open(conn, rep->options.table, "value", *rowid,
                                  /*writable=*/false));
        const uint64_t total = static_cast<uint64_t>(blob.size());
        std::vector<char> buffer(
            static_cast<size_t>(std::min<uint64_t>(chunk_size, total)));
        uint64_t done = 0;
        while (done < total) {
          size_t n = static_cast<size_t>(
              std::min<uint64_t>(buffer.size(), total - done));
          AMBERVAULT_RETURN_IF_ERROR(blob.Read(
              buffer.data(), static_cast<int>(n), static_cast<int>(done)));
          started = true;
          AMBERVAULT_RETURN_IF_ERROR(
              writer(std::string_view(buffer.data(), n)));
          done += n;
        }
        blob.Close();
        AMBERVAULT_RETURN_IF_ERROR(txn.Commit());
        return total;
      },
      &started);
}

}  // namespace ambervault
