// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// numpy without the numpy C API: arrays come in through the buffer protocol
// and go out as nanobind ndarrays, so the module imports without numpy and
// only vec: dtypes and as_numpy=True need it.

#ifndef AMBERVAULT_PYTHON_BINDINGS_PY_NUMPY_H_
#define AMBERVAULT_PYTHON_BINDINGS_PY_NUMPY_H_

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <bit>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ambervault/packer.h"
#include "packer/byte_order.h"
#include "py_util.h"

namespace ambervault::python {

using namespace nb::literals;

// numpy's limit on dimensions (NPY_MAXDIMS in numpy 2).
inline constexpr size_t kMaxNumpyDims = 64;

// ------------------------------------------------------------ numpy

struct ElementFormat {
  char kind;  // 'i' signed, 'u' unsigned, 'f' float, 'b' bool
  size_t size;
};

inline ElementFormat FormatOfElement(ElementType t) {
  switch (t) {
    case ElementType::kF32: return {'f', 4};
    case ElementType::kF64: return {'f', 8};
    case ElementType::kI8: return {'i', 1};
    case ElementType::kI16: return {'i', 2};
    case ElementType::kI32: return {'i', 4};
    case ElementType::kI64: return {'i', 8};
    case ElementType::kU8: return {'u', 1};
    case ElementType::kU16: return {'u', 2};
    case ElementType::kU32: return {'u', 4};
    case ElementType::kU64: return {'u', 8};
  }
  return {'f', 4};
}

// The element format of a scalar dtype (int, uint, float, bool).
inline std::optional<ElementFormat> FormatOfScalar(const DType& t) {
  switch (t.kind) {
    case DType::Kind::kInt: return ElementFormat{'i', t.width};
    case DType::Kind::kUint: return ElementFormat{'u', t.width};
    case DType::Kind::kFloat: return ElementFormat{'f', t.width};
    case DType::Kind::kBool: return ElementFormat{'b', 1};
    default: return std::nullopt;
  }
}

inline const char* NumpyName(ElementFormat f) {
  switch (f.kind) {
    case 'b': return "bool";
    case 'f': return f.size == 4 ? "float32" : "float64";
    case 'i': return f.size == 1 ? "int8" : f.size == 2 ? "int16" : f.size == 4 ? "int32" : "int64";
    default: return f.size == 1 ? "uint8" : f.size == 2 ? "uint16" : f.size == 4 ? "uint32" : "uint64";
  }
}

inline nb::dlpack::dtype DlpackOf(ElementFormat f) {
  nb::dlpack::dtype d;
  d.code = static_cast<uint8_t>(f.kind == 'f'   ? nb::dlpack::dtype_code::Float
                                : f.kind == 'i' ? nb::dlpack::dtype_code::Int
                                : f.kind == 'u' ? nb::dlpack::dtype_code::UInt
                                                : nb::dlpack::dtype_code::Bool);
  d.bits = static_cast<uint8_t>(f.size * 8);
  d.lanes = 1;
  return d;
}

// Parses a buffer-protocol format string ("<f", "=q", "B", ...) into an
// element format. False for anything else (big-endian, structs, float16).
inline bool ParseBufferFormat(const char* fmt, size_t itemsize, ElementFormat* out) {
  if (fmt == nullptr) fmt = "B";
  if (*fmt == '@' || *fmt == '=' || (*fmt == '<' && std::endian::native == std::endian::little)) ++fmt;
  if (fmt[0] == '\0' || fmt[1] != '\0') return false;
  char kind;
  switch (fmt[0]) {
    case 'b': case 'h': case 'i': case 'l': case 'q': case 'n': kind = 'i'; break;
    case 'B': case 'H': case 'I': case 'L': case 'Q': case 'N': kind = 'u'; break;
    case 'f': case 'd': kind = 'f'; break;
    case '?': kind = 'b'; break;
    default: return false;
  }
  if (kind == 'f' && itemsize != 4 && itemsize != 8) return false;
  if (kind == 'b' && itemsize != 1) return false;
  *out = ElementFormat{kind, itemsize};
  return true;
}

inline nb::module_& Numpy() {
  static nb::module_* np = nullptr;  // imported on first use, never freed
  if (np == nullptr) np = new nb::module_(nb::module_::import_("numpy"));
  return *np;
}

// A C-contiguous buffer of known element format over a Python object.
class ArrayBuffer {
 public:
  // Views `o` directly when it exposes a C-contiguous buffer of a numeric
  // format; returns false (and holds nothing) otherwise.
  bool TryView(PyObject* o) {
    if (!PyObject_CheckBuffer(o) || PyBytes_Check(o) || PyByteArray_Check(o)) return false;
    if (PyObject_GetBuffer(o, &buf_, PyBUF_RECORDS_RO) != 0) {
      PyErr_Clear();
      return false;
    }
    held_ = true;
    if (!PyBuffer_IsContiguous(&buf_, 'C') ||
        !ParseBufferFormat(buf_.format, static_cast<size_t>(buf_.itemsize), &format_)) {
      Release();
      return false;
    }
    return true;
  }
  // Converts `o` with numpy.asarray(o, dtype=<target>, order="C") and views
  // the result (numpy's casting rules, as KohakuVault's astype).
  void Convert(PyObject* o, ElementFormat target) {
    Release();
    // asarray (not ascontiguousarray, which turns 0-d into 1-d).
    converted_ = Numpy().attr("asarray")(nb::handle(o), "dtype"_a = NumpyName(target), "order"_a = "C");
    if (PyObject_GetBuffer(converted_.ptr(), &buf_, PyBUF_RECORDS_RO) != 0) ThrowPython();
    held_ = true;
    if (!ParseBufferFormat(buf_.format, static_cast<size_t>(buf_.itemsize), &format_)) {
      RaiseInvalidType("numpy produced an unexpected buffer format");
    }
  }
  ~ArrayBuffer() { Release(); }

  ElementFormat format() const { return format_; }
  int ndim() const { return buf_.ndim; }
  size_t dim(int i) const { return static_cast<size_t>(buf_.shape[i]); }
  const char* data() const { return static_cast<const char*>(buf_.buf); }
  size_t bytes() const { return static_cast<size_t>(buf_.len); }

 private:
  void Release() {
    if (held_) PyBuffer_Release(&buf_);
    held_ = false;
  }
  Py_buffer buf_{};
  bool held_ = false;
  ElementFormat format_{};
  nb::object converted_;
};

inline void CopyLE(std::string_view src, size_t esize, char* dst) {
  CopyElementsLE(src.data(), src.size(), esize, dst);
}

// Wraps native-order `mem` as a writable numpy array of `shape` that owns it.
inline nb::object OwnNumpyArray(ElementFormat f, const std::vector<size_t>& shape, std::unique_ptr<char[]> mem) {
  char* data = mem.get();
  nb::capsule owner(mem.release(), [](void* p) noexcept { delete[] static_cast<char*>(p); });
  nb::ndarray<nb::numpy> arr(data, shape.size(), shape.data(), owner, nullptr, DlpackOf(f));
  return nb::cast(std::move(arr));
}

// A new, uninitialized, writable numpy array of `shape`, allocated by
// numpy (whose allocator asks for huge pages on large arrays: far fewer
// page faults than new[] when the array is filled); *data is its memory.
inline nb::object EmptyNumpyArray(ElementFormat f, const std::vector<size_t>& shape, char** data) {
  nb::tuple dims = nb::steal<nb::tuple>(PyTuple_New(static_cast<Py_ssize_t>(shape.size())));
  for (size_t i = 0; i < shape.size(); ++i) {
    PyTuple_SET_ITEM(dims.ptr(), static_cast<Py_ssize_t>(i), PyLong_FromSize_t(shape[i]));
  }
  nb::object arr = Numpy().attr("empty")(dims, NumpyName(f));
  Py_buffer view;
  if (PyObject_GetBuffer(arr.ptr(), &view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) != 0) ThrowPython();
  *data = static_cast<char*>(view.buf);
  PyBuffer_Release(&view);  // the array keeps its memory
  return arr;
}

// A new, writable numpy array of `shape` holding a copy of the
// little-endian `data`.
inline nb::object NewNumpyArray(ElementFormat f, const std::vector<size_t>& shape, std::string_view data) {
  char* dst = nullptr;
  nb::object arr = EmptyNumpyArray(f, shape, &dst);
  if (!data.empty()) CopyLE(data, f.size, dst);
  return arr;
}

}  // namespace ambervault::python

#endif  // AMBERVAULT_PYTHON_BINDINGS_PY_NUMPY_H_
