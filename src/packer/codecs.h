// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// The per-format decoders behind DecodeValue (include/ambervault/value_codec.h).
// Internal to the engine. Each one has DecodeValue's contract: one value from
// the start of `data`, events to `visitor`, the value's size in *consumed
// (when not null), InvalidArgument for malformed or truncated input,
// Internal("stopped by visitor") when the visitor returns false.

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

// True when `s` is valid UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF).
bool IsValidUtf8(std::string_view s);

// Nesting bookkeeping of the MessagePack and CBOR encoders, whose only state
// is `depth_`: the number of open containers, or kTopLevelDone once one
// complete top-level value has been written. With no room for per-container
// element counts, these catch a second top-level value, an End without a
// Begin, too deep nesting and (in Finish) unclosed containers; not a wrong
// element count or an array closed by EndMap.
inline constexpr int kTopLevelDone = -1;

// True when a value may start at `depth`; else sets *status (if it is still
// OK) and returns false.
bool AdmitValue(Status* status, int depth);
// Call after writing a scalar.
inline void ScalarDone(int* depth) {
  if (*depth == 0) *depth = kTopLevelDone;
}
// Opens a container: AdmitValue plus the depth limit.
bool EnterContainer(Status* status, int* depth);
// Closes a container; `what` names the call ("EndArray") for the error.
bool LeaveContainer(Status* status, int* depth, const char* what);
// What Finish() returns.
Status FinishNesting(const Status& status, int depth);

}  // namespace codec_internal
}  // namespace ambervault

#endif  // AMBERVAULT_SRC_PACKER_CODECS_H_
