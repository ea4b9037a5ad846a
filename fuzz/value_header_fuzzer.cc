// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// Fuzz target: the 10-byte KVault value header (value_header.h) and the
// payload behind it, decoded the way a reader of a KVault value does: the
// header says which decoder takes the payload (raw bytes, UTF-8 text,
// MessagePack / CBOR / JSON through DataPacker, a DataPacker vec: array or
// KohakuVault's 8-byte int/float; pickle stays bytes in C++).
//
// Every input is tried as a stored value as it is, and once more behind a
// valid header whose encoding and flags come from its first two bytes (so
// every decoder is reached without the fuzzer having to find the magic).
// Checks:
//  - ParseValueHeader agrees with an independent reading of the layout and
//    never reads outside the input; a parsed header re-encodes to the same
//    10 bytes, and a raw value behind a kRaw header reads back byte for
//    byte;
//  - decoding gives a value or a clean InvalidArgument, never a crash, UB
//    or leak; whatever decodes is re-encoded with the same encoding,
//    decoded again to the same value, and encoding that is stable.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ambervault/packer.h"
#include "ambervault/value_codec.h"
#include "ambervault/value_header.h"

namespace {

using ambervault::ArrayView;
using ambervault::DataPacker;
using ambervault::ElementType;
using ambervault::Result;
using ambervault::Status;
using ambervault::ValueEncoder;
using ambervault::ValueEncoding;
using ambervault::ValueHeader;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "value_header_fuzzer: check failed: %s\n", what);
    std::abort();
  }
}

// ---------------------------------------------------------------- events

struct Event {
  enum Kind : uint8_t {
    kNil, kBool, kInt, kUint, kNegBeyond, kDouble, kString, kBinary,
    kBeginArray, kEndArray, kBeginMap, kEndMap,
  };
  Kind kind;
  uint64_t bits;
  std::string text;
  bool operator==(const Event& o) const {
    return kind == o.kind && bits == o.bits && text == o.text;
  }
};

class RecordingVisitor final : public ambervault::ValueVisitor {
 public:
  std::vector<Event> events;
  bool Nil() override { return Add({Event::kNil, 0, {}}); }
  bool Bool(bool v) override { return Add({Event::kBool, v, {}}); }
  bool Int(int64_t v) override { return Add({Event::kInt, static_cast<uint64_t>(v), {}}); }
  bool Uint(uint64_t v) override { return Add({Event::kUint, v, {}}); }
  bool NegativeBeyondInt64(uint64_t n) override { return Add({Event::kNegBeyond, n, {}}); }
  bool Double(double v) override {
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    return Add({Event::kDouble, bits, {}});
  }
  bool String(std::string_view s) override { return Add({Event::kString, 0, std::string(s)}); }
  bool Binary(std::string_view s) override { return Add({Event::kBinary, 0, std::string(s)}); }
  bool BeginArray(size_t n) override { return Add({Event::kBeginArray, n, {}}); }
  bool EndArray() override { return Add({Event::kEndArray, 0, {}}); }
  bool BeginMap(size_t n) override { return Add({Event::kBeginMap, n, {}}); }
  bool EndMap() override { return Add({Event::kEndMap, 0, {}}); }

 private:
  bool Add(Event e) {
    events.push_back(std::move(e));
    return true;
  }
};

// Replays events into an encoder; false for a value no encoder takes.
bool Replay(const std::vector<Event>& events, ValueEncoder* enc) {
  for (const Event& e : events) {
    switch (e.kind) {
      case Event::kNil: enc->Nil(); break;
      case Event::kBool: enc->Bool(e.bits != 0); break;
      case Event::kInt: enc->Int(static_cast<int64_t>(e.bits)); break;
      case Event::kUint: enc->Uint(e.bits); break;
      case Event::kNegBeyond: return false;
      case Event::kDouble: {
        double d;
        std::memcpy(&d, &e.bits, sizeof d);
        enc->Double(d);
        break;
      }
      case Event::kString: enc->String(e.text); break;
      case Event::kBinary: enc->Binary(e.text); break;
      case Event::kBeginArray: enc->BeginArray(e.bits); break;
      case Event::kEndArray: enc->EndArray(); break;
      case Event::kBeginMap: enc->BeginMap(e.bits); break;
      case Event::kEndMap: enc->EndMap(); break;
    }
  }
  return true;
}

// ---------------------------------------------------------------- packers

struct Packers {
  DataPacker str, msgpack, cbor, json, i64, f64;
  std::vector<DataPacker> vec;  // by element type code - 1
};

DataPacker Make(const std::string& dtype) {
  Result<DataPacker> r = DataPacker::Create(dtype);
  Check(r.ok(), "creating a packer");
  return std::move(*r);
}

const Packers& GetPackers() {
  static const Packers* p = [] {
    auto* out = new Packers{Make("str"),  Make("msgpack"), Make("cbor"),
                            Make("json"), Make("i64"),     Make("f64"), {}};
    for (uint8_t code = 1; code <= 10; ++code) {
      ElementType t;
      Check(ambervault::ElementTypeFromCode(code, &t), "element type code");
      out->vec.push_back(Make(std::string("vec:") + ambervault::ElementTypeName(t)));
    }
    return out;
  }();
  return *p;
}

const DataPacker& StructuredPacker(ValueEncoding e) {
  const Packers& p = GetPackers();
  return e == ValueEncoding::kCbor ? p.cbor : e == ValueEncoding::kJson ? p.json : p.msgpack;
}

// ---------------------------------------------------------------- header

// The layout, read independently of value_header.cc.
bool ExpectHeader(std::string_view s) {
  if (s.size() < ambervault::kValueHeaderSize) return false;
  const auto* b = reinterpret_cast<const unsigned char*>(s.data());
  return b[0] == 0x89 && b[1] == 'K' && b[2] == ambervault::kValueHeaderVersion && b[3] <= 6 &&
         b[5] == 0 && b[6] == 0 && b[7] == 0 && b[8] == 'V' && b[9] == 'K';
}

// KohakuVault's rule: an int when |v| < 10**12 with a wrapping abs.
bool ExpectLegacyInt(int64_t v) {
  const uint64_t u = static_cast<uint64_t>(v);
  const uint64_t mag = v < 0 ? ~u + 1 : u;  // INT64_MIN stays 2^63 ...
  return v == INT64_MIN || mag < 1'000'000'000'000ULL;  // ... and counts as small
}

// ---------------------------------------------------------------- payloads

// Decodes `payload` as `h` says. On success sets *again to the payload
// re-encoded from the decoded value (the same encoding) and returns true;
// on a decoding error checks it is InvalidArgument and returns false.
// *value receives a comparable form of the decoded value.
bool DecodePayload(ValueHeader h, std::string_view payload, std::vector<Event>* value,
                   std::string* again) {
  value->clear();
  again->clear();
  const Packers& p = GetPackers();
  switch (h.encoding) {
    case ValueEncoding::kRaw:
    case ValueEncoding::kPickle:  // no unpickler in C++: the bytes
      value->push_back({Event::kBinary, 0, std::string(payload)});
      again->assign(payload);
      return true;
    case ValueEncoding::kUtf8: {
      Result<std::string> text = p.str.UnpackText(payload);
      if (!text.ok()) {
        Check(text.status().IsInvalidArgument(), "UTF-8 error is not InvalidArgument");
        return false;
      }
      value->push_back({Event::kString, 0, *text});
      Check(p.str.PackText(*text, again).ok(), "decoded text does not pack");
      return true;
    }
    case ValueEncoding::kMsgPack:
    case ValueEncoding::kCbor:
    case ValueEncoding::kJson: {
      const DataPacker& packer = StructuredPacker(h.encoding);
      RecordingVisitor v;
      Status s = packer.UnpackValue(payload, &v);
      if (!s.ok()) {
        Check(s.IsInvalidArgument(), "structured decode error is not InvalidArgument");
        return false;
      }
      Check(!v.events.empty(), "a decoded value without events");
      *value = std::move(v.events);
      std::unique_ptr<ValueEncoder> enc = packer.NewEncoder(again);
      Check(enc != nullptr, "no encoder for a structured packer");
      if (!Replay(*value, enc.get())) {
        // Only CBOR holds integers below INT64_MIN; no encoder writes them.
        Check(h.encoding == ValueEncoding::kCbor, "NegativeBeyondInt64 outside CBOR");
        again->clear();
        return false;
      }
      Check(packer.FinishValue(*enc, 0, again).ok(), "re-encoding a decoded value failed");
      return true;
    }
    case ValueEncoding::kDataPacker: {
      if ((h.flags & ambervault::kValueFlagArray) == 0 && payload.size() == 8) {
        int64_t v;
        std::memcpy(&v, payload.data(), 8);  // little-endian hosts only
        const bool is_int = ambervault::LegacyPayloadIsInt(v);
        Check(is_int == ExpectLegacyInt(v), "LegacyPayloadIsInt disagrees");
        if (is_int) {
          value->push_back({Event::kInt, static_cast<uint64_t>(v), {}});
          Check(p.i64.PackInt(v, again).ok(), "legacy int does not pack");
        } else {
          double d;
          std::memcpy(&d, payload.data(), 8);
          uint64_t bits;
          std::memcpy(&bits, &d, 8);
          value->push_back({Event::kDouble, bits, {}});
          Check(p.f64.PackDouble(d, again).ok(), "legacy float does not pack");
        }
        return true;
      }
      if (payload.empty()) return false;  // "empty DataPacker payload"
      ElementType t;
      if (!ambervault::ElementTypeFromCode(static_cast<uint8_t>(payload[0]), &t)) {
        return false;  // not an array type code
      }
      const DataPacker& packer = p.vec[static_cast<size_t>(t) - 1];
      Result<ArrayView> a = packer.UnpackArray(payload);
      if (!a.ok()) {
        Check(a.status().IsInvalidArgument(), "array decode error is not InvalidArgument");
        return false;
      }
      Check(a->type == t, "array of another element type");
      // The view lies inside the payload and holds exactly its elements.
      Check(a->data.size() == a->element_count() * ambervault::ElementTypeSize(t),
            "array data size does not match its shape");
      Check(a->data.empty() ||
                (a->data.data() >= payload.data() &&
                 a->data.data() + a->data.size() <= payload.data() + payload.size()),
            "array view outside the payload");
      std::string shape;
      for (uint32_t d : a->shape) shape.append(reinterpret_cast<const char*>(&d), 4);
      value->push_back({Event::kBeginArray, static_cast<uint64_t>(t), shape});
      value->push_back({Event::kBinary, a->shape.size(), std::string(a->data)});
      Check(packer.PackArray(*a, again).ok(), "decoded array does not pack");
      return true;
    }
  }
  Check(false, "ParseValueHeader returned an unknown encoding");
  return false;
}

void FuzzStored(std::string_view stored) {
  ValueHeader h;
  std::string_view payload;
  const bool parsed = ambervault::ParseValueHeader(stored, &h, &payload);
  Check(parsed == ExpectHeader(stored), "ParseValueHeader disagrees with the layout");
  if (!parsed) return;  // a raw value: its bytes are the value
  Check(payload.data() == stored.data() + ambervault::kValueHeaderSize &&
            payload.size() == stored.size() - ambervault::kValueHeaderSize,
        "payload is not the bytes after the header");
  Check(static_cast<uint8_t>(h.encoding) == static_cast<uint8_t>(stored[3]) &&
            h.flags == static_cast<uint8_t>(stored[4]),
        "header fields differ from the bytes");

  // The header re-encodes to the same bytes.
  std::string rebuilt;
  ambervault::AppendValueHeader(h, &rebuilt);
  Check(rebuilt.size() == ambervault::kValueHeaderSize, "header size");
  rebuilt.append(payload);
  Check(rebuilt == stored, "re-encoded header differs");

  // A raw value that looks like a header is stored behind a kRaw header
  // and reads back byte for byte.
  std::string escaped;
  ambervault::AppendValueHeader(ValueHeader{ValueEncoding::kRaw, 0}, &escaped);
  escaped.append(stored);
  ValueHeader eh;
  std::string_view ep;
  Check(ambervault::ParseValueHeader(escaped, &eh, &ep) && eh.encoding == ValueEncoding::kRaw &&
            ep == stored,
        "raw escaping does not round-trip");

  // Decode, re-encode, decode again.
  std::vector<Event> value;
  std::string again;
  if (!DecodePayload(h, payload, &value, &again)) return;
  // Everything but MessagePack, CBOR and JSON has one encoding per value.
  const bool canonical = h.encoding != ValueEncoding::kMsgPack &&
                         h.encoding != ValueEncoding::kCbor && h.encoding != ValueEncoding::kJson;
  Check(!canonical || again == payload, "re-encoded payload differs from a canonical one");
  std::string stored2;
  ambervault::AppendValueHeader(h, &stored2);
  stored2.append(again);
  ValueHeader h2;
  std::string_view payload2;
  Check(ambervault::ParseValueHeader(stored2, &h2, &payload2), "re-encoded value has no header");
  Check(h2.encoding == h.encoding && h2.flags == h.flags && payload2 == again,
        "re-encoded header reads differently");
  std::vector<Event> value2;
  std::string again2;
  Check(DecodePayload(h2, payload2, &value2, &again2), "re-encoded payload does not decode");
  Check(value2 == value, "re-encoded payload decodes to another value");
  Check(again2 == again, "encoding is not stable");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input;
  if (data != nullptr) input = {reinterpret_cast<const char*>(data), size};
  FuzzStored(input);
  if (input.size() >= 2) {
    std::string stored;
    ambervault::AppendValueHeader(
        ValueHeader{static_cast<ValueEncoding>(static_cast<uint8_t>(input[0]) % 7),
                    static_cast<uint8_t>(input[1])},
        &stored);
    stored.append(input.substr(2));
    FuzzStored(stored);
  }
  return 0;
}
