// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// Binds ambervault::KVault as ambervault._core.KVault. The Python class
// ambervault.KVault subclasses it and adds only protocol sugar (context
// managers, repr, path handling).
//
// GIL: every call into the core runs with the GIL released. Callbacks into
// Python (stream readers and writers) re-acquire it. The core never waits
// on its mutex while holding the GIL, because every entry point releases the
// GIL first; that is what makes the re-acquire deadlock-free.

#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/unique_ptr.h>
#include <nanobind/stl/vector.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "ambervault/kvault.h"
#include "ambervault/write_batch.h"
#include "errors.h"
#include "kv_values.h"
#include "py_util.h"

namespace ambervault::python {

namespace {

namespace nb = nanobind;
using namespace nb::literals;
using nb::gil_scoped_acquire;
using nb::gil_scoped_release;

// ------------------------------------------------------------ arguments

// Bytes of a key: bytes are used as they are, str is encoded as UTF-8 (so
// "a" and b"a" name one key). The view borrows from the Python object.
std::string_view KeyBytes(nb::handle key) {
  PyObject* o = key.ptr();
  if (PyBytes_Check(o)) {
    return std::string_view(PyBytes_AS_STRING(o),
                            static_cast<size_t>(PyBytes_GET_SIZE(o)));
  }
  if (PyUnicode_Check(o)) {
    Py_ssize_t size = 0;
    const char* data = PyUnicode_AsUTF8AndSize(o, &size);
    if (data == nullptr) {
      PyErr_Clear();
      RaiseInvalidArgument("key is not encodable as UTF-8: " +
                           std::string(nb::repr(key).c_str()));
    }
    return std::string_view(data, static_cast<size_t>(size));
  }
  RaiseInvalidType(std::string("key must be str or bytes, not ") +
                   Py_TYPE(o)->tp_name);
}

nb::bytes ToBytes(std::string_view s) { return nb::bytes(s.data(), s.size()); }

// A per-thread buffer that values are read into before they are copied into
// a bytes object: no allocation per read. Buffers that grew past 1 MiB are
// released after use so one huge value does not stay resident.
class ReadBuffer {
 public:
  ReadBuffer() : buffer_(Buffer()) {}
  ~ReadBuffer() {
    if (buffer_.capacity() > (1u << 20)) std::string().swap(buffer_);
  }
  std::string* get() { return &buffer_; }

 private:
  static std::string& Buffer() {
    thread_local std::string buffer;
    return buffer;
  }
  std::string& buffer_;
};

// ------------------------------------------------------------ the object

class PyKVault {
 public:
  PyKVault(const std::string& path, const std::string& table,
           int64_t chunk_size, int retries, double backoff_base,
           bool enable_wal, int page_size, int64_t mmap_size, int64_t cache_kb,
           double busy_timeout, const std::string& synchronous,
           bool read_only, int64_t value_cache_bytes) {
    KVaultOptions o;
    o.table = table;
    if (chunk_size <= 0) RaiseInvalidArgument("chunk_size must be > 0");
    o.chunk_size = static_cast<size_t>(chunk_size);
    o.retry.retries = retries;
    o.retry.backoff_base_seconds = backoff_base;
    o.open.enable_wal = enable_wal;
    o.open.page_size = page_size;
    o.open.mmap_size = mmap_size;
    o.open.cache_kb = cache_kb;
    if (!(busy_timeout >= 0) || busy_timeout > 86400) {
      RaiseInvalidArgument("busy_timeout must be from 0 to 86400 seconds");
    }
    o.open.busy_timeout_ms = static_cast<int>(busy_timeout * 1000);
    o.open.read_only = read_only;
    if (value_cache_bytes < 0) RaiseInvalidArgument("value_cache_bytes must be >= 0");
    o.value_cache_bytes = static_cast<size_t>(value_cache_bytes);
    if (synchronous == "off") {
      o.open.synchronous = Synchronous::kOff;
    } else if (synchronous == "normal") {
      o.open.synchronous = Synchronous::kNormal;
    } else if (synchronous == "full") {
      o.open.synchronous = Synchronous::kFull;
    } else if (synchronous == "extra") {
      o.open.synchronous = Synchronous::kExtra;
    } else {
      RaiseInvalidArgument("synchronous must be 'off', 'normal', 'full' or "
                           "'extra', not '" + synchronous + "'");
    }
    Result<std::unique_ptr<KVault>> opened = Status::Internal("not opened");
    {
      gil_scoped_release release;
      opened = KVault::Open(path, o);
    }
    ThrowIfError(opened.status());
    vault_ = std::move(opened).value();
  }

  ~PyKVault() {
    // Closing flushes and may wait on SQLite locks: never with the GIL.
    gil_scoped_release release;
    vault_.reset();
  }

  KVault* vault() { return vault_.get(); }
  AutoPackOptions& pack_options() { return pack_; }

  // Records a value format in the file's feature list (as KohakuVault
  // does); a read-only vault just does not record it.
  void RecordFeature(const char* feature) {
    Status s;
    {
      gil_scoped_release release;
      s = vault_->AddFeature(feature);
    }
    if (!s.IsReadOnly()) ThrowIfError(s);
  }
  const AutoPackOptions& pack_options() const { return pack_; }

  bool Closed() {
    gil_scoped_release release;  // waits on the vault's mutex
    return vault_->closed();
  }

  bool CacheEnabled() {
    CheckOpen();
    gil_scoped_release release;
    return vault_->cache_enabled();
  }

  void CheckOpen() {
    if (Closed()) {
      ThrowIfError(Status::Closed("Cannot operate on closed KVault"));
    }
  }

  // ---- kv.transaction(): while one is open, the single-key writes of the
  // thread that opened it go into a WriteBatch (committed in one SQLite
  // transaction at the end), and its single-key reads see them first.
  // Other threads, len(), iteration and scans see committed data only.
  struct Txn {
    std::thread::id owner;
    WriteBatch batch;
    // Stored bytes by key; nullopt = deleted in this transaction.
    std::unordered_map<std::string, std::optional<std::string>> overlay;
  };

  Txn* MyTxn() {
    return txn_ != nullptr && txn_->owner == std::this_thread::get_id() ? txn_.get() : nullptr;
  }

  void TxnBegin() {
    CheckOpen();
    if (txn_ != nullptr) {
      RaiseInvalidArgument("a transaction is already open on this KVault (transactions do not nest)");
    }
    txn_ = std::make_unique<Txn>();
    txn_->owner = std::this_thread::get_id();
  }

  void TxnCommit() {
    if (MyTxn() == nullptr) RaiseInvalidArgument("no transaction is open on this thread");
    std::unique_ptr<Txn> t = std::move(txn_);
    Status s;
    {
      gil_scoped_release release;
      s = vault_->Write(t->batch);
    }
    ThrowIfError(s);
  }

  void TxnRollback() {
    if (MyTxn() != nullptr) txn_.reset();
  }

  // Stored bytes of `k` in the open transaction: true with *value set (or
  // null when deleted) if the transaction wrote it.
  bool TxnLookup(Txn* t, std::string_view k, const std::optional<std::string>** value) {
    auto it = t->overlay.find(std::string(k));
    if (it == t->overlay.end()) return false;
    *value = &it->second;
    return true;
  }

  // Reads the stored bytes of `k` into *out; false if absent.
  bool ReadStored(nb::handle key, std::string_view k, std::string* out) {
    if (Txn* t = MyTxn()) {
      const std::optional<std::string>* v;
      if (TxnLookup(t, k, &v)) {
        if (!v->has_value()) return false;
        out->assign(**v);
        return true;
      }
    }
    // A value already in memory is copied without releasing the GIL (no
    // I/O, no wait: the vault mutex is only tried).
    if (vault_->TryGetCached(k, out)) return true;
    Status s;
    {
      gil_scoped_release release;
      s = vault_->Get(k, out);
    }
    if (s.IsNotFound()) return false;
    ThrowIfError(s, key);
    return true;
  }

  nb::object GetItem(nb::handle key) {
    std::string_view k = KeyBytes(key);
    ReadBuffer value;
    if (!ReadStored(key, k, value.get())) ThrowIfError(Status::NotFound("key not found"), key);
    return DecodeKvValue(pack_, *value.get());
  }

  nb::object Get(nb::handle key, nb::handle default_value) {
    std::string_view k = KeyBytes(key);
    ReadBuffer value;
    if (!ReadStored(key, k, value.get())) return nb::borrow(default_value);
    return DecodeKvValue(pack_, *value.get());
  }

  void Put(nb::handle key, nb::handle value) {
    std::string_view k = KeyBytes(key);
    EncodedValue v;
    EncodeKvValue(pack_, value, &v);
    if (Txn* t = MyTxn()) {
      t->batch.Put(k, v.view());
      t->overlay[std::string(k)] = std::string(v.view());
      return;
    }
    Status s;
    {
      gil_scoped_release release;
      s = vault_->Put(k, v.view());
    }
    ThrowIfError(s, key);
  }

  bool Delete(nb::handle key) {
    std::string_view k = KeyBytes(key);
    if (Txn* t = MyTxn()) {
      const bool existed = Exists(key);
      t->batch.Delete(k);
      t->overlay[std::string(k)] = std::nullopt;
      return existed;
    }
    Result<bool> r = false;
    {
      gil_scoped_release release;
      r = vault_->Delete(k);
    }
    ThrowIfError(r.status(), key);
    return *r;
  }

  void DelItem(nb::handle key) {
    if (!Delete(key)) ThrowIfError(Status::NotFound("key not found"), key);
  }

  bool Exists(nb::handle key) {
    std::string_view k = KeyBytes(key);
    if (Txn* t = MyTxn()) {
      const std::optional<std::string>* v;
      if (TxnLookup(t, k, &v)) return v->has_value();
    }
    Result<bool> r = false;
    {
      gil_scoped_release release;
      r = vault_->Exists(k);
    }
    ThrowIfError(r.status(), key);
    return *r;
  }

  int64_t Len() {
    Result<int64_t> r = int64_t{0};
    {
      gil_scoped_release release;
      r = vault_->Count();
    }
    ThrowIfError(r.status());
    return *r;
  }

  // pop(key[, default]): the value, removed; default (or KeyError) if absent.
  nb::object Pop(nb::handle key, nb::args rest) {
    if (rest.size() > 1) {
      RaiseInvalidType("pop() takes a key and at most one default");
    }
    std::string_view k = KeyBytes(key);
    if (MyTxn() != nullptr) {
      ReadBuffer value;
      if (!ReadStored(key, k, value.get())) {
        if (rest.size() == 1) return nb::borrow(rest[0]);
        ThrowIfError(Status::NotFound("key not found"), key);
      }
      nb::object decoded = DecodeKvValue(pack_, *value.get());
      Delete(key);
      return decoded;
    }
    Result<std::string> r = Status::Internal("not run");
    {
      gil_scoped_release release;
      r = vault_->Take(k);
    }
    if (r.status().IsNotFound() && rest.size() == 1) return nb::borrow(rest[0]);
    ThrowIfError(r.status(), key);
    return DecodeKvValue(pack_, *r);
  }

  nb::object SetDefault(nb::handle key, nb::handle default_value) {
    std::string_view k = KeyBytes(key);
    EncodedValue v;
    EncodeKvValue(pack_, default_value, &v);
    if (Txn* t = MyTxn()) {
      ReadBuffer value;
      if (ReadStored(key, k, value.get())) return DecodeKvValue(pack_, *value.get());
      t->batch.Put(k, v.view());
      t->overlay[std::string(k)] = std::string(v.view());
      return DecodeKvValue(pack_, v.view());
    }
    Result<std::optional<std::string>> r = Status::Internal("not run");
    {
      gil_scoped_release release;
      r = vault_->PutIfAbsent(k, v.view());
    }
    ThrowIfError(r.status(), key);
    // What a read returns: the stored value, or the one just stored as it
    // reads back (a bytearray as bytes, a tuple as a list).
    return DecodeKvValue(pack_, r->has_value() ? std::string_view(**r) : v.view());
  }

  // update(): all pairs in one transaction (or into the open one).
  void Update(nb::handle other, nb::kwargs kwargs) {
    WriteBatch batch;
    if (other.is_valid() && !other.is_none()) AddPairs(other, &batch);
    for (auto [k, v] : kwargs) AddPair(k, v, &batch);
    ApplyBatch(batch);
  }

  void Clear() {
    if (MyTxn() != nullptr) RaiseInvalidArgument("clear() is not available inside a transaction");
    Status s;
    {
      gil_scoped_release release;
      s = vault_->Clear();
    }
    ThrowIfError(s);
  }

  // ---- batch calls: one native call, one transaction.

  void AddPair(nb::handle key, nb::handle value, WriteBatch* batch) {
    std::string_view k = KeyBytes(key);
    EncodedValue v;
    EncodeKvValue(pack_, value, &v);
    batch->Put(k, v.view());
  }

  // A mapping (its items()) or an iterable of (key, value) pairs.
  void AddPairs(nb::handle pairs, WriteBatch* batch) {
    nb::object items = nb::hasattr(pairs, "keys") ? nb::object(pairs.attr("items")()) : nb::borrow(pairs);
    nb::object seq = nb::steal(PySequence_Fast(items.ptr(), "expected a mapping or an iterable of (key, value) pairs"));
    if (!seq.is_valid()) throw nb::python_error();
    const Py_ssize_t n = PySequence_Fast_GET_SIZE(seq.ptr());
    for (Py_ssize_t i = 0; i < n; ++i) {
      PyObject* pair = PySequence_Fast_GET_ITEM(seq.ptr(), i);
      if ((!PyTuple_Check(pair) && !PyList_Check(pair)) || PySequence_Size(pair) != 2) {
        RaiseInvalidArgument("expected (key, value) pairs; item " + std::to_string(i) + " is not one");
      }
      nb::object kv = nb::steal(PySequence_Fast(pair, "pair"));
      AddPair(PySequence_Fast_GET_ITEM(kv.ptr(), 0), PySequence_Fast_GET_ITEM(kv.ptr(), 1), batch);
    }
  }

  // Applies `batch` atomically (or adds it to the open transaction).
  void ApplyBatch(const WriteBatch& batch) {
    if (Txn* t = MyTxn()) {
      for (const WriteBatch::Op& op : batch) {
        if (op.is_put()) {
          t->batch.Put(op.key, op.value);
          t->overlay[op.key] = op.value;
        } else {
          t->batch.Delete(op.key);
          t->overlay[op.key] = std::nullopt;
        }
      }
      return;
    }
    if (batch.empty()) return;
    Status s;
    {
      gil_scoped_release release;
      s = vault_->Write(batch);
    }
    ThrowIfError(s);
  }

  void PutMany(nb::handle pairs) {
    WriteBatch batch;
    AddPairs(pairs, &batch);
    ApplyBatch(batch);
  }

  // Keys of an iterable, as views into the key objects `*holder` keeps alive.
  std::vector<std::string_view> ReadKeys(nb::handle keys, nb::object* holder) {
    if (PyUnicode_Check(keys.ptr()) || PyBytes_Check(keys.ptr())) {
      RaiseInvalidType("expected an iterable of keys, not a single str or bytes");
    }
    *holder = nb::steal(PySequence_Fast(keys.ptr(), "expected an iterable of str or bytes keys"));
    if (!holder->is_valid()) throw nb::python_error();
    const Py_ssize_t n = PySequence_Fast_GET_SIZE(holder->ptr());
    std::vector<std::string_view> out;
    out.reserve(static_cast<size_t>(n));
    for (Py_ssize_t i = 0; i < n; ++i) out.push_back(KeyBytes(PySequence_Fast_GET_ITEM(holder->ptr(), i)));
    return out;
  }

  nb::list GetMany(nb::handle keys, nb::handle default_value) {
    nb::object holder;
    std::vector<std::string_view> ks = ReadKeys(keys, &holder);
    Result<std::vector<std::optional<std::string>>> r = std::vector<std::optional<std::string>>();
    {
      gil_scoped_release release;
      r = vault_->GetMany(ks);
    }
    ThrowIfError(r.status());
    Txn* t = MyTxn();
    nb::list out;
    for (size_t i = 0; i < ks.size(); ++i) {
      const std::optional<std::string>* v = &(*r)[i];
      const std::optional<std::string>* pending;
      if (t != nullptr && TxnLookup(t, ks[i], &pending)) v = pending;
      out.append(v->has_value() ? DecodeKvValue(pack_, **v) : nb::borrow(default_value));
    }
    return out;
  }

  int64_t DeleteMany(nb::handle keys) {
    nb::object holder;
    std::vector<std::string_view> ks = ReadKeys(keys, &holder);
    if (MyTxn() != nullptr) {
      int64_t n = 0;
      for (size_t i = 0; i < ks.size(); ++i) n += Delete(PySequence_Fast_GET_ITEM(holder.ptr(), i)) ? 1 : 0;
      return n;
    }
    Result<int64_t> r = int64_t{0};
    {
      gil_scoped_release release;
      r = vault_->DeleteMany(ks);
    }
    ThrowIfError(r.status());
    return *r;
  }

  // ---- partial and zero-copy reads (stored bytes; auto-pack does not apply).

  int64_t ValueSize(nb::handle key) {
    std::string_view k = KeyBytes(key);
    Result<size_t> r = size_t{0};
    {
      gil_scoped_release release;
      r = vault_->ValueSize(k);
    }
    ThrowIfError(r.status(), key);
    return static_cast<int64_t>(*r);
  }

  int64_t ReadInto(nb::handle key, nb::handle buffer, int64_t offset) {
    std::string_view k = KeyBytes(key);
    if (offset < 0) RaiseInvalidArgument("offset must be >= 0");
    Py_buffer view;
    if (PyObject_GetBuffer(buffer.ptr(), &view, PyBUF_WRITABLE) != 0) {
      PyErr_Clear();
      RaiseInvalidType(std::string("buffer must be a writable contiguous buffer (bytearray, memoryview, "
                                   "numpy array), not ") + Py_TYPE(buffer.ptr())->tp_name);
    }
    Result<size_t> r = size_t{0};
    {
      gil_scoped_release release;
      r = vault_->ReadInto(k, static_cast<char*>(view.buf), static_cast<size_t>(view.len),
                           static_cast<size_t>(offset));
    }
    PyBuffer_Release(&view);
    ThrowIfError(r.status(), key);
    return static_cast<int64_t>(*r);
  }

  std::unique_ptr<ValueReader> OpenReader(nb::handle key) {
    std::string_view k = KeyBytes(key);
    Result<std::unique_ptr<ValueReader>> r = Status::Internal("not run");
    {
      gil_scoped_release release;
      r = vault_->OpenValue(k);
    }
    ThrowIfError(r.status(), key);
    return std::move(r).value();
  }

  // The stored bytes in one copy (SQLite's blob straight into the bytes
  // object), as a snapshot.
  nb::object GetBuffer(nb::handle key) {
    std::unique_ptr<ValueReader> reader = OpenReader(key);
    const uint64_t size = reader->size();
    PyObject* b = PyBytes_FromStringAndSize(nullptr, static_cast<Py_ssize_t>(size));
    if (b == nullptr) throw nb::python_error();
    nb::object bytes = nb::steal(b);
    size_t done = 0;
    Status s;
    {
      gil_scoped_release release;
      while (s.ok() && done < size) {
        size_t got = 0;
        s = reader->ReadAt(done, static_cast<size_t>(size - done), PyBytes_AS_STRING(b) + done, &got);
        if (s.ok() && got == 0) s = Status::Internal("short read");
        done += got;
      }
    }
    ThrowIfError(s, key);
    return bytes;
  }

  void PutStream(nb::handle key, nb::object reader, std::optional<int64_t> size,
                 std::optional<int64_t> chunk_size) {
    std::string_view k = KeyBytes(key);
    if (size && *size < 0) RaiseInvalidArgument("size must be >= 0");
    if (chunk_size && *chunk_size <= 0) {
      RaiseInvalidArgument("chunk_size must be > 0");
    }
    if (!nb::hasattr(reader, "read")) {
      RaiseInvalidType(std::string("reader must have a read() method, not ") +
                       Py_TYPE(reader.ptr())->tp_name);
    }
    nb::object read = reader.attr("read");
    // An exception raised by the reader is kept and re-raised as itself.
    std::optional<nb::python_error> reader_error;
    StreamReader fn = [&](char* buf, size_t cap, size_t* got) -> Status {
      gil_scoped_acquire acquire;
      try {
        nb::object piece = read(cap);
        if (piece.is_none()) {
          return Status::IOError("reader.read() returned None");
        }
        if (PyUnicode_Check(piece.ptr()) ||
            !PyObject_CheckBuffer(piece.ptr())) {
          return Status::IOError(
              std::string("reader.read() must return bytes, not ") +
              Py_TYPE(piece.ptr())->tp_name);
        }
        InputBytes bytes(piece, "value");
        if (bytes.view().size() > cap) {
          return Status::IOError("reader.read(n) returned more than n bytes");
        }
        std::memcpy(buf, bytes.view().data(), bytes.view().size());
        *got = bytes.view().size();
        return Status::OK();
      } catch (nb::python_error& e) {
        reader_error.emplace(std::move(e));
        return Status::IOError("reader.read() raised an exception");
      }
    };
    Status s;
    {
      gil_scoped_release release;
      std::optional<uint64_t> n;
      if (size) n = static_cast<uint64_t>(*size);
      s = vault_->PutStream(k, fn, n,
                            chunk_size ? static_cast<size_t>(*chunk_size) : 0);
    }
    if (reader_error) throw std::move(*reader_error);
    ThrowIfError(s, key);
  }

  int64_t GetStream(nb::handle key, nb::object writer,
                    std::optional<int64_t> chunk_size) {
    std::string_view k = KeyBytes(key);
    if (chunk_size && *chunk_size <= 0) {
      RaiseInvalidArgument("chunk_size must be > 0");
    }
    if (!nb::hasattr(writer, "write")) {
      RaiseInvalidType(std::string("writer must have a write() method, not ") +
                       Py_TYPE(writer.ptr())->tp_name);
    }
    nb::object write = writer.attr("write");
    std::optional<nb::python_error> writer_error;
    StreamWriter fn = [&](std::string_view piece) -> Status {
      gil_scoped_acquire acquire;
      try {
        write(ToBytes(piece));
        return Status::OK();
      } catch (nb::python_error& e) {
        writer_error.emplace(std::move(e));
        return Status::IOError("writer.write() raised an exception");
      }
    };
    Result<uint64_t> r = uint64_t{0};
    {
      gil_scoped_release release;
      r = vault_->GetStream(
          k, fn, chunk_size ? static_cast<size_t>(*chunk_size) : 0);
    }
    if (writer_error) throw std::move(*writer_error);
    ThrowIfError(r.status(), key);
    return static_cast<int64_t>(*r);
  }

  void EnableCache(int64_t cap_bytes, int64_t flush_threshold,
                   std::optional<double> flush_interval) {
    if (cap_bytes <= 0) RaiseInvalidArgument("cap_bytes must be > 0");
    if (flush_threshold < 0) RaiseInvalidArgument("flush_threshold must be >= 0");
    if (flush_interval && !(*flush_interval > 0)) {
      RaiseInvalidArgument("flush_interval must be > 0 seconds (or None)");
    }
    CacheOptions o;
    o.cap_bytes = static_cast<size_t>(cap_bytes);
    o.flush_threshold = static_cast<size_t>(flush_threshold);
    o.flush_interval_seconds = flush_interval.value_or(0);
    Status s;
    {
      gil_scoped_release release;
      s = vault_->EnableCache(o);
    }
    ThrowIfError(s);
  }

  void DisableCache() { Call([&] { return vault_->DisableCache(); }); }

  int64_t FlushCache() {
    Result<size_t> r = size_t{0};
    {
      gil_scoped_release release;
      r = vault_->FlushCache();
    }
    ThrowIfError(r.status());
    return static_cast<int64_t>(*r);
  }

  void Checkpoint() { Call([&] { return vault_->Checkpoint(); }); }
  void Optimize() { Call([&] { return vault_->Optimize(); }); }
  void Close() { Call([&] { return vault_->Close(); }); }

 private:
  template <typename Fn>
  void Call(Fn&& fn) {
    Status s;
    {
      gil_scoped_release release;
      s = fn();
    }
    ThrowIfError(s);
  }

  std::unique_ptr<KVault> vault_;
  AutoPackOptions pack_;
  std::unique_ptr<Txn> txn_;  // the open transaction, if any (guarded by the GIL)
};

// ------------------------------------------------------------ iteration

// Iterates keys, values or (key, value) pairs in key order, fetching pages
// from the core with the GIL released. Holds a reference to the vault.
class PyKVaultIterator {
 public:
  enum class Kind { kKeys, kValues, kItems };

  PyKVaultIterator(nb::object owner, std::unique_ptr<KVault::Cursor> cursor,
                   Kind kind, std::optional<int64_t> limit, AutoPackOptions pack)
      : owner_(std::move(owner)),
        pack_(pack),
        cursor_(std::move(cursor)),
        kind_(kind),
        remaining_(limit.value_or(-1)) {}

  nb::object Next() {
    // One iterator shared by threads: serialize, never waiting with the GIL.
    std::unique_lock<std::mutex> lock(mu_, std::defer_lock);
    if (!lock.try_lock()) {
      gil_scoped_release release;
      lock.lock();
    }
    if (remaining_ == 0) throw nb::stop_iteration();
    if (pos_ == keys_.size()) {
      Status s;
      {
        gil_scoped_release release;
        s = cursor_->NextPage(&keys_, &values_);
      }
      ThrowIfError(s);
      pos_ = 0;
      if (keys_.empty()) {
        remaining_ = 0;
        throw nb::stop_iteration();
      }
    }
    size_t i = pos_++;
    if (remaining_ > 0) --remaining_;
    switch (kind_) {
      case Kind::kKeys:
        return ToBytes(keys_[i]);
      case Kind::kValues:
        return DecodeKvValue(pack_, values_[i]);
      case Kind::kItems:
        return nb::make_tuple(ToBytes(keys_[i]), DecodeKvValue(pack_, values_[i]));
    }
    return nb::none();
  }

  ~PyKVaultIterator() {
    gil_scoped_release release;
    cursor_.reset();
  }

 private:
  std::mutex mu_;
  nb::object owner_;
  AutoPackOptions pack_;  // as the vault's when the iterator was made
  std::unique_ptr<KVault::Cursor> cursor_;
  Kind kind_;
  int64_t remaining_;  // -1: unlimited
  std::vector<std::string> keys_, values_;
  size_t pos_ = 0;
};

// An iterator over keys, values or items: those starting with `prefix`, or
// (start/stop/reverse) the half-open range [start, stop) in either order.
PyKVaultIterator* MakeIterator(nb::handle self, PyKVault& kv, nb::handle prefix,
                               PyKVaultIterator::Kind kind, std::optional<int64_t> limit,
                               nb::handle start = nb::none(), nb::handle stop = nb::none(),
                               bool reverse = false) {
  if (limit && *limit < 0) RaiseInvalidArgument("limit must be >= 0");
  kv.CheckOpen();
  const bool with_values = kind != PyKVaultIterator::Kind::kKeys;
  const size_t page = with_values ? 256 : 1024;
  const bool ranged = !start.is_none() || !stop.is_none() || reverse;
  std::unique_ptr<KVault::Cursor> cursor;
  if (ranged) {
    if (prefix.is_valid() && !prefix.is_none()) {
      RaiseInvalidArgument("give either prefix or start/stop/reverse, not both");
    }
    RangeOptions o;
    if (!start.is_none()) o.start = std::string(KeyBytes(start));
    if (!stop.is_none()) o.stop = std::string(KeyBytes(stop));
    o.reverse = reverse;
    o.with_values = with_values;
    o.page_size = page;
    cursor = kv.vault()->NewRangeCursor(o);
  } else {
    std::string p;
    if (prefix.is_valid() && !prefix.is_none()) p = std::string(KeyBytes(prefix));
    cursor = kv.vault()->NewCursor(p, with_values, page);
  }
  return new PyKVaultIterator(nb::borrow(self), std::move(cursor), kind, limit, kv.pack_options());
}

}  // namespace

void RegisterKVault(nb::module_& m) {
  using Kind = PyKVaultIterator::Kind;
  nb::class_<ValueReader>(m, "ValueReader",
                          "A snapshot reader over one stored value (see KVault.open).")
      .def_prop_ro("size", [](const ValueReader& r) { return r.size(); })
      .def(
          "readinto_at",
          [](ValueReader& r, uint64_t offset, nb::handle buffer) {
            Py_buffer view;
            if (PyObject_GetBuffer(buffer.ptr(), &view, PyBUF_WRITABLE) != 0) {
              PyErr_Clear();
              RaiseInvalidType("buffer must be a writable contiguous buffer");
            }
            size_t got = 0;
            Status s;
            {
              gil_scoped_release release;
              s = r.ReadAt(offset, static_cast<size_t>(view.len), static_cast<char*>(view.buf), &got);
            }
            PyBuffer_Release(&view);
            ThrowIfError(s);
            return got;
          },
          "offset"_a, "buffer"_a, nb::sig("def readinto_at(self, offset: int, buffer: typing.Any) -> int"),
          "Copy bytes from `offset` into `buffer`; returns the count (0 at the end).");

  nb::class_<PyKVaultIterator>(m, "KVaultIterator")
      .def("__iter__", [](nb::handle self) { return nb::borrow(self); },
           nb::sig("def __iter__(self) -> KVaultIterator"))
      .def("__next__", &PyKVaultIterator::Next,
           nb::sig("def __next__(self) -> typing.Any"));

  nb::class_<PyKVault>(m, "KVault")
      .def(nb::init<const std::string&, const std::string&, int64_t, int,
                    double, bool, int, int64_t, int64_t, double,
                    const std::string&, bool, int64_t>(),
           nb::arg("path"), nb::kw_only(), nb::arg("table") = "kv",
           nb::arg("chunk_size") = 1 << 20, nb::arg("retries") = 4,
           nb::arg("backoff_base") = 0.02, nb::arg("enable_wal") = true,
           nb::arg("page_size") = 32768, nb::arg("mmap_size") = 268435456,
           nb::arg("cache_kb") = 100000, nb::arg("busy_timeout") = 5.0,
           nb::arg("synchronous") = "normal", nb::arg("read_only") = false,
           nb::arg("value_cache_bytes") = int64_t{32} << 20)
      .def("__getitem__", &PyKVault::GetItem, nb::sig("def __getitem__(self, key: str | bytes, /) -> Any"), nb::arg("key").none())
      .def("__setitem__", &PyKVault::Put, nb::sig("def __setitem__(self, key: str | bytes, value: object, /) -> None"), nb::arg("key").none(), nb::arg("value").none())
      .def("__delitem__", &PyKVault::DelItem, nb::sig("def __delitem__(self, key: str | bytes, /) -> None"), nb::arg("key").none())
      .def("__contains__", &PyKVault::Exists, nb::sig("def __contains__(self, key: object, /) -> bool"), nb::arg("key").none())
      .def("__len__", &PyKVault::Len)
      .def("get", &PyKVault::Get, nb::sig("def get(self, key: str | bytes, default: object | None = None) -> Any"), nb::arg("key").none(),
           nb::arg("default").none() = nb::none(),
           "Value of key as bytes, or default when it is absent.")
      .def("put", &PyKVault::Put, nb::sig("def put(self, key: str | bytes, value: object) -> None"), nb::arg("key").none(), nb::arg("value").none(),
           "Store value (bytes-like) under key (str or bytes).")
      .def("delete", &PyKVault::Delete, nb::sig("def delete(self, key: str | bytes) -> bool"), nb::arg("key").none(),
           "Remove key; True if it existed.")
      .def("exists", &PyKVault::Exists, nb::sig("def exists(self, key: str | bytes) -> bool"), nb::arg("key").none())
      .def("pop", &PyKVault::Pop, nb::sig("def pop(self, key: str | bytes, *default: object) -> Any"), nb::arg("key").none(), nb::arg("default"),
           "Remove key and return its value; default (if given) or KeyError "
           "when absent.")
      .def("setdefault", &PyKVault::SetDefault, nb::sig("def setdefault(self, key: str | bytes, default: object) -> Any"), nb::arg("key").none(),
           nb::arg("default").none())
      .def("update", &PyKVault::Update, nb::sig("def update(self, other: typing.Mapping[str | bytes, object] | typing.Iterable[tuple[str | bytes, object]] | None = None, **kwargs: object) -> None"), nb::arg("other").none() = nb::none(),
           nb::arg("kwargs"))
      .def("clear", &PyKVault::Clear, "Remove every key in one transaction.")
      .def(
          "__iter__",
          [](nb::pointer_and_handle<PyKVault> self) {
            return MakeIterator(self.h, *self.p, nb::none(), Kind::kKeys,
                                std::nullopt);
          },
          nb::rv_policy::take_ownership)
      .def(
          "keys",
          [](nb::pointer_and_handle<PyKVault> self, nb::handle prefix, std::optional<int64_t> limit,
             nb::handle start, nb::handle stop, bool reverse) {
            return MakeIterator(self.h, *self.p, prefix, Kind::kKeys, limit, start, stop, reverse);
          },
          nb::arg("prefix").none() = nb::none(), nb::arg("limit").none() = nb::none(), nb::kw_only(),
          nb::arg("start").none() = nb::none(), nb::arg("stop").none() = nb::none(), nb::arg("reverse") = false,
          nb::rv_policy::take_ownership,
          nb::sig("def keys(self, prefix: str | bytes | None = None, limit: int | None = None, *, "
                  "start: str | bytes | None = None, stop: str | bytes | None = None, "
                  "reverse: bool = False) -> KVaultIterator"),
          "Iterator over keys (bytes) in key order: those starting with prefix, or the range "
          "[start, stop) (reverse=True: descending); at most limit of them. Bounded memory.")
      .def(
          "values",
          [](nb::pointer_and_handle<PyKVault> self, nb::handle prefix, std::optional<int64_t> limit,
             nb::handle start, nb::handle stop, bool reverse) {
            return MakeIterator(self.h, *self.p, prefix, Kind::kValues, limit, start, stop, reverse);
          },
          nb::arg("prefix").none() = nb::none(), nb::arg("limit").none() = nb::none(), nb::kw_only(),
          nb::arg("start").none() = nb::none(), nb::arg("stop").none() = nb::none(), nb::arg("reverse") = false,
          nb::rv_policy::take_ownership,
          nb::sig("def values(self, prefix: str | bytes | None = None, limit: int | None = None, *, "
                  "start: str | bytes | None = None, stop: str | bytes | None = None, "
                  "reverse: bool = False) -> KVaultIterator"),
          "Iterator over values in key order (see keys()).")
      .def(
          "items",
          [](nb::pointer_and_handle<PyKVault> self, nb::handle prefix, std::optional<int64_t> limit,
             nb::handle start, nb::handle stop, bool reverse) {
            return MakeIterator(self.h, *self.p, prefix, Kind::kItems, limit, start, stop, reverse);
          },
          nb::arg("prefix").none() = nb::none(), nb::arg("limit").none() = nb::none(), nb::kw_only(),
          nb::arg("start").none() = nb::none(), nb::arg("stop").none() = nb::none(), nb::arg("reverse") = false,
          nb::rv_policy::take_ownership,
          nb::sig("def items(self, prefix: str | bytes | None = None, limit: int | None = None, *, "
                  "start: str | bytes | None = None, stop: str | bytes | None = None, "
                  "reverse: bool = False) -> KVaultIterator"),
          "Iterator over (key, value) pairs in key order (see keys()).")
      .def("get_many", &PyKVault::GetMany, "keys"_a, "default"_a.none() = nb::none(),
           nb::sig("def get_many(self, keys: typing.Iterable[str | bytes], default: object | None = None) -> list[Any]"),
           "Values of many keys in one call and one snapshot (default for missing keys).")
      .def("put_many", &PyKVault::PutMany, "items"_a,
           nb::sig("def put_many(self, items: typing.Mapping[str | bytes, object] | typing.Iterable[tuple[str | bytes, object]]) -> None"),
           "Store many values in one transaction: all or none.")
      .def("delete_many", &PyKVault::DeleteMany, "keys"_a,
           nb::sig("def delete_many(self, keys: typing.Iterable[str | bytes]) -> int"),
           "Delete many keys in one transaction; returns how many existed.")
      .def("value_size", &PyKVault::ValueSize, "key"_a.none(),
           nb::sig("def value_size(self, key: str | bytes) -> int"), "Size in bytes of the stored value.")
      .def("readinto", &PyKVault::ReadInto, "key"_a.none(), "buffer"_a, "offset"_a = 0,
           nb::sig("def readinto(self, key: str | bytes, buffer: typing.Any, offset: int = 0) -> int"),
           "Copy the stored bytes (from offset) straight into a writable buffer; returns the count.")
      .def("get_buffer", &PyKVault::GetBuffer, "key"_a.none(),
           nb::sig("def get_buffer(self, key: str | bytes) -> bytes"),
           "The stored bytes, read from the file in one copy (no decoding).")
      .def("_open_reader", &PyKVault::OpenReader, "key"_a.none(),
           nb::sig("def _open_reader(self, key: str | bytes) -> ValueReader"))
      .def("_txn_begin", &PyKVault::TxnBegin)
      .def("_txn_commit", &PyKVault::TxnCommit)
      .def("_txn_rollback", &PyKVault::TxnRollback)
      .def("_put_stream", &PyKVault::PutStream, nb::sig("def _put_stream(self, key: str | bytes, reader: typing.Any, size: int | None, chunk_size: int | None) -> None"), nb::arg("key").none(),
           nb::arg("reader").none(), nb::arg("size").none(),
           nb::arg("chunk_size").none())
      .def("get_to_file", &PyKVault::GetStream, nb::sig("def get_to_file(self, key: str | bytes, writer: typing.Any, *, chunk_size: int | None = None) -> int"), nb::arg("key").none(),
           nb::arg("writer").none(), nb::kw_only(),
           nb::arg("chunk_size").none() = nb::none(),
           "Stream the value of key into writer.write(); returns the byte "
           "count.")
      .def("enable_cache", &PyKVault::EnableCache, nb::kw_only(),
           nb::arg("cap_bytes") = int64_t{64} << 20,
           nb::arg("flush_threshold") = int64_t{16} << 20,
           nb::arg("flush_interval").none() = nb::none())
      .def("disable_cache", &PyKVault::DisableCache)
      .def("flush_cache", &PyKVault::FlushCache,
           "Write pending cache entries in one transaction; returns how many "
           "(0 while the cache is locked).")
      .def("cache_enabled", &PyKVault::CacheEnabled)
      .def("_lock_cache",
           [](PyKVault& kv) {
             kv.CheckOpen();
             kv.vault()->LockCache();
           })
      .def("_unlock_cache", [](PyKVault& kv) { kv.vault()->UnlockCache(); })
      .def(
          "enable_auto_pack",
          [](PyKVault& kv, bool use_pickle) {
            kv.CheckOpen();
            kv.RecordFeature("auto_pack_v1");
            kv.pack_options() = AutoPackOptions{true, use_pickle, true};
          },
          "use_pickle"_a = false,
          "Store any value: bytes raw, str as UTF-8, numbers, None, dicts and lists as "
          "MessagePack, numpy arrays as vec: arrays. Pickle (objects with no safe encoding, "
          "and reading pickled values) only with use_pickle=True. Turns headers on.")
      .def(
          "disable_auto_pack",
          [](PyKVault& kv) {
            kv.CheckOpen();
            kv.pack_options().enabled = false;
          },
          "Bytes only: put takes bytes-like values, get returns stored bytes as they are "
          "(headers included).")
      .def("auto_pack_enabled", [](PyKVault& kv) { return kv.pack_options().enabled; })
      .def(
          "enable_headers",
          [](PyKVault& kv) {
            kv.CheckOpen();
            kv.RecordFeature("headers_v1");
            kv.pack_options().headers = true;
          },
          "Write the value header before non-bytes values (the default).")
      .def(
          "disable_headers",
          [](PyKVault& kv) {
            kv.CheckOpen();
            kv.pack_options().headers = false;
          },
          "Raw mode for new writes: only bytes-like values are accepted (a value without a "
          "header could not be decoded again). Stored headers are still decoded.")
      .def("headers_enabled", [](PyKVault& kv) { return kv.pack_options().headers; })
      .def(
          "features",
          [](PyKVault& kv) {
            Result<std::vector<std::string>> r = std::vector<std::string>();
            {
              gil_scoped_release release;
              r = kv.vault()->Features();
            }
            ThrowIfError(r.status());
            return *r;
          },
          "The value formats recorded in the file (KohakuVault's kohakuvault_meta kv_features).")
      .def("checkpoint", &PyKVault::Checkpoint)
      .def("optimize", &PyKVault::Optimize)
      .def("close", &PyKVault::Close)
      .def_prop_ro("closed", &PyKVault::Closed)
      .def_prop_ro("path", [](PyKVault& kv) { return kv.vault()->path(); })
      .def_prop_ro("table", [](PyKVault& kv) { return kv.vault()->table(); });
}

}  // namespace ambervault::python
