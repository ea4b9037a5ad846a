// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// Small helpers the bindings share: raising, type names, read-only byte
// views of bytes-like arguments, and output buffers.

#ifndef AMBERVAULT_PYTHON_BINDINGS_PY_UTIL_H_
#define AMBERVAULT_PYTHON_BINDINGS_PY_UTIL_H_

#include <nanobind/nanobind.h>

#include <cstring>
#include <new>
#include <string>
#include <string_view>

#include "ambervault/status.h"
#include "errors.h"

namespace ambervault::python {

namespace nb = nanobind;

[[noreturn]] inline void ThrowPython() { throw nb::python_error(); }

[[noreturn]] inline void RaiseOutOfRange(const std::string& msg) {
  RaiseStatus(Status::OutOfRange(msg));
}

inline const char* TypeName(PyObject* o) { return Py_TYPE(o)->tp_name; }

inline bool IsNumpyScalarType(PyObject* o, const char* prefix) {
  const char* name = TypeName(o);
  return std::strncmp(name, "numpy.", 6) == 0 &&
         std::strncmp(name + 6, prefix, std::strlen(prefix)) == 0;
}

inline bool IsNumpyBool(PyObject* o) {
  const char* name = TypeName(o);
  return std::strcmp(name, "numpy.bool") == 0 || std::strcmp(name, "numpy.bool_") == 0;
}

// A numpy floating scalar that is not a float subclass (float16, float32,
// longdouble). Decimal and Fraction are deliberately not accepted: turning
// them into a double would lose digits silently.
inline bool IsNumpyFloat(PyObject* o) {
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
  static inline thread_local std::string shared_;
  static inline thread_local bool in_use_ = false;
  std::string local_;
  std::string* buf_;
  bool owner_ = false;
};

// A new bytes object of `size` bytes to be filled in place through *data.
inline nb::object NewBytes(size_t size, char** data) {
  PyObject* b = PyBytes_FromStringAndSize(nullptr, static_cast<Py_ssize_t>(size));
  if (b == nullptr) ThrowPython();
  *data = PyBytes_AS_STRING(b);
  return nb::steal(b);
}

// For functions called by CPython directly (slots, METH_FASTCALL): call
// inside a catch (...) block; sets the Python error for the exception being
// handled and returns null.
inline PyObject* TranslateException() noexcept {
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

}  // namespace ambervault::python

#endif  // AMBERVAULT_PYTHON_BINDINGS_PY_UTIL_H_
