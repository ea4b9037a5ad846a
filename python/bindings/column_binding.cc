// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// Binds ambervault::ColumnVault and ambervault::Column as
// ambervault._core.ColumnVault and ambervault._core.Column. The Python
// classes in ambervault/columns.py subclass them and add only protocol
// sugar (MutableSequence registration, context managers, repr).
//
// Values are packed and unpacked here with the column's DataPacker (GIL
// held); every call into the core runs with the GIL released.

#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "ambervault/column_vault.h"
#include "ambervault/packer.h"
#include "errors.h"
#include "packer_glue.h"
#include "py_numpy.h"
#include "py_util.h"

namespace ambervault::python {

namespace {

using namespace nb::literals;
using nb::gil_scoped_release;

// Index iteration batches: elements per read.
constexpr int64_t kIterBatch = 1024;

class PyColumnVault {
 public:
  PyColumnVault(const std::string& path, int64_t min_chunk_bytes, int64_t max_chunk_bytes,
                int retries, double busy_timeout, bool enable_wal, bool read_only,
                const std::string& synchronous) {
    ColumnVaultOptions o;
    o.min_chunk_bytes = min_chunk_bytes;
    o.max_chunk_bytes = max_chunk_bytes;
    o.retry.retries = retries;
    if (!(busy_timeout >= 0) || busy_timeout > 86400) {
      RaiseInvalidArgument("busy_timeout must be from 0 to 86400 seconds");
    }
    o.open.busy_timeout_ms = static_cast<int>(busy_timeout * 1000);
    o.open.enable_wal = enable_wal;
    o.open.read_only = read_only;
    if (synchronous == "normal") {
      o.open.synchronous = Synchronous::kNormal;
    } else if (synchronous == "full") {
      o.open.synchronous = Synchronous::kFull;
    } else if (synchronous == "off") {
      o.open.synchronous = Synchronous::kOff;
    } else if (synchronous == "extra") {
      o.open.synchronous = Synchronous::kExtra;
    } else {
      RaiseInvalidArgument("synchronous must be 'off', 'normal', 'full' or 'extra', not '" + synchronous + "'");
    }
    Result<std::unique_ptr<ColumnVault>> r = [&] {
      gil_scoped_release release;
      return ColumnVault::Open(path, o);
    }();
    ThrowIfError(r.status());
    vault_ = std::move(r).value();
  }

  ColumnVault* get() const { return vault_.get(); }

  std::tuple<std::string, size_t> Create(const std::string& name, const std::string& dtype) {
    Result<Column> r = [&] {
      gil_scoped_release release;
      return vault_->CreateColumn(name, dtype);
    }();
    ThrowIfError(r.status());
    return {r->dtype(), r->elem_size()};
  }

  std::tuple<std::string, size_t> Info(nb::handle name_obj) {
    std::string name = nb::cast<std::string>(name_obj);
    Result<Column> r = [&] {
      gil_scoped_release release;
      return vault_->GetColumn(name);
    }();
    ThrowIfError(r.status(), name_obj);
    return {r->dtype(), r->elem_size()};
  }

  std::tuple<std::string, size_t> Ensure(const std::string& name, const std::string& dtype) {
    Result<Column> r = [&] {
      gil_scoped_release release;
      return vault_->Ensure(name, dtype);
    }();
    ThrowIfError(r.status());
    return {r->dtype(), r->elem_size()};
  }

  std::vector<std::tuple<std::string, std::string, int64_t>> List() {
    Result<std::vector<ColumnInfo>> r = [&] {
      gil_scoped_release release;
      return vault_->ListColumns();
    }();
    ThrowIfError(r.status());
    std::vector<std::tuple<std::string, std::string, int64_t>> out;
    for (const ColumnInfo& c : *r) out.emplace_back(c.name, c.dtype, c.length);
    return out;
  }

  bool Delete(const std::string& name) {
    Result<bool> r = [&] {
      gil_scoped_release release;
      return vault_->DeleteColumn(name);
    }();
    ThrowIfError(r.status());
    return *r;
  }

  void EnableCache(int64_t cap_bytes, int64_t flush_threshold, std::optional<double> flush_interval) {
    ColumnCacheOptions c = CacheOptions(cap_bytes, flush_threshold);
    if (flush_interval) {
      if (!(*flush_interval > 0)) RaiseInvalidArgument("flush_interval must be > 0 seconds");
      c.flush_interval_seconds = *flush_interval;
    }
    Call([&] { return vault_->EnableCache(c); });
  }
  void DisableCache() {
    Call([&] { return vault_->DisableCache(); });
  }
  size_t FlushCache() {
    Result<size_t> r = [&] {
      gil_scoped_release release;
      return vault_->FlushCache();
    }();
    ThrowIfError(r.status());
    return *r;
  }
  void LockCache() { vault_->LockCache(); }
  void UnlockCache() { vault_->UnlockCache(); }
  void Checkpoint() {
    Call([&] { return vault_->Checkpoint(); });
  }
  void Close() {
    Call([&] { return vault_->Close(); });
  }
  bool closed() const {
    gil_scoped_release release;  // waits for a running call
    return vault_->closed();
  }
  const std::string& path() const { return vault_->path(); }

  static ColumnCacheOptions CacheOptions(int64_t cap_bytes, int64_t flush_threshold) {
    if (cap_bytes <= 0 || flush_threshold <= 0) {
      RaiseInvalidArgument("cap_bytes and flush_threshold must be > 0");
    }
    ColumnCacheOptions c;
    c.cap_bytes = static_cast<size_t>(cap_bytes);
    c.flush_threshold = static_cast<size_t>(flush_threshold);
    return c;
  }

  template <typename Fn>
  static void Call(Fn&& fn) {
    Status s;
    {
      gil_scoped_release release;
      s = fn();
    }
    ThrowIfError(s);
  }

 private:
  std::unique_ptr<ColumnVault> vault_;
};

class PyColumn {
 public:
  PyColumn(PyColumnVault& vault, const std::string& name) {
    Result<Column> r = [&] {
      gil_scoped_release release;
      return vault.get()->GetColumn(name);
    }();
    ThrowIfError(r.status(), nb::str(name.c_str()));
    Result<DataPacker> p = DataPacker::Create(r->dtype());
    if (!p.ok()) {
      RaiseInvalidArgument("column '" + name + "' has dtype '" + r->dtype() +
                           "', which this version cannot read: " + p.status().message());
    }
    column_ = std::make_unique<Column>(*r);
    packer_ = std::make_unique<DataPacker>(std::move(p).value());
  }

  const std::string& name() const { return column_->name(); }
  const std::string& dtype() const { return column_->dtype(); }
  size_t elem_size() const { return column_->elem_size(); }
  bool is_var_size() const { return column_->is_var_size(); }

  int64_t Len() const {
    Result<int64_t> r = [&] {
      gil_scoped_release release;
      return column_->Length();
    }();
    ThrowIfError(r.status());
    return *r;
  }

  // ---- reads

  nb::object GetItem(nb::handle key) {
    if (PySlice_Check(key.ptr())) {
      auto [start, count] = SliceRange(key, "Step slicing not supported");
      return ReadList(start, count);
    }
    const int64_t i = Normalize(key);
    std::string data;
    std::vector<uint64_t> ends;
    Status s;
    {
      gil_scoped_release release;
      s = column_->Read(i, 1, &data, &ends);
    }
    if (s.code() == Status::Code::kOutOfRange) RaiseIndex(IndexValue(key), Len());
    ThrowIfError(s);
    return UnpackElement(*packer_, data);
  }

  nb::object ReadList(int64_t start, int64_t count) {
    if (count <= 0) return nb::steal(PyList_New(0));
    std::string data;
    std::vector<uint64_t> ends;
    Status s;
    {
      gil_scoped_release release;
      s = column_->Read(start, count, &data, &ends);
    }
    ThrowIfError(s);
    if (!column_->is_var_size()) return UnpackFixed(*packer_, data, static_cast<size_t>(count), false);
    nb::object list = nb::steal(PyList_New(static_cast<Py_ssize_t>(ends.size())));
    if (!list.is_valid()) ThrowPython();
    uint64_t prev = 0;
    for (size_t i = 0; i < ends.size(); ++i) {
      nb::object v = UnpackElement(*packer_, std::string_view(data).substr(prev, ends[i] - prev));
      prev = ends[i];
      PyList_SET_ITEM(list.ptr(), static_cast<Py_ssize_t>(i), v.release().ptr());
    }
    return list;
  }

  nb::object ToNumpy(std::optional<int64_t> start_opt, std::optional<int64_t> stop_opt) {
    const DType& t = packer_->dtype();
    const std::optional<ElementFormat> scalar = FormatOfScalar(t);
    const bool fixed_vec = t.kind == DType::Kind::kVector && !t.shape.empty();
    if (!scalar && !fixed_vec) {
      RaiseInvalidType("to_numpy needs a numeric or fixed-shape vec: column, not " + t.ToString());
    }
    const int64_t length = Len();
    nb::object sl = nb::steal(PySlice_New(start_opt ? nb::int_(*start_opt).ptr() : Py_None,
                                          stop_opt ? nb::int_(*stop_opt).ptr() : Py_None, Py_None));
    auto [start, count] = SliceRangeOf(sl, length, "");
    const size_t e = t.fixed_size;
    if (scalar && scalar->kind != 'b' && std::endian::native == std::endian::little) {
      // Straight from the chunks into the array's memory.
      char* dst = nullptr;
      nb::object arr = EmptyNumpyArray(*scalar, {static_cast<size_t>(count)}, &dst);
      Status s;
      {
        gil_scoped_release release;
        s = column_->ReadInto(start, count, dst);
      }
      ThrowIfError(s);
      return arr;
    }
    std::string data(static_cast<size_t>(count) * e, '\0');
    Status s;
    {
      gil_scoped_release release;
      s = column_->ReadInto(start, count, data.data());
    }
    ThrowIfError(s);
    return UnpackFixed(*packer_, data, static_cast<size_t>(count), true);
  }

  // ---- writes

  void Append(nb::handle value) {
    std::string buf;
    PackElement(*packer_, value.ptr(), &buf);
    const uint64_t end = buf.size();
    std::span<const uint64_t> ends = column_->is_var_size() ? std::span<const uint64_t>(&end, 1)
                                                            : std::span<const uint64_t>();
    // A cached append that needs neither SQLite nor a wait runs with the
    // GIL held (it takes the vault mutex only if free).
    if (column_->TryAppendToCache(buf, ends)) return;
    Call([&] { return column_->AppendMany(buf, ends); });
  }

  void Extend(nb::handle values) {
    PyObject* v = values.ptr();
    if (PyUnicode_Check(v) || PyBytes_Check(v) || PyDict_Check(v)) {
      RaiseInvalidType(std::string("extend expects an iterable of values, not ") + TypeName(v));
    }
    if (!column_->is_var_size()) {
      // A 1-D array already in the column's element format is stored from
      // its own memory, without a packed copy.
      const std::optional<ElementFormat> want = FormatOfScalar(packer_->dtype());
      if (want && want->kind != 'b' && std::endian::native == std::endian::little) {
        ArrayBuffer a;
        if (a.TryView(v) && a.ndim() == 1 && a.format().kind == want->kind && a.format().size == want->size) {
          std::string_view d(a.data(), a.bytes());
          Call([&] { return column_->AppendMany(d, {}); });
          return;
        }
      }
      nb::object packed = PackValues(*packer_, values);
      std::string_view d(PyBytes_AS_STRING(packed.ptr()), static_cast<size_t>(PyBytes_GET_SIZE(packed.ptr())));
      Call([&] { return column_->AppendMany(d, {}); });
      return;
    }
    std::string data;
    std::vector<uint64_t> ends;
    PackAll(values, &data, &ends);
    Call([&] { return column_->AppendMany(data, ends); });
  }

  void SetItem(nb::handle key, nb::handle value) {
    if (PySlice_Check(key.ptr())) {
      auto [start, count] = SliceRange(key, "Step slicing not supported for setitem");
      std::string data;
      std::vector<uint64_t> ends;
      PackAll(value, &data, &ends);
      const int64_t n = column_->is_var_size() ? static_cast<int64_t>(ends.size())
                                               : static_cast<int64_t>(data.size() / column_->elem_size());
      if (n != count) {
        RaiseInvalidArgument("Slice length mismatch: slice has " + std::to_string(count) + " elements, got " +
                             std::to_string(n) + " values");
      }
      Call([&] { return column_->Write(start, data, ends); });
      return;
    }
    const int64_t i = Normalize(key);
    std::string buf;
    PackElement(*packer_, value.ptr(), &buf);
    const uint64_t end = buf.size();
    std::span<const uint64_t> ends = column_->is_var_size() ? std::span<const uint64_t>(&end, 1)
                                                            : std::span<const uint64_t>();
    Status s;
    {
      gil_scoped_release release;
      s = column_->Write(i, buf, ends);
    }
    if (s.code() == Status::Code::kOutOfRange) RaiseIndex(IndexValue(key), Len());
    ThrowIfError(s);
  }

  void DelItem(nb::handle key) {
    if (PySlice_Check(key.ptr())) {
      auto [start, count] = SliceRange(key, "Step slicing not supported for delete");
      Call([&] { return column_->Delete(start, count); });
      return;
    }
    const int64_t i = Normalize(key);
    Status s;
    {
      gil_scoped_release release;
      s = column_->Delete(i, 1);
    }
    if (s.code() == Status::Code::kOutOfRange) RaiseIndex(IndexValue(key), Len());
    ThrowIfError(s);
  }

  void Insert(nb::handle index, nb::handle value) {
    int64_t i = IndexValue(index);
    std::string buf;
    PackElement(*packer_, value.ptr(), &buf);
    const int64_t length = Len();
    // list.insert semantics: negative counts from the end, clamped.
    if (i < 0) i = std::max<int64_t>(i + length, 0);
    i = std::min(i, length);
    Call([&] { return column_->Insert(i, buf); });
  }

  void Clear() {
    Call([&] { return column_->Clear(); });
  }

  // ---- cache

  void EnableCache(int64_t cap_bytes, int64_t flush_threshold) {
    ColumnCacheOptions c = PyColumnVault::CacheOptions(cap_bytes, flush_threshold);
    Call([&] { return column_->EnableCache(c); });
  }
  void DisableCache() {
    Call([&] { return column_->DisableCache(); });
  }
  size_t FlushCache() {
    Result<size_t> r = [&] {
      gil_scoped_release release;
      return column_->FlushCache();
    }();
    ThrowIfError(r.status());
    return *r;
  }
  std::optional<std::tuple<size_t, size_t>> CacheOptions() const {
    std::optional<ColumnCacheOptions> o;
    {
      gil_scoped_release release;
      o = column_->cache_options();
    }
    if (!o) return std::nullopt;
    return std::make_tuple(o->cap_bytes, o->flush_threshold);
  }

  nb::dict StorageInfo() {
    Result<Column::Storage> r = [&] {
      gil_scoped_release release;
      return column_->StorageInfo();
    }();
    ThrowIfError(r.status());
    nb::dict d;
    d["chunks"] = r->chunks;
    d["allocated_bytes"] = r->allocated_bytes;
    d["garbage_bytes"] = r->garbage_bytes;
    return d;
  }
  void Compact() {
    Call([&] { return column_->Compact(); });
  }

 private:
  template <typename Fn>
  static void Call(Fn&& fn) {
    PyColumnVault::Call(std::forward<Fn>(fn));
  }

  // Packs every value of an iterable: back to back, with element ends.
  void PackAll(nb::handle values, std::string* data, std::vector<uint64_t>* ends) {
    PyObject* v = values.ptr();
    if (PyUnicode_Check(v) || PyBytes_Check(v) || PyDict_Check(v)) {
      RaiseInvalidType(std::string("expected an iterable of values, not ") + TypeName(v));
    }
    if (!column_->is_var_size()) {
      nb::object packed = PackValues(*packer_, values);
      data->assign(PyBytes_AS_STRING(packed.ptr()), static_cast<size_t>(PyBytes_GET_SIZE(packed.ptr())));
      return;
    }
    nb::object it = nb::steal(PyObject_GetIter(v));
    if (!it.is_valid()) {
      PyErr_Clear();
      RaiseInvalidType(std::string("expected an iterable of values, not ") + TypeName(v));
    }
    while (PyObject* item = PyIter_Next(it.ptr())) {
      nb::object holder = nb::steal(item);
      PackElement(*packer_, item, data);
      ends->push_back(data->size());
    }
    if (PyErr_Occurred()) ThrowPython();
  }

  static int64_t IndexValue(nb::handle key) {
    PyObject* k = key.ptr();
    if (!PyIndex_Check(k)) {
      PyErr_SetString(PyExc_TypeError, "Column indices must be integers or slices");
      throw nb::python_error();
    }
    nb::object idx = nb::steal(PyNumber_Index(k));
    if (!idx.is_valid()) ThrowPython();
    long long i = PyLong_AsLongLong(idx.ptr());
    if (i == -1 && PyErr_Occurred()) {
      PyErr_Clear();
      PyErr_SetString(PyExc_IndexError, "Column index out of range");
      throw nb::python_error();
    }
    return i;
  }

  [[noreturn]] static void RaiseIndex(int64_t i, int64_t length) {
    PyErr_SetString(PyExc_IndexError, ("Column index out of range: " + std::to_string(i) +
                                       " (length=" + std::to_string(length) + ")")
                                          .c_str());
    throw nb::python_error();
  }

  // The element index for `key`: non-negative indices as they are (the
  // core reports one past the end), negative ones counted from the end.
  int64_t Normalize(nb::handle key) {
    const int64_t given = IndexValue(key);
    if (given >= 0) return given;
    const int64_t length = Len();
    if (given + length < 0) RaiseIndex(given, length);
    return given + length;
  }

  std::pair<int64_t, int64_t> SliceRange(nb::handle slice, const char* step_error) {
    return SliceRangeOf(slice, Len(), step_error);
  }

  static std::pair<int64_t, int64_t> SliceRangeOf(nb::handle slice, int64_t length, const char* step_error) {
    Py_ssize_t start, stop, step;
    if (PySlice_Unpack(slice.ptr(), &start, &stop, &step) < 0) ThrowPython();
    const Py_ssize_t n = PySlice_AdjustIndices(static_cast<Py_ssize_t>(length), &start, &stop, step);
    if (step != 1) {
      PyErr_SetString(PyExc_ValueError, step_error);
      throw nb::python_error();
    }
    return {static_cast<int64_t>(start), static_cast<int64_t>(n)};
  }

  std::unique_ptr<Column> column_;
  std::unique_ptr<DataPacker> packer_;
};

}  // namespace

void RegisterColumns(nb::module_& m) {
  nb::class_<PyColumnVault>(m, "ColumnVault")
      .def(nb::init<const std::string&, int64_t, int64_t, int, double, bool, bool, const std::string&>(),
           "path"_a, "min_chunk_bytes"_a = 128 * 1024, "max_chunk_bytes"_a = 16 * 1024 * 1024, nb::kw_only(),
           "retries"_a = 4, "busy_timeout"_a = 5.0, "enable_wal"_a = true, "read_only"_a = false,
           "synchronous"_a = "normal")
      .def("_create", &PyColumnVault::Create, "name"_a, "dtype"_a)
      .def("_info", &PyColumnVault::Info, "name"_a)
      .def("_ensure", &PyColumnVault::Ensure, "name"_a, "dtype"_a)
      .def("list_columns", &PyColumnVault::List,
           "Every column as (name, dtype, length), in creation order.")
      .def("_delete", &PyColumnVault::Delete, "name"_a)
      .def("_enable_cache", &PyColumnVault::EnableCache, "cap_bytes"_a, "flush_threshold"_a,
           "flush_interval"_a.none())
      .def("_disable_cache", &PyColumnVault::DisableCache)
      .def("flush_cache", &PyColumnVault::FlushCache,
           "Write every column's pending appends; returns the bytes written.")
      .def("_lock_cache", &PyColumnVault::LockCache)
      .def("_unlock_cache", &PyColumnVault::UnlockCache)
      .def("_checkpoint", &PyColumnVault::Checkpoint)
      .def("_close", &PyColumnVault::Close)
      .def_prop_ro("closed", &PyColumnVault::closed)
      .def_prop_ro("path", &PyColumnVault::path);

  nb::class_<PyColumn>(m, "Column")
      .def(nb::init<PyColumnVault&, const std::string&>(), "vault"_a, "name"_a)
      .def_prop_ro("name", &PyColumn::name)
      .def_prop_ro("dtype", &PyColumn::dtype)
      .def_prop_ro("elem_size", &PyColumn::elem_size, "Bytes per element (0: variable size).")
      .def_prop_ro("is_var_size", &PyColumn::is_var_size)
      .def("__len__", &PyColumn::Len)
      .def("__getitem__", &PyColumn::GetItem, "key"_a.none(),
           nb::sig("def __getitem__(self, key: int | slice, /) -> typing.Any"))
      .def("__setitem__", &PyColumn::SetItem, "key"_a.none(), "value"_a.none(),
           nb::sig("def __setitem__(self, key: int | slice, value: typing.Any, /) -> None"))
      .def("__delitem__", &PyColumn::DelItem, "key"_a.none(),
           nb::sig("def __delitem__(self, key: int | slice, /) -> None"))
      .def("_read", &PyColumn::ReadList, "start"_a, "count"_a)
      .def("to_numpy", &PyColumn::ToNumpy, "start"_a.none() = nb::none(), "stop"_a.none() = nb::none(),
           nb::sig("def to_numpy(self, start: int | None = None, stop: int | None = None) -> typing.Any"),
           "Elements [start, stop) as one numpy array, read straight from the chunks "
           "(numeric and fixed-shape vec: dtypes).")
      .def("append", &PyColumn::Append, "value"_a.none(),
           nb::sig("def append(self, value: typing.Any) -> None"))
      .def("extend", &PyColumn::Extend, "values"_a.none(),
           nb::sig("def extend(self, values: typing.Iterable[typing.Any]) -> None"),
           "Append every value in one transaction (numpy arrays without a Python loop).")
      .def("insert", &PyColumn::Insert, "index"_a.none(), "value"_a.none(),
           nb::sig("def insert(self, index: int, value: typing.Any) -> None"))
      .def("clear", &PyColumn::Clear, "Remove every element and free the chunks.")
      .def("_enable_cache", &PyColumn::EnableCache, "cap_bytes"_a, "flush_threshold"_a)
      .def("disable_cache", &PyColumn::DisableCache, "Flush pending appends, then stop caching.")
      .def("flush_cache", &PyColumn::FlushCache, "Write pending appends; returns the bytes written.")
      .def("_cache_options", &PyColumn::CacheOptions)
      .def("storage_info", &PyColumn::StorageInfo,
           "{'chunks', 'allocated_bytes', 'garbage_bytes'} of this column.")
      .def("compact", &PyColumn::Compact,
           "Rewrite a variable-size column without the bytes left by updates and deletes.");
}

}  // namespace ambervault::python
