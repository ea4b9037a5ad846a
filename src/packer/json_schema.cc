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
// Guards around valijson 1.0 (each one a crash seen in testing):
//  - VALIJSON_USE_EXCEPTIONS must be on, or valijson calls abort() on a bad
//    schema ({"type": 5}) instead of throwing.
//  - A schema that applies itself to the same value without descending
//    into it ({"$ref": "#"}, {"allOf": [{"$ref": "#"}]}, a $ref chain that
//    loops) recurses until the stack overflows, in populateSchema or in
//    validate. Compile rejects such in-place cycles (the JSON Schema specs
//    forbid them too).
//  - A "pattern" / "patternProperties" regex that std::regex cannot compile
//    throws only when a value is validated; Compile tries them up front.
//  - libstdc++'s std::regex matcher recurses once per input character
//    (~0.5 KiB of stack each, ~4 KiB under ASan): a 32 KiB string against
//    "^.*$" overflows an 8 MiB stack. When the schema uses regexes
//    ("pattern", "patternProperties", "format") and the value holds a
//    string or key longer than kInlineRegexBytes, or the value nests deeper
//    than kInlineDepth (valijson recurses ~1 KiB per level), validation
//    runs on a helper thread with a stack sized for it; strings over
//    kMaxRegexBytes are refused then (InvalidArgument naming the limit).
//    A schema nested deeper than kInlineDepth compiles on such a thread.
//
// Thread safety: the compiled Schema is only read during validation.
// valijson::Validator caches compiled std::regex objects in itself, so each
// validation borrows a Validator from a small mutex-guarded pool.

#include "packer/json_schema.h"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#if __has_include(<pthread.h>)
#include <pthread.h>
#define AMBERVAULT_HAVE_PTHREAD 1
#endif

// Without it valijson reports a bad schema by calling abort().
#ifndef VALIJSON_USE_EXCEPTIONS
#define VALIJSON_USE_EXCEPTIONS 1
#endif
#if !VALIJSON_USE_EXCEPTIONS
#error "json_schema.cc needs VALIJSON_USE_EXCEPTIONS=1"
#endif

#include <nlohmann/json.hpp>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include "ambervault/value_codec.h"
#include "packer/codecs.h"
#include "packer/text_codec.h"

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
  if (IsValidUtf8(s)) return std::string(s);
  return Latin1ToUtf8(s);
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// Stack that libstdc++'s std::regex matcher needs per subject byte: about
// 0.4-0.8 KiB measured with -O2 (grouped patterns like "^(a|b)*$" are the
// worst), 3-5 KiB under ASan. Budgets below have 2x-3x headroom.
constexpr size_t kStackBytesPerChar = kSanitized ? 8192 : 2048;
// Strings up to this many bytes are matched on the calling thread (under
// 0.5 MiB of stack; macOS gives secondary threads 512 KiB).
constexpr size_t kInlineRegexBytes = kSanitized ? 128 : 512;
// Values and schemas nested deeper than this are handled on the helper
// thread too: valijson needs about 1 KiB of stack per level to validate
// (0.5 MiB at depth 512) and 2 KiB to compile a schema (~16x under ASan).
constexpr int kInlineDepth = 64;
// The helper thread's stack before the per-character part: enough for
// nesting 512 deep in valijson's parser and validator.
constexpr size_t kBaseStackBytes = (kSanitized ? size_t{64} : size_t{16}) << 20;
// Validation failures listed in one error message.
constexpr size_t kMaxListedErrors = 100;
// Beyond this a string is refused when the schema uses regexes (the helper
// thread would need more than about 0.5 GiB of stack, 2 GiB sanitized).
constexpr size_t kMaxRegexBytes = size_t{256} << 10;

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
    return Add(Text(TextForJson(text)));
  }
  bool Binary(std::string_view bytes) override {
    return Add(Text(Latin1ToUtf8(bytes)));
  }
  bool BeginArray(size_t) override { return Open(Json::array()); }
  bool EndArray() override { return Close(); }
  bool BeginMap(size_t) override { return Open(Json::object()); }
  bool EndMap() override { return Close(); }

  Json& root() { return root_; }
  // Bytes in the longest string value or map key (as stored in the tree).
  size_t longest() const { return longest_; }
  // Deepest container nesting seen.
  int max_depth() const { return max_depth_; }

 private:
  struct Frame {
    Json* node;  // the container being filled
    bool is_map;
    bool key_done = false;    // a map's key is in `key`, its value is next
    bool builds_key = false;  // this container is its parent's map key
    std::string key;
    std::unique_ptr<Json> key_tree;  // a container key under construction
  };

  std::string KeyText(const Json& key) {
    std::string text = key.is_string() ? key.get<std::string>()
                                       : key.dump();  // valid UTF-8: no throw
    longest_ = std::max(longest_, text.size());
    return text;
  }
  Json Text(std::string text) {
    longest_ = std::max(longest_, text.size());
    return Json(std::move(text));
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
    max_depth_ = std::max(max_depth_, static_cast<int>(stack_.size()));
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
  size_t longest_ = 0;
  int max_depth_ = 0;
};

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

// ---------------------------------------------------------- schema checks

// The node a local "$ref" ("#" or "#/json/pointer") points at, or nullptr.
const Json* ResolveLocalRef(const Json& root, const std::string& ref) {
  if (ref.empty() || ref[0] != '#') return nullptr;
  // URI fragment: percent-decode first.
  std::string pointer;
  for (size_t i = 1; i < ref.size(); ++i) {
    if (ref[i] == '%' && i + 2 < ref.size()) {
      auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
      };
      int hi = hex(ref[i + 1]), lo = hex(ref[i + 2]);
      if (hi >= 0 && lo >= 0) {
        pointer.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    pointer.push_back(ref[i]);
  }
  if (pointer.empty()) return &root;
  if (pointer[0] != '/') return nullptr;  // a plain-name anchor
  const Json* node = &root;
  size_t pos = 1;
  for (;;) {
    size_t slash = pointer.find('/', pos);
    std::string token = pointer.substr(
        pos, slash == std::string::npos ? std::string::npos : slash - pos);
    std::string key;  // ~1 -> '/', ~0 -> '~'
    for (size_t i = 0; i < token.size(); ++i) {
      if (token[i] == '~' && i + 1 < token.size()) {
        key.push_back(token[i + 1] == '1' ? '/' : '~');
        ++i;
      } else {
        key.push_back(token[i]);
      }
    }
    if (node->is_object()) {
      auto it = node->find(key);
      if (it == node->end()) return nullptr;
      node = &*it;
    } else if (node->is_array()) {
      if (key.empty() || key.size() > 9 ||
          key.find_first_not_of("0123456789") != std::string::npos) {
        return nullptr;
      }
      size_t index = std::stoul(key);
      if (index >= node->size()) return nullptr;
      node = &(*node)[index];
    } else {
      return nullptr;
    }
    if (slash == std::string::npos) return node;
    pos = slash + 1;
  }
}

// Walks every subschema of a schema document (draft 3 to 7 keywords) to
// find in-place cycles, bad regexes and whether regexes are used at all.
class SchemaScan {
 public:
  explicit SchemaScan(const Json& root) : root_(root) {}

  Status Run() {
    std::vector<const Json*> todo{&root_};
    std::vector<const Json*> order;
    while (!todo.empty()) {
      const Json* node = todo.back();
      todo.pop_back();
      if (!node->is_object() || !seen_.emplace(node, kWhite).second) continue;
      order.push_back(node);
      AMBERVAULT_RETURN_IF_ERROR(CheckRegexes(*node));
      Subschemas(*node, /*in_place_only=*/false, &todo);
    }
    for (const Json* node : order) {
      AMBERVAULT_RETURN_IF_ERROR(FindCycle(node));
    }
    return Status::OK();
  }

  bool uses_regex() const { return uses_regex_; }

 private:
  enum Color { kWhite, kGray, kBlack };

  static void AddSchema(const Json& v, std::vector<const Json*>* out) {
    if (v.is_object()) out->push_back(&v);
  }
  static void AddSchemaOrArray(const Json& v, std::vector<const Json*>* out) {
    if (v.is_array()) {
      for (const Json& item : v) AddSchema(item, out);
    } else {
      AddSchema(v, out);
    }
  }

  // The subschemas of `node`; with in_place_only, those applied to the
  // same value (allOf, anyOf, oneOf, not, if/then/else, schema
  // dependencies, draft 3 extends, and the $ref target).
  void Subschemas(const Json& node, bool in_place_only,
                  std::vector<const Json*>* out) const {
    for (auto it = node.begin(); it != node.end(); ++it) {
      const std::string& k = it.key();
      const Json& v = it.value();
      if (k == "$ref") {
        if (v.is_string()) {
          const Json* target = ResolveLocalRef(root_, v.get<std::string>());
          if (target != nullptr) AddSchema(*target, out);
        }
      } else if (k == "allOf" || k == "anyOf" || k == "oneOf" ||
                 k == "extends") {
        AddSchemaOrArray(v, out);
      } else if (k == "not" || k == "if" || k == "then" || k == "else") {
        AddSchema(v, out);
      } else if (k == "dependencies") {
        if (v.is_object()) {
          for (const Json& d : v) AddSchema(d, out);
        }
      } else if (in_place_only) {
        continue;
      } else if (k == "properties" || k == "patternProperties" ||
                 k == "definitions" || k == "$defs") {
        if (v.is_object()) {
          for (const Json& d : v) AddSchema(d, out);
        }
      } else if (k == "items") {
        AddSchemaOrArray(v, out);
      } else if (k == "additionalItems" || k == "additionalProperties" ||
                 k == "contains" || k == "propertyNames") {
        AddSchema(v, out);
      }
    }
  }

  Status CheckRegexes(const Json& node) {
    auto check = [](const std::string& pattern) -> Status {
      try {
        std::regex compiled(pattern);
      } catch (const std::regex_error& e) {
        return Status::InvalidArgument(
            "Schema compilation failed: invalid regular expression \"" +
            pattern + "\": " + e.what());
      }
      return Status::OK();
    };
    auto it = node.find("pattern");
    if (it != node.end() && it->is_string()) {
      uses_regex_ = true;
      AMBERVAULT_RETURN_IF_ERROR(check(it->get<std::string>()));
    }
    it = node.find("patternProperties");
    if (it != node.end() && it->is_object()) {
      for (auto p = it->begin(); p != it->end(); ++p) {
        uses_regex_ = true;
        AMBERVAULT_RETURN_IF_ERROR(check(p.key()));
      }
    }
    if (node.contains("format")) uses_regex_ = true;
    return Status::OK();
  }

  // Depth-first over in-place edges from `start`, with an explicit stack.
  Status FindCycle(const Json* start) {
    if (seen_[start] != kWhite) return Status::OK();
    struct Step {
      const Json* node;
      std::vector<const Json*> next;
      size_t i = 0;
    };
    std::vector<Step> path;
    auto enter = [&](const Json* node) {
      seen_[node] = kGray;
      Step step{node, {}, 0};
      Subschemas(*node, /*in_place_only=*/true, &step.next);
      path.push_back(std::move(step));
    };
    enter(start);
    while (!path.empty()) {
      Step& top = path.back();
      if (top.i == top.next.size()) {
        seen_[top.node] = kBlack;
        path.pop_back();
        continue;
      }
      const Json* next = top.next[top.i++];
      Color& color = seen_.emplace(next, kWhite).first->second;
      if (color == kGray) {
        return Status::InvalidArgument(
            "Schema compilation failed: the schema applies itself to the "
            "same value in a loop (a \"$ref\"/allOf/anyOf/oneOf/not cycle "
            "that never descends into the value)");
      }
      if (color == kWhite) {
        if (path.size() >= static_cast<size_t>(kMaxNestingDepth)) {
          return Status::InvalidArgument(
              "Schema compilation failed: \"$ref\"/allOf chain deeper than " +
              std::to_string(kMaxNestingDepth));
        }
        enter(next);
      }
    }
    return Status::OK();
  }

  const Json& root_;
  std::unordered_map<const Json*, Color> seen_;
  bool uses_regex_ = false;
};

// Runs `fn` on a thread with `stack_bytes` of stack and waits for it. `fn`
// must not throw.
#ifdef AMBERVAULT_HAVE_PTHREAD
constexpr bool kCanGrowStack = true;

void* RunFunction(void* fn) {
  (*static_cast<std::function<void()>*>(fn))();
  return nullptr;
}

Status RunWithStack(size_t stack_bytes, std::function<void()> fn) {
  pthread_attr_t attr;
  if (pthread_attr_init(&attr) != 0) {
    return Status::Internal("pthread_attr_init failed");
  }
  int rc = pthread_attr_setstacksize(&attr, stack_bytes);
  pthread_t thread;
  if (rc == 0) rc = pthread_create(&thread, &attr, RunFunction, &fn);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    return Status::Internal("cannot start a validation thread with " +
                            std::to_string(stack_bytes >> 20) +
                            " MiB of stack (error " + std::to_string(rc) + ")");
  }
  pthread_join(thread, nullptr);
  return Status::OK();
}
#else
constexpr bool kCanGrowStack = false;

Status RunWithStack(size_t, std::function<void()> fn) {
  fn();  // the caller's stack has to do
  return Status::OK();
}
#endif

// Runs `fn` here, or on a helper thread with `stack_bytes` of stack when
// `big` (and threads can be given a stack size).
Status RunMaybeWithStack(bool big, size_t stack_bytes,
                         std::function<void()> fn) {
  if (!big) {
    fn();
    return Status::OK();
  }
  return RunWithStack(stack_bytes, std::move(fn));
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
  bool uses_regex = false;
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
  int depth = 0;
  {
    TreeBuilder builder;
    Status s = DecodeValue(ValueFormat::kJson, schema_json, &builder);
    if (!s.ok()) {
      return Status::InvalidArgument("Schema compilation failed: " +
                                     s.message());
    }
    impl->document = std::move(builder.root());
    depth = builder.max_depth();
  }
  Result<valijson::SchemaParser::Version> draft = PickDraft(impl->document);
  if (!draft.ok()) return draft.status();
  SchemaScan scan(impl->document);
  AMBERVAULT_RETURN_IF_ERROR(scan.Run());
  impl->uses_regex = scan.uses_regex();
  // valijson's SchemaParser recurses ~2 KiB per schema level (~32 KiB
  // under ASan), so deep schemas compile on a helper thread.
  Status compiled;
  Impl* target = impl.get();
  valijson::SchemaParser::Version version = draft.value();
  AMBERVAULT_RETURN_IF_ERROR(RunMaybeWithStack(
      depth > kInlineDepth, kBaseStackBytes, [&compiled, target, version] {
        try {
          valijson::SchemaParser parser(version);
          valijson::adapters::NlohmannJsonAdapter adapter(target->document);
          parser.populateSchema(adapter, target->schema);
        } catch (const std::exception& e) {
          compiled = Status::InvalidArgument(
              std::string("Schema compilation failed: ") + e.what());
        }
      }));
  if (!compiled.ok()) return compiled;
  return std::shared_ptr<const JsonSchemaValidator>(
      new JsonSchemaValidator(std::move(impl)));
}

Status JsonSchemaValidator::ValidateMsgPack(std::string_view msgpack) const {
  TreeBuilder builder;
  Status s = DecodeValue(ValueFormat::kMsgPack, msgpack, &builder);
  if (!s.ok()) return s;
  // std::regex and deep values may need more stack than the caller's
  // thread has (see the top of this file).
  size_t regex_subject = impl_->uses_regex ? builder.longest() : 0;
  size_t limit = kCanGrowStack ? kMaxRegexBytes : kInlineRegexBytes;
  if (regex_subject > limit) {
    return Status::InvalidArgument(
        "Validation errors: <root>: a string of " +
        std::to_string(regex_subject) +
        " bytes is too long to check against this schema's regular "
        "expressions (limit " +
        std::to_string(limit) + " bytes)");
  }
  bool big =
      regex_subject > kInlineRegexBytes || builder.max_depth() > kInlineDepth;
  std::unique_ptr<valijson::Validator> validator = impl_->Borrow();
  valijson::ValidationResults results;
  bool valid = false;
  std::string error;  // what valijson threw
  const Json& document = builder.root();
  const valijson::Schema& schema = impl_->schema;
  valijson::Validator* v = validator.get();
  AMBERVAULT_RETURN_IF_ERROR(RunMaybeWithStack(
      big, kBaseStackBytes + kStackBytesPerChar * regex_subject,
      [&results, &valid, &error, &document, &schema, v] {
        try {
          valijson::adapters::NlohmannJsonAdapter target(document);
          valid = v->validate(schema, target, &results);
        } catch (const std::exception& e) {
          error = e.what();
          if (error.empty()) error = "unknown error";
        } catch (...) {
          error = "unknown error";
        }
      }));
  if (!error.empty()) {
    return Status::InvalidArgument(
        "Validation errors: <root>: the schema could not be applied: " + error);
  }
  impl_->Return(std::move(validator));
  if (valid) return Status::OK();
  // Every failure, up to kMaxListedErrors (a 100k-item array can fail 100k
  // times). valijson follows each failure inside an array item or a
  // property with a summary at the parent ("<root>: Failed to validate item
  // #3 in array."); those repeat the failure just listed and are left out.
  std::string message = "Validation errors: ";
  size_t listed = 0;
  size_t unlisted = 0;
  for (const valijson::ValidationResults::Error& error : results) {
    const std::string& d = error.description;
    if (d.rfind("Failed to validate item #", 0) == 0 ||
        d.rfind("Failed to validate against schema associated with property "
                "name ",
                0) == 0) {
      continue;
    }
    if (listed == kMaxListedErrors) {
      ++unlisted;
      continue;
    }
    if (listed++ > 0) message += "; ";
    message += ContextPath(error.context);
    message += ": ";
    message += d;
  }
  if (listed == 0) message += "<root>: value does not match the schema";
  if (unlisted > 0) {
    message += "; ... and " + std::to_string(unlisted) + " more";
  }
  return Status::InvalidArgument(message);
}

}  // namespace ambervault
