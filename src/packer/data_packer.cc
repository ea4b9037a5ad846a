// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "ambervault/packer.h"
#include "packer/byte_order.h"
#include "packer/json_schema.h"
#include "packer/text_codec.h"

namespace ambervault {

namespace {

Status WrongKind(const DType& t, const char* what) {
  return Status::InvalidArgument("dtype '" + t.ToString() + "' does not hold " + what);
}

Status IntOutOfRange(const DType& t, const std::string& value) {
  return Status::OutOfRange("integer " + value + " out of range for " + t.ToString());
}

template <typename T>
void Append(T v, std::string* out) {
  char buf[sizeof(T)];
  StoreLE<T>(v, buf);
  out->append(buf, sizeof(T));
}

ValueFormat FormatOf(DType::Kind k) {
  return k == DType::Kind::kCbor   ? ValueFormat::kCbor
         : k == DType::Kind::kJson ? ValueFormat::kJson
                                   : ValueFormat::kMsgPack;
}

std::string ShapeString(const std::vector<uint32_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  s += shape.size() == 1 ? ",)" : ")";
  return s;
}

bool IsStructured(DType::Kind k) {
  return k == DType::Kind::kMsgPack || k == DType::Kind::kCbor || k == DType::Kind::kJson;
}

}  // namespace

DataPacker::~DataPacker() = default;

Result<DataPacker> DataPacker::Create(std::string_view dtype) {
  AMBERVAULT_ASSIGN_OR_RETURN(DType t, DType::Parse(dtype));
  DataPacker p;
  p.dtype_ = std::move(t);
  return p;
}

Result<DataPacker> DataPacker::WithJsonSchema(std::string_view schema_json) {
  AMBERVAULT_ASSIGN_OR_RETURN(std::shared_ptr<const JsonSchemaValidator> v,
                              JsonSchemaValidator::Compile(schema_json));
  DataPacker p;
  p.dtype_.kind = DType::Kind::kMsgPack;
  p.schema_text_ = std::string(schema_json);
  p.schema_ = std::move(v);
  return p;
}

Result<DataPacker> DataPacker::WithCddlSchema(std::string_view cddl) {
  DataPacker p;
  p.dtype_.kind = DType::Kind::kCbor;
  p.schema_text_ = std::string(cddl);
  return p;
}

bool DataPacker::operator==(const DataPacker& other) const {
  return dtype_ == other.dtype_ && schema_text_ == other.schema_text_ &&
         (schema_ == nullptr) == (other.schema_ == nullptr);
}

Status DataPacker::Fit(size_t start, std::string* out) const {
  if (dtype_.fixed_size == 0) return Status::OK();
  const size_t len = out->size() - start;
  if (len > dtype_.fixed_size) {
    out->resize(start);
    return Status::InvalidArgument("Data too long: " + std::to_string(len) + " > " +
                                   std::to_string(dtype_.fixed_size));
  }
  out->append(dtype_.fixed_size - len, '\0');
  return Status::OK();
}

// ---------------------------------------------------------------- scalars

Status DataPacker::PackInt(int64_t v, std::string* out) const {
  const DType& t = dtype_;
  switch (t.kind) {
    case DType::Kind::kInt:
      switch (t.width) {
        case 1:
          if (v < INT8_MIN || v > INT8_MAX) return IntOutOfRange(t, std::to_string(v));
          Append<int8_t>(static_cast<int8_t>(v), out);
          return Status::OK();
        case 2:
          if (v < INT16_MIN || v > INT16_MAX) return IntOutOfRange(t, std::to_string(v));
          Append<int16_t>(static_cast<int16_t>(v), out);
          return Status::OK();
        case 4:
          if (v < INT32_MIN || v > INT32_MAX) return IntOutOfRange(t, std::to_string(v));
          Append<int32_t>(static_cast<int32_t>(v), out);
          return Status::OK();
        default:
          Append<int64_t>(v, out);
          return Status::OK();
      }
    case DType::Kind::kUint:
      if (v < 0) return IntOutOfRange(t, std::to_string(v));
      return PackUint(static_cast<uint64_t>(v), out);
    case DType::Kind::kFloat:
      return PackDouble(static_cast<double>(v), out);
    case DType::Kind::kBool:
      if (v != 0 && v != 1) return IntOutOfRange(t, std::to_string(v));
      out->push_back(static_cast<char>(v));
      return Status::OK();
    default:
      return WrongKind(t, "integers");
  }
}

Status DataPacker::PackUint(uint64_t v, std::string* out) const {
  const DType& t = dtype_;
  switch (t.kind) {
    case DType::Kind::kUint: {
      const uint64_t max = t.width == 8 ? UINT64_MAX : (uint64_t{1} << (t.width * 8)) - 1;
      if (v > max) return IntOutOfRange(t, std::to_string(v));
      switch (t.width) {
        case 1: Append<uint8_t>(static_cast<uint8_t>(v), out); break;
        case 2: Append<uint16_t>(static_cast<uint16_t>(v), out); break;
        case 4: Append<uint32_t>(static_cast<uint32_t>(v), out); break;
        default: Append<uint64_t>(v, out);
      }
      return Status::OK();
    }
    case DType::Kind::kFloat:
      return PackDouble(static_cast<double>(v), out);
    default:
      if (v > static_cast<uint64_t>(INT64_MAX)) {
        if (t.kind == DType::Kind::kInt || t.kind == DType::Kind::kBool) {
          return IntOutOfRange(t, std::to_string(v));
        }
        return WrongKind(t, "integers");
      }
      return PackInt(static_cast<int64_t>(v), out);
  }
}

Status DataPacker::PackDouble(double v, std::string* out) const {
  const DType& t = dtype_;
  if (t.kind != DType::Kind::kFloat) return WrongKind(t, "floats");
  if (t.width == 8) {
    Append<double>(v, out);
    return Status::OK();
  }
  const float f = static_cast<float>(v);
  if (std::isinf(f) && !std::isinf(v)) {
    return Status::OutOfRange("float " + std::to_string(v) + " out of range for f32");
  }
  Append<float>(f, out);
  return Status::OK();
}

Status DataPacker::PackBool(bool v, std::string* out) const {
  return PackInt(v ? 1 : 0, out);
}

Result<Scalar> DataPacker::UnpackScalar(std::string_view elem) const {
  const DType& t = dtype_;
  Scalar s;
  if (t.kind != DType::Kind::kInt && t.kind != DType::Kind::kUint &&
      t.kind != DType::Kind::kFloat && t.kind != DType::Kind::kBool) {
    return WrongKind(t, "scalars");
  }
  if (elem.size() != t.fixed_size) {
    return Status::InvalidArgument("Not enough data: " + t.ToString() + " needs " +
                                   std::to_string(t.fixed_size) + " bytes, got " +
                                   std::to_string(elem.size()));
  }
  const char* p = elem.data();
  switch (t.kind) {
    case DType::Kind::kInt:
      s.type = Scalar::Type::kInt;
      s.i = t.width == 1   ? LoadLE<int8_t>(p)
            : t.width == 2 ? LoadLE<int16_t>(p)
            : t.width == 4 ? LoadLE<int32_t>(p)
                           : LoadLE<int64_t>(p);
      return s;
    case DType::Kind::kUint: {
      uint64_t u = t.width == 1   ? LoadLE<uint8_t>(p)
                   : t.width == 2 ? LoadLE<uint16_t>(p)
                   : t.width == 4 ? LoadLE<uint32_t>(p)
                                  : LoadLE<uint64_t>(p);
      if (u <= static_cast<uint64_t>(INT64_MAX)) {
        s.type = Scalar::Type::kInt;
        s.i = static_cast<int64_t>(u);
      } else {
        s.type = Scalar::Type::kUint;
        s.u = u;
      }
      return s;
    }
    case DType::Kind::kFloat:
      s.type = Scalar::Type::kDouble;
      s.d = t.width == 4 ? static_cast<double>(LoadLE<float>(p)) : LoadLE<double>(p);
      return s;
    default: {  // kBool
      const auto b = static_cast<unsigned char>(p[0]);
      if (b > 1) {
        return Status::InvalidArgument("not a bool: byte " + std::to_string(b));
      }
      s.type = Scalar::Type::kBool;
      s.i = b;
      return s;
    }
  }
}

// ---------------------------------------------------------------- text, bytes

Status DataPacker::PackText(std::string_view utf8, std::string* out) const {
  if (dtype_.kind != DType::Kind::kString) return WrongKind(dtype_, "text");
  const size_t start = out->size();
  Status s = EncodeText(utf8, dtype_.encoding, out);
  if (!s.ok()) {
    out->resize(start);
    return s;
  }
  return Fit(start, out);
}

Result<std::string> DataPacker::UnpackText(std::string_view elem) const {
  if (dtype_.kind != DType::Kind::kString) return WrongKind(dtype_, "text");
  if (dtype_.fixed_size != 0) {
    if (elem.size() != dtype_.fixed_size) {
      return Status::InvalidArgument("Not enough data: " + dtype_.ToString() + " needs " +
                                     std::to_string(dtype_.fixed_size) + " bytes");
    }
    // A UTF-16 value in an odd size ends with one padding byte.
    const bool wide = dtype_.encoding == TextEncoding::kUtf16Le ||
                      dtype_.encoding == TextEncoding::kUtf16Be;
    if (wide && elem.size() % 2 == 1 && elem.back() == '\0') elem.remove_suffix(1);
  }
  std::string text;
  AMBERVAULT_RETURN_IF_ERROR(DecodeText(elem, dtype_.encoding, &text));
  if (dtype_.fixed_size != 0) {
    size_t end = text.size();
    while (end > 0 && text[end - 1] == '\0') --end;
    text.resize(end);
  }
  return text;
}

Status DataPacker::PackBytes(std::string_view bytes, std::string* out) const {
  if (dtype_.kind != DType::Kind::kBytes) return WrongKind(dtype_, "bytes");
  if (dtype_.fixed_size != 0 && bytes.size() > dtype_.fixed_size) {
    return Status::InvalidArgument("Data too long: " + std::to_string(bytes.size()) + " > " +
                                   std::to_string(dtype_.fixed_size));
  }
  const size_t start = out->size();
  out->append(bytes);
  return Fit(start, out);
}

// ---------------------------------------------------------------- vectors

Status DataPacker::PackArray(const ArrayView& a, std::string* out) const {
  const DType& t = dtype_;
  if (t.kind != DType::Kind::kVector) return WrongKind(t, "arrays");
  if (a.type != t.element) {
    return Status::InvalidArgument(std::string("array of ") + ElementTypeName(a.type) +
                                   " given to " + t.ToString());
  }
  const size_t esize = ElementTypeSize(a.type);
  size_t count = 1;
  for (uint32_t d : a.shape) {
    if (d != 0 && count > SIZE_MAX / d) return Status::InvalidArgument("array too large");
    count *= d;
  }
  if (count > SIZE_MAX / esize || a.data.size() != count * esize) {
    return Status::InvalidArgument("array data does not match its shape");
  }
  const size_t start = out->size();
  if (!t.shape.empty()) {
    if (a.shape != t.shape) {
      return Status::InvalidArgument("Shape mismatch: " + t.ToString() + " expects shape " +
                                     ShapeString(t.shape) + ", got " + ShapeString(a.shape));
    }
    out->push_back(static_cast<char>(t.element));
  } else {
    if (a.shape.size() > 255) {
      return Status::InvalidArgument("array has more than 255 dimensions");
    }
    out->push_back(static_cast<char>(t.element));
    out->push_back(static_cast<char>(a.shape.size()));
    for (uint32_t d : a.shape) Append<uint32_t>(d, out);
  }
  AppendElementsLE(a.data, esize, out);
  if (t.fixed_size != 0 && out->size() - start != t.fixed_size) {
    out->resize(start);
    return Status::Internal("vector size mismatch");
  }
  return Status::OK();
}

Result<ArrayView> DataPacker::UnpackArray(std::string_view elem) const {
  const DType& t = dtype_;
  if (t.kind != DType::Kind::kVector) return WrongKind(t, "arrays");
  if (elem.empty()) return Status::InvalidArgument("empty vector element");
  ArrayView a;
  uint8_t code = static_cast<uint8_t>(elem[0]);
  if (!ElementTypeFromCode(code, &a.type)) {
    return Status::InvalidArgument("not a vector element: type code " + std::to_string(code));
  }
  if (a.type != t.element) {
    return Status::InvalidArgument(std::string("vector element holds ") +
                                   ElementTypeName(a.type) + ", dtype is " + t.ToString());
  }
  const size_t esize = ElementTypeSize(a.type);
  if (!t.shape.empty()) {
    if (elem.size() != t.fixed_size) {
      return Status::InvalidArgument("Not enough data: " + t.ToString() + " needs " +
                                     std::to_string(t.fixed_size) + " bytes, got " +
                                     std::to_string(elem.size()));
    }
    a.shape = t.shape;
    a.data = elem.substr(1);
    return a;
  }
  if (elem.size() < 2) return Status::InvalidArgument("truncated vector header");
  const size_t ndim = static_cast<uint8_t>(elem[1]);
  if (elem.size() < 2 + 4 * ndim) return Status::InvalidArgument("truncated vector header");
  size_t count = 1;
  a.shape.resize(ndim);
  for (size_t i = 0; i < ndim; ++i) {
    uint32_t d = LoadLE<uint32_t>(elem.data() + 2 + 4 * i);
    a.shape[i] = d;
    if (d != 0 && count > SIZE_MAX / d) return Status::InvalidArgument("vector shape too large");
    count *= d;
  }
  const size_t body = elem.size() - 2 - 4 * ndim;
  if (count > SIZE_MAX / esize || count * esize != body) {
    return Status::InvalidArgument("vector data size " + std::to_string(body) +
                                   " does not match its shape");
  }
  a.data = elem.substr(2 + 4 * ndim);
  return a;
}

// ---------------------------------------------------------------- structured

std::unique_ptr<ValueEncoder> DataPacker::NewEncoder(std::string* out) const {
  switch (dtype_.kind) {
    case DType::Kind::kMsgPack: return std::make_unique<MsgPackEncoder>(out);
    case DType::Kind::kCbor: return std::make_unique<CborEncoder>(out);
    case DType::Kind::kJson: return std::make_unique<JsonEncoder>(out);
    default: return nullptr;
  }
}

Status DataPacker::FinishValue(const ValueEncoder& encoder, size_t start,
                               std::string* out) const {
  Status s = const_cast<ValueEncoder&>(encoder).Finish();
  if (s.ok() && schema_ != nullptr) {
    s = schema_->ValidateMsgPack(std::string_view(*out).substr(start));
  }
  if (!s.ok()) {
    out->resize(start);
    return s;
  }
  return Fit(start, out);
}

Status DataPacker::UnpackValue(std::string_view elem, ValueVisitor* visitor) const {
  if (!IsStructured(dtype_.kind)) return WrongKind(dtype_, "structured values");
  size_t consumed = 0;
  AMBERVAULT_RETURN_IF_ERROR(DecodeValue(FormatOf(dtype_.kind), elem, visitor, &consumed));
  std::string_view rest = elem.substr(consumed);
  if (dtype_.fixed_size != 0) {
    for (char c : rest) {
      if (c != '\0') return Status::InvalidArgument("non-zero bytes after the value");
    }
  } else if (!rest.empty()) {
    return Status::InvalidArgument(std::to_string(rest.size()) +
                                   " trailing bytes after the value");
  }
  return Status::OK();
}

Result<size_t> DataPacker::CountFixed(std::string_view data) const {
  if (dtype_.fixed_size == 0) {
    return Status::InvalidArgument("Variable-size types require offsets parameter");
  }
  if (data.size() % dtype_.fixed_size != 0) {
    return Status::InvalidArgument("data length " + std::to_string(data.size()) +
                                   " is not a multiple of the element size " +
                                   std::to_string(dtype_.fixed_size));
  }
  return data.size() / dtype_.fixed_size;
}

}  // namespace ambervault
