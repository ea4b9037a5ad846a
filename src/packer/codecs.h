// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// The per-format decoders behind DecodeValue
// (include/ambervault/value_codec.h). Internal to the engine. Each one has
// DecodeValue's contract: one value from the start of `data`, events to
// `visitor`, the value's size in *consumed (when not null), InvalidArgument for
// malformed or truncated input, Internal("stopped by visitor") when the visitor
// returns false.

#ifndef AMBERVAULT_SRC_PACKER_CODECS_H_
#define AMBERVAULT_SRC_PACKER_CODECS_H_

#include <cstddef>
#include <string_view>

#include "ambervault/status.h"
#include "ambervault/value_codec.h"

namespace ambervault {
namespace codec_internal {

Status DecodeMsgPack(std::string_view data, ValueVisitor* visitor,
                     size_t* consumed);
Status DecodeCbor(std::string_view data, ValueVisitor* visitor,
                  size_t* consumed);
// JSON text: the whole of `data` is the value (whitespace may follow it).
Status DecodeJson(std::string_view data, ValueVisitor* visitor,
                  size_t* consumed);

// The error a decoder returns when the visitor stops it.
inline Status StoppedByVisitor() {
  return Status::Internal("stopped by visitor");
}

// The error for containers nested deeper than kMaxNestingDepth.
Status NestingTooDeep();


}  // namespace codec_internal
}  // namespace ambervault

#endif  // AMBERVAULT_SRC_PACKER_CODECS_H_
