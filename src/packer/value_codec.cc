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

bool AdmitValue(Status* status, int depth) {
  if (!status->ok()) return false;
  if (depth == kTopLevelDone) {
    *status = Status::InvalidArgument(
        "encoder: a second top-level value (one value per encoding)");
    return false;
  }
  return true;
}

bool EnterContainer(Status* status, int* depth) {
  if (!AdmitValue(status, *depth)) return false;
  if (*depth >= kMaxNestingDepth) {
    *status = NestingTooDeep();
    return false;
  }
  ++*depth;
  return true;
}

bool LeaveContainer(Status* status, int* depth, const char* what) {
  if (!status->ok()) return false;
  if (*depth <= 0) {
    *status = Status::InvalidArgument(std::string("encoder: ") + what +
                                      " without an open container");
    return false;
  }
  --*depth;
  ScalarDone(depth);
  return true;
}

Status FinishNesting(const Status& status, int depth) {
  if (!status.ok()) return status;
  if (depth == kTopLevelDone) return Status::OK();
  if (depth == 0) return Status::InvalidArgument("encoder: no value written");
  return Status::InvalidArgument("encoder: " + std::to_string(depth) +
                                 " container(s) left open");
}

}  // namespace codec_internal

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
