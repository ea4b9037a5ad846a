// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// JsonSchemaValidator: valijson over an nlohmann::json tree.
//
// The schema text is read with our own JSON decoder (DecodeValue, so the
// nesting limit applies) into an nlohmann::json tree, and valijson's
// SchemaParser compiles that; valijson reports bad schemas by throwing,
// which becomes InvalidArgument("Schema compilation failed: ...").
//
// A value to validate is MessagePack; it is decoded (DecodeValue) into an
// nlohmann::json tree, because valijson walks a document through an
// adapter. Values JSON lacks are mapped so a schema can still check them:
//  - a binary string becomes a string of those bytes read as Latin-1 (each
//    byte one character U+0000..U+00FF), so maxLength counts bytes;
//  - a text string that is not valid UTF-8 is mapped the same way (valijson
//    walks strings as UTF-8 and reads out of bounds on malformed input);
//  - a non-string map key becomes its JSON text (1 -> "1", a binary key its
//    Latin-1 string, an array key "[1,2]"); a repeated key keeps the last
//    value;
//  - an integer beyond int64/uint64 (CBOR only, not seen here) a double.
// Error paths are valijson's context joined: "<root>", "<root>[name]",
// "<root>[items][0]".
//
// Thread safety: the compiled Schema is only read during validation.
// valijson::Validator caches compiled std::regex objects in itself, so each
// validation borrows a Validator from a small mutex-guarded pool.

#include "packer/json_schema.h"

#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include "ambervault/value_codec.h"
#include "packer/codecs.h"

namespace ambervault {

namespace {

using Json = nlohmann::json;

// Bytes as Latin-1 text, in UTF-8.
std::string Latin1ToUtf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (char ch : bytes) {
    auto c = static_cast<uint8_t>(ch);
    if (c < 0x80) {
      out.push_back(ch);
    } else {
      out.push_back(static_cast<char>(0xc0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3f)));
    }
  }
  return out;
}

std::string TextForJson(std::string_view s) {
  if (codec_internal::IsValidUtf8(s)) return std::string(s);
  return Latin1ToUtf8(s);
}

// Builds an nlohmann::json tree from decoder events.
class TreeBuilder final : public ValueVisitor {
 public:
  bool Nil() override { return Add(Json(nullptr)); }
  bool Bool(bool v) override { return Add(Json(v)); }
  bool Int(int64_t v) override { return Add(Json(v)); }
  bool Uint(uint64_t v) override { return Add(Json(v)); }
  bool NegativeBeyondInt64(uint64_t n) override {
    return Add(Json(-1.0 - static_cast<double>(n)));
  }
  bool Double(double v) override { return Add(Json(v)); }
  bool String(std::string_view text) override {
    return Add(Json(TextForJson(text)));
  }
  bool Binary(std::string_view bytes) override {
    return Add(Json(Latin1ToUtf8(bytes)));
  }
  bool BeginArray(size_t) override { return Open(Json::array()); }
  bool EndArray() override { return Close(); }
  bool BeginMap(size_t) override { return Open(Json::object()); }
  bool EndMap() override { return Close(); }

  Json& root() { return root_; }

 private:
  struct Frame {
    Json* node;               // the container being filled
    bool is_map;
    bool key_done = false;    // a map's key is in `key`, its value is next
    bool builds_key = false;  // this container is its parent's map key
    std::string key;
    std::unique_ptr<Json> key_tree;  // a container key under construction
  };

  static std::string KeyText(const Json& key) {
    if (key.is_string()) return key.get<std::string>();
    return key.dump();  // strings were made valid UTF-8, so no throw
  }

  // Where the next value goes: nullptr for "the key slot of the innermost
  // map"; else the slot to assign.
  Json* Slot() {
    if (stack_.empty()) return &root_;
    Frame& f = stack_.back();
    if (!f.is_map) {
      f.node->push_back(Json());
      return &f.node->back();
    }
    if (!f.key_done) return nullptr;
    f.key_done = false;
    return &(*f.node)[f.key];
  }

  bool Add(Json v) {
    Json* slot = Slot();
    if (slot == nullptr) {
      Frame& f = stack_.back();
      f.key = KeyText(v);
      f.key_done = true;
    } else {
      *slot = std::move(v);
    }
    return true;
  }

  bool Open(Json empty) {
    Json* slot = Slot();
    bool builds_key = false;
    if (slot == nullptr) {
      Frame& f = stack_.back();
      f.key_tree = std::make_unique<Json>();
      slot = f.key_tree.get();
      builds_key = true;
    }
    bool is_map = empty.is_object();
    *slot = std::move(empty);
    stack_.push_back(Frame{slot, is_map, false, builds_key, {}, nullptr});
    return true;
  }

  bool Close() {
    bool builds_key = stack_.back().builds_key;
    stack_.pop_back();
    if (builds_key) {
      Frame& parent = stack_.back();
      parent.key = KeyText(*parent.key_tree);
      parent.key_tree.reset();
      parent.key_done = true;
    }
    return true;
  }

  Json root_;
  std::vector<Frame> stack_;
};

Result<Json> ParseJsonText(std::string_view text) {
  TreeBuilder builder;
  Status s = DecodeValue(ValueFormat::kJson, text, &builder);
  if (!s.ok()) return s;
  return std::move(builder.root());
}

Result<valijson::SchemaParser::Version> PickDraft(const Json& schema) {
  if (!schema.is_object()) return valijson::SchemaParser::kDraft7;
  auto it = schema.find("$schema");
  if (it == schema.end()) return valijson::SchemaParser::kDraft7;
  if (!it->is_string()) {
    return Status::InvalidArgument(
        "Schema compilation failed: \"$schema\" is not a string");
  }
  const std::string& uri = it->get_ref<const std::string&>();
  if (uri.find("draft-03") != std::string::npos) {
    return valijson::SchemaParser::kDraft3;
  }
  if (uri.find("draft-04") != std::string::npos) {
    return valijson::SchemaParser::kDraft4;
  }
  // valijson has no draft 6 mode; draft 7 is a superset of it in all but
  // a few corner cases.
  if (uri.find("draft-06") != std::string::npos ||
      uri.find("draft-07") != std::string::npos) {
    return valijson::SchemaParser::kDraft7;
  }
  return Status::InvalidArgument(
      "Schema compilation failed: unsupported \"$schema\" " + uri +
      " (supported: draft 4, 6 and 7)");
}

std::string ContextPath(const std::vector<std::string>& context) {
  std::string path;
  for (const std::string& part : context) path += part;
  return path.empty() ? "<root>" : path;
}

}  // namespace

struct JsonSchemaValidator::Impl {
  Json document;  // the schema (valijson may point into it)
  valijson::Schema schema;
  std::mutex mu;
  std::vector<std::unique_ptr<valijson::Validator>> pool;  // guarded by mu

  std::unique_ptr<valijson::Validator> Borrow() {
    std::lock_guard<std::mutex> lock(mu);
    if (pool.empty()) return std::make_unique<valijson::Validator>();
    auto v = std::move(pool.back());
    pool.pop_back();
    return v;
  }
  void Return(std::unique_ptr<valijson::Validator> v) {
    std::lock_guard<std::mutex> lock(mu);
    if (pool.size() < 8) pool.push_back(std::move(v));
  }
};

JsonSchemaValidator::JsonSchemaValidator(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

JsonSchemaValidator::~JsonSchemaValidator() = default;

Result<std::shared_ptr<const JsonSchemaValidator>> JsonSchemaValidator::Compile(
    std::string_view schema_json) {
  auto impl = std::make_unique<Impl>();
  {
    Result<Json> doc = ParseJsonText(schema_json);
    if (!doc.ok()) {
      return Status::InvalidArgument("Schema compilation failed: " +
                                     doc.status().message());
    }
    impl->document = std::move(doc).value();
  }
  Result<valijson::SchemaParser::Version> draft = PickDraft(impl->document);
  if (!draft.ok()) return draft.status();
  try {
    valijson::SchemaParser parser(draft.value());
    valijson::adapters::NlohmannJsonAdapter adapter(impl->document);
    parser.populateSchema(adapter, impl->schema);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("Schema compilation failed: ") +
                                   e.what());
  }
  return std::shared_ptr<const JsonSchemaValidator>(
      new JsonSchemaValidator(std::move(impl)));
}

Status JsonSchemaValidator::ValidateMsgPack(std::string_view msgpack) const {
  TreeBuilder builder;
  Status s = DecodeValue(ValueFormat::kMsgPack, msgpack, &builder);
  if (!s.ok()) return s;
  valijson::ValidationResults results;
  bool valid;
  std::unique_ptr<valijson::Validator> validator = impl_->Borrow();
  try {
    valijson::adapters::NlohmannJsonAdapter target(builder.root());
    valid = validator->validate(impl_->schema, target, &results);
  } catch (const std::exception& e) {
    // A "pattern" that std::regex cannot compile, and the like.
    return Status::InvalidArgument(
        std::string("Validation errors: <root>: schema could not be "
                    "applied: ") +
        e.what());
  }
  impl_->Return(std::move(validator));
  if (valid) return Status::OK();
  std::string message = "Validation errors: ";
  bool first = true;
  for (const valijson::ValidationResults::Error& error : results) {
    if (!first) message += "; ";
    first = false;
    message += ContextPath(error.context);
    message += ": ";
    message += error.description;
  }
  if (first) message += "<root>: value does not match the schema";
  return Status::InvalidArgument(message);
}

}  // namespace ambervault
