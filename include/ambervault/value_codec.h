// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// Streaming codecs for structured values (MessagePack, CBOR, JSON): the
// encoders take a value as a sequence of calls, the decoders report a value
// as a sequence of events to a ValueVisitor. Nothing builds an intermediate
// tree, so a caller (the Python binding, or a C++ program with its own value
// type) walks its own objects straight into bytes and back.
//
// Value model (the common part of the three formats):
//   nil, bool, integers in [-2^64, 2^64 - 1], double, UTF-8 string,
//   binary string, array, map (keys of any type).
// Not every format holds every value: JSON has no binary, no NaN/inf and
// only string map keys; such a value makes the JSON encoder fail with
// InvalidArgument. CBOR and MessagePack hold all of it.
//
// Nesting is limited to kMaxNestingDepth containers on both sides: the
// encoders fail with InvalidArgument past it, the decoders with
// InvalidArgument ("nesting deeper than ...").
//
// Thread safety: an encoder or a decoder call uses only its own state; use
// one encoder per thread.

#ifndef AMBERVAULT_VALUE_CODEC_H_
#define AMBERVAULT_VALUE_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ambervault/export.h"
#include "ambervault/status.h"

namespace ambervault {

// Containers nested deeper than this are refused by encoders and decoders.
inline constexpr int kMaxNestingDepth = 512;

enum class ValueFormat : uint8_t { kMsgPack, kCbor, kJson };

// Receives one decoded value as events. A container is BeginArray(n) then n
// values then EndArray(); a map is BeginMap(n) then n (key, value) pairs,
// each key and each value being one complete value, then EndMap().
// A method returns false to stop decoding; the decoder then returns
// Status::Internal("stopped by visitor") and the visitor keeps its own
// reason.
class AMBERVAULT_EXPORT ValueVisitor {
 public:
  virtual ~ValueVisitor();
  virtual bool Nil() = 0;
  virtual bool Bool(bool v) = 0;
  // Every integer in the int64 range arrives here, whatever its wire form.
  virtual bool Int(int64_t v) = 0;
  // Integers above INT64_MAX.
  virtual bool Uint(uint64_t v) = 0;
  // The integer -1 - n for n > INT64_MAX, i.e. below INT64_MIN (CBOR only).
  virtual bool NegativeBeyondInt64(uint64_t n) = 0;
  // Half, single and double precision all arrive as double.
  virtual bool Double(double v) = 0;
  // The bytes of a text string as stored (the decoders do not check UTF-8,
  // except the JSON one; a visitor that needs valid text checks it).
  virtual bool String(std::string_view text) = 0;
  virtual bool Binary(std::string_view bytes) = 0;
  virtual bool BeginArray(size_t n) = 0;
  virtual bool EndArray() = 0;
  virtual bool BeginMap(size_t n) = 0;
  virtual bool EndMap() = 0;
};

// Decodes one value of `format` from the start of `data` into `visitor`.
// On success stores the number of bytes the value took in *consumed (when
// not null); bytes after the value are left alone (a fixed-size element is
// zero-padded). Truncated or malformed input -> InvalidArgument; never reads
// outside `data`.
AMBERVAULT_EXPORT Status DecodeValue(ValueFormat format, std::string_view data,
                                     ValueVisitor* visitor,
                                     size_t* consumed = nullptr);

// The size in bytes of the one value of `format` at the start of `data`
// (which may continue with more values): how a stream of self-delimiting
// MessagePack or CBOR values is split. Errors as DecodeValue.
AMBERVAULT_EXPORT Result<size_t> ValueSize(ValueFormat format, std::string_view data);

// Appends the encoding of one value to *out. Call the methods in the same
// order a ValueVisitor receives events (BeginArray(n) then exactly n values
// then EndArray(); maps alternate key and value). The first error is kept
// in status() and makes every later call a no-op; check Finish() at the end.
// Every misuse is an error, never malformed output: a second top-level
// value, more or fewer values than a container declared, EndArray closing a
// map (or the reverse), an End without a Begin, nesting deeper than
// kMaxNestingDepth, containers left open.
class AMBERVAULT_EXPORT ValueEncoder {
 public:
  virtual ~ValueEncoder();
  virtual void Nil() = 0;
  virtual void Bool(bool v) = 0;
  virtual void Int(int64_t v) = 0;
  virtual void Uint(uint64_t v) = 0;
  virtual void Double(double v) = 0;
  virtual void String(std::string_view utf8) = 0;
  virtual void Binary(std::string_view bytes) = 0;
  virtual void BeginArray(size_t n) = 0;
  virtual void EndArray() = 0;
  virtual void BeginMap(size_t n) = 0;
  virtual void EndMap() = 0;
  // OK when exactly one complete value has been written and no call failed.
  virtual Status Finish() = 0;
  const Status& status() const { return status_; }
  bool ok() const { return status_.ok(); }

 protected:
  void Fail(Status s) {
    if (status_.ok()) status_ = std::move(s);
  }
  // Nesting bookkeeping for the encoders. BeginValue() comes before every
  // value (scalar or container) and is false when the value may not be
  // written; EndScalar() after a scalar; OpenContainer() after BeginValue()
  // for a container of n elements (n pairs for a map); CloseContainer() for
  // its End call; FinishNesting() is what Finish() reports.
  bool BeginValue();
  void EndScalar();
  bool OpenContainer(bool is_map, size_t n);
  bool CloseContainer(bool is_map);
  Status FinishNesting() const;

  Status status_;

 private:
  struct Open {
    bool is_map;
    uint64_t remaining;  // values still expected (keys and values for maps)
  };
  std::vector<Open> open_;
  bool done_ = false;  // one complete top-level value written
};

// MessagePack with the smallest encoding of each integer, doubles as
// float64, str and bin kept apart (the msgpack Python package's defaults).
class AMBERVAULT_EXPORT MsgPackEncoder final : public ValueEncoder {
 public:
  explicit MsgPackEncoder(std::string* out) : out_(out) {}
  void Nil() override;
  void Bool(bool v) override;
  void Int(int64_t v) override;
  void Uint(uint64_t v) override;
  void Double(double v) override;
  void String(std::string_view utf8) override;
  void Binary(std::string_view bytes) override;
  void BeginArray(size_t n) override;
  void EndArray() override;
  void BeginMap(size_t n) override;
  void EndMap() override;
  Status Finish() override;

 private:
  std::string* out_;
};

// CBOR (RFC 8949) with definite lengths, the smallest integer heads and
// doubles as float64 (what cbor2 reads back bit for bit).
class AMBERVAULT_EXPORT CborEncoder final : public ValueEncoder {
 public:
  explicit CborEncoder(std::string* out) : out_(out) {}
  void Nil() override;
  void Bool(bool v) override;
  void Int(int64_t v) override;
  void Uint(uint64_t v) override;
  void Double(double v) override;
  void String(std::string_view utf8) override;
  void Binary(std::string_view bytes) override;
  void BeginArray(size_t n) override;
  void EndArray() override;
  void BeginMap(size_t n) override;
  void EndMap() override;
  Status Finish() override;

 private:
  void Head(uint8_t major, uint64_t arg);
  std::string* out_;
};

// Compact UTF-8 JSON text (no spaces), doubles in shortest round-trip form.
// Fails on binary, non-finite doubles and non-string map keys.
class AMBERVAULT_EXPORT JsonEncoder final : public ValueEncoder {
 public:
  explicit JsonEncoder(std::string* out) : out_(out) {}
  void Nil() override;
  void Bool(bool v) override;
  void Int(int64_t v) override;
  void Uint(uint64_t v) override;
  void Double(double v) override;
  void String(std::string_view utf8) override;
  void Binary(std::string_view bytes) override;
  void BeginArray(size_t n) override;
  void EndArray() override;
  void BeginMap(size_t n) override;
  void EndMap() override;
  Status Finish() override;

 private:
  // Writes the separator before a value; false when a map key is expected
  // but the value is not a string.
  bool BeforeValue(bool is_string);
  struct Frame {
    bool is_map;
    size_t count;  // values still expected in this container
  };
  std::string* out_;
  std::vector<Frame> stack_;
  bool done_ = false;
};

}  // namespace ambervault

#endif  // AMBERVAULT_VALUE_CODEC_H_
