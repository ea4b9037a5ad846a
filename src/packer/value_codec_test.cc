// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.

#include "ambervault/value_codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <ostream>
#include <random>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ambervault {
namespace {

::testing::AssertionResult Contains(std::string_view text,
                                    std::string_view part) {
  if (text.find(part) != std::string_view::npos)
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "\"" << text << "\" lacks \"" << part << "\"";
}

constexpr ValueFormat kAllFormats[] = {ValueFormat::kMsgPack,
                                       ValueFormat::kCbor, ValueFormat::kJson};

const char* FormatName(ValueFormat f) {
  switch (f) {
    case ValueFormat::kMsgPack:
      return "msgpack";
    case ValueFormat::kCbor:
      return "cbor";
    case ValueFormat::kJson:
      return "json";
  }
  return "?";
}

// ------------------------------------------------------------ value model

// A decoded value rebuilt from events (the test oracle).
struct Val {
  enum Kind {
    kNil,
    kBool,
    kInt,
    kUint,
    kNegBeyond,
    kDouble,
    kStr,
    kBin,
    kArr,
    kMap
  };
  Kind kind = kNil;
  bool b = false;
  int64_t i = 0;
  uint64_t u = 0;  // kUint value, kNegBeyond n
  double d = 0;
  std::string s;
  std::vector<Val> items;  // array items; map keys and values alternating

  static Val Nil() { return Val(); }
  static Val Bool(bool v) {
    Val x;
    x.kind = kBool;
    x.b = v;
    return x;
  }
  static Val Int(int64_t v) {
    Val x;
    x.kind = kInt;
    x.i = v;
    return x;
  }
  static Val Uint(uint64_t v) {
    Val x;
    x.kind = kUint;
    x.u = v;
    return x;
  }
  static Val NegBeyond(uint64_t n) {
    Val x;
    x.kind = kNegBeyond;
    x.u = n;
    return x;
  }
  static Val Double(double v) {
    Val x;
    x.kind = kDouble;
    x.d = v;
    return x;
  }
  static Val Str(std::string v) {
    Val x;
    x.kind = kStr;
    x.s = std::move(v);
    return x;
  }
  static Val Bin(std::string v) {
    Val x;
    x.kind = kBin;
    x.s = std::move(v);
    return x;
  }
  static Val Arr(std::vector<Val> v) {
    Val x;
    x.kind = kArr;
    x.items = std::move(v);
    return x;
  }
  // Keys and values alternating.
  static Val Map(std::vector<Val> kv) {
    Val x;
    x.kind = kMap;
    x.items = std::move(kv);
    return x;
  }
};

bool operator==(const Val& a, const Val& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Val::kNil:
      return true;
    case Val::kBool:
      return a.b == b.b;
    case Val::kInt:
      return a.i == b.i;
    case Val::kUint:
    case Val::kNegBeyond:
      return a.u == b.u;
    case Val::kDouble:  // bit for bit (NaN payloads, -0.0)
      return std::memcmp(&a.d, &b.d, sizeof a.d) == 0;
    case Val::kStr:
    case Val::kBin:
      return a.s == b.s;
    case Val::kArr:
    case Val::kMap:
      return a.items == b.items;
  }
  return false;
}

std::string HexOf(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    out.push_back(kHex[static_cast<uint8_t>(c) >> 4]);
    out.push_back(kHex[static_cast<uint8_t>(c) & 0xf]);
  }
  return out;
}

// "81 a1 61 01" -> bytes (spaces ignored).
std::string Unhex(std::string_view hex) {
  std::string out;
  int hi = -1;
  for (char c : hex) {
    if (c == ' ') continue;
    int v = (c >= '0' && c <= '9') ? c - '0' : (c | 0x20) - 'a' + 10;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<char>(hi * 16 + v));
      hi = -1;
    }
  }
  return out;
}

void PrintTo(const Val& v, std::ostream* os) {
  switch (v.kind) {
    case Val::kNil:
      *os << "nil";
      break;
    case Val::kBool:
      *os << (v.b ? "true" : "false");
      break;
    case Val::kInt:
      *os << v.i;
      break;
    case Val::kUint:
      *os << v.u << "u";
      break;
    case Val::kNegBeyond:
      *os << "-1-" << v.u;
      break;
    case Val::kDouble:
      *os << v.d << "d";
      break;
    case Val::kStr:
      *os << '"' << v.s << '"';
      break;
    case Val::kBin:
      *os << "h'" << HexOf(v.s) << "'";
      break;
    case Val::kArr:
    case Val::kMap: {
      *os << (v.kind == Val::kArr ? "[" : "{");
      for (size_t k = 0; k < v.items.size(); ++k) {
        if (k > 0) *os << (v.kind == Val::kMap && k % 2 == 1 ? ": " : ", ");
        PrintTo(v.items[k], os);
      }
      *os << (v.kind == Val::kArr ? "]" : "}");
      break;
    }
  }
}

// Rebuilds a Val from events, checking the container counts; can stop the
// decoder after a number of events.
class TreeVisitor final : public ValueVisitor {
 public:
  bool Nil() override { return Add(Val::Nil()); }
  bool Bool(bool v) override { return Add(Val::Bool(v)); }
  bool Int(int64_t v) override { return Add(Val::Int(v)); }
  bool Uint(uint64_t v) override {
    EXPECT_GT(v, static_cast<uint64_t>(INT64_MAX));
    return Add(Val::Uint(v));
  }
  bool NegativeBeyondInt64(uint64_t n) override {
    EXPECT_GT(n, static_cast<uint64_t>(INT64_MAX));
    return Add(Val::NegBeyond(n));
  }
  bool Double(double v) override { return Add(Val::Double(v)); }
  bool String(std::string_view v) override {
    return Add(Val::Str(std::string(v)));
  }
  bool Binary(std::string_view v) override {
    return Add(Val::Bin(std::string(v)));
  }
  bool BeginArray(size_t n) override { return Begin(Val::kArr, n, n); }
  bool EndArray() override { return End(Val::kArr); }
  bool BeginMap(size_t n) override { return Begin(Val::kMap, n, 2 * n); }
  bool EndMap() override { return End(Val::kMap); }

  const Val& root() const { return root_; }
  size_t events() const { return events_; }
  size_t largest_count() const { return largest_count_; }
  // Return false from the event with this (0-based) index.
  void StopAt(size_t event) { stop_at_ = event; }

 private:
  struct Open {
    Val value;
    size_t expected;
  };

  // Counts an event; false for the one to stop at.
  bool Count() { return events_++ != stop_at_; }

  // Puts a complete value into its parent (or makes it the root).
  bool Attach(Val v) {
    if (open_.empty()) {
      root_ = std::move(v);
    } else {
      open_.back().value.items.push_back(std::move(v));
      EXPECT_LE(open_.back().value.items.size(), open_.back().expected);
    }
    return true;
  }
  bool Add(Val v) { return Count() && Attach(std::move(v)); }
  bool Begin(Val::Kind kind, size_t n, size_t expected) {
    if (!Count()) return false;
    largest_count_ = std::max(largest_count_, n);
    Val v;
    v.kind = kind;
    open_.push_back(Open{std::move(v), expected});
    return true;
  }
  bool End(Val::Kind kind) {
    if (!Count()) return false;
    EXPECT_FALSE(open_.empty());
    if (open_.empty()) return false;
    Open done = std::move(open_.back());
    open_.pop_back();
    EXPECT_EQ(done.value.kind, kind);
    EXPECT_EQ(done.value.items.size(), done.expected);
    return Attach(std::move(done.value));
  }

  Val root_;
  std::vector<Open> open_;
  size_t events_ = 0;
  size_t stop_at_ = SIZE_MAX;
  size_t largest_count_ = 0;
};

void EncodeVal(const Val& v, ValueEncoder* enc) {
  switch (v.kind) {
    case Val::kNil:
      enc->Nil();
      break;
    case Val::kBool:
      enc->Bool(v.b);
      break;
    case Val::kInt:
      enc->Int(v.i);
      break;
    case Val::kUint:
      enc->Uint(v.u);
      break;
    case Val::kNegBeyond:
      ADD_FAILURE() << "no encoder takes NegativeBeyondInt64";
      break;
    case Val::kDouble:
      enc->Double(v.d);
      break;
    case Val::kStr:
      enc->String(v.s);
      break;
    case Val::kBin:
      enc->Binary(v.s);
      break;
    case Val::kArr:
      enc->BeginArray(v.items.size());
      for (const Val& item : v.items) EncodeVal(item, enc);
      enc->EndArray();
      break;
    case Val::kMap:
      enc->BeginMap(v.items.size() / 2);
      for (const Val& item : v.items) EncodeVal(item, enc);
      enc->EndMap();
      break;
  }
}

Status EncodeAs(ValueFormat format, const Val& v, std::string* out) {
  switch (format) {
    case ValueFormat::kMsgPack: {
      MsgPackEncoder enc(out);
      EncodeVal(v, &enc);
      return enc.Finish();
    }
    case ValueFormat::kCbor: {
      CborEncoder enc(out);
      EncodeVal(v, &enc);
      return enc.Finish();
    }
    case ValueFormat::kJson: {
      JsonEncoder enc(out);
      EncodeVal(v, &enc);
      return enc.Finish();
    }
  }
  return Status::Internal("format");
}

std::string MustEncode(ValueFormat format, const Val& v) {
  std::string out;
  Status s = EncodeAs(format, v, &out);
  EXPECT_TRUE(s.ok()) << FormatName(format) << ": " << s.ToString();
  return out;
}

Result<Val> Decode(ValueFormat format, std::string_view data,
                   size_t* consumed = nullptr) {
  TreeVisitor visitor;
  Status s = DecodeValue(format, data, &visitor, consumed);
  if (!s.ok()) return s;
  return visitor.root();
}

Val MustDecode(ValueFormat format, std::string_view data) {
  size_t consumed = 0;
  Result<Val> r = Decode(format, data, &consumed);
  EXPECT_TRUE(r.ok()) << FormatName(format) << " " << HexOf(data) << ": "
                      << r.status().ToString();
  if (!r.ok()) return Val();
  EXPECT_EQ(consumed, data.size()) << HexOf(data);
  return r.value();
}

Status DecodeStatus(ValueFormat format, std::string_view data) {
  TreeVisitor visitor;
  return DecodeValue(format, data, &visitor);
}

// Nests `depth` arrays around 1.
Val Nested(int depth) {
  Val v = Val::Int(1);
  for (int k = 0; k < depth; ++k) v = Val::Arr({std::move(v)});
  return v;
}

// A sample of every kind of value (JSON-safe ones only when json_safe).
std::vector<Val> Samples(bool json_safe) {
  std::vector<Val> v = {
      Val::Nil(),
      Val::Bool(true),
      Val::Bool(false),
      Val::Int(0),
      Val::Int(1),
      Val::Int(-1),
      Val::Int(127),
      Val::Int(128),
      Val::Int(-32),
      Val::Int(-33),
      Val::Int(255),
      Val::Int(256),
      Val::Int(65535),
      Val::Int(65536),
      Val::Int(-129),
      Val::Int(-32769),
      Val::Int(4294967295),
      Val::Int(4294967296),
      Val::Int(std::numeric_limits<int64_t>::max()),
      Val::Int(std::numeric_limits<int64_t>::min()),
      Val::Uint(uint64_t{1} << 63),
      Val::Uint(std::numeric_limits<uint64_t>::max()),
      Val::Double(0.0),
      Val::Double(-0.0),
      Val::Double(1.5),
      Val::Double(1.0),
      Val::Double(-2.25e-310),
      Val::Double(1e300),
      Val::Double(0.1),
      Val::Str(""),
      Val::Str("hello"),
      Val::Str("caf\xc3\xa9 \xf0\x9f\x98\x80 \"quoted\" back\\slash\n\t\x01"),
      Val::Str(std::string(300, 'x')),
      Val::Str(std::string(70000, 'y')),
      Val::Arr({}),
      Val::Map({}),
      Val::Arr({Val::Int(1), Val::Str("a"), Val::Nil(),
                Val::Arr({Val::Bool(true)})}),
      Val::Map({Val::Str("a"), Val::Int(1), Val::Str("b"),
                Val::Map({Val::Str("c"), Val::Arr({})})}),
      Val::Arr(std::vector<Val>(20, Val::Int(7))),
      Val::Arr(std::vector<Val>(70000, Val::Nil())),
      Nested(40),
  };
  if (!json_safe) {
    std::vector<Val> more = {
        Val::Double(std::numeric_limits<double>::infinity()),
        Val::Double(-std::numeric_limits<double>::infinity()),
        Val::Double(std::numeric_limits<double>::quiet_NaN()),
        Val::Bin(""),
        Val::Bin(std::string("\x00\xff\x01", 3)),
        Val::Bin(std::string(300, '\x80')),
        Val::Str("\xff\xfe not utf-8"),
        Val::Map({Val::Int(1), Val::Str("one"), Val::Nil(), Val::Bool(false),
                  Val::Arr({Val::Int(2)}), Val::Bin("k"), Val::Map({}),
                  Val::Double(2.5)}),
    };
    v.insert(v.end(), more.begin(), more.end());
  }
  return v;
}

// ------------------------------------------------------------ all formats

TEST(ValueCodecTest, RoundTripsEveryKindOfValue) {
  for (ValueFormat format : kAllFormats) {
    for (const Val& v : Samples(format == ValueFormat::kJson)) {
      std::string bytes = MustEncode(format, v);
      EXPECT_EQ(MustDecode(format, bytes), v) << FormatName(format);
    }
  }
}

TEST(ValueCodecTest, ConsumedStopsAtTheEndOfTheValue) {
  for (ValueFormat format : {ValueFormat::kMsgPack, ValueFormat::kCbor}) {
    for (const Val& v : Samples(false)) {
      std::string bytes = MustEncode(format, v);
      size_t size = bytes.size();
      bytes.append("\x00\x00\xc1\xff", 4);  // padding / junk after the value
      size_t consumed = 0;
      Result<Val> r = Decode(format, bytes, &consumed);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(consumed, size);
      EXPECT_EQ(r.value(), v);
    }
  }
}

TEST(ValueCodecTest, EveryTruncationFailsCleanly) {
  std::vector<Val> values = Samples(false);
  values.push_back(Nested(5));
  for (ValueFormat format : kAllFormats) {
    for (const Val& v : values) {
      Val top = v;
      if (format == ValueFormat::kJson) {
        // A prefix of JSON text can be a value ("12" of "123"), so wrap in
        // an array, whose every prefix is incomplete.
        top = Val::Arr({v, Val::Str("end")});
        std::string tmp;
        if (!EncodeAs(format, top, &tmp).ok()) continue;
      }
      std::string bytes = MustEncode(format, top);
      if (bytes.size() > 400) bytes.resize(0);  // keep the test fast
      for (size_t n = 0; n < bytes.size(); ++n) {
        // An exact-size copy, so ASan sees any read past the end.
        std::vector<char> exact(bytes.begin(), bytes.begin() + n);
        Status s = DecodeStatus(format, std::string_view(exact.data(), n));
        EXPECT_TRUE(s.IsInvalidArgument())
            << FormatName(format) << " prefix " << n << " of " << HexOf(bytes)
            << ": " << s.ToString();
      }
    }
  }
}

TEST(ValueCodecTest, EmptyInputFails) {
  for (ValueFormat format : kAllFormats) {
    EXPECT_TRUE(DecodeStatus(format, "").IsInvalidArgument());
  }
}

TEST(ValueCodecTest, DecodeDepthLimitBothWays) {
  for (ValueFormat format : kAllFormats) {
    std::string ok_bytes = MustEncode(format, Nested(kMaxNestingDepth));
    EXPECT_EQ(MustDecode(format, ok_bytes), Nested(kMaxNestingDepth));
  }
  // 513 levels, written by hand (the encoders refuse them).
  std::string msgpack(kMaxNestingDepth + 1, '\x91');
  msgpack.push_back('\x01');
  std::string cbor(kMaxNestingDepth + 1, '\x81');
  cbor.push_back('\x01');
  std::string cbor_indefinite(kMaxNestingDepth + 1, '\x9f');
  cbor_indefinite += std::string(kMaxNestingDepth + 1, '\xff');
  std::string json(kMaxNestingDepth + 1, '[');
  json += std::string(kMaxNestingDepth + 1, ']');
  std::string json_objects;
  for (int k = 0; k <= kMaxNestingDepth; ++k) json_objects += "{\"a\":";
  json_objects += "1" + std::string(kMaxNestingDepth + 1, '}');
  const std::pair<ValueFormat, std::string> too_deep[] = {
      {ValueFormat::kMsgPack, msgpack},      {ValueFormat::kCbor, cbor},
      {ValueFormat::kCbor, cbor_indefinite}, {ValueFormat::kJson, json},
      {ValueFormat::kJson, json_objects},
  };
  for (const auto& [format, bytes] : too_deep) {
    TreeVisitor visitor;
    Status s = DecodeValue(format, bytes, &visitor);
    EXPECT_TRUE(s.IsInvalidArgument()) << FormatName(format);
    EXPECT_TRUE(Contains(s.message(), "nesting deeper than 512"))
        << FormatName(format);
  }
}

TEST(ValueCodecTest, EncodeDepthLimitBothWays) {
  for (ValueFormat format : kAllFormats) {
    std::string out;
    EXPECT_TRUE(EncodeAs(format, Nested(kMaxNestingDepth), &out).ok());
    out.clear();
    Status s = EncodeAs(format, Nested(kMaxNestingDepth + 1), &out);
    EXPECT_TRUE(s.IsInvalidArgument()) << FormatName(format);
    EXPECT_TRUE(Contains(s.message(), "nesting deeper than 512"));
  }
}

TEST(ValueCodecTest, VisitorCanStopDecoding) {
  Val v = Val::Arr({Val::Int(1), Val::Map({Val::Str("k"), Val::Str("v")}),
                    Val::Arr({Val::Bool(true)})});
  for (ValueFormat format : kAllFormats) {
    std::string bytes = MustEncode(format, v);
    for (size_t stop = 0; stop < 10; ++stop) {  // 10 events in all
      TreeVisitor visitor;
      visitor.StopAt(stop);
      Status s = DecodeValue(format, bytes, &visitor);
      EXPECT_EQ(s.code(), Status::Code::kInternal) << FormatName(format);
      EXPECT_EQ(s.message(), "stopped by visitor");
    }
  }
}

TEST(ValueCodecTest, NullVisitorIsAnError) {
  EXPECT_TRUE(
      DecodeValue(ValueFormat::kCbor, "\x01", nullptr).IsInvalidArgument());
}

TEST(ValueCodecTest, EncoderMisuseIsReportedByFinish) {
  for (ValueFormat format : kAllFormats) {
    SCOPED_TRACE(FormatName(format));
    auto with = [&](auto&& calls) {
      std::string out;
      Status s;
      switch (format) {
        case ValueFormat::kMsgPack: {
          MsgPackEncoder e(&out);
          calls(e);
          s = e.Finish();
          break;
        }
        case ValueFormat::kCbor: {
          CborEncoder e(&out);
          calls(e);
          s = e.Finish();
          break;
        }
        case ValueFormat::kJson: {
          JsonEncoder e(&out);
          calls(e);
          s = e.Finish();
          break;
        }
      }
      return s;
    };
    EXPECT_TRUE(with([](ValueEncoder&) {}).IsInvalidArgument());  // nothing
    EXPECT_TRUE(
        with([](ValueEncoder& e) { e.BeginArray(1); }).IsInvalidArgument());
    EXPECT_TRUE(
        with([](ValueEncoder& e) { e.EndArray(); }).IsInvalidArgument());
    EXPECT_TRUE(with([](ValueEncoder& e) { e.EndMap(); }).IsInvalidArgument());
    EXPECT_TRUE(with([](ValueEncoder& e) {
                  e.Int(1);
                  e.Int(2);
                }).IsInvalidArgument());
    EXPECT_TRUE(with([](ValueEncoder& e) {
                  e.BeginArray(0);
                  e.EndArray();
                  e.EndArray();
                }).IsInvalidArgument());
    EXPECT_TRUE(with([](ValueEncoder& e) {
                  e.BeginArray(1);
                  e.Int(1);
                  e.EndArray();
                }).ok());
    // The first error sticks; later calls are no-ops.
    EXPECT_TRUE(with([](ValueEncoder& e) {
                  e.EndArray();
                  e.Int(1);
                }).IsInvalidArgument());
  }
}

TEST(ValueCodecTest, EveryEncoderChecksElementCounts) {
  // A wrong count would otherwise produce malformed MessagePack/CBOR.
  for (ValueFormat format : kAllFormats) {
    SCOPED_TRACE(FormatName(format));
    auto run = [&](auto&& calls) {
      std::string out;
      std::unique_ptr<ValueEncoder> e;
      switch (format) {
        case ValueFormat::kMsgPack: e = std::make_unique<MsgPackEncoder>(&out); break;
        case ValueFormat::kCbor: e = std::make_unique<CborEncoder>(&out); break;
        case ValueFormat::kJson: e = std::make_unique<JsonEncoder>(&out); break;
      }
      calls(*e);
      return e->Finish();
    };
    EXPECT_TRUE(run([](ValueEncoder& e) {  // fewer
                  e.BeginArray(2);
                  e.Int(1);
                  e.EndArray();
                }).IsInvalidArgument());
    EXPECT_TRUE(run([](ValueEncoder& e) {  // more
                  e.BeginMap(1);
                  e.String("a");
                  e.Int(1);
                  e.String("b");
                  e.Int(2);
                  e.EndMap();
                }).IsInvalidArgument());
    EXPECT_TRUE(run([](ValueEncoder& e) {  // a key without its value
                  e.BeginMap(1);
                  e.String("a");
                  e.EndMap();
                }).IsInvalidArgument());
    EXPECT_TRUE(run([](ValueEncoder& e) {  // wrong End
                  e.BeginArray(0);
                  e.EndMap();
                }).IsInvalidArgument());
    EXPECT_TRUE(run([](ValueEncoder& e) {  // nested counts are per container
                  e.BeginArray(2);
                  e.BeginArray(1);
                  e.Nil();
                  e.EndArray();
                  e.BeginMap(0);
                  e.EndMap();
                  e.EndArray();
                }).ok());
  }
}

// Random values, encoded and decoded in every format, against the tree.
class RandomValues {
 public:
  explicit RandomValues(uint64_t seed) : rng_(seed) {}

  Val Make(bool json_safe, int depth = 0) {
    // The top level is always a container; deeper levels thin out.
    int kind = depth == 0 ? 9 + static_cast<int>(Pick(3))
                          : static_cast<int>(Pick(depth < 6 ? 12 : 9));
    switch (kind) {
      case 0:
        return Val::Nil();
      case 1:
        return Val::Bool(Pick(2) == 1);
      case 2:
        return Val::Int(Integer());
      case 3: {
        uint64_t u = rng_() | (uint64_t{1} << 63);
        return Val::Uint(u);
      }
      case 4:
        return Val::Double(Double(json_safe));
      case 5:
        return Val::Str(Text(json_safe));
      case 6:
        if (json_safe) return Val::Str(Text(true));
        return Val::Bin(Bytes());
      case 7:
        return Val::Int(static_cast<int64_t>(Pick(300)) - 150);
      case 8:
        return Val::Str(
            std::string(Pick(40), 'a' + static_cast<char>(Pick(26))));
      case 9:
      case 10: {
        std::vector<Val> items(Pick(depth == 0 ? 8 : 5));
        for (Val& item : items) item = Make(json_safe, depth + 1);
        return Val::Arr(std::move(items));
      }
      default: {
        size_t n = Pick(5);
        std::vector<Val> kv;
        for (size_t k = 0; k < n; ++k) {
          // Distinct keys keep JSON and the oracle in agreement.
          Val key = json_safe || Pick(3) != 0
                        ? Val::Str("k" + std::to_string(k) + Text(true))
                        : Make(false, depth + 1);
          kv.push_back(std::move(key));
          kv.push_back(Make(json_safe, depth + 1));
        }
        return Val::Map(std::move(kv));
      }
    }
  }

 private:
  size_t Pick(size_t n) { return static_cast<size_t>(rng_() % n); }

  int64_t Integer() {
    // Values near every encoding boundary.
    static constexpr int64_t kEdges[] = {0,         23,
                                         24,        127,
                                         128,       255,
                                         256,       65535,
                                         65536,     -1,
                                         -24,       -25,
                                         -32,       -33,
                                         -128,      -129,
                                         -32768,    -32769,
                                         INT32_MAX, int64_t{INT32_MAX} + 1,
                                         INT32_MIN, int64_t{INT32_MIN} - 1,
                                         INT64_MAX, INT64_MIN};
    switch (Pick(3)) {
      case 0:
        // edge - 1, edge or edge + 1, wrapping at the int64 ends.
        return static_cast<int64_t>(
            static_cast<uint64_t>(
                kEdges[Pick(sizeof kEdges / sizeof kEdges[0])]) +
            Pick(3) - 1);
      case 1:
        return static_cast<int64_t>(rng_());
      default:
        return static_cast<int64_t>(rng_() >> Pick(64));
    }
  }

  double Double(bool json_safe) {
    double d;
    switch (Pick(5)) {
      case 0: {
        uint64_t bits = rng_();
        std::memcpy(&d, &bits, sizeof d);
        if (json_safe && !std::isfinite(d)) d = 0.5;
        return d;
      }
      case 1:
        return static_cast<double>(static_cast<int64_t>(Pick(2000)) - 1000);
      case 2:
        return std::ldexp(static_cast<double>(Pick(1 << 20)),
                          -static_cast<int>(Pick(60)));
      case 3:
        return Pick(2) ? 0.0 : -0.0;
      default:
        if (json_safe) return 1e-300 * static_cast<double>(Pick(100));
        return Pick(2) ? std::numeric_limits<double>::quiet_NaN()
                       : -std::numeric_limits<double>::infinity();
    }
  }

  std::string Text(bool valid_utf8) {
    static const char* const kPieces[] = {"a",
                                          "Z",
                                          " ",
                                          "\"",
                                          "\\",
                                          "/",
                                          "\n",
                                          "\x01",
                                          "\x1f",
                                          "\x7f",
                                          "\xc3\xa9",
                                          "\xe2\x82\xac",
                                          "\xf0\x9f\x98\x80"};
    std::string s;
    size_t n = Pick(12);
    for (size_t k = 0; k < n; ++k) {
      if (!valid_utf8 && Pick(10) == 0) {
        s.push_back(static_cast<char>(0x80 + Pick(128)));
      } else {
        s += kPieces[Pick(sizeof kPieces / sizeof kPieces[0])];
      }
    }
    return s;
  }

  std::string Bytes() {
    std::string s(Pick(20), '\0');
    for (char& c : s) c = static_cast<char>(rng_());
    return s;
  }

  std::mt19937_64 rng_;
};

TEST(ValueCodecTest, RandomValuesRoundTripInEveryFormat) {
  RandomValues gen(20260401);
  for (int iteration = 0; iteration < 3000; ++iteration) {
    for (ValueFormat format : kAllFormats) {
      Val v = gen.Make(format == ValueFormat::kJson);
      std::string bytes;
      Status s = EncodeAs(format, v, &bytes);
      ASSERT_TRUE(s.ok()) << FormatName(format) << ": " << s.ToString();
      size_t consumed = 0;
      Result<Val> back = Decode(format, bytes, &consumed);
      ASSERT_TRUE(back.ok()) << FormatName(format) << " " << HexOf(bytes)
                             << ": " << back.status().ToString();
      ASSERT_EQ(consumed, bytes.size());
      ASSERT_EQ(back.value(), v) << FormatName(format) << " " << HexOf(bytes);
    }
  }
}

TEST(ValueCodecTest, RandomBytesNeverCrash) {
  // Mutated valid encodings: decoding may fail but only as InvalidArgument,
  // and whatever decodes keeps the visitor contract (TreeVisitor checks).
  RandomValues gen(7);
  std::mt19937_64 rng(99);
  for (int iteration = 0; iteration < 3000; ++iteration) {
    for (ValueFormat format : kAllFormats) {
      std::string bytes;
      if (!EncodeAs(format, gen.Make(format == ValueFormat::kJson), &bytes)
               .ok()) {
        continue;
      }
      if (bytes.empty()) continue;
      for (int flips = 0; flips < 3; ++flips) {
        bytes[rng() % bytes.size()] = static_cast<char>(rng());
      }
      std::vector<char> exact(bytes.begin(), bytes.end());
      TreeVisitor visitor;
      Status s = DecodeValue(
          format, std::string_view(exact.data(), exact.size()), &visitor);
      EXPECT_TRUE(s.ok() || s.IsInvalidArgument()) << s.ToString();
    }
  }
}

// ------------------------------------------------------------ MessagePack

TEST(MsgPackTest, KnownEncodings) {
  const auto kMp = ValueFormat::kMsgPack;
  EXPECT_EQ(HexOf(MustEncode(kMp, Val::Map({Val::Str("a"), Val::Int(1)}))),
            "81a16101");
  EXPECT_EQ(HexOf(MustEncode(kMp, Val::Nil())), "c0");
  EXPECT_EQ(HexOf(MustEncode(kMp, Val::Bool(false))), "c2");
  EXPECT_EQ(HexOf(MustEncode(kMp, Val::Bool(true))), "c3");
  EXPECT_EQ(HexOf(MustEncode(kMp, Val::Int(0))), "00");
  EXPECT_EQ(HexOf(MustEncode(kMp, Val::Int(127))), "7f");
  EXPECT_EQ(HexOf(MustEncode(kMp, Val::Int(128))), "cc80");
  EXPECT_EQ(HexOf(MustEncode(kMp, Val::Int(256))), "cd0100");
  EXPECT_EQ(HexOf(MustEncode(kMp, Val::Int(65536))), "ce00010000");
  EXPECT_EQ(HexOf(MustEncode(kMp, Val::Int(4294967296))), "cf0000000100000000");
  EXPECT_EQ(HexOf(MustEncode(kMp, Val::Int(-1))), "ff");
  EXPECT_EQ(HexOf(MustEncode(kMp, Val::Int(-32))), "e0");
  EXPECT_EQ(HexOf(MustEncode(kMp, Val::Int(-33))), "d0df");
  EXPECT_EQ(HexOf(MustEncode(kMp, Val::Int(-129))), "d1ff7f");
  EXPECT_EQ(HexOf(MustEncode(kMp, Val::Int(INT64_MIN))), "d38000000000000000");
  EXPECT_EQ(HexOf(MustEncode(kMp, Val::Uint(UINT64_MAX))),
            "cfffffffffffffffff");
  EXPECT_EQ(HexOf(MustEncode(kMp, Val::Double(1.5))), "cb3ff8000000000000");
  EXPECT_EQ(HexOf(MustEncode(kMp, Val::Str("a"))), "a161");
  EXPECT_EQ(HexOf(MustEncode(kMp, Val::Bin("a"))), "c40161");
  EXPECT_EQ(HexOf(MustEncode(kMp, Val::Str(std::string(32, 'x')))).substr(0, 4),
            "d920");
  EXPECT_EQ(HexOf(MustEncode(kMp, Val::Arr(std::vector<Val>(16, Val::Nil()))))
                .substr(0, 6),
            "dc0010");
  EXPECT_EQ(HexOf(MustEncode(kMp, Val::Arr({Val::Int(1), Val::Int(2)}))),
            "920102");
}

TEST(MsgPackTest, DecodesEveryIntegerAndFloatForm) {
  const auto kMp = ValueFormat::kMsgPack;
  EXPECT_EQ(MustDecode(kMp, Unhex("05")), Val::Int(5));
  EXPECT_EQ(MustDecode(kMp, Unhex("cc 05")), Val::Int(5));
  EXPECT_EQ(MustDecode(kMp, Unhex("cd 00 05")), Val::Int(5));
  EXPECT_EQ(MustDecode(kMp, Unhex("ce 00 00 00 05")), Val::Int(5));
  EXPECT_EQ(MustDecode(kMp, Unhex("cf 00 00 00 00 00 00 00 05")), Val::Int(5));
  EXPECT_EQ(MustDecode(kMp, Unhex("d0 05")), Val::Int(5));
  EXPECT_EQ(MustDecode(kMp, Unhex("d0 fb")), Val::Int(-5));
  EXPECT_EQ(MustDecode(kMp, Unhex("d1 ff fb")), Val::Int(-5));
  EXPECT_EQ(MustDecode(kMp, Unhex("d2 ff ff ff fb")), Val::Int(-5));
  EXPECT_EQ(MustDecode(kMp, Unhex("d3 ff ff ff ff ff ff ff fb")), Val::Int(-5));
  EXPECT_EQ(MustDecode(kMp, Unhex("cf 7f ff ff ff ff ff ff ff")),
            Val::Int(INT64_MAX));
  EXPECT_EQ(MustDecode(kMp, Unhex("cf 80 00 00 00 00 00 00 00")),
            Val::Uint(uint64_t{1} << 63));
  EXPECT_EQ(MustDecode(kMp, Unhex("ca 3f c0 00 00")), Val::Double(1.5));
  EXPECT_EQ(MustDecode(kMp, Unhex("cb 3f f8 00 00 00 00 00 00")),
            Val::Double(1.5));
  EXPECT_EQ(MustDecode(kMp, Unhex("d9 01 61")), Val::Str("a"));
  EXPECT_EQ(MustDecode(kMp, Unhex("da 00 00")), Val::Str(""));
  EXPECT_EQ(MustDecode(kMp, Unhex("c4 00")), Val::Bin(""));
  EXPECT_EQ(MustDecode(kMp, Unhex("c6 00 00 00 01 ff")), Val::Bin("\xff"));
  EXPECT_EQ(MustDecode(kMp, Unhex("de 00 01 a1 61 c0")),
            Val::Map({Val::Str("a"), Val::Nil()}));
}

TEST(MsgPackTest, ExtTypesAreRefused) {
  const auto kMp = ValueFormat::kMsgPack;
  Status s = DecodeStatus(kMp, Unhex("d4 01 00"));
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_TRUE(Contains(s.message(), "unsupported MessagePack ext type 1"));
  s = DecodeStatus(kMp, Unhex("d6 ff 00 00 00 00"));  // timestamp 32
  EXPECT_TRUE(Contains(s.message(), "unsupported MessagePack ext type -1"));
  s = DecodeStatus(kMp, Unhex("c7 00 05"));
  EXPECT_TRUE(Contains(s.message(), "unsupported MessagePack ext type 5"));
  s = DecodeStatus(kMp, Unhex("91 d8 07") + std::string(16, 'x'));
  EXPECT_TRUE(Contains(s.message(), "unsupported MessagePack ext type 7"));
}

TEST(MsgPackTest, MalformedAndTruncatedInput) {
  const auto kMp = ValueFormat::kMsgPack;
  Status s = DecodeStatus(kMp, Unhex("c1"));
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_TRUE(Contains(s.message(), "malformed"));
  s = DecodeStatus(kMp, Unhex("92 01 c1"));
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_TRUE(Contains(s.message(), "invalid byte at offset 2"));
  s = DecodeStatus(kMp, Unhex("db ff ff ff ff 61"));  // str32 of 4 GiB
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_TRUE(Contains(s.message(), "truncated MessagePack data"));
  s = DecodeStatus(kMp, Unhex("cb 3f f8"));
  EXPECT_TRUE(Contains(s.message(), "truncated MessagePack data"));
}

TEST(MsgPackTest, OversizedCountsFailBeforeTheVisitorSeesThem) {
  const auto kMp = ValueFormat::kMsgPack;
  const char* const cases[] = {
      "dd ff ff ff ff",           // array32 of 4G items, no bytes
      "df ff ff ff ff 01 01",     // map32 of 4G pairs
      "dc ff ff 01 02 03",        // array16 of 65535 items, 3 bytes
      "92 01 dc ff ff",           // nested
      "93 a1 61 dd 00 01 00 00",  // after a string
      "82 01 02",                 // map of 2 pairs in 2 bytes
      "9f 01 02 03",              // 15 items in 3 bytes
  };
  for (const char* hex : cases) {
    TreeVisitor visitor;
    Status s = DecodeValue(kMp, Unhex(hex), &visitor);
    EXPECT_TRUE(s.IsInvalidArgument()) << hex;
    EXPECT_TRUE(Contains(s.message(), "cannot fit")) << hex;
    EXPECT_LE(visitor.largest_count(), 3u) << hex;
  }
  // Exactly enough bytes is fine.
  EXPECT_EQ(MustDecode(kMp, Unhex("93 01 02 03")),
            Val::Arr({Val::Int(1), Val::Int(2), Val::Int(3)}));
}

// ------------------------------------------------------------ CBOR

TEST(CborTest, KnownEncodings) {
  const auto kCb = ValueFormat::kCbor;
  EXPECT_EQ(HexOf(MustEncode(kCb, Val::Int(0))), "00");
  EXPECT_EQ(HexOf(MustEncode(kCb, Val::Int(23))), "17");
  EXPECT_EQ(HexOf(MustEncode(kCb, Val::Int(24))), "1818");
  EXPECT_EQ(HexOf(MustEncode(kCb, Val::Int(255))), "18ff");
  EXPECT_EQ(HexOf(MustEncode(kCb, Val::Int(256))), "190100");
  EXPECT_EQ(HexOf(MustEncode(kCb, Val::Int(65536))), "1a00010000");
  EXPECT_EQ(HexOf(MustEncode(kCb, Val::Int(4294967296))), "1b0000000100000000");
  EXPECT_EQ(HexOf(MustEncode(kCb, Val::Uint(UINT64_MAX))),
            "1bffffffffffffffff");
  EXPECT_EQ(HexOf(MustEncode(kCb, Val::Int(-1))), "20");
  EXPECT_EQ(HexOf(MustEncode(kCb, Val::Int(-24))), "37");
  EXPECT_EQ(HexOf(MustEncode(kCb, Val::Int(-25))), "3818");
  EXPECT_EQ(HexOf(MustEncode(kCb, Val::Int(-1000))), "3903e7");
  EXPECT_EQ(HexOf(MustEncode(kCb, Val::Int(INT64_MIN))), "3b7fffffffffffffff");
  EXPECT_EQ(HexOf(MustEncode(kCb, Val::Double(1.5))), "fb3ff8000000000000");
  EXPECT_EQ(HexOf(MustEncode(kCb, Val::Double(1.0))), "fb3ff0000000000000");
  EXPECT_EQ(HexOf(MustEncode(kCb, Val::Nil())), "f6");
  EXPECT_EQ(HexOf(MustEncode(kCb, Val::Bool(false))), "f4");
  EXPECT_EQ(HexOf(MustEncode(kCb, Val::Bool(true))), "f5");
  EXPECT_EQ(HexOf(MustEncode(kCb, Val::Str("IETF"))), "6449455446");
  EXPECT_EQ(HexOf(MustEncode(kCb, Val::Bin("\x01\x02\x03\x04"))), "4401020304");
  EXPECT_EQ(
      HexOf(MustEncode(
          kCb, Val::Arr({Val::Int(1), Val::Arr({Val::Int(2), Val::Int(3)})}))),
      "8201820203");
  EXPECT_EQ(HexOf(MustEncode(kCb, Val::Map({Val::Str("a"), Val::Int(1)}))),
            "a1616101");
  EXPECT_EQ(HexOf(MustEncode(kCb, Val::Arr(std::vector<Val>(25, Val::Int(1)))))
                .substr(0, 4),
            "9819");
}

TEST(CborTest, IntegersBeyondInt64) {
  const auto kCb = ValueFormat::kCbor;
  EXPECT_EQ(MustDecode(kCb, Unhex("1b ff ff ff ff ff ff ff ff")),
            Val::Uint(UINT64_MAX));
  EXPECT_EQ(MustDecode(kCb, Unhex("1b 7f ff ff ff ff ff ff ff")),
            Val::Int(INT64_MAX));
  // -2^64
  EXPECT_EQ(MustDecode(kCb, Unhex("3b ff ff ff ff ff ff ff ff")),
            Val::NegBeyond(UINT64_MAX));
  // -2^63 - 1
  EXPECT_EQ(MustDecode(kCb, Unhex("3b 80 00 00 00 00 00 00 00")),
            Val::NegBeyond(uint64_t{1} << 63));
  EXPECT_EQ(MustDecode(kCb, Unhex("3b 7f ff ff ff ff ff ff ff")),
            Val::Int(INT64_MIN));
  // Non-minimal heads are accepted.
  EXPECT_EQ(MustDecode(kCb, Unhex("18 01")), Val::Int(1));
  EXPECT_EQ(MustDecode(kCb, Unhex("3b 00 00 00 00 00 00 00 00")), Val::Int(-1));
}

TEST(CborTest, HalfSingleAndDoubleFloats) {
  const auto kCb = ValueFormat::kCbor;
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(MustDecode(kCb, Unhex("f9 3c 00")), Val::Double(1.0));
  EXPECT_EQ(MustDecode(kCb, Unhex("f9 7c 00")), Val::Double(inf));
  EXPECT_EQ(MustDecode(kCb, Unhex("f9 fc 00")), Val::Double(-inf));
  EXPECT_EQ(MustDecode(kCb, Unhex("f9 00 01")),
            Val::Double(5.960464477539063e-08));
  EXPECT_EQ(MustDecode(kCb, Unhex("f9 03 ff")),
            Val::Double(0.00006097555160522461));
  EXPECT_EQ(MustDecode(kCb, Unhex("f9 04 00")), Val::Double(0.00006103515625));
  EXPECT_EQ(MustDecode(kCb, Unhex("f9 7b ff")), Val::Double(65504.0));
  EXPECT_EQ(MustDecode(kCb, Unhex("f9 00 00")), Val::Double(0.0));
  EXPECT_EQ(MustDecode(kCb, Unhex("f9 80 00")), Val::Double(-0.0));
  EXPECT_EQ(MustDecode(kCb, Unhex("f9 c4 00")), Val::Double(-4.0));
  EXPECT_EQ(MustDecode(kCb, Unhex("f9 3e 00")), Val::Double(1.5));
  Val nan = MustDecode(kCb, Unhex("f9 7e 00"));
  ASSERT_EQ(nan.kind, Val::kDouble);
  EXPECT_TRUE(std::isnan(nan.d));
  EXPECT_EQ(MustDecode(kCb, Unhex("fa 47 c3 50 00")), Val::Double(100000.0));
  EXPECT_EQ(MustDecode(kCb, Unhex("fa 7f 7f ff ff")),
            Val::Double(3.4028234663852886e+38));
  EXPECT_EQ(MustDecode(kCb, Unhex("fb 3f f1 99 99 99 99 99 9a")),
            Val::Double(1.1));
}

TEST(CborTest, SimpleValues) {
  const auto kCb = ValueFormat::kCbor;
  EXPECT_EQ(MustDecode(kCb, Unhex("f7")), Val::Nil());  // undefined
  EXPECT_EQ(MustDecode(kCb, Unhex("f6")), Val::Nil());
  Status s = DecodeStatus(kCb, Unhex("f0"));
  EXPECT_TRUE(Contains(s.message(), "unsupported CBOR simple value 16"));
  s = DecodeStatus(kCb, Unhex("f8 ff"));
  EXPECT_TRUE(Contains(s.message(), "unsupported CBOR simple value 255"));
  EXPECT_TRUE(
      DecodeStatus(kCb, Unhex("ff")).IsInvalidArgument());  // stray break
  EXPECT_TRUE(DecodeStatus(kCb, Unhex("fc")).IsInvalidArgument());  // reserved
}

TEST(CborTest, IndefiniteLengthContainers) {
  const auto kCb = ValueFormat::kCbor;
  Val expected = Val::Arr({Val::Int(1), Val::Arr({Val::Int(2), Val::Int(3)}),
                           Val::Arr({Val::Int(4), Val::Int(5)})});
  // RFC 8949 Appendix A.
  EXPECT_EQ(MustDecode(kCb, Unhex("9f 01 82 02 03 9f 04 05 ff ff")), expected);
  EXPECT_EQ(MustDecode(kCb, Unhex("9f 01 82 02 03 82 04 05 ff")), expected);
  EXPECT_EQ(MustDecode(kCb, Unhex("83 01 82 02 03 9f 04 05 ff")), expected);
  EXPECT_EQ(MustDecode(kCb, Unhex("83 01 9f 02 03 ff 82 04 05")), expected);
  EXPECT_EQ(MustDecode(kCb, Unhex("9f ff")), Val::Arr({}));
  EXPECT_EQ(MustDecode(kCb, Unhex("bf ff")), Val::Map({}));
  EXPECT_EQ(MustDecode(kCb, Unhex("bf 63 46 75 6e f5 63 41 6d 74 21 ff")),
            Val::Map({Val::Str("Fun"), Val::Bool(true), Val::Str("Amt"),
                      Val::Int(-2)}));
  EXPECT_EQ(
      MustDecode(kCb, Unhex("82 61 61 bf 61 62 61 63 ff")),
      Val::Arr({Val::Str("a"), Val::Map({Val::Str("b"), Val::Str("c")})}));
  EXPECT_EQ(MustDecode(kCb, Unhex("a2 61 61 01 61 62 9f 02 03 ff")),
            Val::Map({Val::Str("a"), Val::Int(1), Val::Str("b"),
                      Val::Arr({Val::Int(2), Val::Int(3)})}));
  // Siblings and nesting: counts come out in the right order.
  EXPECT_EQ(
      MustDecode(
          kCb,
          Unhex("9f 9f 01 9f ff 02 ff 81 9f 03 03 03 ff bf 01 9f ff ff ff")),
      Val::Arr({Val::Arr({Val::Int(1), Val::Arr({}), Val::Int(2)}),
                Val::Arr({Val::Arr({Val::Int(3), Val::Int(3), Val::Int(3)})}),
                Val::Map({Val::Int(1), Val::Arr({})})}));
  EXPECT_EQ(MustDecode(kCb, Unhex("82 9f 01 ff 9f 02 03 ff")),
            Val::Arr({Val::Arr({Val::Int(1)}),
                      Val::Arr({Val::Int(2), Val::Int(3)})}));
  // Malformed: odd map, missing break, break inside a definite array.
  EXPECT_TRUE(DecodeStatus(kCb, Unhex("bf 01 ff")).IsInvalidArgument());
  EXPECT_TRUE(DecodeStatus(kCb, Unhex("9f 01 02")).IsInvalidArgument());
  EXPECT_TRUE(DecodeStatus(kCb, Unhex("82 01 ff")).IsInvalidArgument());
}

TEST(CborTest, IndefiniteLengthStrings) {
  const auto kCb = ValueFormat::kCbor;
  EXPECT_EQ(MustDecode(kCb, Unhex("5f 42 01 02 43 03 04 05 ff")),
            Val::Bin("\x01\x02\x03\x04\x05"));
  EXPECT_EQ(MustDecode(kCb, Unhex("7f 65 73 74 72 65 61 64 6d 69 6e 67 ff")),
            Val::Str("streaming"));
  EXPECT_EQ(MustDecode(kCb, Unhex("7f ff")), Val::Str(""));
  EXPECT_EQ(MustDecode(kCb, Unhex("5f 40 40 ff")), Val::Bin(""));
  EXPECT_EQ(MustDecode(kCb, Unhex("82 7f 61 61 61 62 ff 5f 41 63 ff")),
            Val::Arr({Val::Str("ab"), Val::Bin("c")}));
  // Chunks must be definite strings of the same type.
  EXPECT_TRUE(DecodeStatus(kCb, Unhex("5f 61 61 ff")).IsInvalidArgument());
  EXPECT_TRUE(DecodeStatus(kCb, Unhex("7f 7f ff ff")).IsInvalidArgument());
  EXPECT_TRUE(DecodeStatus(kCb, Unhex("7f 01 ff")).IsInvalidArgument());
  EXPECT_TRUE(DecodeStatus(kCb, Unhex("7f 61 61")).IsInvalidArgument());
}

TEST(CborTest, Tags) {
  const auto kCb = ValueFormat::kCbor;
  // Self-describe (55799), also repeated and inside containers.
  EXPECT_EQ(MustDecode(kCb, Unhex("d9 d9 f7 01")), Val::Int(1));
  EXPECT_EQ(MustDecode(kCb, Unhex("d9 d9 f7 d9 d9 f7 82 01 d9 d9 f7 9f ff")),
            Val::Arr({Val::Int(1), Val::Arr({})}));
  // Bignums that fit 64 bits.
  EXPECT_EQ(MustDecode(kCb, Unhex("c2 41 05")), Val::Int(5));
  EXPECT_EQ(MustDecode(kCb, Unhex("c2 40")), Val::Int(0));
  EXPECT_EQ(MustDecode(kCb, Unhex("c2 48 ff ff ff ff ff ff ff ff")),
            Val::Uint(UINT64_MAX));
  EXPECT_EQ(MustDecode(kCb, Unhex("c2 49 00 ff ff ff ff ff ff ff ff")),
            Val::Uint(UINT64_MAX));
  EXPECT_EQ(MustDecode(kCb, Unhex("c3 41 05")), Val::Int(-6));
  EXPECT_EQ(MustDecode(kCb, Unhex("c3 48 7f ff ff ff ff ff ff ff")),
            Val::Int(INT64_MIN));
  EXPECT_EQ(MustDecode(kCb, Unhex("c3 48 ff ff ff ff ff ff ff ff")),
            Val::NegBeyond(UINT64_MAX));
  EXPECT_EQ(MustDecode(kCb, Unhex("c2 5f 41 01 41 00 ff")), Val::Int(256));
  // 2^64 does not fit.
  Status s = DecodeStatus(kCb, Unhex("c2 49 01 00 00 00 00 00 00 00 00"));
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_TRUE(Contains(s.message(), "CBOR bignums are not supported"));
  EXPECT_TRUE(DecodeStatus(kCb, Unhex("c2 01")).IsInvalidArgument());
  // Other tags are refused by number.
  s = DecodeStatus(kCb, Unhex("c1 1a 51 4b 67 b0"));
  EXPECT_TRUE(Contains(s.message(), "unsupported CBOR tag 1"));
  s = DecodeStatus(kCb, Unhex("d8 20 63 61 62 63"));
  EXPECT_TRUE(Contains(s.message(), "unsupported CBOR tag 32"));
  // A long tag chain is a loop, not a recursion.
  std::string chain;
  for (int k = 0; k < 100000; ++k) chain += Unhex("d9 d9 f7");
  chain += Unhex("01");
  EXPECT_EQ(MustDecode(kCb, chain), Val::Int(1));
}

TEST(CborTest, MalformedHeads) {
  const auto kCb = ValueFormat::kCbor;
  for (const char* hex :
       {"1c", "1d", "1e", "1f", "3f", "df 01", "5c", "9c", "fe"}) {
    Status s = DecodeStatus(kCb, Unhex(hex));
    EXPECT_TRUE(s.IsInvalidArgument()) << hex;
  }
  Status s = DecodeStatus(kCb, Unhex("19 01"));
  EXPECT_TRUE(Contains(s.message(), "truncated CBOR data"));
}

TEST(CborTest, OversizedCountsFailBeforeTheVisitorSeesThem) {
  const auto kCb = ValueFormat::kCbor;
  const char* const cases[] = {
      "9b ff ff ff ff ff ff ff ff",  // array of 2^64-1 items
      "9a ff ff ff ff 01",           // array of 4G items
      "bb 7f ff ff ff ff ff ff ff",  // map of 2^63-1 pairs (2x overflows)
      "a3 01 02 03 04",              // map of 3 pairs in 4 bytes
      "82 01 99 ff ff 01",           // nested
      "9f 01 9a 00 01 00 00 ff",     // inside an indefinite array
  };
  for (const char* hex : cases) {
    TreeVisitor visitor;
    Status s = DecodeValue(kCb, Unhex(hex), &visitor);
    EXPECT_TRUE(s.IsInvalidArgument()) << hex;
    EXPECT_TRUE(Contains(s.message(), "cannot fit")) << hex;
    EXPECT_LE(visitor.largest_count(), 2u) << hex;
  }
  for (const char* hex : {"5b ff ff ff ff ff ff ff ff", "7a 00 01 00 00 61"}) {
    Status s = DecodeStatus(kCb, Unhex(hex));
    EXPECT_TRUE(Contains(s.message(), "truncated CBOR data")) << hex;
  }
}

// ------------------------------------------------------------ JSON

TEST(JsonTest, CompactOutput) {
  Val v = Val::Map({Val::Str("a"),
                    Val::Arr({Val::Int(1), Val::Double(2.5), Val::Str("x"),
                              Val::Nil(), Val::Bool(true), Val::Bool(false)}),
                    Val::Str("b"), Val::Map({})});
  EXPECT_EQ(MustEncode(ValueFormat::kJson, v),
            R"({"a":[1,2.5,"x",null,true,false],"b":{}})");
  EXPECT_EQ(
      MustEncode(ValueFormat::kJson, Val::Arr({Val::Arr({}), Val::Arr({})})),
      "[[],[]]");
}

TEST(JsonTest, StringEscaping) {
  std::string in =
      std::string("q\" b\\ s/ \b\f\n\r\t \x01\x1f\x7f \xc3\xa9\xe2\x82\xac",
                  24) +
      std::string(1, '\0') + "\xf0\x9f\x98\x80";
  std::string expected =
      "\"q\\\" b\\\\ s/ \\b\\f\\n\\r\\t \\u0001\\u001f\x7f "
      "\xc3\xa9\xe2\x82\xac\\u0000"
      "\xf0\x9f\x98\x80\"";
  EXPECT_EQ(MustEncode(ValueFormat::kJson, Val::Str(in)), expected);
  EXPECT_EQ(MustDecode(ValueFormat::kJson, expected), Val::Str(in));
}

TEST(JsonTest, DoublesStayDoubles) {
  const std::pair<double, const char*> cases[] = {
      {1.0, "1.0"},       {-1.0, "-1.0"},
      {100.0, "100.0"},   {-0.0, "-0.0"},
      {0.0, "0.0"},       {0.1, "0.1"},
      {2.5, "2.5"},       {1e300, "1e+300"},
      {5e-324, "5e-324"}, {123456789.0, "123456789.0"},
      {1e21, "1e+21"},    {1.7976931348623157e308, "1.7976931348623157e+308"},
  };
  for (const auto& [d, text] : cases) {
    std::string out = MustEncode(ValueFormat::kJson, Val::Double(d));
    EXPECT_EQ(out, text);
    EXPECT_EQ(MustDecode(ValueFormat::kJson, out), Val::Double(d)) << out;
  }
}

TEST(JsonTest, IntegersAreExact) {
  EXPECT_EQ(MustEncode(ValueFormat::kJson, Val::Int(INT64_MIN)),
            "-9223372036854775808");
  EXPECT_EQ(MustEncode(ValueFormat::kJson, Val::Int(INT64_MAX)),
            "9223372036854775807");
  EXPECT_EQ(MustEncode(ValueFormat::kJson, Val::Uint(UINT64_MAX)),
            "18446744073709551615");
  EXPECT_EQ(MustDecode(ValueFormat::kJson, "-9223372036854775808"),
            Val::Int(INT64_MIN));
  EXPECT_EQ(MustDecode(ValueFormat::kJson, "9223372036854775807"),
            Val::Int(INT64_MAX));
  EXPECT_EQ(MustDecode(ValueFormat::kJson, "9223372036854775808"),
            Val::Uint(uint64_t{1} << 63));
  EXPECT_EQ(MustDecode(ValueFormat::kJson, "18446744073709551615"),
            Val::Uint(UINT64_MAX));
  EXPECT_EQ(MustDecode(ValueFormat::kJson, "-0"), Val::Int(0));
  EXPECT_EQ(MustDecode(ValueFormat::kJson, "1e2"), Val::Double(100.0));
  EXPECT_EQ(MustDecode(ValueFormat::kJson, "-1.5E-1"), Val::Double(-0.15));
  // Beyond uint64: a double, as nlohmann reads it.
  EXPECT_EQ(MustDecode(ValueFormat::kJson, "18446744073709551616"),
            Val::Double(18446744073709551616.0));
}

TEST(JsonTest, ValuesJsonCannotHold) {
  auto fails = [](const Val& v, const char* message) {
    std::string out;
    Status s = EncodeAs(ValueFormat::kJson, v, &out);
    EXPECT_TRUE(s.IsInvalidArgument());
    EXPECT_TRUE(Contains(s.message(), message));
  };
  fails(Val::Bin("x"), "JSON cannot hold bytes");
  fails(Val::Arr({Val::Bin("")}), "JSON cannot hold bytes");
  fails(Val::Double(std::numeric_limits<double>::quiet_NaN()),
        "JSON cannot hold NaN or infinity");
  fails(Val::Double(std::numeric_limits<double>::infinity()),
        "NaN or infinity");
  fails(Val::Arr({Val::Double(-std::numeric_limits<double>::infinity())}),
        "NaN or infinity");
  fails(Val::Map({Val::Int(1), Val::Str("x")}),
        "JSON object keys must be strings");
  fails(Val::Map({Val::Nil(), Val::Str("x")}),
        "JSON object keys must be strings");
  fails(Val::Map({Val::Str("a"), Val::Int(1), Val::Arr({}), Val::Int(2)}),
        "JSON object keys must be strings");
  for (const char* bad :
       {"\xff", "a\x80", "\xc0\x80", "\xed\xa0\x80", "\xe2\x82",
        "\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80"}) {
    fails(Val::Str(bad), "not valid UTF-8");
  }
}

TEST(JsonTest, DecodesNestedContainersWithCounts) {
  EXPECT_EQ(
      MustDecode(
          ValueFormat::kJson,
          R"( { "a" : [ 1 , { } , [ ] , [ "x" , null ] ] , "b" : { "c" : true } } )"),
      Val::Map({Val::Str("a"),
                Val::Arr({Val::Int(1), Val::Map({}), Val::Arr({}),
                          Val::Arr({Val::Str("x"), Val::Nil()})}),
                Val::Str("b"), Val::Map({Val::Str("c"), Val::Bool(true)})}));
}

TEST(JsonTest, WhitespaceAfterTheValueOnly) {
  size_t consumed = 0;
  std::string text = "[1] \n\t\r ";
  Result<Val> r = Decode(ValueFormat::kJson, text, &consumed);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(consumed, text.size());
  for (const char* bad : {"[1] x", "[1][2]", "1 2", "{} ,", "\"a\"\"b\""}) {
    Status s = DecodeStatus(ValueFormat::kJson, bad);
    EXPECT_TRUE(s.IsInvalidArgument()) << bad;
  }
}

TEST(JsonTest, InvalidJsonReportsTheParserMessage) {
  for (const char* bad :
       {"[1,]", "{\"a\" 1}", "tru", "\"\xff\"", "{1: 2}", "[1e999]",
        "\"\\ud800\"", "01", "'a'", "[\"a\x01\"]"}) {
    Status s = DecodeStatus(ValueFormat::kJson, bad);
    EXPECT_TRUE(s.IsInvalidArgument()) << bad;
    EXPECT_TRUE(Contains(s.message(), "[json.exception."))
        << bad << ": " << s.message();
  }
}

}  // namespace
}  // namespace ambervault

namespace ambervault {
namespace {

TEST(ValueCodecTest, ValueSizeSplitsAStream) {
  for (ValueFormat format : {ValueFormat::kMsgPack, ValueFormat::kCbor}) {
    std::string stream;
    std::vector<size_t> sizes;
    for (int i = 0; i < 3; ++i) {
      const size_t before = stream.size();
      std::unique_ptr<ValueEncoder> e;
      if (format == ValueFormat::kMsgPack) {
        e = std::make_unique<MsgPackEncoder>(&stream);
      } else {
        e = std::make_unique<CborEncoder>(&stream);
      }
      e->BeginArray(static_cast<size_t>(i));
      for (int k = 0; k < i; ++k) e->String(std::string(static_cast<size_t>(k) * 40, 'x'));
      e->EndArray();
      ASSERT_TRUE(e->Finish().ok());
      sizes.push_back(stream.size() - before);
    }
    size_t pos = 0;
    for (size_t expected : sizes) {
      Result<size_t> n = ValueSize(format, std::string_view(stream).substr(pos));
      ASSERT_TRUE(n.ok()) << n.status().ToString();
      EXPECT_EQ(*n, expected);
      pos += *n;
    }
    EXPECT_TRUE(ValueSize(format, std::string_view(stream).substr(0, 1 + sizes[0])).ok());
    // The third value (an array of two strings) cut short.
    EXPECT_TRUE(
        ValueSize(format, std::string_view(stream).substr(sizes[0] + sizes[1], 3)).status().IsInvalidArgument());
  }
}

}  // namespace
}  // namespace ambervault
