// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// Little-endian loads and stores: every packed number is little-endian on
// disk, whatever the host.

#ifndef AMBERVAULT_SRC_PACKER_BYTE_ORDER_H_
#define AMBERVAULT_SRC_PACKER_BYTE_ORDER_H_

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

namespace ambervault {

template <typename U>
inline U ByteSwap(U v) {
  static_assert(std::is_unsigned_v<U>);
  U r = 0;
  for (size_t i = 0; i < sizeof(U); ++i) {
    r = static_cast<U>((r << 8) | ((v >> (8 * i)) & 0xFF));
  }
  return r;
}

template <size_t N>
struct UintOfSize;
template <> struct UintOfSize<1> { using type = uint8_t; };
template <> struct UintOfSize<2> { using type = uint16_t; };
template <> struct UintOfSize<4> { using type = uint32_t; };
template <> struct UintOfSize<8> { using type = uint64_t; };

template <typename T>
inline void StoreLE(T v, char* dst) {
  if constexpr (std::endian::native == std::endian::little || sizeof(T) == 1) {
    std::memcpy(dst, &v, sizeof(T));
  } else {
    using U = typename UintOfSize<sizeof(T)>::type;
    U u;
    std::memcpy(&u, &v, sizeof(T));
    u = ByteSwap(u);
    std::memcpy(dst, &u, sizeof(T));
  }
}

template <typename T>
inline T LoadLE(const char* src) {
  T v;
  if constexpr (std::endian::native == std::endian::little || sizeof(T) == 1) {
    std::memcpy(&v, src, sizeof(T));
  } else {
    using U = typename UintOfSize<sizeof(T)>::type;
    U u;
    std::memcpy(&u, src, sizeof(T));
    u = ByteSwap(u);
    std::memcpy(&v, &u, sizeof(T));
  }
  return v;
}

// Copies native-order elements of `esize` bytes to little-endian. On a
// little-endian host (every platform we test) this is one memcpy.
inline void CopyElementsLE(const char* src, size_t bytes, size_t esize, char* dst) {
  if (std::endian::native == std::endian::little || esize == 1) {
    if (bytes != 0) std::memcpy(dst, src, bytes);
    return;
  }
  for (size_t i = 0; i < bytes; i += esize) {
    for (size_t j = 0; j < esize; ++j) dst[i + j] = src[i + esize - 1 - j];
  }
}

inline void AppendElementsLE(std::string_view native, size_t esize, std::string* out) {
  const size_t at = out->size();
  out->resize(at + native.size());
  CopyElementsLE(native.data(), native.size(), esize, out->data() + at);
}

}  // namespace ambervault

#endif  // AMBERVAULT_SRC_PACKER_BYTE_ORDER_H_
