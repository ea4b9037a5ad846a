// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// The 10-byte header KohakuVault (0.7+) writes before a KVault value that is
// not raw bytes, so a reader knows how to decode it:
//
//   0x89 0x4B | version 0x01 | encoding | flags | 00 00 00 | 0x56 0x4B | payload
//
// Raw bytes are stored without a header. A raw value that happens to begin
// with a valid header is stored behind a kRaw header, so it reads back byte
// for byte. AmberVault sets one flag KohakuVault does not know (and ignores):
// kValueFlagArray on DataPacker payloads that are vec: arrays, because an
// 8-byte array payload is otherwise indistinguishable from KohakuVault's
// 8-byte int/float payloads.
//
// Thread safety: plain functions, no state.

#ifndef AMBERVAULT_VALUE_HEADER_H_
#define AMBERVAULT_VALUE_HEADER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ambervault/export.h"

namespace ambervault {

enum class ValueEncoding : uint8_t {
  kRaw = 0,         // the payload is the value's bytes
  kPickle = 1,      // Python pickle
  kDataPacker = 2,  // a DataPacker element: vec: array, or KohakuVault's 8-byte i64/f64
  kJson = 3,        // UTF-8 JSON text
  kMsgPack = 4,     // MessagePack
  kCbor = 5,        // CBOR
  kUtf8 = 6,        // UTF-8 text
};

inline constexpr size_t kValueHeaderSize = 10;
inline constexpr uint8_t kValueHeaderVersion = 1;
// Flag bits: KohakuVault reserves 0x01 (compressed) and 0x02 (encrypted)
// and uses neither; AmberVault marks array payloads with 0x04.
inline constexpr uint8_t kValueFlagArray = 0x04;

struct ValueHeader {
  ValueEncoding encoding = ValueEncoding::kRaw;
  uint8_t flags = 0;
};

// Appends a header to *out.
AMBERVAULT_EXPORT void AppendValueHeader(ValueHeader header, std::string* out);

// True when `stored` begins with a complete, valid header (both magics,
// version 1, a known encoding, zero reserved bytes); then fills *header and
// *payload. Anything else is a raw value.
AMBERVAULT_EXPORT bool ParseValueHeader(std::string_view stored, ValueHeader* header,
                                        std::string_view* payload);

// KohakuVault stores Python ints and floats as an 8-byte DataPacker payload
// with nothing saying which; it reads the bytes as an int when the int64
// they form has |v| < 10**12 (wrapping, so INT64_MIN counts as small), else
// as a float. AmberVault writes numbers as MessagePack, so this applies only
// to values KohakuVault wrote; it returns true for "int".
AMBERVAULT_EXPORT bool LegacyPayloadIsInt(int64_t v);

}  // namespace ambervault

#endif  // AMBERVAULT_VALUE_HEADER_H_
