// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// DataPacker: the typed serializer behind columns. A dtype string is parsed
// once into a DType; the packer then turns values of that dtype into element
// bytes and back. The byte layouts are KohakuVault's, so columns written by
// either library read in the other.
//
// Dtype grammar (case-insensitive, parts separated by ':'):
//   i8 i16 i32 i64 u8 u16 u32 u64    little-endian integers
//   f32 f64                          little-endian IEEE floats
//   bool                             one byte, 0 or 1
//   str | string [:<N>] [:<enc>]     text; enc = utf8 (default), utf16le,
//                                    utf16be, ascii, latin1 (and the
//                                    hyphenated spellings utf-8, utf-16le,
//                                    utf-16be, iso-8859-1). With N: fixed N
//                                    bytes, zero-padded; trailing NUL
//                                    characters are stripped on unpack.
//   bytes [:<N>]                     raw bytes; N > 0 fixed and zero-padded
//                                    (kept padded on unpack); bytes:0 = bytes
//   msgpack | messagepack [:<N>]     MessagePack (N: fixed, zero-padded)
//   cbor [:<N>]                      CBOR (N: fixed, zero-padded)
//   json                             compact UTF-8 JSON text
//   vec:<t>                          an array of any shape (variable size)
//   vec:<t>:<d1>[:<d2>...]           an array of that fixed shape
//     t = f32|float32 f64|float64 i8|int8 i16|int16 i32|int32 i64|int64
//         u8|uint8 u16|uint16 u32|uint32 u64|uint64
// An element too long for a fixed size is an InvalidArgument ("Data too
// long: <n> > <N>"), never truncated.
//
// Vector layout: fixed shape = |element type u8|data|; any shape =
// |element type u8|ndim u8|dims u32 LE x ndim|data|; element type codes as
// in ElementType; data little-endian, C order.
//
// Errors: a bad dtype, bad element bytes (truncated, wrong type code, shape
// mismatch), a value the dtype cannot hold -> InvalidArgument; an integer
// or float outside the dtype's range -> OutOfRange.
//
// Thread safety: a DataPacker is immutable after creation; any number of
// threads may use one at once. Copies are cheap (a schema is shared).

#ifndef AMBERVAULT_PACKER_H_
#define AMBERVAULT_PACKER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ambervault/export.h"
#include "ambervault/status.h"
#include "ambervault/value_codec.h"

namespace ambervault {

// Element types of vec:* dtypes; the values are KohakuVault's type codes.
enum class ElementType : uint8_t {
  kF32 = 1,
  kF64 = 2,
  kI32 = 3,
  kI64 = 4,
  kU8 = 5,
  kU16 = 6,
  kU32 = 7,
  kU64 = 8,
  kI8 = 9,
  kI16 = 10,
};

// Size in bytes of one element of `type`.
AMBERVAULT_EXPORT size_t ElementTypeSize(ElementType type);
// Short name ("f32", "i64", ...).
AMBERVAULT_EXPORT const char* ElementTypeName(ElementType type);
// The type for a KohakuVault type code, or false for an unknown code.
AMBERVAULT_EXPORT bool ElementTypeFromCode(uint8_t code, ElementType* type);

enum class TextEncoding : uint8_t { kUtf8, kUtf16Le, kUtf16Be, kAscii, kLatin1 };

// A parsed dtype.
struct AMBERVAULT_EXPORT DType {
  enum class Kind : uint8_t {
    kInt,      // signed integer of `width` bytes
    kUint,     // unsigned integer of `width` bytes
    kFloat,    // IEEE float of `width` (4 or 8) bytes
    kBool,     // one byte
    kString,   // text in `encoding`
    kBytes,    // raw bytes
    kMsgPack,  // MessagePack value
    kCbor,     // CBOR value
    kJson,     // JSON text
    kVector,   // array of `element`, shape `shape` (empty = any shape)
  };
  Kind kind = Kind::kBytes;
  uint8_t width = 0;                     // scalars only
  TextEncoding encoding = TextEncoding::kUtf8;  // kString only
  ElementType element = ElementType::kF32;      // kVector only
  std::vector<uint32_t> shape;           // kVector fixed shape
  size_t fixed_size = 0;                 // bytes per element; 0 = variable

  // Parses a dtype string (see the grammar above). InvalidArgument names the
  // part that is wrong.
  static Result<DType> Parse(std::string_view text);
  // The canonical spelling ("i64", "str:32:utf16le", "vec:f32:3:4", ...);
  // Parse(d.ToString()) == d.
  std::string ToString() const;
  bool is_varsize() const { return fixed_size == 0; }
  // Elements in a fixed-shape vector (1 for an empty shape).
  size_t element_count() const;
  bool operator==(const DType& other) const;
};

// A decoded scalar element.
struct Scalar {
  enum class Type : uint8_t { kInt, kUint, kDouble, kBool };
  Type type = Type::kInt;
  int64_t i = 0;    // kInt (and kBool as 0/1)
  uint64_t u = 0;   // kUint
  double d = 0.0;   // kDouble
};

// A read-only view of an array: element type, shape (C order) and the data,
// exactly product(shape) * ElementTypeSize(type) bytes, not necessarily
// aligned. PackArray reads the data in host byte order; UnpackArray returns
// a view of the stored little-endian bytes (the same on little-endian hosts,
// which is every platform AmberVault is tested on).
struct ArrayView {
  ElementType type = ElementType::kF32;
  std::vector<uint32_t> shape;
  std::string_view data;
  size_t element_count() const;
};

class JsonSchemaValidator;  // src/packer/json_schema.h

class AMBERVAULT_EXPORT DataPacker {
 public:
  // A packer for `dtype` (see the grammar above).
  static Result<DataPacker> Create(std::string_view dtype);
  // A MessagePack packer that checks every value against a JSON Schema
  // (draft 4, 6 or 7; `schema_json` is the schema as JSON text) before
  // packing it. A value that fails -> InvalidArgument("Validation errors:
  // ..." listing each failure with its path); a bad schema ->
  // InvalidArgument("Schema compilation failed: ...").
  static Result<DataPacker> WithJsonSchema(std::string_view schema_json);
  // A CBOR packer, for KohakuVault compatibility. The schema text is kept
  // (schema()) but not applied: KohakuVault never applied it either.
  static Result<DataPacker> WithCddlSchema(std::string_view cddl);

  const DType& dtype() const { return dtype_; }
  size_t elem_size() const { return dtype_.fixed_size; }
  bool is_varsize() const { return dtype_.is_varsize(); }
  // Canonical dtype string; schema packers: "msgpack" / "cbor".
  std::string ToString() const { return dtype_.ToString(); }
  bool has_json_schema() const { return schema_ != nullptr; }
  // The schema text given to WithJsonSchema / WithCddlSchema, else "".
  const std::string& schema() const { return schema_text_; }
  // Same dtype and same schema text.
  bool operator==(const DataPacker& other) const;

  // --- Packing: each appends one element to *out. On error *out is left
  // as it was. ---

  // Integer dtypes (range-checked -> OutOfRange), float dtypes (converted),
  // bool (0 or 1 only, else OutOfRange).
  Status PackInt(int64_t v, std::string* out) const;
  Status PackUint(uint64_t v, std::string* out) const;
  // Float dtypes. f32: a finite value beyond the f32 range -> OutOfRange.
  Status PackDouble(double v, std::string* out) const;
  // bool dtype (and integer dtypes as 0/1).
  Status PackBool(bool v, std::string* out) const;
  // String dtypes: `utf8` is converted to the dtype's encoding (ascii and
  // latin1 refuse characters outside their range). Invalid UTF-8 ->
  // InvalidArgument.
  Status PackText(std::string_view utf8, std::string* out) const;
  // Bytes dtypes.
  Status PackBytes(std::string_view bytes, std::string* out) const;
  // Vector dtypes: `array.data` holds array.element_count() elements of
  // array.type (which must equal the dtype's element type; cast first).
  // A fixed shape must match exactly ("Shape mismatch" otherwise); any-shape
  // dtypes take 0 to 255 dimensions.
  Status PackArray(const ArrayView& array, std::string* out) const;
  // Structured dtypes (msgpack, cbor, json): returns an encoder that appends
  // to *out; write one value, then call FinishValue(start, out) where
  // `start` was out->size() before. Returns null for other dtypes.
  std::unique_ptr<ValueEncoder> NewEncoder(std::string* out) const;
  // Checks the encoder, validates against the JSON Schema (if any) and pads
  // a fixed size. On error truncates *out back to `start`.
  Status FinishValue(const ValueEncoder& encoder, size_t start,
                     std::string* out) const;

  // --- Unpacking one element. `elem` is exactly the element's bytes (for a
  // fixed dtype, elem_size() bytes). ---

  Result<Scalar> UnpackScalar(std::string_view elem) const;
  // String dtypes: the text as UTF-8 (fixed sizes: trailing NULs removed).
  Result<std::string> UnpackText(std::string_view elem) const;
  // Vector dtypes: a view into `elem`.
  Result<ArrayView> UnpackArray(std::string_view elem) const;
  // Structured dtypes: reports the value to `visitor`. Fixed sizes allow the
  // zero padding after the value; variable sizes refuse trailing bytes.
  Status UnpackValue(std::string_view elem, ValueVisitor* visitor) const;

  // --- Bulk helpers ---

  // Checks that `data` splits into whole elements of a fixed dtype and
  // returns the count (InvalidArgument for a variable dtype or a remainder).
  Result<size_t> CountFixed(std::string_view data) const;

  DataPacker(const DataPacker&) = default;
  DataPacker& operator=(const DataPacker&) = default;
  DataPacker(DataPacker&&) noexcept = default;
  DataPacker& operator=(DataPacker&&) noexcept = default;
  ~DataPacker();

 private:
  DataPacker() = default;
  Status Fit(size_t start, std::string* out) const;  // pad or refuse

  DType dtype_;
  std::string schema_text_;
  std::shared_ptr<const JsonSchemaValidator> schema_;
};

}  // namespace ambervault

#endif  // AMBERVAULT_PACKER_H_
