// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// DecodeValue: dispatch to the format's decoder (msgpack_codec.cc,
// cbor_codec.cc, json_codec.cc).

#include "ambervault/value_codec.h"

#include <string>

#include "packer/codecs.h"

namespace ambervault {

ValueVisitor::~ValueVisitor() = default;
ValueEncoder::~ValueEncoder() = default;

namespace codec_internal {

Status NestingTooDeep() {
  return Status::InvalidArgument("nesting deeper than " +
                                 std::to_string(kMaxNestingDepth) +
                                 " containers");
}

}  // namespace codec_internal

namespace {

// Accepts every event: decoding into it only checks and measures.
class SkipVisitor final : public ValueVisitor {
 public:
  bool Nil() override { return true; }
  bool Bool(bool) override { return true; }
  bool Int(int64_t) override { return true; }
  bool Uint(uint64_t) override { return true; }
  bool NegativeBeyondInt64(uint64_t) override { return true; }
  bool Double(double) override { return true; }
  bool String(std::string_view) override { return true; }
  bool Binary(std::string_view) override { return true; }
  bool BeginArray(size_t) override { return true; }
  bool EndArray() override { return true; }
  bool BeginMap(size_t) override { return true; }
  bool EndMap() override { return true; }
};

}  // namespace

Result<size_t> ValueSize(ValueFormat format, std::string_view data) {
  SkipVisitor skip;
  size_t consumed = 0;
  AMBERVAULT_RETURN_IF_ERROR(DecodeValue(format, data, &skip, &consumed));
  return consumed;
}

bool ValueEncoder::BeginValue() {
  if (!status_.ok()) return false;
  if (done_) {
    Fail(Status::InvalidArgument("encoder: a second top-level value (one value per encoding)"));
    return false;
  }
  if (!open_.empty()) {
    Open& top = open_.back();
    if (top.remaining == 0) {
      Fail(Status::InvalidArgument(std::string("encoder: more values than the ") +
                                   (top.is_map ? "map" : "array") + " declared"));
      return false;
    }
    --top.remaining;
  }
  return true;
}

void ValueEncoder::EndScalar() {
  if (open_.empty()) done_ = true;
}

bool ValueEncoder::OpenContainer(bool is_map, size_t n) {
  if (open_.size() >= static_cast<size_t>(kMaxNestingDepth)) {
    Fail(codec_internal::NestingTooDeep());
    return false;
  }
  open_.push_back(Open{is_map, is_map ? 2 * static_cast<uint64_t>(n) : static_cast<uint64_t>(n)});
  return true;
}

bool ValueEncoder::CloseContainer(bool is_map) {
  if (!status_.ok()) return false;
  const char* what = is_map ? "EndMap" : "EndArray";
  if (open_.empty()) {
    Fail(Status::InvalidArgument(std::string("encoder: ") + what + " without an open container"));
    return false;
  }
  const Open& top = open_.back();
  if (top.is_map != is_map) {
    Fail(Status::InvalidArgument(std::string("encoder: ") + what + " closes " +
                                 (top.is_map ? "a map" : "an array")));
    return false;
  }
  if (top.remaining != 0) {
    Fail(Status::InvalidArgument(std::string("encoder: ") + what + " with " + std::to_string(top.remaining) +
                                 " fewer values than declared"));
    return false;
  }
  open_.pop_back();
  if (open_.empty()) done_ = true;
  return true;
}

Status ValueEncoder::FinishNesting() const {
  if (!status_.ok()) return status_;
  if (done_) return Status::OK();
  if (open_.empty()) return Status::InvalidArgument("encoder: no value written");
  return Status::InvalidArgument("encoder: " + std::to_string(open_.size()) + " container(s) left open");
}

Status DecodeValue(ValueFormat format, std::string_view data,
                   ValueVisitor* visitor, size_t* consumed) {
  if (visitor == nullptr) {
    return Status::InvalidArgument("DecodeValue: visitor is null");
  }
  switch (format) {
    case ValueFormat::kMsgPack:
      return codec_internal::DecodeMsgPack(data, visitor, consumed);
    case ValueFormat::kCbor:
      return codec_internal::DecodeCbor(data, visitor, consumed);
    case ValueFormat::kJson:
      return codec_internal::DecodeJson(data, visitor, consumed);
  }
  return Status::InvalidArgument("DecodeValue: unknown value format " +
                                 std::to_string(static_cast<int>(format)));
}

}  // namespace ambervault
