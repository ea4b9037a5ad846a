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
#include <nanobind/stl/vector.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ambervault/kvault.h"
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
           bool read_only) {
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

  nb::object GetItem(nb::handle key) {
    std::string_view k = KeyBytes(key);
    ReadBuffer value;
    Status s;
    {
      gil_scoped_release release;
      s = vault_->Get(k, value.get());
    }
    ThrowIfError(s, key);
    return DecodeKvValue(pack_, *value.get());
  }

  nb::object Get(nb::handle key, nb::handle default_value) {
    std::string_view k = KeyBytes(key);
    ReadBuffer value;
    Status s;
    {
      gil_scoped_release release;
      s = vault_->Get(k, value.get());
    }
    if (s.IsNotFound()) return nb::borrow(default_value);
    ThrowIfError(s, key);
    return DecodeKvValue(pack_, *value.get());
  }

  void Put(nb::handle key, nb::handle value) {
    std::string_view k = KeyBytes(key);
    EncodedValue v;
    EncodeKvValue(pack_, value, &v);
    Status s;
    {
      gil_scoped_release release;
      s = vault_->Put(k, v.view());
    }
    ThrowIfError(s, key);
  }

  bool Delete(nb::handle key) {
    std::string_view k = KeyBytes(key);
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

  void Update(nb::handle other, nb::kwargs kwargs) {
    if (other.is_valid() && !other.is_none()) {
      nb::object items = nb::hasattr(other, "keys")
                             ? nb::object(other.attr("items")())
                             : nb::borrow(other);
      for (nb::handle pair : items) {
        if (nb::len(pair) != 2) {
          RaiseInvalidArgument("update() needs (key, value) pairs");
        }
        Put(pair[0], pair[1]);
      }
    }
    for (auto [k, v] : kwargs) Put(k, v);
  }

  void Clear() {
    Status s;
    {
      gil_scoped_release release;
      s = vault_->Clear();
    }
    ThrowIfError(s);
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
};

// ------------------------------------------------------------ iteration

// Iterates keys, values or (key, value) pairs in key order, fetching pages
// from the core with the GIL released. Holds a reference to the vault.
class PyKVaultIterator {
 public:
  enum class Kind { kKeys, kValues, kItems };

  PyKVaultIterator(nb::object owner, KVault* vault, std::string prefix,
                   Kind kind, std::optional<int64_t> limit, AutoPackOptions pack)
      : owner_(std::move(owner)),
        pack_(pack),
        cursor_(vault->NewCursor(prefix, kind != Kind::kKeys,
                                 kind == Kind::kKeys ? 1024 : 256)),
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

PyKVaultIterator* MakeIterator(nb::handle self, PyKVault& kv,
                               nb::handle prefix, PyKVaultIterator::Kind kind,
                               std::optional<int64_t> limit) {
  if (limit && *limit < 0) RaiseInvalidArgument("limit must be >= 0");
  std::string p;
  if (prefix.is_valid() && !prefix.is_none()) p = std::string(KeyBytes(prefix));
  return new PyKVaultIterator(nb::borrow(self), kv.vault(), std::move(p), kind,
                              limit, kv.pack_options());
}

}  // namespace

void RegisterKVault(nb::module_& m) {
  using Kind = PyKVaultIterator::Kind;
  nb::class_<PyKVaultIterator>(m, "KVaultIterator")
      .def("__iter__", [](nb::handle self) { return nb::borrow(self); },
           nb::sig("def __iter__(self) -> KVaultIterator"))
      .def("__next__", &PyKVaultIterator::Next,
           nb::sig("def __next__(self) -> typing.Any"));

  nb::class_<PyKVault>(m, "KVault")
      .def(nb::init<const std::string&, const std::string&, int64_t, int,
                    double, bool, int, int64_t, int64_t, double,
                    const std::string&, bool>(),
           nb::arg("path"), nb::kw_only(), nb::arg("table") = "kv",
           nb::arg("chunk_size") = 1 << 20, nb::arg("retries") = 4,
           nb::arg("backoff_base") = 0.02, nb::arg("enable_wal") = true,
           nb::arg("page_size") = 32768, nb::arg("mmap_size") = 268435456,
           nb::arg("cache_kb") = 100000, nb::arg("busy_timeout") = 5.0,
           nb::arg("synchronous") = "normal", nb::arg("read_only") = false)
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
          [](nb::pointer_and_handle<PyKVault> self, nb::handle prefix,
             std::optional<int64_t> limit) {
            return MakeIterator(self.h, *self.p, prefix, Kind::kKeys, limit);
          },
          nb::arg("prefix").none() = nb::none(), nb::arg("limit").none() = nb::none(),
          nb::rv_policy::take_ownership,
          "Iterator over keys (bytes) in key order, optionally only those "
          "starting with prefix and at most limit of them.")
      .def(
          "values",
          [](nb::pointer_and_handle<PyKVault> self) {
            return MakeIterator(self.h, *self.p, nb::none(), Kind::kValues,
                                std::nullopt);
          },
          nb::rv_policy::take_ownership)
      .def(
          "items",
          [](nb::pointer_and_handle<PyKVault> self) {
            return MakeIterator(self.h, *self.p, nb::none(), Kind::kItems,
                                std::nullopt);
          },
          nb::rv_policy::take_ownership)
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
