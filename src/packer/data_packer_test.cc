// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "ambervault/packer.h"

namespace ambervault {
namespace {

DataPacker Make(std::string_view dtype) {
  Result<DataPacker> r = DataPacker::Create(dtype);
  EXPECT_TRUE(r.ok()) << dtype << ": " << r.status().ToString();
  return std::move(*r);
}

std::string Hex(std::string_view s) {
  static const char* d = "0123456789abcdef";
  std::string h;
  for (unsigned char c : s) {
    h.push_back(d[c >> 4]);
    h.push_back(d[c & 15]);
  }
  return h;
}

// Records visitor events as text, e.g. "[1,\"a\",{k:v}]".
class TraceVisitor : public ValueVisitor {
 public:
  std::string trace;
  bool Nil() override { return Add("nil"); }
  bool Bool(bool v) override { return Add(v ? "true" : "false"); }
  bool Int(int64_t v) override { return Add(std::to_string(v)); }
  bool Uint(uint64_t v) override { return Add("u" + std::to_string(v)); }
  bool NegativeBeyondInt64(uint64_t n) override { return Add("-1-" + std::to_string(n)); }
  bool Double(double v) override { return Add("d" + std::to_string(v)); }
  bool String(std::string_view s) override { return Add("\"" + std::string(s) + "\""); }
  bool Binary(std::string_view s) override { return Add("b'" + std::string(s) + "'"); }
  bool BeginArray(size_t n) override { return Add("[" + std::to_string(n)); }
  bool EndArray() override { return Add("]"); }
  bool BeginMap(size_t n) override { return Add("{" + std::to_string(n)); }
  bool EndMap() override { return Add("}"); }

 private:
  bool Add(const std::string& s) {
    if (!trace.empty()) trace += " ";
    trace += s;
    return true;
  }
};

TEST(DataPackerTest, IntegersAgainstRangeOracle) {
  std::mt19937_64 rng(7);
  const char* names[] = {"i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64"};
  for (const char* name : names) {
    DataPacker p = Make(name);
    const bool is_signed = name[0] == 'i';
    const int bits = std::atoi(name + 1);
    const long double lo = is_signed ? -std::ldexp(1.0L, bits - 1) : 0;
    const long double hi = is_signed ? std::ldexp(1.0L, bits - 1) - 1 : std::ldexp(1.0L, bits) - 1;
    for (int i = 0; i < 20000; ++i) {
      // Mix small values, values near the limits and anything at all.
      int64_t v;
      switch (i % 3) {
        case 0: v = static_cast<int64_t>(rng() % 512) - 256; break;
        case 1: {
          // Around the upper limit, computed in uint64_t (wraps, no UB):
          // for u64 the limit is UINT64_MAX, i.e. -1 as an int64.
          const uint64_t limit = is_signed ? (uint64_t{1} << (bits - 1)) - 1
                                 : bits == 64 ? UINT64_MAX
                                              : (uint64_t{1} << bits) - 1;
          v = static_cast<int64_t>(limit + rng() % 5 - 2);
          break;
        }
        default: v = static_cast<int64_t>(rng());
      }
      std::string out;
      Status s = p.PackInt(v, &out);
      const bool fits = static_cast<long double>(v) >= lo && static_cast<long double>(v) <= hi;
      ASSERT_EQ(s.ok(), fits) << name << " " << v << " " << s.ToString();
      if (!fits) {
        EXPECT_TRUE(s.IsOutOfRange());
        EXPECT_TRUE(out.empty());
        continue;
      }
      ASSERT_EQ(out.size(), static_cast<size_t>(bits / 8));
      Result<Scalar> back = p.UnpackScalar(out);
      ASSERT_TRUE(back.ok());
      EXPECT_EQ(back->type, Scalar::Type::kInt);
      EXPECT_EQ(back->i, v);
    }
  }
}

TEST(DataPackerTest, FullUnsignedRangeAndLayout) {
  DataPacker p = Make("u64");
  std::string out;
  ASSERT_TRUE(p.PackUint(UINT64_MAX, &out).ok());
  EXPECT_EQ(Hex(out), "ffffffffffffffff");
  Result<Scalar> s = p.UnpackScalar(out);
  EXPECT_EQ(s->type, Scalar::Type::kUint);
  EXPECT_EQ(s->u, UINT64_MAX);
  out.clear();
  EXPECT_TRUE(Make("i64").PackUint(uint64_t{1} << 63, &out).IsOutOfRange());
  ASSERT_TRUE(Make("i32").PackInt(-2, &out).ok());
  EXPECT_EQ(Hex(out), "feffffff");  // little-endian two's complement
}

TEST(DataPackerTest, Floats) {
  DataPacker f64 = Make("f64"), f32 = Make("f32");
  for (double v : {0.0, -0.0, 1.5, -3.25e300, std::numeric_limits<double>::infinity(),
                   std::numeric_limits<double>::denorm_min()}) {
    std::string out;
    ASSERT_TRUE(f64.PackDouble(v, &out).ok());
    double back = f64.UnpackScalar(out)->d;
    EXPECT_EQ(std::memcmp(&back, &v, 8), 0) << v;  // bit-exact, -0.0 keeps its sign
  }
  std::string out;
  const double nan = std::nan("0x123");
  ASSERT_TRUE(f64.PackDouble(nan, &out).ok());
  double back = f64.UnpackScalar(out)->d;
  EXPECT_EQ(std::memcmp(&back, &nan, 8), 0);  // NaN payload kept
  out.clear();
  ASSERT_TRUE(f32.PackDouble(0.1, &out).ok());
  EXPECT_EQ(f32.UnpackScalar(out)->d, static_cast<double>(0.1f));
  out.clear();
  EXPECT_TRUE(f32.PackDouble(1e39, &out).IsOutOfRange());
  EXPECT_TRUE(f32.PackDouble(std::numeric_limits<double>::infinity(), &out).ok());
  out.clear();
  ASSERT_TRUE(f64.PackInt(-7, &out).ok());  // ints are accepted by float dtypes
  EXPECT_EQ(f64.UnpackScalar(out)->d, -7.0);
  EXPECT_TRUE(Make("i64").PackDouble(1.0, &out).IsInvalidArgument());
}

TEST(DataPackerTest, Bool) {
  DataPacker p = Make("bool");
  std::string out;
  ASSERT_TRUE(p.PackBool(true, &out).ok());
  ASSERT_TRUE(p.PackInt(0, &out).ok());
  EXPECT_EQ(Hex(out), "0100");
  EXPECT_TRUE(p.PackInt(2, &out).IsOutOfRange());
  EXPECT_EQ(p.UnpackScalar(std::string_view("\x01", 1))->type, Scalar::Type::kBool);
  EXPECT_EQ(p.UnpackScalar(std::string_view("\x01", 1))->i, 1);
  EXPECT_TRUE(p.UnpackScalar(std::string_view("\x02", 1)).status().IsInvalidArgument());
}

TEST(DataPackerTest, ScalarUnpackNeedsExactSize) {
  DataPacker p = Make("i64");
  EXPECT_TRUE(p.UnpackScalar("1234").status().IsInvalidArgument());
  EXPECT_TRUE(p.UnpackScalar("").status().IsInvalidArgument());
}

TEST(DataPackerTest, TextEncodings) {
  struct Case {
    const char* dtype;
    std::string text;
    std::string bytes;
  } cases[] = {
      {"str", "h\xc3\xa9llo", "h\xc3\xa9llo"},
      {"str:latin1", "\xc3\xa9", "\xe9"},
      {"str:ascii", "abc", "abc"},
      {"str:utf16le", "A\xc3\xa9", std::string("A\0\xe9\0", 4)},
      {"str:utf16be", "A", std::string("\0A", 2)},
      // U+1F600 as a surrogate pair.
      {"str:utf16le", "\xf0\x9f\x98\x80", std::string("\x3d\xd8\x00\xde", 4)},
      {"str:8", "ab", std::string("ab\0\0\0\0\0\0", 8)},
      {"str:8:utf16le", "A", std::string("A\0\0\0\0\0\0\0", 8)},
      {"str:5:utf16le", "AB", std::string("A\0B\0\0", 5)},
  };
  for (const Case& c : cases) {
    DataPacker p = Make(c.dtype);
    std::string out;
    ASSERT_TRUE(p.PackText(c.text, &out).ok()) << c.dtype;
    EXPECT_EQ(Hex(out), Hex(c.bytes)) << c.dtype;
    Result<std::string> back = p.UnpackText(out);
    ASSERT_TRUE(back.ok()) << c.dtype << back.status().ToString();
    EXPECT_EQ(*back, c.text) << c.dtype;
  }
}

TEST(DataPackerTest, TextErrors) {
  std::string out;
  EXPECT_TRUE(Make("str:ascii").PackText("\xc3\xa9", &out).IsInvalidArgument());
  EXPECT_TRUE(Make("str:latin1").PackText("\xe2\x82\xac", &out).IsInvalidArgument());  // euro sign
  EXPECT_TRUE(Make("str").PackText("\xff", &out).IsInvalidArgument());
  EXPECT_TRUE(Make("str").PackText("\xed\xa0\x80", &out).IsInvalidArgument());  // surrogate
  EXPECT_TRUE(Make("str").PackText("\xc0\x80", &out).IsInvalidArgument());      // overlong
  EXPECT_TRUE(out.empty());
  Status s = Make("str:4").PackText("hello", &out);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_EQ(s.message(), "Data too long: 5 > 4");
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(Make("str").UnpackText("\xff").status().IsInvalidArgument());
  EXPECT_TRUE(Make("str:ascii").UnpackText("\x80").status().IsInvalidArgument());
  EXPECT_TRUE(Make("str:utf16le").UnpackText("abc").status().IsInvalidArgument());
  EXPECT_TRUE(Make("str:utf16le").UnpackText(std::string("\x00\xdc", 2)).status().IsInvalidArgument());
  EXPECT_TRUE(Make("str:utf16be").UnpackText(std::string("\xd8\x00", 2)).status().IsInvalidArgument());
}

TEST(DataPackerTest, RandomTextRoundTripsEveryEncoding) {
  std::mt19937 rng(11);
  const char* dtypes[] = {"str", "str:utf16le", "str:utf16be", "str:latin1", "str:ascii", "str:64",
                          "str:64:utf16be"};
  for (int iter = 0; iter < 3000; ++iter) {
    // Random code points, then encode as UTF-8 by hand.
    std::u32string cps;
    const int len = static_cast<int>(rng() % 12);
    for (int i = 0; i < len; ++i) {
      uint32_t cp;
      switch (rng() % 4) {
        case 0: cp = 1 + rng() % 0x7F; break;
        case 1: cp = 0x80 + rng() % 0x80; break;
        case 2: cp = 0x100 + rng() % 0xD700; break;
        default: cp = 0x10000 + rng() % 0x100000; break;
      }
      cps.push_back(cp);
    }
    std::string utf8;
    uint32_t max_cp = 0;
    for (uint32_t cp : cps) {
      max_cp = std::max(max_cp, cp);
      if (cp < 0x80) {
        utf8 += static_cast<char>(cp);
      } else if (cp < 0x800) {
        utf8 += static_cast<char>(0xC0 | (cp >> 6));
        utf8 += static_cast<char>(0x80 | (cp & 0x3F));
      } else if (cp < 0x10000) {
        utf8 += static_cast<char>(0xE0 | (cp >> 12));
        utf8 += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        utf8 += static_cast<char>(0x80 | (cp & 0x3F));
      } else {
        utf8 += static_cast<char>(0xF0 | (cp >> 18));
        utf8 += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        utf8 += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        utf8 += static_cast<char>(0x80 | (cp & 0x3F));
      }
    }
    for (const char* dtype : dtypes) {
      DataPacker p = Make(dtype);
      std::string out;
      Status s = p.PackText(utf8, &out);
      const bool representable = !((std::strcmp(dtype, "str:ascii") == 0 && max_cp > 0x7F) ||
                                   (std::strcmp(dtype, "str:latin1") == 0 && max_cp > 0xFF));
      if (!representable || (p.elem_size() && s.IsInvalidArgument() &&
                             s.message().rfind("Data too long", 0) == 0)) {
        EXPECT_FALSE(s.ok());
        continue;
      }
      ASSERT_TRUE(s.ok()) << dtype << " " << s.ToString();
      Result<std::string> back = p.UnpackText(out);
      ASSERT_TRUE(back.ok()) << dtype;
      EXPECT_EQ(*back, utf8) << dtype;
    }
  }
}

TEST(DataPackerTest, Bytes) {
  DataPacker var = Make("bytes"), fixed = Make("bytes:4");
  std::string out;
  ASSERT_TRUE(var.PackBytes(std::string("a\0b", 3), &out).ok());
  EXPECT_EQ(out.size(), 3u);
  out.clear();
  ASSERT_TRUE(fixed.PackBytes("ab", &out).ok());
  EXPECT_EQ(Hex(out), "61620000");
  EXPECT_EQ(fixed.PackBytes("abcde", &out).message(), "Data too long: 5 > 4");
  EXPECT_EQ(out.size(), 4u);  // unchanged by the failed call
}

TEST(DataPackerTest, VectorLayoutsMatchKohakuVault) {
  // KohakuVault 1.1.0: DataPacker("vec:i16").pack(np.arange(6, dtype=np.int16).reshape(2, 3))
  DataPacker any = Make("vec:i16");
  const int16_t data[6] = {0, 1, 2, 3, 4, 5};
  ArrayView a;
  a.type = ElementType::kI16;
  a.shape = {2, 3};
  a.data = std::string_view(reinterpret_cast<const char*>(data), sizeof(data));
  std::string out;
  ASSERT_TRUE(any.PackArray(a, &out).ok());
  EXPECT_EQ(Hex(out), "0a020200000003000000000001000200030004000500");
  Result<ArrayView> back = any.UnpackArray(out);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->shape, a.shape);
  EXPECT_EQ(back->data, a.data);

  // DataPacker("vec:f32:2").pack([1, 2]) == b'\x01\x00\x00\x80?\x00\x00\x00@'
  DataPacker fixed = Make("vec:f32:2");
  const float f[2] = {1, 2};
  ArrayView b{ElementType::kF32, {2}, std::string_view(reinterpret_cast<const char*>(f), 8)};
  out.clear();
  ASSERT_TRUE(fixed.PackArray(b, &out).ok());
  EXPECT_EQ(Hex(out), "010000803f00000040");
  EXPECT_EQ(fixed.UnpackArray(out)->data, b.data);
}

TEST(DataPackerTest, VectorErrors) {
  DataPacker fixed = Make("vec:f32:2:3");
  const float f[6] = {};
  std::string out;
  ArrayView wrong_shape{ElementType::kF32, {3, 2}, std::string_view(reinterpret_cast<const char*>(f), 24)};
  Status s = fixed.PackArray(wrong_shape, &out);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_EQ(s.message(), "Shape mismatch: vec:f32:2:3 expects shape (2, 3), got (3, 2)");
  ArrayView wrong_type{ElementType::kF64, {2, 3}, std::string_view(reinterpret_cast<const char*>(f), 24)};
  EXPECT_TRUE(fixed.PackArray(wrong_type, &out).IsInvalidArgument());
  ArrayView short_data{ElementType::kF32, {2, 3}, std::string_view(reinterpret_cast<const char*>(f), 20)};
  EXPECT_TRUE(fixed.PackArray(short_data, &out).IsInvalidArgument());
  EXPECT_TRUE(out.empty());

  // Every truncation of a valid any-shape element is refused, as are a wrong
  // type code and extra bytes.
  DataPacker any = Make("vec:f32");
  ArrayView ok{ElementType::kF32, {2, 3}, std::string_view(reinterpret_cast<const char*>(f), 24)};
  ASSERT_TRUE(any.PackArray(ok, &out).ok());
  for (size_t n = 0; n < out.size(); ++n) {
    EXPECT_FALSE(any.UnpackArray(std::string_view(out).substr(0, n)).ok()) << n;
  }
  EXPECT_FALSE(any.UnpackArray(out + "x").ok());
  std::string bad = out;
  bad[0] = 2;  // f64 code in an f32 column
  EXPECT_FALSE(any.UnpackArray(bad).ok());
  bad[0] = 42;
  EXPECT_FALSE(any.UnpackArray(bad).ok());
  // A header that claims a huge shape does not overflow or allocate.
  std::string huge("\x01\x03\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 14);
  EXPECT_FALSE(any.UnpackArray(huge).ok());
  // 0-d and empty arrays.
  out.clear();
  ArrayView scalar{ElementType::kF32, {}, std::string_view(reinterpret_cast<const char*>(f), 4)};
  ASSERT_TRUE(any.PackArray(scalar, &out).ok());
  EXPECT_EQ(out.size(), 2u + 4u);
  EXPECT_TRUE(any.UnpackArray(out)->shape.empty());
  out.clear();
  ArrayView empty{ElementType::kF32, {0}, std::string_view()};
  ASSERT_TRUE(any.PackArray(empty, &out).ok());
  EXPECT_EQ(any.UnpackArray(out)->element_count(), 0u);
}

TEST(DataPackerTest, StructuredValuesAndPadding) {
  for (const char* dtype : {"msgpack", "cbor", "json", "msgpack:32", "cbor:32"}) {
    DataPacker p = Make(dtype);
    std::string out;
    std::unique_ptr<ValueEncoder> e = p.NewEncoder(&out);
    ASSERT_NE(e, nullptr);
    e->BeginMap(2);
    e->String("b");
    e->Int(-5);
    e->String("a");
    e->BeginArray(2);
    e->Double(1.5);
    e->Nil();
    e->EndArray();
    e->EndMap();
    ASSERT_TRUE(p.FinishValue(*e, 0, &out).ok()) << dtype;
    if (p.elem_size()) EXPECT_EQ(out.size(), p.elem_size());
    TraceVisitor v;
    ASSERT_TRUE(p.UnpackValue(out, &v).ok()) << dtype;
    // Insertion order is kept.
    EXPECT_EQ(v.trace, "{2 \"b\" -5 \"a\" [2 d1.500000 nil ] }") << dtype;
  }
  // Too long for a fixed size.
  DataPacker small = Make("msgpack:2");
  std::string out = "keep";
  std::unique_ptr<ValueEncoder> e = small.NewEncoder(&out);
  e->String("abcdef");
  Status s = small.FinishValue(*e, 4, &out);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_EQ(s.message().rfind("Data too long", 0), 0u);
  EXPECT_EQ(out, "keep");
  // A variable element refuses trailing bytes; a fixed one refuses non-zero padding.
  TraceVisitor v;
  EXPECT_TRUE(Make("msgpack").UnpackValue(std::string("\x01\x02", 2), &v).IsInvalidArgument());
  EXPECT_TRUE(Make("msgpack:2").UnpackValue(std::string("\x01\x00", 2), &v).ok());
  EXPECT_TRUE(Make("msgpack:2").UnpackValue(std::string("\x01\x05", 2), &v).IsInvalidArgument());
  EXPECT_EQ(Make("i64").NewEncoder(&out), nullptr);
}

TEST(DataPackerTest, JsonSchemaPacker) {
  Result<DataPacker> r = DataPacker::WithJsonSchema(
      R"({"type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"}},"required":["id"]})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  DataPacker p = *r;
  EXPECT_TRUE(p.has_json_schema());
  EXPECT_EQ(p.ToString(), "msgpack");
  std::string out;
  std::unique_ptr<ValueEncoder> e = p.NewEncoder(&out);
  e->BeginMap(1);
  e->String("id");
  e->Int(1);
  e->EndMap();
  EXPECT_TRUE(p.FinishValue(*e, 0, &out).ok());
  EXPECT_FALSE(out.empty());
  out.clear();
  e = p.NewEncoder(&out);
  e->BeginMap(1);
  e->String("name");
  e->Int(3);
  e->EndMap();
  Status s = p.FinishValue(*e, 0, &out);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_EQ(s.message().rfind("Validation errors", 0), 0u) << s.message();
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(DataPacker::WithJsonSchema("{not json").ok());
  EXPECT_FALSE(p == Make("msgpack"));
  EXPECT_TRUE(Make("messagepack") == Make("msgpack"));
}

TEST(DataPackerTest, CountFixed) {
  DataPacker p = Make("i32");
  EXPECT_EQ(*p.CountFixed(std::string(12, 'x')), 3u);
  EXPECT_TRUE(p.CountFixed(std::string(13, 'x')).status().IsInvalidArgument());
  EXPECT_TRUE(Make("str").CountFixed("abc").status().IsInvalidArgument());
}

}  // namespace
}  // namespace ambervault
