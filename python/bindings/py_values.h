// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// Structured values between Python objects and the value codecs
// (MessagePack, CBOR, JSON): Walker turns a Python value into encoder calls,
// PyBuilder turns decoder events into Python objects. Both need the GIL.
//
// Python mapping: None, bool, int (-2**63 .. 2**64-1), float, str,
// bytes/bytearray/memoryview (binary), list and tuple (arrays; tuples come
// back as lists), dict (maps, insertion order kept, keys of any of these
// types; array keys come back as tuples). numpy integer, floating and bool
// scalars are taken as int, float and bool.

#ifndef AMBERVAULT_PYTHON_BINDINGS_PY_VALUES_H_
#define AMBERVAULT_PYTHON_BINDINGS_PY_VALUES_H_

#include <nanobind/nanobind.h>

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "ambervault/packer.h"
#include "ambervault/value_codec.h"
#include "py_util.h"

namespace ambervault::python {


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
    if (std::strcmp(TypeName(o), "numpy.ndarray") == 0) {
      RaiseInvalidType(std::string("cannot pack a numpy.ndarray as ") + format_ +
                       "; convert it with .tolist(), or store it with a vec: dtype");
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
inline void PackStructured(const DataPacker& p, PyObject* o, std::string* out, const char* name) {
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

// Builds Python objects from decoder events (see the mapping above).
class PyBuilder final : public ValueVisitor {
 public:
  ~PyBuilder() override;
  // The finished value (a new reference), or null.
  PyObject* Release() {
    PyObject* r = result_;
    result_ = nullptr;
    return r;
  }

  bool Nil() override;
  bool Bool(bool v) override;
  bool Int(int64_t v) override;
  bool Uint(uint64_t v) override;
  bool NegativeBeyondInt64(uint64_t n) override;
  bool Double(double v) override;
  bool String(std::string_view s) override;
  bool Binary(std::string_view b) override;
  bool BeginArray(size_t n) override;
  bool EndArray() override;
  bool BeginMap(size_t n) override;
  bool EndMap() override;

 private:
  struct Frame {
    PyObject* container;
    PyObject* key;  // map: the key waiting for its value
    Py_ssize_t index;
    bool is_map;
    bool in_key;  // this array is (part of) a map key
  };
  bool InKey() const;
  bool Emit(PyObject* o);

  // The open containers: a small stack inline (records are rarely nested
  // deeper), spilling to the heap beyond it.
  class FrameStack {
   public:
    bool empty() const { return size_ == 0; }
    Frame& back() { return size_ <= kInline ? inline_[size_ - 1] : spill_[size_ - kInline - 1]; }
    const Frame& back() const { return const_cast<FrameStack*>(this)->back(); }
    void push_back(const Frame& f) {
      if (size_ < kInline) {
        inline_[size_] = f;
      } else {
        spill_.push_back(f);
      }
      ++size_;
    }
    void pop_back() {
      if (size_ > kInline) spill_.pop_back();
      --size_;
    }
    template <typename Fn>
    void ForEach(Fn fn) {
      for (size_t i = 0; i < size_ && i < kInline; ++i) fn(inline_[i]);
      for (Frame& f : spill_) fn(f);
    }

   private:
    static constexpr size_t kInline = 16;
    Frame inline_[kInline];
    std::vector<Frame> spill_;
    size_t size_ = 0;
  };

  FrameStack stack_;
  PyObject* result_ = nullptr;
};

// Decodes a structured element of `p` into a Python object.
nb::object UnpackPyValue(const DataPacker& p, std::string_view elem);

// Decodes the value at the start of `data` (more may follow); stores its
// size in *consumed.
nb::object DecodePyValuePrefix(ValueFormat format, std::string_view data, size_t* consumed);

}  // namespace ambervault::python

#endif  // AMBERVAULT_PYTHON_BINDINGS_PY_VALUES_H_
