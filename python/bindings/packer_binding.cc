// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// Binds ambervault::DataPacker as ambervault._core.DataPacker.
//
// Python values are walked straight into the C++ encoders (no intermediate
// tree), and decoded values are built straight from the decoders' events.
// Numeric columns and fixed vec: dtypes take and give numpy arrays through
// the buffer protocol, without a Python object per element.
//
// Every call holds the GIL: it touches Python objects throughout and never
// waits on anything. A DataPacker is immutable, so threads may share one.

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/string_view.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ambervault/packer.h"
#include "errors.h"
#include "packer_glue.h"
#include "packer/byte_order.h"
#include "py_numpy.h"
#include "py_util.h"
#include "py_values.h"

namespace ambervault::python {

namespace {

using namespace nb::literals;

// ------------------------------------------------------------ scalars in

// Reads an int-like Python object (int, bool, __index__) into the packer.
void PackIntObject(const DataPacker& p, PyObject* o, std::string* out) {
  nb::object index;
  if (!PyLong_Check(o)) {
    if (PyFloat_Check(o) || PyUnicode_Check(o) || PyBytes_Check(o) || !PyIndex_Check(o)) {
      RaiseInvalidType(p.ToString() + " expects an int, got " + TypeName(o));
    }
    index = nb::steal(PyNumber_Index(o));
    if (!index.is_valid()) ThrowPython();
    o = index.ptr();
  }
  int overflow = 0;
  long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
  if (v == -1 && PyErr_Occurred()) ThrowPython();
  Status s;
  if (overflow == 0) {
    s = p.PackInt(v, out);
  } else if (overflow > 0) {
    unsigned long long u = PyLong_AsUnsignedLongLong(o);
    if (u == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
      PyErr_Clear();
      RaiseOutOfRange("integer " + std::string(nb::str(nb::handle(o)).c_str()) +
                      " out of range for " + p.ToString());
    }
    s = p.PackUint(u, out);
  } else {
    RaiseOutOfRange("integer " + std::string(nb::str(nb::handle(o)).c_str()) +
                    " out of range for " + p.ToString());
  }
  ThrowIfError(s);
}

void PackScalarObject(const DataPacker& p, PyObject* o, std::string* out) {
  const DType& t = p.dtype();
  if (t.kind == DType::Kind::kFloat) {
    double d;
    if (PyFloat_Check(o)) {
      d = PyFloat_AS_DOUBLE(o);
    } else if (PyLong_Check(o) || IsNumpyFloat(o) ||
               (!PyUnicode_Check(o) && !PyBytes_Check(o) && PyIndex_Check(o))) {
      d = PyFloat_AsDouble(o);
      if (d == -1.0 && PyErr_Occurred()) ThrowPython();  // e.g. OverflowError for 10**400
    } else {
      RaiseInvalidType(t.ToString() + " expects a float or int, got " + TypeName(o));
    }
    ThrowIfError(p.PackDouble(d, out));
    return;
  }
  if (t.kind == DType::Kind::kBool) {
    if (PyBool_Check(o) || IsNumpyBool(o)) {
      int truth = PyObject_IsTrue(o);
      if (truth < 0) ThrowPython();
      ThrowIfError(p.PackBool(truth != 0, out));
      return;
    }
  }
  PackIntObject(p, o, out);
}

// ------------------------------------------------------------ vectors in

void PackVectorObject(const DataPacker& p, PyObject* o, std::string* out) {
  const DType& t = p.dtype();
  const ElementFormat want = FormatOfElement(t.element);
  ArrayBuffer a;
  if (!a.TryView(o) || a.format().kind != want.kind || a.format().size != want.size) {
    a.Convert(o, want);
  }
  ArrayView view;
  view.type = t.element;
  view.shape.resize(static_cast<size_t>(a.ndim()));
  for (int i = 0; i < a.ndim(); ++i) {
    if (a.dim(i) > UINT32_MAX) RaiseInvalidArgument("array dimension too large for a vector");
    view.shape[i] = static_cast<uint32_t>(a.dim(i));
  }
  view.data = std::string_view(a.data(), a.bytes());
  ThrowIfError(p.PackArray(view, out));
}

// ------------------------------------------------------------ one value in

void PackOne(const DataPacker& p, PyObject* o, std::string* out) {
  const DType& t = p.dtype();
  switch (t.kind) {
    case DType::Kind::kInt:
    case DType::Kind::kUint:
    case DType::Kind::kFloat:
    case DType::Kind::kBool:
      return PackScalarObject(p, o, out);
    case DType::Kind::kString: {
      if (!PyUnicode_Check(o)) RaiseInvalidType(t.ToString() + " expects a str, got " + TypeName(o));
      Py_ssize_t n = 0;
      const char* s = PyUnicode_AsUTF8AndSize(o, &n);
      if (s == nullptr) ThrowPython();  // lone surrogates: UnicodeEncodeError
      ThrowIfError(p.PackText(std::string_view(s, static_cast<size_t>(n)), out));
      return;
    }
    case DType::Kind::kBytes: {
      if (PyBytes_Check(o)) {
        ThrowIfError(p.PackBytes(
            std::string_view(PyBytes_AS_STRING(o), static_cast<size_t>(PyBytes_GET_SIZE(o))), out));
        return;
      }
      InputBytes b(o, t.ToString().c_str());
      ThrowIfError(p.PackBytes(b.view(), out));
      return;
    }
    case DType::Kind::kMsgPack: return PackStructured<MsgPackEncoder>(p, o, out, "MessagePack");
    case DType::Kind::kCbor: return PackStructured<CborEncoder>(p, o, out, "CBOR");
    case DType::Kind::kJson: return PackStructured<JsonEncoder>(p, o, out, "JSON");
    case DType::Kind::kVector: return PackVectorObject(p, o, out);
  }
}

// ------------------------------------------------------------ one value out

nb::object UnpackOne(const DataPacker& p, std::string_view elem) {
  const DType& t = p.dtype();
  switch (t.kind) {
    case DType::Kind::kInt:
    case DType::Kind::kUint:
    case DType::Kind::kFloat:
    case DType::Kind::kBool: {
      Result<Scalar> r = p.UnpackScalar(elem);
      ThrowIfError(r.status());
      const Scalar& s = *r;
      switch (s.type) {
        case Scalar::Type::kInt: return nb::steal(PyLong_FromLongLong(s.i));
        case Scalar::Type::kUint: return nb::steal(PyLong_FromUnsignedLongLong(s.u));
        case Scalar::Type::kDouble: return nb::steal(PyFloat_FromDouble(s.d));
        case Scalar::Type::kBool: return nb::borrow(s.i ? Py_True : Py_False);
      }
      return nb::none();
    }
    case DType::Kind::kString: {
      if (t.encoding == TextEncoding::kUtf8) {  // decode in place, no copy
        if (t.fixed_size != 0) {
          if (elem.size() != t.fixed_size) ThrowIfError(p.UnpackText(elem).status());
          while (!elem.empty() && elem.back() == '\0') elem.remove_suffix(1);
        }
        PyObject* s = PyUnicode_DecodeUTF8(elem.data(), static_cast<Py_ssize_t>(elem.size()), "strict");
        if (s == nullptr) ThrowPython();
        return nb::steal(s);
      }
      Result<std::string> r = p.UnpackText(elem);
      ThrowIfError(r.status());
      return nb::steal(PyUnicode_FromStringAndSize(r->data(), static_cast<Py_ssize_t>(r->size())));
    }
    case DType::Kind::kBytes:
      if (t.fixed_size != 0 && elem.size() != t.fixed_size) {
        RaiseInvalidArgument("Not enough data: " + t.ToString() + " needs " + std::to_string(t.fixed_size) +
                             " bytes");
      }
      return nb::steal(PyBytes_FromStringAndSize(elem.data(), static_cast<Py_ssize_t>(elem.size())));
    case DType::Kind::kMsgPack:
    case DType::Kind::kCbor:
    case DType::Kind::kJson: {
      return UnpackPyValue(p, elem);
    }
    case DType::Kind::kVector: {
      Result<ArrayView> r = p.UnpackArray(elem);
      ThrowIfError(r.status());
      if (r->shape.size() > kMaxNumpyDims) {
        RaiseInvalidArgument("vector element has " + std::to_string(r->shape.size()) +
                             " dimensions; numpy arrays have at most " + std::to_string(kMaxNumpyDims));
      }
      std::vector<size_t> shape(r->shape.begin(), r->shape.end());
      return NewNumpyArray(FormatOfElement(r->type), shape, r->data);
    }
  }
  return nb::none();
}

// ------------------------------------------------------------ bulk

size_t CheckOffset(nb::handle offset_obj, size_t size) {
  long long off = PyLong_AsLongLong(offset_obj.ptr());
  if (off == -1 && PyErr_Occurred()) {
    if (PyErr_ExceptionMatches(PyExc_OverflowError)) {
      PyErr_Clear();
      RaiseInvalidArgument("Offset out of bounds");
    }
    ThrowPython();
  }
  if (off < 0 || static_cast<unsigned long long>(off) > size) {
    RaiseInvalidArgument("Offset out of bounds: " + std::to_string(off) + " for " + std::to_string(size) +
                         " bytes of data");
  }
  return static_cast<size_t>(off);
}

nb::object Unpack(const DataPacker& p, nb::handle data, nb::handle offset_obj) {
  InputBytes in(data, "data");
  std::string_view d = in.view();
  const size_t off = CheckOffset(offset_obj, d.size());
  d.remove_prefix(off);
  if (p.elem_size() != 0) {
    if (d.size() < p.elem_size()) {
      RaiseInvalidArgument("Not enough data: " + p.ToString() + " needs " + std::to_string(p.elem_size()) +
                           " bytes at offset " + std::to_string(off) + ", " + std::to_string(d.size()) +
                           " left");
    }
    d = d.substr(0, p.elem_size());
  }
  return UnpackOne(p, d);
}

// Packs a numpy array (or any C-contiguous numeric buffer) of a numeric
// dtype, with C++ range checks and no Python object per element. Returns
// false when `values` is not such a buffer.
nb::object PackManyNumeric(const DataPacker& p, PyObject* values) {
  const std::optional<ElementFormat> want = FormatOfScalar(p.dtype());
  if (!want) return nb::object();
  ArrayBuffer a;
  if (!a.TryView(values)) return nb::object();
  if (a.ndim() != 1) RaiseInvalidArgument("pack_many expects a 1-D array for " + p.ToString());
  const ElementFormat f = a.format();
  const size_t n = a.dim(0);
  if (f.kind == want->kind && f.size == want->size) {
    if (want->kind == 'b') {  // numpy bools are 0/1 already, but a raw buffer may not be
      for (size_t i = 0; i < n; ++i) {
        if (static_cast<unsigned char>(a.data()[i]) > 1) RaiseInvalidArgument("bool buffer holds a byte other than 0/1");
      }
    }
    char* dst;
    nb::object bytes = NewBytes(a.bytes(), &dst);
    CopyLE(std::string_view(a.data(), a.bytes()), f.size, dst);
    return bytes;
  }
  if (f.kind == 'f' && want->kind != 'f') {
    RaiseInvalidType(p.ToString() + " expects ints, got an array of " + NumpyName(f));
  }
  Scratch scratch;
  std::string* out = scratch.get();
  out->reserve(n * p.elem_size());
  const char* src = a.data();
  for (size_t i = 0; i < n; ++i, src += f.size) {
    Status s;
    if (f.kind == 'f') {
      double d = f.size == 4 ? static_cast<double>(LoadLE<float>(src)) : LoadLE<double>(src);
      s = p.PackDouble(d, out);
    } else if (f.kind == 'u') {
      uint64_t u = f.size == 1 ? static_cast<uint8_t>(*src)
                   : f.size == 2 ? LoadLE<uint16_t>(src)
                   : f.size == 4 ? LoadLE<uint32_t>(src) : LoadLE<uint64_t>(src);
      s = p.PackUint(u, out);
    } else if (f.kind == 'i') {
      int64_t v = f.size == 1 ? static_cast<int8_t>(*src)
                  : f.size == 2 ? LoadLE<int16_t>(src)
                  : f.size == 4 ? LoadLE<int32_t>(src) : LoadLE<int64_t>(src);
      s = p.PackInt(v, out);
    } else {
      s = p.PackInt(*src != 0 ? 1 : 0, out);
    }
    if (!s.ok()) RaiseStatus(s.WithContext("element " + std::to_string(i)));
  }
  return scratch.ToBytes();
}

// Packs an (n, *shape) array for a fixed-shape vec: dtype.
nb::object PackManyVectors(const DataPacker& p, PyObject* values) {
  const DType& t = p.dtype();
  if (t.kind != DType::Kind::kVector || t.shape.empty()) return nb::object();
  const ElementFormat want = FormatOfElement(t.element);
  ArrayBuffer a;
  if (!a.TryView(values)) {
    // Only genuine arrays take this path; lists go through the item loop.
    if (!PyObject_HasAttrString(values, "__array__")) return nb::object();
    a.Convert(values, want);
  } else if (a.format().kind != want.kind || a.format().size != want.size) {
    a.Convert(values, want);
  }
  if (static_cast<size_t>(a.ndim()) != t.shape.size() + 1) return nb::object();  // the loop reports it
  for (size_t i = 0; i < t.shape.size(); ++i) {
    if (a.dim(static_cast<int>(i) + 1) != t.shape[i]) {
      RaiseInvalidArgument("Shape mismatch: pack_many for " + t.ToString() + " expects an array of shape (n, " +
                           t.ToString().substr(t.ToString().find(':', 4) + 1) + ")");
    }
  }
  const size_t n = a.dim(0);
  const size_t row = t.fixed_size - 1;
  char* dst;
  nb::object bytes = NewBytes(n * t.fixed_size, &dst);
  const char* src = a.data();
  for (size_t i = 0; i < n; ++i, dst += t.fixed_size, src += row) {
    dst[0] = static_cast<char>(t.element);
    CopyLE(std::string_view(src, row), want.size, dst + 1);
  }
  return bytes;
}


// ------------------------------------------------------------ scalar fast paths
//
// Columns of numbers are the common case: these loops write and read the
// little-endian bytes directly, and fall back to the general path (which
// also produces the precise error) for anything unusual.

template <typename T>
bool StoreIntIfFits(long long v, char* dst) {
  if constexpr (std::is_signed_v<T>) {
    if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()) return false;
  } else {
    if (v < 0 || static_cast<unsigned long long>(v) > std::numeric_limits<T>::max()) return false;
  }
  StoreLE<T>(static_cast<T>(v), dst);
  return true;
}

// Writes one scalar at dst (elem_size bytes) on the fast path; false when
// the general path must handle it.
bool StoreScalarFast(const DType& t, PyObject* o, char* dst) {
  switch (t.kind) {
    case DType::Kind::kInt:
    case DType::Kind::kUint: {
      if (!PyLong_CheckExact(o)) return false;
      int overflow = 0;
      long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
      if (overflow != 0 || (v == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return false;
      }
      if (t.kind == DType::Kind::kInt) {
        switch (t.width) {
          case 1: return StoreIntIfFits<int8_t>(v, dst);
          case 2: return StoreIntIfFits<int16_t>(v, dst);
          case 4: return StoreIntIfFits<int32_t>(v, dst);
          default: StoreLE<int64_t>(v, dst); return true;
        }
      }
      if (v < 0) return false;
      switch (t.width) {
        case 1: return StoreIntIfFits<uint8_t>(v, dst);
        case 2: return StoreIntIfFits<uint16_t>(v, dst);
        case 4: return StoreIntIfFits<uint32_t>(v, dst);
        default: StoreLE<uint64_t>(static_cast<uint64_t>(v), dst); return true;
      }
    }
    case DType::Kind::kFloat: {
      double d;
      if (PyFloat_CheckExact(o)) {
        d = PyFloat_AS_DOUBLE(o);
      } else {
        return false;
      }
      if (t.width == 8) {
        StoreLE<double>(d, dst);
        return true;
      }
      const float f = static_cast<float>(d);
      if (std::isinf(f) && !std::isinf(d)) return false;
      StoreLE<float>(f, dst);
      return true;
    }
    case DType::Kind::kBool:
      if (o != Py_True && o != Py_False) return false;
      *dst = o == Py_True ? 1 : 0;
      return true;
    default:
      return false;
  }
}

bool IsScalarKind(DType::Kind k) {
  return k == DType::Kind::kInt || k == DType::Kind::kUint || k == DType::Kind::kFloat ||
         k == DType::Kind::kBool;
}

// Packs a list or tuple for a scalar dtype.
nb::object PackManyScalarSeq(const DataPacker& p, PyObject* seq) {
  const DType& t = p.dtype();
  const size_t w = t.fixed_size;
  const Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
  char* base;
  nb::object bytes = NewBytes(static_cast<size_t>(n) * w, &base);
  std::string slow;
  for (Py_ssize_t i = 0; i < n; ++i) {
    if (PySequence_Fast_GET_SIZE(seq) != n) RaiseInvalidArgument("list changed size while being packed");
    PyObject* o = PySequence_Fast_GET_ITEM(seq, i);
    char* dst = base + static_cast<size_t>(i) * w;
    if (StoreScalarFast(t, o, dst)) continue;
    nb::object hold = nb::borrow(o);
    slow.clear();
    PackScalarObject(p, o, &slow);
    std::memcpy(dst, slow.data(), w);
  }
  return bytes;
}

// Reads one scalar element (exactly elem_size bytes) into a new reference.
PyObject* LoadScalar(const DType& t, const char* src) {
  switch (t.kind) {
    case DType::Kind::kInt:
      switch (t.width) {
        case 1: return PyLong_FromLong(static_cast<int8_t>(*src));
        case 2: return PyLong_FromLong(LoadLE<int16_t>(src));
        case 4: return PyLong_FromLong(LoadLE<int32_t>(src));
        default: return PyLong_FromLongLong(LoadLE<int64_t>(src));
      }
    case DType::Kind::kUint:
      switch (t.width) {
        case 1: return PyLong_FromLong(static_cast<uint8_t>(*src));
        case 2: return PyLong_FromLong(LoadLE<uint16_t>(src));
        case 4: return PyLong_FromUnsignedLong(LoadLE<uint32_t>(src));
        default: return PyLong_FromUnsignedLongLong(LoadLE<uint64_t>(src));
      }
    case DType::Kind::kFloat:
      return PyFloat_FromDouble(t.width == 4 ? static_cast<double>(LoadLE<float>(src)) : LoadLE<double>(src));
    default: {  // kBool
      const auto b = static_cast<unsigned char>(*src);
      if (b > 1) {
        PyErr_Format(PyExc_ValueError, "not a bool: byte %d", static_cast<int>(b));
        return nullptr;
      }
      return Py_NewRef(b ? Py_True : Py_False);
    }
  }
}

// UTF-8 text or bytes in a list or tuple: the elements are the raw bytes
// (zero-padded for fixed sizes), so sum the sizes, allocate once and copy.
// Returns an invalid object (nothing done) when an item is not of the
// dtype's exact type or is too long; the general loop then reports it.
nb::object PackManyRawSeq(const DataPacker& p, PyObject* seq) {
  const DType& t = p.dtype();
  const bool text = t.kind == DType::Kind::kString && t.encoding == TextEncoding::kUtf8;
  if (!text && t.kind != DType::Kind::kBytes) return nb::object();
  const Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
  std::vector<std::string_view> parts(static_cast<size_t>(n));
  size_t total = 0;
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* o = PySequence_Fast_GET_ITEM(seq, i);
    std::string_view part;
    if (text && PyUnicode_CheckExact(o)) {
      Py_ssize_t len = 0;
      const char* u = PyUnicode_AsUTF8AndSize(o, &len);  // cached in the str; lives as long as it
      if (u == nullptr) {
        PyErr_Clear();
        return nb::object();
      }
      part = std::string_view(u, static_cast<size_t>(len));
    } else if (!text && PyBytes_CheckExact(o)) {
      part = std::string_view(PyBytes_AS_STRING(o), static_cast<size_t>(PyBytes_GET_SIZE(o)));
    } else {
      return nb::object();
    }
    if (t.fixed_size != 0 && part.size() > t.fixed_size) return nb::object();
    parts[static_cast<size_t>(i)] = part;
    total += t.fixed_size != 0 ? t.fixed_size : part.size();
  }
  char* dst;
  nb::object bytes = NewBytes(total, &dst);
  for (std::string_view part : parts) {
    if (!part.empty()) std::memcpy(dst, part.data(), part.size());
    if (t.fixed_size != 0) {
      std::memset(dst + part.size(), 0, t.fixed_size - part.size());
      dst += t.fixed_size;
    } else {
      dst += part.size();
    }
  }
  return bytes;
}

nb::object PackMany(const DataPacker& p, nb::handle values) {
  PyObject* v = values.ptr();
  if (PyUnicode_Check(v) || PyBytes_Check(v) || PyDict_Check(v)) {
    RaiseInvalidType(std::string("pack_many expects a sequence or iterable of values, not ") + TypeName(v));
  }
  if (nb::object r = PackManyNumeric(p, v); r.is_valid()) return r;
  if (nb::object r = PackManyVectors(p, v); r.is_valid()) return r;
  if ((PyList_Check(v) || PyTuple_Check(v)) && IsScalarKind(p.dtype().kind)) return PackManyScalarSeq(p, v);
  if (PyList_Check(v) || PyTuple_Check(v)) {
    if (nb::object r = PackManyRawSeq(p, v); r.is_valid()) return r;
  }
  Scratch scratch;
  std::string* out = scratch.get();
  if (PyList_Check(v) || PyTuple_Check(v)) {
    nb::object seq = nb::borrow(v);
    const Py_ssize_t n = PySequence_Fast_GET_SIZE(v);
    if (p.elem_size() != 0) out->reserve(static_cast<size_t>(n) * p.elem_size());
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(v); ++i) {
      nb::object item = nb::borrow(PySequence_Fast_GET_ITEM(v, i));
      PackOne(p, item.ptr(), out);
    }
    return scratch.ToBytes();
  }
  nb::object it = nb::steal(PyObject_GetIter(v));
  if (!it.is_valid()) {
    PyErr_Clear();
    RaiseInvalidType(std::string("pack_many expects a sequence or iterable of values, not ") + TypeName(v));
  }
  while (PyObject* item = PyIter_Next(it.ptr())) {
    nb::object holder = nb::steal(item);
    PackOne(p, item, out);
  }
  if (PyErr_Occurred()) ThrowPython();
  return scratch.ToBytes();
}

std::vector<size_t> ReadOffsets(nb::handle offsets, size_t size) {
  nb::object seq = nb::steal(PySequence_Fast(offsets.ptr(), "offsets must be a sequence of ints"));
  if (!seq.is_valid()) ThrowPython();
  const Py_ssize_t n = PySequence_Fast_GET_SIZE(seq.ptr());
  std::vector<size_t> out(static_cast<size_t>(n));
  size_t prev = 0;
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* item = PySequence_Fast_GET_ITEM(seq.ptr(), i);
    long long off;
    if (PyLong_CheckExact(item)) {
      off = PyLong_AsLongLong(item);
      if (off == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        off = -1;
      }
    } else {
      if (PyFloat_Check(item) || !PyIndex_Check(item)) {
        RaiseInvalidType(std::string("offsets must be ints, got ") + TypeName(item));
      }
      nb::object idx = nb::steal(PyNumber_Index(item));
      if (!idx.is_valid()) ThrowPython();
      off = static_cast<long long>(CheckOffset(idx, size));
    }
    if (off < 0 || static_cast<unsigned long long>(off) > size) {
      RaiseInvalidArgument("Offset out of bounds: offsets[" + std::to_string(i) + "] = " + std::to_string(off) +
                           " for " + std::to_string(size) + " bytes of data");
    }
    if (static_cast<size_t>(off) < prev) {
      RaiseInvalidArgument("offsets must not decrease (offsets[" + std::to_string(i) + "])");
    }
    out[static_cast<size_t>(i)] = prev = static_cast<size_t>(off);
  }
  return out;
}

nb::object UnpackManyNumpy(const DataPacker& p, std::string_view d, size_t count) {
  const DType& t = p.dtype();
  const std::optional<ElementFormat> scalar = FormatOfScalar(t);
  if (scalar) {
    std::string_view body = d.substr(0, count * t.fixed_size);
    if (scalar->kind == 'b') {
      for (char c : body) {
        if (static_cast<unsigned char>(c) > 1) RaiseInvalidArgument("not a bool: byte " + std::to_string(c));
      }
    }
    return NewNumpyArray(*scalar, {count}, body);
  }
  if (t.kind == DType::Kind::kVector && !t.shape.empty()) {
    const ElementFormat f = FormatOfElement(t.element);
    const size_t row = t.fixed_size - 1;
    std::unique_ptr<char[]> mem(new char[count * row + 1]);
    for (size_t i = 0; i < count; ++i) {
      const char* src = d.data() + i * t.fixed_size;
      if (static_cast<uint8_t>(src[0]) != static_cast<uint8_t>(t.element)) {
        RaiseInvalidArgument("element " + std::to_string(i) + " is not a " + t.ToString() + " vector");
      }
      CopyLE(std::string_view(src + 1, row), f.size, mem.get() + i * row);
    }
    std::vector<size_t> shape{count};
    shape.insert(shape.end(), t.shape.begin(), t.shape.end());
    return OwnNumpyArray(f, shape, std::move(mem));
  }
  RaiseInvalidArgument("as_numpy=True needs a numeric or fixed-shape vec: dtype, not " + t.ToString());
}

// n fixed-size elements at the start of d, as a list (or one array).
nb::object UnpackFixedElements(const DataPacker& p, std::string_view d, size_t n, bool as_numpy) {
  const DType& t = p.dtype();
  if (as_numpy) return UnpackManyNumpy(p, d, n);
  if (t.kind == DType::Kind::kVector) {
    // One (n, *shape) array, returned as the list of its rows (views):
    // one allocation instead of n arrays.
    nb::object all = UnpackManyNumpy(p, d, n);
    PyObject* rows = PySequence_List(all.ptr());
    if (rows == nullptr) ThrowPython();
    return nb::steal(rows);
  }
  nb::object list = nb::steal(PyList_New(static_cast<Py_ssize_t>(n)));
  if (!list.is_valid()) ThrowPython();
  if (IsScalarKind(t.kind)) {
    for (size_t i = 0; i < n; ++i) {
      PyObject* v = LoadScalar(t, d.data() + i * t.fixed_size);
      if (v == nullptr) ThrowPython();
      PyList_SET_ITEM(list.ptr(), static_cast<Py_ssize_t>(i), v);
    }
    return list;
  }
  for (size_t i = 0; i < n; ++i) {
    nb::object v = UnpackOne(p, d.substr(i * t.fixed_size, t.fixed_size));
    PyList_SET_ITEM(list.ptr(), static_cast<Py_ssize_t>(i), v.release().ptr());
  }
  return list;
}

nb::object UnpackMany(const DataPacker& p, nb::handle data, nb::handle count_obj, nb::handle offsets_obj,
                      bool as_numpy) {
  InputBytes in(data, "data");
  const std::string_view d = in.view();
  const DType& t = p.dtype();
  std::optional<size_t> count;
  if (!count_obj.is_none()) {
    long long c = PyLong_AsLongLong(count_obj.ptr());
    if (c == -1 && PyErr_Occurred()) ThrowPython();
    if (c < 0) RaiseInvalidArgument("count must be >= 0");
    count = static_cast<size_t>(c);
  }
  if (t.fixed_size != 0) {
    size_t n;
    if (count) {
      if (*count > d.size() / t.fixed_size) {
        RaiseInvalidArgument("Not enough data: " + std::to_string(*count) + " elements of " +
                             std::to_string(t.fixed_size) + " bytes need " +
                             std::to_string(*count * t.fixed_size) + " bytes, got " + std::to_string(d.size()));
      }
      n = *count;
    } else {
      Result<size_t> r = p.CountFixed(d);
      ThrowIfError(r.status());
      n = *r;
    }
    return UnpackFixedElements(p, d, n, as_numpy);
  }
  if (as_numpy) RaiseInvalidArgument("as_numpy=True needs a fixed-size numeric or vec: dtype, not " + t.ToString());
  nb::list result;
  if (!offsets_obj.is_none()) {
    std::vector<size_t> offs = ReadOffsets(offsets_obj, d.size());
    const size_t n = count ? std::min(*count, offs.size()) : offs.size();
    nb::object list = nb::steal(PyList_New(static_cast<Py_ssize_t>(n)));
    if (!list.is_valid()) ThrowPython();
    for (size_t i = 0; i < n; ++i) {
      const size_t end = i + 1 < offs.size() ? offs[i + 1] : d.size();
      PyList_SET_ITEM(list.ptr(), static_cast<Py_ssize_t>(i),
                      UnpackOne(p, d.substr(offs[i], end - offs[i])).release().ptr());
    }
    return list;
  }
  if (t.kind != DType::Kind::kMsgPack && t.kind != DType::Kind::kCbor) {
    RaiseInvalidArgument("Variable-size types require offsets parameter (" + t.ToString() +
                         " elements are not self-delimiting)");
  }
  const ValueFormat fmt = t.kind == DType::Kind::kCbor ? ValueFormat::kCbor : ValueFormat::kMsgPack;
  size_t pos = 0;
  while (pos < d.size() && (!count || result.size() < *count)) {
    size_t used = 0;
    result.append(DecodePyValuePrefix(fmt, d.substr(pos), &used));
    pos += used;
  }
  if (count && result.size() < *count) {
    RaiseInvalidArgument("Not enough data: found " + std::to_string(result.size()) + " of " +
                         std::to_string(*count) + " values");
  }
  return result;
}

// Converts a schema given as a dict (or JSON text) to JSON text.
std::string SchemaText(nb::handle schema) {
  if (PyUnicode_Check(schema.ptr())) return nb::cast<std::string>(schema);
  std::string text;
  JsonEncoder e(&text);
  Walker<JsonEncoder>(&e, "JSON").Walk(schema.ptr(), 0);
  Status s = e.Finish();
  if (!s.ok()) RaiseInvalidArgument("Schema compilation failed: " + s.message());
  return text;
}


// ------------------------------------------------------------ per-call entry points
//
// pack() and unpack() are called once per element in user loops, so they
// bypass nanobind's general dispatcher: plain METH_O / METH_FASTCALL
// functions (what the struct module uses). Their typed signatures for the
// stubs come from python/bindings/stubgen_patterns.txt.

const DataPacker* SelfPacker(PyObject* self) {
  if (!nb::inst_ready(self)) {
    PyErr_SetString(PyExc_TypeError, "DataPacker.__init__() was not called");
    return nullptr;
  }
  return nb::inst_ptr<DataPacker>(self);
}

PyObject* FastPack(PyObject* self, PyObject* value) noexcept {
  const DataPacker* p = SelfPacker(self);
  if (p == nullptr) return nullptr;
  try {
    const DType& t = p->dtype();
    if (IsScalarKind(t.kind)) {
      PyObject* b = PyBytes_FromStringAndSize(nullptr, static_cast<Py_ssize_t>(t.fixed_size));
      if (b == nullptr) return nullptr;
      if (StoreScalarFast(t, value, PyBytes_AS_STRING(b))) return b;
      Py_DECREF(b);
    }
    // UTF-8 text and bytes: the bytes are the element (plus padding).
    std::string_view raw;
    bool have_raw = false;
    if (t.kind == DType::Kind::kString && t.encoding == TextEncoding::kUtf8 && PyUnicode_Check(value)) {
      Py_ssize_t n = 0;
      const char* u = PyUnicode_AsUTF8AndSize(value, &n);  // valid UTF-8 by construction
      if (u == nullptr) return nullptr;
      raw = std::string_view(u, static_cast<size_t>(n));
      have_raw = true;
    } else if (t.kind == DType::Kind::kBytes && PyBytes_CheckExact(value)) {
      if (t.fixed_size == 0) return Py_NewRef(value);  // bytes are immutable
      raw = std::string_view(PyBytes_AS_STRING(value), static_cast<size_t>(PyBytes_GET_SIZE(value)));
      have_raw = true;
    }
    if (have_raw && (t.fixed_size == 0 || raw.size() <= t.fixed_size)) {
      const size_t size = t.fixed_size ? t.fixed_size : raw.size();
      PyObject* b = PyBytes_FromStringAndSize(nullptr, static_cast<Py_ssize_t>(size));
      if (b == nullptr) return nullptr;
      char* dst = PyBytes_AS_STRING(b);
      if (!raw.empty()) std::memcpy(dst, raw.data(), raw.size());
      std::memset(dst + raw.size(), 0, size - raw.size());
      return b;
    }
    Scratch scratch;
    PackOne(*p, value, scratch.get());
    return scratch.ToBytes().release().ptr();
  } catch (...) {
    return TranslateException();
  }
}

PyObject* FastUnpack(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) noexcept {
  const DataPacker* p = SelfPacker(self);
  if (p == nullptr) return nullptr;
  PyObject* data = nargs > 0 ? args[0] : nullptr;
  PyObject* offset = nargs > 1 ? args[1] : nullptr;
  if (nargs > 2) {
    PyErr_Format(PyExc_TypeError, "unpack() takes at most 2 arguments (%zd given)", nargs);
    return nullptr;
  }
  if (kwnames != nullptr) {
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(kwnames); ++i) {
      PyObject* name = PyTuple_GET_ITEM(kwnames, i);
      PyObject* value = args[nargs + i];
      PyObject** slot = nullptr;
      if (PyUnicode_CompareWithASCIIString(name, "data") == 0) slot = &data;
      if (PyUnicode_CompareWithASCIIString(name, "offset") == 0) slot = &offset;
      if (slot == nullptr) {
        PyErr_Format(PyExc_TypeError, "unpack() got an unexpected keyword argument '%U'", name);
        return nullptr;
      }
      if (*slot != nullptr) {
        PyErr_Format(PyExc_TypeError, "unpack() got multiple values for argument '%U'", name);
        return nullptr;
      }
      *slot = value;
    }
  }
  if (data == nullptr) {
    PyErr_SetString(PyExc_TypeError, "unpack() missing required argument 'data'");
    return nullptr;
  }
  try {
    const DType& t = p->dtype();
    if (PyBytes_CheckExact(data) && (offset == nullptr || PyLong_CheckExact(offset))) {
      const Py_ssize_t size = PyBytes_GET_SIZE(data);
      Py_ssize_t off = 0;
      if (offset != nullptr) {
        off = PyLong_AsSsize_t(offset);
        if (off == -1 && PyErr_Occurred()) PyErr_Clear(), off = -1;
      }
      if (off >= 0 && off <= size && static_cast<size_t>(size - off) >= t.fixed_size) {
        const char* at = PyBytes_AS_STRING(data) + off;
        if (IsScalarKind(t.kind)) return LoadScalar(t, at);
        const size_t len = t.fixed_size ? t.fixed_size : static_cast<size_t>(size - off);
        // The element is the whole bytes object: bytes are immutable, so it
        // is its own unpacked value.
        if (t.kind == DType::Kind::kBytes && off == 0 && len == static_cast<size_t>(size)) {
          return Py_NewRef(data);
        }
        return UnpackOne(*p, std::string_view(at, len)).release().ptr();
      }
    }
    nb::object off_obj = offset != nullptr ? nb::borrow(offset) : nb::int_(0);
    return Unpack(*p, nb::handle(data), off_obj).release().ptr();
  } catch (...) {
    return TranslateException();
  }
}

PyMethodDef kPackDef = {"pack", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(FastPack)), METH_O,
                        "pack($self, value, /)\n--\n\nPack one value into bytes."};
PyMethodDef kUnpackDef = {
    "unpack", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(FastUnpack)),
    METH_FASTCALL | METH_KEYWORDS,
    "unpack($self, data, offset=0)\n--\n\nUnpack one element at `offset` (variable-size dtypes: "
    "everything from `offset`)."};

void AddFastMethod(nb::handle cls, PyMethodDef* def) {
  nb::object descr = nb::steal(PyDescr_NewMethod(reinterpret_cast<PyTypeObject*>(cls.ptr()), def));
  if (!descr.is_valid()) ThrowPython();
  if (PyObject_SetAttrString(cls.ptr(), def->ml_name, descr.ptr()) != 0) ThrowPython();
}

}  // namespace

// ------------------------------------------------------------ packer_glue.h

void PackElement(const DataPacker& p, PyObject* value, std::string* out) { PackOne(p, value, out); }

nb::object UnpackElement(const DataPacker& p, std::string_view element) { return UnpackOne(p, element); }

nb::object PackValues(const DataPacker& p, nb::handle values) { return PackMany(p, values); }

nb::object UnpackFixed(const DataPacker& p, std::string_view data, size_t n, bool as_numpy) {
  return UnpackFixedElements(p, data, n, as_numpy);
}

void RegisterPacker(nb::module_& m) {
  using namespace nb::literals;
  auto cls = nb::class_<DataPacker>(m, "DataPacker",
                         "Typed serializer for a dtype string (see ambervault.DataPacker).")
      .def(
          "__init__",
          [](DataPacker* self, std::string_view dtype) {
            Result<DataPacker> r = DataPacker::Create(dtype);
            ThrowIfError(r.status());
            new (self) DataPacker(std::move(*r));
          },
          "dtype"_a, "Parse `dtype` once; ValueError names the bad part.")
      .def_static(
          "with_json_schema",
          [](nb::handle schema) {
            const std::string text = SchemaText(schema);
            Result<DataPacker> r = DataPacker::WithJsonSchema(text);
            ThrowIfError(r.status());
            return std::move(*r);
          },
          "schema"_a, nb::sig("def with_json_schema(schema: dict[str, object] | str) -> DataPacker"),
          "A MessagePack packer that validates every value against a JSON Schema.")
      .def_static(
          "with_cddl_schema",
          [](std::optional<std::string> schema) {
            Result<DataPacker> r = DataPacker::WithCddlSchema(schema.value_or(""));
            ThrowIfError(r.status());
            return std::move(*r);
          },
          "schema"_a = nb::none(), "A CBOR packer; the schema is kept but not applied.")
      .def("pack_many", &PackMany, "values"_a,
           nb::sig("def pack_many(self, values: Iterable[object]) -> bytes"),
           "Pack every value and concatenate; numpy arrays take a fast path.")
      .def("unpack_many", &UnpackMany, "data"_a, "count"_a = nb::none(), "offsets"_a = nb::none(),
           "as_numpy"_a = false,
           nb::sig("def unpack_many(self, data: bytes | bytearray | memoryview, count: int | None = None, "
                   "offsets: Iterable[int] | None = None, as_numpy: bool = False) -> list[Any] | Any"),
           "Unpack consecutive elements (fixed: `count`, default all; variable: `offsets`).")
      .def_prop_ro("elem_size", [](const DataPacker& p) { return p.elem_size(); },
                   "Bytes per element; 0 for variable-size dtypes.")
      .def_prop_ro("is_varsize", [](const DataPacker& p) { return p.is_varsize(); })
      .def_prop_ro("dtype", [](const DataPacker& p) { return p.ToString(); }, "The canonical dtype string.")
      .def_prop_ro(
          "schema",
          [](const DataPacker& p) -> nb::object {
            if (p.schema().empty() && !p.has_json_schema()) return nb::none();
            return nb::str(p.schema().data(), p.schema().size());
          },
          nb::sig("def schema(self) -> str | None"), "The schema text of a schema packer, else None.")
      .def("__repr__",
           [](const DataPacker& p) {
             if (p.has_json_schema()) return "DataPacker.with_json_schema(" + p.schema() + ")";
             if (p.dtype().kind == DType::Kind::kCbor && !p.schema().empty()) {
               return std::string("DataPacker.with_cddl_schema(...)");
             }
             return "DataPacker('" + p.ToString() + "')";
           })
      .def(
          "__eq__",
          [](const DataPacker& a, nb::handle b) -> nb::object {
            if (!nb::isinstance<DataPacker>(b)) return nb::borrow(Py_NotImplemented);
            return nb::bool_(a == nb::cast<const DataPacker&>(b));
          },
          "other"_a.none(),
          nb::sig("def __eq__(self, other: object) -> bool"))
      .def("__hash__",
           [](const DataPacker& p) {
             return nb::hash(nb::make_tuple(p.ToString(), p.schema(), p.has_json_schema()));
           })
      .def("__reduce__", [](nb::handle self) {
        const DataPacker& p = nb::cast<const DataPacker&>(self);
        nb::handle cls = nb::handle(reinterpret_cast<PyObject*>(Py_TYPE(self.ptr())));
        if (p.has_json_schema()) {
          return nb::make_tuple(cls.attr("with_json_schema"), nb::make_tuple(p.schema()));
        }
        if (p.dtype().kind == DType::Kind::kCbor && !p.schema().empty()) {
          return nb::make_tuple(cls.attr("with_cddl_schema"), nb::make_tuple(p.schema()));
        }
        return nb::make_tuple(cls, nb::make_tuple(p.ToString()));
      });
  AddFastMethod(cls, &kPackDef);
  AddFastMethod(cls, &kUnpackDef);
}

}  // namespace ambervault::python
