// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.

#include <gtest/gtest.h>

#include <string>

#include "ambervault/packer.h"

namespace ambervault {
namespace {

DType MustParse(std::string_view s) {
  Result<DType> r = DType::Parse(s);
  EXPECT_TRUE(r.ok()) << s << ": " << r.status().ToString();
  return r.ok() ? *r : DType{};
}

TEST(DTypeTest, ScalarsAndSizes) {
  struct Case {
    const char* text;
    DType::Kind kind;
    size_t size;
    const char* canonical;
  } cases[] = {
      {"i8", DType::Kind::kInt, 1, "i8"},        {"i16", DType::Kind::kInt, 2, "i16"},
      {"i32", DType::Kind::kInt, 4, "i32"},      {"I64", DType::Kind::kInt, 8, "i64"},
      {"int64", DType::Kind::kInt, 8, "i64"},    {"u8", DType::Kind::kUint, 1, "u8"},
      {"u16", DType::Kind::kUint, 2, "u16"},     {"u32", DType::Kind::kUint, 4, "u32"},
      {"uint64", DType::Kind::kUint, 8, "u64"},  {"f32", DType::Kind::kFloat, 4, "f32"},
      {"F64", DType::Kind::kFloat, 8, "f64"},    {"bool", DType::Kind::kBool, 1, "bool"},
      {"str", DType::Kind::kString, 0, "str"},   {"STRING", DType::Kind::kString, 0, "str"},
      {"str:utf-8", DType::Kind::kString, 0, "str"},
      {"str:32", DType::Kind::kString, 32, "str:32"},
      {"str:32:UTF-16LE", DType::Kind::kString, 32, "str:32:utf16le"},
      {"str:latin1", DType::Kind::kString, 0, "str:latin1"},
      {"str:4:iso-8859-1", DType::Kind::kString, 4, "str:4:latin1"},
      {"str:utf16be", DType::Kind::kString, 0, "str:utf16be"},
      {"str:8:ascii", DType::Kind::kString, 8, "str:8:ascii"},
      {"bytes", DType::Kind::kBytes, 0, "bytes"},
      {"bytes:0", DType::Kind::kBytes, 0, "bytes"},
      {"bytes:128", DType::Kind::kBytes, 128, "bytes:128"},
      {"msgpack", DType::Kind::kMsgPack, 0, "msgpack"},
      {"messagepack:64", DType::Kind::kMsgPack, 64, "msgpack:64"},
      {"cbor", DType::Kind::kCbor, 0, "cbor"},
      {"cbor:16", DType::Kind::kCbor, 16, "cbor:16"},
      {"json", DType::Kind::kJson, 0, "json"},
      {"vec:f32", DType::Kind::kVector, 0, "vec:f32"},
      {"vec:float64:3", DType::Kind::kVector, 1 + 24, "vec:f64:3"},
      {"vec:u8:3:4", DType::Kind::kVector, 1 + 12, "vec:u8:3:4"},
      {"vec:int16:2:2:2", DType::Kind::kVector, 1 + 16, "vec:i16:2:2:2"},
      {"vec:f32:768", DType::Kind::kVector, 1 + 3072, "vec:f32:768"},
  };
  for (const Case& c : cases) {
    DType t = MustParse(c.text);
    EXPECT_EQ(t.kind, c.kind) << c.text;
    EXPECT_EQ(t.fixed_size, c.size) << c.text;
    EXPECT_EQ(t.ToString(), c.canonical) << c.text;
    // The canonical spelling parses back to the same dtype.
    EXPECT_TRUE(MustParse(t.ToString()) == t) << c.text;
  }
}

TEST(DTypeTest, VectorShapeAndElement) {
  DType t = MustParse("vec:i64:2:3");
  EXPECT_EQ(t.element, ElementType::kI64);
  EXPECT_EQ(t.shape, (std::vector<uint32_t>{2, 3}));
  EXPECT_EQ(t.element_count(), 6u);
  EXPECT_TRUE(MustParse("vec:u64").shape.empty());
}

TEST(DTypeTest, ErrorsNameTheBadPart) {
  struct Case {
    const char* text;
    const char* needle;
  } cases[] = {
      {"", "empty"},
      {"i65", "unknown dtype 'i65'"},
      {"i64:x", "takes no parameters"},
      {"str:abc:utf8", "invalid size 'abc'"},
      {"str:8:klingon", "unknown encoding 'klingon'"},
      {"str:klingon", "unknown encoding 'klingon'"},
      {"str:1:2:3", "expected str"},
      {"bytes:-1", "invalid size '-1'"},
      {"bytes:x", "invalid size 'x'"},
      {"bytes:99999999999999999999", "invalid size"},
      {"msgpack:1:2", "at most a size"},
      {"json:4", "takes no parameters"},
      {"vec", "expected vec:<type>"},
      {"vec:q8", "unknown element type 'q8'"},
      {"vec:f32:0", "dimension must be greater than 0"},
      {"vec:f32:x", "invalid dimension 'x'"},
      {"vec:f64:100000:100000", "shape too large"},
  };
  for (const Case& c : cases) {
    Result<DType> r = DType::Parse(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_TRUE(r.status().IsInvalidArgument()) << c.text;
    EXPECT_NE(r.status().message().find(c.needle), std::string::npos)
        << c.text << " -> " << r.status().message();
  }
}

TEST(DTypeTest, ElementTypeCodes) {
  // KohakuVault's codes are the on-disk format: they must never change.
  EXPECT_EQ(static_cast<int>(ElementType::kF32), 1);
  EXPECT_EQ(static_cast<int>(ElementType::kF64), 2);
  EXPECT_EQ(static_cast<int>(ElementType::kI32), 3);
  EXPECT_EQ(static_cast<int>(ElementType::kI64), 4);
  EXPECT_EQ(static_cast<int>(ElementType::kU8), 5);
  EXPECT_EQ(static_cast<int>(ElementType::kU16), 6);
  EXPECT_EQ(static_cast<int>(ElementType::kU32), 7);
  EXPECT_EQ(static_cast<int>(ElementType::kU64), 8);
  EXPECT_EQ(static_cast<int>(ElementType::kI8), 9);
  EXPECT_EQ(static_cast<int>(ElementType::kI16), 10);
  ElementType t;
  EXPECT_FALSE(ElementTypeFromCode(0, &t));
  EXPECT_FALSE(ElementTypeFromCode(11, &t));
  for (uint8_t c = 1; c <= 10; ++c) {
    ASSERT_TRUE(ElementTypeFromCode(c, &t));
    EXPECT_EQ(MustParse(std::string("vec:") + ElementTypeName(t)).element, t);
  }
}

}  // namespace
}  // namespace ambervault
