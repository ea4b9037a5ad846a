// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// MessagePack: MsgPackEncoder over msgpack-cxx's packer, and the decoder over
// msgpack-cxx's SAX-style parser (msgpack::v2::parse with a visitor).
//
// Why the msgpack-cxx parser is safe for untrusted bytes (checked against
// msgpack-cxx 4.1, msgpack/v3/parse.hpp, which msgpack::v2::parse runs when
// MSGPACK_DEFAULT_API_VERSION is 3):
//  - It is a loop, not a recursion. Its only allocation is its container
//    stack (one 8-byte entry per open container, reserved 32 up front); the
//    stack grows with nesting depth, and our start_array/start_map return
//    false past kMaxNestingDepth, so it stays under 513 entries.
//  - It never allocates by a claimed count: an array/map count is just a
//    counter on that stack, and str/bin/ext bodies are handed over as
//    pointers into the input after checking that the bytes are there.
//  - Every read is preceded by a check against the end of the input
//    ("pe - m_current < m_trail"); a short input returns PARSE_CONTINUE and
//    the visitor's insufficient_bytes(), which we report as truncation.
//  - It throws only std::bad_alloc, and ext_size_overflow on 32-bit targets.
// What it does not do is tell the visitor where in the input it is, so the
// "count larger than the bytes left" check below works from a lower bound of
// the position (see MsgPackAdapter::pos_): sound (never rejects valid input)
// and exact for inputs in the smallest encoding.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <msgpack/null_visitor.hpp>
#include <msgpack/pack.hpp>
#include <msgpack/parse.hpp>
#include <msgpack/unpack.hpp>  // completes types that parse.hpp needs
#include <string>

#include "ambervault/value_codec.h"
#include "packer/codecs.h"

namespace ambervault {


namespace {

// The output stream msgpack::packer writes to.
struct StringSink {
  std::string* out;
  void write(const char* data, size_t size) { out->append(data, size); }
};
using Packer = msgpack::packer<StringSink>;

constexpr uint64_t kMaxLength = std::numeric_limits<uint32_t>::max();

Status TooLong(const char* what, size_t n) {
  return Status::InvalidArgument(std::string("MessagePack cannot hold a ") +
                                 what + " of " + std::to_string(n) +
                                 " (at most 4294967295)");
}

}  // namespace

// ------------------------------------------------------------------ encoder

void MsgPackEncoder::Nil() {
  if (!BeginValue()) return;
  StringSink sink{out_};
  Packer(sink).pack_nil();
  EndScalar();
}

void MsgPackEncoder::Bool(bool v) {
  if (!BeginValue()) return;
  StringSink sink{out_};
  if (v) {
    Packer(sink).pack_true();
  } else {
    Packer(sink).pack_false();
  }
  EndScalar();
}

void MsgPackEncoder::Int(int64_t v) {
  if (!BeginValue()) return;
  StringSink sink{out_};
  Packer(sink).pack_int64(v);  // smallest form; >= 0 uses the uint forms
  EndScalar();
}

void MsgPackEncoder::Uint(uint64_t v) {
  if (!BeginValue()) return;
  StringSink sink{out_};
  Packer(sink).pack_uint64(v);
  EndScalar();
}

void MsgPackEncoder::Double(double v) {
  if (!BeginValue()) return;
  // Not packer::pack_double: msgpack-cxx 4.x writes a double with an
  // integral value as an integer (1.0 -> 0x01, -0.0 -> 0x00), losing the
  // type, and converts 2^64 to uint64_t (undefined behaviour) on the way.
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  char buf[9];
  buf[0] = static_cast<char>(0xcb);
  for (int i = 0; i < 8; ++i) {
    buf[1 + i] = static_cast<char>(bits >> (56 - 8 * i));
  }
  out_->append(buf, sizeof buf);
  EndScalar();
}

void MsgPackEncoder::String(std::string_view utf8) {
  if (!BeginValue()) return;
  if (utf8.size() > kMaxLength) return Fail(TooLong("string", utf8.size()));
  StringSink sink{out_};
  Packer packer(sink);
  packer.pack_str(static_cast<uint32_t>(utf8.size()));
  packer.pack_str_body(utf8.data(), static_cast<uint32_t>(utf8.size()));
  EndScalar();
}

void MsgPackEncoder::Binary(std::string_view bytes) {
  if (!BeginValue()) return;
  if (bytes.size() > kMaxLength) return Fail(TooLong("binary", bytes.size()));
  StringSink sink{out_};
  Packer packer(sink);
  packer.pack_bin(static_cast<uint32_t>(bytes.size()));
  packer.pack_bin_body(bytes.data(), static_cast<uint32_t>(bytes.size()));
  EndScalar();
}

void MsgPackEncoder::BeginArray(size_t n) {
  if (!BeginValue()) return;
  if (n > kMaxLength) return Fail(TooLong("array", n));
  if (!OpenContainer(false, n)) return;
  StringSink sink{out_};
  Packer(sink).pack_array(static_cast<uint32_t>(n));
}

void MsgPackEncoder::EndArray() { CloseContainer(false); }

void MsgPackEncoder::BeginMap(size_t n) {
  if (!BeginValue()) return;
  if (n > kMaxLength) return Fail(TooLong("map", n));
  if (!OpenContainer(true, n)) return;
  StringSink sink{out_};
  Packer(sink).pack_map(static_cast<uint32_t>(n));
}

void MsgPackEncoder::EndMap() { CloseContainer(true); }

Status MsgPackEncoder::Finish() { return FinishNesting(); }

// ------------------------------------------------------------------ decoder

namespace {

// Smallest MessagePack encodings, for the position lower bound.
size_t MinUintSize(uint64_t v) {
  if (v < 0x80) return 1;
  if (v <= 0xff) return 2;
  if (v <= 0xffff) return 3;
  if (v <= 0xffffffff) return 5;
  return 9;
}

// visit_negative_integer also carries the int8..int64 forms of values >= 0
// (0xd0 0x05), which take at least 2 bytes.
size_t MinIntSize(int64_t v) {
  if (v >= -32 && v < 0) return 1;
  if (v >= INT8_MIN && v <= INT8_MAX) return 2;
  if (v >= INT16_MIN && v <= INT16_MAX) return 3;
  if (v >= INT32_MIN && v <= INT32_MAX) return 5;
  return 9;
}

size_t MinContainerHeaderSize(uint32_t n) {
  if (n < 16) return 1;
  if (n <= 0xffff) return 3;
  return 5;
}

// Forwards msgpack-cxx parser events to a ValueVisitor. Inherits the events
// we do not need (start_array_item, ...) from null_visitor.
class MsgPackAdapter : public msgpack::null_visitor {
 public:
  MsgPackAdapter(std::string_view data, ValueVisitor* visitor)
      : data_(data), visitor_(visitor) {}

  bool visit_nil() { return Scalar(1, visitor_->Nil()); }
  bool visit_boolean(bool v) { return Scalar(1, visitor_->Bool(v)); }
  bool visit_positive_integer(uint64_t v) {
    size_t size = MinUintSize(v);
    if (v <= static_cast<uint64_t>(INT64_MAX)) {
      return Scalar(size, visitor_->Int(static_cast<int64_t>(v)));
    }
    return Scalar(size, visitor_->Uint(v));
  }
  bool visit_negative_integer(int64_t v) {
    return Scalar(MinIntSize(v), visitor_->Int(v));
  }
  bool visit_float32(float v) {
    return Scalar(5, visitor_->Double(static_cast<double>(v)));
  }
  bool visit_float64(double v) { return Scalar(9, visitor_->Double(v)); }
  bool visit_str(const char* v, uint32_t size) {
    SkipBody(v, size);
    return Forward(visitor_->String(View(v, size)));
  }
  bool visit_bin(const char* v, uint32_t size) {
    SkipBody(v, size);
    return Forward(visitor_->Binary(View(v, size)));
  }
  bool visit_ext(const char* v, uint32_t size) {
    // v points at the type byte (then size - 1 data bytes).
    int type = size > 0 ? static_cast<int8_t>(v[0]) : 0;
    return Error(Status::InvalidArgument("unsupported MessagePack ext type " +
                                         std::to_string(type)));
  }
  bool start_array(uint32_t n) {
    // Each element takes at least one byte.
    if (!StartContainer(n, n, "array")) return false;
    return Forward(visitor_->BeginArray(n));
  }
  bool end_array() {
    --depth_;
    return Forward(visitor_->EndArray());
  }
  bool start_map(uint32_t n) {
    // Each (key, value) pair takes at least two bytes.
    if (!StartContainer(n, 2 * static_cast<uint64_t>(n), "map")) return false;
    return Forward(visitor_->BeginMap(n));
  }
  bool end_map() {
    --depth_;
    return Forward(visitor_->EndMap());
  }
  void parse_error(size_t /*parsed_offset*/, size_t error_offset) {
    Error(Status::InvalidArgument(
        "malformed MessagePack data (invalid byte at offset " +
        std::to_string(error_offset) + ")"));
  }
  void insufficient_bytes(size_t /*parsed_offset*/, size_t /*error_offset*/) {
    Error(Status::InvalidArgument("truncated MessagePack data"));
  }

  // The outcome once parse() returned false.
  Status FailureStatus() const {
    if (!status_.ok()) return status_;
    if (stopped_) return codec_internal::StoppedByVisitor();
    return Status::InvalidArgument("malformed MessagePack data");
  }

 private:
  static std::string_view View(const char* v, uint32_t size) {
    // An empty fixstr comes with a null pointer.
    return size == 0 ? std::string_view() : std::string_view(v, size);
  }

  bool Forward(bool visitor_result) {
    if (!visitor_result) stopped_ = true;
    return visitor_result;
  }
  bool Scalar(size_t min_size, bool visitor_result) {
    pos_ += min_size;
    return Forward(visitor_result);
  }
  bool Error(Status s) {
    if (status_.ok() && !stopped_) status_ = std::move(s);
    return false;
  }

  // str/bin bodies arrive as pointers into the input: exact positions.
  void SkipBody(const char* v, uint32_t size) {
    size_t end = pos_ + 1 + size;  // at least a 1-byte header
    if (v != nullptr && v >= data_.data() && v <= data_.data() + data_.size()) {
      end = std::max(end, static_cast<size_t>(v - data_.data()) + size);
    }
    pos_ = end;
  }

  bool StartContainer(uint32_t n, uint64_t min_body, const char* what) {
    if (depth_ >= kMaxNestingDepth) {
      return Error(codec_internal::NestingTooDeep());
    }
    pos_ += MinContainerHeaderSize(n);
    size_t left = data_.size() > pos_ ? data_.size() - pos_ : 0;
    if (min_body > left) {
      return Error(Status::InvalidArgument(
          std::string("MessagePack ") + what + " of " + std::to_string(n) +
          (n == 1 ? " item" : " items") + " cannot fit in the " +
          std::to_string(left) + " bytes left"));
    }
    ++depth_;
    return true;
  }

  std::string_view data_;
  ValueVisitor* visitor_;
  // A lower bound of the offset of the next unread byte: each event adds the
  // smallest size its value can be encoded in; str/bin bodies give exact
  // positions. Only used to reject impossible counts before the visitor
  // sees them (so a visitor may reserve n items without risk).
  size_t pos_ = 0;
  int depth_ = 0;
  bool stopped_ = false;
  Status status_;
};

}  // namespace

namespace codec_internal {

Status DecodeMsgPack(std::string_view data, ValueVisitor* visitor,
                     size_t* consumed) {
  MsgPackAdapter adapter(data, visitor);
  size_t offset = 0;
  if (data.empty())
    return Status::InvalidArgument("truncated MessagePack data");
  bool ok = msgpack::v2::parse(data.data(), data.size(), offset, adapter);
  if (!ok) return adapter.FailureStatus();
  if (consumed != nullptr) *consumed = offset;
  return Status::OK();
}

}  // namespace codec_internal
}  // namespace ambervault
