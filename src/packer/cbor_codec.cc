// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// CBOR (RFC 8949), written by hand rather than taken from nlohmann::json,
// the one CBOR implementation at hand:
//  - nlohmann's reader (from_cbor / sax_parse with input_format_t::cbor)
//    accepts only text-string map keys, and for major type 1 computes
//    -1 - n in int64 with signed overflow for n > INT64_MAX (undefined
//    behaviour, and our value model keeps those as NegativeBeyondInt64);
//  - its writer needs a json tree, which the streaming ValueEncoder
//    interface must not build.
//
// Encoder: definite lengths, the smallest integer heads, doubles always as
// float64 (0xfb).
//
// Decoder: every major type; integers to Int / Uint / NegativeBeyondInt64;
// definite and indefinite-length strings (chunks concatenated), arrays and
// maps; half, single and double floats; false/true/null/undefined
// (undefined -> Nil); tags 2/3 (bignums) when the magnitude fits 64 bits,
// tag 55799 (self-describe) skipped, other tags refused. Recursion follows
// the nesting and stops at kMaxNestingDepth; tags are followed in a loop.
//
// Indefinite-length containers: ValueVisitor::BeginArray(n) needs n before
// the items, so on meeting one the decoder first scans ahead (Skip) over
// that container, which also validates it and records the item count of it
// and of every indefinite-length container inside it, in document order.
// The emitting pass then takes those counts in order; it scans again only
// for the next indefinite container outside the scanned one, so every byte
// is scanned at most twice.

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "ambervault/value_codec.h"
#include "packer/codecs.h"

namespace ambervault {


namespace {

constexpr uint8_t kMajorUint = 0;
constexpr uint8_t kMajorNegative = 1;
constexpr uint8_t kMajorBytes = 2;
constexpr uint8_t kMajorText = 3;
constexpr uint8_t kMajorArray = 4;
constexpr uint8_t kMajorMap = 5;
constexpr uint8_t kMajorTag = 6;
constexpr uint8_t kMajorSimple = 7;

constexpr uint8_t kBreak = 0xff;
constexpr uint64_t kTagPositiveBignum = 2;
constexpr uint64_t kTagNegativeBignum = 3;
constexpr uint64_t kTagSelfDescribe = 55799;

}  // namespace

// ------------------------------------------------------------------ encoder

void CborEncoder::Head(uint8_t major, uint64_t arg) {
  char buf[9];
  size_t n;
  uint8_t m = static_cast<uint8_t>(major << 5);
  if (arg < 24) {
    buf[0] = static_cast<char>(m | arg);
    n = 1;
  } else if (arg <= 0xff) {
    buf[0] = static_cast<char>(m | 24);
    n = 2;
  } else if (arg <= 0xffff) {
    buf[0] = static_cast<char>(m | 25);
    n = 3;
  } else if (arg <= 0xffffffff) {
    buf[0] = static_cast<char>(m | 26);
    n = 5;
  } else {
    buf[0] = static_cast<char>(m | 27);
    n = 9;
  }
  for (size_t i = 1; i < n; ++i) {
    buf[i] = static_cast<char>(arg >> (8 * (n - 1 - i)));
  }
  out_->append(buf, n);
}

void CborEncoder::Nil() {
  if (!BeginValue()) return;
  out_->push_back(static_cast<char>(0xf6));
  EndScalar();
}

void CborEncoder::Bool(bool v) {
  if (!BeginValue()) return;
  out_->push_back(static_cast<char>(v ? 0xf5 : 0xf4));
  EndScalar();
}

void CborEncoder::Int(int64_t v) {
  if (!BeginValue()) return;
  if (v >= 0) {
    Head(kMajorUint, static_cast<uint64_t>(v));
  } else {
    // -1 - v without overflow: ~v as unsigned.
    Head(kMajorNegative, ~static_cast<uint64_t>(v));
  }
  EndScalar();
}

void CborEncoder::Uint(uint64_t v) {
  if (!BeginValue()) return;
  Head(kMajorUint, v);
  EndScalar();
}

void CborEncoder::Double(double v) {
  if (!BeginValue()) return;
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  char buf[9];
  buf[0] = static_cast<char>(0xfb);
  for (int i = 0; i < 8; ++i)
    buf[1 + i] = static_cast<char>(bits >> (56 - 8 * i));
  out_->append(buf, sizeof buf);
  EndScalar();
}

void CborEncoder::String(std::string_view utf8) {
  if (!BeginValue()) return;
  Head(kMajorText, utf8.size());
  out_->append(utf8);
  EndScalar();
}

void CborEncoder::Binary(std::string_view bytes) {
  if (!BeginValue()) return;
  Head(kMajorBytes, bytes.size());
  out_->append(bytes);
  EndScalar();
}

void CborEncoder::BeginArray(size_t n) {
  if (!BeginValue() || !OpenContainer(false, n)) return;
  Head(kMajorArray, n);
}

void CborEncoder::EndArray() { CloseContainer(false); }

void CborEncoder::BeginMap(size_t n) {
  if (!BeginValue() || !OpenContainer(true, n)) return;
  Head(kMajorMap, n);
}

void CborEncoder::EndMap() { CloseContainer(true); }

Status CborEncoder::Finish() { return FinishNesting(); }

// ------------------------------------------------------------------ decoder

namespace {

// IEEE 754 binary16 to double, exactly (every half is a double).
double HalfToDouble(uint16_t h) {
  int exponent = (h >> 10) & 0x1f;
  int mantissa = h & 0x3ff;
  double v;
  if (exponent == 0) {
    v = std::ldexp(mantissa, -24);  // zero and subnormals
  } else if (exponent != 31) {
    v = std::ldexp(mantissa + 1024, exponent - 25);
  } else {
    v = mantissa == 0 ? std::numeric_limits<double>::infinity()
                      : std::numeric_limits<double>::quiet_NaN();
  }
  return (h & 0x8000) ? -v : v;
}

// One data item's initial byte and argument.
struct Head {
  uint8_t major = 0;
  uint8_t info = 0;  // additional information (low 5 bits)
  uint64_t arg = 0;  // value / length / count / tag / float bits
  bool indefinite = false;
};

class CborDecoder {
 public:
  CborDecoder(std::string_view data, ValueVisitor* visitor)
      : begin_(reinterpret_cast<const uint8_t*>(data.data())),
        p_(begin_),
        end_(begin_ + data.size()),
        visitor_(visitor) {}

  Status Run(size_t* consumed) {
    if (!Item(0)) {
      if (!status_.ok()) return status_;
      return codec_internal::StoppedByVisitor();
    }
    if (consumed != nullptr) *consumed = static_cast<size_t>(p_ - begin_);
    return Status::OK();
  }

 private:
  size_t Left() const { return static_cast<size_t>(end_ - p_); }

  bool Fail(Status s) {
    if (status_.ok()) status_ = std::move(s);
    return false;
  }
  bool Truncated() {
    return Fail(Status::InvalidArgument("truncated CBOR data"));
  }
  bool Malformed(const std::string& what) {
    return Fail(Status::InvalidArgument("malformed CBOR data: " + what +
                                        " at offset " +
                                        std::to_string(p_ - begin_)));
  }
  // A visitor result: false stops decoding (status_ stays OK).
  static bool Emit(bool visitor_result) { return visitor_result; }

  bool ReadHead(Head* h) {
    if (p_ == end_) return Truncated();
    uint8_t initial = *p_++;
    h->major = initial >> 5;
    h->info = initial & 0x1f;
    h->indefinite = false;
    if (h->info < 24) {
      h->arg = h->info;
    } else if (h->info <= 27) {
      size_t n = size_t{1} << (h->info - 24);
      if (Left() < n) return Truncated();
      uint64_t v = 0;
      for (size_t i = 0; i < n; ++i) v = (v << 8) | p_[i];
      p_ += n;
      h->arg = v;
    } else if (h->info == 31) {
      if (h->major == kMajorUint || h->major == kMajorNegative ||
          h->major == kMajorTag) {
        --p_;
        return Malformed("indefinite length on major type " +
                         std::to_string(h->major));
      }
      h->indefinite = true;
      h->arg = 0;
    } else {
      --p_;
      return Malformed("reserved additional information " +
                       std::to_string(h->info));
    }
    return true;
  }

  // At a break byte (0xff)? Fails on end of input.
  bool AtBreak(bool* at_break) {
    if (p_ == end_) return Truncated();
    *at_break = *p_ == kBreak;
    if (*at_break) ++p_;
    return true;
  }

  // Reads a byte/text string whose head is `h`. Definite: a view into the
  // input. Indefinite: the chunks concatenated into scratch_.
  bool ReadString(const Head& h, std::string_view* out) {
    if (!h.indefinite) {
      if (h.arg > Left()) return Truncated();
      *out = std::string_view(reinterpret_cast<const char*>(p_),
                              static_cast<size_t>(h.arg));
      p_ += h.arg;
      return true;
    }
    scratch_.clear();
    for (;;) {
      bool done;
      if (!AtBreak(&done)) return false;
      if (done) break;
      Head chunk;
      if (!ReadHead(&chunk)) return false;
      if (chunk.major != h.major || chunk.indefinite) {
        return Malformed("invalid chunk in indefinite-length string");
      }
      if (chunk.arg > Left()) return Truncated();
      scratch_.append(reinterpret_cast<const char*>(p_),
                      static_cast<size_t>(chunk.arg));
      p_ += chunk.arg;
    }
    *out = scratch_;
    return true;
  }

  // Checks a definite container count against the bytes left (each item
  // takes at least one byte).
  bool CheckCount(const Head& h) {
    uint64_t min_bytes = h.major == kMajorMap ? h.arg : 0;
    if (h.arg > Left() || min_bytes > Left() - h.arg) {
      return Fail(Status::InvalidArgument(
          std::string("CBOR ") + (h.major == kMajorMap ? "map" : "array") +
          " of " + std::to_string(h.arg) + " items cannot fit in the " +
          std::to_string(Left()) + " bytes left"));
    }
    return true;
  }

  // Reads tags until a non-tag head; handles 55799. Bignum tags (2, 3) are
  // returned in *tag for the caller; any other tag fails.
  bool ReadUntaggedHead(Head* h, uint64_t* tag) {
    *tag = 0;
    for (;;) {
      if (!ReadHead(h)) return false;
      if (h->major != kMajorTag) return true;
      if (h->arg == kTagSelfDescribe) continue;
      if (h->arg == kTagPositiveBignum || h->arg == kTagNegativeBignum) {
        *tag = h->arg;
        return true;
      }
      return Fail(Status::InvalidArgument("unsupported CBOR tag " +
                                          std::to_string(h->arg)));
    }
  }

  // Emits one data item (recursing into containers) at nesting `depth`.
  bool Item(int depth) {
    const uint8_t* start = p_;
    Head h;
    uint64_t tag;
    if (!ReadUntaggedHead(&h, &tag)) return false;
    if (tag != 0) return Bignum(tag);
    switch (h.major) {
      case kMajorUint:
        if (h.arg <= static_cast<uint64_t>(INT64_MAX)) {
          return Emit(visitor_->Int(static_cast<int64_t>(h.arg)));
        }
        return Emit(visitor_->Uint(h.arg));
      case kMajorNegative:
        if (h.arg <= static_cast<uint64_t>(INT64_MAX)) {
          return Emit(visitor_->Int(-1 - static_cast<int64_t>(h.arg)));
        }
        return Emit(visitor_->NegativeBeyondInt64(h.arg));
      case kMajorBytes:
      case kMajorText: {
        std::string_view s;
        if (!ReadString(h, &s)) return false;
        return Emit(h.major == kMajorText ? visitor_->String(s)
                                          : visitor_->Binary(s));
      }
      case kMajorArray:
      case kMajorMap:
        return Container(h, start, depth);
      case kMajorSimple:
        return Simple(h);
      default:  // kMajorTag is consumed by ReadUntaggedHead
        return Malformed("unexpected tag");
    }
  }

  bool Container(const Head& h, const uint8_t* start, int depth) {
    if (depth >= kMaxNestingDepth)
      return Fail(codec_internal::NestingTooDeep());
    bool is_map = h.major == kMajorMap;
    uint64_t n;
    if (h.indefinite) {
      if (next_count_ == counts_.size()) {
        // Not inside a scanned container: scan this one (from its head,
        // tags included) to learn its count and those of the
        // indefinite-length containers inside it.
        counts_.clear();
        next_count_ = 0;
        const uint8_t* resume = p_;
        p_ = start;
        if (!Skip(depth)) return false;
        p_ = resume;
      }
      n = counts_[next_count_++];
    } else {
      if (!CheckCount(h)) return false;
      n = h.arg;
    }
    if (!Emit(is_map ? visitor_->BeginMap(n) : visitor_->BeginArray(n))) {
      return false;
    }
    uint64_t items = is_map ? 2 * n : n;
    for (uint64_t i = 0; i < items; ++i) {
      if (!Item(depth + 1)) return false;
    }
    if (h.indefinite) {
      // The scan saw the break right here.
      if (p_ == end_ || *p_ != kBreak) return Malformed("missing break");
      ++p_;
    }
    return Emit(is_map ? visitor_->EndMap() : visitor_->EndArray());
  }

  bool Simple(const Head& h) {
    switch (h.info) {
      case 20:
        return Emit(visitor_->Bool(false));
      case 21:
        return Emit(visitor_->Bool(true));
      case 22:  // null
      case 23:  // undefined
        return Emit(visitor_->Nil());
      case 25:
        return Emit(
            visitor_->Double(HalfToDouble(static_cast<uint16_t>(h.arg))));
      case 26: {
        uint32_t bits = static_cast<uint32_t>(h.arg);
        float f;
        std::memcpy(&f, &bits, sizeof f);
        return Emit(visitor_->Double(static_cast<double>(f)));
      }
      case 27: {
        double d;
        std::memcpy(&d, &h.arg, sizeof d);
        return Emit(visitor_->Double(d));
      }
      case 31:
        return Malformed("unexpected break");
      default:  // 0..19 and 24: other simple values
        return Fail(Status::InvalidArgument("unsupported CBOR simple value " +
                                            std::to_string(h.arg)));
    }
  }

  // Tag 2 / 3 followed by a byte string: the magnitude must fit 64 bits.
  bool Bignum(uint64_t tag) {
    Head h;
    if (!ReadHead(&h)) return false;
    if (h.major != kMajorBytes) {
      return Malformed("CBOR bignum tag " + std::to_string(tag) +
                       " on a non-byte-string item");
    }
    std::string_view bytes;
    if (!ReadString(h, &bytes)) return false;
    size_t first = 0;
    while (first < bytes.size() && bytes[first] == 0) ++first;
    if (bytes.size() - first > 8) {
      return Fail(Status::InvalidArgument(
          "CBOR bignums are not supported (beyond 64 bits)"));
    }
    uint64_t v = 0;
    for (size_t i = first; i < bytes.size(); ++i) {
      v = (v << 8) | static_cast<uint8_t>(bytes[i]);
    }
    if (tag == kTagPositiveBignum) {
      if (v <= static_cast<uint64_t>(INT64_MAX)) {
        return Emit(visitor_->Int(static_cast<int64_t>(v)));
      }
      return Emit(visitor_->Uint(v));
    }
    if (v <= static_cast<uint64_t>(INT64_MAX)) {
      return Emit(visitor_->Int(-1 - static_cast<int64_t>(v)));
    }
    return Emit(visitor_->NegativeBeyondInt64(v));
  }

  // Scans one data item without emitting, validating its structure and
  // appending the count of every indefinite-length container in it to
  // counts_ (document order, outer first). Same depth rule as Item.
  bool Skip(int depth) {
    Head h;
    uint64_t tag;
    if (!ReadUntaggedHead(&h, &tag)) return false;
    if (tag != 0) {
      if (!ReadHead(&h)) return false;
      if (h.major != kMajorBytes) {
        return Malformed("CBOR bignum tag " + std::to_string(tag) +
                         " on a non-byte-string item");
      }
      return SkipString(h);
    }
    switch (h.major) {
      case kMajorUint:
      case kMajorNegative:
        return true;
      case kMajorBytes:
      case kMajorText:
        return SkipString(h);
      case kMajorArray:
      case kMajorMap:
        break;
      case kMajorSimple:
        if (h.info == 31) return Malformed("unexpected break");
        return true;  // Item reports unsupported simple values
      default:
        return Malformed("unexpected tag");
    }
    if (depth >= kMaxNestingDepth)
      return Fail(codec_internal::NestingTooDeep());
    bool is_map = h.major == kMajorMap;
    if (!h.indefinite) {
      if (!CheckCount(h)) return false;
      uint64_t items = is_map ? 2 * h.arg : h.arg;
      for (uint64_t i = 0; i < items; ++i) {
        if (!Skip(depth + 1)) return false;
      }
      return true;
    }
    size_t slot = counts_.size();
    counts_.push_back(0);
    uint64_t n = 0;
    for (;;) {
      bool done;
      if (!AtBreak(&done)) return false;
      if (done) break;
      if (!Skip(depth + 1)) return false;
      if (is_map) {
        if (p_ != end_ && *p_ == kBreak) {
          return Malformed("indefinite-length map with a key but no value");
        }
        if (!Skip(depth + 1)) return false;
      }
      ++n;
    }
    counts_[slot] = n;
    return true;
  }

  bool SkipString(const Head& h) {
    if (!h.indefinite) {
      if (h.arg > Left()) return Truncated();
      p_ += h.arg;
      return true;
    }
    for (;;) {
      bool done;
      if (!AtBreak(&done)) return false;
      if (done) return true;
      Head chunk;
      if (!ReadHead(&chunk)) return false;
      if (chunk.major != h.major || chunk.indefinite) {
        return Malformed("invalid chunk in indefinite-length string");
      }
      if (chunk.arg > Left()) return Truncated();
      p_ += chunk.arg;
    }
  }

  const uint8_t* const begin_;
  const uint8_t* p_;
  const uint8_t* const end_;
  ValueVisitor* const visitor_;
  Status status_;
  std::string scratch_;
  // Counts of scanned indefinite-length containers, in document order, and
  // the next one to use.
  std::vector<uint64_t> counts_;
  size_t next_count_ = 0;
};

}  // namespace

namespace codec_internal {

Status DecodeCbor(std::string_view data, ValueVisitor* visitor,
                  size_t* consumed) {
  CborDecoder decoder(data, visitor);
  return decoder.Run(consumed);
}

}  // namespace codec_internal
}  // namespace ambervault
