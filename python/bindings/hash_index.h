// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// HashIndex: a Python dict kept beside an ordered map (CSBTree, SkipList),
// so that a lookup by key is one hash probe instead of log2(n) ordered
// comparisons. It answers get / [] / in; everything ordered (ranges,
// iteration, floor, min) still goes to the map.
//
// When a dict gives the same answers as the map. The map finds a key by `<`
// (two keys are the same key when neither is less); a dict by hash and `==`.
// They agree, and a dict probe never runs user code, when every key belongs
// to one *class* of built-in types whose `<`, `==` and hash are consistent:
//   numbers    exact int, bool and float (not NaN): 1 == 1.0 == True
//   str, bytes exact types
//   datetime   exact, naive; or exact, with a fixed-offset datetime.timezone
//              (two separate classes: naive and aware never compare)
//   tuples     exact tuples of at most 12 such elements; the class is the
//              sequence of element classes, so (1, "a") and ("a", 1) differ
// So the index is on while all keys of the map share one class (fixed by the
// first key inserted into an empty map). A lookup uses the dict only if the
// looked-up key has that class too; any other lookup goes to the map, which
// gives Python's answer (including the TypeError of an incomparable key).
// Inserting a key of another class (or of no class: a subclass, NaN, a
// custom object) turns the index off and frees the dict; it turns back on
// when the map becomes empty again.
//
// Cost: about 30 to 50 bytes per entry (the dict's own table; keys and
// values are shared with the map) and one dict insert or delete per change.
//
// REQUIRES: the GIL for every call. The owner keeps the dict in step with
// the map: every change of the map is followed by the matching call here,
// with no Python code running in between.

#ifndef AMBERVAULT_PYTHON_BINDINGS_HASH_INDEX_H_
#define AMBERVAULT_PYTHON_BINDINGS_HASH_INDEX_H_

#include <Python.h>
#include <datetime.h>

#include <cmath>
#include <cstdint>

namespace ambervault::python {

class HashIndex {
 public:
  // enabled = false: never index (the constructor's hash_index=False).
  explicit HashIndex(bool enabled) : state_(enabled ? State::kEmpty : State::kDisabled) {}
  ~HashIndex() { Py_XDECREF(dict_); }
  HashIndex(const HashIndex&) = delete;
  HashIndex& operator=(const HashIndex&) = delete;

  // The class of a key, or 0 if it has none (see the file comment).
  static uint64_t KeyClass(PyObject* o) {
    if (Py_TYPE(o) != &PyTuple_Type) return ScalarClass(o);
    const Py_ssize_t n = PyTuple_GET_SIZE(o);
    if (n > kMaxTupleLength) return 0;
    uint64_t c = kTupleBit | (static_cast<uint64_t>(n) << 40);
    for (Py_ssize_t i = 0; i < n; ++i) {
      const uint64_t e = ScalarClass(PyTuple_GET_ITEM(o, i));
      if (e == 0) return 0;
      c |= e << (3 * i);
    }
    return c;
  }

  bool enabled() const { return state_ != State::kDisabled; }
  bool active() const { return state_ == State::kOn; }

  // The dict, if it answers a lookup of `key`; else null (use the map).
  PyObject* Serving(PyObject* key) const {
    if (state_ != State::kOn) return nullptr;
    return KeyClass(key) == class_ ? dict_ : nullptr;
  }

  // Changes of the map go in three steps: Before*(key); the change; then
  // After*(...) if it succeeded or Failed() if it threw (the map unchanged).
  //
  // BeforeInsert fixes the class on the first key. A key of another class
  // suspends the index: lookups go to the map while the insert runs, and the
  // index turns off if the insert succeeds (or comes back if it fails, for
  // example with the TypeError of an incomparable key).
  void BeforeInsert(PyObject* key) {
    if (state_ == State::kEmpty) {
      class_ = KeyClass(key);
      state_ = class_ != 0 ? State::kOn : State::kOff;
    } else if (state_ == State::kOn && KeyClass(key) != class_) {
      state_ = State::kSuspended;
    }
  }

  // The insert succeeded: the map now maps key -> value.
  void AfterInsert(PyObject* key, PyObject* value) {
    if (state_ == State::kSuspended) return TurnOff();
    if (state_ != State::kOn) return;
    if (dict_ == nullptr) {
      dict_ = PyDict_New();
      if (dict_ == nullptr) return Fail();
    }
    if (PyDict_SetItem(dict_, key, value) < 0) Fail();
  }

  // A removal by a key of another class (equal to a stored key only under a
  // user's `<`, which the dict could not find) suspends the index too.
  void BeforeRemove(PyObject* key) {
    if (state_ == State::kOn && KeyClass(key) != class_) state_ = State::kSuspended;
  }

  // The removal took out the entry of `key`; empty: the map is now empty.
  void AfterRemove(PyObject* key, bool empty) {
    if (empty) return Reset();
    if (state_ == State::kSuspended) return TurnOff();
    if (state_ != State::kOn || dict_ == nullptr) return;
    if (PyDict_DelItem(dict_, key) < 0) Fail();
  }

  // The change threw or removed nothing: the map is unchanged.
  void Unchanged() {
    if (state_ == State::kSuspended) state_ = State::kOn;
  }

  // The map is empty: start over (the next key fixes the class again).
  void Reset() {
    if (state_ == State::kDisabled) return;
    state_ = State::kEmpty;
    class_ = 0;
    Py_CLEAR(dict_);
  }

  // Cyclic GC: the dict references the map's keys and values.
  int Traverse(visitproc visit, void* arg) const {
    Py_VISIT(dict_);
    return 0;
  }

  // Memory used by the dict's table, for tests and __sizeof__.
  size_t DictSize() const {
    return dict_ != nullptr ? static_cast<size_t>(PyDict_GET_SIZE(dict_)) : 0;
  }

 private:
  // kSuspended: kOn during a change by a key of another class; the dict is
  // kept but not used.
  enum class State : uint8_t { kDisabled, kEmpty, kOn, kSuspended, kOff };
  static constexpr Py_ssize_t kMaxTupleLength = 12;  // 3 bits each below bit 40
  static constexpr uint64_t kTupleBit = uint64_t{1} << 63;

  static uint64_t ScalarClass(PyObject* o) {
    PyTypeObject* t = Py_TYPE(o);
    if (t == &PyLong_Type || t == &PyBool_Type) return 1;
    if (t == &PyFloat_Type) return std::isnan(PyFloat_AS_DOUBLE(o)) ? 0 : 1;
    if (t == &PyUnicode_Type) return 2;
    if (t == &PyBytes_Type) return 3;
    if (PyDateTimeAPI != nullptr && t == PyDateTimeAPI->DateTimeType) {
      PyObject* tz = PyDateTime_DATE_GET_TZINFO(o);
      if (tz == Py_None) return 4;
      if (Py_TYPE(tz) == Py_TYPE(PyDateTimeAPI->TimeZone_UTC)) return 5;
    }
    return 0;
  }

  void TurnOff() {
    state_ = State::kOff;
    Py_CLEAR(dict_);
  }

  // A dict operation failed (memory): the map is still right, so drop the
  // index rather than fail the caller's operation.
  void Fail() {
    PyErr_Clear();
    TurnOff();
  }

  State state_;
  uint64_t class_ = 0;
  PyObject* dict_ = nullptr;  // owned; null until the first Set while on
};

}  // namespace ambervault::python

#endif  // AMBERVAULT_PYTHON_BINDINGS_HASH_INDEX_H_
