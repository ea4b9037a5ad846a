// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// JSON Schema validation (valijson over nlohmann::json) for
// DataPacker::WithJsonSchema. Internal to the engine.

#ifndef AMBERVAULT_SRC_PACKER_JSON_SCHEMA_H_
#define AMBERVAULT_SRC_PACKER_JSON_SCHEMA_H_

#include <memory>
#include <string_view>

#include "ambervault/status.h"

namespace ambervault {

// A compiled JSON Schema (draft 4, 6 or 7; the "$schema" keyword picks the
// draft, draft 7 when absent). Immutable after Compile; safe to share
// between threads.
class JsonSchemaValidator {
 public:
  // InvalidArgument("Schema compilation failed: ...") for text that is not
  // JSON or not a valid schema.
  static Result<std::shared_ptr<const JsonSchemaValidator>> Compile(
      std::string_view schema_json);

  // Validates one MessagePack-encoded value. Failures -> InvalidArgument
  // whose message is "Validation errors: " followed by every failure as
  // "<path>: <reason>" joined by "; ". How values outside JSON are checked:
  // a binary string is checked as a string of those bytes; a non-string map
  // key is checked as its JSON text (1 -> "1").
  Status ValidateMsgPack(std::string_view msgpack) const;

  ~JsonSchemaValidator();

 private:
  struct Impl;
  explicit JsonSchemaValidator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ambervault

#endif  // AMBERVAULT_SRC_PACKER_JSON_SCHEMA_H_
