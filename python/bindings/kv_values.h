// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// KVault auto-packing: Python values to stored bytes (behind KohakuVault's
// value header, include/ambervault/value_header.h) and back.
//
// Encodings chosen for a value (first match):
//   bytes, bytearray, memoryview     raw, no header (a raw value that looks
//                                    like a header gets a kRaw header)
//   wrapper (.encoding_name, .data)  the wrapper's: msgpack, json, cbor, pickle
//                                    (ambervault.wrappers or KohakuVault's)
//   None, bool, int, float           MessagePack (type and value kept exactly)
//   str                              UTF-8
//   dict, list, tuple                MessagePack (tuples come back as lists)
//   numpy array / __array__          DataPacker vec:<t> (any shape)
//   anything else                    pickle if allowed, else TypeError
// Reading decodes by the header; values without one come back as bytes.
// Pickled values are unpickled only when pickle is allowed.

#ifndef AMBERVAULT_PYTHON_BINDINGS_KV_VALUES_H_
#define AMBERVAULT_PYTHON_BINDINGS_KV_VALUES_H_

#include <nanobind/nanobind.h>

#include <optional>
#include <string>
#include <string_view>

#include "py_util.h"

namespace ambervault::python {

struct AutoPackOptions {
  bool enabled = true;      // auto-pack on put, decode on get
  bool use_pickle = false;  // pickle objects with no safe encoding, and unpickle on read
  bool headers = true;      // write headers (off: only bytes-like values may be stored)
};

// The bytes to store for one value: a view of the caller's buffer for raw
// values (no copy), else an encoded string.
class EncodedValue {
 public:
  std::string_view view() const { return raw_ ? raw_->view() : std::string_view(encoded_); }
  // The encoded bytes (used when no raw view is set).
  std::string* encoded() { return &encoded_; }
  // Views a bytes-like value (raises InvalidTypeError for anything else).
  void SetRaw(nb::handle value) { raw_.emplace(value, "value"); }
  // Drops the raw view: the value is what encoded() holds.
  void UseEncoded() { raw_.reset(); }

 private:
  std::optional<InputBytes> raw_;
  std::string encoded_;
};

// Encodes `value` for storage into *out (raises on a value it cannot store).
void EncodeKvValue(const AutoPackOptions& options, nb::handle value, EncodedValue* out);

// Decodes stored bytes into a Python object.
nb::object DecodeKvValue(const AutoPackOptions& options, std::string_view stored);

}  // namespace ambervault::python

#endif  // AMBERVAULT_PYTHON_BINDINGS_KV_VALUES_H_
