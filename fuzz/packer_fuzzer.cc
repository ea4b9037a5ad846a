// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// Fuzz target: DataPacker unpacking for every kind of dtype. The first
// input byte picks the dtype, the rest is the element. Unpacking must never
// crash or read out of bounds; whatever unpacks must pack back to the same
// bytes (for the dtypes whose encoding is canonical).

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ambervault/packer.h"

namespace {

using ambervault::ArrayView;
using ambervault::DataPacker;
using ambervault::DType;
using ambervault::Result;
using ambervault::Scalar;
using ambervault::Status;

const char* const kDtypes[] = {
    "i8",         "i16",        "i32",         "i64",        "u8",          "u16",
    "u32",        "u64",        "f32",         "f64",        "bool",        "str",
    "str:8",      "str:utf16le", "str:7:utf16be", "str:ascii", "str:latin1", "bytes",
    "bytes:16",   "msgpack",    "msgpack:24",  "cbor",       "cbor:24",     "json",
    "vec:f32",    "vec:u8",     "vec:i64:2:2", "vec:f64:3",  "vec:i16",     "vec:u64:1",
};
constexpr size_t kNumDtypes = sizeof(kDtypes) / sizeof(kDtypes[0]);

class CountingVisitor final : public ambervault::ValueVisitor {
 public:
  size_t events = 0;
  bool Nil() override { return ++events, true; }
  bool Bool(bool) override { return ++events, true; }
  bool Int(int64_t) override { return ++events, true; }
  bool Uint(uint64_t) override { return ++events, true; }
  bool NegativeBeyondInt64(uint64_t) override { return ++events, true; }
  bool Double(double) override { return ++events, true; }
  bool String(std::string_view) override { return ++events, true; }
  bool Binary(std::string_view) override { return ++events, true; }
  bool BeginArray(size_t) override { return ++events, true; }
  bool EndArray() override { return ++events, true; }
  bool BeginMap(size_t) override { return ++events, true; }
  bool EndMap() override { return ++events, true; }
};

void Check(bool ok) {
  if (!ok) std::abort();
}

void FuzzOne(const DataPacker& p, std::string_view elem) {
  const DType& t = p.dtype();
  switch (t.kind) {
    case DType::Kind::kInt:
    case DType::Kind::kUint:
    case DType::Kind::kFloat:
    case DType::Kind::kBool: {
      Result<Scalar> r = p.UnpackScalar(elem);
      if (!r.ok()) return;
      std::string again;
      Status s = r->type == Scalar::Type::kDouble ? p.PackDouble(r->d, &again)
                 : r->type == Scalar::Type::kUint ? p.PackUint(r->u, &again)
                                                  : p.PackInt(r->i, &again);
      Check(s.ok());
      // Floats may be NaNs with other payloads after a round trip through
      // double; everything else is byte-exact.
      if (t.kind != DType::Kind::kFloat) Check(again == elem);
      return;
    }
    case DType::Kind::kString: {
      Result<std::string> r = p.UnpackText(elem);
      if (!r.ok()) return;
      std::string again;
      Check(p.PackText(*r, &again).ok());
      return;
    }
    case DType::Kind::kBytes:
      return;
    case DType::Kind::kMsgPack:
    case DType::Kind::kCbor:
    case DType::Kind::kJson: {
      CountingVisitor v;
      (void)p.UnpackValue(elem, &v);
      return;
    }
    case DType::Kind::kVector: {
      Result<ArrayView> r = p.UnpackArray(elem);
      if (!r.ok()) return;
      std::string again;
      Check(p.PackArray(*r, &again).ok());
      Check(again == elem);
      return;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static DataPacker* packers[kNumDtypes];
  static bool init = [] {
    for (size_t i = 0; i < kNumDtypes; ++i) {
      Result<DataPacker> r = DataPacker::Create(kDtypes[i]);
      if (!r.ok()) std::abort();
      packers[i] = new DataPacker(std::move(*r));
    }
    return true;
  }();
  (void)init;
  if (size == 0) return 0;
  const DataPacker& p = *packers[data[0] % kNumDtypes];
  std::string_view elem(reinterpret_cast<const char*>(data) + 1, size - 1);
  FuzzOne(p, elem);
  // Fixed dtypes also see the input cut or padded to their exact size.
  if (p.elem_size() != 0 && elem.size() != p.elem_size()) {
    std::string exact(elem.substr(0, p.elem_size()));
    exact.resize(p.elem_size(), '\0');
    FuzzOne(p, exact);
  }
  return 0;
}
