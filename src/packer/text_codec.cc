// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.

#include "packer/text_codec.h"

#include <cstdint>
#include <cstring>

namespace ambervault {

namespace {

// Decodes one code point starting at s[*i]; advances *i. Returns false on
// malformed UTF-8.
bool NextCodePoint(std::string_view s, size_t* i, uint32_t* cp) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t k = *i;
  unsigned char c = p[k];
  if (c < 0x80) {
    *cp = c;
    *i = k + 1;
    return true;
  }
  int len;
  uint32_t v;
  uint32_t min;
  if ((c & 0xE0) == 0xC0) {
    len = 2, v = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, v = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, v = c & 0x07, min = 0x10000;
  } else {
    return false;
  }
  if (k + len > n) return false;
  for (int j = 1; j < len; ++j) {
    unsigned char cc = p[k + j];
    if ((cc & 0xC0) != 0x80) return false;
    v = (v << 6) | (cc & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return false;
  *cp = v;
  *i = k + len;
  return true;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

void AppendUnit(uint16_t u, bool big_endian, std::string* out) {
  char b[2];
  if (big_endian) {
    b[0] = static_cast<char>(u >> 8), b[1] = static_cast<char>(u & 0xFF);
  } else {
    b[0] = static_cast<char>(u & 0xFF), b[1] = static_cast<char>(u >> 8);
  }
  out->append(b, 2);
}

// Length of the leading pure-ASCII run (8 bytes at a time).
size_t AsciiPrefix(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    if (w & 0x8080808080808080ULL) break;
  }
  while (i < n && static_cast<unsigned char>(s[i]) < 0x80) ++i;
  return i;
}

Status BadText(const char* what, size_t pos) {
  return Status::InvalidArgument(std::string(what) + " at byte " + std::to_string(pos));
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  size_t i = AsciiPrefix(s);
  uint32_t cp;
  while (i < s.size()) {
    if (!NextCodePoint(s, &i, &cp)) return false;
  }
  return true;
}

Status EncodeText(std::string_view utf8, TextEncoding encoding, std::string* out) {
  const size_t ascii = AsciiPrefix(utf8);
  if (encoding == TextEncoding::kUtf8) {
    if (ascii != utf8.size() && !IsValidUtf8(utf8.substr(ascii))) {
      return Status::InvalidArgument("invalid UTF-8 text");
    }
    out->append(utf8);
    return Status::OK();
  }
  const bool wide = encoding == TextEncoding::kUtf16Le || encoding == TextEncoding::kUtf16Be;
  const bool be = encoding == TextEncoding::kUtf16Be;
  out->reserve(out->size() + (wide ? utf8.size() * 2 : utf8.size()));
  size_t i = 0;
  if (!wide) {
    out->append(utf8.substr(0, ascii));
    i = ascii;
  }
  while (i < utf8.size()) {
    const size_t at = i;
    uint32_t cp;
    if (!NextCodePoint(utf8, &i, &cp)) return Status::InvalidArgument("invalid UTF-8 text");
    switch (encoding) {
      case TextEncoding::kAscii:
        if (cp > 0x7F) return BadText("non-ASCII character", at);
        out->push_back(static_cast<char>(cp));
        break;
      case TextEncoding::kLatin1:
        if (cp > 0xFF) return BadText("character outside Latin1 range", at);
        out->push_back(static_cast<char>(cp));
        break;
      default:
        if (cp < 0x10000) {
          AppendUnit(static_cast<uint16_t>(cp), be, out);
        } else {
          cp -= 0x10000;
          AppendUnit(static_cast<uint16_t>(0xD800 | (cp >> 10)), be, out);
          AppendUnit(static_cast<uint16_t>(0xDC00 | (cp & 0x3FF)), be, out);
        }
    }
  }
  return Status::OK();
}

Status DecodeText(std::string_view data, TextEncoding encoding, std::string* out) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  switch (encoding) {
    case TextEncoding::kUtf8:
      if (!IsValidUtf8(data)) return Status::InvalidArgument("invalid UTF-8 data");
      out->append(data);
      return Status::OK();
    case TextEncoding::kAscii: {
      size_t ascii = AsciiPrefix(data);
      if (ascii != data.size()) return BadText("non-ASCII byte", ascii);
      out->append(data);
      return Status::OK();
    }
    case TextEncoding::kLatin1:
      out->reserve(out->size() + data.size() * 2);
      for (size_t i = 0; i < data.size(); ++i) AppendUtf8(p[i], out);
      return Status::OK();
    case TextEncoding::kUtf16Le:
    case TextEncoding::kUtf16Be: {
      if (data.size() % 2 != 0) {
        return Status::InvalidArgument("UTF-16 data of odd length");
      }
      const bool be = encoding == TextEncoding::kUtf16Be;
      auto unit = [&](size_t i) -> uint32_t {
        return be ? (uint32_t{p[i]} << 8) | p[i + 1] : (uint32_t{p[i + 1]} << 8) | p[i];
      };
      out->reserve(out->size() + data.size());
      for (size_t i = 0; i < data.size(); i += 2) {
        uint32_t u = unit(i);
        if (u >= 0xD800 && u <= 0xDBFF) {
          if (i + 4 > data.size()) return BadText("unpaired UTF-16 surrogate", i);
          uint32_t lo = unit(i + 2);
          if (lo < 0xDC00 || lo > 0xDFFF) return BadText("unpaired UTF-16 surrogate", i);
          AppendUtf8(0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00), out);
          i += 2;
        } else if (u >= 0xDC00 && u <= 0xDFFF) {
          return BadText("unpaired UTF-16 surrogate", i);
        } else {
          AppendUtf8(u, out);
        }
      }
      return Status::OK();
    }
  }
  return Status::InvalidArgument("unknown text encoding");
}

}  // namespace ambervault
