// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// Fuzz target: the MessagePack, CBOR and JSON value decoders. Every input is
// decoded in all three formats; decoding must never crash, read out of
// bounds or leak, and must keep the ValueVisitor contract (BeginArray(n) /
// BeginMap(n) followed by exactly n items / pairs). What decodes is
// re-encoded (in its own format, and in the other formats when they can
// hold it) and decoded again: the events must match, and encoding the
// re-decoded value must give the same bytes again.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "ambervault/value_codec.h"

namespace {

using ambervault::CborEncoder;
using ambervault::JsonEncoder;
using ambervault::MsgPackEncoder;
using ambervault::Status;
using ambervault::ValueEncoder;
using ambervault::ValueFormat;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "value_codec_fuzzer: check failed: %s\n", what);
    std::abort();
  }
}

struct Event {
  enum Kind : uint8_t {
    kNil,
    kBool,
    kInt,
    kUint,
    kNegBeyond,
    kDouble,
    kString,
    kBinary,
    kBeginArray,
    kEndArray,
    kBeginMap,
    kEndMap,
  };
  Kind kind;
  uint64_t bits;  // bool, integers, double bits, container counts
  std::string text;
  bool operator==(const Event& o) const {
    return kind == o.kind && bits == o.bits && text == o.text;
  }
};

// Records the events and checks the container counts as they arrive.
class RecordingVisitor final : public ambervault::ValueVisitor {
 public:
  std::vector<Event> events;

  bool Nil() override { return Value({Event::kNil, 0, {}}); }
  bool Bool(bool v) override { return Value({Event::kBool, v, {}}); }
  bool Int(int64_t v) override {
    return Value({Event::kInt, static_cast<uint64_t>(v), {}});
  }
  bool Uint(uint64_t v) override {
    Check(v > static_cast<uint64_t>(INT64_MAX), "Uint within int64 range");
    return Value({Event::kUint, v, {}});
  }
  bool NegativeBeyondInt64(uint64_t n) override {
    Check(n > static_cast<uint64_t>(INT64_MAX), "NegativeBeyondInt64 range");
    return Value({Event::kNegBeyond, n, {}});
  }
  bool Double(double v) override {
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    return Value({Event::kDouble, bits, {}});
  }
  bool String(std::string_view s) override {
    return Value({Event::kString, 0, std::string(s)});
  }
  bool Binary(std::string_view s) override {
    return Value({Event::kBinary, 0, std::string(s)});
  }
  bool BeginArray(size_t n) override {
    Value({Event::kBeginArray, n, {}});
    open_.push_back(n);
    return true;
  }
  bool EndArray() override { return End(Event::kEndArray); }
  bool BeginMap(size_t n) override {
    Value({Event::kBeginMap, n, {}});
    Check(n <= SIZE_MAX / 2, "map count overflow");
    open_.push_back(2 * n);
    return true;
  }
  bool EndMap() override { return End(Event::kEndMap); }

  bool complete() const { return open_.empty() && !events.empty(); }

 private:
  bool Value(Event e) {
    if (!open_.empty()) {
      Check(open_.back() > 0, "more items than announced");
      --open_.back();
    }
    events.push_back(std::move(e));
    return true;
  }
  bool End(Event::Kind kind) {
    Check(!open_.empty(), "End without Begin");
    Check(open_.back() == 0, "fewer items than announced");
    open_.pop_back();
    events.push_back({kind, 0, {}});
    return true;
  }

  std::vector<uint64_t> open_;
};

// Replays events into an encoder; false when the events hold a value no
// encoder takes (NegativeBeyondInt64) or the encoder refuses them.
bool Replay(const std::vector<Event>& events, ValueEncoder* enc) {
  for (const Event& e : events) {
    switch (e.kind) {
      case Event::kNil:
        enc->Nil();
        break;
      case Event::kBool:
        enc->Bool(e.bits != 0);
        break;
      case Event::kInt:
        enc->Int(static_cast<int64_t>(e.bits));
        break;
      case Event::kUint:
        enc->Uint(e.bits);
        break;
      case Event::kNegBeyond:
        return false;
      case Event::kDouble: {
        double d;
        std::memcpy(&d, &e.bits, sizeof d);
        enc->Double(d);
        break;
      }
      case Event::kString:
        enc->String(e.text);
        break;
      case Event::kBinary:
        enc->Binary(e.text);
        break;
      case Event::kBeginArray:
        enc->BeginArray(e.bits);
        break;
      case Event::kEndArray:
        enc->EndArray();
        break;
      case Event::kBeginMap:
        enc->BeginMap(e.bits);
        break;
      case Event::kEndMap:
        enc->EndMap();
        break;
    }
  }
  return enc->Finish().ok();
}

bool Encode(ValueFormat format, const std::vector<Event>& events,
            std::string* out) {
  switch (format) {
    case ValueFormat::kMsgPack: {
      MsgPackEncoder enc(out);
      return Replay(events, &enc);
    }
    case ValueFormat::kCbor: {
      CborEncoder enc(out);
      return Replay(events, &enc);
    }
    case ValueFormat::kJson: {
      JsonEncoder enc(out);
      return Replay(events, &enc);
    }
  }
  return false;
}

// Encodes `events` in `format` (when it can hold them), decodes the result
// and checks it gives the same events; then checks that encoding is stable.
// `from` is the format the events were decoded from.
void RoundTrip(ValueFormat from, ValueFormat format,
               const std::vector<Event>& events) {
  std::string bytes;
  if (!Encode(format, events, &bytes)) {
    // Only values with NegativeBeyondInt64 (no encoder takes them) and, in
    // JSON, values from the other formats (bytes, NaN, non-string keys, bad
    // UTF-8) may be refused.
    bool has_neg = false;
    for (const Event& e : events) has_neg |= e.kind == Event::kNegBeyond;
    Check(has_neg || (format == ValueFormat::kJson && from != format),
          "encoder refused a value");
    return;
  }
  RecordingVisitor again;
  size_t consumed = 0;
  Status s = ambervault::DecodeValue(format, bytes, &again, &consumed);
  Check(s.ok(), "re-decoding an encoding failed");
  Check(consumed == bytes.size(), "re-decode consumed a different size");
  Check(again.events == events, "re-decoded events differ");
  std::string bytes2;
  Check(Encode(format, again.events, &bytes2), "second encoding failed");
  Check(bytes2 == bytes, "encoding is not stable");
}

void FuzzFormat(ValueFormat format, std::string_view input) {
  RecordingVisitor v;
  size_t consumed = 0;
  Status s = ambervault::DecodeValue(format, input, &v, &consumed);
  if (!s.ok()) {
    Check(s.IsInvalidArgument(), "decode error is not InvalidArgument");
    return;
  }
  Check(v.complete(), "decode succeeded with an incomplete value");
  Check(consumed <= input.size(), "consumed more than the input");
  if (format != ValueFormat::kJson) {
    Check(consumed > 0, "consumed nothing");
    // The value alone decodes the same.
    RecordingVisitor prefix;
    size_t consumed2 = 0;
    Status s2 = ambervault::DecodeValue(format, input.substr(0, consumed),
                                        &prefix, &consumed2);
    Check(s2.ok() && consumed2 == consumed, "the value alone fails");
    Check(prefix.events == v.events, "the value alone decodes differently");
  } else {
    Check(consumed == input.size(), "JSON consumed less than the input");
  }
  RoundTrip(format, ValueFormat::kMsgPack, v.events);
  RoundTrip(format, ValueFormat::kCbor, v.events);
  RoundTrip(format, ValueFormat::kJson, v.events);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input;
  if (data != nullptr) input = {reinterpret_cast<const char*>(data), size};
  FuzzFormat(ValueFormat::kMsgPack, input);
  FuzzFormat(ValueFormat::kCbor, input);
  FuzzFormat(ValueFormat::kJson, input);
  return 0;
}
