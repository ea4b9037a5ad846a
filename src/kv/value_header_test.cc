// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.

#include "ambervault/value_header.h"

#include <gtest/gtest.h>

#include <string>

namespace ambervault {
namespace {

std::string Header(uint8_t encoding, uint8_t flags = 0) {
  std::string h;
  AppendValueHeader(ValueHeader{static_cast<ValueEncoding>(encoding), flags}, &h);
  return h;
}

TEST(ValueHeaderTest, LayoutIsKohakuVaults) {
  // 0x89 'K' | version 1 | encoding | flags | 0 0 0 | 'V' 'K'
  EXPECT_EQ(Header(4), std::string("\x89K\x01\x04\x00\x00\x00\x00VK", 10));
  EXPECT_EQ(Header(2, kValueFlagArray), std::string("\x89K\x01\x02\x04\x00\x00\x00VK", 10));
}

TEST(ValueHeaderTest, ParsesEveryEncodingAndKeepsThePayload) {
  for (uint8_t e = 0; e <= 6; ++e) {
    const std::string stored = Header(e, 1) + "payload";
    ValueHeader h;
    std::string_view payload;
    ASSERT_TRUE(ParseValueHeader(stored, &h, &payload)) << int{e};
    EXPECT_EQ(static_cast<int>(h.encoding), e);
    EXPECT_EQ(h.flags, 1);
    EXPECT_EQ(payload, "payload");
  }
}

TEST(ValueHeaderTest, AnythingElseIsRaw) {
  const std::string good = Header(4);
  ValueHeader h;
  std::string_view payload;
  EXPECT_TRUE(ParseValueHeader(good, &h, &payload));
  EXPECT_TRUE(payload.empty());
  // Every prefix, every single-byte change outside the encoding and flags.
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(ParseValueHeader(good.substr(0, n), &h, &payload)) << n;
  }
  for (size_t i : {0, 1, 2, 5, 6, 7, 8, 9}) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x20);
    EXPECT_FALSE(ParseValueHeader(bad, &h, &payload)) << i;
  }
  EXPECT_FALSE(ParseValueHeader(Header(7), &h, &payload));    // unknown encoding
  EXPECT_FALSE(ParseValueHeader(Header(255), &h, &payload));  // reserved
  EXPECT_FALSE(ParseValueHeader("plain bytes", &h, &payload));
}

TEST(ValueHeaderTest, KohakuVaultIntFloatHeuristic) {
  EXPECT_TRUE(LegacyPayloadIsInt(0));
  EXPECT_TRUE(LegacyPayloadIsInt(999'999'999'999));
  EXPECT_TRUE(LegacyPayloadIsInt(-999'999'999'999));
  EXPECT_FALSE(LegacyPayloadIsInt(1'000'000'000'000));
  EXPECT_FALSE(LegacyPayloadIsInt(-1'000'000'000'000));
  EXPECT_FALSE(LegacyPayloadIsInt(INT64_MAX));
  EXPECT_TRUE(LegacyPayloadIsInt(INT64_MIN));  // the bits of -0.0: KohakuVault reads an int
}

}  // namespace
}  // namespace ambervault
