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
#include "packer/byte_order.h"

namespace ambervault::python {

namespace {

namespace nb = nanobind;
using namespace nb::literals;

[[noreturn]] void ThrowPython() { throw nb::python_error(); }

[[noreturn]] void RaiseOutOfRange(const std::string& msg) {
  RaiseStatus(Status::OutOfRange(msg));
}

const char* TypeName(PyObject* o) { return Py_TYPE(o)->tp_name; }

bool IsNumpyScalarType(PyObject* o, const char* prefix) {
  const char* name = TypeName(o);
  return std::strncmp(name, "numpy.", 6) == 0 &&
         std::strncmp(name + 6, prefix, std::strlen(prefix)) == 0;
}

bool IsNumpyBool(PyObject* o) {
  const char* name = TypeName(o);
  return std::strcmp(name, "numpy.bool") == 0 || std::strcmp(name, "numpy.bool_") == 0;
}

// A numpy floating scalar that is not a float subclass (float16, float32,
// longdouble). Decimal and Fraction are deliberately not accepted: turning
// them into a double would lose digits silently.
bool IsNumpyFloat(PyObject* o) {
  return IsNumpyScalarType(o, "float") || IsNumpyScalarType(o, "longdouble");
}

// ------------------------------------------------------------ bytes input

// A read-only byte view of a bytes-like argument.
class InputBytes {
 public:
  InputBytes(nb::handle h, const char* what) {
    PyObject* o = h.ptr();
    if (PyBytes_Check(o)) {
      view_ = std::string_view(PyBytes_AS_STRING(o), static_cast<size_t>(PyBytes_GET_SIZE(o)));
      return;
    }
    if (PyUnicode_Check(o) || !PyObject_CheckBuffer(o)) {
      RaiseInvalidType(std::string(what) + " must be bytes-like (bytes, bytearray, memoryview), not " +
                       TypeName(o));
    }
    if (PyObject_GetBuffer(o, &buffer_, PyBUF_SIMPLE) != 0) {
      PyErr_Clear();
      RaiseInvalidType(std::string(what) + " must be a contiguous buffer, not " + TypeName(o));
    }
    held_ = true;
    view_ = std::string_view(static_cast<const char*>(buffer_.buf), static_cast<size_t>(buffer_.len));
  }
  ~InputBytes() {
    if (held_) PyBuffer_Release(&buffer_);
  }
  InputBytes(const InputBytes&) = delete;
  InputBytes& operator=(const InputBytes&) = delete;
  std::string_view view() const { return view_; }

 private:
  Py_buffer buffer_{};
  bool held_ = false;
  std::string_view view_;
};

// ------------------------------------------------------------ output buffer

// A per-thread scratch buffer reused across calls; a nested use on the same
// thread (a value's __index__ packing something) gets its own string.
class Scratch {
 public:
  Scratch() {
    if (!in_use_) {
      in_use_ = true;
      owner_ = true;
      buf_ = &shared_;
      buf_->clear();
    } else {
      buf_ = &local_;
    }
  }
  ~Scratch() {
    if (owner_) {
      in_use_ = false;
      if (shared_.capacity() > (1u << 22)) std::string().swap(shared_);
    }
  }
  std::string* get() { return buf_; }
  nb::object ToBytes() const {
    PyObject* b = PyBytes_FromStringAndSize(buf_->data(), static_cast<Py_ssize_t>(buf_->size()));
    if (b == nullptr) ThrowPython();
    return nb::steal(b);
  }

 private:
  static thread_local std::string shared_;
  static thread_local bool in_use_;
  std::string local_;
  std::string* buf_;
  bool owner_ = false;
};
thread_local std::string Scratch::shared_;
thread_local bool Scratch::in_use_ = false;

// ------------------------------------------------------------ numpy

struct ElementFormat {
  char kind;  // 'i' signed, 'u' unsigned, 'f' float, 'b' bool
  size_t size;
};

ElementFormat FormatOfElement(ElementType t) {
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
std::optional<ElementFormat> FormatOfScalar(const DType& t) {
  switch (t.kind) {
    case DType::Kind::kInt: return ElementFormat{'i', t.width};
    case DType::Kind::kUint: return ElementFormat{'u', t.width};
    case DType::Kind::kFloat: return ElementFormat{'f', t.width};
    case DType::Kind::kBool: return ElementFormat{'b', 1};
    default: return std::nullopt;
  }
}

const char* NumpyName(ElementFormat f) {
  switch (f.kind) {
    case 'b': return "bool";
    case 'f': return f.size == 4 ? "float32" : "float64";
    case 'i': return f.size == 1 ? "int8" : f.size == 2 ? "int16" : f.size == 4 ? "int32" : "int64";
    default: return f.size == 1 ? "uint8" : f.size == 2 ? "uint16" : f.size == 4 ? "uint32" : "uint64";
  }
}

nb::dlpack::dtype DlpackOf(ElementFormat f) {
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
bool ParseBufferFormat(const char* fmt, size_t itemsize, ElementFormat* out) {
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

nb::module_& Numpy() {
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
  // Converts `o` with numpy.ascontiguousarray(o, dtype=<target>) and views
  // the result (numpy's casting rules, as KohakuVault's astype).
  void Convert(PyObject* o, ElementFormat target) {
    Release();
    converted_ = Numpy().attr("ascontiguousarray")(nb::handle(o), "dtype"_a = NumpyName(target));
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

void CopyLE(std::string_view src, size_t esize, char* dst) {
  CopyElementsLE(src.data(), src.size(), esize, dst);
}

// Makes a new, writable numpy array of `shape` that owns a copy of the
// little-endian `data`.
nb::object NewNumpyArray(ElementFormat f, const std::vector<size_t>& shape, std::string_view data) {
  char* mem = new char[data.empty() ? 1 : data.size()];
  CopyLE(data, f.size, mem);
  nb::capsule owner(mem, [](void* p) noexcept { delete[] static_cast<char*>(p); });
  nb::ndarray<nb::numpy> arr(mem, shape.size(), shape.data(), owner, nullptr, DlpackOf(f));
  return nb::cast(std::move(arr));
}

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

// ------------------------------------------------------------ structured in

// Walks a Python value into a ValueEncoder. Throws on a value the format
// cannot hold; encoder-side failures (JSON limits) are left in the encoder.
template <class Encoder>
class Walker {
 public:
  Walker(Encoder* e, const char* format) : e_(e), format_(format) {}

  void Walk(PyObject* o, int depth) {
    if (o == Py_None) return e_->Nil();
    if (PyBool_Check(o)) return e_->Bool(o == Py_True);
    if (PyLong_Check(o)) return WalkInt(o);
    if (PyFloat_Check(o)) return e_->Double(PyFloat_AS_DOUBLE(o));
    if (PyUnicode_Check(o)) {
      Py_ssize_t n = 0;
      const char* s = PyUnicode_AsUTF8AndSize(o, &n);
      if (s == nullptr) ThrowPython();
      return e_->String(std::string_view(s, static_cast<size_t>(n)));
    }
    if (PyBytes_Check(o)) {
      return e_->Binary(std::string_view(PyBytes_AS_STRING(o), static_cast<size_t>(PyBytes_GET_SIZE(o))));
    }
    if (PyDict_Check(o)) return WalkDict(o, depth);
    if (PyList_Check(o) || PyTuple_Check(o)) return WalkSequence(o, depth);
    if (PyByteArray_Check(o) || PyMemoryView_Check(o)) {
      InputBytes b(o, "value");
      return e_->Binary(b.view());
    }
    if (IsNumpyBool(o)) return e_->Bool(PyObject_IsTrue(o) == 1);
    if (IsNumpyFloat(o)) {
      double d = PyFloat_AsDouble(o);
      if (d == -1.0 && PyErr_Occurred()) ThrowPython();
      return e_->Double(d);
    }
    if (!PyUnicode_Check(o) && PyIndex_Check(o)) {
      nb::object i = nb::steal(PyNumber_Index(o));
      if (!i.is_valid()) ThrowPython();
      return WalkInt(i.ptr());
    }
    RaiseInvalidType(std::string("cannot pack an object of type '") + TypeName(o) + "' as " + format_ +
                     " (supported: None, bool, int, float, str, bytes, list, tuple, dict)");
  }

 private:
  void Enter(int depth) {
    if (depth >= kMaxNestingDepth) {
      RaiseInvalidArgument(std::string(format_) + ": nesting deeper than " +
                           std::to_string(kMaxNestingDepth) + " (or a container that contains itself)");
    }
  }

  void WalkInt(PyObject* o) {
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (v == -1 && PyErr_Occurred()) ThrowPython();
    if (overflow == 0) return e_->Int(v);
    if (overflow > 0) {
      unsigned long long u = PyLong_AsUnsignedLongLong(o);
      if (!(u == static_cast<unsigned long long>(-1) && PyErr_Occurred())) return e_->Uint(u);
      PyErr_Clear();
    }
    RaiseOutOfRange(std::string("integer out of range for ") + format_ +
                    " (it holds -2**63 .. 2**64-1)");
  }

  void WalkSequence(PyObject* o, int depth) {
    Enter(depth);
    const bool is_list = PyList_Check(o);
    const Py_ssize_t n = is_list ? PyList_GET_SIZE(o) : PyTuple_GET_SIZE(o);
    e_->BeginArray(static_cast<size_t>(n));
    for (Py_ssize_t i = 0; i < n; ++i) {
      if (is_list && PyList_GET_SIZE(o) != n) {
        RaiseInvalidArgument("list changed size while being packed");
      }
      nb::object item = nb::borrow(is_list ? PyList_GET_ITEM(o, i) : PyTuple_GET_ITEM(o, i));
      Walk(item.ptr(), depth + 1);
    }
    e_->EndArray();
  }

  void WalkDict(PyObject* o, int depth) {
    Enter(depth);
    const Py_ssize_t n = PyDict_GET_SIZE(o);
    e_->BeginMap(static_cast<size_t>(n));
    Py_ssize_t pos = 0, seen = 0;
    PyObject *k, *v;
    while (PyDict_Next(o, &pos, &k, &v)) {
      nb::object key = nb::borrow(k), value = nb::borrow(v);
      if (++seen > n) break;
      Walk(key.ptr(), depth + 1);
      Walk(value.ptr(), depth + 1);
    }
    if (seen != n || PyDict_GET_SIZE(o) != n) {
      RaiseInvalidArgument("dict changed size while being packed");
    }
    e_->EndMap();
  }

  Encoder* e_;
  const char* format_;
};

template <class Encoder>
void PackStructured(const DataPacker& p, PyObject* o, std::string* out, const char* name) {
  const size_t start = out->size();
  Encoder e(out);
  try {
    Walker<Encoder>(&e, name).Walk(o, 0);
  } catch (...) {
    out->resize(start);
    throw;
  }
  ThrowIfError(p.FinishValue(e, start, out));
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

// ------------------------------------------------------------ structured out

// Recently seen short ASCII map keys, so decoding a stream of records
// with the same field names reuses one str object per name (no decode, no
// allocation, and the str's hash is already cached for the dict insert).
// Direct-mapped, guarded by the GIL; holds at most kSlots references.
class KeyCache {
 public:
  static constexpr size_t kMaxLength = 32;

  // A new reference to the str for `s` (null with a Python error on
  // invalid UTF-8).
  static PyObject* Get(std::string_view s) {
    uint32_t h = 2166136261u;  // FNV-1a
    for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
    PyObject*& slot = slots_[h % kSlots];
    if (slot != nullptr && static_cast<size_t>(PyUnicode_GET_LENGTH(slot)) == s.size() &&
        std::memcmp(PyUnicode_DATA(slot), s.data(), s.size()) == 0) {
      return Py_NewRef(slot);
    }
    PyObject* str = PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "strict");
    if (str == nullptr || !PyUnicode_IS_COMPACT_ASCII(str)) return str;
    if (PyObject_Hash(str) == -1) PyErr_Clear();  // computed once, cached in the str
    Py_XSETREF(slot, Py_NewRef(str));
    return str;
  }

 private:
  static constexpr size_t kSlots = 1024;
  static inline PyObject* slots_[kSlots] = {};
};

// Builds Python objects from decoder events.
class PyBuilder final : public ValueVisitor {
 public:
  ~PyBuilder() override {
    for (Frame& f : stack_) {
      Py_XDECREF(f.container);
      Py_XDECREF(f.key);
    }
    Py_XDECREF(result_);
  }
  // The finished value (new reference), or null.
  PyObject* Release() {
    PyObject* r = result_;
    result_ = nullptr;
    return r;
  }

  bool Nil() override { return Emit(Py_NewRef(Py_None)); }
  bool Bool(bool v) override { return Emit(PyBool_FromLong(v)); }
  bool Int(int64_t v) override { return Emit(PyLong_FromLongLong(v)); }
  bool Uint(uint64_t v) override { return Emit(PyLong_FromUnsignedLongLong(v)); }
  bool NegativeBeyondInt64(uint64_t n) override {
    // -1 - n
    nb::object big = nb::steal(PyLong_FromUnsignedLongLong(n));
    if (!big.is_valid()) return false;
    nb::object neg = nb::steal(PyNumber_Negative(big.ptr()));
    if (!neg.is_valid()) return false;
    nb::object one = nb::steal(PyLong_FromLong(1));
    return Emit(PyNumber_Subtract(neg.ptr(), one.ptr()));
  }
  bool Double(double v) override { return Emit(PyFloat_FromDouble(v)); }
  bool String(std::string_view s) override {
    if (!stack_.empty() && stack_.back().is_map && stack_.back().key == nullptr &&
        s.size() <= KeyCache::kMaxLength) {
      return Emit(KeyCache::Get(s));
    }
    return Emit(PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "strict"));
  }
  bool Binary(std::string_view b) override {
    return Emit(PyBytes_FromStringAndSize(b.data(), static_cast<Py_ssize_t>(b.size())));
  }
  bool BeginArray(size_t n) override {
    PyObject* list = PyList_New(static_cast<Py_ssize_t>(n));
    if (list == nullptr) return false;
    stack_.push_back(Frame{list, nullptr, 0, false, InKey()});
    return true;
  }
  bool EndArray() override {
    Frame f = stack_.back();
    stack_.pop_back();
    PyObject* value = f.container;
    if (f.in_key) {  // a list cannot be a dict key; keys that were tuples come back as tuples
      value = PyList_AsTuple(f.container);
      Py_DECREF(f.container);
    }
    return Emit(value);
  }
  bool BeginMap(size_t n) override {
    if (InKey()) {
      PyErr_SetString(PyExc_TypeError, "a map used as a map key cannot become a dict key");
      return false;
    }
    PyObject* dict = PyDict_New();  // _PyDict_NewPresized is not public API
    if (dict == nullptr) return false;
    stack_.push_back(Frame{dict, nullptr, 0, true, false});
    return true;
  }
  bool EndMap() override {
    Frame f = stack_.back();
    stack_.pop_back();
    return Emit(f.container);
  }

 private:
  struct Frame {
    PyObject* container;
    PyObject* key;  // map: the key waiting for its value
    Py_ssize_t index;
    bool is_map;
    bool in_key;  // this array is (part of) a map key
  };

  // True when the next value is a map key, or inside one.
  bool InKey() const {
    if (stack_.empty()) return false;
    const Frame& f = stack_.back();
    return f.is_map ? f.key == nullptr : f.in_key;
  }

  // Places a new reference; false (with a Python error set) on failure.
  bool Emit(PyObject* o) {
    if (o == nullptr) return false;
    if (stack_.empty()) {
      result_ = o;
      return true;
    }
    Frame& f = stack_.back();
    if (!f.is_map) {
      PyList_SET_ITEM(f.container, f.index++, o);
      return true;
    }
    if (f.key == nullptr) {
      f.key = o;
      return true;
    }
    int rc = PyDict_SetItem(f.container, f.key, o);
    Py_DECREF(o);
    Py_CLEAR(f.key);
    return rc == 0;
  }

  std::vector<Frame> stack_;
  PyObject* result_ = nullptr;
};

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
      PyBuilder b;
      Status s = p.UnpackValue(elem, &b);
      if (PyErr_Occurred()) ThrowPython();
      ThrowIfError(s);
      return nb::steal(b.Release());
    }
    case DType::Kind::kVector: {
      Result<ArrayView> r = p.UnpackArray(elem);
      ThrowIfError(r.status());
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
bool PackManyNumeric(const DataPacker& p, PyObject* values, std::string* out) {
  const std::optional<ElementFormat> want = FormatOfScalar(p.dtype());
  if (!want) return false;
  ArrayBuffer a;
  if (!a.TryView(values)) return false;
  if (a.ndim() != 1) RaiseInvalidArgument("pack_many expects a 1-D array for " + p.ToString());
  const ElementFormat f = a.format();
  const size_t n = a.dim(0);
  if (f.kind == want->kind && f.size == want->size) {
    AppendElementsLE(std::string_view(a.data(), a.bytes()), f.size, out);
    if (want->kind == 'b') {  // numpy bools are 0/1 already, but a raw buffer may not be
      for (size_t i = out->size() - n; i < out->size(); ++i) {
        if (static_cast<unsigned char>((*out)[i]) > 1) RaiseInvalidArgument("bool buffer holds a byte other than 0/1");
      }
    }
    return true;
  }
  if (f.kind == 'f' && want->kind != 'f') {
    RaiseInvalidType(p.ToString() + " expects ints, got an array of " + NumpyName(f));
  }
  out->reserve(out->size() + n * p.elem_size());
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
  return true;
}

// Packs an (n, *shape) array for a fixed-shape vec: dtype.
bool PackManyVectors(const DataPacker& p, PyObject* values, std::string* out) {
  const DType& t = p.dtype();
  if (t.kind != DType::Kind::kVector || t.shape.empty()) return false;
  const ElementFormat want = FormatOfElement(t.element);
  ArrayBuffer a;
  if (!a.TryView(values)) {
    // Only genuine arrays take this path; lists go through the item loop.
    if (!PyObject_HasAttrString(values, "__array__")) return false;
    a.Convert(values, want);
  } else if (a.format().kind != want.kind || a.format().size != want.size) {
    a.Convert(values, want);
  }
  if (static_cast<size_t>(a.ndim()) != t.shape.size() + 1) return false;  // let the loop report it
  for (size_t i = 0; i < t.shape.size(); ++i) {
    if (a.dim(static_cast<int>(i) + 1) != t.shape[i]) {
      RaiseInvalidArgument("Shape mismatch: pack_many for " + t.ToString() + " expects an array of shape (n, " +
                           t.ToString().substr(t.ToString().find(':', 4) + 1) + ")");
    }
  }
  const size_t n = a.dim(0);
  const size_t row = t.fixed_size - 1;
  const size_t at = out->size();
  out->resize(at + n * t.fixed_size);
  char* dst = out->data() + at;
  const char* src = a.data();
  for (size_t i = 0; i < n; ++i, dst += t.fixed_size, src += row) {
    dst[0] = static_cast<char>(t.element);
    CopyLE(std::string_view(src, row), want.size, dst + 1);
  }
  return true;
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
void PackManyScalarSeq(const DataPacker& p, PyObject* seq, std::string* out) {
  const DType& t = p.dtype();
  const size_t w = t.fixed_size;
  const Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
  const size_t at = out->size();
  out->resize(at + static_cast<size_t>(n) * w);
  std::string slow;
  for (Py_ssize_t i = 0; i < n; ++i) {
    if (PySequence_Fast_GET_SIZE(seq) != n) RaiseInvalidArgument("list changed size while being packed");
    PyObject* o = PySequence_Fast_GET_ITEM(seq, i);
    char* dst = out->data() + at + static_cast<size_t>(i) * w;
    if (StoreScalarFast(t, o, dst)) continue;
    nb::object hold = nb::borrow(o);
    slow.clear();
    PackScalarObject(p, o, &slow);
    std::memcpy(out->data() + at + static_cast<size_t>(i) * w, slow.data(), w);
  }
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

nb::object PackMany(const DataPacker& p, nb::handle values) {
  Scratch scratch;
  std::string* out = scratch.get();
  PyObject* v = values.ptr();
  if (PyUnicode_Check(v) || PyBytes_Check(v) || PyDict_Check(v)) {
    RaiseInvalidType(std::string("pack_many expects a sequence or iterable of values, not ") + TypeName(v));
  }
  if (PackManyNumeric(p, v, out) || PackManyVectors(p, v, out)) return scratch.ToBytes();
  if ((PyList_Check(v) || PyTuple_Check(v)) && IsScalarKind(p.dtype().kind)) {
    PackManyScalarSeq(p, v, out);
    return scratch.ToBytes();
  }
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
    if (!PyLong_Check(item) && !(PyIndex_Check(item) && !PyFloat_Check(item))) {
      RaiseInvalidType(std::string("offsets must be ints, got ") + TypeName(item));
    }
    nb::object idx = nb::steal(PyNumber_Index(item));
    if (!idx.is_valid()) ThrowPython();
    size_t off = CheckOffset(idx, size);
    if (off < prev) RaiseInvalidArgument("offsets must not decrease (offset " + std::to_string(i) + ")");
    out[static_cast<size_t>(i)] = prev = off;
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
    std::string packed;
    packed.resize(count * row);
    for (size_t i = 0; i < count; ++i) {
      const char* src = d.data() + i * t.fixed_size;
      if (static_cast<uint8_t>(src[0]) != static_cast<uint8_t>(t.element)) {
        RaiseInvalidArgument("element " + std::to_string(i) + " is not a " + t.ToString() + " vector");
      }
      std::memcpy(packed.data() + i * row, src + 1, row);
    }
    std::vector<size_t> shape{count};
    shape.insert(shape.end(), t.shape.begin(), t.shape.end());
    return NewNumpyArray(f, shape, packed);
  }
  RaiseInvalidArgument("as_numpy=True needs a numeric or fixed-shape vec: dtype, not " + t.ToString());
}

// A visitor that only counts, to split a self-delimiting stream.
class SkipVisitor final : public ValueVisitor {
 public:
  bool Nil() override { return true; }
  bool Bool(bool) override { return true; }
  bool Int(int64_t) override { return true; }
  bool Uint(uint64_t) override { return true; }
  bool NegativeBeyondInt64(uint64_t) override { return true; }
  bool Double(double) override { return true; }
  bool String(std::string_view) override { return true; }
  bool Binary(std::string_view) override { return true; }
  bool BeginArray(size_t) override { return true; }
  bool EndArray() override { return true; }
  bool BeginMap(size_t) override { return true; }
  bool EndMap() override { return true; }
};

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
    if (as_numpy) return UnpackManyNumpy(p, d, n);
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
  if (as_numpy) RaiseInvalidArgument("as_numpy=True needs a fixed-size numeric or vec: dtype, not " + t.ToString());
  nb::list result;
  if (!offsets_obj.is_none()) {
    std::vector<size_t> offs = ReadOffsets(offsets_obj, d.size());
    if (count && *count < offs.size()) offs.resize(*count);
    for (size_t i = 0; i < offs.size(); ++i) {
      const size_t end = i + 1 < offs.size() ? offs[i + 1] : d.size();
      result.append(UnpackOne(p, d.substr(offs[i], end - offs[i])));
    }
    return result;
  }
  if (t.kind != DType::Kind::kMsgPack && t.kind != DType::Kind::kCbor) {
    RaiseInvalidArgument("Variable-size types require offsets parameter (" + t.ToString() +
                         " elements are not self-delimiting)");
  }
  const ValueFormat fmt = t.kind == DType::Kind::kCbor ? ValueFormat::kCbor : ValueFormat::kMsgPack;
  size_t pos = 0;
  while (pos < d.size() && (!count || result.size() < *count)) {
    SkipVisitor skip;
    size_t used = 0;
    ThrowIfError(DecodeValue(fmt, d.substr(pos), &skip, &used));
    result.append(UnpackOne(p, d.substr(pos, used)));
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

PyObject* TranslateException() noexcept {
  try {
    throw;
  } catch (nb::python_error& e) {
    e.restore();
  } catch (const std::bad_alloc&) {
    PyErr_NoMemory();
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  } catch (...) {
    PyErr_SetString(PyExc_RuntimeError, "unknown C++ exception");
  }
  return nullptr;
}

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
                   "offsets: Sequence[int] | None = None, as_numpy: bool = False) -> list[Any] | Any"),
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
