// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.

#include "ambervault/value_header.h"

namespace ambervault {

namespace {
constexpr unsigned char kMagic0 = 0x89, kMagic1 = 0x4B, kClose0 = 0x56, kClose1 = 0x4B;
}  // namespace

void AppendValueHeader(ValueHeader header, std::string* out) {
  const char h[kValueHeaderSize] = {
      static_cast<char>(kMagic0), static_cast<char>(kMagic1), static_cast<char>(kValueHeaderVersion),
      static_cast<char>(header.encoding), static_cast<char>(header.flags), 0, 0, 0,
      static_cast<char>(kClose0), static_cast<char>(kClose1)};
  out->append(h, kValueHeaderSize);
}

bool ParseValueHeader(std::string_view stored, ValueHeader* header, std::string_view* payload) {
  if (stored.size() < kValueHeaderSize) return false;
  const auto* b = reinterpret_cast<const unsigned char*>(stored.data());
  if (b[0] != kMagic0 || b[1] != kMagic1 || b[2] != kValueHeaderVersion || b[8] != kClose0 ||
      b[9] != kClose1 || b[5] != 0 || b[6] != 0 || b[7] != 0 || b[3] > 6) {
    return false;
  }
  header->encoding = static_cast<ValueEncoding>(b[3]);
  header->flags = b[4];
  *payload = stored.substr(kValueHeaderSize);
  return true;
}

bool LegacyPayloadIsInt(int64_t v) {
  // Rust's wrapping_abs: INT64_MIN stays negative, hence "small".
  const int64_t abs = v == INT64_MIN ? v : (v < 0 ? -v : v);
  return abs < 1'000'000'000'000;
}

}  // namespace ambervault
