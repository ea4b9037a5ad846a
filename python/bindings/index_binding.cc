// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// Binds the in-memory ordered maps ambervault::CSBTree and
// ambervault::SkipList as ambervault._core.CSBTree / SkipList, with Python
// objects as keys (ordered by `<`) and values.
//
// Keys: a PyKey keeps the Python object and, for exact int (fitting int64),
// float, str, bytes and naive datetime, a C++ form, so two such keys
// compare in C++ without calling Python (str compares as UTF-8 bytes, which
// is code point order). Exact tuples compare element by element as Python
// does (the first unequal element decides), with those types' elements
// compared in C; a leading int (or two, if both fit int32) is kept in the
// key so most tuple comparisons never touch the tuples. Any other pair is
// compared with PyObject_RichCompareBool(a, b, Py_LT);
// an exception it raises propagates to the caller as itself, and the
// containers leave their contents unchanged (see their headers).
//
// Lookups: while all keys share one class of hash-consistent built-in
// types, get / [] / in go through a dict kept beside the map (HashIndex,
// hash_index.h); everything ordered goes through the map.
//
// GIL: CSBTree methods run with the GIL held (comparisons may call Python,
// and keys and values are reference counted) and take turns across threads
// (Turns); a change from inside a call of the same thread raises
// RuntimeError (UseState). The SkipList lets reads run without a lock and,
// on big lists with C-comparable keys, without the GIL; its writes take
// turns (see the comment above PySkipList).
//
// Iteration is never invalidated: an iterator remembers the last key it
// returned and, if the container changed since, continues after that key.

#include <Python.h>
#include <datetime.h>
#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ambervault/csbtree.h"
#include "ambervault/skiplist.h"
#include "errors.h"
#include "hash_index.h"
#include "py_util.h"

namespace ambervault::python {

namespace {

namespace nb = nanobind;

// ------------------------------------------------------------ keys

// A key: an owned reference to the Python object, plus its C++ form for
// exact int (fitting int64), float, naive datetime, str and bytes. For str
// and bytes that form is the first 8 bytes, kept inline so that most
// comparisons never touch the (scattered) objects; the rest is read from
// the object itself (the UTF-8 that CPython caches inside a compact str, or
// the bytes' own buffer), valid while the reference is held, so making a
// key copies nothing. 16 bytes (the object pointer, with the kind in its
// low bits, and the 8-byte C form), so a B+tree node's keys span few cache
// lines; moves are plain pointer steals, which keeps node shifts cheap.
// REQUIRES: the GIL, for every copy and destruction.
class PyKey {
 public:
  // Three bits, kept in the low bits of the object pointer (Python objects
  // are at least 8-byte aligned). kTupleInt2: a tuple whose first two
  // elements are ints that fit int32, both kept in i() (offset to unsigned,
  // first in the high half, so i() orders like the pair). kTupleInt: else a
  // tuple whose first element is an int that fits int64, kept in i().
  // Other tuples are kObject (Slow recognizes them by type).
  enum class Kind : uint8_t {
    kInt, kFloat, kStr, kBytes, kDateTime, kTupleInt, kTupleInt2, kObject
  };

  PyKey() = default;
  PyKey(const PyKey& o) : tagged_(o.tagged_), u_(o.u_) { Py_XINCREF(ptr()); }
  PyKey(PyKey&& o) noexcept : tagged_(o.tagged_), u_(o.u_) { o.tagged_ = 0; }
  PyKey& operator=(const PyKey& o) {
    if (this != &o) {
      Py_XINCREF(o.ptr());
      Py_XDECREF(ptr());
      tagged_ = o.tagged_;
      u_ = o.u_;
    }
    return *this;
  }
  // Swaps the references: the source releases ours when it is destroyed.
  // No branch or decref here keeps the element shifts of a B+tree leaf
  // cheap.
  PyKey& operator=(PyKey&& o) noexcept {
    std::swap(tagged_, o.tagged_);
    u_ = o.u_;
    return *this;
  }
  ~PyKey() { Py_XDECREF(ptr()); }

  static PyKey From(nb::handle h) {
    PyObject* o = h.ptr();
    Py_INCREF(o);
    PyKey k;
    Kind kind = Kind::kObject;
    int64_t i = 0;
    if (ExactInt64(o, &i)) {
      kind = Kind::kInt;
      k.u_.i = i;
    } else if (PyLong_CheckExact(o) || PyBool_Check(o)) {
      // beyond int64: compared through Python
    } else if (PyFloat_CheckExact(o)) {
      kind = Kind::kFloat;
      k.u_.d = PyFloat_AS_DOUBLE(o);
    } else if (PyUnicode_CheckExact(o) && PyUnicode_IS_COMPACT(o)) {
      Py_ssize_t n = 0;
      const char* p = PyUnicode_AsUTF8AndSize(o, &n);  // cached in the str
      if (p != nullptr) {
        kind = Kind::kStr;
        k.u_.prefix = Prefix(p, n);
      } else {
        PyErr_Clear();  // lone surrogates: compare through Python
      }
    } else if (PyBytes_CheckExact(o)) {
      kind = Kind::kBytes;
      k.u_.prefix = Prefix(PyBytes_AS_STRING(o), PyBytes_GET_SIZE(o));
    } else if (PyTuple_CheckExact(o)) {
      const Py_ssize_t n = PyTuple_GET_SIZE(o);
      if (n > 0 && ExactInt64(PyTuple_GET_ITEM(o, 0), &i)) {
        int64_t j = 0;
        if (n > 1 && FitsInt32(i) && ExactInt64(PyTuple_GET_ITEM(o, 1), &j) && FitsInt32(j)) {
          kind = Kind::kTupleInt2;
          k.u_.pair = (static_cast<uint64_t>(i + kInt32Bias) << 32) |
                      static_cast<uint64_t>(j + kInt32Bias);
        } else {
          kind = Kind::kTupleInt;
          k.u_.i = i;
        }
      }
    } else if (PyDateTimeAPI != nullptr && PyDateTime_CheckExact(o) &&
               PyDateTime_DATE_GET_TZINFO(o) == Py_None) {
      // Naive datetimes order by their fields (fold plays no part), so
      // their packed fields order the same way.
      kind = Kind::kDateTime;
      int64_t v = PyDateTime_GET_YEAR(o);
      v = v * 16 + PyDateTime_GET_MONTH(o);
      v = v * 32 + PyDateTime_GET_DAY(o);
      v = v * 32 + PyDateTime_DATE_GET_HOUR(o);
      v = v * 64 + PyDateTime_DATE_GET_MINUTE(o);
      v = v * 64 + PyDateTime_DATE_GET_SECOND(o);
      k.u_.i = v * 1000000 + PyDateTime_DATE_GET_MICROSECOND(o);
    }
    k.tagged_ = reinterpret_cast<uintptr_t>(o) | static_cast<uintptr_t>(kind);
    return k;
  }

  // An exact int that fits int64 (bool too, as Python compares it as 0/1).
  static bool ExactInt64(PyObject* o, int64_t* out) {
    if (!PyLong_CheckExact(o) && !PyBool_Check(o)) return false;
#if PY_VERSION_HEX < 0x030C0000 && !defined(Py_LIMITED_API)
    // CPython 3.11: ints below 2**30 in magnitude have at most one digit.
    const Py_ssize_t size = Py_SIZE(o);
    if (size >= -1 && size <= 1) {
      *out = size * static_cast<int64_t>(reinterpret_cast<PyLongObject*>(o)->ob_digit[0]);
      return true;
    }
#elif !defined(Py_LIMITED_API)
    if (PyUnstable_Long_IsCompact(reinterpret_cast<PyLongObject*>(o))) {
      *out = PyUnstable_Long_CompactValue(reinterpret_cast<PyLongObject*>(o));
      return true;
    }
#endif
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow != 0 || (v == -1 && PyErr_Occurred())) {
      PyErr_Clear();
      return false;
    }
    *out = v;
    return true;
  }

  static bool FitsInt32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

  Kind kind() const { return static_cast<Kind>(tagged_ & kKindMask); }
  int64_t i() const { return u_.i; }
  uint64_t pair() const { return u_.pair; }
  double d() const { return u_.d; }
  // kStr and kBytes: the first 8 bytes, big-endian, zero-padded. Keys whose
  // prefixes differ are ordered by them, as memcmp would order the bytes
  // (a zero pad sorts a shorter key first), without touching the objects.
  uint64_t prefix() const { return u_.prefix; }
  // kStr and kBytes: all the bytes (UTF-8 for str). Reads only the object's
  // immutable memory: the bytes' buffer, the str's ASCII data, or the UTF-8
  // copy that CPython caches inside a non-ASCII str (filled in by From).
  std::string_view bytes() const {
    PyObject* o = ptr();
    if (kind() == Kind::kBytes) {
      return std::string_view(PyBytes_AS_STRING(o), static_cast<size_t>(PyBytes_GET_SIZE(o)));
    }
    if (PyUnicode_IS_ASCII(o)) {
      return std::string_view(static_cast<const char*>(PyUnicode_DATA(o)),
                              static_cast<size_t>(PyUnicode_GET_LENGTH(o)));
    }
    const auto* c = reinterpret_cast<const PyCompactUnicodeObject*>(o);
    return std::string_view(c->utf8, static_cast<size_t>(c->utf8_length));
  }

  static uint64_t Prefix(const char* p, Py_ssize_t n) {
    unsigned char b[8] = {};
    std::memcpy(b, p, static_cast<size_t>(n < 8 ? n : 8));
    uint64_t v = 0;
    for (unsigned char c : b) v = (v << 8) | c;
    return v;
  }
  PyObject* ptr() const { return reinterpret_cast<PyObject*>(tagged_ & ~kKindMask); }
  nb::handle handle() const { return ptr(); }
  nb::object object() const { return nb::borrow(ptr()); }

 private:
  static constexpr uintptr_t kKindMask = 7;
  static constexpr int64_t kInt32Bias = int64_t{1} << 31;
  static_assert(alignof(PyObject) >= 8, "the kind lives in the pointer's low 3 bits");

  uintptr_t tagged_ = 0;  // PyObject* | Kind
  union {
    int64_t i;
    double d;
    uint64_t prefix;
    uint64_t pair;
  } u_{};
};
static_assert(sizeof(PyKey) == 16);

// An owned reference to a value, with inline reference counting and
// swap-based moves (nb::object's are out of line). REQUIRES: the GIL.
class PyRef {
 public:
  PyRef() = default;
  explicit PyRef(nb::handle h) : obj_(h.ptr()) { Py_XINCREF(obj_); }
  PyRef(const PyRef& o) : obj_(o.obj_) { Py_XINCREF(obj_); }
  PyRef(PyRef&& o) noexcept : obj_(o.obj_) { o.obj_ = nullptr; }
  PyRef& operator=(const PyRef& o) {
    Py_XINCREF(o.obj_);
    Py_XDECREF(obj_);
    obj_ = o.obj_;
    return *this;
  }
  PyRef& operator=(PyRef&& o) noexcept {
    std::swap(obj_, o.obj_);
    return *this;
  }
  ~PyRef() { Py_XDECREF(obj_); }

  PyObject* ptr() const { return obj_; }
  nb::handle handle() const { return obj_; }
  nb::object object() const { return nb::borrow(obj_); }

 private:
  PyObject* obj_ = nullptr;
};

// Tuple elements, compared as PyObject_RichCompareBool would (1 true,
// 0 false, -1 error) but in C for two exact ints (int64), floats, strs or
// bytes of the same type.
int ElementEqual(PyObject* x, PyObject* y) {
  if (x == y) return 1;  // identity implies equality, as in Python
  PyTypeObject* t = Py_TYPE(x);
  if (t == Py_TYPE(y)) {
    int64_t i = 0, j = 0;
    if (t == &PyLong_Type && PyKey::ExactInt64(x, &i) && PyKey::ExactInt64(y, &j)) {
      return i == j;
    }
    if (t == &PyFloat_Type) return PyFloat_AS_DOUBLE(x) == PyFloat_AS_DOUBLE(y);
    if (t == &PyUnicode_Type) {
      int c = PyUnicode_Compare(x, y);
      if (c == -1 && PyErr_Occurred()) return -1;
      return c == 0;
    }
    if (t == &PyBytes_Type) {
      return PyBytes_GET_SIZE(x) == PyBytes_GET_SIZE(y) &&
             std::memcmp(PyBytes_AS_STRING(x), PyBytes_AS_STRING(y),
                         static_cast<size_t>(PyBytes_GET_SIZE(x))) == 0;
    }
  }
  return PyObject_RichCompareBool(x, y, Py_EQ);
}

int ElementLess(PyObject* x, PyObject* y) {
  PyTypeObject* t = Py_TYPE(x);
  if (t == Py_TYPE(y)) {
    int64_t i = 0, j = 0;
    if (t == &PyLong_Type && PyKey::ExactInt64(x, &i) && PyKey::ExactInt64(y, &j)) {
      return i < j;
    }
    if (t == &PyFloat_Type) return PyFloat_AS_DOUBLE(x) < PyFloat_AS_DOUBLE(y);
    if (t == &PyUnicode_Type) {
      int c = PyUnicode_Compare(x, y);
      if (c == -1 && PyErr_Occurred()) return -1;
      return c < 0;
    }
    if (t == &PyBytes_Type) {
      const Py_ssize_t nx = PyBytes_GET_SIZE(x), ny = PyBytes_GET_SIZE(y);
      int c = std::memcmp(PyBytes_AS_STRING(x), PyBytes_AS_STRING(y),
                          static_cast<size_t>(nx < ny ? nx : ny));
      return c < 0 || (c == 0 && nx < ny);
    }
  }
  return PyObject_RichCompareBool(x, y, Py_LT);
}

// v < w for two exact tuples, as tuple.__lt__: the first elements that are
// not equal decide, else the shorter tuple is less.
int TupleLess(PyObject* v, PyObject* w) {
  const Py_ssize_t nv = PyTuple_GET_SIZE(v), nw = PyTuple_GET_SIZE(w);
  const Py_ssize_t n = nv < nw ? nv : nw;
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* x = PyTuple_GET_ITEM(v, i);
    PyObject* y = PyTuple_GET_ITEM(w, i);
    int eq = ElementEqual(x, y);
    if (eq < 0) return -1;
    if (eq == 0) return ElementLess(x, y);
  }
  return nv < nw;
}

struct PyKeyLess {
  // The common cases inline (this runs inside every binary search); the
  // rest out of line.
  bool operator()(const PyKey& a, const PyKey& b) const {
    using Kind = PyKey::Kind;
    if (a.kind() == b.kind()) {
      switch (a.kind()) {
        case Kind::kInt:
        case Kind::kDateTime: return a.i() < b.i();
        case Kind::kFloat: return a.d() < b.d();
        case Kind::kStr:
        case Kind::kBytes:
          if (a.prefix() != b.prefix()) return a.prefix() < b.prefix();
          return a.bytes() < b.bytes();  // unsigned bytewise
        case Kind::kTupleInt:
          if (a.i() != b.i()) return a.i() < b.i();
          break;
        case Kind::kTupleInt2:
          if (a.pair() != b.pair()) return a.pair() < b.pair();
          break;  // equal first two elements: the rest decides
        case Kind::kObject: break;
      }
    }
    return Slow(a, b);
  }

  [[gnu::noinline]] static bool Slow(const PyKey& a, const PyKey& b) {
    using Kind = PyKey::Kind;
    if ((a.kind() == Kind::kInt && b.kind() == Kind::kFloat) ||
        (a.kind() == Kind::kFloat && b.kind() == Kind::kInt)) {
      // x86-64 long double holds every int64 and double exactly, so this is
      // Python's exact int/float comparison (NaN compares false both ways).
      long double x = a.kind() == Kind::kInt ? static_cast<long double>(a.i())
                                             : static_cast<long double>(a.d());
      long double y = b.kind() == Kind::kInt ? static_cast<long double>(b.i())
                                             : static_cast<long double>(b.d());
      return x < y;
    }
    if (!PyGILState_Check()) {
      // A SkipList read that released the GIL met a key that needs Python.
      nb::gil_scoped_acquire gil;
      return WithPython(a, b);
    }
    return WithPython(a, b);
  }

  static bool WithPython(const PyKey& a, const PyKey& b) {
    int r;
    if (PyTuple_CheckExact(a.ptr()) && PyTuple_CheckExact(b.ptr())) {
      r = TupleLess(a.ptr(), b.ptr());
    } else {
      r = PyObject_RichCompareBool(a.ptr(), b.ptr(), Py_LT);
    }
    if (r < 0) throw nb::python_error();
    return r == 1;
  }
};

// Whether PyKeyLess compares k with keys of its own kind (and ints with
// floats) in C, reading only memory the key's reference keeps alive.
bool ComparesInC(const PyKey& k) {
  switch (k.kind()) {
    case PyKey::Kind::kInt:
    case PyKey::Kind::kFloat:
    case PyKey::Kind::kStr:
    case PyKey::Kind::kBytes:
    case PyKey::Kind::kDateTime: return true;
    default: return false;
  }
}

bool KeysEqual(const PyKey& a, const PyKey& b) {
  PyKeyLess less;
  return !less(a, b) && !less(b, a);
}

// A new (key, value) tuple (PyTuple_Pack without its varargs).
PyObject* NewPair(PyObject* k, PyObject* v) {
  PyObject* t = PyTuple_New(2);
  if (t == nullptr) throw nb::python_error();
  PyTuple_SET_ITEM(t, 0, Py_NewRef(k));
  PyTuple_SET_ITEM(t, 1, Py_NewRef(v));
  return t;
}

nb::tuple Pair(const PyKey& k, const PyRef& v) {
  return nb::steal<nb::tuple>(NewPair(k.ptr(), v.ptr()));
}

[[noreturn]] void RaiseKeyError(nb::handle key) {
  PyErr_SetObject(PyExc_KeyError, key.ptr());
  throw nb::python_error();
}

[[noreturn]] void RaiseEmpty(const char* what) {
  PyErr_SetString(PyExc_KeyError, what);
  throw nb::python_error();
}

size_t CheckLimit(std::optional<int64_t> limit) {
  if (!limit) return SIZE_MAX;
  if (*limit < 0) {
    PyErr_SetString(PyExc_ValueError, "limit must be >= 0");
    throw nb::python_error();
  }
  return static_cast<size_t>(*limit);
}

// An entry seen by a walk over a map: its key object and its value slot.
struct Found {
  PyObject* key;
  const PyRef* value;
};

enum class Items { kKeys, kValues, kPairs };

// The keys, values or (key, value) pairs of the entries found, as a list.
// Entries kAhead places further on are prefetched (the value slot, then the
// objects whose reference counts the list updates), so the cache misses of
// a walk over a big map overlap instead of coming one after another.
// REQUIRES: every entry stays alive until this returns.
nb::list BuildList(const std::vector<Found>& found, Items what) {
  constexpr size_t kAhead = 8;
  const size_t n = found.size();
  nb::list out = nb::steal<nb::list>(PyList_New(static_cast<Py_ssize_t>(n)));
  if (!out.is_valid()) throw nb::python_error();
  for (size_t i = 0; i < n && i < 2 * kAhead; ++i) __builtin_prefetch(found[i].value);
  for (size_t i = 0; i < n; ++i) {
    if (i + 2 * kAhead < n) __builtin_prefetch(found[i + 2 * kAhead].value);
    if (i + kAhead < n) {
      if (what != Items::kValues) __builtin_prefetch(found[i + kAhead].key, 1);
      if (what != Items::kKeys) __builtin_prefetch(found[i + kAhead].value->ptr(), 1);
    }
    PyObject* item;
    if (what == Items::kKeys) {
      item = Py_NewRef(found[i].key);
    } else if (what == Items::kValues) {
      item = Py_NewRef(found[i].value->ptr());
    } else {
      item = NewPair(found[i].key, found[i].value->ptr());
    }
    PyList_SET_ITEM(out.ptr(), static_cast<Py_ssize_t>(i), item);
  }
  return out;
}

// One change of a map, for its HashIndex: after index.Before*(key), the
// change either reports Inserted/Removed or, if it throws or changes
// nothing, leaves the index as it was (HashIndex::Unchanged).
class IndexChange {
 public:
  explicit IndexChange(HashIndex* index) : index_(index) {}
  ~IndexChange() {
    if (!done_) index_->Unchanged();
  }
  IndexChange(const IndexChange&) = delete;
  IndexChange& operator=(const IndexChange&) = delete;

  void Inserted(PyObject* key, PyObject* value) {
    done_ = true;
    index_->AfterInsert(key, value);
  }
  void Removed(PyObject* key, bool empty) {
    done_ = true;
    index_->AfterRemove(key, empty);
  }

 private:
  HashIndex* index_;
  bool done_ = false;
};

[[noreturn]] void RaiseReentrant() {
  PyErr_SetString(PyExc_RuntimeError,
                  "container changed during a key comparison");
  throw nb::python_error();
}

// One thread at a time inside a container's operations. Every call holds
// the GIL, so calls only overlap when one pauses in Python code (a key's
// __lt__, a value's __del__) and the interpreter lets another thread run.
// That thread's call then waits here, with the GIL released, until the
// paused call ends, instead of finding the container in the middle of a
// change. Calls of the same thread nest (the paused call's own Python code
// may call the container; the guards below decide what it may do).
// REQUIRES: the GIL for every call.
class Turns {
 public:
  void Enter() {
    const void* me = ThisThread();
    if (depth_ > 0 && owner_ != me) [[unlikely]] WaitTurn(me);
    if (depth_++ == 0) {
      owner_ = me;
      busy_.store(true, std::memory_order_relaxed);
    }
  }
  void Leave() {
    if (--depth_ > 0) return;
    owner_ = nullptr;
    busy_.store(false, std::memory_order_relaxed);
    if (waiters_ > 0) [[unlikely]] Wake();
  }
  bool HeldByMe() const { return depth_ > 0 && owner_ == ThisThread(); }

 private:
  // Another thread's call is paused inside: wait for it to end, with the
  // GIL released. busy_ is read under mu_, and Wake takes mu_ after
  // clearing it, so relaxed stores suffice.
  [[gnu::noinline]] void WaitTurn(const void* me) {
    while (depth_ > 0 && owner_ != me) {
      ++waiters_;
      {
        nb::gil_scoped_release nogil;
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return !busy_.load(std::memory_order_relaxed); });
      }
      --waiters_;
    }
  }
  [[gnu::noinline]] void Wake() {
    std::lock_guard<std::mutex> lock(mu_);
    cv_.notify_all();
  }

  // The calling thread's Python thread state (it holds the GIL), read
  // without PyThreadState_Get's checks: this runs in every call.
  static const void* ThisThread() {
#if PY_VERSION_HEX >= 0x030D0000
    return PyThreadState_GetUnchecked();
#else
    return _PyThreadState_UncheckedGet();
#endif
  }

  const void* owner_ = nullptr;  // the thread inside, while depth_ > 0
  int depth_ = 0;
  int waiters_ = 0;
  std::atomic<bool> busy_{false};  // depth_ > 0, readable without the GIL
  std::mutex mu_;
  std::condition_variable cv_;
};

// A CSBTree is not a concurrent structure: its calls take turns (above),
// and within a turn, a key's __lt__ (user code that runs in the middle of
// an operation) may read the same tree, but a change while any operation
// is under way (or any use while a change is under way) gets a
// RuntimeError instead of corrupting the structure.
struct UseState {
  Turns turns;
  int readers = 0;
  bool writing = false;
};

class ReadGuard {
 public:
  explicit ReadGuard(UseState* u) : u_(u) {
    u_->turns.Enter();
    if (u_->writing) {
      u_->turns.Leave();
      RaiseReentrant();
    }
    ++u_->readers;
  }
  ~ReadGuard() {
    --u_->readers;
    u_->turns.Leave();
  }
  ReadGuard(const ReadGuard&) = delete;
  ReadGuard& operator=(const ReadGuard&) = delete;

 private:
  UseState* u_;
};

class WriteGuard {
 public:
  explicit WriteGuard(UseState* u) : u_(u) {
    u_->turns.Enter();
    if (u_->writing || u_->readers > 0) {
      u_->turns.Leave();
      RaiseReentrant();
    }
    u_->writing = true;
  }
  ~WriteGuard() {
    u_->writing = false;
    u_->turns.Leave();
  }
  WriteGuard(const WriteGuard&) = delete;
  WriteGuard& operator=(const WriteGuard&) = delete;

 private:
  UseState* u_;
};

// ------------------------------------------------------------ CSBTree

using Tree = CSBTree<PyKey, PyRef, PyKeyLess>;

class PyCSBTree {
 public:
  PyCSBTree(int64_t order, bool hash_index)
      : tree_(ValidOrder(order)), index_(hash_index) {}

  static size_t ValidOrder(int64_t order) {
    if (order < 3 || order > 4096) {
      PyErr_SetString(PyExc_ValueError, "order must be from 3 to 4096");
      throw nb::python_error();
    }
    return static_cast<size_t>(order);
  }

  nb::object Insert(nb::handle key, nb::handle value) {
    WriteGuard busy(&use_);
    index_.BeforeInsert(key.ptr());
    IndexChange change(&index_);
    std::optional<PyRef> old = tree_.Insert(PyKey::From(key), PyRef(value));
    ++version_;
    change.Inserted(key.ptr(), value.ptr());
    return old ? old->object() : nb::none();
  }

  nb::object Get(nb::handle key, nb::handle default_value) const {
    ReadGuard reading(&use_);
    PyObject* v = Lookup(key.ptr());
    return nb::borrow(v != nullptr ? v : default_value.ptr());
  }

  nb::object GetItem(nb::handle key) const {
    ReadGuard reading(&use_);
    PyObject* v = Lookup(key.ptr());
    if (v == nullptr) RaiseKeyError(key);
    return nb::borrow(v);
  }

  nb::object Remove(nb::handle key) {
    WriteGuard busy(&use_);
    std::optional<PyRef> old = Erase(key);
    return old ? old->object() : nb::none();
  }

  void DelItem(nb::handle key) {
    WriteGuard busy(&use_);
    if (!Erase(key)) RaiseKeyError(key);
  }

  bool Contains(nb::handle key) const {
    ReadGuard reading(&use_);
    return Lookup(key.ptr()) != nullptr;
  }

  nb::object SetDefault(nb::handle key, nb::handle value) {
    WriteGuard busy(&use_);
    if (PyObject* v = Lookup(key.ptr())) return nb::borrow(v);
    index_.BeforeInsert(key.ptr());
    IndexChange change(&index_);
    tree_.Insert(PyKey::From(key), PyRef(value));
    ++version_;
    change.Inserted(key.ptr(), value.ptr());
    return nb::borrow(value);
  }

  void Update(nb::handle other) {
    nb::object items =
        nb::hasattr(other, "items") ? nb::object(other.attr("items")())
                                    : nb::borrow(other);
    for (nb::handle pair : items) {
      if (nb::len(pair) != 2) {
        PyErr_SetString(PyExc_ValueError,
                        "update() needs (key, value) pairs of length 2");
        throw nb::python_error();
      }
      Insert(pair[0], pair[1]);
    }
  }

  nb::list Collect(Items what) const {
    ReadGuard reading(&use_);
    std::vector<Found> found;
    found.reserve(tree_.size());
    for (auto it = tree_.begin(); it != tree_.end(); ++it) {
      found.push_back({(*it).first.ptr(), &(*it).second});
    }
    return BuildList(found, what);
  }

  nb::list Range(nb::handle start, nb::handle end, bool reverse,
                 std::optional<int64_t> limit) const {
    ReadGuard reading(&use_);  // the entries found stay put until built
    const size_t max = CheckLimit(limit);
    PyKey lo = PyKey::From(start), hi = PyKey::From(end);
    PyKeyLess less;
    std::vector<Found> found;
    if (max == 0) return nb::list();
    if (!reverse) {
      for (auto it = tree_.LowerBound(lo);
           it != tree_.end() && less((*it).first, hi) && found.size() < max; ++it) {
        found.push_back({(*it).first.ptr(), &(*it).second});
      }
    } else {
      auto it = tree_.LowerBound(hi);  // first key >= hi; step back from it
      while (it != tree_.begin() && found.size() < max) {
        --it;
        if (less((*it).first, lo)) break;
        found.push_back({(*it).first.ptr(), &(*it).second});
      }
    }
    return BuildList(found, Items::kPairs);
  }

  nb::tuple Min() const {
    ReadGuard reading(&use_);
    if (tree_.empty()) RaiseEmpty("min() of an empty CSBTree");
    auto it = tree_.Min();
    return Pair((*it).first, (*it).second);
  }

  nb::tuple Max() const {
    ReadGuard reading(&use_);
    if (tree_.empty()) RaiseEmpty("max() of an empty CSBTree");
    auto it = tree_.Max();
    return Pair((*it).first, (*it).second);
  }

  nb::tuple PopMin() {
    WriteGuard busy(&use_);
    std::optional<std::pair<PyKey, PyRef>> e = tree_.PopMin();
    if (!e) RaiseEmpty("pop_min() of an empty CSBTree");
    ++version_;
    index_.AfterRemove(e->first.ptr(), tree_.empty());
    return Pair(e->first, e->second);
  }

  nb::object Floor(nb::handle key) const {
    ReadGuard reading(&use_);
    auto it = tree_.Floor(PyKey::From(key));
    if (it == tree_.end()) return nb::none();
    return Pair((*it).first, (*it).second);
  }

  nb::object Ceiling(nb::handle key) const {
    ReadGuard reading(&use_);
    auto it = tree_.Ceiling(PyKey::From(key));
    if (it == tree_.end()) return nb::none();
    return Pair((*it).first, (*it).second);
  }

  void Clear() {
    WriteGuard busy(&use_);
    tree_.clear();
    ++version_;
    index_.Reset();
  }

  size_t Size() const { return tree_.size(); }
  uint64_t version() const { return version_; }
  const Tree& tree() const { return tree_; }
  UseState* use() const { return &use_; }
  const HashIndex& index() const { return index_; }

  // Cyclic GC support: visit every key and value (and the index's dict).
  int Traverse(visitproc visit, void* arg) const {
    for (auto it = tree_.begin(); it != tree_.end(); ++it) {
      Py_VISIT((*it).first.ptr());
      Py_VISIT((*it).second.ptr());
    }
    return index_.Traverse(visit, arg);
  }

 private:
  // The value of key (borrowed: valid until the next change), or null.
  PyObject* Lookup(PyObject* key) const {
    if (PyObject* dict = index_.Serving(key)) {
      PyObject* v = PyDict_GetItemWithError(dict, key);
      if (v == nullptr && PyErr_Occurred()) throw nb::python_error();
      return v;
    }
    const PyRef* v = tree_.Find(PyKey::From(nb::handle(key)));
    return v != nullptr ? v->ptr() : nullptr;
  }

  // Removes key from the tree and the index; the old value, if any.
  std::optional<PyRef> Erase(nb::handle key) {
    index_.BeforeRemove(key.ptr());
    IndexChange change(&index_);
    std::optional<PyRef> old = tree_.Erase(PyKey::From(key));
    if (old) {
      ++version_;
      change.Removed(key.ptr(), tree_.empty());
    }
    return old;
  }

  Tree tree_;
  uint64_t version_ = 0;  // bumped by every change; iterators re-seek
  mutable UseState use_;  // reentrancy from key comparisons (see guards)
  HashIndex index_;       // lookups by hash while the keys allow (hash_index.h)
};

class PyCSBTreeIterator {
 public:
  PyCSBTreeIterator(nb::object owner, const PyCSBTree* tree)
      : owner_(std::move(owner)),
        tree_(tree),
        version_(tree->version()),
        it_(tree->tree().begin()) {}

  nb::tuple Next() {
    if (done_) throw nb::stop_iteration();
    // Waits for another thread's call paused in Python code, and refuses a
    // step from inside a change of the same thread: either could have the
    // tree half changed.
    ReadGuard reading(tree_->use());
    if (tree_->version() != version_) {
      // Changed since the last step: continue after the last key returned.
      it_ = last_.is_valid()
                ? tree_->tree().UpperBound(PyKey::From(last_))
                : tree_->tree().begin();
      version_ = tree_->version();
    }
    if (it_ == tree_->tree().end()) {
      done_ = true;
      throw nb::stop_iteration();
    }
    auto [k, v] = *it_;
    nb::tuple pair = Pair(k, v);
    last_ = k.object();
    ++it_;
    return pair;
  }

 private:
  nb::object owner_;
  const PyCSBTree* tree_;
  uint64_t version_;
  Tree::const_iterator it_;
  nb::object last_;
  bool done_ = false;
};

// ------------------------------------------------------------ SkipList

using List = SkipList<PyKey, PyRef, PyKeyLess>;

// Python threads and the SkipList.
//
// Reads (get, [], in, floor, ceiling, range) take no lock: the C++ list is
// safe for concurrent use. On a list of at least kGilFreeSize entries, a
// read whose keys PyKeyLess compares in C (int, float, str, bytes, naive
// datetime) releases the GIL while it searches the list, pinned (List::Pin)
// so that nothing it reaches is freed; it takes the GIL back to build its
// result from what it found. If that search meets a key that needs Python,
// PyKeyLess takes the GIL for that comparison.
//
// Writes hold the GIL and take turns: a write that finds another thread's
// write under way (paused in a key's __lt__, which lets other threads run)
// waits for it with the GIL released; a write started from inside a write
// of the same thread (a key's __lt__ changing the list) raises
// RuntimeError. Writes never free anything on the way
// (reclaim_in_writes = false): replaced and removed entries are released
// at the end, after the turn, when the list and its hash index agree, so a
// value's __del__ sees a consistent list and may change it.
class PySkipList {
 public:
  // Reads on smaller lists keep the GIL. Releasing and retaking it costs
  // about 100 ns, which is measurable against a search of a list of 10,000
  // (the 1-pair range of bench_containers.py went from 450 to 550 ns) and
  // small next to one of a list of millions.
  static constexpr size_t kGilFreeSize = 65536;

  explicit PySkipList(bool hash_index)
      : list_(PyKeyLess(), NoReclaimInWrites()), index_(hash_index) {}

  nb::object Insert(nb::handle key, nb::handle value) {
    std::optional<PyRef> old;
    {
      WriteTurn turn(this);
      index_.BeforeInsert(key.ptr());
      IndexChange change(&index_);
      if (IndexHas(key.ptr())) {
        // A new value for a key the index knows: swap it in place (no node
        // is built). Cannot miss, as writes take turns.
        old = list_.Replace(PyKey::From(key), PyRef(value));
      }
      if (!old) old = list_.Insert(PyKey::From(key), PyRef(value));
      ++version_;
      change.Inserted(key.ptr(), value.ptr());
    }
    if (old) list_.Reclaim();  // frees the replaced value's box
    return old ? old->object() : nb::none();
  }

  nb::object Get(nb::handle key, nb::handle default_value) const {
    nb::object out;
    if (!Lookup(key.ptr(), [&](PyObject* found) { out = nb::borrow(found); })) {
      return nb::borrow(default_value);
    }
    return out;
  }

  nb::object GetItem(nb::handle key) const {
    nb::object out;
    if (!Lookup(key.ptr(), [&](PyObject* found) { out = nb::borrow(found); })) {
      RaiseKeyError(key);
    }
    return out;
  }

  nb::object Remove(nb::handle key) {
    std::optional<PyRef> old = Erase(key);
    return old ? old->object() : nb::none();
  }

  void DelItem(nb::handle key) {
    if (!Erase(key)) RaiseKeyError(key);
  }

  bool Contains(nb::handle key) const {
    return Lookup(key.ptr(), [](PyObject*) {});
  }

  nb::list Collect(Items what) const {
    List::Pin pin(list_);  // the entries found stay alive until built
    std::vector<Found> found;
    found.reserve(list_.size());
    list_.ForEach([&](const PyKey& k, const PyRef& v) { found.push_back({k.ptr(), &v}); });
    return BuildList(found, what);
  }

  // Up to `max` entries with key > after (or from the start), in order.
  void Page(const nb::object& after, size_t max,
            std::vector<std::pair<nb::object, nb::object>>* out) const {
    out->clear();
    auto visit = [&](const PyKey& k, const PyRef& v) {
      out->emplace_back(k.object(), v.object());
      return out->size() < max;
    };
    if (!after.is_valid()) {
      list_.ForEach(visit);
      return;
    }
    PyKey from = PyKey::From(after);
    bool skipped = false;
    list_.ForEachFrom(from, [&](const PyKey& k, const PyRef& v) {
      if (!skipped) {
        skipped = true;
        if (KeysEqual(k, from)) return true;  // strictly after `after`
      }
      return visit(k, v);
    });
  }

  nb::list Range(nb::handle start, nb::handle end, bool reverse,
                 std::optional<int64_t> limit) const {
    const size_t max = CheckLimit(limit);
    const PyKey lo = PyKey::From(start), hi = PyKey::From(end);
    if (max == 0) return nb::list();
    if (!ReleasesGil(lo) || !ComparesInC(hi)) {
      // One pass, building the pairs during the walk (under its own pin).
      std::vector<nb::tuple> pairs;
      list_.Range(lo, hi, [&](const PyKey& k, const PyRef& v) {
        pairs.push_back(Pair(k, v));
        return reverse || pairs.size() < max;
      });
      const size_t n = std::min(pairs.size(), max);
      nb::list out = nb::steal<nb::list>(PyList_New(static_cast<Py_ssize_t>(n)));
      if (!out.is_valid()) throw nb::python_error();
      for (size_t i = 0; i < n; ++i) {
        nb::tuple& pair = reverse ? pairs[pairs.size() - 1 - i] : pairs[i];
        PyList_SET_ITEM(out.ptr(), static_cast<Py_ssize_t>(i), pair.release().ptr());
      }
      return out;
    }
    // A big list: walk without the GIL, noting where each entry's key and
    // value are, then build the list with the GIL, fetching entries ahead
    // (BuildList). The Pin keeps every entry seen alive in between.
    List::Pin pin(list_);
    std::vector<Found> found;
    {
      nb::gil_scoped_release nogil;
      list_.Range(lo, hi, [&](const PyKey& k, const PyRef& v) {
        found.push_back({k.ptr(), &v});
        return reverse || found.size() < max;
      });
    }
    if (reverse) {
      std::reverse(found.begin(), found.end());
      if (found.size() > max) found.resize(max);
    }
    return BuildList(found, Items::kPairs);
  }

  static nb::object PairOrNone(
      const std::optional<std::pair<PyKey, PyRef>>& e) {
    if (!e) return nb::none();
    return Pair(e->first, e->second);
  }

  nb::object Min() const {
    auto e = list_.Min();
    if (!e) RaiseEmpty("min() of an empty SkipList");
    return PairOrNone(e);
  }
  nb::object Max() const {
    auto e = list_.Max();
    if (!e) RaiseEmpty("max() of an empty SkipList");
    return PairOrNone(e);
  }
  nb::object PopMin() {
    std::optional<std::pair<PyKey, PyRef>> e;
    {
      WriteTurn turn(this);
      e = list_.PopMin();
      if (!e) RaiseEmpty("pop_min() of an empty SkipList");
      ++version_;
      index_.AfterRemove(e->first.ptr(), list_.empty());
    }
    list_.Reclaim();
    return PairOrNone(e);
  }
  nb::object Floor(nb::handle key) const { return Neighbour(key, /*floor=*/true); }
  nb::object Ceiling(nb::handle key) const { return Neighbour(key, /*floor=*/false); }

  void Clear() {
    {
      WriteTurn turn(this);
      list_.clear();
      ++version_;
      index_.Reset();
    }
    list_.Reclaim();
  }
  size_t Size() const { return list_.size(); }
  uint64_t version() const { return version_; }
  const HashIndex& index() const { return index_; }

  // Cyclic GC support: visit every key and value (and the index's dict).
  int Traverse(visitproc visit, void* arg) const {
    int rc = 0;
    list_.ForEach([&](const PyKey& k, const PyRef& v) {
      if (rc == 0 && k.ptr() != nullptr) rc = visit(k.ptr(), arg);
      if (rc == 0 && v.ptr() != nullptr) rc = visit(v.ptr(), arg);
      return rc == 0;
    });
    return rc != 0 ? rc : index_.Traverse(visit, arg);
  }
  // Drops every reference now (tp_clear: the list is unreachable, so no
  // other call is running).
  void ClearForGc() {
    list_.clear();
    index_.Reset();
    list_.Reclaim();
    ++version_;
  }

 private:
  static SkipListOptions NoReclaimInWrites() {
    SkipListOptions options;
    options.reclaim_in_writes = false;
    return options;
  }

  // A write's turn (see the comment above the class). REQUIRES: the GIL.
  class WriteTurn {
   public:
    explicit WriteTurn(PySkipList* l) : turns_(&l->write_turns_) {
      if (turns_->HeldByMe()) RaiseReentrant();
      turns_->Enter();
    }
    ~WriteTurn() { turns_->Leave(); }
    WriteTurn(const WriteTurn&) = delete;
    WriteTurn& operator=(const WriteTurn&) = delete;

   private:
    Turns* turns_;
  };

  // Whether the hash index answers for key and holds it.
  bool IndexHas(PyObject* key) const {
    PyObject* dict = index_.Serving(key);
    if (dict == nullptr) return false;
    PyObject* v = PyDict_GetItemWithError(dict, key);
    if (v == nullptr && PyErr_Occurred()) throw nb::python_error();
    return v != nullptr;
  }

  bool ReleasesGil(const PyKey& k) const {
    return list_.size() >= kGilFreeSize && ComparesInC(k);
  }

  // Calls use(value) if key is present and returns whether it is. The value
  // is borrowed: valid during the call only (take a reference to keep it).
  // Served by the hash index when it can answer.
  template <typename F>
  bool Lookup(PyObject* key, F&& use) const {
    if (PyObject* dict = index_.Serving(key)) {
      PyObject* v = PyDict_GetItemWithError(dict, key);
      if (v == nullptr) {
        if (PyErr_Occurred()) throw nb::python_error();
        return false;
      }
      use(v);
      return true;
    }
    const PyKey k = PyKey::From(nb::handle(key));
    if (!ReleasesGil(k)) {
      return list_.Find(k, [&](const PyKey&, const PyRef& v) { use(v.ptr()); });
    }
    List::Pin pin(list_);  // keeps what the search finds alive until used
    PyObject* found = nullptr;
    bool hit;
    {
      nb::gil_scoped_release nogil;
      hit = list_.Find(k, [&](const PyKey&, const PyRef& v) { found = v.ptr(); });
    }
    if (hit) use(found);
    return hit;
  }

  nb::object Neighbour(nb::handle key, bool floor) const {
    const PyKey k = PyKey::From(key);
    nb::object out = nb::none();
    auto visit = [&](const PyKey& ek, const PyRef& ev) { out = Pair(ek, ev); };
    if (!ReleasesGil(k)) {
      floor ? list_.VisitFloor(k, visit) : list_.VisitCeiling(k, visit);
      return out;
    }
    List::Pin pin(list_);
    PyObject* fk = nullptr;
    PyObject* fv = nullptr;
    auto keep = [&](const PyKey& ek, const PyRef& ev) {
      fk = ek.ptr();
      fv = ev.ptr();
    };
    bool hit;
    {
      nb::gil_scoped_release nogil;
      hit = floor ? list_.VisitFloor(k, keep) : list_.VisitCeiling(k, keep);
    }
    if (!hit) return out;
    return nb::steal(NewPair(fk, fv));
  }

  // Removes key from the list and the index; the old value, if any. The
  // removed entry is released after the turn ends.
  std::optional<PyRef> Erase(nb::handle key) {
    std::optional<PyRef> old;
    {
      WriteTurn turn(this);
      index_.BeforeRemove(key.ptr());
      IndexChange change(&index_);
      old = list_.Remove(PyKey::From(key));
      if (!old) return old;
      ++version_;
      change.Removed(key.ptr(), list_.empty());
    }
    list_.Reclaim();
    return old;
  }

  List list_;
  uint64_t version_ = 0;  // bumped by every change; iterators re-read
  HashIndex index_;       // lookups by hash while the keys allow (hash_index.h)
  Turns write_turns_;     // writes take turns; reads do not
};

class PySkipListIterator {
 public:
  PySkipListIterator(nb::object owner, const PySkipList* list)
      : owner_(std::move(owner)), list_(list), version_(list->version()) {}

  nb::tuple Next() {
    if (finished_) throw nb::stop_iteration();
    if (list_->version() != version_) {
      // Changed since the page was read: re-read after the last key returned.
      version_ = list_->version();
      page_.clear();
      pos_ = 0;
      done_ = false;
      last_ = last_returned_;
    }
    if (pos_ == page_.size()) {
      if (done_) {
        finished_ = true;
        throw nb::stop_iteration();
      }
      list_->Page(last_, kPage, &page_);
      pos_ = 0;
      if (page_.empty()) {
        finished_ = true;
        throw nb::stop_iteration();
      }
      done_ = page_.size() < kPage;
      last_ = page_.back().first;
    }
    auto& [k, v] = page_[pos_++];
    last_returned_ = k;
    return nb::make_tuple(k, v);
  }

 private:
  // Pages are read ahead; a change made through Python discards the rest of
  // the page, so iteration continues after the last key returned in the
  // current state (changes by other C++ threads are weakly consistent).
  static constexpr size_t kPage = 256;
  nb::object owner_;
  const PySkipList* list_;
  uint64_t version_ = 0;
  nb::object last_returned_;
  bool finished_ = false;  // raised StopIteration: stays exhausted
  std::vector<std::pair<nb::object, nb::object>> page_;
  size_t pos_ = 0;
  nb::object last_;
  bool done_ = false;
};

template <typename T>
int TpTraverse(PyObject* self, visitproc visit, void* arg) {
  Py_VISIT(Py_TYPE(self));
  if (!nb::inst_ready(self)) return 0;
  return nb::inst_ptr<T>(self)->Traverse(visit, arg);
}

int CSBTreeClear(PyObject* self) {
  nb::inst_ptr<PyCSBTree>(self)->Clear();
  return 0;
}

int SkipListClear(PyObject* self) {
  nb::inst_ptr<PySkipList>(self)->ClearForGc();
  return 0;
}

// [], []=, del, in and len are CPython slots, not nanobind methods: the
// generic method dispatch would cost more than a lookup in a small map.
// Each turns a C++ exception into the Python error and returns the slot's
// error value.
template <typename R, typename Fn>
R Guarded(R error, Fn&& fn) {
  try {
    return fn();
  } catch (...) {
    TranslateException();
  }
  return error;
}

// The C++ object behind `self`; a TypeError for an instance whose
// __init__ never ran (cls.__new__(cls)).
template <typename T>
T* Ready(PyObject* self) {
  if (!nb::inst_ready(self)) {
    PyErr_Format(PyExc_TypeError, "%s object is not initialized", Py_TYPE(self)->tp_name);
    throw nb::python_error();
  }
  return nb::inst_ptr<T>(self);
}

template <typename T>
PyObject* MpSubscript(PyObject* self, PyObject* key) {
  return Guarded<PyObject*>(nullptr, [&] { return Ready<T>(self)->GetItem(key).release().ptr(); });
}

template <typename T>
int MpAssSubscript(PyObject* self, PyObject* key, PyObject* value) {
  return Guarded(-1, [&] {
    T* t = Ready<T>(self);
    if (value == nullptr) {
      t->DelItem(key);
    } else {
      t->Insert(key, value);
    }
    return 0;
  });
}

template <typename T>
int SqContains(PyObject* self, PyObject* key) {
  return Guarded(-1, [&] { return Ready<T>(self)->Contains(key) ? 1 : 0; });
}

template <typename T>
Py_ssize_t MpLength(PyObject* self) {
  return Guarded<Py_ssize_t>(-1, [&] { return static_cast<Py_ssize_t>(Ready<T>(self)->Size()); });
}

PyType_Slot csbtree_slots[] = {
    {Py_tp_traverse, reinterpret_cast<void*>(TpTraverse<PyCSBTree>)},
    {Py_tp_clear, reinterpret_cast<void*>(CSBTreeClear)},
    {Py_mp_subscript, reinterpret_cast<void*>(MpSubscript<PyCSBTree>)},
    {Py_mp_ass_subscript, reinterpret_cast<void*>(MpAssSubscript<PyCSBTree>)},
    {Py_mp_length, reinterpret_cast<void*>(MpLength<PyCSBTree>)},
    {Py_sq_length, reinterpret_cast<void*>(MpLength<PyCSBTree>)},
    {Py_sq_contains, reinterpret_cast<void*>(SqContains<PyCSBTree>)},
    {0, nullptr}};

PyType_Slot skiplist_slots[] = {
    {Py_tp_traverse, reinterpret_cast<void*>(TpTraverse<PySkipList>)},
    {Py_tp_clear, reinterpret_cast<void*>(SkipListClear)},
    {Py_mp_subscript, reinterpret_cast<void*>(MpSubscript<PySkipList>)},
    {Py_mp_ass_subscript, reinterpret_cast<void*>(MpAssSubscript<PySkipList>)},
    {Py_mp_length, reinterpret_cast<void*>(MpLength<PySkipList>)},
    {Py_sq_length, reinterpret_cast<void*>(MpLength<PySkipList>)},
    {Py_sq_contains, reinterpret_cast<void*>(SqContains<PySkipList>)},
    {0, nullptr}};

template <typename T>
std::string Repr(const char* name, const T& t) {
  return std::string(name) + "(len=" + std::to_string(t.Size()) + ")";
}


// The methods both maps share, bound once. `name` is the Python class name
// (used by repr and in the iterator's signature).
template <typename T, typename Iterator>
void DefineOrderedMap(nb::module_& m, nb::class_<T>& cls, const char* name,
                      const char* iterator_name) {
  static const std::string iter_sig =
      std::string("def __iter__(self) -> ") + iterator_name;
  nb::class_<Iterator>(m, iterator_name)
      .def("__iter__", [](nb::handle self) { return nb::borrow(self); },
           nb::sig(iter_sig.c_str()))
      .def("__next__", &Iterator::Next,
           nb::sig("def __next__(self) -> tuple[typing.Any, typing.Any]"));
  cls.def("insert", &T::Insert, nb::arg("key").none(), nb::arg("value").none(),
          "Insert or replace; returns the old value or None.")
      .def("get", &T::Get, nb::arg("key").none(),
           nb::arg("default").none() = nb::none())
      .def("remove", &T::Remove, nb::arg("key").none(),
           "Remove key; returns its value or None.")
      .def("__iter__",
           [](nb::pointer_and_handle<T> self) {
             return new Iterator(nb::borrow(self.h), self.p);
           },
           nb::rv_policy::take_ownership)
      .def("keys", [](const T& t) { return t.Collect(Items::kKeys); })
      .def("values", [](const T& t) { return t.Collect(Items::kValues); })
      .def("items", [](const T& t) { return t.Collect(Items::kPairs); })
      .def("range", &T::Range, nb::arg("start").none(), nb::arg("end").none(),
           nb::arg("reverse") = false, nb::arg("limit").none() = nb::none(),
           "Pairs with start <= key < end, ascending (or descending with "
           "reverse=True), at most limit of them.")
      .def("min", &T::Min)
      .def("max", &T::Max)
      .def("pop_min", &T::PopMin)
      .def("floor", &T::Floor, nb::arg("key").none())
      .def("ceiling", &T::Ceiling, nb::arg("key").none())
      .def("clear", &T::Clear)
      .def("is_empty", [](const T& t) { return t.Size() == 0; })
      .def_prop_ro("hash_index_active",
                   [](const T& t) { return t.index().active(); },
                   "Whether get/[]/in currently go through the hash index: "
                   "True while every key shares one hashable built-in kind "
                   "(see docs/containers.md).")
      .def("__repr__", [name](const T& t) { return Repr(name, t); });
}

}  // namespace

void RegisterIndex(nb::module_& m) {
  // The datetime C API, for the naive-datetime key fast path (without it,
  // datetimes compare through Python).
  PyDateTime_IMPORT;
  if (PyDateTimeAPI == nullptr) PyErr_Clear();
  nb::class_<PyCSBTree> csbtree(
      m, "CSBTree",
      "An in-memory ordered map (cache-sensitive B+tree). Keys are any "
      "objects ordered by <.",
      nb::type_slots(csbtree_slots));
  csbtree.def(nb::init<int64_t, bool>(), nb::arg("order") = 63, nb::kw_only(),
               nb::arg("hash_index") = true)
      .def("get_default", &PyCSBTree::Get, nb::arg("key").none(),
           nb::arg("default").none())
      .def("setdefault", &PyCSBTree::SetDefault, nb::arg("key").none(),
           nb::arg("default").none())
      .def("update", &PyCSBTree::Update, nb::arg("other"));
  DefineOrderedMap<PyCSBTree, PyCSBTreeIterator>(m, csbtree, "CSBTree",
                                                 "CSBTreeIterator");

  nb::class_<PySkipList> skiplist(
      m, "SkipList",
      "An in-memory ordered map (skip list). Keys are any objects ordered "
      "by <.",
      nb::type_slots(skiplist_slots));
  skiplist.def(nb::init<bool>(), nb::kw_only(), nb::arg("hash_index") = true);
  DefineOrderedMap<PySkipList, PySkipListIterator>(m, skiplist, "SkipList",
                                                   "SkipListIterator");
}

}  // namespace ambervault::python
