// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.

#include "py_values.h"

#include <cstring>

namespace ambervault::python {

namespace {

// Recently seen short ASCII map keys, so decoding a stream of records with
// the same field names reuses one str object per name (no decode, no
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

}  // namespace

PyBuilder::~PyBuilder() {
  stack_.ForEach([](Frame& f) {
    Py_XDECREF(f.container);
    Py_XDECREF(f.key);
  });
  Py_XDECREF(result_);
}

bool PyBuilder::Nil() { return Emit(Py_NewRef(Py_None)); }
bool PyBuilder::Bool(bool v) { return Emit(PyBool_FromLong(v)); }
bool PyBuilder::Int(int64_t v) { return Emit(PyLong_FromLongLong(v)); }
bool PyBuilder::Uint(uint64_t v) { return Emit(PyLong_FromUnsignedLongLong(v)); }

bool PyBuilder::NegativeBeyondInt64(uint64_t n) {  // the integer -1 - n
  nb::object big = nb::steal(PyLong_FromUnsignedLongLong(n));
  if (!big.is_valid()) return false;
  nb::object neg = nb::steal(PyNumber_Negative(big.ptr()));
  if (!neg.is_valid()) return false;
  nb::object one = nb::steal(PyLong_FromLong(1));
  return Emit(PyNumber_Subtract(neg.ptr(), one.ptr()));
}

bool PyBuilder::Double(double v) { return Emit(PyFloat_FromDouble(v)); }

bool PyBuilder::String(std::string_view s) {
  if (!stack_.empty() && stack_.back().is_map && stack_.back().key == nullptr &&
      s.size() <= KeyCache::kMaxLength) {
    return Emit(KeyCache::Get(s));
  }
  return Emit(PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "strict"));
}

bool PyBuilder::Binary(std::string_view b) {
  return Emit(PyBytes_FromStringAndSize(b.data(), static_cast<Py_ssize_t>(b.size())));
}

bool PyBuilder::BeginArray(size_t n) {
  // n is bounded by the input size (the decoders check it), so this
  // allocation is too.
  PyObject* list = PyList_New(static_cast<Py_ssize_t>(n));
  if (list == nullptr) return false;
  stack_.push_back(Frame{list, nullptr, 0, false, InKey()});
  return true;
}

bool PyBuilder::EndArray() {
  Frame f = stack_.back();
  stack_.pop_back();
  PyObject* value = f.container;
  if (f.in_key) {  // a list cannot be a dict key: keys that were tuples come back as tuples
    value = PyList_AsTuple(f.container);
    Py_DECREF(f.container);
  }
  return Emit(value);
}

bool PyBuilder::BeginMap(size_t n) {
  if (InKey()) {
    PyErr_SetString(PyExc_ValueError, "a map used as a map key cannot become a dict key");
    return false;
  }
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030E0000
  // Presizing saves the resizes of a growing dict (the msgpack package does
  // the same); the function is exported but not stable API.
  PyObject* dict = _PyDict_NewPresized(static_cast<Py_ssize_t>(n));
#else
  PyObject* dict = PyDict_New();
#endif
  if (dict == nullptr) return false;
  stack_.push_back(Frame{dict, nullptr, 0, true, false});
  return true;
}

bool PyBuilder::EndMap() {
  Frame f = stack_.back();
  stack_.pop_back();
  return Emit(f.container);
}

bool PyBuilder::InKey() const {
  if (stack_.empty()) return false;
  const Frame& f = stack_.back();
  return f.is_map ? f.key == nullptr : f.in_key;
}

bool PyBuilder::Emit(PyObject* o) {
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

nb::object UnpackPyValue(const DataPacker& p, std::string_view elem) {
  PyBuilder b;
  Status s = p.UnpackValue(elem, &b);
  if (PyErr_Occurred()) ThrowPython();
  ThrowIfError(s);
  return nb::steal(b.Release());
}

nb::object DecodePyValuePrefix(ValueFormat format, std::string_view data, size_t* consumed) {
  PyBuilder b;
  Status s = DecodeValue(format, data, &b, consumed);
  if (PyErr_Occurred()) ThrowPython();
  ThrowIfError(s);
  return nb::steal(b.Release());
}

}  // namespace ambervault::python
