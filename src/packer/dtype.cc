// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// Dtype strings: parsing (once per packer) and the canonical spelling.

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string>
#include <string_view>
#include <vector>

#include "ambervault/packer.h"

namespace ambervault {

namespace {

// SQLite's default SQLITE_MAX_LENGTH: no element can be larger than a BLOB.
constexpr uint64_t kMaxFixedSize = 1'000'000'000;

struct ElementName {
  std::string_view short_name;
  std::string_view long_name;
  ElementType type;
  size_t size;
};

constexpr ElementName kElementNames[] = {
    {"f32", "float32", ElementType::kF32, 4},
    {"f64", "float64", ElementType::kF64, 8},
    {"i8", "int8", ElementType::kI8, 1},
    {"i16", "int16", ElementType::kI16, 2},
    {"i32", "int32", ElementType::kI32, 4},
    {"i64", "int64", ElementType::kI64, 8},
    {"u8", "uint8", ElementType::kU8, 1},
    {"u16", "uint16", ElementType::kU16, 2},
    {"u32", "uint32", ElementType::kU32, 4},
    {"u64", "uint64", ElementType::kU64, 8},
};

const ElementName* FindElement(std::string_view name) {
  for (const ElementName& e : kElementNames) {
    if (name == e.short_name || name == e.long_name) return &e;
  }
  return nullptr;
}

const ElementName& ElementInfo(ElementType type) {
  for (const ElementName& e : kElementNames) {
    if (e.type == type) return e;
  }
  return kElementNames[0];  // unreachable for valid enum values
}

struct EncodingName {
  std::string_view name;
  TextEncoding encoding;
};

constexpr EncodingName kEncodingNames[] = {
    {"utf8", TextEncoding::kUtf8},         {"utf-8", TextEncoding::kUtf8},
    {"utf16le", TextEncoding::kUtf16Le},   {"utf-16le", TextEncoding::kUtf16Le},
    {"utf16be", TextEncoding::kUtf16Be},   {"utf-16be", TextEncoding::kUtf16Be},
    {"ascii", TextEncoding::kAscii},       {"latin1", TextEncoding::kLatin1},
    {"iso-8859-1", TextEncoding::kLatin1},
};

const char* EncodingCanonicalName(TextEncoding e) {
  switch (e) {
    case TextEncoding::kUtf8: return "utf8";
    case TextEncoding::kUtf16Le: return "utf16le";
    case TextEncoding::kUtf16Be: return "utf16be";
    case TextEncoding::kAscii: return "ascii";
    case TextEncoding::kLatin1: return "latin1";
  }
  return "utf8";
}

bool IsNumber(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Status Bad(std::string_view text, std::string_view why) {
  std::string msg = "Invalid dtype '";
  msg.append(text);
  msg.append("': ");
  msg.append(why);
  return Status::InvalidArgument(msg);
}

// Parses a decimal size in [0, kMaxFixedSize].
bool ParseSize(std::string_view s, uint64_t* out) {
  if (!IsNumber(s)) return false;
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v > kMaxFixedSize) {
    return false;
  }
  *out = v;
  return true;
}

struct ScalarName {
  std::string_view name;
  std::string_view alias;
  DType::Kind kind;
  uint8_t width;
};

constexpr ScalarName kScalarNames[] = {
    {"i8", "int8", DType::Kind::kInt, 1},     {"i16", "int16", DType::Kind::kInt, 2},
    {"i32", "int32", DType::Kind::kInt, 4},   {"i64", "int64", DType::Kind::kInt, 8},
    {"u8", "uint8", DType::Kind::kUint, 1},   {"u16", "uint16", DType::Kind::kUint, 2},
    {"u32", "uint32", DType::Kind::kUint, 4}, {"u64", "uint64", DType::Kind::kUint, 8},
    {"f32", "float32", DType::Kind::kFloat, 4},
    {"f64", "float64", DType::Kind::kFloat, 8},
    {"bool", "bool", DType::Kind::kBool, 1},
};

}  // namespace

size_t ElementTypeSize(ElementType type) { return ElementInfo(type).size; }

const char* ElementTypeName(ElementType type) {
  return ElementInfo(type).short_name.data();  // the literals are NUL-terminated
}

bool ElementTypeFromCode(uint8_t code, ElementType* type) {
  if (code < 1 || code > 10) return false;
  *type = static_cast<ElementType>(code);
  return true;
}

size_t ArrayView::element_count() const {
  size_t n = 1;
  for (uint32_t d : shape) n *= d;
  return n;
}

size_t DType::element_count() const {
  size_t n = 1;
  for (uint32_t d : shape) n *= d;
  return n;
}

bool DType::operator==(const DType& o) const {
  return kind == o.kind && width == o.width && encoding == o.encoding &&
         element == o.element && shape == o.shape && fixed_size == o.fixed_size;
}

Result<DType> DType::Parse(std::string_view original) {
  std::string lower(original);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::vector<std::string_view> parts;
  {
    std::string_view rest(lower);
    while (true) {
      size_t colon = rest.find(':');
      parts.push_back(rest.substr(0, colon));
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  }
  const std::string_view head = parts[0];
  const size_t extra = parts.size() - 1;
  DType t;

  for (const ScalarName& s : kScalarNames) {
    if (head == s.name || head == s.alias) {
      if (extra != 0) return Bad(original, std::string(s.name) + " takes no parameters");
      t.kind = s.kind;
      t.width = s.width;
      t.fixed_size = s.width;
      return t;
    }
  }

  if (head == "str" || head == "string") {
    t.kind = Kind::kString;
    if (extra > 2) return Bad(original, "expected str[:<size>][:<encoding>]");
    size_t i = 1;
    if (extra >= 1 && IsNumber(parts[1])) {
      uint64_t n = 0;
      if (!ParseSize(parts[1], &n)) return Bad(original, "size too large");
      t.fixed_size = n;
      i = 2;
    } else if (extra == 2) {
      return Bad(original, "invalid size '" + std::string(parts[1]) + "'");
    }
    if (i <= extra) {
      const EncodingName* found = nullptr;
      for (const EncodingName& e : kEncodingNames) {
        if (parts[i] == e.name) found = &e;
      }
      if (found == nullptr) {
        return Bad(original, "unknown encoding '" + std::string(parts[i]) +
                                 "' (utf8, utf16le, utf16be, ascii, latin1)");
      }
      t.encoding = found->encoding;
    }
    return t;
  }

  if (head == "bytes" || head == "msgpack" || head == "messagepack" || head == "cbor") {
    t.kind = head == "bytes" ? Kind::kBytes
             : head == "cbor" ? Kind::kCbor
                              : Kind::kMsgPack;
    if (extra > 1) return Bad(original, std::string(head) + " takes at most a size");
    if (extra == 1) {
      uint64_t n = 0;
      if (!ParseSize(parts[1], &n)) {
        return Bad(original, "invalid size '" + std::string(parts[1]) + "'");
      }
      t.fixed_size = n;
    }
    return t;
  }

  if (head == "json") {
    if (extra != 0) return Bad(original, "json takes no parameters");
    t.kind = Kind::kJson;
    return t;
  }

  if (head == "vec") {
    if (extra == 0) return Bad(original, "expected vec:<type>[:<dim>...]");
    const ElementName* e = FindElement(parts[1]);
    if (e == nullptr) {
      return Bad(original, "unknown element type '" + std::string(parts[1]) +
                               "' (f32, f64, i8, i16, i32, i64, u8, u16, u32, u64)");
    }
    t.kind = Kind::kVector;
    t.element = e->type;
    if (extra == 1) return t;  // any shape, variable size
    uint64_t bytes = e->size;
    for (size_t i = 2; i < parts.size(); ++i) {
      uint64_t d = 0;
      if (!ParseSize(parts[i], &d)) {
        return Bad(original, "invalid dimension '" + std::string(parts[i]) + "'");
      }
      if (d == 0) return Bad(original, "dimension must be greater than 0");
      bytes *= d;
      if (bytes > kMaxFixedSize) return Bad(original, "shape too large");
      t.shape.push_back(static_cast<uint32_t>(d));
    }
    t.fixed_size = 1 + bytes;
    return t;
  }

  if (head.empty()) return Bad(original, "empty dtype");
  return Bad(original, "unknown dtype '" + std::string(head) + "'");
}

std::string DType::ToString() const {
  std::string s;
  switch (kind) {
    case Kind::kInt: return "i" + std::to_string(width * 8);
    case Kind::kUint: return "u" + std::to_string(width * 8);
    case Kind::kFloat: return "f" + std::to_string(width * 8);
    case Kind::kBool: return "bool";
    case Kind::kString:
      s = "str";
      if (fixed_size != 0) s += ":" + std::to_string(fixed_size);
      if (encoding != TextEncoding::kUtf8) {
        s += ":";
        s += EncodingCanonicalName(encoding);
      }
      return s;
    case Kind::kBytes:
    case Kind::kMsgPack:
    case Kind::kCbor:
      s = kind == Kind::kBytes ? "bytes" : kind == Kind::kCbor ? "cbor" : "msgpack";
      if (fixed_size != 0) s += ":" + std::to_string(fixed_size);
      return s;
    case Kind::kJson: return "json";
    case Kind::kVector:
      s = "vec:";
      s += ElementTypeName(element);
      for (uint32_t d : shape) s += ":" + std::to_string(d);
      return s;
  }
  return s;
}

}  // namespace ambervault
