// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.

#include "kv_values.h"

#include <nanobind/stl/string.h>

#include <cstring>
#include <string>

#include "ambervault/packer.h"
#include "ambervault/value_header.h"
#include "packer/byte_order.h"
#include "py_numpy.h"
#include "py_values.h"

namespace ambervault::python {

namespace {

// Packers for the element types, made once (DataPacker is immutable).
const DataPacker& VecPacker(ElementType t) {
  static const DataPacker* packers[11] = {};
  const DataPacker*& p = packers[static_cast<int>(t)];
  if (p == nullptr) {
    p = new DataPacker(DataPacker::Create(std::string("vec:") + ElementTypeName(t)).value());
  }
  return *p;
}

const DataPacker& StructuredPacker(ValueEncoding e) {
  static const DataPacker* msgpack = new DataPacker(DataPacker::Create("msgpack").value());
  static const DataPacker* cbor = new DataPacker(DataPacker::Create("cbor").value());
  static const DataPacker* json = new DataPacker(DataPacker::Create("json").value());
  return e == ValueEncoding::kCbor ? *cbor : e == ValueEncoding::kJson ? *json : *msgpack;
}

nb::object& PickleModule() {
  static nb::object* pickle = nullptr;  // imported on first use, never freed
  if (pickle == nullptr) pickle = new nb::object(nb::module_::import_("pickle"));
  return *pickle;
}

// The element type for a buffer format, if it is one of the vec: types.
bool ElementTypeOf(ElementFormat f, ElementType* t) {
  for (uint8_t code = 1; code <= 10; ++code) {
    ElementType e;
    ElementTypeFromCode(code, &e);
    ElementFormat ef = FormatOfElement(e);
    if (ef.kind == f.kind && ef.size == f.size) {
      *t = e;
      return true;
    }
  }
  return false;
}

void AppendHeader(ValueEncoding e, uint8_t flags, std::string* out) {
  AppendValueHeader(ValueHeader{e, flags}, out);
}

template <class Encoder>
void EncodeStructured(nb::handle value, ValueEncoding e, const char* name, std::string* out) {
  AppendHeader(e, 0, out);
  PackStructured<Encoder>(StructuredPacker(e), value.ptr(), out, name);
}

void EncodePickle(nb::handle value, std::string* out) {
  nb::object data = PickleModule().attr("dumps")(value);
  AppendHeader(ValueEncoding::kPickle, 0, out);
  out->append(PyBytes_AS_STRING(data.ptr()), static_cast<size_t>(PyBytes_GET_SIZE(data.ptr())));
}

// A numpy array (or an object with __array__) as a vec: element; false when
// its element type has no vec: dtype.
bool EncodeArray(nb::handle value, std::string* out) {
  ArrayBuffer a;
  if (!a.TryView(value.ptr())) {
    nb::object arr = Numpy().attr("ascontiguousarray")(value);
    if (!a.TryView(arr.ptr())) return false;
  }
  ElementType t;
  if (!ElementTypeOf(a.format(), &t)) return false;
  ArrayView view;
  view.type = t;
  for (int i = 0; i < a.ndim(); ++i) {
    if (a.dim(i) > UINT32_MAX) RaiseInvalidArgument("array dimension too large");
    view.shape.push_back(static_cast<uint32_t>(a.dim(i)));
  }
  view.data = std::string_view(a.data(), a.bytes());
  AppendHeader(ValueEncoding::kDataPacker, kValueFlagArray, out);
  ThrowIfError(VecPacker(t).PackArray(view, out));
  return true;
}

// A numpy scalar (an instance of numpy.generic); numpy is only consulted
// for objects whose type comes from numpy.
bool IsNumpyScalar(PyObject* o) {
  if (std::strncmp(TypeName(o), "numpy.", 6) != 0) return false;
  int r = PyObject_IsInstance(o, Numpy().attr("generic").ptr());
  if (r < 0) ThrowPython();
  return r == 1;
}

bool IsArrayLike(PyObject* o) {
  return std::strcmp(TypeName(o), "numpy.ndarray") == 0 || PyObject_HasAttrString(o, "__array__");
}

// A wrapper object: has a str `encoding_name` and a `data` attribute.
bool WrapperEncoding(PyObject* o, std::string* name, nb::object* data) {
  if (!PyObject_HasAttrString(o, "encoding_name") || !PyObject_HasAttrString(o, "data")) return false;
  nb::object n = nb::steal(PyObject_GetAttrString(o, "encoding_name"));
  if (!n.is_valid()) ThrowPython();
  if (!PyUnicode_Check(n.ptr())) return false;
  *name = nb::cast<std::string>(n);
  *data = nb::steal(PyObject_GetAttrString(o, "data"));
  if (!data->is_valid()) ThrowPython();
  return true;
}

// Raw bytes, stored as they are; bytes that happen to look like a header
// go behind a raw header so they read back byte for byte.
void StoreRaw(nb::handle value, EncodedValue* out) {
  out->SetRaw(value);
  ValueHeader h;
  std::string_view payload;
  if (ParseValueHeader(out->view(), &h, &payload)) {
    std::string* enc = out->encoded();
    enc->clear();
    AppendHeader(ValueEncoding::kRaw, 0, enc);
    enc->append(out->view());
    out->UseEncoded();
  }
}

[[noreturn]] void NoEncoding(PyObject* o) {
  RaiseInvalidType(std::string("cannot auto-pack an object of type '") + TypeName(o) +
                   "': store bytes, str, int, float, bool, None, dict, list, a numpy array, or wrap "
                   "it (ambervault.wrappers.Pickle(...)), or enable_auto_pack(use_pickle=True)");
}

nb::object DecodeArray(std::string_view payload) {
  if (payload.empty()) RaiseInvalidArgument("empty DataPacker payload");
  ElementType t;
  if (!ElementTypeFromCode(static_cast<uint8_t>(payload[0]), &t)) {
    RaiseInvalidArgument("DataPacker payload is not an array (type code " +
                         std::to_string(static_cast<uint8_t>(payload[0])) + ")");
  }
  Result<ArrayView> r = VecPacker(t).UnpackArray(payload);
  ThrowIfError(r.status());
  if (r->shape.size() > kMaxNumpyDims) RaiseInvalidArgument("array has more dimensions than numpy allows");
  std::vector<size_t> shape(r->shape.begin(), r->shape.end());
  return NewNumpyArray(FormatOfElement(t), shape, r->data);
}

}  // namespace

void EncodeKvValue(const AutoPackOptions& options, nb::handle value, EncodedValue* out) {
  PyObject* o = value.ptr();
  std::string* enc = out->encoded();
  if (!options.enabled) {
    out->SetRaw(value);  // raises InvalidTypeError for a non-buffer
    return;
  }
  if (PyBytes_Check(o) || PyByteArray_Check(o) || PyMemoryView_Check(o)) return StoreRaw(value, out);
  if (!options.headers) {
    RaiseInvalidType(std::string("headers are disabled, so only bytes-like values can be stored (got ") +
                     TypeName(o) + "); enable_headers() to auto-pack other values");
  }
  if (PyUnicode_Check(o)) {
    Py_ssize_t n = 0;
    const char* s = PyUnicode_AsUTF8AndSize(o, &n);
    if (s == nullptr) ThrowPython();
    AppendHeader(ValueEncoding::kUtf8, 0, enc);
    enc->append(s, static_cast<size_t>(n));
    return;
  }
  if (o == Py_None || PyBool_Check(o) || PyLong_Check(o) || PyFloat_Check(o) || PyDict_Check(o) ||
      PyList_Check(o) || PyTuple_Check(o)) {
    try {
      EncodeStructured<MsgPackEncoder>(value, ValueEncoding::kMsgPack, "MessagePack", enc);
    } catch (nb::python_error& e) {
      // A container holding something MessagePack cannot: pickle it if allowed.
      if (!options.use_pickle || !(e.matches(PyExc_TypeError) || e.matches(PyExc_OverflowError))) throw;
      enc->clear();
      EncodePickle(value, enc);
    }
    return;
  }
  std::string wrapper;
  nb::object data;
  if (WrapperEncoding(o, &wrapper, &data)) {
    if (wrapper == "msgpack") {
      EncodeStructured<MsgPackEncoder>(data, ValueEncoding::kMsgPack, "MessagePack", enc);
    } else if (wrapper == "json") {
      EncodeStructured<JsonEncoder>(data, ValueEncoding::kJson, "JSON", enc);
    } else if (wrapper == "cbor") {
      EncodeStructured<CborEncoder>(data, ValueEncoding::kCbor, "CBOR", enc);
    } else if (wrapper == "pickle") {
      EncodePickle(data, enc);  // an explicit request: allowed without use_pickle
    } else {
      RaiseInvalidArgument("unknown wrapper encoding '" + wrapper + "' (msgpack, json, cbor, pickle)");
    }
    return;
  }
  if (IsNumpyScalar(o)) {
    // np.float32(1.5), np.int64(3), np.bool_(True): numbers, like Python's.
    EncodeStructured<MsgPackEncoder>(value, ValueEncoding::kMsgPack, "MessagePack", enc);
    return;
  }
  if (IsArrayLike(o) && EncodeArray(value, enc)) return;
  // Other buffers (array.array, mmap, ...): their bytes, raw.
  if (PyObject_CheckBuffer(o)) return StoreRaw(value, out);
  if (options.use_pickle) {
    EncodePickle(value, enc);
    return;
  }
  NoEncoding(o);
}

nb::object DecodeKvValue(const AutoPackOptions& options, std::string_view stored) {
  ValueHeader h;
  std::string_view payload;
  if (!options.enabled || !ParseValueHeader(stored, &h, &payload)) {
    return nb::steal(PyBytes_FromStringAndSize(stored.data(), static_cast<Py_ssize_t>(stored.size())));
  }
  switch (h.encoding) {
    case ValueEncoding::kRaw:
      return nb::steal(PyBytes_FromStringAndSize(payload.data(), static_cast<Py_ssize_t>(payload.size())));
    case ValueEncoding::kUtf8: {
      PyObject* s = PyUnicode_DecodeUTF8(payload.data(), static_cast<Py_ssize_t>(payload.size()), "strict");
      if (s == nullptr) ThrowPython();
      return nb::steal(s);
    }
    case ValueEncoding::kMsgPack:
    case ValueEncoding::kCbor:
    case ValueEncoding::kJson:
      return UnpackPyValue(StructuredPacker(h.encoding), payload);
    case ValueEncoding::kPickle: {
      if (!options.use_pickle) {
        RaiseInvalidArgument(
            "the value is pickled; unpickling runs code from the file, so it needs "
            "enable_auto_pack(use_pickle=True) on a vault you trust");
      }
      nb::bytes b(payload.data(), payload.size());
      return PickleModule().attr("loads")(b);
    }
    case ValueEncoding::kDataPacker:
      if ((h.flags & kValueFlagArray) == 0 && payload.size() == 8) {
        // KohakuVault's int or float: decode the way KohakuVault does.
        const int64_t v = LoadLE<int64_t>(payload.data());
        if (LegacyPayloadIsInt(v)) return nb::steal(PyLong_FromLongLong(v));
        return nb::steal(PyFloat_FromDouble(LoadLE<double>(payload.data())));
      }
      return DecodeArray(payload);
  }
  return nb::steal(PyBytes_FromStringAndSize(stored.data(), static_cast<Py_ssize_t>(stored.size())));
}

}  // namespace ambervault::python
